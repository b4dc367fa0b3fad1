/*
 * report/html_warmup.h - the per-IP x provider warm-up page (warmup.html).
 *
 * Two inputs, drawn side by side per sending IP:
 *
 *  1. What receivers reported (always available): the DMARC aggregate
 *     volume per source IP, reporter and UTC day, with DMARC pass and
 *     quarantine/reject counts, read here from agg_daily (SQ_IP_DAILY).
 *
 *  2. What the reputation engine decided (struct warmup_engine), from the
 *     send log and the engine's tables, read through the store's named
 *     queries only (html_warmup_engine_load()). NULL, or no rows, means
 *     "no send log imported and the engine has not run", and the page
 *     says so plainly instead of drawing schedules it does not have.
 *
 * The page answers "which IP is in trouble with which provider, and what
 * was the sending daemon told" first: a summary table of the keys with
 * mail or trouble, most severe first, each linking to its block; keys
 * without mail are one line each. Its size is bounded by the caps, not
 * by history: the range (90 days by default), LIM_HTML_WARMUP_DETAILS
 * blocks, LIM_HTML_TABLE_DAYS rows per block, LIM_HTML_CHART_BARS bars
 * per chart.
 *
 * Expected engine data, per key (source IP x provider profile name, e.g.
 * "google"), one warmup_day per UTC day in ascending order: messages sent
 * (send log attempts) and delivered, the schedule's daily cap that day,
 * the daily gate the slow loop computed for that day with its reason;
 * plus the current hint for the key (action, reason, evidence, validity).
 * All strings are treated as untrusted and escaped.
 */
#ifndef DW_REPORT_HTML_WARMUP_H
#define DW_REPORT_HTML_WARMUP_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../store/store.h"
#include "html_page.h"

enum warmup_gate {
	WARMUP_GATE_NONE = 0,      /* not computed that day */
	WARMUP_GATE_GREEN,
	WARMUP_GATE_AMBER,
	WARMUP_GATE_RED,
};

struct warmup_day {
	char day[11];              /* YYYY-MM-DD, UTC */
	uint64_t sent;             /* send log attempts */
	uint64_t delivered;
	uint64_t cap;              /* schedule's daily cap; 0 = no cap */
	enum warmup_gate gate;
	const char *gate_reason;   /* e.g. "DMARC pass 96.1 % < 98 %" */
};

struct warmup_hint {
	const char *action;        /* e.g. "advance", "hold", "back-off" */
	const char *reason;
	const char *evidence;      /* human-readable figures behind it */
	int64_t valid_until;       /* epoch s; 0 = not given */
	double confidence;         /* 0..1; < 0 = not given */
	const char *reason_code;   /* throttle_hints.reason; NULL = none */
	uint64_t max_per_day, max_per_hour, max_connections;
	int64_t valid_from;        /* epoch s; 0 = not given */
	const char *on_expiry;     /* revert | hold_last; NULL = not given */
};

/* One stage of the provider's warm-up schedule (provider_stages). */
struct warmup_stage {
	uint64_t stage, daily_cap, hourly_cap, min_days;
};

/* How much a key needs the admin, for the summary table (most severe
 * first). */
enum warmup_severity {
	WARMUP_SEV_TROUBLE = 0,    /* last gate red, or a reduce / pause hint */
	WARMUP_SEV_AMBER,          /* last gate amber, with mail sent */
	WARMUP_SEV_MAIL,           /* mail sent, gate green or none */
	WARMUP_SEV_QUIET,          /* no mail sent in the range */
	WARMUP_SEV__N
};

struct warmup_key {
	const char *ip;            /* canonical, as records.source_ip */
	const char *provider;      /* provider profile name */
	const char *phase;         /* WARMUP, STEADY, RECOVERY, PAUSED */
	const struct warmup_day *days;
	size_t n_days;
	const struct warmup_hint *hint;   /* NULL = no current hint */
	uint64_t stage;            /* current stage (engine_state) */
	uint64_t cap_day;          /* current daily cap; 0 = none */
	const struct warmup_stage *stages;   /* the provider's schedule */
	size_t n_stages;
	/* Derived by html_warmup_engine_load() from the above: */
	enum warmup_severity severity;
	enum warmup_gate last_gate;        /* of the last gated day in range */
	const char *last_gate_day;         /* NULL: not gated in the range */
	const char *last_gate_reason;
	uint64_t sent_range;               /* sent over the range */
	uint64_t sent_last, cap_last;      /* on warmup_engine.last_day */
	int detailed;              /* drawn in full on warmup.html */
	size_t anchor;             /* its block is id "k-<anchor>" */
};

struct warmup_engine {
	int sendlog_imported;      /* any send log rows in the store */
	int engine_ran;            /* the engine has written state */
	const struct warmup_key *keys;   /* by IP, provider */
	size_t n_keys;
	const struct warmup_key *const *order;   /* by severity */
	/* The last day with send log volume or a gate in the range, "" when
	 * none: "sent on that day against its cap" in the summary. */
	char last_day[11];
	size_t n_sev[WARMUP_SEV__N];
	size_t n_detailed;         /* keys drawn in full */
	/* hints runs (SQ_ENGINE_PRESENCE): count, epoch s of the last, and
	 * the hints it left. */
	int64_t runs, last_run, n_hints;
};

/*
 * Reads the engine's tables for ips (sendlog_daily, engine_days,
 * engine_state, throttle_hints, provider_stages; days of f's range) into
 * *out, which html_warmup_engine_free() releases; ranks the keys
 * (severity, then mail sent on the last day) and marks the first
 * LIM_HTML_WARMUP_DETAILS with mail or trouble to be drawn in full.
 * Returns 0 or an ERR_*.
 */
int html_warmup_engine_load(struct store *st,
    const struct store_query_filter *f, const char *const *ips,
    size_t n_ips, struct warmup_engine **out, struct err *err);
void html_warmup_engine_free(struct warmup_engine *e);

/*
 * Appends the body of warmup.html (between hp_head and hp_foot) to p:
 * the summary table (every key with mail or trouble, most severe first,
 * linking to its block), then per IP its keys in full, its quiet keys one
 * line each, and what receivers reported for it through DMARC.
 * ips/n_ips: the addresses to show (the sender's own, or the busiest
 * sources when ips_are_ours is 0), f: range and domain. eng may be NULL.
 * Returns 0 or an ERR_* (err filled); page errors stay in p->rc.
 */
int html_warmup_page(struct html_page *p, struct store *st,
    const struct store_query_filter *f, const char *const *ips,
    size_t n_ips, int ips_are_ours, const struct warmup_engine *eng,
    struct err *err);

/*
 * The compact version for index.html: the last hints run and its hints
 * per action (st, SQ_HINT_ACTIONS), how many keys are in trouble, and
 * the LIM_HTML_INDEX_KEYS most severe keys with mail or trouble, each
 * linking to its block on warmup.html. Returns 0 or an ERR_*.
 */
int html_warmup_glance(struct html_page *p, struct store *st,
    const struct warmup_engine *eng, struct err *err);

#endif
