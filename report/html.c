/*
 * report/html.c - the pages of `dmarcwatch report html` (see html.h).
 *
 * Every figure comes from the store's named read queries (store.h,
 * store/query.c): the overview, sources, warm-up and TLS pages read the
 * daily rollups only, so their cost does not grow with records; only the
 * per-report pages read records, for the newest LIM_HTML_REPORT_PAGES
 * reports and at most LIM_HTML_RECORDS_PER_PAGE records each.
 *
 * Stable hooks for tests and scripts: sections carry data-domain /
 * data-ip, figure cards data-k (what) and data-value (the exact number).
 * Links are built from our own ids and fixed names only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../common/limits.h"
#include "../common/timefmt.h"
#include "../store/store.h"
#include "html.h"
#include "html_page.h"
#include "html_warmup.h"
#include "overview.h"
#include "strmap.h"

struct hctx {
	const struct html_opts *o;
	struct store *st;
	struct store_query_filter f;
	struct overview ov;
	char range[512];
	int64_t now;
	char **sender;             /* sorted copy of o->sender_ips */
	size_t n_sender;
	const char **busiest;      /* top sources (pointers into ov.src) */
	size_t n_busiest;
	const char **day_ptrs;     /* ov.days as a list, for the filter */
	struct html_stats stats;
};

static int
write_page(struct hctx *c, struct html_page *p, const char *name,
    struct err *err)
{
	int rc;

	hp_foot(p, c->now);
	rc = hp_write(p, c->o->out_dir, name, err);
	hp_free(p);
	if (rc == 0)
		c->stats.pages++;
	return rc;
}

/* A figure card: label (ours), the number shown with its unit, the exact
 * number in data-value for scripts and tests. */
static void
card_num(struct html_page *p, const char *k, const char *label,
    uint64_t v, const char *unit)
{
	hp_fmt(p, "<div class=\"card\" data-k=\"%s\" data-value=\"%llu\">"
	    "<div class=\"k\">%s</div><div class=\"v\">", k,
	    (unsigned long long)v, label);
	hp_num(p, v);
	hp_fmt(p, "</div><div class=\"k\">%s</div></div>", unit);
}

static void
card_pct(struct html_page *p, const char *k, const char *label,
    uint64_t num, uint64_t den, const char *of)
{
	hp_fmt(p, "<div class=\"card\" data-k=\"%s\" data-num=\"%llu\" "
	    "data-den=\"%llu\"><div class=\"k\">%s</div><div class=\"v\">", k,
	    (unsigned long long)num, (unsigned long long)den, label);
	hp_pct(p, num, den);
	hp_raw(p, "</div><div class=\"k\">");
	hp_num(p, num);
	hp_raw(p, " of ");
	hp_num(p, den);
	hp_fmt(p, " %s</div></div>", of);
}

/* ---- index.html ---- */

static void
domain_section(struct hctx *c, struct html_page *p, size_t i)
{
	static const char *const rcols[] = { "Reporter", "#Days reported",
	    "#Messages", "#DMARC pass", NULL };
	const struct ov_domain *d = &c->ov.doms[i];
	uint64_t none = d->messages - (d->quarantine + d->reject <=
	    d->messages ? d->quarantine + d->reject : d->messages);
	struct hp_series_day *days;
	char tid[32];

	hp_fmt(p, "<section class=\"domain\" id=\"dom-%zu\" "
	    "data-domain=\"", i);
	hp_text(p, d->domain);
	hp_raw(p, "\"><h2>Policy domain ");
	hp_text_or(p, d->domain, "(none given)");
	hp_raw(p, "</h2><div class=\"cards\">");
	card_num(p, "messages", "Messages reported", d->messages,
	    "messages");
	card_pct(p, "dmarc_pass", "DMARC pass", d->pass, d->messages,
	    "messages");
	card_pct(p, "spf_aligned", "SPF aligned pass", d->spf, d->messages,
	    "messages");
	card_pct(p, "dkim_aligned", "DKIM aligned pass", d->dkim,
	    d->messages, "messages");
	card_num(p, "none", "Disposition none", none, "messages");
	card_num(p, "quarantine", "Quarantined", d->quarantine, "messages");
	card_num(p, "reject", "Rejected", d->reject, "messages");
	hp_raw(p, "</div>");
	if ((days = calloc(d->n_days ? d->n_days : 1, sizeof *days)) == NULL) {
		p->rc = p->rc ? p->rc : ERR_NOMEM;
		return;
	}
	for (size_t j = 0; j < d->n_days; j++) {
		memcpy(days[j].day, d->days[j].day, sizeof days[j].day);
		days[j].good = d->days[j].pass;
		days[j].bad = d->days[j].messages - (d->days[j].pass <=
		    d->days[j].messages ? d->days[j].pass :
		    d->days[j].messages);
	}
	hp_raw(p, "<h3>Trend per day</h3>");
	hp_chart_days(p, "Messages per day", "DMARC pass", "DMARC fail",
	    "messages", days, d->n_days);
	free(days);
	hp_raw(p, "<h3>Top reporters</h3>");
	if (d->n_reporters > LIM_HTML_REPORTERS)
		hp_fmt(p, "<p class=\"muted\">The %d largest of %zu reporters "
		    "(LIM_HTML_REPORTERS).</p>", LIM_HTML_REPORTERS,
		    d->n_reporters);
	snprintf(tid, sizeof tid, "reporters-%zu", i);
	hp_table(p, tid, NULL, rcols);
	for (size_t j = 0; j < d->n_reporters && j < LIM_HTML_REPORTERS;
	    j++) {
		const struct ov_reporter *r = &d->reporters[j];

		hp_tr(p);
		hp_td_text(p, r->name);
		hp_td_num(p, r->days, "days");
		hp_td_num(p, r->messages, "messages");
		hp_td_pct(p, r->pass, r->messages);
		hp_tr_end(p);
	}
	hp_table_end(p);
	hp_raw(p, "</section>\n");
}

static int
page_index(struct hctx *c, struct err *err)
{
	struct html_page p;
	size_t n = c->ov.n_doms;

	hp_init(&p);
	hp_head(&p, "DMARC overview", "index.html", c->range);
	hp_raw(&p, "<div class=\"cards\" id=\"counts\">");
	card_num(&p, "aggregate_reports", "Aggregate reports",
	    c->ov.n_aggregate, "reports");
	card_num(&p, "tlsrpt_reports", "TLS-RPT reports", c->ov.n_tlsrpt,
	    "reports");
	card_num(&p, "failure_reports", "Failure reports", c->ov.n_failure,
	    "reports");
	card_num(&p, "rejected", "Rejected inputs", c->ov.n_rejected,
	    "inputs");
	hp_raw(&p, "</div>");
	if (n == 0)
		hp_raw(&p, "<p class=\"note\">No DMARC aggregate data in this "
		    "range. Import reports with <code>dmarcwatch import"
		    "</code>.</p>");
	if (n > LIM_HTML_DOMAINS)
		hp_fmt(&p, "<p class=\"note\">%zu policy domains; the %d with "
		    "the most messages are shown (LIM_HTML_DOMAINS). Use "
		    "<code>--domain</code> for another.</p>", n,
		    LIM_HTML_DOMAINS);
	if (n > 1) {
		hp_raw(&p, "<p>Policy domains: ");
		for (size_t i = 0; i < n && i < LIM_HTML_DOMAINS; i++) {
			hp_fmt(&p, "%s<a href=\"#dom-%zu\">", i ? ", " : "", i);
			hp_text_or(&p, c->ov.doms[i].domain, "(none given)");
			hp_raw(&p, "</a>");
		}
		hp_raw(&p, "</p>");
	}
	for (size_t i = 0; i < n && i < LIM_HTML_DOMAINS; i++)
		domain_section(c, &p, i);
	return write_page(c, &p, "index.html", err);
}

/* ---- sources.html ---- */

/* Names shown per source in one cell; the rest are counted. */
#define SRC_NAMES_SHOWN 5

/* Bytes of a composite key (ip + one name). */
#define SRC_KEY_BYTES (3 * LIM_FIELD_BYTES + 64)

/* Pairs read for the listed sources when the overview pass had too many
 * to keep (ov.pairs_dropped). */
struct pairs {
	struct ov_pair *v;
	size_t n, cap;
	struct strmap *map;
};

struct detail_ctx {
	struct strmap *ip_map;     /* ip -> index among the listed sources */
	struct pairs rep, from;
	char key[SRC_KEY_BYTES];
};

/* The key is the source's index (fixed width) followed by the name: no
 * separator needed, and cheaper than length-prefixed text per row. */
static int
pair_add(struct pairs *ps, char *key, size_t keycap, size_t src,
    const char *name, uint64_t m)
{
	size_t nl = strlen(name), kl = sizeof src + nl, i;
	int created, rc;

	if (kl > keycap)
		return ERR_TOO_LARGE;
	memcpy(key, &src, sizeof src);
	memcpy(key + sizeof src, name, nl);
	if ((rc = strmap_get(ps->map, key, kl, ps->n, &i, &created)) != 0)
		return rc;
	if (created) {
		if (ps->n == ps->cap) {
			size_t nc = ps->cap ? ps->cap * 2 : 256;
			void *q = realloc(ps->v, nc * sizeof *ps->v);

			if (q == NULL)
				return ERR_NOMEM;
			ps->v = q;
			ps->cap = nc;
		}
		ps->v[ps->n].src = src;
		ps->v[ps->n].messages = 0;
		if ((ps->v[ps->n].name = strdup(name)) == NULL)
			return ERR_NOMEM;
		ps->n++;
	}
	ps->v[i].messages += m;
	return 0;
}

/* SQ_AGG_IPS rows: day, ip, header_from, reporter, domain, messages... */
static int
detail_cb(void *ctx, const struct store_row *r)
{
	struct detail_ctx *d = ctx;
	const char *ip = r->text[1] ? r->text[1] : "";
	uint64_t m = r->num[5] > 0 ? (uint64_t)r->num[5] : 0;
	size_t src;
	int created, rc;

	if ((rc = strmap_get(d->ip_map, ip, strlen(ip), 0, &src,
	    &created)) != 0 || created)
		return rc;   /* an address we did not ask for: none */
	if ((rc = pair_add(&d->rep, d->key, sizeof d->key, src,
	    r->text[3] ? r->text[3] : "", m)) != 0)
		return rc;
	return pair_add(&d->from, d->key, sizeof d->key, src,
	    r->text[2] ? r->text[2] : "", m);
}

static void
pairs_free(struct pairs *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->v[i].name);
	free(ps->v);
	strmap_free(ps->map);
}

static int
str_cmp(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;

	return strcmp(*x, *y);
}

static int
is_ours(const struct hctx *c, const char *ip)
{
	return bsearch(&ip, c->sender, c->n_sender, sizeof *c->sender,
	    str_cmp) != NULL;
}

/* The names of one source (pairs [*i, ...) with src == k), the largest
 * SRC_NAMES_SHOWN with their messages, the rest counted; advances *i. */
static void
names_cell(struct html_page *p, const struct ov_pair *v, size_t n,
    size_t *i, size_t k)
{
	size_t b, e;

	/* Pairs of sources not listed (beyond the cap) come first. */
	while (*i < n && v[*i].src < k)
		(*i)++;
	b = e = *i;
	while (e < n && v[e].src == k)
		e++;
	hp_fmt(p, "<td data-v=\"%zu\">", e - b);
	for (size_t j = b; j < e && j < b + SRC_NAMES_SHOWN; j++) {
		if (j > b)
			hp_raw(p, "<br>");
		hp_text_or(p, v[j].name, "(none)");
		hp_raw(p, " <span class=\"muted\">(");
		hp_num(p, v[j].messages);
		hp_raw(p, ")</span>");
	}
	if (e - b > SRC_NAMES_SHOWN)
		hp_fmt(p, "<br><span class=\"muted\">and %zu more</span>",
		    e - b - SRC_NAMES_SHOWN);
	hp_raw(p, "</td>");
	*i = e;
}

/* Foreign senders of our domains (SQ_FOREIGN_SOURCES): sorted IPs. */
struct foreign {
	char **ip;
	size_t n, cap;
	uint64_t messages;
};

static int
foreign_cb(void *ctx, const struct store_row *r)
{
	struct foreign *fo = ctx;

	if (fo->n == fo->cap) {
		size_t nc = fo->cap ? fo->cap * 2 : 16;
		void *a = realloc(fo->ip, nc * sizeof *fo->ip);

		if (a == NULL)
			return ERR_NOMEM;
		fo->ip = a;
		fo->cap = nc;
	}
	if ((fo->ip[fo->n] = strdup(r->text[0] ? r->text[0] : "")) == NULL)
		return ERR_NOMEM;
	fo->n++;
	fo->messages += r->num[1] > 0 ? (uint64_t)r->num[1] : 0;
	return 0;
}

static int
is_foreign(const struct foreign *fo, const char *ip)
{
	return fo->n > 0 && bsearch(&ip, fo->ip, fo->n, sizeof *fo->ip,
	    str_cmp) != NULL;
}

static void
foreign_free(struct foreign *fo)
{
	for (size_t i = 0; i < fo->n; i++)
		free(fo->ip[i]);
	free(fo->ip);
}

static int
page_sources(struct hctx *c, struct err *err)
{
	struct foreign fo;
	static const char *const cols[] = { "Source IP", "Ours?",
	    "Reverse DNS", "#Messages", "#DMARC pass", "#SPF aligned",
	    "#DKIM aligned", "#Quarantined", "#Rejected", "Reporters",
	    "header_from domains", "First day", "Last day", NULL };
	struct store_query_filter qf = c->f;
	struct detail_ctx *dc = NULL;
	struct html_page p;
	const char **ips = NULL;
	size_t n = c->ov.n_src < LIM_HTML_SOURCES ? c->ov.n_src :
	    LIM_HTML_SOURCES;
	size_t ri = 0, fi = 0, n_rep = 0, n_from = 0;
	const struct ov_pair *rep = NULL, *from = NULL;
	int rc = 0;

	memset(&fo, 0, sizeof fo);
	hp_init(&p);
	if ((dc = calloc(1, sizeof *dc)) == NULL ||
	    (ips = calloc(n ? n : 1, sizeof *ips)) == NULL ||
	    (dc->ip_map = strmap_new()) == NULL ||
	    (dc->rep.map = strmap_new()) == NULL ||
	    (dc->from.map = strmap_new()) == NULL) {
		rc = ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t v;
		int created;

		ips[i] = c->ov.src[i].ip;
		if ((rc = strmap_get(dc->ip_map, ips[i], strlen(ips[i]), i, &v,
		    &created)) != 0)
			goto out;
	}
	/* The warm-up page falls back to the busiest sources. */
	for (size_t i = 0; i < n && c->n_busiest < LIM_HTML_WARMUP_IPS; i++)
		c->busiest[c->n_busiest++] = ips[i];
	if (c->ov.pairs_dropped) {
		/* Too many pairs for the overview pass: read those of the
		 * listed sources only, by key lookups (day, ip). */
		qf.ips = ips;
		qf.n_ips = n;
		if (n > 0 && (rc = store_query_each(c->st, SQ_AGG_IPS, &qf,
		    detail_cb, dc, err)) != 0)
			goto out;
		ov_sort(dc->rep.v, dc->rep.n, sizeof *dc->rep.v, ov_pair_cmp);
		ov_sort(dc->from.v, dc->from.n, sizeof *dc->from.v,
		    ov_pair_cmp);
	} else {
		/* Borrowed from the overview; pairs_free() below frees
		 * only what this page allocated. */
		rep = c->ov.rep_pairs;
		n_rep = c->ov.n_rep_pairs;
		from = c->ov.from_pairs;
		n_from = c->ov.n_from_pairs;
	}
	if (c->ov.pairs_dropped) {
		rep = dc->rep.v;
		n_rep = dc->rep.n;
		from = dc->from.v;
		n_from = dc->from.n;
	}
	if (c->n_sender > 0 && c->o->n_sender_domains > 0) {
		struct store_query_filter ff = c->f;

		ff.ips = (const char *const *)c->sender;
		ff.n_ips = c->n_sender;
		ff.sender_domains = c->o->sender_domains;
		ff.n_sender_domains = c->o->n_sender_domains;
		if ((rc = store_query_each(c->st, SQ_FOREIGN_SOURCES, &ff,
		    foreign_cb, &fo, err)) != 0)
			goto out;
		ov_sort(fo.ip, fo.n, sizeof *fo.ip, str_cmp);
	}
	hp_head(&p, "Sources", "sources.html", c->range);
	if (c->ov.n_src > LIM_HTML_SOURCES)
		hp_fmt(&p, "<p class=\"note\">%zu source IPs; the %d with the "
		    "most messages are listed (LIM_HTML_SOURCES).</p>",
		    c->ov.n_src, LIM_HTML_SOURCES);
	hp_raw(&p, "<p>Every sending IP that receivers reported, by volume. "
	    "Reverse DNS: dmarcwatch does no DNS lookups and the store holds "
	    "no PTR names, so every address shows \"not resolved\".");
	if (c->n_sender == 0)
		hp_raw(&p, " Ownership is unknown until the sender's own "
		    "addresses are configured (<code>[sender] ips</code>).");
	hp_raw(&p, "</p>");
	if (c->n_sender > 0 && c->o->n_sender_domains > 0) {
		if (fo.n > 0)
			hp_fmt(&p, "<p class=\"note\" id=\"foreign-senders\" "
			    "data-value=\"%zu\"><strong>%zu foreign senders"
			    "</strong>: addresses that are not in "
			    "<code>[sender] ips</code> sent mail as one of "
			    "our domains (%llu messages): spoofing, or a "
			    "service not listed yet. Their rows are marked "
			    "\"foreign\" below.</p>", fo.n, fo.n,
			    (unsigned long long)fo.messages);
		else
			hp_raw(&p, "<p class=\"muted\" id=\"foreign-senders\" "
			    "data-value=\"0\">No foreign senders: every "
			    "address that sent mail as our domains is in "
			    "<code>[sender] ips</code>.</p>");
	}
	hp_fmt(&p, "<p class=\"muted\" id=\"source-count\" "
	    "data-value=\"%zu\">%zu source IPs listed.</p>", n, n);
	hp_table(&p, "sources", NULL, cols);
	for (size_t i = 0; i < n; i++) {
		const struct ov_source *s = &c->ov.src[i];

		int foreign = is_foreign(&fo, s->ip);

		hp_raw(&p, foreign ? "<tr class=\"foreign\" data-ip=\"" :
		    "<tr data-ip=\"");
		hp_text(&p, s->ip);
		hp_raw(&p, "\"><td class=\"nw\">");
		hp_text(&p, s->ip);
		hp_raw(&p, "</td>");
		if (c->n_sender == 0)
			hp_raw(&p, "<td class=\"muted nw\">unknown (set "
			    "[sender] ips)</td>");
		else if (foreign)
			hp_raw(&p, "<td class=\"own\"><strong>not ours: "
			    "foreign sender of our domains</strong></td>");
		else
			hp_raw(&p, is_ours(c, s->ip) ? "<td class=\"own\">"
			    "ours</td>" : "<td class=\"own\">not ours</td>");
		hp_raw(&p, "<td class=\"muted nw\">not resolved</td>");
		hp_td_num(&p, s->messages, "messages");
		hp_td_pct(&p, s->pass, s->messages);
		hp_td_pct(&p, s->spf, s->messages);
		hp_td_pct(&p, s->dkim, s->messages);
		hp_td_num(&p, s->quarantine, "messages");
		hp_td_num(&p, s->reject, "messages");
		names_cell(&p, rep, n_rep, &ri, i);
		names_cell(&p, from, n_from, &fi, i);
		hp_td_text(&p, s->first);
		hp_td_text(&p, s->last);
		hp_tr_end(&p);
	}
	hp_table_end(&p);
	rc = write_page(c, &p, "sources.html", err);
out:
	foreign_free(&fo);
	hp_free(&p);
	if (dc != NULL) {
		strmap_free(dc->ip_map);
		pairs_free(&dc->rep);
		pairs_free(&dc->from);
		free(dc);
	}
	free(ips);
	if (rc == ERR_NOMEM)
		err_set(err, rc, "out of memory");
	else if (rc == ERR_TOO_LARGE)
		err_set(err, rc, "a name longer than the key buffer");
	return rc;
}

/* ---- warmup.html ---- */

static int
page_warmup(struct hctx *c, struct err *err)
{
	struct warmup_engine *eng = NULL;
	struct html_page p;
	const char *const *ips;
	size_t n;
	int rc;

	hp_init(&p);
	hp_head(&p, "Warm-up per IP and provider", "warmup.html", c->range);
	if (c->n_sender > 0) {
		ips = (const char *const *)c->sender;
		n = c->n_sender < LIM_HTML_WARMUP_IPS ? c->n_sender :
		    LIM_HTML_WARMUP_IPS;
	} else {
		ips = c->busiest;
		n = c->n_busiest;
	}
	/* The reputation engine's tables: send log, gates, hints. */
	rc = html_warmup_engine_load(c->st, &c->f, ips, n, &eng, err);
	if (rc == 0)
		rc = html_warmup_page(&p, c->st, &c->f, ips, n,
		    c->n_sender > 0, eng, err);
	if (rc == 0)
		rc = write_page(c, &p, "warmup.html", err);
	html_warmup_engine_free(eng);
	hp_free(&p);
	return rc;
}

/* ---- tls.html ---- */

struct tls_detail {
	struct html_page *p;
	const char *domain;        /* section being written */
	int in_table, any;
};

static int
tls_detail_cb(void *ctx, const struct store_row *r)
{
	struct tls_detail *t = ctx;
	const char *dom = r->text[0] ? r->text[0] : "";

	if (strcmp(dom, t->domain) != 0)
		return 0;
	t->any = 1;
	hp_tr(t->p);
	hp_td_text(t->p, r->text[1]);
	hp_td_text(t->p, r->text[2]);
	hp_td_num(t->p, (uint64_t)r->num[3], "sessions");
	hp_tr_end(t->p);
	return 0;
}

static int
page_tls(struct hctx *c, struct err *err)
{
	static const char *const cols[] = { "Receiving MX", "Result type",
	    "#Failed sessions", NULL };
	struct html_page p;
	int rc = 0;

	hp_init(&p);
	hp_head(&p, "TLS-RPT (SMTP TLS reports)", "tls.html", c->range);
	if (c->ov.n_tls == 0)
		hp_raw(&p, "<p class=\"note\">No TLS-RPT data in this range."
		    "</p>");
	hp_raw(&p, "<p>Sessions other mail servers opened to ours, as they "
	    "reported them (RFC 8460), per policy domain; failures broken "
	    "down by receiving MX and result type.</p>");
	for (size_t i = 0; i < c->ov.n_tls && i < LIM_HTML_DOMAINS; i++) {
		const struct tls_domain *d = &c->ov.tls[i];
		struct hp_series_day *days;
		struct tls_detail td;
		char tid[32];

		hp_fmt(&p, "<section class=\"domain\" id=\"tls-%zu\" "
		    "data-domain=\"", i);
		hp_text(&p, d->domain);
		hp_raw(&p, "\"><h2>Policy domain ");
		hp_text_or(&p, d->domain, "(none given)");
		hp_raw(&p, "</h2><div class=\"cards\">");
		card_num(&p, "sessions_ok", "Successful sessions", d->ok,
		    "sessions");
		card_num(&p, "sessions_failed", "Failed sessions", d->failed,
		    "sessions");
		card_pct(&p, "success", "Success rate", d->ok,
		    d->ok + d->failed, "sessions");
		hp_raw(&p, "</div>");
		if ((days = calloc(d->n_days ? d->n_days : 1,
		    sizeof *days)) == NULL) {
			rc = err_set(err, ERR_NOMEM, "out of memory");
			break;
		}
		for (size_t j = 0; j < d->n_days; j++) {
			memcpy(days[j].day, d->days[j].day, sizeof days[j].day);
			days[j].good = d->days[j].ok;
			days[j].bad = d->days[j].failed;
		}
		hp_chart_days(&p, "TLS sessions per day", "successful",
		    "failed", "sessions", days, d->n_days);
		free(days);
		hp_raw(&p, "<h3>Failures by MX and result type</h3>");
		snprintf(tid, sizeof tid, "tls-detail-%zu", i);
		hp_table(&p, tid, NULL, cols);
		memset(&td, 0, sizeof td);
		td.p = &p;
		td.domain = d->domain;
		/* One small query per domain: the detail rollup is tiny. */
		if ((rc = store_query_each(c->st, SQ_TLS_DETAIL, &c->f,
		    tls_detail_cb, &td, err)) != 0)
			break;
		hp_table_end(&p);
		if (!td.any)
			hp_raw(&p, "<p class=\"muted\">No failure details "
			    "reported.</p>");
		hp_raw(&p, "</section>\n");
	}
	if (rc == 0)
		rc = write_page(c, &p, "tls.html", err);
	hp_free(&p);
	return rc;
}

/* ---- failures.html ---- */

/* Field names of SQ_FAILURES, by column (ours). */
static const char *const fail_fields[] = {
	"Report", "Arrival", "Source-IP", "Reported-Domain", "Feedback-Type",
	"Auth-Failure", "Delivery-Result", "Original-Mail-From",
	"Original-Rcpt-To", "DKIM-Domain", "DKIM-Selector", "SPF-DNS",
	"From", "To", "Subject", "Message-ID", "User-Agent",
	"Authentication-Results", "Identity-Alignment", "Reported-URI",
	"Other fields (JSON)", "Arrival-Date",
};

struct fail_ctx {
	struct html_page *p;
	int64_t n;
};

static int
fail_cb(void *ctx, const struct store_row *r)
{
	struct fail_ctx *f = ctx;
	struct html_page *p = f->p;

	if (++f->n > LIM_HTML_FAILURES)
		return 0;
	hp_fmt(p, "<tr id=\"failure-%lld\">", (long long)r->num[0]);
	if (r->null[1])
		hp_raw(p, "<td class=\"muted\" data-v=\"0\">unknown</td>");
	else
		hp_td_time(p, r->num[1]);
	hp_td_text(p, r->text[2]);
	hp_td_text(p, r->text[3]);
	hp_td_text(p, r->text[5]);
	hp_td_text(p, r->text[6]);
	hp_td_text(p, r->text[12]);
	hp_td_text(p, r->text[14]);
	hp_raw(p, "<td><details><summary>all fields</summary><dl>");
	for (int i = 2; i < r->ncol && i < (int)(sizeof fail_fields /
	    sizeof fail_fields[0]); i++) {
		if (r->text[i] == NULL)
			continue;
		hp_fmt(p, "<dt>%s</dt><dd>", fail_fields[i]);
		hp_text(p, r->text[i]);
		hp_raw(p, "</dd>");
	}
	hp_raw(p, "</dl></details></td>");
	hp_tr_end(p);
	return 0;
}

static int
page_failures(struct hctx *c, struct err *err)
{
	static const char *const cols[] = { "#Arrival", "Source IP",
	    "Reported domain", "Auth failure", "Delivery result", "From",
	    "Subject", "Details", NULL };
	struct store_query_filter qf = c->f;
	struct html_page p;
	struct fail_ctx fc;
	int rc;

	hp_init(&p);
	hp_head(&p, "DMARC failure reports", "failures.html", c->range);
	hp_raw(&p, "<p>Failure (forensic) reports, newest first: single "
	    "messages that failed DMARC, as receivers described them. Every "
	    "field is shown as text; nothing in them is a link.</p>");
	hp_fmt(&p, "<p class=\"muted\" id=\"failure-count\" "
	    "data-value=\"%llu\">%llu failure reports in range; at most %d "
	    "listed (LIM_HTML_FAILURES).</p>",
	    (unsigned long long)c->ov.n_failure,
	    (unsigned long long)c->ov.n_failure, LIM_HTML_FAILURES);
	hp_table(&p, "failures", NULL, cols);
	memset(&fc, 0, sizeof fc);
	fc.p = &p;
	qf.limit = LIM_HTML_FAILURES + 1;
	rc = store_query_each(c->st, SQ_FAILURES, &qf, fail_cb, &fc, err);
	hp_table_end(&p);
	if (fc.n == 0)
		hp_raw(&p, "<p class=\"muted\">No failure reports in this "
		    "range.</p>");
	if (rc == 0)
		rc = write_page(c, &p, "failures.html", err);
	hp_free(&p);
	return rc;
}

/* ---- rejected.html ---- */

struct rej_ctx {
	struct html_page *p;
	int64_t n;
};

static int
rej_cb(void *ctx, const struct store_row *r)
{
	struct rej_ctx *x = ctx;
	struct html_page *p = x->p;

	if (++x->n > LIM_HTML_REJECTED)
		return 0;
	hp_fmt(p, "<tr id=\"rejected-%lld\">", (long long)r->num[0]);
	hp_td_time(p, r->num[1]);
	hp_td_text(p, r->text[3]);
	hp_td_text(p, r->text[5]);
	hp_td_text(p, r->text[4]);
	hp_td_text(p, r->text[2]);
	hp_raw(p, "<td><code>");
	hp_text(p, r->text[6]);
	hp_raw(p, "</code></td>");
	hp_tr_end(p);
	return 0;
}

static int
page_rejected(struct hctx *c, struct err *err)
{
	static const char *const cols[] = { "#When", "Error", "What went wrong",
	    "Where in the input", "Input (origin)", "SHA-256", NULL };
	struct store_query_filter qf = c->f;
	struct html_page p;
	struct rej_ctx rx;
	int rc;

	hp_init(&p);
	hp_head(&p, "Rejected inputs", "rejected.html", c->range);
	hp_raw(&p, "<p>Inputs that produced no report, newest first, with "
	    "what was wrong and where. The range applies to the time of the "
	    "import; the domain filter does not apply (a rejected input has "
	    "no policy domain).</p>");
	hp_fmt(&p, "<p class=\"muted\" id=\"rejected-count\" "
	    "data-value=\"%llu\">%llu rejected inputs; at most %d listed "
	    "(LIM_HTML_REJECTED).</p>", (unsigned long long)c->ov.n_rejected,
	    (unsigned long long)c->ov.n_rejected, LIM_HTML_REJECTED);
	hp_table(&p, "rejected", NULL, cols);
	memset(&rx, 0, sizeof rx);
	rx.p = &p;
	qf.limit = LIM_HTML_REJECTED + 1;
	qf.domain = NULL;
	rc = store_query_each(c->st, SQ_REJECTED, &qf, rej_cb, &rx, err);
	hp_table_end(&p);
	if (rc == 0)
		rc = write_page(c, &p, "rejected.html", err);
	hp_free(&p);
	return rc;
}

/* ---- reports.html and report-<id>.html ---- */

/* One row of SQ_REPORTS_LATEST, copied (the pages are written after the
 * walk: a nested query inside the callback would be fine for SQLite, but
 * keeping one statement open at a time keeps the reader simple). */
struct rep {
	int64_t id, begin, end, pct;
	uint64_t records, messages, pass, warnings, skipped;
	int pct_null;
	char *s[16];
};
enum { R_KIND, R_ORG, R_EMAIL, R_RID, R_DOMAIN, R_FLAVOUR, R_P, R_SP, R_NP,
	R_ADKIM, R_ASPF, R_EXTRA, R_GEN, R_TESTING, R__N };

struct reps {
	struct rep *v;
	size_t n, cap;
};

static int
rep_cb(void *ctx, const struct store_row *r)
{
	static const int col[R__N] = { 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17,
	    19, 20, 22 };
	struct reps *rs = ctx;
	struct rep *x;

	if (rs->n == rs->cap) {
		size_t nc = rs->cap ? rs->cap * 2 : 64;
		void *q = realloc(rs->v, nc * sizeof *rs->v);

		if (q == NULL)
			return ERR_NOMEM;
		rs->v = q;
		rs->cap = nc;
	}
	x = &rs->v[rs->n++];
	memset(x, 0, sizeof *x);
	x->id = r->num[0];
	x->begin = r->num[6];
	x->end = r->num[7];
	x->records = (uint64_t)r->num[8];
	x->messages = (uint64_t)r->num[9];
	x->pass = (uint64_t)r->num[10];
	x->warnings = (uint64_t)r->num[11];
	x->pct = r->num[18];
	x->pct_null = r->null[18];
	x->skipped = (uint64_t)r->num[21];
	for (int i = 0; i < R__N; i++)
		if (r->text[col[i]] != NULL &&
		    (x->s[i] = strdup(r->text[col[i]])) == NULL)
			return ERR_NOMEM;
	return 0;
}

static const char *
kind_label(const char *kind)
{
	if (kind == NULL)
		return "report";
	if (strcmp(kind, "aggregate") == 0)
		return "DMARC aggregate";
	if (strcmp(kind, "tlsrpt") == 0)
		return "TLS-RPT";
	if (strcmp(kind, "failure") == 0)
		return "DMARC failure";
	return "report";
}

static int
page_reports(struct hctx *c, const struct reps *rs, struct err *err)
{
	static const char *const cols[] = { "#Begin", "Kind", "Reporter",
	    "Report id", "Policy domain", "#Records", "#Messages",
	    "#DMARC pass", "#Warnings", NULL };
	struct html_page p;

	hp_init(&p);
	hp_head(&p, "Reports", "reports.html", c->range);
	hp_fmt(&p, "<p>The newest reports by begin of their range, at most "
	    "%d (LIM_HTML_REPORT_PAGES); each has a page with its records. "
	    "<code>dmarcwatch reports</code> lists them all.</p>",
	    LIM_HTML_REPORT_PAGES);
	hp_table(&p, "reports", NULL, cols);
	for (size_t i = 0; i < rs->n; i++) {
		const struct rep *x = &rs->v[i];
		int agg = x->s[R_KIND] && strcmp(x->s[R_KIND], "aggregate") == 0;
		int tls = x->s[R_KIND] && strcmp(x->s[R_KIND], "tlsrpt") == 0;

		hp_tr(&p);
		hp_td_time(&p, x->begin);
		hp_fmt(&p, "<td><a href=\"report-%lld.html\">%s</a></td>",
		    (long long)x->id, kind_label(x->s[R_KIND]));
		hp_td_text(&p, x->s[R_ORG]);
		hp_td_text(&p, x->s[R_RID]);
		hp_td_text(&p, x->s[R_DOMAIN]);
		hp_td_num(&p, x->records, agg ? "records" : tls ? "policies" :
		    "reports");
		hp_td_num(&p, x->messages, agg ? "messages" : tls ? "sessions" :
		    "messages");
		if (agg)
			hp_td_pct(&p, x->pass, x->messages);
		else
			hp_raw(&p, "<td class=\"n muted\" data-v=\"-1\">"
			    "n/a</td>");
		hp_td_num(&p, x->warnings, "warnings");
		hp_tr_end(&p);
	}
	hp_table_end(&p);
	if (rs->n == 0)
		hp_raw(&p, "<p class=\"muted\">No reports in this range.</p>");
	return write_page(c, &p, "reports.html", err);
}

/* Auth results of the records shown on one page. */
struct auth {
	int64_t record_id;
	char *what, *a, *b, *result, *human;
};

struct auths {
	struct auth *v;
	size_t n, cap;
};

static int
auth_cb(void *ctx, const struct store_row *r)
{
	struct auths *as = ctx;
	struct auth *x;

	if (as->n == as->cap) {
		size_t nc = as->cap ? as->cap * 2 : 64;
		void *q = realloc(as->v, nc * sizeof *as->v);

		if (q == NULL)
			return ERR_NOMEM;
		as->v = q;
		as->cap = nc;
	}
	x = &as->v[as->n++];
	memset(x, 0, sizeof *x);
	x->record_id = r->num[0];
	if ((r->text[1] && !(x->what = strdup(r->text[1]))) ||
	    (r->text[3] && !(x->a = strdup(r->text[3]))) ||
	    (r->text[4] && !(x->b = strdup(r->text[4]))) ||
	    (r->text[5] && !(x->result = strdup(r->text[5]))) ||
	    (r->text[6] && !(x->human = strdup(r->text[6]))))
		return ERR_NOMEM;
	return 0;
}

struct rec_draw {
	struct html_page *p;
	const struct auths *as;
	size_t ai;                 /* next auth row (both ordered by id) */
	int64_t shown;
};

static void
auth_cell(struct html_page *p, const struct auths *as, size_t b, size_t e,
    const char *what)
{
	int any = 0;

	hp_raw(p, "<td>");
	for (size_t i = b; i < e; i++) {
		const struct auth *a = &as->v[i];

		if (a->what == NULL || strcmp(a->what, what) != 0)
			continue;
		if (any++)
			hp_raw(p, "<br>");
		hp_text_or(p, a->a, "(no domain)");
		if (a->b != NULL) {
			hp_raw(p, strcmp(what, "dkim") == 0 ? " s=" :
			    strcmp(what, "spf") == 0 ? " scope " : " ");
			hp_text(p, a->b);
		}
		if (a->result != NULL) {
			hp_raw(p, ": <strong>");
			hp_text(p, a->result);
			hp_raw(p, "</strong>");
		}
		if (a->human != NULL) {
			hp_raw(p, " <span class=\"muted\">(");
			hp_text(p, a->human);
			hp_raw(p, ")</span>");
		}
	}
	if (!any)
		hp_raw(p, "<span class=\"muted\">&#8212;</span>");
	hp_raw(p, "</td>");
}

static int
rec_draw_cb(void *ctx, const struct store_row *r)
{
	struct rec_draw *d = ctx;
	struct html_page *p = d->p;
	size_t b, e;

	while (d->ai < d->as->n && d->as->v[d->ai].record_id < r->num[0])
		d->ai++;
	b = d->ai;
	for (e = b; e < d->as->n && d->as->v[e].record_id == r->num[0]; e++)
		;
	d->shown++;
	hp_tr(p);
	hp_td_num(p, (uint64_t)r->num[1], NULL);   /* row number: no unit */
	hp_td_text(p, r->text[2]);
	hp_td_num(p, (uint64_t)r->num[3], "messages");
	hp_td_text(p, r->text[4]);
	hp_td_text(p, r->text[5]);
	hp_td_text(p, r->text[6]);
	hp_td_text(p, r->num[7] ? "pass" : "fail");
	hp_td_text(p, r->text[8]);
	hp_td_text(p, r->text[9]);
	hp_td_text(p, r->text[10]);
	auth_cell(p, d->as, b, e, "dkim");
	auth_cell(p, d->as, b, e, "spf");
	auth_cell(p, d->as, b, e, "reason");
	hp_tr_end(p);
	return 0;
}

struct notes {
	struct html_page *p;
	int any;
};

static int
notes_cb(void *ctx, const struct store_row *r)
{
	struct notes *n = ctx;

	if (!n->any++)
		hp_raw(n->p, "<h2>Warnings and errors</h2><ul>");
	hp_raw(n->p, "<li>");
	hp_text(n->p, r->text[0]);
	hp_raw(n->p, ": <code>");
	hp_text(n->p, r->text[1]);
	hp_raw(n->p, "</code>");
	if (!r->null[2])
		hp_fmt(n->p, " (%lld times)", (long long)r->num[2]);
	if (r->text[3] != NULL) {
		hp_raw(n->p, ", first at ");
		hp_text(n->p, r->text[3]);
	}
	hp_raw(n->p, "</li>");
	return 0;
}

static void
dl_item(struct html_page *p, const char *term, const char *val)
{
	hp_fmt(p, "<dt>%s</dt><dd>", term);
	hp_text_or(p, val, "not given");
	hp_raw(p, "</dd>");
}

static int
page_report(struct hctx *c, const struct rep *x, struct err *err)
{
	static const char *const cols[] = { "#Row", "Source IP", "#Count",
	    "Disposition", "DKIM aligned", "SPF aligned", "DMARC",
	    "header_from", "envelope_from", "envelope_to", "DKIM results",
	    "SPF results", "Override reasons", NULL };
	struct store_query_filter qf;
	struct html_page p;
	struct auths as;
	struct rec_draw rd;
	struct notes nt;
	char name[64], title[64];
	int agg = x->s[R_KIND] && strcmp(x->s[R_KIND], "aggregate") == 0;
	int rc = 0;

	memset(&as, 0, sizeof as);
	memset(&qf, 0, sizeof qf);
	hp_init(&p);
	snprintf(title, sizeof title, "%s report %lld",
	    kind_label(x->s[R_KIND]), (long long)x->id);
	hp_head(&p, title, "reports.html", NULL);
	hp_raw(&p, "<dl class=\"meta\">");
	dl_item(&p, "Reporter", x->s[R_ORG]);
	dl_item(&p, "Contact", x->s[R_EMAIL]);
	dl_item(&p, "Extra contact info (not a link)", x->s[R_EXTRA]);
	dl_item(&p, "Report id", x->s[R_RID]);
	dl_item(&p, "Policy domain", x->s[R_DOMAIN]);
	hp_raw(&p, "<dt>Range</dt><dd>");
	hp_time(&p, x->begin);
	hp_raw(&p, " to ");
	hp_time(&p, x->end);
	hp_raw(&p, "</dd>");
	if (agg) {
		dl_item(&p, "Format", x->s[R_FLAVOUR]);
		dl_item(&p, "Generator", x->s[R_GEN]);
		hp_raw(&p, "<dt>Published policy</dt><dd>p=");
		hp_text_or(&p, x->s[R_P], "?");
		hp_raw(&p, " sp=");
		hp_text_or(&p, x->s[R_SP], "?");
		hp_raw(&p, " np=");
		hp_text_or(&p, x->s[R_NP], "?");
		hp_raw(&p, " adkim=");
		hp_text_or(&p, x->s[R_ADKIM], "?");
		hp_raw(&p, " aspf=");
		hp_text_or(&p, x->s[R_ASPF], "?");
		if (!x->pct_null)
			hp_fmt(&p, " pct=%lld", (long long)x->pct);
		hp_raw(&p, " testing=");
		hp_text_or(&p, x->s[R_TESTING], "?");
		hp_raw(&p, "</dd>");
	}
	hp_raw(&p, "</dl><div class=\"cards\">");
	card_num(&p, "records", agg ? "Records" : "Rows", x->records,
	    agg ? "records" : "rows");
	if (agg) {
		card_num(&p, "messages", "Messages", x->messages, "messages");
		card_pct(&p, "dmarc_pass", "DMARC pass", x->pass, x->messages,
		    "messages");
		card_num(&p, "skipped", "Rows skipped", x->skipped, "rows");
	}
	hp_raw(&p, "</div>");
	memset(&nt, 0, sizeof nt);
	nt.p = &p;
	qf.report_id = x->id;
	if ((rc = store_query_each(c->st, SQ_REPORT_NOTES, &qf, notes_cb,
	    &nt, err)) != 0)
		goto out;
	if (nt.any)
		hp_raw(&p, "</ul>");
	if (!agg) {
		hp_fmt(&p, "<p>The contents of this report are on the %s "
		    "page.</p>", x->s[R_KIND] &&
		    strcmp(x->s[R_KIND], "tlsrpt") == 0 ?
		    "<a href=\"tls.html\">TLS-RPT</a>" :
		    "<a href=\"failures.html\">failure reports</a>");
		goto write;
	}
	hp_raw(&p, "<h2>Records</h2>");
	if (x->records > LIM_HTML_RECORDS_PER_PAGE)
		hp_fmt(&p, "<p class=\"note\" id=\"records-capped\">This report "
		    "has %llu records; the first %d are shown "
		    "(LIM_HTML_RECORDS_PER_PAGE). All of them are in the "
		    "database (table records, report id %lld).</p>",
		    (unsigned long long)x->records, LIM_HTML_RECORDS_PER_PAGE,
		    (long long)x->id);
	/* Auth results first (one query for the page), then the records,
	 * both in record id order. */
	qf.limit = LIM_HTML_RECORDS_PER_PAGE;
	if ((rc = store_query_each(c->st, SQ_REPORT_AUTH, &qf, auth_cb, &as,
	    err)) != 0)
		goto out;
	hp_table(&p, "records", NULL, cols);
	memset(&rd, 0, sizeof rd);
	rd.p = &p;
	rd.as = &as;
	if ((rc = store_query_each(c->st, SQ_REPORT_RECORDS, &qf, rec_draw_cb,
	    &rd, err)) != 0)
		goto out;
	hp_table_end(&p);
	hp_fmt(&p, "<p class=\"muted\" id=\"records-shown\" "
	    "data-value=\"%lld\">%lld records shown.</p>",
	    (long long)rd.shown, (long long)rd.shown);
write:
	snprintf(name, sizeof name, "report-%lld.html", (long long)x->id);
	rc = write_page(c, &p, name, err);
	if (rc == 0)
		c->stats.report_pages++;
out:
	hp_free(&p);
	for (size_t i = 0; i < as.n; i++) {
		free(as.v[i].what);
		free(as.v[i].a);
		free(as.v[i].b);
		free(as.v[i].result);
		free(as.v[i].human);
	}
	free(as.v);
	if (rc == ERR_NOMEM)
		err_set(err, rc, "out of memory");
	return rc;
}

static int
pages_reports(struct hctx *c, struct err *err)
{
	struct store_query_filter qf = c->f;
	struct reps rs;
	int rc;

	memset(&rs, 0, sizeof rs);
	qf.limit = LIM_HTML_REPORT_PAGES;
	if ((rc = store_query_each(c->st, SQ_REPORTS_LATEST, &qf, rep_cb, &rs,
	    err)) != 0)
		goto out;
	if ((rc = page_reports(c, &rs, err)) != 0)
		goto out;
	for (size_t i = 0; i < rs.n && rc == 0; i++)
		rc = page_report(c, &rs.v[i], err);
out:
	for (size_t i = 0; i < rs.n; i++)
		for (int j = 0; j < R__N; j++)
			free(rs.v[i].s[j]);
	free(rs.v);
	if (rc == ERR_NOMEM)
		err_set(err, rc, "out of memory");
	return rc;
}

/* ---- the whole set ---- */

static void
range_line(struct hctx *c)
{
	char a[16], b[16];
	size_t n;

	if (c->o->since > 0)
		time_iso_day(c->o->since, a, sizeof a);
	if (c->o->until > 0)
		time_iso_day(c->o->until - 1, b, sizeof b);
	if (c->o->since <= 0 && c->o->until <= 0)
		n = (size_t)snprintf(c->range, sizeof c->range,
		    "Range: all data");
	else
		n = (size_t)snprintf(c->range, sizeof c->range, "Range: %s "
		    "to %s (UTC days)", c->o->since > 0 ? a : "the first day",
		    c->o->until > 0 ? b : "the last day");
	if (c->o->domain != NULL && n < sizeof c->range)
		snprintf(c->range + n, sizeof c->range - n,
		    "; policy domain %s", c->o->domain);
}

static int
make_dir(const char *dir, struct err *err)
{
	struct stat sb;

	if (mkdir(dir, 0755) == 0)
		return 0;
	if (errno == EEXIST && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	err_where(err, "%s", dir);
	return err_set(err, ERR_IO, "cannot create the output directory: %s",
	    strerror(errno == EEXIST ? ENOTDIR : errno));
}

int
html_write(const char *db_path, const struct html_opts *o,
    struct html_stats *stats, struct err *err)
{
	struct hctx c;
	int rc;

	memset(&c, 0, sizeof c);
	if (o == NULL || o->out_dir == NULL)
		return err_set(err, ERR_INVAL, "html_write: no output dir");
	c.o = o;
	c.now = o->now ? o->now : (int64_t)time(NULL);
	c.f.since = o->since;
	c.f.until = o->until;
	c.f.domain = o->domain;
	range_line(&c);
	/* The database first: a wrong -d leaves no empty directory. */
	if ((rc = store_open(db_path, STORE_READONLY, &c.st, err)) != 0)
		return rc;
	if ((rc = make_dir(o->out_dir, err)) != 0)
		goto out;
	c.busiest = calloc(LIM_HTML_WARMUP_IPS, sizeof *c.busiest);
	c.sender = calloc(o->n_sender_ips ? o->n_sender_ips : 1,
	    sizeof *c.sender);
	if (c.busiest == NULL || c.sender == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < o->n_sender_ips; i++) {
		if ((c.sender[c.n_sender] = strdup(o->sender_ips[i])) == NULL) {
			rc = err_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
		c.n_sender++;
	}
	ov_sort(c.sender, c.n_sender, sizeof *c.sender, str_cmp);
	if ((rc = ov_load(c.st, &c.f, &c.ov, err)) != 0)
		goto out;
	/* The per-IP pages look rows up by (day, ip): the days with data. */
	if ((c.day_ptrs = calloc(c.ov.n_days ? c.ov.n_days : 1,
	    sizeof *c.day_ptrs)) == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < c.ov.n_days; i++)
		c.day_ptrs[i] = c.ov.days[i];
	c.f.days = c.day_ptrs;
	c.f.n_days = c.ov.n_days;
	/* sources before warm-up: it picks the busiest sources. */
	if ((rc = page_sources(&c, err)) != 0 ||
	    (rc = page_warmup(&c, err)) != 0 ||
	    (rc = page_tls(&c, err)) != 0 ||
	    (rc = page_failures(&c, err)) != 0 ||
	    (rc = page_rejected(&c, err)) != 0 ||
	    (rc = pages_reports(&c, err)) != 0)
		goto out;
	/* index.html last: once it is there, every page it links to is. */
	rc = page_index(&c, err);
out:
	if (stats != NULL)
		*stats = c.stats;
	ov_free(&c.ov);
	free(c.busiest);
	free(c.day_ptrs);
	for (size_t i = 0; i < c.n_sender; i++)
		free(c.sender[i]);
	free(c.sender);
	store_free(c.st);
	return rc;
}
