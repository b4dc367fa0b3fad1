/*
 * store/tlsrpt.c - writing TLS-RPT reports (RFC 8460): the reports row and
 * its dedup, one tlsrpt_policies row per policy with its failure details,
 * and the tlsrpt_daily rollup, written as each policy arrives (the
 * parser's policy memory is reused after the callback). Also the small
 * JSON writer for the array columns. doc/schema.md "TLS-RPT".
 */
#include <stdlib.h>
#include <string.h>

#include "../common/strparse.h"
#include "../common/timefmt.h"
#include "store_priv.h"

#define DAY_SECONDS 86400

/* ---- JSON text for string arrays ---- */

void
store_buf_add(struct store_buf *b, const char *v, size_t n)
{
	if (b->nomem)
		return;
	if (n + 1 > b->cap - b->len) {
		size_t cap = b->cap != 0 ? b->cap : 64;
		char *p;

		while (n + 1 > cap - b->len) {
			if (cap > ((size_t)-1) / 2) {
				b->nomem = 1;
				return;
			}
			cap *= 2;
		}
		if ((p = realloc(b->p, cap)) == NULL) {
			b->nomem = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* A JSON string literal (RFC 8259): quote, backslash and control
 * characters escaped; the UTF-8 the model guarantees passes through. */
void
store_buf_json_str(struct store_buf *b, const char *v)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = v;

	store_buf_add(b, "\"", 1);
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;
		char esc[6];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		store_buf_add(b, run, (size_t)(v - run));
		run = v + 1;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			store_buf_add(b, esc, 2);
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			store_buf_add(b, esc, 6);
		}
	}
	store_buf_add(b, run, (size_t)(v - run));
	store_buf_add(b, "\"", 1);
}

char *
store_json_strings(const char *const *v, size_t n, int *nomem)
{
	struct store_buf b = { 0 };
	int first = 1;

	*nomem = 0;
	if (n == 0 || v == NULL)
		return NULL;
	store_buf_add(&b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (v[i] == NULL)
			continue;
		if (!first)
			store_buf_add(&b, ",", 1);
		first = 0;
		store_buf_json_str(&b, v[i]);
	}
	store_buf_add(&b, "]", 1);
	if (b.nomem) {
		free(b.p);
		*nomem = 1;
		return NULL;
	}
	return b.p;
}

/* ---- the report ---- */

static uint64_t
add_sat(uint64_t a, uint64_t b)
{
	return b > (uint64_t)INT64_MAX - a ? (uint64_t)INT64_MAX : a + b;
}

static uint64_t
clamp64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : v;
}

int
store_tlsrpt_begin(struct store *s, int64_t message_id,
    const struct report *r, int64_t *report_id, struct err *err)
{
	const struct tlsrpt_meta *m = &r->tls;
	struct store_report_key k;
	sqlite3_stmt *st = NULL;
	const char *who;
	char *key = NULL;
	int rc, src;

	/* Reporter: the contact, else the organisation, lower-cased. */
	who = m->contact_info != NULL ? m->contact_info :
	    m->organization_name != NULL ? m->organization_name : "";
	if ((key = strdup(who)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	sp_lower(key);
	k = (struct store_report_key){ .kind = "tlsrpt", .reporter = key,
	    .report_id = m->report_id, .begin = m->begin, .end = m->end,
	    .domain = r->policy.domain };

	/* Known whatever its policy domain (set from the first policy,
	 * after this lookup): see ST_REPORT_FIND_ANY_DOMAIN. */
	if ((rc = store_stmt(s, ST_REPORT_FIND_ANY_DOMAIN, &st, err)) < 0)
		goto out;
	store_bind_text(st, 1, k.kind);
	store_bind_text(st, 2, k.reporter);
	store_bind_text(st, 3, k.report_id != NULL ? k.report_id : "");
	sqlite3_bind_int64(st, 4, k.begin);
	sqlite3_bind_int64(st, 5, k.end);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*report_id = sqlite3_column_int64(st, 0);
		rc = 1;
	} else if (src == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = store_db_error(s, src, "find report", err);
	}
	sqlite3_reset(st);
	if (rc != 0)
		goto out;
	rc = store_report_insert(s, message_id, r, &k, m->organization_name,
	    m->contact_info, report_id, err);
	if (rc == 0 && r->policy.domain != NULL)
		s->cur_domain_set = 1;
out:
	free(key);
	return rc;
}

/*
 * Adds count c of one tlsrpt_daily row, spread over the UTC days of the
 * report's range exactly like agg_daily (doc/schema.md "Days"): day d
 * gets floor(c*hi/span) - floor(c*lo/span). c = q*span + rem keeps the
 * products inside 64 bits for any c <= INT64_MAX.
 */
static uint64_t
part(uint64_t c, int64_t h, int64_t span)
{
	uint64_t q = c / (uint64_t)span, rem = c % (uint64_t)span;

	return q * (uint64_t)h + rem * (uint64_t)h / (uint64_t)span;
}

static int
daily(struct store *s, const struct report *r, const char *domain,
    const char *mx, const char *type, uint64_t ok, uint64_t failed,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t b, e, span;
	char day[16];
	int rc;

	if (ok == 0 && failed == 0)
		return 0;
	if (store_rollup_range(r->tls.begin, r->tls.end, &b, &e) != 0)
		return 0;
	if ((rc = store_stmt(s, ST_TLS_DAILY, &st, err)) < 0)
		return rc;
	span = e - b;
	ok = clamp64(ok);
	failed = clamp64(failed);
	for (int64_t ds = b - b % DAY_SECONDS; ds < e; ds += DAY_SECONDS) {
		int64_t lo = (ds > b ? ds : b) - b;
		int64_t hi = (ds + DAY_SECONDS < e ? ds + DAY_SECONDS : e) - b;
		uint64_t nok = part(ok, hi, span) - part(ok, lo, span);
		uint64_t nfail = part(failed, hi, span) -
		    part(failed, lo, span);

		if (nok == 0 && nfail == 0)
			continue;
		time_iso_day(ds, day, sizeof day);
		store_bind_text(st, 1, day);
		store_bind_text(st, 2, domain);
		store_bind_text(st, 3, mx);
		store_bind_text(st, 4, type);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)nok);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)nfail);
		if ((rc = store_step_done(s, st, "tlsrpt daily rollup",
		    err)) < 0)
			return rc;
	}
	return 0;
}

static int
add_failures(struct store *s, int64_t pid, const struct report *r,
    const struct tlsrpt_policy *p, const char *domain, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	for (size_t i = 0; i < p->n_failures; i++) {
		const struct tlsrpt_failure *f = &p->failures[i];

		if ((rc = store_stmt(s, ST_TLS_FAILURE, &st, err)) < 0)
			return rc;
		sqlite3_bind_int64(st, 1, pid);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		store_bind_text(st, 3, f->result_type);
		store_bind_text(st, 4, f->sending_mta_ip);
		store_bind_text(st, 5, f->receiving_mx_hostname);
		store_bind_text(st, 6, f->receiving_mx_helo);
		store_bind_text(st, 7, f->receiving_ip);
		sqlite3_bind_int64(st, 8,
		    (sqlite3_int64)clamp64(f->failed_session_count));
		store_bind_text(st, 9, f->additional_information);
		store_bind_text(st, 10, f->failure_reason_code);
		if ((rc = store_step_done(s, st, "add tlsrpt failure",
		    err)) < 0)
			return rc;
		/* Detail rows never have result_type '' (that is the
		 * summary row): an absent type counts as '(none)'. */
		rc = daily(s, r, domain, f->receiving_mx_hostname != NULL ?
		    f->receiving_mx_hostname : "", f->result_type != NULL ?
		    f->result_type : "(none)", 0, f->failed_session_count, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
store_tlsrpt_policy(struct store *s, int64_t report_id,
    const struct report *r, const struct tlsrpt_policy *p, struct err *err)
{
	sqlite3_stmt *st = NULL;
	char *strings = NULL, *mx = NULL;
	const char *domain;
	int64_t pid;
	int rc, nomem1, nomem2;

	if (s == NULL || r == NULL || p == NULL)
		return err_set(err, ERR_INVAL, "tlsrpt_policy: bad arguments");
	if (report_id <= 0 || report_id != s->cur_report ||
	    s->cur_kind != REPORT_TLSRPT)
		return err_set(err, ERR_INVAL, "policy for report %lld outside "
		    "its TLS-RPT report_begin/end", (long long)report_id);
	domain = p->policy_domain != NULL ? p->policy_domain : "";
	strings = store_json_strings(p->policy_strings, p->n_policy_strings,
	    &nomem1);
	mx = store_json_strings(p->mx_hosts, p->n_mx_hosts, &nomem2);
	if (nomem1 || nomem2) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = store_stmt(s, ST_TLS_POLICY, &st, err)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, report_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)p->index);
	store_bind_text(st, 3, p->policy_type);
	store_bind_text(st, 4, p->policy_domain);
	store_bind_text(st, 5, strings);
	store_bind_text(st, 6, mx);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)clamp64(p->total_successful));
	sqlite3_bind_int64(st, 8, (sqlite3_int64)clamp64(p->total_failure));
	if ((rc = store_step_done(s, st, "add tlsrpt policy", err)) < 0)
		goto out;
	pid = sqlite3_last_insert_rowid(s->db);
	if ((rc = add_failures(s, pid, r, p, domain, err)) < 0)
		goto out;
	/* The summary row: mx '' and result_type ''. */
	if ((rc = daily(s, r, domain, "", "", p->total_successful,
	    p->total_failure, err)) < 0)
		goto out;
	/* reports.policy_domain: the first policy's domain. */
	if (!s->cur_domain_set && p->policy_domain != NULL) {
		if ((rc = store_stmt(s, ST_REPORT_SET_DOMAIN, &st, err)) < 0)
			goto out;
		sqlite3_bind_int64(st, 1, report_id);
		store_bind_text(st, 2, p->policy_domain);
		if ((rc = store_step_done(s, st, "set report domain",
		    err)) < 0)
			goto out;
	}
	s->cur_domain_set = 1;
	s->cur_records++;
	s->cur_messages = add_sat(s->cur_messages,
	    add_sat(clamp64(p->total_successful), clamp64(p->total_failure)));
	s->cur_pass = add_sat(s->cur_pass, clamp64(p->total_successful));
	rc = 0;
out:
	if (rc < 0)
		err_where(err, "policy %zu", p->index);
	free(strings);
	free(mx);
	return rc;
}
