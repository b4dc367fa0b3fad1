#!/usr/bin/env python3
"""Durability (issue 7 item 5): 1,000 report messages of every kind (20 of
them no report at all) in a real Dovecot (tests/imap/dovecot.py, gen.py);
`dmarcwatch watch` killed with SIGKILL at 50 random moments and restarted
each time, then left to finish and stopped with SIGTERM. The database must
equal an uninterrupted `fetch` of the same messages (the dump of
tests/imap/test_imap.py), no message or report stored twice or lost, each
message in its archive folder once. Meanwhile readers run in a loop:
`dmarcwatch reports`, a sqlite3 CLI script (no busy timeout, so
SQLITE_BUSY would show) and `dmarcwatch hints` (a second writer: it must
wait on busy_timeout, not fail). None may fail.

Random moments: seeded RNG (DW_DUR_SEED to replay; the seed is printed).
Most kills wait until the store reaches a random message count and then a
random delay (mid-fetch, mid-commit, before or during the MOVE); some come
a random delay after the start (connect, TLS, login, SELECT).

Usage: test_durability.py DW_EXE   (exit 77 when Dovecot is missing)
"""
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "imap"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import imaplib  # noqa: E402,F401  before the switch to nobody (below)
import ssl      # noqa: E402,F401
import dovecot  # noqa: E402
import dwexec   # noqa: E402
import gen      # noqa: E402
from test_imap import snapshot, archive_counts  # noqa: E402  same dump

EXE = sys.argv[1]
DW = dwexec.cmd(EXE)
N_MSGS = 1000
KILLS = 50
NOW = "2026-03-02T06:00:00Z"
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}"
          + ("" if cond else f"  [{detail}]"), flush=True)


def wait_for(cond, timeout, step=0.2):
    """timeout: seconds, stretched under valgrind (dwexec.scale)."""
    deadline = time.time() + dwexec.scale(timeout)
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def q(db, sql):
    c = sqlite3.connect(db, timeout=30)
    try:
        return c.execute(sql).fetchall()
    finally:
        c.close()


def stored_count(db):
    try:
        return q(db, "SELECT count(*) FROM messages")[0][0]
    except sqlite3.Error:
        return 0


class Readers:
    """Three loops, each running its command again and again until
    stop(); a run fails on a non-zero exit or a busy/locked message."""

    def __init__(self, tmp, db, conf, providers):
        script = os.path.join(tmp, "readers.sql")
        open(script, "w").write(
            # As doc/schema.md tells scripts: a busy timeout. WAL readers
            # never wait for ingest transactions, but SQLite holds the
            # file exclusively for a moment while it recovers the WAL
            # after a kill and when the last connection closes; a reader
            # with no timeout at all can then see "database is locked".
            ".timeout 10000\n"
            ".bail on\n"
            "SELECT kind, count(*), sum(records) FROM reports GROUP BY kind;\n"
            "SELECT count(*), sum(count) FROM records;\n"
            "SELECT count(*), sum(messages) FROM v_daily_source;\n"
            "SELECT org_name, count(*) FROM v_reports GROUP BY org_name;\n"
            "SELECT count(*) FROM v_records WHERE dmarc_pass = 0;\n"
            "SELECT outcome, count(*) FROM messages GROUP BY outcome;\n")
        self.cmds = {
            "reports": (DW + ["-q", "reports", "-d", db], None),
            "sqlite3": (["sqlite3", db], script),
            "hints": (DW + ["hints", "-c", conf, "-d", db, "--providers",
                            providers, "--now", NOW, "--out",
                            os.path.join(tmp, "hints.json")], None),
        }
        self.runs = {k: 0 for k in self.cmds}
        self.fails = {k: 0 for k in self.cmds}
        self.examples = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.loop, args=(k,),
                                         daemon=True) for k in self.cmds]

    def loop(self, name):
        argv, stdin = self.cmds[name]
        while not self.stopping.is_set():
            inp = open(stdin, "rb") if stdin else subprocess.DEVNULL
            try:
                p = subprocess.run(argv, stdin=inp, capture_output=True,
                                   timeout=dwexec.scale(300))
            finally:
                if stdin:
                    inp.close()
            err = p.stderr.decode(errors="replace")
            bad = p.returncode != 0 or "locked" in err or \
                "busy" in err.lower()
            self.runs[name] += 1
            if bad:
                self.fails[name] += 1
                if len(self.examples) < 5:
                    self.examples.append((name, p.returncode, err[-400:]))
            # Leave the 2 CPUs to the writer now and then.
            self.stopping.wait(0.05)

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join()


def main(tmp):
    dv = dovecot.Dovecot(tmp, user="dur", users=["ref"])
    if not dv.available():
        print("dovecot not found (apt-get install dovecot-imapd): "
              "skipping the durability test")
        return 77
    seed = int(os.environ.get("DW_DUR_SEED") or random.SystemRandom()
               .randrange(1, 2**32))
    print(f"# seed {seed} (DW_DUR_SEED={seed} to replay)", flush=True)
    rng = random.Random(seed)
    t_start = time.time()
    dv.start()
    try:
        cases(tmp, dv, rng)
    finally:
        dv.stop()
    failed = results.count(False)
    print(f"# duration {time.time() - t_start:.1f} s")
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def drop_root(tmp, dv):
    """As root, fetch/watch would switch to [general] user (cli/privdrop.c)
    and could not read files made here: everything after the delivery
    runs as nobody (the saved uid stays 0 so that Dovecot can be stopped;
    children are plain nobody). Returns the work dir."""
    work = os.path.join(tmp, "work")
    os.makedirs(work)
    if os.geteuid() != 0:
        return work
    import pwd
    nb = pwd.getpwnam("nobody")
    dv.config()   # writes the client password file, as root
    for p in (work, os.path.join(dv.d, "client-password")):
        os.chown(p, nb.pw_uid, nb.pw_gid)
    os.chmod(tmp, 0o755)
    os.setgroups([])
    os.setresgid(nb.pw_gid, nb.pw_gid, 0)
    os.setresuid(nb.pw_uid, nb.pw_uid, 0)
    return work


def regain_root():
    if os.getresuid()[2] == 0 and os.geteuid() != 0:
        os.setresuid(0, 0, 0)
        os.setresgid(0, 0, 0)


def cases(tmp, dv, rng):
    msgs = [gen.message(i) for i in range(N_MSGS)]
    dv.deliver("ref", msgs)
    dv.deliver("dur", msgs)
    del msgs
    try:
        cases_as_user(drop_root(tmp, dv), dv, rng)
    finally:
        regain_root()


def cases_as_user(tmp, dv, rng):

    # The uninterrupted run.
    ref = os.path.join(tmp, "ref.db")
    rconf = os.path.join(tmp, "ref.conf")
    open(rconf, "w").write(dv.config(user="ref", batch="25"))
    t0 = time.time()
    p = subprocess.run(DW + ["-c", rconf, "-q", "fetch", "-d", ref],
                       capture_output=True, text=True,
                       timeout=dwexec.scale(900))
    t_ref = time.time() - t0
    print(f"# uninterrupted fetch: {t_ref:.1f} s, exit {p.returncode}",
          flush=True)
    check("uninterrupted fetch stores every message", p.returncode == 3 and
          stored_count(ref) == N_MSGS, (p.returncode, p.stderr[-500:]))

    db = os.path.join(tmp, "dur.db")
    conf = os.path.join(tmp, "dur.conf")
    open(conf, "w").write(dv.config(user="dur", batch="10",
                                    poll_interval="1") +
                          "[sender]\nips = 192.0.2.1, 192.0.2.2\n"
                          "domains = example.com\n")
    providers = os.path.join(os.environ.get("DW_SRCDIR",
                                            os.path.join(HERE, "..", "..")),
                             "dist", "providers.conf")
    # Create the database first (hints migrates it), so that the readers
    # never see a missing file.
    p = subprocess.run(Readers(tmp, db, conf, providers).cmds["hints"][0],
                       capture_output=True, text=True)
    check("hints creates the database", p.returncode == 0, p.stderr)

    readers = Readers(tmp, db, conf, providers)
    readers.start()
    wlog = open(os.path.join(tmp, "watch.log"), "ab")
    targets = sorted(rng.randint(1, N_MSGS - 1) for _ in range(KILLS))
    at_kill = []
    exited = []
    t0 = time.time()
    for k in range(KILLS):
        proc = subprocess.Popen(DW + ["-c", conf, "watch", "-d", db],
                                stdout=wlog, stderr=wlog)
        # Delays scale with this build's speed (the uninterrupted run's
        # time per message): a few batches at most between two kills.
        if rng.random() < 0.25:
            time.sleep(rng.uniform(0.0, 4 * t_ref / KILLS))
        else:
            wait_for(lambda: stored_count(db) >= targets[k] or
                     proc.poll() is not None, 120, step=0.005)
            time.sleep(rng.uniform(0.0, t_ref / KILLS))
        if proc.poll() is not None:
            exited.append((k, proc.returncode))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        at_kill.append(stored_count(db))
    t_kills = time.time() - t0
    print(f"# {KILLS} kills in {t_kills:.1f} s; messages stored at each: "
          f"{at_kill}", flush=True)
    mid = [x for x in at_kill if 0 < x < N_MSGS]
    check(f"{KILLS} SIGKILLs, spread over the run (>= {KILLS // 2} with "
          "the store part-way)", len(at_kill) == KILLS and not exited and
          len(mid) >= KILLS // 2, (exited, at_kill))

    # The last watch finishes: INBOX empty and the database unchanged
    # for a while, then SIGTERM.
    proc = subprocess.Popen(DW + ["-c", conf, "watch", "-d", db],
                            stdout=wlog, stderr=wlog)
    try:
        def state():
            return (stored_count(db),
                    q(db, "SELECT state, count(*) FROM imap_uids "
                          "GROUP BY state"))
        done = wait_for(lambda: stored_count(db) >= N_MSGS and
                        dv.counts("dur").get("INBOX") == 0, 600, step=0.5)
        last = None
        for _ in range(120):
            cur = state()
            if cur == last:
                break
            last = cur
            time.sleep(2)
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(dwexec.scale(60))
        except subprocess.TimeoutExpired:
            rc = None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    readers.stop()
    check("the last watch empties the INBOX and stops on SIGTERM (exit 0)",
          done and rc == 0, (done, rc, dv.counts("dur")))

    for name in readers.cmds:
        print(f"# reader {name}: {readers.runs[name]} runs, "
              f"{readers.fails[name]} failed")
    check("readers ran during the ingest (each at least 10 times)",
          all(n >= 10 for n in readers.runs.values()), readers.runs)
    check("no reader failed (busy, locked or any non-zero exit)",
          sum(readers.fails.values()) == 0, readers.examples)

    # The database.
    check("database equals the uninterrupted run's", snapshot(db) ==
          snapshot(ref), (len(snapshot(db)[0]), len(snapshot(ref)[0])))
    c = sqlite3.connect(db)
    n_msgs = c.execute("SELECT count(*), count(DISTINCT sha256) FROM "
                       "messages").fetchone()
    dup_reports = c.execute(
        "SELECT count(*) FROM (SELECT 1 FROM reports GROUP BY kind,"
        " reporter_key, report_id, begin, end, policy_domain"
        " HAVING count(*) > 1)").fetchone()[0]
    kinds = dict(c.execute("SELECT kind, count(*) FROM reports "
                           "GROUP BY kind"))
    outcomes = dict(c.execute("SELECT outcome, count(*) FROM messages "
                              "GROUP BY outcome"))
    # A kill between the MOVE and the row's update leaves it 'stored'
    # (the message is archived, see the folder counts below; the UID is
    # never fetched again): stored or archived, nothing else.
    uids = c.execute("SELECT count(*), count(DISTINCT sha256),"
                     " sum(state IN ('stored', 'archived')) FROM imap_uids"
                     ).fetchone()
    # SQLite 3.40 reports "NULL value in provider_match.provider" for
    # this WITHOUT ROWID table although no row has one (checked here
    # directly): that line alone is not counted.
    nulls = c.execute("SELECT count(*) FROM provider_match WHERE provider"
                      " IS NULL").fetchone()[0]
    integrity = [r[0] for r in c.execute("PRAGMA integrity_check")
                 if not (nulls == 0 and r[0] ==
                         "NULL value in provider_match.provider")] or ["ok"]
    integrity = integrity[0] if len(integrity) == 1 else integrity
    c.close()
    want = gen.expected(N_MSGS)
    check("each message stored once (1,000 distinct sha256), none lost",
          n_msgs == (N_MSGS, N_MSGS), n_msgs)
    check("each report stored once per dedup key, none lost",
          dup_reports == 0 and kinds == {k: v for k, v in want.items()
                                         if k != "invalid"},
          (dup_reports, kinds, want))
    check("outcomes: every report message stored, the others rejected",
          outcomes == {"stored": N_MSGS - want["invalid"],
                       "rejected": want["invalid"]}, outcomes)
    check("imap_uids: one row per message, stored or archived",
          uids == (N_MSGS, N_MSGS, N_MSGS), uids)
    check("PRAGMA integrity_check", integrity == "ok", integrity)
    counts = dv.counts("dur")
    check("every message in its archive folder exactly once",
          counts.get("INBOX") == 0 and archive_counts(counts) == want and
          sum(counts.values()) == N_MSGS, counts)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(main(tmp))
