/*
 * store/engine.c - engine state, daily gates, hints and hint runs (schema
 * v5; doc/schema.md "Engine and hints").
 *
 * One run touches each (IP, provider) key a few times: the statements are
 * prepared per call, as in sendlog.c, not cached in store_priv.h's table.
 */
#include <stdio.h>
#include <string.h>

#include "store_priv.h"

static void
bind_u64(sqlite3_stmt *st, int idx, uint64_t v)
{
	/* Caps and counts are far below 2^63; clamp rather than wrap. */
	sqlite3_bind_int64(st, idx, v > (uint64_t)INT64_MAX ? INT64_MAX :
	    (int64_t)v);
}

static void
bind_rate(sqlite3_stmt *st, int idx, double v)
{
	if (v < 0)
		sqlite3_bind_null(st, idx);
	else
		sqlite3_bind_double(st, idx, v);
}

static const char state_cols[] =
	"phase, stage, stage_days, cap_day, cap_hour, connections, ssthresh,"
	" last_good, since, hold_until, last_decrease, last_increase,"
	" ifnull(last_gated_day, ''), last_gate, amber_days, idle_days,"
	" pauses_24h, last_pause, last_action, last_action_at, green_days,"
	" stop_until";

/* The key's engine_acted rows, oldest first (at most
 * STORE_ENGINE_ACTED_MAX: the newest ones). */
static int
acted_get(struct store *s, struct store_engine_state *out, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int src, rc;

	out->n_acted = 0;
	if ((rc = store_prepare(s, "SELECT hour, attempts, rate, rate_signal,"
	    " block, conn FROM (SELECT * FROM engine_acted WHERE source_ip = ?1"
	    " AND provider = ?2 ORDER BY hour DESC LIMIT ?3) ORDER BY hour",
	    &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, out->source_ip);
	store_bind_text(st, 2, out->provider);
	sqlite3_bind_int(st, 3, STORE_ENGINE_ACTED_MAX);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_engine_acted *a = &out->acted[out->n_acted++];
		a->hour = sqlite3_column_int64(st, 0);
		a->attempts = store_col_u64(st, 1);
		a->rate = store_col_u64(st, 2);
		a->rate_signal = store_col_u64(st, 3);
		a->block = store_col_u64(st, 4);
		a->conn = store_col_u64(st, 5);
	}
	rc = src == SQLITE_DONE ? 0 : store_db_error(s, src,
	    "read engine_acted", err);
	sqlite3_finalize(st);
	return rc;
}

/* Replaces the key's engine_acted rows with x's. */
static int
acted_put(struct store *s, const struct store_engine_state *x,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_prepare(s, "DELETE FROM engine_acted WHERE"
	    " source_ip = ?1 AND provider = ?2", &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, x->source_ip);
	store_bind_text(st, 2, x->provider);
	if ((rc = store_step_finalize(s, st, "clear engine_acted", err)) < 0)
		return rc;
	for (size_t i = 0; i < x->n_acted && i < STORE_ENGINE_ACTED_MAX; i++) {
		const struct store_engine_acted *a = &x->acted[i];

		if ((rc = store_prepare(s, "INSERT OR REPLACE INTO engine_acted"
		    " (source_ip, provider, hour, attempts, rate, rate_signal,"
		    " block, conn) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		    &st, err)) < 0)
			return rc;
		store_bind_text(st, 1, x->source_ip);
		store_bind_text(st, 2, x->provider);
		sqlite3_bind_int64(st, 3, a->hour);
		bind_u64(st, 4, a->attempts);
		bind_u64(st, 5, a->rate);
		bind_u64(st, 6, a->rate_signal);
		bind_u64(st, 7, a->block);
		bind_u64(st, 8, a->conn);
		if ((rc = store_step_finalize(s, st, "write engine_acted",
		    err)) < 0)
			return rc;
	}
	return 0;
}

int
store_engine_state_get(struct store *s, const char *source_ip,
    const char *provider, struct store_engine_state *out, struct err *err)
{
	sqlite3_stmt *st = NULL;
	char sql[512];
	int src, rc;

	snprintf(sql, sizeof sql, "SELECT %s FROM engine_state"
	    " WHERE source_ip = ?1 AND provider = ?2", state_cols);
	if ((rc = store_prepare(s, sql, &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, source_ip);
	store_bind_text(st, 2, provider);
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = 0;
	} else if (src == SQLITE_ROW) {
		memset(out, 0, sizeof *out);
		snprintf(out->source_ip, sizeof out->source_ip, "%s",
		    source_ip);
		snprintf(out->provider, sizeof out->provider, "%s", provider);
		store_col_text(st, 0, out->phase, sizeof out->phase);
		out->stage = store_col_u64(st, 1);
		out->stage_days = store_col_u64(st, 2);
		out->cap_day = store_col_u64(st, 3);
		out->cap_hour = store_col_u64(st, 4);
		out->connections = store_col_u64(st, 5);
		out->ssthresh = store_col_u64(st, 6);
		out->last_good = store_col_u64(st, 7);
		out->since = sqlite3_column_int64(st, 8);
		out->hold_until = sqlite3_column_int64(st, 9);
		out->last_decrease = sqlite3_column_int64(st, 10);
		out->last_increase = sqlite3_column_int64(st, 11);
		store_col_text(st, 12, out->last_gated_day,
		    sizeof out->last_gated_day);
		store_col_text(st, 13, out->last_gate, sizeof out->last_gate);
		out->amber_days = store_col_u64(st, 14);
		out->idle_days = store_col_u64(st, 15);
		out->pauses_24h = store_col_u64(st, 16);
		out->last_pause = sqlite3_column_int64(st, 17);
		store_col_text(st, 18, out->last_action, sizeof out->last_action);
		out->last_action_at = sqlite3_column_int64(st, 19);
		out->green_days = store_col_u64(st, 20);
		out->stop_until = sqlite3_column_int64(st, 21);
		rc = 1;
	} else {
		rc = store_db_error(s, src, "read engine state", err);
	}
	sqlite3_finalize(st);
	if (rc == 1)
		rc = acted_get(s, out, err) < 0 ? ERR_DB : 1;
	return rc;
}

int
store_engine_state_put(struct store *s, const struct store_engine_state *x,
    int64_t now, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_need_write_tx(s, "engine writes", err)) < 0)
		return rc;
	if ((rc = store_prepare(s, "INSERT OR REPLACE INTO engine_state (source_ip,"
	    " provider, phase, stage, stage_days, cap_day, cap_hour,"
	    " connections, ssthresh, last_good, since, hold_until,"
	    " last_decrease, last_increase, last_gated_day, last_gate,"
	    " amber_days, idle_days, pauses_24h, last_pause, last_action,"
	    " last_action_at, updated, green_days, stop_until) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
	    " nullif(?15, ''), ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24,"
	    " ?25)", &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, x->source_ip);
	store_bind_text(st, 2, x->provider);
	store_bind_text(st, 3, x->phase);
	bind_u64(st, 4, x->stage);
	bind_u64(st, 5, x->stage_days);
	bind_u64(st, 6, x->cap_day);
	bind_u64(st, 7, x->cap_hour);
	bind_u64(st, 8, x->connections);
	bind_u64(st, 9, x->ssthresh);
	bind_u64(st, 10, x->last_good);
	sqlite3_bind_int64(st, 11, x->since);
	sqlite3_bind_int64(st, 12, x->hold_until);
	sqlite3_bind_int64(st, 13, x->last_decrease);
	sqlite3_bind_int64(st, 14, x->last_increase);
	store_bind_text(st, 15, x->last_gated_day);
	store_bind_text(st, 16, x->last_gate);
	bind_u64(st, 17, x->amber_days);
	bind_u64(st, 18, x->idle_days);
	bind_u64(st, 19, x->pauses_24h);
	sqlite3_bind_int64(st, 20, x->last_pause);
	store_bind_text(st, 21, x->last_action);
	sqlite3_bind_int64(st, 22, x->last_action_at);
	sqlite3_bind_int64(st, 23, now);
	bind_u64(st, 24, x->green_days);
	sqlite3_bind_int64(st, 25, x->stop_until);
	if ((rc = store_step_finalize(s, st, "write engine state", err)) < 0)
		return rc;
	return acted_put(s, x, err);
}

int
store_engine_day_put(struct store *s, const struct store_engine_day *d,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_need_write_tx(s, "engine writes", err)) < 0)
		return rc;
	if ((rc = store_prepare(s, "INSERT OR REPLACE INTO engine_days (day,"
	    " source_ip, provider, gate, reason, reason_text, action, cap_day,"
	    " new_cap_day, attempts, accepted, deferral_rate, bounce_rate,"
	    " block, block_hours, utilisation, dmarc_day, dmarc_messages,"
	    " dmarc_pass_rate, quarantine, reject, coverage, decided_at,"
	    " usable_cap, missed_block, missed_rate_signal, dmarc_expected)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	    " ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, nullif(?24, 0),"
	    " ?25, ?26, ?27)", &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, d->day);
	store_bind_text(st, 2, d->source_ip);
	store_bind_text(st, 3, d->provider);
	store_bind_text(st, 4, d->gate);
	store_bind_text(st, 5, d->reason);
	store_bind_text(st, 6, d->reason_text);
	store_bind_text(st, 7, d->action);
	bind_u64(st, 8, d->cap_day);
	bind_u64(st, 9, d->new_cap_day);
	bind_u64(st, 10, d->attempts);
	bind_u64(st, 11, d->accepted);
	bind_rate(st, 12, d->deferral_rate);
	bind_rate(st, 13, d->bounce_rate);
	bind_u64(st, 14, d->block);
	bind_u64(st, 15, d->block_hours);
	bind_rate(st, 16, d->utilisation);
	store_bind_text(st, 17, d->dmarc_day);
	bind_u64(st, 18, d->dmarc_messages);
	bind_rate(st, 19, d->dmarc_pass_rate);
	bind_u64(st, 20, d->quarantine);
	bind_u64(st, 21, d->reject);
	bind_rate(st, 22, d->coverage);
	sqlite3_bind_int64(st, 23, d->decided_at);
	bind_u64(st, 24, d->usable_cap);
	bind_u64(st, 25, d->missed_block);
	bind_u64(st, 26, d->missed_rate_signal);
	sqlite3_bind_int(st, 27, d->dmarc_expected ? 1 : 0);
	return store_step_finalize(s, st, "write engine day", err);
}

int
store_hints_run_begin(struct store *s, int64_t run_at, int64_t min_seq,
    int64_t *seq, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t last = 0, next;
	int rc, src;

	if ((rc = store_need_write_tx(s, "engine writes", err)) < 0)
		return rc;
	/* AUTOINCREMENT never reuses a number, even of a deleted run; the
	 * explicit max() also beats a file from an older database. */
	if ((rc = store_prepare(s, "SELECT max(ifnull((SELECT max(seq) FROM"
	    " hints_runs), 0), ifnull((SELECT seq FROM sqlite_sequence"
	    " WHERE name = 'hints_runs'), 0))", &st, err)) < 0)
		return rc;
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (src != SQLITE_ROW)
		return store_db_error(s, src, "read hints sequence", err);
	next = (last > min_seq ? last : min_seq) + 1;
	if ((rc = store_prepare(s, "INSERT INTO hints_runs (seq, run_at, hints)"
	    " VALUES (?1, ?2, 0)", &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, next);
	sqlite3_bind_int64(st, 2, run_at);
	if ((rc = store_step_finalize(s, st, "add hints run", err)) < 0)
		return rc;
	if ((rc = store_prepare(s, "DELETE FROM throttle_hints", &st, err)) < 0)
		return rc;
	if ((rc = store_step_finalize(s, st, "clear hints", err)) < 0)
		return rc;
	*seq = next;
	return 0;
}

int
store_hint_put(struct store *s, const struct store_hint_row *h,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_need_write_tx(s, "engine writes", err)) < 0)
		return rc;
	if ((rc = store_prepare(s, "INSERT OR REPLACE INTO throttle_hints (seq,"
	    " hint_id, source_ip, provider, action, phase, stage,"
	    " max_per_hour, max_per_day, max_connections, valid_from,"
	    " valid_until, on_expiry, reason, reason_text, confidence,"
	    " evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
	    " ?12, ?13, ?14, ?15, ?16, ?17)", &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, h->seq);
	store_bind_text(st, 2, h->hint_id);
	store_bind_text(st, 3, h->source_ip);
	store_bind_text(st, 4, h->provider);
	store_bind_text(st, 5, h->action);
	store_bind_text(st, 6, h->phase);
	bind_u64(st, 7, h->stage);
	bind_u64(st, 8, h->max_per_hour);
	bind_u64(st, 9, h->max_per_day);
	bind_u64(st, 10, h->max_connections);
	sqlite3_bind_int64(st, 11, h->valid_from);
	sqlite3_bind_int64(st, 12, h->valid_until);
	store_bind_text(st, 13, h->on_expiry);
	store_bind_text(st, 14, h->reason);
	store_bind_text(st, 15, h->reason_text);
	sqlite3_bind_double(st, 16, h->confidence);
	store_bind_text(st, 17, h->evidence_json);
	return store_step_finalize(s, st, "write hint", err);
}

int
store_hints_run_finish(struct store *s, int64_t seq, uint64_t hints,
    const char *json_path, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_need_write_tx(s, "engine writes", err)) < 0)
		return rc;
	if ((rc = store_prepare(s, "UPDATE hints_runs SET hints = ?2, json_path = ?3"
	    " WHERE seq = ?1", &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, seq);
	bind_u64(st, 2, hints);
	store_bind_text(st, 3, json_path);
	return store_step_finalize(s, st, "finish hints run", err);
}

int
store_dmarc_report_ids(struct store *s, const char *source_ip,
    const char *provider, const char *day, size_t max,
    int (*cb)(void *ctx, const char *report_id), void *ctx,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int src, rc;

	/* Reporter to provider as in v_agg_provider. reports.begin is
	 * indexed: a report covering the day began at most
	 * LIM_REPORT_SPAN_SECONDS before its end. */
	if ((rc = store_prepare(s, "SELECT DISTINCT r.report_id FROM reports r"
	    " JOIN provider_match m ON m.kind = 'reporter'"
	    "  AND (lower(r.org_name) = m.pattern"
	    "  OR substr(lower(r.org_name), -length(m.pattern) - 1) IN"
	    "   ('.' || m.pattern, '@' || m.pattern))"
	    " WHERE r.kind = 'aggregate' AND m.provider = ?2"
	    " AND r.report_id IS NOT NULL"
	    " AND r.begin < CAST(strftime('%s', ?3) AS INTEGER) + 86400"
	    " AND r.begin >= CAST(strftime('%s', ?3) AS INTEGER) - ?5"
	    " AND r.end >= CAST(strftime('%s', ?3) AS INTEGER)"
	    " AND EXISTS (SELECT 1 FROM records c WHERE c.report_id = r.id"
	    "  AND c.source_ip = ?1)"
	    " ORDER BY r.report_id LIMIT ?4", &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, source_ip);
	store_bind_text(st, 2, provider);
	store_bind_text(st, 3, day);
	sqlite3_bind_int64(st, 4, (int64_t)max);
	sqlite3_bind_int64(st, 5, LIM_REPORT_SPAN_SECONDS);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *id = sqlite3_column_text(st, 0);
		if (id != NULL && (rc = cb(ctx, (const char *)id)) != 0)
			goto out;
	}
	rc = src == SQLITE_DONE ? 0 : store_db_error(s, src,
	    "read report ids", err);
out:
	sqlite3_finalize(st);
	return rc;
}

int
store_provider_match_each(struct store *s,
    int (*cb)(void *ctx, const char *provider, const char *kind,
    const char *pattern), void *ctx, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int src, rc;

	if ((rc = store_prepare(s, "SELECT provider, kind, pattern FROM provider_match"
	    " ORDER BY provider, kind, pattern", &st, err)) < 0)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *pv = (const char *)sqlite3_column_text(st, 0);
		const char *kd = (const char *)sqlite3_column_text(st, 1);
		const char *pt = (const char *)sqlite3_column_text(st, 2);
		if (pv != NULL && kd != NULL && pt != NULL &&
		    (rc = cb(ctx, pv, kd, pt)) != 0)
			goto out;
	}
	rc = src == SQLITE_DONE ? 0 : store_db_error(s, src,
	    "read provider match", err);
out:
	sqlite3_finalize(st);
	return rc;
}
