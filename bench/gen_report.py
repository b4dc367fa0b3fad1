#!/usr/bin/env python3
"""gen_report.py N OUT - write a Google-shaped DMARC aggregate report with N
records to OUT (streamed; 1M records in a few seconds). Deterministic.

Shape: <?xml?>, <feedback> without namespace, <version>1.0</version>,
report_metadata (google.com), policy_published for example.com, then N
records: row/source_ip (varied IPv4, every 8th an IPv6), count,
policy_evaluated; identifiers/header_from; auth_results with dkim
domain/selector/result and spf domain/scope/result.
Written by the dmarcwatch developers; standard library only.
"""
import sys

HEAD = '''<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <version>1.0</version>
  <report_metadata>
    <org_name>google.com</org_name>
    <email>noreply-dmarc-support@google.com</email>
    <extra_contact_info>https://support.google.com/a/answer/2466580</extra_contact_info>
    <report_id>%d</report_id>
    <date_range>
      <begin>1700006400</begin>
      <end>1700092799</end>
    </date_range>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>none</p>
    <sp>none</sp>
    <pct>100</pct>
    <np>none</np>
  </policy_published>
'''

REC = '''  <record>
    <row>
      <source_ip>%s</source_ip>
      <count>%d</count>
      <policy_evaluated>
        <disposition>%s</disposition>
        <dkim>%s</dkim>
        <spf>%s</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>%s</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>%s</domain>
        <selector>%s</selector>
        <result>%s</result>
      </dkim>
      <spf>
        <domain>%s</domain>
        <scope>mfrom</scope>
        <result>%s</result>
      </spf>
    </auth_results>
  </record>
'''

FROMS = ['example.com', 'news.example.com', 'example.com', 'shop.example.com']
SELS = ['google', 's2023', 'k1', 'mailchimp']
SPFD = ['example.com', 'bounce.example.net', 'mail.example.org',
        'example.com', 'em.example.com']


def record(i, ips=0):
    # ips > 0: only that many distinct senders (real reports: a few
    # thousand); 0: every record its own IP (worst case for the rollup)
    # The address depends on the sender number k alone: with --ips the
    # IPv6 senders used to take i into the address, so "5,000 senders"
    # were 16,875 at 100k records and 130,000 at 1M.
    k = i % ips if ips else i
    h = (k * 2654435761) & 0xffffffff
    if k % 8 == 7:
        ip = '2001:db8:%x:%x::%x' % (h >> 16, h & 0xffff, k & 0xfff or 1)
    else:
        ip = '%d.%d.%d.%d' % (1 + (h >> 24) % 223, (h >> 16) & 255,
                              (h >> 8) & 255, 1 + (h & 255) % 254)
    count = 1 + (h % 97 if h % 5 else h % 3)
    ok = h % 10 != 0
    spf_ok = h % 4 != 0
    hf = FROMS[i & 3]
    return REC % (ip, count, 'none' if ok or spf_ok else 'quarantine',
                  'pass' if ok else 'fail', 'pass' if spf_ok else 'fail',
                  hf, hf if ok else 'esp.example.net', SELS[(h >> 3) & 3],
                  'pass' if ok else 'fail', SPFD[h % 5],
                  'pass' if spf_ok else 'softfail')


def main():
    args = sys.argv[1:]
    ips = 0
    if len(args) == 4 and args[0] == '--ips':
        ips = int(args[1])
        args = args[2:]
    if len(args) != 2:
        sys.exit('usage: gen_report.py [--ips K] N OUT')
    n = int(args[0])
    sys.argv[1:] = args
    with open(sys.argv[2], 'w', encoding='ascii', buffering=1 << 20) as f:
        f.write(HEAD % (10394487700000000000 + n))
        step = 10000
        for base in range(0, n, step):
            f.write(''.join(record(i, ips) for i in range(base, min(n, base + step))))
        f.write('</feedback>\n')


if __name__ == '__main__':
    main()
