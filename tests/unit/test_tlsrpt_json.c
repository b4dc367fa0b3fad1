/*
 * tests/unit/test_tlsrpt_json.c - the JSON read API (common/json.h) and
 * the TLS-RPT JSON parser.
 *
 * Part 1: the read API on its own (types, integers, iteration, errors).
 * Part 2: numbered table-driven report cases. Each document is parsed
 * through a sink that renders everything it receives as text; a case
 * lists substrings that must (and must not) appear in that rendering or
 * in "rc msg [where]".
 * Part 3: hostile streams generated here (deep nesting, 100 MB of white
 * space) that must be refused fast, and sink stops.
 * Part 4: the corpus in $DW_CORPUS/MANIFEST.tsv (plain tlsrpt-json files),
 * when present.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../common/json.h"
#include "../../common/limits.h"
#include "../../common/reader.h"
#include "../../common/strparse.h"
#include "../../parse/tlsrpt_json.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* the rendering sink */

struct dump {
	struct buf out;
	int begins, policies, ends;
	int bad_string;            /* a string that is not clean UTF-8 */
	int stop_at;               /* 1 begin, 2 policy, 3 end: return rc */
	int stop_rc;
	uint64_t ok, failed;       /* summed totals */
};

/* Valid UTF-8, no C0 control but TAB/LF/CR (lines=1) or none (0). */
static int
clean_utf8(const char *s, int lines)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned c = *p, n, cp, i;
		if (c < 0x80) {
			if ((c < 0x20 && !(lines && (c == '\t' || c == '\n' ||
			    c == '\r'))) || c == 0x7f)
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
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n;
	}
	return 1;
}

static const char *
SL(struct dump *d, const char *s, int lines)
{
	if (s == NULL)
		return "-";
	if (!clean_utf8(s, lines))
		d->bad_string = 1;
	return s;
}

#define S(d, s) SL(d, s, 0)

static int
on_begin(void *ctx, const struct report *r)
{
	struct dump *d = ctx;
	const struct tlsrpt_meta *m = &r->tls;

	d->begins++;
	buf_printf(&d->out, "B kind=%d org=%s ci=%s rid=%s b=%lld e=%lld "
	    "braw=%s eraw=%s", (int)r->kind, S(d, m->organization_name),
	    S(d, m->contact_info), S(d, m->report_id), (long long)m->begin,
	    (long long)m->end, S(d, m->begin_raw), S(d, m->end_raw));
	for (size_t i = 0; i < r->n_raw; i++)
		buf_printf(&d->out, " raw:%s=%s", S(d, r->raw[i].field),
		    S(d, r->raw[i].raw));
	buf_append_str(&d->out, "\n");
	return d->stop_at == 1 ? d->stop_rc : 0;
}

static int
on_policy(void *ctx, const struct report *r, const struct tlsrpt_policy *p)
{
	struct dump *d = ctx;

	(void)r;
	d->policies++;
	d->ok += p->total_successful;
	d->failed += p->total_failure;
	buf_printf(&d->out, "P%zu type=%s dom=%s ps=[", p->index,
	    S(d, p->policy_type), S(d, p->policy_domain));
	for (size_t i = 0; i < p->n_policy_strings; i++)
		buf_printf(&d->out, "%s%s", i ? "|" : "",
		    SL(d, p->policy_strings[i], 1));
	buf_append_str(&d->out, "] mx=[");
	for (size_t i = 0; i < p->n_mx_hosts; i++)
		buf_printf(&d->out, "%s%s", i ? "|" : "", S(d, p->mx_hosts[i]));
	buf_printf(&d->out, "] ok=%llu fail=%llu nf=%zu\n",
	    (unsigned long long)p->total_successful,
	    (unsigned long long)p->total_failure, p->n_failures);
	for (size_t i = 0; i < p->n_failures; i++) {
		const struct tlsrpt_failure *f = &p->failures[i];
		buf_printf(&d->out, " F%zu rt=%s sip=%s mxh=%s helo=%s rip=%s "
		    "n=%llu info=%s code=%s\n", i, S(d, f->result_type),
		    S(d, f->sending_mta_ip), S(d, f->receiving_mx_hostname),
		    S(d, f->receiving_mx_helo), S(d, f->receiving_ip),
		    (unsigned long long)f->failed_session_count,
		    S(d, f->additional_information),
		    S(d, f->failure_reason_code));
	}
	return d->stop_at == 2 ? d->stop_rc : 0;
}

static int
on_end(void *ctx, const struct report *r)
{
	struct dump *d = ctx;

	d->ends++;
	buf_printf(&d->out, "E n=%llu", (unsigned long long)r->n_records);
	for (size_t i = 0; i < r->n_warnings; i++)
		buf_printf(&d->out, " W:%s#%llu(%s)",
		    warn_token(r->warnings[i].code),
		    (unsigned long long)r->warnings[i].count,
		    S(d, r->warnings[i].detail));
	buf_append_str(&d->out, "\n");
	return d->stop_at == 3 ? d->stop_rc : 0;
}

/* Parses len bytes; fills d (caller frees d->out). */
static int
run(const void *data, size_t len, struct dump *d, struct err *e)
{
	struct reader_mem m;
	struct reader rd;
	struct report_sink sink = { .begin = on_begin, .end = on_end,
	    .tlsrpt_policy = on_policy, .ctx = d };

	buf_init(&d->out, 64u * 1024 * 1024);
	err_clear(e);
	reader_mem_init(&m, data, len, 0, &rd);
	return tlsrpt_json_parse(&rd, &sink, e);
}

/* ------------------------------------------------------------------ */
/* part 1: the JSON read API */

static int
parse_str(const char *s, struct jv **v, struct err *e)
{
	struct reader_mem m;
	struct reader rd;

	err_clear(e);
	reader_mem_init(&m, s, strlen(s), 0, &rd);
	return jv_parse(&rd, LIM_JSON_BYTES, LIM_JSON_DEPTH, v, e);
}

#define CHECK(cond) do { if (!(cond)) { printf("json api line %d: %s\n", \
	__LINE__, #cond); bad++; } } while (0)

static int
check_json_api(void)
{
	struct jv *v = NULL;
	struct err e;
	uint64_t u = 7;
	int bad = 0, rc;

	rc = parse_str("{\"b\": 1, \"a\": [true, null, \"x\\ty\", 2.5, -3, "
	    "1e3, 9007199254740993.0], \"c\": {}}  \r\n\t", &v, &e);
	CHECK(rc == 0 && jv_is_object(v));
	if (rc == 0) {
		const struct jv *a = jv_get(v, "a");
		void *it = NULL;
		const char *key, *s;
		const struct jv *val;
		char order[8] = "";
		size_t len = 0;

		CHECK(jv_object_size(v) == 3);
		size_t no = 0;
		while (jv_object_next(v, &it, &key, &val) &&
		    no + 1 < sizeof order)
			order[no++] = key[0];
		order[no] = '\0';
		CHECK(strcmp(order, "bac") == 0);
		CHECK(jv_array_size(a) == 7 && jv_get(v, "zz") == NULL);
		CHECK(jv_type(jv_array_get(a, 0)) == JV_BOOL);
		CHECK(jv_is_null(jv_array_get(a, 1)));
		CHECK(jv_array_get(a, 7) == NULL && jv_array_get(v, 0) == NULL);
		s = jv_string_value(jv_array_get(a, 2), &len);
		CHECK(s != NULL && len == 3 && strcmp(s, "x\ty") == 0);
		CHECK(jv_string_value(jv_array_get(a, 0), NULL) == NULL);
		CHECK(jv_integer_value(jv_get(v, "b"), 10, &u) == 0 && u == 1);
		CHECK(jv_integer_value(jv_get(v, "b"), 0, &u) == ERR_TOO_LARGE);
		CHECK(jv_integer_value(jv_array_get(a, 3), 10, &u) ==
		    ERR_FORMAT);
		CHECK(jv_integer_value(jv_array_get(a, 4), 10, &u) ==
		    ERR_FORMAT);
		CHECK(jv_integer_value(jv_array_get(a, 5), 5000, &u) ==
		    JV_INT_FROM_REAL && u == 1000);
		CHECK(jv_integer_value(jv_array_get(a, 6), UINT64_MAX, &u) ==
		    ERR_TOO_LARGE);
		CHECK(jv_integer_value(jv_array_get(a, 2), 10, &u) ==
		    ERR_FORMAT);
		CHECK(jv_integer_value(NULL, 10, &u) == ERR_FORMAT);
		CHECK(strcmp(jv_type_name(jv_get(v, "c")), "object") == 0);
		CHECK(strcmp(jv_type_name(NULL), "absent") == 0);
		CHECK(jv_object_size(jv_get(v, "c")) == 0);
		CHECK(jv_array_size(jv_get(v, "c")) == 0);
	}
	jv_free(v);

	/* the int64 edge: jansson refuses beyond, we refuse negative */
	rc = parse_str("[9223372036854775807, -1, 0]", &v, &e);
	CHECK(rc == 0);
	if (rc == 0) {
		CHECK(jv_integer_value(jv_array_get(v, 0), UINT64_MAX, &u) == 0
		    && u == 9223372036854775807ull);
		CHECK(jv_integer_value(jv_array_get(v, 1), 10, &u) ==
		    ERR_FORMAT);
		CHECK(jv_integer_value(jv_array_get(v, 2), 10, &u) == 0 &&
		    u == 0);
	}
	jv_free(v);
	v = NULL;
	CHECK(parse_str("[9223372036854775808]", &v, &e) == ERR_FORMAT &&
	    v == NULL);
	CHECK(parse_str("{\"a\":1,\n \"a\":2}", &v, &e) == ERR_FORMAT &&
	    strstr(e.msg, "duplicate key 'a'") != NULL &&
	    strstr(e.where, "line 2 column") != NULL);
	CHECK(parse_str("[\"a\\u0000b\"]", &v, &e) == ERR_FORMAT);
	CHECK(parse_str("{\"a\\u0000\":1}", &v, &e) == ERR_FORMAT);
	CHECK(parse_str("[\"\xff\"]", &v, &e) == ERR_FORMAT &&
	    strstr(e.where, "line 1") != NULL);
	CHECK(parse_str("{} x", &v, &e) == ERR_FORMAT);
	CHECK(parse_str("{}{}", &v, &e) == ERR_FORMAT);
	CHECK(parse_str("", &v, &e) == ERR_FORMAT);
	CHECK(parse_str("]]]][[[[", &v, &e) == ERR_FORMAT);
	CHECK(parse_str("\xef\xbb\xbf{}", &v, &e) == 0);
	jv_free(v);
	/* 32 levels are fine, 33 are not; brackets in strings do not count */
	{
		char deep[200];
		size_t n = 0;
		for (int i = 0; i < 32; i++)
			deep[n++] = '[';
		memcpy(deep + n, "\"[[[[{{\"", 8);
		n += 8;
		for (int i = 0; i < 32; i++)
			deep[n++] = ']';
		deep[n] = '\0';
		CHECK(parse_str(deep, &v, &e) == 0);
		jv_free(v);
		memmove(deep + 1, deep, n + 1);
		deep[0] = '[';
		deep[n + 1] = ']';
		deep[n + 2] = '\0';
		CHECK(parse_str(deep, &v, &e) == ERR_TOO_LARGE &&
		    strstr(e.msg, "LIM_JSON_DEPTH") != NULL &&
		    strstr(e.where, "line 1 column 33") != NULL);
	}
	/* the write side still works */
	{
		char *txt = NULL;
		size_t tl = 0;
		FILE *f = open_memstream(&txt, &tl);
		struct jv *o = jv_object(), *arr = jv_array();
		CHECK(jv_set_str(o, "k", "v") == 0 && jv_set_int(o, "n", 3) == 0);
		CHECK(jv_append(arr, jv_int(1)) == 0 && jv_set(o, "a", arr) == 0);
		CHECK(jv_dump(o, f, 0) == 0);
		fclose(f);
		CHECK(txt != NULL &&
		    strcmp(txt, "{\"k\":\"v\",\"n\":3,\"a\":[1]}\n") == 0);
		free(txt);
		jv_free(o);
	}
	return bad;
}

/* ------------------------------------------------------------------ */
/* part 2: the cases */

#define RANGE "\"date-range\":{\"start-datetime\":\"2026-08-01T00:00:00Z\"," \
	"\"end-datetime\":\"2026-08-01T23:59:59Z\"}"
#define META "\"organization-name\":\"Org\",\"contact-info\":" \
	"\"tls@org.example\",\"report-id\":\"r1\"," RANGE
#define POL(x) "{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":" \
	"\"example.com\"" x "},\"summary\":{\"total-successful-session-count" \
	"\":10,\"total-failure-session-count\":0}}"
#define FD(x) "{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":" \
	"\"example.com\"},\"summary\":{\"total-successful-session-count" \
	"\":10,\"total-failure-session-count\":1},\"failure-details\":[{" x "}]}"
#define DOC(pols) "{" META ",\"policies\":[" pols "]}"

#define RFC8460 \
"{\n" \
"  \"organization-name\": \"Company-X\",\n" \
"  \"date-range\": {\n" \
"    \"start-datetime\": \"2016-04-01T00:00:00Z\",\n" \
"    \"end-datetime\": \"2016-04-01T23:59:59Z\"\n" \
"  },\n" \
"  \"contact-info\": \"sts-reporting@company-x.example\",\n" \
"  \"report-id\": \"5065427c-23d3-47ca-b6e0-946ea0e8c4be\",\n" \
"  \"policies\": [{\n" \
"    \"policy\": {\n" \
"      \"policy-type\": \"sts\",\n" \
"      \"policy-string\": [\"version: STSv1\",\"mode: testing\",\n" \
"            \"mx: *.mail.company-y.example\",\"max_age: 86400\"],\n" \
"      \"policy-domain\": \"company-y.example\",\n" \
"      \"mx-host\": \"*.mail.company-y.example\"\n" \
"    },\n" \
"    \"summary\": {\n" \
"      \"total-successful-session-count\": 5326,\n" \
"      \"total-failure-session-count\": 303\n" \
"    },\n" \
"    \"failure-details\": [{\n" \
"      \"result-type\": \"certificate-expired\",\n" \
"      \"sending-mta-ip\": \"2001:db8:abcd:0012::1\",\n" \
"      \"receiving-mx-hostname\": \"mx1.mail.company-y.example\",\n" \
"      \"failed-session-count\": 100\n" \
"    }, {\n" \
"      \"result-type\": \"starttls-not-supported\",\n" \
"      \"sending-mta-ip\": \"2001:db8:abcd:0013::1\",\n" \
"      \"receiving-mx-hostname\": \"mx2.mail.company-y.example\",\n" \
"      \"receiving-ip\": \"203.0.113.56\",\n" \
"      \"failed-session-count\": 200,\n" \
"      \"additional-information\": \"https://reports.company-x.example/" \
"report_info?id=5065427c-23d3#StarttlsNotSupported\"\n" \
"    }, {\n" \
"      \"result-type\": \"validation-failure\",\n" \
"      \"sending-mta-ip\": \"198.51.100.62\",\n" \
"      \"receiving-ip\": \"203.0.113.58\",\n" \
"      \"receiving-mx-hostname\": \"mx-backup.mail.company-y.example\",\n" \
"      \"failed-session-count\": 3,\n" \
"      \"failure-reason-code\": \"X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED\"\n" \
"    }]\n" \
"  }]\n" \
"}\n"

#define MAXS 10
struct tcase {
	int id;
	const char *what;
	const char *json;
	int rc;
	const char *has[MAXS];     /* in the rendering, or in the error */
	const char *hasnot[MAXS];
};

static const struct tcase cases[] = {
{ 1, "RFC 8460 Appendix B example", RFC8460, 0,
  { "B kind=2 org=Company-X ci=sts-reporting@company-x.example "
    "rid=5065427c-23d3-47ca-b6e0-946ea0e8c4be b=1459468800 e=1459555199 "
    "braw=2016-04-01T00:00:00Z eraw=2016-04-01T23:59:59Z",
    "raw:policies[0].failure-details[0].sending-mta-ip=2001:db8:abcd:0012::1",
    "P0 type=sts dom=company-y.example ps=[version: STSv1|mode: testing|"
    "mx: *.mail.company-y.example|max_age: 86400] "
    "mx=[*.mail.company-y.example] ok=5326 fail=303 nf=3",
    " F0 rt=certificate-expired sip=2001:db8:abcd:12::1 "
    "mxh=mx1.mail.company-y.example helo=- rip=- n=100 info=- code=-",
    " F1 rt=starttls-not-supported sip=2001:db8:abcd:13::1 "
    "mxh=mx2.mail.company-y.example helo=- rip=203.0.113.56 n=200 "
    "info=https://reports.company-x.example/report_info?id=5065427c-23d3"
    "#StarttlsNotSupported code=-",
    " F2 rt=validation-failure sip=198.51.100.62 "
    "mxh=mx-backup.mail.company-y.example helo=- rip=203.0.113.58 n=3 "
    "info=- code=X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED",
    "E n=1 W:ipv6_noncanonical#2(policies[0].failure-details[0]."
    "sending-mta-ip)\n" },
  { "totals_mismatch", "timezone", "unknown" } },
{ 2, "Google-shaped: mx-host array, no failure-details",
  "{\"organization-name\":\"Google Inc.\",\"date-range\":{\"start-datetime"
  "\":\"2025-05-22T00:00:00Z\",\"end-datetime\":\"2025-05-22T23:59:59Z\"},"
  "\"contact-info\":\"smtp-tls-reporting@google.com\",\"report-id\":"
  "\"2025-05-22T00:00:00Z_foo-bar.io\",\"policies\":[{\"policy\":{"
  "\"policy-type\":\"sts\",\"policy-string\":[\"version: STSv1\",\"mode: "
  "enforce\",\"mx: mx1.foo-bar.io\",\"mx: mx2.foo-bar.io\",\"max_age: "
  "604800\"],\"policy-domain\":\"foo-bar.io\",\"mx-host\":["
  "\"mx1.foo-bar.io\",\"mx2.foo-bar.io\"]},\"summary\":{"
  "\"total-successful-session-count\":1,\"total-failure-session-count\":0"
  "}}]}", 0,
  { "org=Google Inc. ci=smtp-tls-reporting@google.com "
    "rid=2025-05-22T00:00:00Z_foo-bar.io b=1747872000 e=1747958399",
    "mx=[mx1.foo-bar.io|mx2.foo-bar.io] ok=1 fail=0 nf=0",
    "|max_age: 604800]", "E n=1\n" }, { "W:" } },
{ 3, "Microsoft-shaped: no zone, no mx-host/policy-string, no IPs",
  "{\"organization-name\":\"Microsoft Corporation\",\"date-range\":{"
  "\"start-datetime\":\"2024-03-26T00:00:00\",\"end-datetime\":"
  "\"2024-03-26T23:59:59\"},\"contact-info\":\"tlsrpt-noreply@microsoft."
  "com\",\"report-id\":\"133561180919336230+example.com\",\"policies\":[{"
  "\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":\"example.com\"},"
  "\"summary\":{\"total-successful-session-count\":7,"
  "\"total-failure-session-count\":3},\"failure-details\":[{"
  "\"result-type\":\"sts-policy-fetch-error\",\"failed-session-count\":3}"
  "]},{\"policy\":{\"policy-type\":\"tlsa\",\"policy-string\":[\"3 1 1 "
  "ABCDEF\"],\"policy-domain\":\"example.com\"},\"summary\":{"
  "\"total-successful-session-count\":2,\"total-failure-session-count\":0"
  "}}]}", 0,
  { "rid=133561180919336230+example.com b=1711411200 e=1711497599 "
    "braw=2024-03-26T00:00:00 eraw=2024-03-26T23:59:59",
    "P0 type=sts dom=example.com ps=[] mx=[] ok=7 fail=3 nf=1",
    " F0 rt=sts-policy-fetch-error sip=- mxh=- helo=- rip=- n=3 info=- "
    "code=-", "P1 type=tlsa dom=example.com ps=[3 1 1 ABCDEF]",
    "E n=2 W:timezone_missing#2(date-range.start-datetime)\n" },
  { "totals_mismatch", "row_bad" } },
{ 4, "Mail.ru-shaped: <uuid>@mail.ru, sparse details, totals 1 vs 2",
  "{\"contact-info\":\"tls_support@corp.mail.ru\",\"date-range\":{"
  "\"end-datetime\":\"2024-02-23T00:00:00Z\",\"start-datetime\":"
  "\"2024-02-22T00:00:00Z\"},\"organization-name\":\"Mail.ru\",\"policies"
  "\":[{\"failure-details\":[{\"failed-session-count\":1,"
  "\"failure-reason-code\":\"bad https response code: 404\","
  "\"result-type\":\"sts-policy-fetch-error\"},{\"failed-session-count\":"
  "1,\"failure-reason-code\":\"bad https response code: 500\","
  "\"result-type\":\"sts-policy-fetch-error\"}],\"policy\":{"
  "\"policy-domain\":\"example.com\",\"policy-type\":\"sts\"},\"summary\":"
  "{\"total-failure-session-count\":1,\"total-successful-session-count\":"
  "0}}],\"report-id\":\"b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru\"}", 0,
  { "org=Mail.ru ci=tls_support@corp.mail.ru "
    "rid=b28254de-7b2e-be36-bb5c-4c3b92da8b25@mail.ru b=1708560000 "
    "e=1708646400",
    "ok=0 fail=1 nf=2", "code=bad https response code: 500",
    "W:totals_mismatch#1(policies[0]: total-failure-session-count 1, "
    "failure-details sum 2)" },
  { "span", "timezone" } },
{ 5, "mx-host as a string", DOC(POL(",\"mx-host\":\"mx.example.com\"")), 0,
  { "mx=[mx.example.com] ok=10" }, { "W:" } },
{ 6, "mx-host as an array",
  DOC(POL(",\"mx-host\":[\"a.example.com\",\"*.b.example.com\"]")), 0,
  { "mx=[a.example.com|*.b.example.com]" }, { "W:" } },
{ 7, "old mx-host-pattern", DOC(POL(",\"mx-host-pattern\":[\"a.ex\"]")),
  0, { "mx=[a.ex]", "W:enum_alias#1(policies[0].policy.mx-host-pattern)" },
  { 0 } },
{ 8, "unknown policy-type kept verbatim; STS lower-cased",
  DOC("{\"policy\":{\"policy-type\":\"DANE-ish\"}},"
  "{\"policy\":{\"policy-type\":\"STS\"}}"), 0,
  { "P0 type=DANE-ish", "P1 type=sts",
    "raw:policies[1].policy.policy-type=STS",
    "W:enum_unknown#1(policies[0].policy.policy-type: DANE-ish)",
    "W:enum_case#1(policies[1].policy.policy-type: STS)",
    "W:field_missing#4(policies[0].policy.policy-domain)" }, { 0 } },
{ 9, "unknown result-type kept verbatim",
  DOC(FD("\"result-type\":\"Quantum-Flux\",\"failed-session-count\":1")),
  0, { "F0 rt=Quantum-Flux", "W:enum_unknown#1" }, { "totals" } },
{ 10, "totals mismatch: both kept",
  DOC(FD("\"result-type\":\"dnssec-invalid\",\"failed-session-count\":5")),
  0, { "fail=1 nf=1", "n=5", "W:totals_mismatch#1(policies[0]: "
  "total-failure-session-count 1, failure-details sum 5)" }, { 0 } },
{ 11, "empty policies: kept, no records",
  "{" META ",\"policies\":[]}", 0,
  { "B kind=2 org=Org", "E n=0 W:no_records#1(-)\n" }, { "P0" } },
{ 12, "policies missing: kept, field_missing",
  "{" META "}", 0, { "W:field_missing#1(policies)", "W:no_records" },
  { 0 } },
{ 13, "report-id missing",
  "{\"organization-name\":\"Org\"," RANGE ",\"policies\":[]}", -4,
  { "report-id: missing" }, { 0 } },
{ 14, "date-range missing",
  "{\"organization-name\":\"Org\",\"report-id\":\"x\",\"policies\":[]}",
  -4, { "date-range: missing" }, { 0 } },
{ 15, "end-datetime unparsable",
  "{\"organization-name\":\"Org\",\"report-id\":\"x\",\"date-range\":{"
  "\"start-datetime\":\"2026-08-01T00:00:00Z\",\"end-datetime\":"
  "\"yesterday\"}}", -4,
  { "date-range.end-datetime: not an RFC 3339" }, { 0 } },
{ 16, "organization-name missing: contact-info domain",
  "{\"contact-info\":\"sts@Company-X.example\",\"report-id\":\"x\","
  RANGE "}", 0,
  { "org=Company-X.example ci=sts@Company-X.example",
    "W:org_name_missing#1(Company-X.example)" }, { 0 } },
{ 17, "neither organization-name nor contact-info",
  "{\"report-id\":\"x\"," RANGE "}", -4,
  { "neither organization-name nor contact-info" }, { 0 } },
{ 18, "contact-info null",
  "{\"organization-name\":\"Org\",\"contact-info\":null,\"report-id\":"
  "\"x\"," RANGE ",\"policies\":[" POL("") "]}", 0,
  { "org=Org ci=- rid=x" }, { "W:" } },
{ 19, "negative count",
  DOC(FD("\"result-type\":\"dnssec-invalid\",\"failed-session-count\":-5")),
  -4, { "policies[0].failure-details[0].failed-session-count: count is "
  "negative" }, { 0 } },
{ 20, "count overflowing int64",
  DOC("{\"summary\":{\"total-successful-session-count\":"
  "99999999999999999999}}"), -4, { "too big integer", "line 1 column" },
  { 0 } },
{ 21, "count over LIM_RECORD_COUNT",
  DOC("{\"summary\":{\"total-successful-session-count\":"
  "9223372036854775807}}"), -3,
  { "policies[0].summary.total-successful-session-count: count exceeds "
    "LIM_RECORD_COUNT" }, { 0 } },
{ 22, "integral real and digit-string counts: taken, warned",
  DOC("{\"summary\":{\"total-successful-session-count\":5.0,"
  "\"total-failure-session-count\":\"7\"}}"), 0,
  { "ok=5 fail=7", "W:number_float#2(policies[0].summary."
  "total-successful-session-count)" }, { 0 } },
{ 23, "fractional count", DOC("{\"summary\":{"
  "\"total-successful-session-count\":5.5}}"), -4,
  { "not a whole number" }, { 0 } },
{ 24, "count as a word", DOC("{\"summary\":{"
  "\"total-successful-session-count\":\"many\"}}"), -4,
  { "string that is not a number" }, { 0 } },
{ 25, "count as a boolean", DOC("{\"summary\":{"
  "\"total-successful-session-count\":true}}"), -4,
  { "expected a count, got boolean" }, { 0 } },
{ 26, "failed-session-count missing: 0, warned",
  DOC(FD("\"result-type\":\"certificate-expired\"")), 0,
  { "n=0", "W:field_missing#1(policies[0].failure-details[0]."
  "failed-session-count)", "W:totals_mismatch" }, { 0 } },
{ 27, "duplicate key", "{\"report-id\":\"a\",\n\"report-id\":\"b\"}", -4,
  { "duplicate key 'report-id' [line 2 column" }, { "at line" } },
{ 28, "\\u0000 in a string",
  "{\"organization-name\":\"Or\\u0000g\",\"report-id\":\"x\"," RANGE "}",
  -4, { "line 1 column" }, { 0 } },
{ 29, "invalid UTF-8",
  "{\"organization-name\":\"Org\",\n\"report-id\":\"x\xc3\x28\"," RANGE "}",
  -4, { "[line 2 column" }, { 0 } },
{ 30, "lone surrogate escape",
  "{\"organization-name\":\"\\ud800\",\"report-id\":\"x\"," RANGE "}",
  -4, { "line 1" }, { 0 } },
{ 31, "escaped control characters replaced; LF kept in policy-string",
  DOC(POL(",\"policy-string\":[\"version: STSv1\\nmode: testing\"]"))
  "", 0, { "ps=[version: STSv1\nmode: testing]" }, { "W:invalid_utf8" } },
{ 32, "control character in organization-name",
  "{\"organization-name\":\"O\\u0007rg\\u001b[2J\",\"report-id\":\"x\","
  RANGE "}", 0,
  { "org=O\xef\xbf\xbdrg\xef\xbf\xbd[2J",
    "W:invalid_utf8#1(organization-name: control character replaced)" },
  { 0 } },
{ 33, "white space trimmed, empty string absent",
  "{\"organization-name\":\" Org\\t\",\"contact-info\":\"\",\"report-id\":"
  "\"x\"," RANGE "}", 0,
  { "org=Org ci=- rid=x", "W:whitespace_trimmed#1(organization-name)",
    "W:empty_element#1(contact-info)" }, { 0 } },
{ 34, "JSON but not a report (object)", "{\"foo\":1}", -7,
  { "not a TLS-RPT report" }, { 0 } },
{ 35, "JSON but not a report (array)", "[1,2]", -7, { "JSON array" },
  { 0 } },
{ 36, "not JSON at all (Yahoo's 'unused')", "unused", -4,
  { "line 1" }, { 0 } },
{ 37, "trailing garbage", DOC(POL("")) " x", -4, { "line 1" }, { 0 } },
{ 38, "trailing white space and a BOM are fine",
  "\xef\xbb\xbf" DOC(POL("")) " \r\n\t\n", 0, { "P0 type=sts" }, { 0 } },
{ 39, "nesting beyond LIM_JSON_DEPTH inside a report",
  DOC("{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]"
  "]]]]]]]]]]]]]}"), -3, { "LIM_JSON_DEPTH (32)", "[line 1 column" },
  { 0 } },
{ 40, "unparsable IP kept as sent; IPv4-mapped canonicalised",
  DOC(FD("\"result-type\":\"validation-failure\",\"sending-mta-ip\":"
  "\"x.x.x.x\",\"receiving-ip\":\"::FFFF:192.0.2.1\","
  "\"failed-session-count\":1")), 0,
  { "sip=x.x.x.x", "rip=192.0.2.1",
    "raw:policies[0].failure-details[0].receiving-ip=::FFFF:192.0.2.1",
    "W:row_bad_source_ip#1(policies[0].failure-details[0].sending-mta-ip:"
    " kept as sent)", "W:ipv6_noncanonical#1" }, { "totals" } },
{ 41, "policies not an array", "{" META ",\"policies\":{}}", -4,
  { "policies: expected an array, got object" }, { 0 } },
{ 42, "report-id a number", "{\"organization-name\":\"O\",\"report-id\":5,"
  RANGE "}", -4, { "report-id: expected a string, got integer" },
  { 0 } },
{ 43, "policy-string with a number",
  DOC(POL(",\"policy-string\":[\"version: STSv1\",7]")), -4,
  { "policies[0].policy.policy-string[1]: expected a string" }, { 0 } },
{ 44, "policy-string as a lone string (lenient fixture)",
  DOC(POL(",\"policy-string\":\"version: STSv1\"")), 0,
  { "ps=[version: STSv1]" }, { "W:" } },
{ 45, "date range over LIM_REPORT_SPAN_SECONDS",
  "{\"organization-name\":\"O\",\"report-id\":\"x\",\"date-range\":{"
  "\"start-datetime\":\"2026-01-01T00:00:00Z\",\"end-datetime\":"
  "\"2026-08-01T00:00:00Z\"}}", -4, { "LIM_REPORT_SPAN_SECONDS" },
  { 0 } },
{ 46, "end before begin; zone offsets",
  "{\"organization-name\":\"O\",\"report-id\":\"x\",\"date-range\":{"
  "\"start-datetime\":\"2026-08-02T02:00:00+02:00\",\"end-datetime\":"
  "\"2026-08-01T23:59:59-00:00\"}}", 0,
  { "b=1785628800 e=1785628799", "W:span_odd#1" },
  { "timezone_missing" } },
{ 47, "policy-domain lower-cased, root dot dropped; U-label warned",
  DOC("{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":"
  "\"Acme.Example.\"}},{\"policy\":{\"policy-type\":\"sts\","
  "\"policy-domain\":\"B\xc3\xbc" "cher.example\"}}"), 0,
  { "P0 type=sts dom=acme.example ps", "dom=b\xc3\xbc" "cher.example",
    "W:ulabel_domain#1(policies[1].policy.policy-domain)" }, { 0 } },
{ 48, "additional-info-uri alias, helo kept",
  DOC(FD("\"result-type\":\"certificate-not-trusted\","
  "\"additional-info-uri\":\"https://x.example/i\",\"receiving-mx-helo\":"
  "\"mx.example.com\",\"failed-session-count\":1")), 0,
  { "helo=mx.example.com", "info=https://x.example/i",
    "W:enum_alias#1(policies[0].failure-details[0].additional-info-uri)" },
  { "unknown_element" } },
{ 49, "unknown members ignored, counted",
  "{" META ",\"x-extra\":1,\"policies\":[{\"policy\":{\"policy-type\":"
  "\"sts\",\"policy-domain\":\"d.example\",\"weird\":2},\"summary\":{},"
  "\"more\":[]}]}", 0,
  { "W:unknown_element#3(x-extra)", "W:field_missing#2(policies[0]."
  "summary.total-successful-session-count)" }, { 0 } },
{ 50, "no-policy-found without a policy-domain (Postfix)",
  DOC("{\"policy\":{\"policy-type\":\"no-policy-found\"},\"summary\":{"
  "\"total-successful-session-count\":3,\"total-failure-session-count\":0"
  "},\"failure-details\":[]}"), 0,
  { "P0 type=no-policy-found dom=- ps=[] mx=[] ok=3 fail=0 nf=0",
    "W:field_missing#1(policies[0].policy.policy-domain)" },
  { "totals" } },
{ 51, "a 10k-char organization-name", NULL /* generated */, -3,
  { "organization-name: 10000 bytes, more than LIM_FIELD_BYTES (2048)" },
  { 0 } },
{ 52, "policy entry not an object", DOC("7"), -4,
  { "policies[0]: expected an object, got integer" }, { 0 } },
{ 53, "failure-details entry not an object", DOC("{\"failure-details\":"
  "[null]}"), -4, { "policies[0].failure-details[0]: expected an object" },
  { 0 } },
{ 54, "date only, no time: UTC, warned",
  "{\"organization-name\":\"O\",\"report-id\":\"x\",\"date-range\":{"
  "\"start-datetime\":\"2026-08-01\",\"end-datetime\":"
  "\"2026-08-02\"}}", 0, { "b=1785542400 e=1785628800",
  "W:timezone_missing#2" }, { 0 } },
};

static int
check_case(const struct tcase *c)
{
	struct dump d;
	struct err e;
	char *gen = NULL, *all;
	const char *json = c->json;
	size_t alen;
	int rc, bad = 0;

	if (json == NULL) {
		/* case 51: {"organization-name":"xxxx...(10000)", ...} */
		size_t n = 10000;
		gen = malloc(n + 256);
		if (gen == NULL)
			return 1;
		static const char pre[] = "{\"organization-name\":\"";
		static const char post[] = "\",\"report-id\":\"x\"," RANGE "}";
		memcpy(gen, pre, sizeof pre - 1);
		memset(gen + sizeof pre - 1, 'x', n);
		memcpy(gen + sizeof pre - 1 + n, post, sizeof post);
		json = gen;
	}
	memset(&d, 0, sizeof d);
	rc = run(json, strlen(json), &d, &e);
	alen = d.out.len + 1200;
	all = malloc(alen);
	if (all == NULL)
		return 1;
	snprintf(all, alen, "%src %d %s [%s]\n", d.out.data ?
	    (char *)d.out.data : "", rc, e.msg, e.where);
	if (rc != c->rc) {
		printf("case %d (%s): rc %d, want %d\n", c->id, c->what, rc,
		    c->rc);
		bad = 1;
	}
	for (int i = 0; i < MAXS && c->has[i] != NULL; i++)
		if (strstr(all, c->has[i]) == NULL) {
			printf("case %d (%s): missing \"%s\"\n", c->id,
			    c->what, c->has[i]);
			bad = 1;
		}
	for (int i = 0; i < MAXS && c->hasnot[i] != NULL; i++)
		if (strstr(all, c->hasnot[i]) != NULL) {
			printf("case %d (%s): unexpected \"%s\"\n", c->id,
			    c->what, c->hasnot[i]);
			bad = 1;
		}
	if (d.bad_string) {
		printf("case %d (%s): unclean string\n", c->id, c->what);
		bad = 1;
	}
	/* the sink contract: end() only after a clean parse, begin() once */
	if ((rc == 0) != (d.ends == 1) || d.begins > 1 ||
	    (rc != 0 && d.begins != 0)) {
		printf("case %d (%s): begins %d ends %d for rc %d\n", c->id,
		    c->what, d.begins, d.ends, rc);
		bad = 1;
	}
	if (bad)
		printf("---\n%s---\n", all);
	free(all);
	free(gen);
	buf_free(&d.out);
	return bad;
}

/* ------------------------------------------------------------------ */
/* part 3: hostile streams, sink stops */

/* A reader producing `total` bytes: `head` once, then `fill` repeated,
 * then `tail`. Counts what it handed out. */
struct gen {
	const char *head, *tail;
	const char *fill;
	uint64_t total, pos, given;
};

static int
gen_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
	struct gen *g = ctx;
	size_t n = 0, hl = strlen(g->head), tl = strlen(g->tail);

	while (n < cap && g->pos < g->total) {
		uint64_t p = g->pos;
		if (p < hl)
			buf[n] = (unsigned char)g->head[p];
		else if (p >= g->total - tl)
			buf[n] = (unsigned char)g->tail[p - (g->total - tl)];
		else
			buf[n] = (unsigned char)g->fill[(p - hl) %
			    strlen(g->fill)];
		n++;
		g->pos++;
	}
	g->given += n;
	*got = n;
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
hostile(const char *what, struct gen *g, int want_rc, const char *want_msg,
    uint64_t max_given)
{
	struct dump d;
	struct report_sink sink = { .begin = on_begin, .end = on_end,
	    .tlsrpt_policy = on_policy, .ctx = &d };
	struct reader rd = { gen_read, g };
	struct err e;
	double t0 = now_s(), dt;
	int rc;

	memset(&d, 0, sizeof d);
	buf_init(&d.out, 1u << 20);
	err_clear(&e);
	rc = tlsrpt_json_parse(&rd, &sink, &e);
	dt = now_s() - t0;
	buf_free(&d.out);
	if (rc != want_rc || strstr(e.msg, want_msg) == NULL ||
	    g->given > max_given || d.begins != 0) {
		printf("hostile %s: rc %d (%s) [%s], read %llu bytes\n", what,
		    rc, e.msg, e.where, (unsigned long long)g->given);
		return 1;
	}
	/* Bounded work is proved by the bytes read (max_given above), not by
	 * the clock: a wall-time limit failed under load on a shared machine.
	 * The time is printed for whoever reads the log. */
	printf("# hostile %s: %.2f s, %llu bytes read\n", what, dt,
	    (unsigned long long)g->given);
	return 0;
}

static int
check_hostile(void)
{
	int bad = 0;
	struct gen g1 = { "", "", "[", 10000, 0, 0 };
	struct gen g2 = { "{\"organization-name\":\"x\",\"report-id\":\"x\"",
	    "}", " ", 100u * 1024 * 1024, 0, 0 };
	struct gen g3 = { "{\"a\":", "", "{\"a\":", 60000, 0, 0 };
	/* a 16 MB string: within the byte cap, refused by the field cap */
	struct gen g4 = { "{\"report-id\":\"", "\"}", "y",
	    LIM_JSON_BYTES - 64, 0, 0 };
	/* 16 MB of "{}," would cost jansson 1.3 GB of tree */
	struct gen g5 = { "{\"report-id\":[", "{}]}", "{},",
	    LIM_JSON_BYTES - 64, 0, 0 };

	/* refused at the 33rd '[', long before the end of the first chunk */
	bad += hostile("depth 10000 [[[[", &g1, ERR_TOO_LARGE,
	    "LIM_JSON_DEPTH", 65536);
	bad += hostile("depth 10000 {\"a\":{", &g3, ERR_TOO_LARGE,
	    "LIM_JSON_DEPTH", 65536);
	/* 100 MB of white space: refused once LIM_JSON_BYTES were read */
	bad += hostile("100 MB white space", &g2, ERR_TOO_LARGE,
	    "LIM_JSON_BYTES", (uint64_t)LIM_JSON_BYTES + 65536);
	bad += hostile("16 MB report-id", &g4, ERR_TOO_LARGE,
	    "LIM_FIELD_BYTES", LIM_JSON_BYTES);
	/* refused within the first 1.5 MB (500k values * 3 bytes) */
	bad += hostile("5M empty objects", &g5, ERR_TOO_LARGE,
	    "LIM_JSON_VALUES", 3u * LIM_JSON_VALUES / 2 + 65536);
	return bad;
}

static int
check_stops(void)
{
	static const struct { int at, rc, policies, ends; } st[] = {
		{ 1, ERR_STOPPED, 0, 0 },
		{ 2, ERR_STOPPED, 1, 0 },
		{ 2, ERR_DB, 1, 0 },
		{ 3, ERR_IO, 3, 1 },
	};
	const char *doc = DOC(POL("") "," POL("") "," POL(""));
	int bad = 0;

	for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
		struct dump d;
		struct err e;
		int rc;

		memset(&d, 0, sizeof d);
		d.stop_at = st[i].at;
		d.stop_rc = st[i].rc;
		rc = run(doc, strlen(doc), &d, &e);
		if (rc != st[i].rc || d.policies != st[i].policies ||
		    d.ends != st[i].ends) {
			printf("stop %zu: rc %d policies %d ends %d\n", i, rc,
			    d.policies, d.ends);
			bad++;
		}
		if (rc != ERR_STOPPED && e.msg[0] == '\0') {
			printf("stop %zu: no message for rc %d\n", i, rc);
			bad++;
		}
		buf_free(&d.out);
	}
	/* a sink without callbacks is fine */
	{
		struct reader_mem m;
		struct reader rd;
		struct report_sink none = { 0 };
		struct err e;
		reader_mem_init(&m, doc, strlen(doc), 0, &rd);
		if (tlsrpt_json_parse(&rd, &none, &e) != 0) {
			printf("stop: empty sink failed: %s\n", e.msg);
			bad++;
		}
		if (tlsrpt_json_parse(&rd, NULL, &e) != ERR_INVAL) {
			printf("stop: NULL sink accepted\n");
			bad++;
		}
	}
	return bad;
}

/* ------------------------------------------------------------------ */
/* part 4: the corpus */


/* Columns of MANIFEST.tsv we use. */
enum { C_FILE, C_SHA, C_BYTES, C_KIND, C_REPORTER, C_TYPE, C_RID, C_BEGIN,
	C_END, C_RECORDS, C_MESSAGES, C_N };

/*
 * Files where we knowingly differ from the MANIFEST, with the reason.
 */
static const struct { const char *file, *why; } corpus_disagree[] = {
	{ NULL, NULL },
};

static int
check_corpus(void)
{
	const char *dir = getenv("DW_CORPUS");
	char path[4096], *man, *line, *save = NULL;
	size_t len;
	int bad = 0, n_files = 0, n_ok = 0, n_noexp = 0;

	if (dir == NULL)
		return 0;
	snprintf(path, sizeof path, "%s/MANIFEST.tsv", dir);
	if ((man = tu_read_file(path, &len)) == NULL) {
		printf("corpus: %s absent, skipped\n", path);
		return 0;
	}
	for (line = strtok_r(man, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *col[C_N], *p = line, *data;
		struct dump d;
		struct err e;
		size_t flen;
		int ncol = 0, rc, mism = 0;

		while (ncol < C_N) {
			col[ncol++] = p;
			if ((p = strchr(p, '\t')) == NULL)
				break;
			*p++ = '\0';
		}
		if (ncol < C_N || strcmp(col[C_KIND], "tlsrpt-json") != 0)
			continue;
		snprintf(path, sizeof path, "%s/files/%s", dir, col[C_FILE]);
		if ((data = tu_read_file(path, &flen)) == NULL)
			continue;
		n_files++;
		memset(&d, 0, sizeof d);
		rc = run(data, flen, &d, &e);
		if (d.bad_string) {
			printf("corpus %s: unclean string\n", col[C_FILE]);
			mism = 1;
		}
		if (rc != 0) {
			printf("corpus %s: rc %d %s [%s]\n", col[C_FILE], rc,
			    e.msg, e.where);
			mism = 1;
		} else if (strcmp(col[C_TYPE], "tlsrpt") == 0) {
			char want[512], got[64];
			uint64_t nrec = 0;
			const char *q = col[C_RECORDS];

			snprintf(want, sizeof want, " rid=%s b=", col[C_RID]);
			if (strstr((char *)d.out.data, want) == NULL)
				mism = 1;
			snprintf(want, sizeof want, " braw=%s eraw=%s",
			    col[C_BEGIN], col[C_END]);
			if (strstr((char *)d.out.data, want) == NULL)
				mism = 1;
			if (sp_uint64(&q, &nrec, 1000000) != 0 ||
			    nrec != (uint64_t)d.policies)
				mism = 1;
			snprintf(got, sizeof got, "%llu/%llu",
			    (unsigned long long)d.ok,
			    (unsigned long long)d.failed);
			if (strcmp(got, col[C_MESSAGES]) != 0)
				mism = 1;
			if (mism)
				printf("corpus %s: want rid=%s %s..%s "
				    "policies=%s totals=%s; got policies=%d "
				    "totals=%s:\n%s", col[C_FILE], col[C_RID],
				    col[C_BEGIN], col[C_END], col[C_RECORDS],
				    col[C_MESSAGES], d.policies, got,
				    d.out.data);
		} else {
			n_noexp++;
		}
		for (size_t k = 0; corpus_disagree[k].file != NULL; k++)
			if (strcmp(corpus_disagree[k].file, col[C_FILE]) == 0)
				mism = 0;
		if (getenv("DW_TEST_VERBOSE") != NULL)
			printf("corpus %s: rc %d\n%s", col[C_FILE], rc,
			    d.out.data ? (char *)d.out.data : "");
		if (mism)
			bad = 1;
		else
			n_ok++;
		buf_free(&d.out);
		free(data);
	}
	free(man);
	printf("corpus: %d tlsrpt-json files parsed, %d fine (%d without "
	    "expectations, parsed cleanly)\n", n_files, n_ok, n_noexp);
	return bad;
}

int
main(int argc, char **argv)
{
	int failed = 0, n = 0;

	/* debugging aid: dump one file */
	if (argc > 1) {
		size_t len;
		char *data = tu_read_file(argv[1], &len);
		struct dump d;
		struct err e;
		int rc;

		if (data == NULL)
			return 2;
		memset(&d, 0, sizeof d);
		rc = run(data, len, &d, &e);
		printf("%src %d %s [%s]\n", d.out.data ? (char *)d.out.data :
		    "", rc, e.msg, e.where);
		buf_free(&d.out);
		free(data);
		return rc == 0 ? 0 : 1;
	}
	failed += check_json_api();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++, n++)
		failed += check_case(&cases[i]);
	failed += check_hostile();
	failed += check_stops();
	failed += check_corpus();
	printf("%d table cases, %d failures\n", n, failed);
	return failed ? 1 : 0;
}
