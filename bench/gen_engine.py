#!/usr/bin/env python3
"""gen_engine.py DMARCWATCH DB CONF [DAYS] [IPS] [BUSY] - fill the send-log
and engine tables of a dmarcwatch database, fast, by bulk SQL into the
documented tables (doc/schema.md "Send log and providers", "Engine and
hints"), shaped like a long-running sender: what warmup.html reads.

Writes CONF (a configuration naming IPS sending IPs in [sender] ips,
example.com, and the shipped dist/providers.conf), lets dmarcwatch sync the
provider profiles and [sender] into DB (`sendlog import` of a one-line
log; DB must exist, e.g. made by an import), then, in one transaction, for
DAYS days ending on the last day with DMARC data in DB (today when none):

  - engine_days for every (IP, provider) key and day: the engine writes a
    row for every provider profile, with or without mail (19 profiles in
    dist/providers.conf); gates mostly green, some amber, a red day now
    and then on the first key;
  - sendlog_daily for the BUSY busiest providers of each IP (google,
    microsoft, yahoo, ...): attempts near the day's cap, a few deferred;
  - engine_state, throttle_hints (with evidence as the engine writes it)
    for every key, and one hints_runs row.

Importable: fill(dw, db, conf, days, ips, busy) returns the row counts.
Deterministic. Written by the dmarcwatch developers; standard library only.
"""
import datetime
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROVIDERS = os.path.join(HERE, "..", "dist", "providers.conf")
BUSY_ORDER = ["google", "microsoft", "yahoo", "apple", "mailru", "yandex"]


def sender_ips(n):
    return [f"198.51.100.{10 + i}" if i < 200 else f"2001:db8::{i:x}"
            for i in range(n)]


def write_conf(conf, db, ips):
    # `ips =` is repeatable: a few per line keeps lines short.
    lines = "".join(f"ips = {', '.join(ips[i:i + 8])}\n"
                    for i in range(0, len(ips), 8))
    with open(conf, "w") as f:
        f.write("[general]\n"
                f"database = {db}\n"
                f"providers = {os.path.abspath(PROVIDERS)}\n"
                "[sender]\n" + lines +
                "domains = example.com\n")


def fill(dw, db, conf, days=365, n_ips=20, busy=3):
    ips = sender_ips(n_ips)
    write_conf(conf, db, ips)
    con = sqlite3.connect(db)
    last = con.execute("SELECT max(day) FROM agg_daily").fetchone()[0]
    con.close()
    end = (datetime.date.fromisoformat(last) if last else
           datetime.datetime.now(datetime.timezone.utc).date())
    # The profiles and [sender] into the database, as dmarcwatch does it.
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "one.csv")
        with open(log, "w") as f:
            f.write(f"{end.isoformat()}T08:00:00Z,{ips[0]},gmail.com,sent,"
                    "250,2.0.0,\"250 2.0.0 OK\"\n")
        subprocess.run([dw, "-q", "-c", conf, "-d", db, "sendlog", "import",
                        "--format", "csv", log], check=True,
                       capture_output=True)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("BEGIN")
    provs = [r[0] for r in con.execute("SELECT name FROM providers "
                                       "ORDER BY name")]
    hot = [p for p in BUSY_ORDER if p in provs][:busy]
    start = end - datetime.timedelta(days=days - 1)
    eng, snd = [], []
    for d in range(days):
        day = (start + datetime.timedelta(days=d)).isoformat()
        for i, ip in enumerate(ips):
            for p in provs:
                cap = 200 + 20 * min(d, 200) if p in hot else 200
                sent = (cap * (85 + (d * 7 + i) % 15)) // 100 \
                    if p in hot else 0
                gate = "green"
                if p not in hot or (d + i) % 11 == 0:
                    gate = "amber"
                if p == hot[0] and i == 0 and d % 29 == 28:
                    gate = "red"
                reason = None if gate == "green" else \
                    "block_rate" if gate == "red" else "warmup_gate_hold"
                text = None if reason is None else \
                    f"hold: used {sent} of a {cap} cap"
                eng.append((day, ip, p, gate, reason, text,
                            "reduce" if gate == "red" else "hold", cap,
                            cap // 2 if gate == "red" else cap, sent,
                            sent - sent // 50, 0.02 if sent else None,
                            0.0 if sent else None, 0, 0,
                            sent / cap if cap else None, day,
                            sent // 2, 1.0 if sent else None, 0, 0,
                            0.5 if sent else None, 0))
                if p in hot:
                    snd.append((day, ip, p, sent, sent - sent // 50,
                                sent // 50, 0, sent - sent // 50, 0, 0, 0,
                                0, 0, sent // 50, 0, 0))
    con.executemany(
        "INSERT OR REPLACE INTO engine_days (day, source_ip, provider, gate,"
        " reason, reason_text, action, cap_day, new_cap_day, attempts,"
        " accepted, deferral_rate, bounce_rate, block, block_hours,"
        " utilisation, dmarc_day, dmarc_messages, dmarc_pass_rate,"
        " quarantine, reject, coverage, decided_at) VALUES"
        " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", eng)
    con.executemany(
        "INSERT OR REPLACE INTO sendlog_daily (day, source_ip, provider,"
        " attempts, delivered, deferred, bounced, ok, rate, block, auth,"
        " tls, conn, other_4xx, other_5xx, rate_signal) VALUES"
        " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", snd)
    now = int(datetime.datetime(end.year, end.month, end.day, 6,
                                tzinfo=datetime.timezone.utc).timestamp()) \
        + 86400
    seq = con.execute("INSERT INTO hints_runs (run_at, hints, json_path)"
                      " VALUES (?, ?, NULL)",
                      (now, len(ips) * len(provs))).lastrowid
    st, hs = [], []
    for i, ip in enumerate(ips):
        for p in provs:
            cap = 200 + 20 * min(days - 1, 200) if p in hot else 200
            red = p == hot[0] and i == 0
            st.append((ip, p, "warmup", 1, 3, cap, cap // 12, 2, 0, cap,
                       now - 86400 * days, 0, 0, 0, end.isoformat(),
                       "red" if red else "green" if p in hot else "amber",
                       0, 3, 0, 0, 0, "hold", now, now))
            ev = json.dumps([
                {"kind": "dmarc_aggregate", "metric": "dmarc_pass_rate",
                 "value": 1.0, "n": cap, "threshold": 0.98,
                 "period": end.isoformat(),
                 "report_ids": [f"{p}-{end.isoformat()}"]},
                {"kind": "smtp", "metric": "utilisation", "value": 0.9,
                 "n": cap, "threshold": 0.9, "period": end.isoformat()}],
                separators=(",", ":"))
            hs.append((seq, f"h-{i:08x}{len(hs):08x}", ip, p,
                       "reduce" if red else "hold", "warmup", 1, cap // 12,
                       cap // 2 if red else cap, 2, now, now + 2 * 86400,
                       "hold_last", "block_rate" if red else
                       "warmup_gate_hold", "hold" if not red else
                       "blocks seen: daily cap halved", 0.75, ev))
    con.executemany(
        "INSERT OR REPLACE INTO engine_state (source_ip, provider, phase,"
        " stage, stage_days, cap_day, cap_hour, connections, ssthresh,"
        " last_good, since, hold_until, last_decrease, last_increase,"
        " last_gated_day, last_gate, amber_days, green_days, idle_days,"
        " pauses_24h, last_pause, last_action, last_action_at, updated)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", st)
    con.execute("DELETE FROM throttle_hints")
    con.executemany(
        "INSERT INTO throttle_hints (seq, hint_id, source_ip, provider,"
        " action, phase, stage, max_per_hour, max_per_day,"
        " max_connections, valid_from, valid_until, on_expiry, reason,"
        " reason_text, confidence, evidence) VALUES"
        " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", hs)
    con.execute("COMMIT")
    con.close()
    return {"engine_days": len(eng), "sendlog_daily": len(snd),
            "keys": len(st), "busy_keys": len(ips) * len(hot),
            "first_day": start.isoformat(), "last_day": end.isoformat()}


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    a = sys.argv
    r = fill(a[1], a[2], a[3], int(a[4]) if len(a) > 4 else 365,
             int(a[5]) if len(a) > 5 else 20, int(a[6]) if len(a) > 6 else 3)
    print("gen_engine: " + ", ".join(f"{k} {v}" for k, v in r.items()))
