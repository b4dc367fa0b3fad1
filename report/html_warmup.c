/* report/html_warmup.c - see html_warmup.h. */
#include <stdlib.h>
#include <string.h>

#include "../common/limits.h"
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

/* The engine's view of one key: schedule, gates, current hint. */
static void
engine_key(struct html_page *p, const struct warmup_key *k)
{
	static const char *const cols[] = { "Day (UTC)", "#Sent",
	    "#Delivered", "#Daily cap", "Gate", "Gate reason", NULL };
	static const char *const scols[] = { "#Stage", "#Daily cap",
	    "#Hourly cap", "#Minimum days", NULL };
	struct hp_series_day *ch;

	hp_raw(p, "<div class=\"key-eng\" data-provider=\"");
	hp_text(p, k->provider);
	hp_raw(p, "\"><h3>Provider ");
	hp_text_or(p, k->provider, "(unnamed)");
	hp_raw(p, " <span class=\"muted\">phase ");
	hp_text_or(p, k->phase, "unknown (the engine has not run for this "
	    "key)");
	if (k->phase != NULL)
		hp_fmt(p, ", stage %llu", (unsigned long long)k->stage);
	hp_raw(p, "</span></h3>");
	if (k->hint != NULL) {
		const struct warmup_hint *h = k->hint;

		hp_raw(p, "<div class=\"hint\"><p><strong>Current hint: "
		    "<span class=\"hint-action\">");
		hp_text_or(p, h->action, "none");
		hp_raw(p, "</span></strong>: at most <span class=\"hint-day\""
		    ">");
		hp_num(p, h->max_per_day);
		hp_raw(p, "</span> messages a day, <span class=\"hint-hour\">");
		hp_num(p, h->max_per_hour);
		hp_raw(p, "</span> an hour, <span class=\"hint-conn\">");
		hp_num(p, h->max_connections);
		hp_raw(p, "</span> connections.</p><p>Reason: <code "
		    "class=\"hint-reason\">");
		hp_text_or(p, h->reason_code, "none");
		hp_raw(p, "</code> <span class=\"hint-reason-text\">");
		hp_text_or(p, h->reason, "none given");
		hp_raw(p, "</span></p><p>");
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
		hp_raw(p, ".</p><details><summary>Evidence</summary>"
		    "<p><code class=\"hint-evidence\">");
		hp_text_or(p, h->evidence, "none given");
		hp_raw(p, "</code></p></details></div>");
	} else {
		hp_raw(p, "<p class=\"muted\">No current hint for this "
		    "key: run <code>dmarcwatch hints</code>.</p>");
	}
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
		    "delivered", "not delivered", "messages", ch, k->n_days);
		free(ch);
	}
	if (k->n_days > 0) {
		hp_table(p, NULL, "Volume against the schedule and the daily "
		    "gate, per day", cols);
		for (size_t i = 0; i < k->n_days; i++) {
			const struct warmup_day *d = &k->days[i];

			hp_raw(p, "<tr data-day=\"");
			hp_text(p, d->day);
			hp_raw(p, "\">");
			hp_td_text(p, d->day);
			hp_td_num(p, d->sent, "messages");
			hp_td_num(p, d->delivered, "messages");
			if (d->cap > 0)
				hp_td_num(p, d->cap, "messages");
			else
				hp_raw(p, "<td class=\"n\" data-v=\"-1\">"
				    "not gated</td>");
			/* Colour and the word: never colour alone. */
			hp_fmt(p, "<td class=\"gate-cell\"><span class=\"gate "
			    "%s\">%s</span></td>", gate_name(d->gate),
			    d->gate == WARMUP_GATE_NONE ? "not gated" :
			    gate_name(d->gate));
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
	 * are in day order; a linear search over <= 90ish days is fine at
	 * LIM_HTML_WARMUP_IPS addresses). */
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
	hp_chart_days(p, "Messages reported by receivers per day for this "
	    "IP", "DMARC pass", "DMARC fail", "messages", days, n_days);
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
		    "busiest source IPs (at most LIM_HTML_WARMUP_IPS = %d), "
		    "which may include addresses that are not yours.</p>",
		    n_ips, LIM_HTML_WARMUP_IPS);
	if (n_ips == 0) {
		hp_raw(p, "<p class=\"muted\">No sending IPs in this "
		    "range.</p>");
		goto out;
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
		if (eng != NULL)
			for (size_t j = 0; j < eng->n_keys; j++)
				if (eng->keys[j].ip != NULL &&
				    strcmp(eng->keys[j].ip, ips[k]) == 0)
					engine_key(p, &eng->keys[j]);
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
	free(o->keys);
	free(o->ks);
	free(o);
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
	*out = &o->e;
	o = NULL;
out:
	if (rc == ERR_NOMEM)
		err_set(err, rc, "out of memory");
	html_warmup_engine_free(o ? &o->e : NULL);
	return rc;
}
