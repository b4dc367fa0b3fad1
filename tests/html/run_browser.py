#!/usr/bin/env python3
"""tests/html/run_browser.py DMARCWATCH BUILD_DIR - the pages in a real
browser.

Imports samples/reports into a fresh database, writes the pages with
`dmarcwatch report html` into BUILD_DIR/html-check/out, and runs
browser_check.js (puppeteer-core driving the system Chromium) over them:
screenshots go to BUILD_DIR/html-check/shots. Then compares the figures
the browser read from the DOM with sqlite3 queries of the database.

Needs node, npm and Chromium (/usr/bin/chromium or $CHROMIUM; Debian
packages chromium nodejs npm, see dist/deps.sh). Installs puppeteer-core
with `npm ci --prefix tests/html` when node_modules is missing. Exits 77
(meson: skipped) when any of that is unavailable, saying why.
Written by the dmarcwatch developers; standard library only.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import dwexec  # noqa: E402  DW_EXEC_WRAPPER

DW, BUILD = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.environ.get("DW_SAMPLES") or os.path.join(HERE, "..", "..",
                                                       "samples")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

passed = failed = 0


def ok(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("ok -", what)
    else:
        failed += 1
        print("not ok -", what)
    return cond


def skip(why):
    print(f"# SKIP: {why}")
    print("0 passed, 0 failed")
    sys.exit(77)


def setup():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        skip("node/npm not installed (apt-get install nodejs npm)")
    if not os.access(CHROMIUM, os.X_OK):
        skip(f"{CHROMIUM} not found (apt-get install chromium)")
    mod = os.path.join(HERE, "node_modules", "puppeteer-core")
    if not os.path.isdir(mod):
        p = subprocess.run([npm, "ci", "--prefix", HERE, "--no-audit",
                            "--no-fund"], capture_output=True, text=True)
        if p.returncode != 0 or not os.path.isdir(mod):
            skip("npm ci failed (offline?): " + p.stderr.strip()[-300:])
    return node


def main():
    node = setup()
    work = os.path.join(BUILD, "html-check")
    shutil.rmtree(work, ignore_errors=True)
    out, shots = os.path.join(work, "out"), os.path.join(work, "shots")
    os.makedirs(shots)
    db = os.path.join(work, "samples.db")
    p = subprocess.run(dwexec.cmd(DW) + ["import", "-q", "-d", db,
                        os.path.join(SAMPLES, "reports")],
                       capture_output=True, text=True)
    ok(p.returncode == 0, f"import samples/reports (exit {p.returncode})")
    p = subprocess.run(dwexec.cmd(DW) + ["report", "html", "-d", db, "--out", out],
                       capture_output=True, text=True)
    ok(p.returncode == 0, "report html")
    p = subprocess.run([node, os.path.join(HERE, "browser_check.js"), out,
                        shots], capture_output=True, text=True,
                       timeout=600)
    if p.returncode == 77:
        skip("Chromium would not start: " + p.stderr.strip()[-300:])
    try:
        res = json.loads(p.stdout)
    except ValueError:
        print("# browser_check.js output:", p.stdout[-2000:], p.stderr[-2000:])
        ok(False, "browser check ran")
        return
    for prob in res["problems"]:
        print("#", prob)
    ok(not res["problems"], "pages load with no console error, no outside "
       "request, no sideways overflow at 1280 and 390 px; sorting works; "
       "same figures with scripts off")
    pages = res["pages"]

    con = sqlite3.connect(db)
    agg = {r[0]: r[1:] for r in con.execute(
        "SELECT policy_domain, sum(messages), sum(dmarc_pass), "
        "sum(spf_aligned_pass), sum(dkim_aligned_pass), sum(quarantine), "
        "sum(reject) FROM agg_daily GROUP BY 1")}
    tls = {r[0]: r[1:] for r in con.execute(
        "SELECT policy_domain, sum(sessions_ok), sum(sessions_failed) "
        "FROM v_tlsrpt_daily GROUP BY 1")}
    kinds = dict(con.execute("SELECT kind, count(*) FROM reports GROUP BY 1"))
    rejected = con.execute("SELECT count(*) FROM rejected").fetchone()[0]
    sources = dict(con.execute("SELECT source_ip, sum(messages) FROM "
                               "agg_daily GROUP BY 1"))
    con.close()

    idx = pages.get("index.html", {})
    secs = idx.get("sections", {})
    ok(set(secs) == set(agg), "index.html: one section per policy domain")
    for d, (m, ps, spf, dkim, q, r) in agg.items():
        c = secs.get(d, {})
        got = (c.get("messages", {}).get("value"),
               c.get("dmarc_pass", {}).get("num"),
               c.get("spf_aligned", {}).get("num"),
               c.get("dkim_aligned", {}).get("num"),
               c.get("quarantine", {}).get("value"),
               c.get("reject", {}).get("value"))
        ok(got == (m, ps, spf, dkim, q, r),
           f"index.html {d}: figures equal the database {got}")
        shown = c.get("dmarc_pass", {}).get("shown", "")
        want = f"{100 * ps / m:.2f}" if m else "n/a"
        ok(shown.startswith(want), f"index.html {d}: DMARC pass shows "
           f"{shown!r} ({want} %)")
        ok(c.get("messages", {}).get("shown") == f"{m:,}",
           f"index.html {d}: messages shown as {m:,}")
    cnt = idx.get("counts") or {}
    ok((cnt.get("aggregate_reports", {}).get("value"),
        cnt.get("tlsrpt_reports", {}).get("value"),
        cnt.get("failure_reports", {}).get("value"),
        cnt.get("rejected", {}).get("value")) ==
       (kinds.get("aggregate", 0), kinds.get("tlsrpt", 0),
        kinds.get("failure", 0), rejected), "index.html: report counts")
    t = pages.get("tls.html", {}).get("sections", {})
    ok({d: (c["sessions_ok"]["value"], c["sessions_failed"]["value"])
        for d, c in t.items()} == tls, "tls.html: sessions per domain")
    rows = pages.get("sources.html", {}).get("rows", {})
    ok(rows and all(sources.get(ip) == v for ip, v in rows.items()) and
       len(rows) == min(len(sources), 500),
       f"sources.html: {len(rows)} sources, messages equal the database")
    kc = {f: pages.get(f, {}).get("keyCols", 0) for f in
          ("sources.html", "reports.html", "failures.html", "rejected.html")}
    ok(all(n >= 3 for n in kc.values()), f"tables mark their key columns, "
       f"checked in view at 1280 px {kc}")
    for f in ("index.html", "tls.html", "warmup.html"):
        svgs = pages.get(f, {}).get("svgs", [])
        ok(svgs and all(s["label"] and s["title"] and s["hasNumbers"]
                        for s in svgs),
           f"{f}: {len(svgs)} charts, each with a text alternative")
    hostile_pages(node, work)
    engine_pages(node, work)
    print(f"# screenshots: {shots}")


def engine_pages(node, work):
    """A small generated history with a send log and `hints --now` runs
    (tests/hints/scen.py): warmup.html with engine data renders without
    console errors or overflow at 1280 and 390 px, and the hint figures
    the browser reads equal throttle_hints, the gates engine_days."""
    sys.path.insert(0, os.path.join(HERE, "..", "hints"))
    import scen
    ip1, ip2 = "192.0.2.10", "192.0.2.11"
    w = scen.World(DW, os.path.join(work, "engine-in"), ips=(ip1, ip2))
    for d in range(5):
        w.run_hints(d)
        w.send_day(d, {(ip1, "google"): 300, (ip2, "yahoo"): 200},
                   foreign=[("203.0.113.66", "google", 9, 1)])
    w.run_hints(5)
    out, shots = os.path.join(work, "engine-out"), \
        os.path.join(work, "engine-shots")
    os.makedirs(shots)
    p = w.run("report", "html", "--out", out, check=False)
    ok(p.returncode == 0, "report html with engine data")
    p = subprocess.run([node, os.path.join(HERE, "browser_check.js"), out,
                        shots], capture_output=True, text=True, timeout=600)
    try:
        res = json.loads(p.stdout)
    except ValueError:
        print("# browser_check.js output:", p.stdout[-2000:], p.stderr[-2000:])
        ok(False, "browser check of the engine pages ran")
        return
    for prob in res["problems"]:
        print("#", prob)
    ok(not res["problems"], "engine pages: no console error, no outside "
       "request, no sideways overflow at 1280 and 390 px")
    got = res["pages"].get("warmup.html", {}).get("hints", {})
    quiet = res["pages"].get("warmup.html", {}).get("quiet", [])
    db = sqlite3.connect(w.db)
    busy = {f"{r[0]}|{r[1]}" for r in db.execute(
        "SELECT source_ip, provider FROM sendlog_daily WHERE provider <> ''"
        " GROUP BY 1, 2 HAVING sum(attempts) > 0")}
    want, want_quiet = {}, set()
    for ip, prov, act, mpd, mph, mc, rsn in db.execute(
            "SELECT source_ip, provider, action, max_per_day, max_per_hour,"
            " max_connections, reason FROM throttle_hints"):
        if f"{ip}|{prov}" not in busy:
            want_quiet.add(f"{ip}|{prov}")
            continue
        gates = [g for (g,) in db.execute(
            "SELECT coalesce(e.gate, 'not gated') FROM (SELECT day FROM"
            " engine_days WHERE source_ip = ?1 AND provider = ?2 UNION"
            " SELECT day FROM sendlog_daily WHERE source_ip = ?1 AND"
            " provider = ?2) d LEFT JOIN engine_days e ON e.day = d.day"
            " AND e.source_ip = ?1 AND e.provider = ?2 ORDER BY d.day",
            (ip, prov))]
        want[f"{ip}|{prov}"] = {
            "action": act, "max_per_day": mpd, "max_per_hour": mph,
            "max_connections": mc, "reason": rsn, "gates": gates}
    db.close()
    diff = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    ok(want and not diff and set(got) == set(want),
       f"warmup.html in the browser: {len(want)} keys with mail, their "
       f"hints and daily gates equal the database {list(diff.items())[:1]}")
    ok(want_quiet and sorted(quiet) == sorted(want_quiet),
       f"warmup.html: the keys without mail one line each {quiet}")


def hostile_pages(node, work):
    """The pages of the hostile inputs of test_html.py (payloads in every
    field, plus 1500-byte names with no break) in the browser: nothing
    runs, nothing loads, nothing overflows the page at 390 px."""
    sys.path.insert(0, HERE)
    import test_html
    src = os.path.join(work, "hostile-in")
    os.makedirs(src)
    test_html.hostile_inputs(src)
    long_name = "x" * 1500
    with open(os.path.join(src, "hostile-agg.xml")) as f:
        xml = f.read()
    with open(os.path.join(src, "long.xml"), "w") as f:
        f.write(xml.replace("<org_name>org", "<org_name>" + long_name)
                .replace("<report_id>rid", "<report_id>long" + long_name)
                .replace("<domain>dom", "<domain>" + long_name[:200]))
    db = os.path.join(work, "hostile.db")
    subprocess.run(dwexec.cmd(DW) + ["import", "-q", "-d", db, src], capture_output=True)
    out, shots = os.path.join(work, "hostile-out"), \
        os.path.join(work, "hostile-shots")
    os.makedirs(shots)
    p = subprocess.run(dwexec.cmd(DW) + ["report", "html", "-d", db, "--out", out],
                       capture_output=True, text=True)
    ok(p.returncode == 0, "report html over hostile inputs")
    p = subprocess.run([node, os.path.join(HERE, "browser_check.js"), out,
                        shots], capture_output=True, text=True, timeout=600)
    try:
        res = json.loads(p.stdout)
    except ValueError:
        print("# browser_check.js output:", p.stdout[-2000:], p.stderr[-2000:])
        ok(False, "browser check of the hostile pages ran")
        return
    for prob in res["problems"]:
        print("#", prob)
    ok(not res["problems"], "hostile pages: no console error (no script "
       "ran, nothing blocked by the CSP), no outside request, no sideways "
       "overflow at 1280 and 390 px")


if __name__ == "__main__":
    main()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
