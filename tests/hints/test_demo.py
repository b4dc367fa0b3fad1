#!/usr/bin/env python3
"""The quick start demo (samples/make_demo.py, audit M6) shows the
feature: it is a closed loop (the simulated MTA never sends more than the
morning's hint allowed), it ends mid-warm-up (the last hints advance),
the Gmail 4.7.28 burst is seen and acted on (reduce with a stop, the day
held), the Yahoo TSS04 deferrals no run saw still hold the next morning,
the spoofer is a foreign sender and not a stalled key; it is quick and
deterministic (two runs, byte-identical hint and export files).

Usage: test_demo.py DW_EXE
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXE = os.path.abspath(sys.argv[1])
SRC = os.path.abspath(os.environ.get("DW_SRCDIR") or
                      os.path.join(HERE, "..", ".."))
SANITIZED = os.environ.get("DW_SANITIZE", "none") not in ("", "none")
IP1, IP2, SPOOF = "198.51.100.10", "198.51.100.11", "203.0.113.99"
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}"
          + ("" if cond else f"  [{detail}]"))


def run_demo(tmp):
    """Runs the demo with the shipped config, moved into tmp."""
    os.makedirs(tmp)
    conf = os.path.join(tmp, "dmarcwatch.conf")
    with open(os.path.join(SRC, "samples", "demo", "dmarcwatch.conf")) as f:
        text = f.read()
    text = text.replace("database = dmarcwatch.db",
                        f"database = {tmp}/dmarcwatch.db")
    text = text.replace("providers = dist/providers.conf",
                        f"providers = {SRC}/dist/providers.conf")
    text = text.replace("demo-out/", f"{tmp}/demo-out/")
    with open(conf, "w") as f:
        f.write(text)
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, os.path.join(SRC, "samples",
                                                     "make_demo.py"),
                        "--exe", EXE, "--conf", conf, "--work",
                        os.path.join(tmp, "demo-out", "input")],
                       capture_output=True, text=True)
    return p, time.monotonic() - t0, os.path.join(tmp, "dmarcwatch.db")


def outputs(tmp):
    out = {}
    root = os.path.join(tmp, "demo-out")
    for dp, _, fs in os.walk(root):
        if os.path.basename(dp) == "input":
            continue
        for f in fs:
            with open(os.path.join(dp, f), "rb") as fh:
                out[os.path.relpath(os.path.join(dp, f), root)] = fh.read()
    return out


def q(db, sql):
    c = sqlite3.connect(db)
    try:
        return c.execute(sql).fetchall()
    finally:
        c.close()


def main():
    import json
    tmp = tempfile.mkdtemp(prefix="dw-demo-")
    try:
        p, secs, db = run_demo(os.path.join(tmp, "a"))
        print(f"# demo: {secs:.1f} s wall")
        check("the demo runs (exit 0)", p.returncode == 0, p.stderr[-500:])
        if p.returncode != 0:
            return 1
        limit = 120 if SANITIZED else 30
        check(f"the demo is quick (< {limit} s)", secs < limit, secs)
        with open(os.path.join(tmp, "a", "demo-out",
                               "throttle-hints.json")) as f:
            doc = json.load(f)
        sys.path.insert(0, HERE)
        from schemacheck import schema_errors
        with open(os.path.join(SRC, "doc",
                               "throttle-hints.schema.json")) as f:
            errs = schema_errors(doc, json.load(f))
        check("the demo's hint file validates against the JSON Schema",
              not errs, errs[:3])
        mine = [h for h in doc["hints"]
                if (h["source_ip"], h["provider"]) in
                ((IP1, "google"), (IP2, "google"), (IP1, "yahoo"),
                 (IP2, "microsoft"))]
        check("it ends mid-warm-up: the last hints advance",
              sum(h["action"] == "advance" for h in doc["hints"]) >= 2 and
              all(h["phase"] == "warmup" for h in mine),
              [(h["source_ip"], h["provider"], h["action"], h["phase"])
               for h in mine])
        check("keys without traffic are not 'stalled'",
              not any(h["gate"]["stalled"] for h in doc["hints"]),
              [h["provider"] for h in doc["hints"] if h["gate"]["stalled"]])
        over = q(db, "SELECT s.day, s.source_ip, s.provider, s.delivered,"
                 " e.new_cap_day FROM sendlog_daily s JOIN engine_days e"
                 " ON e.day = date(s.day, '-1 day') AND e.source_ip ="
                 " s.source_ip AND e.provider = s.provider"
                 " WHERE s.delivered > e.new_cap_day")
        n = q(db, "SELECT count(*) FROM sendlog_daily s JOIN engine_days e"
              " ON e.day = date(s.day, '-1 day') AND e.source_ip ="
              " s.source_ip AND e.provider = s.provider")
        check("closed loop: no day sent more than that morning's day cap",
              n[0][0] >= 30 and not over, (n, over))
        line = [ln for ln in p.stdout.splitlines()
                if ln.startswith("2026-01-11T10:15") and IP1 in ln and
                "google" in ln]
        check("the 4.7.28 burst is acted on: reduce, one connection, a "
              "stop", line and " reduce " in line[0] and " 1 conn" in
              line[0] and "stop until 10:25" in line[0], line)
        day = q(db, "SELECT gate, reason FROM engine_days WHERE day ="
                f" '2026-01-11' AND source_ip = '{IP1}' AND provider ="
                " 'google'")
        check("...and its day is held (AMBER, rate_limited)",
              day == [("amber", "rate_limited")], day)
        tss = q(db, "SELECT gate, reason, missed_rate_signal FROM"
                " engine_days WHERE day = '2026-01-12' AND source_ip ="
                f" '{IP1}' AND provider = 'yahoo'")
        check("the TSS04 deferrals no run saw hold the next morning",
              tss == [("amber", "rate_limited", 4)], tss)
        spoof = q(db, "SELECT count(*) FROM foreign_senders WHERE"
                  f" source_ip = '{SPOOF}'")
        keys = q(db, "SELECT count(*) FROM engine_state WHERE source_ip ="
                 f" '{SPOOF}'")
        check("the spoofer is a foreign sender, never a key",
              spoof[0][0] > 0 and keys[0][0] == 0, (spoof, keys))
        p2, secs2, _ = run_demo(os.path.join(tmp, "b"))
        a, b = outputs(os.path.join(tmp, "a")), outputs(os.path.join(tmp,
                                                                     "b"))
        check("deterministic: a second run gives byte-identical hint and "
              "export files", p2.returncode == 0 and len(a) > 5 and a == b,
              sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
