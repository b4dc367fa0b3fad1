#!/usr/bin/env python3
"""Reply classification through the real CLI: every case of
tests/sendlog/replies.txt rendered as a Postfix log line and as a KumoMTA
JSON record (tests/sendlog/replies.py), imported with `dmarcwatch sendlog
import` against the shipped dist/providers.conf, and each attempt's class
read back from sendlog_hourly (one case per hour). MTA-internal deferrals
must not be rolled up at all, and are counted as "internal".

Usage: test_replies.py DW_EXE   (DW_SRCDIR: the source tree)
"""
import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import dwexec  # noqa: E402
import replies  # noqa: E402

EXE = sys.argv[1]
DW = dwexec.cmd(EXE)
SRC = os.environ.get("DW_SRCDIR") or os.path.join(HERE, "..", "..")
PROFILES = os.path.join(SRC, "dist", "providers.conf")
BASE = datetime.datetime(2026, 1, 5, tzinfo=datetime.timezone.utc)
CLASSES = ["ok", "rate", "block", "auth", "tls", "conn", "other_4xx",
           "other_5xx"]
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}"
          + ("" if cond else f"  [{detail}]"))


def classes_by_hour(db):
    c = sqlite3.connect(db)
    try:
        rows = c.execute("SELECT hour, provider, " + ", ".join(CLASSES) +
                         ", rate_signal FROM sendlog_hourly").fetchall()
    finally:
        c.close()
    out = {}
    for r in rows:
        got = [CLASSES[i] for i in range(len(CLASSES)) if r[2 + i] > 0]
        out[r[0]] = (r[1], got, r[-1])
    return out


def run_format(tmp, fmt, cases):
    d = os.path.join(tmp, fmt)
    os.makedirs(d)
    db = os.path.join(d, "dw.db")
    conf = os.path.join(d, "dw.conf")
    with open(conf, "w") as f:
        f.write(f"[general]\ndatabase = {db}\nproviders = {PROFILES}\n"
                f"[sender]\nips = {replies.SRC_IP}\n"
                "domains = example.com\n")
    lines, want = [], {}
    for i, c in enumerate(cases):
        if c["only"] not in (None, fmt):
            continue
        when = BASE + datetime.timedelta(hours=i)
        lines.append(replies.postfix_line(c, when) if fmt == "postfix"
                     else replies.kumomta_record(c, when))
        want[int(when.timestamp())] = c
    log = os.path.join(d, "mail.log")
    with open(log, "w") as f:
        f.write("\n".join(lines) + "\n")
    p = subprocess.run(DW + ["-c", conf, "sendlog", "import", "--json",
                             "--format", fmt, "--year", "2026", log],
                       capture_output=True, text=True)
    try:
        summ = json.loads(p.stdout)
    except ValueError:
        summ = {"raw": p.stdout}
    check(f"{fmt}: import exits 0, nothing malformed",
          p.returncode == 0 and summ.get("malformed") == 0,
          (p.returncode, p.stderr, summ))
    got = classes_by_hour(db)
    n_internal = 0
    for hour, c in sorted(want.items()):
        row = got.get(hour)
        if c["expect"] == "internal":
            n_internal += 1
            check(f"{fmt}: {c['id']}: MTA-internal, not rolled up",
                  row is None, row)
            continue
        ok = row is not None and row[1] == [c["expect"]]
        check(f"{fmt}: {c['id']} is {c['expect']}", ok,
              f"got {row and row[1]} (line {c['line_no']})")
        own = c["rule"].split(":")[0]
        if ok and c["expect"] == "rate":
            # a provider's own rate code is the "rate signal"
            check(f"{fmt}: {c['id']}: rate_signal only for a provider's "
                  "own rule", (row[2] == 1) == (own not in ("-", "defaults")),
                  (row[2], c["rule"]))
    check(f"{fmt}: MTA-internal deferrals are counted as internal",
          summ.get("internal") == n_internal, summ)


def main():
    cases = replies.load()
    tmp = tempfile.mkdtemp(prefix="dw-replies-")
    try:
        for fmt in ("postfix", "kumomta"):
            run_format(tmp, fmt, cases)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
