"""Report messages of every kind for the IMAP tests and bench/imap.sh,
each one unique (its own report id), deterministic for a given index.

kinds(i) says what message i is: 'aggregate' (XML as gzip, zip or plain
attachment), 'tlsrpt' (gzip JSON) or 'failure' (ARF), and every 50th
(i % 50 == 7) a message with no report ('invalid').
"""
import base64
import gzip
import io
import zipfile


def kind(i):
    if i % 50 == 7:
        return "invalid"
    return ("aggregate", "aggregate", "aggregate", "tlsrpt", "failure")[i % 5]


def agg_xml(i, records=3):
    begin = 1700006400 + 86400 * (i % 20)
    recs = "".join(
        f"<record><row><source_ip>192.0.2.{(i + r) % 250 + 1}</source_ip>"
        f"<count>{r + 1}</count><policy_evaluated><disposition>none"
        "</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated>"
        "</row><identifiers><header_from>example.com</header_from>"
        "</identifiers><auth_results><dkim><domain>example.com</domain>"
        "<result>pass</result></dkim><spf><domain>example.com</domain>"
        "<result>fail</result></spf></auth_results></record>"
        for r in range(records))
    return (f'<?xml version="1.0"?><feedback><version>1.0</version>'
            f"<report_metadata><org_name>imap{i % 7}.example</org_name>"
            f"<email>dmarc@imap{i % 7}.example</email>"
            f"<report_id>imap-{i}</report_id><date_range><begin>{begin}"
            f"</begin><end>{begin + 86399}</end></date_range>"
            "</report_metadata><policy_published><domain>example.com"
            "</domain><p>none</p></policy_published>"
            f"{recs}</feedback>\n").encode()


def tlsrpt_json(i):
    day = 15 + i % 10
    return ('{"organization-name":"TLS Org %d","date-range":{"start-datetime":'
            '"2023-11-%02dT00:00:00Z","end-datetime":"2023-11-%02dT23:59:59Z"},'
            '"contact-info":"tls@tls%d.example","report-id":"tls-%d",'
            '"policies":[{"policy":{"policy-type":"sts","policy-string":'
            '["version: STSv1","mode: enforce"],"policy-domain":"example.com",'
            '"mx-host":["mx1.example.com"]},"summary":'
            '{"total-successful-session-count":%d,'
            '"total-failure-session-count":%d}}]}'
            % (i % 3, day, day, i % 3, i, 100 + i, i % 4)).encode()


def mime(i, ctype, name, payload, subject):
    b = base64.encodebytes(payload).decode()
    return (f"From: reports@sender{i % 7}.example\r\nTo: rua@example.com\r\n"
            f"Subject: {subject} {i}\r\nDate: Mon, 20 Nov 2023 08:00:00 +0000\r\n"
            f"Message-ID: <imap-{i}@sender.example>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
            "--B\r\nContent-Type: text/plain\r\n\r\nreport attached\r\n"
            f'--B\r\nContent-Type: {ctype}; name="{name}"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n"
            + b.replace("\n", "\r\n") + "--B--\r\n").encode()


def arf(i):
    return (f"From: postmaster@mx{i % 5}.example.org\r\nTo: ruf@example.com\r\n"
            f"Subject: DMARC failure {i}\r\nDate: Mon, 20 Nov 2023 08:00:07 +0000\r\n"
            f"Message-ID: <arf-{i}@mx.example.org>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=feedback-report;\r\n'
            '\tboundary="A"\r\n\r\n--A\r\nContent-Type: text/plain\r\n\r\n'
            "failure report\r\n\r\n--A\r\nContent-Type: message/feedback-report"
            "\r\n\r\nFeedback-Type: auth-failure\r\nUser-Agent: gen/1.0\r\n"
            "Version: 1\r\nAuth-Failure: dmarc\r\n"
            f"Source-IP: 192.0.2.{i % 250 + 1}\r\nReported-Domain: example.com\r\n"
            "Arrival-Date: Mon, 20 Nov 2023 08:00:00 +0000\r\n\r\n"
            "--A\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            "From: news@example.com\r\nTo: reader@example.org\r\n"
            f"Subject: news {i}\r\nDate: Mon, 20 Nov 2023 08:00:00 +0000\r\n"
            f"Message-ID: <orig-{i}@example.com>\r\n\r\n--A--\r\n").encode()


def message(i):
    k = kind(i)
    if k == "invalid":
        return (f"From: someone@example.org\r\nTo: rua@example.com\r\n"
                f"Subject: hello {i}\r\nMessage-ID: <plain-{i}@example.org>\r\n"
                "\r\nNot a report, just mail.\r\n").encode()
    if k == "tlsrpt":
        return mime(i, "application/tlsrpt+gzip", f"tls-{i}.json.gz",
                    gzip.compress(tlsrpt_json(i), mtime=0), "TLS report")
    if k == "failure":
        return arf(i)
    xml = agg_xml(i)
    form = (i // 5) % 3
    if form == 0:
        return mime(i, "application/gzip", f"r{i}.xml.gz",
                    gzip.compress(xml, mtime=0), "Report Domain: example.com")
    if form == 1:
        bio = io.BytesIO()
        with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(zipfile.ZipInfo(f"r{i}.xml", (2023, 11, 20, 0, 0, 0)),
                       xml)
        return mime(i, "application/zip", f"r{i}.zip", bio.getvalue(),
                    "Report Domain: example.com")
    return mime(i, "text/xml", f"r{i}.xml", xml, "Report Domain: example.com")


def expected(n):
    """{kind: count} for messages 0..n-1."""
    out = {}
    for i in range(n):
        out[kind(i)] = out.get(kind(i), 0) + 1
    return out
