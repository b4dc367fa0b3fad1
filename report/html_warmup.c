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
	    "#Delivered", "#Schedule cap", "Gate", "Gate reason", NULL };

	hp_raw(p, "<h3>Provider ");
	hp_text_or(p, k->provider, "(unnamed)");
	hp_raw(p, " <span class=\"muted\">phase ");
	hp_text_or(p, k->phase, "unknown");
	hp_raw(p, "</span></h3>");
	if (k->hint != NULL) {
		hp_raw(p, "<p class=\"note\"><strong>Current hint: ");
		hp_text_or(p, k->hint->action, "none");
		hp_raw(p, "</strong>. Reason: ");
		hp_text_or(p, k->hint->reason, "none given");
		hp_raw(p, ". Evidence: ");
		hp_text_or(p, k->hint->evidence, "none given");
		if (k->hint->valid_until > 0) {
			hp_raw(p, ". Valid until ");
			hp_time(p, k->hint->valid_until);
		}
		if (k->hint->confidence >= 0)
			hp_fmt(p, ". Confidence %.2f", k->hint->confidence);
		hp_raw(p, ".</p>");
	} else {
		hp_raw(p, "<p class=\"muted\">No current hint for this "
		    "key.</p>");
	}
	hp_table(p, NULL, "Volume against the schedule, per day", cols);
	for (size_t i = 0; i < k->n_days; i++) {
		const struct warmup_day *d = &k->days[i];

		hp_tr(p);
		hp_td_text(p, d->day);
		hp_td_num(p, d->sent, "messages");
		hp_td_num(p, d->delivered, "messages");
		if (d->cap > 0)
			hp_td_num(p, d->cap, "messages");
		else
			hp_raw(p, "<td class=\"n\" data-v=\"-1\">no cap</td>");
		hp_fmt(p, "<td><span class=\"gate %s\">%s</span></td>",
		    gate_name(d->gate), gate_name(d->gate));
		hp_td_text(p, d->gate_reason);
		hp_tr_end(p);
	}
	hp_table_end(p);
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
