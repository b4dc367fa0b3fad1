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
import re
import shutil
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


def sync_before_move(lines):
    """(ok, why) for an strace -y log: every UID MOVE comes after an
    fsync/fdatasync of the -wal file that follows the last write to it."""
    dirty = False
    wrote = moves = 0
    for ln in lines:
        if "-wal>" in ln and ("pwrite" in ln or " write(" in ln):
            dirty = True
            wrote += 1
        elif "-wal>" in ln and ("fdatasync(" in ln or "fsync(" in ln):
            dirty = False
        elif "UID MOVE" in ln and ("write" in ln or "send" in ln):
            moves += 1
            if dirty:
                return False, "MOVE sent with unsynced WAL writes: " + ln
    if moves == 0 or wrote == 0:
        return False, f"{moves} MOVE(s), {wrote} WAL write(s) seen"
    return True, ""


def main(tmp):
    dv = dovecot.Dovecot(tmp, users=[f"conn{i}" for i in range(20)] +
                         ["bulk", "kill", "killref", "watch", "big", "retry",
                          "sigterm", "sighup", "leave", "transient",
                          "recreate"])
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
    """Every group, or only those named in DW_IMAP_CASES (comma-separated,
    for working on one of them; the suite runs them all)."""
    groups = [("config", config_cases), ("conn", conn_cases),
              ("bulk", bulk_cases), ("kill", kill_cases),
              ("watch", watch_cases), ("signals", signal_cases),
              ("backoff", backoff_cases), ("nonreports", nonreport_cases),
              ("transient", transient_cases),
              ("uidvalidity", uidvalidity_cases)]
    only = [g for g in os.environ.get("DW_IMAP_CASES", "").split(",") if g]
    for name, fn in groups:
        if not only or name in only:
            fn(tmp, dv)


def config_cases(tmp, dv):
    # config check sees every [imap] problem as file:line.
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



def conn_cases(tmp, dv):
    # Connection cases, each on its own mailbox with 3 messages.
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
          "token_command": "exit 3"}, 1,
         "token_command failed (exit status 3)", 0, {}),
        ("password_file a symbolic link: refused",
         {"password_file": "SYMLINK"}, 1, "a symbolic link: refused", 0,
         {}),
        ("xoauth2: token_command inherits no socket (close-on-exec)",
         {"auth": "xoauth2", "password_file": None,
          "token_command": "FDCHECK"}, 1, "login as", 0, {}),
        ("xoauth2: a refused token, not shown in the error",
         {"auth": "xoauth2", "password_file": None,
          "token_command": "echo xyzzy-token"}, 1, "login as", 0, {}),
        ("xoauth2 login with token_command (Dovecot checks the token)",
         {"auth": "xoauth2", "password_file": None,
          "token_command": f"echo {dovecot.PASSWORD}"}, 3, "", 3, every),
        ("xoauth2 login with token_file",
         {"auth": "xoauth2", "password_file": None,
          "token_file": "CLIENTPW"}, 3, "", 3, every),
        ("STARTTLS with a wrong CA refused",
         {"tls": "starttls", "port": str(dv.port), "ca_file": dv.other_ca},
         1, "not issued by ca_file", 0, {}),
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
        if over.get("password_file") == "SYMLINK":
            link = os.path.join(tmp, "pw-link")
            os.symlink(os.path.join(dv.d, "client-password"), link)
            over = dict(over, password_file=link)
        if over.get("token_file") == "CLIENTPW":
            dv.config()           # makes the 0600 password file
            over = dict(over, token_file=os.path.join(dv.d,
                                                      "client-password"))
        fdlist = os.path.join(tmp, "helper-fds")
        if over.get("token_command") == "FDCHECK":
            over = dict(over, token_command=f"ls -l /proc/$$/fd > {fdlist};"
                        " echo xyzzy-token")
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
        if "xoauth2 login" in name:
            # it really was XOAUTH2 (not LOGIN) that Dovecot accepted
            dlog = open(os.path.join(dv.d, "dovecot.log")).read()
            ok = ok and f"user=<{user}>, method=XOAUTH2" in dlog
        if "FDCHECK" in name or "close-on-exec" in name:
            fds = [ln for ln in open(fdlist).read().splitlines()
                   if "->" in ln and int(ln.split("->")[0].split()[-1]) > 2]
            ok = ok and not [f for f in fds if "socket:" in f or ".db" in f]
            needle = str(fds)
        check(f"connection: {name}", ok,
              (p.returncode, p.stderr[-600:], s, left, arch, needle))


    # STARTTLS missing on the server (and answered NO): refused, the
    # password never sent.
    fk = fakeimap.FakeImap("nostarttls")
    try:
        fconf = write_conf(tmp, "fake-nostarttls.conf", dv.config(
            host="127.0.0.1", tls="starttls", port=str(fk.port),
            ca_file=None))
        p = run(fconf, "fetch", "-d", os.path.join(tmp, "nostarttls.db"),
                timeout=60)
        check("STARTTLS refused by the server: no plain-text fallback, "
              "no login", p.returncode == 1 and "STARTTLS failed" in
              p.stderr and "refusing to go on without TLS" in p.stderr and
              fk.logins == 0 and fk.starttls == 1,
              (p.returncode, p.stderr[-300:], fk.logins, fk.starttls))
    finally:
        fk.close()

    # A chain longer than LIM_TLS_CHAIN (16) is refused as such (it used
    # to be cut to 16 and then fail as an unknown issuer); one within it
    # verifies.
    for depth, code, needle in ((16, 1, "a chain of 17 certificates, more "
                                 "than LIM_TLS_CHAIN (16): refused"),
                                (3, 0, "")):
        d = os.path.join(tmp, f"chain{depth}")
        os.makedirs(d)
        ca, chain, key = dovecot.make_chain(d, depth)
        dc = dovecot.Dovecot(tmp, name=f"dovecot-chain{depth}", pki_from=dv)
        dc.write_conf(chain, key)
        os.chmod(d, 0o755)
        for f in os.listdir(d):
            os.chmod(os.path.join(d, f), 0o644)
        dc.start()
        try:
            cconf = write_conf(tmp, f"chain{depth}.conf",
                               dc.config(ca_file=ca))
            p = run(cconf, "fetch", "-d", os.path.join(tmp, f"chain{depth}"
                                                        ".db"))
            check(f"TLS: a chain of {depth + 1} certificates "
                  f"{'refused' if code else 'verifies'}",
                  p.returncode == code and needle in p.stderr,
                  (p.returncode, p.stderr[-400:]))
        finally:
            dc.stop()


def bulk_cases(tmp, dv):
    # 500 mixed messages land once and are archived by kind.
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
        hello = [ln for ln in p.stderr.splitlines() if "connected to" in ln]
        check("server without MOVE/UIDPLUS: COPY + \\Deleted + EXPUNGE",
              p.returncode == 3 and s.get("reports_new") == 29 and
              len(hello) == 1 and "MOVE" not in hello[0] and
              counts.get("INBOX") == 0 and
              archive_counts(counts) == gen.expected(30),
              (p.returncode, s, counts, p.stderr[:300]))
    finally:
        old.stop()

    # Without MOVE, killed between the COPY and the EXPUNGE (seen from
    # the server: it hangs up at the UID STORE \Deleted): the next run only
    # deletes the message, it does not copy it to the archive again.
    fk = fakeimap.FakeImap("nomove", gen.message(0))
    try:
        fconf = write_conf(tmp, "fake-nomove.conf", dv.config(
            host="127.0.0.1", tls="none", port=str(fk.port), ca_file=None))
        fdb = os.path.join(tmp, "fake-nomove.db")
        p1 = run(fconf, "fetch", "-d", fdb, timeout=120)
        p2 = run(fconf, "fetch", "-d", fdb, "--json", timeout=120)
        s = summary(p2)
        check("without MOVE, a crash between COPY and EXPUNGE: the next "
              "run expunges, no second copy in the archive",
              p1.returncode == 1 and "lost" in p1.stderr and
              p2.returncode == 0 and fk.copies == 1 and fk.expunged and
              stored_count(fdb) == 1 and s.get("messages") == 0,
              (p1.returncode, p1.stderr[-300:], p2.returncode, fk.copies,
               fk.expunged, s))
    finally:
        fk.close()

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

    # Exactly-once across a power loss: the store commits with
    # synchronous = NORMAL (durable against a crash of the process, not
    # of the machine), so the message's commit must be synced before the
    # server is told to move it away. Under strace: after the last write
    # to the -wal file and before each UID MOVE, an fsync/fdatasync of the
    # -wal file.
    if shutil.which("strace") is None or os.environ.get("DW_EXEC_WRAPPER"):
        print("# strace missing (or a wrapper set): sync-before-MOVE "
              "not checked")
    else:
        fk = fakeimap.FakeImap("store", message=gen.message(0))
        try:
            sconf = write_conf(tmp, "fake-store.conf", dv.config(
                host="127.0.0.1", tls="none", port=str(fk.port),
                ca_file=None))
            sdb = os.path.join(tmp, "fake-store.db")
            trace = os.path.join(tmp, "fake-store.trace")
            # LeakSanitizer cannot run under ptrace (it aborts the
            # sanitizer build at exit): leaks are checked by every other
            # case, not this one.
            senv = dict(os.environ)
            senv["ASAN_OPTIONS"] = (senv.get("ASAN_OPTIONS", "") +
                                    ":detect_leaks=0").lstrip(":")
            p = subprocess.run(
                ["strace", "-f", "-y", "-s", "64", "-o", trace, "-e",
                 "trace=pwrite64,pwritev,write,sendto,sendmsg,fsync,"
                 "fdatasync", EXE, "-c", sconf, "fetch", "-d", sdb,
                 "--json"], capture_output=True, text=True, timeout=120,
                env=senv)
            s = summary(p)
            ok, why = sync_before_move(open(trace).read().split("\n"))
            check("a commit is synced to disk before its UID MOVE",
                  p.returncode == 0 and s.get("reports_new") == 1 and
                  len(fk.moves) == 1 and ok,
                  (p.returncode, s, fk.moves, why, p.stderr[-300:]))
        finally:
            fk.close()

    # A message over LIM_MESSAGE_BYTES (64 MiB) is not fetched: rejected
    # as too large (by its RFC822.SIZE) and moved to invalid.
    big = (b"From: big@example.org\r\nSubject: big\r\n\r\n" +
           (b"x" * 998 + b"\r\n") * (70 * 1024))
    bconf = write_conf(tmp, "big.conf", dv.config(user="big"))
    bdb = os.path.join(tmp, "big.db")
    run(bconf, "fetch", "-d", bdb)         # makes the database
    dv.deliver("big", [big, gen.message(0)])
    # Its rejected row and its UID row commit together: with the UID row
    # refused (a trigger), nothing about it may be stored.
    c = sqlite3.connect(bdb)
    c.execute("CREATE TRIGGER no_uids BEFORE INSERT ON imap_uids BEGIN"
              " SELECT RAISE(ABORT, 'test: no imap_uids rows'); END")
    c.commit()
    c.close()
    p = run(bconf, "fetch", "-d", bdb, "--json")
    c = sqlite3.connect(bdb)
    rej = c.execute("SELECT count(*) FROM rejected").fetchone()[0]
    c.execute("DROP TRIGGER no_uids")
    c.commit()
    c.close()
    check("a rejection and its UID row commit together (UID row refused: "
          "no rejected row either, message left)",
          p.returncode == 4 and rej == 0 and
          dv.counts("big").get("INBOX") == 2, (p.returncode, rej,
                                               p.stderr[-400:]))
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



def kill_cases(tmp, dv):
    # kill -9 at several points of a batch, then a full run: the
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



def watch_cases(tmp, dv):
    # watch: Dovecot restarted mid-batch, IDLE, SIGHUP, SIGTERM.
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
        # What a running watch cannot change is logged, not ignored.
        open(wconf, "w").write(good + "\n[general]\nlog = syslog\n")
        n_reread = open(wlog.name).read().count("configuration re-read")
        proc.send_signal(signal.SIGHUP)
        restart = wait_for(lambda: "[general] log changed: takes effect "
                           "at the next start" in open(wlog.name).read(), 10)
        applied = wait_for(lambda: open(wlog.name).read().count(
            "configuration re-read") > n_reread, 10)
        open(wconf, "w").write(good)
        check("watch: SIGHUP with [general] log changed says it needs a "
              "restart (and re-reads the rest)", restart and applied,
              (restart, applied, open(wlog.name).read()[-400:]))
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(15)
        except subprocess.TimeoutExpired:
            rc = None
        check("watch: SIGTERM stops it cleanly (exit 0)", rc == 0, rc)
        log = open(wlog.name).read()
        # Exactly one line per message (stored or rejected), with the
        # outcome and the folder it goes to; nothing else names a UID.
        per_uid = {}
        for ln in log.splitlines():
            for u in re.findall(r"UID=(\d+)", ln):
                per_uid.setdefault(int(u), []).append(ln)
        twice = {u: v for u, v in per_uid.items() if len(v) != 1}
        shaped = all(re.search(r": (stored \d+ reports? .*-> dmarcwatch/"
                               r"(aggregate|tlsrpt|failure)|rejected: .* -> "
                               r"dmarcwatch/invalid)$", v[0])
                     for v in per_uid.values())
        check("watch: exactly one log line per message, with outcome and "
              "folder; no report contents",
              len(per_uid) == w_msgs + 3 and not twice and shaped and
              "<feedback>" not in log and dovecot.PASSWORD not in log,
              (len(per_uid), list(twice.items())[:3], shaped,
               [v[0] for v in per_uid.values()][:3]))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def signal_cases(tmp, dv):
    """SIGTERM and SIGHUP in the middle of a batch, with mail still
    waiting: the pass ends between messages and the signal is acted on
    (it used to be left pending: the loop span on SELECT for ever)."""
    n = 300
    dv.deliver("sigterm", [gen.message(i) for i in range(n)])
    conf = write_conf(tmp, "sigterm.conf",
                      dv.config(user="sigterm", batch="2",
                                poll_interval="60"))
    db = os.path.join(tmp, "sigterm.db")
    log = open(os.path.join(tmp, "sigterm.log"), "w+")
    proc = subprocess.Popen(DW + ["-c", conf, "watch", "-d", db],
                            stdout=log, stderr=log)
    try:
        started = wait_for(lambda: stored_count(db) >= 20 or
                           proc.poll() is not None, 60, step=0.01)
        t0 = time.time()
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.time() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    at_stop = stored_count(db)
    left = dv.counts("sigterm").get("INBOX")
    check("watch: SIGTERM mid-batch exits 0 within seconds, the rest "
          "stays in INBOX",
          started and rc == 0 and 0 < left < n and at_stop < n and
          at_stop + left == n and "stopped" in open(log.name).read(),
          (started, rc, took, at_stop, left,
           open(log.name).read()[-500:]))
    p = run(conf, "fetch", "-d", db, "--json")
    s = summary(p)
    c = sqlite3.connect(db)
    msgs = c.execute("SELECT count(*), count(DISTINCT sha256) FROM "
                     "messages").fetchone()
    c.close()
    counts = dv.counts("sigterm")
    check("after the SIGTERM: fetch completes, nothing stored twice",
          p.returncode == 3 and s.get("messages") == left and
          msgs == (n, n) and counts.get("INBOX") == 0 and
          archive_counts(counts) == gen.expected(n),
          (p.returncode, s, msgs, counts))

    dv.deliver("sighup", [gen.message(i) for i in range(n)])
    conf = write_conf(tmp, "sighup.conf",
                      dv.config(user="sighup", batch="2",
                                poll_interval="60"))
    db = os.path.join(tmp, "sighup.db")
    log = open(os.path.join(tmp, "sighup.log"), "w+")
    proc = subprocess.Popen(DW + ["-c", conf, "watch", "-d", db],
                            stdout=log, stderr=log)
    try:
        started = wait_for(lambda: stored_count(db) >= 20 or
                           proc.poll() is not None, 60, step=0.01)
        proc.send_signal(signal.SIGHUP)
        reread = wait_for(lambda: "configuration re-read" in
                          open(log.name).read(), 10, step=0.05)
        mid = stored_count(db)
        done = wait_for(lambda: stored_count(db) >= n and
                        dv.counts("sighup").get("INBOX") == 0, 120)
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    counts = dv.counts("sighup")
    check("watch: SIGHUP mid-batch re-reads the config and the run "
          "completes",
          started and reread and mid < n and done and rc == 0 and
          archive_counts(counts) == gen.expected(n),
          (started, reread, mid, done, rc, counts,
           open(log.name).read()[-500:]))


def backoff_cases(tmp, dv):
    """A server that accepts the login and the pass but refuses IDLE every
    time: watch backs off (capped exponential with jitter) instead of
    reconnecting in a tight loop."""
    fk = fakeimap.FakeImap("idle-fail")
    try:
        conf = write_conf(tmp, "idle-fail.conf", dv.config(
            host="127.0.0.1", tls="none", port=str(fk.port), ca_file=None))
        db = os.path.join(tmp, "idle-fail.db")
        log = open(os.path.join(tmp, "idle-fail.log"), "w+")
        proc = subprocess.Popen(DW + ["-c", conf, "watch", "-d", db],
                                stdout=log, stderr=log)
        try:
            # Waits 0.5-1, 1-2, 2-4 s: at most 4 connections in 6 s
            # (5 with scheduling slack); the old loop made hundreds.
            time.sleep(6)
            n = fk.logins
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(10)
            except subprocess.TimeoutExpired:
                rc = None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        text = open(log.name).read()
        check("watch: IDLE refused every time -> backoff, few reconnects",
              2 <= n <= 5 and rc == 0 and "IDLE" in text and
              "reconnecting in" in text, (n, rc, text[-600:]))
    finally:
        fk.close()


def uid_states(db):
    c = sqlite3.connect(db, timeout=10)
    out = dict(c.execute("SELECT state, count(*) FROM imap_uids "
                         "GROUP BY state"))
    c.close()
    return out


def nonreport_cases(tmp, dv):
    """[imap] non_reports: invalid (the default, see bulk_cases) moves
    messages with no report to <archive>/invalid; leave keeps them where
    they are, records their UIDs and never fetches them again."""
    n = 60                       # messages 7 and 57 are not reports
    want = gen.expected(n)
    dv.deliver("leave", [gen.message(i) for i in range(n)])
    conf = write_conf(tmp, "leave.conf", dv.config(user="leave",
                                                   non_reports="leave"))
    db = os.path.join(tmp, "leave.db")
    p = run(conf, "config", "check")
    check("config check: non_reports = leave is fine", p.returncode == 0,
          p.stdout)
    p = run(conf, "fetch", "-d", db, "--json")
    s = summary(p)
    counts = dv.counts("leave")
    arch = archive_counts(counts)
    check("non_reports = leave: non-reports stay in INBOX, recorded as "
          "'left'; reports archived",
          p.returncode == 3 and s.get("left") == 2 and
          s.get("messages") == n and s.get("archived") == n - 2 and
          counts.get("INBOX") == 2 and "invalid" not in arch and
          arch == {k: v for k, v in want.items() if k != "invalid"} and
          uid_states(db).get("left") == 2,
          (p.returncode, s, counts, uid_states(db), p.stderr[-300:]))
    p = run(conf, "fetch", "-d", db, "--json")
    s = summary(p)
    check("non_reports = leave: the next fetch does not fetch them again",
          p.returncode == 0 and s.get("messages") == 0 and
          s.get("left") == 2 and dv.counts("leave").get("INBOX") == 2,
          (p.returncode, s))
    # watch with IDLE: the two left in INBOX are not new mail; it must
    # wait in IDLE, not run pass after pass.
    wlog = open(os.path.join(tmp, "leave-watch.log"), "w+")
    proc = subprocess.Popen(DW + ["-c", conf, "-vv", "watch", "-d", db],
                            stdout=wlog, stderr=wlog)
    try:
        # A pass loop runs pass after pass (429 in 3 s before the fix).
        # Single extra passes are legitimate: an untagged update from the
        # first fetch's own moves (seen once under load), Dovecot's
        # "* OK Still here" every 2 minutes during IDLE (reached under
        # valgrind, where the waits are 20 times longer). So: one or two
        # passes, then at most one more in the quiet seconds after.
        time.sleep(dwexec.scale(3))
        passes0 = open(wlog.name).read().count("pass done")
        time.sleep(dwexec.scale(3))
        passes = open(wlog.name).read().count("pass done")
        passes = passes0 if passes0 in (1, 2) and \
            passes - passes0 <= 1 else (passes0, passes)
        c = dv.imap("leave")
        c.append("INBOX", None, None, gen.message(107))   # not a report
        c.append("INBOX", None, None, gen.message(n))
        c.logout()
        got = wait_for(lambda: stored_count(db) >= n + 2, 10)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = open(wlog.name).read()
    check("non_reports = leave under watch: idle (no pass loop), a new "
          "non-report logged once and left",
          passes in (1, 2) and got and rc == 0 and
          dv.counts("leave").get("INBOX") == 3 and
          len(re.findall(r"UID=\d+: not a report .*left in place", log))
          == 1, (passes, got, rc, dv.counts("leave"), log[-600:]))
    # Back to the default: what was left goes to invalid, unfetched.
    conf2 = write_conf(tmp, "leave2.conf", dv.config(user="leave",
                                                     non_reports="invalid"))
    p = run(conf2, "fetch", "-d", db, "--json")
    s = summary(p)
    counts = dv.counts("leave")
    check("non_reports = invalid afterwards: the left ones move to "
          "invalid without being fetched again",
          p.returncode == 0 and s.get("messages") == 0 and
          s.get("invalid") == 3 and counts.get("INBOX") == 0 and
          archive_counts(counts).get("invalid") == 3 and
          "left" not in uid_states(db),
          (p.returncode, s, counts, uid_states(db)))
    bad = write_conf(tmp, "leave-bad.conf", dv.config(user="leave",
                                                      non_reports="keep"))
    p = run(bad, "config", "check")
    check("config check: non_reports must be invalid or leave",
          p.returncode == 1 and "non_reports: not invalid or leave" in
          p.stdout, p.stdout)


class DbLock:
    """Another process holding the database's write lock (BEGIN
    EXCLUSIVE; WAL readers go on) until release()."""

    def __init__(self, db):
        self.p = subprocess.Popen(
            [sys.executable, "-c",
             "import sqlite3, sys\n"
             "c = sqlite3.connect(sys.argv[1], isolation_level=None,"
             " timeout=60)\n"
             "c.execute('BEGIN EXCLUSIVE')\n"
             "print('locked', flush=True)\n"
             "sys.stdin.read()\n"
             "c.execute('ROLLBACK')\n", db],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == "locked"

    def release(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            self.p.wait(30)


def uid_row(db):
    c = sqlite3.connect(db, timeout=30)
    out = c.execute("SELECT state, attempts FROM imap_uids").fetchall()
    c.close()
    return out


class LogWatcher:
    """Reads a process's stderr in a thread; wait(text) until it shows."""

    def __init__(self, stream, copy):
        import threading
        self.text = ""
        self.copy = copy
        self.th = threading.Thread(target=self.read, args=(stream,),
                                   daemon=True)
        self.th.start()

    def read(self, stream):
        for line in stream:
            self.text += line
            self.copy.write(line)
            self.copy.flush()

    def wait(self, needle, timeout):
        return wait_for(lambda: needle in self.text, timeout, step=0.05)


def transient_cases(tmp, dv):
    """A real transient failure: another process holds the database's
    write lock longer than the busy timeout (10 s). The message stays in
    INBOX, fetch exits 4 and the attempts are counted pass after pass,
    also while the lock keeps the count itself from being written; after
    LIM_IMAP_RETRIES (5) it goes to 'unsaved', even with delete_after,
    and is never deleted."""
    conf = write_conf(tmp, "transient.conf", dv.config(
        user="transient", delete_after="yes", poll_interval="1"))
    db = os.path.join(tmp, "transient.db")
    log = open(os.path.join(tmp, "transient.log"), "w+")
    p0 = run(conf, "fetch", "-d", db)        # makes the database
    dv.deliver("transient", [gen.message(0)])
    seen = []
    for i in (1, 2, 3):
        lock = DbLock(db)
        try:
            proc = subprocess.Popen(DW + ["-c", conf, "fetch", "-d", db],
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            lw = LogWatcher(proc.stderr, log)
            failed = lw.wait("not stored", 60)
        finally:
            # the count is written at the end of the pass, once the
            # database takes it
            lock.release()
        rc = proc.wait(60)
        lw.th.join(5)
        seen.append((rc, failed, uid_row(db),
                     dv.counts("transient").get("INBOX")))
    check("database locked: fetch exits 4, the message stays in INBOX, "
          "attempts 1, 2, 3",
          p0.returncode == 0 and
          seen == [(4, True, [("retry", i)], 1) for i in (1, 2, 3)],
          (p0.returncode, seen))

    # watch, the lock held all along: the count goes on in memory (4, 5),
    # the message goes to unsaved although nothing could be written.
    lock = DbLock(db)
    proc = subprocess.Popen(DW + ["-c", conf, "watch", "-d", db],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lw = LogWatcher(proc.stderr, log)
    try:
        gave_up = lw.wait("-> dmarcwatch/unsaved", 150)
        moved = wait_for(lambda: archive_counts(dv.counts(
            "transient")).get("unsaved") == 1, 30)
        row_locked = uid_row(db)
        lock.release()
        written = wait_for(lambda: uid_row(db) == [("unsaved", 5)], 60)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
    finally:
        lock.release()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lw.th.join(5)
    text = lw.text
    counts = dv.counts("transient")
    check("database locked throughout: watch counts 4 and 5 in memory, "
          "moves the message to unsaved, writes the count once it can",
          gave_up and moved and row_locked == [("retry", 3)] and
          "transient failure 4 of 5" in text and
          "transient failure 5 of 5" in text and
          "cannot record the transient failures" in text and written and
          rc == 0,
          (gave_up, moved, row_locked, written, rc, uid_row(db),
           text[-1200:]))
    check("after LIM_IMAP_RETRIES: in unsaved (not deleted despite "
          "delete_after), not stored",
          counts.get("INBOX") == 0 and
          archive_counts(counts) == {"unsaved": 1} and
          stored_count(db) == 0, (counts, stored_count(db)))


def uidvalidity_cases(tmp, dv):
    """The hazard of a UIDVALIDITY change: UID numbers reused for other
    messages. A read folder is deleted and made again (new UIDVALIDITY,
    UIDs from 1 again) and gets other messages under the same UIDs: they
    must be stored, not taken for the old ones and only archived."""
    conf = write_conf(tmp, "recreate.conf", dv.config(user="recreate",
                                                      folders="Reports"))
    db = os.path.join(tmp, "recreate.db")
    c = dv.imap("recreate")
    c.create("Reports")
    for i in (100, 101, 102):
        c.append("Reports", None, None, gen.message(i))
    c.select("Reports")
    uids1 = c.uid("SEARCH", "ALL")[1][0].split()
    uv1 = c.response("UIDVALIDITY")[1]
    c.logout()
    p1 = run(conf, "fetch", "-d", db, "--json")
    s1 = summary(p1)
    c = dv.imap("recreate")
    c.delete("Reports")
    c.create("Reports")
    for i in (200, 201, 202):
        c.append("Reports", None, None, gen.message(i))
    c.select("Reports")
    uids2 = c.uid("SEARCH", "ALL")[1][0].split()
    uv2 = c.response("UIDVALIDITY")[1]
    c.logout()
    p2 = run(conf, "fetch", "-d", db, "--json")
    s2 = summary(p2)
    counts = dv.counts("recreate")
    check("folder deleted and made again (UIDs reused for other "
          "messages): the new ones are stored, not only archived",
          p1.returncode == 0 and s1.get("reports_new") == 3 and
          uids1 == uids2 and uv1 != uv2 and p2.returncode == 0 and
          "UIDVALIDITY changed" in p2.stderr and
          s2.get("reports_new") == 3 and s2.get("messages_known") == 0 and
          counts.get("Reports") == 0 and
          archive_counts(counts).get("aggregate", 0) +
          archive_counts(counts).get("tlsrpt", 0) +
          archive_counts(counts).get("failure", 0) == 6,
          (p1.returncode, s1, uids1, uids2, uv1, uv2, p2.returncode, s2,
           counts, p2.stderr[-300:]))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(tmp))
