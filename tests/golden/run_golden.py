#!/usr/bin/env python3
"""Golden cases: tests/golden/NNNN-name/ holds an input and expected.txt.

The input is every file named input* in the case directory, or, when the
case has a file `source`, the paths listed in it (relative to samples/).
The runner imports the input into a fresh database and writes a normalised
dump of the rows (reports, records with their auth results, warnings, raw
values, TLS-RPT policies / failure details, failure-report rows, the daily
rollups agg_daily and tlsrpt_daily, rejected inputs), then diffs it against
expected.txt. Volatile columns (row ids, imported_at, message_id) are left
out.

  run_golden.py DW_EXE            run all cases
  run_golden.py DW_EXE --update   rewrite expected.txt (review the diff!)
"""
import difflib
import json
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import dwexec  # noqa: E402  DW_EXEC_WRAPPER
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.environ.get("DW_SAMPLES", os.path.join(HERE, "..", "..", "samples"))


def dump(db):
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    out = []

    def rows(sql, *args):
        return con.execute(sql, args).fetchall()

    def fmt(r, skip=()):
        return " ".join(f"{k}={r[k]!r}" for k in r.keys() if k not in skip)

    tables = {r[0] for r in rows("SELECT name FROM sqlite_master "
                                 "WHERE type = 'table'")}
    has_tls = "tlsrpt_policies" in tables
    has_fail = "failure_reports" in tables

    for rep in rows("SELECT * FROM reports ORDER BY begin, report_id, id"):
        out.append("report " + fmt(rep, ("id", "message_id", "imported_at")))
        for w in rows("SELECT code, count, detail FROM report_warnings "
                      "WHERE report_id = ? ORDER BY code", rep["id"]):
            out.append("  warning " + fmt(w))
        for e in rows("SELECT * FROM report_errors WHERE report_id = ? "
                      "ORDER BY seq", rep["id"]):
            out.append("  error " + fmt(e, ("id", "report_id")))
        for rv in rows("SELECT field, raw FROM raw_values WHERE report_id = ?"
                       " AND record_id IS NULL ORDER BY field", rep["id"]):
            out.append("  raw " + fmt(rv))
        for rec in rows("SELECT * FROM records WHERE report_id = ? "
                        "ORDER BY seq", rep["id"]):
            d = {k: rec[k] for k in rec.keys()
                 if k not in ("id", "report_id")}
            if isinstance(d.get("source_ip_bin"), bytes):
                d["source_ip_bin"] = d["source_ip_bin"].hex()
            out.append("  record " + " ".join(f"{k}={v!r}" for k, v in d.items()))
            for t in ("record_dkim", "record_spf", "record_reasons"):
                for x in rows(f"SELECT * FROM {t} WHERE record_id = ? "
                              "ORDER BY seq", rec["id"]):
                    out.append(f"    {t[7:]} " + fmt(x, ("id", "record_id")))
            for rv in rows("SELECT field, raw FROM raw_values WHERE "
                           "record_id = ? ORDER BY field", rec["id"]):
                out.append("    raw " + fmt(rv))
        # TLS-RPT policies with their failure details, and the failure
        # report row (kinds tlsrpt / failure; none for aggregates, so the
        # dump of aggregate cases is unchanged)
        if has_tls:
            for pol in rows("SELECT * FROM tlsrpt_policies WHERE "
                            "report_id = ? ORDER BY seq", rep["id"]):
                out.append("  tls_policy " + fmt(pol, ("id", "report_id")))
                for f in rows("SELECT * FROM tlsrpt_failures WHERE "
                              "policy_id = ? ORDER BY seq", pol["id"]):
                    out.append("    tls_failure " + fmt(f, ("policy_id",)))
        if has_fail:
            for f in rows("SELECT * FROM failure_reports WHERE "
                          "report_id = ?", rep["id"]):
                d = {k: f[k] for k in f.keys() if k != "report_id"}
                if isinstance(d.get("orig_body"), bytes):
                    d["orig_body"] = d["orig_body"].hex()
                out.append("  failure " + " ".join(f"{k}={v!r}"
                                                   for k, v in d.items()))
    for d in rows("SELECT * FROM agg_daily ORDER BY day, source_ip, "
                  "header_from, reporter, policy_domain"):
        out.append("daily " + fmt(d))
    if has_tls:
        for d in rows("SELECT * FROM tlsrpt_daily ORDER BY day, "
                      "policy_domain, receiving_mx, result_type"):
            out.append("tls_daily " + fmt(d))
    for r in rows("SELECT origin, error_code, error_where, error_msg "
                  "FROM rejected ORDER BY id"):
        # origins start with the (temporary or sample) path: keep the
        # file name and what follows it (part, member, message number)
        origin = r["origin"]
        path, sep, rest = origin.partition(": ")
        origin = os.path.basename(path) + sep + rest
        out.append(f"rejected origin={origin!r} code={r['error_code']!r}"
                   f" where={r['error_where']!r} msg={r['error_msg']!r}")
    con.close()
    return "\n".join(out) + "\n"


def inputs(case):
    src = os.path.join(case, "source")
    if os.path.exists(src):
        return [os.path.join(SAMPLES, l.strip()) for l in open(src)
                if l.strip() and not l.startswith("#")]
    return sorted(os.path.join(case, f) for f in os.listdir(case)
                  if f.startswith("input"))


def main():
    exe = sys.argv[1]
    update = "--update" in sys.argv
    cases = sorted(d for d in os.listdir(HERE)
                   if os.path.isdir(os.path.join(HERE, d)) and d[:4].isdigit())
    passed = failed = 0
    for name in cases:
        case = os.path.join(HERE, name)
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "g.db")
            p = subprocess.run(dwexec.cmd(exe) + ["-q", "import", "-d", db, "--json"] +
                               inputs(case), capture_output=True, text=True)
            got = f"exit {p.returncode}\n"
            try:
                summary = json.loads(p.stdout)
                summary.pop("database", None)
                got += "summary " + json.dumps(summary, sort_keys=True) + "\n"
            except ValueError:
                got += "summary-unparsable " + p.stdout
            if p.returncode in (0, 3):
                got += dump(db)
        exp_path = os.path.join(case, "expected.txt")
        if update:
            with open(exp_path, "w") as f:
                f.write(got)
            print(f"updated {name}")
            continue
        exp = open(exp_path).read() if os.path.exists(exp_path) else ""
        if got == exp:
            passed += 1
            print(f"ok {passed + failed} - {name}")
        else:
            failed += 1
            print(f"not ok {passed + failed} - {name}")
            sys.stdout.writelines(difflib.unified_diff(
                exp.splitlines(True), got.splitlines(True),
                "expected.txt", "got"))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or (not update and not cases) else 0


if __name__ == "__main__":
    sys.exit(main())
