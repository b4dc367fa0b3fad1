#!/usr/bin/env python3
"""Regenerate dmarcwatch's sample inputs (samples/reports, samples/hostile)
and samples/EXPECTED.tsv + samples/EXPECTED-reports.tsv.

Written by the dmarcwatch developers. Every report here is invented: it
imitates the *shape* of what a real receiver sends (see samples/README.md
and docs standards.md section 5) with anonymised data (example.com/.net/.org,
192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).

Deterministic: gzip mtime = 0, fixed zip timestamps, no randomness, so a
re-run produces byte-identical files. Usage: python3 samples/make_samples.py

Expected values: each report below states its expected (records, messages,
messages_pass) literally, worked out by hand from the rows written; the
generator only cross-checks them against its own row data and writes them
into EXPECTED.tsv. Warnings and outcomes are written by hand.
"""
import base64
import gzip
import io
import os
import shutil
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
DAY = 86400
T0 = 1699920000  # 2023-11-14T00:00:00Z



# 64 bytes of XML comment used to pad the bombs.
PADDING = b'<!-- ' + b'p' * 54 + b' -->\n'
assert len(PADDING) == 64

def day(n):
    return T0 + n * DAY


ZIP_TIME = (2023, 11, 20, 0, 0, 0)
ROWS = []      # EXPECTED.tsv rows
REPROWS = []   # EXPECTED-reports.tsv rows


# --------------------------------------------------------------------------
# XML rendering

def esc(s):
    return (str(s).replace('&', '&amp;').replace('<', '&lt;')
            .replace('>', '&gt;'))


def rec(ip, count, disp='none', dkim='pass', spf='pass', hf='example.com',
        ef=None, et=None, dk=(), sf=(), reasons=()):
    """One <record>. dk: list of (domain, selector|None, result);
    sf: list of (domain, scope|None, result); reasons: (type, comment|None)."""
    return dict(ip=ip, count=count, disp=disp, dkim=dkim, spf=spf, hf=hf,
                ef=ef, et=et, dk=list(dk), sf=list(sf),
                reasons=list(reasons))


class Rep:
    """One aggregate report and how to render it."""

    def __init__(self, meta, pol, records, expect, version='1.0',
                 fb_attrs='', decl='<?xml version="1.0" encoding="UTF-8"?>',
                 indent='  ', eol='\n', suffix='', sel_after=False,
                 ef_after_hf=False, flavour='rfc7489'):
        self.meta = meta        # list of (name, value); date_range: (b, e)
        self.pol = pol          # list of (name, value)
        self.records = records
        self.version = version
        self.fb_attrs = fb_attrs
        self.decl = decl
        self.indent, self.eol, self.suffix = indent, eol, suffix
        self.sel_after = sel_after
        self.ef_after_hf = ef_after_hf
        self.flavour = flavour
        self.check(expect)

    def m(self, key):
        for k, v in self.meta:
            if k == key:
                return v
        return None

    def key(self):
        b, e = self.m('date_range')
        def secs(t):
            v = int(str(t).strip().split('.')[0])
            return v // 1000 if v > 10**11 else v
        dom = dict(self.pol)['domain']
        return (self.m('org_name'), self.m('email'), self.m('report_id'),
                secs(b), secs(e), dom)

    def check(self, expect):
        n = msgs = ok = 0
        for r in self.records:
            if r['ip'] is None:
                continue
            try:
                c = int(r['count'])
            except ValueError:
                continue
            if c > 10**10:
                continue
            n += 1
            msgs += c
            if r['dkim'].lower() == 'pass' or r['spf'].lower() == 'pass':
                ok += c
        got = (n, msgs, ok)
        assert got == tuple(expect), (self.m('report_id'), got, expect)
        self.expect = got

    def lines(self):
        L = []
        def add(d, s):
            L.append((d, s))
        add(0, '<feedback%s>' % self.fb_attrs)
        if self.version is not None:
            add(1, '<version>%s</version>' % self.version)
        add(1, '<report_metadata>')
        for k, v in self.meta:
            if k == 'date_range':
                add(2, '<date_range>')
                add(3, '<begin>%s</begin>' % v[0])
                add(3, '<end>%s</end>' % v[1])
                add(2, '</date_range>')
            elif v == '':
                add(2, '<%s />' % k)
            else:
                add(2, '<%s>%s</%s>' % (k, esc(v), k))
        add(1, '</report_metadata>')
        add(1, '<policy_published>')
        for k, v in self.pol:
            add(2, '<%s>%s</%s>' % (k, esc(v), k))
        add(1, '</policy_published>')
        for r in self.records:
            add(1, '<record>')
            add(2, '<row>')
            if r['ip'] is not None:
                add(3, '<source_ip>%s</source_ip>' % r['ip'])
            add(3, '<count>%s</count>' % r['count'])
            add(3, '<policy_evaluated>')
            add(4, '<disposition>%s</disposition>' % r['disp'])
            add(4, '<dkim>%s</dkim>' % r['dkim'])
            add(4, '<spf>%s</spf>' % r['spf'])
            for t, c in r['reasons']:
                add(4, '<reason>')
                add(5, '<type>%s</type>' % t)
                if c is not None:
                    add(5, '<comment>%s</comment>' % esc(c))
                add(4, '</reason>')
            add(3, '</policy_evaluated>')
            add(2, '</row>')
            add(2, '<identifiers>')
            idl = []
            if r['et']:
                idl.append('<envelope_to>%s</envelope_to>' % r['et'])
            if r['ef'] and not self.ef_after_hf:
                idl.append('<envelope_from>%s</envelope_from>' % r['ef'])
            idl.append('<header_from>%s</header_from>' % r['hf'])
            if r['ef'] and self.ef_after_hf:
                idl.append('<envelope_from>%s</envelope_from>' % r['ef'])
            for s in idl:
                add(3, s)
            add(2, '</identifiers>')
            add(2, '<auth_results>')
            for d, sel, res in r['dk']:
                add(3, '<dkim>')
                add(4, '<domain>%s</domain>' % d)
                if sel is not None and not self.sel_after:
                    add(4, '<selector>%s</selector>' % sel)
                add(4, '<result>%s</result>' % res)
                if sel is not None and self.sel_after:
                    add(4, '<selector>%s</selector>' % sel)
                add(3, '</dkim>')
            for d, scope, res in r['sf']:
                add(3, '<spf>')
                add(4, '<domain>%s</domain>' % d)
                if scope is not None:
                    add(4, '<scope>%s</scope>' % scope)
                add(4, '<result>%s</result>' % res)
                add(3, '</spf>')
            add(2, '</auth_results>')
            add(1, '</record>')
        add(0, '</feedback>')
        return L

    def xml(self):
        out = []
        if self.decl:
            out.append(self.decl + self.suffix + self.eol)
        for d, s in self.lines():
            out.append(self.indent * d + s + self.suffix + self.eol)
        return ''.join(out).encode('utf-8')


# --------------------------------------------------------------------------
# containers

def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def zipped(members):
    """members: list of (name, bytes). Fixed timestamps and attributes."""
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, 'w', zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zi.create_system = 3
            z.writestr(zi, data)
    return bio.getvalue()


def b64(data, width=76):
    s = base64.b64encode(data).decode('ascii')
    if not width:
        return s + '\n'
    return ''.join(s[i:i + width] + '\n' for i in range(0, len(s), width))


def mail(headers, body, eol='\n'):
    """headers: list of (name, value); body: str with \\n line ends."""
    h = ''.join('%s: %s\n' % (k, v) for k, v in headers)
    return (h + '\n' + body).replace('\n', eol).encode('ascii')


def write(rel, data):
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def expect(path, outcome, reps, error='-', warnings='-', notes='',
           msgs=1, dup_of=None, msgs_rejected=0):
    """One EXPECTED.tsv row. reps: the Rep objects that must land."""
    n = sum(r.expect[0] for r in reps)
    m = sum(r.expect[1] for r in reps)
    p = sum(r.expect[2] for r in reps)
    toks = []
    if msgs != 1:
        toks.append('msgs=%d' % msgs)
    if dup_of:
        toks.append('dup-of=%s' % dup_of)
    fl = sorted({r.flavour for r in reps if r.flavour} - {'rfc7489'})
    if fl:
        toks.append('flavour=' + ','.join(fl))
    if msgs_rejected:
        toks.append('msgs_rejected=%d' % msgs_rejected)
    notes = ' '.join(toks + [notes]).strip() or '-'
    ROWS.append((path, outcome, str(len(reps)), str(n), str(m), str(p),
                 error, warnings, notes))
    for r in reps:
        org, email, rid, b, e, dom = r.key()
        REPROWS.append((path, org, email, rid, str(b), str(e), dom,
                        str(r.expect[0]), str(r.expect[1]),
                        str(r.expect[2]), r.flavour or 'null',
                        getattr(r, 'kind', 'aggregate')))


def dkim_pass(d='example.com', s='s2023'):
    return [(d, s, 'pass')]


# --------------------------------------------------------------------------
# samples/reports: good inputs

def google_meta(rid, b, e):
    return [('org_name', 'google.com'),
            ('email', 'noreply-dmarc-support@google.com'),
            ('extra_contact_info', 'https://support.google.com/a/answer/2466580'),
            ('report_id', rid), ('date_range', (b, e))]


def google_reports():
    # Google: no <version>, no namespace, no envelope_from, SPF without
    # scope, several DKIM results, IPv6 written with zero groups. It sends
    # <np>, an RFC 9990-only element, so the report counts as RFC 9990-
    # shaped (standards.md 2.2: detect by namespace or 9990-only element).
    pol = [('domain', 'example.com'), ('adkim', 'r'), ('aspf', 'r'),
           ('p', 'none'), ('sp', 'none'), ('pct', '100'), ('np', 'none')]
    g1 = Rep(google_meta('10394487711382952431', day(1), day(2) - 1), pol, [
        rec('192.0.2.10', 12, dk=[('example.com', 'google', 'pass'),
                                  ('esp.example.net', 'k1', 'pass')],
            sf=[('example.com', None, 'pass')]),
        rec('2001:db8:4864:20:0:0:0:52', 5, dkim='pass', spf='fail',
            dk=[('example.com', 'google', 'pass')],
            sf=[('bounce.example.net', None, 'pass')]),
        rec('203.0.113.77', 3, dkim='fail', spf='fail',
            dk=[('example.com', 'google', 'fail')],
            sf=[('example.com', None, 'softfail')]),
    ], expect=(3, 20, 17), version=None, flavour='rfc9990')
    # Same report_id on the next day (D33: Google reuses IDs).
    g2 = Rep(google_meta('10394487711382952431', day(2), day(3) - 1), pol, [
        rec('192.0.2.10', 9, dk=[('example.com', 'google', 'pass'),
                                 ('esp.example.net', 'k1', 'pass')],
            sf=[('example.com', None, 'pass')]),
        rec('198.51.100.23', 1, dkim='fail', spf='fail',
            dk=[], sf=[('mail.example.org', None, 'fail')]),
    ], expect=(2, 10, 9), version=None, flavour='rfc9990')
    return g1, g2


def google_mail(rep, zipname, msgid, date):
    z = zipped([(zipname[:-4] + '.xml', rep.xml())])
    return mail([
        ('Delivered-To', 'dmarc-rua@example.com'),
        ('Return-Path', '<noreply-dmarc-support@google.com>'),
        ('Received', 'from mail-sor-f73.google.com (mail-sor-f73.google.com'
                     ' [198.51.100.73])\n\tby mx.example.com with ESMTPS;'
                     ' ' + date),
        ('Authentication-Results', 'mx.example.com; dkim=pass'
                                   ' header.d=google.com; spf=pass'
                                   ' smtp.mailfrom=google.com;'
                                   ' dmarc=pass header.from=google.com'),
        ('MIME-Version', '1.0'),
        ('Date', date),
        ('Message-ID', '<%s@google.com>' % msgid),
        ('Subject', 'Report domain: example.com Submitter: google.com'
                    ' Report-ID: %s' % rep.m('report_id')),
        ('From', 'noreply-dmarc-support@google.com'),
        ('To', 'dmarc-rua@example.com'),
        ('Content-Type', 'application/zip; \n\tname="%s"' % zipname),
        ('Content-Disposition', 'attachment; \n\tfilename="%s"' % zipname),
        ('Content-Transfer-Encoding', 'base64'),
    ], b64(z))


def yahoo_meta(rid, b, e):
    return [('org_name', 'Yahoo'), ('email', 'dmarchelp@yahooinc.com'),
            ('report_id', rid), ('date_range', (b, e))]


def yahoo_reports():
    pol = [('domain', 'example.org'), ('adkim', 'r'), ('aspf', 'r'),
           ('p', 'quarantine'), ('pct', '100')]
    # <end>… </end> with a space (D9), trailing TAB on every line.
    y1 = Rep(yahoo_meta('1700179212.482913', day(2), '%d ' % (day(3) - 1)),
             pol, [
        rec('198.51.100.40', 4, hf='example.org',
            dk=[('example.org', None, 'pass')],
            sf=[('example.org', None, 'pass')]),
        rec('203.0.113.9', 2, disp='quarantine', dkim='fail', spf='fail',
            hf='example.org', dk=[('example.org', None, 'fail')],
            sf=[('spoof.example.net', None, 'softfail')]),
    ], expect=(2, 6, 4), version=None, suffix='\t')
    y2 = Rep(yahoo_meta('1700265604.118273', day(3), '%d ' % (day(4) - 1)),
             pol, [
        rec('198.51.100.40', 7, hf='example.org',
            dk=[('example.org', None, 'pass')],
            sf=[('example.org', None, 'pass')]),
    ], expect=(1, 7, 7), version=None, suffix='\t')
    return y1, y2


def microsoft_report():
    pol = [('domain', 'example.com'), ('adkim', 'r'), ('aspf', 'r'),
           ('p', 'reject'), ('sp', 'reject'), ('pct', '100'), ('fo', '0')]
    recs = []
    tos = ['outlook.com', 'hotmail.com', 'live.com', 'msn.com']
    n = msgs = ok = 0
    for i in range(12):
        good = i % 4 != 3
        c = (i * 7) % 11 + 1
        recs.append(rec('192.0.2.%d' % (20 + i * 3), c,
                        disp='none' if good else 'reject',
                        dkim='pass' if good else 'fail',
                        spf='pass' if i % 2 == 0 else 'fail',
                        ef='example.com', et=tos[i % 4],
                        dk=[('example.com', 'selector%d' % (i % 2 + 1),
                             'pass' if good else 'fail')],
                        sf=[('example.com', 'mfrom',
                             'pass' if i % 2 == 0 else 'fail')]))
    # counts: i=0..11 -> (7i mod 11)+1 = 1,8,4,0+?..  worked out:
    # 7i mod 11 for i=0..11: 0,7,3,10,6,2,9,5,1,8,4,0 -> +1:
    # 1,8,4,11,7,3,10,6,2,9,5,1  sum = 67
    # pass unless (i%4==3 and i odd): i=3 (11), 7 (6), 11 (1) fail both
    # -> pass = 67 - 18 = 49
    return Rep([('org_name', 'Enterprise Outlook'),
                ('email', 'dmarcreport@microsoft.com'),
                ('extra_contact_info', ''),
                ('report_id', '9f2c61d7a4b84e0b8d5f3a1c0e7b6d42'),
                ('date_range', (day(1), day(2)))], pol, recs,
               expect=(12, 67, 49), version='0',
               decl='<?xml version="1.0"?>',
               fb_attrs=' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
                        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')


def microsoft_mail(rep):
    gzname = 'enterprise.protection.outlook.com!example.com!%d!%d.xml.gz' % (
        day(1), day(2))
    data = gz(rep.xml())
    att = b64(data, width=0)
    assert len(att) > 998, len(att)
    subj = base64.b64encode(
        ('[Preview] Report Domain: example.com Submitter: '
         'enterprise.protection.outlook.com Report-ID: <%s>'
         % rep.m('report_id')).encode()).decode()
    body = (
        'This is a multi-part message in MIME format.\n'
        '\n'
        '--_000_mixed_\n'
        'Content-Type: multipart/related;\n'
        '\tboundary="_001_related_";\n'
        '\ttype="multipart/alternative"\n'
        '\n'
        '--_001_related_\n'
        'Content-Type: multipart/alternative;\n'
        '\tboundary="_002_alt_"\n'
        '\n'
        '--_002_alt_\n'
        'Content-Type: text/plain; charset="us-ascii"\n'
        'Content-Transfer-Encoding: quoted-printable\n'
        '\n'
        'This is a DMARC aggregate report from Microsoft Corporation. For'
        ' Emails re=\nceived between 2023-11-15 00:00:00 UTC to 2023-11-16'
        ' 00:00:00 UTC.\n'
        '\n'
        '--_002_alt_\n'
        'Content-Type: text/html; charset="us-ascii"\n'
        'Content-Transfer-Encoding: quoted-printable\n'
        '\n'
        '<html><head><meta http-equiv=3D"Content-Type" content=3D"text/html;'
        ' charset=3Dus-ascii"></head>\n<body><div>This is a DMARC aggregate'
        ' report from Microsoft Corporation.</div></body></html>\n'
        '\n'
        '--_002_alt_--\n'
        '\n'
        '--_001_related_--\n'
        '\n'
        '--_000_mixed_\n'
        'Content-Type: application/gzip\n'
        'Content-Disposition: attachment;\n'
        '\tfilename="%s"\n'
        'Content-Transfer-Encoding: base64\n'
        '\n'
        '%s'
        '\n'
        '--_000_mixed_--\n' % (gzname, att))
    return mail([
        ('Return-Path', '<dmarcreport@microsoft.com>'),
        ('Authentication-Results', 'mx.example.com; dkim=pass'
                                   ' header.d=microsoft.com; dmarc=pass'
                                   ' header.from=microsoft.com'),
        ('From', 'DMARC Aggregate Report <dmarcreport@microsoft.com>'),
        ('To', '<dmarc-rua@example.com>'),
        ('Subject', '=?utf-8?B?%s?=' % subj),
        ('Date', 'Thu, 16 Nov 2023 04:12:33 +0000'),
        ('Message-ID', '<0a1b2c3d4e5f@example.protection.outlook.com>'),
        ('Content-Type', 'multipart/mixed;\n\tboundary="_000_mixed_"'),
        ('MIME-Version', '1.0'),
    ], body, eol='\r\n')


def mailru_reports():
    pol = [('domain', 'example.net'), ('adkim', 'r'), ('aspf', 'r'),
           ('p', 'none'), ('sp', 'none'), ('pct', '100')]
    def meta(rid, b, e):
        return [('org_name', 'Mail.Ru'), ('email', 'dmarc_support@corp.mail.ru'),
                ('report_id', rid), ('date_range', (b, e))]
    kw = dict(version=None, indent='', eol='',
              decl="<?xml version='1.0' encoding='utf-8'?>")
    m1 = Rep(meta('71829301746620011', day(1), day(2)), pol, [
        rec('198.51.100.5', 3, hf='example.net',
            dk=[('example.net', 'mail', 'pass')],
            sf=[('example.net', 'mfrom', 'pass')]),
        rec('203.0.113.200', 1, dkim='fail', spf='fail', hf='example.net',
            dk=[], sf=[('example.net', 'mfrom', 'fail')]),
    ], expect=(2, 4, 3), **kw)
    m2 = Rep(meta('71829301746620012', day(2), day(3)), pol, [
        rec('198.51.100.5', 6, hf='example.net',
            dk=[('example.net', 'mail', 'pass')],
            sf=[('example.net', 'mfrom', 'pass')]),
    ], expect=(1, 6, 6), **kw)
    return m1, m2


def gmx_report():
    pol = [('domain', 'example.com'), ('discovery_method', 'psl'),
           ('adkim', 'r'), ('aspf', 'r'), ('p', 'reject'), ('sp', 'reject'),
           ('np', 'reject'), ('testing', 'n')]
    return Rep([('org_name', 'GMX'),
                ('email', 'noreply-dmarc@sicher.gmx.net'),
                ('extra_contact_info', 'https://postmaster.gmx.net/'),
                ('report_id', '4c1f0e9a7b2d4e6f8a3b5c7d9e1f2a3b'),
                ('date_range', (day(4), day(5) - 1)),
                ('generator', 'GMX DMARC Reporter 2.1')], pol, [
        rec('192.0.2.55', 14, disp='pass', ef='example.com',
            dk=[('example.com', 's1', 'pass')],
            sf=[('example.com', 'mfrom', 'pass')]),
        rec('203.0.113.66', 2, disp='reject', dkim='fail', spf='fail',
            ef='example.net', dk=[('example.net', 's9', 'fail')],
            sf=[('example.net', 'mfrom', 'fail')]),
    ], expect=(2, 16, 14), version='1.0', indent='   ', sel_after=True,
        fb_attrs=' xmlns="urn:ietf:params:xml:ns:dmarc-2.0"',
        flavour='rfc9990')


def simple_pol(d='example.com', p='none'):
    return [('domain', d), ('adkim', 'r'), ('aspf', 'r'), ('p', p),
            ('sp', p), ('pct', '100'), ('fo', '0')]


def meta(org, email, rid, b, e):
    return [('org_name', org), ('email', email), ('report_id', rid),
            ('date_range', (b, e))]


def std_rec(ip, c, hf='example.com', ok=True):
    return rec(ip, c, dkim='pass' if ok else 'fail',
               spf='pass' if ok else 'fail', hf=hf, ef=hf,
               dk=[(hf, 's1', 'pass' if ok else 'fail')],
               sf=[(hf, 'mfrom', 'pass' if ok else 'fail')])


def build_reports():
    R = 'reports/'
    # ---- Google: bare zip, whole-message zip mail, forwarded copy
    g1, g2 = google_reports()
    zname = 'google.com!example.com!%d!%d.zip' % (day(1), day(2) - 1)
    write(R + zname, zipped([(zname[:-4] + '.xml', g1.xml())]))
    expect(R + zname, 'stored', [g1],
           warnings='version_missing,envelope_from_missing,spf_no_scope,'
                    'ipv6_noncanonical',
           notes='Google bare zip; IPv6 with zero groups')
    zname2 = 'google.com!example.com!%d!%d.zip' % (day(2), day(3) - 1)
    gmail = google_mail(g2, zname2, '10394487711382952431-2',
                        'Fri, 17 Nov 2023 15:59:59 -0800')
    write(R + 'google-zip.eml', gmail)
    expect(R + 'google-zip.eml', 'stored', [g2],
           warnings='version_missing,envelope_from_missing,spf_no_scope',
           notes='Google mail whose whole body is application/zip;'
                 ' same report_id as the bare zip, next day (D33)')
    fwd = (
        'From: Postmaster <postmaster@example.com>\n'
        'To: dmarc-rua@example.com\n'
        'Subject: Fwd: Report domain: example.com Submitter: google.com'
        ' Report-ID: 10394487711382952431\n'
        'Date: Mon, 20 Nov 2023 09:00:00 +0100\n'
        'Message-ID: <fwd-0001@example.com>\n'
        'MIME-Version: 1.0\n'
        'Content-Type: multipart/mixed; boundary="fwd-boundary-42"\n'
        '\n'
        '--fwd-boundary-42\n'
        'Content-Type: text/plain; charset=utf-8\n'
        '\n'
        'Forwarded as attachment.\n'
        '\n'
        '--fwd-boundary-42\n'
        'Content-Type: message/rfc822\n'
        'Content-Disposition: attachment; filename="report.eml"\n'
        '\n').encode() + gmail + b'\n--fwd-boundary-42--\n'
    write(R + 'forwarded-google.eml', fwd)
    expect(R + 'forwarded-google.eml', 'stored', [g2],
           warnings='version_missing',
           dup_of=R + 'google-zip.eml',
           notes='message/rfc822 part holding google-zip.eml verbatim:'
                 ' the same report (known when both are imported)')

    # ---- Yahoo: .xml.gz and mail with application/gzip
    y1, y2 = yahoo_reports()
    yname = 'yahoo.com!example.org!%d!%d.xml.gz' % (day(2), day(3) - 1)
    write(R + yname, gz(y1.xml()))
    ywarn = 'version_missing,whitespace_trimmed,dkim_no_selector,' \
            'envelope_from_missing,spf_no_scope'
    expect(R + yname, 'stored', [y1], warnings=ywarn,
           notes='Yahoo: trailing TABs, no version, "<end>N </end>",'
                 ' DKIM without selector')
    yname2 = 'yahoo.com!example.org!%d!%d.xml.gz' % (day(3), day(4) - 1)
    ymail = mail([
        ('Return-Path', '<noreply@dmarc.yahoo.com>'),
        ('From', 'noreply@dmarc.yahoo.com'),
        ('To', 'dmarc-rua@example.org'),
        ('Subject', 'Report Domain: example.org Submitter: yahoo.com'
                    ' Report-ID: <1700265604.118273>'),
        ('Date', 'Sat, 18 Nov 2023 00:00:04 +0000'),
        ('Message-ID', '<1700265604.118273@dmarc.yahoo.com>'),
        ('MIME-Version', '1.0'),
        ('Content-Type', 'multipart/mixed; \n\tboundary="----=_Part_1182_73"'),
    ], '------=_Part_1182_73\n'
       'Content-Type: text/plain; charset=us-ascii\n'
       'Content-Transfer-Encoding: 7bit\n'
       '\n'
       'This is an aggregate report from Yahoo.\n'
       '\n'
       '------=_Part_1182_73\n'
       'Content-Type: application/gzip\n'
       'Content-Transfer-Encoding: base64\n'
       'Content-Disposition: attachment; filename="%s"\n'
       '\n'
       '%s'
       '------=_Part_1182_73--\n' % (yname2, b64(gz(y2.xml()))))
    write(R + 'yahoo-gzip.eml', ymail)
    expect(R + 'yahoo-gzip.eml', 'stored', [y2], warnings=ywarn,
           notes='Yahoo mail, application/gzip attachment')

    # ---- Microsoft
    ms = microsoft_report()
    write(R + 'outlook-enterprise.eml', microsoft_mail(ms))
    expect(R + 'outlook-enterprise.eml', 'stored', [ms],
           warnings='version_odd,empty_element',
           notes='Microsoft: mixed>related>alternative + gzip whose base64'
                 ' is one unwrapped line; version 0; CRLF')

    # ---- Mail.ru
    m1, m2 = mailru_reports()
    mname = 'mail.ru!example.net!%d!%d.xml.gz' % (day(1), day(2))
    write(R + mname, gz(m1.xml()))
    expect(R + mname, 'stored', [m1], warnings='version_missing',
           notes="Mail.ru: single-quoted declaration, whole report on one"
                 " line, 00:00->00:00")
    mname2 = 'mail.ru!example.net!%d!%d.xml.gz' % (day(2), day(3))
    txt = base64.b64encode(b'This is an aggregate DMARC report from'
                           b' Mail.Ru\r\n').decode()
    mrmail = mail([
        ('From', 'dmarc_support@corp.mail.ru'),
        ('To', 'dmarc-rua@example.net'),
        ('Subject', 'Report Domain: example.net; Submitter: Mail.Ru;'
                    ' Report-ID: 71829301746620012'),
        ('Date', 'Sat, 18 Nov 2023 03:11:09 +0300'),
        ('Message-ID', '<1700266269.71829301746620012@mail.ru>'),
        ('MIME-Version', '1.0'),
        ('Content-Type', 'multipart/mixed; boundary="----zxcv1700266269"'),
    ], '------zxcv1700266269\n'
       'Content-Type: text/plain; charset=utf-8\n'
       'Content-Transfer-Encoding: base64\n'
       '\n'
       '%s\n'
       '------zxcv1700266269\n'
       'Content-Type: application/gzip; name="%s"\n'
       'Content-Disposition: attachment; filename="%s"\n'
       'Content-Transfer-Encoding: base64\n'
       '\n'
       '%s'
       '------zxcv1700266269--\n' % (txt, mname2, mname2, b64(gz(m2.xml()))))
    write(R + 'mailru-gzip.eml', mrmail)
    expect(R + 'mailru-gzip.eml', 'stored', [m2], warnings='version_missing',
           notes='Mail.ru mail: base64 text/plain + application/gzip')

    # ---- GMX RFC 9990
    gx = gmx_report()
    gname = 'gmx.net!example.com!%d!%d.xml' % (day(4), day(5) - 1)
    write(R + gname, gx.xml())
    expect(R + gname, 'stored', [gx],
           notes='GMX RFC 9990: dmarc-2.0 namespace, np/testing/'
                 'discovery_method/generator, selector after result,'
                 ' disposition pass')

    # ---- Trustwave-like 7 days, not midnight aligned
    b = day(0) + 10 * 3600 + 23 * 60 + 7
    tw = Rep(meta('Trustwave SEG', 'dmarc-noreply@seg.example.net',
                  'TW-20231121-000731', b, b + 7 * DAY), simple_pol(), [
        std_rec('192.0.2.88', 31),
        std_rec('198.51.100.99', 4, ok=False),
    ], expect=(2, 35, 31))
    write(R + 'trustwave-7day.xml', tw.xml())
    expect(R + 'trustwave-7day.xml', 'stored', [tw], warnings='span_long',
           notes='Trustwave-like: 7-day range starting 10:23:07 (D28)')

    # ---- SFR-like: ms timestamps, version 1, xmlns:tns
    sfr = Rep(meta('sfr.fr', 'dmarc-report@sfr.fr', 'sfr-1700006400123-31',
                   day(1) * 1000 + 123, (day(2) - 1) * 1000 + 456),
              simple_pol('example.org'), [
        std_rec('198.51.100.12', 2, hf='example.org'),
        std_rec('198.51.100.13', 1, hf='example.org'),
    ], expect=(2, 3, 3), version='1',
        fb_attrs=' xmlns:tns="http://dmarc.org/dmarc-xml/0.1"')
    write(R + 'sfr-milliseconds.xml', sfr.xml())
    expect(R + 'sfr-milliseconds.xml', 'stored', [sfr],
           warnings='time_milliseconds',
           notes='SFR-like: begin/end in ms (1700006400123 ->'
                 ' 1700006400), <version>1</version> (equal to 1.0 as xs:decimal, so no'
                 ' version_odd), prefixed xmlns:tns'
                 ' with unprefixed children')

    # ---- Mimecast-like: whole body application/gzip + CRLF after stream
    mc = Rep(meta('Mimecast', 'dmarc-report@mimecast.org',
                  '5d0c1a3e4f7b9a2c6e8d0f1b3a5c7e9d1f3b5a7c9e1d3f5b7a9c1e3d5f7b9a1c',
                  day(3), day(4) - 1), simple_pol('example.com', 'quarantine'), [
        std_rec('203.0.113.14', 8),
        std_rec('203.0.113.15', 1, ok=False),
    ], expect=(2, 9, 8))
    mcname = 'mimecast.org!example.com!%d!%d!%s.xml.gz' % (
        day(3), day(4) - 1, mc.m('report_id'))
    mcmail = mail([
        ('From', 'DMARC Aggregate Report <dmarc-report@mimecast.org>'),
        ('To', 'dmarc-rua@example.com'),
        ('Subject', 'Report domain: example.com Submitter: mimecast.org'
                    ' Report-ID: %s' % mc.m('report_id')),
        ('Date', 'Sun, 19 Nov 2023 01:02:03 +0000'),
        ('Message-ID', '<mc-1700355723@mimecast.org>'),
        ('MIME-Version', '1.0'),
        ('Content-Type', 'application/gzip; name="%s"' % mcname),
        ('Content-Disposition', 'attachment; filename="%s"' % mcname),
        ('Content-Transfer-Encoding', 'base64'),
    ], b64(gz(mc.xml()) + b'\r\n'), eol='\r\n')
    write(R + 'mimecast-trailing-crlf.eml', mcmail)
    expect(R + 'mimecast-trailing-crlf.eml', 'stored', [mc],
           notes='Mimecast-like: whole message application/gzip, gzip'
                 ' stream followed by CRLF bytes; CRLF mail')

    # ---- Amazon SES-like: application/octet-stream .xml.gz
    ses = Rep(meta('AMAZON-SES', 'postmaster@amazonses.com',
                   'b7e3f0a2-4c61-4d8e-9f1a-2c3b4d5e6f70', day(2), day(3)),
              simple_pol('example.net'), [
        std_rec('192.0.2.201', 1, hf='example.net'),
        std_rec('192.0.2.202', 2, hf='example.net'),
        std_rec('192.0.2.203', 1, hf='example.net', ok=False),
    ], expect=(3, 4, 3))
    sesname = 'amazonses.com!example.net!%d!%d.xml.gz' % (day(2), day(3))
    sesmail = mail([
        ('From', 'postmaster@amazonses.com'),
        ('To', 'dmarc-rua@example.net'),
        ('Subject', 'Dmarc Aggregate Report Domain: {example.net} Submitter:'
                    ' {Amazon SES} Date: {2023-11-16} Report-ID:'
                    ' {b7e3f0a2-4c61-4d8e-9f1a-2c3b4d5e6f70}'),
        ('Date', 'Fri, 17 Nov 2023 06:30:00 +0000'),
        ('Message-ID', '<0100018bd3c4e5f6-ses@email.amazonses.com>'),
        ('MIME-Version', '1.0'),
        ('Content-Type', 'multipart/mixed; \n boundary="----=_Part_4_1700202600"'),
    ], '------=_Part_4_1700202600\n'
       'Content-Type: application/octet-stream; name=%s\n'
       'Content-Transfer-Encoding: base64\n'
       'Content-Disposition: attachment; filename=%s\n'
       '\n'
       '%s'
       '------=_Part_4_1700202600--\n' % (sesname, sesname, b64(gz(ses.xml()))))
    write(R + 'amazonses-octet-stream.eml', sesmail)
    expect(R + 'amazonses-octet-stream.eml', 'stored', [ses],
           notes='Amazon SES-like: application/octet-stream .xml.gz, braces'
                 ' in Subject')

    # ---- zip with two members: readme.txt first
    z2 = Rep(meta('mx.example.net', 'dmarc@mx.example.net', '2023111900001',
                  day(5), day(6) - 1), simple_pol(), [
        std_rec('192.0.2.31', 1), std_rec('192.0.2.31', 1),
        std_rec('192.0.2.32', 1, ok=False),
    ], expect=(3, 3, 2))
    zn = 'mx.example.net!example.com!%d!%d.zip' % (day(5), day(6) - 1)
    write(R + zn, zipped([
        ('readme.txt', b'This archive holds a DMARC aggregate report.\n'),
        (zn[:-4] + '.xml', z2.xml())]))
    expect(R + zn, 'stored', [z2],
           notes='zip with two members: readme.txt first, report second;'
                 ' OpenDMARC-like count=1 rows')

    # ---- multi-member gzip (Fastmail-like conformant report)
    fm = Rep(meta('FastMail Pty Ltd', 'dmarc-reports@fastmail.example',
                  '102675001', day(4), day(5) - 1), simple_pol('example.org'), [
        std_rec('198.51.100.60', 5, hf='example.org'),
        std_rec('198.51.100.61', 2, hf='example.org'),
    ], expect=(2, 7, 7))
    x = fm.xml()
    cut = x.index(b'<record>')
    fmname = 'fastmail.com!example.org!%d!%d!102675001.xml.gz' % (
        day(4), day(5) - 1)
    write(R + fmname, gz(x[:cut]) + gz(x[cut:]))
    expect(R + fmname, 'stored', [fm],
           notes='two concatenated gzip members (split before the first'
                 ' <record>)')

    # ---- IPv6 forms, multiple dkim + spf
    v6 = Rep(meta('mail.example.net', 'dmarc-reports@mail.example.net',
                  'v6-20231120', day(6), day(7) - 1), simple_pol(), [
        rec('2001:db8::25', 10, ef='example.com',
            dk=[('example.com', 's1', 'pass'), ('example.com', 's2', 'pass'),
                ('esp.example.net', 'esp', 'pass')],
            sf=[('mail.example.com', 'helo', 'pass'),
                ('example.com', 'mfrom', 'pass')]),
        rec('2001:0db8:0000:0000:0000:0000:0000:0026', 4, ef='example.com',
            dk=[('example.com', 's1', 'pass')],
            sf=[('example.com', 'mfrom', 'pass')]),
        rec('2001:db8:abcd:0012::1', 2, dkim='fail', spf='pass',
            ef='example.com',
            dk=[('example.com', 's1', 'fail'), ('example.org', 'x', 'pass')],
            sf=[('relay.example.org', 'helo', 'neutral'),
                ('example.com', 'mfrom', 'pass')]),
        rec('192.0.2.7', 1, dkim='fail', spf='fail', ef='example.org',
            dk=[('example.org', 'x', 'pass')],
            sf=[('example.org', 'mfrom', 'pass')]),
        rec('2001:DB8::A', 3, ef='example.com',
            dk=[('example.com', 's1', 'pass')],
            sf=[('example.com', 'mfrom', 'pass')]),
    ], expect=(5, 20, 19))
    write(R + 'ipv6-multi-auth.xml', v6.xml())
    expect(R + 'ipv6-multi-auth.xml', 'stored', [v6],
           warnings='ipv6_noncanonical',
           notes='IPv6 compressed, uncompressed (0db8:0000...), leading'
                 ' zeros (0012), upper case; 3 dkim and 2 spf results')

    # ---- reasons, aliases, mixed case
    ra = Rep(meta('filter.example.org', 'dmarc@filter.example.org',
                  'reasons-42', day(7), day(8) - 1),
             simple_pol('example.com', 'reject'), [
        rec('198.51.100.70', 6, disp='none', dkim='fail', spf='fail',
            ef='lists.example.net',
            reasons=[('local_policy', 'arc=pass as.1.example.net=pass'),
                     ('mailing_list', None)],
            dk=[('example.com', 's1', 'fail'),
                ('lists.example.net', 'l1', 'pass')],
            sf=[('lists.example.net', 'mfrom', 'pass')]),
        rec('198.51.100.71', 2, disp='none', dkim='fail', spf='fail',
            ef='fwd.example.org', reasons=[('forwarded', None)],
            dk=[('example.com', 's1', 'unknown')],
            sf=[('fwd.example.org', 'mfrom', 'hardfail')]),
        rec('198.51.100.72', 5, disp='None', dkim='Pass', spf='Pass',
            ef='example.com', dk=[('example.com', 's1', 'Pass')],
            sf=[('example.com', 'mfrom', 'Pass')]),
        rec('203.0.113.73', 1, disp='reject', dkim='fail', spf='fail',
            ef='example.com', dk=[('example.com', 's1', 'fail')],
            sf=[('example.com', 'mfrom', 'hardfail')]),
    ], expect=(4, 14, 5))
    write(R + 'reasons-aliases.xml', ra.xml())
    expect(R + 'reasons-aliases.xml', 'stored', [ra],
           warnings='enum_alias,enum_case',
           notes='reason local_policy with comment + mailing_list,'
                 ' forwarded; SPF hardfail, DKIM unknown, "Pass"/"None"')

    # ---- GoDaddy-like: one row without source_ip
    gd = Rep(meta('GoDaddy', 'dmarc-noreply@secureserver.example',
                  'gd-7788990011', day(8), day(9) - 1), simple_pol(), [
        std_rec('192.0.2.91', 3),
        std_rec(None, 5),
        std_rec('192.0.2.92', 1, ok=False),
    ], expect=(2, 4, 3))
    write(R + 'godaddy-missing-ip.xml', gd.xml())
    expect(R + 'godaddy-missing-ip.xml', 'stored', [gd],
           warnings='row_no_source_ip',
           notes='GoDaddy-like: second row has no source_ip (skipped, D30);'
                 ' its count 5 is not counted')

    # ---- BOM + leading blank lines
    bm = Rep(meta('small.example.org', 'postmaster@small.example.org',
                  'bom-0001', day(9), day(10) - 1), simple_pol(), [
        std_rec('203.0.113.5', 2)], expect=(1, 2, 2))
    write(R + 'bom-blank-lines.xml', b'\xef\xbb\xbf\r\n\r\n' + bm.xml())
    expect(R + 'bom-blank-lines.xml', 'stored', [bm], warnings='bom',
           notes='UTF-8 BOM then two blank lines before <?xml')

    # ---- UTF-16: big-endian without a BOM (XML 1.0 appendix F: the
    # declaration's 00 3C 00 3F says it), and little-endian with a BOM as
    # a base64 attachment
    u16 = Rep(meta('utf16.example.net', 'dmarc@utf16.example.net',
                   'u16-be-1', day(12), day(13) - 1), simple_pol(), [
        std_rec('198.51.100.61', 4), std_rec('198.51.100.62', 1)],
        decl='<?xml version="1.0" encoding="UTF-16"?>', expect=(2, 5, 5))
    write(R + 'utf16be-no-bom.xml', u16.xml().decode().encode('utf-16-be'))
    expect(R + 'utf16be-no-bom.xml', 'stored', [u16],
           notes='UTF-16BE with no byte order mark: told by the'
                 ' declaration\'s 00 3C 00 3F')
    u16le = Rep(meta('utf16.example.net', 'dmarc@utf16.example.net',
                     'u16-le-1', day(13), day(14) - 1), simple_pol(), [
        std_rec('198.51.100.63', 3)],
        decl='<?xml version="1.0" encoding="UTF-16"?>', expect=(1, 3, 3))
    att = b'\xff\xfe' + u16le.xml().decode().encode('utf-16-le')
    write(R + 'utf16-attachment.eml', simple_mail(
        'dmarc@utf16.example.net', 'rua@example.net',
        'Report Domain: example.com Submitter: utf16.example.net'
        ' Report-ID: u16-le-1', 'Fri, 24 Nov 2023 06:00:00 +0000',
        '<u16-le-1@utf16.example.net>', [
            ('Content-Type: text/plain\n', 'UTF-16 report attached.\n'),
            ('Content-Type: text/xml; name="report.xml"\n'
             'Content-Transfer-Encoding: base64\n', b64(att))]))
    expect(R + 'utf16-attachment.eml', 'stored', [u16le],
           notes='text/xml attachment in UTF-16LE with a BOM: the'
                 ' <feedback> test reads past the NUL bytes')

    # ---- mbox with 3 mails
    mbox_reps = build_mbox(R + 'mbox/dmarc.mbox')
    expect(R + 'mbox/dmarc.mbox', 'stored', mbox_reps, msgs=3,
           notes='mbox, 3 report mails; the first has a ">From " line')

    # ---- Maildir
    md_reps = build_maildir(R + 'maildir')
    expect(R + 'maildir', 'stored', md_reps, msgs=3,
           notes='Maildir cur/ (2) + new/ (1); tmp/ empty (not tracked by'
                 ' git)')


def simple_mail(frm, to, subj, date, msgid, parts, boundary='=_b0undary_'):
    """parts: list of (headers_str, body_str)."""
    body = 'This is a multi-part message in MIME format.\n\n'
    for h, b in parts:
        body += '--%s\n%s\n%s\n' % (boundary, h, b)
    body += '--%s--\n' % boundary
    return mail([('From', frm), ('To', to), ('Subject', subj),
                 ('Date', date), ('Message-ID', msgid),
                 ('MIME-Version', '1.0'),
                 ('Content-Type', 'multipart/mixed; boundary="%s"' % boundary)],
                body)


def build_mbox(rel):
    fm = Rep(meta('FastMail Pty Ltd', 'dmarc-reports@fastmail.example',
                  '102675099', day(10), day(11) - 1), simple_pol(), [
        std_rec('192.0.2.140', 4), std_rec('192.0.2.141', 1, ok=False)],
        expect=(2, 5, 4))
    xs = Rep(meta('xs4all.nl', 'dmarc@xs4all.example',
                  '9725429', day(10), day(11) - 1), simple_pol(), [
        std_rec('192.0.2.150', 2)], expect=(1, 2, 2))
    ce = Rep(meta('centerasecurity.example', 'dmarc@centerasecurity.example',
                  'ce-20231124', day(10), day(11) - 1), simple_pol(), [
        std_rec('198.51.100.150', 3), std_rec('198.51.100.151', 3)],
        expect=(2, 6, 6))
    fmn = 'fastmail.com!example.com!%d!%d!102675099.xml.gz' % (
        day(10), day(11) - 1)
    m1 = simple_mail(
        'DMARC Aggregate Report <noreply-dmarc@fastmail.example>',
        'dmarc-rua@example.com',
        'Report Domain: example.com Submitter: fastmail.com Report-ID:'
        ' <102675099>', 'Sat, 25 Nov 2023 02:00:00 +0000',
        '<102675099@fastmail.example>', [
            ('Content-Type: text/plain; charset=us-ascii\n',
             'Hello,\n\n>From the reporting system: this is an aggregate'
             ' report.\n'),
            ('Content-Type: application/gzip; name="%s"\n'
             'Content-Disposition: attachment; filename="%s"\n'
             'Content-Transfer-Encoding: base64\n' % (fmn, fmn),
             b64(gz(fm.xml())))])
    xsn = 'xs4all.nl!example.com!%d!%d!9725429.xml.gz' % (day(10), day(11) - 1)
    m2 = simple_mail(
        'noreply-dmarc@xs4all.example', 'dmarc-rua@example.com',
        'Report Domain: example.com Submitter: xs4all.nl Report-ID: <9725429>',
        'Sat, 25 Nov 2023 03:00:00 +0100', '<9725429@xs4all.example>', [
            ('Content-Type: application/gzip\n'
             'Content-Disposition: attachment; filename="%s"\n'
             'Content-Transfer-Encoding: base64\n' % xsn,
             b64(gz(xs.xml())))])
    cen = 'centerasecurity.example!example.com!%d!%d.xml' % (
        day(10), day(11) - 1)
    m3 = simple_mail(
        'dmarc@centerasecurity.example', 'dmarc-rua@example.com',
        'Report Domain: example.com Submitter: centerasecurity.example'
        ' Report-ID: <ce-20231124>', 'Sat, 25 Nov 2023 04:00:00 +0000',
        '<ce-20231124@centerasecurity.example>', [
            ('Content-Type: text/xml; name="%s"\n'
             'Content-Disposition: attachment; filename="%s"\n'
             'Content-Transfer-Encoding: base64\n' % (cen, cen),
             b64(ce.xml()))])
    out = b''
    for frm, when, m in (('noreply-dmarc@fastmail.example', 'Sat Nov 25 02:00:00 2023', m1),
                         ('noreply-dmarc@xs4all.example', 'Sat Nov 25 02:00:00 2023', m2),
                         ('dmarc@centerasecurity.example', 'Sat Nov 25 04:00:00 2023', m3)):
        assert b'\nFrom ' not in m
        out += ('From %s %s\n' % (frm, when)).encode() + m + b'\n'
    write(rel, out)
    return [fm, xs, ce]


def build_maildir(rel):
    go = Rep(google_meta('3857394813048573920', day(11), day(12) - 1),
             [('domain', 'example.org'), ('adkim', 'r'), ('aspf', 'r'),
              ('p', 'reject'), ('sp', 'reject'), ('pct', '100')], [
        rec('198.51.100.180', 11, hf='example.org',
            dk=[('example.org', 'google', 'pass')],
            sf=[('example.org', None, 'pass')])], expect=(1, 11, 11),
        version=None)
    gon = 'google.com!example.org!%d!%d.zip' % (day(11), day(12) - 1)
    m1 = simple_mail(
        'noreply-dmarc-support@google.com', 'dmarc-rua@example.org',
        'Report domain: example.org Submitter: google.com Report-ID:'
        ' 3857394813048573920', 'Sun, 26 Nov 2023 15:59:59 -0800',
        '<3857394813048573920@google.com>', [
            ('Content-Type: text/plain; charset="UTF-8"; format=flowed;'
             ' delsp=yes\n', '\n'),
            ('Content-Type: application/zip;\n\tname="%s"\n'
             'Content-Disposition: attachment;\n\tfilename="%s"\n'
             'Content-Transfer-Encoding: base64\n' % (gon, gon),
             b64(zipped([(gon[:-4] + '.xml', go.xml())])))],
        boundary='000000000000f1e2d3c4b5a69788')
    zo = Rep(meta('Zoho', 'noreply-dmarc@zoho.example', '8811223344',
                  day(11), day(12) - 1), simple_pol('example.org'), [
        rec('203.0.113.181', 2, hf='example.org', ef='example.org',
            dk=[('example.org', 'zoho', 'pass')],
            sf=[('mail.example.org', 'helo', 'pass')])], expect=(1, 2, 2))
    zon = 'zoho.com!example.org!%d!%d.xml' % (day(11), day(12) - 1)
    import quopri
    qp = quopri.encodestring(zo.xml()).decode('ascii')
    m2 = simple_mail(
        'noreply-dmarc@zoho.example', 'dmarc-rua@example.org',
        'Report Domain: example.org Submitter: zoho.com Report-ID: <8811223344>',
        'Sun, 26 Nov 2023 05:00:00 +0000', '<8811223344@zoho.example>', [
            ('Content-Type: text/xml; charset=UTF-8; name="%s"\n'
             'Content-Disposition: attachment; filename="%s"\n'
             'Content-Transfer-Encoding: quoted-printable\n' % (zon, zon),
             qp)])
    yh = Rep(yahoo_meta('1701043200.555001', day(11), day(12) - 1),
             [('domain', 'example.org'), ('adkim', 'r'), ('aspf', 'r'),
              ('p', 'reject'), ('pct', '100')], [
        rec('198.51.100.182', 1, hf='example.org',
            dk=[('example.org', None, 'pass')],
            sf=[('example.org', None, 'pass')])],
        expect=(1, 1, 1), version=None, suffix='\t')
    yhn = 'yahoo.com!example.org!%d!%d.xml.gz' % (day(11), day(12) - 1)
    m3 = simple_mail(
        'noreply@dmarc.yahoo.com', 'dmarc-rua@example.org',
        'Report Domain: example.org Submitter: yahoo.com Report-ID:'
        ' <1701043200.555001>', 'Mon, 27 Nov 2023 00:00:04 +0000',
        '<1701043200.555001@dmarc.yahoo.com>', [
            ('Content-Type: application/x-gzip\n'
             'Content-Disposition: attachment; filename="%s"\n'
             'Content-Transfer-Encoding: base64\n' % yhn,
             b64(gz(yh.xml())))])
    write(rel + '/cur/1700000000.M1P1.host:2,S', m1)
    write(rel + '/cur/1700000100.M2P1.host:2,RS', m2)
    write(rel + '/new/1700000200.M3P1.host', m3)
    os.makedirs(os.path.join(HERE, rel, 'tmp'), exist_ok=True)
    return [go, zo, yh]


# --------------------------------------------------------------------------
# samples/hostile

SKEL_HEAD = ('<feedback>\n  <version>1.0</version>\n  <report_metadata>\n'
             '    <org_name>%s</org_name>\n'
             '    <email>dmarc@attacker.example</email>\n'
             '    <report_id>%s</report_id>\n'
             '    <date_range><begin>%d</begin><end>%d</end></date_range>\n'
             '  </report_metadata>\n'
             '  <policy_published><domain>example.com</domain><p>none</p>'
             '</policy_published>\n')
SKEL_REC = ('  <record><row><source_ip>%s</source_ip><count>%s</count>'
            '<policy_evaluated><disposition>none</disposition><dkim>pass</dkim>'
            '<spf>pass</spf></policy_evaluated></row><identifiers>'
            '<header_from>example.com</header_from></identifiers><auth_results>'
            '<spf><domain>example.com</domain><scope>mfrom</scope>'
            '<result>pass</result></spf></auth_results></record>\n')


def skel(org, rid, records, n=0, mid=''):
    s = SKEL_HEAD % (org, rid, day(20 + n), day(21 + n) - 1) + mid
    for ip, c in records:
        s += SKEL_REC % (ip, c)
    return s + '</feedback>\n'


class Fake:
    """Stand-in for Rep in expect() rows of hand-written samples."""
    def __init__(self, key, e, flavour='rfc7489', kind='aggregate'):
        self._key, self.expect, self.flavour = key, e, flavour
        self.kind = kind

    def key(self):
        return self._key


def build_hostile():
    H = 'hostile/'
    decl = '<?xml version="1.0" encoding="UTF-8"?>\n'
    # billion laughs
    ents = '<!ENTITY lol "lol">\n' + ''.join(
        '<!ENTITY lol%d "%s">\n' % (i, ('&lol%s;' % ('' if i == 1 else i - 1)) * 10)
        for i in range(1, 10))
    write(H + 'billion-laughs.xml', (decl + '<!DOCTYPE feedback [\n' + ents +
          ']>\n' + skel('&lol9;', 'lol', [('192.0.2.1', 1)])).encode())
    expect(H + 'billion-laughs.xml', 'rejected', [], error='hostile',
           notes='msg=DOCTYPE where=line nested entities in the internal subset (DOCTYPE)')
    write(H + 'xxe-file.xml', (decl + '<!DOCTYPE feedback [\n<!ENTITY xxe'
          ' SYSTEM "file:///etc/passwd">\n]>\n' +
          skel('&xxe;', 'xxe', [('192.0.2.1', 1)])).encode())
    expect(H + 'xxe-file.xml', 'rejected', [], error='hostile',
           notes='msg=DOCTYPE where=line external entity SYSTEM "file:///etc/passwd" in org_name')
    write(H + 'external-dtd.xml', (decl + '<!DOCTYPE feedback SYSTEM'
          ' "http://attacker.example/dmarc.dtd">\n' +
          skel('Ext DTD', 'dtd', [('192.0.2.1', 1)])).encode())
    expect(H + 'external-dtd.xml', 'rejected', [], error='hostile',
           notes='msg=DOCTYPE where=line external DTD; must not be fetched')

    # zip bomb: one member of 300 MiB (XML head then spaces)
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        zi = zipfile.ZipInfo('google.com!example.com!1700000000!1700086399.xml',
                             date_time=ZIP_TIME)
        zi.compress_type = zipfile.ZIP_DEFLATED
        zi.external_attr = 0o644 << 16
        zi.create_system = 3
        with z.open(zi, 'w') as w:
            w.write((decl + '<feedback>\n').encode())
            # Well-formed padding (short comments), so the document stays
            # valid XML until LIM_INFLATED_BYTES cuts the stream: only
            # the decompression cap can stop it.
            chunk = PADDING * ((1 << 20) // len(PADDING))
            for _ in range(300):
                w.write(chunk)
            w.write(b'</feedback>\n')
    data = bio.getvalue()
    assert len(data) < 1 << 20, len(data)
    write(H + 'zip-bomb.zip', data)
    expect(H + 'zip-bomb.zip', 'rejected', [], error='too_large',
           notes='msg=LIM_INFLATED_BYTES where=inflated one member inflating to 300 MiB (> LIM_INFLATED_BYTES)')

    # gzip bomb: an XML head, then 300 MiB of well-formed padding
    bio = io.BytesIO()
    with gzip.GzipFile(filename='', mode='wb', fileobj=bio, compresslevel=9,
                       mtime=0) as g:
        g.write((decl + '<feedback>\n').encode())
        chunk = PADDING * ((1 << 20) // len(PADDING))
        for _ in range(300):
            g.write(chunk)
    data = bio.getvalue()
    assert len(data) < 1 << 20, len(data)
    write(H + 'gzip-bomb.xml.gz', data)
    expect(H + 'gzip-bomb.xml.gz', 'rejected', [], error='too_large',
           notes='msg=LIM_INFLATED_BYTES where=byte XML head + 300 MiB of comment padding (> LIM_INFLATED_BYTES)')

    # deep nesting inside a record
    deep = '<x>' * 10000 + '</x>' * 10000
    s = skel('Deep', 'deep', [('192.0.2.1', 1)])
    s = s.replace('<record><row>', '<record>' + deep + '<row>', 1)
    write(H + 'deep-nesting.xml', (decl + s).encode())
    expect(H + 'deep-nesting.xml', 'rejected', [], error='too_large',
           notes='msg=LIM_XML_DEPTH where=line 10,000 nested <x> inside a record (> LIM_XML_DEPTH)')

    # truncated gzip
    full = gz((decl + skel('Truncated', 'trunc', [
        ('192.0.2.%d' % i, i) for i in range(1, 60)])).encode())
    write(H + 'truncated.xml.gz', full[:len(full) * 6 // 10])
    expect(H + 'truncated.xml.gz', 'rejected', [], error='format',
           notes='msg=truncated where=byte gzip stream cut at 60%: no CRC/length trailer')

    # invalid UTF-8 in org_name: lands after recovery
    s = (decl + skel('Caf\x00 Mail \x01', 'utf8-bad', [('192.0.2.1', 3),
                                                      ('192.0.2.2', 1)], n=1))
    b = s.encode().replace(b'\x00', b'\xe9').replace(b'\x01', b'\xff\xfe')
    write(H + 'invalid-utf8-org.xml', b)
    expect(H + 'invalid-utf8-org.xml', 'stored',
           [Fake(('Caf\ufffd Mail \ufffd\ufffd', 'dmarc@attacker.example',
                  'utf8-bad', day(21), day(22) - 1, 'example.com'),
                 (2, 4, 4))],
           warnings='invalid_utf8,xml_recovered',
           notes='bytes e9 and ff fe inside org_name: each stored as U+FFFD;'
                 ' lands with both warnings')

    # H1: an unclosed tag makes libxml2's recovery re-nest elements; every
    # record must still land (or the report be refused), never fewer
    s = decl + skel('Unclosed Policy', 'unclosed-policy', [
        ('192.0.2.1', 3), ('192.0.2.2', 2), ('192.0.2.3', 1)], n=10)
    s = s.replace('</policy_published>', '', 1)
    write(H + 'unclosed-policy-published.xml', s.encode())
    expect(H + 'unclosed-policy-published.xml', 'stored',
           [Fake((None, 'dmarc@attacker.example', 'unclosed-policy', day(30),
                  day(31) - 1, 'example.com'), (3, 6, 6))],
           warnings='xml_recovered,renested',
           notes='</policy_published> missing: recovery puts the records'
                 ' inside policy_published; all three are read where they'
                 ' belong')
    s = decl + skel('Unclosed Row', 'unclosed-row', [
        ('192.0.2.1', 3), ('192.0.2.2', 2)], n=11)
    s = s.replace('</row>', '', 1)
    write(H + 'unclosed-row.xml', s.encode())
    expect(H + 'unclosed-row.xml', 'stored',
           [Fake((None, 'dmarc@attacker.example', 'unclosed-row', day(31),
                  day(32) - 1, 'example.com'), (2, 5, 5))],
           warnings='xml_recovered,renested',
           notes='first </row> missing: recovery puts identifiers,'
                 ' auth_results and the second record inside the first row;'
                 ' both records land whole')
    s = decl + skel('Hidden Record', 'hidden-record', [
        ('192.0.2.1', 3), ('192.0.2.2', 2)], n=12)
    s = s.replace('  <record>', '  <batch><record>', 1).replace(
        '</record>\n', '</record></batch>\n', 1)
    write(H + 'record-out-of-place.xml', s.encode())
    expect(H + 'record-out-of-place.xml', 'rejected', [], error='format',
           notes='msg=cannot where=[name]/record well-formed, but one of the two'
                 ' records sits in an unknown <batch> element: refused'
                 ' rather than stored with one record')

    # huge counts
    s = decl + skel('Count Overflow', 'count-overflow', [
        ('192.0.2.1', 5), ('192.0.2.2', '99999999999999999999999'),
        ('192.0.2.3', 2)], n=2)
    write(H + 'count-overflow.xml', s.encode())
    expect(H + 'count-overflow.xml', 'stored',
           [Fake((None, 'dmarc@attacker.example', 'count-overflow', day(22),
                  day(23) - 1, 'example.com'), (2, 7, 7))],
           warnings='row_bad_count',
           notes='count 99999999999999999999999 overflows 64 bits: row'
                 ' skipped, other two land')
    s = decl + skel('Count Huge', 'count-1e15', [
        ('192.0.2.1', 5), ('192.0.2.2', '1000000000000000'),
        ('192.0.2.3', 2)], n=3)
    write(H + 'count-1e15.xml', s.encode())
    expect(H + 'count-1e15.xml', 'stored',
           [Fake((None, 'dmarc@attacker.example', 'count-1e15', day(23),
                  day(24) - 1, 'example.com'), (2, 7, 7))],
           warnings='row_bad_count',
           notes='count 10^15 > LIM_RECORD_COUNT: row skipped, other two'
                 ' land')

    s = decl + skel('A' * 10000, 'long-org', [('192.0.2.1', 1)], n=4)
    write(H + 'long-org-name.xml', s.encode())
    expect(H + 'long-org-name.xml', 'rejected', [], error='too_large',
           notes='msg=LIM_FIELD_BYTES where=org_name 10,000-character org_name (> LIM_FIELD_BYTES)')

    write(H + 'yahoo-unused.eml', mail([
        ('From', 'noreply@dmarc.yahoo.com'),
        ('To', 'dmarc-rua@example.com'),
        ('Subject', 'Report Domain: example.com Submitter: yahoo.com'
                    ' Report-ID: <1684108800.101010>'),
        ('Date', 'Mon, 15 May 2023 00:00:00 +0000'),
        ('Message-ID', '<1684108800.101010@dmarc.yahoo.com>'),
        ('MIME-Version', '1.0'),
        ('Content-Type', 'text/plain; charset=us-ascii'),
    ], 'unused\n'))
    expect(H + 'yahoo-unused.eml', 'rejected', [], error='noreport',
           notes='Yahoo May 2023: body is the word "unused"')

    write(H + 'empty.xml', b'')
    expect(H + 'empty.xml', 'rejected', [], error='noreport',
           notes='zero bytes')

    # An empty root with no attributes: no byte of the document is
    # buffered before its first node (a null-pointer offset the clang
    # fuzz smoke found; UBSan in the sanitizer build replays it).
    write(H + 'empty-root.xml', b'<feedback/>')
    expect(H + 'empty-root.xml', 'rejected', [], error='format',
           notes='msg=report_metadata where=feedback <feedback/> and nothing else')

    write(H + 'zip-slip.zip', zipped([
        ('../evil.xml', (decl + skel('Slip', 'slip', [('192.0.2.1', 1)],
                                     n=5)).encode())]))
    expect(H + 'zip-slip.zip', 'rejected', [], error='hostile',
           notes='msg=refused where=member only member is named ../evil.xml')

    hdrs = [('X-Filler-%05d' % i, 'x') for i in range(10000)]
    rep = (decl + skel('Headers', 'many-headers', [('192.0.2.1', 1)],
                       n=6)).encode()
    write(H + 'many-headers.eml', mail(hdrs + [
        ('From', 'dmarc@attacker.example'), ('To', 'dmarc-rua@example.com'),
        ('Subject', 'Report Domain: example.com Submitter: attacker.example'),
        ('MIME-Version', '1.0'),
        ('Content-Type', 'application/gzip'),
        ('Content-Transfer-Encoding', 'base64')], b64(gz(rep))))
    expect(H + 'many-headers.eml', 'rejected', [], error='too_large',
           notes='msg=LIM_HEADER_FIELDS where=line 10,000 header lines (> LIM_HEADER_FIELDS) before a valid'
                 ' gzip report body')

    pdf = (b'%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n'
           b'2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n'
           b'trailer << /Root 1 0 R >>\n%%EOF\n')
    write(H + 'not-a-report.eml', simple_mail(
        'billing@example.net', 'dmarc-rua@example.com', 'Your invoice',
        'Tue, 21 Nov 2023 10:00:00 +0000', '<inv-1@example.net>', [
            ('Content-Type: text/plain; charset=us-ascii\n',
             'Please find the invoice attached.\n'),
            ('Content-Type: application/pdf; name="invoice.pdf"\n'
             'Content-Disposition: attachment; filename="invoice.pdf"\n'
             'Content-Transfer-Encoding: base64\n', b64(pdf))]))
    expect(H + 'not-a-report.eml', 'rejected', [], error='noreport',
           notes='text/plain + application/pdf: no report payload')

    good = Rep(meta('partial.example.net', 'dmarc@partial.example.net',
                    'partial-good-1', day(12), day(13) - 1), simple_pol(), [
        std_rec('198.51.100.201', 2), std_rec('198.51.100.202', 1, ok=False)],
        expect=(2, 3, 2))
    bad = (decl + '<!DOCTYPE feedback [\n<!ENTITY e "x">\n]>\n' +
           skel('&e;', 'partial-bad-2', [('192.0.2.1', 1)], n=7)).encode()
    write(H + 'partial-good-and-bad.eml', simple_mail(
        'dmarc@partial.example.net', 'dmarc-rua@example.com',
        'Report Domain: example.com Submitter: partial.example.net',
        'Wed, 22 Nov 2023 10:00:00 +0000', '<partial-1@example.net>', [
            ('Content-Type: application/gzip\n'
             'Content-Disposition: attachment; filename="good.xml.gz"\n'
             'Content-Transfer-Encoding: base64\n', b64(gz(good.xml()))),
            ('Content-Type: text/xml\n'
             'Content-Disposition: attachment; filename="bad.xml"\n'
             'Content-Transfer-Encoding: base64\n', b64(bad))]))
    expect(H + 'partial-good-and-bad.eml', 'partial', [good], error='hostile',
           notes='msg=DOCTYPE where=line two payloads: a good gzip report lands, an XML with a'
                 ' DOCTYPE is rejected')


# --------------------------------------------------------------------------
# TLS-RPT (RFC 8460) and DMARC failure reports (ARF, RFC 6591 / RFC 9991)

import datetime
import json


def iso_epoch(s):
    """RFC 3339 date-time -> epoch seconds; no zone = UTC (Microsoft)."""
    s = s.strip()
    if s.endswith('Z') or s.endswith('z'):
        s = s[:-1] + '+00:00'
    d = datetime.datetime.fromisoformat(s)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp())


def tls_policy(ptype, domain, ok, failed, strings=None, mx=None,
               details=None):
    """One element of "policies". None = member left out."""
    pol = {'policy-type': ptype}
    if strings is not None:
        pol['policy-string'] = strings
    if domain is not None:
        pol['policy-domain'] = domain
    if mx is not None:
        pol['mx-host'] = mx
    item = {'policy': pol,
            'summary': {'total-successful-session-count': ok,
                        'total-failure-session-count': failed}}
    if details is not None:
        item['failure-details'] = details
    return item


class Tls:
    """One TLS-RPT report. expect = (policies, sessions, successful), worked
    out by hand; sessions = successful + failure summary totals of all
    policies (the details are not added: they overlap by design)."""
    kind = 'tlsrpt'
    flavour = None

    def __init__(self, org, contact, rid, b, e, policies, expect,
                 indent=None, key_order=None):
        self.org, self.contact, self.rid = org, contact, rid
        self.b, self.e = b, e
        self.policies = policies
        self.indent = indent
        self.key_order = key_order
        n = len(policies)
        ok = sum(p['summary']['total-successful-session-count']
                 for p in policies)
        bad = sum(p['summary']['total-failure-session-count']
                  for p in policies)
        got = (n, ok + bad, ok)
        assert got == tuple(expect), (rid, got, expect)
        self.expect = got

    def doc(self):
        d = {}
        members = {'organization-name': self.org,
                   'date-range': {'start-datetime': self.b,
                                  'end-datetime': self.e},
                   'contact-info': self.contact,
                   'report-id': self.rid,
                   'policies': self.policies}
        for k in self.key_order or ('organization-name', 'date-range',
                                    'contact-info', 'report-id',
                                    'policies'):
            d[k] = members[k]
        return d

    def json(self):
        if self.indent is None:
            s = json.dumps(self.doc(), separators=(',', ':'))
        else:
            s = json.dumps(self.doc(), indent=self.indent)
        return s.encode('utf-8')

    def key(self):
        dom = None
        if self.policies:
            dom = self.policies[0]['policy'].get('policy-domain')
            if dom is not None:
                dom = dom.lower()
                if dom.endswith('.'):
                    dom = dom[:-1]
        return (self.org, self.contact, self.rid, iso_epoch(self.b),
                iso_epoch(self.e), dom)


class Arf:
    """One DMARC failure report: what `reports --json` shows for it
    (doc/schema.md "Report kinds"): org_name/email NULL, report_id = the
    original Message-ID, begin = end = the arrival time, policy_domain =
    lower(Reported-Domain), 1 record, 1 message, 0 passing."""
    kind = 'failure'
    flavour = None

    def __init__(self, msgid, arrival, domain):
        self.msgid, self.arrival, self.domain = msgid, arrival, domain
        self.expect = (1, 1, 0)

    def key(self):
        # 'null': reports --json must print null (None would mean "do
        # not compare")
        return ('null', 'null', self.msgid, self.arrival, self.arrival,
                self.domain)


def enc_word(s):
    """RFC 2047 B-encoded word, UTF-8."""
    return '=?UTF-8?B?%s?=' % base64.b64encode(s.encode('utf-8')).decode()


def report_mail(headers, report_type, parts, boundary, eol='\n'):
    """multipart/report. parts: list of (headers_str, body_str)."""
    body = 'This is a multi-part message in MIME format.\n\n'
    for h, b in parts:
        body += '--%s\n%s\n%s\n' % (boundary, h, b)
    body += '--%s--\n' % boundary
    return mail(headers + [
        ('MIME-Version', '1.0'),
        ('Content-Type', 'multipart/report; report-type=%s;\n\tboundary="%s"'
         % (report_type, boundary))], body, eol=eol)


def google_tls(domain, n, ptype, ok, failed, **kw):
    b = '2023-11-%02dT00:00:00Z' % (14 + n)
    e = '2023-11-%02dT23:59:59Z' % (14 + n)
    return b, e, '%s_%s' % (b, domain)


def tls_google_bare():
    b, e, rid = google_tls('example.com', 1, 'sts', 0, 0)
    # Google: mx-host array, policy-string one entry per line of the STS
    # policy file, failure-details only when there are failures.
    pol = tls_policy('sts', 'example.com', 1180, 7, strings=[
        'version: STSv1', 'mode: enforce', 'mx: mx1.example.com',
        'mx: mx2.example.com', 'max_age: 604800'],
        mx=['mx1.example.com', 'mx2.example.com'], details=[
            {'result-type': 'certificate-expired',
             'sending-mta-ip': '2001:db8:4860:4864::1a',
             'receiving-mx-hostname': 'mx2.example.com',
             'receiving-ip': '203.0.113.25',
             'failed-session-count': 5},
            {'result-type': 'validation-failure',
             'sending-mta-ip': '198.51.100.17',
             'receiving-mx-hostname': 'mx2.example.com',
             'receiving-ip': '203.0.113.25',
             'failed-session-count': 2,
             'failure-reason-code': 'X509_V_ERR_CERT_HAS_EXPIRED'}])
    # 1180 ok + 7 failed (5 + 2 in the details: they add up here)
    return Tls('Google Inc.', 'smtp-tls-reporting@google.com', rid, b, e,
               [pol], expect=(1, 1187, 1180))


def tls_google_mail_report():
    b, e, rid = google_tls('example.org', 2, 'no-policy-found', 0, 0)
    # example.org publishes no MTA-STS policy: no-policy-found, no
    # policy-string, no failure-details (Google leaves them out).
    pol = tls_policy('no-policy-found', 'example.org', 42, 0,
                     mx=['mx.example.org'])
    return Tls('Google Inc.', 'smtp-tls-reporting@google.com', rid, b, e,
               [pol], expect=(1, 42, 42))


def google_tls_mail(rep):
    name = 'google.com!example.org!%d!%d!001.json.gz' % (day(2),
                                                         day(3) - 1)
    return report_mail([
        ('Delivered-To', 'tlsrpt@example.org'),
        ('Return-Path', '<noreply-smtp-tls-reporting@google.com>'),
        ('DKIM-Signature', 'v=1; a=rsa-sha256; c=relaxed/relaxed;'
                           ' d=google.com; s=20230601;\n\th=tls-report-'
                           'submitter:tls-report-domain:to:from:subject:'
                           'message-id:date:mime-version;\n\tbh=AAAA; b=BBBB'),
        ('TLS-Report-Domain', 'example.org'),
        ('TLS-Report-Submitter', 'google.com'),
        ('Date', 'Thu, 16 Nov 2023 16:59:59 -0800'),
        ('Message-ID', '<000000000000aa11bb22cc33dd44@google.com>'),
        ('Subject', 'Report Domain: example.org Submitter: google.com'
                    ' Report-ID: <2023.11.16T00.00.00Z+example.org@google.com>'),
        ('From', 'noreply-smtp-tls-reporting@google.com'),
        ('To', 'tlsrpt@example.org'),
    ], 'tlsrpt', [
        ('Content-Type: text/plain; charset="UTF-8"; format=flowed;'
         ' delsp=yes\n', 'This is an aggregate TLS report from google.com\n'),
        ('Content-Type: application/tlsrpt+gzip; \n\tname="%s"\n'
         'Content-Disposition: attachment; \n\tfilename="%s"\n'
         'Content-Transfer-Encoding: base64\n' % (name, name),
         b64(gz(rep.json())))], boundary='000000000000ee55ff66aa77bb88')


def tls_microsoft_report():
    # Microsoft 2023: datetimes without a zone, report-id "<18 digits>+<d>",
    # mx-host left out, failure details without sending-mta-ip.
    rid = '133446048000000000+example.com'
    sts = tls_policy('sts', 'example.com', 310, 4, strings=[
        'version: STSv1', 'mode: testing', 'mx: mx1.example.com',
        'max_age: 86400'], details=[
            {'result-type': 'sts-policy-fetch-error',
             'failed-session-count': 3},
            {'result-type': 'certificate-host-mismatch',
             'receiving-mx-hostname': 'mx1.example.com',
             'failed-session-count': 1}])
    tlsa = tls_policy('tlsa', 'example.com', 25, 0, strings=[
        '3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef'
        '0123456789abcdef'], mx=['mx1.example.com'])
    # sts 310 + 4, tlsa 25 + 0 -> 2 policies, 339 sessions, 335 ok
    return Tls('Microsoft Corporation', 'tlsrpt-noreply@microsoft.com', rid,
               '2023-11-17T00:00:00', '2023-11-17T23:59:59', [sts, tlsa],
               expect=(2, 339, 335), indent=None)


def microsoft_tls_mail(rep):
    name = 'microsoft.com!example.com!%d!%d!133446048000000000.json.gz' % (
        day(3), day(4) - 1)
    return report_mail([
        ('Return-Path', '<tlsrpt-noreply@microsoft.com>'),
        ('From', 'tlsrpt-noreply@microsoft.com'),
        ('To', '<tlsrpt@example.com>'),
        ('Subject', 'Report Domain: example.com Submitter: microsoft.com\n'
                    ' Report-ID: 133446048000000000+example.com'),
        ('TLS-Report-Domain', 'example.com'),
        ('TLS-Report-Submitter', 'microsoft.com'),
        ('Date', 'Sat, 18 Nov 2023 06:41:12 +0000'),
        ('Message-ID', '<TLSRPT-133446048000000000@microsoft.com>'),
    ], 'tlsrpt', [
        ('Content-Type: text/plain; charset="us-ascii"\n'
         'Content-Transfer-Encoding: 7bit\n',
         'This is an aggregate TLS report from microsoft.com\n'),
        ('Content-Type: application/tlsrpt+gzip;\n\tname="%s"\n'
         'Content-Disposition: attachment;\n\tfilename="%s"\n'
         'Content-Transfer-Encoding: base64\n' % (name, name),
         b64(gz(rep.json())))], boundary='_002_TLSRPT_mixed_', eol='\r\n')


def tls_mailru_report():
    # Mail.ru: report-id "<uuid>@mail.ru", sparse failure details (no IPs,
    # no host names), failure-reason-code on sts-policy-fetch-error, and a
    # total-failure-session-count (1) below the details' sum (1 + 1).
    pol = tls_policy('sts', 'example.net', 57, 1, strings=[
        'version: STSv1', 'mode: enforce', 'mx: mx.example.net',
        'max_age: 86400'], mx=['mx.example.net'], details=[
            {'result-type': 'sts-policy-fetch-error',
             'failure-reason-code': 'bad https response code: 404',
             'failed-session-count': 1},
            {'result-type': 'sts-policy-invalid',
             'failed-session-count': 1}])
    return Tls('Mail.ru', 'tls_support@corp.mail.ru',
               '3f1c9d52-7a4e-4b8f-9e21-6c0d5a7b8e94@mail.ru',
               '2023-11-18T00:00:00Z', '2023-11-18T23:59:59Z', [pol],
               expect=(1, 58, 57), indent=2)


def mailru_tls_mail(rep):
    return report_mail([
        ('From', 'tls_support@corp.mail.ru'),
        ('To', 'tlsrpt@example.net'),
        ('Subject', 'Report Domain: example.net Submitter: mail.ru'
                    ' Report-ID: <%s>' % rep.rid),
        ('TLS-Report-Domain', 'example.net'),
        ('TLS-Report-Submitter', 'mail.ru'),
        ('Date', 'Sun, 19 Nov 2023 03:05:11 +0300'),
        ('Message-ID', '<1700352311.3f1c9d52@mail.ru>'),
    ], 'tlsrpt', [
        ('Content-Type: text/plain; charset=utf-8\n'
         'Content-Transfer-Encoding: 7bit\n',
         'TLS report for example.net\n'),
        ('Content-Type: application/tlsrpt+json\n'
         'Content-Disposition: attachment;'
         ' filename="mail.ru!example.net!%d!%d.json"\n'
         'Content-Transfer-Encoding: 7bit\n' % (day(4), day(5) - 1),
         rep.json().decode('ascii') + '\n')],
        boundary='----mailru-tlsrpt-1700352311')


def tls_mixed_report():
    # A Postfix tlsrpt-reporter-like small sender: three policies of the
    # three types, an unknown result-type (kept verbatim), a policy-domain
    # in upper case with a root dot, "failure-details": [] when clean.
    sts = tls_policy('sts', 'Example.COM.', 90, 6, strings=[
        'version: STSv1', 'mode: enforce', 'mx: *.example.com',
        'max_age: 604800'], mx=['*.example.com'], details=[
            {'result-type': 'x-smtp-timeout-after-starttls',
             'sending-mta-ip': '192.0.2.44',
             'receiving-mx-hostname': 'mx1.example.com',
             'receiving-ip': '203.0.113.25',
             'failed-session-count': 4},
            {'result-type': 'starttls-not-supported',
             'sending-mta-ip': '192.0.2.44',
             'receiving-mx-hostname': 'mx3.example.com',
             'receiving-ip': '203.0.113.27',
             'failed-session-count': 2}])
    tlsa = tls_policy('tlsa', 'example.org', 12, 1, strings=[
        '3 1 1 fedcba9876543210fedcba9876543210fedcba9876543210'
        'fedcba9876543210'], mx=['mx.example.org'], details=[
            {'result-type': 'tlsa-invalid', 'sending-mta-ip': '192.0.2.44',
             'receiving-mx-hostname': 'mx.example.org',
             'failed-session-count': 1}])
    npf = tls_policy('no-policy-found', 'example.net', 30, 0, details=[])
    # 90+6 + 12+1 + 30+0 = 139 sessions, 132 ok, 3 policies
    return Tls('mail.example.net', 'tlsrpt@mail.example.net',
               '2023-11-19T00:00:00Z-mail.example.net-0001',
               '2023-11-19T00:00:00Z', '2023-11-20T00:00:00Z',
               [sts, tlsa, npf], expect=(3, 139, 132), indent=4)


def arf_mail(frm, to, subj, date, msgid, feedback, original,
             orig_type='text/rfc822-headers', text=None,
             boundary='=_arf_boundary_', extra_headers=()):
    parts = [('Content-Type: text/plain; charset=us-ascii\n',
              text or 'This is an authentication failure report for an'
                      ' email message received from IP 203.0.113.45.\n'),
             ('Content-Type: message/feedback-report\n', feedback),
             ('Content-Type: %s\n' % orig_type, original)]
    return report_mail([('From', frm), ('To', to), ('Subject', subj),
                        ('Date', date), ('Message-ID', msgid)]
                       + list(extra_headers),
                       'feedback-report', parts, boundary)


def arf_full():
    subj = 'Rechnung Nr. 4711 \u2013 f\u00e4llig'
    fb = ('Feedback-Type: auth-failure\n'
          'User-Agent: dmarcwatch-samples/1.0\n'
          'Version: 1\n'
          'Original-Mail-From: <billing@example.com>\n'
          'Original-Rcpt-To: <user@example.net>\n'
          'Arrival-Date: Sun, 19 Nov 2023 10:15:02 +0000\n'
          'Reporting-MTA: dns; mx.example.net\n'
          'Source-IP: 203.0.113.45\n'
          'Reported-Domain: Example.com\n'
          'Authentication-Results: mx.example.net; dmarc=fail (p=reject'
          ' dis=none)\n header.from=example.com; dkim=fail (signature'
          ' verification failed)\n header.d=example.com header.s=s2023;'
          ' spf=fail smtp.mailfrom=example.com\n'
          'Auth-Failure: dmarc\n'
          'Identity-Alignment: dkim, spf\n'
          'Delivery-Result: reject\n'
          'DKIM-Domain: example.com\n'
          'DKIM-Selector: s2023\n'
          'SPF-DNS: txt : example.com : "v=spf1 ip4:192.0.2.0/24 -all"\n')
    orig = ('Return-Path: <billing@example.com>\n'
            'Received: from unknown (HELO billing.example.com)'
            ' ([203.0.113.45])\n\tby mx.example.net with ESMTP;'
            ' Sun, 19 Nov 2023 10:15:01 +0000\n'
            'DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s2023;'
            ' h=from:to:subject:date;\n\tbh=AAAA; b=BBBB\n'
            'From: "Example Billing" <billing@example.com>\n'
            'To: user@example.net\n'
            'Subject: %s\n'
            'Date: Sun, 19 Nov 2023 11:14:58 +0100\n'
            'Message-ID: <20231119101458.4711@billing.example.com>\n'
            'MIME-Version: 1.0\n'
            'Content-Type: text/plain; charset=utf-8\n' % enc_word(subj))
    data = arf_mail('dmarc-failure@mx.example.net', 'dmarc-ruf@example.com',
                    'DMARC failure report for example.com (mail-from='
                    'billing@example.com, ip=203.0.113.45)',
                    'Sun, 19 Nov 2023 10:20:00 +0000',
                    '<ruf-0001@mx.example.net>', fb, orig)
    # 2023-11-19 10:15:02 UTC = day(5) + 10 h 15 min 2 s
    return data, Arf('<20231119101458.4711@billing.example.com>',
                     day(5) + 10 * 3600 + 15 * 60 + 2, 'example.com')


def arf_minimal():
    # RFC 6591 minimum: Feedback-Type, User-Agent, Version, Auth-Failure,
    # Authentication-Results (+ SPF-DNS for an spf failure). No
    # Arrival-Date (the report mail's Date is used), no Reported-Domain
    # (the original From's domain is used), message/rfc822 with headers and
    # a body.
    fb = ('Feedback-Type: auth-failure\n'
          'User-Agent: SomeGenerator/1.0\n'
          'Version: 1\n'
          'Auth-Failure: spf\n'
          'Authentication-Results: mx.example.org; spf=fail'
          ' smtp.mailfrom=news.example.org\n'
          'SPF-DNS: txt : news.example.org : "v=spf1 -all"\n')
    orig = ('From: news@news.example.org\n'
            'To: reader@example.org\n'
            'Subject: Weekly news\n'
            'Date: Mon, 20 Nov 2023 08:00:00 +0000\n'
            'Message-ID: <weekly-47@news.example.org>\n'
            '\n'
            'Hello.\n')
    data = arf_mail('postmaster@mx.example.org', 'ruf@news.example.org',
                    'FW: Weekly news', 'Mon, 20 Nov 2023 08:00:07 +0000',
                    '<arf-min-1@mx.example.org>', fb, orig,
                    orig_type='message/rfc822',
                    text='SPF failure report.\n')
    # arrival = the report mail's Date: 2023-11-20 08:00:07 UTC
    return data, Arf('<weekly-47@news.example.org>',
                     day(6) + 8 * 3600 + 7, 'news.example.org')


def build_tlsrpt_arf_reports():
    R = 'reports/'
    g = tls_google_bare()
    name = 'google.com!example.com!%d!%d.json.gz' % (day(1), day(2) - 1)
    write(R + name, gz(g.json()))
    expect(R + name, 'stored', [g],
           notes='Google TLS-RPT, bare .json.gz: compact JSON, mx-host'
                 ' array, 5-line STS policy-string, IPv6 sending-mta-ip')
    gm = tls_google_mail_report()
    write(R + 'google-tlsrpt.eml', google_tls_mail(gm))
    expect(R + 'google-tlsrpt.eml', 'stored', [gm],
           notes='Google TLS-RPT mail: multipart/report; report-type=tlsrpt,'
                 ' application/tlsrpt+gzip; no-policy-found, no'
                 ' failure-details')
    ms = tls_microsoft_report()
    write(R + 'microsoft-tlsrpt.eml', microsoft_tls_mail(ms))
    expect(R + 'microsoft-tlsrpt.eml', 'stored', [ms],
           warnings='timezone_missing',
           notes='Microsoft TLS-RPT mail (CRLF): dates without Z, no'
                 ' mx-host on the sts policy, details without IPs, tlsa'
                 ' policy, report-id <18 digits>+example.com')
    mr = tls_mailru_report()
    write(R + 'mailru-tlsrpt.eml', mailru_tls_mail(mr))
    expect(R + 'mailru-tlsrpt.eml', 'stored', [mr],
           warnings='totals_mismatch',
           notes='Mail.ru TLS-RPT mail: plain application/tlsrpt+json,'
                 ' sparse details, total 1 vs details 1+1')
    mx = tls_mixed_report()
    write(R + 'tlsrpt-three-policies.json', mx.json())
    expect(R + 'tlsrpt-three-policies.json', 'stored', [mx],
           warnings='enum_unknown',
           notes='sts + tlsa + no-policy-found; unknown result-type kept'
                 ' verbatim; policy-domain "Example.COM." stored as'
                 ' example.com; 00:00 -> next 00:00')
    data, a = arf_full()
    write(R + 'arf-dmarc-failure.eml', data)
    expect(R + 'arf-dmarc-failure.eml', 'stored', [a],
           notes='ARF DMARC failure report: text/plain +'
                 ' message/feedback-report + text/rfc822-headers; Subject'
                 ' RFC 2047 UTF-8')
    data, a = arf_minimal()
    write(R + 'arf-rfc6591-minimal.eml', data)
    expect(R + 'arf-rfc6591-minimal.eml', 'stored', [a],
           warnings='field_missing',
           notes='RFC 6591 minimum (spf failure): no Arrival-Date, no'
                 ' Reported-Domain; message/rfc822 original')


def tls_skel(rid, n=20, org='Hostile Reporter', policies=None):
    b = '2023-12-%02dT00:00:00Z' % (n - 16)
    e = '2023-12-%02dT23:59:59Z' % (n - 16)
    if policies is None:
        policies = [tls_policy('sts', 'example.com', 5, 1, strings=[
            'version: STSv1', 'mode: enforce'], mx=['mx.example.com'],
            details=[{'result-type': 'certificate-expired',
                      'sending-mta-ip': '192.0.2.1',
                      'failed-session-count': 1}])]
    return ('{"organization-name": "%s", "date-range": {"start-datetime":'
            ' "%s", "end-datetime": "%s"}, "contact-info":'
            ' "tlsrpt@attacker.example", "report-id": "%s", "policies": %s}\n'
            % (org, b, e, rid, json.dumps(policies)))


def build_hostile_tlsrpt_arf():
    H = 'hostile/'
    deep = ('{"organization-name": "Deep", "report-id": "deep", "policies": '
            + '[' * 10000 + ']' * 10000 + '}\n')
    write(H + 'tlsrpt-deep.json', deep.encode())
    expect(H + 'tlsrpt-deep.json', 'rejected', [], error='too_large',
           notes='msg=LIM_JSON_DEPTH where=line JSON object holding 10,000 nested arrays'
                 ' (> LIM_JSON_DEPTH)')

    bio = io.BytesIO()
    with gzip.GzipFile(filename='', mode='wb', fileobj=bio, compresslevel=9,
                       mtime=0) as g:
        g.write(b'{')
        chunk = b' ' * (1 << 20)
        for _ in range(100):
            g.write(chunk)
        g.write(b'}\n')
    data = bio.getvalue()
    assert len(data) < 1 << 20, len(data)
    write(H + 'tlsrpt-whitespace-bomb.json.gz', data)
    expect(H + 'tlsrpt-whitespace-bomb.json.gz', 'rejected', [],
           error='too_large',
           notes='msg=LIM_JSON_BYTES where=byte "{" + 100 MiB of spaces + "}" gzipped (> LIM_JSON_BYTES)')

    s = tls_skel('dup-keys').replace('"report-id": "dup-keys"',
                                     '"report-id": "dup-keys", "report-id":'
                                     ' "dup-keys-2"')
    write(H + 'tlsrpt-duplicate-keys.json', s.encode())
    expect(H + 'tlsrpt-duplicate-keys.json', 'rejected', [], error='format',
           notes='"report-id" twice in the top-level object')

    s = tls_skel('negative', n=21).replace(
        '"total-successful-session-count": 5',
        '"total-successful-session-count": -5')
    assert '-5' in s
    write(H + 'tlsrpt-negative-count.json', s.encode())
    expect(H + 'tlsrpt-negative-count.json', 'rejected', [], error='format',
           notes='total-successful-session-count -5')

    s = tls_skel('count-1e30', n=22).replace(
        '"failed-session-count": 1', '"failed-session-count": 1e30')
    assert '1e30' in s
    write(H + 'tlsrpt-count-1e30.json', s.encode())
    expect(H + 'tlsrpt-count-1e30.json', 'rejected', [], error='too_large',
           notes='msg=LIM_RECORD_COUNT where=failed-session-count failed-session-count 1e30: a real above 2^53 (jansson'
                 ' reads it as a double), > LIM_RECORD_COUNT')

    s = tls_skel('nul', n=23, org='Evil\\u0000Corp')
    write(H + 'tlsrpt-nul-string.json', s.encode())
    expect(H + 'tlsrpt-nul-string.json', 'rejected', [], error='format',
           notes='organization-name "Evil\\u0000Corp"')

    s = tls_skel('bad-utf8', n=24, org='Caf\x00 Mail \x01').encode()
    s = s.replace(b'\x00', b'\xe9').replace(b'\x01', b'\xff\xfe')
    write(H + 'tlsrpt-invalid-utf8.json', s)
    expect(H + 'tlsrpt-invalid-utf8.json', 'rejected', [], error='format',
           notes='bytes e9 and ff fe inside organization-name (JSON must be'
                 ' UTF-8, RFC 8259)')

    fb = ''.join('X-Filler-%05d: x\n' % i for i in range(10000))
    fb += ('Feedback-Type: auth-failure\nUser-Agent: Flood/1.0\nVersion: 1\n'
           'Auth-Failure: dmarc\nReported-Domain: example.com\n'
           'Source-IP: 192.0.2.1\n'
           'Arrival-Date: Mon, 4 Dec 2023 10:00:00 +0000\n')
    write(H + 'arf-many-fields.eml', arf_mail(
        'dmarc@attacker.example', 'dmarc-ruf@example.com',
        'DMARC failure report', 'Mon, 4 Dec 2023 10:00:01 +0000',
        '<flood-1@attacker.example>', fb,
        'From: someone@example.com\nMessage-ID: <flood@example.com>\n'))
    expect(H + 'arf-many-fields.eml', 'rejected', [], error='too_large',
           notes='msg=LIM_HEADER_FIELDS where=line 10,000 header lines in the message/feedback-report part'
                 ' (> LIM_HEADER_FIELDS)')

    # A directory: good and bad TLS-RPT and ARF side by side. The bad ones
    # are rejected (format), the good ones land.
    B = H + 'batch-mixed/'
    good = Tls('batch.example.net', 'tlsrpt@batch.example.net', 'batch-1',
               '2023-12-10T00:00:00Z', '2023-12-10T23:59:59Z',
               [tls_policy('sts', 'example.com', 8, 0, strings=[
                   'version: STSv1', 'mode: enforce'],
                   mx=['mx.example.com'])], expect=(1, 8, 8))
    write(B + '1-good-tlsrpt.json', good.json())
    write(B + '2-bad-tlsrpt.json', good.json()[:-20])
    fb = ('Feedback-Type: auth-failure\nUser-Agent: Batch/1.0\nVersion: 1\n'
          'Auth-Failure: dmarc\nReported-Domain: example.com\n'
          'Source-IP: 198.51.100.99\n'
          'Arrival-Date: Sun, 10 Dec 2023 12:00:00 +0000\n'
          'Identity-Alignment: none\n')
    write(B + '3-good-arf.eml', arf_mail(
        'dmarc@batch.example.net', 'dmarc-ruf@example.com',
        'DMARC failure report', 'Sun, 10 Dec 2023 12:00:05 +0000',
        '<batch-arf-1@batch.example.net>', fb,
        'From: ceo@example.com\nTo: staff@example.net\nSubject: Urgent\n'
        'Message-ID: <batch-orig-1@example.com>\n'))
    # No Reported-Domain and no From in the original: names no domain.
    fb2 = ('Feedback-Type: auth-failure\nUser-Agent: Batch/1.0\n'
           'Version: 1\nAuth-Failure: dmarc\n'
           'Arrival-Date: Sun, 10 Dec 2023 12:30:00 +0000\n')
    write(B + '4-bad-arf.eml', arf_mail(
        'dmarc@batch.example.net', 'dmarc-ruf@example.com',
        'DMARC failure report', 'Sun, 10 Dec 2023 12:30:05 +0000',
        '<batch-arf-2@batch.example.net>', fb2,
        'To: staff@example.net\nSubject: no sender\n'
        'Message-ID: <batch-orig-2@example.com>\n'))
    # 2023-12-10 12:00:00 UTC = day(26) + 12 h
    arf = Arf('<batch-orig-1@example.com>', day(26) + 12 * 3600,
              'example.com')
    expect(B[:-1], 'partial', [good, arf], error='format', msgs=4,
           msgs_rejected=2,
           notes='4 files: good TLS-RPT, truncated TLS-RPT JSON, good ARF,'
                 ' ARF naming no domain; the good two land')



def main():
    for d in ('reports', 'hostile'):
        shutil.rmtree(os.path.join(HERE, d), ignore_errors=True)
    build_reports()
    build_tlsrpt_arf_reports()
    build_hostile()
    build_hostile_tlsrpt_arf()
    hdr = ('path', 'outcome', 'reports', 'records', 'messages',
           'messages_pass', 'error', 'warnings', 'notes')
    with open(os.path.join(HERE, 'EXPECTED.tsv'), 'w') as f:
        f.write('\t'.join(hdr) + '\n')
        for r in ROWS:
            f.write('\t'.join(r) + '\n')
    hdr = ('path', 'org_name', 'email', 'report_id', 'begin', 'end',
           'policy_domain', 'records', 'messages', 'messages_pass', 'flavour',
           'kind')
    with open(os.path.join(HERE, 'EXPECTED-reports.tsv'), 'w') as f:
        f.write('\t'.join(hdr) + '\n')
        for r in REPROWS:
            f.write('\t'.join('-' if v is None else v for v in r) + '\n')


if __name__ == '__main__':
    main()
