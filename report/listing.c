/* report/listing.c - see listing.h. Format reference: doc/cli.md. */
#include <stdio.h>
#include <string.h>

#include "../common/json.h"
#include "../common/timefmt.h"
#include "../store/store.h"
#include "listing.h"

struct listing_ctx {
	enum listing_format fmt;
	FILE *out;
	struct jv *arr;
	unsigned long count;
	int io_error;
};

/* Text output is tab-separated: tabs, newlines and other control
 * characters inside hostile strings would break the columns, so they
 * become '?'; an absent value is "-". */
static void
put_field(FILE *f, const char *s, int last)
{
	if (s == NULL || *s == '\0')
		fputc('-', f);
	else
		for (; *s; s++)
			fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s,
			    f);
	fputc(last ? '\n' : '\t', f);
}

static int
row_cb(void *ctx, const struct store_report_row *r)
{
	struct listing_ctx *c = ctx;
	char b[32], e[32];

	time_iso8601(r->begin, b, sizeof b);
	time_iso8601(r->end, e, sizeof e);
	c->count++;
	if (c->fmt == LISTING_TEXT) {
		put_field(c->out, r->kind, 0);
		put_field(c->out, r->org_name, 0);
		put_field(c->out, r->email, 0);
		put_field(c->out, r->report_id, 0);
		put_field(c->out, r->policy_domain, 0);
		fprintf(c->out, "%s\t%s\t%llu\t%llu\t%llu\t%llu\n", b, e,
		    (unsigned long long)r->records,
		    (unsigned long long)r->messages,
		    (unsigned long long)r->messages_pass,
		    (unsigned long long)r->warnings);
		if (ferror(c->out))
			return ERR_IO;
		return 0;
	}
	struct jv *o = jv_object();
	int rc = o == NULL ? ERR_NOMEM : 0;
	if (rc == 0) rc = jv_set_int(o, "id", r->id);
	if (rc == 0) rc = jv_set_str(o, "kind", r->kind);
	if (rc == 0) rc = jv_set_str(o, "org_name", r->org_name);
	if (rc == 0) rc = jv_set_str(o, "email", r->email);
	if (rc == 0) rc = jv_set_str(o, "report_id", r->report_id);
	if (rc == 0) rc = jv_set_str(o, "policy_domain", r->policy_domain);
	if (rc == 0) rc = jv_set_str(o, "begin", b);
	if (rc == 0) rc = jv_set_str(o, "end", e);
	if (rc == 0) rc = jv_set_int(o, "begin_epoch", r->begin);
	if (rc == 0) rc = jv_set_int(o, "end_epoch", r->end);
	if (rc == 0) rc = jv_set_int(o, "records", (int64_t)r->records);
	if (rc == 0) rc = jv_set_int(o, "messages", (int64_t)r->messages);
	if (rc == 0) rc = jv_set_int(o, "messages_pass",
	    (int64_t)r->messages_pass);
	if (rc == 0) rc = jv_set_int(o, "warnings", (int64_t)r->warnings);
	if (rc == 0) rc = jv_set_str(o, "flavour", r->flavour);
	if (rc != 0) {
		jv_free(o);
		return rc;
	}
	return jv_append(c->arr, o);
}

int
listing_reports(const char *db_path, const struct listing_filter *lf,
    enum listing_format fmt, FILE *out, unsigned long *count,
    struct err *err)
{
	struct store_report_filter f;
	struct listing_ctx c;
	struct store *st = NULL;
	int rc;

	memset(&f, 0, sizeof f);
	if (lf != NULL) {
		f.kind = lf->kind;
		f.domain = lf->domain;
		f.since = lf->since;
		f.until = lf->until;
	}
	if ((rc = store_open(db_path, STORE_READONLY, &st, err)) != 0)
		return rc;
	memset(&c, 0, sizeof c);
	c.fmt = fmt;
	c.out = out;
	if (fmt == LISTING_JSON && (c.arr = jv_array()) == NULL) {
		store_free(st);
		return ERR_NOMEM;
	}
	rc = store_reports_each(st, &f, row_cb, &c, err);
	if (rc == 0 && fmt == LISTING_JSON)
		rc = jv_dump(c.arr, out, 2);
	if (rc == 0 && fflush(out) != 0)
		rc = ERR_IO;
	if (rc == ERR_IO)
		err_set(err, ERR_IO, "cannot write the listing");
	jv_free(c.arr);
	store_free(st);
	if (count != NULL)
		*count = c.count;
	return rc;
}
