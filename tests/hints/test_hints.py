#!/usr/bin/env python3
"""Scenario tests of `dmarcwatch hints` over synthetic multi-day histories
(tests/hints/scen.py), the hint file against doc/throttle-hints.schema.json,
golden files of every export format (tests/hints/golden/; DW_UPDATE_GOLDEN=1
rewrites them), and the Postfix files through Postfix's own postmap and
postconf: installed ones, else unpacked from the package dist/deps.sh
downloads (or apt-get download now); skipped, saying why, only when none
can be had.

Usage: test_hints.py DW_EXE
"""
import datetime
import json
import stat
import threading
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scen  # noqa: E402
from schemacheck import schema_errors  # noqa: E402
from scen import dwexec  # noqa: E402  DW_EXEC_WRAPPER

EXE = sys.argv[1]
SRC = os.environ.get("DW_SRCDIR") or os.path.join(HERE, "..", "..")
GOLDEN = os.path.join(HERE, "golden")
results = []
skips = []
IP1, IP2, SPOOF = "192.0.2.10", "192.0.2.11", "203.0.113.66"


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}"
          + ("" if cond else f"  [{detail}]"))


def skip(name, why):
    skips.append(name)
    print(f"ok {len(results) + len(skips)} - {name} # SKIP {why}")


def world(tmp, name, **kw):
    return scen.World(EXE, os.path.join(tmp, name), **kw)


def warm(w, days, ips=(IP1,), prov="google", demand=1000, **kw):
    """Runs days of clean traffic; returns the hints of each day for
    (ips[0], prov)."""
    seen = []
    start = kw.pop("start", 0)
    for d in range(start, start + days):
        w.run_hints(d)
        seen.append(dict(w.hints[(ips[0], prov)]))
        w.send_day(d, {(ip, prov): demand for ip in ips}, **kw)
    return seen


def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def all_files(root):
    out = {}
    for dp, _, fs in os.walk(root):
        for f in sorted(fs):
            p = os.path.join(dp, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="dw-hints-")
    try:
        run_all(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if skips:
        print(f"# {len(skips)} skipped")
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


def run_all(tmp):
    with open(os.path.join(SRC, "doc", "throttle-hints.schema.json")) as f:
        schema = json.load(f)

    # 1. clean warm-up: one stage a day up to the target, then steady.
    w = world(tmp, "clean")
    seen = warm(w, 8)
    caps = [h["max_per_day"] for h in seen]
    check("clean warm-up advances day by day to the target",
          caps == [20, 40, 80, 160, 320, 320, 320, 320], caps)
    check("actions: hold on the first day, advance x4, then hold",
          [h["action"] for h in seen] ==
          ["hold"] + ["advance"] * 4 + ["hold"] * 3,
          [h["action"] for h in seen])
    check("at the target the phase is steady and on_expiry revert",
          seen[-1]["phase"] == "steady" and
          seen[-1]["on_expiry"] == "revert", seen[-1])
    check("during warm-up on_expiry is hold_last",
          all(h["on_expiry"] == "hold_last" for h in seen[:4]))
    check("advance cites the DMARC report ids",
          any("report_ids" in e for e in seen[2]["evidence"]),
          seen[2]["evidence"])
    errs = []
    for doc in w.log:
        errs += schema_errors(doc, schema)
    check("every hint file validates against the JSON Schema",
          not errs, errs[:3])
    seqs = [d["sequence"] for d in w.log]
    check("the sequence increases with every run",
          all(b > a for a, b in zip(seqs, seqs[1:])), seqs)
    bad = [h for d in w.log for h in d["hints"]
           if not 0 < ts(h["valid_until"]) - ts(h["valid_from"]) <= 48 * 3600]
    check("every hint: valid_until within 48 h after valid_from", not bad,
          bad[:1])
    # Rerun at the same --now: the sequence goes on, caps stay.
    before = w.hints[(IP1, "google")]["max_per_day"]
    doc = w.run_hints(7)
    check("a rerun at the same time keeps the caps and raises the sequence",
          w.hints[(IP1, "google")]["max_per_day"] == before and
          doc["sequence"] == seqs[-1] + 1)

    # A provider without DMARC reporters advances on the send log alone.
    w = world(tmp, "quiet")
    seen = warm(w, 4, prov="quiet")
    check("a provider that sends no DMARC reports still advances",
          [h["max_per_day"] for h in seen] == [10, 20, 40, 40],
          [(h["max_per_day"], h["reason"]) for h in seen])

    # 2. a day with 4.7.28 bursts: reduce at once, one connection.
    w = world(tmp, "rate", ips=(IP1, IP2))
    warm(w, 3, ips=(IP1, IP2))
    w.run_hints(3)
    before = dict(w.hints[(IP1, "google")])
    other = dict(w.hints[(IP2, "google")])
    burst = [(scen.iso(4, 5, 10 + i), IP1, "google", "deferred", 421,
              "4.7.28", "421 4.7.28 Our system has detected an unusual "
              "rate of unsolicited mail; try again later")
             for i in range(6)]
    w.send_day(3, {(IP1, "google"): 1000, (IP2, "google"): 1000},
               extra=burst)
    w.run_hints(4)
    h = w.hints[(IP1, "google")]
    check("4.7.28 burst: reduce at once",
          h["action"] == "reduce" and h["reason"] == "rate_limited" and
          h["max_per_hour"] < before["max_per_hour"] and
          h["max_connections"] == 1, h)
    check("4.7.28: the reduced caps start after the provider's pause",
          ts(h["valid_from"]) == ts(scen.iso(4, 6)) + 10 * 60, h)
    h2 = w.hints[(IP2, "google")]
    check("4.7.28 on one IP leaves the other IP advancing",
          h2["action"] == "advance" and
          h2["max_per_day"] > other["max_per_day"], h2)

    # Audit M1: thresholds are profile keys. The same 4.7.28 burst with
    # rate_strict_cut_pct = 50 and rate_pause_minutes = 20 for google.
    w = world(tmp, "keys", profile_extra={
        "google": ["rate_strict_cut_pct = 50", "rate_pause_minutes = 20"]})
    warm(w, 3)
    w.run_hints(3)
    before = dict(w.hints[(IP1, "google")])
    w.send_day(3, {(IP1, "google"): 1000}, extra=[
        (scen.iso(4, 5, 10 + i), IP1, "google", "deferred", 421, "4.7.28",
         "421 4.7.28 Our system has detected an unusual rate of "
         "unsolicited mail") for i in range(6)])
    w.run_hints(4)
    h = w.hints[(IP1, "google")]
    check("profile keys: rate_strict_cut_pct = 50 halves the hour cap, "
          "rate_pause_minutes = 20 sets the stop",
          h["action"] == "reduce" and
          h["max_per_hour"] == before["max_per_hour"] // 2 and
          ts(h["valid_from"]) == ts(scen.iso(4, 6)) + 20 * 60,
          (before["max_per_hour"], h))
    n = subprocess.run(["sqlite3", w.db, "SELECT value FROM provider_params"
                        " WHERE provider = 'google' AND key ="
                        " 'rate_strict_cut_pct'"],
                       capture_output=True, text=True)
    if n.returncode == 0:
        check("profile keys are synced into provider_params",
              n.stdout.strip() == "50.0", n.stdout)

    # 3. a DMARC failure spike on one IP holds that IP only.
    w = world(tmp, "dmarc", ips=(IP1, IP2))
    warm(w, 3, ips=(IP1, IP2))
    w.run_hints(3)
    w.send_day(3, {(IP1, "google"): 1000, (IP2, "google"): 1000},
               dmarc={(IP2, "google"): (0.7, 0, 0)})
    w.run_hints(4)
    a, b = w.hints[(IP1, "google")], w.hints[(IP2, "google")]
    check("DMARC failure spike: the failing IP holds",
          b["action"] == "hold" and b["gate"]["verdict"] == "amber" and
          b["gate"].get("reason") == "dmarc_failure", b)
    check("DMARC failure spike: the other IP advances",
          a["action"] == "advance", a)
    ev = [e for e in b["evidence"] if e["metric"] == "dmarc_pass_rate"]
    check("the hold cites the pass rate, its sample and report ids",
          ev and ev[0]["value"] == 0.7 and ev[0]["n"] > 0 and
          ev[0].get("report_ids"), ev)

    # 4. a blocklist-style 5.7.1 pauses.
    w = world(tmp, "block")
    warm(w, 4)
    w.run_hints(4)
    blocks = [(scen.iso(5, 5, 20 + i), IP1, "google", "bounced", 550,
               "5.7.1", "550 5.7.1 Our system has detected that this "
               "message is likely unsolicited mail (blocklist)")
              for i in range(3)]
    w.send_day(4, {(IP1, "google"): 1000}, extra=blocks)
    w.run_hints(5)
    h = w.hints[(IP1, "google")]
    check("5.7.1 block replies pause",
          h["action"] == "pause" and h["max_per_day"] == 0 and
          h["reason"] == "reputation_block", h)
    check("a pause ends after block_pause_minutes and names the resume caps",
          ts(h["valid_until"]) - ts(h["valid_from"]) == 120 * 60 and
          h["after_pause"]["max_per_day"] > 0 and
          h["on_expiry"] == "revert", h)
    w.run_hints(5, hour=9)
    h = w.hints[(IP1, "google")]
    check("after the pause: recovery, no growth",
          h["phase"] == "recovery" and h["action"] == "hold", h)

    # 5. an idle IP decays.
    # (decay_idle_days = 3 in the test profile: one stage down on the
    # 3rd and 6th idle day; the old assertion "a < b and r or a < b"
    # could not tell a decay from any other cut: audit L10.)
    w = world(tmp, "idle")
    warm(w, 5)
    peak = w.hints[(IP1, "google")]["max_per_day"]
    caps = []
    for d in range(5, 13):
        w.run_hints(d)
        caps.append((w.hints[(IP1, "google")]["max_per_day"],
                     w.hints[(IP1, "google")]["reason"]))
        w.send_day(d, {(IP1, "google"): 0})
    w.run_hints(13)
    h = w.hints[(IP1, "google")]
    caps.append((h["max_per_day"], h["reason"]))
    check("an idle IP decays one stage per decay_idle_days idle days",
          peak == 320 and [c for c, _ in caps] ==
          [320, 320, 320, 160, 160, 160, 80, 80, 80] and
          all(r == "idle_decay" for _, r in caps[1:]), (peak, caps))

    # 6. spoofing IPs never affect our IPs' caps.
    plain = world(tmp, "nospoof")
    spoof = world(tmp, "spoof")
    for d in range(6):
        plain.run_hints(d)
        spoof.run_hints(d)
        plain.send_day(d, {(IP1, "google"): 1000})
        spoof.send_day(d, {(IP1, "google"): 1000},
                       foreign=[(SPOOF, "google", 5000, 100)])
    plain.run_hints(6)
    spoof.run_hints(6)
    caps = lambda w: [(h["source_ip"], h["provider"], h["action"],  # noqa
                       h["max_per_day"], h["max_per_hour"])
                      for h in w.log[-1]["hints"]]
    check("spoofing IP: our caps are exactly those without it",
          caps(plain) == caps(spoof), (caps(plain), caps(spoof)))
    check("spoofing IP: never a hint or a source",
          all(h["source_ip"] != SPOOF for h in spoof.log[-1]["hints"]) and
          all(s["ip"] != SPOOF
              for s in spoof.log[-1]["sources"].values()))
    n = subprocess.run(["sqlite3", spoof.db, "SELECT count(*) FROM "
                        f"foreign_senders WHERE source_ip = '{SPOOF}'"],
                       capture_output=True, text=True)
    if n.returncode == 0:
        check("spoofing IP: listed in foreign_senders",
              int(n.stdout.strip() or 0) > 0, n.stdout)
    else:
        skip("spoofing IP: listed in foreign_senders", "no sqlite3")

    # 7. the command itself: usage, stdout, failed writes, sequence.
    w = world(tmp, "cli")
    p = w.run("hints", "--now", "yesterday", check=False)
    check("hints: a bad --now is a usage error (exit 2)",
          p.returncode == 2 and "--now" in p.stderr, p.stderr)
    p = w.run("hints", "--now", scen.iso(0, 6), "--out", "-")
    doc = json.loads(p.stdout)
    check("hints --out - writes the file to stdout, the summary to stderr",
          doc["format"] == "throttle-hints" and
          p.stderr.startswith("hints: sequence 1,"), p.stderr)
    # A FIFO (like /dev/null) is written in place, never renamed over:
    # an earlier build replaced /dev/null with a regular file this way.
    wf = world(tmp, "fifo")
    fifo = os.path.join(wf.tmp, "hints.fifo")
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()),
                              daemon=True)
    reader.start()
    p = wf.run("hints", "--now", scen.iso(0, 7), "--out", fifo, check=False)
    reader.join(30)
    check("hints --out FIFO writes through the FIFO and leaves it a FIFO",
          p.returncode == 0 and stat.S_ISFIFO(os.stat(fifo).st_mode) and
          got and json.loads(got[0])["format"] == "throttle-hints" and
          not [f for f in os.listdir(wf.tmp) if f.startswith(".hints.fifo")],
          (p.returncode, p.stderr, got[:1]))
    bad = os.path.join(w.tmp, "missing-dir", "h.json")
    p = w.run("hints", "--now", scen.iso(1, 6), "--out", bad, check=False)
    n = subprocess.run(["sqlite3", w.db, "SELECT count(*), max(seq) FROM "
                        "hints_runs; SELECT count(*) FROM engine_days"],
                       capture_output=True, text=True)
    check("a hint file that cannot be written: exit 1, nothing committed",
          p.returncode == 1 and n.stdout.split() == ["1|1", "4"],
          (p.returncode, p.stderr, n.stdout))
    w.run_hints(1)
    os.unlink(w.db)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(w.db + suffix):
            os.unlink(w.db + suffix)
    doc = w.run_hints(2)
    check("a new database continues above the sequence of the file on disk",
          doc["sequence"] == 3, doc["sequence"])

    bad_conf = os.path.join(w.tmp, "bad.conf")
    with open(bad_conf, "w") as f:
        f.write("[hints]\nttl_hours = 49\nactive_hours = 0\n"
                "postfix_dir =\n")
    p = subprocess.run(dwexec.cmd(EXE) + ["-c", bad_conf, "config", "check"],
                       capture_output=True, text=True)
    check("config check: [hints] ttl_hours, active_hours and empty paths "
          "are errors with their line",
          p.returncode != 0 and ":2: ttl_hours" in p.stdout + p.stderr and
          ":3: active_hours" in p.stdout + p.stderr and
          ":4: " in p.stdout + p.stderr, p.stdout + p.stderr)

    # 8. same inputs -> byte-identical files; golden files.
    outs = []
    for name in ("det1", "det2"):
        w = world(tmp, name, ips=(IP1, IP2), exports=True)
        warm(w, 3, ips=(IP1, IP2))
        w.run_hints(3)
        w.send_day(3, {(IP1, "google"): 1000, (IP2, "google"): 1000,
                       (IP1, "yahoo"): 1000},
                   extra=[(scen.iso(4, 5, 30 + i), IP2, "google", "bounced",
                           550, "5.7.1", "550 5.7.1 Our system has "
                           "detected blocklist") for i in range(2)])
        w.run_hints(4)
        files = all_files(w.tmp)
        outs.append({k: v for k, v in files.items()
                     if k in ("hints.json", "kumo.json",
                              "kumo.json.suspend.json") or
                     k.startswith(("postfix/", "pmta/"))})
        last = w
    check("same inputs give byte-identical hint and export files",
          outs[0] == outs[1] and len(outs[0]) > 5,
          sorted(set(outs[0]) ^ set(outs[1])))
    golden(outs[0])
    postfix_checks(os.path.join(last.tmp, "postfix"))


def golden(files):
    update = os.environ.get("DW_UPDATE_GOLDEN") == "1"
    if update:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for k, v in files.items():
            p = os.path.join(GOLDEN, k)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(v)
    want = all_files(GOLDEN) if os.path.isdir(GOLDEN) else {}
    for kind, pred in (("json", lambda k: k == "hints.json"),
                       ("kumomta", lambda k: k.startswith("kumo.json")),
                       ("postfix", lambda k: k.startswith("postfix/")),
                       ("pmta", lambda k: k.startswith("pmta/"))):
        got = {k: v for k, v in files.items() if pred(k)}
        exp = {k: v for k, v in want.items() if pred(k)}
        diff = sorted(k for k in set(got) | set(exp)
                      if got.get(k) != exp.get(k))
        check(f"golden: {kind} export matches tests/hints/golden",
              got and not diff, diff[:3])


def postfix_tools(tmp):
    """(postmap, postconf, env, extracted): Postfix's own tools. An
    installed Postfix first; else the package downloaded by dist/deps.sh
    (.cache/deb) or DW_POSTFIX_DEB, else one fetched now with `apt-get
    download`, unpacked with dpkg -x (no MTA is installed or started).
    (None, why, ...) when none can be had."""
    pm = shutil.which("postmap") or ("/usr/sbin/postmap" if
                                      os.path.exists("/usr/sbin/postmap")
                                      else None)
    pc = shutil.which("postconf") or ("/usr/sbin/postconf" if
                                       os.path.exists("/usr/sbin/postconf")
                                       else None)
    if pm and pc:
        return pm, pc, None, False
    debs = []
    if os.environ.get("DW_POSTFIX_DEB"):
        debs.append(os.environ["DW_POSTFIX_DEB"])
    cache = os.path.join(SRC, ".cache", "deb")
    if os.path.isdir(cache):
        debs += sorted(os.path.join(cache, f) for f in os.listdir(cache)
                       if f.startswith("postfix_") and f.endswith(".deb"))
    if not debs and shutil.which("apt-get"):
        d = os.path.join(tmp, "deb")
        os.makedirs(d, exist_ok=True)
        try:
            subprocess.run(["apt-get", "download", "-qq", "postfix"],
                           cwd=d, capture_output=True, timeout=180)
        except (OSError, subprocess.TimeoutExpired):
            pass
        debs += sorted(os.path.join(d, f) for f in os.listdir(d)
                       if f.endswith(".deb"))
    if not debs:
        return None, ("Postfix is not installed, no package in "
                      ".cache/deb (dist/deps.sh) and apt-get download "
                      "failed"), None, False
    if not shutil.which("dpkg"):
        return None, "no dpkg to unpack the postfix package", None, False
    root = os.path.join(tmp, "postfix-root")
    x = subprocess.run(["dpkg", "-x", debs[-1], root], capture_output=True,
                       text=True)
    pm = os.path.join(root, "usr", "sbin", "postmap")
    pc = os.path.join(root, "usr", "sbin", "postconf")
    if x.returncode != 0 or not os.path.exists(pm):
        return None, f"dpkg -x {debs[-1]} failed: {x.stderr}", None, False
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.path.join(root, "usr", "lib", "postfix")
    return pm, pc, env, True


def unpacked_owner():
    """mail_owner and setgid_group for an unpacked Postfix on a host
    without its 'postfix' user and 'postdrop' group: an existing user
    other than nobody, and a group that is neither's primary group."""
    import grp
    import pwd
    nobody = pwd.getpwnam("nobody") if "nobody" in \
        [p.pw_name for p in pwd.getpwall()] else None
    for user in ("daemon", "bin", "mail"):
        try:
            u = pwd.getpwnam(user)
        except KeyError:
            continue
        for g in grp.getgrall():
            if g.gr_gid not in (u.pw_gid, nobody.pw_gid if nobody else -1,
                                0):
                return user, g.gr_name
    return None, None


def postfix_checks(pdir):
    tmp = tempfile.mkdtemp(prefix="dw-postfix-")
    try:
        postfix_checks_in(pdir, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def postfix_checks_in(pdir, tmp):
    postmap, postconf, env, unpacked = postfix_tools(tmp)
    if postmap is None:
        skip("postfix: postmap and postconf accept the export", postconf)
        return
    print(f"# Postfix tools: {postmap}" +
          (" (unpacked from the package)" if unpacked else ""))
    for src in sorted(os.listdir(pdir)):
        d = os.path.join(tmp, src)
        shutil.copytree(os.path.join(pdir, src), d)
        if unpacked:
            # The unpacked tools refuse to run without the users of
            # their main.cf; the export does not set them.
            user, group = unpacked_owner()
            with open(os.path.join(d, "main.cf"), "a") as f:
                f.write(f"mail_owner = {user}\nsetgid_group = {group}\n")
        t = subprocess.run([postmap, "-c", d, "hash:" +
                            os.path.join(d, "transport")],
                           capture_output=True, text=True, env=env)
        check(f"postfix: postmap accepts {src}/transport",
              t.returncode == 0 and not t.stderr.strip(), t.stderr)
        q = subprocess.run([postmap, "-c", d, "-q", "gmail.com", "hash:" +
                            os.path.join(d, "transport")],
                           capture_output=True, text=True, env=env)
        want = "dw_hold:" if src == "ip-192-0-2-11" else "dw_d"
        check(f"postfix: {src} routes gmail.com to {want} (IP2 is paused)",
              q.returncode == 0 and q.stdout.startswith(want), q.stdout)
        n = subprocess.run([postconf, "-c", d, "-n"], capture_output=True,
                           text=True, env=env)
        m = subprocess.run([postconf, "-c", d, "-M"], capture_output=True,
                           text=True, env=env)
        check(f"postfix: postconf -c {src} reads main.cf and master.cf "
              "without warnings",
              n.returncode == 0 and m.returncode == 0 and
              not n.stderr.strip() and not m.stderr.strip() and
              "dw_d12_destination_rate_delay = 12s" in n.stdout and
              "dw_hold" in m.stdout, n.stderr + m.stderr)


if __name__ == "__main__":
    sys.exit(main())
