/*
 * tests/unit/test_sendlog.c - the delivery-log line parsers
 * (parse/sendlog.c): Postfix, KumoMTA, CSV/JSONL, format detection.
 *
 * Numbered table cases: each line is parsed in a format and rendered as
 * "rc=R st=S t=EPOCH ip=IP dom=DOMAIN relay=HOST tr=TRANSPORT code=C
 * enh=E reply=TEXT | error"; a case lists substrings that must appear.
 */
#include <stdio.h>
#include <string.h>

#include "../../common/err.h"
#include "../../common/limits.h"
#include "../../parse/sendlog.h"

struct tcase {
	int fmt;
	const char *line;
	const char *want[5];
};

#define PF SL_FMT_POSTFIX
#define KU SL_FMT_KUMOMTA
#define CS SL_FMT_CSV

static const struct tcase cases[] = {
	/* 1: Postfix sent to Gmail */
	{ PF, "Nov 23 08:00:02 mx1 postfix/smtp[9120]: 4Bc1X2Yz0Qz9vA1: "
	  "to=<alice@Gmail.COM>, relay=gmail-smtp-in.l.google.com[142.250.102.27]"
	  ":25, delay=0.9, delays=0.1/0/0.3/0.5, dsn=2.0.0, status=sent (250 "
	  "2.0.0 OK  1700726402 a1si123456wrb.7 - gsmtp)",
	  { "rc=0 ", "st=1 ", "t=1700726402 ", "dom=gmail.com ",
	    "relay=gmail-smtp-in.l.google.com tr=postfix code=250 enh=2.0.0" } },
	/* 2: Gmail 4.7.28 deferral */
	{ PF, "Nov 23 08:00:03 mx1 postfix/smtp[9121]: 4Bc1X3Kd1Rz9vA2: "
	  "to=<bob@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.102.27]:25,"
	  " delay=1.2, delays=0.1/0/0.4/0.7, dsn=4.7.28, status=deferred (host "
	  "gmail-smtp-in.l.google.com[142.250.102.27] said: 421-4.7.28 Our system "
	  "has detected an unusual rate of unsolicited mail (in reply to end of "
	  "DATA command))",
	  { "rc=0 ", "st=2 ", "code=421 enh=4.7.28 ", "unusual rate",
	    "(in reply to end of DATA command)|" } },
	/* 3: Yahoo TSS04, "refused to talk to me" */
	{ PF, "Nov 23 08:00:04 mx1 postfix-out/smtp[9122]: 4Bc1X4Lm2Sz9vA3: "
	  "to=<carol@yahoo.com>, relay=mta7.am0.yahoodns.net[67.195.204.72]:25, "
	  "delay=3.1, delays=0.1/0/3/0, dsn=4.7.0, status=deferred (host "
	  "mta7.am0.yahoodns.net[67.195.204.72] refused to talk to me: 421 4.7.0 "
	  "[TSS04] Messages from 198.51.100.10 temporarily deferred)",
	  { "rc=0 ", "st=2 ", "tr=postfix-out ", "enh=4.7.0 ", "[TSS04]" } },
	/* 4: QQ frequency limited */
	{ PF, "Nov 23 08:00:05 mx1 postfix/smtp[9123]: 4Bc1X5Nn3Tz9vA4: "
	  "to=<dave@qq.com>, relay=mx3.qq.com[203.205.219.57]:25, delay=0.8, "
	  "delays=0.1/0/0.4/0.3, dsn=4.0.0, status=deferred (host mx3.qq.com["
	  "203.205.219.57] said: 450 Mail is rejected by recipients. Ip frequency "
	  "limited (in reply to RCPT TO command))",
	  { "rc=0 ", "dom=qq.com ", "code=450 ", "frequency limited" } },
	/* 5: bounced 5.7.1 block list */
	{ PF, "Nov 23 08:00:06 mx1 postfix/smtp[9124]: 4Bc1X6Pp4Vz9vA5: "
	  "to=<erin@hotmail.com>, relay=hotmail-com.olc.protection.outlook.com["
	  "52.101.8.43]:25, delay=0.6, delays=0.1/0/0.3/0.2, dsn=5.7.1, "
	  "status=bounced (host x[52.101.8.43] said: 550 5.7.1 part of their "
	  "network is on our block list (S3150). (in reply to MAIL FROM command))",
	  { "rc=0 ", "st=3 ", "code=550 enh=5.7.1 ", "(S3150)" } },
	/* 6: connection timeout: no SMTP code, relay=none */
	{ PF, "Nov 23 08:00:07 mx1 postfix/smtp[9125]: 4Bc1X7Qq5Wz9vA6: "
	  "to=<frank@example.net>, relay=none, delay=30, delays=0.1/0/30/0, "
	  "dsn=4.4.1, status=deferred (connect to mail.example.net[192.0.2.25]:25:"
	  " Connection timed out)",
	  { "rc=0 ", "relay= ", "code=0 enh=4.4.1 ", "Connection timed out" } },
	/* 7: another daemon: not a delivery line */
	{ PF, "Nov 23 08:00:01 mx1 postfix/qmgr[812]: 4Bc1X2Yz0Qz9vA1: "
	  "from=<news@example.com>, size=4321, nrcpt=1 (queue active)",
	  { "rc=1 " } },
	/* 8: smtp warning without status */
	{ PF, "Nov 23 08:00:08 mx1 postfix/smtp[9126]: warning: TLS library "
	  "problem", { "rc=1 " } },
	/* 9: not syslog at all */
	{ PF, "garbage that is not syslog at all", { "rc=-4 ", "timestamp" } },
	/* 10: status=expired is not an attempt */
	{ PF, "Nov 23 08:00:09 mx1 postfix/smtp[1]: ABC: to=<a@b.example>, "
	  "relay=none, status=expired, returned to sender", { "rc=1 " } },
	/* 11: no to= */
	{ PF, "Nov 23 08:00:09 mx1 postfix/smtp[1]: ABC: relay=none, dsn=4.4.1, "
	  "status=deferred (x)", { "rc=-4 ", "to=<address>" } },
	/* 12: RFC 3339 timestamp with fraction and zone; source= address */
	{ PF, "2023-11-23T09:00:00.123456+01:00 mx1 postfix/lmtp[2]: ABD: "
	  "to=<x@Example.org>, relay=lmtp.example.org[192.0.2.9]:24, "
	  "source=2001:DB8:0:0::1, dsn=2.0.0, status=sent (250 2.0.0 Saved)",
	  { "rc=0 ", "t=1700726400 ", "ip=2001:db8::1 ", "dom=example.org " } },
	/* 13: December line in a January file is last year's */
	{ PF, "Dec 31 23:59:59 mx1 postfix/smtp[3]: ABE: to=<a@b.example>, "
	  "relay=none, dsn=4.4.1, status=deferred (connect to b: refused)",
	  { "rc=0 ", "t=1704067199 " } },
	/* 14: KumoMTA Delivery with source_address object and site */
	{ KU, "{\"type\":\"Delivery\",\"recipient\":\"alice@gmail.com\",\"site\":"
	  "\"(alt1|alt2)?.gmail-smtp-in.l.google.com:25\",\"response\":{\"code\":"
	  "250,\"enhanced_code\":{\"class\":2,\"subject\":0,\"detail\":0},"
	  "\"content\":\"OK\"},\"timestamp\":1700726402,\"source_address\":"
	  "{\"address\":\"198.51.100.10:0\"}}",
	  { "rc=0 ", "st=1 ", "ip=198.51.100.10 ",
	    "relay=gmail-smtp-in.l.google.com ", "code=250 enh=2.0.0 " } },
	/* 15: KumoMTA TransientFailure 4.7.28, peer_address wins */
	{ KU, "{\"type\":\"TransientFailure\",\"recipient\":\"b@gmail.com\","
	  "\"peer_address\":{\"name\":\"mx.Google.com\",\"addr\":\"1.2.3.4\"},"
	  "\"response\":{\"code\":421,\"enhanced_code\":{\"class\":4,\"subject\":7,"
	  "\"detail\":28},\"content\":\"rate limited\"},\"timestamp\":1700726403,"
	  "\"source_address\":\"[2001:db8::5]:0\"}",
	  { "rc=0 ", "st=2 ", "ip=2001:db8::5 ", "relay=mx.google.com ",
	    "code=421 enh=4.7.28 " } },
	/* 16: KumoMTA Bounce without source */
	{ KU, "{\"type\":\"Bounce\",\"recipient\":\"c@outlook.com\",\"response\":"
	  "{\"code\":550,\"enhanced_code\":null,\"content\":\"blocked\"},"
	  "\"timestamp\":1700726404}", { "rc=0 ", "st=3 ", "ip= ", "code=550 " } },
	/* 17: KumoMTA Reception is not an attempt */
	{ KU, "{\"type\":\"Reception\",\"recipient\":\"a@b.example\","
	  "\"timestamp\":1}", { "rc=1 " } },
	/* 18: truncated JSON */
	{ KU, "{\"type\":\"Delivery\",\"recipient\":\"broken", { "rc=-4 " } },
	/* 19: KumoMTA bad recipient */
	{ KU, "{\"type\":\"Delivery\",\"recipient\":\"nobody\",\"timestamp\":1}",
	  { "rc=-4 ", "recipient" } },
	/* 20: CSV with quoted response containing a comma and a quote */
	{ CS, "2023-11-23T08:05:00Z,198.51.100.12,gmail.com,deferred,421,4.7.28,"
	  "\"421 4.7.28 rate limited, try \"\"later\"\"\"",
	  { "rc=0 ", "t=1700726700 ", "ip=198.51.100.12 ", "code=421 enh=4.7.28 ",
	    "rate limited, try \"later\"" } },
	/* 21: CSV header */
	{ CS, "timestamp,source_ip,recipient_domain,status,smtp_code,"
	  "enhanced_code,response", { "rc=1 " } },
	/* 22: CSV bad status */
	{ CS, "1700726900,198.51.100.12,example.org,exploded,250,,x",
	  { "rc=-4 ", "status is not" } },
	/* 23: CSV bad IP */
	{ CS, "1700726900,198.51.100.300,example.org,sent,250,,x",
	  { "rc=-4 ", "source_ip" } },
	/* 24: CSV empty source and codes; 6 fields */
	{ CS, "1700726900,,Example.ORG,bounced,,", { "rc=0 ", "ip= ",
	  "dom=example.org ", "code=0 enh= " } },
	/* 25: JSONL in csv format */
	{ CS, "{\"timestamp\":1700726800,\"source_ip\":\"198.51.100.12\","
	  "\"recipient_domain\":\"seznam.cz\",\"status\":\"sent\",\"smtp_code\":250,"
	  "\"enhanced_code\":\"2.0.0\",\"response\":\"ok\"}",
	  { "rc=0 ", "st=1 ", "dom=seznam.cz ", "code=250 " } },
	/* 26: JSONL wrong type */
	{ CS, "{\"timestamp\":true,\"recipient_domain\":\"a.example\","
	  "\"status\":\"sent\"}", { "rc=-4 ", "wrong type" } },
	/* 27: bad enhanced code */
	{ CS, "1700726900,,a.example,sent,250,2.0.x,ok", { "rc=-4 ", "enhanced" } },
	/* 28: control characters in the reply become spaces */
	{ CS, "1700726900,,a.example,deferred,421,,a\tb\x01" "c", { "rc=0 ",
	  "reply=a b c|" } },
	/* 29: blank line */
	{ PF, "   ", { "rc=1 " } },
	/* 30: too many CSV fields */
	{ CS, "1700726900,,a.example,sent,250,2.0.0,ok,extra", { "rc=-4 ",
	  "more than 7" } },
};

static void
render(char *out, size_t outsz, int rc, const struct sl_attempt *a,
    const struct err *e)
{
	snprintf(out, outsz, "rc=%d st=%d t=%lld ip=%s dom=%s relay=%s tr=%s "
	    "code=%d enh=%s reply=%s| %s", rc, a->status, (long long)a->when,
	    a->source_ip, a->rcpt_domain, a->relay_host, a->transport,
	    a->smtp_code, a->enhanced, a->reply, e->msg);
}

static int
check_detect(void)
{
	int bad = 0;

	bad |= sendlog_detect("Nov 23 08:00:01 mx1 postfix/qmgr[1]: x", 37) !=
	    SL_FMT_POSTFIX;
	bad |= sendlog_detect("{\"type\":\"Delivery\",\"recipient\":\"a\"}", 36)
	    != SL_FMT_KUMOMTA;
	bad |= sendlog_detect("{\"timestamp\":1}", 15) != SL_FMT_CSV;
	bad |= sendlog_detect("timestamp,source_ip", 19) != SL_FMT_CSV;
	bad |= sendlog_detect("1700000000,1.2.3.4,a.b,sent,250,,", 33) !=
	    SL_FMT_CSV;
	bad |= sendlog_detect("hello world", 11) != SL_FMT_AUTO;
	printf("%s - format detection\n", bad ? "not ok" : "ok");
	return bad;
}

static int
check_long(void)
{
	static char line[LIM_SENDLOG_LINE_BYTES + 10];
	struct sl_attempt a;
	struct err e;
	int rc;

	memset(line, 'x', sizeof line);
	err_clear(&e);
	rc = sendlog_parse_line(SL_FMT_CSV, line, sizeof line, NULL, &a, &e);
	printf("%s - overlong line\n", rc == ERR_TOO_LARGE ? "ok" : "not ok");
	return rc != ERR_TOO_LARGE;
}

int
main(void)
{
	int failed = 0;
	size_t n = sizeof cases / sizeof cases[0];
	struct sl_opts jan = { 2024, 1 }, nov = { 2023, 11 };

	for (size_t i = 0; i < n; i++) {
		const struct tcase *c = &cases[i];
		struct sl_attempt a;
		struct err e;
		char out[2048];
		int rc, bad = 0;

		err_clear(&e);
		rc = sendlog_parse_line(c->fmt, c->line, strlen(c->line),
		    i == 12 ? &jan : &nov, &a, &e);
		render(out, sizeof out, rc, &a, &e);
		for (int k = 0; k < 5 && c->want[k]; k++)
			if (strstr(out, c->want[k]) == NULL)
				bad = 1;
		printf("%s %zu - %s line\n", bad ? "not ok" : "ok", i + 1,
		    sl_format_name(c->fmt));
		if (bad)
			printf("# got: %s\n", out);
		failed += bad;
	}
	failed += check_detect();
	failed += check_long();
	printf("%zu table cases + 2, %d failures\n", n, failed);
	return failed ? 1 : 0;
}
