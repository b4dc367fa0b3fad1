/*
 * report/engine.h - the reputation engine: one state machine per (source
 * IP, provider), a daily gate and a fast loop. Pure: plain structs in and
 * out, no I/O, no clock, no store. report/hints.c loads the inputs from the
 * store, calls engine_step() and writes what it returns; tests drive it
 * with generated inputs (tests/unit/test_engine.c).
 *
 * Determinism: engine_step() is a function of (params, state, inputs,
 * now). The same arguments give the same state and hint, bit for bit
 * (integers throughout, doubles only for ratios compared to thresholds and
 * for the confidence figure).
 *
 * The engine, its rules and where each threshold comes from are described
 * in doc/hints.md.
 */
#ifndef DW_REPORT_ENGINE_H
#define DW_REPORT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

/* Warm-up stages of one provider ladder (dist/providers.conf). */
#define ENGINE_MAX_STAGES 64
/* Evidence items in one hint. */
#define ENGINE_MAX_EVIDENCE 8
/* DMARC report ids quoted in one evidence item. */
#define ENGINE_MAX_REPORT_IDS 8
#define ENGINE_REPORT_ID_BYTES 128
/* Longest hint validity: consumers refuse longer ones (doc/hints.md). */
#define ENGINE_MAX_TTL_S (48 * 3600)

enum engine_phase {
	PHASE_WARMUP = 0,
	PHASE_STEADY,
	PHASE_RECOVERY,
	PHASE_PAUSED,
};

enum engine_gate {
	GATE_NONE = 0,     /* no day gated yet */
	GATE_GREEN,
	GATE_AMBER,
	GATE_RED,
};

enum engine_action {
	ACTION_ADVANCE = 0,
	ACTION_HOLD,
	ACTION_REDUCE,
	ACTION_PAUSE,
};

/*
 * Thresholds. Every field comes from the provider profile (store tables
 * synced from dist/providers.conf, [defaults] filling what a provider
 * leaves out) or from the configuration; engine_params_defaults() is the
 * one documented last-resort table, used only for a key that neither
 * names (doc/hints.md "Where thresholds come from"). Ratios are fractions
 * (0.05 = 5 %).
 */
struct engine_params {
	/* Warm-up ladder: daily cap of each stage, increasing. */
	uint64_t stage_day[ENGINE_MAX_STAGES];
	uint64_t stage_hour[ENGINE_MAX_STAGES];     /* 0 = day cap / 24 */
	unsigned stage_min_days[ENGINE_MAX_STAGES]; /* GREEN days needed at
	                                             * a stage to leave it */
	size_t n_stages;
	uint64_t target_daily;      /* operator's need ([sender]); 0 = last
	                             * stage */
	unsigned active_hours;      /* hour cap = ceil(day cap / this) */
	uint64_t max_per_hour;      /* hour cap once warm (0 = none) */
	unsigned max_connections;   /* connections at full health */
	unsigned start_connections; /* at stage 0 and after a 4.7.28 */

	/* Daily gate. */
	uint64_t min_attempts;      /* fewer attempts in a day: rates are not
	                             * judged (too few samples) */
	double deferral_amber;      /* 4xx share of attempts */
	double deferral_red;        /* 0 = no RED on deferrals */
	double bounce_amber, bounce_red;   /* OTHER_5XX share */
	double auth_amber;          /* AUTH share */
	double dmarc_pass_amber, dmarc_pass_red;
	double coverage_low, coverage_high;  /* DMARC messages / accepted */
	int expect_dmarc;           /* provider sends aggregate reports */
	unsigned dmarc_lag_days;    /* how far back DMARC evidence may be */
	double utilisation_min;     /* accepted / day cap to advance */
	unsigned block_red_hours;   /* BLOCK in this many hours: RED */
	double block_pause_share;   /* BLOCK share of a day: pause */

	/* Growth. */
	double growth_above_s;      /* additive step above the trouble
	                             * level S, as a share of the cap */
	unsigned realised_factor;   /* next cap <= this x best day of 7 */
	unsigned recovery_days;     /* RED: no growth for this many days */
	unsigned ssthresh_clear_days; /* GREEN days in a row at or above S
	                             * that clear S (the ladder resumes) */
	unsigned stall_days;        /* AMBER days in a row: "stalled" */

	/* Fast loop (last hour of the send log). */
	uint64_t block_per_hour;    /* BLOCK replies in the hour: pause */
	uint64_t rate_per_hour;     /* provider-coded RATE replies (4.7.28,
	                             * TSS04 ...) in the hour: back off */
	uint64_t rate_min_attempts; /* below: RATE share not judged */
	double rate_share;          /* RATE share that halves the hour cap */
	unsigned rate_pause_min;    /* stop after provider-coded RATE
	                             * replies, then 1 connection */
	double rate_strict_cut;     /* hour cap factor after it */
	unsigned block_pause_min;   /* first pause on a BLOCK reply;
	                             * doubled per repeat in 24 h */
	unsigned block_pause_max_min;
	unsigned decrease_gap_min;  /* at most one decrease per this */
	unsigned increase_gap_min;  /* additive recovery step interval */

	/* Idle decay. */
	double idle_share;          /* accepted < this x cap: an idle day */
	unsigned idle_stage_days;   /* every this many idle days: one stage
	                             * down */
	unsigned idle_restart_days; /* idle this long: back to stage 0 */

	unsigned ttl_hours;         /* hint validity, <= 48 */
};

/* Fills p with the last-resort table (doc/hints.md); stages empty. */
void engine_params_defaults(struct engine_params *p);
/* 0 when p is usable (stages increasing, ratios in [0,1], ...), else
 * ERR_INVAL with the offending field in *what (static string). */
int engine_params_check(const struct engine_params *p, const char **what);

/* Persistent state of one (IP, provider) key (table engine_state). */
struct engine_state {
	enum engine_phase phase;
	unsigned stage;             /* index into stage_day */
	uint64_t cap_day;           /* C */
	uint64_t cap_hour;          /* H (fast loop may cut it below C/hours) */
	unsigned conns;             /* K */
	uint64_t ssthresh;          /* S: cap at which trouble last began;
	                             * 0 = none seen */
	uint64_t last_good;         /* G: last cap with a GREEN day */
	int64_t since;              /* phase entered (epoch s) */
	int64_t hold_until;         /* pause end / no growth before */
	int64_t last_decrease, last_increase;   /* fast loop, epoch s */
	int64_t last_gated_day;     /* days since epoch; -1 = none */
	enum engine_gate last_gate;
	unsigned amber_days, idle_days;
	unsigned stage_days;        /* GREEN days at the current stage */
	unsigned green_days;        /* GREEN days in a row */
	unsigned pauses_24h;        /* BLOCK pauses in the last 24 h */
	int64_t last_pause;
	enum engine_action last_action;  /* of the last decision */
	int64_t last_action_at;
	int initialised;            /* 0: a new key (engine_state_init) */
};

void engine_state_init(struct engine_state *s, const struct engine_params *p,
    int64_t now);

/* Send-log counts for a window (one day, or the last hour). */
struct engine_counts {
	uint64_t attempts;          /* every class below, summed */
	uint64_t ok, rate, block, auth, tls, conn, other_4xx, other_5xx;
	uint64_t rate_signal;       /* RATE replies matched by a provider's
	                             * own code rule (4.7.28 ...) */
	unsigned block_hours;       /* distinct hours with BLOCK (day only) */
};

/* DMARC aggregate evidence for the key: one reported day. */
struct engine_dmarc {
	int64_t day;                /* days since epoch; -1 = none found */
	uint64_t messages, dmarc_pass, quarantine, reject;
	uint64_t accepted_that_day; /* send-log OK for the same day, for ρ */
	size_t n_report_ids;
	char report_ids[ENGINE_MAX_REPORT_IDS][ENGINE_REPORT_ID_BYTES];
};

struct engine_inputs {
	int64_t gate_day;           /* the day to gate (yesterday) */
	struct engine_counts day;   /* send log of gate_day */
	uint64_t best_ok_7d;        /* most accepted in one day, 7 days up to
	                             * gate_day */
	struct engine_dmarc dmarc;
	struct engine_counts hour;  /* send log of the last hour */
	int64_t hour_from;          /* where that window starts (epoch s);
	                             * 0 = now - 1 h. The store keeps hour
	                             * buckets, so it may start earlier. */
};

struct engine_evidence {
	const char *kind;           /* "smtp" | "dmarc_aggregate" | "engine" */
	const char *metric;         /* static token */
	double value;
	uint64_t n;
	double threshold;
	int64_t from, until;        /* window, epoch s; until exclusive */
	int is_day;                 /* window is one UTC day ("period") */
	size_t n_report_ids;
	const char *report_ids[ENGINE_MAX_REPORT_IDS];  /* into inputs */
};

struct engine_hint {
	enum engine_action action;
	enum engine_phase phase;
	unsigned stage;
	uint64_t max_per_hour, max_per_day;
	unsigned max_connections;
	/* Caps to apply once a pause ends (pause only): on_expiry "revert"
	 * must not mean "no caps" for an IP in warm-up. */
	uint64_t then_per_hour, then_per_day;
	unsigned then_connections;
	int64_t valid_from, valid_until;
	int on_expiry_hold_last;    /* 1 "hold_last", 0 "revert" */
	const char *reason;         /* reason token (doc/hints.md) */
	char reason_text[256];
	enum engine_gate gate;      /* of gate_day */
	const char *gate_reason;    /* the first failing gate rule; NULL
	                             * when GREEN or not gated this step */
	int gate_ran;               /* this step gated gate_day */
	size_t n_evidence;
	struct engine_evidence evidence[ENGINE_MAX_EVIDENCE];
	double confidence;          /* 0..1 */
	int stalled;                /* AMBER for stall_days in a row */
};

/*
 * One step for one key at time now: gates inputs->gate_day if the state
 * has not gated it yet (once per day), runs the fast loop on the hour
 * window, updates *st and fills *hint. Returns 0, or ERR_INVAL when the
 * params do not pass engine_params_check(). The hint's evidence points
 * into *in (report ids): keep in alive while using the hint.
 */
int engine_step(const struct engine_params *p, struct engine_state *st,
    const struct engine_inputs *in, int64_t now, struct engine_hint *hint);

/* Stable lower-case names, for the store, JSON and exports. */
const char *engine_phase_name(enum engine_phase ph);
const char *engine_gate_name(enum engine_gate g);
const char *engine_action_name(enum engine_action a);
/* Inverse of the names; return -1 when unknown. */
int engine_phase_parse(const char *s);
int engine_gate_parse(const char *s);
int engine_action_parse(const char *s);

#endif
