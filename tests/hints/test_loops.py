#!/usr/bin/env python3
"""Fast-loop and daily-gate scenarios of `dmarcwatch hints` over synthetic
histories (tests/hints/scen.py), one per gap the audit of the engine
found (doc/hints.md describes the rules; numbers are those of
tests/hints/providers.conf unless a scenario overrides a key):

  H1  a reply is acted on once: hints every 15 minutes after one 4.7.28
      (or one BLOCK) cut (or pause) exactly once;
  H2  the daily gate sees provider rate codes and BLOCK bursts that no
      fast-loop run saw (hints once a day);
  M2  a provider with a reporter that never reports still warms up after
      dmarc_absent_days; one that says sends_reports = yes holds;
  M3  steady (and on_expiry revert) only after a GREEN day that carried
      the target;
  M5  the stop after a 4.7.28 survives later runs, and the exports hold
      mail until it ends;
  L1  "stalled" only for keys that sent and kept failing the gate;
  L5  valid_until > valid_from even when the stop outlasts ttl_hours;
  L6  the shipped profile pauses on the first provider hard block;
  L7  a cap clamped by realised volume next to a stage counts as that
      stage (no second wait);
  L8  holds after a cut at the target do not say "target_reached";
      engine_days.utilisation is judged against what the caps let through.

Usage: test_loops.py DW_EXE
"""
import datetime
import json
import os
import shutil
import sqlite3
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scen  # noqa: E402

EXE = sys.argv[1]
results = []
IP1, IP2 = "192.0.2.10", "192.0.2.11"
GOOGLE_4728 = ("421 4.7.28 Our system has detected an unusual rate of "
               "unsolicited mail originating from your IP address")


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}"
          + ("" if cond else f"  [{detail}]"))


def ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


WORLDS = []


def world(tmp, name, **kw):
    w = scen.World(EXE, os.path.join(tmp, name), **kw)
    WORLDS.append(w)
    return w


def schema_check():
    """Every hint file written in these scenarios against
    doc/throttle-hints.schema.json (the checker of test_hints.py)."""
    from schemacheck import schema_errors
    src = os.environ.get("DW_SRCDIR") or os.path.join(HERE, "..", "..")
    with open(os.path.join(src, "doc", "throttle-hints.schema.json")) as f:
        schema = json.load(f)
    errs, n = [], 0
    for w in WORLDS:
        for doc in w.log:
            n += 1
            errs += schema_errors(doc, schema)
    check(f"all {n} hint files of these scenarios validate against the "
          "JSON Schema", n > 0 and not errs, errs[:3])


def warm(w, days, prov="google", demand=1000, ip=IP1, **kw):
    seen = []
    for d in range(days):
        w.run_hints(d)
        seen.append(dict(w.hint(ip, prov)))
        w.send_day(d, {(ip, prov): demand}, **kw)
    return seen


def import_lines(w, name, rows):
    path = os.path.join(w.tmp, name)
    with open(path, "w") as f:
        for t, ip, prov, st, code, enh, text in rows:
            f.write(f'{t},{ip},{scen.DOMAIN[prov]},{st},{code},{enh},'
                    f'"{text}"\n')
    w.run("sendlog", "import", "--format", "csv", path)


def q(db, sql):
    c = sqlite3.connect(db)
    try:
        return c.execute(sql).fetchall()
    finally:
        c.close()


def every_15_min(w, day, start, end):
    """Runs hints from start to end (hour, minute) every 15 minutes;
    returns the google hint of IP1 of each run."""
    out = []
    h, m = start
    while (h, m) <= end:
        w.run_hints(day, h, m)
        out.append((f"{h:02d}:{m:02d}", dict(w.hint(IP1, "google"))))
        m += 15
        if m == 60:
            h, m = h + 1, 0
    return out


def cuts(runs, before):
    """Runs whose hour cap is below the previous run's."""
    n, last = 0, before
    for _, h in runs:
        if h["action"] != "pause" and h["max_per_hour"] < last:
            n += 1
        if h["action"] != "pause":
            last = h["max_per_hour"]
    return n


def test_h1(tmp):
    w = world(tmp, "h1")
    warm(w, 4)
    w.run_hints(4)
    base = w.hint(IP1, "google")["max_per_hour"]
    import_lines(w, "burst.csv", [(scen.iso(4, 7, 1), IP1, "google",
                                   "deferred", 421, "4.7.28", GOOGLE_4728)])
    runs = every_15_min(w, 4, (7, 15), (9, 45))
    reduces = [t for t, h in runs if h["action"] == "reduce"]
    check("H1: one 4.7.28, hints every 15 min for 2.5 h: exactly one "
          "reduce", len(reduces) == 1 and cuts(runs, base) == 1,
          [(t, h["action"], h["max_per_hour"]) for t, h in runs])
    first = runs[0][1]
    check("H1: the one cut is x0.7 with one connection",
          first["action"] == "reduce" and
          first["max_per_hour"] == int(base * 0.7) and
          first["max_connections"] == 1, (base, first))
    n = q(w.db, "SELECT hour, rate_signal FROM engine_acted WHERE"
          f" source_ip = '{IP1}' AND provider = 'google'")
    check("H1: engine_acted records the acted-on 4.7.28", n and
          any(r[1] == 1 for r in n), n)
    # A second 4.7.28 later is new evidence: a second cut.
    import_lines(w, "burst2.csv", [(scen.iso(4, 10, 5), IP1, "google",
                                    "deferred", 421, "4.7.28",
                                    GOOGLE_4728)])
    before = w.hint(IP1, "google")["max_per_hour"]
    w.run_hints(4, 10, 15)
    h = w.hint(IP1, "google")
    check("H1: a new 4.7.28 is acted on again", h["action"] == "reduce" and
          h["max_per_hour"] < before, (before, h))

    # The same for a BLOCK with a pause shorter than the window.
    w = world(tmp, "h1b", profile_extra={
        "google": ["block_per_hour = 1", "block_pause_minutes = 30",
                   "block_pause_max_minutes = 30"]})
    warm(w, 4)
    w.run_hints(4)
    import_lines(w, "block.csv", [(scen.iso(4, 7, 1), IP1, "google",
                                   "bounced", 550, "5.7.28",
                                   "550 5.7.28 blocked")])
    runs = every_15_min(w, 4, (7, 15), (9, 45))
    pauses = {h["valid_until"] for t, h in runs if h["action"] == "pause"}
    check("H1: one BLOCK, a 30-minute pause: paused once, not again when "
          "the pause ends while the hour is still in the window",
          len(pauses) == 1 and runs[-1][1]["action"] != "pause",
          [(t, h["action"], h["valid_until"][11:16]) for t, h in runs])


def test_h2(tmp):
    # Six 4.7.28 in the afternoon; hints only at 06:00.
    w = world(tmp, "h2")
    warm(w, 3)
    w.run_hints(3)
    cap = w.hint(IP1, "google")["max_per_day"]
    burst = [(scen.iso(3, 14, 10 + i), IP1, "google", "deferred", 421,
              "4.7.28", GOOGLE_4728) for i in range(6)]
    w.send_day(3, {(IP1, "google"): 1000}, extra=burst)
    w.run_hints(4)
    h = w.hint(IP1, "google")
    check("H2: 4.7.28 no run saw: the day is AMBER rate_limited, hold",
          h["action"] == "hold" and h["gate"]["verdict"] == "amber" and
          h["gate"].get("reason") == "rate_limited" and
          h["max_per_day"] == cap, h)
    check("H2: the missed rate codes are evidence",
          any(e["metric"] == "missed_rate_signal" and e["value"] == 6
              for e in h["evidence"]), h["evidence"])
    w.send_day(4, {(IP1, "google"): 1000})
    w.run_hints(5)
    h = w.hint(IP1, "google")
    check("H2: ...and S was set: the next GREEN day grows by 10 %, not "
          "the ladder", h["action"] == "advance" and
          h["max_per_day"] == cap + (cap + 9) // 10, (cap, h))
    n = q(w.db, "SELECT missed_rate_signal FROM engine_days WHERE day ="
          f" '{scen.iso(3)[:10]}' AND source_ip = '{IP1}' AND"
          " provider = 'google'")
    check("H2: engine_days.missed_rate_signal", n == [(6,)], n)

    # With rate_gate_red = yes the same day is RED.
    w = world(tmp, "h2r", profile_extra={"google": ["rate_gate_red = yes"]})
    warm(w, 3)
    w.run_hints(3)
    w.send_day(3, {(IP1, "google"): 1000}, extra=burst)
    w.run_hints(4)
    h = w.hint(IP1, "google")
    check("H2: rate_gate_red = yes: RED, the day cap halved",
          h["gate"]["verdict"] == "red" and h["action"] == "reduce" and
          h["max_per_day"] == cap // 2, h)

    # Three BLOCK replies in one hour (block_per_hour 2) no run saw: a
    # missed pause is RED and halves the cap.
    w = world(tmp, "h2b")
    warm(w, 3)
    w.run_hints(3)
    blocks = [(scen.iso(3, 14, 20 + i), IP1, "google", "bounced", 550,
               "5.7.28", "550 5.7.28 blocked") for i in range(3)]
    w.send_day(3, {(IP1, "google"): 1000}, extra=blocks)
    w.run_hints(4)
    h = w.hint(IP1, "google")
    check("H2: a BLOCK burst no run saw: RED reputation_block, cap halved, "
          "recovery", h["gate"]["verdict"] == "red" and
          h["gate"].get("reason") == "reputation_block" and
          h["action"] == "reduce" and h["max_per_day"] == cap // 2 and
          h["phase"] == "recovery", h)

    # The same burst seen by a run (at 15:00): paused then; the next
    # morning's gate does not punish it again.
    w = world(tmp, "h2c")
    warm(w, 3)
    w.run_hints(3)
    w.send_day(3, {(IP1, "google"): 1000}, extra=blocks)
    w.run_hints(3, 15)
    p = w.hint(IP1, "google")
    w.run_hints(4)
    h = w.hint(IP1, "google")
    check("H2: a burst the fast loop paused for is not cut again by the "
          "gate", p["action"] == "pause" and
          h["max_per_day"] == p["after_pause"]["max_per_day"] and
          h["gate"]["verdict"] == "amber", (p, h))


def test_m2(tmp):
    # silent: a reporter, sends_reports unknown, dmarc_absent_days 2,
    # dmarc_lag_days 2. Day d is gated on the morning of d + 1; the
    # days older than the lag with our mail and no report: gating day 3
    # they are days 0 and 1, two: from then on the send log alone.
    w = world(tmp, "m2", targets="google:320, silent:40")
    seen = warm(w, 6, prov="silent")
    caps = [h["max_per_day"] for h in seen]
    reasons = [h["gate"].get("reason") for h in seen]
    check("M2: a provider whose reports never come holds while they may "
          "be late, then warms up on the send log",
          caps == [10, 10, 10, 10, 20, 40] and
          reasons[1:4] == ["dmarc_missing"] * 3 and
          reasons[4:] == [None, None], list(zip(caps, reasons)))
    check("M2: the hint says how long the provider has not reported",
          any(e["metric"] == "unreported_days" and e["value"] >= 2
              for e in seen[4]["evidence"]), seen[4]["evidence"])
    n = q(w.db, "SELECT day, dmarc_expected FROM engine_days WHERE"
          " provider = 'silent' ORDER BY day")
    check("M2: engine_days.dmarc_expected says when a report was expected",
          [r[1] for r in n] == [1, 1, 1, 1, 0, 0], n)
    # The audit's case with the shipped profile: T-Online, target 5000,
    # clean traffic, no reports (it is said not to send them).
    scen.DOMAIN["tonline"] = "t-online.de"
    src = os.environ.get("DW_SRCDIR") or os.path.join(HERE, "..", "..")
    w = world(tmp, "m2t", targets="tonline:5000",
              profile=os.path.join(src, "dist", "providers.conf"))
    seen = warm(w, 10, prov="tonline", demand=100000)
    caps = [h["max_per_day"] for h in seen]
    check("M2: shipped profile, T-Online without reports: warms up once "
          "dmarc_absent_days (5) of mail went unreported",
          caps[:7] == [200] * 7 and caps[7] > 200 and caps[-1] > caps[7],
          list(zip(caps, [h["gate"].get("reason") for h in seen])))
    w = world(tmp, "m2y", targets="google:320, silent:40",
              profile_extra={"silent": ["sends_reports = yes"]})
    seen = warm(w, 6, prov="silent")
    check("M2: sends_reports = yes: no report, no growth",
          all(h["max_per_day"] == 10 for h in seen) and
          seen[-1]["gate"].get("reason") == "dmarc_missing", seen[-1])


def test_m3(tmp):
    w = world(tmp, "m3")
    seen = warm(w, 7)
    caps = [h["max_per_day"] for h in seen]
    first = caps.index(320)
    check("M3: the first hint at the target is still warm-up, hold_last",
          seen[first]["phase"] == "warmup" and
          seen[first]["on_expiry"] == "hold_last", seen[first])
    check("M3: steady and revert once a GREEN day carried the target",
          seen[first + 1]["phase"] == "steady" and
          seen[first + 1]["on_expiry"] == "revert", seen[first + 1])
    # A sender whose demand stays below the target never becomes steady.
    w = world(tmp, "m3d")
    seen = warm(w, 8, demand=250)
    check("M3: demand below the target: never steady, never revert",
          all(h["phase"] != "steady" and h["on_expiry"] == "hold_last"
              for h in seen), [(h["max_per_day"], h["phase"]) for h in seen])


def test_m5(tmp):
    w = world(tmp, "m5", exports=True)
    warm(w, 4)
    w.run_hints(4)
    import_lines(w, "burst.csv", [(scen.iso(4, 7, 1), IP1, "google",
                                   "deferred", 421, "4.7.28", GOOGLE_4728)])
    w.run_hints(4, 7, 5)
    a = w.hint(IP1, "google")
    trans = open(os.path.join(w.tmp, "postfix", "ip-192-0-2-10",
                              "transport")).read()
    pmta = open(os.path.join(w.tmp, "pmta",
                             "ip-192-0-2-10.google.conf")).read()
    w.run_hints(4, 7, 10)
    b = w.hint(IP1, "google")
    trans2 = open(os.path.join(w.tmp, "postfix", "ip-192-0-2-10",
                               "transport")).read()
    susp = json.load(open(os.path.join(w.tmp, "kumo.json.suspend.json")))
    w.run_hints(4, 7, 20)
    c = w.hint(IP1, "google")
    trans3 = open(os.path.join(w.tmp, "postfix", "ip-192-0-2-10",
                               "transport")).read()
    stop = ts(scen.iso(4, 7, 5)) + 10 * 60
    check("M5: the 4.7.28 stop starts the reduced caps 10 min later",
          a["action"] == "reduce" and ts(a["valid_from"]) == stop, a)
    check("M5: a run 5 minutes later keeps the stop (valid_from)",
          ts(b["valid_from"]) == stop and b["max_per_hour"] ==
          a["max_per_hour"], b)
    check("M5: after the stop the hint starts at once",
          ts(c["valid_from"]) == ts(scen.iso(4, 7, 20)), c)
    check("M5: Postfix holds the provider's domains until the stop ends",
          "gmail.com dw_hold:" in trans and "gmail.com dw_hold:" in trans2
          and "gmail.com dw_hold:" not in trans3 and
          "gmail.com dw_d" in trans3, trans2)
    check("M5: PowerMTA names the stop and the commands",
          "STOP until" in pmta and "pmta pause queue" in pmta and
          "pmta resume queue" in pmta, pmta)
    sus = [x for x in susp.get("suspensions", [])
           if x["provider"] == "google" and x["source"] == "ip-192-0-2-10"]
    check("M5: KumoMTA: a suspension with its expiry for the stop",
          sus and ts(sus[0]["expires"]) == stop, susp)


def test_l1(tmp):
    w = world(tmp, "l1", profile_extra={"defaults": ["stall_days = 3"]})
    for d in range(6):
        w.run_hints(d)
        w.send_day(d, {(IP1, "google"): 1000},
                   dmarc={(IP1, "google"): (0.7, 0, 0)} if d >= 1 else None)
    w.run_hints(6)
    g, y = w.hint(IP1, "google"), w.hint(IP1, "yahoo")
    check("L1: a key that sent and failed the gate stall_days in a row is "
          "stalled", g["gate"]["stalled"], g)
    check("L1: a key that never sent is not stalled",
          not y["gate"]["stalled"] and "stalled" not in y["reason_text"], y)


def test_l5(tmp):
    w = world(tmp, "l5", hints_extra=["ttl_hours = 1"],
              profile_extra={"yahoo": ["rate_pause_minutes = 120"]})
    warm(w, 3, prov="yahoo")
    w.run_hints(3)
    import_lines(w, "tss.csv", [(scen.iso(3, 7, 1), IP1, "yahoo",
                                 "deferred", 421, "4.7.0",
                                 "421 4.7.0 [TSS04] Messages temporarily "
                                 "deferred")])
    w.run_hints(3, 7, 15)
    h = w.hint(IP1, "yahoo")
    check("L5: a stop longer than ttl_hours: valid_until after valid_from",
          ts(h["valid_until"]) > ts(h["valid_from"]) and
          ts(h["valid_until"]) - ts(h["valid_from"]) <= 48 * 3600, h)


def test_l6(tmp):
    # The shipped profile pauses on the first provider hard block
    # (block_per_hour = 1, as the design says; it was 5).
    scen.DOMAIN["microsoft"] = "outlook.com"
    src = os.environ.get("DW_SRCDIR") or os.path.join(HERE, "..", "..")
    w = world(tmp, "l6", targets="microsoft:10000",
              profile=os.path.join(src, "dist", "providers.conf"))
    warm(w, 2, prov="microsoft")
    w.run_hints(2)
    import_lines(w, "s3150.csv", [(
        scen.iso(2, 7, 1), IP1, "microsoft", "bounced", 550, "5.7.1",
        "550 5.7.1 Unfortunately, messages from [192.0.2.10] weren't sent. "
        "Please contact your Internet service provider since part of "
        "their network is on our block list (S3150).")])
    w.run_hints(2, 7, 15)
    h = w.hint(IP1, "microsoft")
    check("L6: shipped profile: one S3150 block pauses",
          h["action"] == "pause" and h["reason"] == "reputation_block", h)


def test_l7(tmp):
    # Send 200 a day at first, so that 210 is clamped to 2 x 100 = 200
    # and 420 to 2 x 200 = 400 (realised_factor 2).
    prof = {"google": ["stages = 100/2, 210/2, 420/2, 840/2"]}
    w = world(tmp, "l7", targets="google:840", profile_extra=prof)
    seen = []
    for d in range(10):
        w.run_hints(d)
        seen.append(dict(w.hint(IP1, "google")))
        w.send_day(d, {(IP1, "google"): 200 if d < 4 else 10000})
    caps = [h["max_per_day"] for h in seen]
    check("L7: 210 clamped to 200 counts as the 210 stage: its two days, "
          "then 420 (clamped to 400)",
          caps[:7] == [100, 100, 200, 200, 400, 400, 800], caps)


def test_l8(tmp):
    w = world(tmp, "l8")
    warm(w, 7)
    w.run_hints(7)
    s = w.hint(IP1, "google")
    import_lines(w, "burst.csv", [(scen.iso(7, 7, 1), IP1, "google",
                                   "deferred", 421, "4.7.28", GOOGLE_4728)])
    w.run_hints(7, 7, 15)
    w.run_hints(7, 7, 30)
    h = w.hint(IP1, "google")
    check("L8: a hold after a cut at the target says why the hour cap is "
          "low", s["reason"] == "target_reached" and
          h["max_per_hour"] < s["max_per_hour"] and
          h["reason"] != "target_reached", (s["reason"], h))
    w.send_day(7, {(IP1, "google"): 1000})
    w.run_hints(8)
    n = q(w.db, "SELECT cap_day, usable_cap, accepted, utilisation FROM"
          f" engine_days WHERE day = '{scen.iso(7)[:10]}' AND provider ="
          " 'google'")
    ok = n and n[0][1] is not None and n[0][1] <= n[0][0] and \
        abs(n[0][3] - n[0][2] / n[0][1]) < 1e-9
    check("L8: engine_days.utilisation is accepted / usable_cap", ok, n)


def main():
    tmp = tempfile.mkdtemp(prefix="dw-loops-")
    try:
        for t in (test_h1, test_h2, test_m2, test_m3, test_m5, test_l1,
                  test_l5, test_l6, test_l7, test_l8):
            try:
                t(tmp)
            except Exception as e:  # a crash is a failed scenario
                check(f"{t.__name__} ran", False, repr(e))
        schema_check()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
