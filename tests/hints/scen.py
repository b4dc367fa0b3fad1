"""Synthetic multi-day histories for the hints tests, driven through the
real CLI: per day a send log (CSV) and DMARC aggregate reports (XML), then
`dmarcwatch import`, `dmarcwatch sendlog import` and `dmarcwatch hints
--now`. Python 3 standard library only.

A World is one database and one configuration. Each day the simulated MTA
sends min(demand, the day cap of the last hint) per (IP, provider), spread
over 08:00-20:59, and nothing while a hint says pause. Extra lines (rate
limits, blocks) and DMARC changes are injected per day by the caller.
"""
import datetime
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import dwexec  # noqa: E402  DW_EXEC_WRAPPER

BASE = datetime.date(2026, 3, 2)
DOMAIN = {"google": "gmail.com", "yahoo": "yahoo.com",
          "quiet": "quiet.example", "silent": "silent.example"}
REPORTER = {"google": ("google.com", "noreply-dmarc-support@google.com"),
            "yahoo": ("yahoo.com", "dmarchelp@yahooinc.com")}
HERE = os.path.dirname(os.path.abspath(__file__))


def iso(day, h=0, m=0, s=0):
    d = BASE + datetime.timedelta(days=day)
    return f"{d.isoformat()}T{h:02d}:{m:02d}:{s:02d}Z"


def epoch(day):
    d = BASE + datetime.timedelta(days=day)
    return int(datetime.datetime(d.year, d.month, d.day,
                                 tzinfo=datetime.timezone.utc).timestamp())


class World:
    def __init__(self, exe, tmp, ips=("192.0.2.10",),
                 targets="google:320, yahoo:240", exports=False,
                 profile=None, profile_extra=None, hints_extra=()):
        """profile: the profile file (default tests/hints/providers.conf);
        profile_extra: {section: [lines]} added at the end of that section
        of it ("defaults" or a provider name; a later line wins), written
        to tmp."""
        self.exe, self.tmp = exe, tmp
        os.makedirs(tmp, exist_ok=True)
        prof = profile or os.path.join(HERE, "providers.conf")
        if profile_extra:
            with open(prof) as f:
                text = f.read()
            for sec, lines in profile_extra.items():
                head = ("[defaults]\n" if sec == "defaults"
                        else f"[provider {sec}]\n")
                i = text.index(head) + len(head)
                j = text.find("\n[", i)
                j = len(text) if j < 0 else j + 1
                text = text[:j] + "".join(ln + "\n" for ln in lines) + \
                    text[j:]
            prof = os.path.join(tmp, "providers.conf")
            with open(prof, "w") as f:
                f.write(text)
        self.db = os.path.join(tmp, "dw.db")
        self.json = os.path.join(tmp, "hints.json")
        self.conf = os.path.join(tmp, "dw.conf")
        self.ips = list(ips)
        self.hints = {}       # (ip, provider) -> last hint
        self.log = []         # every hints JSON, in order
        lines = ["[general]", f"database = {self.db}",
                 f"providers = {prof}",
                 "[sender]", "ips = " + ", ".join(self.ips),
                 "domains = example.com", f"target_daily = {targets}",
                 "[hints]", f"json = {self.json}", "instance = test"]
        lines += list(hints_extra)
        if exports:
            lines += [f"postfix_dir = {os.path.join(tmp, 'postfix')}",
                      f"kumomta_file = {os.path.join(tmp, 'kumo.json')}",
                      f"pmta_dir = {os.path.join(tmp, 'pmta')}"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def run(self, *args, check=True):
        p = subprocess.run(dwexec.cmd(self.exe) + ["-c", self.conf] +
                           list(args),
                           capture_output=True, text=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"{args}: exit {p.returncode}: {p.stderr}")
        return p

    def run_hints(self, day, hour=6, minute=0):
        self.run("hints", "--now", iso(day, hour, minute))
        with open(self.json) as f:
            doc = json.load(f)
        self.log.append(doc)
        for h in doc["hints"]:
            self.hints[(h["source_ip"], h["provider"])] = h
        return doc

    def cap(self, ip, provider):
        h = self.hints.get((ip, provider))
        if h is None:
            return 0
        return 0 if h["action"] == "pause" else h["max_per_day"]

    def hint(self, ip, provider):
        return self.hints.get((ip, provider))

    def send_day(self, day, demand, extra=(), dmarc=None, foreign=(),
                 reports=True):
        """demand: {(ip, provider): wanted}; extra: CSV rows to add
        (timestamp, ip, provider, status, code, enh, text); dmarc:
        {(ip, provider): (pass_share, quarantine, reject)} overrides;
        foreign: [(ip, provider, count, pass_count)] records of other
        senders in the provider's report; reports=False: no DMARC report
        at all. Returns accepted per key."""
        rows, accepted = [], {}
        for (ip, prov), want in sorted(demand.items()):
            n = min(want, self.cap(ip, prov))
            accepted[(ip, prov)] = n
            for i in range(n):
                h = 8 + (i * 13) // max(n, 1)
                rows.append((iso(day, h, (i * 7) % 60, i % 60), ip, prov,
                             "sent", 250, "2.0.0", "250 2.0.0 OK"))
        rows += list(extra)
        path = os.path.join(self.tmp, f"send-{day:03d}.csv")
        # No header line: the importer knows a log by its first line, so
        # each day's file must start differently (doc/sendlog.md).
        with open(path, "w") as f:
            for ts, ip, prov, st, code, enh, text in rows:
                f.write(f'{ts},{ip},{DOMAIN[prov]},{st},{code},{enh},'
                        f'"{text}"\n')
        if rows:
            self.run("sendlog", "import", "--format", "csv", path)
        for prov in sorted({p for (_, p) in demand} |
                           {f[1] for f in foreign}):
            recs = []
            for (ip, p), n in sorted(accepted.items()):
                if p != prov or n == 0:
                    continue
                share, quar, rej = (dmarc or {}).get((ip, p), (1.0, 0, 0))
                npass = int(round(n * share))
                recs.append((ip, npass, "none", "pass"))
                if n - npass > 0:
                    rest = n - npass
                    q = min(quar, rest)
                    r = min(rej, rest - q)
                    if rest - q - r > 0:
                        recs.append((ip, rest - q - r, "none", "fail"))
                    if q:
                        recs.append((ip, q, "quarantine", "fail"))
                    if r:
                        recs.append((ip, r, "reject", "fail"))
            for ip, p, count, npass in foreign:
                if p == prov:
                    recs.append((ip, npass, "none", "pass"))
                    if count - npass:
                        recs.append((ip, count - npass, "none", "fail"))
            if recs and prov in REPORTER and reports:
                self.import_report(day, prov, recs)
        return accepted

    def import_report(self, day, prov, recs):
        org, email = REPORTER[prov]
        body = "".join(
            f"<record><row><source_ip>{ip}</source_ip><count>{n}</count>"
            f"<policy_evaluated><disposition>{disp}</disposition>"
            f"<dkim>{res}</dkim><spf>{res}</spf></policy_evaluated></row>"
            "<identifiers><header_from>example.com</header_from>"
            "</identifiers><auth_results><dkim><domain>example.com</domain>"
            f"<result>{res}</result></dkim><spf><domain>example.com</domain>"
            f"<result>{res}</result></spf></auth_results></record>"
            for ip, n, disp, res in recs)
        b = epoch(day)
        xml = ('<?xml version="1.0"?><feedback><version>1.0</version>'
               f"<report_metadata><org_name>{org}</org_name>"
               f"<email>{email}</email><report_id>{prov}-{day:03d}"
               f"</report_id><date_range><begin>{b}</begin><end>"
               f"{b + 86399}</end></date_range></report_metadata>"
               "<policy_published><domain>example.com</domain><p>none</p>"
               f"</policy_published>{body}</feedback>\n")
        path = os.path.join(self.tmp, f"dmarc-{prov}-{day:03d}.xml")
        with open(path, "w") as f:
            f.write(xml)
        self.run("import", "-q", path)
