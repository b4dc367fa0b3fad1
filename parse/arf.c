/* parse/arf.c - see arf.h */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/arena.h"
#include "../common/buf.h"
#include "../common/err.h"
#include "../common/limits.h"
#include "../common/strparse.h"
#include "../common/timefmt.h"
#include "arf.h"
#include "ipaddr.h"

/* Report-level raw values: feedback_type, auth_failure, delivery_result,
 * source_ip, identity_alignment; room to spare. */
#define ARF_RAW_MAX     8

/* The feedback-report fields we map to struct failure_report. */
enum fld {
	F_FEEDBACK_TYPE,
	F_USER_AGENT,
	F_VERSION,
	F_MAIL_FROM,
	F_RCPT_TO,
	F_ARRIVAL_DATE,
	F_SOURCE_IP,
	F_REPORTED_DOMAIN,
	F_REPORTED_URI,
	F_AUTH_RESULTS,
	F_AUTH_FAILURE,
	F_IDENTITY_ALIGNMENT,
	F_DELIVERY_RESULT,
	F_DKIM_DOMAIN,
	F_DKIM_IDENTITY,
	F_DKIM_SELECTOR,
	F_DKIM_CANON_HEADER,
	F_DKIM_CANON_BODY,
	F_SPF_DNS,
	F__SLOTS,
	F_OTHER_ARF = F__SLOTS, /* registered ARF field kept in other_fields */
	F_UNKNOWN,
};

/* Value may exceed LIM_FIELD_BYTES (bounded by LIM_HEADER_BYTES). */
#define FL_BLOB         1u
/* base64 folded with FWS: white space carries no data. */
#define FL_NOSPACE      2u

static const struct field {
	const char *name;
	enum fld id;
	unsigned flags;
} fields[] = {
	{ "Feedback-Type", F_FEEDBACK_TYPE, 0 },
	{ "User-Agent", F_USER_AGENT, 0 },
	{ "Version", F_VERSION, 0 },
	{ "Original-Mail-From", F_MAIL_FROM, 0 },
	{ "Original-Rcpt-To", F_RCPT_TO, 0 },
	{ "Arrival-Date", F_ARRIVAL_DATE, 0 },
	/* RFC 5965 3.3: the legacy name of Arrival-Date */
	{ "Received-Date", F_ARRIVAL_DATE, 0 },
	{ "Source-IP", F_SOURCE_IP, 0 },
	{ "Reported-Domain", F_REPORTED_DOMAIN, 0 },
	{ "Reported-URI", F_REPORTED_URI, 0 },
	{ "Authentication-Results", F_AUTH_RESULTS, FL_BLOB },
	{ "Auth-Failure", F_AUTH_FAILURE, 0 },
	{ "Identity-Alignment", F_IDENTITY_ALIGNMENT, 0 },
	{ "Delivery-Result", F_DELIVERY_RESULT, 0 },
	{ "DKIM-Domain", F_DKIM_DOMAIN, 0 },
	{ "DKIM-Identity", F_DKIM_IDENTITY, 0 },
	{ "DKIM-Selector", F_DKIM_SELECTOR, 0 },
	{ "DKIM-Canonicalized-Header", F_DKIM_CANON_HEADER,
	    FL_BLOB | FL_NOSPACE },
	{ "DKIM-Canonicalized-Body", F_DKIM_CANON_BODY, FL_BLOB | FL_NOSPACE },
	{ "SPF-DNS", F_SPF_DNS, 0 },
	/* The rest of the IANA MARF field registry: they make a part ARF
	 * (for ERR_NOREPORT) and are kept in other_fields. */
	{ "Original-Envelope-Id", F_OTHER_ARF, 0 },
	{ "Reporting-MTA", F_OTHER_ARF, 0 },
	{ "Source-Port", F_OTHER_ARF, 0 },
	{ "Incidents", F_OTHER_ARF, 0 },
	{ "Removal-Recipient", F_OTHER_ARF, 0 },
	{ "DKIM-Selector-DNS", F_OTHER_ARF, 0 },
	{ "DKIM-ADSP-DNS", F_OTHER_ARF, 0 },
};

/* Header fields of the original message we keep. */
enum ofld { O_FROM, O_TO, O_SUBJECT, O_DATE, O_MESSAGE_ID, O_CTYPE, O__N };

static const char *const ofields[O__N] = {
	"From", "To", "Subject", "Date", "Message-ID", "Content-Type",
};

struct ap {
	const struct arf_input *in;
	struct err *err;
	struct arena *a;
	struct report rep;
	struct warn_set ws;
	struct raw_value raw[ARF_RAW_MAX];
	struct raw_value *other;
	size_t n_other, a_other;
	char *val[F__SLOTS];       /* first value of each mapped field */
	char *rcpt;                /* Original-Rcpt-To values joined */
	size_t rcpt_len;
	int rcpt_cut;
	unsigned long n_arf;       /* registered ARF fields seen */
	char *oval[O__N];          /* original headers */
	char *from_raw;            /* original From, encoded words as sent */
	struct buf line;           /* the field being unfolded */
	int nomem;                 /* sticky: a small allocation failed */
};

typedef int (*field_fn)(struct ap *x, const char *name, size_t nlen,
    const char *v, size_t vlen, size_t line);

/* ------------------------------------------------------------------ */
/* warnings */

static void warn(struct ap *x, enum warn_code c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Counts a warning (see warn_set_vaddf in parse/report.h). */
static void
warn(struct ap *x, enum warn_code c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	warn_set_vaddf(&x->ws, x->a, c, fmt, ap);
	va_end(ap);
	x->rep.n_warnings = x->ws.n;
}

/* ------------------------------------------------------------------ */
/* text cleaning */

/* Length of the valid UTF-8 sequence at p (n bytes left) allowed in an
 * output string; 0 for invalid bytes and control characters (C0 except
 * TAB, DEL, C1). */
static size_t
utf8_ok(const unsigned char *p, size_t n)
{
	return report_utf8_ok(p, n, 0);
}

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/*
 * The one way a value leaves this parser: s (n bytes, may hold NULs)
 * becomes a NUL-terminated arena string of valid UTF-8 without control
 * characters (W_INVALID_UTF8 when bytes were replaced), trimmed, and cut
 * at cap bytes on a character boundary (W_TRAILING_DATA). Returns NULL for
 * an empty result (*rc 0) or when out of memory (*rc ERR_NOMEM).
 */
static char *
clean(struct ap *x, const char *field, const char *s, size_t n, size_t cap,
    int *rc)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, olen;
	char *out;

	*rc = 0;
	while (n > 0 && (is_wsp(p[0]) || p[0] == '\r' || p[0] == '\n')) {
		p++;
		n--;
	}
	while (n > 0 && (is_wsp(p[n - 1]) || p[n - 1] == '\r' ||
	    p[n - 1] == '\n'))
		n--;
	if (n == 0)
		return NULL;
	/* Output grows by at most 4 bytes per step and the loop stops past
	 * cap, so memory stays near cap whatever the input length (n is
	 * bounded by LIM_HEADER_BYTES: no overflow). */
	if ((out = arena_alloc(x->a, (n * 3 < cap + 4 ? n * 3 : cap + 4) +
	    1)) == NULL) {
		*rc = err_set(x->err, ERR_NOMEM, "out of memory");
		return NULL;
	}
	olen = 0;
	while (i < n && olen <= cap) {
		if ((k = utf8_ok(p + i, n - i)) > 0) {
			memcpy(out + olen, p + i, k);
			olen += k;
			i += k;
			continue;
		}
		warn(x, W_INVALID_UTF8, "%s", field);
		memcpy(out + olen, "\xef\xbf\xbd", 3);
		olen += 3;
		i++;
	}
	if (olen > cap || i < n) {
		warn(x, W_TRAILING_DATA, "%s cut at %zu bytes", field, cap);
		olen = cap;
		while (olen > 0 && ((unsigned char)out[olen] & 0xc0) == 0x80)
			olen--;
		while (olen > 0 && is_wsp((unsigned char)out[olen - 1]))
			olen--;
	}
	out[olen] = '\0';
	return olen > 0 ? out : NULL;
}

static int
has_upper(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			return 1;
	return 0;
}

/* raw NULL means its copy failed (sticky ERR_NOMEM). */
static void
add_raw(struct ap *x, const char *field, const char *raw)
{
	if (raw == NULL) {
		x->nomem = 1;
		return;
	}
	if (x->rep.n_raw >= ARF_RAW_MAX)
		return;
	x->raw[x->rep.n_raw].field = field;
	x->raw[x->rep.n_raw].raw = raw;
	x->rep.n_raw++;
}

/* Lower-cases an enum word in place (W_ENUM_CASE, raw value kept) and
 * checks it against vocab (W_ENUM_UNKNOWN). NULL-terminated vocab. */
static char *
norm_word(struct ap *x, char *v, const char *field, const char *rawname,
    const char *const *vocab)
{
	size_t i;

	if (v == NULL)
		return NULL;
	if (has_upper(v)) {
		add_raw(x, rawname, arena_strdup(x->a, v));
		sp_lower(v);
		warn(x, W_ENUM_CASE, "%s=%s", field, v);
	}
	for (i = 0; vocab[i] != NULL; i++)
		if (strcmp(vocab[i], v) == 0)
			return v;
	warn(x, W_ENUM_UNKNOWN, "%s=%s", field, v);
	return v;
}

/* Domains: ASCII lower-cased; non-ASCII (U-labels) kept with a warning. */
static char *
norm_domain(struct ap *x, char *v, const char *field)
{
	if (v == NULL)
		return NULL;
	if (report_domain_lower(v))
		warn(x, W_ULABEL_DOMAIN, "%s", field);
	return v;
}

/* ------------------------------------------------------------------ */
/* RFC 2047 encoded words */

/* 1: utf-8 / us-ascii (bytes kept; cleaning replaces what is invalid),
 * 2: iso-8859-1 (widened to UTF-8), 0: a charset we leave encoded. An
 * RFC 2231 language suffix ("utf-8*en") is ignored. */
static int
charset_kind(const char *cs, size_t n)
{
	static const struct { const char *name; int kind; } sets[] = {
		{ "utf-8", 1 }, { "utf8", 1 }, { "us-ascii", 1 },
		{ "ascii", 1 }, { "iso-8859-1", 2 }, { "iso8859-1", 2 },
		{ "iso_8859-1", 2 }, { "latin1", 2 },
	};
	const char *star = memchr(cs, '*', n);

	if (star != NULL)
		n = (size_t)(star - cs);
	for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
		if (strlen(sets[i].name) == n &&
		    sp_ncasecmp(cs, sets[i].name, n) == 0)
			return sets[i].kind;
	return 0;
}

static int b64val(int c);

/* An encoded word at s[i] with a charset we decode: fills its parts and
 * *end (index after "?="). Returns 1, or 0 when it is not one. */
static int
ew_find(const char *s, size_t n, size_t i, int *kind, char *enc,
    const char **txt, size_t *tlen, size_t *end)
{
	size_t cs, q;

	if (i + 1 >= n || s[i] != '=' || s[i + 1] != '?')
		return 0;
	cs = i + 2;
	for (q = cs; q < n && s[q] != '?'; q++)
		if (is_wsp((unsigned char)s[q]))
			return 0;
	if (q == cs || q + 3 >= n || s[q + 2] != '?')
		return 0;
	*enc = s[q + 1];
	if (*enc != 'b' && *enc != 'B' && *enc != 'q' && *enc != 'Q')
		return 0;
	if ((*kind = charset_kind(s + cs, q - cs)) == 0)
		return 0;
	*txt = s + q + 3;
	for (q = q + 3; q + 1 < n; q++) {
		if (is_wsp((unsigned char)s[q]))
			return 0;
		if (s[q] == '?' && s[q + 1] == '=') {
			*tlen = (size_t)(s + q - *txt);
			*end = q + 2;
			break;
		}
	}
	if (q + 1 >= n)
		return 0;
	/* broken base64 is left as written, so decoding cannot fail */
	if (*enc == 'b' || *enc == 'B')
		for (size_t j = 0; j < *tlen; j++)
			if (b64val((unsigned char)(*txt)[j]) < 0 &&
			    (*txt)[j] != '=')
				return 0;
	return 1;
}


static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static size_t
put_byte(char *o, size_t k, unsigned char c, int kind)
{
	if (kind == 2 && c >= 0x80) {
		o[k++] = (char)(0xc0 | (c >> 6));
		o[k++] = (char)(0x80 | (c & 0x3f));
	} else
		o[k++] = (char)c;
	return k;
}

/* Decodes one encoded word's text (checked by ew_find) into o at k;
 * returns the new k. */
static size_t
ew_decode(const char *t, size_t n, char enc, int kind, char *o, size_t k)
{
	if (enc == 'q' || enc == 'Q') {
		for (size_t i = 0; i < n; i++) {
			int h, l;
			if (t[i] == '_')
				k = put_byte(o, k, ' ', kind);
			else if (t[i] == '=' && i + 2 < n &&
			    (h = sp_hexval((unsigned char)t[i + 1])) >= 0 &&
			    (l = sp_hexval((unsigned char)t[i + 2])) >= 0) {
				k = put_byte(o, k, (unsigned char)(h * 16 + l),
				    kind);
				i += 2;
			} else
				k = put_byte(o, k, (unsigned char)t[i], kind);
		}
		return k;
	}
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v;
		if (t[i] == '=')
			break;
		if ((v = b64val((unsigned char)t[i])) < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			k = put_byte(o, k, (unsigned char)(acc >> bits), kind);
			acc &= (1u << bits) - 1;
		}
	}
	return k;
}

/* RFC 2047: s with its encoded words decoded (white space between two
 * adjacent encoded words dropped), in the arena; s itself when it has
 * none. Decoded text is at most 2 bytes per input byte (latin-1 widening
 * of a Q word: "=E9" 3 -> 2; of a B word: 4 -> 6). */
static const char *
decode_2047(struct ap *x, const char *s, size_t n, size_t *olen)
{
	char *o;
	size_t i = 0, k = 0, end, tlen;
	const char *txt;
	char enc;
	int kind, prev_ew = 0;

	/* a loop, not memmem: GCC's UBSan build sees a NULL path there */
	for (i = 0; i + 1 < n; i++)
		if (s[i] == '=' && s[i + 1] == '?')
			break;
	if (i + 1 >= n) {
		*olen = n;
		return s;
	}
	i = 0;
	if ((o = arena_alloc(x->a, n * 2 + 1)) == NULL)
		return NULL;
	while (i < n) {
		if (ew_find(s, n, i, &kind, &enc, &txt, &tlen, &end)) {
			k = ew_decode(txt, tlen, enc, kind, o, k);
			i = end;
			prev_ew = 1;
			continue;
		}
		if (is_wsp((unsigned char)s[i]) && prev_ew) {
			size_t j = i, e2;
			while (j < n && is_wsp((unsigned char)s[j]))
				j++;
			if (ew_find(s, n, j, &kind, &enc, &txt, &tlen, &e2)) {
				i = j;
				continue;
			}
		}
		o[k++] = s[i++];
		prev_ew = 0;
	}
	*olen = k;
	return o;
}

/* ------------------------------------------------------------------ */
/* RFC 5322 dates */

/* Skips white space and (nested, quoted-pair aware) comments. */
static void
skip_cfws(const char **p)
{
	const char *s = *p;
	int depth;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (*s != '(')
			break;
		depth = 0;
		while (*s != '\0') {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '(')
				depth++;
			else if (*s == ')' && --depth == 0) {
				s++;
				break;
			}
			s++;
		}
	}
	*p = s;
}

/* Letters at *p into w (lower-cased, at most cap-1 kept); returns their
 * number (all of them, even beyond cap). */
static size_t
word(const char **p, char *w, size_t cap)
{
	const char *s = *p;
	size_t n = 0;

	while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) {
		if (n + 1 < cap)
			w[n] = (char)(*s | 0x20);
		n++;
		s++;
	}
	w[n + 1 < cap ? n : cap - 1] = '\0';
	*p = s;
	return n;
}

/* Digits at *p, at most maxdig of them and none beyond (no other digit
 * follows): *v and their count, or 0 on failure. */
static int
digits(const char **p, unsigned maxdig, uint64_t *v)
{
	const char *s = *p;
	int n;

	if (sp_uint64(&s, v, UINT64_MAX / 2) != 0)
		return 0;
	n = (int)(s - *p);
	if (n > (int)maxdig)
		return 0;
	*p = s;
	return n;
}

static int
zone_word(const char *w, size_t n, int64_t *off)
{
	static const struct { const char *name; int hours; } zones[] = {
		{ "ut", 0 }, { "utc", 0 }, { "gmt", 0 }, { "z", 0 },
		{ "est", -5 }, { "edt", -4 }, { "cst", -6 }, { "cdt", -5 },
		{ "mst", -7 }, { "mdt", -6 }, { "pst", -8 }, { "pdt", -7 },
	};

	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++)
		if (strcmp(w, zones[i].name) == 0) {
			*off = (int64_t)zones[i].hours * 3600;
			return 1;
		}
	/* RFC 5322 4.3: military zones were specified wrongly in RFC 822;
	 * treat them as "-0000" (UTC, zone unknown). */
	if (n == 1 && w[0] != 'j') {
		*off = 0;
		return 1;
	}
	return 0;
}

int
arf_parse_date(const char *s, size_t len, int64_t *t)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	static const unsigned char mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
	};
	char tmp[256], w[16];
	const char *p = tmp, *q;
	uint64_t day, year, hh, mm, ss = 0, zh, zm;
	int64_t off = 0;
	unsigned mon, dim;
	int nd, nozone = 0, sign;

	/* A copy with a NUL, so the strparse cursors cannot run off the
	 * end; no legal date is near 256 bytes. */
	if (len == 0 || len >= sizeof tmp || memchr(s, '\0', len) != NULL)
		return ERR_FORMAT;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	skip_cfws(&p);
	/* ISO 8601 appears in home-grown generators */
	if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' &&
	    p[2] >= '0' && p[2] <= '9' && p[3] >= '0' && p[3] <= '9' &&
	    p[4] == '-') {
		char iso[64];
		size_t n = strcspn(p, " \t(");
		if (n >= sizeof iso)
			return ERR_FORMAT;
		memcpy(iso, p, n);
		iso[n] = '\0';
		return time_parse_iso8601(iso, t) == 0 ? 0 : ERR_FORMAT;
	}
	/* [day-of-week ","]: any word, not checked against the date
	 * (reporters get it wrong) */
	q = p;
	if (word(&q, w, sizeof w) > 0) {
		p = q;
		skip_cfws(&p);
		if (*p == ',')
			p++;
		skip_cfws(&p);
	}
	if (digits(&p, 2, &day) == 0 || day < 1)
		return ERR_FORMAT;
	skip_cfws(&p);
	if (word(&p, w, sizeof w) < 3)
		return ERR_FORMAT;
	w[3] = '\0';
	if ((q = strstr(months, w)) == NULL || (q - months) % 3 != 0)
		return ERR_FORMAT;
	mon = (unsigned)((q - months) / 3);
	skip_cfws(&p);
	if ((nd = digits(&p, 4, &year)) < 2)
		return ERR_FORMAT;
	/* RFC 5322 4.3: 2-digit years < 50 are 20xx, others and 3-digit
	 * years are 1900 + y */
	if (nd == 2)
		year += year < 50 ? 2000 : 1900;
	else if (nd == 3)
		year += 1900;
	if (year < 1900)
		return ERR_FORMAT;
	skip_cfws(&p);
	if (digits(&p, 2, &hh) == 0 || hh > 23)
		return ERR_FORMAT;
	skip_cfws(&p);
	if (*p++ != ':')
		return ERR_FORMAT;
	skip_cfws(&p);
	if (digits(&p, 2, &mm) != 2 || mm > 59)
		return ERR_FORMAT;
	skip_cfws(&p);
	if (*p == ':') {
		p++;
		skip_cfws(&p);
		/* 60: a leap second */
		if (digits(&p, 2, &ss) != 2 || ss > 60)
			return ERR_FORMAT;
		/* fractions are not RFC 5322 but harmless */
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
	}
	skip_cfws(&p);
	if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		q = p;
		if (digits(&q, 4, &zh) != 4)
			return ERR_FORMAT;
		zm = zh % 100;
		zh /= 100;
		if (zh > 23 || zm > 59)
			return ERR_FORMAT;
		off = sign * (int64_t)(zh * 3600 + zm * 60);
	} else if (word(&p, w, sizeof w) > 0) {
		if (!zone_word(w, strlen(w), &off))
			nozone = 1;
	} else
		nozone = 1;
	/* Whatever follows the zone (a comment, "GMT" after "+0000") does
	 * not change the time. */
	dim = mdays[mon];
	if (mon == 1 && (year % 4 == 0 && (year % 100 != 0 || year % 400 ==
	    0)))
		dim = 29;
	if (day > dim)
		return ERR_FORMAT;
	*t = time_days_from_civil((int64_t)year, mon + 1, (unsigned)day) *
	    86400 + (int64_t)(hh * 3600 + mm * 60 + ss) - off;
	return nozone;
}

/* ------------------------------------------------------------------ */
/* header blocks */

/* The unfolded value; buf leaves data NULL until something is appended. */
static const char *
line_str(const struct ap *x)
{
	return x->line.data != NULL ? (const char *)x->line.data : "";
}

/*
 * Walks an RFC 5322 header block: calls fn once per field with its value
 * unfolded (CRLF before white space removed, nothing else). Lines that are
 * not fields are skipped with W_STRAY_TEXT. headers_only: the block ends at
 * the first empty line (*body gets the offset after it); otherwise empty
 * lines are skipped (some generators separate groups of ARF fields).
 */
static int
hdr_walk(struct ap *x, const unsigned char *p, size_t len, int headers_only,
    const char *what, const char *where, field_fn fn, size_t *body)
{
	size_t pos = 0, line = 0, n_lines = 0, e, next;
	const char *name = NULL;
	size_t nlen = 0, fline = 0;
	int rc = 0;

	if (body != NULL)
		*body = len;
	buf_reset(&x->line);
	if (headers_only) {
		/* an mbox "From " separator line before the headers */
		if (len >= 5 && memcmp(p, "From ", 5) == 0) {
			const unsigned char *nl = memchr(p, '\n', len);
			pos = nl != NULL ? (size_t)(nl - p) + 1 : len;
			line++;
		}
	}
	while (pos < len) {
		const unsigned char *nl = memchr(p + pos, '\n', len - pos);
		e = nl != NULL ? (size_t)(nl - p) : len;
		next = nl != NULL ? e + 1 : len;
		if (e > pos && p[e - 1] == '\r')
			e--;
		line++;
		if (e > pos && is_wsp(p[pos])) {
			if (name != NULL) {
				rc = buf_append(&x->line, p + pos, e - pos);
				if (rc != 0)
					goto toobig;
			} else
				warn(x, W_STRAY_TEXT, "%s line %zu", where,
				    line);
			pos = next;
			continue;
		}
		if (name != NULL) {
			if ((rc = fn(x, name, nlen, line_str(x),
			    x->line.len, fline)) != 0)
				return rc;
			name = NULL;
		}
		if (e == pos) {
			pos = next;
			if (headers_only) {
				if (body != NULL)
					*body = next;
				return 0;
			}
			continue;
		}
		if (++n_lines > LIM_HEADER_FIELDS) {
			rc = err_set(x->err, ERR_TOO_LARGE, "%s with more than "
			    "LIM_HEADER_FIELDS (%d) header lines", what,
			    LIM_HEADER_FIELDS);
			err_where(x->err, "%s line %zu", where, line);
			return rc;
		}
		/* field name: printable ASCII except ':', then optional
		 * white space (obsolete syntax) and ':' */
		size_t i = pos;
		while (i < e && p[i] > 0x20 && p[i] < 0x7f && p[i] != ':')
			i++;
		size_t ne = i;
		while (i < e && is_wsp(p[i]))
			i++;
		if (ne == pos || i >= e || p[i] != ':') {
			warn(x, W_STRAY_TEXT, "%s line %zu", where, line);
			pos = next;
			continue;
		}
		name = (const char *)p + pos;
		nlen = ne - pos;
		fline = line;
		buf_reset(&x->line);
		if ((rc = buf_append(&x->line, p + i + 1, e - i - 1)) != 0)
			goto toobig;
		pos = next;
	}
	if (name != NULL)
		return fn(x, name, nlen, line_str(x),
		    x->line.len, fline);
	return 0;
toobig:
	if (rc == ERR_TOO_LARGE) {
		err_set(x->err, ERR_TOO_LARGE, "header field exceeds "
		    "LIM_HEADER_BYTES (%u)", (unsigned)LIM_HEADER_BYTES);
		err_where(x->err, "%s line %zu", where, fline);
		return ERR_TOO_LARGE;
	}
	return err_set(x->err, rc, "out of memory");
}

static const struct field *
lookup(const char *name, size_t nlen)
{
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (strlen(fields[i].name) == nlen &&
		    sp_ncasecmp(name, fields[i].name, nlen) == 0)
			return &fields[i];
	return NULL;
}

static int
add_other(struct ap *x, const char *name, size_t nlen, char *v)
{
	struct raw_value *o;
	int rc;

	if (v == NULL)
		return 0;
	if (x->n_other >= x->a_other) {
		o = arena_grow(x->a, x->other, x->n_other, &x->a_other,
		    sizeof *o);
		if (o == NULL)
			return err_set(x->err, ERR_NOMEM, "out of memory");
		x->other = o;
	}
	/* names are printable ASCII (hdr_walk), cleaning only copies */
	o = &x->other[x->n_other];
	if ((o->field = clean(x, "field name", name, nlen, LIM_FIELD_BYTES,
	    &rc)) == NULL)
		return rc;
	o->raw = v;
	x->n_other++;
	return 0;
}

/* Drops spaces and tabs in place (base64 folded with FWS). */
static size_t
squeeze(char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!is_wsp((unsigned char)s[i]))
			s[k++] = s[i];
	return k;
}

static int
on_feedback(struct ap *x, const char *name, size_t nlen, const char *v,
    size_t vlen, size_t line)
{
	const struct field *f = lookup(name, nlen);
	char *c;
	int rc;

	(void)line;
	if (f == NULL) {
		/* the field name is ours to quote: ftext, capped below */
		char fname[64];
		snprintf(fname, sizeof fname, "%.*s", (int)(nlen < 60 ? nlen :
		    60), name);
		c = clean(x, fname, v, vlen, LIM_FIELD_BYTES, &rc);
		if (rc != 0)
			return rc;
		return add_other(x, name, nlen, c);
	}
	x->n_arf++;
	if (f->flags & FL_NOSPACE) {
		/* the unfold buffer is ours: squeeze it in place */
		vlen = squeeze((char *)(uintptr_t)v, vlen);
	}
	c = clean(x, f->name, v, vlen, (f->flags & FL_BLOB) ?
	    LIM_HEADER_BYTES : LIM_FIELD_BYTES, &rc);
	if (rc != 0)
		return rc;
	if (c == NULL)
		return 0;
	if (f->id == F_RCPT_TO) {
		/* repeatable (RFC 5965 3.2): one value, joined */
		size_t n = strlen(c), need = x->rcpt_len + (x->rcpt_len ? 2 :
		    0) + n;
		char *j;
		if (x->rcpt_cut)
			return 0;
		if (need > LIM_FIELD_BYTES) {
			warn(x, W_TRAILING_DATA, "Original-Rcpt-To cut at "
			    "%u bytes", (unsigned)LIM_FIELD_BYTES);
			x->rcpt_cut = 1;
			return 0;
		}
		if ((j = arena_alloc(x->a, need + 1)) == NULL)
			return err_set(x->err, ERR_NOMEM, "out of memory");
		if (x->rcpt_len) {
			memcpy(j, x->rcpt, x->rcpt_len);
			memcpy(j + x->rcpt_len, ", ", 2);
		}
		memcpy(j + need - n, c, n + 1);
		x->rcpt = j;
		x->rcpt_len = need;
		return 0;
	}
	if (f->id == F_OTHER_ARF)
		return add_other(x, name, nlen, c);
	if (x->val[f->id] != NULL) {
		warn(x, W_DUPLICATE_ELEMENT, "%s", f->name);
		return add_other(x, name, nlen, c);
	}
	x->val[f->id] = c;
	return 0;
}

static int
on_original(struct ap *x, const char *name, size_t nlen, const char *v,
    size_t vlen, size_t line)
{
	const char *d;
	size_t dlen;
	int i, rc;

	(void)line;
	for (i = 0; i < O__N; i++)
		if (strlen(ofields[i]) == nlen &&
		    sp_ncasecmp(name, ofields[i], nlen) == 0)
			break;
	if (i == O__N || x->oval[i] != NULL)
		return 0;
	d = v;
	dlen = vlen;
	if (i == O_FROM || i == O_TO || i == O_SUBJECT) {
		if ((d = decode_2047(x, v, vlen, &dlen)) == NULL)
			return err_set(x->err, ERR_NOMEM, "out of memory");
	}
	x->oval[i] = clean(x, ofields[i], d, dlen, LIM_FIELD_BYTES, &rc);
	/* The Reported-Domain fallback reads the From as sent: a decoded
	 * display name may hold an '@' of its own. */
	if (rc == 0 && i == O_FROM)
		x->from_raw = d == v ? x->oval[i] : clean(x, ofields[i], v,
		    vlen, LIM_FIELD_BYTES, &rc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* field normalisation */

/* The domain of the address in a From value: inside the last <...> if
 * there is one, else after the last '@'. Lower-cased arena copy or NULL. */
static char *
from_domain(struct ap *x, const char *from)
{
	const char *lt = strrchr(from, '<'), *at, *e;
	char *d;
	int rc;

	if (lt != NULL) {
		const char *gt = strchr(lt, '>');
		e = gt != NULL ? gt : lt + strlen(lt);
		at = NULL;
		for (const char *p = lt; p < e; p++)
			if (*p == '@')
				at = p;
	} else {
		at = strrchr(from, '@');
		e = from + strlen(from);
	}
	if (at == NULL)
		return NULL;
	at++;
	const char *q = at;
	while (q < e && strchr(" \t>;,()\"<[]", *q) == NULL)
		q++;
	if ((d = clean(x, "From", at, (size_t)(q - at), LIM_FIELD_BYTES,
	    &rc)) == NULL) {
		if (rc != 0)
			x->nomem = 1;
		return NULL;
	}
	return norm_domain(x, d, "Reported-Domain");
}

/* RFC 6591 3.1 / RFC 9991: delivered | spam | policy | reject | other.
 * Vendor text ("smg-policy-action", "Rejected", "quarantined") is mapped
 * when one word makes the meaning plain; else "other". */
static const char *
delivery_enum(const char *v)
{
	static const char *const exact[] = {
		"delivered", "spam", "policy", "reject", "other", NULL,
	};
	static const struct { const char *sub; const char *to; } map[] = {
		{ "reject", "reject" }, { "bounce", "reject" },
		{ "quarantin", "spam" }, { "spam", "spam" }, { "junk", "spam" },
		{ "bulk", "spam" },
		{ "policy", "policy" }, { "discard", "policy" },
		{ "drop", "policy" }, { "block", "policy" },
		{ "not deliver", "other" }, { "undeliver", "other" },
		{ "deliver", "delivered" }, { "accept", "delivered" },
		{ "inbox", "delivered" },
	};
	char low[64];
	size_t n = strlen(v);

	for (size_t i = 0; exact[i] != NULL; i++)
		if (sp_casecmp(v, exact[i]) == 0)
			return exact[i];
	if (n >= sizeof low)
		n = sizeof low - 1;
	memcpy(low, v, n);
	low[n] = '\0';
	sp_lower(low);
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strstr(low, map[i].sub) != NULL)
			return map[i].to;
	return "other";
}

static void
norm_delivery(struct ap *x)
{
	char *v = x->val[F_DELIVERY_RESULT];
	const char *to;

	if (v == NULL)
		return;
	to = delivery_enum(v);
	if (strcmp(to, v) == 0)
		return;
	add_raw(x, "delivery_result", v);
	if (sp_casecmp(to, v) == 0)
		warn(x, W_ENUM_CASE, "Delivery-Result=%s", v);
	else if (strcmp(to, "other") == 0)
		warn(x, W_ENUM_UNKNOWN, "Delivery-Result=%s", v);
	else
		warn(x, W_ENUM_ALIAS, "Delivery-Result=%s", v);
	x->rep.fail.delivery_result = to;
}

/* "dkim, SPF" -> "dkim,spf"; tokens none|dkim|spf. */
static void
norm_alignment(struct ap *x)
{
	char *v = x->val[F_IDENTITY_ALIGNMENT], *o, *tok;
	const char *orig;
	int bad = 0;

	if (v == NULL)
		return;
	if ((orig = arena_strdup(x->a, v)) == NULL) {
		x->nomem = 1;
		return;
	}
	o = v;
	for (char *p = v; *p != '\0'; p++)
		if (!is_wsp((unsigned char)*p))
			*o++ = *p;
	*o = '\0';
	sp_lower(v);
	if (strcmp(orig, v) != 0)
		add_raw(x, "identity_alignment", orig);
	for (tok = v; *tok != '\0';) {
		size_t n = strcspn(tok, ",");
		if (!((n == 4 && memcmp(tok, "none", 4) == 0) ||
		    (n == 4 && memcmp(tok, "dkim", 4) == 0) ||
		    (n == 3 && memcmp(tok, "spf", 3) == 0)))
			bad = 1;
		tok += n;
		if (*tok == ',')
			tok++;
	}
	if (bad)
		warn(x, W_ENUM_UNKNOWN, "Identity-Alignment=%s", v);
}

/* First token of Source-IP ("192.0.2.1 (mail.example)", "[192.0.2.1]"),
 * canonicalised when it is an address. */
static int
norm_source_ip(struct ap *x)
{
	char *v = x->val[F_SOURCE_IP];
	struct ipaddr ip;
	const char *t;
	size_t n;

	if (v == NULL)
		return 0;
	t = v;
	n = strcspn(t, " \t(,;");
	if (n >= 2 && t[0] == '[' && t[n - 1] == ']') {
		t++;
		n -= 2;
	}
	if (ipaddr_parse(t, n, &ip) == 0) {
		if (strcmp(ip.text, v) == 0) {
			x->rep.fail.source_ip = v;
			return 0;
		}
		add_raw(x, "source_ip", v);
		if (ip.family == 6 && (strlen(ip.text) != n ||
		    memcmp(ip.text, t, n) != 0))
			warn(x, W_IPV6_NONCANONICAL, "Source-IP");
		if ((x->rep.fail.source_ip = arena_strdup(x->a, ip.text)) ==
		    NULL)
			return err_set(x->err, ERR_NOMEM, "out of memory");
		return 0;
	}
	warn(x, W_ROW_BAD_SOURCE_IP, "Source-IP=%s: not an address, kept "
	    "as sent", v);
	if (n == 0 || n == strlen(v)) {
		x->rep.fail.source_ip = v;
		return 0;
	}
	add_raw(x, "source_ip", v);
	if ((x->rep.fail.source_ip = arena_strndup(x->a, t, n)) == NULL)
		return err_set(x->err, ERR_NOMEM, "out of memory");
	return 0;
}

static void
arrival(struct ap *x)
{
	struct failure_report *f = &x->rep.fail;
	const char *od = x->in->outer_date;
	int64_t t;
	int rc;

	f->arrival_date = x->val[F_ARRIVAL_DATE];
	if (f->arrival_date != NULL) {
		rc = arf_parse_date(f->arrival_date, strlen(f->arrival_date),
		    &t);
		if (rc < 0) {
			warn(x, W_ENUM_UNKNOWN, "Arrival-Date unparsable: %s",
			    f->arrival_date);
			return;
		}
		if (rc == 1)
			warn(x, W_TIMEZONE_MISSING, "Arrival-Date");
		f->arrival_time = t;
		return;
	}
	/* parsedmarc #38: fall back to the report mail's Date */
	if (od != NULL && arf_parse_date(od, strlen(od), &t) >= 0) {
		warn(x, W_FIELD_MISSING, "Arrival-Date (report Date used)");
		f->arrival_time = t;
	} else
		warn(x, W_FIELD_MISSING, "Arrival-Date");
}

static const char *const feedback_types[] = {
	/* IANA "Feedback Report Type Values" */
	"abuse", "fraud", "virus", "other", "not-spam", "auth-failure", NULL,
};

static const char *const auth_failures[] = {
	/* RFC 6591 3.2.1, plus dmarc (RFC 7489 7.3.1, RFC 9991) */
	"adsp", "bodyhash", "revoked", "signature", "spf", "dmarc", NULL,
};

static int
finish(struct ap *x)
{
	struct failure_report *f = &x->rep.fail;
	char **v = x->val;
	int rc;

	f->feedback_type = norm_word(x, v[F_FEEDBACK_TYPE], "Feedback-Type",
	    "feedback_type", feedback_types);
	if (f->feedback_type == NULL) {
		warn(x, W_FIELD_MISSING, "Feedback-Type");
		f->feedback_type = "auth-failure";
	}
	f->user_agent = v[F_USER_AGENT];
	f->version = v[F_VERSION];
	f->original_mail_from = v[F_MAIL_FROM];
	f->original_rcpt_to = x->rcpt;
	arrival(x);
	if ((rc = norm_source_ip(x)) != 0)
		return rc;
	f->reported_domain = norm_domain(x, v[F_REPORTED_DOMAIN],
	    "Reported-Domain");
	if (f->reported_domain == NULL) {
		if (x->from_raw != NULL &&
		    (f->reported_domain = from_domain(x, x->from_raw)) !=
		    NULL)
			warn(x, W_FIELD_MISSING, "Reported-Domain (original "
			    "From domain used)");
		else if (x->nomem)
			return err_set(x->err, ERR_NOMEM, "out of memory");
		else {
			rc = err_set(x->err, ERR_FORMAT, "failure report "
			    "names no domain: no Reported-Domain and no From "
			    "in the original headers");
			err_where(x->err, "feedback-report");
			return rc;
		}
	}
	f->reported_uri = v[F_REPORTED_URI];
	f->authentication_results = v[F_AUTH_RESULTS];
	f->auth_failure = norm_word(x, v[F_AUTH_FAILURE], "Auth-Failure",
	    "auth_failure", auth_failures);
	if (strcmp(f->feedback_type, "auth-failure") == 0) {
		if (f->auth_failure == NULL) {
			warn(x, W_FIELD_MISSING, "Auth-Failure");
			f->auth_failure = "dmarc";
		}
		/* REQUIRED in DMARC failure reports (RFC 7489 7.3.1) */
		if (v[F_IDENTITY_ALIGNMENT] == NULL &&
		    strcmp(f->auth_failure, "dmarc") == 0)
			warn(x, W_FIELD_MISSING, "Identity-Alignment");
	}
	norm_alignment(x);
	f->identity_alignment = v[F_IDENTITY_ALIGNMENT];
	f->delivery_result = v[F_DELIVERY_RESULT];
	norm_delivery(x);
	f->dkim_domain = norm_domain(x, v[F_DKIM_DOMAIN], "DKIM-Domain");
	f->dkim_identity = v[F_DKIM_IDENTITY];
	f->dkim_selector = v[F_DKIM_SELECTOR];
	f->dkim_canonicalized_header = v[F_DKIM_CANON_HEADER];
	f->dkim_canonicalized_body = v[F_DKIM_CANON_BODY];
	f->spf_dns = v[F_SPF_DNS];
	f->other_fields = x->other;
	f->n_other_fields = x->n_other;
	f->orig_from = x->oval[O_FROM];
	f->orig_to = x->oval[O_TO];
	f->orig_subject = x->oval[O_SUBJECT];
	f->orig_date = x->oval[O_DATE];
	f->orig_message_id = x->oval[O_MESSAGE_ID];
	if (x->nomem)
		return err_set(x->err, ERR_NOMEM, "out of memory");
	return 0;
}

/* The original body, only on request and never HTML (RFC 9991 7: it may
 * be phishing; an HTML body must not reach a page by accident). */
static void
keep_body(struct ap *x, size_t off)
{
	const struct arf_input *in = x->in;
	const char *ct = x->oval[O_CTYPE];
	size_t n;

	if (!in->keep_body || in->original == NULL || off >= in->original_len)
		return;
	if (ct != NULL && sp_ncasecmp(ct, "text/html", 9) == 0)
		return;
	n = in->original_len - off;
	if (n > ARF_BODY_BYTES) {
		warn(x, W_TRAILING_DATA, "original body cut at %u bytes",
		    (unsigned)ARF_BODY_BYTES);
		n = ARF_BODY_BYTES;
	}
	x->rep.fail.orig_body = in->original + off;
	x->rep.fail.orig_body_len = n;
}

/* A sink's refusal keeps the sink's own message when it wrote one. */
static int
sink_rc(struct ap *x, int rc, const char *what)
{
	if (rc == ERR_STOPPED)
		return err_set(x->err, ERR_STOPPED, "stopped by the %s "
		    "callback", what);
	if (rc < 0 && x->err != NULL && x->err->msg[0] == '\0')
		err_set(x->err, rc, "the %s callback failed", what);
	else if (rc < 0 && x->err != NULL)
		x->err->code = rc;
	return rc;
}

int
arf_parse(const struct arf_input *in, const struct report_sink *sink,
    struct err *err)
{
	struct ap *x = NULL;
	struct arena *a;
	size_t body = 0;
	int rc;

	err_clear(err);
	if (in == NULL || sink == NULL)
		return err_set(err, ERR_INVAL, "arf_parse: no input or sink");
	if ((a = arena_new()) == NULL ||
	    (x = arena_zalloc(a, sizeof *x)) == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	x->a = a;
	x->in = in;
	x->err = err;
	warn_set_init(&x->ws);
	x->rep.kind = REPORT_FAILURE;
	x->rep.warnings = x->ws.warns;
	x->rep.raw = x->raw;
	buf_init(&x->line, LIM_HEADER_BYTES);

	if (in->feedback == NULL || in->feedback_len == 0) {
		rc = err_set(err, ERR_NOREPORT, "empty feedback-report part");
		goto out;
	}
	rc = hdr_walk(x, in->feedback, in->feedback_len, 0, "ARF",
	    "feedback-report", on_feedback, NULL);
	if (rc != 0)
		goto out;
	if (x->n_arf == 0) {
		rc = err_set(err, ERR_NOREPORT, "no ARF field (Feedback-Type, "
		    "Reported-Domain, Source-IP...) in the feedback-report "
		    "part");
		goto out;
	}
	if (in->original != NULL && in->original_len > 0) {
		rc = hdr_walk(x, in->original, in->original_len, 1,
		    "original message", "original headers", on_original,
		    &body);
		if (rc != 0)
			goto out;
	}
	if ((rc = finish(x)) != 0)
		goto out;
	keep_body(x, body);

	if (sink->begin != NULL &&
	    (rc = sink->begin(sink->ctx, &x->rep)) != 0) {
		rc = sink_rc(x, rc, "begin");
		goto out;
	}
	if (sink->end != NULL && (rc = sink->end(sink->ctx, &x->rep)) != 0) {
		rc = sink_rc(x, rc, "end");
		goto out;
	}
	rc = 0;
out:
	if (x != NULL)
		buf_free(&x->line);
	arena_free(a);
	return rc;
}
