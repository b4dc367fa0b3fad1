/* parse/sendlog.c - see sendlog.h; the formats are doc/sendlog.md. */
#include <stdio.h>
#include <string.h>

#include "../common/json.h"
#include "../common/limits.h"
#include "../common/reader.h"
#include "../common/strparse.h"
#include "../common/timefmt.h"
#include "ipaddr.h"
#include "sendlog.h"

int
sl_format_parse(const char *name)
{
	if (strcmp(name, "postfix") == 0)
		return SL_FMT_POSTFIX;
	if (strcmp(name, "kumomta") == 0)
		return SL_FMT_KUMOMTA;
	if (strcmp(name, "csv") == 0)
		return SL_FMT_CSV;
	return -1;
}

const char *
sl_format_name(int fmt)
{
	switch (fmt) {
	case SL_FMT_POSTFIX:
		return "postfix";
	case SL_FMT_KUMOMTA:
		return "kumomta";
	case SL_FMT_CSV:
		return "csv";
	}
	return NULL;
}

/* Copies n bytes into dst (always terminated, truncated to fit), with
 * control characters as spaces: log text ends up in the database and
 * in HTML. */
static void
copy_clean(char *dst, size_t dstsz, const char *s, size_t n)
{
	size_t i;

	if (n >= dstsz)
		n = dstsz - 1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		dst[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	dst[i] = '\0';
}

/* A host or domain: lower-case, only [a-z0-9.-_], <= 253 bytes; a
 * trailing dot dropped. */
static int
set_domain(char *dst, size_t dstsz, const char *s, size_t n)
{
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || n >= dstsz)
		return ERR_FORMAT;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_'))
			return ERR_FORMAT;
		dst[i] = (char)ch;
	}
	dst[n] = '\0';
	return 0;
}

static int
set_ip(char *dst, size_t dstsz, const char *s, size_t n)
{
	struct ipaddr a;

	if (ipaddr_parse(s, n, &a) != 0)
		return ERR_FORMAT;
	snprintf(dst, dstsz, "%s", a.text);
	return 0;
}

/* "4.7.28": class 2/4/5, subject and detail up to 3 digits. */
static int
set_enhanced(char *dst, size_t dstsz, const char *s, size_t n)
{
	const char *p = s, *end = s + n;
	int parts = 0;

	while (p < end) {
		size_t d = 0;
		while (p < end && *p >= '0' && *p <= '9') {
			p++;
			d++;
		}
		if (d == 0 || d > 3)
			return ERR_FORMAT;
		parts++;
		if (p < end && *p == '.' && parts < 3)
			p++;
		else
			break;
	}
	if (p != end || parts != 3 || (s[0] != '2' && s[0] != '4' &&
	    s[0] != '5'))
		return ERR_FORMAT;
	copy_clean(dst, dstsz, s, n);
	return 0;
}

/* Domain part of an address ("a@b.example" -> "b.example"). */
static int
set_rcpt_domain(struct sl_attempt *a, const char *s, size_t n)
{
	const char *at = NULL;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '@')
			at = s + i;
	if (at == NULL)
		return ERR_FORMAT;
	return set_domain(a->rcpt_domain, sizeof a->rcpt_domain, at + 1,
	    (size_t)(s + n - at - 1));
}

/* ---- postfix ---- */

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
	"Nov", "Dec",
};

static int
two_digits(const char *p, unsigned *v)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	*v = (unsigned)(p[0] - '0') * 10 + (unsigned)(p[1] - '0');
	return 0;
}

/* "Nov 24 01:02:03 " or "Nov  4 01:02:03 "; *p advanced past it. */
static int
syslog_time(const char **pp, const char *end, const struct sl_opts *o,
    int64_t *t)
{
	const char *p = *pp;
	unsigned mon = 0, day, h, mi, se;
	int64_t year;

	if (end - p < 16)
		return -1;
	for (unsigned i = 0; i < 12; i++)
		if (memcmp(p, months[i], 3) == 0)
			mon = i + 1;
	if (mon == 0 || p[3] != ' ')
		return -1;
	if (p[4] == ' ' && p[5] >= '1' && p[5] <= '9')
		day = (unsigned)(p[5] - '0');
	else if (two_digits(p + 4, &day) != 0)
		return -1;
	if (p[6] != ' ' || two_digits(p + 7, &h) != 0 || p[9] != ':' ||
	    two_digits(p + 10, &mi) != 0 || p[12] != ':' ||
	    two_digits(p + 13, &se) != 0 || p[15] != ' ')
		return -1;
	if (day < 1 || day > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	year = o != NULL && o->ref_year > 0 ? o->ref_year : 1970;
	if (o != NULL && o->ref_month > 0 && (int)mon > o->ref_month)
		year--;
	*t = time_days_from_civil(year, mon, day) * 86400 + h * 3600 +
	    mi * 60 + se;
	*pp = p + 16;
	return 0;
}

/* "2026-11-24T01:02:03[.frac](Z|+hh:mm) " */
static int
rfc3339_time(const char **pp, const char *end, int64_t *t)
{
	const char *p = *pp, *sp = memchr(p, ' ', (size_t)(end - p));
	char buf[64];
	size_t n = 0;

	if (sp == NULL || sp - p < 19 || sp - p >= (ptrdiff_t)sizeof buf ||
	    p[4] != '-' || p[10] != 'T')
		return -1;
	for (const char *q = p; q < sp; q++) {
		if (*q == '.' && q - p == 19) {   /* drop fractional seconds */
			while (q + 1 < sp && q[1] >= '0' && q[1] <= '9')
				q++;
			continue;
		}
		buf[n++] = *q;
	}
	buf[n] = '\0';
	if (time_parse_iso8601(buf, t) != 0)
		return -1;
	*pp = sp + 1;
	return 0;
}

/* Finds "key=" at the start of a ", "-separated field in [p, end). */
static const char *
field(const char *p, const char *end, const char *key, size_t *vlen)
{
	size_t kl = strlen(key);

	for (const char *q = p; q + kl < end; q++) {
		if ((q == p || (q >= p + 2 && q[-2] == ',' && q[-1] == ' ')) &&
		    memcmp(q, key, kl) == 0 && q[kl] == '=') {
			const char *v = q + kl + 1, *e = v;
			while (e < end && *e != ',' && *e != ' ')
				e++;
			*vlen = (size_t)(e - v);
			return v;
		}
	}
	return NULL;
}

static int
fail(struct err *err, const char *msg)
{
	return err_set(err, ERR_FORMAT, "%s", msg);
}

/* Postfix's own deferrals: the queue manager holding a destination it
 * found dead earlier ("delivery temporarily suspended: <the earlier
 * error>"), mail held by defer_transports (the hold rung of the Postfix
 * export), a transport missing from master.cf. None is a reply of the
 * receiving provider; the earlier error was logged (and counted) once. */
static int
postfix_internal(const char *reply)
{
	static const char *const prefixes[] = {
		"delivery temporarily suspended:", "deferred transport",
		"mail transport unavailable", "unknown mail transport error",
	};

	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (strncmp(reply, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

static int
parse_postfix(const char *line, size_t len, const struct sl_opts *o,
    struct sl_attempt *a, struct err *err)
{
	const char *p = line, *end = line + len, *prog, *br, *slash, *v, *st;
	const char *paren;
	size_t vl;

	if (syslog_time(&p, end, o, &a->when) != 0 &&
	    rfc3339_time(&p, end, &a->when) != 0)
		return fail(err, "no syslog timestamp");
	/* host */
	if ((p = memchr(p, ' ', (size_t)(end - p))) == NULL)
		return fail(err, "no program after the host name");
	prog = ++p;
	if ((br = memchr(p, '[', (size_t)(end - p))) == NULL ||
	    memchr(prog, ' ', (size_t)(br - prog)) != NULL) {
		/* "prog: msg" without pid is still syslog, just not ours */
		if (memchr(prog, ':', (size_t)(end - prog)) != NULL)
			return 1;
		return fail(err, "no program[pid]");
	}
	slash = NULL;
	for (const char *q = prog; q < br; q++)
		if (*q == '/')
			slash = q;
	if (slash == NULL || !((br - slash == 5 && memcmp(slash, "/smtp", 5) ==
	    0) || (br - slash == 5 && memcmp(slash, "/lmtp", 5) == 0)))
		return 1;   /* another daemon (qmgr, cleanup, smtpd ...) */
	copy_clean(a->transport, sizeof a->transport, prog,
	    (size_t)(slash - prog));
	if ((p = memchr(br, ':', (size_t)(end - br))) == NULL)
		return fail(err, "no message after program[pid]");
	p++;
	if ((st = field(p, end, "status", &vl)) == NULL)
		return 1;   /* connection warnings, TLS notes ... */
	/* the value list starts after "QUEUEID: " */
	{
		const char *q = memchr(p, ':', (size_t)(end - p));
		if (q == NULL || q > st)
			return fail(err, "status= without a queue id");
		p = q + 2 <= end ? q + 2 : end;
	}
	if (vl == 4 && memcmp(st, "sent", 4) == 0)
		a->status = SL_SENT;
	else if (vl == 8 && memcmp(st, "deferred", 8) == 0)
		a->status = SL_DEFERRED;
	else if (vl == 7 && memcmp(st, "bounced", 7) == 0)
		a->status = SL_BOUNCED;
	else
		return 1;   /* expired, deliverable (verify) ... */
	if ((v = field(p, st, "to", &vl)) == NULL || vl < 3 || v[0] != '<' ||
	    v[vl - 1] != '>')
		return fail(err, "no to=<address>");
	if (set_rcpt_domain(a, v + 1, vl - 2) != 0)
		return fail(err, "bad recipient domain");
	if ((v = field(p, st, "relay", &vl)) != NULL && !(vl == 4 &&
	    memcmp(v, "none", 4) == 0)) {
		const char *b = memchr(v, '[', vl);
		size_t hl = b != NULL ? (size_t)(b - v) : vl;
		(void)set_domain(a->relay_host, sizeof a->relay_host, v, hl);
	}
	/* Postfix does not log the bind address; a rewritten or patched
	 * log may carry it as source= or bind= (doc/sendlog.md). */
	if ((v = field(p, st, "source", &vl)) != NULL ||
	    (v = field(p, st, "bind", &vl)) != NULL)
		if (set_ip(a->source_ip, sizeof a->source_ip, v, vl) != 0)
			return fail(err, "bad source= address");
	if ((v = field(p, st, "dsn", &vl)) != NULL &&
	    set_enhanced(a->enhanced, sizeof a->enhanced, v, vl) != 0)
		return fail(err, "bad dsn=");
	/* reply: "(...)" after the status word, to the last ')' */
	paren = st + (a->status == SL_SENT ? 4 : a->status == SL_DEFERRED ? 8 :
	    7);
	while (paren < end && *paren == ' ')
		paren++;
	if (paren < end && *paren == '(') {
		const char *close = end;
		const char *r, *said;
		while (close > paren && close[-1] != ')')
			close--;
		if (close <= paren + 1)
			close = end + 1;
		r = paren + 1;
		copy_clean(a->reply, sizeof a->reply, r,
		    (size_t)(close - 1 - r));
		/* the SMTP code: first thing in the reply, after "said: "
		 * for a remote reply, or after "refused to talk to me: "
		 * for a refused greeting */
		if ((said = strstr(a->reply, " said: ")) != NULL)
			r = said + 7;
		else if ((said = strstr(a->reply,
		    " refused to talk to me: ")) != NULL)
			r = said + 24;
		else
			r = a->reply;
		if (r[0] >= '2' && r[0] <= '5' && r[1] >= '0' && r[1] <= '9' &&
		    r[2] >= '0' && r[2] <= '9' && (r[3] == ' ' || r[3] == '-' ||
		    r[3] == '\0'))
			a->smtp_code = (r[0] - '0') * 100 + (r[1] - '0') * 10 +
			    (r[2] - '0');
		a->internal = a->status == SL_DEFERRED &&
		    postfix_internal(a->reply);
	}
	return 0;
}

/* ---- KumoMTA ---- */

static const char *
jstr(const struct jv *o, const char *key, size_t *n)
{
	return jv_string_value(jv_get(o, key), n);
}

static int
parse_kumo(const struct jv *j, struct sl_attempt *a, struct err *err)
{
	const char *type, *s;
	size_t n;
	const struct jv *v, *resp;
	uint64_t u;

	if ((type = jstr(j, "type", NULL)) == NULL)
		return fail(err, "KumoMTA record without \"type\"");
	if (strcmp(type, "Delivery") == 0)
		a->status = SL_SENT;
	else if (strcmp(type, "TransientFailure") == 0)
		a->status = SL_DEFERRED;
	else if (strcmp(type, "Bounce") == 0)
		a->status = SL_BOUNCED;
	else
		return 1;   /* Reception, Expiration, AdminBounce, OOB ... */
	v = jv_get(j, "timestamp");
	if (jv_integer_value(v, (uint64_t)INT64_MAX, &u) >= 0)
		a->when = (int64_t)u;
	else if ((s = jv_string_value(v, NULL)) == NULL ||
	    time_parse_iso8601(s, &a->when) != 0)
		return fail(err, "bad \"timestamp\"");
	v = jv_get(j, "recipient");
	if (jv_is_array(v))
		v = jv_array_get(v, 0);
	if ((s = jv_string_value(v, &n)) == NULL ||
	    set_rcpt_domain(a, s, n) != 0)
		return fail(err, "bad \"recipient\"");
	/* source_address: {"address": "ip:port", ...} or a string */
	v = jv_get(j, "source_address");
	if (jv_is_object(v))
		v = jv_get(v, "address");
	if ((s = jv_string_value(v, &n)) != NULL && n > 0) {
		const char *c = NULL;
		/* "10.0.0.1:0", "[2001:db8::1]:0" or a bare address */
		if (s[0] == '[' && (c = memchr(s, ']', n)) != NULL) {
			s++;
			n = (size_t)(c - s);
		} else if ((c = memchr(s, ':', n)) != NULL &&
		    memchr(c + 1, ':', n - (size_t)(c + 1 - s)) == NULL) {
			n = (size_t)(c - s);
		}
		if (set_ip(a->source_ip, sizeof a->source_ip, s, n) != 0)
			return fail(err, "bad \"source_address\"");
	}
	/* relay host: peer_address.name, else site without its alternation
	 * prefix "(alt1|alt2)?." and port */
	v = jv_get(jv_get(j, "peer_address"), "name");
	if ((s = jv_string_value(v, &n)) == NULL || n == 0) {
		s = jstr(j, "site", &n);
		if (s != NULL) {
			const char *c = NULL;
			for (size_t i = 0; i < n; i++)
				if (s[i] == ')')
					c = s + i;
			if (c != NULL) {
				c++;
				while (c < s + n && (*c == '?' || *c == '.'))
					c++;
				n -= (size_t)(c - s);
				s = c;
			}
		}
	}
	if (s != NULL && n > 0) {
		const char *c = memchr(s, ':', n);
		(void)set_domain(a->relay_host, sizeof a->relay_host, s,
		    c != NULL ? (size_t)(c - s) : n);
	}
	resp = jv_get(j, "response");
	if (jv_integer_value(jv_get(resp, "code"), 999, &u) >= 0)
		a->smtp_code = (int)u;
	v = jv_get(resp, "enhanced_code");
	if (jv_is_object(v)) {
		uint64_t c1, c2, c3;
		if (jv_integer_value(jv_get(v, "class"), 9, &c1) >= 0 &&
		    jv_integer_value(jv_get(v, "subject"), 999, &c2) >= 0 &&
		    jv_integer_value(jv_get(v, "detail"), 999, &c3) >= 0)
			snprintf(a->enhanced, sizeof a->enhanced, "%u.%u.%u",
			    (unsigned)c1, (unsigned)c2, (unsigned)c3);
	}
	if ((s = jstr(resp, "content", &n)) != NULL) {
		copy_clean(a->reply, sizeof a->reply, s, n);
		/* KumoMTA's own transient failures (ready queue full, a
		 * throttle or suspension of its own, no connection): not a
		 * reply of the provider (TSA ignores them too unless told:
		 * match_internal). */
		a->internal = a->status == SL_DEFERRED &&
		    n >= 17 && memcmp(s, "KumoMTA internal:", 17) == 0;
	}
	return 0;
}

/* ---- CSV / JSONL ---- */

static int
set_status(struct sl_attempt *a, const char *s, size_t n)
{
	if (n == 4 && memcmp(s, "sent", 4) == 0)
		a->status = SL_SENT;
	else if (n == 8 && memcmp(s, "deferred", 8) == 0)
		a->status = SL_DEFERRED;
	else if (n == 7 && memcmp(s, "bounced", 7) == 0)
		a->status = SL_BOUNCED;
	else
		return ERR_FORMAT;
	return 0;
}

static int
set_time(struct sl_attempt *a, const char *s, size_t n)
{
	uint64_t u;
	char buf[40];

	if (sp_uint64_all(s, n, &u, (uint64_t)253402300799) == 0) {
		a->when = (int64_t)u;
		return 0;
	}
	if (n == 0 || n >= sizeof buf)
		return ERR_FORMAT;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return time_parse_iso8601(buf, &a->when);
}

/* The common fields of both spellings, in the documented order. */
static int
set_generic(struct sl_attempt *a, const char *const f[7], const size_t fl[7],
    struct err *err)
{
	uint64_t code;

	if (set_time(a, f[0], fl[0]) != 0)
		return fail(err, "bad timestamp");
	if (fl[1] > 0 && set_ip(a->source_ip, sizeof a->source_ip, f[1],
	    fl[1]) != 0)
		return fail(err, "bad source_ip");
	if (set_domain(a->rcpt_domain, sizeof a->rcpt_domain, f[2], fl[2]) != 0)
		return fail(err, "bad recipient_domain");
	if (set_status(a, f[3], fl[3]) != 0)
		return fail(err, "status is not sent, deferred or bounced");
	if (fl[4] > 0) {
		if (sp_uint64_all(f[4], fl[4], &code, 599) != 0 || code < 200)
			return fail(err, "bad smtp_code");
		a->smtp_code = (int)code;
	}
	if (fl[5] > 0 && set_enhanced(a->enhanced, sizeof a->enhanced, f[5],
	    fl[5]) != 0)
		return fail(err, "bad enhanced_code");
	copy_clean(a->reply, sizeof a->reply, f[6], fl[6]);
	return 0;
}

static const char *const csv_keys[7] = {
	"timestamp", "source_ip", "recipient_domain", "status", "smtp_code",
	"enhanced_code", "response",
};

static int
parse_jsonl(const struct jv *j, struct sl_attempt *a, struct err *err)
{
	const char *f[7];
	size_t fl[7];
	char num[2][24];

	for (int i = 0; i < 7; i++) {
		const struct jv *v = jv_get(j, csv_keys[i]);
		uint64_t u;

		f[i] = "";
		fl[i] = 0;
		if (jv_is_string(v)) {
			f[i] = jv_string_value(v, &fl[i]);
		} else if ((i == 0 || i == 4) &&
		    jv_integer_value(v, (uint64_t)INT64_MAX, &u) >= 0) {
			int k = i == 0 ? 0 : 1;
			snprintf(num[k], sizeof num[k], "%llu",
			    (unsigned long long)u);
			f[i] = num[k];
			fl[i] = strlen(num[k]);
		} else if (v != NULL && !jv_is_null(v)) {
			return fail(err, "JSON field of the wrong type");
		}
	}
	return set_generic(a, f, fl, err);
}

/* RFC 4180-ish: fields separated by ',', optionally in double quotes
 * with "" for a quote. Unquoted values are used as they are; quoted ones
 * are unescaped into buf. */
static int
parse_csv(const char *line, size_t len, struct sl_attempt *a,
    struct err *err)
{
	const char *f[7];
	size_t fl[7];
	char buf[LIM_SENDLOG_LINE_BYTES];
	size_t bn = 0;
	const char *p = line, *end = line + len;
	int n = 0;

	if (len >= 10 && memcmp(line, "timestamp,", 10) == 0)
		return 1;   /* header */
	while (n < 7) {
		if (p < end && *p == '"') {
			f[n] = buf + bn;
			p++;
			for (;;) {
				if (p >= end)
					return fail(err, "unterminated quote");
				if (*p == '"' && p + 1 < end && p[1] == '"') {
					buf[bn++] = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					buf[bn++] = *p++;
				}
			}
			fl[n] = (size_t)(buf + bn - f[n]);
		} else {
			f[n] = p;
			while (p < end && *p != ',')
				p++;
			fl[n] = (size_t)(p - f[n]);
		}
		n++;
		if (p >= end)
			break;
		if (*p != ',')
			return fail(err, "text after a quoted field");
		if (n == 7)
			return fail(err, "more than 7 fields");
		p++;
	}
	if (n < 6)
		return fail(err, "fewer than 6 fields");
	if (n == 6) {
		f[6] = "";
		fl[6] = 0;
	}
	return set_generic(a, f, fl, err);
}

int
sendlog_detect(const char *line, size_t len)
{
	const char *p = line, *end = line + len;
	int64_t t;
	struct sl_opts o = { 2000, 12 };

	if (line == NULL || len == 0)
		return SL_FMT_AUTO;
	if (line[0] == '{')
		return memmem(line, len, "\"type\"", 6) != NULL &&
		    memmem(line, len, "\"recipient\"", 11) != NULL ?
		    SL_FMT_KUMOMTA : SL_FMT_CSV;
	if (syslog_time(&p, end, &o, &t) == 0 ||
	    rfc3339_time(&p, end, &t) == 0)
		return SL_FMT_POSTFIX;
	if ((len >= 10 && memcmp(line, "timestamp,", 10) == 0) ||
	    (line[0] >= '0' && line[0] <= '9' && memchr(line, ',', len)))
		return SL_FMT_CSV;
	return SL_FMT_AUTO;
}

int
sendlog_parse_line(int fmt, const char *line, size_t len,
    const struct sl_opts *o, struct sl_attempt *out, struct err *err)
{
	struct reader_mem rm;
	struct reader rd;
	struct jv *j = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if (len > LIM_SENDLOG_LINE_BYTES)
		return err_set(err, ERR_TOO_LARGE, "line exceeds "
		    "LIM_SENDLOG_LINE_BYTES (%u)", LIM_SENDLOG_LINE_BYTES);
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (len == 0)
		return 1;
	if (memchr(line, '\0', len) != NULL)
		return fail(err, "NUL byte in line");
	if (fmt == SL_FMT_POSTFIX)
		return parse_postfix(line, len, o, out, err);
	if (fmt == SL_FMT_CSV && line[0] != '{')
		return parse_csv(line, len, out, err);
	if (fmt != SL_FMT_KUMOMTA && fmt != SL_FMT_CSV)
		return err_set(err, ERR_INVAL, "unknown log format");
	reader_mem_init(&rm, line, len, 0, &rd);
	if ((rc = jv_parse(&rd, LIM_SENDLOG_LINE_BYTES, LIM_JSON_DEPTH, &j,
	    err)) < 0)
		return rc == ERR_NOMEM ? rc : ERR_FORMAT;
	if (!jv_is_object(j))
		rc = fail(err, "JSON line is not an object");
	else if (fmt == SL_FMT_KUMOMTA)
		rc = parse_kumo(j, out, err);
	else
		rc = parse_jsonl(j, out, err);
	jv_free(j);
	return rc;
}
