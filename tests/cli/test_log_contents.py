#!/usr/bin/env python3
"""No report contents in the log above debug (issue 7, common/log.h).

Hostile inputs carry a marker ("ZQ" + case number + letter) in every place
a sender controls: DMARC metadata, policy and record values, element,
attribute, entity and encoding names, JSON members and keys, ARF fields,
MIME headers and parameters. They are imported at the default level and
with -v: no marker may show on stderr, where the lines go to the journal
(or syslog with facility mail). With -vv (debug) they may.

Origins are named on purpose (file paths, MIME part and zip member
names: doc/cli.md), so markers stay out of file names, except in the one
control case whose file name carries a marker: it must show, which proves
that stderr is read and the markers are found. Each case must also end as
the table says (rejected or stored), so the error paths do run.
Usage: test_log_contents.py DW_EXE
"""
import os
import re
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import dwexec  # noqa: E402  DW_EXEC_WRAPPER
import tempfile

EXE = sys.argv[1]
DW = dwexec.cmd(EXE)
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}"
          + ("" if cond else f"  [{str(detail)[:3000]}]"))


def agg(org="o.example", email="e@o.example", rid="r1", extra="",
        domain="example.com", ip="192.0.2.1", count="1", disp="none",
        begin="1700697600", body="", hf="example.com", dkim="example.com",
        sel="s1", human="", reason="", tail="</feedback>\n",
        decl='<?xml version="1.0" encoding="UTF-8"?>'):
    return (f"""{decl}
<feedback>
  <report_metadata>
    <org_name>{org}</org_name>
    <email>{email}</email>
    <extra_contact_info>{extra}</extra_contact_info>
    <report_id>{rid}</report_id>
    <date_range><begin>{begin}</begin><end>1700783999</end></date_range>
  </report_metadata>
  <policy_published><domain>{domain}</domain><p>none</p></policy_published>
  <record>
    <row><source_ip>{ip}</source_ip><count>{count}</count>
      <policy_evaluated><disposition>{disp}</disposition><dkim>pass</dkim>
      <spf>pass</spf><reason><type>other</type><comment>{reason}</comment>
      </reason></policy_evaluated></row>
    <identifiers><header_from>{hf}</header_from></identifiers>
    <auth_results><dkim><domain>{dkim}</domain><selector>{sel}</selector>
      <result>pass</result><human_result>{human}</human_result></dkim>
    </auth_results>
    {body}
  </record>
{tail}""").encode()


def tls(org='"o.example"', rid='"r1"', start="2023-11-19T00:00:00Z",
        ip="192.0.2.44", rtype="starttls-not-supported", count="2", extra=""):
    return ('{"organization-name": %s, "date-range": {"start-datetime": '
            '"%s", "end-datetime": "2023-11-20T00:00:00Z"}, "contact-info": '
            '"c@o.example", "report-id": %s, "policies": [{"policy": '
            '{"policy-type": "sts", "policy-domain": "example.com"%s}, '
            '"summary": {"total-successful-session-count": 1, '
            '"total-failure-session-count": 2}, "failure-details": '
            '[{"result-type": "%s", "sending-mta-ip": "%s", '
            '"failed-session-count": %s}]}]}\n'
            % (org, start, rid, extra, rtype, ip, count)).encode()


def arf(n, ftype="auth-failure", rdom="example.org", auth="spf",
        subj="Weekly", frm="news@news.example.org", cte="7bit", extra=""):
    return f"""From: postmaster@mx.example.org
To: ruf@news.example.org
Subject: FW: report
Date: Mon, 20 Nov 2023 08:00:07 +0000
Message-ID: <arf-{n}@mx.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="B"

--B
Content-Type: text/plain

x
--B
Content-Type: message/feedback-report
Content-Transfer-Encoding: {cte}

Feedback-Type: {ftype}
User-Agent: ZQ{n}U/1.0
Version: 1
Auth-Failure: {auth}
Reported-Domain: {rdom}
{extra}
--B
Content-Type: message/rfc822

From: {frm}
To: reader@example.org
Subject: {subj}
Date: Mon, 20 Nov 2023 08:00:00 +0000
Message-ID: <weekly-{n}@news.example.org>

Hello ZQ{n}Z.

--B--
""".encode()


XML_HEAD = b'<?xml version="1.0"?>\n'
META = (b"<feedback><report_metadata><org_name>o</org_name><email>"
        b"e@o.example</email><report_id>r</report_id><date_range><begin>"
        b"1700697600</begin><end>1700783999</end></date_range>"
        b"</report_metadata>")

# (number, file suffix, bytes, expected end: "rejected" or "stored")
CASES = [
    (1, "xml", agg(org="ZQ1A", email="ZQ1B@x.example", rid="ZQ1C",
                   extra="ZQ1D", domain="zq1e.example", hf="zq1f.example",
                   dkim="zq1g.example", sel="ZQ1H", human="ZQ1I",
                   reason="ZQ1J"), "stored"),
    (2, "xml", agg(org="ZQ2A", rid="ZQ2B", begin="ZQ2C"), "rejected"),
    (3, "xml", agg(org="ZQ3A &ZQ3B;", rid="ZQ3C"), "rejected"),
    (4, "xml", agg(org="ZQ4A" * 600, rid="ZQ4B"), "rejected"),
    (5, "xml", agg(org="ZQ5A", rid="ZQ5B",
                   decl='<?xml version="1.0" encoding="ZQ5C"?>'), "rejected"),
    (6, "xml", XML_HEAD + b"<feedback><ZQ6A></ZQ6B></feedback>", "rejected"),
    (7, "xml", XML_HEAD + META +
     b'<ZQ7A ZQ7B="1" ZQ7B="2"/></feedback>', "rejected"),
    (8, "xml", XML_HEAD + META + b"<ZQ8A ZQ8B></feedback>", "rejected"),
    (9, "xml", XML_HEAD + META +
     b'<p:ZQ9A xmlns:p="urn:x"></q:ZQ9B></feedback>', "rejected"),
    (10, "xml", XML_HEAD + b"<feedback><?ZQ10A ZQ10B</feedback>",
     "rejected"),
    (11, "xml", XML_HEAD + b'<feedback ZQ11A="&ZQ11B;"/>', "rejected"),
    (12, "xml", XML_HEAD + META + b"<record>\xe9ZQ12A</record></feedback>",
     "rejected"),
    (13, "xml", agg(org="ZQ13A", rid="ZQ13B", tail="")[:420], "rejected"),
    (14, "xml", b"ZQ14A hello <feedback>", "rejected"),
    (15, "json", tls(org='"ZQ15A"', rid='"ZQ15B"'), "stored"),
    (16, "json", tls(org="ZQ16A", rid='"ZQ16B"'), "rejected"),
    (17, "json", tls(org='"ZQ17A"', rid='"ZQ17B"',
                     extra=', "ZQ17C": 1, "ZQ17C": 2'), "rejected"),
    (18, "json", tls(org='"ZQ18A"', rid='["ZQ18B"]'), "rejected"),
    (19, "json", tls(org='"ZQ19A"', rid='"ZQ19B"', start="ZQ19C"),
     "rejected"),
    (20, "json", tls(org='"ZQ20A\\qZQ20C"', rid='"ZQ20B"'), "rejected"),
    (21, "json", tls(org='"ZQ21A"', rid='"ZQ21B"', count='"ZQ21C"'),
     "rejected"),
    (22, "json", tls(org='"ZQ22A"', rid='"ZQ22B"')[:150], "rejected"),
    (23, "json", tls(org='"ZQ23A"', rid='"ZQ23B"', rtype="ZQ23C",
                     ip="ZQ23D"), "stored"),
    (24, "eml", arf(24, subj="ZQ24A", rdom="zq24b.example",
                    frm="zq24c@zq24d.example"), "stored"),
    (25, "eml", arf(25, ftype="ZQ25A", subj="ZQ25B"), "rejected"),
    (26, "eml", arf(26, rdom="", frm="ZQ26A", subj="ZQ26B"), "rejected"),
    (27, "eml", arf(27, auth="ZQ27A", cte="ZQ27B",
                    extra="Source-IP: ZQ27C\nZQ27D: x"), "stored"),
    (28, "eml", b"From: a@b.example\nSubject: ZQ28A\nContent-Type: "
     b"multipart/mixed; boundary=ZQ28B\n\n--ZQ28B\nContent-Type: "
     b"application/ZQ28C\nContent-Transfer-Encoding: ZQ28D\n\nZQ28E\n"
     b"--ZQ28B--\n", "rejected"),
    (29, "eml", b"From: a@b.example\nSubject: ZQ29A\nContent-Type: "
     b"application/gzip\nContent-Transfer-Encoding: base64\n\nZQ29B!!!\n",
     "rejected"),
]
MARK = re.compile(r"ZQ[0-9]+[A-Z]", re.I)   # domains are lower-cased

with tempfile.TemporaryDirectory() as tmp:
    src = os.path.join(tmp, "in")
    os.mkdir(src)
    for n, sfx, data, _ in CASES:
        open(os.path.join(src, f"case-{n:02d}.{sfx}"), "wb").write(data)
    # The control: a marker in the file name (an origin) must show.
    open(os.path.join(src, "ZQ99ORIGIN.xml"), "wb").write(b"not a report\n")

    for i, level in enumerate(([], ["-v"], ["-vv"])):
        db = os.path.join(tmp, f"t{i}.db")
        p = subprocess.run(DW + level + ["-d", db, "import", src],
                           capture_output=True, text=True,
                           errors="replace")
        name = " ".join(level) or "default level"
        check(f"{name}: import ran (exit 3: some rejected)",
              p.returncode == 3, (p.returncode, p.stderr[-1500:]))
        marks = sorted(set(m.upper() for m in MARK.findall(p.stderr)))
        check(f"{name}: the control marker (a file name) shows",
              "ZQ99O" in marks, p.stderr[-1500:])
        leaked = [m for m in marks if m != "ZQ99O"]
        if level == ["-vv"]:
            print(f"# -vv (debug) shows {len(leaked)} markers")
            continue
        lines = [l for l in p.stderr.splitlines()
                 if MARK.search(l) and "ZQ99ORIGIN" not in l]
        check(f"{name}: no report contents on stderr", not leaked,
              "\n".join(lines))
        rejected = len(re.findall(r"^dmarcwatch: warning: rejected ",
                                  p.stderr, re.M))
        check(f"{name}: every rejection logged", rejected >= sum(
            1 for c in CASES if c[3] == "rejected"), rejected)

    # Each case ended as the table says (else it tests nothing).
    con = sqlite3.connect(os.path.join(tmp, "t0.db"))
    rej = {os.path.basename(o.split(":")[0]) for (o,) in
           con.execute("SELECT origin FROM rejected")}
    for n, sfx, _, want in CASES:
        f = f"case-{n:02d}.{sfx}"
        check(f"case {n}: {want}", (f in rej) == (want == "rejected"),
              sorted(rej))

failed = results.count(False)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
