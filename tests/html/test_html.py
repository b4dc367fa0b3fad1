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
import datetime
import hashlib
import html
import html.parser
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile

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
# A right-to-left override: shown, it would draw what follows reversed.
RLO = "\u202e"

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
    <org_name>org{x}{RLO}moc.elgoog</org_name>
    <email>mail{x}@example.com</email>
    <extra_contact_info>{xesc(P_JS)}extra{x}</extra_contact_info>
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
            "policy": {"policy-type": "ptype" + PAYLOAD,
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
                "additional-information": P_JS + "addl" + PAYLOAD,
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
    # The enumerations of an aggregate report and its generator: the
    # parser keeps values it does not know verbatim.
    enum = f"""<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>enumorg</org_name>
    <email>enum@example.com</email>
    <report_id>enum-report</report_id>
    <generator>gen{x}</generator>
    <date_range><begin>1700006400</begin><end>1700092799</end></date_range>
  </report_metadata>
  <policy_published>
    <domain>enum.example</domain>
    <adkim>adkim{x}</adkim><aspf>aspf{x}</aspf><p>p{x}</p><sp>sp{x}</sp>
    <np>np{x}</np><testing>testing{x}</testing><pct>100</pct>
  </policy_published>
  <record>
    <row>
      <source_ip>192.0.2.76</source_ip>
      <count>4</count>
      <policy_evaluated>
        <disposition>disp{x}</disposition><dkim>dkal{x}</dkim>
        <spf>spal{x}</spf>
        <reason><type>rtype{x}</type></reason>
      </policy_evaluated>
    </row>
    <identifiers><header_from>enum.example</header_from></identifiers>
    <auth_results>
      <dkim><domain>d.example</domain><selector>s</selector>
        <result>dres{x}</result></dkim>
      <spf><domain>s.example</domain><scope>scope{x}</scope>
        <result>sres{x}</result></spf>
    </auth_results>
  </record>
</feedback>
"""
    open(os.path.join(d, "hostile-enum.xml"), "w").write(enum)
    # ARF: the enumerated fields, and the outer From and Message-ID (not
    # stored today; planted so that a later change that shows them is
    # covered).
    arf2 = arf.replace("From: postmaster@mx.example.org",
                       f'From: "outer{hdr}" <postmaster@mx.example.org>') \
        .replace("Message-ID: <hostile-arf@mx.example.org>",
                 f"Message-ID: <outer{hdr}@mx.example.org>") \
        .replace("Auth-Failure: dmarc", f"Auth-Failure: af{hdr}") \
        .replace("Identity-Alignment: none", f"Identity-Alignment: ia{hdr}") \
        .replace("Delivery-Result: reject", f"Delivery-Result: dr{hdr}") \
        .replace("Source-IP: 192.0.2.79", "Source-IP: 192.0.2.80") \
        .replace("X-Other-Field: other", "Reporting-MTA: dns; rmta")
    open(os.path.join(d, "hostile-arf-enum.eml"), "w").write(arf2)
    # A Feedback-Type that is not a DMARC failure report: rejected; the
    # error message names registered types only, never this one (no
    # report text in logs, doc/cli.md), so it cannot reach the page.
    arf3 = arf.replace("Feedback-Type: auth-failure",
                       f"Feedback-Type: ft{hdr}") \
        .replace("Source-IP: 192.0.2.79", "Source-IP: 192.0.2.81")
    open(os.path.join(d, "hostile-arf-type.eml"), "w").write(arf3)
    # A zip member with a hostile name that is no report: rejected, the
    # member name is where.
    with zipfile.ZipFile(os.path.join(d, "hostile-member.zip"), "w") as z:
        z.writestr("zm" + P_SCRIPT + P_IMG + ".xml", "<feedback>")
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
# No style attribute: the CSP allows the one style sheet by its hash and
# nothing else (no 'unsafe-inline'); no tabindex: the optional script
# makes headers focusable when it runs.
ALLOWED_ATTRS = {
    "lang", "charset", "http-equiv", "content", "name", "class", "id",
    "href", "aria-label", "aria-current", "aria-labelledby", "aria-sort",
    "aria-hidden", "role", "scope", "data-k", "data-value",
    "data-num", "data-den", "data-v", "data-domain", "data-ip", "viewbox",
    "data-provider", "data-day", "data-key", "data-seq",
    "preserveaspectratio", "vector-effect",
    "xmlns", "x", "y", "x1", "y1", "x2", "y2", "width", "height", "fill",
    "stroke", "stroke-dasharray",
}
HREF_OK = re.compile(r"^(#[A-Za-z0-9-]+|[a-z]+\.html(#[a-z0-9-]+)?|"
                     r"report-\d+\.html)$")
# Text an admin must never see: our internal cap names, and "1 days".
INTERNAL = re.compile(r"LIM_[A-Z_]+")
BAD_PLURAL = re.compile(r"(?<![\d,.])1 (days|messages|reports|sessions|"
                        r"records|connections|inputs|policies|warnings|"
                        r"sources|keys|hints|providers|addresses|IPs)\b")


class Checker(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.text = []
        self.scripts = []
        self.in_script = False
        self.styles = []
        self.in_style = False
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
        if tag == "style":
            self.in_style = True
            self.styles.append("")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False
        if tag == "style":
            self.in_style = False

    def handle_data(self, data):
        if self.in_script:
            self.scripts[-1] += data
        elif self.in_style:
            self.styles[-1] += data
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
        if "unsafe-inline" in (c.csp or ""):
            probs.append("CSP allows 'unsafe-inline'")
        if len(c.styles) != 1:
            probs.append(f"{len(c.styles)} <style> elements (want 1)")
        else:
            want = base64.b64encode(hashlib.sha256(
                c.styles[0].encode()).digest()).decode()
            if f"style-src 'sha256-{want}'" not in c.csp:
                probs.append("CSP style hash does not match the style sheet")
    text = "".join(c.text)
    m = INTERNAL.search(text)
    if m:
        probs.append(f"internal name shown to admins: {m.group(0)}")
    m = BAD_PLURAL.search(text)
    if m:
        probs.append(f"plural after 1: {text[max(0, m.start() - 30):m.end()]!r}")
    return probs, text


def test_hostile(tmp):
    d = os.path.join(tmp, "hostile")
    os.mkdir(d)
    hostile_inputs(d)
    db = os.path.join(tmp, "hostile.db")
    p = run("import", "-d", db, d)
    ok(p.returncode == 3, f"hostile import: some stored, three rejected "
       f"(exit {p.returncode})")
    con = sqlite3.connect(db)

    def n(sql):
        return con.execute(sql).fetchone()[0]
    landed = {
        "org_name": n("SELECT count(*) FROM reports WHERE "
                      "org_name LIKE '%<script>%'"),
        "org_name bidi override": n("SELECT count(*) FROM reports WHERE "
                                    "instr(org_name, char(8238)) > 0"),
        "extra_contact_info": n("SELECT count(*) FROM reports WHERE "
                                "extra_contact_info LIKE 'javascript:%"
                                "<script>%'"),
        "generator": n("SELECT count(*) FROM reports WHERE generator "
                       "LIKE 'gen<script>%'"),
        "p / sp / np / adkim / aspf / testing": n(
            "SELECT count(*) FROM reports WHERE p LIKE 'p<script>%' AND "
            "sp LIKE 'sp<script>%' AND np LIKE 'np<script>%' AND adkim "
            "LIKE 'adkim<script>%' AND aspf LIKE 'aspf<script>%' AND "
            "testing LIKE 'testing<script>%'"),
        "disposition / aligned": n(
            "SELECT count(*) FROM records WHERE disposition LIKE "
            "'disp<script>%' AND dkim_aligned LIKE 'dkal<script>%' AND "
            "spf_aligned LIKE 'spal<script>%'"),
        "reason type": n("SELECT count(*) FROM record_reasons WHERE type "
                         "LIKE 'rtype<script>%'"),
        "dkim / spf result, spf scope": n(
            "SELECT (SELECT count(*) FROM record_dkim WHERE result LIKE "
            "'dres<script>%') * (SELECT count(*) FROM record_spf WHERE "
            "result LIKE 'sres<script>%' AND scope LIKE 'scope<script>%')"),
        "policy_domain": n("SELECT count(*) FROM agg_daily WHERE "
                           "policy_domain LIKE '%onerror%'"),
        "selector": n("SELECT count(*) FROM record_dkim WHERE "
                      "selector LIKE '%<script>%'"),
        "tls mx": n("SELECT count(*) FROM tlsrpt_daily WHERE "
                    "receiving_mx LIKE '%<script>%'"),
        "tls policy-type": n("SELECT count(*) FROM tlsrpt_policies WHERE "
                             "policy_type LIKE 'ptype<script>%'"),
        "tls additional-information": n(
            "SELECT count(*) FROM tlsrpt_failures WHERE "
            "additional_information LIKE '%addl<script>%'"),
        "arf subject": n("SELECT count(*) FROM failure_reports WHERE "
                         "orig_subject LIKE '%<script>%'"),
        "arf Auth-Failure / Identity-Alignment": n(
            "SELECT count(*) FROM failure_reports WHERE auth_failure LIKE "
            "'af<script>%' AND identity_alignment LIKE 'ia<script>%'"),
        "arf Reporting-MTA": n("SELECT count(*) FROM failure_reports WHERE "
                               "other_fields LIKE '%rmta<script>%'"),
        "rejected origin": n("SELECT count(*) FROM rejected WHERE origin "
                             "LIKE '%rej<script>%'"),
        "rejected zip member name": n(
            "SELECT count(*) FROM rejected WHERE origin LIKE "
            "'%zip member %zm<script>%'"),
        "rejected Feedback-Type (the message rejected)": n(
            "SELECT count(*) FROM rejected WHERE error_msg LIKE "
            "'%(unregistered)%'"),
    }
    ids = dict(con.execute("SELECT coalesce(report_id, org_name), id FROM "
                           "reports WHERE kind <> 'failure'"))
    ids.update({r[0]: r[1] for r in con.execute(
        "SELECT f.auth_failure, r.id FROM reports r JOIN failure_reports f"
        " ON f.report_id = r.id")})
    rid = ids.get("rid" + PAYLOAD)
    enum_id = ids.get("enum-report")
    tls_id = ids.get("tlsrid" + PAYLOAD)
    arf_id = next((v for k, v in ids.items() if k and k.startswith("af<")),
                  None)
    con.close()
    for k, v in landed.items():
        ok(v > 0, f"hostile {k} is in the database (the test has teeth)")
    con = sqlite3.connect(db)
    ok(con.execute("SELECT count(*) FROM rejected WHERE error_msg LIKE "
                   "'%ft<script>%'").fetchone()[0] == 0,
       "an unregistered Feedback-Type is not quoted in rejected.error_msg")
    con.close()
    out = os.path.join(tmp, "hostile-out")
    p = run("report", "html", "-d", db, "--out", out, check=0)
    ok(p.returncode == 0, "report html over hostile data")
    pages = sorted(f for f in os.listdir(out) if f.endswith(".html"))
    for i in (rid, enum_id, tls_id, arf_id):
        ok(i is not None and f"report-{i}.html" in pages,
           f"the hostile report {i} has its page")
    texts = {}
    for f in pages:
        probs, text = check_page(os.path.join(out, f))
        texts[f] = text
        ok(not probs, f"{f}: no markup from report data" +
           ("" if not probs else " - " + "; ".join(probs[:5])))
        raw = open(os.path.join(out, f), encoding="utf-8").read()
        ok(RLO not in raw, f"{f}: no bidi override character")
    # The payloads are shown, as text, where their fields go.
    where = {
        "index.html": ["dom" + PAYLOAD, "org" + PAYLOAD + "\ufffdmoc"],
        "sources.html": ["from" + PAYLOAD],
        "tls.html": ["mxhost" + PAYLOAD, "type" + PAYLOAD,
                     "ptype" + PAYLOAD, "mx" + PAYLOAD],
        "failures.html": ["subject" + PAYLOAD, "rd" + PAYLOAD.lower(),
                          "ar" + PAYLOAD, P_JS, "af" + PAYLOAD,
                          "ia" + P_SCRIPT, "dns; rmta" + PAYLOAD],
        "rejected.html": ["rej<script>alert(1)" + P_IMG + P_JS,
                          "zm" + P_SCRIPT + P_IMG + ".xml"],
        "reports.html": ["rid" + PAYLOAD, "tlsrid" + PAYLOAD],
    }
    if rid is not None:
        where[f"report-{rid}.html"] = [
            "sel" + PAYLOAD, "human" + PAYLOAD, "comment" + PAYLOAD,
            "err" + PAYLOAD, "envfrom" + PAYLOAD, P_JS + "extra" + PAYLOAD]
    if enum_id is not None:
        where[f"report-{enum_id}.html"] = [
            x + PAYLOAD for x in ("gen", "p", "sp", "np", "adkim", "aspf",
                                  "testing", "disp", "dkal", "spal",
                                  "rtype", "dres", "scope", "sres")]
    if tls_id is not None:
        where[f"report-{tls_id}.html"] = [
            "ptype" + PAYLOAD, "mxhost" + PAYLOAD, "helo" + PAYLOAD,
            "code" + PAYLOAD, P_JS + "addl" + PAYLOAD, "mode: " + PAYLOAD,
            "mx" + PAYLOAD]
    if arf_id is not None:
        where[f"report-{arf_id}.html"] = [
            "af" + PAYLOAD, "ia" + P_SCRIPT, "dns; rmta" + PAYLOAD,
            "subject" + PAYLOAD]
    for f, needles in where.items():
        for x in needles:
            ok(x in texts.get(f, ""), f"{f} shows {x[:24]!r}... as text")
    # The terminal summary neutralises control characters and stays
    # aligned text; JSON keeps the strings exactly.
    p = run("summary", "-d", db, "--json", check=0)
    try:
        doms = [x["policy_domain"] for x in json.loads(p.stdout)["domains"]]
    except (ValueError, KeyError):
        doms = []
    ok(any(PAYLOAD.lower() in x for x in doms), "summary --json keeps the "
       "hostile domain as a JSON string")


def test_hostile_hints(tmp):
    """Hint evidence carries DMARC report ids (throttle_hints.evidence):
    a hostile report id of our provider's report, after a `hints` run,
    is shown as text in warmup.html's evidence table, never as markup."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(
        __file__)), "..", "hints"))
    import scen
    ip = "192.0.2.10"
    w = scen.World(DW, os.path.join(tmp, "hostile-hints"), ips=(ip,))
    for day in range(3):
        w.run_hints(day)
        w.send_day(day, {(ip, "google"): 100})
    # The provider's report of day 2 under a hostile id, for our IP.
    b = scen.epoch(2)
    xml = ('<?xml version="1.0"?><feedback><report_metadata><org_name>'
           'google.com</org_name><email>noreply-dmarc-support@google.com'
           f'</email><report_id>hid{xesc(PAYLOAD)}</report_id><date_range>'
           f'<begin>{b}</begin><end>{b + 86399}</end></date_range>'
           '</report_metadata><policy_published><domain>example.com'
           '</domain><p>none</p></policy_published><record><row>'
           f'<source_ip>{ip}</source_ip><count>3</count><policy_evaluated>'
           '<disposition>none</disposition><dkim>pass</dkim><spf>pass</spf>'
           '</policy_evaluated></row><identifiers><header_from>example.com'
           '</header_from></identifiers><auth_results><dkim><domain>'
           'example.com</domain><result>pass</result></dkim></auth_results>'
           '</record></feedback>\n')
    path = os.path.join(w.tmp, "hostile-id.xml")
    open(path, "w").write(xml)
    w.run("import", "-q", path)
    w.run_hints(3)
    con = sqlite3.connect(w.db)
    ev = [r[0] for r in con.execute("SELECT evidence FROM throttle_hints "
                                    "WHERE evidence LIKE '%hid<script>%'")]
    con.close()
    ok(ev, "a hint's evidence holds the hostile report id (teeth)")
    out = os.path.join(tmp, "hostile-hints-out")
    p = w.run("report", "html", "--out", out, check=False)
    ok(p.returncode == 0, "report html after a hints run on hostile ids")
    probs, text = check_page(os.path.join(out, "warmup.html"))
    ok(not probs, f"warmup.html: no markup from hint evidence {probs[:3]}")
    ok("hid" + PAYLOAD in text, "warmup.html shows the hostile report id "
       "as text in the evidence")
    page = open(os.path.join(out, "warmup.html"), encoding="utf-8").read()
    ok('class="hint-evidence"' in page and "<tr class=\"ev\">" in page and
       "[{" not in text, "evidence is a table, not raw JSON")


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
    bad = {f: check_page(os.path.join(out, f))[0] for f in files}
    bad = {f: v for f, v in bad.items() if v}
    ok(not bad, f"sample pages: only our markup, no internal names, no "
       f"'1 days' {list(bad.items())[:2]}")
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
                         cells[5]) if len(cells) > 5 else []
        got = [(html.unescape(a), int(b)) for a, b in got]
        good += got == [(a, b) for a, b in want]
    con.close()
    ok(good == len(ips) and ips, f"sources.html: reporters of the top "
       f"{len(ips)} sources equal the database ({good} equal)")
    # tls.html: per policy (type, MX patterns, successful and failed
    # sessions) as tlsrpt_policies sums them; the per-MX note.
    tp = open(os.path.join(out, "tls.html"), encoding="utf-8").read()
    con = sqlite3.connect(db)
    want_pol = {}
    for dom, ptype, okn, bad in con.execute(
            "SELECT p.policy_domain, p.policy_type, sum(total_successful),"
            " sum(total_failure) FROM tlsrpt_policies p JOIN reports r ON"
            " r.id = p.report_id GROUP BY 1, 2, p.mx_hosts"):
        want_pol.setdefault(dom, []).append((ptype, okn, bad))
    got_pol = {}
    for dom, sec in re.findall(r'<section class="domain" id="tls-\d+" '
                               r'data-domain="([^"]*)">(.*?)</section>', tp,
                               re.S):
        t = sec[sec.index('<table id="tls-policies-'):]
        t = t[:t.index("</table>")]
        for tr in re.findall(r"<tr>(.*?)</tr>", t):
            c = re.findall(r"<td[^>]*>(.*?)</td>", tr)
            v = re.findall(r'data-v="(-?[\d.]+)"', tr)
            if not c:
                continue   # the header row
            got_pol.setdefault(html.unescape(dom), []).append(
                (html.unescape(c[0]), int(v[0]), int(v[1])))
    ok(want_pol and {k: sorted(v) for k, v in got_pol.items()} ==
       {k: sorted(v) for k, v in want_pol.items()},
       f"tls.html: per policy type, successful and failed sessions equal "
       f"tlsrpt_policies {got_pol} vs {want_pol}")
    ok('id="per-policy-note"' in tp and "not per MX" in tp,
       "tls.html says successes are per policy, not per MX")
    # TLS-RPT and failure report pages show their contents.
    tid, npol, nfail = con.execute(
        "SELECT r.id, count(DISTINCT p.id), count(f.seq) FROM reports r"
        " JOIN tlsrpt_policies p ON p.report_id = r.id LEFT JOIN"
        " tlsrpt_failures f ON f.policy_id = p.id WHERE r.kind = 'tlsrpt'"
        " GROUP BY r.id ORDER BY count(f.seq) DESC, r.id LIMIT 1"
    ).fetchone()
    rp = open(os.path.join(out, f"report-{tid}.html"),
              encoding="utf-8").read()
    ok(rp.count('<section class="policy"') == npol and
       rp.count("<tr>") - 1 >= nfail and "Failure details" in rp,
       f"report-{tid}.html (TLS-RPT): {npol} policies with their "
       f"{nfail} failure details")
    fid, ua = con.execute(
        "SELECT r.id, f.user_agent FROM reports r JOIN failure_reports f ON"
        " f.report_id = r.id ORDER BY r.begin DESC, r.id DESC LIMIT 1"
    ).fetchone()
    fp = open(os.path.join(out, f"report-{fid}.html"),
              encoding="utf-8").read()
    ok("<dt>Feedback-Type</dt>" in fp and "<dt>User-Agent</dt>" in fp and
       "<dt>Auth-Failure</dt>" in fp,
       f"report-{fid}.html (failure): its ARF fields")
    fl = open(os.path.join(out, "failures.html"), encoding="utf-8").read()
    row = re.search(rf'<tr id="failure-{fid}">(.*?)</tr>', fl, re.S)
    ok(row and f'href="report-{fid}.html"' in row.group(1),
       "failures.html: a row links to its report page")
    rmta = con.execute(
        "SELECT j.value ->> 1 FROM failure_reports f, json_each("
        "f.other_fields) j WHERE f.report_id = ? AND lower(j.value ->> 0) ="
        " 'reporting-mta'", (fid,)).fetchone()
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1)) if row else []
    want_rep = rmta[0] if rmta else ua
    ok(len(cells) > 1 and want_rep and
       html.unescape(re.sub(r"<[^>]+>", "", cells[1])).startswith(want_rep),
       f"failures.html: the reporter ({want_rep!r}) is shown")
    con.close()
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
    ok('id="records-capped"' in page and "a page shows at most 1000" in page
       and f"has {n:d} records" in page, "report page says it is capped, "
       "in words")


def agg_xml(rid, begin, ip, count, org="odd.example"):
    return ('<?xml version="1.0"?><feedback><report_metadata><org_name>'
            f'{org}</org_name><email>a@{org}</email><report_id>{rid}'
            f'</report_id><date_range><begin>{begin}</begin><end>'
            f'{begin + 86399}</end></date_range></report_metadata>'
            '<policy_published><domain>example.com</domain><p>none</p>'
            '</policy_published><record><row><source_ip>'
            f'{ip}</source_ip><count>{count}</count><policy_evaluated>'
            '<disposition>none</disposition><dkim>pass</dkim><spf>pass'
            '</spf></policy_evaluated></row><identifiers><header_from>'
            'example.com</header_from></identifiers><auth_results><dkim>'
            '<domain>example.com</domain><result>pass</result></dkim>'
            '</auth_results></record></feedback>\n')


def chart_days(sec):
    """The first chart of a section: (bars drawn, rows of its numbers
    table, first and last day listed, caption)."""
    svg = sec[sec.index("<svg"):sec.index("</svg>")]
    bars = len(re.findall(r'<rect [^>]*fill="#0072b2"', svg))
    cap = re.search(r"<figcaption>(.*?)</figcaption>", sec, re.S).group(1)
    t = sec[sec.index('-data">'):]
    t = t[:t.index("</table>")]
    days = re.findall(r'<td class="nw">(\d{4}-\d\d-\d\d)', t)
    return bars, len(days), days[0] if days else None, \
        days[-1] if days else None, re.sub(r"<[^>]+>", "", cap)


def test_window(tmp, db):
    """Without --since the pages cover the 90 days ending on the last day
    with data (today at the latest), and say so: one report dated 1971
    and one dated 2099 change nothing but that line. With a range that
    spans them, the charts draw weeks (or runs of weeks), never more than
    LIM_HTML_CHART_BARS bars."""
    d = os.path.join(tmp, "odd")
    os.mkdir(d)
    open(os.path.join(d, "r1971.xml"), "w").write(
        agg_xml("odd-1971", 31536000, "198.18.0.71", 7))
    open(os.path.join(d, "r2099.xml"), "w").write(
        agg_xml("odd-2099", 4070908800, "198.18.0.99", 9))
    wdb = os.path.join(tmp, "window.db")
    shutil.copy(db, wdb)
    ok(run("import", "-q", "-d", wdb, d).returncode == 0,
       "import a report of 1971 and one of 2099")
    con = sqlite3.connect(wdb)
    last = con.execute("SELECT max(day) FROM agg_daily WHERE day < "
                       "'2099-01-01' AND day > '1971-12-31'").fetchone()[0]
    con.close()
    out = os.path.join(tmp, "window-out")
    ok(run("report", "html", "-d", wdb, "--out", out).returncode == 0,
       "report html with the default range")
    page = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    rng = html.unescape(re.search(r'class="range">([^<]*)', page).group(1))
    first = (datetime.date.fromisoformat(last) -
             datetime.timedelta(days=89)).isoformat()
    ok(f"the 90 days from {first} to {last}" in rng and
       "Older data, from 1971-01-01 on, is not shown" in rng and
       "after today (up to 2099-01-01) is not shown" in rng and
       "--since DATE" in rng, f"the range line says the window, what is "
       f"left out and how to change it: {rng!r}")
    m = re.search(r'<section class="domain" id="dom-\d+" data-domain='
                  r'"example.com">(.*?)</section>', page, re.S)
    bars, rows, d0, d1, cap = chart_days(m.group(1))
    ok(d0 >= first and d1 <= last and "per UTC day" in cap,
       f"example.com chart: days {d0}..{d1} inside the window, a bar a "
       f"day ({cap!r})")
    src = open(os.path.join(out, "sources.html"), encoding="utf-8").read()
    ok("198.18.0.71" not in src and "198.18.0.99" not in src,
       "sources.html: the odd reports' sources are outside the window")
    out2 = os.path.join(tmp, "window-all")
    ok(run("report", "html", "-d", wdb, "--out", out2, "--since",
           "1970-01-01", "--until", "2100-12-31").returncode == 0,
       "report html over 130 years")
    page = open(os.path.join(out2, "index.html"), encoding="utf-8").read()
    m = re.search(r'<section class="domain" id="dom-\d+" data-domain='
                  r'"example.com">(.*?)</section>', page, re.S)
    bars, rows, d0, d1, cap = chart_days(m.group(1))
    ok(0 < bars <= 184 and rows <= 184 and "days from a Monday" in cap and
       d0 <= "1971-01-01" and d1 <= "2099-01-01",
       f"130 years: {bars} bars, {rows} rows, runs of weeks ({cap!r})")
    ticks = re.findall(r'<div class="xa" aria-hidden="true">(.*?)</div>',
                       page)
    ok(ticks and len(re.findall(r"<span", ticks[0])) >= 3,
       "date ticks between the ends of the axis")
    out3 = os.path.join(tmp, "window-year")
    run("report", "html", "-d", wdb, "--out", out3, "--since",
        "2023-01-01", "--until", "2023-12-31")
    page = open(os.path.join(out3, "index.html"), encoding="utf-8").read()
    m = re.search(r'<section class="domain" id="dom-\d+" data-domain='
                  r'"example.com">(.*?)</section>', page, re.S)
    ok("per UTC day" in chart_days(m.group(1))[4],
       "a year's range with data on a few days: drawn a bar a day (the "
       "span of the data counts, not the range)")


def test_stale(tmp, db):
    """Pages of reports that left the set are removed; nothing else."""
    out = os.path.join(tmp, "stale-out")
    run("report", "html", "-d", db, "--out", out, check=0)
    keep = ["report-1.html.bak", "notes.html", "report-x.html",
            "report-.html", "myreport-5.html"]
    for f in keep + ["report-999999.html", "report-0000424242.html"]:
        open(os.path.join(out, f), "w").write("old")
    p = run("report", "html", "-d", db, "--out", out, check=0)
    files = set(os.listdir(out))
    ok("report-999999.html" not in files and
       "report-0000424242.html" not in files,
       "report-N.html of reports no longer shown are removed")
    ok(all(f in files for f in keep), "files of other names are kept")
    ok("2 stale report pages removed" in p.stdout, f"and it says so: "
       f"{p.stdout.strip()!r}")
    idx = [f for f in files if re.match(r"report-\d+\.html$", f)]
    reps = open(os.path.join(out, "reports.html"), encoding="utf-8").read()
    ok(sorted(idx) == sorted(set(re.findall(r'href="(report-\d+\.html)"',
                                            reps))),
       "every report page left is linked from reports.html")


def test_bounded(tmp):
    """A year of send-log and engine data for LIM_HTML_WARMUP_IPS (20)
    IPs x every provider profile (19; 3 with mail per IP, the engine
    writes a row per provider and day all the same): report html
    succeeds and warmup.html stays small, with the default range and
    with the whole year. Before the window and the caps it grew by ~720
    bytes per key and day and failed past 64 MiB."""
    src = os.environ.get("DW_SRCDIR", os.path.join(
        os.path.dirname(__file__), "..", ".."))
    sys.path.insert(0, os.path.join(src, "bench"))
    import gen_engine
    d = os.path.join(tmp, "bounded")
    os.mkdir(d)
    xml = os.path.join(d, "seed.xml")
    subprocess.run([sys.executable, os.path.join(src, "bench",
                                                 "gen_report.py"), "3", xml],
                   check=True)
    db = os.path.join(d, "b.db")
    run("import", "-q", "-d", db, xml)
    conf = os.path.join(d, "b.conf")
    info = gen_engine.fill(DW, db, conf, days=365, n_ips=20, busy=3)
    ok(info["engine_days"] == 365 * 20 * 19 and info["busy_keys"] == 60,
       f"a year of engine data: {info}")
    bound = 4 * 1024 * 1024
    for args, what in (([], "default range"),
                       (["--since", info["first_day"]], "the whole year")):
        out = os.path.join(d, "out-" + what.replace(" ", "-"))
        p = subprocess.run([DW, "-c", conf, "report", "html", "--out", out]
                           + args, capture_output=True, text=True)
        ok(p.returncode == 0, f"report html, {what} ({p.stderr.strip()})")
        if p.returncode != 0:
            continue
        size = os.path.getsize(os.path.join(out, "warmup.html"))
        ok(size < bound, f"warmup.html, {what}: {size} bytes < {bound}")
        big = max(os.path.getsize(os.path.join(out, f))
                  for f in os.listdir(out))
        ok(big < bound, f"every page, {what}: at most {big} bytes")
        wp = open(os.path.join(out, "warmup.html"), encoding="utf-8").read()
        blocks = len(re.findall(r'<div class="key-eng" id="k-', wp))
        summ = wp[wp.index('<table id="warmup-summary"'):]
        summ = summ[:summ.index("</table>")]
        rows = len(re.findall(r'<tr class="sev\d"', summ))
        quiet = len(re.findall(r'<tr data-key="', wp))
        ok(blocks == 40 and rows == 60 and quiet == 20 * 16 and
           'id="details-capped"' in wp,
           f"{what}: 60 keys with mail in the summary, 40 drawn in full "
           f"(said), 320 quiet keys one line each ({rows}, {blocks}, "
           f"{quiet})")
        ok(re.search(r'<tr class="sev0" data-key="198\.51\.100\.10\|google"',
                     summ) is not None,
           f"{what}: the key told to reduce comes first")
        if args:
            ok("per week" in wp, "the whole year: charts in weeks")


def test_resolve(tmp):
    """`dmarcwatch resolve` looks up the busiest sources' PTR names (at
    most --max) and caches them; the pages show the cached name, "no PTR
    record", or "not resolved" when nothing was looked up. A resolver that
    hangs cannot hold the run past --timeout (a getnameinfo() that sleeps,
    tests/tools/slowdns.c)."""
    d = os.path.join(tmp, "resolve")
    os.mkdir(d)
    today = int(time.time()) // 86400 * 86400
    for i, (ip, n) in enumerate((("127.0.0.1", 30), ("192.0.2.1", 20),
                                 ("198.18.0.9", 10))):
        open(os.path.join(d, f"r{i}.xml"), "w").write(
            agg_xml(f"res-{i}", today, ip, n))
    db = os.path.join(tmp, "resolve.db")
    ok(run("import", "-q", "-d", db, d).returncode == 0,
       "import three sources of today")
    fresh = os.path.join(tmp, "resolve-fresh.db")
    shutil.copy(db, fresh)
    for bad in (["--max", "0"], ["--max", "501"], ["--timeout", "0"],
                ["--timeout", "301"], ["--days", "x"], ["extra"]):
        ok(run("resolve", "-d", db, *bad).returncode == 2,
           f"resolve {' '.join(bad)}: usage error")
    p = run("resolve", "-d", db, "--max", "2", "--timeout", "60", "--json")
    try:
        js = json.loads(p.stdout)
    except ValueError:
        js = {}
    ok(p.returncode == 0 and js.get("asked") == 2,
       f"resolve --max 2: two lookups, the busiest ({p.stdout.strip()!r} "
       f"{p.stderr.strip()!r})")
    con = sqlite3.connect(db)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT ip, status, name, confirmed FROM ptr_cache")}
    con.close()
    try:
        local = socket.gethostbyaddr("127.0.0.1")[0]
    except OSError:
        local = None
    ok(local is not None and rows.get("127.0.0.1") == ("ok", local, 1),
       f"127.0.0.1 cached as {local!r}, forward-confirmed: {rows}")
    ok(rows.get("192.0.2.1", ("?",))[0] in ("none", "error") and
       "198.18.0.9" not in rows, "192.0.2.1: no name (TEST-NET); the "
       "third, least busy, not looked up")
    out = os.path.join(tmp, "resolve-out")
    run("report", "html", "-d", db, "--out", out, check=0)
    sp = open(os.path.join(out, "sources.html"), encoding="utf-8").read()
    t = sp[sp.index('<table id="sources"'):]

    def ptr(ip):
        m = re.search(r'<tr data-ip="' + re.escape(ip) +
                      r'">.*?<td class="[^"]*ptr">(.*?)</td>', t)
        return html.unescape(re.sub(r"<[^>]+>", "", m.group(1))) \
            if m else None
    ok(ptr("127.0.0.1") == local and
       ptr("192.0.2.1") in ("no PTR record", "lookup failed") and
       ptr("198.18.0.9") == "not resolved" and 'id="ptr-some"' in sp,
       f"sources.html: the cached name, no PTR, not resolved "
       f"({ptr('127.0.0.1')!r}, {ptr('192.0.2.1')!r}, "
       f"{ptr('198.18.0.9')!r})")
    p = run("resolve", "-d", db, "--json")
    ok(p.returncode == 0 and json.loads(p.stdout or "{}").get("asked") == 1,
       f"a second run looks up only what is not cached: {p.stdout!r}")
    if len(sys.argv) > 2 and os.path.exists(sys.argv[2]):
        env = dict(os.environ, LD_PRELOAD=sys.argv[2],
                   DW_SLOWDNS_SECONDS="120",
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
                   ":verify_asan_link_order=0")
        t0 = time.monotonic()
        p = subprocess.run([DW, "resolve", "-d", fresh, "--timeout", "2",
                            "--json"], capture_output=True, text=True,
                           env=env, timeout=110)
        took = time.monotonic() - t0
        try:
            js = json.loads(p.stdout)
        except ValueError:
            js = {}
        con = sqlite3.connect(fresh)
        n = con.execute("SELECT count(*) FROM ptr_cache").fetchone()[0]
        con.close()
        print(f"# resolve against a resolver that sleeps 120 s: {took:.1f} s")
        ok(p.returncode == 0 and js.get("timed_out") is True and
           js.get("unfinished") == 3 and n == 0 and took < 100,
           f"a hanging resolver: the run ends at its deadline, nothing "
           f"stored, all left for the next run ({js}, {took:.1f} s)")
    else:
        print("# SKIP: no slowdns shim given: deadline not tested")


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
    table = src[src.index('<table id="sources"'):]
    rows = dict(re.findall(r'<tr (?:class="\w+" )?data-ip="([^"]+)">'
                           r'<td class="nw">[^<]*</td><td class="own">'
                           r'(?:<span class="tag \w+">)?([^<]*)<', table))
    ours = {r[0] for r in db.execute("SELECT ip FROM sender_ips")}
    foreign = {r[0] for r in db.execute(
        "SELECT DISTINCT source_ip FROM foreign_senders")}
    srcs = {r[0] for r in db.execute("SELECT DISTINCT source_ip FROM "
                                     "agg_daily")}
    ok(ours == {ip1, ip2} and spoof in foreign and srcs == set(rows),
       f"every source listed, [sender] ips synced {sorted(rows)}")
    fpass = dict(db.execute(
        "SELECT source_ip, sum(dmarc_pass) * 100 >= sum(messages) * 50 FROM"
        " foreign_senders GROUP BY 1"))
    want = {ip: ("ours" if ip in ours else
                 ("foreign, passing DMARC" if fpass[ip] else
                  "foreign, failing DMARC") if ip in foreign
                 else "not ours") for ip in srcs}
    ok(rows == want, f"sources.html ours / foreign (failing or passing "
       f"DMARC) as the database says {rows} vs {want}")
    ok(f'<tr class="spoof" data-ip="{spoof}">' in table and
       f'id="foreign-senders" data-value="{len(foreign)}"' in src,
       "the spoofing sender's row is highlighted and counted")
    ok(re.search(r'<h3>Failing DMARC \(likely spoofing\): 1 source</h3>',
                 src) and 'id="foreign-spoof-list"' in src and
       f'<tr data-ip="{spoof}">' in src[src.index("foreign-spoof-list"):],
       "the spoofer is listed under failing DMARC")
    idx = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    ok('id="foreign-spoof" data-value="1"' in idx and
       'href="sources.html#foreign-senders"' in idx,
       "index.html: one foreign sender failing DMARC, linked")
    # warmup.html against throttle_hints, engine_days, sendlog_daily.
    wp = open(os.path.join(out, "warmup.html"), encoding="utf-8").read()
    ok('id="engine-missing"' not in wp, "warmup.html: engine data present")
    keys, quiet = {}, {}
    for sec in wp.split('<section class="ip"')[1:]:
        ip = re.match(r' id="ip-\d+" data-ip="([^"]+)"', sec).group(1)
        for blk in re.split(r'<div class="key-eng" id="k-\d+" '
                            r'data-provider="', sec)[1:]:
            prov = blk[:blk.index('"')]
            keys[(ip, prov)] = blk.split('<details class="quiet">')[0]
        if '<details class="quiet">' in sec:
            q = sec[sec.index('<details class="quiet">'):]
            q = q[:q.index("</details>")]
            for k in re.findall(r'<tr data-key="([^"]+)">', q):
                quiet[tuple(k.split("|"))] = 1
    hints = db.execute(
        "SELECT source_ip, provider, action, max_per_day, max_per_hour,"
        " max_connections, reason, reason_text, evidence, confidence"
        " FROM throttle_hints").fetchall()
    busy = {(r[0], r[1]) for r in db.execute(
        "SELECT source_ip, provider FROM sendlog_daily WHERE provider <> ''"
        " GROUP BY 1, 2 HAVING sum(attempts) > 0")}
    ok(len(hints) >= 3 and set(keys) == busy and
       set(quiet) == {(h[0], h[1]) for h in hints} - busy,
       f"a block per key with mail {sorted(keys)}, one line per quiet key "
       f"{sorted(quiet)}")
    bad = []
    for (ip, prov, act, mpd, mph, mc, rsn, rtext, ev, conf) in hints:
        if (ip, prov) not in keys:
            continue
        b = keys[(ip, prov)]
        got = (span(b, "hint-action"), unnum(span(b, "hint-day") or "0"),
               unnum(span(b, "hint-hour") or "0"),
               unnum(span(b, "hint-conn") or "0"), span(b, "hint-reason"),
               span(b, "hint-reason-text"), span(b, "hint-conf"))
        exp = (act, mpd, mph, mc, rsn, rtext, f"{conf:.3f}")
        if got != exp:
            bad.append((ip, prov, got, exp))
        # The evidence table: one row per item, metric and source as in
        # the JSON, values in data-v.
        rows_ev = re.findall(r'<tr class="ev">(.*?)</tr>', b)
        items = json.loads(ev)
        got_ev = [(html.unescape(re.findall(r"<td[^>]*>(.*?)</td>", r)[0]),
                   html.unescape(re.findall(r"<td[^>]*>(.*?)</td>", r)[1]),
                   float(re.findall(r'data-v="([^"]+)"', r)[0]))
                  for r in rows_ev]
        exp_ev = [(i["kind"], i["metric"], float(f"{i['value']:.6g}"))
                  for i in items]
        if got_ev != exp_ev:
            bad.append((ip, prov, "evidence", got_ev, exp_ev))
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
        if (ip, prov) in busy:
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
    # The summary table: every key with mail, most severe first, as the
    # database says (last gate, action, caps, sent on the last day).
    summ = wp[wp.index('<table id="warmup-summary"'):]
    summ = summ[:summ.index("</table>")]
    srows = re.findall(r'<tr class="sev(\d)" data-key="([^"]+)">(.*?)</tr>',
                       summ)
    last_day = db.execute(
        "SELECT max(day) FROM (SELECT day FROM sendlog_daily WHERE"
        " attempts > 0 UNION SELECT day FROM engine_days)").fetchone()[0]
    hint = {(h[0], h[1]): h for h in hints}
    exp_rows, bad = [], []
    for (ip, prov) in busy:
        g = db.execute("SELECT gate FROM engine_days WHERE source_ip = ? "
                       "AND provider = ? ORDER BY day DESC LIMIT 1",
                       (ip, prov)).fetchone()
        gate = g[0] if g else "none"
        act = hint[(ip, prov)][2] if (ip, prov) in hint else None
        sev = 0 if gate == "red" or act in ("reduce", "pause") else \
            1 if gate == "amber" else 2
        sent = db.execute("SELECT coalesce(sum(attempts), 0) FROM "
                          "sendlog_daily WHERE source_ip = ? AND provider ="
                          " ? AND day = ?", (ip, prov, last_day)
                          ).fetchone()[0]
        exp_rows.append((sev, -sent, ip, prov, gate, act))
    exp_rows.sort()
    got_rows = []
    for sev, key, tr in srows:
        ip, prov = key.split("|")
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr)
        g = re.search(r'<span class="gate (\w+)">', cells[2])
        a = re.sub(r"<[^>]+>", "", cells[3])
        sent = int(re.search(r'class="n sent" data-v="(\d+)"', tr).group(1))
        got_rows.append((int(sev), -sent, ip, prov,
                         g.group(1) if g else None, a))
    ok(got_rows == exp_rows and len(got_rows) == len(busy),
       f"summary table: one row per key with mail, by severity, gates and "
       f"actions as in the database {got_rows} vs {exp_rows}")
    ok(f"Sent on {last_day} vs its cap" in summ,
       f"summary table says which day 'sent' is ({last_day})")
    ok(all(f'href="#k-' in tr for _, _, tr in srows),
       "every summary row links to its block")
    ok('id="warmup-glance-keys"' in idx and 'id="hints-run"' in idx and
       re.search(r'href="warmup.html#k-\d+"', idx),
       "index.html: the compact warm-up table, linked to warmup.html")
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
    fs = db.execute(
        "SELECT count(*), coalesce(sum(m), 0), coalesce(sum(p * 100 >= m * "
        "50), 0), coalesce(sum(CASE WHEN p * 100 >= m * 50 THEN m END), 0)"
        " FROM (SELECT source_ip, sum(messages) m, sum(dmarc_pass) p FROM"
        " foreign_senders GROUP BY 1)").fetchone()
    fline = [ln for ln in p.stdout.splitlines()
             if ln.startswith("Foreign senders")]
    def msgs(n):
        return f"{n} message" + ("" if n == 1 else "s")
    ok(fline == [f"Foreign senders of our domains: {fs[0] - fs[2]} failing "
                 f"DMARC (likely spoofing, {msgs(fs[1] - fs[3])}), "
                 f"{fs[2]} passing DMARC ({msgs(fs[3])})"],
       f"summary: the foreign senders line {fline} ({fs})")
    p = w.run("summary", "--json", check=False)
    js = json.loads(p.stdout)
    runs, last = db.execute("SELECT count(*), max(run_at) FROM hints_runs"
                            ).fetchone()
    by = dict(db.execute("SELECT action, count(*) FROM throttle_hints "
                         "GROUP BY 1"))
    ok(js.get("hints") == {
        "runs": runs, "last_run": datetime.datetime.fromtimestamp(
            last, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "hints": len(hints), "by_action": by},
       f"summary --json: hints as the database has them {js.get('hints')}")
    ok(js.get("foreign_senders") == {
        "sources": fs[0], "messages": fs[1],
        "failing_dmarc": {"sources": fs[0] - fs[2],
                          "messages": fs[1] - fs[3]},
        "passing_dmarc": {"sources": fs[2], "messages": fs[3]}},
       f"summary --json: foreign senders as the database has them "
       f"{js.get('foreign_senders')} ({fs})")
    p = run("summary", "-d", w.db, "--json", check=0)
    ok(json.loads(p.stdout).get("foreign_senders", 0) is None,
       "summary --json without [sender]: foreign_senders is null")
    db.close()


def main():
    with tempfile.TemporaryDirectory(prefix="dw-html-") as tmp:
        test_hostile(tmp)
        test_hostile_hints(tmp)
        db = test_samples(tmp)
        test_window(tmp, db)
        test_stale(tmp, db)
        test_bounded(tmp)
        test_resolve(tmp)
        test_record_cap(tmp)
        test_engine(tmp)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
