#!/usr/bin/env python3
"""test_samples.py DW_EXE - import every sample listed in samples/EXPECTED.tsv
and check the outcome against the expectations written by hand.

Per EXPECTED.tsv row: fresh database, `import --json PATH`, then
  exit code (0 stored, 3 rejected/partial), the JSON summary,
  `reports --json` sums (and per-report identity from EXPECTED-reports.tsv),
  report_warnings codes, rejected.error_code,
  and a second import of the same path: a no-op (exit 0, nothing new, the
  message bytes are known so a rejected input is not rejected again).
Then all of samples/reports into one database, twice.

EXPECTED.tsv conventions (see samples/README.md):
  warnings: comma list, every token must be present; a token "a|b" is
            satisfied by either.
  notes:    leading key=value tokens: msgs=N (input messages in a
            container, default 1), dup-of=PATH (same report as PATH),
            flavour=rfc9990, msgs_rejected=N (partial directory batch:
            N whole input files rejected), msg=TEXT / where=TEXT (a
            rejected row with the expected error_code has TEXT in
            error_msg / error_where: the message names the cap or the
            cause, the where the place).
  Every rejected row must carry a specific message: not empty and not a
  placeholder such as "reading the report failed".
EXPECTED-reports.tsv: one row per report that must land; "-" = do not
  compare, "null" = reports --json prints null (flavour of TLS-RPT and
  failure reports, org_name/email of failure reports); kind = aggregate,
  tlsrpt or failure.
Prints `ok N - ...` / `not ok N - ...`; last line `N passed, N failed`.
Standard library only.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import dwexec  # noqa: E402  DW_EXEC_WRAPPER
import tempfile

EXE = None
SAMPLES = None
N = [0, 0]          # passed, failed
TIMEOUT = dwexec.scale(180)
# Messages that say a read failed without saying why or where: never
# acceptable for a rejected input (issue 2 item 5, "what and where").
GENERIC_MESSAGES = ('reading the report failed', 'cannot read payload',
                    'XML reader failed')


def check(cond, desc, detail=None):
    n = N[0] + N[1] + 1
    if cond:
        N[0] += 1
        print('ok %d - %s' % (n, desc))
    else:
        N[1] += 1
        print('not ok %d - %s' % (n, desc))
        if detail is not None:
            for line in str(detail).splitlines()[:12]:
                print('#   ' + line)
    sys.stdout.flush()
    return cond


def run(args):
    """Returns (returncode, stdout, stderr); returncode None on timeout."""
    try:
        p = subprocess.run(dwexec.cmd(EXE) + args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, b'', b'timeout'
    return p.returncode, p.stdout, p.stderr


def rc_desc(rc, err):
    if rc is None:
        return 'timed out after %d s' % TIMEOUT
    if rc < 0:
        return 'killed by signal %d' % -rc
    return 'exit %d; stderr: %s' % (rc, err.decode('utf-8', 'replace')[-800:])


def import_json(db, path):
    rc, out, err = run(['import', '-d', db, '--json', path])
    summary = None
    try:
        summary = json.loads(out.decode('utf-8'))
        if not isinstance(summary, dict):
            summary = None
    except (ValueError, UnicodeDecodeError):
        pass
    return rc, summary, out, err


def list_reports(db):
    rc, out, err = run(['reports', '-d', db, '--json'])
    if rc != 0:
        return None, rc_desc(rc, err)
    try:
        v = json.loads(out.decode('utf-8'))
    except (ValueError, UnicodeDecodeError) as e:
        return None, 'bad JSON from reports --json: %s: %r' % (e, out[:300])
    if not isinstance(v, list):
        return None, 'reports --json is not an array'
    return v, None


def db_query(db, sql):
    try:
        con = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
        try:
            return con.execute(sql).fetchall(), None
        finally:
            con.close()
    except sqlite3.Error as e:
        return None, 'sqlite: %s (%s)' % (e, sql)


def load_tsv(path):
    with open(path, encoding='utf-8') as f:
        lines = [l.rstrip('\n') for l in f if l.strip()]
    hdr = lines[0].split('\t')
    return [dict(zip(hdr, l.split('\t'))) for l in lines[1:]]


def note_tokens(notes):
    toks = {}
    for t in notes.split():
        if '=' in t and t.split('=', 1)[0] in ('msgs', 'dup-of', 'flavour',
                                               'msgs_rejected', 'msg',
                                               'where'):
            k, v = t.split('=', 1)
            toks[k] = v
        else:
            break
    return toks


def sum_field(reps, k):
    return sum(int(r.get(k) or 0) for r in reps)


def check_row(row, per_report, tmp):
    path = row['path']
    full = os.path.join(SAMPLES, path)
    outcome = row['outcome']
    nrep = int(row['reports'])
    nrec = int(row['records'])
    nmsg = int(row['messages'])
    npass = int(row['messages_pass'])
    toks = note_tokens(row['notes'])
    msgs = int(toks.get('msgs', '1'))
    db = os.path.join(tmp, 'one.db')
    for suffix in ('', '-wal', '-shm', '-journal'):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    t = path + ': '

    if not os.path.exists(full):
        check(False, t + 'sample exists (run samples/make_samples.py)')
        return

    rc, s, out, err = import_json(db, full)
    want_rc = 0 if outcome in ('stored', 'known') else 3
    if not check(rc == want_rc, t + 'import exits %d' % want_rc,
                 rc_desc(rc, err)):
        if rc is None or rc < 0 or rc == 1 or rc == 2:
            return          # crash / fatal: the rest would only add noise
    if not check(s is not None, t + 'import --json prints one JSON object',
                 repr(out[:300])):
        return
    exp = {'messages': msgs, 'reports_new': nrep, 'records': nrec,
           'transient': 0}
    if outcome == 'rejected':
        exp['messages_rejected'] = msgs
    elif outcome in ('stored', 'known'):
        exp['messages_rejected'] = 0
        exp['reports_rejected'] = 0
    elif outcome == 'partial':
        # a directory batch: whole files may be rejected (msgs_rejected=N)
        exp['messages_rejected'] = int(toks.get('msgs_rejected', '0'))
    bad = ['%s=%r (want %r)' % (k, s.get(k), v) for k, v in exp.items()
           if s.get(k) != v]
    if outcome == 'partial' and not (s.get('reports_rejected') or 0) >= 1:
        bad.append('reports_rejected=%r (want >= 1)' % s.get('reports_rejected'))
    check(not bad, t + 'import summary', '; '.join(bad) + '\n' + json.dumps(s))

    reps, e = list_reports(db)
    if check(reps is not None, t + 'reports --json', e):
        got = (len(reps), sum_field(reps, 'records'),
               sum_field(reps, 'messages'), sum_field(reps, 'messages_pass'))
        check(got == (nrep, nrec, nmsg, npass),
              t + 'stored reports/records/messages/pass = %d/%d/%d/%d'
              % (nrep, nrec, nmsg, npass), 'got %d/%d/%d/%d' % got)
        for er in per_report.get(path, []):
            match = [r for r in reps
                     if str(r.get('report_id')) == er['report_id']
                     and r.get('begin_epoch') == int(er['begin'])
                     and r.get('end_epoch') == int(er['end'])]
            desc = t + 'report %s %s..%s' % (er['report_id'], er['begin'],
                                              er['end'])
            if not check(len(match) == 1, desc + ' present once',
                         'got: ' + json.dumps([(r.get('report_id'),
                             r.get('begin_epoch'), r.get('end_epoch'))
                             for r in reps])):
                continue
            r = match[0]
            diffs = []
            for k in ('policy_domain', 'email', 'org_name', 'flavour'):
                want = None if er[k] == 'null' else er[k]
                if er[k] != '-' and r.get(k) != want:
                    diffs.append('%s=%r want %r' % (k, r.get(k), want))
            for k in ('records', 'messages', 'messages_pass'):
                if r.get(k) != int(er[k]):
                    diffs.append('%s=%r want %s' % (k, r.get(k), er[k]))
            want_kind = er.get('kind') or 'aggregate'
            if r.get('kind') != want_kind:
                diffs.append('kind=%r want %r' % (r.get('kind'), want_kind))
            check(not diffs, desc + ' fields', '; '.join(diffs))

    if row['warnings'] != '-':
        rows, e = db_query(db, 'SELECT DISTINCT code FROM report_warnings')
        if check(rows is not None, t + 'report_warnings readable', e):
            codes = {r[0] for r in rows}
            for w in row['warnings'].split(','):
                alts = w.split('|')
                check(any(a in codes for a in alts),
                      t + 'warning ' + w, 'have: ' + ','.join(sorted(codes)))

    nrej_before = None
    if row['error'] != '-':
        rows, e = db_query(db, 'SELECT error_code, error_msg, error_where'
                           ' FROM rejected')
        if check(rows is not None, t + 'rejected readable', e):
            codes = [r[0] for r in rows]
            nrej_before = len(codes)
            check(row['error'] in codes, t + 'rejected.error_code '
                  + row['error'], 'have: %r' % codes)
            vague = [r for r in rows if not (r[1] or '').strip()
                     or r[1] in GENERIC_MESSAGES]
            check(not vague, t + 'rejected.error_msg is specific',
                  'have: %r' % rows)
            mine = [r for r in rows if r[0] == row['error']]
            for key, col in (('msg', 1), ('where', 2)):
                if key in toks:
                    check(any(toks[key] in (r[col] or '') for r in mine),
                          t + 'rejected.error_%s names %s' % (key, toks[key]),
                          'have: %r' % mine)
    else:
        rows, e = db_query(db, 'SELECT error_code FROM rejected')
        if rows is not None:
            nrej_before = len(rows)
            check(not rows, t + 'nothing in rejected', 'have: %r'
                  % [r[0] for r in rows])

    # Second import of the same bytes: a no-op.
    rc, s, out, err = import_json(db, full)
    check(rc == 0, t + 'second import exits 0', rc_desc(rc, err))
    if s is not None:
        exp = {'reports_new': 0, 'records': 0, 'messages_known': msgs,
               'messages_rejected': 0, 'reports_rejected': 0}
        bad = ['%s=%r (want %r)' % (k, s.get(k), v) for k, v in exp.items()
               if s.get(k) != v]
        check(not bad, t + 'second import is a no-op', '; '.join(bad))
    else:
        check(False, t + 'second import --json', repr(out[:300]))
    reps2, e = list_reports(db)
    if reps2 is not None:
        check(len(reps2) == nrep, t + 'still %d reports' % nrep,
              'got %d' % len(reps2))
    if nrej_before is not None:
        rows, e = db_query(db, 'SELECT count(*) FROM rejected')
        if rows is not None:
            check(rows[0][0] == nrej_before,
                  t + 'not rejected again', 'rejected rows %d -> %d'
                  % (nrej_before, rows[0][0]))


def check_all(rows, tmp):
    good = [r for r in rows if r['path'].startswith('reports/')]
    uniq = [r for r in good if 'dup-of' not in note_tokens(r['notes'])]
    dups = [r for r in good if 'dup-of' in note_tokens(r['notes'])]
    n_rep = sum(int(r['reports']) for r in uniq)
    n_rec = sum(int(r['records']) for r in uniq)
    n_msg = sum(int(r['messages']) for r in uniq)
    n_pass = sum(int(r['messages_pass']) for r in uniq)
    n_known = sum(int(r['reports']) for r in dups)
    n_in = sum(int(note_tokens(r['notes']).get('msgs', '1')) for r in good)
    db = os.path.join(tmp, 'all.db')
    t = 'all of samples/reports: '
    rc, s, out, err = import_json(db, os.path.join(SAMPLES, 'reports'))
    check(rc == 0, t + 'import exits 0', rc_desc(rc, err))
    if check(s is not None, t + 'import --json', repr(out[:300])):
        exp = {'messages': n_in, 'reports_new': n_rep,
               'reports_known': n_known, 'records': n_rec,
               'messages_rejected': 0, 'reports_rejected': 0,
               'transient': 0}
        bad = ['%s=%r (want %r)' % (k, s.get(k), v) for k, v in exp.items()
               if s.get(k) != v]
        check(not bad, t + 'summary', '; '.join(bad))
    reps, e = list_reports(db)
    if check(reps is not None, t + 'reports --json', e):
        got = (len(reps), sum_field(reps, 'records'),
               sum_field(reps, 'messages'), sum_field(reps, 'messages_pass'))
        want = (n_rep, n_rec, n_msg, n_pass)
        check(got == want, t + 'reports/records/messages/pass = %d/%d/%d/%d'
              % want, 'got %d/%d/%d/%d' % got)
    rc, s, out, err = import_json(db, os.path.join(SAMPLES, 'reports'))
    check(rc == 0, t + 'second import exits 0', rc_desc(rc, err))
    if s is not None:
        exp = {'messages': n_in, 'messages_known': n_in, 'reports_new': 0,
               'records': 0}
        bad = ['%s=%r (want %r)' % (k, s.get(k), v) for k, v in exp.items()
               if s.get(k) != v]
        check(not bad, t + 'second import adds nothing', '; '.join(bad))
    reps2, e = list_reports(db)
    if reps2 is not None:
        check(len(reps2) == n_rep, t + 'still %d reports' % n_rep,
              'got %d' % len(reps2))


def main():
    global EXE, SAMPLES
    if len(sys.argv) != 2:
        print('usage: test_samples.py DW_EXE', file=sys.stderr)
        return 2
    EXE = os.path.abspath(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    SAMPLES = os.environ.get('DW_SAMPLES') or os.path.join(here, '..', '..',
                                                             'samples')
    rows = load_tsv(os.path.join(SAMPLES, 'EXPECTED.tsv'))
    per_report = {}
    rp = os.path.join(SAMPLES, 'EXPECTED-reports.tsv')
    if os.path.exists(rp):
        for r in load_tsv(rp):
            per_report.setdefault(r['path'], []).append(r)
    only = os.environ.get('DW_SAMPLES_ONLY')   # substring filter, for debugging
    tmp = tempfile.mkdtemp(prefix='dw-samples-')
    try:
        for row in rows:
            if only and only not in row['path']:
                continue
            check_row(row, per_report, tmp)
        if not only:
            check_all(rows, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('%d passed, %d failed' % (N[0], N[1]))
    return 1 if N[1] else 0


if __name__ == '__main__':
    sys.exit(main())
