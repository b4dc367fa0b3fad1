#!/usr/bin/env python3
"""CLI tests: usage and exit codes, summaries, idempotent re-import, stdin,
directories, mbox, Maildir, the reports listing, and kill -9 safety.

Inputs are generated here, so the test does not depend on samples/.
Usage: test_cli.py DW_EXE
"""
import gzip
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import dwexec  # noqa: E402  DW_EXEC_WRAPPER
import tempfile
import time

EXE = sys.argv[1]
DW = dwexec.cmd(EXE)
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}"
          + ("" if cond else f"  [{detail}]"))


def run(*args, stdin=None):
    return subprocess.run(DW + list(args), input=stdin,
                          capture_output=True)


def report_xml(rid, begin=1700006400, ips=("192.0.2.1",), count=3,
               domain="example.com", org="cli.example"):
    recs = "".join(
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count>"
        "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim>"
        "<spf>fail</spf></policy_evaluated></row><identifiers><header_from>"
        f"{domain}</header_from></identifiers><auth_results><spf><domain>"
        f"{domain}</domain><result>fail</result></spf></auth_results></record>"
        for ip in ips)
    return (f"<?xml version=\"1.0\"?><feedback><version>1.0</version>"
            f"<report_metadata><org_name>{org}</org_name><email>d@{org}</email>"
            f"<report_id>{rid}</report_id><date_range><begin>{begin}</begin>"
            f"<end>{begin + 86399}</end></date_range></report_metadata>"
            f"<policy_published><domain>{domain}</domain><p>none</p>"
            f"</policy_published>{recs}</feedback>\n").encode()


def eml(xml, name="r.xml.gz"):
    import base64
    b = base64.encodebytes(gzip.compress(xml, mtime=0)).decode()
    return ("From: dmarc@cli.example\nTo: rua@example.com\n"
            "Subject: Report Domain: example.com Submitter: cli.example\n"
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n"
            "\n--B\nContent-Type: text/plain\n\nreport attached\n"
            f"--B\nContent-Type: application/gzip; name=\"{name}\"\n"
            f"Content-Transfer-Encoding: base64\n\n{b}--B--\n").encode()


def summary(p):
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {}


def reports(db):
    p = run("reports", "-d", db, "--json")
    try:
        return json.loads(p.stdout)
    except ValueError:
        return None


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "t.db")
    good = os.path.join(tmp, "good.xml")
    open(good, "wb").write(report_xml("cli-1"))

    p = run()
    check("no arguments: exit 2 with usage", p.returncode == 2 and
          b"usage" in p.stderr, p.returncode)
    p = run("frobnicate")
    check("unknown command: exit 2", p.returncode == 2, p.returncode)
    p = run("import")
    check("import without paths: exit 2", p.returncode == 2, p.returncode)
    p = run("--help")
    check("--help lists import and reports", p.returncode == 0 and
          b"import" in p.stdout and b"reports" in p.stdout)
    p = run("--version")
    check("--version", p.returncode == 0 and p.stdout.startswith(b"dmarcwatch "))

    p = run("import", "-d", db, "--json", good)
    s = summary(p)
    check("import one report: exit 0", p.returncode == 0, (p.returncode, p.stderr))
    check("summary counts the new report", s.get("reports_new") == 1 and
          s.get("records") == 1 and s.get("files") == 1 and
          s.get("messages") == 1, s)
    p = run("import", "-d", db, "--json", good)
    s = summary(p)
    check("re-import is a no-op: exit 0, message known", p.returncode == 0 and
          s.get("messages_known") == 1 and s.get("reports_new") == 0, s)
    r = reports(db)
    check("reports --json lists exactly one report", r is not None and
          len(r) == 1 and r[0]["report_id"] == "cli-1" and
          r[0]["messages"] == 3 and r[0]["messages_pass"] == 3 and
          r[0]["begin"] == "2023-11-15T00:00:00Z", r)

    # Same report, other bytes (gzip via stdin): known by its dedup key.
    p = run("import", "-d", db, "--json", "-",
            stdin=gzip.compress(report_xml("cli-1"), mtime=0))
    s = summary(p)
    check("same report gzipped on stdin: already known", p.returncode == 0
          and s.get("reports_known") == 1 and s.get("reports_new") == 0, s)

    # Text listing: tab-separated, 11 columns in the order doc/cli.md
    # gives, ISO 8601 UTC dates, '-' for absent values.
    p = run("reports", "-d", db)
    lines = p.stdout.decode().splitlines()
    check("text listing: one line, the 11 documented columns",
          p.returncode == 0 and len(lines) == 1 and lines[0].split("\t") ==
          ["aggregate", "cli.example", "d@cli.example", "cli-1",
           "example.com", "2023-11-15T00:00:00Z", "2023-11-15T23:59:59Z",
           "1", "3", "3", "3"], lines)

    # A directory with good, bad and missing inputs: the rest still lands.
    d = os.path.join(tmp, "dir")
    os.makedirs(os.path.join(d, "sub"))
    open(os.path.join(d, "a.xml"), "wb").write(report_xml("cli-2"))
    open(os.path.join(d, "sub", "b.eml"), "wb").write(eml(report_xml("cli-3")))
    open(os.path.join(d, "sub", "bad.xml"), "wb").write(b"<feedback><report")
    open(os.path.join(d, "unused.txt"), "wb").write(b"unused")
    p = run("import", "-d", db, "--json", d, os.path.join(tmp, "missing.xml"))
    s = summary(p)
    check("directory with bad inputs: exit 3 (partial)", p.returncode == 3,
          (p.returncode, p.stderr[-300:]))
    check("directory: 2 new reports, 3 rejected inputs",
          s.get("reports_new") == 2 and s.get("reports_rejected") == 3 and
          s.get("files") == 5, s)
    con = sqlite3.connect(db)
    rej = con.execute("SELECT origin, error_code, error_where, error_msg "
                      "FROM rejected ORDER BY id").fetchall()
    codes = sorted(r[1] for r in rej)
    check("rejected rows name what and where", codes ==
          ["noreport", "notfound", "truncated"] and
          any("bad.xml" in r[0] and "line" in (r[2] or "") for r in rej), rej)
    p = run("import", "-d", db, "--json", os.path.join(tmp, "missing.xml"))
    con = sqlite3.connect(db)
    nmiss = con.execute("SELECT count(*) FROM rejected WHERE origin LIKE "
                        "'%missing.xml'").fetchone()[0]
    con.close()
    check("a missing path is reported again (exit 3) but recorded once",
          p.returncode == 3 and nmiss == 1, (p.returncode, nmiss))
    p = run("import", "-d", db, "--json", d)
    s = summary(p)
    check("re-import of the directory: nothing new, exit 0",
          p.returncode == 0 and s.get("reports_new") == 0 and
          s.get("messages_known") == 4, (p.returncode, s))

    # mbox with two messages, the second with an escaped >From line.
    mb = os.path.join(tmp, "box.mbox")
    with open(mb, "wb") as f:
        f.write(b"From dmarc@cli.example Mon Jan  1 00:00:00 2024\n")
        f.write(eml(report_xml("cli-mbox-1")))
        f.write(b"\nFrom dmarc@cli.example Mon Jan  1 00:00:01 2024\n")
        f.write(eml(report_xml("cli-mbox-2")).replace(
            b"report attached\n", b"report attached\n>From the sender\n"))
    p = run("import", "-d", db, "--json", mb)
    s = summary(p)
    check("mbox: both messages imported", p.returncode == 0 and
          s.get("messages") == 2 and s.get("reports_new") == 2, s)

    # Maildir: cur/ and new/, tmp/ ignored.
    md = os.path.join(tmp, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub))
    open(os.path.join(md, "cur", "1700000000.M1P1.host:2,S"), "wb").write(
        eml(report_xml("cli-md-1")))
    open(os.path.join(md, "new", "1700000001.M2P1.host"), "wb").write(
        eml(report_xml("cli-md-2")))
    open(os.path.join(md, "tmp", "1700000002.M3P1.host"), "wb").write(
        eml(report_xml("cli-md-3")))
    p = run("import", "-d", db, "--json", md)
    s = summary(p)
    check("Maildir: cur and new imported, tmp ignored", p.returncode == 0 and
          s.get("reports_new") == 2 and s.get("messages") == 2, s)

    r = reports(db)
    ids = sorted(x["report_id"] for x in r or [])
    check("database holds each report once", ids == sorted(
        ["cli-1", "cli-2", "cli-3", "cli-mbox-1", "cli-mbox-2", "cli-md-1",
         "cli-md-2"]), ids)
    p = run("reports", "-d", db, "--json", "--domain", "nowhere.example")
    check("--domain filter", p.returncode == 0 and json.loads(p.stdout) == [])
    p = run("reports", "-d", os.path.join(tmp, "absent.db"))
    check("reports on a missing database: exit 1 with a message",
          p.returncode == 1 and p.stderr, p.returncode)

    # kill -9 in the middle of a batch, then re-run: the database must
    # equal an uninterrupted run's (no loss, no duplicates).
    batch = os.path.join(tmp, "batch")
    os.makedirs(batch)
    big_ips = [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
               for i in range(60000)]
    for i in range(6):
        open(os.path.join(batch, f"r{i}.xml"), "wb").write(
            report_xml(f"kill-{i}", ips=big_ips if i % 2 == 0 else
                       ("192.0.2.9",), org=f"k{i}.example"))
    ref = os.path.join(tmp, "ref.db")
    run("import", "-d", ref, batch)

    def snapshot(path):
        c = sqlite3.connect(path)
        out = (c.execute("SELECT org_name, report_id, records, messages FROM "
                         "reports ORDER BY report_id").fetchall(),
               c.execute("SELECT count(*), sum(count) FROM records").fetchone(),
               c.execute("SELECT count(*), sum(messages) FROM agg_daily")
               .fetchone())
        c.close()
        return out

    ok = True
    for delay in (0.15, 0.4, 0.9):
        kdb = os.path.join(tmp, f"kill{delay}.db")
        proc = subprocess.Popen(DW + ["-q", "import", "-d", kdb, batch])
        time.sleep(dwexec.scale(delay))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        p = run("import", "-d", kdb, batch)
        if p.returncode != 0 or snapshot(kdb) != snapshot(ref):
            ok = False
            print(f"# kill after {delay}s: {snapshot(kdb)} != {snapshot(ref)}")
    check("kill -9 mid-batch then re-run equals an uninterrupted run", ok)

    # Large raw files are hashed while they are parsed: the same bytes
    # under another name must still be recognised as known.
    big = os.path.join(batch, "r0.xml")
    assert os.path.getsize(big) > 8 * 1024 * 1024
    twin = os.path.join(tmp, "r0-copy.xml")
    open(twin, "wb").write(open(big, "rb").read())
    p = run("import", "-d", ref, "--json", twin)
    s = summary(p)
    c = sqlite3.connect(ref)
    pending = c.execute("SELECT count(*) FROM messages WHERE sha256 "
                        "NOT GLOB '[0-9a-f]*' OR length(sha256) != 64"
                        ).fetchone()[0]
    c.close()
    check("large file hashed in parallel: a renamed copy is known",
          p.returncode == 0 and s.get("messages_known") == 1 and
          s.get("reports_new") == 0 and pending == 0, (s, pending))

    # The in-memory rollup of a one-day report holds 16384 pairs; with
    # more, it spills them as a sorted run to a temporary file and starts
    # again, and merges the runs at the end. Pairs seen on both sides of
    # a spill must add up: agg_daily equals the sums over the records.
    many = [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(20000)]
    many += many[:300] + many[16380:16400]
    fdb = os.path.join(tmp, "flush.db")
    fx = os.path.join(tmp, "flush.xml")
    open(fx, "wb").write(report_xml("cli-flush", ips=many, count=2))
    p = run("import", "-d", fdb, "--json", fx)
    c = sqlite3.connect(fdb)
    want = c.execute("SELECT source_ip, sum(count) FROM records GROUP BY 1"
                     " ORDER BY 1").fetchall()
    got = c.execute("SELECT source_ip, sum(messages) FROM agg_daily GROUP BY"
                    " 1 ORDER BY 1").fetchall()
    rows = c.execute("SELECT count(*), sum(messages) FROM agg_daily").fetchone()
    c.close()
    check("one-day report over the rollup table's 16384 pairs: agg_daily "
          "equals the sums over its records",
          p.returncode == 0 and len(want) == 20000 and got == want and
          rows == (20000, 2 * len(many)), (p.returncode, len(want), rows))

    # A message cut short (an mbox still being written, a truncated
    # attachment) is rejected as truncated, never stored as a partial
    # "recovered" report: the complete copy must land with all records.
    full = report_xml("cli-trunc", ips=("192.0.2.1", "192.0.2.2",
                                        "192.0.2.3"))
    cut = full[:full.rindex(b"<record>") + 60]
    tdb = os.path.join(tmp, "trunc.db")
    tr = os.path.join(tmp, "trunc.xml")
    open(tr, "wb").write(cut)
    p = run("import", "-d", tdb, "--json", tr)
    c = sqlite3.connect(tdb)
    codes = [r[0] for r in c.execute("SELECT error_code FROM rejected")]
    c.close()
    check("a truncated report is rejected as truncated, not recovered",
          p.returncode == 3 and summary(p).get("reports_new") == 0 and
          codes == ["truncated"], (p.returncode, codes))
    open(tr, "wb").write(full)
    p = run("import", "-d", tdb, "--json", tr)
    r = reports(tdb)
    check("the complete copy then lands with every record",
          p.returncode == 0 and r is not None and len(r) == 1 and
          r[0]["records"] == 3, r)

    # LIM_PAYLOADS_PER_MESSAGE (64) counts the whole message: 64 report
    # parts land; a 65th is one too_large rejection.
    def many_parts(n, tag):
        parts = "".join(
            "--B\nContent-Type: text/xml\n\n" +
            report_xml(f"{tag}-{i}", org=f"p{i}.example").decode()
            for i in range(n))
        return ("From: a@example.net\nMIME-Version: 1.0\nContent-Type: "
                "multipart/mixed; boundary=B\n\n" + parts + "--B--\n")
    pdb = os.path.join(tmp, "parts.db")
    open(os.path.join(tmp, "p64.eml"), "w").write(many_parts(64, "p64"))
    open(os.path.join(tmp, "p65.eml"), "w").write(many_parts(65, "p65"))
    p1 = run("import", "-d", pdb, "--json", os.path.join(tmp, "p64.eml"))
    p2 = run("import", "-d", pdb, "--json", os.path.join(tmp, "p65.eml"))
    s1, s2 = summary(p1), summary(p2)
    check("64 payloads in a message land; the 65th is rejected once",
          p1.returncode == 0 and s1.get("reports_new") == 64 and
          p2.returncode == 3 and s2.get("reports_new") == 64 and
          s2.get("reports_rejected") == 1, (s1, s2))

    # Records before report_metadata are held in memory until begin():
    # a few are fine, more than LIM_HELD_RECORDS (10000) are refused.
    def meta_last(rid, n):
        x = report_xml(rid, ips=[f"10.9.{i >> 8}.{i & 255}" for i in range(n)])
        head, rest = x.split(b"<report_metadata>", 1)
        meta, rest = rest.split(b"</report_metadata>", 1)
        pol, recs = rest.split(b"</policy_published>", 1)
        recs = recs.replace(b"</feedback>\n", b"")
        return (head + recs + b"<report_metadata>" + meta +
                b"</report_metadata>" + pol + b"</policy_published>"
                b"</feedback>\n")
    hdb = os.path.join(tmp, "held.db")
    open(os.path.join(tmp, "held-few.xml"), "wb").write(meta_last("held-1", 5))
    open(os.path.join(tmp, "held-many.xml"), "wb").write(
        meta_last("held-2", 10001))
    p1 = run("import", "-d", hdb, "--json", os.path.join(tmp, "held-few.xml"))
    p2 = run("import", "-d", hdb, "--json", os.path.join(tmp, "held-many.xml"))
    c = sqlite3.connect(hdb)
    codes = [r[0] for r in c.execute("SELECT error_code FROM rejected")]
    c.close()
    check("records before the metadata: 5 land, 10001 are refused",
          p1.returncode == 0 and summary(p1).get("records") == 5 and
          p2.returncode == 3 and codes == ["too_large"], (codes,))

    # An unreadable subdirectory is one rejected input, not the end of
    # the walk. Root reads everything, so run as nobody when we are root.
    import shutil
    ud = os.path.join(tmp, "unreadable")
    for sub in ("a", "b", "z"):
        os.makedirs(os.path.join(ud, sub))
    open(os.path.join(ud, "z", "r.xml"), "wb").write(report_xml("cli-ud"))
    os.chmod(tmp, 0o755)
    os.chmod(os.path.join(ud, "b"), 0)
    prefix = []
    if os.geteuid() == 0:
        sp = shutil.which("setpriv")
        prefix = [sp, "--reuid=65534", "--regid=65534", "--clear-groups"] \
            if sp else None
    if prefix is None:
        print("# skipped: unreadable directory (root without setpriv)")
    else:
        udb_dir = os.path.join(tmp, "udb")
        os.makedirs(udb_dir)
        os.chmod(udb_dir, 0o777)
        p = subprocess.run(prefix + DW + ["import", "-d",
                           os.path.join(udb_dir, "u.db"), "--json", ud],
                           capture_output=True)
        s = summary(p)
        check("an unreadable subdirectory is rejected, the walk goes on",
              p.returncode == 3 and s.get("reports_new") == 1 and
              s.get("reports_rejected") == 1, (p.returncode, s, p.stderr))
    os.chmod(os.path.join(ud, "b"), 0o755)

    # A big document broken early (the parse stops long before the end)
    # still has its </feedback>: malformed, not truncated. The break is
    # one recovery cannot get past either ("</>" halts libxml2's parser
    # even in recover mode), so the 600 records after it would be lost:
    # rejected as 'format', and nothing stored.
    big = report_xml("cli-broken", ips=[f"10.8.{i >> 8}.{i & 255}"
                                       for i in range(600)])
    big = big.replace(b"<policy_published>", b"</><policy_published>", 1)
    assert len(big) > 128 * 1024
    open(tr, "wb").write(big)
    bdb = os.path.join(tmp, "broken.db")
    p = run("import", "-d", bdb, tr)
    c = sqlite3.connect(bdb)
    codes = [r[0] for r in c.execute("SELECT error_code FROM rejected")]
    nrep = c.execute("SELECT count(*) FROM reports").fetchone()[0]
    c.close()
    check("a large document broken early is 'format', not 'truncated'",
          p.returncode == 3 and codes == ["format"] and nrep == 0,
          (p.returncode, codes, nrep))

    # D6 (kddi.com): the broken close tag "<report_id>N/report_id>" is
    # recovered and the report kept whole, report_id without the tag.
    big = report_xml("cli-kddi", ips=[f"10.9.{i >> 8}.{i & 255}"
                                     for i in range(600)])
    big = big.replace(b"</report_id>", b"/report_id>", 1)
    open(tr, "wb").write(big)
    kdb = os.path.join(tmp, "kddi.db")
    p = run("import", "-d", kdb, tr)
    c = sqlite3.connect(kdb)
    got = c.execute("SELECT report_id, records, recovered FROM reports"
                    ).fetchall()
    w = {r[0] for r in c.execute("SELECT code FROM report_warnings")}
    c.close()
    check("D6 broken close tag: recovered and kept with all 600 records",
          p.returncode == 0 and got == [("cli-kddi", 600, 1)]
          and {"renested", "xml_recovered"} <= w, (p.returncode, got, w))

    # Configuration: every error as file:line, exit 1; a good file, 0.
    bad = os.path.join(tmp, "bad.conf")
    open(bad, "w").write("[general]\ndatabase = x.db\n[failure]\n"
                         "keep_original_body = maybe\nfoo = 1\n[nope]\nx = 1\n")
    p = run("-c", bad, "config", "check")
    out = p.stdout.decode()
    check("config check lists every error as file:line and exits 1",
          p.returncode == 1 and f"{bad}:4:" in out and f"{bad}:5:" in out
          and f"{bad}:7:" in out, (p.returncode, out))
    p = run("-c", bad, "reports", "-d", db)
    check("a command refuses to run with a broken configuration",
          p.returncode == 1, p.returncode)

    # Every syntax error, not only the first, and the [imap] checks of
    # the whole section after them: (text, {line: words}).
    long_key = "x" * 250
    syntax_cases = [
        ("s1", "[general]\njunk\n[imap\nmore junk\n",
         {2: "syntax error", 3: "without ']'", 4: "syntax error"}),
        ("s2", "; c\n# c\n\n[general]\ndatabase = a.db\n"
         "  indented continuation\n[failure]\n  indented after section\n",
         {8: "syntax error"}),
        ("s3", f"[general]\n{long_key} = 1\ndatabase = a.db\nbad line\n",
         {2: "line too long", 4: "syntax error"}),
        ("s4", "[imap]\nuser = u\nnot a key\nbatch = 0\n"
         "folders = INBOX, dmarcwatch/invalid\n",
         {3: "syntax error", 4: "batch", 2: "needs host",
          5: "lies under it"}),
        ("s5", "[imap]\nhost = h\nuser = u\npassword_file = /nonexistent\n"
         "archive_folder = Reports\nfolders = Reports-invalid, Other, "
         "Reports.x\n",
         {4: "nonexistent", 6: "'Reports-invalid'"}),
    ]
    for cid, text, want in syntax_cases:
        path = os.path.join(tmp, f"syntax-{cid}.conf")
        open(path, "w").write(text)
        p = run("-c", path, "config", "check")
        out = p.stdout.decode()
        lines = [ln for ln in out.splitlines() if ln.startswith(path + ":")
                 and not ln.startswith(path + ": ")]
        got = {int(ln[len(path) + 1:].split(":", 1)[0]) for ln in lines}
        ok = p.returncode == 1 and set(want) <= got and all(
            any(ln.startswith(f"{path}:{n}:") and w in ln for ln in lines)
            for n, w in want.items())
        if cid == "s2":      # continuation lines are inih's, not errors
            ok = ok and got == {8}
        if cid == "s5":      # 'Reports.x' too (either usual delimiter)
            ok = ok and sum("lies under it" in ln for ln in lines) == 2
        check(f"config check {cid}: every syntax error and the [imap] "
              "checks", ok, (p.returncode, out))
    p = run("-c", os.path.join(tmp, "missing.conf"), "config", "check")
    check("config check on a missing explicit file: exit 1",
          p.returncode == 1, p.returncode)

    # [failure] keep_original_body: off by default, on when configured.
    arf = ("From: r@isp.example.net\nTo: ruf@example.com\nSubject: fail\n"
           "Date: Mon, 20 Nov 2023 09:00:00 +0000\nMIME-Version: 1.0\n"
           "Content-Type: multipart/report; report-type=feedback-report;"
           " boundary=b\n\n--b\nContent-Type: text/plain\n\nfailure\n"
           "--b\nContent-Type: message/feedback-report\n\n"
           "Feedback-Type: auth-failure\nVersion: 1\nSource-IP: 192.0.2.5\n"
           "Reported-Domain: example.com\nAuth-Failure: dmarc\n\n"
           "--b\nContent-Type: message/rfc822\n\nFrom: x@example.com\n"
           "Subject: hi\nMessage-ID: <m{n}@example.com>\n\nsecret body\n"
           "--b--\n")
    open(os.path.join(tmp, "arf1.eml"), "w").write(arf.replace("{n}", "1"))
    open(os.path.join(tmp, "arf2.eml"), "w").write(arf.replace("{n}", "2"))
    good = os.path.join(tmp, "good.conf")
    open(good, "w").write("[failure]\nkeep_original_body = yes\n")
    fdb = os.path.join(tmp, "f.db")
    p1 = run("import", "-d", fdb, os.path.join(tmp, "arf1.eml"))
    p2 = run("-c", good, "import", "-d", fdb, os.path.join(tmp, "arf2.eml"))
    c = sqlite3.connect(fdb)
    bodies = c.execute("SELECT r.report_id, f.orig_body IS NOT NULL FROM "
                       "failure_reports f JOIN reports r ON r.id = "
                       "f.report_id ORDER BY r.report_id").fetchall()
    c.close()
    check("failure report bodies only kept with keep_original_body = yes",
          p1.returncode == 0 and p2.returncode == 0 and bodies ==
          [("<m1@example.com>", 0), ("<m2@example.com>", 1)], bodies)
    # No Arrival-Date: a forwarded copy (other outer Date) is known.
    open(os.path.join(tmp, "arf1-fwd.eml"), "w").write(
        arf.replace("{n}", "1").replace("Mon, 20 Nov 2023 09:00:00",
                                        "Tue, 21 Nov 2023 17:30:00"))
    p = run("import", "-d", fdb, "--json", os.path.join(tmp, "arf1-fwd.eml"))
    s = summary(p)
    check("a failure report without Arrival-Date seen again in another "
          "mail is already known", p.returncode == 0 and
          s.get("reports_known") == 1 and s.get("reports_new") == 0, s)
    p = run("reports", "-d", fdb, "--json", "--kind", "failure")
    r = json.loads(p.stdout) if p.returncode == 0 else []
    check("--kind failure lists the failure reports", len(r) == 2 and
          all(x["kind"] == "failure" for x in r), r)
    p = run("reports", "-d", fdb, "--json", "--kind", "tlsrpt")
    check("--kind tlsrpt on a database without TLS-RPT: empty",
          p.returncode == 0 and json.loads(p.stdout) == [])

    # H1 replace rule: a copy stored from broken XML is replaced by the
    # well-formed copy of the same report; agg_daily ends up as if only
    # the good copy had been imported (multi-day spreading included, and
    # another report's share of the same rollup rows kept).
    begin = 1700006400 + 3600
    ips = [f"192.0.2.{i}" for i in range(1, 6)]
    goodx = report_xml("cli-rep", begin=begin, ips=ips, count=7)
    goodx = goodx.replace(b"<end>%d</end>" % (begin + 86399),
                          b"<end>%d</end>" % (begin + 3 * 86400 + 777))
    brokenx = goodx.replace(b"<org_name>cli.example</org_name>",
                            b"<org_name>cli.ex\xffample</org_name>")
    otherx = report_xml("cli-other", begin=1700006400, ips=ips[:2], count=5)
    for name, data in (("broken.xml", brokenx), ("goodcopy.xml", goodx),
                       ("other.xml", otherx)):
        open(os.path.join(tmp, name), "wb").write(data)
    rdb = os.path.join(tmp, "replace.db")
    p = run("import", "-d", rdb, "--json", os.path.join(tmp, "other.xml"),
            os.path.join(tmp, "broken.xml"))
    s = summary(p)
    c = sqlite3.connect(rdb)
    rec = c.execute("SELECT recovered, records FROM reports WHERE "
                    "report_id = 'cli-rep'").fetchall()
    c.close()
    check("replace rule: the broken copy lands recovered, all records",
          p.returncode == 0 and s.get("reports_new") == 2 and
          rec == [(1, 5)], (p.returncode, s, rec))
    p = run("import", "-d", rdb, "--json", os.path.join(tmp, "goodcopy.xml"))
    s = summary(p)
    check("replace rule: the well-formed copy replaces it",
          p.returncode == 0 and s.get("reports_new") == 1 and
          s.get("reports_replaced") == 1 and s.get("reports_known") == 0, s)
    p = run("import", "-d", rdb, "--json", "-", stdin=brokenx + b"\n")
    s = summary(p)
    check("replace rule: a recovered copy never replaces a good one",
          p.returncode == 0 and s.get("reports_known") == 1 and
          s.get("reports_new") == 0 and s.get("reports_replaced") == 0, s)
    fdb2 = os.path.join(tmp, "fresh.db")
    run("import", "-d", fdb2, os.path.join(tmp, "other.xml"),
        os.path.join(tmp, "goodcopy.xml"))

    def state(path):
        c = sqlite3.connect(path)
        try:
            return (c.execute("SELECT day, source_ip, header_from, reporter,"
                              " policy_domain, messages, dmarc_pass,"
                              " spf_aligned_pass, dkim_aligned_pass,"
                              " quarantine, reject FROM agg_daily ORDER BY"
                              " 1, 2, 3, 4, 5").fetchall(),
                    c.execute("SELECT report_id, org_name, recovered,"
                              " records, messages FROM reports ORDER BY 1"
                              ).fetchall(),
                    c.execute("SELECT count(*) FROM records").fetchone())
        finally:
            c.close()
    got, want = state(rdb), state(fdb2)
    check("replace rule: reports, records and agg_daily equal a fresh "
          "import of the good copy", got == want and len(got[0]) > 5 and
          ("cli-rep", "cli.example", 0, 5, 35) in got[1], (got, want))

    # L5: a full re-import says the reports were known through their
    # messages (their bytes are known, they are not parsed again).
    p = run("import", "-d", rdb, os.path.join(tmp, "other.xml"),
            os.path.join(tmp, "goodcopy.xml"))
    out = p.stdout.decode()
    check("re-import summary: reports known through their messages",
          p.returncode == 0 and "2 messages (2 already known, 0 rejected)"
          in out and "reports: 0 new, 2 already known (2 through their "
          "already known messages), 0 rejected; 0 records" in out, out)
    p = run("import", "-d", rdb, "--json", os.path.join(tmp, "other.xml"))
    s = summary(p)
    check("re-import --json: reports_known_by_message",
          s.get("reports_known_by_message") == 1 and
          s.get("reports_known") == 0 and s.get("messages_known") == 1, s)

    # busy_timeout: a second writer holding the database for a second
    # makes import wait, not fail (doc/schema.md: 10 s).
    bdb2 = os.path.join(tmp, "busy.db")
    run("import", "-d", bdb2, os.path.join(tmp, "other.xml"))
    hold = sqlite3.connect(bdb2, isolation_level=None)
    hold.execute("BEGIN IMMEDIATE")
    hold.execute("INSERT INTO sender_ips (ip) VALUES ('198.51.100.1')")
    t0 = time.monotonic()
    proc = subprocess.Popen(DW + ["import", "-d", bdb2, "--json",
                                  os.path.join(tmp, "goodcopy.xml")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)
    waiting = proc.poll() is None
    hold.execute("COMMIT")
    hold.close()
    out, err = proc.communicate(timeout=60)
    s = json.loads(out or b"{}")
    check("busy_timeout: import waits for another writer, then stores",
          waiting and proc.returncode == 0 and s.get("reports_new") == 1 and
          time.monotonic() - t0 >= 1.5, (waiting, proc.returncode, s, err))

    # q5 (parsedmarc.md 3): a MIME type that lies. A zip labelled
    # text/plain is recognised by its bytes.
    import base64
    import zipfile
    zb = io.BytesIO()
    with zipfile.ZipFile(zb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("google.com!example.com!1700006400!1700092799.xml",
                   report_xml("cli-q5"))
    q5 = ("From: noreply-dmarc-support@google.com\nTo: rua@example.com\n"
          "Subject: Report domain: example.com\nMIME-Version: 1.0\n"
          "Content-Type: text/plain; name=\"report.zip\"\n"
          "Content-Transfer-Encoding: base64\n\n" +
          base64.encodebytes(zb.getvalue()).decode()).encode()
    open(os.path.join(tmp, "q5.eml"), "wb").write(q5)
    p = run("import", "-d", os.path.join(tmp, "q5.db"), "--json",
            os.path.join(tmp, "q5.eml"))
    s = summary(p)
    check("q5: a base64 zip labelled text/plain is read by its bytes",
          p.returncode == 0 and s.get("reports_new") == 1 and
          s.get("records") == 1, (p.returncode, s))

    # L4: on a terminal the progress line advances inside one big file
    # (records so far), not only after each message. stderr on a pty.
    import pty
    n_big = 20000
    bigf = os.path.join(tmp, "progress.xml")
    open(bigf, "wb").write(report_xml(
        "cli-progress", ips=[f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}"
                             for i in range(n_big)]))
    master, slave = pty.openpty()
    proc = subprocess.Popen(DW + ["import", "-d",
                                  os.path.join(tmp, "progress.db"), bigf],
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    tty = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        tty += chunk
    os.close(master)
    out, _ = proc.communicate(timeout=120)
    shown = [int(m) for m in re.findall(rb"new reports, (\d+) records",
                                        tty)]
    check("progress line: records shown while the one big file is read",
          proc.returncode == 0 and any(0 < v < n_big for v in shown)
          and tty.endswith(b"\r\x1b[K") and
          b"%d records" % n_big in out, (proc.returncode, shown, tty[-200:]))

failed = results.count(False)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
