/*
 * tests/unit/test_engine.c - the pure engine (report/engine.h): scenario
 * cases, then property checks over many generated histories:
 *   - never "advance" on a day gated AMBER or RED;
 *   - every hint: valid_from < valid_until <= valid_from + 48 h;
 *   - "reduce" lowers at least one cap, "advance" raises one, "pause"
 *     carries zero caps and the caps to resume with;
 *   - caps stay within [first stage, target];
 *   - an idle day never raises a cap;
 *   - the same inputs give the same hints (two runs, compared as text).
 * Prints TAP-like lines; exit 1 on any failure.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../parse/profiles.h"
#include "../../report/engine.h"
#include "testutil.h"

static int n_ok, n_fail;

static void
check(int cond, const char *name)
{
	if (cond)
		n_ok++;
	else
		n_fail++;
	if (!cond || n_ok + n_fail <= 40)
		printf("%s %d - %s\n", cond ? "ok" : "not ok", n_ok + n_fail,
		    name);
}

#define DAY 86400
#define T0 ((int64_t)20000 * DAY)   /* 2024-10-04, a day boundary */

static void
params(struct engine_params *p, uint64_t target)
{
	static const uint64_t st[] = { 50, 100, 200, 400, 800, 1500, 3000,
		6000, 12000, 25000, 50000 };

	engine_params_defaults(p);
	for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
		p->stage_day[i] = st[i];
		p->stage_min_days[i] = 1;
	}
	p->n_stages = sizeof st / sizeof st[0];
	p->target_daily = target;
}

/* Hour buckets handed to the engine (inputs borrow them). */
static struct engine_hour hbuf[ENGINE_ACTED_MAX];

/* The bucket of now, with counts c, as the only hour of the inputs. */
static struct engine_counts *
now_hour(struct engine_inputs *in, int64_t now)
{
	memset(hbuf, 0, sizeof hbuf);
	hbuf[0].hour = now - now % 3600;
	in->hours = hbuf;
	in->n_hours = 1;
	return &hbuf[0].c;
}

/* A clean day at the cap: accepted = cap, DMARC fully reported; the
 * hour before 06:00 of the next day clean too. */
static void
clean_inputs(struct engine_inputs *in, int64_t gate_day, uint64_t sent)
{
	struct engine_counts *h;

	memset(in, 0, sizeof *in);
	in->gate_day = gate_day;
	in->day.attempts = sent;
	in->day.ok = sent;
	in->best_ok = sent;
	in->dmarc.day = gate_day;
	in->dmarc.messages = sent;
	in->dmarc.dmarc_pass = sent;
	in->dmarc.accepted_that_day = sent;
	in->dmarc.n_report_ids = 1;
	snprintf(in->dmarc.report_ids[0], ENGINE_REPORT_ID_BYTES, "r-%" PRId64,
	    gate_day);
	h = now_hour(in, (gate_day + 1) * DAY + 6 * 3600);
	h->attempts = sent / 24;
	h->ok = sent / 24;
}

static void
test_clean_warmup(void)
{
	struct engine_params p;
	struct engine_state s;
	struct engine_inputs in;
	struct engine_hint h;
	int days = 0, advances = 0;

	params(&p, 12000);
	memset(&s, 0, sizeof s);
	for (int d = 1; d <= 40 && s.cap_day < 12000; d++) {
		int64_t now = T0 + (int64_t)d * DAY + 6 * 3600;
		clean_inputs(&in, T0 / DAY + d - 1, s.initialised ?
		    s.cap_day : 50);
		engine_step(&p, &s, &in, now, &h);
		days++;
		advances += h.action == ACTION_ADVANCE;
	}
	check(s.cap_day == 12000, "clean warm-up reaches the target");
	check(days == 8 && advances == 8,
	    "one stage per clean day (8 advances in 8 days)");
	/* Audit M3: raised to the target is not yet steady; a GREEN day
	 * that carried it is. */
	check(s.phase == PHASE_WARMUP && h.on_expiry_hold_last,
	    "the day the cap reaches the target: still warm-up, hold_last");
	clean_inputs(&in, T0 / DAY + days, s.cap_day);
	engine_step(&p, &s, &in, T0 + (int64_t)(days + 1) * DAY + 6 * 3600,
	    &h);
	check(s.phase == PHASE_STEADY && !h.on_expiry_hold_last &&
	    strcmp(h.reason, "target_reached") == 0,
	    "steady (revert) after a GREEN day at the target");
}

static void
test_rate_signal(void)
{
	struct engine_params p;
	struct engine_state s;
	struct engine_inputs in;
	struct engine_hint h;
	uint64_t before;

	params(&p, 12000);
	memset(&s, 0, sizeof s);
	for (int d = 1; d <= 5; d++) {
		clean_inputs(&in, T0 / DAY + d - 1, s.initialised ?
		    s.cap_day : 50);
		engine_step(&p, &s, &in, T0 + d * DAY + 6 * 3600, &h);
	}
	before = s.cap_hour;
	clean_inputs(&in, T0 / DAY + 5, s.cap_day);
	hbuf[0].c.rate = 3;
	hbuf[0].c.rate_signal = 3;
	engine_step(&p, &s, &in, T0 + 6 * DAY + 6 * 3600, &h);
	check(h.action == ACTION_REDUCE && h.max_per_hour < before &&
	    h.max_connections == 1, "4.7.28-style signal reduces at once");
	check(h.valid_from == T0 + 6 * DAY + 6 * 3600 + 15 * 60,
	    "reduced caps start after the provider's pause");
	check(strcmp(h.reason, "rate_limited") == 0, "reason rate_limited");
}

/* Found with bench/warmup-sim: after a fast-loop cut, a day that used
 * all the hour cap allowed must not count as unused (else the gate holds
 * and the cut is never undone). */
static void
test_cut_then_recover(void)
{
	struct engine_params p;
	struct engine_state s;
	struct engine_inputs in;
	struct engine_hint h;
	uint64_t base_hour;

	params(&p, 12000);
	memset(&s, 0, sizeof s);
	for (int d = 1; d <= 5; d++) {
		clean_inputs(&in, T0 / DAY + d - 1, s.initialised ?
		    s.cap_day : 50);
		engine_step(&p, &s, &in, T0 + d * DAY + 6 * 3600, &h);
	}
	base_hour = s.cap_hour;
	clean_inputs(&in, T0 / DAY + 5, s.cap_day);
	hbuf[0].c.rate_signal = hbuf[0].c.rate = 2;
	engine_step(&p, &s, &in, T0 + 6 * DAY + 6 * 3600, &h);
	check(h.action == ACTION_REDUCE && s.cap_hour < base_hour,
	    "a rate signal cuts the hour cap");
	/* The day of the cut is AMBER; the next one sends what the cut
	 * hour cap allows. */
	clean_inputs(&in, T0 / DAY + 6, s.cap_hour * p.active_hours);
	engine_step(&p, &s, &in, T0 + 7 * DAY + 6 * 3600, &h);
	check(h.gate == GATE_AMBER && h.action == ACTION_HOLD,
	    "the day of the cut is AMBER");
	clean_inputs(&in, T0 / DAY + 7, s.cap_hour * p.active_hours);
	engine_step(&p, &s, &in, T0 + 8 * DAY + 6 * 3600, &h);
	check(h.gate == GATE_GREEN && s.cap_hour >= base_hour,
	    "a day at the cut hour cap is GREEN and lifts the cut");
}

static void
test_block_pause(void)
{
	struct engine_params p;
	struct engine_state s;
	struct engine_inputs in;
	struct engine_hint h;
	int64_t now;

	params(&p, 12000);
	memset(&s, 0, sizeof s);
	for (int d = 1; d <= 5; d++) {
		clean_inputs(&in, T0 / DAY + d - 1, s.initialised ?
		    s.cap_day : 50);
		engine_step(&p, &s, &in, T0 + d * DAY + 6 * 3600, &h);
	}
	now = T0 + 6 * DAY + 6 * 3600;
	clean_inputs(&in, T0 / DAY + 5, s.cap_day);
	hbuf[0].c.block = 2;
	engine_step(&p, &s, &in, now, &h);
	check(h.action == ACTION_PAUSE && h.max_per_day == 0 &&
	    h.then_per_day > 0 && h.valid_until == now + 120 * 60,
	    "a BLOCK reply pauses for block_pause_min");
	/* The same hour again at +10 min: acted on already, nothing new. */
	engine_step(&p, &s, &in, now + 600, &h);
	check(h.action == ACTION_PAUSE && h.valid_until == now + 120 * 60,
	    "the same BLOCK reply does not pause twice");
	/* A new block at +3 h: the first pause is over, a second one
	 * within 24 h doubles it. */
	now_hour(&in, now + 3 * 3600)->block = 2;
	engine_step(&p, &s, &in, now + 3 * 3600, &h);
	check(h.action == ACTION_PAUSE &&
	    h.valid_until == now + 3 * 3600 + 240 * 60,
	    "a repeat within 24 h doubles the pause");
}

static void
test_dmarc_hold(void)
{
	struct engine_params p;
	struct engine_state s;
	struct engine_inputs in;
	struct engine_hint h;

	params(&p, 12000);
	memset(&s, 0, sizeof s);
	for (int d = 1; d <= 3; d++) {
		clean_inputs(&in, T0 / DAY + d - 1, s.initialised ?
		    s.cap_day : 50);
		engine_step(&p, &s, &in, T0 + d * DAY + 6 * 3600, &h);
	}
	clean_inputs(&in, T0 / DAY + 3, s.cap_day);
	in.dmarc.dmarc_pass = in.dmarc.messages * 80 / 100;
	engine_step(&p, &s, &in, T0 + 4 * DAY + 6 * 3600, &h);
	check(h.action == ACTION_HOLD && h.gate == GATE_AMBER &&
	    strcmp(h.reason, "warmup_gate_hold") == 0,
	    "DMARC failures without disposition hold");
	clean_inputs(&in, T0 / DAY + 4, s.cap_day);
	in.dmarc.dmarc_pass = in.dmarc.messages * 80 / 100;
	in.dmarc.quarantine = 10;
	engine_step(&p, &s, &in, T0 + 5 * DAY + 6 * 3600, &h);
	check(h.action == ACTION_REDUCE && h.gate == GATE_RED,
	    "DMARC failures with quarantine reduce");
}

static void
test_idle(void)
{
	struct engine_params p;
	struct engine_state s;
	struct engine_inputs in;
	struct engine_hint h;
	uint64_t peak;

	params(&p, 12000);
	memset(&s, 0, sizeof s);
	for (int d = 1; d <= 7; d++) {
		clean_inputs(&in, T0 / DAY + d - 1, s.initialised ?
		    s.cap_day : 50);
		engine_step(&p, &s, &in, T0 + d * DAY + 6 * 3600, &h);
	}
	peak = s.cap_day;
	for (int d = 8; d <= 8 + 20; d++) {
		clean_inputs(&in, T0 / DAY + d - 1, 0);
		engine_step(&p, &s, &in, T0 + d * DAY + 6 * 3600, &h);
	}
	check(s.cap_day < peak, "an idle IP decays");
	for (int d = 29; d <= 29 + 15; d++) {
		clean_inputs(&in, T0 / DAY + d - 1, 0);
		engine_step(&p, &s, &in, T0 + d * DAY + 6 * 3600, &h);
	}
	check(s.cap_day == 50 && s.stage == 0,
	    "idle past idle_restart_days: warm-up from the first stage");
}

/* ---- properties ---- */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t
pick(uint64_t n)
{
	return n == 0 ? 0 : rnd() % n;
}

static void
gen_counts(struct engine_counts *c, uint64_t volume, int trouble)
{
	memset(c, 0, sizeof *c);
	c->attempts = volume;
	if (trouble && volume > 0) {
		c->rate = pick(volume / 5 + 1);
		c->rate_signal = pick(2) ? c->rate : 0;
		c->block = pick(4) == 0 ? pick(volume / 10 + 1) : 0;
		c->other_5xx = pick(volume / 8 + 1);
		c->auth = pick(volume / 50 + 1);
		c->conn = pick(3);
	}
	if (c->rate + c->block + c->other_5xx + c->auth + c->conn > volume) {
		c->rate = c->block = c->other_5xx = c->auth = c->conn = 0;
		c->rate_signal = 0;
	}
	c->ok = volume - c->rate - c->block - c->other_5xx - c->auth - c->conn;
}

static void
gen_inputs(struct engine_inputs *in, const struct engine_state *s,
    int64_t gate_day, int64_t now)
{
	uint64_t cap = s->initialised ? s->cap_day : 50, vol;
	int mode = (int)pick(10);

	memset(in, 0, sizeof *in);
	in->gate_day = gate_day;
	vol = mode == 0 ? pick(cap / 5 + 1) : mode == 1 ? 0 :
	    cap - pick(cap / 10 + 1);
	gen_counts(&in->day, vol, pick(4) == 0);
	in->best_ok = in->day.ok + pick(cap + 1);
	if (pick(5) != 0) {
		in->dmarc.day = gate_day - (int64_t)pick(2);
		in->dmarc.messages = in->day.ok + pick(in->day.ok / 4 + 1);
		in->dmarc.dmarc_pass = in->dmarc.messages -
		    (pick(4) == 0 ? pick(in->dmarc.messages / 4 + 1) : 0);
		in->dmarc.quarantine = pick(6) == 0 ? pick(10) : 0;
		in->dmarc.accepted_that_day = in->day.ok;
	} else {
		in->dmarc.day = -1;
	}
	/* Hour buckets: the day's trouble in one afternoon hour of the
	 * gated day (seen by no run), then the hour of now. */
	memset(hbuf, 0, sizeof hbuf);
	in->hours = hbuf;
	in->n_hours = 0;
	if (in->day.block > 0 || in->day.rate_signal > 0) {
		hbuf[0].hour = gate_day * DAY + 14 * 3600;
		hbuf[0].c = in->day;
		in->n_hours = 1;
	}
	hbuf[in->n_hours].hour = now - now % 3600;
	gen_counts(&hbuf[in->n_hours].c, (s->initialised ? s->cap_hour : 3) +
	    pick(20), pick(6) == 0);
	in->n_hours++;
}

static void
hint_text(const struct engine_hint *h, const struct engine_state *s,
    char *out, size_t n)
{
	size_t len;

	len = (size_t)snprintf(out, n, "%d %d %u %" PRIu64 " %" PRIu64 " %u "
	    "%" PRIu64 " %" PRIu64 " %u %" PRId64 " %" PRId64 " %d %s %s %d "
	    "%.6f %zu | %d %u %" PRIu64 " %" PRIu64 " %u %" PRIu64 " %" PRId64,
	    h->action, h->phase, h->stage, h->max_per_hour, h->max_per_day,
	    h->max_connections, h->then_per_hour, h->then_per_day,
	    h->then_connections, h->valid_from, h->valid_until,
	    h->on_expiry_hold_last, h->reason, h->reason_text, h->gate,
	    h->confidence, h->n_evidence, s->phase, s->stage, s->cap_day,
	    s->cap_hour, s->conns, s->ssthresh, s->hold_until);
	for (size_t i = 0; i < h->n_evidence && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, " [%s %s %.4f %"
		    PRIu64 "]", h->evidence[i].kind, h->evidence[i].metric,
		    h->evidence[i].value, h->evidence[i].n);
}

struct run_stats {
	unsigned hints, advance, hold, reduce, pause;
	unsigned bad_gate, bad_ttl, bad_reduce, bad_advance, bad_pause;
	unsigned bad_range, bad_idle, bad_again, again;
};

/* The caps a consumer would apply from a hint: after a pause, its
 * after_pause caps. */
static void
caps_of(const struct engine_hint *h, uint64_t c[3])
{
	c[0] = h->action == ACTION_PAUSE ? h->then_per_hour : h->max_per_hour;
	c[1] = h->action == ACTION_PAUSE ? h->then_per_day : h->max_per_day;
	c[2] = h->action == ACTION_PAUSE ? h->then_connections :
	    h->max_connections;
}

static void
run_history(uint64_t seed, struct run_stats *rs, char *trace, size_t tn)
{
	struct engine_params p;
	struct engine_state s;
	struct engine_inputs in;
	struct engine_hint h;
	size_t tl = 0;
	uint64_t target;

	rng_state = seed * 2654435761u + 1;
	params(&p, 0);
	target = p.stage_day[pick(p.n_stages)];
	p.target_daily = target;
	p.max_per_hour = pick(3) == 0 ? 100 + pick(2000) : 0;
	p.stage_min_days[pick(p.n_stages)] = 1 + (unsigned)pick(3);
	memset(&s, 0, sizeof s);
	memset(&h, 0, sizeof h);
	for (int d = 1; d <= 90; d++) {
		int runs = 1 + (int)pick(3);
		for (int r = 0; r < runs; r++) {
			int64_t now = T0 + (int64_t)d * DAY + 6 * 3600 +
			    r * (int64_t)(20 + pick(200)) * 60;
			uint64_t od = s.cap_day, prev[3], cur[3];
			int was_init = s.initialised;
			char line[2048];

			/* Compared with the caps of the previous hint, as a
			 * consumer sees them: the engine's own "an action
			 * names what happened" rewrite works on its state,
			 * so these checks can catch it out. */
			caps_of(&h, prev);
			gen_inputs(&in, &s, T0 / DAY + d - 1, now);
			if (engine_step(&p, &s, &in, now, &h) != 0) {
				rs->bad_range++;
				return;
			}
			caps_of(&h, cur);
			rs->hints++;
			switch (h.action) {
			case ACTION_ADVANCE: rs->advance++; break;
			case ACTION_HOLD: rs->hold++; break;
			case ACTION_REDUCE: rs->reduce++; break;
			case ACTION_PAUSE: rs->pause++; break;
			}
			if (h.action == ACTION_ADVANCE && h.gate_ran &&
			    (h.gate == GATE_AMBER || h.gate == GATE_RED))
				rs->bad_gate++;
			if (h.action == ACTION_ADVANCE && !h.gate_ran &&
			    (s.last_gate == GATE_AMBER || s.last_gate == GATE_RED))
				rs->bad_gate++;
			if (!(h.valid_until > h.valid_from &&
			    h.valid_until - h.valid_from <= 48 * 3600 &&
			    h.valid_from >= now))
				rs->bad_ttl++;
			if (was_init && h.action == ACTION_REDUCE &&
			    !(cur[0] < prev[0] || cur[1] < prev[1] ||
			    cur[2] < prev[2]))
				rs->bad_reduce++;
			if (was_init && h.action == ACTION_ADVANCE &&
			    !(cur[0] > prev[0] || cur[1] > prev[1] ||
			    cur[2] > prev[2]))
				rs->bad_advance++;
			/* Audit H1: the same send log again, five minutes
			 * later, is nothing new: no cut, no new pause. */
			{
				struct engine_state s2 = s;
				struct engine_hint h2;
				int was_paused = s.phase == PHASE_PAUSED;

				if (engine_step(&p, &s2, &in, now + 300,
				    &h2) == 0) {
					rs->again++;
					if (h2.action == ACTION_REDUCE ||
					    (h2.action == ACTION_PAUSE &&
					    !was_paused) ||
					    s2.cap_day < s.cap_day ||
					    s2.cap_hour < s.cap_hour) {
						rs->bad_again++;
						if (getenv("DW_DEBUG"))
							printf("# again: %s %s -> %s %s (%llu/%llu -> %llu/%llu)\n",
							    engine_action_name(h.action), h.reason,
							    engine_action_name(h2.action), h2.reason,
							    (unsigned long long)s.cap_day, (unsigned long long)s.cap_hour,
							    (unsigned long long)s2.cap_day, (unsigned long long)s2.cap_hour);
					}
				}
			}
			if (h.action == ACTION_PAUSE && (h.max_per_day != 0 ||
			    h.max_per_hour != 0 || h.then_per_day == 0))
				rs->bad_pause++;
			if (s.cap_day < p.stage_day[0] || s.cap_day > target ||
			    (h.action != ACTION_PAUSE &&
			    (h.max_per_hour > h.max_per_day ||
			    h.max_per_hour == 0 || h.max_connections == 0)))
				rs->bad_range++;
			if (h.gate_ran && strcmp(h.reason, "idle_decay") == 0 &&
			    s.cap_day > od)
				rs->bad_idle++;
			hint_text(&h, &s, line, sizeof line);
			if (trace != NULL && tl + strlen(line) + 2 < tn) {
				memcpy(trace + tl, line, strlen(line));
				tl += strlen(line);
				trace[tl++] = '\n';
				trace[tl] = '\0';
			}
		}
	}
}

static void
test_properties(void)
{
	static char t1[1 << 20], t2[1 << 20];
	struct run_stats rs;
	int same = 1;

	memset(&rs, 0, sizeof rs);
	for (uint64_t seed = 1; seed <= 400; seed++)
		run_history(seed, &rs, NULL, 0);
	printf("# %u hints: %u advance, %u hold, %u reduce, %u pause\n",
	    rs.hints, rs.advance, rs.hold, rs.reduce, rs.pause);
	check(rs.advance > 0 && rs.hold > 0 && rs.reduce > 0 && rs.pause > 0,
	    "generated histories exercise every action");
	check(rs.bad_gate == 0, "never advance on an AMBER or RED day");
	check(rs.bad_ttl == 0, "valid_from >= now, valid_until <= +48 h");
	check(rs.bad_reduce == 0, "every reduce lowers a cap of the hint "
	    "before");
	check(rs.bad_advance == 0, "every advance raises a cap of the hint "
	    "before");
	check(rs.again > 0 && rs.bad_again == 0, "the same send log five "
	    "minutes later: no cut, no new pause (acted on once)");
	check(rs.bad_pause == 0, "a pause has zero caps and resume caps");
	check(rs.bad_range == 0, "caps within [first stage, target]");
	check(rs.bad_idle == 0, "idle decay never raises a cap");
	for (uint64_t seed = 1; seed <= 20; seed++) {
		memset(&rs, 0, sizeof rs);
		t1[0] = t2[0] = '\0';
		run_history(seed, &rs, t1, sizeof t1);
		run_history(seed, &rs, t2, sizeof t2);
		if (strcmp(t1, t2) != 0 || t1[0] == '\0')
			same = 0;
	}
	check(same, "same inputs give the same hints and state");
}

static void
test_params_check(void)
{
	struct engine_params p;
	const char *what = NULL;

	params(&p, 12000);
	check(engine_params_check(&p, &what) == 0, "default params pass");
	p.stage_day[3] = p.stage_day[2];
	check(engine_params_check(&p, &what) != 0 && what != NULL,
	    "non-increasing stages refused");
	params(&p, 12000);
	p.ttl_hours = 49;
	check(engine_params_check(&p, &what) != 0, "ttl over 48 h refused");
	check(engine_phase_parse("paused") == PHASE_PAUSED &&
	    engine_action_parse("reduce") == ACTION_REDUCE &&
	    engine_gate_parse("amber") == GATE_AMBER &&
	    engine_gate_parse("x") == -1, "names parse back");
}

/* Audit M1: every threshold is a profile key. The engine's key list and
 * the profile parser's are the same, every key is documented in
 * doc/providers.md, and the shipped [defaults] set every key (except the
 * per-provider sends_reports) to exactly the engine's fallback table. */
static void
test_param_keys(void)
{
	const char *src = getenv("DW_SRCDIR");
	char path[4096];
	struct engine_params want, got;
	struct profiles *pf = NULL;
	struct err e;
	char *doc, *text;
	size_t len, n_engine = 0, missing_doc = 0, unknown = 0, unset = 0;
	int same = 1;

	for (size_t i = 0; engine_param_name(i) != NULL; i++) {
		n_engine++;
		if (profile_key_find(engine_param_name(i)) < 0) {
			printf("# engine key %s unknown to the profile parser\n",
			    engine_param_name(i));
			same = 0;
		}
	}
	check(same && n_engine == profile_keys_count(),
	    "engine and profile parser know the same threshold keys");
	engine_params_defaults(&got);
	for (size_t i = 0; i < profile_keys_count(); i++)
		if (engine_param_set(&got, profile_key_at(i)->name, 1) != 0)
			unknown++;
	check(unknown == 0, "engine_param_set takes every profile key");
	check(engine_param_set(&got, "no_such_key", 1) == ERR_NOTFOUND &&
	    engine_param_set(&got, "min_attempts", -1) == ERR_INVAL,
	    "engine_param_set refuses unknown keys and negative values");

	snprintf(path, sizeof path, "%s/doc/providers.md", src ? src : "..");
	doc = tu_read_file(path, &len);
	for (size_t i = 0; doc != NULL && i < profile_keys_count(); i++) {
		char tok[80];
		snprintf(tok, sizeof tok, "`%s`", profile_key_at(i)->name);
		if (strstr(doc, tok) == NULL) {
			printf("# %s not in doc/providers.md\n", tok);
			missing_doc++;
		}
	}
	check(doc != NULL && missing_doc == 0,
	    "doc/providers.md lists every threshold key");
	free(doc);

	snprintf(path, sizeof path, "%s/dist/providers.conf", src ? src : "..");
	err_clear(&e);
	if ((text = tu_read_file(path, &len)) == NULL ||
	    profiles_parse(text, len, path, NULL, NULL, &pf, &e) != 0) {
		check(0, "dist/providers.conf parses");
		free(text);
		return;
	}
	free(text);
	engine_params_defaults(&want);
	engine_params_defaults(&got);
	for (size_t i = 0; i < profile_keys_count(); i++) {
		const char *k = profile_key_at(i)->name;
		if (!pf->defaults.lim.set[i]) {
			if (strcmp(k, "sends_reports") != 0) {
				printf("# [defaults] does not set %s\n", k);
				unset++;
			}
			continue;
		}
		(void)engine_param_set(&got, k, pf->defaults.lim.v[i]);
	}
	/* sends_reports is per provider; the fallback is "unknown" */
	check(unset == 0, "the shipped [defaults] set every threshold key");
	check(memcmp(&want, &got, sizeof want) == 0,
	    "the shipped [defaults] equal engine_params_defaults()");
	profiles_free(pf);
}

int
main(void)
{
	test_clean_warmup();
	test_rate_signal();
	test_cut_then_recover();
	test_block_pause();
	test_dmarc_hold();
	test_idle();
	test_params_check();
	test_param_keys();
	test_properties();
	printf("%d passed, %d failed\n", n_ok, n_fail);
	return n_fail == 0 ? 0 : 1;
}
