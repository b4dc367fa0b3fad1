/* report/overview.c - see overview.h. */
#include <stdlib.h>
#include <string.h>

#include "overview.h"

/* Growable array append: *n items in *arr of *cap, item size sz. */
static void *
grow(void **arr, size_t *n, size_t *cap, size_t sz)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		void *p = realloc(*arr, nc * sz);

		if (p == NULL)
			return NULL;
		*arr = p;
		*cap = nc;
	}
	return (char *)*arr + (*n)++ * sz;
}

static uint64_t
u64(const struct store_row *r, int i)
{
	return r->num[i] < 0 ? 0 : (uint64_t)r->num[i];
}

static void
copy_day(char dst[11], const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n > 10)
		n = 10;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

struct load_ctx {
	struct overview *ov;
	size_t cap_doms, cap_days, cap_tls, cap_rep;
	struct ov_domain *rep_dom;   /* domain of the last reporter row */
};

/* Rows come ordered by domain, then day: a new domain starts a new
 * entry. */
static int
daily_cb(void *vctx, const struct store_row *r)
{
	struct load_ctx *c = vctx;
	struct overview *ov = c->ov;
	const char *dom = r->text[0] ? r->text[0] : "";
	struct ov_domain *d;
	struct ov_day *day;

	if (ov->n_doms == 0 || strcmp(ov->doms[ov->n_doms - 1].domain,
	    dom) != 0) {
		if ((d = grow((void **)&ov->doms, &ov->n_doms, &c->cap_doms,
		    sizeof *d)) == NULL)
			return ERR_NOMEM;
		memset(d, 0, sizeof *d);
		if ((d->domain = strdup(dom)) == NULL)
			return ERR_NOMEM;
		c->cap_days = 0;
	}
	d = &ov->doms[ov->n_doms - 1];
	if ((day = grow((void **)&d->days, &d->n_days, &c->cap_days,
	    sizeof *day)) == NULL)
		return ERR_NOMEM;
	copy_day(day->day, r->text[1]);
	day->messages = u64(r, 2);
	day->pass = u64(r, 3);
	day->spf = u64(r, 4);
	day->dkim = u64(r, 5);
	day->quarantine = u64(r, 6);
	day->reject = u64(r, 7);
	d->messages += day->messages;
	d->pass += day->pass;
	d->spf += day->spf;
	d->dkim += day->dkim;
	d->quarantine += day->quarantine;
	d->reject += day->reject;
	return 0;
}

static struct ov_domain *
find_dom(struct overview *ov, const char *dom)
{
	for (size_t i = 0; i < ov->n_doms; i++)
		if (strcmp(ov->doms[i].domain, dom) == 0)
			return &ov->doms[i];
	return NULL;
}

/* Rows ordered by domain: the domain looked up last is usually it. */
static int
rep_cb(void *vctx, const struct store_row *r)
{
	struct load_ctx *c = vctx;
	const char *dom = r->text[0] ? r->text[0] : "";
	struct ov_domain *d = c->rep_dom;
	struct ov_reporter *rep;

	/* Each domain's rows come together, so a domain is entered once
	 * and its list starts empty. */
	if (d == NULL || strcmp(d->domain, dom) != 0) {
		d = find_dom(c->ov, dom);
		c->cap_rep = 0;
	}
	c->rep_dom = d;
	if (d == NULL)
		return 0;
	if ((rep = grow((void **)&d->reporters, &d->n_reporters, &c->cap_rep,
	    sizeof *rep)) == NULL)
		return ERR_NOMEM;
	memset(rep, 0, sizeof *rep);
	if ((rep->name = strdup(r->text[1] ? r->text[1] : "")) == NULL)
		return ERR_NOMEM;
	rep->messages = u64(r, 2);
	rep->pass = u64(r, 3);
	rep->days = u64(r, 4);
	return 0;
}

static int
tls_cb(void *vctx, const struct store_row *r)
{
	struct load_ctx *c = vctx;
	struct overview *ov = c->ov;
	const char *dom = r->text[0] ? r->text[0] : "";
	struct tls_domain *d;
	struct tls_day *day;

	if (ov->n_tls == 0 || strcmp(ov->tls[ov->n_tls - 1].domain,
	    dom) != 0) {
		if ((d = grow((void **)&ov->tls, &ov->n_tls, &c->cap_tls,
		    sizeof *d)) == NULL)
			return ERR_NOMEM;
		memset(d, 0, sizeof *d);
		if ((d->domain = strdup(dom)) == NULL)
			return ERR_NOMEM;
		c->cap_days = 0;
	}
	d = &ov->tls[ov->n_tls - 1];
	if ((day = grow((void **)&d->days, &d->n_days, &c->cap_days,
	    sizeof *day)) == NULL)
		return ERR_NOMEM;
	copy_day(day->day, r->text[1]);
	day->ok = u64(r, 2);
	day->failed = u64(r, 3);
	d->ok += day->ok;
	d->failed += day->failed;
	return 0;
}

static int
counts_cb(void *vctx, const struct store_row *r)
{
	struct load_ctx *c = vctx;

	c->ov->n_aggregate = u64(r, 0);
	c->ov->n_tlsrpt = u64(r, 1);
	c->ov->n_failure = u64(r, 2);
	c->ov->n_rejected = u64(r, 3);
	return 0;
}

static int
dom_cmp(const void *a, const void *b)
{
	const struct ov_domain *x = a, *y = b;

	if (x->messages != y->messages)
		return x->messages > y->messages ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

static int
tls_cmp(const void *a, const void *b)
{
	const struct tls_domain *x = a, *y = b;
	uint64_t sx = x->ok + x->failed, sy = y->ok + y->failed;

	if (sx != sy)
		return sx > sy ? -1 : 1;
	return strcmp(x->domain, y->domain);
}

int
ov_load(struct store *st, const struct store_query_filter *f,
    struct overview *ov, struct err *err)
{
	struct load_ctx c;
	int rc;

	memset(ov, 0, sizeof *ov);
	memset(&c, 0, sizeof c);
	c.ov = ov;
	if ((rc = store_query_each(st, SQ_DOMAIN_DAILY, f, daily_cb, &c,
	    err)) != 0)
		goto out;
	/* rep_cb finds domains by name: sorting first is safe. */
	qsort(ov->doms, ov->n_doms, sizeof *ov->doms, dom_cmp);
	if ((rc = store_query_each(st, SQ_DOMAIN_REPORTERS, f, rep_cb, &c,
	    err)) != 0)
		goto out;
	c.cap_days = 0;
	if ((rc = store_query_each(st, SQ_TLS_DAILY, f, tls_cb, &c,
	    err)) != 0)
		goto out;
	qsort(ov->tls, ov->n_tls, sizeof *ov->tls, tls_cmp);
	rc = store_query_each(st, SQ_RANGE_COUNTS, f, counts_cb, &c, err);
out:
	if (rc == ERR_NOMEM)
		err_set(err, rc, "out of memory");
	return rc;
}

void
ov_free(struct overview *ov)
{
	for (size_t i = 0; i < ov->n_doms; i++) {
		struct ov_domain *d = &ov->doms[i];

		for (size_t j = 0; j < d->n_reporters; j++)
			free(d->reporters[j].name);
		free(d->reporters);
		free(d->days);
		free(d->domain);
	}
	free(ov->doms);
	for (size_t i = 0; i < ov->n_tls; i++) {
		free(ov->tls[i].days);
		free(ov->tls[i].domain);
	}
	free(ov->tls);
	memset(ov, 0, sizeof *ov);
}
