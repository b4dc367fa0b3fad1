/*
 * store/replace.c - a well-formed copy of an aggregate report replaces the
 * copy stored from XML recover mode (doc/schema.md "Identity and
 * exactly-once").
 *
 * Why: a recovered document is the reporter's text as libxml2 guessed it
 * (bytes replaced by U+FFFD, an element's text lost to a stray '<'); the
 * parser refuses one that lost records, but fields can still be damaged.
 * When the same report (same dedup key) later arrives well-formed, it is
 * the better copy. The rule is one way and settles at once: only a
 * non-recovered copy replaces, only a recovered one is replaced, so the
 * stored row never flips back and forth between copies.
 *
 * Replacing takes back what the old report added to agg_daily (the same
 * per-day shares as the rollup in agg.c / store.c ST_ROLLUP: for each
 * record of count c and day d, floor(c*hi/span) - floor(c*lo/span), which
 * is c itself for a one-day report, as the in-memory rollup writes it),
 * drops rollup rows left at zero, then deletes the report (its records,
 * auth results, warnings and raw values go with it through the delete
 * triggers). The caller then inserts the new copy; all of it runs inside
 * the payload's savepoint, so a failure later in the new copy restores
 * the old one. Rare (a malformed report, then a good resend): one-shot
 * statements.
 */
#include <stdint.h>
#include <string.h>

#include "store_priv.h"

#define DAY_SECONDS 86400

/* Mirrors ST_ROLLUP (store.c) with a minus: ?1 report id, ?2 UTC midnight
 * of the first day, ?3 / ?4 the effective range [b, e), ?5 = e - b,
 * ?6 reporter (the report's org_name), ?7 policy domain. */
static const char undo_rollup_sql[] =
	"WITH RECURSIVE d(ds) AS (SELECT ?2 UNION ALL"
	" SELECT ds + 86400 FROM d WHERE ds + 86400 < ?4),"
	" days(day, lo, hi) AS MATERIALIZED (SELECT date(ds, 'unixepoch'),"
	" max(?3, ds) - ?3, min(?4, ds + 86400) - ?3 FROM d),"
	" shares(day, source_ip, hf, dmarc_pass, dkim_aligned, spf_aligned,"
	" disposition, n) AS (SELECT days.day, c.source_ip,"
	" ifnull(c.header_from, ''), c.dmarc_pass, c.dkim_aligned,"
	" c.spf_aligned, c.disposition,"
	" (c.count * days.hi) / ?5 - (c.count * days.lo) / ?5"
	" FROM records c CROSS JOIN days WHERE c.report_id = ?1),"
	" sums(day, source_ip, hf, m, p, spf, dkim, q, r) AS (SELECT day,"
	" source_ip, hf, sum(n),"
	" sum(CASE WHEN dmarc_pass THEN n ELSE 0 END),"
	" sum(CASE WHEN spf_aligned = 'pass' THEN n ELSE 0 END),"
	" sum(CASE WHEN dkim_aligned = 'pass' THEN n ELSE 0 END),"
	" sum(CASE WHEN disposition = 'quarantine' THEN n ELSE 0 END),"
	" sum(CASE WHEN disposition = 'reject' THEN n ELSE 0 END)"
	" FROM shares GROUP BY day, source_ip, hf HAVING sum(n) > 0)"
	" UPDATE agg_daily SET messages = messages - s.m,"
	" dmarc_pass = dmarc_pass - s.p,"
	" spf_aligned_pass = spf_aligned_pass - s.spf,"
	" dkim_aligned_pass = dkim_aligned_pass - s.dkim,"
	" quarantine = quarantine - s.q, reject = reject - s.r"
	" FROM sums AS s WHERE agg_daily.day = s.day"
	" AND agg_daily.source_ip = s.source_ip"
	" AND agg_daily.header_from = s.hf AND agg_daily.reporter = ?6"
	" AND agg_daily.policy_domain = ?7";

/* Rows the undo left at zero: nothing else contributed to them. */
static const char drop_empty_sql[] =
	"DELETE FROM agg_daily WHERE reporter = ?1 AND policy_domain = ?2"
	" AND day BETWEEN date(?3, 'unixepoch') AND date(?4, 'unixepoch')"
	" AND messages = 0";

int
store_replace_recovered(struct store *s, int64_t id, struct err *err)
{
	sqlite3_stmt *st = NULL;
	char org[1024], dom[1024];
	int64_t begin, end, b, e;
	int rc, src, recovered;

	if ((rc = store_prepare(s, "SELECT recovered, begin, end,"
	    " ifnull(org_name, ''), ifnull(policy_domain, ''), kind"
	    " FROM reports WHERE id = ?1", &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	src = sqlite3_step(st);
	if (src != SQLITE_ROW) {
		rc = src == SQLITE_DONE ? err_set(err, ERR_DB, "report %lld "
		    "vanished", (long long)id) : store_db_error(s, src,
		    "read stored report", err);
		sqlite3_finalize(st);
		return rc;
	}
	recovered = sqlite3_column_int(st, 0) != 0 &&
	    sqlite3_column_text(st, 5) != NULL &&
	    strcmp((const char *)sqlite3_column_text(st, 5), "aggregate") == 0;
	begin = sqlite3_column_int64(st, 1);
	end = sqlite3_column_int64(st, 2);
	store_col_text(st, 3, org, sizeof org);
	store_col_text(st, 4, dom, sizeof dom);
	sqlite3_finalize(st);
	if (!recovered)
		return 0;
	/* the same range rule as the rollup; none was written otherwise */
	if (store_rollup_range(begin, end, &b, &e) == 0) {
		if ((rc = store_prepare(s, undo_rollup_sql, &st, err)) < 0)
			return rc;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, b - b % DAY_SECONDS);
		sqlite3_bind_int64(st, 3, b);
		sqlite3_bind_int64(st, 4, e);
		sqlite3_bind_int64(st, 5, e - b);
		store_bind_text(st, 6, org);
		store_bind_text(st, 7, dom);
		if ((rc = store_step_finalize(s, st, "take back the daily "
		    "rollup of a recovered report", err)) < 0)
			return rc;
		if ((rc = store_prepare(s, drop_empty_sql, &st, err)) < 0)
			return rc;
		store_bind_text(st, 1, org);
		store_bind_text(st, 2, dom);
		sqlite3_bind_int64(st, 3, b);
		sqlite3_bind_int64(st, 4, e - 1);
		if ((rc = store_step_finalize(s, st, "drop empty rollup rows",
		    err)) < 0)
			return rc;
	}
	if ((rc = store_prepare(s, "DELETE FROM reports WHERE id = ?1", &st,
	    err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_step_finalize(s, st, "delete the recovered report",
	    err)) < 0)
		return rc;
	return 1;
}
