#!/usr/bin/env python3
"""Allocation-failure run (issue 7), by hand (too slow for the suite):

  failmalloc_run.py DW_EXE LIBFAILMALLOC_SO [--step K] [FILE...]

For each input (default: a representative set from samples/reports: XML,
gzip, zip, e-mail, mbox, TLS-RPT JSON, ARF) it counts the allocations of a
clean `dmarcwatch import` (shim in counting mode), then for N = 1, 1+K,
... up to that count imports into a fresh database with the Nth
malloc/calloc/realloc failing (DW_FAILMALLOC=N, tests/tools/failmalloc.c)
and checks: exit status 0-4 (no signal, no abort), `PRAGMA
integrity_check` ok, and a second import without the failure gives the
same dump as a clean import (nothing half-stored). Prints the runs and
every failure; exit 1 when any.
"""
import os
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "imap"))
sys.path.insert(0, HERE)
import dwexec  # noqa: E402
from test_imap import snapshot  # noqa: E402  the dump the imap test uses

SAMPLES = os.environ.get("DW_SAMPLES", os.path.join(HERE, "..", "..",
                                                     "samples"))
DEFAULT = ["reports/gmx.net!example.com!1700265600!1700351999.xml",
           "reports/yahoo.com!example.org!1700092800!1700179199.xml.gz",
           "reports/google.com!example.com!1700006400!1700092799.zip",
           "reports/google-zip.eml", "reports/mbox",
           "reports/tlsrpt-three-policies.json",
           "reports/arf-dmarc-failure.eml"]


def run(exe, shim, n, db, path):
    env = dict(os.environ)
    if n is not None:
        env["LD_PRELOAD"] = shim
        env["DW_FAILMALLOC"] = str(n)
    return subprocess.run(dwexec.cmd(exe) + ["-q", "import", "-d", db, path],
                          capture_output=True, text=True, errors="backslashreplace", env=env,
                          timeout=120)


def main():
    args = sys.argv[1:]
    step = 1
    if "--step" in args:
        i = args.index("--step")
        step = int(args[i + 1])
        del args[i:i + 2]
    exe, shim, files = args[0], os.path.abspath(args[1]), args[2:]
    files = files or [os.path.join(SAMPLES, f) for f in DEFAULT]
    runs = bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            clean = os.path.join(tmp, "clean.db")
            p = run(exe, shim, 0, clean, path)
            total = int(p.stderr.rsplit("calls=", 1)[1].split()[0])
            want = snapshot(clean)
            os.remove(clean)
            fails = 0
            for n in range(1, total + 1, step):
                db = os.path.join(tmp, f"f{n}.db")
                p = run(exe, shim, n, db, path)
                runs += 1
                why = None
                if p.returncode not in (0, 1, 2, 3, 4):
                    why = f"exit {p.returncode}"
                elif os.path.exists(db):
                    c = sqlite3.connect(db)
                    ok = c.execute("PRAGMA integrity_check").fetchone()[0]
                    c.close()
                    if ok != "ok":
                        why = "integrity_check: " + ok
                if why is None:
                    p2 = run(exe, shim, None, db, path)
                    if p2.returncode not in (0, 3) or snapshot(db) != want:
                        why = f"re-run: exit {p2.returncode}, dump differs"
                if why:
                    fails += 1
                    bad += 1
                    print(f"FAIL {os.path.basename(path)} N={n}: {why}: "
                          f"{p.stderr[-300:]!r}", flush=True)
                for suf in ("", "-wal", "-shm"):
                    if os.path.exists(db + suf):
                        os.remove(db + suf)
            print(f"{os.path.basename(path)}: {total} allocations, "
                  f"{len(range(1, total + 1, step))} runs, {fails} failed",
                  flush=True)
    print(f"{runs} runs, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
