/*
 * store/sendlog.c - provider profiles, sender identity, send-log rollups
 * and the correlation view (schema v4; doc/schema.md "Send log and
 * providers").
 *
 * These statements run once per rollup key of a batch (a few thousand per
 * transaction at most), per provider at sync, or per row read: they are
 * prepared per call rather than cached in store_priv.h's table, which
 * keeps this file independent of the report write path.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store_priv.h"

static const char *const class_names[STORE_SL_CLASSES] = {
	"ok", "rate", "block", "auth", "tls", "conn", "other_4xx", "other_5xx",
};

const char *
store_sl_class_name(int cls)
{
	if (cls < 0 || cls >= STORE_SL_CLASSES)
		return NULL;
	return class_names[cls];
}

static int
exec(struct store *s, const char *sql, const char *what, struct err *err)
{
	int src = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	if (src != SQLITE_OK)
		return store_db_error(s, src, what, err);
	return 0;
}

/* ---- profiles ---- */

int
store_providers_clear(struct store *s, struct err *err)
{
	int rc;

	if ((rc = store_need_write_tx(s, "send-log and profile writes", err)) < 0)
		return rc;
	return exec(s, "DELETE FROM provider_codes; DELETE FROM provider_stages;"
	    " DELETE FROM provider_match; DELETE FROM provider_params;"
	    " DELETE FROM providers;",
	    "clear providers", err);
}

int
store_provider_put(struct store *s, const struct store_provider *p,
    const char *profile_file, int64_t now, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_need_write_tx(s, "send-log and profile writes", err)) < 0)
		return rc;
	if ((rc = store_prepare(s, "INSERT INTO providers (name, display_name,"
	    " dmarc_pass_green, dmarc_pass_amber, deferral_pct_amber,"
	    " deferral_pct_red, rate_per_hour, block_per_hour, max_per_hour,"
	    " max_connections, rate_pause_minutes, block_pause_minutes,"
	    " advance_delivered_pct, decay_idle_days, rewarm_idle_days,"
	    " unverified, source, profile_file, synced_at, sends_reports,"
	    " reports_source) VALUES"
	    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
	    " ?15, ?16, ?17, ?18, ?19, ?20, ?21)", &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, p->name);
	store_bind_text(st, 2, p->display_name);
	sqlite3_bind_double(st, 3, p->dmarc_pass_green);
	sqlite3_bind_double(st, 4, p->dmarc_pass_amber);
	sqlite3_bind_double(st, 5, p->deferral_pct_amber);
	sqlite3_bind_double(st, 6, p->deferral_pct_red);
	sqlite3_bind_int64(st, 7, (int64_t)p->rate_per_hour);
	sqlite3_bind_int64(st, 8, (int64_t)p->block_per_hour);
	sqlite3_bind_int64(st, 9, (int64_t)p->max_per_hour);
	sqlite3_bind_int64(st, 10, (int64_t)p->max_connections);
	sqlite3_bind_int64(st, 11, (int64_t)p->rate_pause_minutes);
	sqlite3_bind_int64(st, 12, (int64_t)p->block_pause_minutes);
	sqlite3_bind_double(st, 13, p->advance_delivered_pct);
	sqlite3_bind_int64(st, 14, (int64_t)p->decay_idle_days);
	sqlite3_bind_int64(st, 15, (int64_t)p->rewarm_idle_days);
	sqlite3_bind_int(st, 16, p->unverified ? 1 : 0);
	store_bind_text(st, 17, p->source[0] ? p->source : NULL);
	store_bind_text(st, 18, profile_file);
	sqlite3_bind_int64(st, 19, now);
	store_bind_text(st, 20, p->sends_reports > 0 ? "yes" :
	    p->sends_reports == 0 ? "no" : "unknown");
	store_bind_text(st, 21, p->reports_source[0] ? p->reports_source :
	    NULL);
	if ((rc = store_step_finalize(s, st, "insert provider", err)) < 0)
		return rc;
	for (size_t i = 0; i < p->n_stages && i < LIM_PROVIDER_STAGES; i++) {
		const struct store_provider_stage *sg = &p->stages[i];

		if ((rc = store_prepare(s, "INSERT INTO provider_stages (provider, stage,"
		    " daily_cap, hourly_cap, min_days) VALUES (?1, ?2, ?3, ?4,"
		    " ?5)", &st, err)) < 0)
			return rc;
		store_bind_text(st, 1, p->name);
		sqlite3_bind_int64(st, 2, (int64_t)i + 1);
		sqlite3_bind_int64(st, 3, (int64_t)sg->daily_cap);
		sqlite3_bind_int64(st, 4, (int64_t)sg->hourly_cap);
		sqlite3_bind_int64(st, 5, (int64_t)sg->min_days);
		if ((rc = store_step_finalize(s, st, "insert provider stage", err)) < 0)
			return rc;
	}
	return 0;
}

int
store_provider_match_put(struct store *s, const char *provider,
    const char *kind, const char *pattern, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_need_write_tx(s, "send-log and profile writes", err)) < 0)
		return rc;
	if ((rc = store_prepare(s, "INSERT INTO provider_match (provider, kind, pattern)"
	    " VALUES (?1, ?2, ?3)", &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, provider);
	store_bind_text(st, 2, kind);
	store_bind_text(st, 3, pattern);
	return store_step_finalize(s, st, "insert provider match", err);
}

int
store_provider_code_put(struct store *s, const char *provider, int seq,
    const struct store_provider_code *c, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_need_write_tx(s, "send-log and profile writes", err)) < 0)
		return rc;
	if (store_sl_class_name(c->cls) == NULL)
		return err_set(err, ERR_INVAL, "reply class %d out of range",
		    c->cls);
	if ((rc = store_prepare(s, "INSERT INTO provider_codes (provider, seq, pattern,"
	    " class, smtp, enhanced, phrase, prefix) VALUES (?1, ?2, ?3, ?4,"
	    " ?5, ?6, ?7, ?8)", &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, provider);
	sqlite3_bind_int(st, 2, seq);
	store_bind_text(st, 3, c->rule);
	store_bind_text(st, 4, store_sl_class_name(c->cls));
	store_bind_text(st, 5, c->smtp);
	store_bind_text(st, 6, c->enhanced);
	store_bind_text(st, 7, c->phrase);
	sqlite3_bind_int(st, 8, c->prefix ? 1 : 0);
	return store_step_finalize(s, st, "insert provider code", err);
}

int
store_provider_param_put(struct store *s, const char *provider,
    const char *key, double value, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_need_write_tx(s, "send-log and profile writes", err)) < 0)
		return rc;
	if ((rc = store_prepare(s, "INSERT OR REPLACE INTO provider_params"
	    " (provider, key, value) VALUES (?1, ?2, ?3)", &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, provider);
	store_bind_text(st, 2, key);
	sqlite3_bind_double(st, 3, value);
	return store_step_finalize(s, st, "insert provider parameter", err);
}

int
store_provider_params_each(struct store *s,
    int (*cb)(void *ctx, const char *provider, const char *key,
    double value), void *ctx, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int src, rc;

	if ((rc = store_prepare(s, "SELECT provider, key, value FROM"
	    " provider_params ORDER BY provider, key", &st, err)) < 0)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *pv = (const char *)sqlite3_column_text(st, 0);
		const char *k = (const char *)sqlite3_column_text(st, 1);
		if (pv != NULL && k != NULL && (rc = cb(ctx, pv, k,
		    sqlite3_column_double(st, 2))) != 0)
			goto out;
	}
	rc = src == SQLITE_DONE ? 0 : store_db_error(s, src,
	    "read provider parameters", err);
out:
	sqlite3_finalize(st);
	return rc;
}

static const char provider_cols[] =
	"SELECT name, display_name, dmarc_pass_green, dmarc_pass_amber,"
	" deferral_pct_amber, deferral_pct_red, rate_per_hour, block_per_hour,"
	" max_per_hour, max_connections, rate_pause_minutes,"
	" block_pause_minutes, advance_delivered_pct, decay_idle_days,"
	" rewarm_idle_days, unverified, source, sends_reports,"
	" reports_source FROM providers";

/* Fills p from a provider_cols row, then its stages. */
static int
load_provider(struct store *s, sqlite3_stmt *st, struct store_provider *p,
    struct err *err)
{
	sqlite3_stmt *sg = NULL;
	int src, rc;

	memset(p, 0, sizeof *p);
	store_col_text(st, 0, p->name, sizeof p->name);
	store_col_text(st, 1, p->display_name, sizeof p->display_name);
	p->dmarc_pass_green = sqlite3_column_double(st, 2);
	p->dmarc_pass_amber = sqlite3_column_double(st, 3);
	p->deferral_pct_amber = sqlite3_column_double(st, 4);
	p->deferral_pct_red = sqlite3_column_double(st, 5);
	p->rate_per_hour = store_col_u64(st, 6);
	p->block_per_hour = store_col_u64(st, 7);
	p->max_per_hour = store_col_u64(st, 8);
	p->max_connections = store_col_u64(st, 9);
	p->rate_pause_minutes = store_col_u64(st, 10);
	p->block_pause_minutes = store_col_u64(st, 11);
	p->advance_delivered_pct = sqlite3_column_double(st, 12);
	p->decay_idle_days = store_col_u64(st, 13);
	p->rewarm_idle_days = store_col_u64(st, 14);
	p->unverified = sqlite3_column_int(st, 15);
	store_col_text(st, 16, p->source, sizeof p->source);
	{
		char sr[16];
		store_col_text(st, 17, sr, sizeof sr);
		p->sends_reports = strcmp(sr, "yes") == 0 ? 1 :
		    strcmp(sr, "no") == 0 ? 0 : -1;
	}
	store_col_text(st, 18, p->reports_source, sizeof p->reports_source);
	if ((rc = store_prepare(s, "SELECT daily_cap, hourly_cap, min_days FROM"
	    " provider_stages WHERE provider = ?1 ORDER BY stage", &sg,
	    err)) < 0)
		return rc;
	store_bind_text(sg, 1, p->name);
	while ((src = sqlite3_step(sg)) == SQLITE_ROW &&
	    p->n_stages < LIM_PROVIDER_STAGES) {
		struct store_provider_stage *x = &p->stages[p->n_stages++];

		x->daily_cap = store_col_u64(sg, 0);
		x->hourly_cap = store_col_u64(sg, 1);
		x->min_days = store_col_u64(sg, 2);
	}
	rc = 0;
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = store_db_error(s, src, "read provider stages", err);
	sqlite3_finalize(sg);
	return rc;
}

int
store_providers_each(struct store *s,
    int (*cb)(void *ctx, const struct store_provider *p), void *ctx,
    struct err *err)
{
	static struct store_provider p;   /* ~20 KiB: not on the stack */
	sqlite3_stmt *st = NULL;
	char sql[sizeof provider_cols + 32];
	int src, rc;

	snprintf(sql, sizeof sql, "%s ORDER BY name", provider_cols);
	if ((rc = store_prepare(s, sql, &st, err)) < 0)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = load_provider(s, st, &p, err)) < 0)
			goto out;
		if ((rc = cb(ctx, &p)) != 0)
			goto out;
	}
	rc = src == SQLITE_DONE ? 0 : store_db_error(s, src, "read providers",
	    err);
out:
	sqlite3_finalize(st);
	return rc;
}

int
store_provider_get(struct store *s, const char *name,
    struct store_provider *out, struct err *err)
{
	sqlite3_stmt *st = NULL;
	char sql[sizeof provider_cols + 32];
	int src, rc;

	snprintf(sql, sizeof sql, "%s WHERE name = ?1", provider_cols);
	if ((rc = store_prepare(s, sql, &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, name);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		rc = load_provider(s, st, out, err) < 0 ? ERR_DB : 1;
	else if (src == SQLITE_DONE)
		rc = 0;
	else
		rc = store_db_error(s, src, "read provider", err);
	sqlite3_finalize(st);
	return rc;
}

/* ---- sender identity ---- */

static int
insert_text(struct store *s, const char *sql, const char *v, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_prepare(s, sql, &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, v);
	return store_step_finalize(s, st, "sync sender", err);
}

int
store_sender_sync(struct store *s, const struct sender_config *c,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_need_write_tx(s, "send-log and profile writes", err)) < 0)
		return rc;
	if ((rc = exec(s, "DELETE FROM sender_ips; DELETE FROM sender_domains;"
	    " DELETE FROM sender_targets;", "clear sender", err)) < 0)
		return rc;
	/* OR IGNORE: a value listed twice in the config is one row. */
	for (size_t i = 0; i < c->n_ips && i < LIM_SENDER_IPS; i++)
		if ((rc = insert_text(s, "INSERT OR IGNORE INTO sender_ips (ip)"
		    " VALUES (?1)", c->ips[i], err)) < 0)
			return rc;
	for (size_t i = 0; i < c->n_domains && i < LIM_SENDER_DOMAINS; i++)
		if ((rc = insert_text(s, "INSERT OR IGNORE INTO sender_domains"
		    " (domain) VALUES (?1)", c->domains[i], err)) < 0)
			return rc;
	for (size_t i = 0; i < c->n_targets && i < LIM_SENDER_TARGETS; i++) {
		if ((rc = store_prepare(s, "INSERT OR REPLACE INTO sender_targets"
		    " (provider, daily) VALUES (?1, ?2)", &st, err)) < 0)
			return rc;
		store_bind_text(st, 1, c->targets[i].provider);
		sqlite3_bind_int64(st, 2, (int64_t)c->targets[i].daily);
		if ((rc = store_step_finalize(s, st, "sync sender target", err)) < 0)
			return rc;
	}
	return 0;
}

int
store_sender_load(struct store *s, struct sender_config *c, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int src, rc;

	memset(c, 0, sizeof *c);
	if ((rc = store_prepare(s, "SELECT 0, ip, 0 FROM sender_ips UNION ALL"
	    " SELECT 1, domain, 0 FROM sender_domains UNION ALL"
	    " SELECT 2, provider, daily FROM sender_targets ORDER BY 1, 2",
	    &st, err)) < 0)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int which = sqlite3_column_int(st, 0);

		if (which == 0 && c->n_ips < LIM_SENDER_IPS) {
			store_col_text(st, 1, c->ips[c->n_ips], sizeof c->ips[0]);
			c->n_ips++;
		} else if (which == 1 && c->n_domains < LIM_SENDER_DOMAINS) {
			store_col_text(st, 1, c->domains[c->n_domains],
			    sizeof c->domains[0]);
			c->n_domains++;
		} else if (which == 2 && c->n_targets < LIM_SENDER_TARGETS) {
			struct sender_target *t = &c->targets[c->n_targets++];

			store_col_text(st, 1, t->provider, sizeof t->provider);
			t->daily = store_col_u64(st, 2);
		}
	}
	rc = src == SQLITE_DONE ? 0 : store_db_error(s, src, "read sender",
	    err);
	sqlite3_finalize(st);
	return rc;
}

/* ---- send log ---- */

static const char rollup_cols[] =
	"attempts, delivered, deferred, bounced, ok, rate, block, auth, tls,"
	" conn, other_4xx, other_5xx, rate_signal";

/* Binds a row's 13 counters from parameter index first on. */
static void
bind_counts(sqlite3_stmt *st, int first, const struct store_sendlog_row *r)
{
	int i = first;

	sqlite3_bind_int64(st, i++, (int64_t)r->attempts);
	sqlite3_bind_int64(st, i++, (int64_t)r->delivered);
	sqlite3_bind_int64(st, i++, (int64_t)r->deferred);
	sqlite3_bind_int64(st, i++, (int64_t)r->bounced);
	for (int c = 0; c < STORE_SL_CLASSES; c++)
		sqlite3_bind_int64(st, i++, (int64_t)r->cls[c]);
	sqlite3_bind_int64(st, i, (int64_t)r->rate_signal);
}

int
store_sendlog_add(struct store *s, const struct store_sendlog_row *r,
    struct err *err)
{
	static const char upd[] =
		" ON CONFLICT DO UPDATE SET attempts = attempts + ?4,"
		" delivered = delivered + ?5, deferred = deferred + ?6,"
		" bounced = bounced + ?7, ok = ok + ?8, rate = rate + ?9,"
		" block = block + ?10, auth = auth + ?11, tls = tls + ?12,"
		" conn = conn + ?13, other_4xx = other_4xx + ?14,"
		" other_5xx = other_5xx + ?15, rate_signal = rate_signal + ?16";
	static const char vals[] =
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
		" ?14, ?15, ?16)";
	char sql[1024];
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_need_write_tx(s, "send-log and profile writes", err)) < 0)
		return rc;
	if (r->hour % 3600 != 0 || r->hour < 0 || r->source_ip == NULL ||
	    r->provider == NULL)
		return err_set(err, ERR_INVAL, "send-log row: hour %lld not an "
		    "hour start, or a NULL key", (long long)r->hour);
	for (int daily = 0; daily <= 1; daily++) {
		snprintf(sql, sizeof sql, "INSERT INTO %s (%s, source_ip,"
		    " provider, %s)%s%s", daily ? "sendlog_daily" : "sendlog_hourly",
		    daily ? "day" : "hour", rollup_cols, vals, upd);
		if ((rc = store_prepare(s, sql, &st, err)) < 0)
			return rc;
		if (daily) {
			char day[16];
			time_t t = (time_t)r->hour;
			struct tm tm;

			gmtime_r(&t, &tm);
			strftime(day, sizeof day, "%Y-%m-%d", &tm);
			sqlite3_bind_text(st, 1, day, -1, SQLITE_TRANSIENT);
		} else {
			sqlite3_bind_int64(st, 1, r->hour);
		}
		store_bind_text(st, 2, r->source_ip);
		store_bind_text(st, 3, r->provider);
		bind_counts(st, 4, r);
		if ((rc = store_step_finalize(s, st, "add send-log rollup", err)) < 0)
			return rc;
	}
	return 0;
}

int
store_sendlog_source_get(struct store *s, const char *head_sha256,
    uint64_t *offset, uint64_t *lines, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int src, rc;

	if ((rc = store_prepare(s, "SELECT offset, lines FROM sendlog_sources WHERE"
	    " head_sha256 = ?1", &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, head_sha256);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*offset = store_col_u64(st, 0);
		*lines = store_col_u64(st, 1);
		rc = 1;
	} else if (src == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = store_db_error(s, src, "read send-log source", err);
	}
	sqlite3_finalize(st);
	return rc;
}

int
store_sendlog_source_set(struct store *s,
    const struct store_sendlog_source *src, int64_t now, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_need_write_tx(s, "send-log and profile writes", err)) < 0)
		return rc;
	if ((rc = store_prepare(s, "INSERT INTO sendlog_sources (head_sha256, path, dev,"
	    " inode, offset, lines, first_seen, updated) VALUES (?1, ?2, ?3,"
	    " ?4, ?5, ?6, ?7, ?7) ON CONFLICT DO UPDATE SET path = ?2,"
	    " dev = ?3, inode = ?4, offset = ?5, lines = ?6, updated = ?7",
	    &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, src->head_sha256);
	store_bind_text(st, 2, src->path);
	sqlite3_bind_int64(st, 3, src->dev);
	sqlite3_bind_int64(st, 4, src->inode);
	sqlite3_bind_int64(st, 5, (int64_t)src->offset);
	sqlite3_bind_int64(st, 6, (int64_t)src->lines);
	sqlite3_bind_int64(st, 7, now);
	return store_step_finalize(s, st, "write send-log source", err);
}

/* ---- read side ---- */

static void
read_counts(sqlite3_stmt *st, int first, uint64_t *attempts,
    uint64_t *delivered, uint64_t *deferred, uint64_t *bounced,
    uint64_t *cls, uint64_t *rate_signal)
{
	int i = first;

	*attempts = store_col_u64(st, i++);
	*delivered = store_col_u64(st, i++);
	*deferred = store_col_u64(st, i++);
	*bounced = store_col_u64(st, i++);
	for (int c = 0; c < STORE_SL_CLASSES; c++)
		cls[c] = store_col_u64(st, i++);
	*rate_signal = store_col_u64(st, i);
}

int
store_sendlog_hourly_each(struct store *s,
    const struct store_sendlog_filter *f,
    int (*cb)(void *ctx, const struct store_sendlog_row *row), void *ctx,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	char sql[1024];
	int src, rc;

	snprintf(sql, sizeof sql, "SELECT hour, date(hour, 'unixepoch'),"
	    " source_ip, provider, %s FROM sendlog_hourly"
	    " WHERE (?1 IS NULL OR source_ip = ?1)"
	    " AND (?2 IS NULL OR provider = ?2)"
	    " AND (?3 = 0 OR hour >= ?3) AND (?4 = 0 OR hour < ?4)"
	    " ORDER BY hour, source_ip, provider", rollup_cols);
	if ((rc = store_prepare(s, sql, &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, f != NULL ? f->source_ip : NULL);
	store_bind_text(st, 2, f != NULL ? f->provider : NULL);
	sqlite3_bind_int64(st, 3, f != NULL ? f->since : 0);
	sqlite3_bind_int64(st, 4, f != NULL ? f->until : 0);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_sendlog_row r;

		memset(&r, 0, sizeof r);
		r.hour = sqlite3_column_int64(st, 0);
		r.day = (const char *)sqlite3_column_text(st, 1);
		r.source_ip = (const char *)sqlite3_column_text(st, 2);
		r.provider = (const char *)sqlite3_column_text(st, 3);
		read_counts(st, 4, &r.attempts, &r.delivered, &r.deferred,
		    &r.bounced, r.cls, &r.rate_signal);
		if ((rc = cb(ctx, &r)) != 0)
			goto out;
	}
	rc = src == SQLITE_DONE ? 0 : store_db_error(s, src,
	    "read send-log rollup", err);
out:
	sqlite3_finalize(st);
	return rc;
}

int
store_correlation_each(struct store *s, const char *day_from,
    const char *day_to,
    int (*cb)(void *ctx, const struct store_correlation_row *row),
    void *ctx, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int src, rc;

	/* delivered doubles as the ok class: both count 2xx replies. */
	if ((rc = store_prepare(s, "SELECT day, source_ip, provider, attempts,"
	    " delivered, deferred, bounced, delivered, rate, block, auth, tls,"
	    " conn, other_4xx, other_5xx, rate_signal, reported, dmarc_pass,"
	    " spf_aligned_pass, dkim_aligned_pass, quarantine, reject,"
	    " ifnull(pass_pct, -1), ifnull(coverage, -1) FROM v_sendlog_dmarc"
	    " WHERE (?1 IS NULL OR day >= ?1) AND (?2 IS NULL OR day <= ?2)"
	    " ORDER BY day, source_ip, provider", &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, day_from);
	store_bind_text(st, 2, day_to);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_correlation_row r;

		memset(&r, 0, sizeof r);
		r.day = (const char *)sqlite3_column_text(st, 0);
		r.source_ip = (const char *)sqlite3_column_text(st, 1);
		r.provider = (const char *)sqlite3_column_text(st, 2);
		read_counts(st, 3, &r.attempts, &r.delivered, &r.deferred,
		    &r.bounced, r.cls, &r.rate_signal);
		r.reported = store_col_u64(st, 16);
		r.dmarc_pass = store_col_u64(st, 17);
		r.spf_aligned_pass = store_col_u64(st, 18);
		r.dkim_aligned_pass = store_col_u64(st, 19);
		r.quarantine = store_col_u64(st, 20);
		r.reject = store_col_u64(st, 21);
		r.pass_pct = sqlite3_column_double(st, 22);
		r.coverage = sqlite3_column_double(st, 23);
		if ((rc = cb(ctx, &r)) != 0)
			goto out;
	}
	rc = src == SQLITE_DONE ? 0 : store_db_error(s, src,
	    "read correlation", err);
out:
	sqlite3_finalize(st);
	return rc;
}
