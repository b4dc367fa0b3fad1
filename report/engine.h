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
/* Days of send log and DMARC evidence the caller reads before the gated
 * day: the realised-volume window and the DMARC lag and absence windows
 * must fit. */
#define ENGINE_MAX_WINDOW_DAYS 32

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
 * Thresholds. Every field has a profile key (doc/providers.md "Threshold
 * keys"; the name beside each field), set in the provider's section or
 * its [defaults] and synced into provider_params; report/hints.c applies
 * them with engine_param_set(). The configuration adds [sender]
 * target_daily and [hints] ttl_hours / active_hours (which win over the
 * profile). engine_params_defaults() is the documented fallback for a key
 * that the profile does not set (doc/hints.md "Where thresholds come
 * from"). Ratios are fractions (0.05 = 5 %); the profile gives them in
 * percent.
 */
struct engine_params {
	/* Warm-up ladder: daily cap of each stage, increasing (stages). */
	uint64_t stage_day[ENGINE_MAX_STAGES];
	uint64_t stage_hour[ENGINE_MAX_STAGES];     /* 0 = day cap / 24 */
	unsigned stage_min_days[ENGINE_MAX_STAGES]; /* GREEN days needed at
	                                             * a stage to leave it */
	size_t n_stages;
	uint64_t target_daily;      /* operator's need ([sender]); 0 = last
	                             * stage */
	unsigned active_hours;      /* active_hours: hour cap = ceil(day cap
	                             * / this) */
	uint64_t max_per_hour;      /* max_per_hour: hour cap once warm
	                             * (0 = none) */
	unsigned max_connections;   /* max_connections: at full health */
	unsigned start_connections; /* start_connections: at stage 0 and
	                             * after a 4.7.28 */

	/* Daily gate. */
	uint64_t min_attempts;      /* min_attempts: fewer attempts in a day:
	                             * rates are not judged (too few samples) */
	double deferral_amber;      /* deferral_pct_amber: 4xx share */
	double deferral_red;        /* deferral_pct_red; 0 = no RED */
	double bounce_amber, bounce_red;   /* bounce_pct_amber, _red:
	                             * OTHER_5XX share */
	double auth_amber;          /* auth_pct_amber: AUTH share */
	double dmarc_pass_green;    /* dmarc_pass_green: below: AMBER */
	double dmarc_pass_amber;    /* dmarc_pass_amber: below, with
	                             * dispositions: RED */
	double coverage_low, coverage_high;  /* coverage_low_pct, _high_pct:
	                             * DMARC messages / accepted */
	int sends_reports;          /* sends_reports: 1 the provider sends
	                             * aggregate reports (a missing one holds),
	                             * 0 it does not (the gate judges the send
	                             * log alone), -1 unknown (as 1 until
	                             * dmarc_absent_days days of our mail went
	                             * unreported, then as 0) */
	unsigned dmarc_lag_days;    /* dmarc_lag_days: how far back DMARC
	                             * evidence may be (<= 7) */
	unsigned dmarc_absent_days; /* dmarc_absent_days (see sends_reports) */
	double utilisation_min;     /* advance_delivered_pct: accepted /
	                             * usable cap to advance */
	unsigned block_red_hours;   /* block_red_hours: BLOCK no fast-loop run
	                             * acted on, in this many hours: RED */
	double block_pause_share;   /* block_pause_pct: such BLOCK share of a
	                             * day: pause */
	int rate_gate_red;          /* rate_gate_red: provider rate codes no
	                             * fast-loop run acted on make the day RED
	                             * (1) or AMBER (0) */

	/* Growth. */
	double growth_above_s;      /* growth_above_s_pct: additive step above
	                             * the trouble level S, share of the cap */
	unsigned realised_factor;   /* realised_factor: next cap <= this x the
	                             * best accepted day of the window */
	unsigned realised_window_days;  /* realised_window_days (<= 28) */
	unsigned recovery_days;     /* recovery_days: RED: no growth for this
	                             * many days */
	unsigned ssthresh_clear_days; /* ssthresh_clear_days: GREEN days in a
	                             * row at or above S that clear S */
	unsigned stall_days;        /* stall_days: days in a row on which we
	                             * sent and the gate failed: "stalled" */
	double stage_snap;          /* stage_snap_pct: a cap this close below
	                             * a stage counts as that stage */
	double red_cut;             /* red_cut_pct: day cap after a RED day,
	                             * share of the cap before */

	/* Fast loop (the last hour of the send log). */
	uint64_t block_per_hour;    /* block_per_hour: BLOCK replies: pause */
	uint64_t rate_per_hour;     /* rate_per_hour: provider-coded RATE
	                             * replies (4.7.28, TSS04 ...): back off */
	uint64_t rate_min_attempts; /* rate_min_attempts: below, the RATE
	                             * share is not judged */
	double rate_share;          /* rate_share_pct: RATE share that cuts
	                             * the hour cap */
	double rate_share_cut;      /* rate_share_cut_pct: hour cap after it */
	unsigned rate_pause_min;    /* rate_pause_minutes: stop after
	                             * provider-coded RATE replies */
	double rate_strict_cut;     /* rate_strict_cut_pct: hour cap after
	                             * them */
	unsigned block_pause_min;   /* block_pause_minutes: first pause on a
	                             * BLOCK reply */
	unsigned block_pause_max_min;   /* block_pause_max_minutes */
	unsigned block_pause_growth;    /* block_pause_growth: pause factor
	                             * per repeat within 24 h */
	double block_cut;           /* block_cut_pct: day cap to resume with
	                             * after a BLOCK pause, share of before */
	unsigned decrease_gap_min;  /* decrease_gap_minutes: at most one cut
	                             * per this */
	unsigned increase_gap_min;  /* increase_gap_minutes: recovery step
	                             * interval */
	double recovery_step;       /* recovery_step_pct: hour cap step back
	                             * up, share of its base */

	/* Idle decay. */
	double idle_share;          /* idle_pct: accepted < this x cap: an
	                             * idle day */
	unsigned idle_stage_days;   /* decay_idle_days: every this many idle
	                             * days: one stage down */
	unsigned idle_restart_days; /* rewarm_idle_days: idle this long: back
	                             * to stage 0 */

	/* The hint. */
	unsigned ttl_hours;         /* ttl_hours: validity, <= 48 */
	uint64_t confidence_prior;  /* confidence_prior: n / (n + this) */
	double confidence_one_source;   /* confidence_one_source_pct: factor
	                             * when only the send log spoke */
};

/* Fills p with the fallback table (doc/hints.md); stages empty. */
void engine_params_defaults(struct engine_params *p);
/* 0 when p is usable (stages increasing, ratios in [0,1], ...), else
 * ERR_INVAL with the offending field in *what (static string). */
int engine_params_check(const struct engine_params *p, const char **what);
/* Sets the field of profile key name (doc/providers.md) from its profile
 * value (percent for ratios, 1/0/-1 for yes/no/unknown). Returns 0,
 * ERR_NOTFOUND for a name the engine does not know, ERR_INVAL for a value
 * the field cannot hold (negative, too large). Ranges between fields are
 * engine_params_check()'s. */
int engine_param_set(struct engine_params *p, const char *name,
    double value);
/* The i-th profile key the engine knows (NULL past the end). */
const char *engine_param_name(size_t i);

/*
 * What the fast loop has acted on, per send-log hour bucket (table
 * engine_acted): a decision "consumes" the counts it used, and later runs
 * act only on counts above them. Kept from the start of the gated day:
 * the daily gate counts the day's replies above them as missed (no run
 * saw them in time). At most ENGINE_ACTED_MAX buckets (two days).
 */
#define ENGINE_ACTED_MAX 48
struct engine_acted {
	int64_t hour;               /* epoch s of the UTC hour */
	uint64_t attempts, rate, rate_signal, block, conn;
};

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
	int64_t stop_until;         /* the provider asked us to stop until
	                             * then (4.7.28: rate_pause_min); 0 none */
	size_t n_acted;             /* oldest first */
	struct engine_acted acted[ENGINE_ACTED_MAX];
	int initialised;            /* 0: a new key (engine_state_init) */
};

void engine_state_init(struct engine_state *s, const struct engine_params *p,
    int64_t now);

/* Send-log counts for a window (one day, or one hour bucket). */
struct engine_counts {
	uint64_t attempts;          /* every class below, summed */
	uint64_t ok, rate, block, auth, tls, conn, other_4xx, other_5xx;
	uint64_t rate_signal;       /* RATE replies matched by a provider's
	                             * own code rule (4.7.28 ...) */
};

/* One send-log hour bucket (sendlog_hourly). */
struct engine_hour {
	int64_t hour;               /* epoch s of the UTC hour */
	struct engine_counts c;
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
	uint64_t best_ok;           /* most accepted in one day of the
	                             * realised_window_days up to gate_day */
	struct engine_dmarc dmarc;
	unsigned dmarc_silent_days; /* days (older than dmarc_lag_days) on
	                             * which we delivered to the provider
	                             * while it sent no report for any of our
	                             * IPs in the window; 0 once one came */
	/* The send log's hour buckets from the start of gate_day up to now,
	 * oldest first (borrowed): the fast loop reads those that overlap
	 * the hour before now, the gate those of gate_day. */
	size_t n_hours;
	const struct engine_hour *hours;
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
	int stalled;                /* sent and failed the gate stall_days
	                             * in a row */
	int64_t stop_until;         /* > now: the provider's stop, the caps
	                             * start then (= valid_from); else 0 */
	/* What the gate saw (gate_ran only), for engine_days. */
	uint64_t usable_cap;        /* min(C, H x active_hours) that day */
	uint64_t missed_block, missed_rate_signal;
	unsigned missed_block_hours;
	int dmarc_expected;         /* a missing report counted against it */
};

/*
 * One step for one key at time now: runs the fast loop on the hour
 * buckets that overlap the hour before now (acting only on counts above
 * what st->acted says was acted on), gates inputs->gate_day if the state
 * has not gated it yet (once per day), updates *st and fills *hint.
 * Returns 0, or ERR_INVAL when the params do not pass
 * engine_params_check(). The hint's evidence points into *in (report
 * ids): keep in alive while using the hint.
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
