#!/usr/bin/env python3
"""tests/html/test_html.py DMARCWATCH - `report html` and `summary`.

1. Hostile inputs: builds an aggregate XML report, a TLS-RPT JSON report,
   an ARF failure report and a rejected input whose every free-text field
   carries <script>, "><img src=x onerror=...> and javascript: payloads,
   imports them with `dmarcwatch import`, checks the payloads landed in
   the database (else the test would prove nothing), generates the pages
   and parses each with html.parser: only the tags and attributes we emit,
   no on* attribute, no href outside our own page names, one <script>
   whose SHA-256 is the one the Content-Security-Policy allows, and the
   payloads present as text.
2. Samples: imports samples/reports, compares the overview figures on
   index.html and `summary --json` with sqlite3 queries of the rollups
   and of the records, checks --domain / --since / --until, the caps
   said on the page, atomic writes (no temporary files left) and errors.
Written by the dmarcwatch developers; standard library only.
"""
import base64
import hashlib
import html
import html.parser
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import dwexec  # noqa: E402  DW_EXEC_WRAPPER

DW = sys.argv[1]
SAMPLES = os.environ.get("DW_SAMPLES") or os.path.join(
    os.path.dirname(__file__), "..", "..", "samples")

P_SCRIPT = "<script>alert(1)</script>"
P_IMG = '"><img src=x onerror=alert(1)>'
P_JS = "javascript:alert(1)"
PAYLOAD = P_SCRIPT + P_IMG + P_JS + "'"

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


def run(*args, check=None):
    p = subprocess.run(dwexec.cmd(DW) + list(args), capture_output=True,
                       text=True)
    if check is not None and p.returncode != check:
        print(f"# {' '.join(args)} -> {p.returncode}\n# {p.stderr.strip()}")
    return p


def xesc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hostile_inputs(d):
    x = xesc(PAYLOAD)
    agg = f"""<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>org{x}</org_name>
    <email>mail{x}@example.com</email>
    <extra_contact_info>{xesc(P_JS)}</extra_contact_info>
    <report_id>rid{x}</report_id>
    <date_range><begin>1700006400</begin><end>1700092799</end></date_range>
    <error>err{x}</error>
  </report_metadata>
  <policy_published>
    <domain>dom{x}.example</domain>
    <adkim>r</adkim><aspf>r</aspf><p>none</p><sp>none</sp><pct>100</pct>
  </policy_published>
  <record>
    <row>
      <source_ip>192.0.2.77</source_ip>
      <count>5</count>
      <policy_evaluated>
        <disposition>none</disposition><dkim>fail</dkim><spf>pass</spf>
        <reason><type>other</type><comment>comment{x}</comment></reason>
      </policy_evaluated>
    </row>
    <identifiers>
      <envelope_to>to{x}</envelope_to>
      <envelope_from>envfrom{x}</envelope_from>
      <header_from>from{x}</header_from>
    </identifiers>
    <auth_results>
      <dkim><domain>dkim{x}</domain><selector>sel{x}</selector>
        <result>fail</result><human_result>human{x}</human_result></dkim>
      <spf><domain>spf{x}</domain><scope>mfrom</scope><result>pass</result>
        <human_result>spfhuman{x}</human_result></spf>
    </auth_results>
  </record>
</feedback>
"""
    open(os.path.join(d, "hostile-agg.xml"), "w").write(agg)
    tls = {
        "organization-name": "tlsorg" + PAYLOAD,
        "date-range": {"start-datetime": "2023-11-19T00:00:00Z",
                       "end-datetime": "2023-11-20T00:00:00Z"},
        "contact-info": "tls" + PAYLOAD,
        "report-id": "tlsrid" + PAYLOAD,
        "policies": [{
            "policy": {"policy-type": "sts",
                       "policy-string": ["mode: " + PAYLOAD],
                       "policy-domain": "tlsdom" + PAYLOAD,
                       "mx-host": ["mx" + PAYLOAD]},
            "summary": {"total-successful-session-count": 9,
                        "total-failure-session-count": 3},
            "failure-details": [{
                "result-type": "type" + PAYLOAD,
                "sending-mta-ip": "192.0.2.78",
                "receiving-mx-hostname": "mxhost" + PAYLOAD,
                "receiving-mx-helo": "helo" + PAYLOAD,
                "receiving-ip": "203.0.113.9",
                "failed-session-count": 3,
                "additional-information": P_JS,
                "failure-reason-code": "code" + PAYLOAD}]}]}
    open(os.path.join(d, "hostile-tls.json"), "w").write(json.dumps(tls))
    hdr = PAYLOAD  # header values: one line, no CR/LF
    arf = f"""From: postmaster@mx.example.org
To: ruf@example.org
Subject: failure
Date: Mon, 20 Nov 2023 08:00:07 +0000
Message-ID: <hostile-arf@mx.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
\tboundary="=_b_"

--=_b_
Content-Type: text/plain; charset=us-ascii

DMARC failure report.

--=_b_
Content-Type: message/feedback-report

Feedback-Type: auth-failure
User-Agent: ua{hdr}
Version: 1
Original-Mail-From: omf{hdr}
Original-Rcpt-To: ort{hdr}
Arrival-Date: Mon, 20 Nov 2023 08:00:00 +0000
Source-IP: 192.0.2.79
Reported-Domain: rd{hdr}.example
Reported-URI: {P_JS}
Authentication-Results: ar{hdr}
Auth-Failure: dmarc
Identity-Alignment: none
Delivery-Result: reject
DKIM-Domain: dd{hdr}
DKIM-Selector: ds{hdr}
SPF-DNS: spf{hdr}
X-Other-Field: other{hdr}

--=_b_
Content-Type: text/rfc822-headers

From: from{hdr}
To: to{hdr}
Subject: subject{hdr}
Date: Mon, 20 Nov 2023 08:00:00 +0000
Message-ID: <mid{hdr}>

--=_b_--
"""
    open(os.path.join(d, "hostile-arf.eml"), "w").write(arf)
    # A rejected input: its origin (the file name) is hostile; a file
    # name cannot hold '/', so the script tag stays unclosed.
    name = "rej<script>alert(1)" + P_IMG + P_JS + ".xml"
    open(os.path.join(d, name), "w").write("<feedback><report_metadata>")


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "nav",
    "span", "a", "main", "h1", "h2", "h3", "p", "div", "section", "table",
    "caption", "thead", "tbody", "tr", "th", "td", "figure", "svg", "g",
    "line", "text", "rect", "figcaption", "details", "summary", "dl", "dt",
    "dd", "ul", "li", "code", "strong", "br", "footer", "script",
}
ALLOWED_ATTRS = {
    "lang", "charset", "http-equiv", "content", "name", "class", "id",
    "href", "aria-label", "aria-current", "aria-labelledby", "aria-sort",
    "role", "scope", "tabindex", "style", "data-k", "data-value",
    "data-num", "data-den", "data-v", "data-domain", "data-ip", "viewbox",
    "data-provider", "data-day",
    "xmlns", "x", "y", "x1", "y1", "x2", "y2", "width", "height", "fill",
    "stroke", "stroke-dasharray", "text-anchor", "font-size",
}
HREF_OK = re.compile(r"^(#[A-Za-z0-9-]+|[a-z]+\.html|report-\d+\.html)$")
STYLE_OK = re.compile(r"^background:#[0-9a-f]{6}$")


class Checker(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.text = []
        self.scripts = []
        self.in_script = False
        self.csp = None

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"unexpected tag <{tag}>")
        for k, v in attrs:
            if k.startswith("on"):
                self.problems.append(f"event handler attribute {k}")
            if k not in ALLOWED_ATTRS:
                self.problems.append(f"unexpected attribute {k} on <{tag}>")
            if k == "href" and not HREF_OK.match(v or ""):
                self.problems.append(f"href not ours: {v!r}")
            if k == "style" and not STYLE_OK.match(v or ""):
                self.problems.append(f"style not ours: {v!r}")
            if k in ("src", "srcdoc", "action", "formaction", "xlink:href"):
                self.problems.append(f"attribute {k} present")
            if (v or "").lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {k}")
        if tag == "meta" and dict(attrs).get("http-equiv") == \
                "Content-Security-Policy":
            self.csp = dict(attrs).get("content")
        if tag == "script":
            self.in_script = True
            self.scripts.append("")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


def check_page(path):
    c = Checker()
    with open(path, encoding="utf-8", errors="replace") as f:
        c.feed(f.read())
    c.close()
    probs = list(c.problems)
    if len(c.scripts) != 1:
        probs.append(f"{len(c.scripts)} <script> elements (want 1)")
    if not c.csp or "default-src 'none'" not in c.csp:
        probs.append(f"no strict CSP: {c.csp!r}")
    elif c.scripts:
        want = base64.b64encode(hashlib.sha256(
            c.scripts[0].encode()).digest()).decode()
        if f"script-src 'sha256-{want}'" not in c.csp:
            probs.append("CSP script hash does not match the script")
        if re.search(r"https?:|\*", c.csp):
            probs.append(f"CSP allows a network source: {c.csp}")
    return probs, "".join(c.text)


def test_hostile(tmp):
    d = os.path.join(tmp, "hostile")
    os.mkdir(d)
    hostile_inputs(d)
    db = os.path.join(tmp, "hostile.db")
    p = run("import", "-d", db, d)
    ok(p.returncode == 3, f"hostile import: some stored, one rejected "
       f"(exit {p.returncode})")
    con = sqlite3.connect(db)
    landed = {
        "org_name": con.execute("SELECT count(*) FROM reports WHERE "
                                "org_name LIKE '%<script>%'").fetchone()[0],
        "policy_domain": con.execute(
            "SELECT count(*) FROM agg_daily WHERE policy_domain LIKE "
            "'%onerror%'").fetchone()[0],
        "selector": con.execute("SELECT count(*) FROM record_dkim WHERE "
                                "selector LIKE '%<script>%'").fetchone()[0],
        "tls mx": con.execute("SELECT count(*) FROM tlsrpt_daily WHERE "
                              "receiving_mx LIKE '%<script>%'").fetchone()[0],
        "arf subject": con.execute(
            "SELECT count(*) FROM failure_reports WHERE orig_subject LIKE "
            "'%<script>%'").fetchone()[0],
        "rejected origin": con.execute(
            "SELECT count(*) FROM rejected WHERE origin LIKE "
            "'%<script>%'").fetchone()[0],
    }
    rid = con.execute("SELECT id FROM reports WHERE kind='aggregate'"
                      ).fetchone()
    con.close()
    for k, n in landed.items():
        ok(n > 0, f"hostile {k} is in the database (the test has teeth)")
    out = os.path.join(tmp, "hostile-out")
    p = run("report", "html", "-d", db, "--out", out, check=0)
    ok(p.returncode == 0, "report html over hostile data")
    pages = sorted(f for f in os.listdir(out) if f.endswith(".html"))
    ok(rid is not None and f"report-{rid[0]}.html" in pages,
       "the hostile aggregate report has its page")
    texts = {}
    for f in pages:
        probs, text = check_page(os.path.join(out, f))
        texts[f] = text
        ok(not probs, f"{f}: no markup from report data" +
           ("" if not probs else " - " + "; ".join(probs[:5])))
    # The payloads are shown, as text, where their fields go.
    where = {
        "index.html": ["dom" + PAYLOAD, "org" + PAYLOAD],
        "sources.html": ["from" + PAYLOAD],
        "tls.html": ["mxhost" + PAYLOAD, "type" + PAYLOAD],
        "failures.html": ["subject" + PAYLOAD, "rd" + PAYLOAD.lower(),
                          "ar" + PAYLOAD, P_JS],
        "rejected.html": ["rej<script>alert(1)" + P_IMG + P_JS],
        "reports.html": ["rid" + PAYLOAD, "tlsrid" + PAYLOAD],
    }
    if rid is not None:
        where[f"report-{rid[0]}.html"] = [
            "sel" + PAYLOAD, "human" + PAYLOAD, "comment" + PAYLOAD,
            "err" + PAYLOAD, "envfrom" + PAYLOAD, P_JS]
    for f, needles in where.items():
        for n in needles:
            ok(n in texts.get(f, ""), f"{f} shows {n[:24]!r}... as text")
    # The terminal summary neutralises control characters and stays
    # aligned text; JSON keeps the strings exactly.
    p = run("summary", "-d", db, "--json", check=0)
    try:
        doms = [x["policy_domain"] for x in json.loads(p.stdout)["domains"]]
    except (ValueError, KeyError):
        doms = []
    ok(any(PAYLOAD.lower() in x for x in doms), "summary --json keeps the "
       "hostile domain as a JSON string")


def figures_from_db(db, domain=None, since=None, until=None):
    con = sqlite3.connect(db)
    w, a = ["1=1"], []
    if domain:
        w.append("policy_domain = ?")
        a.append(domain)
    if since:
        w.append("day >= ?")
        a.append(since)
    if until:
        w.append("day <= ?")
        a.append(until)
    rows = con.execute(
        "SELECT policy_domain, sum(messages), sum(dmarc_pass), "
        "sum(spf_aligned_pass), sum(dkim_aligned_pass), sum(quarantine), "
        "sum(reject), count(DISTINCT day) FROM agg_daily WHERE "
        + " AND ".join(w) + " GROUP BY 1", a).fetchall()
    con.close()
    return {r[0]: r[1:] for r in rows}


def test_samples(tmp):
    db = os.path.join(tmp, "samples.db")
    p = run("import", "-d", db, os.path.join(SAMPLES, "reports"))
    ok(p.returncode == 0, f"import samples/reports (exit {p.returncode})")
    con = sqlite3.connect(db)
    # An independent check of the rollup the pages read: the records.
    rec = dict(con.execute(
        "SELECT r.policy_domain, sum(c.count) FROM records c JOIN reports r "
        "ON r.id = c.report_id GROUP BY 1").fetchall())
    con.close()
    want = figures_from_db(db)
    ok(want and all(want[d][0] == rec.get(d) for d in want),
       "agg_daily totals equal the records' totals per domain")

    p = run("summary", "-d", db, "--json", check=0)
    s = json.loads(p.stdout)
    got = {x["policy_domain"]: (x["messages"], x["dmarc_pass"],
                                x["spf_aligned_pass"], x["dkim_aligned_pass"],
                                x["quarantine"], x["reject"], x["days"])
           for x in s["domains"]}
    ok(got == want, "summary --json figures equal the database")
    con = sqlite3.connect(db)
    kinds = dict(con.execute("SELECT kind, count(*) FROM reports "
                             "GROUP BY 1").fetchall())
    tls = dict((r[0], r[1:]) for r in con.execute(
        "SELECT policy_domain, sum(sessions_ok), sum(sessions_failed) "
        "FROM v_tlsrpt_daily GROUP BY 1"))
    con.close()
    ok(s["counts"]["aggregate_reports"] == kinds.get("aggregate") and
       s["counts"]["tlsrpt_reports"] == kinds.get("tlsrpt") and
       s["counts"]["failure_reports"] == kinds.get("failure"),
       "summary --json report counts")
    ok({x["policy_domain"]: (x["sessions_ok"], x["sessions_failed"])
        for x in s["tlsrpt"]} == tls, "summary --json TLS sessions")
    for x in s["domains"]:
        if x["messages"]:
            ok(abs(x["dmarc_pass_pct"] - round(100 * x["dmarc_pass"] /
                                               x["messages"], 2)) < 1e-9,
               f"dmarc_pass_pct of {x['policy_domain']}")
            break

    p = run("summary", "-d", db, check=0)
    lines = p.stdout.splitlines()
    hdr = [i for i, l in enumerate(lines) if l.startswith("POLICY DOMAIN")]
    ok(p.returncode == 0 and hdr, "summary text has a header line")
    if hdr:
        i = hdr[0]
        cols = [l.rstrip() for l in lines[i:i + 1 + len(want)]]
        ok(len({len(l) for l in cols}) == 1,
           "summary text: columns aligned (rows as long as the header)")
        for d, v in want.items():
            row = [l for l in lines[i + 1:i + 1 + len(want)]
                   if l.split()[0] == d]
            ok(row and row[0].split()[1] == str(v[0]),
               f"summary text: messages of {d}")

    # --domain and a day range, against the same queries.
    dom = max(want, key=lambda d: want[d][0])
    p = run("summary", "-d", db, "--json", "--domain", dom,
            "--since", "2023-11-15", "--until", "2023-11-17", check=0)
    s = json.loads(p.stdout)
    w2 = figures_from_db(db, dom, "2023-11-15", "2023-11-17")
    ok([(x["policy_domain"], x["messages"], x["days"]) for x in s["domains"]]
       == [(d, v[0], v[6]) for d, v in w2.items()],
       "summary --domain --since --until")
    ok(run("summary", "-d", db, "--since", "yesterday").returncode == 2,
       "summary: a bad date is a usage error")
    ok(run("report", "-d", db).returncode == 2, "report without html: usage")
    ok(run("report", "html", "-d", db).returncode == 2,
       "report html without --out: usage")
    ok(run("summary", "-d", os.path.join(tmp, "none.db")).returncode == 1,
       "summary: missing database is a runtime error")

    out = os.path.join(tmp, "out")
    p = run("report", "html", "-d", db, "--out", out, check=0)
    ok(p.returncode == 0, "report html over the samples")
    files = os.listdir(out)
    ok(not [f for f in files if not f.endswith(".html")],
       "no temporary files left in the output directory")
    for f in ["index.html", "sources.html", "warmup.html", "tls.html",
              "failures.html", "rejected.html", "reports.html"]:
        ok(f in files, f"{f} written")
    # index.html figures, read from the data-* hooks.
    page = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    for d, v in want.items():
        m = re.search(r'<section class="domain" id="dom-\d+" data-domain="'
                      + re.escape(d) + r'">(.*?)</section>', page, re.S)
        ok(m is not None, f"index.html has a section for {d}")
        if not m:
            continue
        sec = m.group(1)
        val = dict(re.findall(r'data-k="(\w+)" data-value="(\d+)"', sec))
        num = dict((k, (int(a), int(b))) for k, a, b in re.findall(
            r'data-k="(\w+)" data-num="(\d+)" data-den="(\d+)"', sec))
        ok(int(val.get("messages", -1)) == v[0] and
           num.get("dmarc_pass") == (v[1], v[0]) and
           num.get("spf_aligned") == (v[2], v[0]) and
           num.get("dkim_aligned") == (v[3], v[0]) and
           int(val.get("quarantine", -1)) == v[4] and
           int(val.get("reject", -1)) == v[5],
           f"index.html figures of {d} equal the database")
    # Everything about the warm-up engine that is not there is said.
    wp = open(os.path.join(out, "warmup.html"), encoding="utf-8").read()
    ok('id="engine-missing"' in wp and "reputation engine has not run" in wp,
       "warmup.html says the engine has not run")
    ok('id="ips-unknown"' in wp, "warmup.html says [sender] ips is not set")
    sp = open(os.path.join(out, "sources.html"), encoding="utf-8").read()
    ok("unknown (set [sender] ips)" in sp and "not resolved" in sp,
       "sources.html: ownership unknown, reverse DNS not resolved")
    # Reporters per source: the cell lists the largest first, with their
    # messages, as the rollup has them.
    con = sqlite3.connect(db)
    good = 0
    ips = [r[0] for r in con.execute(
        "SELECT source_ip FROM agg_daily GROUP BY 1 ORDER BY sum(messages) "
        "DESC, 1 LIMIT 10")]
    for ip in ips:
        want = con.execute(
            "SELECT reporter, sum(messages) FROM agg_daily WHERE "
            "source_ip = ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
            (ip,)).fetchall()
        m = re.search(r'<tr data-ip="' + re.escape(ip) + r'">(.*?)</tr>', sp)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", m.group(1)) if m else []
        got = re.findall(r'(?:^|<br>)([^<]*) <span class="muted">\((\d+)\)',
                         cells[9]) if len(cells) > 9 else []
        got = [(html.unescape(a), int(b)) for a, b in got]
        good += got == [(a, b) for a, b in want]
    con.close()
    ok(good == len(ips) and ips, f"sources.html: reporters of the top "
       f"{len(ips)} sources equal the database ({good} equal)")
    # --domain limits the pages too.
    out2 = os.path.join(tmp, "out2")
    run("report", "html", "-d", db, "--out", out2, "--domain", dom, check=0)
    p2 = open(os.path.join(out2, "index.html"), encoding="utf-8").read()
    ok(re.findall(r'data-domain="([^"]*)"', p2) == [dom],
       "report html --domain: one domain section")
    # Rewriting over existing pages works (rename over them).
    ok(run("report", "html", "-d", db, "--out", out).returncode == 0,
       "report html again over the same directory")
    blocker = os.path.join(tmp, "afile")
    open(blocker, "w").close()
    ok(run("report", "html", "-d", db, "--out", blocker).returncode == 1,
       "report html: --out naming a file is a runtime error")
    return db


def test_record_cap(tmp):
    """A report with more records than a page shows: the page says so."""
    n = 1000 + 7   # LIM_HTML_RECORDS_PER_PAGE + 7
    gen = os.path.join(os.environ.get("DW_SRCDIR", os.path.join(
        os.path.dirname(__file__), "..", "..")), "bench", "gen_report.py")
    xml = os.path.join(tmp, "big.xml")
    subprocess.run([sys.executable, gen, str(n), xml], check=True)
    db = os.path.join(tmp, "big.db")
    run("import", "-d", db, xml, check=0)
    out = os.path.join(tmp, "big-out")
    run("report", "html", "-d", db, "--out", out, check=0)
    pages = [f for f in os.listdir(out) if f.startswith("report-")]
    page = open(os.path.join(out, pages[0]), encoding="utf-8").read() \
        if pages else ""
    m = re.search(r'id="records-shown" data-value="(\d+)"', page)
    ok(m and int(m.group(1)) == 1000, "report page shows 1000 records")
    ok('id="records-capped"' in page and "LIM_HTML_RECORDS_PER_PAGE" in page
       and f"has {n:d} records" in page, "report page says it is capped")


def unnum(s):
    return int(re.sub(r"[^0-9]", "", s))


def span(block, cls):
    m = re.search(r'class="' + cls + r'">([^<]*)<', block)
    return html.unescape(m.group(1)) if m else None


def test_engine(tmp):
    """[sender] ips + domains, a send log and `hints --now` on a small
    generated history (tests/hints/scen.py): sources.html marks ours /
    not ours / foreign as the database says, warmup.html shows the gates
    of engine_days, the volumes of sendlog_daily and the hints of
    throttle_hints."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "hints"))
    import scen
    ip1, ip2, spoof = "192.0.2.10", "192.0.2.11", "203.0.113.66"
    w = scen.World(DW, os.path.join(tmp, "engine"), ips=(ip1, ip2))
    # Before any hints run: the send log is there, the engine is not.
    for d in range(6):
        w.run_hints(d)
        extra = []
        if d == 4:
            extra = [(scen.iso(d, 9, 10 + i), ip1, "google", "deferred",
                      421, "4.7.28", "421 4.7.28 unusual rate")
                     for i in range(6)]
        w.send_day(d, {(ip1, "google"): 300, (ip2, "yahoo"): 200,
                       (ip1, "yahoo"): 100}, extra=extra,
                   foreign=[(spoof, "google", 9, 1)])
    w.run_hints(6)
    out = os.path.join(tmp, "engine-html")
    p = w.run("report", "html", "--out", out, check=False)
    if not ok(p.returncode == 0, "report html with engine data exits 0"):
        print("#", p.stderr.strip())
        return
    for f in ("sources.html", "warmup.html"):
        probs, _ = check_page(os.path.join(out, f))
        ok(not probs, f"{f} with engine data: only our markup {probs[:3]}")
    db = sqlite3.connect(w.db)
    # sources.html: ours / not ours / foreign per the database.
    src = open(os.path.join(out, "sources.html"), encoding="utf-8").read()
    rows = dict(re.findall(r'<tr (?:class="foreign" )?data-ip="([^"]+)">'
                           r'<td class="nw">[^<]*</td><td class="own">'
                           r'(?:<strong>)?([^<]*)<', src))
    ours = {r[0] for r in db.execute("SELECT ip FROM sender_ips")}
    foreign = {r[0] for r in db.execute(
        "SELECT DISTINCT source_ip FROM foreign_senders")}
    srcs = {r[0] for r in db.execute("SELECT DISTINCT source_ip FROM "
                                     "agg_daily")}
    ok(ours == {ip1, ip2} and spoof in foreign and srcs == set(rows),
       f"every source listed, [sender] ips synced {sorted(rows)}")
    want = {ip: ("ours" if ip in ours else
                 "not ours: foreign sender of our domains" if ip in foreign
                 else "not ours") for ip in srcs}
    ok(rows == want, f"sources.html ours / foreign as the database says "
       f"{rows} vs {want}")
    ok(f'<tr class="foreign" data-ip="{spoof}">' in src and
       f'id="foreign-senders" data-value="{len(foreign)}"' in src,
       "the foreign sender's row is highlighted and counted")
    # warmup.html against throttle_hints, engine_days, sendlog_daily.
    wp = open(os.path.join(out, "warmup.html"), encoding="utf-8").read()
    ok('id="engine-missing"' not in wp, "warmup.html: engine data present")
    keys = {}
    for sec in wp.split('<section class="ip"')[1:]:
        ip = re.match(r' id="ip-\d+" data-ip="([^"]+)"', sec).group(1)
        for blk in sec.split('<div class="key-eng" data-provider="')[1:]:
            prov = blk[:blk.index('"')]
            keys[(ip, prov)] = blk
    hints = db.execute(
        "SELECT source_ip, provider, action, max_per_day, max_per_hour,"
        " max_connections, reason, reason_text, evidence, confidence"
        " FROM throttle_hints").fetchall()
    ok(len(hints) >= 3 and set(keys) >= {(h[0], h[1]) for h in hints},
       f"one warm-up block per hinted key {sorted(keys)}")
    bad = []
    for (ip, prov, act, mpd, mph, mc, rsn, rtext, ev, conf) in hints:
        b = keys.get((ip, prov), "")
        got = (span(b, "hint-action"), unnum(span(b, "hint-day") or "0"),
               unnum(span(b, "hint-hour") or "0"),
               unnum(span(b, "hint-conn") or "0"), span(b, "hint-reason"),
               span(b, "hint-reason-text"), span(b, "hint-evidence"),
               span(b, "hint-conf"))
        exp = (act, mpd, mph, mc, rsn, rtext, ev, f"{conf:.3f}")
        if got != exp:
            bad.append((ip, prov, got, exp))
    ok(not bad, f"hint action, caps, reason, evidence, confidence equal "
       f"throttle_hints {bad[:1]}")
    ok(any(h[2] == "reduce" for h in hints) or
       db.execute("SELECT count(*) FROM engine_days WHERE gate <> 'green'"
                  ).fetchone()[0] > 0,
       "the 4.7.28 day left a mark in the engine (else the gate check "
       "proves little)")
    days = {}
    for (ip, prov, day, gate, cap) in db.execute(
            "SELECT source_ip, provider, day, gate, cap_day FROM "
            "engine_days"):
        days[(ip, prov, day)] = [0, gate, cap]
    for (ip, prov, day, att) in db.execute(
            "SELECT source_ip, provider, day, attempts FROM sendlog_daily "
            "WHERE provider <> ''"):
        days.setdefault((ip, prov, day), [0, "not gated", -1])[0] = att
    shown = {}
    for (ip, prov), b in keys.items():
        for day, tr in re.findall(r'<tr data-day="([^"]+)">(.*?)</tr>', b):
            v = re.findall(r'data-v="(-?\d+)"', tr)
            g = re.search(r'<span class="gate (\w+)">([^<]*)</span>', tr)
            gate = g.group(2) if g else None
            if g and g.group(1) != "none" and g.group(1) != g.group(2):
                gate = "colour/text mismatch"
            shown[(ip, prov, day)] = [int(v[0]), gate, int(v[2])]
    ok(shown == days and len(shown) > 10,
       f"per day: sent, gate (colour + word) and cap equal engine_days / "
       f"sendlog_daily ({len(shown)} rows; "
       f"{[(k, shown.get(k), days.get(k)) for k in days if shown.get(k) != days.get(k)][:2]})")
    ok(wp.count('class="key cap"') >= 1 and "<svg" in wp,
       "warm-up chart drawn with the daily cap")
    ok("Warm-up schedule of this provider" in wp,
       "the provider schedule is shown")
    # summary: one hints line, counts per action as in throttle_hints.
    p = w.run("summary", check=False)
    want = ", ".join(f"{n} {a}" for a, n in db.execute(
        "SELECT action, count(*) FROM throttle_hints GROUP BY action "
        "ORDER BY action"))
    line = [ln for ln in p.stdout.splitlines()
            if ln.startswith("Throttle hints")]
    ok(p.returncode == 0 and len(line) == 1 and
       line[0].endswith(f"{len(hints)} hints: {want}"),
       f"summary: hints line with the counts per action {line} vs {want}")
    db.close()


def main():
    with tempfile.TemporaryDirectory(prefix="dw-html-") as tmp:
        test_hostile(tmp)
        test_samples(tmp)
        test_record_cap(tmp)
        test_engine(tmp)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
