/* report/html_warmup.c - see html_warmup.h. */
#include <stdlib.h>
#include <string.h>

#include "../common/json.h"
#include "../common/limits.h"
#include "../common/reader.h"
#include "html_warmup.h"

struct ipday {
	char *ip, *reporter;
	char day[11];
	uint64_t messages, pass, qr;
};

struct rows {
	struct ipday *v;
	size_t n, cap;
};

static int
row_cb(void *ctx, const struct store_row *r)
{
	struct rows *rs = ctx;
	struct ipday *d;
	size_t n;

	if (rs->n == rs->cap) {
		size_t nc = rs->cap ? rs->cap * 2 : 64;
		void *p = realloc(rs->v, nc * sizeof *rs->v);

		if (p == NULL)
			return ERR_NOMEM;
		rs->v = p;
		rs->cap = nc;
	}
	d = &rs->v[rs->n];
	memset(d, 0, sizeof *d);
	d->ip = strdup(r->text[0] ? r->text[0] : "");
	d->reporter = strdup(r->text[1] ? r->text[1] : "");
	if (d->ip == NULL || d->reporter == NULL) {
		free(d->ip);
		free(d->reporter);
		return ERR_NOMEM;
	}
	n = r->text[2] ? strlen(r->text[2]) : 0;
	memcpy(d->day, r->text[2] ? r->text[2] : "", n > 10 ? 10 : n);
	d->messages = r->num[3] > 0 ? (uint64_t)r->num[3] : 0;
	d->pass = r->num[4] > 0 ? (uint64_t)r->num[4] : 0;
	d->qr = r->num[5] > 0 ? (uint64_t)r->num[5] : 0;
	rs->n++;
	return 0;
}

static const char *
gate_name(enum warmup_gate g)
{
	switch (g) {
	case WARMUP_GATE_GREEN: return "green";
	case WARMUP_GATE_AMBER: return "amber";
	case WARMUP_GATE_RED: return "red";
	default: return "none";
	}
}

/* Colour and the word: never colour alone. */
static void
gate_badge(struct html_page *p, enum warmup_gate g)
{
	hp_fmt(p, "<span class=\"gate %s\">%s</span>", gate_name(g),
	    g == WARMUP_GATE_NONE ? "not gated" : gate_name(g));
}

/* ---- evidence: the hint's JSON array as a table ---- */

/* Metrics that are shares (0..1): shown as percentages. */
static int
is_share(const char *metric)
{
	return metric != NULL && (strstr(metric, "rate") != NULL ||
	    strcmp(metric, "utilisation") == 0 ||
	    strcmp(metric, "coverage") == 0 || strstr(metric, "share") != NULL);
}

/* One evidence value: a number (a share as a percentage), a string, or
 * a list of strings (report ids), escaped. */
static void
ev_value(struct html_page *p, const struct jv *v, int share, int td)
{
	double d;

	if (v == NULL || jv_is_null(v)) {
		hp_raw(p, td ? "<td class=\"muted\">&#8212;</td>" :
		    "<span class=\"muted\">&#8212;</span>");
		return;
	}
	if (jv_number_value(v, &d) == 0) {
		if (td)
			hp_fmt(p, "<td class=\"n\" data-v=\"%.6g\">", d);
		if (share)
			hp_fmt(p, "%.2f&#8239;%%", 100.0 * d);
		else if (d == (double)(int64_t)d && d < 1e15 && d > -1e15)
			hp_fmt(p, "%lld", (long long)d);
		else
			hp_fmt(p, "%.4g", d);
		if (td)
			hp_raw(p, "</td>");
		return;
	}
	if (td)
		hp_raw(p, "<td>");
	if (jv_is_string(v)) {
		hp_text(p, jv_string_value(v, NULL));
	} else if (jv_is_array(v)) {
		for (size_t i = 0; i < jv_array_size(v); i++) {
			const struct jv *e = jv_array_get(v, i);

			if (i > 0)
				hp_raw(p, "<br>");
			if (jv_is_string(e))
				hp_text(p, jv_string_value(e, NULL));
			else
				ev_value(p, e, 0, 0);
		}
	} else {
		hp_fmt(p, "(%s)", jv_type_name(v));
	}
	if (td)
		hp_raw(p, "</td>");
}

/*
 * The evidence behind a hint (throttle_hints.evidence: a JSON array of
 * objects, doc/hints.md) as a table an admin can read. Known members get
 * their own column; any other member is listed in the last one, so a
 * newer engine's evidence is shown rather than lost. Text that is not
 * such an array is shown as it is, escaped.
 */
static void
evidence_table(struct html_page *p, const char *json)
{
	static const struct {
		const char *key, *title;
	} known[] = {
		{ "kind", "Source" }, { "metric", "Metric" },
		{ "value", "#Value" }, { "threshold", "#Threshold" },
		{ "n", "#Based on" }, { "period", "Period" },
		{ "report_ids", "DMARC report ids" },
	};
	const char *cols[sizeof known / sizeof known[0] + 2];
	struct reader_mem m;
	struct reader rd;
	struct jv *doc = NULL;
	struct err e;
	size_t n;

	if (json == NULL || *json == '\0') {
		hp_raw(p, "<p class=\"muted\">No evidence given.</p>");
		return;
	}
	err_clear(&e);
	reader_mem_init(&m, json, strlen(json), 0, &rd);
	if (jv_parse(&rd, LIM_JSON_BYTES, LIM_JSON_DEPTH, &doc, &e) != 0 ||
	    !jv_is_array(doc)) {
		hp_raw(p, "<p>Evidence, as stored (not a list the page can "
		    "lay out): <code class=\"hint-evidence\">");
		hp_text(p, json);
		hp_raw(p, "</code></p>");
		jv_free(doc);
		return;
	}
	n = jv_array_size(doc);
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		cols[i] = known[i].title;
	cols[sizeof known / sizeof known[0]] = "Other";
	cols[sizeof known / sizeof known[0] + 1] = NULL;
	hp_raw(p, "<div class=\"hint-evidence\">");
	hp_table(p, NULL, NULL, cols);
	for (size_t i = 0; i < n; i++) {
		const struct jv *o = jv_array_get(doc, i);
		const char *metric = jv_string_value(jv_get(o, "metric"), NULL);
		const char *k;
		const struct jv *v;
		void *it = NULL;
		int other = 0;

		hp_raw(p, "<tr class=\"ev\">");
		for (size_t c = 0; c < sizeof known / sizeof known[0]; c++) {
			int share = is_share(metric) &&
			    (strcmp(known[c].key, "value") == 0 ||
			    strcmp(known[c].key, "threshold") == 0);

			ev_value(p, jv_get(o, known[c].key), share, 1);
		}
		hp_raw(p, "<td>");
		while (jv_object_next(o, &it, &k, &v)) {
			size_t c;

			for (c = 0; c < sizeof known / sizeof known[0]; c++)
				if (strcmp(known[c].key, k) == 0)
					break;
			if (c < sizeof known / sizeof known[0])
				continue;
			if (other++)
				hp_raw(p, "<br>");
			hp_text(p, k);
			hp_raw(p, ": ");
			ev_value(p, v, 0, 0);
		}
		if (!jv_is_object(o))
			ev_value(p, o, 0, 0);
		hp_raw(p, "</td>");
		hp_tr_end(p);
	}
	hp_table_end(p);
	hp_raw(p, "</div>");
	jv_free(doc);
}

/* ---- one key ---- */

static void
hint_block(struct html_page *p, const struct warmup_hint *h)
{
	hp_raw(p, "<div class=\"hint\"><p><strong>Current hint: "
	    "<span class=\"hint-action\">");
	hp_text_or(p, h->action, "none");
	hp_raw(p, "</span></strong>: at most <span class=\"hint-day\">");
	hp_num(p, h->max_per_day);
	hp_fmt(p, "</span> %s a day, <span class=\"hint-hour\">",
	    hp_noun(h->max_per_day, "messages"));
	hp_num(p, h->max_per_hour);
	hp_raw(p, "</span> an hour, <span class=\"hint-conn\">");
	hp_num(p, h->max_connections);
	hp_fmt(p, "</span> %s.</p><p>Why: <span class=\"hint-reason-text\">",
	    hp_noun(h->max_connections, "connections"));
	hp_text_or(p, h->reason, "no reason given");
	hp_raw(p, "</span> <span class=\"muted\">(reason code <code "
	    "class=\"hint-reason\">");
	hp_text_or(p, h->reason_code, "none");
	hp_raw(p, "</code>)</span></p><p>");
	if (h->valid_from > 0) {
		hp_raw(p, "Valid from ");
		hp_time(p, h->valid_from);
	}
	if (h->valid_until > 0) {
		hp_raw(p, " until <span class=\"hint-until\">");
		hp_time(p, h->valid_until);
		hp_raw(p, "</span>");
	}
	if (h->on_expiry != NULL) {
		hp_raw(p, "; on expiry ");
		hp_text(p, h->on_expiry);
	}
	if (h->confidence >= 0)
		hp_fmt(p, "; confidence <span class=\"hint-conf\">"
		    "%.3f</span>", h->confidence);
	hp_raw(p, ".</p><details><summary>Evidence behind this hint</summary>");
	evidence_table(p, h->evidence);
	hp_raw(p, "</details></div>");
}

/* The engine's view of one key drawn in full: phase, current hint,
 * volume per day against the cap, gates, schedule. */
static void
engine_key(struct html_page *p, const struct warmup_key *k)
{
	static const char *const cols[] = { "Day (UTC)", "#Sent (messages)",
	    "#Delivered (messages)", "#Daily cap (messages)", "Gate",
	    "Gate reason", NULL };
	static const char *const scols[] = { "#Stage", "#Daily cap",
	    "#Hourly cap", "#Minimum days", NULL };
	struct hp_series_day *ch;
	size_t from = k->n_days > LIM_HTML_TABLE_DAYS ?
	    k->n_days - LIM_HTML_TABLE_DAYS : 0;

	hp_fmt(p, "<div class=\"key-eng\" id=\"k-%zu\" data-provider=\"",
	    k->anchor);
	hp_text(p, k->provider);
	hp_raw(p, "\"><h3>");
	hp_text(p, k->ip);
	hp_raw(p, " &#8594; ");
	hp_text_or(p, k->provider, "(unnamed provider)");
	hp_raw(p, " <span class=\"muted\">phase ");
	hp_text_or(p, k->phase, "unknown (the engine has not run for this "
	    "key)");
	if (k->phase != NULL)
		hp_fmt(p, ", stage %llu", (unsigned long long)k->stage);
	hp_raw(p, "</span></h3>");
	if (k->hint != NULL)
		hint_block(p, k->hint);
	else
		hp_raw(p, "<p class=\"muted\">No current hint for this "
		    "key: run <code>dmarcwatch hints</code>.</p>");
	if (k->n_days == 0) {
		hp_raw(p, "<p class=\"muted\">No send log volume and no daily "
		    "gate for this key in the range.</p>");
	} else if ((ch = calloc(k->n_days, sizeof *ch)) == NULL) {
		if (p->rc == 0)
			p->rc = ERR_NOMEM;
	} else {
		for (size_t i = 0; i < k->n_days; i++) {
			const struct warmup_day *d = &k->days[i];

			memcpy(ch[i].day, d->day, sizeof ch[i].day);
			ch[i].good = d->delivered < d->sent ? d->delivered :
			    d->sent;
			ch[i].bad = d->sent - ch[i].good;
			ch[i].cap = d->cap;
		}
		hp_chart_days(p, "Messages sent per day against the daily cap",
		    "delivered", "not delivered", "messages", ch, k->n_days,
		    from == 0);
		free(ch);
	}
	if (k->n_days > 0) {
		if (from > 0)
			hp_fmt(p, "<p class=\"muted\">The last %d of the %zu "
			    "days are listed; the chart covers them all.</p>",
			    LIM_HTML_TABLE_DAYS, k->n_days);
		hp_table(p, NULL, "Volume against the schedule and the daily "
		    "gate, per day", cols);
		for (size_t i = from; i < k->n_days; i++) {
			const struct warmup_day *d = &k->days[i];

			/* Units are in the column titles: this table can have
			 * many rows. */
			hp_raw(p, "<tr data-day=\"");
			hp_text(p, d->day);
			hp_raw(p, "\">");
			hp_td_nw(p, d->day);
			hp_td_num(p, d->sent, NULL);
			hp_td_num(p, d->delivered, NULL);
			if (d->cap > 0)
				hp_td_num(p, d->cap, NULL);
			else
				hp_raw(p, "<td class=\"n\" data-v=\"-1\">"
				    "not gated</td>");
			hp_raw(p, "<td class=\"gate-cell\">");
			gate_badge(p, d->gate);
			hp_raw(p, "</td>");
			hp_td_text(p, d->gate_reason);
			hp_tr_end(p);
		}
		hp_table_end(p);
	}
	if (k->n_stages > 0) {
		hp_raw(p, "<details><summary>Warm-up schedule of this provider"
		    "</summary>");
		hp_table(p, NULL, "Stages (provider profile)", scols);
		for (size_t i = 0; i < k->n_stages; i++) {
			const struct warmup_stage *sg = &k->stages[i];

			hp_raw(p, sg->stage == k->stage && k->phase != NULL ?
			    "<tr class=\"current\">" : "<tr>");
			hp_td_num(p, sg->stage, NULL);
			hp_td_num(p, sg->daily_cap, "messages");
			hp_td_num(p, sg->hourly_cap, "messages");
			hp_td_num(p, sg->min_days, "days");
			hp_tr_end(p);
		}
		hp_table_end(p);
		hp_raw(p, "</details>");
	}
	hp_raw(p, "</div>");
}

/* ---- the summary table ---- */

/* "412 of 560 (73.57 %)", or what is known of it. */
static void
sent_vs_cap(struct html_page *p, uint64_t sent, uint64_t cap)
{
	hp_fmt(p, "<td class=\"n sent\" data-v=\"%llu\"><span class=\"sl\">"
	    "sent </span>", (unsigned long long)sent);
	hp_num(p, sent);
	if (cap > 0) {
		hp_raw(p, " of ");
		hp_num(p, cap);
		hp_raw(p, " <span class=\"muted\">(");
		hp_pct(p, sent, cap);
		hp_raw(p, ")</span>");
	} else {
		hp_raw(p, " <span class=\"muted\">(no cap)</span>");
	}
	hp_raw(p, "</td>");
}

/* "600 a day, 50 an hour, 3 connections": what the daemon was told. */
static void
caps_cell(struct html_page *p, const struct warmup_hint *h)
{
	if (h == NULL) {
		hp_raw(p, "<td class=\"n muted\" data-v=\"-1\">&#8212;</td>");
		return;
	}
	hp_fmt(p, "<td class=\"n sum-caps\" data-v=\"%llu\">",
	    (unsigned long long)h->max_per_day);
	hp_num(p, h->max_per_day);
	hp_raw(p, " a day <br><span class=\"muted\">");
	hp_num(p, h->max_per_hour);
	hp_raw(p, " an hour, ");
	hp_num(p, h->max_connections);
	hp_fmt(p, " %s</span></td>", hp_noun(h->max_connections,
	    "connections"));
}

static void
summary_row(struct html_page *p, const struct warmup_key *k,
    const char *page, int compact)
{
	const struct warmup_hint *h = k->hint;

	hp_fmt(p, "<tr class=\"sev%d\" data-key=\"", (int)k->severity);
	hp_text(p, k->ip);
	hp_raw(p, "|");
	hp_text(p, k->provider);
	hp_raw(p, "\"><td class=\"nw\">");
	hp_text(p, k->ip);
	hp_raw(p, "</td><td>");
	if (k->detailed)
		hp_fmt(p, "<a href=\"%s#k-%zu\">", page, k->anchor);
	hp_text_or(p, k->provider, "(unnamed)");
	if (k->detailed)
		hp_raw(p, "</a>");
	hp_fmt(p, "</td><td class=\"nw\" data-v=\"%d\">", (int)k->last_gate);
	gate_badge(p, k->last_gate);
	if (k->last_gate_day != NULL) {
		hp_raw(p, " <br><span class=\"muted\">");
		hp_text(p, k->last_gate_day);
		hp_raw(p, "</span>");
	}
	hp_raw(p, "</td>");
	hp_raw(p, "<td class=\"sum-action\"><strong>");
	hp_text_or(p, h ? h->action : NULL, "no hint");
	hp_raw(p, "</strong></td>");
	caps_cell(p, h);
	sent_vs_cap(p, k->sent_last, k->cap_last);
	hp_raw(p, "<td class=\"why\">");
	if (h != NULL && h->reason != NULL)
		hp_text(p, h->reason);
	else if (k->last_gate_reason != NULL)
		hp_text(p, k->last_gate_reason);
	else
		hp_raw(p, "<span class=\"muted\">&#8212;</span>");
	hp_raw(p, "</td>");
	if (!compact) {
		hp_raw(p, "<td>");
		hp_text_or(p, k->phase, "no state");
		if (k->phase != NULL)
			hp_fmt(p, ", stage %llu", (unsigned long long)k->stage);
		hp_raw(p, "</td>");
	}
	hp_tr_end(p);
}

/* The summary table: keys with mail or trouble, most severe first; at
 * most max rows (0: all). page is where the key blocks are. */
static void
summary_table(struct html_page *p, const struct warmup_engine *e,
    size_t max, const char *page, const char *id)
{
	const char *cols[] = { "Source IP", "Provider", "Last gate",
	    "Action", "#Caps told", "#Sent on the last day", "Why",
	    "~Phase", NULL };
	int compact = max > 0;
	char last[64];
	size_t shown = 0;

	if (e->last_day[0] != '\0') {
		snprintf(last, sizeof last, "#Sent on %s vs its cap",
		    e->last_day);
		cols[5] = last;
	}
	if (compact)
		cols[7] = NULL;    /* index.html: the columns that answer */
	hp_table_stacked(p, id, NULL, cols);
	for (size_t i = 0; i < e->n_keys; i++) {
		const struct warmup_key *k = e->order[i];

		if (k->severity == WARMUP_SEV_QUIET ||
		    (max > 0 && shown >= max))
			break;
		summary_row(p, k, page, compact);
		shown++;
	}
	hp_table_end(p);
}

/* Keys in a state, in words: "3 keys". */
static void
count_keys(struct html_page *p, size_t n)
{
	hp_fmt(p, "%zu %s", n, hp_noun(n, "keys"));
}

static void
summary_intro(struct html_page *p, const struct warmup_engine *e)
{
	size_t busy = e->n_sev[WARMUP_SEV_TROUBLE] + e->n_sev[WARMUP_SEV_AMBER] +
	    e->n_sev[WARMUP_SEV_MAIL];

	if (e->n_sev[WARMUP_SEV_TROUBLE] > 0) {
		hp_raw(p, "<p class=\"alert\" id=\"keys-trouble\" data-value=\"");
		hp_fmt(p, "%zu\"><strong>", e->n_sev[WARMUP_SEV_TROUBLE]);
		count_keys(p, e->n_sev[WARMUP_SEV_TROUBLE]);
		hp_raw(p, " in trouble</strong>: a red gate on the last day "
		    "gated, or the daemon was told to reduce or pause. They "
		    "come first below.</p>");
	} else if (busy > 0) {
		hp_raw(p, "<p class=\"ok\" id=\"keys-trouble\" data-value=\"0\">"
		    "No key in trouble: no red gate on the last day gated, no "
		    "reduce or pause hint.</p>");
	}
	hp_raw(p, "<p>");
	count_keys(p, busy);
	hp_raw(p, " (source IP &#215; provider) with mail sent or trouble in "
	    "the range, most severe first: red, then amber with mail, then "
	    "the rest by mail sent on the last day");
	if (e->n_sev[WARMUP_SEV_QUIET] > 0) {
		hp_raw(p, "; ");
		count_keys(p, e->n_sev[WARMUP_SEV_QUIET]);
		hp_raw(p, " with no mail sent in the range are listed one line "
		    "each under their IP on the <a href=\"warmup.html\">warm-up"
		    "</a> page");
	}
	hp_raw(p, ". &#8220;Action&#8221; and the caps are what the sending "
	    "daemon was told in the last hints run; &#8220;Why&#8221; is its "
	    "reason.</p>");
}

/* Quiet keys of one IP: one line each. */
static void
quiet_keys(struct html_page *p, const struct warmup_engine *e,
    const char *ip)
{
	static const char *const cols[] = { "Provider", "Last gate", "Action",
	    "#Max per day", "Why", "Phase", NULL };
	size_t n = 0;

	for (size_t i = 0; i < e->n_keys; i++) {
		const struct warmup_key *k = &e->keys[i];
		const struct warmup_hint *h = k->hint;

		if (k->severity != WARMUP_SEV_QUIET || strcmp(k->ip, ip) != 0)
			continue;
		if (n++ == 0) {
			hp_raw(p, "<details class=\"quiet\"><summary>");
			hp_raw(p, "Providers this IP sent no mail to in the range"
			    "</summary>");
			hp_table(p, NULL, NULL, cols);
		}
		hp_raw(p, "<tr data-key=\"");
		hp_text(p, k->ip);
		hp_raw(p, "|");
		hp_text(p, k->provider);
		hp_raw(p, "\">");
		hp_td_text(p, k->provider);
		hp_raw(p, "<td class=\"nw\">");
		gate_badge(p, k->last_gate);
		hp_raw(p, "</td>");
		hp_td_text(p, h ? h->action : NULL);
		if (h != NULL)
			hp_td_num(p, h->max_per_day, "messages");
		else
			hp_raw(p, "<td class=\"n muted\" data-v=\"-1\">&#8212;"
			    "</td>");
		hp_td_text(p, h && h->reason ? h->reason : k->last_gate_reason);
		hp_td_text(p, k->phase);
		hp_tr_end(p);
	}
	if (n > 0) {
		hp_table_end(p);
		hp_raw(p, "</details>");
		hp_fmt(p, "<p class=\"muted\">%zu %s with no mail from this IP "
		    "in the range (listed above when opened).</p>", n,
		    hp_noun(n, "providers"));
	}
}

/* What receivers reported for one IP: rows [b, e) of rs, all this IP,
 * ordered by reporter, then day. */
static int
dmarc_ip(struct html_page *p, const struct ipday *v, size_t b, size_t e)
{
	static const char *const rcols[] = { "Reporter", "#Days reported",
	    "#Messages", "#DMARC pass", "#Quarantine + reject", NULL };
	struct hp_series_day *days = NULL;
	size_t n_days = 0;

	/* Per-day totals over reporters: merge by day (rows of a reporter
	 * are in day order; a linear search over the range's days is fine
	 * at LIM_HTML_WARMUP_IPS addresses). */
	if ((days = calloc(e - b, sizeof *days)) == NULL)
		return ERR_NOMEM;
	for (size_t i = b; i < e; i++) {
		size_t j;

		for (j = 0; j < n_days; j++)
			if (strcmp(days[j].day, v[i].day) == 0)
				break;
		if (j == n_days) {
			memcpy(days[j].day, v[i].day, sizeof days[j].day);
			n_days++;
		}
		days[j].good += v[i].pass;
		days[j].bad += v[i].messages - (v[i].pass < v[i].messages ?
		    v[i].pass : v[i].messages);
	}
	/* Days arrive sorted per reporter but not across them. */
	for (size_t i = 1; i < n_days; i++)
		for (size_t j = i; j > 0 &&
		    strcmp(days[j - 1].day, days[j].day) > 0; j--) {
			struct hp_series_day t = days[j];

			days[j] = days[j - 1];
			days[j - 1] = t;
		}
	hp_raw(p, "<h3>What receivers reported through DMARC</h3>");
	hp_chart_days(p, "Messages reported by receivers per day for this "
	    "IP", "DMARC pass", "DMARC fail", "messages", days, n_days, 0);
	free(days);
	hp_table(p, NULL, "By reporter (DMARC aggregate reports)",
	    rcols);
	for (size_t i = b; i < e;) {
		uint64_t m = 0, ps = 0, qr = 0, nd = 0;
		size_t j = i;

		for (; j < e && strcmp(v[j].reporter, v[i].reporter) == 0; j++) {
			m += v[j].messages;
			ps += v[j].pass;
			qr += v[j].qr;
			nd++;
		}
		hp_tr(p);
		hp_td_text(p, v[i].reporter);
		hp_td_num(p, nd, "days");
		hp_td_num(p, m, "messages");
		hp_td_pct(p, ps, m);
		hp_td_num(p, qr, "messages");
		hp_tr_end(p);
		i = j;
	}
	hp_table_end(p);
	return 0;
}

int
html_warmup_page(struct html_page *p, struct store *st,
    const struct store_query_filter *f, const char *const *ips,
    size_t n_ips, int ips_are_ours, const struct warmup_engine *eng,
    struct err *err)
{
	struct store_query_filter qf = *f;
	struct rows rs;
	int rc = 0;

	memset(&rs, 0, sizeof rs);
	if (eng == NULL || (!eng->sendlog_imported && !eng->engine_ran))
		hp_raw(p, "<p class=\"note\" id=\"engine-missing\"><strong>No "
		    "send log imported and the reputation engine has not run."
		    "</strong> There is no warm-up schedule, no daily gate "
		    "colour and no current throttle hint to show yet. What "
		    "follows is what receivers reported through DMARC for "
		    "each sending IP: the evidence the engine will weigh "
		    "once it runs.</p>");
	else if (!eng->sendlog_imported)
		hp_raw(p, "<p class=\"note\">No send log imported: sent "
		    "volumes are missing; gates rest on DMARC data "
		    "alone.</p>");
	if (ips_are_ours)
		hp_fmt(p, "<p>Showing the sender's own IP addresses from "
		    "<code>[sender] ips</code> (at most %d).</p>",
		    LIM_HTML_WARMUP_IPS);
	else
		hp_fmt(p, "<p class=\"note\" id=\"ips-unknown\">No "
		    "<code>[sender] ips</code> configured: showing the %zu "
		    "busiest source %s (at most %d), which may include "
		    "addresses that are not yours.</p>", n_ips,
		    hp_noun(n_ips, "IPs"), LIM_HTML_WARMUP_IPS);
	if (n_ips == 0) {
		hp_raw(p, "<p class=\"muted\">No sending IPs in this "
		    "range.</p>");
		goto out;
	}
	if (eng != NULL && eng->n_keys > 0) {
		hp_raw(p, "<h2 id=\"glance\">At a glance</h2>");
		summary_intro(p, eng);
		summary_table(p, eng, 0, "", "warmup-summary");
		if (eng->n_detailed < eng->n_sev[WARMUP_SEV_TROUBLE] +
		    eng->n_sev[WARMUP_SEV_AMBER] + eng->n_sev[WARMUP_SEV_MAIL])
			hp_fmt(p, "<p class=\"note\" id=\"details-capped\">The "
			    "%d most severe keys are drawn in full below; the "
			    "others have their line in this table only (a page "
			    "with every chart would not open).</p>",
			    LIM_HTML_WARMUP_DETAILS);
	}
	qf.ips = ips;
	qf.n_ips = n_ips;
	if ((rc = store_query_each(st, SQ_IP_DAILY, &qf, row_cb, &rs,
	    err)) != 0) {
		if (rc == ERR_NOMEM)
			err_set(err, rc, "out of memory");
		goto out;
	}
	for (size_t k = 0; k < n_ips; k++) {
		size_t b, e;

		/* Rows are ordered by IP; find this one's run. */
		for (b = 0; b < rs.n && strcmp(rs.v[b].ip, ips[k]) != 0; b++)
			;
		for (e = b; e < rs.n && strcmp(rs.v[e].ip, ips[k]) == 0; e++)
			;
		hp_fmt(p, "<section class=\"ip\" id=\"ip-%zu\" data-ip=\"", k);
		hp_text(p, ips[k]);
		hp_raw(p, "\"><h2>");
		hp_text(p, ips[k]);
		hp_raw(p, "</h2>");
		if (eng != NULL) {
			/* Its keys drawn in full, most severe first. */
			for (size_t j = 0; j < eng->n_keys; j++) {
				const struct warmup_key *x = eng->order[j];

				if (x->detailed && strcmp(x->ip, ips[k]) == 0)
					engine_key(p, x);
			}
			quiet_keys(p, eng, ips[k]);
		}
		if (b == e)
			hp_raw(p, "<p class=\"muted\">No DMARC aggregate data "
			    "for this IP in the range.</p>");
		else if ((rc = dmarc_ip(p, rs.v, b, e)) != 0)
			goto out;
		hp_raw(p, "</section>\n");
	}
out:
	for (size_t i = 0; i < rs.n; i++) {
		free(rs.v[i].ip);
		free(rs.v[i].reporter);
	}
	free(rs.v);
	return rc;
}

/* ---- index.html: the compact version ---- */

struct actions {
	struct html_page *p;
	int n;
};

static int
action_cb(void *ctx, const struct store_row *r)
{
	struct actions *a = ctx;
	uint64_t n = r->num[1] > 0 ? (uint64_t)r->num[1] : 0;

	hp_raw(a->p, a->n++ ? ", " : ": ");
	hp_num(a->p, n);
	hp_raw(a->p, " ");
	hp_text_or(a->p, r->text[0], "?");
	return 0;
}

int
html_warmup_glance(struct html_page *p, struct store *st,
    const struct warmup_engine *e, struct err *err)
{
	struct actions a;
	int rc = 0;

	hp_raw(p, "<section id=\"warmup-glance\"><h2>Warm-up and throttle "
	    "hints</h2>");
	if (e == NULL || (!e->sendlog_imported && !e->engine_ran)) {
		hp_raw(p, "<p class=\"muted\">No send log imported and the "
		    "reputation engine has not run: no hints yet (<a "
		    "href=\"warmup.html\">warm-up</a> shows the DMARC side per "
		    "IP).</p></section>\n");
		return 0;
	}
	hp_raw(p, "<p id=\"hints-run\">");
	if (e->runs == 0) {
		hp_raw(p, "<code>dmarcwatch hints</code> has not run yet: the "
		    "sending daemon has been told nothing.");
	} else {
		hp_raw(p, "Last <code>dmarcwatch hints</code> run: ");
		hp_time(p, e->last_run);
		hp_fmt(p, "; the daemon was told %lld %s",
		    (long long)e->n_hints, hp_noun((uint64_t)e->n_hints,
		    "hints"));
		memset(&a, 0, sizeof a);
		a.p = p;
		rc = store_query_each(st, SQ_HINT_ACTIONS, NULL, action_cb, &a,
		    err);
		hp_raw(p, ".");
	}
	hp_raw(p, "</p>");
	summary_intro(p, e);
	if (e->n_sev[WARMUP_SEV_TROUBLE] + e->n_sev[WARMUP_SEV_AMBER] +
	    e->n_sev[WARMUP_SEV_MAIL] > LIM_HTML_INDEX_KEYS)
		hp_fmt(p, "<p class=\"muted\">The %d most severe keys; <a "
		    "href=\"warmup.html\">warm-up</a> has them all.</p>",
		    LIM_HTML_INDEX_KEYS);
	summary_table(p, e, LIM_HTML_INDEX_KEYS, "warmup.html",
	    "warmup-glance-keys");
	hp_raw(p, "</section>\n");
	return rc;
}

/* ---- the engine's tables -> struct warmup_engine ---- */

struct kstore {
	struct warmup_day *days;
	size_t n, cap;
	struct warmup_hint *hint;
	char *provider;            /* for the schedule lookup */
};

struct eng_owned {
	struct warmup_engine e;    /* first: freed through its address */
	struct warmup_key *keys;
	struct kstore *ks;
	size_t n_keys, cap_keys;
	struct warmup_stage *stages;
	char **stage_prov;
	size_t n_stages, cap_stages;
	size_t last;               /* key of the previous day row */
	const struct warmup_key **order;
};

static char *
dup_or_null(const char *s, int *nomem)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*nomem = 1;
	return d;
}

static uint64_t
unum(const struct store_row *r, int i)
{
	return r->num[i] > 0 ? (uint64_t)r->num[i] : 0;
}

static int
key_cb(void *ctx, const struct store_row *r)
{
	struct eng_owned *o = ctx;
	struct warmup_key *k;
	struct kstore *ks;
	int nomem = 0;

	if (o->n_keys == o->cap_keys) {
		size_t nc = o->cap_keys ? o->cap_keys * 2 : 16;
		void *a = realloc(o->keys, nc * sizeof *o->keys);

		if (a == NULL)
			return ERR_NOMEM;
		o->keys = a;
		if ((a = realloc(o->ks, nc * sizeof *o->ks)) == NULL)
			return ERR_NOMEM;
		o->ks = a;
		o->cap_keys = nc;
	}
	k = &o->keys[o->n_keys];
	ks = &o->ks[o->n_keys];
	memset(k, 0, sizeof *k);
	memset(ks, 0, sizeof *ks);
	o->n_keys++;
	k->ip = dup_or_null(r->text[0] ? r->text[0] : "", &nomem);
	ks->provider = dup_or_null(r->text[1] ? r->text[1] : "", &nomem);
	k->provider = ks->provider;
	k->phase = dup_or_null(r->text[2], &nomem);
	k->stage = unum(r, 3);
	k->cap_day = unum(r, 4);
	if (!r->null[6]) {
		struct warmup_hint *h = calloc(1, sizeof *h);

		if (h == NULL)
			return ERR_NOMEM;
		ks->hint = h;
		h->action = dup_or_null(r->text[6], &nomem);
		h->max_per_day = unum(r, 7);
		h->max_per_hour = unum(r, 8);
		h->max_connections = unum(r, 9);
		h->valid_from = r->num[10];
		h->valid_until = r->num[11];
		h->on_expiry = dup_or_null(r->text[12], &nomem);
		h->reason_code = dup_or_null(r->text[13], &nomem);
		h->reason = dup_or_null(r->text[14], &nomem);
		h->evidence = dup_or_null(r->text[15], &nomem);
		h->confidence = r->null[16] ? -1.0 : (double)r->num[16] / 1000.0;
	}
	return nomem ? ERR_NOMEM : 0;
}

static enum warmup_gate
gate_of(const char *s)
{
	if (s == NULL)
		return WARMUP_GATE_NONE;
	if (strcmp(s, "green") == 0)
		return WARMUP_GATE_GREEN;
	if (strcmp(s, "amber") == 0)
		return WARMUP_GATE_AMBER;
	if (strcmp(s, "red") == 0)
		return WARMUP_GATE_RED;
	return WARMUP_GATE_NONE;
}

static int
day_cb(void *ctx, const struct store_row *r)
{
	struct eng_owned *o = ctx;
	struct kstore *ks;
	struct warmup_day *d;
	const char *ip = r->text[0] ? r->text[0] : "";
	const char *prov = r->text[1] ? r->text[1] : "";
	size_t i, n;
	int nomem = 0;

	/* Rows and keys share their order: search on from the last key. */
	for (i = o->last; i < o->n_keys; i++)
		if (strcmp(o->keys[i].ip, ip) == 0 &&
		    strcmp(o->keys[i].provider, prov) == 0)
			break;
	if (i == o->n_keys) {
		for (i = 0; i < o->last; i++)
			if (strcmp(o->keys[i].ip, ip) == 0 &&
			    strcmp(o->keys[i].provider, prov) == 0)
				break;
		if (i == o->last)
			return 0;          /* a day without a key: not shown */
	}
	o->last = i;
	ks = &o->ks[i];
	if (ks->n == ks->cap) {
		size_t nc = ks->cap ? ks->cap * 2 : 16;
		void *a = realloc(ks->days, nc * sizeof *ks->days);

		if (a == NULL)
			return ERR_NOMEM;
		ks->days = a;
		ks->cap = nc;
	}
	d = &ks->days[ks->n++];
	memset(d, 0, sizeof *d);
	n = r->text[2] ? strlen(r->text[2]) : 0;
	memcpy(d->day, r->text[2] ? r->text[2] : "", n > 10 ? 10 : n);
	d->sent = unum(r, 3);
	d->delivered = unum(r, 4);
	d->cap = unum(r, 5);
	d->gate = gate_of(r->text[6]);
	d->gate_reason = dup_or_null(r->text[7], &nomem);
	return nomem ? ERR_NOMEM : 0;
}

static int
stage_cb(void *ctx, const struct store_row *r)
{
	struct eng_owned *o = ctx;
	int nomem = 0;

	if (o->n_stages == o->cap_stages) {
		size_t nc = o->cap_stages ? o->cap_stages * 2 : 32;
		void *a = realloc(o->stages, nc * sizeof *o->stages);

		if (a == NULL)
			return ERR_NOMEM;
		o->stages = a;
		if ((a = realloc(o->stage_prov, nc * sizeof *o->stage_prov)) ==
		    NULL)
			return ERR_NOMEM;
		o->stage_prov = a;
		o->cap_stages = nc;
	}
	o->stage_prov[o->n_stages] = dup_or_null(r->text[0] ? r->text[0] :
	    "", &nomem);
	o->stages[o->n_stages].stage = unum(r, 1);
	o->stages[o->n_stages].daily_cap = unum(r, 2);
	o->stages[o->n_stages].hourly_cap = unum(r, 3);
	o->stages[o->n_stages].min_days = unum(r, 4);
	o->n_stages++;
	return nomem ? ERR_NOMEM : 0;
}

static int
presence_cb(void *ctx, const struct store_row *r)
{
	struct eng_owned *o = ctx;

	o->e.sendlog_imported = r->num[0] != 0;
	o->e.engine_ran = r->num[1] != 0 || r->num[2] != 0;
	o->e.runs = r->num[2];
	o->e.last_run = r->num[3];
	o->e.n_hints = r->num[4];
	return 0;
}

void
html_warmup_engine_free(struct warmup_engine *e)
{
	struct eng_owned *o = (struct eng_owned *)e;

	if (o == NULL)
		return;
	for (size_t i = 0; i < o->n_keys; i++) {
		struct kstore *ks = &o->ks[i];

		free((char *)o->keys[i].ip);
		free(ks->provider);
		free((char *)o->keys[i].phase);
		for (size_t j = 0; j < ks->n; j++)
			free((char *)ks->days[j].gate_reason);
		free(ks->days);
		if (ks->hint != NULL) {
			free((char *)ks->hint->action);
			free((char *)ks->hint->on_expiry);
			free((char *)ks->hint->reason_code);
			free((char *)ks->hint->reason);
			free((char *)ks->hint->evidence);
			free(ks->hint);
		}
	}
	for (size_t i = 0; i < o->n_stages; i++)
		free(o->stage_prov[i]);
	free(o->stage_prov);
	free(o->stages);
	free(o->order);
	free(o->keys);
	free(o->ks);
	free(o);
}

static int
is_trouble(const struct warmup_key *k)
{
	const char *a = k->hint ? k->hint->action : NULL;

	return k->last_gate == WARMUP_GATE_RED || (a != NULL &&
	    (strcmp(a, "pause") == 0 || strcmp(a, "reduce") == 0));
}

/* Most severe first; then the most mail on the last day, in the range;
 * then by IP and provider (stable pages). */
static int
severity_cmp(const void *a, const void *b)
{
	const struct warmup_key *x = *(const struct warmup_key *const *)a;
	const struct warmup_key *y = *(const struct warmup_key *const *)b;
	int c;

	if (x->severity != y->severity)
		return x->severity < y->severity ? -1 : 1;
	if (x->sent_last != y->sent_last)
		return x->sent_last > y->sent_last ? -1 : 1;
	if (x->sent_range != y->sent_range)
		return x->sent_range > y->sent_range ? -1 : 1;
	if ((c = strcmp(x->ip, y->ip)) != 0)
		return c;
	return strcmp(x->provider, y->provider);
}

/* The summary's figures per key, the order by severity and which keys
 * are drawn in full. */
static int
rank_keys(struct eng_owned *o)
{
	struct warmup_engine *e = &o->e;

	for (size_t i = 0; i < o->n_keys; i++)
		for (size_t j = 0; j < o->keys[i].n_days; j++) {
			const struct warmup_day *d = &o->keys[i].days[j];

			if ((d->sent > 0 || d->gate != WARMUP_GATE_NONE) &&
			    strcmp(d->day, e->last_day) > 0)
				memcpy(e->last_day, d->day, sizeof e->last_day);
		}
	for (size_t i = 0; i < o->n_keys; i++) {
		struct warmup_key *k = &o->keys[i];

		k->anchor = i;
		k->cap_last = k->cap_day;
		for (size_t j = 0; j < k->n_days; j++) {
			const struct warmup_day *d = &k->days[j];

			k->sent_range += d->sent;
			if (d->gate != WARMUP_GATE_NONE) {
				k->last_gate = d->gate;
				k->last_gate_day = d->day;
				k->last_gate_reason = d->gate_reason;
			}
			if (strcmp(d->day, e->last_day) == 0) {
				k->sent_last = d->sent;
				if (d->cap > 0)
					k->cap_last = d->cap;
			}
		}
		k->severity = is_trouble(k) ? WARMUP_SEV_TROUBLE :
		    k->sent_range == 0 ? WARMUP_SEV_QUIET :
		    k->last_gate == WARMUP_GATE_AMBER ? WARMUP_SEV_AMBER :
		    WARMUP_SEV_MAIL;
		e->n_sev[k->severity]++;
	}
	if ((o->order = calloc(o->n_keys ? o->n_keys : 1,
	    sizeof *o->order)) == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < o->n_keys; i++)
		o->order[i] = &o->keys[i];
	if (o->n_keys > 1)
		qsort(o->order, o->n_keys, sizeof *o->order, severity_cmp);
	for (size_t i = 0; i < o->n_keys; i++) {
		struct warmup_key *k = (struct warmup_key *)o->order[i];

		if (k->severity != WARMUP_SEV_QUIET &&
		    e->n_detailed < LIM_HTML_WARMUP_DETAILS) {
			k->detailed = 1;
			e->n_detailed++;
		}
	}
	e->order = o->order;
	return 0;
}

int
html_warmup_engine_load(struct store *st, const struct store_query_filter *f,
    const char *const *ips, size_t n_ips, struct warmup_engine **out,
    struct err *err)
{
	struct store_query_filter qf = *f;
	struct eng_owned *o;
	int rc;

	*out = NULL;
	if ((o = calloc(1, sizeof *o)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	qf.ips = ips;
	qf.n_ips = n_ips;
	if ((rc = store_query_each(st, SQ_ENGINE_PRESENCE, &qf, presence_cb,
	    o, err)) != 0 ||
	    (rc = store_query_each(st, SQ_WARMUP_KEYS, &qf, key_cb, o,
	    err)) != 0 ||
	    (rc = store_query_each(st, SQ_WARMUP_DAYS, &qf, day_cb, o,
	    err)) != 0 ||
	    (rc = store_query_each(st, SQ_PROVIDER_STAGES, &qf, stage_cb, o,
	    err)) != 0)
		goto out;
	for (size_t i = 0; i < o->n_keys; i++) {
		struct warmup_key *k = &o->keys[i];
		size_t b;

		k->days = o->ks[i].days;
		k->n_days = o->ks[i].n;
		k->hint = o->ks[i].hint;
		for (b = 0; b < o->n_stages &&
		    strcmp(o->stage_prov[b], o->ks[i].provider) != 0; b++)
			;
		k->stages = b < o->n_stages ? &o->stages[b] : NULL;
		while (b < o->n_stages &&
		    strcmp(o->stage_prov[b], o->ks[i].provider) == 0) {
			k->n_stages++;
			b++;
		}
	}
	o->e.keys = o->keys;
	o->e.n_keys = o->n_keys;
	if ((rc = rank_keys(o)) != 0)
		goto out;
	*out = &o->e;
	o = NULL;
out:
	if (rc == ERR_NOMEM)
		err_set(err, rc, "out of memory");
	html_warmup_engine_free(o ? &o->e : NULL);
	return rc;
}
