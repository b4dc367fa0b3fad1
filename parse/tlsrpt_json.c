/*
 * parse/tlsrpt_json.c - TLS-RPT JSON reports (see tlsrpt_json.h).
 *
 * Shape: jv_parse() builds the tree (caps and JSON well-formedness are its
 * job), then one pass converts it into the neutral model in an arena:
 * meta, then every policy with its failure details. Only when all of that
 * succeeded is the sink called. Member paths ("policies[1].summary") are
 * kept in t->base so errors and warning details say where.
 *
 * Decisions (standards.md 3, parsedmarc.md 3a 36-40):
 *   organization-name missing     contact-info domain, W_ORG_NAME_MISSING;
 *                                 both missing: ERR_FORMAT (as for XML)
 *   report-id / date-range        missing or unparsable: ERR_FORMAT
 *   date without zone             UTC, W_TIMEZONE_MISSING (Microsoft 2023)
 *   span > LIM_REPORT_SPAN_...    ERR_FORMAT; <= 0 W_SPAN_ODD; > 1 day
 *                                 W_SPAN_LONG (same rules as the XML)
 *   policies missing              report kept, W_FIELD_MISSING +
 *                                 W_NO_RECORDS; [] only W_NO_RECORDS
 *   policy-type / result-type     lower-cased when that makes a known value
 *                                 (W_ENUM_CASE, raw kept); unknown values
 *                                 verbatim, W_ENUM_UNKNOWN (registry is
 *                                 extensible, parsedmarc 37 refuses them)
 *   policy-domain                 ASCII lower-cased, one trailing root dot
 *                                 dropped (so it matches our domains)
 *   mx-host                       string, array, or "mx-host-pattern"
 *                                 (W_ENUM_ALIAS); policy-string may be a
 *                                 lone string (one line)
 *   additional-info-uri           alias of additional-information
 *                                 (W_ENUM_ALIAS; parsedmarc's spelling)
 *   sending-mta-ip / receiving-ip canonical text when it parses (rewrites:
 *                                 W_IPV6_NONCANONICAL, raw kept); else kept
 *                                 as sent, W_ROW_BAD_SOURCE_IP (the detail
 *                                 is not skipped: its count still counts)
 *   counts                        JSON integer 0..LIM_RECORD_COUNT; an
 *                                 integral real or a digit string is taken
 *                                 with W_NUMBER_FLOAT; negative, fractional,
 *                                 other types: ERR_FORMAT naming the field;
 *                                 > int64: ERR_FORMAT (jansson); >
 *                                 LIM_RECORD_COUNT: ERR_TOO_LARGE; missing:
 *                                 0 with W_FIELD_MISSING
 *   totals vs details             failed-session-count sum != total-failure
 *                                 -session-count: both kept as sent,
 *                                 W_TOTALS_MISMATCH (details overlap by
 *                                 design, RFC 8460 4)
 *   wrong JSON type for a member  ERR_FORMAT naming it; null = absent
 *   unknown members               ignored, W_UNKNOWN_ELEMENT
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/arena.h"
#include "../common/json.h"
#include "../common/limits.h"
#include "../common/strparse.h"
#include "../common/timefmt.h"
#include "ipaddr.h"
#include "tlsrpt_json.h"

/* Flags for conv_str(). */
#define S_LINES  1   /* TAB, LF and CR may stay (policy strings) */

static const char *const V_POLICY_TYPE[] = {
	"sts", "tlsa", "no-policy-found", NULL
};
/* RFC 8460 4.3 and the IANA STARTTLS Validation Result Types registry */
static const char *const V_RESULT_TYPE[] = {
	"starttls-not-supported", "certificate-host-mismatch",
	"certificate-expired", "certificate-not-trusted", "validation-failure",
	"tlsa-invalid", "dnssec-invalid", "dane-required",
	"sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
	NULL
};

static const char *const K_TOP[] = {
	"organization-name", "date-range", "contact-info", "report-id",
	"policies", NULL
};
static const char *const K_RANGE[] = {
	"start-datetime", "end-datetime", NULL
};
static const char *const K_POLICY_ITEM[] = {
	"policy", "summary", "failure-details", NULL
};
static const char *const K_POLICY[] = {
	"policy-type", "policy-string", "policy-domain", "mx-host",
	"mx-host-pattern", NULL
};
static const char *const K_SUMMARY[] = {
	"total-successful-session-count", "total-failure-session-count", NULL
};
static const char *const K_FAILURE[] = {
	"result-type", "sending-mta-ip", "receiving-mx-hostname",
	"receiving-mx-helo", "receiving-ip", "failed-session-count",
	"additional-information", "additional-info-uri",
	"failure-reason-code", NULL
};

/* Every member name of RFC 8460 (the tables above). */
static int
is_schema_key(const char *k, size_t n)
{
	static const char *const *const all[] = {
		K_TOP, K_RANGE, K_POLICY_ITEM, K_POLICY, K_SUMMARY, K_FAILURE,
	};

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		for (const char *const *p = all[i]; *p != NULL; p++)
			if (strlen(*p) == n && memcmp(*p, k, n) == 0)
				return 1;
	return 0;
}

/*
 * jv_parse() names a duplicated key ("duplicate key 'x'..."). The name
 * is the sender's: keep it when it is one of ours, else drop it (err
 * carries no report contents; where still gives line and column).
 */
static void
unquote_dup_key(struct err *err)
{
	static const char pre[] = "duplicate key '";
	const char *k, *q;

	if (err == NULL || strncmp(err->msg, pre, sizeof pre - 1) != 0)
		return;
	k = err->msg + sizeof pre - 1;
	if ((q = strchr(k, '\'')) != NULL && is_schema_key(k, (size_t)(q - k)))
		return;
	err_set(err, err->code, "duplicate key");
}

struct tp {
	const struct report_sink *sink;
	struct err *err;
	struct arena *a;              /* everything handed to the sink */
	struct report rep;
	struct warn_set ws;
	struct raw_value *raw;        /* report-level raw values (arena) */
	size_t n_raw, a_raw;
	char base[128];               /* path of the object being read */
};

/* ------------------------------------------------------------------ */
/* warnings, errors, paths */

static void warn(struct tp *t, enum warn_code c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Counts a warning (see warn_set_vaddf in parse/report.h). */
static void
warn(struct tp *t, enum warn_code c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	warn_set_vaddf(&t->ws, t->a, c, fmt, ap);
	va_end(ap);
	t->rep.n_warnings = t->ws.n;
}

/* "policies[0].summary" + "x" -> "policies[0].summary.x". */
static void
field_path(const struct tp *t, const char *field, char *out, size_t cap)
{
	if (field == NULL)
		snprintf(out, cap, "%s", t->base[0] ? t->base : "(top)");
	else
		snprintf(out, cap, "%s%s%s", t->base, t->base[0] ? "." : "",
		    field);
}

static int fail(struct tp *t, int code, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sets err: where = the member path, msg = fmt. No report contents in
 * msg (err.h): only member names we know and numbers. */
static int
fail(struct tp *t, int code, const char *field, const char *fmt, ...)
{
	char path[256], msg[300];
	va_list ap;

	field_path(t, field, path, sizeof path);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	err_where(t->err, "%s", path);
	return err_set(t->err, code, "%s: %s", path, msg);
}

static int
nomem(struct tp *t)
{
	return err_set(t->err, ERR_NOMEM, "out of memory reading TLS-RPT");
}

/* Keeps a value as sent beside its normalised form (report-level). */
static int
add_raw(struct tp *t, const char *field, const char *raw)
{
	char path[256];
	struct raw_value *r;

	if (t->n_raw == t->a_raw) {
		r = arena_grow(t->a, t->raw, t->n_raw, &t->a_raw, sizeof *r);
		if (r == NULL)
			return nomem(t);
		t->raw = r;
	}
	field_path(t, field, path, sizeof path);
	r = &t->raw[t->n_raw];
	r->field = arena_strdup(t->a, path);
	r->raw = raw;
	if (r->field == NULL)
		return nomem(t);
	t->n_raw++;
	return 0;
}

/* Members we do not know are ignored, but counted. */
static void
check_members(struct tp *t, const struct jv *obj, const char *const *known)
{
	void *it = NULL;
	const char *key;
	const struct jv *val;

	while (jv_object_next(obj, &it, &key, &val)) {
		size_t i;
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(known[i], key) == 0)
				break;
		if (known[i] == NULL)
			warn(t, W_UNKNOWN_ELEMENT, "%s%s%.64s", t->base,
			    t->base[0] ? "." : "", key);
	}
}

/* ------------------------------------------------------------------ */
/* values */

static int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/*
 * A string value into the arena: *out NULL when v is absent, JSON null,
 * or empty after trimming. Control characters become U+FFFD (TAB, LF, CR
 * stay with S_LINES). jansson already refused invalid UTF-8 and NUL.
 */
static int
conv_str(struct tp *t, const struct jv *v, const char *field, int flags,
    const char **out)
{
	const char *s;
	size_t len, n = 0;
	int replaced = 0;
	char *d;

	*out = NULL;
	if (v == NULL || jv_is_null(v))
		return 0;
	if ((s = jv_string_value(v, &len)) == NULL)
		return fail(t, ERR_FORMAT, field, "expected a string, got %s",
		    jv_type_name(v));
	if (len > LIM_FIELD_BYTES)
		return fail(t, ERR_TOO_LARGE, field, "%zu bytes, more than "
		    "LIM_FIELD_BYTES (%d)", len, LIM_FIELD_BYTES);
	if (len > 0 && (is_ws((unsigned char)s[0]) ||
	    is_ws((unsigned char)s[len - 1]))) {
		while (len > 0 && is_ws((unsigned char)*s)) {
			s++;
			len--;
		}
		while (len > 0 && is_ws((unsigned char)s[len - 1]))
			len--;
		warn(t, W_WHITESPACE_TRIMMED, "%s%s%s", t->base,
		    t->base[0] ? "." : "", field);
	}
	if (len == 0) {
		warn(t, W_EMPTY_ELEMENT, "%s%s%s", t->base,
		    t->base[0] ? "." : "", field);
		return 0;
	}
	/* worst case every byte becomes a 3-byte U+FFFD */
	if ((d = arena_alloc(t->a, len * 3 + 1)) == NULL)
		return nomem(t);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int ctl = c < 0x20 || c == 0x7f;
		if (ctl && (flags & S_LINES) &&
		    (c == '\t' || c == '\n' || c == '\r'))
			ctl = 0;
		if (ctl) {
			memcpy(d + n, "\xef\xbf\xbd", 3);
			n += 3;
			replaced = 1;
		} else {
			d[n++] = (char)c;
		}
	}
	d[n] = '\0';
	if (replaced)
		warn(t, W_INVALID_UTF8, "%s%s%s: control character replaced",
		    t->base, t->base[0] ? "." : "", field);
	*out = d;
	return 0;
}

static int
get_str(struct tp *t, const struct jv *obj, const char *key, int flags,
    const char **out)
{
	return conv_str(t, jv_get(obj, key), key, flags, out);
}

/* A string or an array of strings (mx-host, policy-string). Empty
 * strings are dropped. */
static int
get_str_list(struct tp *t, const struct jv *v, const char *field,
    int flags, const char *const **out, size_t *n_out)
{
	const char **list;
	size_t n, k = 0;
	char name[96];
	int rc;

	*out = NULL;
	*n_out = 0;
	if (v == NULL || jv_is_null(v))
		return 0;
	if (jv_is_string(v)) {
		const char *s;
		if ((rc = conv_str(t, v, field, flags, &s)) != 0 || s == NULL)
			return rc;
		if ((list = arena_alloc(t->a, sizeof *list)) == NULL)
			return nomem(t);
		list[0] = s;
		*out = list;
		*n_out = 1;
		return 0;
	}
	if (!jv_is_array(v))
		return fail(t, ERR_FORMAT, field, "expected a string or an "
		    "array of strings, got %s", jv_type_name(v));
	if ((n = jv_array_size(v)) == 0)
		return 0;
	/* n <= LIM_JSON_BYTES / 2: no overflow */
	if ((list = arena_alloc(t->a, n * sizeof *list)) == NULL)
		return nomem(t);
	for (size_t i = 0; i < n; i++) {
		const struct jv *e = jv_array_get(v, i);
		snprintf(name, sizeof name, "%s[%zu]", field, i);
		if (!jv_is_string(e))
			return fail(t, ERR_FORMAT, name, "expected a string, "
			    "got %s", jv_type_name(e));
		if ((rc = conv_str(t, e, name, flags, &list[k])) != 0)
			return rc;
		if (list[k] != NULL)
			k++;
	}
	*out = k > 0 ? list : NULL;
	*n_out = k;
	return 0;
}

/* A session count (see the decisions at the top). */
static int
get_count(struct tp *t, const struct jv *obj, const char *key,
    uint64_t *out)
{
	const struct jv *v = jv_get(obj, key);
	const char *s;
	size_t len;
	int rc;

	*out = 0;
	if (v == NULL || jv_is_null(v)) {
		warn(t, W_FIELD_MISSING, "%s.%s", t->base, key);
		return 0;
	}
	if (jv_is_number(v)) {
		rc = jv_integer_value(v, LIM_RECORD_COUNT, out);
		if (rc == JV_INT_FROM_REAL) {
			warn(t, W_NUMBER_FLOAT, "%s.%s", t->base, key);
			return 0;
		}
		if (rc == ERR_TOO_LARGE)
			return fail(t, rc, key, "count exceeds LIM_RECORD_COUNT "
			    "(%llu)", (unsigned long long)LIM_RECORD_COUNT);
		if (rc != 0)
			return fail(t, ERR_FORMAT, key, "count is negative or "
			    "not a whole number");
		return 0;
	}
	if ((s = jv_string_value(v, &len)) != NULL) {
		/* "42": seen in lenient test fixtures; digits only */
		rc = sp_uint64_all(s, len, out, LIM_RECORD_COUNT);
		if (rc == ERR_TOO_LARGE)
			return fail(t, rc, key, "count exceeds LIM_RECORD_COUNT "
			    "(%llu)", (unsigned long long)LIM_RECORD_COUNT);
		if (rc != 0 || len == 0 || s[0] < '0' || s[0] > '9')
			return fail(t, ERR_FORMAT, key, "count is a string that "
			    "is not a number");
		warn(t, W_NUMBER_FLOAT, "%s.%s: string", t->base, key);
		return 0;
	}
	return fail(t, ERR_FORMAT, key, "expected a count, got %s",
	    jv_type_name(v));
}

/* Known enum value in lower case, else the value as sent. */
static int
norm_enum(struct tp *t, const char *field, const char *const *vocab,
    const char **v)
{
	char low[64];
	size_t n = strlen(*v);

	if (n < sizeof low) {
		memcpy(low, *v, n + 1);
		sp_lower(low);
		for (size_t i = 0; vocab[i] != NULL; i++) {
			if (strcmp(vocab[i], low) != 0)
				continue;
			if (strcmp(vocab[i], *v) != 0) {
				int rc = add_raw(t, field, *v);
				if (rc != 0)
					return rc;
				warn(t, W_ENUM_CASE, "%s.%s: %s", t->base,
				    field, *v);
			}
			*v = vocab[i];
			return 0;
		}
	}
	warn(t, W_ENUM_UNKNOWN, "%s.%s: %.64s", t->base, field, *v);
	return 0;
}

/* Domains: ASCII lower-cased, the root dot dropped; non-ASCII
 * (U-labels) kept with a warning. v is arena memory we own. */
static void
norm_domain(struct tp *t, const char *field, const char **v)
{
	char *d = (char *)*v;
	size_t n = strlen(d);

	if (n > 1 && d[n - 1] == '.')
		d[n - 1] = '\0';
	if (report_domain_lower(d))
		warn(t, W_ULABEL_DOMAIN, "%s.%s", t->base, field);
}

/* IPs: canonical text when they parse, else as sent with a warning. */
static int
norm_ip(struct tp *t, const char *field, const char **v)
{
	struct ipaddr ip;
	const char *c;
	int rc;

	if (*v == NULL)
		return 0;
	if (ipaddr_parse(*v, strlen(*v), &ip) != 0) {
		warn(t, W_ROW_BAD_SOURCE_IP, "%s.%s: kept as sent", t->base,
		    field);
		return 0;
	}
	if (strcmp(ip.text, *v) == 0)
		return 0;
	if ((c = arena_strdup(t->a, ip.text)) == NULL)
		return nomem(t);
	if ((rc = add_raw(t, field, *v)) != 0)
		return rc;
	warn(t, W_IPV6_NONCANONICAL, "%s.%s", t->base, field);
	*v = c;
	return 0;
}

/* RFC 3339 date-time; no zone (Microsoft 2023) is read as UTC. */
static int
get_date(struct tp *t, const struct jv *range, const char *key,
    int64_t *epoch, const char **raw)
{
	const char *s;
	size_t n;
	int rc;

	if ((rc = get_str(t, range, key, 0, &s)) != 0)
		return rc;
	if (s == NULL)
		return fail(t, ERR_FORMAT, key, "missing");
	if (time_parse_iso8601(s, epoch) != 0)
		return fail(t, ERR_FORMAT, key, "not an RFC 3339 date-time");
	n = strlen(s);
	/* "YYYY-MM-DDTHH:MM..." then Z or +hh:mm / -hh:mm */
	if (n <= 10 || !(s[n - 1] == 'Z' || s[n - 1] == 'z' ||
	    strchr(s + 10, '+') != NULL || strchr(s + 10, '-') != NULL))
		warn(t, W_TIMEZONE_MISSING, "date-range.%s", key);
	*raw = s;
	return 0;
}

/* ------------------------------------------------------------------ */
/* the report */

static int
read_meta(struct tp *t, const struct jv *root)
{
	struct tlsrpt_meta *m = &t->rep.tls;
	const struct jv *range;
	int64_t span;
	int rc;

	t->base[0] = '\0';
	check_members(t, root, K_TOP);
	if ((rc = get_str(t, root, "organization-name", 0,
	    &m->organization_name)) != 0 ||
	    (rc = get_str(t, root, "contact-info", 0, &m->contact_info)) != 0 ||
	    (rc = get_str(t, root, "report-id", 0, &m->report_id)) != 0)
		return rc;
	if (m->organization_name == NULL) {
		const char *at;
		if (m->contact_info == NULL)
			return fail(t, ERR_FORMAT, NULL, "neither "
			    "organization-name nor contact-info");
		at = strrchr(m->contact_info, '@');
		m->organization_name = at != NULL && at[1] != '\0' ? at + 1 :
		    m->contact_info;
		warn(t, W_ORG_NAME_MISSING, "%.128s", m->organization_name);
	}
	if (m->report_id == NULL)
		return fail(t, ERR_FORMAT, "report-id", "missing");
	range = jv_get(root, "date-range");
	if (range == NULL || jv_is_null(range))
		return fail(t, ERR_FORMAT, "date-range", "missing");
	if (!jv_is_object(range))
		return fail(t, ERR_FORMAT, "date-range", "expected an object, "
		    "got %s", jv_type_name(range));
	snprintf(t->base, sizeof t->base, "date-range");
	check_members(t, range, K_RANGE);
	if ((rc = get_date(t, range, "start-datetime", &m->begin,
	    &m->begin_raw)) != 0 ||
	    (rc = get_date(t, range, "end-datetime", &m->end,
	    &m->end_raw)) != 0)
		return rc;
	span = m->end - m->begin;
	if (span > LIM_REPORT_SPAN_SECONDS)
		return fail(t, ERR_FORMAT, NULL, "spans %lld seconds, more "
		    "than LIM_REPORT_SPAN_SECONDS (%lld)", (long long)span,
		    (long long)LIM_REPORT_SPAN_SECONDS);
	if (span <= 0)
		warn(t, W_SPAN_ODD, "begin %lld end %lld",
		    (long long)m->begin, (long long)m->end);
	else if (span > 86401)
		warn(t, W_SPAN_LONG, "%lld seconds", (long long)span);
	t->base[0] = '\0';
	return 0;
}

static int
read_failure(struct tp *t, const struct jv *v, struct tlsrpt_failure *f)
{
	const struct jv *info;
	int rc;

	if (!jv_is_object(v))
		return fail(t, ERR_FORMAT, NULL, "expected an object, got %s",
		    jv_type_name(v));
	check_members(t, v, K_FAILURE);
	if ((rc = get_str(t, v, "result-type", 0, &f->result_type)) != 0 ||
	    (rc = get_str(t, v, "sending-mta-ip", 0,
	    &f->sending_mta_ip)) != 0 ||
	    (rc = get_str(t, v, "receiving-mx-hostname", 0,
	    &f->receiving_mx_hostname)) != 0 ||
	    (rc = get_str(t, v, "receiving-mx-helo", 0,
	    &f->receiving_mx_helo)) != 0 ||
	    (rc = get_str(t, v, "receiving-ip", 0, &f->receiving_ip)) != 0 ||
	    (rc = get_str(t, v, "failure-reason-code", 0,
	    &f->failure_reason_code)) != 0)
		return rc;
	info = jv_get(v, "additional-information");
	if (info == NULL && (info = jv_get(v, "additional-info-uri")) != NULL)
		warn(t, W_ENUM_ALIAS, "%s.additional-info-uri", t->base);
	if ((rc = conv_str(t, info, "additional-information", 0,
	    &f->additional_information)) != 0)
		return rc;
	if (f->result_type == NULL)
		warn(t, W_FIELD_MISSING, "%s.result-type", t->base);
	else if ((rc = norm_enum(t, "result-type", V_RESULT_TYPE,
	    &f->result_type)) != 0)
		return rc;
	if ((rc = norm_ip(t, "sending-mta-ip", &f->sending_mta_ip)) != 0 ||
	    (rc = norm_ip(t, "receiving-ip", &f->receiving_ip)) != 0)
		return rc;
	return get_count(t, v, "failed-session-count",
	    &f->failed_session_count);
}

static int
read_policy(struct tp *t, size_t idx, const struct jv *item,
    struct tlsrpt_policy *p)
{
	const struct jv *pol, *sum, *det, *mx;
	struct tlsrpt_failure *fs;
	uint64_t total = 0;
	size_t n, base_len;
	int rc;

	memset(p, 0, sizeof *p);
	p->index = idx;
	snprintf(t->base, sizeof t->base, "policies[%zu]", idx);
	base_len = strlen(t->base);
	if (!jv_is_object(item))
		return fail(t, ERR_FORMAT, NULL, "expected an object, got %s",
		    jv_type_name(item));
	check_members(t, item, K_POLICY_ITEM);

	pol = jv_get(item, "policy");
	if (pol == NULL || jv_is_null(pol)) {
		warn(t, W_FIELD_MISSING, "%s.policy", t->base);
	} else if (!jv_is_object(pol)) {
		return fail(t, ERR_FORMAT, "policy", "expected an object, got "
		    "%s", jv_type_name(pol));
	} else {
		snprintf(t->base + base_len, sizeof t->base - base_len,
		    ".policy");
		check_members(t, pol, K_POLICY);
		if ((rc = get_str(t, pol, "policy-type", 0,
		    &p->policy_type)) != 0 ||
		    (rc = get_str(t, pol, "policy-domain", 0,
		    &p->policy_domain)) != 0 ||
		    (rc = get_str_list(t, jv_get(pol, "policy-string"),
		    "policy-string", S_LINES, &p->policy_strings,
		    &p->n_policy_strings)) != 0)
			return rc;
		if (p->policy_type == NULL)
			warn(t, W_FIELD_MISSING, "%s.policy-type", t->base);
		else if ((rc = norm_enum(t, "policy-type", V_POLICY_TYPE,
		    &p->policy_type)) != 0)
			return rc;
		/* sys4 tlsrpt-reporter: no-policy-found without a domain */
		if (p->policy_domain == NULL)
			warn(t, W_FIELD_MISSING, "%s.policy-domain", t->base);
		else
			norm_domain(t, "policy-domain", &p->policy_domain);
		/* RFC 8460 prose: array; App. B example: string; older
		 * drafts (and parsedmarc): "mx-host-pattern" */
		mx = jv_get(pol, "mx-host");
		if (mx == NULL &&
		    (mx = jv_get(pol, "mx-host-pattern")) != NULL)
			warn(t, W_ENUM_ALIAS, "%s.mx-host-pattern", t->base);
		else if (mx != NULL && jv_get(pol, "mx-host-pattern") != NULL)
			warn(t, W_DUPLICATE_ELEMENT, "%s.mx-host-pattern",
			    t->base);
		if ((rc = get_str_list(t, mx, "mx-host", 0, &p->mx_hosts,
		    &p->n_mx_hosts)) != 0)
			return rc;
		t->base[base_len] = '\0';
	}

	sum = jv_get(item, "summary");
	if (sum == NULL || jv_is_null(sum)) {
		warn(t, W_FIELD_MISSING, "%s.summary", t->base);
	} else if (!jv_is_object(sum)) {
		return fail(t, ERR_FORMAT, "summary", "expected an object, got "
		    "%s", jv_type_name(sum));
	} else {
		snprintf(t->base + base_len, sizeof t->base - base_len,
		    ".summary");
		check_members(t, sum, K_SUMMARY);
		if ((rc = get_count(t, sum, "total-successful-session-count",
		    &p->total_successful)) != 0 ||
		    (rc = get_count(t, sum, "total-failure-session-count",
		    &p->total_failure)) != 0)
			return rc;
		t->base[base_len] = '\0';
	}

	/* Google omits failure-details without failures, Postfix sends [] */
	det = jv_get(item, "failure-details");
	if (det == NULL || jv_is_null(det))
		return 0;
	if (!jv_is_array(det))
		return fail(t, ERR_FORMAT, "failure-details", "expected an "
		    "array, got %s", jv_type_name(det));
	if ((n = jv_array_size(det)) == 0)
		return 0;
	if ((fs = arena_zalloc(t->a, n * sizeof *fs)) == NULL)
		return nomem(t);
	for (size_t i = 0; i < n; i++) {
		snprintf(t->base + base_len, sizeof t->base - base_len,
		    ".failure-details[%zu]", i);
		if ((rc = read_failure(t, jv_array_get(det, i), &fs[i])) != 0)
			return rc;
		/* each <= LIM_RECORD_COUNT, n < LIM_JSON_BYTES: no overflow */
		total += fs[i].failed_session_count;
	}
	t->base[base_len] = '\0';
	p->failures = fs;
	p->n_failures = n;
	if (total != p->total_failure)
		warn(t, W_TOTALS_MISMATCH, "%s: total-failure-session-count "
		    "%llu, failure-details sum %llu", t->base,
		    (unsigned long long)p->total_failure,
		    (unsigned long long)total);
	return 0;
}

static int
deliver(struct tp *t, const struct tlsrpt_policy *pols, size_t n)
{
	const struct report_sink *s = t->sink;
	int rc = 0;

	if (s->begin != NULL && (rc = s->begin(s->ctx, &t->rep)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (s->tlsrpt_policy != NULL &&
		    (rc = s->tlsrpt_policy(s->ctx, &t->rep, &pols[i])) != 0)
			goto out;
		t->rep.n_records++;
	}
	if (s->end != NULL)
		rc = s->end(s->ctx, &t->rep);
out:
	if (rc != 0 && rc != ERR_STOPPED && t->err != NULL &&
	    t->err->msg[0] == '\0')
		err_set(t->err, rc, "report refused by the sink: %s",
		    err_str(rc));
	return rc;
}

int
tlsrpt_json_parse(struct reader *in, const struct report_sink *sink,
    struct err *err)
{
	struct tp t;
	struct jv *root = NULL;
	const struct jv *pv;
	struct tlsrpt_policy *pols = NULL;
	size_t n = 0;
	int rc;

	memset(&t, 0, sizeof t);
	warn_set_init(&t.ws);
	t.sink = sink;
	t.err = err;
	err_clear(err);
	if (in == NULL || sink == NULL)
		return err_set(err, ERR_INVAL, "tlsrpt_json_parse: no %s",
		    in == NULL ? "reader" : "sink");
	if ((t.a = arena_new()) == NULL)
		return nomem(&t);
	t.rep.kind = REPORT_TLSRPT;
	t.rep.warnings = t.ws.warns;

	if ((rc = jv_parse(in, LIM_JSON_BYTES, LIM_JSON_DEPTH, &root,
	    err)) != 0) {
		unquote_dup_key(err);
		goto out;
	}
	if (!jv_is_object(root) || (jv_get(root, "policies") == NULL &&
	    jv_get(root, "report-id") == NULL &&
	    jv_get(root, "organization-name") == NULL)) {
		err_where(err, "(top)");
		rc = err_set(err, ERR_NOREPORT, "JSON %s is not a TLS-RPT "
		    "report", jv_type_name(root));
		goto out;
	}
	if ((rc = read_meta(&t, root)) != 0)
		goto out;

	pv = jv_get(root, "policies");
	if (pv == NULL || jv_is_null(pv)) {
		warn(&t, W_FIELD_MISSING, "policies");
	} else if (!jv_is_array(pv)) {
		rc = fail(&t, ERR_FORMAT, "policies", "expected an array, got "
		    "%s", jv_type_name(pv));
		goto out;
	} else if ((n = jv_array_size(pv)) > 0) {
		if ((pols = arena_alloc(t.a, n * sizeof *pols)) == NULL) {
			rc = nomem(&t);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if ((rc = read_policy(&t, i, jv_array_get(pv, i),
			    &pols[i])) != 0)
				goto out;
	}
	t.base[0] = '\0';
	if (n == 0)
		warn(&t, W_NO_RECORDS, NULL);
	t.rep.raw = t.raw;
	t.rep.n_raw = t.n_raw;
	rc = deliver(&t, pols, n);
out:
	jv_free(root);
	arena_free(t.a);
	return rc;
}
