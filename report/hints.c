/* report/hints.c - see hints.h and doc/hints.md */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/buf.h"
#include "../common/json.h"
#include "../common/limits.h"
#include "../common/log.h"
#include "../common/reader.h"
#include "../common/timefmt.h"
#include "../store/store.h"
#include "dw_config.h"
#include "engine.h"
#include "export.h"
#include "hints.h"
#include "outfile.h"

#define DAY_S 86400
/* Days of send log read up to the gated day (engine.h): the realised
 * volume window, the DMARC lag and the DMARC absence window. */
#define HINTS_WINDOW_DAYS ENGINE_MAX_WINDOW_DAYS
/* Days kept in full (the DMARC lag is at most 7). */
#define HINTS_FULL_DAYS 8

_Static_assert(ENGINE_ACTED_MAX == STORE_ENGINE_ACTED_MAX,
    "engine_acted rows: the engine and the store must keep as many");
/* Significant digits of reals in the hint file (ratios, confidence). */
#define HINTS_REAL_DIGITS 10

/* One day of one key (v_sendlog_dmarc). */
struct key_day {
	int present;
	uint64_t attempts, delivered, rate_signal;
	uint64_t cls[STORE_SL_CLASSES];
	uint64_t reported, dmarc_pass, quarantine, reject;
};

struct key_data {
	struct key_day days[HINTS_FULL_DAYS];     /* [0] = gate day, [i] =
	                                            * i days before */
	uint64_t delivered[HINTS_WINDOW_DAYS];    /* the same, further back */
	unsigned char reported[HINTS_WINDOW_DAYS];
	/* Hour buckets from the gated day's start up to now (sendlog_hourly
	 * order: by hour). */
	size_t n_hours, cap_hours;
	struct engine_hour *hours;
};

struct providers_list {
	size_t n;
	struct store_provider *v;   /* sorted by name (store order) */
};

/* Recipient domains, MX suffixes and reporters of each provider. */
struct match_list {
	size_t n, cap;
	struct match_row {
		char provider[LIM_PROVIDER_NAME_BYTES];
		char kind[16];
		char pattern[LIM_PROVIDER_TEXT_BYTES];
	} *v;
};

struct run {
	const struct hints_config *cfg;
	int64_t now, gate_day;
	struct store *db;
	struct sender_config *sender;
	struct providers_list prov;
	struct match_list match;
	struct key_data *keys;      /* n_ips x prov.n */
	struct param_row *params;   /* provider_params rows */
	size_t n_params, cap_params;
	struct err *err;
};

static int
ip_index(const struct run *r, const char *ip)
{
	for (size_t i = 0; i < r->sender->n_ips; i++)
		if (strcmp(r->sender->ips[i], ip) == 0)
			return (int)i;
	return -1;
}

static int
prov_index(const struct run *r, const char *name)
{
	size_t lo = 0, hi = r->prov.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(r->prov.v[mid].name, name);
		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static struct key_data *
key_of(struct run *r, const char *ip, const char *provider)
{
	int i = ip_index(r, ip), p;

	if (i < 0 || (p = prov_index(r, provider)) < 0)
		return NULL;   /* a foreign IP, or an unknown provider */
	return &r->keys[(size_t)i * r->prov.n + (size_t)p];
}

static int
day_number(const char *day, int64_t *out)
{
	int64_t t;

	if (day == NULL || time_parse_iso8601(day, &t) != 0)
		return ERR_FORMAT;
	*out = t >= 0 ? t / DAY_S : -((-t + DAY_S - 1) / DAY_S);
	return 0;
}

static int
collect_provider(void *ctx, const struct store_provider *p)
{
	struct run *r = ctx;
	struct store_provider *v;

	/* "*" is the [defaults] pseudo-provider of the code rules. */
	if (strcmp(p->name, "*") == 0 || p->n_stages == 0)
		return 0;
	v = realloc(r->prov.v, (r->prov.n + 1) * sizeof *v);
	if (v == NULL)
		return err_set(r->err, ERR_NOMEM, "out of memory");
	r->prov.v = v;
	r->prov.v[r->prov.n++] = *p;
	return 0;
}

static int
cmp_provider(const void *a, const void *b)
{
	return strcmp(((const struct store_provider *)a)->name,
	    ((const struct store_provider *)b)->name);
}

static int
collect_match(void *ctx, const char *provider, const char *kind,
    const char *pattern)
{
	struct run *r = ctx;
	struct match_row *m;

	if (r->match.n == r->match.cap) {
		size_t nc = r->match.cap ? r->match.cap * 2 : 64;
		void *v = realloc(r->match.v, nc * sizeof *r->match.v);
		if (v == NULL)
			return err_set(r->err, ERR_NOMEM, "out of memory");
		r->match.v = v;
		r->match.cap = nc;
	}
	m = &r->match.v[r->match.n++];
	snprintf(m->provider, sizeof m->provider, "%s", provider);
	snprintf(m->kind, sizeof m->kind, "%s", kind);
	snprintf(m->pattern, sizeof m->pattern, "%s", pattern);
	return 0;
}

static int
collect_day(void *ctx, const struct store_correlation_row *row)
{
	struct run *r = ctx;
	struct key_data *k = key_of(r, row->source_ip, row->provider);
	struct key_day *d;
	int64_t dn, back;

	if (k == NULL || day_number(row->day, &dn) != 0)
		return 0;
	back = r->gate_day - dn;
	if (back < 0 || back >= HINTS_WINDOW_DAYS)
		return 0;
	k->delivered[back] = row->delivered;
	k->reported[back] = row->reported > 0;
	if (back >= HINTS_FULL_DAYS)
		return 0;
	d = &k->days[back];
	d->present = 1;
	d->attempts = row->attempts;
	d->delivered = row->delivered;
	memcpy(d->cls, row->cls, sizeof d->cls);
	d->rate_signal = row->rate_signal;
	d->reported = row->reported;
	d->dmarc_pass = row->dmarc_pass;
	d->quarantine = row->quarantine;
	d->reject = row->reject;
	return 0;
}

static void
counts_of_row(const struct store_sendlog_row *row, struct engine_counts *c)
{
	memset(c, 0, sizeof *c);
	c->attempts = row->attempts;
	c->ok = row->cls[STORE_SL_OK];
	c->rate = row->cls[STORE_SL_RATE];
	c->block = row->cls[STORE_SL_BLOCK];
	c->auth = row->cls[STORE_SL_AUTH];
	c->tls = row->cls[STORE_SL_TLS];
	c->conn = row->cls[STORE_SL_CONN];
	c->other_4xx = row->cls[STORE_SL_OTHER_4XX];
	c->other_5xx = row->cls[STORE_SL_OTHER_5XX];
	c->rate_signal = row->rate_signal;
}

static int
collect_hour(void *ctx, const struct store_sendlog_row *row)
{
	struct run *r = ctx;
	struct key_data *k = key_of(r, row->source_ip, row->provider);
	struct engine_hour *h;

	if (k == NULL)
		return 0;
	if (k->n_hours == k->cap_hours) {
		size_t nc = k->cap_hours ? k->cap_hours * 2 : 8;
		if ((h = realloc(k->hours, nc * sizeof *h)) == NULL)
			return err_set(r->err, ERR_NOMEM, "out of memory");
		k->hours = h;
		k->cap_hours = nc;
	}
	h = &k->hours[k->n_hours++];
	h->hour = row->hour;
	counts_of_row(row, &h->c);
	return 0;
}

static void
counts_of_day(const struct key_day *d, struct engine_counts *c)
{
	memset(c, 0, sizeof *c);
	if (!d->present)
		return;
	c->attempts = d->attempts;
	c->ok = d->cls[STORE_SL_OK];
	c->rate = d->cls[STORE_SL_RATE];
	c->block = d->cls[STORE_SL_BLOCK];
	c->auth = d->cls[STORE_SL_AUTH];
	c->tls = d->cls[STORE_SL_TLS];
	c->conn = d->cls[STORE_SL_CONN];
	c->other_4xx = d->cls[STORE_SL_OTHER_4XX];
	c->other_5xx = d->cls[STORE_SL_OTHER_5XX];
	c->rate_signal = d->rate_signal;
}

/* Threshold keys of one provider (provider_params), as synced. */
struct param_row {
	char provider[LIM_PROVIDER_NAME_BYTES];
	char key[48];
	double value;
};

static int
collect_param(void *ctx, const char *provider, const char *key,
    double value)
{
	struct run *r = ctx;
	struct param_row *v;

	if (r->n_params == r->cap_params) {
		size_t nc = r->cap_params ? r->cap_params * 2 : 256;
		if ((v = realloc(r->params, nc * sizeof *v)) == NULL)
			return err_set(r->err, ERR_NOMEM, "out of memory");
		r->params = v;
		r->cap_params = nc;
	}
	v = &r->params[r->n_params++];
	snprintf(v->provider, sizeof v->provider, "%s", provider);
	snprintf(v->key, sizeof v->key, "%s", key);
	v->value = value;
	return 0;
}

/* Profile keys (provider_params: the provider's own or its [defaults],
 * merged by the sync) + [sender] target + [hints] config -> engine
 * params. A key the profile does not set stays at the engine's fallback
 * (engine_params_defaults). */
static int
params_of(const struct run *r, const struct store_provider *pv,
    struct engine_params *p)
{
	const char *what = NULL;
	size_t n = pv->n_stages < ENGINE_MAX_STAGES ? pv->n_stages :
	    ENGINE_MAX_STAGES;

	engine_params_defaults(p);
	for (size_t i = 0; i < n; i++) {
		p->stage_day[i] = pv->stages[i].daily_cap;
		p->stage_hour[i] = pv->stages[i].hourly_cap;
		p->stage_min_days[i] = pv->stages[i].min_days > 0 ?
		    (unsigned)pv->stages[i].min_days : 1;
	}
	p->n_stages = n;
	for (size_t i = 0; i < r->n_params; i++) {
		const struct param_row *x = &r->params[i];
		int rc;

		if (strcmp(x->provider, pv->name) != 0)
			continue;
		rc = engine_param_set(p, x->key, x->value);
		if (rc == ERR_NOTFOUND)
			log_warnx("provider %s: threshold key %s is unknown to "
			    "this engine; ignored", pv->name, x->key);
		else if (rc < 0)
			return err_set(r->err, ERR_INVAL, "provider %s: %s = "
			    "%g cannot be used", pv->name, x->key, x->value);
	}
	for (size_t i = 0; i < r->sender->n_targets; i++)
		if (strcmp(r->sender->targets[i].provider, pv->name) == 0)
			p->target_daily = r->sender->targets[i].daily;
	if (n > 0 && p->target_daily != 0 && p->target_daily < p->stage_day[0])
		p->target_daily = p->stage_day[0];
	if (p->start_connections > p->max_connections)
		p->start_connections = p->max_connections;
	if (p->block_pause_max_min < p->block_pause_min)
		p->block_pause_max_min = p->block_pause_min;
	if (r->cfg->ttl_hours > 0)
		p->ttl_hours = r->cfg->ttl_hours;
	if (r->cfg->active_hours > 0)
		p->active_hours = r->cfg->active_hours;
	if (engine_params_check(p, &what) != 0)
		return err_set(r->err, ERR_INVAL, "provider %s: the profile "
		    "gives an unusable %s", pv->name, what);
	return 0;
}

/* ---- state <-> store ---- */

static void
state_from_store(const struct store_engine_state *x, struct engine_state *s)
{
	int v;

	memset(s, 0, sizeof *s);
	s->initialised = 1;
	s->phase = (v = engine_phase_parse(x->phase)) >= 0 ?
	    (enum engine_phase)v : PHASE_WARMUP;
	s->stage = (unsigned)x->stage;
	s->stage_days = (unsigned)x->stage_days;
	s->cap_day = x->cap_day;
	s->cap_hour = x->cap_hour;
	s->conns = (unsigned)x->connections;
	s->ssthresh = x->ssthresh;
	s->last_good = x->last_good;
	s->since = x->since;
	s->hold_until = x->hold_until;
	s->last_decrease = x->last_decrease;
	s->last_increase = x->last_increase;
	if (day_number(x->last_gated_day, &s->last_gated_day) != 0)
		s->last_gated_day = -1;
	s->last_gate = (v = engine_gate_parse(x->last_gate)) >= 0 ?
	    (enum engine_gate)v : GATE_NONE;
	s->amber_days = (unsigned)x->amber_days;
	s->green_days = (unsigned)x->green_days;
	s->idle_days = (unsigned)x->idle_days;
	s->pauses_24h = (unsigned)x->pauses_24h;
	s->last_pause = x->last_pause;
	s->last_action = (v = engine_action_parse(x->last_action)) >= 0 ?
	    (enum engine_action)v : ACTION_HOLD;
	s->last_action_at = x->last_action_at;
	s->stop_until = x->stop_until;
	for (size_t i = 0; i < x->n_acted && i < ENGINE_ACTED_MAX; i++) {
		struct engine_acted *a = &s->acted[s->n_acted++];
		a->hour = x->acted[i].hour;
		a->attempts = x->acted[i].attempts;
		a->rate = x->acted[i].rate;
		a->rate_signal = x->acted[i].rate_signal;
		a->block = x->acted[i].block;
		a->conn = x->acted[i].conn;
	}
}

static void
state_to_store(const struct engine_state *s, const char *ip,
    const char *provider, struct store_engine_state *x)
{
	memset(x, 0, sizeof *x);
	snprintf(x->source_ip, sizeof x->source_ip, "%s", ip);
	snprintf(x->provider, sizeof x->provider, "%s", provider);
	snprintf(x->phase, sizeof x->phase, "%s", engine_phase_name(s->phase));
	x->stage = s->stage;
	x->stage_days = s->stage_days;
	x->cap_day = s->cap_day;
	x->cap_hour = s->cap_hour;
	x->connections = s->conns;
	x->ssthresh = s->ssthresh;
	x->last_good = s->last_good;
	x->since = s->since;
	x->hold_until = s->hold_until;
	x->last_decrease = s->last_decrease;
	x->last_increase = s->last_increase;
	if (s->last_gated_day >= 0)
		time_iso_day(s->last_gated_day * DAY_S, x->last_gated_day,
		    sizeof x->last_gated_day);
	snprintf(x->last_gate, sizeof x->last_gate, "%s",
	    engine_gate_name(s->last_gate));
	x->amber_days = s->amber_days;
	x->green_days = s->green_days;
	x->idle_days = s->idle_days;
	x->pauses_24h = s->pauses_24h;
	x->last_pause = s->last_pause;
	snprintf(x->last_action, sizeof x->last_action, "%s",
	    engine_action_name(s->last_action));
	x->last_action_at = s->last_action_at;
	x->stop_until = s->stop_until;
	for (size_t i = 0; i < s->n_acted && i < STORE_ENGINE_ACTED_MAX; i++) {
		struct store_engine_acted *a = &x->acted[x->n_acted++];
		a->hour = s->acted[i].hour;
		a->attempts = s->acted[i].attempts;
		a->rate = s->acted[i].rate;
		a->rate_signal = s->acted[i].rate_signal;
		a->block = s->acted[i].block;
		a->conn = s->acted[i].conn;
	}
}

/* ---- inputs ---- */

struct ids_ctx {
	struct engine_dmarc *d;
};

static int
add_report_id(void *ctx, const char *id)
{
	struct ids_ctx *c = ctx;

	if (c->d->n_report_ids < ENGINE_MAX_REPORT_IDS)
		snprintf(c->d->report_ids[c->d->n_report_ids++],
		    ENGINE_REPORT_ID_BYTES, "%s", id);
	return 0;
}

/* Days on which we delivered to the provider (from any of our IPs),
 * older than the DMARC lag, while it sent no report for any of our IPs in
 * the whole window; 0 when it sent one (it does report, then). */
static unsigned
silent_days(const struct run *r, const char *provider,
    const struct engine_params *p)
{
	int pi = prov_index(r, provider);
	unsigned n = 0;

	if (pi < 0)
		return 0;
	for (size_t b = 0; b < HINTS_WINDOW_DAYS; b++) {
		int sent = 0;
		for (size_t i = 0; i < r->sender->n_ips; i++) {
			const struct key_data *k =
			    &r->keys[i * r->prov.n + (size_t)pi];
			if (k->reported[b])
				return 0;
			sent |= k->delivered[b] > 0;
		}
		if (sent && b >= p->dmarc_lag_days)
			n++;
	}
	return n;
}

static int
inputs_of(struct run *r, const struct key_data *k, const char *ip,
    const char *provider, const struct engine_params *p,
    struct engine_inputs *in)
{
	memset(in, 0, sizeof *in);
	in->gate_day = r->gate_day;
	counts_of_day(&k->days[0], &in->day);
	for (unsigned i = 0; i < p->realised_window_days &&
	    i < HINTS_WINDOW_DAYS; i++)
		if (k->delivered[i] > in->best_ok)
			in->best_ok = k->delivered[i];
	in->dmarc_silent_days = silent_days(r, provider, p);
	in->dmarc.day = -1;
	/* The newest day with DMARC data, at most dmarc_lag_days old:
	 * reports arrive a day or two after the day they cover. */
	for (unsigned i = 0; i <= p->dmarc_lag_days && i < HINTS_FULL_DAYS;
	    i++) {
		const struct key_day *d = &k->days[i];
		if (d->reported > 0) {
			struct ids_ctx c = { &in->dmarc };
			char day[16];
			int rc;

			in->dmarc.day = r->gate_day - (int64_t)i;
			in->dmarc.messages = d->reported;
			in->dmarc.dmarc_pass = d->dmarc_pass;
			in->dmarc.quarantine = d->quarantine;
			in->dmarc.reject = d->reject;
			in->dmarc.accepted_that_day = d->delivered;
			time_iso_day(in->dmarc.day * DAY_S, day, sizeof day);
			rc = store_dmarc_report_ids(r->db, ip, provider, day,
			    ENGINE_MAX_REPORT_IDS, add_report_id, &c, r->err);
			if (rc < 0)
				return rc;
			break;
		}
	}
	in->n_hours = k->n_hours;
	in->hours = k->hours;
	return 0;
}

/* ---- output ---- */

static void
source_name(const char *ip, char *out, size_t n)
{
	size_t j;

	j = (size_t)snprintf(out, n, "ip-");
	for (size_t i = 0; ip[i] != '\0' && j + 1 < n; i++)
		out[j++] = ip[i] == '.' || ip[i] == ':' ? '-' : ip[i];
	out[j < n ? j : n - 1] = '\0';
}

/* FNV-1a 64: a short id that changes when the hint's content does. */
static void
hint_id(const char *content, char *out, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *p = (const unsigned char *)content; *p;
	    p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	snprintf(out, n, "h-%016llx", (unsigned long long)h);
}

static struct jv *
iso_str(int64_t t)
{
	char b[32];

	time_iso8601(t, b, sizeof b);
	return jv_str(b);
}

static struct jv *
evidence_json(const struct engine_hint *h)
{
	struct jv *arr = jv_array();
	int rc = arr == NULL ? ERR_NOMEM : 0;

	for (size_t i = 0; rc == 0 && i < h->n_evidence; i++) {
		const struct engine_evidence *e = &h->evidence[i];
		struct jv *o = jv_object(), *w;
		char day[16];

		if (o == NULL) {
			rc = ERR_NOMEM;
			break;
		}
		rc |= jv_set_str(o, "kind", e->kind);
		rc |= jv_set_str(o, "metric", e->metric);
		rc |= jv_set_real(o, "value", e->value);
		rc |= jv_set_int(o, "n", (int64_t)e->n);
		rc |= jv_set_real(o, "threshold", e->threshold);
		if (e->is_day) {
			time_iso_day(e->from, day, sizeof day);
			rc |= jv_set_str(o, "period", day);
		} else {
			w = jv_array();
			if (w == NULL || jv_append(w, iso_str(e->from)) != 0 ||
			    jv_append(w, iso_str(e->until)) != 0) {
				jv_free(w);
				rc = ERR_NOMEM;
			} else {
				rc |= jv_set(o, "window", w);
			}
		}
		if (e->n_report_ids > 0) {
			struct jv *ids = jv_array();
			for (size_t j = 0; ids != NULL && j < e->n_report_ids;
			    j++)
				if (jv_append(ids, jv_str(e->report_ids[j])))
					rc = ERR_NOMEM;
			rc |= jv_set(o, "report_ids", ids);
		}
		rc |= jv_append(arr, o);
	}
	if (rc != 0) {
		jv_free(arr);
		return NULL;
	}
	return arr;
}

static char *
json_text(const struct jv *v)
{
	char *p = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&p, &n);

	if (f == NULL)
		return NULL;
	if (jv_dump_prec(v, f, 0, HINTS_REAL_DIGITS) != 0) {
		fclose(f);
		free(p);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(p);
		return NULL;
	}
	/* jv_dump ends with a newline; the column holds the value only. */
	if (n > 0 && p[n - 1] == '\n')
		p[n - 1] = '\0';
	return p;
}

struct hint_out {
	char ip[48];
	char source[64];
	char provider[LIM_PROVIDER_NAME_BYTES];
	char id[24];
	struct engine_hint h;
	struct engine_inputs in;      /* evidence points here */
	int64_t gate_day;
};

static struct jv *
hint_json(const struct hint_out *o)
{
	const struct engine_hint *h = &o->h;
	struct jv *j = jv_object(), *ev, *gate;
	char day[16];
	int rc;

	if (j == NULL)
		return NULL;
	rc = jv_set_str(j, "id", o->id);
	rc |= jv_set_str(j, "source", o->source);
	rc |= jv_set_str(j, "source_ip", o->ip);
	rc |= jv_set_str(j, "provider", o->provider);
	rc |= jv_set_str(j, "action", engine_action_name(h->action));
	rc |= jv_set_str(j, "phase", engine_phase_name(h->phase));
	rc |= jv_set_int(j, "stage", (int64_t)h->stage + 1);
	rc |= jv_set_int(j, "max_per_hour", (int64_t)h->max_per_hour);
	rc |= jv_set_int(j, "max_per_day", (int64_t)h->max_per_day);
	rc |= jv_set_int(j, "max_connections", (int64_t)h->max_connections);
	rc |= jv_set(j, "valid_from", iso_str(h->valid_from));
	rc |= jv_set(j, "valid_until", iso_str(h->valid_until));
	rc |= jv_set_str(j, "on_expiry", h->on_expiry_hold_last ?
	    "hold_last" : "revert");
	if (h->stop_until != 0)
		rc |= jv_set(j, "stop_until", iso_str(h->stop_until));
	if (h->action == ACTION_PAUSE) {
		struct jv *t = jv_object();
		if (t == NULL)
			rc = ERR_NOMEM;
		else {
			rc |= jv_set_int(t, "max_per_hour",
			    (int64_t)h->then_per_hour);
			rc |= jv_set_int(t, "max_per_day",
			    (int64_t)h->then_per_day);
			rc |= jv_set_int(t, "max_connections",
			    (int64_t)h->then_connections);
			rc |= jv_set(j, "after_pause", t);
		}
	}
	rc |= jv_set_str(j, "reason", h->reason);
	rc |= jv_set_str(j, "reason_text", h->reason_text);
	gate = jv_object();
	if (gate == NULL)
		rc = ERR_NOMEM;
	else {
		time_iso_day(o->gate_day * DAY_S, day, sizeof day);
		rc |= jv_set_str(gate, "day", day);
		rc |= jv_set_str(gate, "verdict", engine_gate_name(h->gate));
		if (h->gate_reason != NULL)
			rc |= jv_set_str(gate, "reason", h->gate_reason);
		rc |= jv_set_bool(gate, "stalled", h->stalled);
		rc |= jv_set(j, "gate", gate);
	}
	ev = evidence_json(h);
	rc |= ev == NULL ? ERR_NOMEM : jv_set(j, "evidence", ev);
	rc |= jv_set_real(j, "confidence", h->confidence);
	if (rc != 0) {
		jv_free(j);
		return NULL;
	}
	return j;
}

static struct jv *
providers_json(const struct run *r)
{
	struct jv *all = jv_object();
	int rc = all == NULL ? ERR_NOMEM : 0;

	for (size_t i = 0; rc == 0 && i < r->prov.n; i++) {
		const char *name = r->prov.v[i].name;
		struct jv *o = jv_object(), *m = jv_array(),
		    *rep = jv_array();

		if (o == NULL || m == NULL || rep == NULL) {
			jv_free(o);
			jv_free(m);
			jv_free(rep);
			rc = ERR_NOMEM;
			break;
		}
		for (size_t k = 0; k < r->match.n; k++) {
			const struct match_row *x = &r->match.v[k];
			struct jv *e;
			char suf[LIM_PROVIDER_TEXT_BYTES + 2];

			if (strcmp(x->provider, name) != 0)
				continue;
			if (strcmp(x->kind, "reporter") == 0) {
				rc |= jv_append(rep, jv_str(x->pattern));
				continue;
			}
			if ((e = jv_object()) == NULL) {
				rc = ERR_NOMEM;
				continue;
			}
			if (strcmp(x->kind, "mx") == 0) {
				snprintf(suf, sizeof suf, ".%s", x->pattern);
				rc |= jv_set_str(e, "mx_suffix", suf);
			} else {
				rc |= jv_set_str(e, "domain", x->pattern);
			}
			rc |= jv_append(m, e);
		}
		rc |= jv_set_str(o, "display_name", r->prov.v[i].display_name);
		rc |= jv_set(o, "match", m);
		rc |= jv_set(o, "dmarc_reporters", rep);
		rc |= jv_set(all, name, o);
	}
	if (rc != 0) {
		jv_free(all);
		return NULL;
	}
	return all;
}

/* The sequence of a hints file already at path, so that a new database
 * (or a restored one) never goes back below what consumers have seen. */
static int64_t
file_sequence(const char *path)
{
	struct buf b;
	struct reader rd;
	struct reader_mem m;
	struct jv *doc = NULL;
	uint64_t seq = 0;
	char tmp[8192];
	size_t n;
	FILE *f;
	int ok = 1;

	struct stat sb;

	/* Only a regular file holds an earlier sequence: reading a FIFO
	 * would block, and a device (/dev/null) holds nothing. */
	if (path == NULL || strcmp(path, "-") == 0 ||
	    stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (f = fopen(path, "rb")) == NULL)
		return 0;
	buf_init(&b, LIM_JSON_BYTES);
	while (ok && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
		ok = buf_append(&b, tmp, n) == 0;
	fclose(f);
	if (ok && b.data != NULL) {
		reader_mem_init(&m, b.data, b.len, 0, &rd);
		if (jv_parse(&rd, LIM_JSON_BYTES, LIM_JSON_DEPTH, &doc,
		    NULL) == 0 && jv_integer_value(jv_get(doc, "sequence"),
		    INT64_MAX, &seq) < 0)
			seq = 0;
	}
	if (seq == 0)
		log_warnx("%s: no sequence readable in the existing file; "
		    "continuing from the database's", path);
	jv_free(doc);
	buf_free(&b);
	return (int64_t)seq;
}

static int
write_json(const struct run *r, const struct hint_out *outs, size_t n,
    int64_t seq)
{
	struct jv *doc = jv_object(), *gen = jv_object(), *src = jv_object(),
	    *arr = jv_array();
	struct outfile of;
	int rc;

	if (doc == NULL || gen == NULL || src == NULL || arr == NULL) {
		jv_free(doc);
		jv_free(gen);
		jv_free(src);
		jv_free(arr);
		return err_set(r->err, ERR_NOMEM, "out of memory");
	}
	rc = jv_set_str(doc, "format", "throttle-hints");
	rc |= jv_set_int(doc, "version", 1);
	rc |= jv_set(doc, "generated_at", iso_str(r->now));
	rc |= jv_set_str(gen, "name", "dmarcwatch");
	rc |= jv_set_str(gen, "version", DW_VERSION);
	if (r->cfg->instance != NULL)
		rc |= jv_set_str(gen, "instance", r->cfg->instance);
	rc |= jv_set(doc, "generator", gen);
	rc |= jv_set_int(doc, "sequence", seq);
	rc |= jv_set(doc, "providers", providers_json(r));
	for (size_t i = 0; i < r->sender->n_ips; i++) {
		struct jv *o = jv_object();
		char name[64];

		source_name(r->sender->ips[i], name, sizeof name);
		rc |= o == NULL ? ERR_NOMEM : jv_set_str(o, "ip",
		    r->sender->ips[i]);
		rc |= jv_set(src, name, o);
	}
	rc |= jv_set(doc, "sources", src);
	for (size_t i = 0; i < n; i++)
		rc |= jv_append(arr, hint_json(&outs[i]));
	rc |= jv_set(doc, "hints", arr);
	if (rc != 0) {
		jv_free(doc);
		return err_set(r->err, ERR_NOMEM, "out of memory");
	}
	if ((rc = outfile_open(&of, r->cfg->json_path, r->err)) == 0) {
		if (jv_dump_prec(doc, of.f, 2, HINTS_REAL_DIGITS) != 0) {
			outfile_abort(&of);
			err_where(r->err, "%s", r->cfg->json_path);
			rc = err_set(r->err, ERR_IO, "write failed");
		} else {
			rc = outfile_commit(&of, r->err);
		}
	}
	jv_free(doc);
	return rc;
}

/* ---- exports ---- */

static int
write_exports(const struct run *r, const struct hint_out *outs, size_t n,
    int64_t seq)
{
	struct export_hint *eh = NULL;
	struct export_provider *ep = NULL;
	const char **strs = NULL;
	struct export_set x;
	size_t ns = 0;
	int rc = 0;

	if (r->cfg->postfix_dir == NULL && r->cfg->kumomta_file == NULL &&
	    r->cfg->pmta_dir == NULL)
		return 0;
	eh = calloc(n > 0 ? n : 1, sizeof *eh);
	ep = calloc(r->prov.n > 0 ? r->prov.n : 1, sizeof *ep);
	strs = calloc(r->match.n > 0 ? r->match.n : 1, sizeof *strs);
	if (eh == NULL || ep == NULL || strs == NULL) {
		rc = err_set(r->err, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct engine_hint *h = &outs[i].h;
		eh[i].hint_id = outs[i].id;
		eh[i].source = outs[i].source;
		eh[i].source_ip = outs[i].ip;
		eh[i].provider = outs[i].provider;
		eh[i].action = engine_action_name(h->action);
		eh[i].reason = h->reason;
		eh[i].paused = h->action == ACTION_PAUSE;
		eh[i].per_hour = h->max_per_hour;
		eh[i].per_day = h->max_per_day;
		eh[i].conns = h->max_connections;
		eh[i].then_per_hour = h->then_per_hour;
		eh[i].then_per_day = h->then_per_day;
		eh[i].then_conns = h->then_connections;
		eh[i].valid_from = h->valid_from;
		eh[i].valid_until = h->valid_until;
		eh[i].stop_until = h->stop_until;
	}
	/* match rows are ordered by provider, kind ("domain" < "mx" <
	 * "reporter"), pattern: each provider's domains, then its MX
	 * suffixes, are contiguous. */
	for (size_t i = 0; i < r->prov.n; i++) {
		ep[i].name = r->prov.v[i].name;
		ep[i].domains = strs + ns;
		for (size_t k = 0; k < r->match.n; k++)
			if (strcmp(r->match.v[k].provider, ep[i].name) == 0 &&
			    strcmp(r->match.v[k].kind, "domain") == 0) {
				strs[ns++] = r->match.v[k].pattern;
				ep[i].n_domains++;
			}
		ep[i].mx = strs + ns;
		for (size_t k = 0; k < r->match.n; k++)
			if (strcmp(r->match.v[k].provider, ep[i].name) == 0 &&
			    strcmp(r->match.v[k].kind, "mx") == 0) {
				strs[ns++] = r->match.v[k].pattern;
				ep[i].n_mx++;
			}
	}
	memset(&x, 0, sizeof x);
	x.seq = seq;
	x.generated_at = r->now;
	x.n_hints = n;
	x.hints = eh;
	x.n_providers = r->prov.n;
	x.providers = ep;
	if (r->cfg->postfix_dir != NULL &&
	    (rc = export_postfix(&x, r->cfg->postfix_dir, r->err)) < 0)
		goto out;
	if (r->cfg->kumomta_file != NULL &&
	    (rc = export_kumomta(&x, r->cfg->kumomta_file, r->err)) < 0)
		goto out;
	if (r->cfg->pmta_dir != NULL &&
	    (rc = export_pmta(&x, r->cfg->pmta_dir, r->err)) < 0)
		goto out;
	rc = 0;
out:
	free(eh);
	free(ep);
	free(strs);
	return rc;
}

/* ---- the run ---- */

static int
one_key(struct run *r, size_t ii, size_t pi, int64_t seq,
    struct hint_out *o, struct hints_summary *sum)
{
	const struct store_provider *pv = &r->prov.v[pi];
	const char *ip = r->sender->ips[ii];
	struct key_data *k = &r->keys[ii * r->prov.n + pi];
	struct store_engine_state xs;
	struct store_hint_row hr;
	struct engine_params p;
	struct engine_state st;
	uint64_t cap_before;
	char content[512], *evtext = NULL;
	struct jv *ev = NULL;
	int rc;

	memset(o, 0, sizeof *o);
	snprintf(o->ip, sizeof o->ip, "%s", ip);
	source_name(ip, o->source, sizeof o->source);
	snprintf(o->provider, sizeof o->provider, "%s", pv->name);
	o->gate_day = r->gate_day;
	if ((rc = params_of(r, pv, &p)) < 0)
		return rc;
	if ((rc = store_engine_state_get(r->db, ip, pv->name, &xs,
	    r->err)) < 0)
		return rc;
	if (rc == 1)
		state_from_store(&xs, &st);
	else
		engine_state_init(&st, &p, r->now);
	/* A profile edit can shorten the ladder under a stored state. */
	if (st.stage >= p.n_stages)
		st.stage = (unsigned)p.n_stages - 1;
	cap_before = st.cap_day;
	if ((rc = inputs_of(r, k, ip, pv->name, &p, &o->in)) < 0)
		return rc;
	if ((rc = engine_step(&p, &st, &o->in, r->now, &o->h)) < 0)
		return err_set(r->err, rc, "engine refused provider %s",
		    pv->name);
	snprintf(content, sizeof content, "%s|%s|%s|%llu|%llu|%u|%lld|%lld|%s",
	    ip, pv->name, engine_action_name(o->h.action),
	    (unsigned long long)o->h.max_per_hour,
	    (unsigned long long)o->h.max_per_day, o->h.max_connections,
	    (long long)o->h.valid_from, (long long)o->h.valid_until,
	    o->h.reason);
	hint_id(content, o->id, sizeof o->id);

	state_to_store(&st, ip, pv->name, &xs);
	if ((rc = store_engine_state_put(r->db, &xs, r->now, r->err)) < 0)
		return rc;
	if (o->h.gate_ran) {
		struct store_engine_day d;
		const struct engine_counts *c = &o->in.day;
		char day[16], dday[16];
		uint64_t defer = c->rate + c->conn + c->tls + c->other_4xx;

		memset(&d, 0, sizeof d);
		time_iso_day(r->gate_day * DAY_S, day, sizeof day);
		d.day = day;
		d.source_ip = ip;
		d.provider = pv->name;
		d.gate = engine_gate_name(o->h.gate);
		d.reason = o->h.gate_reason;
		d.reason_text = o->h.gate == GATE_GREEN ? NULL :
		    o->h.reason_text;
		d.action = engine_action_name(o->h.action);
		d.cap_day = cap_before;
		d.new_cap_day = st.cap_day;
		d.attempts = c->attempts;
		d.accepted = c->ok;
		d.deferral_rate = c->attempts ? (double)defer /
		    (double)c->attempts : -1;
		d.bounce_rate = c->attempts ? (double)c->other_5xx /
		    (double)c->attempts : -1;
		d.block = c->block;
		d.block_hours = o->h.missed_block_hours;
		d.usable_cap = o->h.usable_cap;
		d.utilisation = o->h.usable_cap ? (double)c->ok /
		    (double)o->h.usable_cap : -1;
		d.missed_block = o->h.missed_block;
		d.missed_rate_signal = o->h.missed_rate_signal;
		d.dmarc_expected = o->h.dmarc_expected;
		d.dmarc_pass_rate = d.coverage = -1;
		if (o->in.dmarc.day >= 0) {
			time_iso_day(o->in.dmarc.day * DAY_S, dday,
			    sizeof dday);
			d.dmarc_day = dday;
			d.dmarc_messages = o->in.dmarc.messages;
			d.quarantine = o->in.dmarc.quarantine;
			d.reject = o->in.dmarc.reject;
			d.dmarc_pass_rate = o->in.dmarc.messages ?
			    (double)o->in.dmarc.dmarc_pass /
			    (double)o->in.dmarc.messages : -1;
			d.coverage = o->in.dmarc.accepted_that_day ?
			    (double)o->in.dmarc.messages /
			    (double)o->in.dmarc.accepted_that_day : -1;
		}
		d.decided_at = r->now;
		if ((rc = store_engine_day_put(r->db, &d, r->err)) < 0)
			return rc;
		sum->gated++;
	}
	if ((ev = evidence_json(&o->h)) == NULL ||
	    (evtext = json_text(ev)) == NULL) {
		jv_free(ev);
		return err_set(r->err, ERR_NOMEM, "out of memory");
	}
	memset(&hr, 0, sizeof hr);
	hr.seq = seq;
	hr.hint_id = o->id;
	hr.source_ip = ip;
	hr.provider = pv->name;
	hr.action = engine_action_name(o->h.action);
	hr.phase = engine_phase_name(o->h.phase);
	hr.stage = o->h.stage;
	hr.max_per_hour = o->h.max_per_hour;
	hr.max_per_day = o->h.max_per_day;
	hr.max_connections = o->h.max_connections;
	hr.valid_from = o->h.valid_from;
	hr.valid_until = o->h.valid_until;
	hr.on_expiry = o->h.on_expiry_hold_last ? "hold_last" : "revert";
	hr.reason = o->h.reason;
	hr.reason_text = o->h.reason_text;
	hr.confidence = o->h.confidence;
	hr.evidence_json = evtext;
	rc = store_hint_put(r->db, &hr, r->err);
	free(evtext);
	jv_free(ev);
	if (rc < 0)
		return rc;
	sum->hints++;
	sum->by_action[o->h.action]++;
	return 0;
}

int
hints_run(const char *db_path, const struct hints_config *c, int64_t now,
    struct hints_summary *sum, struct err *err)
{
	struct run r;
	struct hint_out *outs = NULL;
	struct store_sendlog_filter f;
	size_t nkeys = 0, n = 0;
	int64_t seq = 0, min_seq;
	char from_day[16], to_day[16];
	int rc, in_tx = 0;

	memset(&r, 0, sizeof r);
	memset(sum, 0, sizeof *sum);
	r.cfg = c;
	r.now = now;
	r.err = err;
	r.gate_day = (now >= 0 ? now / DAY_S : -((-now + DAY_S - 1) / DAY_S))
	    - 1;
	if ((r.sender = calloc(1, sizeof *r.sender)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	if ((rc = store_open(db_path, 0, &r.db, err)) < 0)
		goto out;
	if ((rc = store_sender_load(r.db, r.sender, err)) < 0 ||
	    (rc = store_providers_each(r.db, collect_provider, &r, err)) < 0 ||
	    (rc = store_provider_match_each(r.db, collect_match, &r, err)) < 0 ||
	    (rc = store_provider_params_each(r.db, collect_param, &r, err)) < 0)
		goto out;
	if (r.prov.n > 1)
		qsort(r.prov.v, r.prov.n, sizeof *r.prov.v, cmp_provider);
	if (r.sender->n_ips == 0)
		log_warnx("no [sender] ips in the database: no hints (set "
		    "[sender] ips and run again)");
	if (r.prov.n == 0)
		log_warnx("no provider profiles in the database: no hints");
	nkeys = r.sender->n_ips * r.prov.n;
	r.keys = calloc(nkeys > 0 ? nkeys : 1, sizeof *r.keys);
	outs = calloc(nkeys > 0 ? nkeys : 1, sizeof *outs);
	if (r.keys == NULL || outs == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	/* Inputs: the days of the window up to gate_day; the hour buckets
	 * from gate_day's start up to now (the gate reads the day's, the
	 * fast loop those overlapping the hour before now). */
	time_iso_day((r.gate_day - HINTS_WINDOW_DAYS + 1) * DAY_S, from_day,
	    sizeof from_day);
	time_iso_day(r.gate_day * DAY_S, to_day, sizeof to_day);
	if ((rc = store_correlation_each(r.db, from_day, to_day, collect_day,
	    &r, err)) < 0)
		goto out;
	memset(&f, 0, sizeof f);
	f.since = r.gate_day * DAY_S;
	f.until = now + 1;
	if ((rc = store_sendlog_hourly_each(r.db, &f, collect_hour, &r,
	    err)) < 0)
		goto out;

	if ((rc = store_tx_begin(r.db, err)) < 0)
		goto out;
	in_tx = 1;
	min_seq = file_sequence(c->json_path);
	if ((rc = store_hints_run_begin(r.db, now, min_seq, &seq, err)) < 0)
		goto out;
	for (size_t i = 0; i < r.sender->n_ips; i++)
		for (size_t p = 0; p < r.prov.n; p++) {
			if ((rc = one_key(&r, i, p, seq, &outs[n], sum)) < 0)
				goto out;
			n++;
		}
	if ((rc = store_hints_run_finish(r.db, seq, n, c->json_path,
	    err)) < 0)
		goto out;
	/* Files before the commit: a run whose files failed is rolled back
	 * and recomputed next time. */
	if (c->json_path != NULL && (rc = write_json(&r, outs, n, seq)) < 0)
		goto out;
	if ((rc = write_exports(&r, outs, n, seq)) < 0)
		goto out;
	if ((rc = store_tx_commit(r.db, err)) < 0)
		goto out;
	in_tx = 0;
	sum->seq = seq;
	sum->ips = r.sender->n_ips;
	sum->providers = r.prov.n;
	rc = 0;
out:
	if (in_tx)
		store_tx_rollback(r.db);
	store_free(r.db);
	free(outs);
	for (size_t i = 0; r.keys != NULL && i < nkeys; i++)
		free(r.keys[i].hours);
	free(r.keys);
	free(r.prov.v);
	free(r.match.v);
	free(r.params);
	free(r.sender);
	return rc;
}
