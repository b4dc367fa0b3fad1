#!/usr/bin/env python3
"""Send-log CLI tests: `dmarcwatch sendlog import` over generated Postfix,
KumoMTA and CSV logs; rollups checked with the sqlite3 module; idempotence
(same file, a copy, stdin, an appended file); follow mode across rotation
and truncation; malformed lines counted; exit codes; profile and sender
sync; the correlation view and foreign_senders; config check.

Usage: test_sendlog.py DW_EXE   (DW_SRCDIR: the source tree)
"""
import json
import os
import shutil
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
SRC = os.environ.get("DW_SRCDIR") or os.path.join(os.path.dirname(__file__),
                                                  "..", "..")
PROFILES = os.path.join(SRC, "dist", "providers.conf")
results = []


def check(name, cond, detail=""):
    results.append(bool(cond))
    print(f"{'ok' if cond else 'not ok'} {len(results)} - {name}"
          + ("" if cond else f"  [{detail}]"))


def run(*args, stdin=None, conf=None):
    pre = ["-c", conf] if conf else []
    return subprocess.run(DW + pre + list(args), input=stdin,
                          capture_output=True)


def q(db, sql, *params):
    c = sqlite3.connect(db)
    try:
        return c.execute(sql, params).fetchall()
    finally:
        c.close()


def summary(p):
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {"raw": p.stdout, "err": p.stderr}


# ---- generated Postfix log: deterministic mix over two hours ----

RCPTS = [  # (domain, relay, status, dsn, reply)
    ("gmail.com", "gmail-smtp-in.l.google.com[142.250.102.27]:25", "sent",
     "2.0.0", "250 2.0.0 OK  1700726402 a1si1 - gsmtp"),
    ("gmail.com", "gmail-smtp-in.l.google.com[142.250.102.27]:25", "deferred",
     "4.7.28", "host gmail-smtp-in.l.google.com[142.250.102.27] said: "
     "421-4.7.28 Our system has detected an unusual rate of unsolicited mail "
     "(in reply to end of DATA command)"),
    ("yahoo.com", "mta7.am0.yahoodns.net[67.195.204.72]:25", "deferred",
     "4.7.0", "host mta7.am0.yahoodns.net[67.195.204.72] refused to talk to "
     "me: 421 4.7.0 [TSS04] Messages from 198.51.100.10 temporarily deferred"),
    ("qq.com", "mx3.qq.com[203.205.219.57]:25", "deferred", "4.0.0",
     "host mx3.qq.com[203.205.219.57] said: 450 Mail is rejected by "
     "recipients. Ip frequency limited (in reply to RCPT TO command)"),
    ("hotmail.com", "hotmail-com.olc.protection.outlook.com[52.101.8.43]:25",
     "bounced", "5.7.1", "host x[52.101.8.43] said: 550 5.7.1 part of their "
     "network is on our block list (S3150). (in reply to MAIL FROM command)"),
    ("customer.example", "mx.customer.example[192.0.2.25]:25", "deferred",
     "4.4.1", "connect to mx.customer.example[192.0.2.25]:25: Connection "
     "timed out"),
    # hosted on Google: resolved through the relay (MX) host
    ("hosted.example", "aspmx.l.google.com[142.250.1.26]:25", "sent", "2.0.0",
     "250 2.0.0 OK - gsmtp"),
]


def postfix_lines(n, start_min=0, tag="A", transport="postfix-out"):
    out = []
    for i in range(n):
        dom, relay, st, dsn, reply = RCPTS[i % len(RCPTS)]
        m = start_min + i
        hh, mm = 8 + m // 60, m % 60
        qid = f"4{tag}{i:09X}"
        out.append(f"Nov 23 {hh:02d}:{mm:02d}:{i % 60:02d} mx1 {transport}/smtp"
                   f"[{1000 + i}]: {qid}: to=<u{i}@{dom}>, relay={relay}, "
                   f"delay=1, delays=0.1/0/0.4/0.5, dsn={dsn}, status={st} "
                   f"({reply})")
        if i % 10 == 3:  # noise: other daemons
            out.append(f"Nov 23 {hh:02d}:{mm:02d}:{i % 60:02d} mx1 "
                       f"postfix/qmgr[812]: {qid}: from=<n@example.com>, "
                       "size=100, nrcpt=1 (queue active)")
    return out


def expected(lines_n):
    """Attempts per provider for postfix_lines(lines_n)."""
    prov = {"gmail.com": "google", "yahoo.com": "yahoo", "qq.com": "qq",
            "hotmail.com": "microsoft", "customer.example": "",
            "hosted.example": "google"}
    e = {}
    for i in range(lines_n):
        p = prov[RCPTS[i % len(RCPTS)][0]]
        e[p] = e.get(p, 0) + 1
    return e


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "s.db")
    conf = os.path.join(tmp, "dw.conf")
    with open(conf, "w") as f:
        f.write(f"[general]\ndatabase = {db}\nproviders = {PROFILES}\n"
                "[sender]\nips = 198.51.100.10, 198.51.100.11\n"
                "domains = example.com\n"
                "target_daily = google:50000, qq:2000\n"
                "transport_ip = postfix-out:198.51.100.10, "
                "postfix-b:198.51.100.11\n")
    log = os.path.join(tmp, "mail.log")
    lines = postfix_lines(70)
    lines.insert(5, "garbage that is not syslog")
    lines.insert(40, "Nov 23 08:30:00 mx1 postfix/smtp[1]: ABC: relay=none, "
                 "dsn=4.4.1, status=deferred (no recipient)")
    with open(log, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.utime(log, (1700800000, 1700800000))  # mtime Nov 2023: year rule

    # 1. usage and exit codes
    p = run("sendlog", conf=conf)
    check("sendlog without subcommand: usage, exit 2", p.returncode == 2,
          p.returncode)
    p = run("sendlog", "import", "--format", "exim", log, conf=conf)
    check("unknown --format: exit 2", p.returncode == 2, p.returncode)
    p = run("sendlog", "import", os.path.join(tmp, "nope.log"), conf=conf)
    check("missing file: exit 1 with a message",
          p.returncode == 1 and b"nope.log" in p.stderr, (p.returncode,
                                                          p.stderr))

    # 2. import, malformed counted, exit 3
    p = run("sendlog", "import", "--json", log, conf=conf)
    s = summary(p)
    check("import with malformed lines: exit 3", p.returncode == 3,
          (p.returncode, p.stderr))
    check("summary: 70 attempts, 2 malformed at lines 6 and 41, 7 skipped",
          s.get("attempts") == 70 and s.get("malformed") == 2 and
          s.get("malformed_lines") == [6, 41] and s.get("skipped") == 7 and
          s.get("format") == "postfix" and s.get("lines") == len(lines), s)
    rows = dict(q(db, "SELECT provider, sum(attempts) FROM sendlog_daily "
                  "GROUP BY provider"))
    check("daily rollup per provider (recipient domain, then MX host)",
          rows == expected(70), (rows, expected(70)))
    r = q(db, "SELECT sum(attempts), sum(delivered), sum(deferred), "
          "sum(bounced), sum(ok), sum(rate), sum(block), sum(conn), "
          "sum(rate_signal) FROM sendlog_hourly")[0]
    check("hourly totals: status and class columns add up",
          r[0] == 70 and r[1] + r[2] + r[3] == 70 and r[4] == r[1] and
          r[5] == 30 and r[6] == 10 and r[7] == 10 and r[8] == 30, r)
    r = q(db, "SELECT DISTINCT source_ip FROM sendlog_daily")
    check("source IP from [sender] transport_ip", r == [("198.51.100.10",)],
          r)
    r = q(db, "SELECT DISTINCT day FROM sendlog_daily")
    check("Postfix year from the file's mtime", r == [("2023-11-23",)], r)
    r = q(db, "SELECT count(DISTINCT hour) FROM sendlog_hourly")[0][0]
    check("two hours rolled up separately", r == 2, r)
    r = q(db, "SELECT rate, rate_signal FROM sendlog_daily WHERE "
          "provider = 'google'")[0]
    check("Gmail 4.7.28 counted as rate and as a provider rate signal",
          r == (10, 10), r)

    # 3. idempotence: again, a copy, stdin
    before = q(db, "SELECT * FROM sendlog_hourly ORDER BY 1, 2, 3")
    p = run("sendlog", "import", "--json", log, conf=conf)
    s = summary(p)
    check("same file again: nothing new, exit 0",
          p.returncode == 0 and s.get("attempts") == 0 and
          s.get("resumed_after_line") == len(lines), s)
    cp = os.path.join(tmp, "copy.log")
    shutil.copy(log, cp)
    p = run("sendlog", "import", "--json", cp, conf=conf)
    check("a copy under another name: nothing new",
          summary(p).get("attempts") == 0, summary(p))
    p = run("sendlog", "import", "--json", "--year", "2023", "-",
            stdin=open(log, "rb").read(), conf=conf)
    check("the same bytes on stdin: nothing new",
          p.returncode == 0 and summary(p).get("attempts") == 0, summary(p))
    after = q(db, "SELECT * FROM sendlog_hourly ORDER BY 1, 2, 3")
    check("rollup unchanged after three re-imports", before == after)

    # 4. appended lines: only the new ones
    with open(log, "a") as f:
        f.write("\n".join(postfix_lines(14, start_min=80, tag="B")) + "\n")
    os.utime(log, (1700800000, 1700800000))
    p = run("sendlog", "import", "--json", log, conf=conf)
    s = summary(p)
    check("appended file: only the 14 new attempts",
          p.returncode == 0 and s.get("attempts") == 14, s)
    r = q(db, "SELECT sum(attempts) FROM sendlog_daily")[0][0]
    check("total 84 after the append", r == 84, r)

    # 5. profile and sender sync
    r = q(db, "SELECT count(*) FROM providers")[0][0]
    check("providers synced (>= 15)", r >= 15, r)
    r = q(db, "SELECT daily_cap FROM provider_stages WHERE provider = 'qq' "
          "ORDER BY stage LIMIT 3")
    check("QQ stages 100, 200, 400", r == [(100,), (200,), (400,)], r)
    r = q(db, "SELECT class FROM provider_codes WHERE provider = 'google' "
          "AND pattern = '4.7.28'")
    check("provider_codes: Gmail 4.7.28 is rate", r == [("rate",)], r)
    r = q(db, "SELECT count(*) FROM provider_codes WHERE provider = '*'")[0][0]
    check("[defaults] code rules under provider '*'", r > 5, r)
    r = (q(db, "SELECT ip FROM sender_ips ORDER BY 1"),
         q(db, "SELECT domain FROM sender_domains"),
         q(db, "SELECT provider, daily FROM sender_targets ORDER BY 1"))
    check("sender tables synced from [sender]",
          r == ([("198.51.100.10",), ("198.51.100.11",)], [("example.com",)],
                [("google", 50000), ("qq", 2000)]), r)

    # 6. KumoMTA and CSV logs, auto-detected
    kumo = os.path.join(tmp, "kumo.jsonl")
    with open(kumo, "w") as f:
        for i in range(6):
            t = ["Delivery", "TransientFailure", "Bounce"][i % 3]
            code = [250, 421, 550][i % 3]
            enh = [[2, 0, 0], [4, 7, 28], [5, 7, 1]][i % 3]
            f.write(json.dumps({
                "type": t, "id": f"k{i}", "recipient": f"u{i}@gmail.com",
                "site": "(alt1|alt2)?.gmail-smtp-in.l.google.com:25",
                "response": {"code": code, "enhanced_code": {
                    "class": enh[0], "subject": enh[1], "detail": enh[2]},
                    "content": "x", "command": None},
                "timestamp": 1700726400 + i,
                "source_address": {"address": "198.51.100.11:0"}}) + "\n")
        f.write('{"type":"Reception","recipient":"a@gmail.com",'
                '"timestamp":1700726400}\n')
    p = run("sendlog", "import", "--json", kumo, conf=conf)
    s = summary(p)
    check("KumoMTA log detected and imported",
          p.returncode == 0 and s.get("format") == "kumomta" and
          s.get("attempts") == 6 and s.get("skipped") == 1, s)
    r = q(db, "SELECT attempts, delivered, deferred, bounced, rate FROM "
          "sendlog_daily WHERE source_ip = '198.51.100.11'")
    check("KumoMTA source_address is the source IP", r == [(6, 2, 2, 2, 2)],
          r)
    csv = os.path.join(tmp, "gen.csv")
    with open(csv, "w") as f:
        f.write("timestamp,source_ip,recipient_domain,status,smtp_code,"
                "enhanced_code,response\n"
                "1700726400,198.51.100.12,web.de,sent,250,2.0.0,ok\n"
                "2023-11-23T08:05:00Z,198.51.100.12,gmx.net,deferred,421,,"
                "\"too many connections, later\"\n"
                "1700726900,198.51.100.12,example.org,exploded,250,,x\n")
    p = run("sendlog", "import", "--json", csv, conf=conf)
    s = summary(p)
    check("CSV: 2 attempts, 1 malformed, exit 3",
          p.returncode == 3 and s.get("format") == "csv" and
          s.get("attempts") == 2 and s.get("malformed_lines") == [4], s)

    # two CSV files share their header line: each is its own file
    csv2 = os.path.join(tmp, "gen2.csv")
    with open(csv2, "w") as f:
        f.write("timestamp,source_ip,recipient_domain,status,smtp_code,"
                "enhanced_code,response\n"
                "1700726500,198.51.100.12,web.de,sent,250,2.0.0,ok\n"
                "1700726600,198.51.100.12,web.de,sent,250,2.0.0,ok\n"
                "1700726700,198.51.100.12,web.de,sent,250,2.0.0,ok\n")
    p = run("sendlog", "import", "--json", csv2, conf=conf)
    s = summary(p)
    check("a second CSV file with the same header is a new file",
          p.returncode == 0 and s.get("attempts") == 3 and
          s.get("resumed_after_line") == 0, s)
    p = run("sendlog", "import", "--json", csv2, conf=conf)
    check("... and importing it again adds nothing",
          summary(p).get("attempts") == 0, summary(p))

    # 7. correlation with DMARC reports
    def xml(org, ip, count, passed, day_begin=1700697600, domain="example.com"):
        dk = "pass" if passed else "fail"
        return (f"<?xml version=\"1.0\"?><feedback><report_metadata>"
                f"<org_name>{org}</org_name><email>d@{org}</email>"
                f"<report_id>{org}-{ip}</report_id><date_range><begin>"
                f"{day_begin}</begin><end>{day_begin + 86399}</end>"
                f"</date_range></report_metadata><policy_published><domain>"
                f"{domain}</domain><p>reject</p></policy_published><record>"
                f"<row><source_ip>{ip}</source_ip><count>{count}</count>"
                f"<policy_evaluated><disposition>"
                f"{'none' if passed else 'reject'}</disposition><dkim>{dk}"
                f"</dkim><spf>fail</spf></policy_evaluated></row><identifiers>"
                f"<header_from>{domain}</header_from></identifiers>"
                f"<auth_results><dkim><domain>{domain}</domain><result>{dk}"
                f"</result></dkim></auth_results></record></feedback>\n")
    for i, (org, ip, n, ok) in enumerate([
            ("google.com", "198.51.100.10", 11, True),
            ("Yahoo", "198.51.100.10", 3, False),
            ("google.com", "203.0.113.66", 40, False)]):
        path = os.path.join(tmp, f"r{i}.xml")
        with open(path, "w") as f:
            f.write(xml(org, ip, n, ok))
        p = run("import", "-d", db, path)
        check(f"DMARC report {i} imported", p.returncode == 0, p.stderr)
    r = q(db, "SELECT attempts, delivered, reported, dmarc_pass, "
          "dkim_aligned_pass, coverage FROM v_sendlog_dmarc WHERE "
          "day = '2023-11-23' AND source_ip = '198.51.100.10' AND "
          "provider = 'google'")
    check("v_sendlog_dmarc: sent vs reported by Google, coverage",
          len(r) == 1 and r[0][2] == 11 and r[0][3] == 11 and
          r[0][4] == 11 and r[0][1] > 0 and
          abs(r[0][5] - round(11 / r[0][1], 3)) < 1e-9, r)
    r = q(db, "SELECT reported, dmarc_pass, reject FROM v_sendlog_dmarc "
          "WHERE source_ip = '198.51.100.10' AND provider = 'yahoo'")
    check("v_sendlog_dmarc: Yahoo reporter org mapped to yahoo",
          r == [(3, 0, 3)], r)
    r = q(db, "SELECT count(*) FROM v_sendlog_dmarc WHERE "
          "source_ip = '203.0.113.66'")[0][0]
    check("a foreign IP is not correlated", r == 0, r)
    r = q(db, "SELECT source_ip, header_from, provider, messages FROM "
          "foreign_senders")
    check("foreign_senders: our domain from an IP not ours",
          r == [("203.0.113.66", "example.com", "google", 40)], r)

    # 8. follow mode: growth, rotation (new inode), truncation
    flog = os.path.join(tmp, "follow.log")
    fdb = os.path.join(tmp, "f.db")

    def write(path, lines, mode="a"):
        with open(path, mode) as f:
            f.write("".join(x + "\n" for x in lines))

    def total():
        try:
            return q(fdb, "SELECT ifnull(sum(attempts), 0) FROM "
                     "sendlog_daily")[0][0]
        except sqlite3.Error:
            return -1

    def wait_for(n, secs=15):
        end = time.time() + dwexec.scale(secs)
        while time.time() < end:
            if total() == n:
                return True
            time.sleep(0.1)
        return False

    write(flog, postfix_lines(5, tag="F"), "w")
    proc = subprocess.Popen(DW + ["-c", conf, "sendlog", "import", "-d", fdb,
                             "--year", "2023", "--follow", "--poll-ms", "100",
                             "--json", flog], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        check("follow: initial lines", wait_for(5), total())
        write(flog, postfix_lines(3, start_min=10, tag="G"))
        check("follow: appended lines", wait_for(8), total())
        os.rename(flog, flog + ".1")
        write(flog + ".1", postfix_lines(2, start_min=20, tag="H"))
        write(flog, postfix_lines(4, start_min=30, tag="I"), "w")
        check("follow: rotation reads the old file's tail and the new file",
              wait_for(14), total())
        with open(flog, "w") as f:  # copytruncate-style
            pass
        time.sleep(dwexec.scale(0.4))
        write(flog, postfix_lines(2, start_min=40, tag="J"))
        check("follow: truncation starts the file again", wait_for(16),
              total())
        # rewritten in place, longer than before, between two polls: the
        # first line changed, so it is a new file
        write(flog, postfix_lines(6, start_min=50, tag="K"), "w")
        check("follow: rewritten in place and grown: a new file",
              wait_for(22), total())
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=dwexec.scale(10))
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    check("follow: SIGTERM ends it with exit 0", proc.returncode == 0,
          (proc.returncode, err))
    # a restart resumes where it stopped: nothing counted twice
    p = run("sendlog", "import", "-d", fdb, "--json", "--year", "2023", flog,
            conf=conf)
    check("restart after follow: nothing new",
          summary(p).get("attempts") == 0 and total() == 22,
          (summary(p), total()))
    p = run("sendlog", "import", "-d", fdb, "--json", "--year", "2023",
            flog + ".1", conf=conf)
    check("the rotated file imported again: nothing new",
          summary(p).get("attempts") == 0 and total() == 22,
          (summary(p), total()))

    # follow a CSV log that starts with its header only
    clog = os.path.join(tmp, "follow.csv")
    cdb = os.path.join(tmp, "c.db")
    write(clog, ["timestamp,source_ip,recipient_domain,status,smtp_code,"
                 "enhanced_code,response"], "w")
    proc = subprocess.Popen(DW + ["-c", conf, "sendlog", "import", "-d", cdb,
                             "--follow", "--poll-ms", "100", clog],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def ctotal():
        try:
            return q(cdb, "SELECT ifnull(sum(attempts), 0) FROM "
                     "sendlog_daily")[0][0]
        except sqlite3.Error:
            return -1

    def cwait(n, secs=15):
        end = time.time() + dwexec.scale(secs)
        while time.time() < end:
            if ctotal() == n:
                return True
            time.sleep(0.1)
        return False
    try:
        time.sleep(dwexec.scale(0.3))
        write(clog, [f"{1700726400 + i},198.51.100.12,gmail.com,sent,250,,ok"
                     for i in range(4)])
        check("follow CSV: header first, lines later", cwait(4), ctotal())
        write(clog, ["1700726500,198.51.100.12,gmail.com,deferred,421,4.7.28,"
                     "slow down"])
        check("follow CSV: appended line", cwait(5), ctotal())
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=dwexec.scale(10))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    p = run("sendlog", "import", "-d", cdb, "--json", clog, conf=conf)
    check("follow CSV: restart adds nothing",
          summary(p).get("attempts") == 0 and ctotal() == 5, summary(p))

    # 9. config check
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write(f"[general]\nproviders = {PROFILES}\n[sender]\n"
                "ips = 198.51.100.10, 300.1.1.1\n"
                "target_daily = google:50000, nosuch:5\n"
                "transport_ip = out\n")
    p = run("config", "check", conf=bad)
    o = p.stdout.decode()
    check("config check: [sender] errors with file:line",
          p.returncode == 1 and f"{bad}:4: ips: '300.1.1.1'" in o and
          f"{bad}:5: target_daily: unknown provider 'nosuch'" in o and
          f"{bad}:6: transport_ip" in o, o)
    badp = os.path.join(tmp, "prov.conf")
    with open(badp, "w") as f:
        f.write("[defaults]\nstages = 10/1\n[provider x]\ndomains = x.example\n"
                "code = slow: 4.7.28\n")
    with open(bad, "w") as f:
        f.write(f"[general]\nproviders = {badp}\n")
    p = run("config", "check", conf=bad)
    check("config check: profile file errors with file:line",
          p.returncode == 1 and f"{badp}:5: code: unknown class 'slow'"
          in p.stdout.decode(), p.stdout)
    p = run("config", "check", conf=conf)
    check("config check: the test configuration is fine", p.returncode == 0,
          p.stdout)

failed = results.count(False)
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
