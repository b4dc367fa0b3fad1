/*
 * report/html.c - the pages of `dmarcwatch report html` (see html.h).
 *
 * Every figure comes from the store's named read queries (store.h,
 * store/query.c): the overview, sources, warm-up and TLS pages read the
 * daily rollups only, so their cost does not grow with records; only the
 * per-report pages read records, for the newest LIM_HTML_REPORT_PAGES
 * reports and at most LIM_HTML_RECORDS_PER_PAGE records each.
 *
 * The range: what the caller gave, else the LIM_HTML_DEFAULT_DAYS days
 * ending on the last day with data (set_range()); every page says which.
 * Reverse DNS names come from the store's cache (ptr_cache, filled by
 * `dmarcwatch resolve` in ingest/): this module never looks anything up.
 *
 * Stable hooks for tests and scripts: sections carry data-domain /
 * data-ip, figure cards data-k (what) and data-value (the exact number).
 * Links are built from our own ids and fixed names only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <time.h>

#include "../common/json.h"
#include "../common/limits.h"
#include "../common/reader.h"
#include "../common/strparse.h"
#include "../common/timefmt.h"
#include "../store/store.h"
#include "html.h"
#include "html_page.h"
#include "html_warmup.h"
#include "overview.h"
#include "strmap.h"

struct reps;

struct hctx {
	const struct html_opts *o;
	struct store *st;
	struct store_query_filter f;
	struct overview ov;
	char range[768];
	int64_t now;
	char **sender;             /* sorted copy of o->sender_ips */
	size_t n_sender;
	const char **busiest;      /* top sources (pointers into ov.src) */
	size_t n_busiest;
	const char **day_ptrs;     /* ov.days as a list, for the filter */
	struct warmup_engine *eng; /* the engine's tables for warm-up IPs */
	const char *const *wips;   /* the warm-up page's addresses */
	size_t n_wips;
	struct reps *reps;         /* the reports that get a page */
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
	hp_fmt(p, "</div><div class=\"k\">%s</div></div>", hp_noun(v, unit));
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
	hp_fmt(p, " %s</div></div>", hp_noun(den, of));
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
	hp_raw(p, "<h3>Trend</h3>");
	hp_chart_days(p, "Messages per day", "DMARC pass", "DMARC fail",
	    "messages", days, d->n_days, 0);
	free(days);
	hp_raw(p, "<h3>Top reporters</h3>");
	if (d->n_reporters > LIM_HTML_REPORTERS)
		hp_fmt(p, "<p class=\"muted\">The %d largest of %zu reporters "
		    "(the page shows at most %d).</p>", LIM_HTML_REPORTERS,
		    d->n_reporters, LIM_HTML_REPORTERS);
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

/* Who else sends as our domains, in one paragraph (index.html). */
static void
foreign_line(struct hctx *c, struct html_page *p)
{
	const struct overview *ov = &c->ov;

	if (!ov->foreign_known) {
		hp_raw(p, "<p class=\"muted\" id=\"foreign-glance\">Who else "
		    "sends as your domains is shown once <code>[sender] ips"
		    "</code> and <code>[sender] domains</code> are configured "
		    "(<a href=\"sources.html\">sources</a> lists every sending "
		    "IP meanwhile).</p>");
		return;
	}
	if (ov->n_foreign_fail + ov->n_foreign_pass == 0) {
		hp_raw(p, "<p class=\"ok\" id=\"foreign-glance\" "
		    "data-value=\"0\">No foreign senders: only addresses in "
		    "<code>[sender] ips</code> sent mail as your domains.</p>");
		return;
	}
	hp_fmt(p, "<p class=\"%s\" id=\"foreign-glance\" data-value=\"%zu\">"
	    "<strong>Foreign senders of your domains</strong> (addresses not "
	    "in <code>[sender] ips</code>): ", ov->n_foreign_fail ? "alert" : "note",
	    ov->n_foreign_fail + ov->n_foreign_pass);
	if (ov->n_foreign_fail > 0) {
		hp_fmt(p, "<span id=\"foreign-spoof\" data-value=\"%zu\">%zu "
		    "failing DMARC</span> (likely spoofing; ", ov->n_foreign_fail,
		    ov->n_foreign_fail);
		hp_num(p, ov->m_foreign_fail);
		hp_fmt(p, " %s)%s", hp_noun(ov->m_foreign_fail, "messages"),
		    ov->n_foreign_pass > 0 ? "; " : ". ");
	}
	if (ov->n_foreign_pass > 0) {
		hp_fmt(p, "<span id=\"foreign-svc\" data-value=\"%zu\">%zu "
		    "passing DMARC</span> (a service you use that is not in "
		    "<code>[sender] ips</code>?; ", ov->n_foreign_pass, ov->n_foreign_pass);
		hp_num(p, ov->m_foreign_pass);
		hp_fmt(p, " %s). ", hp_noun(ov->m_foreign_pass, "messages"));
	}
	hp_raw(p, "<a href=\"sources.html#foreign-senders\">Who they are</a>."
	    "</p>");
}

/* One line per policy domain: is our mail authenticating? */
static void
domains_glance(struct hctx *c, struct html_page *p)
{
	static const char *const cols[] = { "Policy domain", "#Messages",
	    "#DMARC pass", "#Quarantined or rejected", "~#SPF aligned",
	    "#DKIM aligned", NULL };
	size_t n = c->ov.n_doms;

	hp_table(p, "domains", "Is our mail authenticating? DMARC per policy "
	    "domain", cols);
	for (size_t i = 0; i < n && i < LIM_HTML_DOMAINS; i++) {
		const struct ov_domain *d = &c->ov.doms[i];

		hp_tr(p);
		hp_fmt(p, "<td><a href=\"#dom-%zu\">", i);
		hp_text_or(p, d->domain, "(none given)");
		hp_raw(p, "</a></td>");
		hp_td_num(p, d->messages, "messages");
		hp_td_pct(p, d->pass, d->messages);
		hp_td_num(p, d->quarantine + d->reject, "messages");
		hp_td_pct(p, d->spf, d->messages);
		hp_td_pct(p, d->dkim, d->messages);
		hp_tr_end(p);
	}
	hp_table_end(p);
}

static int
page_index(struct hctx *c, struct err *err)
{
	struct html_page p;
	size_t n = c->ov.n_doms;
	int rc;

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
		    "the most messages are shown (the page shows at most %d). "
		    "Use <code>--domain</code> for another.</p>", n,
		    LIM_HTML_DOMAINS, LIM_HTML_DOMAINS);
	if (n > 0)
		domains_glance(c, &p);
	foreign_line(c, &p);
	if ((rc = html_warmup_glance(&p, c->st, c->eng, err)) != 0) {
		hp_free(&p);
		return rc;
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
	hp_fmt(p, "<td class=\"names\" data-v=\"%zu\">", e - b);
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

/* Foreign senders of our domains (ov_load found them in its pass): most
 * mail as our domains first. */
static int
foreign_cmp(const void *a, const void *b)
{
	const struct ov_source *x = *(const struct ov_source *const *)a;
	const struct ov_source *y = *(const struct ov_source *const *)b;

	if (x->foreign_messages != y->foreign_messages)
		return x->foreign_messages > y->foreign_messages ? -1 : 1;
	return strcmp(x->ip, y->ip);
}

/* Reverse DNS names from the cache (SQ_PTR_NAMES), sorted by IP. */
struct ptr {
	char *ip, *name;
	int status;                /* 'o', 'n', 'e' */
	int confirmed;
	int64_t at;
};

struct ptrs {
	struct ptr *v;
	size_t n, cap;
};

static int
ptr_cb(void *ctx, const struct store_row *r)
{
	struct ptrs *ps = ctx;
	struct ptr *x;

	if (ps->n == ps->cap) {
		size_t nc = ps->cap ? ps->cap * 2 : 64;
		void *a = realloc(ps->v, nc * sizeof *ps->v);

		if (a == NULL)
			return ERR_NOMEM;
		ps->v = a;
		ps->cap = nc;
	}
	x = &ps->v[ps->n];
	memset(x, 0, sizeof *x);
	if ((x->ip = strdup(r->text[0] ? r->text[0] : "")) == NULL)
		return ERR_NOMEM;
	ps->n++;
	if (r->text[2] != NULL && (x->name = strdup(r->text[2])) == NULL)
		return ERR_NOMEM;
	x->status = r->text[1] ? r->text[1][0] : 'e';
	x->confirmed = r->num[3] != 0;
	x->at = r->num[4];
	return 0;
}

static int
ptr_ip_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ptr *)a)->ip, ((const struct ptr *)b)->ip);
}

static const struct ptr *
find_ptr(const struct ptrs *ps, const char *ip)
{
	struct ptr key;

	if (ps->n == 0)
		return NULL;
	key.ip = (char *)ip;
	return bsearch(&key, ps->v, ps->n, sizeof *ps->v, ptr_ip_cmp);
}

static void
ptrs_free(struct ptrs *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->v[i].ip);
		free(ps->v[i].name);
	}
	free(ps->v);
}

/* The reverse DNS cell: the cached name, or plainly why there is none. */
static void
ptr_cell(struct html_page *p, const struct ptr *x)
{
	if (x == NULL) {
		hp_raw(p, "<td class=\"muted ptr\">not resolved</td>");
		return;
	}
	if (x->status == 'o' && x->name != NULL) {
		hp_raw(p, "<td class=\"ptr\">");
		hp_text(p, x->name);
		hp_raw(p, x->confirmed ? "" : " <span class=\"muted\">(does "
		    "not resolve back)</span>");
		hp_raw(p, "</td>");
	} else if (x->status == 'n') {
		hp_raw(p, "<td class=\"muted ptr\">no PTR record</td>");
	} else {
		hp_raw(p, "<td class=\"muted ptr\">lookup failed</td>");
	}
}

/* The foreign senders of one kind (failing or passing DMARC), most mail
 * as our domains first (order[]). */
static void
foreign_list(struct html_page *p, const struct ov_source *const *order,
    size_t n_order, int passing, const struct ptrs *ps)
{
	static const char *const cols[] = { "Source IP",
	    "#Messages as our domains", "#DMARC pass", "header_from (one of "
	    "them)", "Reverse DNS", NULL };
	size_t n = 0, shown = 0;

	for (size_t i = 0; i < n_order; i++)
		n += ov_foreign_passes(order[i]) == passing;
	if (n == 0)
		return;
	hp_fmt(p, "<h3>%s: %zu %s</h3>", passing ? "Passing DMARC (a service "
	    "you use that is not in <code>[sender] ips</code>?)" :
	    "Failing DMARC (likely spoofing)", n, hp_noun(n, "sources"));
	if (n > LIM_HTML_FOREIGN)
		hp_fmt(p, "<p class=\"muted\">The %d with the most mail; every "
		    "one has its row in the table below.</p>", LIM_HTML_FOREIGN);
	hp_table(p, passing ? "foreign-svc-list" : "foreign-spoof-list", NULL,
	    cols);
	for (size_t i = 0; i < n_order && shown < LIM_HTML_FOREIGN; i++) {
		const struct ov_source *x = order[i];

		if (ov_foreign_passes(x) != passing)
			continue;
		shown++;
		hp_raw(p, "<tr data-ip=\"");
		hp_text(p, x->ip);
		hp_raw(p, "\"><td class=\"nw\">");
		hp_text(p, x->ip);
		hp_raw(p, "</td>");
		hp_td_num(p, x->foreign_messages, "messages");
		hp_td_pct(p, x->foreign_pass, x->foreign_messages);
		hp_td_text(p, x->foreign_from);
		ptr_cell(p, find_ptr(ps, x->ip));
		hp_tr_end(p);
	}
	hp_table_end(p);
}

static int
page_sources(struct hctx *c, struct err *err)
{
	struct ptrs ps;
	static const char *const cols[] = { "Source IP", "Who",
	    "#Messages", "#DMARC pass", "header_from domains", "Reporters",
	    "~Reverse DNS", "#SPF aligned", "#DKIM aligned", "#Quarantined",
	    "#Rejected", "First day", "Last day", NULL };
	struct store_query_filter qf = c->f;
	struct detail_ctx *dc = NULL;
	struct html_page p;
	const char **ips = NULL;
	const struct ov_source **order = NULL;
	size_t n_order = 0, n_ptr;
	size_t n = c->ov.n_src < LIM_HTML_SOURCES ? c->ov.n_src :
	    LIM_HTML_SOURCES;
	size_t ri = 0, fi = 0, n_rep = 0, n_from = 0;
	const struct ov_pair *rep = NULL, *from = NULL;
	int rc = 0;

	memset(&ps, 0, sizeof ps);
	hp_init(&p);
	if ((dc = calloc(1, sizeof *dc)) == NULL ||
	    (ips = calloc(n + 2 * LIM_HTML_FOREIGN + 1, sizeof *ips)) == NULL ||
	    (order = calloc(c->ov.n_src + 1, sizeof *order)) == NULL ||
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
		rep = dc->rep.v;
		n_rep = dc->rep.n;
		from = dc->from.v;
		n_from = dc->from.n;
	} else {
		/* Borrowed from the overview; pairs_free() below frees
		 * only what this page allocated. */
		rep = c->ov.rep_pairs;
		n_rep = c->ov.n_rep_pairs;
		from = c->ov.from_pairs;
		n_from = c->ov.n_from_pairs;
	}
	/* The foreign senders found by the overview's pass, most mail as
	 * our domains first. */
	for (size_t i = 0; i < c->ov.n_src; i++)
		if (c->ov.src[i].foreign_messages > 0)
			order[n_order++] = &c->ov.src[i];
	ov_sort(order, n_order, sizeof *order, foreign_cmp);
	/* Cached reverse DNS names of the listed sources, and of the
	 * foreign ones listed beyond them. */
	n_ptr = n;
	for (size_t i = 0, k[2] = { 0, 0 }; i < n_order; i++) {
		int pass = ov_foreign_passes(order[i]);

		if (order[i] >= &c->ov.src[n] && k[pass]++ < LIM_HTML_FOREIGN)
			ips[n_ptr++] = order[i]->ip;
	}
	qf = c->f;
	qf.ips = ips;
	qf.n_ips = n_ptr;
	if (n_ptr > 0 && (rc = store_query_each(c->st, SQ_PTR_NAMES, &qf,
	    ptr_cb, &ps, err)) != 0)
		goto out;
	ov_sort(ps.v, ps.n, sizeof *ps.v, ptr_ip_cmp);
	hp_head(&p, "Sources: who sends as us", "sources.html", c->range);
	if (c->ov.n_src > LIM_HTML_SOURCES)
		hp_fmt(&p, "<p class=\"note\">%zu source IPs; the %d with the "
		    "most messages are listed (the page shows at most %d).</p>",
		    c->ov.n_src, LIM_HTML_SOURCES, LIM_HTML_SOURCES);
	hp_raw(&p, "<p>Every sending IP that receivers reported, by volume, "
	    "with the domains it used in the From header and who reported "
	    "it.");
	if (c->n_sender == 0)
		hp_raw(&p, " Ownership is unknown until the sender's own "
		    "addresses are configured (<code>[sender] ips</code>).");
	hp_raw(&p, "</p>");
	if (ps.n == 0)
		hp_raw(&p, "<p class=\"muted\" id=\"ptr-none\">Reverse DNS: no "
		    "names are cached, so every address shows \"not resolved\". "
		    "The pages never look names up themselves; run <code>"
		    "dmarcwatch resolve</code> to look up and cache them.</p>");
	else
		hp_fmt(&p, "<p class=\"muted\" id=\"ptr-some\" "
		    "data-value=\"%zu\">Reverse DNS: %zu of these %zu %s have a "
		    "cached lookup (<code>dmarcwatch resolve</code>); the others "
		    "show \"not resolved\".</p>", ps.n, ps.n, n,
		    hp_noun(n, "addresses"));
	if (c->ov.foreign_known) {
		hp_fmt(&p, "<section id=\"foreign-senders\" data-value=\"%zu\">"
		    "<h2>Foreign senders of our domains</h2>", n_order);
		if (n_order > 0) {
			hp_raw(&p, "<p>Addresses that are not in <code>[sender] "
			    "ips</code> sent mail with one of our domains in "
			    "the From header. Those that fail DMARC are likely "
			    "spoofing (receivers quarantine or reject them when "
			    "the policy says so); those that pass signed or "
			    "sent with our authorisation: a service we use, to "
			    "add to <code>[sender] ips</code> if it is "
			    "ours.</p>");
			foreign_list(&p, order, n_order, 0, &ps);
			foreign_list(&p, order, n_order, 1, &ps);
		} else {
			hp_raw(&p, "<p class=\"ok\">None: every address that "
			    "sent mail as our domains is in <code>[sender] "
			    "ips</code>.</p>");
		}
		hp_raw(&p, "</section>");
	}
	hp_raw(&p, "<h2>All sources</h2>");
	hp_fmt(&p, "<p class=\"muted\" id=\"source-count\" "
	    "data-value=\"%zu\">%zu source %s listed.</p>", n, n,
	    hp_noun(n, "IPs"));
	hp_table(&p, "sources", NULL, cols);
	for (size_t i = 0; i < n; i++) {
		const struct ov_source *s = &c->ov.src[i];
		int foreign = s->foreign_messages > 0;
		int passing = ov_foreign_passes(s);

		hp_raw(&p, !foreign ? "<tr data-ip=\"" : passing ?
		    "<tr class=\"svc\" data-ip=\"" :
		    "<tr class=\"spoof\" data-ip=\"");
		hp_text(&p, s->ip);
		hp_raw(&p, "\"><td class=\"nw\">");
		hp_text(&p, s->ip);
		hp_raw(&p, "</td>");
		if (c->n_sender == 0)
			hp_raw(&p, "<td class=\"own muted\">unknown (set "
			    "[sender] ips)</td>");
		else if (foreign && !passing)
			hp_raw(&p, "<td class=\"own\"><span class=\"tag spoof\">"
			    "foreign, failing DMARC</span></td>");
		else if (foreign)
			hp_raw(&p, "<td class=\"own\"><span class=\"tag svc\">"
			    "foreign, passing DMARC</span></td>");
		else if (is_ours(c, s->ip))
			hp_raw(&p, "<td class=\"own\"><span class=\"tag ours\">"
			    "ours</span></td>");
		else
			hp_raw(&p, "<td class=\"own\">not ours</td>");
		hp_td_num(&p, s->messages, "messages");
		hp_td_pct(&p, s->pass, s->messages);
		names_cell(&p, from, n_from, &fi, i);
		names_cell(&p, rep, n_rep, &ri, i);
		ptr_cell(&p, find_ptr(&ps, s->ip));
		hp_td_pct(&p, s->spf, s->messages);
		hp_td_pct(&p, s->dkim, s->messages);
		hp_td_num(&p, s->quarantine, "messages");
		hp_td_num(&p, s->reject, "messages");
		hp_td_nw(&p, s->first);
		hp_td_nw(&p, s->last);
		hp_tr_end(&p);
	}
	hp_table_end(&p);
	rc = write_page(c, &p, "sources.html", err);
out:
	ptrs_free(&ps);
	free((void *)order);
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
	struct html_page p;
	int rc;

	hp_init(&p);
	hp_head(&p, "Warm-up per IP and provider", "warmup.html", c->range);
	rc = html_warmup_page(&p, c->st, &c->f, c->wips, c->n_wips,
	    c->n_sender > 0, c->eng, err);
	if (rc == 0)
		rc = write_page(c, &p, "warmup.html", err);
	hp_free(&p);
	return rc;
}

/* ---- tls.html ---- */

/* A JSON array of strings (mx_hosts, policy_strings, as stored) shown one
 * per line; anything else as the text it is. Escaped either way. */
static void
json_list(struct html_page *p, const char *json, const char *none)
{
	struct reader_mem m;
	struct reader rd;
	struct jv *doc = NULL;
	struct err e;

	if (json == NULL || *json == '\0') {
		hp_fmt(p, "<span class=\"muted\">%s</span>", none);
		return;
	}
	err_clear(&e);
	reader_mem_init(&m, json, strlen(json), 0, &rd);
	if (jv_parse(&rd, LIM_JSON_BYTES, LIM_JSON_DEPTH, &doc, &e) != 0 ||
	    !jv_is_array(doc)) {
		hp_text(p, json);
		jv_free(doc);
		return;
	}
	for (size_t i = 0; i < jv_array_size(doc); i++) {
		const char *v = jv_string_value(jv_array_get(doc, i), NULL);

		if (i > 0)
			hp_raw(p, "<br>");
		hp_text_or(p, v, "(not text)");
	}
	if (jv_array_size(doc) == 0)
		hp_fmt(p, "<span class=\"muted\">%s</span>", none);
	jv_free(doc);
}

struct tls_rows {
	struct html_page *p;
	int64_t n;
};

static int
tls_detail_cb(void *ctx, const struct store_row *r)
{
	struct tls_rows *t = ctx;

	if (++t->n > LIM_HTML_TLS_ROWS)
		return 0;
	hp_tr(t->p);
	hp_td_text(t->p, r->text[1]);
	hp_td_text(t->p, r->text[2]);
	hp_td_num(t->p, (uint64_t)r->num[3], "sessions");
	hp_tr_end(t->p);
	return 0;
}

static int
tls_policy_cb(void *ctx, const struct store_row *r)
{
	struct tls_rows *t = ctx;
	struct html_page *p = t->p;
	uint64_t ok = r->num[3] > 0 ? (uint64_t)r->num[3] : 0;
	uint64_t bad = r->num[4] > 0 ? (uint64_t)r->num[4] : 0;

	if (++t->n > LIM_HTML_TLS_ROWS)
		return 0;
	hp_tr(p);
	hp_td_text(p, r->text[1]);
	hp_raw(p, "<td>");
	json_list(p, r->text[2], "none given");
	hp_raw(p, "</td>");
	hp_td_num(p, ok, "sessions");
	hp_td_num(p, bad, "sessions");
	hp_td_pct(p, ok, ok + bad);
	hp_td_num(p, r->num[5] > 0 ? (uint64_t)r->num[5] : 0, "reports");
	hp_tr_end(p);
	return 0;
}

static int
page_tls(struct hctx *c, struct err *err)
{
	static const char *const cols[] = { "Receiving MX", "Result type",
	    "#Failed sessions", NULL };
	static const char *const pcols[] = { "Policy type", "MX host patterns",
	    "#Successful sessions", "#Failed sessions", "#Success",
	    "#Reports", NULL };
	struct html_page p;
	int rc = 0;

	hp_init(&p);
	hp_head(&p, "TLS-RPT (SMTP TLS reports)", "tls.html", c->range);
	if (c->ov.n_tls == 0)
		hp_raw(&p, "<p class=\"note\">No TLS-RPT data in this range."
		    "</p>");
	hp_raw(&p, "<p>Sessions other mail servers opened to ours, as they "
	    "reported them (RFC 8460), per policy domain: per policy (its "
	    "type and the MX host patterns it names) and, for failures, per "
	    "receiving MX and result type.</p><p class=\"muted\" "
	    "id=\"per-policy-note\">Successful sessions are counted per "
	    "policy, not per MX: a report gives them only in the policy's "
	    "summary. Failed sessions come per receiving MX too.</p>");
	for (size_t i = 0; i < c->ov.n_tls && i < LIM_HTML_DOMAINS; i++) {
		const struct tls_domain *d = &c->ov.tls[i];
		struct store_query_filter qf = c->f;
		struct hp_series_day *days;
		struct tls_rows tr;
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
		    "failed", "sessions", days, d->n_days, 0);
		free(days);
		/* One small query each per domain, for this domain only. */
		qf.domain = d->domain;
		qf.limit = LIM_HTML_TLS_ROWS + 1;
		hp_raw(&p, "<h3>Per policy</h3>");
		snprintf(tid, sizeof tid, "tls-policies-%zu", i);
		hp_table(&p, tid, NULL, pcols);
		memset(&tr, 0, sizeof tr);
		tr.p = &p;
		if ((rc = store_query_each(c->st, SQ_TLS_POLICIES, &qf,
		    tls_policy_cb, &tr, err)) != 0)
			break;
		hp_table_end(&p);
		if (tr.n == 0)
			hp_raw(&p, "<p class=\"muted\">No policies of reports "
			    "that begin in this range.</p>");
		else if (tr.n > LIM_HTML_TLS_ROWS)
			hp_fmt(&p, "<p class=\"muted\">The first %d policies "
			    "are listed (the page shows at most %d).</p>",
			    LIM_HTML_TLS_ROWS, LIM_HTML_TLS_ROWS);
		hp_raw(&p, "<h3>Failures by receiving MX and result type</h3>");
		snprintf(tid, sizeof tid, "tls-detail-%zu", i);
		hp_table(&p, tid, NULL, cols);
		memset(&tr, 0, sizeof tr);
		tr.p = &p;
		if ((rc = store_query_each(c->st, SQ_TLS_DETAIL, &qf,
		    tls_detail_cb, &tr, err)) != 0)
			break;
		hp_table_end(&p);
		if (tr.n == 0)
			hp_raw(&p, "<p class=\"muted\">No failure details "
			    "reported.</p>");
		else if (tr.n > LIM_HTML_TLS_ROWS)
			hp_fmt(&p, "<p class=\"muted\">The %d rows with the most "
			    "failed sessions are listed (the page shows at most "
			    "%d).</p>", LIM_HTML_TLS_ROWS, LIM_HTML_TLS_ROWS);
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
	"Other fields", "Arrival-Date",
};
enum { FAIL_OTHER = 20 };

/* The reports that have a page of their own (sorted ids). */
static int
has_page(const struct hctx *c, int64_t id);

/* Calls fn for each [name, value] pair of a failure report's
 * other_fields (a JSON array of pairs, as stored). Returns the number of
 * pairs, or -1 when the text is not such an array. */
static int
other_fields_each(const char *json,
    void (*fn)(void *ctx, const char *name, const char *value), void *ctx)
{
	struct reader_mem m;
	struct reader rd;
	struct jv *doc = NULL;
	struct err e;
	int n = 0;

	if (json == NULL)
		return 0;
	err_clear(&e);
	reader_mem_init(&m, json, strlen(json), 0, &rd);
	if (jv_parse(&rd, LIM_JSON_BYTES, LIM_JSON_DEPTH, &doc, &e) != 0 ||
	    !jv_is_array(doc)) {
		jv_free(doc);
		return -1;
	}
	for (size_t i = 0; i < jv_array_size(doc); i++) {
		const struct jv *pair = jv_array_get(doc, i);
		const char *k = jv_string_value(jv_array_get(pair, 0), NULL);
		const char *v = jv_string_value(jv_array_get(pair, 1), NULL);

		if (k != NULL) {
			fn(ctx, k, v);
			n++;
		}
	}
	jv_free(doc);
	return n;
}

struct find_field {
	const char *name;
	char *value;               /* strdup of the first match */
};

static void
find_field_fn(void *ctx, const char *name, const char *value)
{
	struct find_field *f = ctx;

	if (f->value == NULL && value != NULL &&
	    strcasecmp(name, f->name) == 0)
		f->value = strdup(value);
}

struct dl_ctx {
	struct html_page *p;
};

static void
dl_field_fn(void *ctx, const char *name, const char *value)
{
	struct dl_ctx *d = ctx;

	hp_raw(d->p, "<dt>");
	hp_text(d->p, name);
	hp_raw(d->p, "</dt><dd>");
	hp_text_or(d->p, value, "(not text)");
	hp_raw(d->p, "</dd>");
}

/* Every field of a failure report (an SQ_FAILURES row) as a <dl>; the
 * Other fields one by one. */
static void
arf_fields(struct html_page *p, const struct store_row *r, const char *cls)
{
	struct dl_ctx d = { p };

	hp_fmt(p, "<dl class=\"%s\">", cls);
	for (int i = 2; i < r->ncol && i < (int)(sizeof fail_fields /
	    sizeof fail_fields[0]); i++) {
		if (r->text[i] == NULL)
			continue;
		if (i == FAIL_OTHER &&
		    other_fields_each(r->text[i], dl_field_fn, &d) >= 0)
			continue;
		hp_fmt(p, "<dt>%s</dt><dd>", fail_fields[i]);
		hp_text(p, r->text[i]);
		hp_raw(p, "</dd>");
	}
	hp_raw(p, "</dl>");
}

/* Who sent a failure report: its Reporting-MTA field, else its
 * User-Agent. (The report mail's own From is not stored.) */
static void
arf_reporter(struct html_page *p, const struct store_row *r)
{
	struct find_field f = { "Reporting-MTA", NULL };

	other_fields_each(r->text[FAIL_OTHER], find_field_fn, &f);
	hp_raw(p, "<td>");
	if (f.value != NULL)
		hp_text(p, f.value);
	else if (r->text[16] != NULL) {
		hp_text(p, r->text[16]);
		hp_raw(p, " <span class=\"muted\">(User-Agent)</span>");
	} else
		hp_raw(p, "<span class=\"muted\">not named</span>");
	hp_raw(p, "</td>");
	free(f.value);
}

struct fail_ctx {
	const struct hctx *c;
	struct html_page *p;
	int64_t n;
};

static int
fail_cb(void *ctx, const struct store_row *r)
{
	struct fail_ctx *f = ctx;
	struct html_page *p = f->p;
	int linked = has_page(f->c, r->num[0]);

	if (++f->n > LIM_HTML_FAILURES)
		return 0;
	hp_fmt(p, "<tr id=\"failure-%lld\">", (long long)r->num[0]);
	hp_fmt(p, "<td class=\"n\" data-v=\"%lld\">",
	    r->null[1] ? 0LL : (long long)r->num[1]);
	if (linked)
		hp_fmt(p, "<a href=\"report-%lld.html\">", (long long)r->num[0]);
	if (r->null[1])
		hp_raw(p, "arrival unknown");
	else
		hp_time(p, r->num[1]);
	if (linked)
		hp_raw(p, "</a>");
	hp_raw(p, "</td>");
	arf_reporter(p, r);
	hp_td_nw(p, r->text[2]);
	hp_td_text(p, r->text[3]);
	hp_td_text(p, r->text[5]);
	hp_td_text(p, r->text[6]);
	hp_td_text(p, r->text[12]);
	hp_td_text(p, r->text[14]);
	hp_raw(p, "<td><details><summary>all fields</summary>");
	arf_fields(p, r, "arf");
	hp_raw(p, "</details></td>");
	hp_tr_end(p);
	return 0;
}

static int
page_failures(struct hctx *c, struct err *err)
{
	static const char *const cols[] = { "#Arrival", "Reporter",
	    "Source IP", "Reported domain", "Auth failure", "Delivery result",
	    "~From", "Subject", "Details", NULL };
	struct store_query_filter qf = c->f;
	struct html_page p;
	struct fail_ctx fc;
	int rc;

	hp_init(&p);
	hp_head(&p, "DMARC failure reports", "failures.html", c->range);
	hp_raw(&p, "<p>Failure (forensic) reports, newest first: single "
	    "messages that failed DMARC, as receivers described them. The "
	    "arrival time links to the report's own page when it has one (the "
	    "newest reports). Every field is shown as text; nothing in them "
	    "is a link.</p>");
	hp_fmt(&p, "<p class=\"muted\" id=\"failure-count\" "
	    "data-value=\"%llu\">%llu failure %s in the range", 
	    (unsigned long long)c->ov.n_failure,
	    (unsigned long long)c->ov.n_failure,
	    hp_noun(c->ov.n_failure, "reports"));
	if (c->ov.n_failure > LIM_HTML_FAILURES)
		hp_fmt(&p, "; the newest %d are listed (the page shows at most "
		    "%d)", LIM_HTML_FAILURES, LIM_HTML_FAILURES);
	hp_raw(&p, ".</p>");
	hp_table(&p, "failures", NULL, cols);
	memset(&fc, 0, sizeof fc);
	fc.c = c;
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
	hp_td_text(p, r->text[5]);
	hp_td_text(p, r->text[4]);
	hp_td_text(p, r->text[2]);
	hp_td_text(p, r->text[3]);
	hp_raw(p, "<td><code>");
	hp_text(p, r->text[6]);
	hp_raw(p, "</code></td>");
	hp_tr_end(p);
	return 0;
}

static int
page_rejected(struct hctx *c, struct err *err)
{
	static const char *const cols[] = { "#When", "What went wrong",
	    "Where in the input", "Input (origin)", "~Error", "SHA-256",
	    NULL };
	struct store_query_filter qf = c->f;
	struct html_page p;
	struct rej_ctx rx;
	int rc;

	hp_init(&p);
	hp_head(&p, "Rejected inputs", "rejected.html", c->range);
	hp_raw(&p, "<p>Inputs that produced no report, newest first, with "
	    "what was wrong and where. The range applies to the time of the "
	    "import");
	if (c->o->since <= 0 && c->o->until <= 0)
		hp_raw(&p, " (the default range: from its first day to now)");
	hp_raw(&p, "; the domain filter does not apply (a rejected input has "
	    "no policy domain).</p>");
	hp_fmt(&p, "<p class=\"muted\" id=\"rejected-count\" "
	    "data-value=\"%llu\">%llu rejected %s", 
	    (unsigned long long)c->ov.n_rejected,
	    (unsigned long long)c->ov.n_rejected,
	    hp_noun(c->ov.n_rejected, "inputs"));
	if (c->ov.n_rejected > LIM_HTML_REJECTED)
		hp_fmt(&p, "; the newest %d are listed (the page shows at most "
		    "%d)", LIM_HTML_REJECTED, LIM_HTML_REJECTED);
	hp_raw(&p, ".</p>");
	hp_table(&p, "rejected", NULL, cols);
	memset(&rx, 0, sizeof rx);
	rx.p = &p;
	qf.limit = LIM_HTML_REJECTED + 1;
	qf.domain = NULL;
	if (c->o->since <= 0 && c->o->until <= 0)
		qf.until = 0;     /* import times: up to now */
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
	int64_t *ids;              /* the ids of v, sorted: has_page() */
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
	    "Policy domain", "#Messages", "#DMARC pass", "~#Records",
	    "#Warnings", "Report id", NULL };
	struct html_page p;

	hp_init(&p);
	hp_head(&p, "Reports", "reports.html", c->range);
	hp_fmt(&p, "<p>The newest reports by the begin of their range, at most "
	    "%d; each has a page with its records. <code>dmarcwatch reports"
	    "</code> lists them all.</p>", LIM_HTML_REPORT_PAGES);
	hp_table(&p, "reports", NULL, cols);
	for (size_t i = 0; i < rs->n; i++) {
		const struct rep *x = &rs->v[i];
		int agg = x->s[R_KIND] && strcmp(x->s[R_KIND], "aggregate") == 0;
		int tls = x->s[R_KIND] && strcmp(x->s[R_KIND], "tlsrpt") == 0;

		hp_tr(&p);
		hp_td_time(&p, x->begin);
		hp_fmt(&p, "<td class=\"nw\"><a href=\"report-%lld.html\">%s"
		    "</a></td>", (long long)x->id, kind_label(x->s[R_KIND]));
		hp_td_text(&p, x->s[R_ORG]);
		hp_td_text(&p, x->s[R_DOMAIN]);
		hp_td_num(&p, x->messages, agg ? "messages" : tls ? "sessions" :
		    "messages");
		if (agg)
			hp_td_pct(&p, x->pass, x->messages);
		else
			hp_raw(&p, "<td class=\"n muted\" data-v=\"-1\">"
			    "n/a</td>");
		hp_td_num(&p, x->records, agg ? "records" : tls ? "policies" :
		    "reports");
		hp_td_num(&p, x->warnings, "warnings");
		hp_td_text(&p, x->s[R_RID]);
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

	hp_raw(p, "<td class=\"auth\">");
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
	/* The columns that say why a row passed or failed first; the
	 * envelope, which DMARC does not judge, last. */
	hp_tr(p);
	hp_raw(p, "<td class=\"nw\">");
	hp_text(p, r->text[2]);
	hp_raw(p, "</td>");
	hp_td_num(p, (uint64_t)r->num[3], "messages");
	hp_td_text(p, r->num[7] ? "pass" : "fail");
	hp_td_text(p, r->text[4]);
	hp_td_text(p, r->text[5]);
	hp_td_text(p, r->text[6]);
	hp_td_text(p, r->text[8]);
	auth_cell(p, d->as, b, e, "dkim");
	auth_cell(p, d->as, b, e, "spf");
	auth_cell(p, d->as, b, e, "reason");
	hp_td_text(p, r->text[9]);
	hp_td_text(p, r->text[10]);
	hp_td_num(p, (uint64_t)r->num[1], NULL);   /* row number: no unit */
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
		hp_fmt(n->p, " (%lld %s)", (long long)r->num[2],
		    r->num[2] == 1 ? "time" : "times");
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

/* A TLS-RPT report's page: its policies and their failure details
 * (SQ_REPORT_TLS), as the report gave them. */
struct rtls {
	struct html_page *p;
	int64_t last_policy;       /* seq of the policy being written */
	int64_t n;
	int in_fail;
};

static const char *const rtls_fcols[] = { "Result type",
    "Receiving MX", "#Failed sessions", "Sending MTA", "Receiving IP",
    "~Receiving MX HELO", "Failure reason code",
    "Additional information (not a link)", NULL };

static void
rtls_close(struct rtls *t)
{
	if (t->in_fail)
		hp_table_end(t->p);
	t->in_fail = 0;
	if (t->last_policy >= 0)
		hp_raw(t->p, "</section>");
}

static int
rtls_cb(void *ctx, const struct store_row *r)
{
	struct rtls *t = ctx;
	struct html_page *p = t->p;
	uint64_t ok = r->num[5] > 0 ? (uint64_t)r->num[5] : 0;
	uint64_t bad = r->num[6] > 0 ? (uint64_t)r->num[6] : 0;

	if (++t->n > LIM_HTML_RECORDS_PER_PAGE)
		return 0;
	if (r->num[0] != t->last_policy) {
		rtls_close(t);
		t->last_policy = r->num[0];
		hp_fmt(p, "<section class=\"policy\" data-seq=\"%lld\"><h3>"
		    "Policy %lld: ", (long long)r->num[0],
		    (long long)r->num[0] + 1);
		hp_text_or(p, r->text[1], "type not given");
		hp_raw(p, " for ");
		hp_text_or(p, r->text[2], "(no domain)");
		hp_raw(p, "</h3><dl class=\"meta\"><dt>Sessions</dt><dd>");
		hp_num(p, ok);
		hp_raw(p, " successful, ");
		hp_num(p, bad);
		hp_raw(p, " failed (");
		hp_pct(p, ok, ok + bad);
		hp_raw(p, " success)</dd><dt>MX host patterns</dt><dd>");
		json_list(p, r->text[4], "none given");
		hp_raw(p, "</dd><dt>Policy (as published)</dt><dd>");
		json_list(p, r->text[3], "not given");
		hp_raw(p, "</dd></dl>");
	}
	if (r->null[7]) {
		hp_raw(p, "<p class=\"muted\">No failure details for this "
		    "policy.</p>");
		return 0;
	}
	if (!t->in_fail) {
		hp_table(p, NULL, "Failure details", rtls_fcols);
		t->in_fail = 1;
	}
	hp_tr(p);
	hp_td_text(p, r->text[8]);
	hp_td_text(p, r->text[10]);
	hp_td_num(p, r->num[13] > 0 ? (uint64_t)r->num[13] : 0, "sessions");
	hp_td_text(p, r->text[9]);
	hp_td_text(p, r->text[12]);
	hp_td_text(p, r->text[11]);
	hp_td_text(p, r->text[15]);
	hp_td_text(p, r->text[14]);
	hp_tr_end(p);
	return 0;
}

static int
report_tls(struct hctx *c, struct html_page *p, const struct rep *x,
    struct err *err)
{
	struct store_query_filter qf;
	struct rtls t;
	int rc;

	memset(&qf, 0, sizeof qf);
	memset(&t, 0, sizeof t);
	t.p = p;
	t.last_policy = -1;
	qf.report_id = x->id;
	qf.limit = LIM_HTML_RECORDS_PER_PAGE + 1;
	hp_raw(p, "<h2>Policies</h2><p class=\"muted\">Successful sessions "
	    "are given per policy; failures per receiving MX and result "
	    "type. The <a href=\"tls.html\">TLS-RPT page</a> sums all reports."
	    "</p>");
	rc = store_query_each(c->st, SQ_REPORT_TLS, &qf, rtls_cb, &t, err);
	rtls_close(&t);
	if (t.n == 0)
		hp_raw(p, "<p class=\"muted\">This report lists no policies."
		    "</p>");
	else if (t.n > LIM_HTML_RECORDS_PER_PAGE)
		hp_fmt(p, "<p class=\"note\">The first %d rows are shown (a page "
		    "shows at most %d).</p>", LIM_HTML_RECORDS_PER_PAGE,
		    LIM_HTML_RECORDS_PER_PAGE);
	return rc;
}

struct rfail {
	struct html_page *p;
	int n;
};

static int
rfail_cb(void *ctx, const struct store_row *r)
{
	struct rfail *f = ctx;

	if (f->n++ > 0)
		return 0;
	hp_raw(f->p, "<h2>The failure report</h2><p>Every field of the "
	    "feedback report and the headers of the failed message, as the "
	    "receiver sent them (text only; nothing here is a link).</p>");
	arf_fields(f->p, r, "meta arf");
	return 0;
}

static int
report_failure(struct hctx *c, struct html_page *p, const struct rep *x,
    struct err *err)
{
	struct store_query_filter qf;
	struct rfail f;
	int rc;

	memset(&qf, 0, sizeof qf);
	memset(&f, 0, sizeof f);
	f.p = p;
	qf.report_id = x->id;
	qf.limit = 1;
	rc = store_query_each(c->st, SQ_FAILURES, &qf, rfail_cb, &f, err);
	if (rc == 0 && f.n == 0)
		hp_raw(p, "<p class=\"muted\">No failure report fields stored "
		    "for this report.</p>");
	return rc;
}

static int
page_report(struct hctx *c, const struct rep *x, struct err *err)
{
	static const char *const cols[] = { "Source IP", "#Count", "DMARC",
	    "Disposition", "DKIM aligned", "SPF aligned", "header_from",
	    "DKIM results", "SPF results", "~Override reasons",
	    "envelope_from", "envelope_to", "#Row", NULL };
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
	if (x->s[R_KIND] && strcmp(x->s[R_KIND], "tlsrpt") == 0) {
		if ((rc = report_tls(c, &p, x, err)) != 0)
			goto out;
		goto write;
	}
	if (!agg) {
		if ((rc = report_failure(c, &p, x, err)) != 0)
			goto out;
		goto write;
	}
	hp_raw(&p, "<h2>Records</h2>");
	if (x->records > LIM_HTML_RECORDS_PER_PAGE)
		hp_fmt(&p, "<p class=\"note\" id=\"records-capped\">This report "
		    "has %llu records; the first %d are shown (a page shows at "
		    "most %d). All of them are in the database (table records, "
		    "report id %lld).</p>",
		    (unsigned long long)x->records, LIM_HTML_RECORDS_PER_PAGE,
		    LIM_HTML_RECORDS_PER_PAGE, (long long)x->id);
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
	    "data-value=\"%lld\">%lld %s shown.</p>",
	    (long long)rd.shown, (long long)rd.shown,
	    hp_noun((uint64_t)rd.shown, "records"));
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
id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
has_page(const struct hctx *c, int64_t id)
{
	return c->reps != NULL && c->reps->n > 0 &&
	    bsearch(&id, c->reps->ids, c->reps->n, sizeof id, id_cmp) != NULL;
}

/* The reports that get a page, read before any page is written (the
 * failures page links to theirs). */
static int
reps_load(struct hctx *c, struct err *err)
{
	struct store_query_filter qf = c->f;
	int rc;

	if ((c->reps = calloc(1, sizeof *c->reps)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	qf.limit = LIM_HTML_REPORT_PAGES;
	if ((rc = store_query_each(c->st, SQ_REPORTS_LATEST, &qf, rep_cb,
	    c->reps, err)) != 0)
		goto out;
	if ((c->reps->ids = calloc(c->reps->n ? c->reps->n : 1,
	    sizeof *c->reps->ids)) == NULL) {
		rc = ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->reps->n; i++)
		c->reps->ids[i] = c->reps->v[i].id;
	ov_sort(c->reps->ids, c->reps->n, sizeof *c->reps->ids, id_cmp);
out:
	if (rc == ERR_NOMEM)
		err_set(err, rc, "out of memory");
	return rc;
}

static void
reps_free(struct reps *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++)
		for (int j = 0; j < R__N; j++)
			free(rs->v[i].s[j]);
	free(rs->v);
	free(rs->ids);
	free(rs);
}

static int
pages_reports(struct hctx *c, struct err *err)
{
	int rc;

	if ((rc = page_reports(c, c->reps, err)) != 0)
		return rc;
	for (size_t i = 0; i < c->reps->n && rc == 0; i++)
		rc = page_report(c, &c->reps->v[i], err);
	return rc;
}

/*
 * Removes the report-<id>.html files of earlier runs that this run did
 * not write (reports that dropped out of the newest, or out of the
 * range): their links are gone and their contents would be stale. Only
 * names of exactly that form, which this program writes, are touched.
 */
static void
remove_stale(struct hctx *c)
{
	DIR *d = opendir(c->o->out_dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name, *q;
		uint64_t id;
		char path[4096];

		if (strncmp(n, "report-", 7) != 0)
			continue;
		for (q = n + 7; *q >= '0' && *q <= '9'; q++)
			;
		if (q == n + 7 || q - (n + 7) > 18 || strcmp(q, ".html") != 0 ||
		    sp_uint64_all(n + 7, (size_t)(q - (n + 7)), &id,
		    INT64_MAX) != 0 || has_page(c, (int64_t)id))
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s",
		    c->o->out_dir, n) < sizeof path && unlink(path) == 0)
			c->stats.removed++;
	}
	closedir(d);
}

/* ---- the whole set ---- */

/* Day number of "YYYY-MM-DD" (days since 1970-01-01), -1 when it is not
 * one. */
static int64_t
day_of(const char *s)
{
	int64_t t;

	if (s == NULL || time_parse_iso8601(s, &t) != 0)
		return -1;
	return t >= 0 ? t / 86400 : -1;
}

struct span {
	char first[16], last[16], top[16];
};

static int
span_cb(void *ctx, const struct store_row *r)
{
	struct span *sp = ctx;

	snprintf(sp->first, sizeof sp->first, "%s", r->text[0] ? r->text[0] :
	    "");
	snprintf(sp->last, sizeof sp->last, "%s", r->text[1] ? r->text[1] :
	    "");
	snprintf(sp->top, sizeof sp->top, "%s", r->text[2] ? r->text[2] :
	    "");
	return 0;
}

/*
 * The range of the pages and the line that says it. Without --since the
 * pages cover LIM_HTML_DEFAULT_DAYS days ending on the last day with data
 * (today at the latest: a report dated in the future must not move the
 * window there), with --until as given. The line says plainly what is
 * shown, what is left out and how to choose another range.
 */
static int
set_range(struct hctx *c, struct err *err)
{
	struct store_query_filter sf;
	struct span sp;
	char a[16] = "", b[16] = "";
	int64_t today = c->now / 86400, first, last, top, end, start;
	size_t n;
	int rc;

	memset(&sp, 0, sizeof sp);
	c->f.since = c->o->since;
	c->f.until = c->o->until;
	if (c->o->since > 0) {
		time_iso_day(c->o->since, a, sizeof a);
		if (c->o->until > 0)
			time_iso_day(c->o->until - 1, b, sizeof b);
		n = (size_t)snprintf(c->range, sizeof c->range, "Range: %s to "
		    "%s (UTC days, as asked)", a, c->o->until > 0 ? b :
		    "the last day");
		goto domain;
	}
	/* The window ends on the last day with data up to today, or up to
	 * --until. */
	end = c->o->until > 0 && (c->o->until - 1) / 86400 < today ?
	    (c->o->until - 1) / 86400 : today;
	memset(&sf, 0, sizeof sf);
	sf.until = (end + 1) * 86400;
	if ((rc = store_query_each(c->st, SQ_DATA_SPAN, &sf, span_cb, &sp,
	    err)) != 0)
		return rc;
	first = day_of(sp.first);
	last = day_of(sp.last);
	top = day_of(sp.top);
	if (last < 0) {
		n = (size_t)snprintf(c->range, sizeof c->range, "Range: all "
		    "data (there is none %s)", top >= 0 ?
		    "up to the range's end" : "yet");
		goto domain;
	}
	end = last;
	start = end - (LIM_HTML_DEFAULT_DAYS - 1);
	c->f.since = start * 86400;
	c->f.until = (end + 1) * 86400;
	time_iso_day(c->f.since, a, sizeof a);
	time_iso_day(c->f.until - 1, b, sizeof b);
	n = (size_t)snprintf(c->range, sizeof c->range, "Range: the %d days "
	    "from %s to %s (UTC), the default: the last %d days with data. "
	    "Choose another with --since DATE and --until DATE.",
	    LIM_HTML_DEFAULT_DAYS, a, b, LIM_HTML_DEFAULT_DAYS);
	if (first >= 0 && first < start && n < sizeof c->range)
		n += (size_t)snprintf(c->range + n, sizeof c->range - n,
		    " Older data, from %s on, is not shown.", sp.first);
	if (top > today && c->o->until <= 0 && n < sizeof c->range)
		n += (size_t)snprintf(c->range + n, sizeof c->range - n,
		    " Data dated after today (up to %s) is not shown: a "
		    "report with a wrong date?", sp.top);
	else if (top > end && n < sizeof c->range)
		n += (size_t)snprintf(c->range + n, sizeof c->range - n,
		    " Newer data, up to %s, is not shown.", sp.top);
domain:
	if (c->o->domain != NULL && n < sizeof c->range)
		snprintf(c->range + n, sizeof c->range - n,
		    " Policy domain %s only.", c->o->domain);
	return 0;
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

/* Rejected inputs are counted by import time: under the default range
 * up to now, not up to the last day with data. */
static int
rejected_count_cb(void *ctx, const struct store_row *r)
{
	*(uint64_t *)ctx = r->num[3] > 0 ? (uint64_t)r->num[3] : 0;
	return 0;
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
	c.f.domain = o->domain;
	/* The database first: a wrong -d leaves no empty directory. */
	if ((rc = store_open(db_path, STORE_READONLY, &c.st, err)) != 0)
		return rc;
	if ((rc = set_range(&c, err)) != 0)
		goto out;
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
	{
		/* With our IPs and domains, the overview's pass also finds
		 * the foreign senders of our domains. */
		struct store_query_filter of = c.f;

		of.ips = (const char *const *)c.sender;
		of.n_ips = c.n_sender;
		of.sender_domains = o->sender_domains;
		of.n_sender_domains = o->n_sender_domains;
		if ((rc = ov_load(c.st, &of, &c.ov, err)) != 0)
			goto out;
	}
	if (o->since <= 0 && o->until <= 0) {
		struct store_query_filter rf = c.f;

		rf.until = 0;
		if ((rc = store_query_each(c.st, SQ_RANGE_COUNTS, &rf,
		    rejected_count_cb, &c.ov.n_rejected, err)) != 0)
			goto out;
	}
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
	if ((rc = reps_load(&c, err)) != 0)
		goto out;
	/* sources before warm-up: it picks the busiest sources. */
	if ((rc = page_sources(&c, err)) != 0)
		goto out;
	if (c.n_sender > 0) {
		c.wips = (const char *const *)c.sender;
		c.n_wips = c.n_sender < LIM_HTML_WARMUP_IPS ? c.n_sender :
		    LIM_HTML_WARMUP_IPS;
	} else {
		c.wips = c.busiest;
		c.n_wips = c.n_busiest;
	}
	/* The reputation engine's tables (send log, gates, hints): read
	 * once, for warmup.html and the summary on index.html. */
	if ((rc = html_warmup_engine_load(c.st, &c.f, c.wips, c.n_wips, &c.eng,
	    err)) != 0 ||
	    (rc = page_warmup(&c, err)) != 0 ||
	    (rc = page_tls(&c, err)) != 0 ||
	    (rc = page_failures(&c, err)) != 0 ||
	    (rc = page_rejected(&c, err)) != 0 ||
	    (rc = pages_reports(&c, err)) != 0)
		goto out;
	remove_stale(&c);
	/* index.html last: once it is there, every page it links to is. */
	rc = page_index(&c, err);
out:
	if (stats != NULL)
		*stats = c.stats;
	ov_free(&c.ov);
	html_warmup_engine_free(c.eng);
	reps_free(c.reps);
	free(c.busiest);
	free(c.day_ptrs);
	for (size_t i = 0; i < c.n_sender; i++)
		free(c.sender[i]);
	free(c.sender);
	store_free(c.st);
	return rc;
}
