/*
 * store/ptr.c - the reverse DNS cache (ptr_cache, doc/schema.md), filled
 * by `dmarcwatch resolve` (ingest/resolve.c) and read by the sources
 * page (SQ_PTR_NAMES). The store does no lookups itself.
 */
#include <stdint.h>
#include <string.h>

#include "../common/timefmt.h"
#include "store_priv.h"

int
store_ptr_candidates(struct store *s, int64_t since, int64_t stale_before,
    int64_t retry_before, size_t max,
    int (*cb)(void *ctx, const char *ip), void *ctx, struct err *err)
{
	/* The sources the pages show, busiest first: those never looked
	 * up, those whose answer is old, and failed ones after a while. */
	static const char sql[] =
	    "SELECT a.source_ip FROM agg_daily a"
	    " LEFT JOIN ptr_cache p ON p.ip = a.source_ip"
	    " WHERE a.day >= ?1 AND (p.ip IS NULL OR p.looked_up <"
	    "  CASE p.status WHEN 'error' THEN ?3 ELSE ?2 END)"
	    " GROUP BY a.source_ip ORDER BY sum(a.messages) DESC, a.source_ip"
	    " LIMIT ?4";
	sqlite3_stmt *st = NULL;
	char day[16];
	int rc = 0, src;

	if (s == NULL || cb == NULL)
		return err_set(err, ERR_INVAL, "store_ptr_candidates: bad call");
	if (since > 0)
		time_iso_day(since, day, sizeof day);
	else
		memcpy(day, "0000-00-00", 11);
	if ((rc = store_prepare(s, sql, &st, err)) != 0)
		return rc;
	sqlite3_bind_text(st, 1, day, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, stale_before);
	sqlite3_bind_int64(st, 3, retry_before);
	sqlite3_bind_int64(st, 4, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *ip = (const char *)sqlite3_column_text(st, 0);

		if (ip != NULL && (rc = cb(ctx, ip)) != 0)
			break;
	}
	if (rc == 0 && src != SQLITE_DONE)
		rc = store_db_error(s, src, "read PTR candidates", err);
	sqlite3_finalize(st);
	return rc;
}

static const char *const status_name[] = {
	[STORE_PTR_OK] = "ok",
	[STORE_PTR_NONE] = "none",
	[STORE_PTR_ERROR] = "error",
};

int
store_ptr_put(struct store *s, const struct store_ptr *v, size_t n,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (s == NULL || (n > 0 && v == NULL))
		return err_set(err, ERR_INVAL, "store_ptr_put: bad call");
	if ((rc = store_tx_begin(s, err)) != 0)
		return rc;
	if ((rc = store_prepare(s, "INSERT INTO ptr_cache (ip, status, name,"
	    " confirmed, looked_up) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (ip) DO UPDATE SET status = excluded.status,"
	    " name = excluded.name, confirmed = excluded.confirmed,"
	    " looked_up = excluded.looked_up", &st, err)) != 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		int src;

		if ((unsigned)v[i].status > STORE_PTR_ERROR ||
		    v[i].ip == NULL) {
			rc = err_set(err, ERR_INVAL, "store_ptr_put: bad row");
			goto fail;
		}
		sqlite3_bind_text(st, 1, v[i].ip, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, status_name[v[i].status], -1,
		    SQLITE_STATIC);
		store_bind_text(st, 3, v[i].status == STORE_PTR_OK ?
		    v[i].name : NULL);
		sqlite3_bind_int(st, 4, v[i].status == STORE_PTR_OK &&
		    v[i].confirmed);
		sqlite3_bind_int64(st, 5, v[i].at);
		src = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (src != SQLITE_DONE) {
			rc = store_db_error(s, src, "store a PTR name", err);
			goto fail;
		}
	}
	sqlite3_finalize(st);
	return store_tx_commit(s, err);
fail:
	sqlite3_finalize(st);
	store_tx_rollback(s);
	return rc;
}
