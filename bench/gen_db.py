#!/usr/bin/env python3
"""gen_db.py DMARCWATCH DB [RECORDS] [DAYS] [IPS] [REPORTERS] - fill a
database for bench/report.sh, fast, by bulk SQL into the documented tables
(doc/schema.md), shaped like a real import.

The schema is made by dmarcwatch itself (it imports one tiny report, so
the file is a real dmarcwatch database at the current version). Then, in
one transaction: per UTC day, per policy domain (example.com,
example.org) and per reporter one aggregate report of one day
(00:00:00 - 23:59:59, like Google), its records (RECORDS in all, spread
evenly; source IPs drawn from IPS addresses, two header_from domains per
policy domain, ~97 % DKIM aligned, ~96 % SPF aligned, quarantine/reject
on some failures), one DKIM and one SPF result per record, the reports'
totals, and agg_daily computed from those records exactly as the store
rolls up a one-day report (GROUP BY day, source_ip, header_from,
reporter, policy_domain). Plus TLS-RPT reports with tlsrpt_daily rows,
failure reports and rejected inputs, a few per day.
Deterministic. Written by the dmarcwatch developers; standard library only.
"""
import ipaddress
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

DW, DB = sys.argv[1], sys.argv[2]
RECORDS = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000_000
DAYS = int(sys.argv[4]) if len(sys.argv) > 4 else 90
IPS = int(sys.argv[5]) if len(sys.argv) > 5 else 200
REPORTERS = int(sys.argv[6]) if len(sys.argv) > 6 else 20
DOMAINS = ["example.com", "example.org"]
DAY0 = 1700006400 - 90 * 86400          # 90 days before 2023-11-15

t0 = time.time()
if os.path.exists(DB):
    sys.exit(f"{DB} exists; give a new file")
with tempfile.TemporaryDirectory() as tmp:
    seed = os.path.join(tmp, "seed.xml")
    gen = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "gen_report.py")
    subprocess.run([sys.executable, gen, "1", seed], check=True)
    subprocess.run([DW, "import", "-q", "-d", DB, seed], check=True)

con = sqlite3.connect(DB, isolation_level=None)
con.execute("PRAGMA journal_mode=OFF")   # bulk fill; WAL again at the end
con.execute("PRAGMA synchronous=OFF")
con.execute("PRAGMA cache_size=-262144")
con.execute("BEGIN")
con.execute("CREATE TEMP TABLE ips (idx INTEGER PRIMARY KEY, ip TEXT,"
            " bin BLOB)")
for i in range(IPS):
    a = ipaddress.IPv4Address(0xC6336400 + i) if i % 8 else \
        ipaddress.IPv6Address(0x20010DB8 << 96 | i)   # every 8th IPv6
    b = (ipaddress.IPv6Address("::ffff:" + str(a)).packed
         if a.version == 4 else a.packed)
    con.execute("INSERT INTO ips VALUES (?, ?, ?)", (i, str(a), b))

reporters = [f"reporter{i:02d}.example" for i in range(REPORTERS)]
n_reports = DAYS * len(DOMAINS) * REPORTERS
per = -(-RECORDS // n_reports)
first = con.execute("SELECT coalesce(max(id), 0) + 1 FROM reports"
                    ).fetchone()[0]
rows = []
rid = first
for day in range(DAYS):
    for d in DOMAINS:
        for r in reporters:
            b = DAY0 + day * 86400
            rows.append((rid, "aggregate", "rfc7489", r, "dmarc@" + r,
                         f"{r}-{d}-{day}", b, b + 86399, d, "r", "r",
                         "none", "none", 100, per, "dmarc@" + r,
                         int(time.time())))
            rid += 1
con.executemany(
    "INSERT INTO reports (id, kind, flavour, org_name, email, report_id,"
    " begin, end, policy_domain, adkim, aspf, p, sp, pct, records,"
    " reporter_key, imported_at) VALUES"
    " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
last = rid - 1
rec0 = con.execute("SELECT coalesce(max(id), 0) + 1 FROM records"
                   ).fetchone()[0]
total = per * n_reports
# Record i belongs to report first + i / per; its IP is a pseudo-random
# pick (multiplicative hash) so each report sees most of the addresses.
con.execute(f"""
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n
                        WHERE i < {total - 1})
INSERT INTO records (id, report_id, seq, source_ip, source_ip_bin,
  ip_family, count, disposition, dkim_aligned, spf_aligned, dmarc_pass,
  header_from, envelope_from)
SELECT {rec0} + i, {first} + i / {per}, i % {per}, ips.ip, ips.bin,
  CASE WHEN ips.idx % 8 THEN 4 ELSE 6 END,
  1 + i % 7,
  CASE WHEN i % 100 < 97 OR i % 50 < 48 THEN 'none'
       WHEN i % 3 = 0 THEN 'quarantine' WHEN i % 3 = 1 THEN 'reject'
       ELSE 'none' END,
  CASE WHEN i % 100 < 97 THEN 'pass' ELSE 'fail' END,
  CASE WHEN i % 50 < 48 THEN 'pass' ELSE 'fail' END,
  CASE WHEN i % 100 < 97 OR i % 50 < 48 THEN 1 ELSE 0 END,
  CASE WHEN i % 4 = 0 THEN 'news.' ELSE '' END ||
    CASE (i / {per}) / {REPORTERS} % 2 WHEN 0 THEN 'example.com'
    ELSE 'example.org' END,
  'bounce.example.com'
FROM n JOIN ips ON ips.idx = (i * 7919 + i / {per}) % {IPS}
""")
t_rec = time.time()
con.execute(f"""INSERT INTO record_dkim (record_id, seq, domain, selector,
  result) SELECT id, 0, header_from, 's2023', dkim_aligned FROM records
  WHERE id >= {rec0}""")
con.execute(f"""INSERT INTO record_spf (record_id, seq, domain, scope,
  result) SELECT id, 0, envelope_from, 'mfrom', spf_aligned FROM records
  WHERE id >= {rec0}""")
con.execute(f"""UPDATE reports SET
  messages = (SELECT sum(count) FROM records WHERE report_id = reports.id),
  messages_pass = (SELECT sum(count * dmarc_pass) FROM records
                   WHERE report_id = reports.id)
  WHERE id BETWEEN {first} AND {last}""")
# The rollup, as store/agg.c writes it for a one-day report.
con.execute(f"""INSERT INTO agg_daily (day, source_ip, header_from,
  reporter, policy_domain, messages, dmarc_pass, spf_aligned_pass,
  dkim_aligned_pass, quarantine, reject)
SELECT date(r.begin, 'unixepoch'), c.source_ip, ifnull(c.header_from, ''),
  ifnull(r.org_name, ''), ifnull(r.policy_domain, ''), sum(c.count),
  sum(c.count * c.dmarc_pass),
  sum(CASE WHEN c.spf_aligned = 'pass' THEN c.count ELSE 0 END),
  sum(CASE WHEN c.dkim_aligned = 'pass' THEN c.count ELSE 0 END),
  sum(CASE WHEN c.disposition = 'quarantine' THEN c.count ELSE 0 END),
  sum(CASE WHEN c.disposition = 'reject' THEN c.count ELSE 0 END)
FROM records c JOIN reports r ON r.id = c.report_id
WHERE r.id BETWEEN {first} AND {last}
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (day, source_ip, header_from, reporter, policy_domain)
DO UPDATE SET messages = messages + excluded.messages,
  dmarc_pass = dmarc_pass + excluded.dmarc_pass,
  spf_aligned_pass = spf_aligned_pass + excluded.spf_aligned_pass,
  dkim_aligned_pass = dkim_aligned_pass + excluded.dkim_aligned_pass,
  quarantine = quarantine + excluded.quarantine,
  reject = reject + excluded.reject""")
# TLS-RPT: two reporters per domain and day; failure reports and
# rejected inputs: a few per day.
rid = last + 1
for day in range(DAYS):
    b = DAY0 + day * 86400
    dstr = time.strftime("%Y-%m-%d", time.gmtime(b))
    for d in DOMAINS:
        for org in ("google.com", "microsoft.com"):
            con.execute(
                "INSERT INTO reports (id, kind, org_name, email, report_id,"
                " begin, end, policy_domain, records, messages,"
                " messages_pass, reporter_key, imported_at) VALUES"
                " (?, 'tlsrpt', ?, ?, ?, ?, ?, ?, 1, 1000, 990, ?, ?)",
                (rid, org, "tls@" + org, f"tls-{org}-{d}-{day}", b,
                 b + 86400, d, "tls@" + org, int(time.time())))
            pid = con.execute(
                "INSERT INTO tlsrpt_policies (report_id, seq, policy_type,"
                " policy_domain, total_successful, total_failure) VALUES"
                " (?, 0, 'sts', ?, 990, 10)", (rid, d)).lastrowid
            con.execute("INSERT INTO tlsrpt_failures (policy_id, seq,"
                        " result_type, receiving_mx_hostname,"
                        " failed_session_count) VALUES (?, 0,"
                        " 'certificate-expired', ?, 10)", (pid, "mx1." + d))
            rid += 1
        con.execute("INSERT INTO tlsrpt_daily VALUES (?, ?, '', '', ?, ?)",
                    (dstr, d, 1980, 20))
        con.execute("INSERT INTO tlsrpt_daily VALUES (?, ?, ?,"
                    " 'certificate-expired', 0, ?)", (dstr, d, "mx1." + d,
                                                      20))
        con.execute(
            "INSERT INTO reports (id, kind, report_id, begin, end,"
            " policy_domain, records, messages, reporter_key, imported_at)"
            " VALUES (?, 'failure', ?, ?, ?, ?, 1, 1, ?, ?)",
            (rid, f"<fail-{day}-{d}@example>", b + 3600, b + 3600, d,
             f"arf:{rid:032x}", int(time.time())))
        con.execute(
            "INSERT INTO failure_reports (report_id, feedback_type,"
            " arrival_time, source_ip, reported_domain, auth_failure,"
            " delivery_result, orig_from, orig_subject) VALUES"
            " (?, 'auth-failure', ?, '203.0.113.5', ?, 'dmarc', 'reject',"
            " ?, 'invoice')", (rid, b + 3600, d, "billing@" + d))
        rid += 1
    con.execute("INSERT INTO rejected (origin, sha256, error_code,"
                " error_where, error_msg, at) VALUES (?, ?, 'format',"
                " 'line 1', 'not a report', ?)",
                (f"/var/mail/dmarc: message {day}", "0" * 64, b + 7200))
con.execute("COMMIT")
con.execute("PRAGMA journal_mode=WAL")
n_agg = con.execute("SELECT count(*) FROM agg_daily").fetchone()[0]
con.close()
print(f"gen_db: {total} records in {n_reports} aggregate reports over "
      f"{DAYS} days, {IPS} source IPs, {REPORTERS} reporters x "
      f"{len(DOMAINS)} domains; agg_daily {n_agg} rows; "
      f"{time.time() - t0:.0f} s (records {t_rec - t0:.0f} s)")
