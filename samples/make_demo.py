#!/usr/bin/env python3
"""Regenerate samples/demo/: the demo the README quick start runs
(dist/quickstart.sh): a configuration, ten days of send log for two of
our IPs towards Google, Microsoft and Yahoo (with some 4.7.28 and TSS04
deferrals), and the matching DMARC aggregate reports of those providers'
reporters, plus one spoofing IP sending as example.com.

Written by the dmarcwatch developers; invented data (example.com,
198.51.100.0/24, 203.0.113.0/24). Deterministic: no randomness, no
clock. Usage: python3 samples/make_demo.py
"""
import datetime
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "demo")
BASE = datetime.date(2026, 1, 5)        # day 0; days 0..9
DAYS = 10
NOW = "2026-01-15T06:00:00Z"            # hints --now, after the last day
IP1, IP2, SPOOF = "198.51.100.10", "198.51.100.11", "203.0.113.99"
RCPT = {"google": "gmail.com", "microsoft": "outlook.com",
        "yahoo": "yahoo.com"}
REPORTER = {"google": ("google.com", "noreply-dmarc-support@google.com"),
            "microsoft": ("Enterprise Outlook", "dmarcreport@microsoft.com"),
            "yahoo": ("Yahoo", "dmarchelp@yahooinc.com")}
TARGET = {"google": 600, "microsoft": 400, "yahoo": 400}
# (ip, provider) -> messages per day: a ramp towards the target.
KEYS = [(IP1, "google"), (IP1, "yahoo"), (IP2, "microsoft"),
        (IP2, "google")]


def volume(ip, prov, d):
    start = 60 if ip == IP1 else 40
    return min(TARGET[prov], start * (d + 1))


def iso(d, h, m, s=0):
    day = BASE + datetime.timedelta(days=d)
    return f"{day.isoformat()}T{h:02d}:{m:02d}:{s:02d}Z"


def epoch(d):
    day = BASE + datetime.timedelta(days=d)
    return int(datetime.datetime(day.year, day.month, day.day,
                                 tzinfo=datetime.timezone.utc).timestamp())


CONF = f"""# samples/demo/dmarcwatch.conf - the quick start demo (samples/README.md).
# Relative paths are relative to the directory dmarcwatch runs in: run it
# from the repository root, as dist/quickstart.sh does.
[general]
database = dmarcwatch.db
providers = dist/providers.conf

[sender]
ips = {IP1}, {IP2}
domains = example.com
target_daily = google:{TARGET['google']}, microsoft:{TARGET['microsoft']}, yahoo:{TARGET['yahoo']}

[hints]
json = demo-out/throttle-hints.json
postfix_dir = demo-out/postfix
kumomta_file = demo-out/kumomta-throttle.json
pmta_dir = demo-out/pmta
instance = demo
"""


def main():
    os.makedirs(os.path.join(OUT, "reports"), exist_ok=True)
    with open(os.path.join(OUT, "dmarcwatch.conf"), "w") as f:
        f.write(CONF)
    rows = []
    delivered = {}
    for d in range(DAYS):
        for ip, prov in KEYS:
            n = volume(ip, prov, d)
            ok = n
            for i in range(n):
                h = 8 + (i * 12) // n
                rows.append((iso(d, h, (i * 7) % 60, i % 60), ip,
                             RCPT[prov], "sent", 250, "2.0.0",
                             "250 2.0.0 OK"))
            # Day 6: Gmail rate-limits IP1 (4.7.28) in the morning.
            if (ip, prov, d) == (IP1, "google", 6):
                for i in range(12):
                    rows.append((iso(d, 9, 10 + i), ip, RCPT[prov],
                                 "deferred", 421, "4.7.28",
                                 "421 4.7.28 Our system has detected an "
                                 "unusual rate of unsolicited mail"))
            # Day 8: Yahoo defers a few for IP1 (TSS04).
            if (ip, prov, d) == (IP1, "yahoo", 8):
                for i in range(5):
                    rows.append((iso(d, 14, 20 + i), ip, RCPT[prov],
                                 "deferred", 421, "4.7.0",
                                 "421 4.7.0 [TSS04] Messages from "
                                 f"{ip} temporarily deferred"))
            delivered[(ip, prov, d)] = ok
    rows.sort()
    with open(os.path.join(OUT, "sendlog.csv"), "w") as f:
        f.write("timestamp,source_ip,recipient_domain,status,smtp_code,"
                "enhanced_code,response\n")
        for r in rows:
            f.write(f'{r[0]},{r[1]},{r[2]},{r[3]},{r[4]},{r[5]},"{r[6]}"\n')
    for prov in sorted(REPORTER):
        org, email = REPORTER[prov]
        for d in range(DAYS):
            recs = []
            for ip, p in KEYS:
                if p != prov:
                    continue
                n = delivered[(ip, p, d)]
                fail = 1 if d % 4 == 3 else 0   # the odd forwarded message
                recs.append((ip, n - fail, "none", "pass"))
                if fail:
                    recs.append((ip, fail, "none", "fail"))
            if prov != "microsoft" and d % 3 == 1:
                recs.append((SPOOF, 3 + d, "reject", "fail"))
            body = "".join(
                f"<record><row><source_ip>{ip}</source_ip><count>{n}"
                f"</count><policy_evaluated><disposition>{disp}"
                f"</disposition><dkim>{res}</dkim><spf>{res}</spf>"
                "</policy_evaluated></row><identifiers><header_from>"
                "example.com</header_from></identifiers><auth_results>"
                "<dkim><domain>example.com</domain><selector>s1</selector>"
                f"<result>{res}</result></dkim><spf><domain>example.com"
                f"</domain><result>{res}</result></spf></auth_results>"
                "</record>\n" for ip, n, disp, res in recs)
            b = epoch(d)
            xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<feedback>'
                   "<version>1.0</version>\n<report_metadata><org_name>"
                   f"{org}</org_name><email>{email}</email><report_id>"
                   f"demo-{prov}-{d:02d}</report_id><date_range><begin>{b}"
                   f"</begin><end>{b + 86399}</end></date_range>"
                   "</report_metadata>\n<policy_published><domain>"
                   "example.com</domain><adkim>r</adkim><aspf>r</aspf>"
                   "<p>reject</p><sp>reject</sp><pct>100</pct>"
                   f"</policy_published>\n{body}</feedback>\n")
            name = f"{org.split()[-1].lower()}!example.com!{b}!{b + 86399}.xml"
            if prov == "microsoft":
                name = f"outlook.com!example.com!{b}!{b + 86399}.xml"
            with open(os.path.join(OUT, "reports", name), "w") as f:
                f.write(xml)
    with open(os.path.join(OUT, "NOW"), "w") as f:
        f.write(NOW + "\n")


if __name__ == "__main__":
    main()
