#!/usr/bin/env python3
"""IMAP tests against a real Dovecot started here (tests/imap/dovecot.py):
TLS (implicit, STARTTLS, wrong CA, wrong name), login errors, 500 mixed
messages stored once and archived per kind, UIDVALIDITY change, kill -9 at
several points of a batch, watch across a Dovecot restart, IDLE, SIGHUP
and SIGTERM. Exits 77 (skipped) when Dovecot is not installed.

Usage: test_imap.py DW_EXE
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import dwexec  # noqa: E402  DW_EXEC_WRAPPER
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402
import fakeimap  # noqa: E402
import gen      # noqa: E402

EXE = sys.argv[1]
DW = dwexec.cmd(EXE)
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}"
          + ("" if cond else f"  [{detail}]"), flush=True)


def run(conf, *args, timeout=300):
    return subprocess.run(DW + ["-c", conf] + list(args),
                          capture_output=True, text=True,
                          timeout=dwexec.scale(timeout))


def summary(p):
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {}


def write_conf(tmp, name, text):
    path = os.path.join(tmp, name)
    open(path, "w").write(text)
    return path


def snapshot(path):
    """The database without timestamps, origins and row ids."""
    c = sqlite3.connect(path)
    out = (
        c.execute("SELECT kind, org_name, report_id, begin, end, records,"
                  " messages, messages_pass FROM reports ORDER BY kind,"
                  " report_id").fetchall(),
        c.execute("SELECT count(*), sum(count) FROM records").fetchone(),
        c.execute("SELECT count(*), sum(messages) FROM agg_daily").fetchone(),
        c.execute("SELECT sha256, outcome FROM messages ORDER BY sha256")
        .fetchall(),
        c.execute("SELECT sha256, error_code FROM rejected ORDER BY sha256")
        .fetchall(),
    )
    c.close()
    return out


def db_kinds(path):
    c = sqlite3.connect(path)
    out = dict(c.execute("SELECT kind, count(*) FROM reports GROUP BY kind"))
    c.close()
    return out


def archive_counts(counts):
    return {k.split("/", 1)[1]: v for k, v in counts.items()
            if k.startswith("dmarcwatch/")}


def wait_for(cond, timeout, step=0.2):
    """timeout: seconds, stretched under valgrind (dwexec.scale)."""
    deadline = time.time() + dwexec.scale(timeout)
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def stored_count(db):
    if not os.path.exists(db):
        return 0
    try:
        c = sqlite3.connect(db, timeout=5)
        n = c.execute("SELECT count(*) FROM messages").fetchone()[0]
        c.close()
        return n
    except sqlite3.Error:
        return 0


def main(tmp):
    dv = dovecot.Dovecot(tmp, users=[f"conn{i}" for i in range(10)] +
                         ["bulk", "kill", "killref", "watch", "big", "retry"])
    if not dv.available():
        print("dovecot not found (apt-get install dovecot-imapd): "
              "skipping the IMAP tests")
        return 77
    dv.start()
    try:
        cases(tmp, dv)
    finally:
        dv.stop()
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def cases(tmp, dv):
    # 1-3: config check sees every [imap] problem as file:line.
    loose = os.path.join(tmp, "loose-password")
    open(loose, "w").write("x\n")
    os.chmod(loose, 0o644)
    bad = write_conf(tmp, "bad.conf", "[imap]\nuser = u\nport = 99999\n"
                     "tls = sometimes\npassword_file = %s\n"
                     "batch = 0\nbogus = 1\n" % loose)
    p = run(bad, "config", "check")
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith(bad + ":")]
    want = {2: "needs host", 3: "port", 4: "tls", 5: "readable", 6: "batch",
            7: "unknown key"}
    got = {n: any(ln.startswith(f"{bad}:{n}:") and w in ln for ln in lines)
           for n, w in want.items()}
    check("config check: every [imap] error as file:line",
          p.returncode == 1 and all(got.values()), (p.stdout, got))
    nonlocal_none = write_conf(tmp, "none.conf", dv.config(
        host="mail.example.org", tls="none"))
    p = run(nonlocal_none, "config", "check")
    check("config check: tls = none refused for a non-loopback host",
          p.returncode == 1 and "127.0.0.1" in p.stdout, p.stdout)
    p = run(write_conf(tmp, "good.conf", dv.config()), "config", "check")
    check("config check: the test configuration is fine",
          p.returncode == 0, p.stdout)

    # 4-9: connection cases, each on its own mailbox with 3 messages.
    every = {"aggregate": 1, "tlsrpt": 1, "failure": 1, "invalid": 1}
    conn_cases = [
        # (name, config overrides, exit, stderr must contain, reports
        #  stored, archive folders after)
        ("IMAPS (implicit TLS), our CA", {}, 3, "", 3, every),
        ("STARTTLS", {"tls": "starttls", "port": str(dv.port)}, 3, "", 3,
         every),
        ("wrong CA refused", {"ca_file": dv.other_ca}, 1,
         "not issued by ca_file", 0, {}),
        ("host name mismatch refused (cert is for localhost)",
         {"host": "127.0.0.1"}, 1, "does not match", 0, {}),
        ("bad password: clear error, no secret in it",
         {"password_file": "BADPW"}, 1, "login as", 0, {}),
        ("tls = none on 127.0.0.1 works and warns",
         {"host": "127.0.0.1", "tls": "none", "port": str(dv.port)}, 3,
         "PLAIN TEXT", 3, every),
        ("tls_verify = no: a wrong CA passes, with a warning",
         {"ca_file": dv.other_ca, "tls_verify": "no"}, 3,
         "verification is OFF", 3, every),
        ("delete_after: stored ones deleted, invalid kept",
         {"delete_after": "yes"}, 3, "", 3, {"invalid": 1}),
        ("xoauth2: a failing token_command is a clear error",
         {"auth": "xoauth2", "password_file": None,
          "token_command": "exit 3"}, 1, "token_command failed", 0, {}),
        ("xoauth2: a refused token, not shown in the error",
         {"auth": "xoauth2", "password_file": None,
          "token_command": "echo xyzzy-token"}, 1, "login as", 0, {}),
    ]
    for n, (name, over, code, needle, stored, archive) in \
            enumerate(conn_cases):
        user = f"conn{n}"
        dv.deliver(user, [gen.message(i) for i in (0, 3, 7, 4)][:4])
        if over.get("password_file") == "BADPW":
            pw = os.path.join(tmp, "wrong-pw")
            open(pw, "w").write("not-the-password-xyzzy\n")
            os.chmod(pw, 0o600)
            over = dict(over, password_file=pw)
        conf = write_conf(tmp, f"conn{n}.conf", dv.config(user=user, **over))
        db = os.path.join(tmp, f"conn{n}.db")
        p = run(conf, "fetch", "-d", db, "--json")
        s = summary(p)
        ok = (p.returncode == code and needle in p.stderr and
              s.get("reports_new", 0) == stored and
              "xyzzy" not in p.stderr and dovecot.PASSWORD not in p.stderr)
        counts = dv.counts(user)
        left = counts.get("INBOX")
        arch = {k: v for k, v in archive_counts(counts).items() if v}
        ok = ok and left == (0 if stored else 4) and arch == archive
        check(f"connection: {name}", ok,
              (p.returncode, p.stderr[-600:], s, left, arch))

    # 10-13: 500 mixed messages land once and are archived by kind.
    n_msgs = 500
    exp = gen.expected(n_msgs)
    dv.deliver("bulk", [gen.message(i) for i in range(n_msgs)])
    conf = write_conf(tmp, "bulk.conf", dv.config(user="bulk", batch="40"))
    ref = os.path.join(tmp, "bulk.db")
    t0 = time.time()
    p = run(conf, "fetch", "-d", ref, "--json")
    s = summary(p)
    check(f"fetch of {n_msgs} mixed messages: summary and exit 3",
          p.returncode == 3 and s.get("messages") == n_msgs and
          s.get("messages_rejected") == exp["invalid"] and
          s.get("archived") == n_msgs and s.get("invalid") == exp["invalid"],
          (p.returncode, s, p.stderr[-500:]))
    print(f"# {n_msgs} messages in {time.time() - t0:.1f}s")
    kinds = db_kinds(ref)
    check("every report stored once, per kind",
          kinds == {k: v for k, v in exp.items() if k != "invalid"},
          kinds)
    counts = dv.counts("bulk")
    check("INBOX empty, archive folders hold each kind",
          counts.get("INBOX") == 0 and archive_counts(counts) == exp,
          counts)
    p = run(conf, "fetch", "-d", ref, "--json")
    check("second fetch: nothing to do, exit 0",
          p.returncode == 0 and summary(p).get("messages") == 0,
          (p.returncode, p.stdout))

    # A server without MOVE and UIDPLUS: COPY, \\Deleted, EXPUNGE.
    old = dovecot.Dovecot(tmp, name="dovecot-old", pki_from=dv, extra=(
        "imap_capability = IMAP4rev1 SASL-IR LITERAL+ IDLE NAMESPACE "
        "CHILDREN"))
    old.start()
    try:
        old.deliver(old.user, [gen.message(i) for i in range(30)])
        oconf = write_conf(tmp, "old.conf", old.config(batch="7"))
        p = run(oconf, "-v", "fetch", "-d", os.path.join(tmp, "old.db"),
                "--json")
        s = summary(p)
        counts = old.counts(old.user)
        check("server without MOVE/UIDPLUS: COPY + \\Deleted + EXPUNGE",
              p.returncode == 3 and s.get("reports_new") == 29 and
              "MOVE" not in p.stderr.split("\n")[0] and
              counts.get("INBOX") == 0 and
              archive_counts(counts) == gen.expected(30),
              (p.returncode, s, counts, p.stderr[:300]))
    finally:
        old.stop()

    # A hostile or broken server (canned responses, tests/imap/fakeimap.py):
    # a clear error, bounded memory, nothing stored.
    fake_cases = [
        # (mode, stderr must contain)
        ("huge-literal", "over LIM_MESSAGE_BYTES"),
        ("garbage", "UID FETCH (BODY.PEEK[]): malformed response"),
        ("bye", "connection to 127.0.0.1 lost"),
    ]
    for mode, needle in fake_cases:
        fk = fakeimap.FakeImap(mode)
        try:
            fconf = write_conf(tmp, f"fake-{mode}.conf", dv.config(
                host="127.0.0.1", tls="none", port=str(fk.port),
                ca_file=None))
            fdb = os.path.join(tmp, f"fake-{mode}.db")
            t0 = time.time()
            p = run(fconf, "fetch", "-d", fdb, timeout=120)
            c = sqlite3.connect(fdb)
            n = c.execute("SELECT count(*) FROM messages").fetchone()[0]
            c.close()
            check(f"hostile server ({mode}): exit 1 with a clear error, "
                  "nothing stored",
                  p.returncode == 1 and needle in p.stderr and n == 0 and
                  fk.sent < 100 * 1024 * 1024,
                  (p.returncode, p.stderr[-400:], n, fk.sent,
                   time.time() - t0))
        finally:
            fk.close()

    # A message over LIM_MESSAGE_BYTES (64 MiB) is not fetched: rejected
    # as too large (by its RFC822.SIZE) and moved to invalid.
    big = (b"From: big@example.org\r\nSubject: big\r\n\r\n" +
           (b"x" * 998 + b"\r\n") * (70 * 1024))
    dv.deliver("big", [big, gen.message(0)])
    bconf = write_conf(tmp, "big.conf", dv.config(user="big"))
    bdb = os.path.join(tmp, "big.db")
    p = run(bconf, "fetch", "-d", bdb, "--json")
    s = summary(p)
    c = sqlite3.connect(bdb)
    rej = c.execute("SELECT error_code FROM rejected").fetchall()
    c.close()
    counts = dv.counts("big")
    check("a message over LIM_MESSAGE_BYTES: rejected unfetched, to invalid",
          p.returncode == 3 and s.get("reports_new") == 1 and
          rej == [("too_large",)] and counts.get("INBOX") == 0 and
          archive_counts(counts).get("invalid") == 1,
          (p.returncode, s, rej, counts, p.stderr[-300:]))

    # A message that failed LIM_IMAP_RETRIES (5) times goes to unsaved,
    # even with delete_after (never deleted), and is not fetched again.
    rconf = write_conf(tmp, "retry.conf",
                       dv.config(user="retry", delete_after="yes"))
    rdb = os.path.join(tmp, "retry.db")
    p0 = run(rconf, "fetch", "-d", rdb)
    dv.deliver("retry", [gen.message(0), gen.message(1)])
    c = dv.imap("retry")
    c.select("INBOX")
    uids = c.uid("SEARCH", "ALL")[1][0].split()
    c.logout()
    c = sqlite3.connect(rdb)
    c.execute("INSERT INTO imap_uids (folder_id, uid, state, target,"
              " attempts, updated) SELECT id, ?, 'retry', '', 5, 0 FROM"
              " imap_folders", (int(uids[0]),))
    c.commit()
    c.close()
    p = run(rconf, "fetch", "-d", rdb, "--json")
    s = summary(p)
    counts = dv.counts("retry")
    check("after LIM_IMAP_RETRIES transient failures: moved to unsaved, "
          "not deleted, exit 3",
          p0.returncode == 0 and p.returncode == 3 and
          s.get("unsaved") == 1 and s.get("reports_new") == 1 and
          counts.get("INBOX") == 0 and
          archive_counts(counts) == {"unsaved": 1},
          (p0.returncode, p.returncode, s, counts, p.stderr[-300:]))

    # 14: UIDVALIDITY change: known messages only re-archived.
    c = sqlite3.connect(ref)
    c.execute("UPDATE imap_folders SET uidvalidity = 1")
    c.commit()
    c.close()
    before = snapshot(ref)
    dv.deliver("bulk", [gen.message(0), gen.message(1)])
    p = run(conf, "fetch", "-d", ref, "--json")
    s = summary(p)
    check("UIDVALIDITY change: rescan, nothing stored twice",
          p.returncode == 0 and "UIDVALIDITY changed" in p.stderr and
          s.get("messages_known") == 2 and snapshot(ref) == before and
          dv.counts("bulk").get("INBOX") == 0, (p.returncode, s, p.stderr))

    # 15-17: kill -9 at several points of a batch, then a full run: the
    # database equals the uninterrupted one, nothing stored is left in
    # the INBOX and no message is archived twice.
    k_msgs = 550   # > IMAP_MOVE_BATCH (500): a MOVE happens mid-run
    dv.deliver("kill", [gen.message(i) for i in range(k_msgs)])
    kref = os.path.join(tmp, "kill-ref.db")
    dv.deliver("killref", [gen.message(i) for i in range(k_msgs)])
    run(write_conf(tmp, "killref.conf",
                   dv.config(user="killref", batch="25")), "fetch", "-d", kref)
    kconf = write_conf(tmp, "kill.conf", dv.config(user="kill", batch="10"))
    kdb = os.path.join(tmp, "kill.db")
    points = []
    # Killed when the store reaches a count (polled every few ms), so the
    # kill lands mid-run however fast the machine is: right after a
    # commit, before or during the batch's MOVE, or mid-fetch.
    for i, at in enumerate((1, 150, 350, 495)):
        proc = subprocess.Popen(DW + ["-c", kconf, "-q", "fetch", "-d", kdb],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        wait_for(lambda: stored_count(kdb) >= at + i or
                 proc.poll() is not None, 60, step=0.003)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        points.append(stored_count(kdb))
    print(f"# messages stored at the kills: {points}")
    p = run(kconf, "fetch", "-d", kdb, "--json")
    check("kill -9 at several points: at least three kills mid-run",
          len([x for x in points if 0 < x < k_msgs]) >= 3, points)
    check("kill -9 then re-run equals an uninterrupted run",
          p.returncode in (0, 3) and snapshot(kdb) == snapshot(kref),
          (p.returncode, p.stderr[-300:]))
    counts = dv.counts("kill")
    check("after the kills: INBOX empty, each message archived once",
          counts.get("INBOX") == 0 and
          archive_counts(counts) == gen.expected(k_msgs), counts)

    # 18-22: watch: Dovecot restarted mid-batch, IDLE, SIGHUP, SIGTERM.
    w_msgs = 400
    dv.deliver("watch", [gen.message(i) for i in range(w_msgs)])
    wconf = write_conf(tmp, "watch.conf",
                       dv.config(user="watch", batch="2",
                                 poll_interval="60"))
    wdb = os.path.join(tmp, "watch.db")
    wlog = open(os.path.join(tmp, "watch.log"), "w+")
    proc = subprocess.Popen(DW + ["-c", wconf, "watch", "-d", wdb],
                            stdout=wlog, stderr=wlog)
    try:
        started = wait_for(lambda: stored_count(wdb) >= 20, 60, step=0.01)
        dv.stop()
        at_restart = stored_count(wdb)
        dv.start()
        done = wait_for(lambda: stored_count(wdb) >= w_msgs and
                        dv.counts("watch").get("INBOX") == 0, 120)
        counts = dv.counts("watch")
        log = open(wlog.name).read()
        check("watch: Dovecot restarted mid-batch, recovers and finishes",
              started and done and at_restart < w_msgs and
              ("reconnecting in" in log or "retrying in" in log) and
              counts.get("INBOX") == 0 and
              archive_counts(counts) == gen.expected(w_msgs),
              (started, done, at_restart, stored_count(wdb), counts,
               [ln for ln in log.splitlines() if "UID=" not in ln]))
        time.sleep(dwexec.scale(1))   # let it settle into IDLE
        c = dv.imap("watch")
        t0 = time.time()
        c.append("INBOX", None, None, gen.message(w_msgs))
        c.logout()
        fast = wait_for(lambda: stored_count(wdb) >= w_msgs + 1, 10)
        check("watch: a message appended while idle is stored within "
              "seconds (IDLE)", fast, time.time() - t0)
        proc.send_signal(signal.SIGHUP)
        reread = wait_for(lambda: "configuration re-read" in
                          open(wlog.name).read(), 10)
        c = dv.imap("watch")
        c.append("INBOX", None, None, gen.message(w_msgs + 1))
        c.logout()
        after_hup = wait_for(lambda: stored_count(wdb) >= w_msgs + 2, 15)
        good = open(wconf).read()
        open(wconf, "w").write(good + "bogus = 1\n")
        proc.send_signal(signal.SIGHUP)
        kept = wait_for(lambda: "keeping the old one" in
                        open(wlog.name).read(), 10)
        open(wconf, "w").write(good)
        c = dv.imap("watch")
        c.append("INBOX", None, None, gen.message(w_msgs + 2))
        c.logout()
        after_bad = wait_for(lambda: stored_count(wdb) >= w_msgs + 3, 15)
        check("watch: SIGHUP re-reads the config (a broken one is "
              "refused, the old kept) and goes on",
              reread and after_hup and kept and after_bad,
              (reread, after_hup, kept, after_bad))
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(15)
        except subprocess.TimeoutExpired:
            rc = None
        check("watch: SIGTERM stops it cleanly (exit 0)", rc == 0, rc)
        log = open(wlog.name).read()
        per_msg = [ln for ln in log.splitlines() if "UID=" in ln]
        check("watch: one log line per message, no report contents",
              len(per_msg) >= w_msgs and "<feedback>" not in log and
              dovecot.PASSWORD not in log, (len(per_msg), log[-800:]))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(tmp))
