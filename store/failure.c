/*
 * store/failure.c - writing DMARC failure reports (RFC 6591 ARF, RFC
 * 9991): a reports row (kind 'failure') at begin, its failure_reports row
 * at end. Mapping and dedup key: doc/schema.md "Failure reports".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strparse.h"
#include "store_priv.h"

/*
 * The dedup identity of a failure report. An ARF report names no
 * reporter we could trust and no report id, and one receiver may send
 * several reports about the same message (one per recipient, per
 * failure), so the key is a digest of everything the report says: every
 * feedback-report field and the original message's headers (not the body,
 * which is kept only on request). The same report seen twice (forwarded,
 * in an mbox and over IMAP) digests the same; two reports that differ in
 * any field do not. Two 64-bit FNV-1a hashes with different bases: 128
 * bits, 32 hex digits.
 */
struct digest {
	uint64_t h[2];
};

static void
dg_bytes(struct digest *d, const void *v, size_t n)
{
	const unsigned char *p = v;

	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			d->h[k] ^= p[i];
			d->h[k] *= 0x100000001b3ull;
		}
	}
}

/* A field: absent and empty differ; fields are separated. */
static void
dg_str(struct digest *d, const char *v)
{
	static const unsigned char absent = 0x1e, sep = 0x1f;

	if (v == NULL)
		dg_bytes(d, &absent, 1);
	else
		dg_bytes(d, v, strlen(v));
	dg_bytes(d, &sep, 1);
}

static void
failure_digest(const struct failure_report *f, char out[33])
{
	struct digest d = { { 0xcbf29ce484222325ull, 0x84222325cbf29ce4ull } };
	const char *const v[] = {
		f->feedback_type, f->user_agent, f->version,
		f->original_mail_from, f->original_rcpt_to, f->arrival_date,
		f->source_ip, f->reported_domain, f->reported_uri,
		f->authentication_results, f->auth_failure,
		f->identity_alignment, f->delivery_result, f->dkim_domain,
		f->dkim_identity, f->dkim_selector,
		f->dkim_canonicalized_header, f->dkim_canonicalized_body,
		f->spf_dns, f->orig_from, f->orig_to, f->orig_subject,
		f->orig_date, f->orig_message_id,
	};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		dg_str(&d, v[i]);
	for (size_t i = 0; i < f->n_other_fields; i++) {
		dg_str(&d, f->other_fields[i].field);
		dg_str(&d, f->other_fields[i].raw);
	}
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)d.h[0],
	    (unsigned long long)d.h[1]);
}

int
store_failure_begin(struct store *s, int64_t message_id,
    const struct report *r, int64_t *report_id, struct err *err)
{
	const struct failure_report *f = &r->fail;
	struct store_report_key k;
	sqlite3_stmt *st = NULL;
	char key[40], digest[33];
	char *rid = NULL, *domain = NULL;
	int rc;

	/* report_id: the original Message-ID, else Arrival-Date and
	 * Source-IP; NULL when none of them is there. */
	if (f->orig_message_id != NULL) {
		rid = strdup(f->orig_message_id);
	} else if (f->arrival_date != NULL || f->source_ip != NULL) {
		size_t n = (f->arrival_date != NULL ?
		    strlen(f->arrival_date) : 0) + (f->source_ip != NULL ?
		    strlen(f->source_ip) : 0) + 2;

		if ((rid = malloc(n)) != NULL)
			snprintf(rid, n, "%s %s", f->arrival_date != NULL ?
			    f->arrival_date : "", f->source_ip != NULL ?
			    f->source_ip : "");
	}
	if (f->reported_domain != NULL &&
	    (domain = strdup(f->reported_domain)) != NULL)
		sp_lower(domain);
	if (((f->orig_message_id != NULL || f->arrival_date != NULL ||
	    f->source_ip != NULL) && rid == NULL) ||
	    (f->reported_domain != NULL && domain == NULL)) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	failure_digest(f, digest);
	snprintf(key, sizeof key, "arf:%s", digest);
	if ((rc = store_stmt(s, ST_FAILURE_FIND, &st, err)) < 0)
		goto out;
	store_bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*report_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		rc = 1;
		goto out;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		rc = store_db_error(s, rc, "find failure report", err);
		goto out;
	}
	k = (struct store_report_key){ .kind = "failure", .reporter = key,
	    .report_id = rid, .begin = f->arrival_time,
	    .end = f->arrival_time, .domain = domain };
	rc = store_report_insert(s, message_id, r, &k, NULL, NULL, report_id,
	    err);
	if (rc == 0) {
		/* One report about one message, which failed DMARC. */
		s->cur_records = 1;
		s->cur_messages = 1;
	}
out:
	free(rid);
	free(domain);
	return rc;
}

/* other_fields as a JSON array of [name, value] pairs, in order (names
 * may repeat). NULL when there are none. */
static char *
other_fields_json(const struct failure_report *f, int *nomem)
{
	struct store_buf b = { 0 };

	*nomem = 0;
	if (f->n_other_fields == 0)
		return NULL;
	store_buf_add(&b, "[", 1);
	for (size_t i = 0; i < f->n_other_fields; i++) {
		const struct raw_value *o = &f->other_fields[i];

		if (i > 0)
			store_buf_add(&b, ",", 1);
		store_buf_add(&b, "[", 1);
		store_buf_json_str(&b, o->field != NULL ? o->field : "");
		store_buf_add(&b, ",", 1);
		if (o->raw != NULL)
			store_buf_json_str(&b, o->raw);
		else
			store_buf_add(&b, "null", 4);
		store_buf_add(&b, "]", 1);
	}
	store_buf_add(&b, "]", 1);
	if (b.nomem) {
		free(b.p);
		*nomem = 1;
		return NULL;
	}
	return b.p;
}

int
store_failure_end(struct store *s, int64_t report_id, const struct report *r,
    struct err *err)
{
	const struct failure_report *f = &r->fail;
	sqlite3_stmt *st = NULL;
	char *other;
	int rc, nomem;

	if ((other = other_fields_json(f, &nomem)) == NULL && nomem)
		return err_set(err, ERR_NOMEM, "out of memory");
	if ((rc = store_stmt(s, ST_FAILURE_REPORT, &st, err)) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, report_id);
	store_bind_text(st, 2, f->feedback_type);
	store_bind_text(st, 3, f->user_agent);
	store_bind_text(st, 4, f->version);
	store_bind_text(st, 5, f->original_mail_from);
	store_bind_text(st, 6, f->original_rcpt_to);
	store_bind_text(st, 7, f->arrival_date);
	if (f->arrival_time != 0)
		sqlite3_bind_int64(st, 8, f->arrival_time);
	else
		sqlite3_bind_null(st, 8);
	store_bind_text(st, 9, f->source_ip);
	store_bind_text(st, 10, f->reported_domain);
	store_bind_text(st, 11, f->reported_uri);
	store_bind_text(st, 12, f->authentication_results);
	store_bind_text(st, 13, f->auth_failure);
	store_bind_text(st, 14, f->identity_alignment);
	store_bind_text(st, 15, f->delivery_result);
	store_bind_text(st, 16, f->dkim_domain);
	store_bind_text(st, 17, f->dkim_identity);
	store_bind_text(st, 18, f->dkim_selector);
	store_bind_text(st, 19, f->dkim_canonicalized_header);
	store_bind_text(st, 20, f->dkim_canonicalized_body);
	store_bind_text(st, 21, f->spf_dns);
	store_bind_text(st, 22, other);
	store_bind_text(st, 23, f->orig_from);
	store_bind_text(st, 24, f->orig_to);
	store_bind_text(st, 25, f->orig_subject);
	store_bind_text(st, 26, f->orig_date);
	store_bind_text(st, 27, f->orig_message_id);
	if (f->orig_body != NULL)
		sqlite3_bind_blob64(st, 28, f->orig_body,
		    (sqlite3_uint64)f->orig_body_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 28);
	rc = store_step_done(s, st, "add failure report", err);
out:
	free(other);
	return rc;
}
