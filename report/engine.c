/* report/engine.c - see engine.h and doc/hints.md */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../common/err.h"
#include "engine.h"

#define DAY_S 86400
#define MIN_S 60

/*
 * The fallback table: used only for a key that the profile (the
 * provider's section or [defaults]) does not set; the shipped
 * dist/providers.conf sets every key in [defaults] to these values.
 * They sit inside the published envelopes (doc/hints.md cites which).
 */
void
engine_params_defaults(struct engine_params *p)
{
	memset(p, 0, sizeof *p);
	p->active_hours = 12;
	p->max_per_hour = 20000;
	p->max_connections = 10;
	p->start_connections = 1;
	p->min_attempts = 20;
	p->deferral_amber = 0.05;
	p->deferral_red = 0.20;
	p->bounce_amber = 0.03;
	p->bounce_red = 0.10;
	p->auth_amber = 0.01;
	p->dmarc_pass_green = 0.98;
	p->dmarc_pass_amber = 0.90;
	p->coverage_low = 0.5;
	p->coverage_high = 1.5;
	p->sends_reports = -1;
	p->dmarc_lag_days = 2;
	p->dmarc_absent_days = 5;
	p->utilisation_min = 0.9;
	p->block_red_hours = 2;
	p->block_pause_share = 0.20;
	p->rate_gate_red = 0;
	p->growth_above_s = 0.10;
	p->realised_factor = 2;
	p->realised_window_days = 7;
	p->recovery_days = 2;
	p->ssthresh_clear_days = 3;
	p->stall_days = 10;
	p->stage_snap = 0.10;
	p->red_cut = 0.5;
	p->block_per_hour = 1;
	p->rate_per_hour = 1;
	p->rate_min_attempts = 50;
	p->rate_share = 0.05;
	p->rate_share_cut = 0.5;
	p->rate_pause_min = 15;
	p->rate_strict_cut = 0.7;
	p->block_pause_min = 120;
	p->block_pause_max_min = 1440;
	p->block_pause_growth = 2;
	p->block_cut = 0.5;
	p->decrease_gap_min = 30;
	p->increase_gap_min = 30;
	p->recovery_step = 0.10;
	p->idle_share = 0.1;
	p->idle_stage_days = 7;
	p->idle_restart_days = 30;
	p->ttl_hours = 26;
	p->confidence_prior = 200;
	p->confidence_one_source = 0.7;
}

/* Profile key -> field (doc/providers.md "Threshold keys"; the same
 * names as parse/profiles.c, checked by tests/unit/test_engine.c). */
enum param_kind { PK_RATIO, PK_U64, PK_UNS, PK_INT };
#define F(name, field, kind) \
	{ name, offsetof(struct engine_params, field), kind }
static const struct {
	const char *name;
	size_t off;
	enum param_kind kind;
} param_keys[] = {
	F("dmarc_pass_green", dmarc_pass_green, PK_RATIO),
	F("dmarc_pass_amber", dmarc_pass_amber, PK_RATIO),
	F("deferral_pct_amber", deferral_amber, PK_RATIO),
	F("deferral_pct_red", deferral_red, PK_RATIO),
	F("bounce_pct_amber", bounce_amber, PK_RATIO),
	F("bounce_pct_red", bounce_red, PK_RATIO),
	F("auth_pct_amber", auth_amber, PK_RATIO),
	F("min_attempts", min_attempts, PK_U64),
	F("coverage_low_pct", coverage_low, PK_RATIO),
	F("coverage_high_pct", coverage_high, PK_RATIO),
	F("sends_reports", sends_reports, PK_INT),
	F("dmarc_lag_days", dmarc_lag_days, PK_UNS),
	F("dmarc_absent_days", dmarc_absent_days, PK_UNS),
	F("advance_delivered_pct", utilisation_min, PK_RATIO),
	F("block_red_hours", block_red_hours, PK_UNS),
	F("block_pause_pct", block_pause_share, PK_RATIO),
	F("rate_gate_red", rate_gate_red, PK_INT),
	F("growth_above_s_pct", growth_above_s, PK_RATIO),
	F("realised_factor", realised_factor, PK_UNS),
	F("realised_window_days", realised_window_days, PK_UNS),
	F("recovery_days", recovery_days, PK_UNS),
	F("ssthresh_clear_days", ssthresh_clear_days, PK_UNS),
	F("stall_days", stall_days, PK_UNS),
	F("stage_snap_pct", stage_snap, PK_RATIO),
	F("red_cut_pct", red_cut, PK_RATIO),
	F("rate_per_hour", rate_per_hour, PK_U64),
	F("block_per_hour", block_per_hour, PK_U64),
	F("rate_min_attempts", rate_min_attempts, PK_U64),
	F("rate_share_pct", rate_share, PK_RATIO),
	F("rate_share_cut_pct", rate_share_cut, PK_RATIO),
	F("rate_strict_cut_pct", rate_strict_cut, PK_RATIO),
	F("rate_pause_minutes", rate_pause_min, PK_UNS),
	F("block_pause_minutes", block_pause_min, PK_UNS),
	F("block_pause_max_minutes", block_pause_max_min, PK_UNS),
	F("block_pause_growth", block_pause_growth, PK_UNS),
	F("block_cut_pct", block_cut, PK_RATIO),
	F("decrease_gap_minutes", decrease_gap_min, PK_UNS),
	F("increase_gap_minutes", increase_gap_min, PK_UNS),
	F("recovery_step_pct", recovery_step, PK_RATIO),
	F("max_per_hour", max_per_hour, PK_U64),
	F("max_connections", max_connections, PK_UNS),
	F("start_connections", start_connections, PK_UNS),
	F("active_hours", active_hours, PK_UNS),
	F("idle_pct", idle_share, PK_RATIO),
	F("decay_idle_days", idle_stage_days, PK_UNS),
	F("rewarm_idle_days", idle_restart_days, PK_UNS),
	F("ttl_hours", ttl_hours, PK_UNS),
	F("confidence_prior", confidence_prior, PK_U64),
	F("confidence_one_source_pct", confidence_one_source, PK_RATIO),
};
#undef F
#define N_PARAM_KEYS (sizeof param_keys / sizeof param_keys[0])

const char *
engine_param_name(size_t i)
{
	return i < N_PARAM_KEYS ? param_keys[i].name : NULL;
}

int
engine_param_set(struct engine_params *p, const char *name, double value)
{
	for (size_t i = 0; i < N_PARAM_KEYS; i++) {
		char *f = (char *)p + param_keys[i].off;
		double r;
		uint64_t u;
		unsigned w;
		int k;

		if (strcmp(param_keys[i].name, name) != 0)
			continue;
		/* NaN fails every comparison: refused here too. */
		if (param_keys[i].kind == PK_INT) {
			if (!(value >= -1.0 && value <= 1.0))
				return ERR_INVAL;
			k = (int)value;
			memcpy(f, &k, sizeof k);
			return 0;
		}
		if (!(value >= 0.0 && value <= 1e12))
			return ERR_INVAL;
		switch (param_keys[i].kind) {
		case PK_RATIO:
			r = value / 100.0;
			memcpy(f, &r, sizeof r);
			break;
		case PK_U64:
			u = (uint64_t)value;
			memcpy(f, &u, sizeof u);
			break;
		default:
			if (value > 4e9)
				return ERR_INVAL;
			w = (unsigned)value;
			memcpy(f, &w, sizeof w);
			break;
		}
		return 0;
	}
	return ERR_NOTFOUND;
}

/* Rounding without libm (values here are >= 0 and far below 2^53). */
static uint64_t
ceil_u(double x)
{
	uint64_t i = (uint64_t)x;

	return (double)i < x ? i + 1 : i;
}

/* cap x factor in (0, 1], rounded down, at least 1: a cut always leaves
 * something to resume from. */
static uint64_t
scale(uint64_t cap, double factor)
{
	uint64_t v = (uint64_t)((double)cap * factor);

	return v == 0 ? 1 : v;
}

static double
round_to(double x, double unit)
{
	return (double)(int64_t)(x * unit + (x >= 0 ? 0.5 : -0.5)) / unit;
}

static int
ratio_ok(double v)
{
	return v >= 0.0 && v <= 1.0;
}

/* A factor that lowers (or keeps) a cap: (0, 1]. */
static int
cut_ok(double v)
{
	return v > 0.0 && v <= 1.0;
}

int
engine_params_check(const struct engine_params *p, const char **what)
{
	const char *bad = NULL;

	if (p->n_stages == 0 || p->n_stages > ENGINE_MAX_STAGES)
		bad = "stages";
	for (size_t i = 0; bad == NULL && i < p->n_stages; i++)
		if (p->stage_day[i] == 0 ||
		    (i > 0 && p->stage_day[i] <= p->stage_day[i - 1]))
			bad = "stages (must increase from 1)";
	if (bad == NULL && (p->active_hours == 0 || p->active_hours > 24))
		bad = "active_hours";
	if (bad == NULL && (p->start_connections == 0 ||
	    p->max_connections < p->start_connections))
		bad = "connections";
	if (bad == NULL && !(ratio_ok(p->deferral_amber) &&
	    ratio_ok(p->bounce_amber) && ratio_ok(p->bounce_red) &&
	    ratio_ok(p->deferral_red) &&
	    p->bounce_amber <= p->bounce_red && ratio_ok(p->auth_amber)))
		bad = "smtp rate thresholds";
	if (bad == NULL && !(ratio_ok(p->dmarc_pass_green) &&
	    ratio_ok(p->dmarc_pass_amber) &&
	    p->dmarc_pass_amber <= p->dmarc_pass_green))
		bad = "dmarc_pass thresholds";
	if (bad == NULL && !(p->coverage_low >= 0.0 &&
	    p->coverage_low <= 1.0 && p->coverage_high >= 1.0))
		bad = "coverage bounds";
	if (bad == NULL && !(ratio_ok(p->utilisation_min) &&
	    ratio_ok(p->block_pause_share) && ratio_ok(p->rate_share) &&
	    ratio_ok(p->idle_share) && cut_ok(p->rate_strict_cut) &&
	    cut_ok(p->rate_share_cut) && cut_ok(p->red_cut) &&
	    cut_ok(p->block_cut) && cut_ok(p->growth_above_s) &&
	    cut_ok(p->recovery_step) && p->stage_snap >= 0.0 &&
	    p->stage_snap <= 0.5 && ratio_ok(p->confidence_one_source)))
		bad = "ratios";
	if (bad == NULL && (p->realised_factor == 0 ||
	    p->realised_window_days == 0 ||
	    p->realised_window_days > ENGINE_MAX_WINDOW_DAYS - 4 ||
	    p->idle_stage_days == 0 || p->block_per_hour == 0 ||
	    p->rate_per_hour == 0 || p->block_pause_min == 0 ||
	    p->block_pause_growth == 0 ||
	    p->block_pause_max_min < p->block_pause_min ||
	    p->block_pause_max_min > 48 * 60 || p->rate_pause_min > 48 * 60 ||
	    p->block_red_hours == 0 || p->stall_days == 0 ||
	    p->confidence_prior == 0))
		bad = "pause and growth settings";
	if (bad == NULL && (p->sends_reports < -1 || p->sends_reports > 1 ||
	    p->dmarc_lag_days > 7 || p->dmarc_absent_days == 0 ||
	    p->dmarc_lag_days + p->dmarc_absent_days > ENGINE_MAX_WINDOW_DAYS))
		bad = "DMARC report settings";
	if (bad == NULL && (p->ttl_hours == 0 || p->ttl_hours > 48))
		bad = "ttl_hours (1..48)";
	if (bad == NULL && p->target_daily != 0 &&
	    p->target_daily < p->stage_day[0])
		bad = "target_daily (below the first stage)";
	if (what != NULL)
		*what = bad;
	return bad == NULL ? 0 : ERR_INVAL;
}

static uint64_t
target_of(const struct engine_params *p)
{
	return p->target_daily != 0 ? p->target_daily :
	    p->stage_day[p->n_stages - 1];
}

/* Hour cap that goes with a day cap: the day cap spread over
 * active_hours, or the stage's own hour cap when that is larger (the
 * profile fills it with day / 24, which alone would force a sender to
 * spread mail over all 24 hours to use its day cap); never above
 * max_per_hour. */
static uint64_t
hour_base(const struct engine_params *p, uint64_t cap_day)
{
	uint64_t h = (cap_day + p->active_hours - 1) / p->active_hours;

	for (size_t i = 0; i < p->n_stages; i++)
		if (p->stage_day[i] == cap_day && p->stage_hour[i] > h)
			h = p->stage_hour[i];
	if (p->max_per_hour != 0 && h > p->max_per_hour)
		h = p->max_per_hour;
	return h == 0 ? 1 : h;
}

/* Connections that go with a stage: one more per stage climbed. */
static unsigned
conn_base(const struct engine_params *p, unsigned stage)
{
	uint64_t k = (uint64_t)p->start_connections + stage;
	return k > p->max_connections ? p->max_connections : (unsigned)k;
}

/* Highest stage whose cap is <= cap, or at most stage_snap above it: a
 * cap the realised-volume clamp held just below a stage counts as that
 * stage, so the stage's min_days are not waited twice (0 when below the
 * first). */
static unsigned
stage_for(const struct engine_params *p, uint64_t cap)
{
	unsigned s = 0;

	for (size_t i = 0; i < p->n_stages; i++)
		if (p->stage_day[i] <= cap || (double)cap >=
		    (double)p->stage_day[i] * (1.0 - p->stage_snap))
			s = (unsigned)i;
	return s;
}

void
engine_state_init(struct engine_state *s, const struct engine_params *p,
    int64_t now)
{
	memset(s, 0, sizeof *s);
	s->phase = PHASE_WARMUP;
	s->stage = 0;
	s->cap_day = p->n_stages > 0 ? p->stage_day[0] : 1;
	if (p->n_stages > 0 && s->cap_day > target_of(p))
		s->cap_day = target_of(p);
	s->cap_hour = p->active_hours > 0 ? hour_base(p, s->cap_day) : 1;
	s->conns = p->start_connections;
	s->since = now;
	s->last_gated_day = -1;
	s->last_gate = GATE_NONE;
	s->last_action = ACTION_HOLD;
	s->last_action_at = now;
	s->initialised = 1;
}

static double
share(uint64_t part, uint64_t whole)
{
	return whole == 0 ? 0.0 : (double)part / (double)whole;
}

static int64_t
day_start(int64_t day)
{
	return day * DAY_S;
}

static void
add_evidence(struct engine_hint *h, const char *kind, const char *metric,
    double value, uint64_t n, double threshold, int64_t from, int64_t until,
    int is_day)
{
	struct engine_evidence *e;

	if (h->n_evidence >= ENGINE_MAX_EVIDENCE)
		return;
	e = &h->evidence[h->n_evidence++];
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->metric = metric;
	/* Four decimals: enough for a threshold comparison, and the JSON
	 * output does not depend on the last bits of a division. */
	e->value = round_to(value, 10000.0);
	e->n = n;
	e->threshold = threshold;
	e->from = from;
	e->until = until;
	e->is_day = is_day;
}

static void
add_dmarc_ids(struct engine_hint *h, const struct engine_dmarc *d)
{
	struct engine_evidence *e;

	if (h->n_evidence == 0)
		return;
	e = &h->evidence[h->n_evidence - 1];
	for (size_t i = 0; i < d->n_report_ids && i < ENGINE_MAX_REPORT_IDS;
	    i++)
		e->report_ids[e->n_report_ids++] = d->report_ids[i];
}

/* Saturating a - b: counts only grow, but a store rebuilt from a newer
 * log could hold less than was acted on. */
static uint64_t
sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static struct engine_acted *
acted_find(struct engine_state *st, int64_t hour)
{
	for (size_t i = 0; i < st->n_acted; i++)
		if (st->acted[i].hour == hour)
			return &st->acted[i];
	return NULL;
}

static const struct engine_acted *
acted_get(const struct engine_state *st, int64_t hour)
{
	for (size_t i = 0; i < st->n_acted; i++)
		if (st->acted[i].hour == hour)
			return &st->acted[i];
	return NULL;
}

/* The entry of hour, added (oldest dropped when full; entries stay
 * sorted by hour). */
static struct engine_acted *
acted_slot(struct engine_state *st, int64_t hour)
{
	struct engine_acted *a = acted_find(st, hour);
	size_t i;

	if (a != NULL)
		return a;
	if (st->n_acted == ENGINE_ACTED_MAX) {
		memmove(&st->acted[0], &st->acted[1],
		    (ENGINE_ACTED_MAX - 1) * sizeof st->acted[0]);
		st->n_acted--;
	}
	for (i = st->n_acted; i > 0 && st->acted[i - 1].hour > hour; i--)
		st->acted[i] = st->acted[i - 1];
	memset(&st->acted[i], 0, sizeof st->acted[i]);
	st->acted[i].hour = hour;
	st->n_acted++;
	return &st->acted[i];
}

/* Drops what is older than the gated day: nothing reads it again. */
static void
acted_prune(struct engine_state *st, int64_t from)
{
	size_t k = 0;

	for (size_t i = 0; i < st->n_acted; i++)
		if (st->acted[i].hour >= from)
			st->acted[k++] = st->acted[i];
	st->n_acted = k;
}

/* Hour buckets the fast loop reads: those overlapping [now - 1 h, now]
 * (the store keeps whole hours, so up to two). */
static int
in_window(int64_t hour, int64_t now)
{
	return hour + 3600 > now - 3600 && hour <= now;
}

/* What decisions consume of a bucket. */
enum { USE_RATE = 1, USE_BLOCK = 2, USE_CONN = 4, USE_ALL = 7 };

static void
consume(struct engine_state *st, const struct engine_inputs *in,
    int64_t now, int what)
{
	for (size_t i = 0; i < in->n_hours; i++) {
		const struct engine_hour *h = &in->hours[i];
		struct engine_acted *a;

		if (!in_window(h->hour, now))
			continue;
		a = acted_slot(st, h->hour);
		if (what & USE_RATE) {
			a->attempts = h->c.attempts;
			a->rate = h->c.rate;
			a->rate_signal = h->c.rate_signal;
		}
		if (what & USE_BLOCK)
			a->block = h->c.block;
		if (what & USE_CONN)
			a->conn = h->c.conn;
	}
}

/* The fast loop's evidence: counts of the window's buckets above what
 * was acted on (fresh), and all of them (for the evidence). */
struct fast_view {
	struct engine_counts fresh, all;
	int64_t from;             /* first bucket of the window */
};

static void
fast_view_of(const struct engine_state *st, const struct engine_inputs *in,
    int64_t now, struct fast_view *v)
{
	memset(v, 0, sizeof *v);
	v->from = (now - 3600) - ((now - 3600) % 3600 + 3600) % 3600;
	for (size_t i = 0; i < in->n_hours; i++) {
		const struct engine_hour *h = &in->hours[i];
		const struct engine_acted *a;
		struct engine_acted z;

		if (!in_window(h->hour, now))
			continue;
		if ((a = acted_get(st, h->hour)) == NULL) {
			memset(&z, 0, sizeof z);
			a = &z;
		}
		v->fresh.attempts += sub0(h->c.attempts, a->attempts);
		v->fresh.rate += sub0(h->c.rate, a->rate);
		v->fresh.rate_signal += sub0(h->c.rate_signal, a->rate_signal);
		v->fresh.block += sub0(h->c.block, a->block);
		v->fresh.conn += sub0(h->c.conn, a->conn);
		v->all.attempts += h->c.attempts;
		v->all.rate += h->c.rate;
		v->all.rate_signal += h->c.rate_signal;
		v->all.block += h->c.block;
		v->all.conn += h->c.conn;
	}
}

/* What the daily gate saw, kept for the hint. */
struct gate_result {
	enum engine_gate gate;
	const char *reason;       /* first failing rule, NULL when GREEN */
	char text[200];
	int pause;                /* missed BLOCK share high enough to pause */
	int set_s;                /* missed provider rate codes: S = C */
	int tried_and_failed;     /* a failing rule other than unused caps */
	double dmarc_factor;      /* min(1, ρ) when DMARC data was used */
	int dmarc_seen;
	int dmarc_expected;
	uint64_t usable;          /* min(C, H x active_hours) */
	uint64_t missed_block, missed_rate_signal;
	uint64_t missed_block_max, missed_rate_signal_max;  /* in one hour */
	unsigned missed_block_hours;
};

static void
fail(struct gate_result *g, enum engine_gate level, const char *reason,
    const char *text)
{
	if (strcmp(reason, "low_utilisation") != 0)
		g->tried_and_failed = 1;
	/* RED beats AMBER; within a level the first rule checked names the
	 * reason (the rules are checked most serious first). */
	if (level > g->gate || (level == g->gate && g->reason == NULL)) {
		g->gate = level;
		g->reason = reason;
		snprintf(g->text, sizeof g->text, "%s", text);
	}
}

/* BLOCK and provider rate codes of the gated day that no fast-loop
 * decision used: imported after the fact, or no run in those hours. */
static void
missed_of(const struct engine_state *st, const struct engine_inputs *in,
    struct gate_result *g)
{
	int64_t from = day_start(in->gate_day), until = from + DAY_S;

	for (size_t i = 0; i < in->n_hours; i++) {
		const struct engine_hour *h = &in->hours[i];
		const struct engine_acted *a = acted_get(st, h->hour);
		uint64_t b, r;

		if (h->hour < from || h->hour >= until)
			continue;
		b = sub0(h->c.block, a != NULL ? a->block : 0);
		r = sub0(h->c.rate_signal, a != NULL ? a->rate_signal : 0);
		g->missed_block += b;
		g->missed_rate_signal += r;
		g->missed_block_hours += b > 0;
		if (b > g->missed_block_max)
			g->missed_block_max = b;
		if (r > g->missed_rate_signal_max)
			g->missed_rate_signal_max = r;
	}
}

static void
run_gate(const struct engine_params *p, const struct engine_state *st,
    const struct engine_inputs *in, struct engine_hint *h,
    struct gate_result *g)
{
	const struct engine_counts *d = &in->day;
	const struct engine_dmarc *dm = &in->dmarc;
	int64_t from = day_start(in->gate_day), until = from + DAY_S;
	int judged = d->attempts >= p->min_attempts && d->attempts > 0;
	uint64_t defer = d->rate + d->conn + d->tls + d->other_4xx, usable;
	double v;
	char t[200];

	memset(g, 0, sizeof *g);
	g->gate = GATE_GREEN;
	g->dmarc_factor = 1.0;
	missed_of(st, in, g);
	/* Is a report expected? yes; no; unknown: until the provider has
	 * left dmarc_absent_days of our mail unreported. */
	g->dmarc_expected = p->sends_reports > 0 || (p->sends_reports < 0 &&
	    in->dmarc_silent_days < p->dmarc_absent_days);

	/* RED rules. BLOCK replies a fast-loop run paused for are not held
	 * against the day again: only the missed ones. */
	if (judged && share(g->missed_block, d->attempts) >=
	    p->block_pause_share) {
		v = share(g->missed_block, d->attempts);
		snprintf(t, sizeof t, "BLOCK replies on %llu of %llu attempts",
		    (unsigned long long)g->missed_block,
		    (unsigned long long)d->attempts);
		fail(g, GATE_RED, "reputation_block", t);
		g->pause = 1;
		add_evidence(h, "smtp", "block_rate", v, d->attempts,
		    p->block_pause_share, from, until, 1);
	}
	if (g->missed_block_max >= p->block_per_hour) {
		/* The fast loop would have paused: a missed pause. */
		snprintf(t, sizeof t, "%llu BLOCK replies in one hour that no "
		    "run acted on (a missed pause)",
		    (unsigned long long)g->missed_block_max);
		fail(g, GATE_RED, "reputation_block", t);
		add_evidence(h, "smtp", "missed_block", (double)g->missed_block,
		    d->attempts, (double)p->block_per_hour, from, until, 1);
	} else if (g->missed_block_hours >= p->block_red_hours) {
		snprintf(t, sizeof t, "BLOCK replies in %u hours of the day",
		    g->missed_block_hours);
		fail(g, GATE_RED, "reputation_block", t);
		add_evidence(h, "smtp", "block_hours", g->missed_block_hours,
		    d->attempts, p->block_red_hours, from, until, 1);
	}
	if (judged && share(d->other_5xx, d->attempts) >= p->bounce_red) {
		v = share(d->other_5xx, d->attempts);
		snprintf(t, sizeof t, "bounces %.1f%% of %llu attempts",
		    100.0 * v, (unsigned long long)d->attempts);
		fail(g, GATE_RED, "bounce_rate", t);
		add_evidence(h, "smtp", "bounce_rate", v, d->attempts,
		    p->bounce_red, from, until, 1);
	}
	if (g->missed_rate_signal_max >= p->rate_per_hour) {
		/* The provider's own "slow down" (4.7.28, TSS04 ...) that
		 * no fast-loop run acted on: the level of trouble is set
		 * (S), and the day does not count for growth. */
		snprintf(t, sizeof t, "%llu provider rate-limit replies that "
		    "no run acted on", (unsigned long long)
		    g->missed_rate_signal);
		fail(g, p->rate_gate_red ? GATE_RED : GATE_AMBER,
		    "rate_limited", t);
		g->set_s = 1;
		add_evidence(h, "smtp", "missed_rate_signal",
		    (double)g->missed_rate_signal, d->attempts,
		    (double)p->rate_per_hour, from, until, 1);
	}
	if (dm->day >= 0 && dm->messages > 0) {
		double pass = share(dm->dmarc_pass, dm->messages);
		uint64_t disp = dm->quarantine + dm->reject;
		int64_t df = day_start(dm->day);

		g->dmarc_seen = 1;
		/* Failing mail that the receiver also junks or refuses:
		 * the policy is enforced on our own mail. */
		if (pass < p->dmarc_pass_amber && disp > 0) {
			snprintf(t, sizeof t, "DMARC pass %.1f%% of %llu "
			    "with %llu quarantined/rejected", 100.0 * pass,
			    (unsigned long long)dm->messages,
			    (unsigned long long)disp);
			fail(g, GATE_RED, "auth_failure", t);
		} else if (pass < p->dmarc_pass_green) {
			snprintf(t, sizeof t, "DMARC pass %.1f%% of %llu "
			    "messages", 100.0 * pass,
			    (unsigned long long)dm->messages);
			fail(g, GATE_AMBER, "dmarc_failure", t);
		} else if (disp > 0) {
			snprintf(t, sizeof t, "%llu messages quarantined or "
			    "rejected", (unsigned long long)disp);
			fail(g, GATE_AMBER, "dmarc_disposition", t);
		}
		add_evidence(h, "dmarc_aggregate", "dmarc_pass_rate", pass,
		    dm->messages, p->dmarc_pass_green, df, df + DAY_S, 1);
		add_dmarc_ids(h, dm);
		if (dm->accepted_that_day > 0) {
			double rho = share(dm->messages, dm->accepted_that_day);
			if (rho < 1.0)
				g->dmarc_factor = rho;
			if (g->dmarc_expected && (rho < p->coverage_low ||
			    rho > p->coverage_high)) {
				snprintf(t, sizeof t, "DMARC reports cover "
				    "%.0f%% of accepted mail", 100.0 * rho);
				fail(g, GATE_AMBER, "dmarc_coverage", t);
				add_evidence(h, "dmarc_aggregate", "coverage",
				    rho, dm->accepted_that_day,
				    rho < p->coverage_low ? p->coverage_low :
				    p->coverage_high, df, df + DAY_S, 1);
			}
		}
	} else if (g->dmarc_expected && d->ok > 0) {
		fail(g, GATE_AMBER, "dmarc_missing", "no DMARC aggregate "
		    "report for this source yet");
		add_evidence(h, "dmarc_aggregate", "coverage", 0.0,
		    d->ok, p->coverage_low, from, until, 1);
	} else if (p->sends_reports < 0 && d->ok > 0) {
		/* Unknown whether it reports, and it has not for days: the
		 * send log alone judges (and the hint says so). */
		add_evidence(h, "dmarc_aggregate", "unreported_days",
		    in->dmarc_silent_days, d->ok, p->dmarc_absent_days, from,
		    until, 1);
	}

	/* AMBER rules on the send log. */
	if (judged && share(d->other_5xx, d->attempts) >= p->bounce_amber) {
		v = share(d->other_5xx, d->attempts);
		snprintf(t, sizeof t, "bounces %.1f%% of %llu attempts",
		    100.0 * v, (unsigned long long)d->attempts);
		fail(g, GATE_AMBER, "bounce_rate", t);
		if (v < p->bounce_red)
			add_evidence(h, "smtp", "bounce_rate", v, d->attempts,
			    p->bounce_amber, from, until, 1);
	}
	if (d->block > 0 && g->gate < GATE_RED) {
		snprintf(t, sizeof t, "%llu BLOCK replies",
		    (unsigned long long)d->block);
		fail(g, GATE_AMBER, "reputation_block", t);
	}
	if (judged && share(d->auth, d->attempts) >= p->auth_amber) {
		v = share(d->auth, d->attempts);
		snprintf(t, sizeof t, "authentication refusals on %.1f%% of "
		    "attempts", 100.0 * v);
		fail(g, GATE_AMBER, "auth_failure", t);
		add_evidence(h, "smtp", "auth_rate", v, d->attempts,
		    p->auth_amber, from, until, 1);
	}
	v = share(defer, d->attempts);
	if (judged && p->deferral_red > 0.0 && v >= p->deferral_red) {
		snprintf(t, sizeof t, "deferrals %.1f%% of %llu attempts",
		    100.0 * v, (unsigned long long)d->attempts);
		fail(g, GATE_RED, "deferral_rate", t);
	}
	if (judged && v >= p->deferral_amber) {
		snprintf(t, sizeof t, "deferrals %.1f%% of %llu attempts",
		    100.0 * v, (unsigned long long)d->attempts);
		fail(g, GATE_AMBER, "deferral_rate", t);
	}
	add_evidence(h, "smtp", "deferral_rate", v, d->attempts,
	    p->deferral_amber, from, until, 1);
	if (st->last_decrease >= from && st->last_decrease < until) {
		fail(g, GATE_AMBER, "rate_limited", "the fast loop lowered "
		    "the hour cap that day");
	}
	/* Judged against what the caps let through: a day cap the hour
	 * cap (cut by the fast loop) cannot reach is not "unused", and
	 * holding for it would keep the cut for ever. */
	usable = st->cap_day;
	if (st->cap_hour * p->active_hours < usable)
		usable = st->cap_hour * p->active_hours;
	g->usable = usable;
	v = share(d->ok, usable);
	if (v < p->utilisation_min) {
		snprintf(t, sizeof t, "used %llu of a %llu cap",
		    (unsigned long long)d->ok, (unsigned long long)usable);
		fail(g, GATE_AMBER, "low_utilisation", t);
	}
	add_evidence(h, "smtp", "utilisation", v, d->ok, p->utilisation_min,
	    from, until, 1);
}

/* Confidence in a decision over n samples (doc/hints.md): more samples,
 * two independent sources agreeing, full DMARC coverage all raise it. */
static double
confidence(const struct engine_params *p, uint64_t n, int two_sources,
    double dmarc_factor)
{
	double c = (double)n / ((double)n + (double)p->confidence_prior);

	c *= two_sources ? 1.0 : p->confidence_one_source;
	c *= dmarc_factor;
	return round_to(c, 1000.0);
}

static void
set_phase(struct engine_state *st, enum engine_phase ph, int64_t now)
{
	if (st->phase != ph) {
		st->phase = ph;
		st->since = now;
	}
}

/* Pause for a BLOCK: doubled per repeat in 24 h, capped; S and the caps
 * to resume with are half the current cap. */
static void
do_block_pause(const struct engine_params *p, struct engine_state *st,
    int64_t now)
{
	uint64_t mins = p->block_pause_min, floor_cap = p->stage_day[0];

	for (unsigned i = 0; i < st->pauses_24h && mins < p->block_pause_max_min;
	    i++)
		mins *= p->block_pause_growth;
	if (mins > p->block_pause_max_min)
		mins = p->block_pause_max_min;
	st->pauses_24h++;
	st->last_pause = now;
	st->cap_day = scale(st->cap_day, p->block_cut);
	if (st->cap_day < floor_cap)
		st->cap_day = floor_cap;
	st->ssthresh = st->cap_day;
	st->stage = stage_for(p, st->cap_day);
	st->stage_days = 0;
	st->cap_hour = hour_base(p, st->cap_day);
	st->conns = p->start_connections;
	st->hold_until = now + (int64_t)mins * MIN_S;
	st->last_decrease = now;
	set_phase(st, PHASE_PAUSED, now);
}

/* Next daily cap after a GREEN day (doc/hints.md "Growth"). */
static uint64_t
next_cap(const struct engine_params *p, const struct engine_state *st,
    const struct engine_inputs *in)
{
	uint64_t c = st->cap_day, next, lim;

	if (st->ssthresh != 0 && c >= st->ssthresh) {
		/* At or above the level where trouble began: additive. */
		uint64_t step = ceil_u((double)c * p->growth_above_s);
		next = c + (step == 0 ? 1 : step);
	} else if ((size_t)st->stage + 1 < p->n_stages &&
	    p->stage_day[st->stage + 1] > c) {
		next = p->stage_day[st->stage + 1];
		/* Below S: climb the ladder, but not past S in one step. */
		if (st->ssthresh != 0 && next > st->ssthresh)
			next = st->ssthresh;
	} else {
		uint64_t step = ceil_u((double)c * p->growth_above_s);
		next = c + (step == 0 ? 1 : step);
	}
	/* Never more than realised_factor x the best accepted day. */
	lim = in->best_ok * p->realised_factor;
	if (next > lim)
		next = lim;
	if (next > target_of(p))
		next = target_of(p);
	return next < c ? c : next;
}

int
engine_step(const struct engine_params *p, struct engine_state *st,
    const struct engine_inputs *in, int64_t now, struct engine_hint *hint)
{
	int decided = 0, fast_trouble = 0, gated = 0;
	enum engine_action act = ACTION_HOLD;
	const char *reason = NULL;
	char text[256];
	uint64_t nsamples = 0;
	struct gate_result g;
	struct fast_view fv;
	const char *what;
	uint64_t old_day, old_hour;
	unsigned old_conns;
	int64_t hfrom;

	memset(hint, 0, sizeof *hint);
	memset(&g, 0, sizeof g);
	text[0] = '\0';
	if (engine_params_check(p, &what) != 0)
		return ERR_INVAL;
	if (!st->initialised)
		engine_state_init(st, p, now);
	old_day = st->cap_day;
	old_hour = st->cap_hour;
	old_conns = st->conns;

	if (st->last_pause != 0 && now - st->last_pause >= DAY_S)
		st->pauses_24h = 0;
	/* A pause that has run out: resume in recovery, no growth for
	 * recovery_days. */
	if (st->phase == PHASE_PAUSED && now >= st->hold_until) {
		set_phase(st, PHASE_RECOVERY, now);
		st->hold_until = now + (int64_t)p->recovery_days * DAY_S;
	}
	if (st->stop_until != 0 && now >= st->stop_until)
		st->stop_until = 0;
	acted_prune(st, day_start(in->gate_day));

	/* ---- fast loop: the last hour, our own send log only; only what
	 * no earlier run acted on ---- */
	fast_view_of(st, in, now, &fv);
	hfrom = fv.from;
	if (st->phase == PHASE_PAUSED) {
		/* The pause already answers whatever arrives during it. */
		consume(st, in, now, USE_ALL);
	} else {
		const struct engine_counts *nw = &fv.fresh;
		int gap_ok = now - st->last_decrease >=
		    (int64_t)p->decrease_gap_min * MIN_S;

		if (nw->block >= p->block_per_hour) {
			do_block_pause(p, st, now);
			consume(st, in, now, USE_ALL);
			act = ACTION_PAUSE;
			reason = "reputation_block";
			snprintf(text, sizeof text, "BLOCK reply on %llu of "
			    "%llu attempts in the last hour: pause",
			    (unsigned long long)nw->block,
			    (unsigned long long)nw->attempts);
			add_evidence(hint, "smtp", "block_replies",
			    (double)nw->block, nw->attempts,
			    (double)p->block_per_hour, hfrom, now, 0);
			nsamples = nw->attempts;
			decided = fast_trouble = 1;
		} else if (nw->rate_signal >= p->rate_per_hour) {
			fast_trouble = 1;
			if (gap_ok) {
				st->cap_hour = scale(st->cap_hour,
				    p->rate_strict_cut);
				st->conns = p->start_connections;
				if (st->ssthresh == 0 ||
				    st->cap_day < st->ssthresh)
					st->ssthresh = st->cap_day;
				st->last_decrease = now;
				/* The provider's stop: kept in the state, so
				 * that a later run does not shorten it. */
				if (p->rate_pause_min > 0 && st->stop_until <
				    now + (int64_t)p->rate_pause_min * MIN_S)
					st->stop_until = now +
					    (int64_t)p->rate_pause_min * MIN_S;
				act = ACTION_REDUCE;
				reason = "rate_limited";
				snprintf(text, sizeof text, "provider rate limit "
				    "(strict code) on %llu of %llu attempts in "
				    "the last hour: stop %u min, then %u "
				    "connection(s)",
				    (unsigned long long)nw->rate_signal,
				    (unsigned long long)nw->attempts,
				    p->rate_pause_min, p->start_connections);
				decided = 1;
			}
			/* Acted on: by this cut, or, within decrease_gap,
			 * by the cut that closed the gap (one decrease per
			 * gap, as Momentum's adjustment interval). */
			consume(st, in, now, USE_RATE);
			add_evidence(hint, "smtp", "rate_limit_signal",
			    (double)nw->rate_signal, nw->attempts,
			    (double)p->rate_per_hour, hfrom, now, 0);
			nsamples = nw->attempts;
		} else if (nw->attempts >= p->rate_min_attempts &&
		    nw->attempts > 0 &&
		    share(nw->rate, nw->attempts) >= p->rate_share) {
			fast_trouble = 1;
			if (gap_ok) {
				st->cap_hour = scale(st->cap_hour,
				    p->rate_share_cut);
				if (st->ssthresh == 0 ||
				    st->cap_day < st->ssthresh)
					st->ssthresh = st->cap_day;
				st->last_decrease = now;
				act = ACTION_REDUCE;
				reason = "rate_limited";
				snprintf(text, sizeof text, "rate-limit replies "
				    "on %llu of %llu attempts in the last hour",
				    (unsigned long long)nw->rate,
				    (unsigned long long)nw->attempts);
				decided = 1;
			}
			consume(st, in, now, USE_RATE);
			add_evidence(hint, "smtp", "rate_limit_deferrals",
			    share(nw->rate, nw->attempts), nw->attempts,
			    p->rate_share, hfrom, now, 0);
			nsamples = nw->attempts;
		} else if (nw->conn > 0) {
			fast_trouble = 1;
			if (st->conns > 1 && gap_ok) {
				st->conns--;
				st->last_decrease = now;
				act = ACTION_REDUCE;
				reason = "connection_limit";
				snprintf(text, sizeof text, "%llu connection "
				    "refusals in the last hour",
				    (unsigned long long)nw->conn);
				decided = 1;
			}
			/* At one connection there is nothing left to cut:
			 * holding growth is the answer, given now, once. */
			consume(st, in, now, USE_CONN);
			add_evidence(hint, "smtp", "connection_refusals",
			    (double)nw->conn, nw->attempts, 1, hfrom, now, 0);
			nsamples = nw->attempts;
		}
	}

	/* ---- daily gate: once per day, on yesterday ---- */
	if (in->gate_day > st->last_gated_day) {
		struct engine_hint scratch;
		int64_t gate_end = day_start(in->gate_day) + DAY_S;
		uint64_t target = target_of(p);

		/* Gate evidence after the fast loop's. */
		memset(&scratch, 0, sizeof scratch);
		run_gate(p, st, in, &scratch, &g);
		for (size_t i = 0; i < scratch.n_evidence; i++)
			if (hint->n_evidence < ENGINE_MAX_EVIDENCE)
				hint->evidence[hint->n_evidence++] =
				    scratch.evidence[i];
		gated = 1;
		st->last_gated_day = in->gate_day;
		st->last_gate = g.gate;
		if (in->day.ok < ceil_u(p->idle_share *
		    (double)st->cap_day))
			st->idle_days++;
		else
			st->idle_days = 0;
		/* "Stalled" means we sent and the gate kept failing: a day
		 * without traffic, or one that only left the cap unused
		 * (demand below it), neither counts nor resets. */
		if (g.gate == GATE_GREEN)
			st->amber_days = 0;
		else if (in->day.attempts > 0 && g.tried_and_failed)
			st->amber_days++;
		st->green_days = g.gate == GATE_GREEN && !fast_trouble ?
		    st->green_days + 1 : 0;
		/* Missed provider rate codes: remember the level at which
		 * trouble began, as the fast loop would have. */
		if (g.set_s && (st->ssthresh == 0 ||
		    st->cap_day < st->ssthresh))
			st->ssthresh = st->cap_day;
		/* Trouble early in a warm-up says little about an IP that
		 * has since carried its cap cleanly for days: forget S and
		 * climb the ladder again. */
		if (st->ssthresh != 0 && st->cap_day >= st->ssthresh &&
		    p->ssthresh_clear_days > 0 &&
		    st->green_days >= p->ssthresh_clear_days)
			st->ssthresh = 0;

		if (decided || st->phase == PHASE_PAUSED) {
			/* The fast loop already acted (or a pause runs): the
			 * day's verdict is recorded, not acted on. */
		} else if (g.gate == GATE_RED && g.pause) {
			do_block_pause(p, st, now);
			act = ACTION_PAUSE;
			reason = g.reason;
			snprintf(text, sizeof text, "%s: pause", g.text);
			decided = 1;
		} else if (g.gate == GATE_RED) {
			uint64_t c = scale(st->cap_day, p->red_cut);
			if (c < p->stage_day[0])
				c = p->stage_day[0];
			st->cap_day = c;
			st->ssthresh = c;
			st->stage = stage_for(p, c);
			st->stage_days = 0;
			st->cap_hour = hour_base(p, c);
			if (st->conns > p->start_connections)
				st->conns = conn_base(p, st->stage);
			st->hold_until = gate_end +
			    (int64_t)p->recovery_days * DAY_S;
			set_phase(st, PHASE_RECOVERY, now);
			act = ACTION_REDUCE;
			reason = g.reason;
			snprintf(text, sizeof text, "%s: day cap cut to %llu",
			    g.text, (unsigned long long)c);
			decided = 1;
		} else if (st->idle_days > 0 && (st->cap_day > p->stage_day[0] ||
		    st->idle_days >= p->idle_restart_days)) {
			/* (At the first stage there is nothing to decay:
			 * such a day is a plain low-utilisation hold.) */
			if (st->idle_days >= p->idle_restart_days) {
				st->stage = 0;
				st->stage_days = 0;
				st->cap_day = p->stage_day[0];
				st->ssthresh = 0;
				set_phase(st, PHASE_WARMUP, now);
				snprintf(text, sizeof text, "idle %u days: "
				    "warm-up starts again", st->idle_days);
			} else if (st->idle_days % p->idle_stage_days == 0) {
				/* One stage down per idle_stage_days idle
				 * days (a cap between stages drops to the
				 * stage below it). */
				unsigned sg = stage_for(p, st->cap_day);
				uint64_t c = p->stage_day[sg] < st->cap_day ?
				    p->stage_day[sg] :
				    p->stage_day[sg > 0 ? sg - 1 : 0];
				st->cap_day = c;
				st->stage = stage_for(p, c);
				st->stage_days = 0;
				if (st->phase == PHASE_STEADY)
					set_phase(st, PHASE_WARMUP, now);
				snprintf(text, sizeof text, "idle %u day(s) "
				    "(accepted %llu): one stage down",
				    st->idle_days,
				    (unsigned long long)in->day.ok);
			} else {
				snprintf(text, sizeof text, "idle %u day(s) "
				    "(accepted %llu): hold; decay after %u",
				    st->idle_days,
				    (unsigned long long)in->day.ok,
				    p->idle_stage_days);
			}
			if (st->cap_hour > hour_base(p, st->cap_day))
				st->cap_hour = hour_base(p, st->cap_day);
			if (st->conns > conn_base(p, st->stage))
				st->conns = conn_base(p, st->stage);
			act = st->cap_day < old_day ? ACTION_REDUCE :
			    ACTION_HOLD;
			reason = "idle_decay";
			decided = 1;
		} else if (g.gate == GATE_AMBER) {
			act = ACTION_HOLD;
			reason = "warmup_gate_hold";
			snprintf(text, sizeof text, "hold: %s%s", g.text,
			    st->amber_days >= p->stall_days ?
			    " (warm-up stalled)" : "");
			decided = 1;
		} else if (fast_trouble) {
			act = ACTION_HOLD;
			reason = "rate_limited";
			snprintf(text, sizeof text, "hold: provider pressure in "
			    "the last hour");
			decided = 1;
		} else if (st->phase == PHASE_RECOVERY &&
		    now < st->hold_until) {
			act = ACTION_HOLD;
			reason = "recovery_hold";
			snprintf(text, sizeof text, "GREEN, but recovering "
			    "after trouble: no growth yet");
			decided = 1;
		} else if (st->stage_days + 1 <
		    p->stage_min_days[st->stage] &&
		    st->cap_day < target) {
			st->stage_days++;
			act = ACTION_HOLD;
			reason = "warmup_schedule";
			snprintf(text, sizeof text, "GREEN day %u of %u at "
			    "stage %u", st->stage_days,
			    p->stage_min_days[st->stage], st->stage + 1);
			set_phase(st, PHASE_WARMUP, now);
			decided = 1;
		} else {
			uint64_t next = next_cap(p, st, in);
			/* Steady (and on_expiry revert) only once the IP
			 * carried the target on a GREEN day: a cap that has
			 * just been raised to it proves nothing yet. */
			int carried = old_day >= target && in->day.ok >=
			    ceil_u(p->utilisation_min * (double)target);

			if (next > st->cap_day) {
				unsigned sg = stage_for(p, next);

				if (sg != st->stage)
					st->stage_days = 0;
				st->last_good = st->cap_day;
				st->cap_day = next;
				st->stage = sg;
				st->cap_hour = hour_base(p, next);
				st->conns = conn_base(p, st->stage);
				act = ACTION_ADVANCE;
				reason = "warmup_schedule";
				snprintf(text, sizeof text, "GREEN day: cap "
				    "%llu -> %llu",
				    (unsigned long long)old_day,
				    (unsigned long long)next);
			} else {
				/* At the target, or held by realised
				 * volume. */
				st->cap_hour = hour_base(p, st->cap_day);
				st->conns = conn_base(p, st->stage);
				act = st->cap_hour > old_hour ||
				    st->conns > old_conns ? ACTION_ADVANCE :
				    ACTION_HOLD;
				reason = carried ? "target_reached" :
				    "warmup_schedule";
				snprintf(text, sizeof text, "%s", carried ?
				    "GREEN day at the target volume" :
				    st->cap_day >= target ?
				    "cap at the target; steady once a GREEN "
				    "day carries it" :
				    "GREEN day; cap held by realised volume");
			}
			set_phase(st, carried && st->cap_day >= target ?
			    PHASE_STEADY : PHASE_WARMUP, now);
			decided = 1;
		}
		nsamples = in->day.attempts > nsamples ? in->day.attempts :
		    nsamples;
	}

	/* ---- additive recovery of the hour cap after a cut ---- */
	if (!decided && !fast_trouble && st->phase != PHASE_PAUSED &&
	    st->phase != PHASE_RECOVERY &&
	    (st->last_gate == GATE_GREEN || st->last_gate == GATE_NONE) &&
	    st->last_decrease != 0 &&
	    now - st->last_decrease >= (int64_t)p->increase_gap_min * MIN_S &&
	    now - st->last_increase >= (int64_t)p->increase_gap_min * MIN_S) {
		uint64_t hb = hour_base(p, st->cap_day);
		unsigned kb = conn_base(p, st->stage);

		if (st->cap_hour < hb || st->conns < kb) {
			uint64_t step = ceil_u((double)hb * p->recovery_step);
			st->cap_hour = st->cap_hour + step > hb ? hb :
			    st->cap_hour + step;
			if (st->conns < kb)
				st->conns++;
			st->last_increase = now;
			act = ACTION_ADVANCE;
			reason = "recovering";
			snprintf(text, sizeof text, "clean for %u min: hour cap "
			    "%llu -> %llu, connections %u -> %u",
			    p->increase_gap_min, (unsigned long long)old_hour,
			    (unsigned long long)st->cap_hour, old_conns,
			    st->conns);
			decided = 1;
		}
	}

	/* Nothing new since the last run: the caps stand ("hold"), and the
	 * reason says what holds them. */
	if (!decided) {
		uint64_t hb = hour_base(p, st->cap_day);

		if (st->phase == PHASE_PAUSED) {
			act = ACTION_PAUSE;
			reason = "reputation_block";
			snprintf(text, sizeof text, "paused until the block "
			    "clears");
		} else if (fast_trouble) {
			act = ACTION_HOLD;
			reason = "rate_limited";
			snprintf(text, sizeof text, "hold: provider pressure in "
			    "the last hour; at most one cut per %u min",
			    p->decrease_gap_min);
		} else if (st->cap_hour < hb || st->conns <
		    conn_base(p, st->stage)) {
			act = ACTION_HOLD;
			reason = "rate_limited";
			snprintf(text, sizeof text, "hold: hour cap %llu of "
			    "%llu and %u connection(s) after a cut; back up by "
			    "%.0f%% per %u clean min", (unsigned long long)
			    st->cap_hour, (unsigned long long)hb, st->conns,
			    100.0 * p->recovery_step, p->increase_gap_min);
		} else {
			act = ACTION_HOLD;
			reason = st->phase == PHASE_STEADY ? "target_reached" :
			    "no_new_evidence";
			snprintf(text, sizeof text, "no new evidence since "
			    "the last decision");
		}
	}

	/* An action names what happened to the caps: a "reduce" that
	 * lowered nothing (already at the floor) is a hold, and so is an
	 * "advance" that raised nothing. */
	if (decided && act == ACTION_REDUCE && st->cap_day >= old_day &&
	    st->cap_hour >= old_hour && st->conns >= old_conns)
		act = ACTION_HOLD;
	if (decided && act == ACTION_ADVANCE && st->cap_day <= old_day &&
	    st->cap_hour <= old_hour && st->conns <= old_conns)
		act = ACTION_HOLD;
	if (decided) {
		st->last_action = act;
		st->last_action_at = now;
	}

	/* ---- the hint ---- */
	hint->action = act;
	hint->phase = st->phase;
	hint->stage = st->stage;
	hint->reason = reason;
	snprintf(hint->reason_text, sizeof hint->reason_text, "%s", text);
	hint->gate = g.gate != GATE_NONE ? g.gate : st->last_gate;
	hint->gate_ran = gated;
	hint->gate_reason = gated ? g.reason : NULL;
	hint->stalled = st->amber_days >= p->stall_days;
	if (gated) {
		hint->usable_cap = g.usable;
		hint->missed_block = g.missed_block;
		hint->missed_rate_signal = g.missed_rate_signal;
		hint->missed_block_hours = g.missed_block_hours;
		hint->dmarc_expected = g.dmarc_expected;
	}
	hint->valid_from = now;
	if (st->phase == PHASE_PAUSED) {
		hint->max_per_hour = 0;
		hint->max_per_day = 0;
		hint->max_connections = 0;
		hint->then_per_hour = st->cap_hour;
		hint->then_per_day = st->cap_day;
		hint->then_connections = st->conns;
		hint->valid_until = st->hold_until;
		if (hint->valid_until - now > ENGINE_MAX_TTL_S)
			hint->valid_until = now + ENGINE_MAX_TTL_S;
		hint->on_expiry_hold_last = 0;
	} else {
		/* The provider's stop still runs: the caps start after it
		 * (every run until then says so, not only the one that cut),
		 * and they stay valid ttl_hours from then: valid_until is
		 * always after valid_from. */
		if (st->stop_until > now) {
			hint->valid_from = st->stop_until;
			hint->stop_until = st->stop_until;
		}
		hint->max_per_day = st->cap_day;
		hint->max_per_hour = st->cap_hour < st->cap_day ?
		    st->cap_hour : st->cap_day;
		hint->max_connections = st->conns;
		hint->valid_until = hint->valid_from +
		    (int64_t)p->ttl_hours * 3600;
		if (hint->valid_until - hint->valid_from > ENGINE_MAX_TTL_S)
			hint->valid_until = hint->valid_from +
			    ENGINE_MAX_TTL_S;
		/* A warm-up cap must not fail open when the monitor stops:
		 * keep it. At full volume, fall back to the MTA's own. */
		hint->on_expiry_hold_last = st->phase != PHASE_STEADY;
	}
	hint->confidence = confidence(p, nsamples, g.dmarc_seen && gated,
	    g.dmarc_seen ? g.dmarc_factor : 1.0);
	return 0;
}

static const char *const phase_names[] = { "warmup", "steady", "recovery",
	"paused" };
static const char *const gate_names[] = { "none", "green", "amber", "red" };
static const char *const action_names[] = { "advance", "hold", "reduce",
	"pause" };

const char *
engine_phase_name(enum engine_phase ph)
{
	return (unsigned)ph < 4 ? phase_names[ph] : "?";
}

const char *
engine_gate_name(enum engine_gate g)
{
	return (unsigned)g < 4 ? gate_names[g] : "?";
}

const char *
engine_action_name(enum engine_action a)
{
	return (unsigned)a < 4 ? action_names[a] : "?";
}

static int
lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

int
engine_phase_parse(const char *s)
{
	return lookup(phase_names, 4, s);
}

int
engine_gate_parse(const char *s)
{
	return lookup(gate_names, 4, s);
}

int
engine_action_parse(const char *s)
{
	return lookup(action_names, 4, s);
}
