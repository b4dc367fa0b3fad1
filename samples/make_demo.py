#!/usr/bin/env python3
"""The quick start demo (dist/quickstart.sh): a closed-loop warm-up of two
new IPs of ours, driven through the real CLI.

Each demo day the simulated MTA runs `dmarcwatch hints` in the morning,
reads its throttle-hints file and sends min(demand, the hint's caps) per
(IP, provider): per hour at most the hour cap, per day at most the day
cap, nothing while a hint pauses or a provider's stop runs. Its log goes
in with `dmarcwatch sendlog import`; each receiver's DMARC aggregate
report for the day arrives the next morning, after that day's hints run
(`dmarcwatch import`). What happens on the way:

  * day 6: Gmail answers 421 4.7.28 to IP1 around 10:05; a hints run at
    10:15 sees it: reduce, a 10-minute stop, one connection (the sender
    obeys); the next morning's gate holds the day (AMBER);
  * day 7: Yahoo defers IP1 with [TSS04] in the afternoon, when no hints
    run comes: the next morning's gate still sees it (missed rate codes:
    AMBER, S set);
  * a spoofer, 203.0.113.99, sends as example.com (DMARC fails, rejected)
    in Google's and Yahoo's reports: foreign_senders, never our volume.

The demo ends mid-warm-up, so the last hints still advance. Invented data
(example.com, 198.51.100.0/24, 203.0.113.0/24); deterministic: no
randomness and no clock (every run has --now), so the same binary gives
byte-identical output.

Usage (from the repository root, as quickstart.sh does):
  python3 samples/make_demo.py --exe build/cli/dmarcwatch \\
      --conf samples/demo/dmarcwatch.conf --work demo-out/input
Prints one line per day and key; exit 0, or 1 when a command failed.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

BASE = datetime.date(2026, 1, 5)        # demo day 0
DAYS = 10                               # days 0..9; last hints: day 10
IP1, IP2, SPOOF = "198.51.100.10", "198.51.100.11", "203.0.113.99"
RCPT = {"google": "gmail.com", "microsoft": "outlook.com",
        "yahoo": "yahoo.com"}
REPORTER = {"google": ("google.com", "noreply-dmarc-support@google.com"),
            "microsoft": ("Enterprise Outlook", "dmarcreport@microsoft.com"),
            "yahoo": ("Yahoo", "dmarchelp@yahooinc.com")}
# What the sender would like to send per day (IP, provider): more than
# the caps allow, so the hints decide.
DEMAND = {(IP1, "google"): 50000, (IP2, "google"): 50000,
          (IP1, "yahoo"): 50000, (IP2, "microsoft"): 50000}
HOURS = range(8, 21)                    # the sender works 08:00-20:59
RATE_DAY, RATE_AT = 6, (10, 5)          # Gmail 4.7.28 burst, seen
RATE_RUN = (10, 15)                     # ... by this hints run
TSS_DAY, TSS_AT = 7, (14, 20)           # Yahoo TSS04, no run that hour


def day_of(d):
    return BASE + datetime.timedelta(days=d)


def iso(d, h=0, m=0, s=0):
    return f"{day_of(d).isoformat()}T{h:02d}:{m:02d}:{s:02d}Z"


def epoch(d, h=0, m=0):
    x = day_of(d)
    return int(datetime.datetime(x.year, x.month, x.day, h, m,
                                 tzinfo=datetime.timezone.utc).timestamp())


def conf_value(path, section, key):
    """key = value of [section] in an INI file (None when absent)."""
    cur = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                cur = line.strip("[]").strip()
            elif cur == section and "=" in line and \
                    line.split("=", 1)[0].strip() == key:
                return line.split("=", 1)[1].strip()
    return None


class Demo:
    def __init__(self, exe, conf, work, quiet=False):
        self.exe, self.conf, self.work = exe, conf, work
        self.quiet = quiet
        os.makedirs(work, exist_ok=True)
        self.hints = {}
        self.json_path = conf_value(conf, "hints", "json")
        if self.json_path is None:
            raise SystemExit(f"make_demo: {conf}: no [hints] json")
        self.delivered = {}              # (ip, prov, day) -> accepted

    def run(self, *args):
        cmd = [self.exe, "-c", self.conf] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode not in (0, 3):
            sys.stderr.write(f"make_demo: {' '.join(cmd)}: exit "
                             f"{p.returncode}\n{p.stderr}")
            raise SystemExit(1)
        return p

    def run_hints(self, d, h=6, m=0):
        """One hints run; the files configured in [hints] (the JSON and
        the exports) are written as by the timer, the MTA reads the JSON
        back."""
        p = self.run("hints", "--now", iso(d, h, m))
        with open(self.json_path) as f:
            doc = json.load(f)
        self.hints = {(x["source_ip"], x["provider"]): x
                      for x in doc["hints"]}
        return p.stdout

    def caps(self, key):
        """(per hour, per day, held until epoch or 0) of key's hint."""
        x = self.hints.get(key)
        if x is None:
            return 0, 0, 0
        if x["action"] == "pause":
            return 0, 0, 1 << 62
        until = 0
        if "stop_until" in x:
            t = datetime.datetime.strptime(x["stop_until"],
                                           "%Y-%m-%dT%H:%M:%SZ")
            until = int(t.replace(tzinfo=datetime.timezone.utc)
                        .timestamp())
        return x["max_per_hour"], x["max_per_day"], until

    def send(self, d, hours, sent, extra=()):
        """Sends day d's mail in the given hours (the caps of the current
        hints), adds extra rows; imports it as one log file."""
        rows = []
        for key in sorted(DEMAND):
            ip, prov = key
            per_hour, per_day, held = self.caps(key)
            for h in hours:
                left = min(DEMAND[key], per_day) - sent.get(key, 0)
                start = epoch(d, h)
                if held > start:
                    # a stop or pause: nothing until it ends
                    if held >= start + 3600:
                        continue
                    m0 = (held - start + 59) // 60
                else:
                    m0 = 0
                n = max(0, min(per_hour, left))
                for i in range(n):
                    m = m0 + (i * (60 - m0)) // max(n, 1)
                    rows.append((iso(d, h, m, i % 60), ip, prov, "sent",
                                 250, "2.0.0", "250 2.0.0 OK"))
                sent[key] = sent.get(key, 0) + n
        rows += list(extra)
        rows.sort()
        if not rows:
            return
        path = os.path.join(self.work, f"send-{d:02d}-{hours[0]:02d}.csv")
        with open(path, "w") as f:
            for t, ip, prov, st, code, enh, text in rows:
                f.write(f'{t},{ip},{RCPT[prov]},{st},{code},{enh},'
                        f'"{text}"\n')
        self.run("sendlog", "import", "--format", "csv", path)

    def report(self, d):
        """The DMARC aggregate reports for day d (they arrive on d + 1)."""
        paths = []
        for prov in sorted(REPORTER):
            org, email = REPORTER[prov]
            recs = []
            for (ip, p) in sorted(DEMAND):
                n = self.delivered.get((ip, p, d), 0)
                if p != prov or n == 0:
                    continue
                # the odd forwarded message fails DMARC
                fail = 1 if d % 4 == 3 and n >= 100 else 0
                recs.append((ip, n - fail, "none", "pass"))
                if fail:
                    recs.append((ip, fail, "none", "fail"))
            if prov != "microsoft" and d % 3 == 1:
                recs.append((SPOOF, 40 + d, "reject", "fail"))
            if not recs:
                continue
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
            path = os.path.join(self.work, f"{prov}!example.com!{b}!"
                                f"{b + 86399}.xml")
            with open(path, "w") as f:
                f.write(xml)
            paths.append(path)
        if paths:
            self.run("import", "-q", *paths)

    def show(self, label):
        if self.quiet:
            return
        for key in sorted(DEMAND):
            x = self.hints[key]
            stop = f" stop until {x['stop_until'][11:16]}" \
                if "stop_until" in x else ""
            print(f"{label}  {key[0]:<14} {key[1]:<9} {x['action']:<7} "
                  f"{x['max_per_day']:>6}/day {x['max_per_hour']:>5}/h "
                  f"{x['max_connections']:>2} conn  {x['phase']:<8} "
                  f"gate {x['gate']['verdict']:<5} {x['reason']}{stop}")

    def day(self, d):
        self.run_hints(d)
        self.show(iso(d, 6)[:16])
        if d > 0:
            self.report(d - 1)
        sent = {}
        if d == RATE_DAY:
            burst = [(iso(d, RATE_AT[0], RATE_AT[1] + i), IP1, "google",
                      "deferred", 421, "4.7.28",
                      "421-4.7.28 Our system has detected an unusual rate "
                      "of unsolicited mail originating from your IP "
                      "address. To protect our users from spam, mail sent "
                      "from your IP address has been temporarily rate "
                      "limited.") for i in range(5)]
            self.send(d, list(range(8, RATE_RUN[0])), sent)
            # the 10:00 hour up to the run, with the burst
            self.send_partial(d, RATE_RUN, sent, burst)
            self.run_hints(d, *RATE_RUN)
            self.show(iso(d, *RATE_RUN)[:16])
            self.send_after(d, RATE_RUN, sent)
            self.send(d, list(range(RATE_RUN[0] + 1, 21)), sent)
        else:
            extra = []
            if d == TSS_DAY:
                extra = [(iso(d, TSS_AT[0], TSS_AT[1] + i), IP1, "yahoo",
                          "deferred", 421, "4.7.0",
                          f"421 4.7.0 [TSS04] Messages from {IP1} "
                          "temporarily deferred due to unexpected volume "
                          "or user complaints - 4.16.55.1")
                         for i in range(4)]
            self.send(d, list(HOURS), sent, extra)
        for (ip, prov), n in sent.items():
            self.delivered[(ip, prov, d)] = n

    def send_partial(self, d, until, sent, extra):
        """The hour until[0] up to minute until[1], at the current
        caps (a share of the hour cap)."""
        rows = list(extra)
        for key in sorted(DEMAND):
            ip, prov = key
            per_hour, per_day, _ = self.caps(key)
            left = min(DEMAND[key], per_day) - sent.get(key, 0)
            n = max(0, min(per_hour * until[1] // 60, left))
            for i in range(n):
                rows.append((iso(d, until[0], (i * until[1]) // max(n, 1),
                                 i % 60), ip, prov, "sent", 250, "2.0.0",
                             "250 2.0.0 OK"))
            sent[key] = sent.get(key, 0) + n
        self.write_import(d, f"{until[0]:02d}a", rows)

    def send_after(self, d, since, sent):
        """The rest of hour since[0] after the run, at the new caps."""
        rows = []
        for key in sorted(DEMAND):
            ip, prov = key
            per_hour, per_day, held = self.caps(key)
            start = epoch(d, since[0], since[1])
            if held > start:
                start = held
            end = epoch(d, since[0] + 1)
            if start >= end:
                continue
            left = min(DEMAND[key], per_day) - sent.get(key, 0)
            n = max(0, min(per_hour * (end - start) // 3600, left))
            for i in range(n):
                t = start + (i * (end - start)) // max(n, 1)
                rows.append((datetime.datetime.fromtimestamp(
                    t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    ip, prov, "sent", 250, "2.0.0", "250 2.0.0 OK"))
            sent[key] = sent.get(key, 0) + n
        self.write_import(d, f"{since[0]:02d}b", rows)

    def write_import(self, d, tag, rows):
        rows.sort()
        if not rows:
            return
        path = os.path.join(self.work, f"send-{d:02d}-{tag}.csv")
        with open(path, "w") as f:
            for t, ip, prov, st, code, enh, text in rows:
                f.write(f'{t},{ip},{RCPT[prov]},{st},{code},{enh},'
                        f'"{text}"\n')
        self.run("sendlog", "import", "--format", "csv", path)

    def finish(self):
        """The last morning: the final hints (then yesterday's reports
        arrive, as every morning; they wait for tomorrow's run)."""
        out = self.run_hints(DAYS)
        self.show(iso(DAYS, 6)[:16])
        self.report(DAYS - 1)
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--exe", required=True)
    ap.add_argument("--conf", required=True)
    ap.add_argument("--work", required=True,
                    help="directory for the generated logs and reports")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    demo = Demo(a.exe, a.conf, a.work, quiet=a.quiet)
    for d in range(DAYS):
        demo.day(d)
    sys.stdout.write(demo.finish())
    return 0


if __name__ == "__main__":
    sys.exit(main())
