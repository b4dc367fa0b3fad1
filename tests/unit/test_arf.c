/*
 * tests/unit/test_arf.c - the DMARC failure report (ARF) parser.
 *
 * Part 1: numbered table-driven cases. Each feedback-report part (plus an
 * optional original message) is parsed through a sink that renders the
 * report as text; a case lists substrings that must (and must not) appear
 * in that rendering. The sink also checks that every string is clean UTF-8
 * without control characters except TAB.
 * Part 2: arf_parse_date on RFC 5322 dates, obsolete forms and garbage.
 * Part 3: CRLF and LF give the same report; the sink's stop and error
 * returns; caps.
 * Part 4: the failure-eml / other files of $DW_CORPUS/MANIFEST.tsv, split
 * with ingest/mime's walker here in the test (parse/ does no MIME).
 * Usage: test_arf [FILE.eml] (debugging aid: dump one message).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../common/limits.h"
#include "../../common/strparse.h"
#include "../../ingest/mime.h"
#include "../../parse/arf.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* the rendering sink */

struct dump {
	struct buf out;
	int begins, ends;
	int bad_string;            /* a string that is not clean UTF-8 */
	int stop_at;               /* 1 begin, 2 end: return stop_rc */
	int stop_rc;
};

/* Valid UTF-8, no C0 (except TAB), DEL or C1 control characters. */
static int
clean_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned c = *p, n, cp, i;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return 0;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) { n = 2; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { n = 3; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { n = 4; cp = c & 0x07; }
		else return 0;
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		p += n;
	}
	/* trimmed */
	if (s[0] == ' ' || s[0] == '\t' || (s[0] != '\0' &&
	    (p[-1] == ' ' || p[-1] == '\t')))
		return 0;
	return 1;
}

static const char *
S(struct dump *d, const char *s)
{
	if (s == NULL)
		return "-";
	if (!clean_utf8(s) || s[0] == '\0')
		d->bad_string = 1;
	return s;
}

static int
on_begin(void *ctx, const struct report *r)
{
	struct dump *d = ctx;

	d->begins++;
	if (r->kind != REPORT_FAILURE)
		d->bad_string = 1;
	if (d->stop_at == 1)
		return d->stop_rc;
	return 0;
}

static int
on_end(void *ctx, const struct report *r)
{
	struct dump *d = ctx;
	const struct failure_report *f = &r->fail;

	d->ends++;
	buf_printf(&d->out, "ft=%s ua=%s ver=%s mf=%s rt=%s ad=%s at=%lld "
	    "ip=%s rd=%s ru=%s ar=%s af=%s ia=%s dr=%s dd=%s di=%s ds=%s "
	    "ch=%s cb=%s spf=%s\n", S(d, f->feedback_type),
	    S(d, f->user_agent), S(d, f->version), S(d, f->original_mail_from),
	    S(d, f->original_rcpt_to), S(d, f->arrival_date),
	    (long long)f->arrival_time, S(d, f->source_ip),
	    S(d, f->reported_domain), S(d, f->reported_uri),
	    S(d, f->authentication_results), S(d, f->auth_failure),
	    S(d, f->identity_alignment), S(d, f->delivery_result),
	    S(d, f->dkim_domain), S(d, f->dkim_identity),
	    S(d, f->dkim_selector), S(d, f->dkim_canonicalized_header),
	    S(d, f->dkim_canonicalized_body), S(d, f->spf_dns));
	buf_printf(&d->out, "O from=%s to=%s subj=%s date=%s mid=%s "
	    "body=%zu:", S(d, f->orig_from), S(d, f->orig_to),
	    S(d, f->orig_subject), S(d, f->orig_date),
	    S(d, f->orig_message_id), f->orig_body_len);
	if (f->orig_body_len > 0)
		buf_append(&d->out, f->orig_body, f->orig_body_len < 40 ?
		    f->orig_body_len : 40);
	buf_append_str(&d->out, "\n");
	for (size_t i = 0; i < f->n_other_fields; i++)
		buf_printf(&d->out, " X:%s=%s", S(d, f->other_fields[i].field),
		    S(d, f->other_fields[i].raw));
	for (size_t i = 0; i < r->n_raw; i++)
		buf_printf(&d->out, " raw:%s=%s", S(d, r->raw[i].field),
		    S(d, r->raw[i].raw));
	for (size_t i = 0; i < r->n_warnings; i++)
		buf_printf(&d->out, " W:%s#%llu(%s)",
		    warn_token(r->warnings[i].code),
		    (unsigned long long)r->warnings[i].count,
		    r->warnings[i].detail != NULL ?
		    S(d, r->warnings[i].detail) : "");
	buf_append_str(&d->out, "\n");
	if (d->stop_at == 2)
		return d->stop_rc;
	return 0;
}

static int
run(const char *fb, size_t fblen, const char *orig, size_t olen,
    const char *outer_date, int keep_body, struct dump *d, struct err *e)
{
	struct arf_input in = {
		.feedback = (const unsigned char *)fb, .feedback_len = fblen,
		.original = (const unsigned char *)orig, .original_len = olen,
		.outer_date = outer_date, .keep_body = keep_body,
	};
	struct report_sink sink = { .begin = on_begin, .end = on_end,
	    .ctx = d };

	buf_init(&d->out, 16u * 1024 * 1024);
	return arf_parse(&in, &sink, e);
}

/* ------------------------------------------------------------------ */
/* the cases */

/* RFC 6591 appendix B shapes, written afresh */
#define B1_FB \
	"Feedback-Type: auth-failure\n" \
	"User-Agent: Example-Feedback/1.0\n" \
	"Version: 1\n" \
	"Original-Mail-From: bounce@a.sender.test\n" \
	"Original-Envelope-Id: x1y2z3\n" \
	"Authentication-Results: mx.receiver.test;\n" \
	" dkim=fail (bodyhash) header.d=sender.test\n" \
	"Auth-Failure: bodyhash\n" \
	"DKIM-Canonicalized-Body: VGhpcyBpcyBh\n" \
	" IG1lc3NhZ2Ug\n" \
	"\tYm9keQo=\n" \
	"DKIM-Domain: Sender.TEST\n" \
	"DKIM-Identity: @sender.test\n" \
	"DKIM-Selector: sel1\n" \
	"Arrival-Date: 8 Oct 2011 20:15:58 +0000 (GMT)\n" \
	"Source-IP: 192.0.2.1\n" \
	"Reported-Domain: a.sender.test\n" \
	"Reported-URI: http://www.sender.test/\n"
#define B1_ORIG \
	"Authentication-Results: mx.receiver.test;\n" \
	" dkim=fail (bodyhash) header.d=sender.test\n" \
	"Received: from mail.sender.test\n" \
	" by mx.receiver.test; Sat, 08 Oct 2011 13:15:58 -0700 (PDT)\n" \
	"Date: Sat, 8 Oct 2011 16:15:24 -0400 (EDT)\n" \
	"From: someone@a.sender.test\n" \
	"To: user@receiver.test\n" \
	"Subject: You have a new bill\n" \
	"Message-ID: <123.456@out.sender.test>\n"
#define B2_FB \
	"Feedback-Type: auth-failure\n" \
	"User-Agent: Example-Feedback/1.0\n" \
	"Version: 1\n" \
	"Original-Mail-From: anexample.reply@a.sender.test\n" \
	"Original-Rcpt-To: user@receiver.test\n" \
	"Arrival-Date: Thu, 1 Jan 2024 10:00:00 +0000\n" \
	"Source-IP: 192.0.2.2\n" \
	"Reported-Domain: sender.test\n" \
	"Authentication-Results: mx.receiver.test; dmarc=fail " \
	"header.from=sender.test\n" \
	"Auth-Failure: dmarc\n" \
	"Identity-Alignment: none\n" \
	"Delivery-Result: reject\n"
#define B2_ORIG \
	"From: Sender <x@sender.test>\n" \
	"To: user@receiver.test\n" \
	"Subject: hello\n" \
	"Date: Thu, 1 Jan 2024 09:59:59 +0000\n" \
	"Message-ID: <m2@sender.test>\n" \
	"Content-Type: text/plain\n" \
	"\n" \
	"Body line one.\n" \
	"Body line two.\n"
#define MIN_FB(extra) \
	"Feedback-Type: auth-failure\nReported-Domain: example.test\n" \
	"Source-IP: 192.0.2.9\nArrival-Date: Thu, 1 Jan 2024 10:00:00 " \
	"+0000\nAuth-Failure: dmarc\nIdentity-Alignment: none\n" extra
#define OUTER "Mon, 1 Jan 2024 12:00:00 +0000"

#define MAXS 12
struct tcase {
	int id;
	const char *what;
	const char *fb;
	const char *orig;          /* NULL: no original part */
	const char *outer;
	int keep_body;
	int rc;
	const char *has[MAXS];
	const char *hasnot[MAXS];
};

static const struct tcase cases[] = {
{ 1, "RFC 6591 B.1 shape: bodyhash, headers-only original", B1_FB, B1_ORIG,
  NULL, 0, 0,
  { "ft=auth-failure ua=Example-Feedback/1.0 ver=1 "
    "mf=bounce@a.sender.test rt=- ad=8 Oct 2011 20:15:58 +0000 (GMT) "
    "at=1318104958 ip=192.0.2.1 rd=a.sender.test "
    "ru=http://www.sender.test/ ar=mx.receiver.test; dkim=fail (bodyhash) "
    "header.d=sender.test af=bodyhash ia=- dr=- dd=sender.test "
    "di=@sender.test ds=sel1 ch=- cb=VGhpcyBpcyBhIG1lc3NhZ2UgYm9keQo= "
    "spf=-\n",
    "O from=someone@a.sender.test to=user@receiver.test subj=You have a "
    "new bill date=Sat, 8 Oct 2011 16:15:24 -0400 (EDT) "
    "mid=<123.456@out.sender.test> body=0:\n",
    " X:Original-Envelope-Id=x1y2z3" },
  { "W:", "raw:" } },
{ 2, "RFC 6591 B.2 shape: DMARC, full original, body not kept", B2_FB,
  B2_ORIG, NULL, 0, 0,
  { "rt=user@receiver.test", "at=1704103200", "af=dmarc ia=none dr=reject",
    "O from=Sender <x@sender.test>", "body=0:\n" },
  { "W:" } },
{ 3, "keep_body keeps the original body", B2_FB, B2_ORIG, NULL, 1, 0,
  { "body=30:Body line one.\nBody line two.\n" }, { "W:" } },
{ 4, "keep_body never keeps a text/html body", B2_FB,
  "From: a@sender.test\nContent-Type: Text/HTML; charset=utf-8\n\n"
  "<html><script>x</script></html>\n", NULL, 1, 0,
  { "body=0:\n" }, { "script" } },
{ 5, "RFC 9991 style: Identity-Alignment list, free-text Delivery-Result",
  "Feedback-Type: auth-failure\nVersion: 1\nUser-Agent: gen/2\n"
  "Auth-Failure: dmarc\nIdentity-Alignment: DKIM, spf\n"
  "Delivery-Result: Rejected by policy\nSource-IP: 198.51.100.7\n"
  "Reported-Domain: Example.TEST\nArrival-Date: Thu, 1 Jan 2024 10:00:00 "
  "+0000\nDKIM-Domain: example.test\nDKIM-Selector: s\n"
  "SPF-DNS: txt : example.test : \"v=spf1 -all\"\n", NULL, NULL, 0, 0,
  { "rd=example.test", "ia=dkim,spf", "dr=reject",
    "raw:identity_alignment=DKIM, spf",
    "raw:delivery_result=Rejected by policy",
    "W:enum_alias#1(Delivery-Result=Rejected by policy)",
    "spf=txt : example.test : \"v=spf1 -all\"" }, { "W:enum_unknown" } },
{ 6, "Delivery-Result vendor value (Symantec smg-policy-action)",
  MIN_FB("Delivery-Result: smg-policy-action\n"), NULL, NULL, 0, 0,
  { "dr=policy", "raw:delivery_result=smg-policy-action" }, { 0 } },
{ 7, "Delivery-Result unknown -> other",
  MIN_FB("Delivery-Result: frobnicated\n"), NULL, NULL, 0, 0,
  { "dr=other", "raw:delivery_result=frobnicated",
    "W:enum_unknown#1(Delivery-Result=frobnicated)" }, { 0 } },
{ 8, "Delivery-Result upper case",
  MIN_FB("Delivery-Result: Delivered\n"), NULL, NULL, 0, 0,
  { "dr=delivered", "raw:delivery_result=Delivered", "W:enum_case" },
  { "enum_unknown" } },
{ 9, "missing Arrival-Date: outer Date used",
  "Feedback-Type: auth-failure\nReported-Domain: example.test\n"
  "Source-IP: 192.0.2.9\nAuth-Failure: dmarc\nIdentity-Alignment: spf\n",
  NULL, OUTER, 0, 0,
  { "ad=- at=1704110400", "W:field_missing#1(Arrival-Date (report Date "
    "used))" }, { 0 } },
{ 10, "missing Arrival-Date, no outer Date",
  "Feedback-Type: auth-failure\nReported-Domain: example.test\n"
  "Auth-Failure: dmarc\nIdentity-Alignment: spf\n", NULL, NULL, 0, 0,
  { "ad=- at=0", "W:field_missing#1(Arrival-Date)", "ip=-" }, { 0 } },
{ 11, "unparsable Arrival-Date: time 0, kept as sent",
  "Feedback-Type: auth-failure\nReported-Domain: example.test\n"
  "Arrival-Date: yesterday at noon\nAuth-Failure: dmarc\n"
  "Identity-Alignment: spf\n", NULL, OUTER, 0, 0,
  { "ad=yesterday at noon at=0",
    "W:enum_unknown#1(Arrival-Date unparsable: yesterday at noon)" },
  { "field_missing" } },
{ 12, "Arrival-Date without zone, and legacy Received-Date",
  "Feedback-Type: auth-failure\nReported-Domain: example.test\n"
  "Received-Date: Thu, 1 Jan 2024 10:00:00\nAuth-Failure: dmarc\n"
  "Identity-Alignment: spf\n", NULL, NULL, 0, 0,
  { "at=1704103200", "W:timezone_missing#1(Arrival-Date)" }, { 0 } },
{ 13, "folded headers: values unfolded, base64 blobs squeezed",
  "Feedback-Type:\n auth-failure\nReported-Domain: example.test\n"
  "Authentication-Results: mx.example;\n\tdkim=fail\n  header.d=x.test\n"
  "DKIM-Canonicalized-Header: RnJvbTog\n YUBiLmM=\n"
  "Source-IP:\n\t192.0.2.3\nAuth-Failure: dmarc\nIdentity-Alignment:\n"
  " none\nArrival-Date: Thu, 1 Jan 2024\n 10:00:00 +0000\n", NULL, NULL, 0,
  0,
  { "ft=auth-failure", "ar=mx.example;\tdkim=fail  header.d=x.test",
    "ch=RnJvbTogYUBiLmM= ", "ip=192.0.2.3", "at=1704103200" },
  { "W:" } },
{ 14, "encoded Subject, From and To",
  MIN_FB(""),
  "From: =?UTF-8?B?SsO2cmc=?= <j@example.test>\n"
  "To: =?iso-8859-1?Q?Andr=E9?= <a@example.test>\n"
  "Subject: =?utf-8?q?Caf=C3=A9?= =?UTF-8?B?IGF1IGxhaXQ=?= and\n"
  " =?koi8-r?B?8NLJ18XU?= =?us-ascii?Q?plain_text?=\n", NULL, 0, 0,
  { "from=J\xc3\xb6rg <j@example.test>",
    "to=Andr\xc3\xa9 <a@example.test>",
    "subj=Caf\xc3\xa9 au lait and =?koi8-r?B?8NLJ18XU?= plain text " },
  { "W:" } },
{ 15, "encoded word with control bytes and bad base64",
  MIN_FB(""),
  "Subject: =?utf-8?q?a=0Ab=00c?= =?utf-8?b?!!!?=\n", NULL, 0, 0,
  { "subj=a\xef\xbf\xbd" "b\xef\xbf\xbd" "c =?utf-8?b?!!!?= ",
    "W:invalid_utf8#2(Subject)" }, { 0 } },
{ 16, "Source-IP with trailing host name",
  "Feedback-Type: auth-failure\nReported-Domain: example.test\n"
  "Source-IP: 192.0.2.45 (mail.example.test)\nAuth-Failure: dmarc\n"
  "Identity-Alignment: none\nArrival-Date: Thu, 1 Jan 2024 10:00:00 +0000"
  "\n", NULL, NULL, 0, 0,
  { "ip=192.0.2.45 ", "raw:source_ip=192.0.2.45 (mail.example.test)" },
  { "W:" } },
{ 17, "Source-IP bracketed, non-canonical IPv6",
  MIN_FB("") "Source-IP: [2001:DB8:0::0:1], port 25\n", NULL, NULL, 0, 0,
  { "ip=192.0.2.9", "X:Source-IP=[2001:DB8:0::0:1], port 25",
    "W:duplicate_element#1(Source-IP)" }, { 0 } },
{ 18, "Source-IP IPv6 canonicalised",
  "Feedback-Type: auth-failure\nReported-Domain: example.test\n"
  "Source-IP: [2001:DB8:0::0:1], port 25\nAuth-Failure: dmarc\n"
  "Identity-Alignment: none\n", NULL, OUTER, 0, 0,
  { "ip=2001:db8::1 ", "raw:source_ip=[2001:DB8:0::0:1], port 25",
    "W:ipv6_noncanonical#1(Source-IP)" }, { 0 } },
{ 19, "Source-IP junk kept as sent with a warning",
  "Feedback-Type: auth-failure\nReported-Domain: example.test\n"
  "Source-Ip: x.x.x.x\nAuth-Failure: dmarc\nIdentity-Alignment: none\n",
  NULL, OUTER, 0, 0,
  { "ip=x.x.x.x ", "W:row_bad_source_ip#1(Source-IP=x.x.x.x: not an "
    "address, kept as sent)" }, { "raw:source_ip" } },
{ 20, "NUL, invalid UTF-8 and controls in values",
  "Feedback-Type: auth-failure\nReported-Domain: exa\xffmple.test\n"
  "User-Agent: a\0b\x1b[31mc\xc3\n"
  "Reported-URI: http://x.test/\xe2\x82\xac\n"
  "Auth-Failure: dmarc\nIdentity-Alignment: none\n", NULL, OUTER, 0, 0,
  { "ua=a\xef\xbf\xbd" "b\xef\xbf\xbd[31mc\xef\xbf\xbd ",
    "rd=exa\xef\xbf\xbdmple.test", "ru=http://x.test/\xe2\x82\xac ",
    "W:invalid_utf8#4(Reported-Domain)", "W:ulabel_domain" }, { 0 } },
{ 21, "plain text, not ARF", "Hello,\n\nthis is not a report: really.\n"
  "Regards\n", NULL, NULL, 0, ERR_NOREPORT, { 0 }, { 0 } },
{ 22, "empty feedback part", "", NULL, NULL, 0, ERR_NOREPORT, { 0 },
  { 0 } },
{ 23, "missing Feedback-Type and Auth-Failure: defaults",
  "Reported-Domain: example.test\nSource-IP: 192.0.2.1\n", NULL, OUTER, 0,
  0,
  { "ft=auth-failure", "af=dmarc", "W:field_missing#4(Feedback-Type)" },
  { 0 } },
{ 24, "missing Reported-Domain: the original From domain",
  "Feedback-Type: auth-failure\nSource-IP: 192.0.2.1\n"
  "Auth-Failure: dmarc\nIdentity-Alignment: none\n",
  "From: \"=?utf-8?q?boss=40bank.test?=\" <Phish@Evil.TEST>\n", OUTER, 0,
  0,
  { "rd=evil.test ", "from=\"boss@bank.test\" <Phish@Evil.TEST>",
    "W:field_missing" }, { 0 } },
{ 25, "no Reported-Domain and no original From",
  "Feedback-Type: auth-failure\nSource-IP: 192.0.2.1\n", NULL, OUTER, 0,
  ERR_FORMAT, { 0 }, { 0 } },
{ 26, "several Original-Rcpt-To joined",
  MIN_FB("Original-Rcpt-To: a@r.test\nOriginal-Rcpt-To:\n"
  "Original-Rcpt-To: <b@r.test>\n"), NULL, NULL, 0, 0,
  { "rt=a@r.test, <b@r.test> " }, { "W:" } },
{ 27, "repeated Reported-Domain and unknown fields to other_fields",
  MIN_FB("Reported-Domain: second.test\nMessage-ID: <x@y>\n"
  "X-Custom : v\nIncidents: 3\nX-Empty:\n"), NULL, NULL, 0, 0,
  { "rd=example.test ", " X:Reported-Domain=second.test X:Message-ID=<x@y>"
    " X:X-Custom=v X:Incidents=3 ",
    "W:duplicate_element#1(Reported-Domain)" }, { "X-Empty" } },
{ 28, "abuse ARF: parsed, no DMARC defaults",
  "Feedback-Type: abuse\nUser-Agent: SomeGenerator/1.0\nVersion: 1\n"
  "Reported-Domain: example.test\nSource-IP: 192.0.2.1\n", NULL, OUTER, 0,
  0, { "ft=abuse", "af=-", "ia=-" }, { "W:field_missing#2",
  "Auth-Failure" } },
{ 29, "field names case-insensitive, value case normalised",
  "FEEDBACK-TYPE: Auth-Failure\nreported-domain: example.test\n"
  "auth-failure: DMARC\nidentity-alignment: none\n", NULL, OUTER, 0, 0,
  { "ft=auth-failure", "af=dmarc", "raw:feedback_type=Auth-Failure",
    "raw:auth_failure=DMARC", "W:enum_case#2" }, { 0 } },
{ 30, "unknown Feedback-Type / Auth-Failure values kept",
  "Feedback-Type: dmarc-failure\nReported-Domain: example.test\n"
  "Auth-Failure: weird\n", NULL, OUTER, 0, 0,
  { "ft=dmarc-failure", "af=weird", "W:enum_unknown#2" }, { 0 } },
{ 31, "stray lines and blank lines between fields",
  "Feedback-Type: auth-failure\n\nthis line has no colon\n"
  " orphan continuation? no, continues Feedback-Type... after blank\n"
  "Reported-Domain: example.test\n\n\nAuth-Failure: dmarc\n"
  "Identity-Alignment: none\n", NULL, OUTER, 0, 0,
  { "ft=auth-failure", "rd=example.test", "W:stray_text#2(feedback-report "
    "line 3)" }, { 0 } },
{ 32, "original with mbox From line, CRLF, headers-only",
  MIN_FB(""),
  "From someone@example.test Thu Jan  1 10:00:00 2024\r\n"
  "From: a@example.test\r\nSubject: s\r\n", NULL, 1, 0,
  { "from=a@example.test", "subj=s ", "body=0:" }, { "W:" } },
{ 33, "value over LIM_FIELD_BYTES is cut",
  MIN_FB("Reported-URI: http://x.test/" /* + 3000 'a' added below */),
  NULL, NULL, 0, 0,
  { "W:trailing_data#1(Reported-URI cut at 2048 bytes)" }, { 0 } },
{ 34, "keep_body cut at ARF_BODY_BYTES", B2_FB, NULL /* built below */,
  NULL, 1, 0, { "body=65536:", "W:trailing_data#1(original body cut" },
  { 0 } },
{ 35, "first of repeated original headers kept",
  MIN_FB(""),
  "Subject: first\nSubject: second\nfrom: A <a@x.test>\nTo:\n"
  "message-id: <m@x>\n\nFrom: body@x.test\n", NULL, 0, 0,
  { "subj=first ", "from=A <a@x.test> to=- ", "mid=<m@x>" },
  { "second", "body@" } },
};

/* Cases whose input is too big to write out: built at run time. */
static char *
big_input(int id, const char **orig)
{
	struct buf b;

	buf_init(&b, 1u << 20);
	*orig = NULL;
	if (id == 33) {
		buf_append_str(&b, cases[32].fb);
		for (int i = 0; i < 3000; i++)
			buf_append_str(&b, "a");
		buf_append_str(&b, "\n");
	} else if (id == 34) {
		struct buf o;
		buf_init(&o, 1u << 20);
		buf_append_str(&o, "From: x@sender.test\n\n");
		for (int i = 0; i < 80000; i++)
			buf_append_str(&o, i % 64 == 63 ? "\n" : "b");
		*orig = (const char *)buf_steal(&o, NULL);
		buf_free(&b);
		return NULL;
	}
	return (char *)buf_steal(&b, NULL);
}

static int
check_case(const struct tcase *c)
{
	struct dump d;
	struct err e;
	const char *fb = c->fb, *orig = c->orig, *out;
	char *bigfb = NULL, *bigorig = NULL;
	size_t fblen;
	int rc, bad = 0;

	memset(&d, 0, sizeof d);
	if (c->id == 33 || c->id == 34) {
		const char *o;
		bigfb = big_input(c->id, &o);
		bigorig = (char *)(uintptr_t)o;
		if (bigfb != NULL)
			fb = bigfb;
		if (bigorig != NULL)
			orig = bigorig;
	}
	/* case 20 holds a NUL: its length is the literal's */
	fblen = c->id == 20 ? sizeof("Feedback-Type: auth-failure\n"
	    "Reported-Domain: exa\xffmple.test\nUser-Agent: a\0b\x1b[31mc\xc3\n"
	    "Reported-URI: http://x.test/\xe2\x82\xac\nAuth-Failure: dmarc\n"
	    "Identity-Alignment: none\n") - 1 : strlen(fb);
	rc = run(fb, fblen, orig, orig != NULL ? strlen(orig) : 0, c->outer,
	    c->keep_body, &d, &e);
	out = d.out.data != NULL ? (const char *)d.out.data : "";
	if (rc != c->rc) {
		printf("case %d (%s): rc %d, want %d (%s) [%s]\n", c->id,
		    c->what, rc, c->rc, e.msg, e.where);
		bad = 1;
	}
	if (rc == 0 && (d.begins != 1 || d.ends != 1)) {
		printf("case %d: begin %d end %d times\n", c->id, d.begins,
		    d.ends);
		bad = 1;
	}
	if (rc != 0 && d.ends != 0) {
		printf("case %d: end() ran on failure\n", c->id);
		bad = 1;
	}
	if (d.bad_string) {
		printf("case %d (%s): a string is not clean UTF-8\n", c->id,
		    c->what);
		bad = 1;
	}
	for (int i = 0; i < MAXS && c->has[i] != NULL; i++)
		if (strstr(out, c->has[i]) == NULL) {
			printf("case %d (%s): missing \"%s\"\n", c->id, c->what,
			    c->has[i]);
			bad = 1;
		}
	for (int i = 0; i < MAXS && c->hasnot[i] != NULL; i++)
		if (strstr(out, c->hasnot[i]) != NULL) {
			printf("case %d (%s): unexpected \"%s\"\n", c->id,
			    c->what, c->hasnot[i]);
			bad = 1;
		}
	if (bad)
		printf("--- case %d output:\n%s---\n", c->id, out);
	buf_free(&d.out);
	free(bigfb);
	free(bigorig);
	return bad;
}

/* ------------------------------------------------------------------ */
/* dates */

static const struct dcase {
	const char *s;
	int rc;
	int64_t t;
} dates[] = {
	{ "Thu, 1 Jan 2024 10:00:00 +0000", 0, 1704103200 },
	{ "8 Oct 2011 20:15:58 +0000 (GMT)", 0, 1318104958 },
	{ "Sat, 8 Oct 2011 15:15:59 -0500 (CDT)", 0, 1318104959 },
	{ "Thu, 8 Mar 2005 14:00:00 EDT", 0, 1110304800 },
	{ "Thu, 29 Apr 2013 23:45:50 PST", 0, 1367307950 },
	{ "Fri, 21 Nov 1997 09:55:06 -0600", 0, 880127706 },
	{ "Thu,\r\n 13\r\n Feb\r\n 1969\r\n 23:32\r\n -0330 "
	  "(Newfoundland Time)", 0, -27723480 },
	{ "Mon, 1 Jan 24 10:00 UT", 0, 1704103200 },
	{ "Mon (Monday), 1 (first) Jan 2024 10 : 00 : 00 GMT", 0,
	  1704103200 },
	{ "Thu, 1 Jan 2024 10:00:00 Z", 0, 1704103200 },
	{ "Thu, 1 Jan 2024 10:00:00 A", 0, 1704103200 },
	{ "Thu, 1 Jan 2024 10:00:00 -0000", 0, 1704103200 },
	{ "Thu, 1 Jan 2024 10:00:00 +0000 GMT", 0, 1704103200 },
	{ "Thu, 01 Jan 2024 11:00:00.250 +0100", 0, 1704103200 },
	{ "thu, 1 JANUARY 2024 10:00:00 +0000", 0, 1704103200 },
	{ "Thu, 29 Feb 2024 12:00:00 +0000", 0, 1709208000 },
	{ "Thu, 1 Jan 2024 10:00:00 +0000 (unterminated", 0, 1704103200 },
	{ "Thu, 1 Jan 124 10:00:00 +0000", 0, 1704103200 },
	{ "2024-01-01T10:00:00Z", 0, 1704103200 },
	{ "Thu, 1 Jan 2024 10:00:00", 1, 1704103200 },
	{ "Thu, 1 Jan 2024 10:00:00 CEST", 1, 1704103200 },
	{ "Thu, 1 Jan 2024 10:00:00 J", 1, 1704103200 },
	{ "", ERR_FORMAT, 0 },
	{ "garbage", ERR_FORMAT, 0 },
	{ "Thu, 30 Feb 2024 10:00:00 +0000", ERR_FORMAT, 0 },
	{ "Thu, 29 Feb 2023 10:00:00 +0000", ERR_FORMAT, 0 },
	{ "Thu, 0 Jan 2024 10:00:00 +0000", ERR_FORMAT, 0 },
	{ "Thu, 123 Jan 2024 10:00:00 +0000", ERR_FORMAT, 0 },
	{ "Thu, 1 Foo 2024 10:00:00 +0000", ERR_FORMAT, 0 },
	{ "Thu, 1 Jan 20245 10:00:00 +0000", ERR_FORMAT, 0 },
	{ "Thu, 1 Jan 1899 10:00:00 +0000", ERR_FORMAT, 0 },
	{ "Thu, 1 Jan 2024 24:00:00 +0000", ERR_FORMAT, 0 },
	{ "Thu, 1 Jan 2024 10:60:00 +0000", ERR_FORMAT, 0 },
	{ "Thu, 1 Jan 2024 10:00:61 +0000", ERR_FORMAT, 0 },
	{ "Thu, 1 Jan 2024 10:00:00 +2400", ERR_FORMAT, 0 },
	{ "Thu, 1 Jan 2024 10:00:00 +01", ERR_FORMAT, 0 },
	{ "Thu, 1 Jan 2024 10 +0000", ERR_FORMAT, 0 },
	{ "Thu, 1 Jan 99999999999999999999 10:00 +0000", ERR_FORMAT, 0 },
	{ "2024-13-01T10:00:00Z", ERR_FORMAT, 0 },
};

static int
check_dates(void)
{
	int bad = 0;
	char big[400];

	for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
		int64_t t = -1;
		int rc = arf_parse_date(dates[i].s, strlen(dates[i].s), &t);
		if (rc != dates[i].rc || (rc >= 0 && t != dates[i].t)) {
			printf("date \"%s\": rc %d t %lld, want rc %d t %lld\n",
			    dates[i].s, rc, (long long)t, dates[i].rc,
			    (long long)dates[i].t);
			bad++;
		}
	}
	/* not NUL-terminated: only len bytes are read */
	{
		int64_t t;
		const char *s = "Thu, 1 Jan 2024 10:00:00 +0000XXXX";
		if (arf_parse_date(s, 30, &t) != 0 || t != 1704103200) {
			printf("date slice failed\n");
			bad++;
		}
		memset(big, ' ', sizeof big);
		memcpy(big, "Thu, 1 Jan 2024 10:00:00 +0000", 30);
		if (arf_parse_date(big, sizeof big, &t) != ERR_FORMAT) {
			printf("400-byte date accepted\n");
			bad++;
		}
		if (arf_parse_date("Thu, 1 Jan\0 2024 10:00 +0000", 27, &t) !=
		    ERR_FORMAT) {
			printf("date with NUL accepted\n");
			bad++;
		}
	}
	printf("%zu date cases, %d failures\n", sizeof dates / sizeof
	    dates[0] + 3, bad);
	return bad;
}

/* ------------------------------------------------------------------ */
/* line ends, sink returns, caps */

static char *
to_crlf(const char *s)
{
	size_t n = strlen(s), k = 0;
	char *o = malloc(2 * n + 1);

	if (o == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			o[k++] = '\r';
		o[k++] = s[i];
	}
	o[k] = '\0';
	return o;
}

static int
check_crlf(void)
{
	const char *fbs[] = { B1_FB, B2_FB, cases[12].fb };
	const char *origs[] = { B1_ORIG, B2_ORIG, NULL };
	int bad = 0;

	for (int i = 0; i < 3; i++) {
		struct dump a, b;
		struct err e;
		char *fb = to_crlf(fbs[i]);
		char *orig = origs[i] != NULL ? to_crlf(origs[i]) : NULL;
		int r1, r2;

		memset(&a, 0, sizeof a);
		memset(&b, 0, sizeof b);
		/* body not kept: it would keep its CRLF */
		r1 = run(fbs[i], strlen(fbs[i]), origs[i], origs[i] ?
		    strlen(origs[i]) : 0, NULL, 0, &a, &e);
		r2 = run(fb, strlen(fb), orig, orig ? strlen(orig) : 0, NULL,
		    0, &b, &e);
		if (r1 != 0 || r2 != 0 || a.out.data == NULL ||
		    b.out.data == NULL || strcmp((char *)a.out.data,
		    (char *)b.out.data) != 0 || b.bad_string) {
			printf("CRLF %d: rc %d/%d, LF and CRLF differ:\n%s\n"
			    "%s\n", i, r1, r2, a.out.data ? (char *)a.out.data
			    : "", b.out.data ? (char *)b.out.data : "");
			bad++;
		}
		buf_free(&a.out);
		buf_free(&b.out);
		free(fb);
		free(orig);
	}
	return bad;
}

static int
check_stops(void)
{
	struct dump d;
	struct err e;
	int bad = 0, rc;

	memset(&d, 0, sizeof d);
	d.stop_at = 1;
	d.stop_rc = ERR_STOPPED;
	rc = run(B2_FB, strlen(B2_FB), NULL, 0, NULL, 0, &d, &e);
	if (rc != ERR_STOPPED || d.ends != 0) {
		printf("stop at begin: rc %d ends %d\n", rc, d.ends);
		bad++;
	}
	buf_free(&d.out);
	memset(&d, 0, sizeof d);
	d.stop_at = 2;
	d.stop_rc = ERR_DB;
	rc = run(B2_FB, strlen(B2_FB), NULL, 0, NULL, 0, &d, &e);
	if (rc != ERR_DB || e.code != ERR_DB || e.msg[0] == '\0') {
		printf("end fails: rc %d (%s)\n", rc, e.msg);
		bad++;
	}
	buf_free(&d.out);
	rc = arf_parse(NULL, NULL, &e);
	if (rc != ERR_INVAL) {
		printf("NULL input: rc %d\n", rc);
		bad++;
	}
	return bad;
}

static int
check_caps(void)
{
	struct buf b;
	struct dump d;
	struct err e;
	int bad = 0, rc;

	/* 10k header lines in the feedback part */
	buf_init(&b, 1u << 24);
	buf_append_str(&b, "Feedback-Type: auth-failure\n");
	for (int i = 0; i < 10000; i++)
		buf_printf(&b, "X-Filler-%d: %d\n", i, i);
	memset(&d, 0, sizeof d);
	rc = run((char *)b.data, b.len, NULL, 0, NULL, 0, &d, &e);
	if (rc != ERR_TOO_LARGE || strstr(e.msg, "ARF with more than "
	    "LIM_HEADER_FIELDS (1000) header lines") == NULL ||
	    strstr(e.where, "feedback-report line 1001") == NULL) {
		printf("10k ARF lines: rc %d (%s) [%s]\n", rc, e.msg, e.where);
		bad++;
	}
	buf_free(&d.out);

	/* 10k stray lines count too */
	buf_reset(&b);
	buf_append_str(&b, "Feedback-Type: auth-failure\n");
	for (int i = 0; i < 10000; i++)
		buf_append_str(&b, "no colon here\n");
	memset(&d, 0, sizeof d);
	rc = run((char *)b.data, b.len, NULL, 0, NULL, 0, &d, &e);
	if (rc != ERR_TOO_LARGE) {
		printf("10k stray lines: rc %d (%s)\n", rc, e.msg);
		bad++;
	}
	buf_free(&d.out);

	/* 10k header lines in the original */
	buf_reset(&b);
	for (int i = 0; i < 10000; i++)
		buf_append_str(&b, "Received: from x by y\n");
	memset(&d, 0, sizeof d);
	rc = run(B2_FB, strlen(B2_FB), (char *)b.data, b.len, NULL, 0, &d, &e);
	if (rc != ERR_TOO_LARGE || strstr(e.msg, "original message") ==
	    NULL) {
		printf("10k original lines: rc %d (%s)\n", rc, e.msg);
		bad++;
	}
	buf_free(&d.out);

	/* one folded field over LIM_HEADER_BYTES */
	buf_reset(&b);
	buf_append_str(&b, "Feedback-Type: auth-failure\nAuthentication-"
	    "Results: x\n");
	for (int i = 0; i < 900; i++)
		buf_append_str(&b, " aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
	memset(&d, 0, sizeof d);
	rc = run((char *)b.data, b.len, NULL, 0, NULL, 0, &d, &e);
	if (rc != ERR_TOO_LARGE || strstr(e.msg, "LIM_HEADER_BYTES") ==
	    NULL || strstr(e.where, "line 2") == NULL) {
		printf("huge field: rc %d (%s) [%s]\n", rc, e.msg, e.where);
		bad++;
	}
	buf_free(&d.out);

	/* 5000 invalid bytes: cut on a character boundary, memory bound */
	buf_reset(&b);
	buf_append_str(&b, "Feedback-Type: auth-failure\nReported-Domain: "
	    "x.test\nReported-URI: ");
	for (int i = 0; i < 5000; i++)
		buf_append(&b, "\xff", 1);
	buf_append_str(&b, "\n");
	memset(&d, 0, sizeof d);
	rc = run((char *)b.data, b.len, NULL, 0, NULL, 0, &d, &e);
	if (rc != 0 || d.bad_string || d.out.data == NULL ||
	    strstr((char *)d.out.data, "W:trailing_data#1(Reported-URI cut "
	    "at 2048 bytes)") == NULL) {
		printf("5000 invalid bytes: rc %d (%s)\n", rc, e.msg);
		bad++;
	}
	buf_free(&d.out);

	/* 999 fields pass; a blob just under LIM_HEADER_BYTES is kept */
	buf_reset(&b);
	buf_append_str(&b, "Feedback-Type: auth-failure\nReported-Domain: "
	    "x.test\nDKIM-Canonicalized-Body: ");
	for (int i = 0; i < 60000; i++)
		buf_append_str(&b, "A");
	buf_append_str(&b, "\n");
	for (int i = 0; i < 997; i++)
		buf_printf(&b, "X-F%d: v\n", i);
	memset(&d, 0, sizeof d);
	rc = run((char *)b.data, b.len, NULL, 0, NULL, 0, &d, &e);
	if (rc != 0 || d.bad_string || d.out.data == NULL ||
	    strstr((char *)d.out.data, "X:X-F996=v") == NULL ||
	    strstr((char *)d.out.data, "trailing_data") != NULL) {
		printf("1000 fields / 60 kB blob: rc %d (%s)\n", rc, e.msg);
		bad++;
	}
	buf_free(&d.out);
	buf_free(&b);
	return bad;
}

/* ------------------------------------------------------------------ */
/* the corpus */


/* What the pipeline would pick: the first message/feedback-report part
 * and the first message/rfc822 / text/rfc822-headers part after... in
 * any order. Copies, since part data lives only during the callback. */
struct split {
	unsigned char *fb, *orig;
	size_t fblen, olen;
	char date[256];
};

static int
on_part(void *ctx, const struct mime_part *p)
{
	struct split *s = ctx;

	if (s->fb == NULL &&
	    strcmp(p->content_type, "message/feedback-report") == 0) {
		if ((s->fb = malloc(p->len + 1)) == NULL)
			abort();
		memcpy(s->fb, p->data, p->len);
		s->fblen = p->len;
	} else if (s->orig == NULL && p->depth > 0 &&
	    strstr(p->content_type, "rfc822") != NULL) {
		if ((s->orig = malloc(p->len + 1)) == NULL)
			abort();
		memcpy(s->orig, p->data, p->len);
		s->olen = p->len;
	}
	return 0;
}

static int
on_header(void *ctx, const struct mime_header *h)
{
	struct split *s = ctx;

	if (s->date[0] == '\0' && sp_casecmp(h->name, "Date") == 0)
		snprintf(s->date, sizeof s->date, "%s", h->value);
	return 0;
}

/* Parses one message the way the pipeline will; 0 when it yields a
 * report with Feedback-Type, Reported-Domain and Source-IP. */
static int
corpus_one(const char *name, const char *data, size_t len, int verbose)
{
	struct split s;
	struct dump d;
	struct err e;
	int rc;

	memset(&s, 0, sizeof s);
	memset(&d, 0, sizeof d);
	err_clear(&e);
	(void)mime_headers((const unsigned char *)data, len, on_header, &s,
	    &e);
	if ((rc = mime_walk((const unsigned char *)data, len, on_part, &s,
	    &e)) != 0) {
		printf("corpus %s: mime_walk rc %d (%s)\n", name, rc, e.msg);
		goto out;
	}
	if (s.fb == NULL) {
		printf("corpus %s: no message/feedback-report part\n", name);
		rc = ERR_NOREPORT;
		goto out;
	}
	rc = run((char *)s.fb, s.fblen, (char *)s.orig, s.olen,
	    s.date[0] ? s.date : NULL, 0, &d, &e);
	if (rc != 0) {
		printf("corpus %s: rc %d (%s) [%s]\n", name, rc, e.msg,
		    e.where);
		goto out;
	}
	if (verbose)
		printf("%s", (char *)d.out.data);
	{
		/* one summary line per file */
		const char *o = (const char *)d.out.data;
		const char *ft = strstr(o, "ft="), *rd = strstr(o, " rd="),
		    *ip = strstr(o, " ip=");
		int nft = (int)strcspn(ft + 3, " "),
		    nrd = (int)strcspn(rd + 4, " "),
		    nip = (int)strcspn(ip + 4, " ");
		printf("corpus %s: ft=%.*s rd=%.*s ip=%.*s orig=%s%s\n", name,
		    nft, ft + 3, nrd, rd + 4, nip, ip + 4, s.orig ? "yes" :
		    "no", d.bad_string ? " BAD-STRING" : "");
		if (d.bad_string || strncmp(rd + 4, "- ", 2) == 0 ||
		    strncmp(ip + 4, "- ", 2) == 0)
			rc = ERR_FORMAT;
	}
out:
	buf_free(&d.out);
	free(s.fb);
	free(s.orig);
	return rc;
}

static int
check_corpus(void)
{
	const char *dir = getenv("DW_CORPUS");
	char path[4096], line[16384], last[1024] = "";
	FILE *mf;
	int files = 0, bad = 0, other_ok = 0, other = 0;

	if (dir == NULL)
		return 0;
	snprintf(path, sizeof path, "%.2000s/MANIFEST.tsv", dir);
	if ((mf = fopen(path, "r")) == NULL) {
		printf("corpus: no %s, skipped\n", path);
		return 0;
	}
	while (fgets(line, sizeof line, mf) != NULL) {
		char *col[5], *t = line, *data;
		size_t len;
		int k, rc, failure;

		for (k = 0; k < 5 && t != NULL; k++) {
			col[k] = t;
			if ((t = strchr(t, '\t')) != NULL)
				*t++ = '\0';
		}
		if (k < 5)
			continue;
		failure = strcmp(col[3], "failure-eml") == 0;
		if (!failure && strcmp(col[3], "other") != 0)
			continue;
		/* one row per report: a file may appear more than once */
		if (strcmp(last, col[0]) == 0)
			continue;
		snprintf(last, sizeof last, "%.1000s", col[0]);
		snprintf(path, sizeof path, "%.2000s/files/%.1000s", dir,
		    col[0]);
		if ((data = tu_read_file(path, &len)) == NULL)
			continue;
		/* "other" also holds concatenated aggregate XML: only
		 * messages are ours */
		if (!failure && !mime_looks_like_message(
		    (unsigned char *)data, len)) {
			free(data);
			continue;
		}
		rc = corpus_one(col[0], data, len, 0);
		if (failure) {
			files++;
			if (rc != 0)
				bad++;
		} else {
			other++;
			if (rc == 0)
				other_ok++;
		}
		free(data);
	}
	fclose(mf);
	printf("corpus: %d failure reports, %d failed; %d other ARF "
	    "messages, %d with domain and IP\n", files, bad, other, other_ok);
	return bad;
}

/* ------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	int failed = 0, n = 0;

	if (argc > 1) {
		size_t len;
		char *data = tu_read_file(argv[1], &len);
		int rc;

		if (data == NULL)
			return 2;
		rc = corpus_one(argv[1], data, len, 1);
		free(data);
		return rc == 0 ? 0 : 1;
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++, n++)
		failed += check_case(&cases[i]);
	printf("%d table cases, %d failures\n", n, failed);
	failed += check_dates();
	failed += check_crlf();
	failed += check_stops();
	failed += check_caps();
	failed += check_corpus();
	printf("%s\n", failed ? "FAILED" : "all arf checks passed");
	return failed ? 1 : 0;
}
