/* report/overview.c - see overview.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/limits.h"
#include "overview.h"
#include "strmap.h"

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
	size_t cap_days, cap_tls;
};

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

/* ---- the one pass over agg_daily ---- */

/* Bytes of a composite map key: three length-prefixed fields, each at
 * most LIM_FIELD_BYTES when it came through the parser. */
#define KEY_BYTES (4 * LIM_FIELD_BYTES + 64)

struct rep_acc {
	size_t dom;                /* index in ov->doms */
	char *name;
	uint64_t messages, pass, days;
	char last_day[11];
};

struct pair_acc {
	struct strmap *map;
	struct ov_pair **v;        /* into the overview */
	size_t *n, cap;
};

struct scan_ctx {
	struct overview *ov;
	const struct store_query_filter *f;   /* sender IPs and domains */
	struct strmap *dom_map, *rep_map, *src_map;
	struct pair_acc rp, fp;
	struct rep_acc *reps;
	size_t n_reps, cap_reps, cap_doms, cap_src, cap_days;
	size_t *cap_dom_days;      /* per domain: capacity of its days */
	char key[KEY_BYTES];
};

static void
pairs_drop(struct scan_ctx *c)
{
	struct overview *ov = c->ov;

	for (size_t i = 0; i < ov->n_rep_pairs; i++)
		free(ov->rep_pairs[i].name);
	for (size_t i = 0; i < ov->n_from_pairs; i++)
		free(ov->from_pairs[i].name);
	free(ov->rep_pairs);
	free(ov->from_pairs);
	ov->rep_pairs = ov->from_pairs = NULL;
	ov->n_rep_pairs = ov->n_from_pairs = 0;
	strmap_free(c->rp.map);
	strmap_free(c->fp.map);
	c->rp.map = c->fp.map = NULL;
	ov->pairs_dropped = 1;
}

/* Adds m to the pair (source si, name), keyed like (domain, reporter). */
static int
pair_add(struct scan_ctx *c, struct pair_acc *pa, size_t si,
    const char *name, uint64_t m)
{
	size_t kl = strlen(name), i;
	int created, rc;

	/* Dropped by the previous call (the other list hit the cap). */
	if (c->ov->pairs_dropped)
		return 0;
	if (kl > sizeof c->key - sizeof si)
		return ERR_TOO_LARGE;
	memcpy(c->key, &si, sizeof si);
	memcpy(c->key + sizeof si, name, kl);
	if ((rc = strmap_get(pa->map, c->key, kl + sizeof si, *pa->n, &i,
	    &created)) != 0)
		return rc;
	if (created) {
		struct ov_pair *p;

		if (*pa->n >= LIM_HTML_SOURCE_PAIRS) {
			pairs_drop(c);
			return 0;
		}
		if ((p = grow((void **)pa->v, pa->n, &pa->cap,
		    sizeof *p)) == NULL)
			return ERR_NOMEM;
		p->src = si;
		p->messages = 0;
		if ((p->name = strdup(name)) == NULL) {
			(*pa->n)--;
			return ERR_NOMEM;
		}
	}
	(*pa->v)[i].messages += m;
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* header_from is one of the sender's domains or a subdomain of one:
 * ASCII case-insensitive, as SQLite's lower() compares. */
static int
ours_domain(const struct store_query_filter *f, const char *from)
{
	size_t fl = strlen(from);

	for (size_t i = 0; i < f->n_sender_domains; i++) {
		const char *d = f->sender_domains[i];
		size_t dl = strlen(d);

		if (fl < dl || strcasecmp(from + fl - dl, d) != 0)
			continue;
		if (fl == dl || from[fl - dl - 1] == '.')
			return 1;
	}
	return 0;
}

int
ov_foreign_passes(const struct ov_source *s)
{
	return s->foreign_messages > 0 && s->foreign_pass * 100 >=
	    s->foreign_messages * OV_FOREIGN_PASS_PCT;
}

static int
scan_cb(void *vctx, const struct store_row *r)
{
	struct scan_ctx *c = vctx;
	struct overview *ov = c->ov;
	const char *day = r->text[0] ? r->text[0] : "";
	const char *ip = r->text[1] ? r->text[1] : "";
	const char *rep = r->text[3] ? r->text[3] : "";
	const char *dom = r->text[4] ? r->text[4] : "";
	uint64_t v[6];
	size_t di, ri, si, kl;
	int created, rc;

	for (int i = 0; i < 6; i++)
		v[i] = u64(r, 5 + i);
	/* Days come in key order: a new day is a new last entry. */
	if (ov->n_days == 0 || strcmp(ov->days[ov->n_days - 1], day) != 0) {
		char (*d)[11] = grow((void **)&ov->days, &ov->n_days,
		    &c->cap_days, sizeof *ov->days);

		if (d == NULL)
			return ERR_NOMEM;
		copy_day(*d, day);
	}
	if ((rc = strmap_get(c->dom_map, dom, strlen(dom), ov->n_doms, &di,
	    &created)) != 0)
		return rc;
	if (created) {
		struct ov_domain *d = grow((void **)&ov->doms, &ov->n_doms,
		    &c->cap_doms, sizeof *d);
		size_t *caps;

		if (d == NULL)
			return ERR_NOMEM;
		memset(d, 0, sizeof *d);
		if ((d->domain = strdup(dom)) == NULL)
			return ERR_NOMEM;
		if ((caps = realloc(c->cap_dom_days, c->cap_doms *
		    sizeof *caps)) == NULL)
			return ERR_NOMEM;
		c->cap_dom_days = caps;
		caps[di] = 0;
	}
	{
		struct ov_domain *d = &ov->doms[di];
		struct ov_day *dd;

		if (d->n_days == 0 ||
		    strcmp(d->days[d->n_days - 1].day, day) != 0) {
			if ((dd = grow((void **)&d->days, &d->n_days,
			    &c->cap_dom_days[di], sizeof *dd)) == NULL)
				return ERR_NOMEM;
			memset(dd, 0, sizeof *dd);
			copy_day(dd->day, day);
		}
		dd = &d->days[d->n_days - 1];
		dd->messages += v[0];
		dd->pass += v[1];
		dd->spf += v[2];
		dd->dkim += v[3];
		dd->quarantine += v[4];
		dd->reject += v[5];
	}
	/* (domain, reporter): the domain's index, fixed width, then the
	 * name; no separator can be faked. */
	kl = strlen(rep);
	if (kl > sizeof c->key - sizeof di)
		return ERR_TOO_LARGE;
	memcpy(c->key, &di, sizeof di);
	memcpy(c->key + sizeof di, rep, kl);
	kl += sizeof di;
	if ((rc = strmap_get(c->rep_map, c->key, kl, c->n_reps, &ri,
	    &created)) != 0)
		return rc;
	if (created) {
		struct rep_acc *a = grow((void **)&c->reps, &c->n_reps,
		    &c->cap_reps, sizeof *a);

		if (a == NULL)
			return ERR_NOMEM;
		memset(a, 0, sizeof *a);
		a->dom = di;
		if ((a->name = strdup(rep)) == NULL)
			return ERR_NOMEM;
	}
	{
		struct rep_acc *a = &c->reps[ri];

		a->messages += v[0];
		a->pass += v[1];
		if (strcmp(a->last_day, day) != 0) {
			a->days++;
			copy_day(a->last_day, day);
		}
	}
	if ((rc = strmap_get(c->src_map, ip, strlen(ip), ov->n_src, &si,
	    &created)) != 0)
		return rc;
	if (created) {
		struct ov_source *s = grow((void **)&ov->src, &ov->n_src,
		    &c->cap_src, sizeof *s);

		if (s == NULL)
			return ERR_NOMEM;
		memset(s, 0, sizeof *s);
		if ((s->ip = strdup(ip)) == NULL)
			return ERR_NOMEM;
		copy_day(s->first, day);
		s->ours = ov->foreign_known && bsearch(&ip, c->f->ips,
		    c->f->n_ips, sizeof *c->f->ips, str_cmp) != NULL;
	}
	{
		struct ov_source *s = &ov->src[si];

		s->messages += v[0];
		s->pass += v[1];
		s->spf += v[2];
		s->dkim += v[3];
		s->quarantine += v[4];
		s->reject += v[5];
		copy_day(s->last, day);
		if (ov->foreign_known && !s->ours && r->text[2] != NULL &&
		    ours_domain(c->f, r->text[2])) {
			s->foreign_messages += v[0];
			s->foreign_pass += v[1];
			if (s->foreign_from == NULL &&
			    (s->foreign_from = strdup(r->text[2])) == NULL)
				return ERR_NOMEM;
		}
	}
	if (ov->pairs_dropped)
		return 0;
	if ((rc = pair_add(c, &c->rp, si, rep, v[0])) != 0 ||
	    (rc = pair_add(c, &c->fp, si,
	    r->text[2] ? r->text[2] : "", v[0])) != 0)
		return rc;
	return 0;
}

static int
rep_cmp(const void *a, const void *b)
{
	const struct ov_reporter *x = a, *y = b;

	if (x->messages != y->messages)
		return x->messages > y->messages ? -1 : 1;
	return strcmp(x->name, y->name);
}

void
ov_sort(void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

int
ov_pair_cmp(const void *a, const void *b)
{
	const struct ov_pair *x = a, *y = b;

	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->messages != y->messages)
		return x->messages > y->messages ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
src_cmp(const void *a, const void *b)
{
	const struct ov_source *x = a, *y = b;

	if (x->messages != y->messages)
		return x->messages > y->messages ? -1 : 1;
	return strcmp(x->ip, y->ip);
}

/* Hands each reporter to its domain, then sorts everything. */
static int
scan_finish(struct scan_ctx *c)
{
	struct overview *ov = c->ov;

	for (size_t i = 0; i < c->n_reps; i++) {
		struct rep_acc *a = &c->reps[i];
		struct ov_domain *d = &ov->doms[a->dom];
		struct ov_reporter *r;
		void *p = realloc(d->reporters, (d->n_reporters + 1) *
		    sizeof *d->reporters);

		/* One realloc per reporter: reporters are few (tens per
		 * domain) compared with the rows summed above. */
		if (p == NULL)
			return ERR_NOMEM;
		d->reporters = p;
		r = &d->reporters[d->n_reporters++];
		r->name = a->name;
		a->name = NULL;
		r->messages = a->messages;
		r->pass = a->pass;
		r->days = a->days;
	}
	for (size_t i = 0; i < ov->n_doms; i++) {
		struct ov_domain *d = &ov->doms[i];

		for (size_t j = 0; j < d->n_days; j++) {
			d->messages += d->days[j].messages;
			d->pass += d->days[j].pass;
			d->spf += d->days[j].spf;
			d->dkim += d->days[j].dkim;
			d->quarantine += d->days[j].quarantine;
			d->reject += d->days[j].reject;
		}
		ov_sort(d->reporters, d->n_reporters, sizeof *d->reporters,
		    rep_cmp);
	}
	ov_sort(ov->doms, ov->n_doms, sizeof *ov->doms, dom_cmp);
	for (size_t i = 0; i < ov->n_src; i++) {
		const struct ov_source *s = &ov->src[i];

		if (s->foreign_messages == 0)
			continue;
		if (ov_foreign_passes(s)) {
			ov->n_foreign_pass++;
			ov->m_foreign_pass += s->foreign_messages;
		} else {
			ov->n_foreign_fail++;
			ov->m_foreign_fail += s->foreign_messages;
		}
	}
	/* Sorting the sources moves them: the pairs follow through each
	 * source's old index, kept in 'rank' for the length of the sort. */
	for (size_t i = 0; i < ov->n_src; i++)
		ov->src[i].rank = i;
	ov_sort(ov->src, ov->n_src, sizeof *ov->src, src_cmp);
	if (!ov->pairs_dropped) {
		size_t *where = malloc((ov->n_src ? ov->n_src : 1) *
		    sizeof *where);

		if (where == NULL)
			return ERR_NOMEM;
		for (size_t i = 0; i < ov->n_src; i++)
			where[ov->src[i].rank] = i;
		for (size_t i = 0; i < ov->n_rep_pairs; i++)
			ov->rep_pairs[i].src = where[ov->rep_pairs[i].src];
		for (size_t i = 0; i < ov->n_from_pairs; i++)
			ov->from_pairs[i].src = where[ov->from_pairs[i].src];
		free(where);
		ov_sort(ov->rep_pairs, ov->n_rep_pairs, sizeof *ov->rep_pairs,
		    ov_pair_cmp);
		ov_sort(ov->from_pairs, ov->n_from_pairs,
		    sizeof *ov->from_pairs, ov_pair_cmp);
	}
	return 0;
}

static int
scan_rollup(struct store *st, const struct store_query_filter *f,
    struct overview *ov, struct err *err)
{
	struct scan_ctx *c;
	int rc;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return ERR_NOMEM;
	c->ov = ov;
	c->f = f;
	ov->foreign_known = f->n_ips > 0 && f->n_sender_domains > 0;
	c->dom_map = strmap_new();
	c->rep_map = strmap_new();
	c->src_map = strmap_new();
	c->rp.map = strmap_new();
	c->fp.map = strmap_new();
	c->rp.v = &ov->rep_pairs;
	c->rp.n = &ov->n_rep_pairs;
	c->fp.v = &ov->from_pairs;
	c->fp.n = &ov->n_from_pairs;
	if (c->dom_map == NULL || c->rep_map == NULL || c->src_map == NULL ||
	    c->rp.map == NULL || c->fp.map == NULL) {
		rc = ERR_NOMEM;
		goto out;
	}
	rc = store_query_each(st, SQ_AGG_SCAN, f, scan_cb, c, err);
	if (rc == ERR_TOO_LARGE)
		err_set(err, rc, "a reporter name longer than the key buffer");
	if (rc == 0)
		rc = scan_finish(c);
out:
	for (size_t i = 0; i < c->n_reps; i++)
		free(c->reps[i].name);
	free(c->reps);
	free(c->cap_dom_days);
	strmap_free(c->dom_map);
	strmap_free(c->rep_map);
	strmap_free(c->src_map);
	strmap_free(c->rp.map);
	strmap_free(c->fp.map);
	free(c);
	return rc;
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
	if ((rc = scan_rollup(st, f, ov, err)) != 0)
		goto out;
	if ((rc = store_query_each(st, SQ_TLS_DAILY, f, tls_cb, &c,
	    err)) != 0)
		goto out;
	ov_sort(ov->tls, ov->n_tls, sizeof *ov->tls, tls_cmp);
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
	for (size_t i = 0; i < ov->n_src; i++) {
		free(ov->src[i].ip);
		free(ov->src[i].foreign_from);
	}
	free(ov->src);
	free(ov->days);
	for (size_t i = 0; i < ov->n_rep_pairs; i++)
		free(ov->rep_pairs[i].name);
	for (size_t i = 0; i < ov->n_from_pairs; i++)
		free(ov->from_pairs[i].name);
	free(ov->rep_pairs);
	free(ov->from_pairs);
	memset(ov, 0, sizeof *ov);
}
