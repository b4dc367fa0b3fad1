/*
 * store/query.c - the named read queries of store.h ("read queries for
 * report/"). Every query is a fixed SQL text below; parameters are bound
 * by name, so a query uses only the filter fields it mentions.
 *
 * Statements are prepared per call, not cached on the handle: each runs
 * once or a few times per `report html` / `summary`, and the writer's
 * statement cache (stmt_sql[] in store.c) stays about writing.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/timefmt.h"
#include "store_priv.h"

/* The day filter of the rollups: whole UTC days overlapping the range.
 * The primary keys of agg_daily and tlsrpt_daily start with day, so this
 * is a range scan of the key, never a full scan of records. */
#define DAYS " day BETWEEN :sd AND :ud"
#define DOM " AND (:dom IS NULL OR policy_domain = :dom)"
/* Reports by begin, as `dmarcwatch reports` filters them. */
#define RANGE " begin >= :since AND begin < :until"
#define ADOM " AND (:dom IS NULL OR a.policy_domain = :dom)"

static const char *const query_sql[SQ__COUNT] = {
	[SQ_AGG_SCAN] =
	    "SELECT day, source_ip, header_from, reporter, policy_domain,"
	    " messages, dmarc_pass, spf_aligned_pass, dkim_aligned_pass,"
	    " quarantine, reject FROM agg_daily WHERE" DAYS DOM,
	/* CROSS JOIN fixes the loop order: days outside, addresses inside,
	 * agg_daily searched by its key prefix (day, source_ip). */
	[SQ_AGG_IPS] =
	    "SELECT a.day, a.source_ip, a.header_from, a.reporter,"
	    " a.policy_domain, a.messages, a.dmarc_pass, a.spf_aligned_pass,"
	    " a.dkim_aligned_pass, a.quarantine, a.reject"
	    " FROM json_each(:days) d CROSS JOIN json_each(:ips) i"
	    " CROSS JOIN agg_daily a"
	    " WHERE a.day = d.value AND a.source_ip = i.value" ADOM,
	[SQ_IP_DAILY] =
	    "SELECT a.source_ip, a.reporter, a.day, sum(a.messages),"
	    " sum(a.dmarc_pass), sum(a.quarantine) + sum(a.reject)"
	    " FROM json_each(:days) d CROSS JOIN json_each(:ips) i"
	    " CROSS JOIN agg_daily a"
	    " WHERE a.day = d.value AND a.source_ip = i.value" ADOM
	    " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
	[SQ_TLS_DAILY] =
	    "SELECT policy_domain, day, sum(sessions_ok), sum(sessions_failed)"
	    " FROM tlsrpt_daily WHERE" DAYS DOM " AND result_type = ''"
	    " GROUP BY day, policy_domain ORDER BY policy_domain, day",
	[SQ_TLS_DETAIL] =
	    "SELECT policy_domain, receiving_mx, result_type,"
	    " sum(sessions_failed) FROM tlsrpt_daily WHERE" DAYS DOM
	    " AND result_type <> ''"
	    " GROUP BY policy_domain, receiving_mx, result_type"
	    " ORDER BY policy_domain, 4 DESC, receiving_mx, result_type"
	    " LIMIT :lim",
	/* The policies of the TLS-RPT reports that begin in the range. */
	[SQ_TLS_POLICIES] =
	    "SELECT p.policy_domain, p.policy_type, p.mx_hosts,"
	    " sum(p.total_successful), sum(p.total_failure),"
	    " count(DISTINCT p.report_id)"
	    " FROM reports r JOIN tlsrpt_policies p ON p.report_id = r.id"
	    " WHERE r.kind = 'tlsrpt' AND r.begin >= :since"
	    " AND r.begin < :until"
	    " AND (:dom IS NULL OR p.policy_domain = :dom)"
	    " GROUP BY 1, 2, 3 ORDER BY 1, 4 + 5 DESC, 2, 3 LIMIT :lim",
	[SQ_REPORT_TLS] =
	    "SELECT p.seq, p.policy_type, p.policy_domain, p.policy_strings,"
	    " p.mx_hosts, p.total_successful, p.total_failure, f.seq,"
	    " f.result_type, f.sending_mta_ip, f.receiving_mx_hostname,"
	    " f.receiving_mx_helo, f.receiving_ip, f.failed_session_count,"
	    " f.additional_information, f.failure_reason_code"
	    " FROM tlsrpt_policies p"
	    " LEFT JOIN tlsrpt_failures f ON f.policy_id = p.id"
	    " WHERE p.report_id = :rid ORDER BY p.seq, f.seq LIMIT :lim",
	[SQ_FAILURES] =
	    "SELECT r.id, f.arrival_time, f.source_ip, f.reported_domain,"
	    " f.feedback_type, f.auth_failure, f.delivery_result,"
	    " f.original_mail_from, f.original_rcpt_to, f.dkim_domain,"
	    " f.dkim_selector, f.spf_dns, f.orig_from, f.orig_to,"
	    " f.orig_subject, f.orig_message_id, f.user_agent,"
	    " f.authentication_results, f.identity_alignment, f.reported_uri,"
	    " f.other_fields, f.arrival_date, r.report_id"
	    " FROM failure_reports f JOIN reports r ON r.id = f.report_id"
	    " WHERE r.begin >= :since AND r.begin < :until"
	    " AND (:dom IS NULL OR r.policy_domain = :dom)"
	    " AND (:rid = 0 OR r.id = :rid)"
	    " ORDER BY r.begin DESC, r.id DESC LIMIT :lim",
	[SQ_REJECTED] =
	    "SELECT id, at, origin, error_code, error_where, error_msg, sha256"
	    " FROM rejected WHERE at >= :since AND at < :until"
	    " ORDER BY at DESC, id DESC LIMIT :lim",
	[SQ_RANGE_COUNTS] =
	    "SELECT"
	    " (SELECT count(*) FROM reports WHERE kind = 'aggregate' AND"
	    RANGE DOM "),"
	    " (SELECT count(*) FROM reports WHERE kind = 'tlsrpt' AND"
	    RANGE DOM "),"
	    " (SELECT count(*) FROM reports WHERE kind = 'failure' AND"
	    RANGE DOM "),"
	    " (SELECT count(*) FROM rejected WHERE at >= :since"
	    " AND at < :until)",
	[SQ_REPORTS_LATEST] =
	    "SELECT id, kind, org_name, email, report_id, policy_domain,"
	    " begin, end, records, messages, messages_pass, warnings, flavour,"
	    " p, sp, np, adkim, aspf, pct, extra_contact_info, generator,"
	    " rows_skipped, testing FROM reports WHERE" RANGE DOM
	    " AND (:kind IS NULL OR kind = :kind)"
	    " ORDER BY begin DESC, id DESC LIMIT :lim",
	[SQ_REPORT_RECORDS] =
	    "SELECT id, seq, source_ip, count, disposition, dkim_aligned,"
	    " spf_aligned, dmarc_pass, header_from, envelope_from, envelope_to"
	    " FROM records WHERE report_id = :rid ORDER BY seq LIMIT :lim",
	/* The records of a report have consecutive ids in seq order
	 * (doc/schema.md, records.id): the first :lim records are the ids
	 * from the report's smallest on, one index probe away. */
	[SQ_REPORT_AUTH] =
	    "WITH r(lo) AS (SELECT min(id) FROM records WHERE report_id = :rid)"
	    " SELECT record_id, 'dkim', seq, domain, selector, result,"
	    " human_result FROM record_dkim, r"
	    " WHERE record_id BETWEEN r.lo AND r.lo + :lim - 1"
	    " UNION ALL SELECT record_id, 'spf', seq, domain, scope, result,"
	    " human_result FROM record_spf, r"
	    " WHERE record_id BETWEEN r.lo AND r.lo + :lim - 1"
	    " UNION ALL SELECT record_id, 'reason', seq, type, NULL, NULL,"
	    " comment FROM record_reasons, r"
	    " WHERE record_id BETWEEN r.lo AND r.lo + :lim - 1"
	    " ORDER BY 1, 2, 3",
	[SQ_REPORT_NOTES] =
	    "SELECT 'warning', code, count, detail FROM report_warnings"
	    " WHERE report_id = :rid"
	    " UNION ALL SELECT 'error', error, NULL, NULL FROM report_errors"
	    " WHERE report_id = :rid",
	[SQ_ENGINE_PRESENCE] =
	    "SELECT EXISTS (SELECT 1 FROM sendlog_daily),"
	    " EXISTS (SELECT 1 FROM engine_state),"
	    " (SELECT count(*) FROM hints_runs),"
	    " (SELECT max(run_at) FROM hints_runs),"
	    " (SELECT count(*) FROM throttle_hints)",
	[SQ_WARMUP_KEYS] =
	    "WITH k(ip, prov) AS (SELECT source_ip, provider FROM engine_state"
	    " UNION SELECT source_ip, provider FROM throttle_hints"
	    " UNION SELECT source_ip, provider FROM sendlog_daily"
	    " WHERE" DAYS " AND provider <> '')"
	    " SELECT k.ip, k.prov, s.phase, s.stage, s.cap_day, s.last_gate,"
	    " h.action, h.max_per_day, h.max_per_hour, h.max_connections,"
	    " h.valid_from, h.valid_until, h.on_expiry, h.reason,"
	    " h.reason_text, h.evidence,"
	    " CAST(round(h.confidence * 1000) AS INTEGER)"
	    " FROM json_each(:ips) i CROSS JOIN k"
	    " LEFT JOIN engine_state s ON s.source_ip = k.ip"
	    " AND s.provider = k.prov"
	    " LEFT JOIN throttle_hints h ON h.source_ip = k.ip"
	    " AND h.provider = k.prov"
	    " WHERE k.ip = i.value ORDER BY k.ip, k.prov",
	[SQ_WARMUP_DAYS] =
	    "SELECT source_ip, provider, day, sum(sent), sum(delivered),"
	    " max(cap), max(gate), max(why), max(action), max(new_cap)"
	    " FROM (SELECT source_ip, provider, day, attempts AS sent,"
	    " delivered, NULL AS cap, NULL AS gate, NULL AS why,"
	    " NULL AS action, NULL AS new_cap FROM sendlog_daily"
	    " WHERE" DAYS " AND provider <> ''"
	    " AND source_ip IN (SELECT value FROM json_each(:ips))"
	    " UNION ALL SELECT source_ip, provider, day, 0, 0, cap_day, gate,"
	    " coalesce(reason_text, reason), action, new_cap_day"
	    " FROM engine_days WHERE" DAYS
	    " AND source_ip IN (SELECT value FROM json_each(:ips)))"
	    " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
	[SQ_PROVIDER_STAGES] =
	    "SELECT provider, stage, daily_cap, hourly_cap, min_days"
	    " FROM provider_stages ORDER BY provider, stage",
	[SQ_HINT_ACTIONS] =
	    "SELECT action, count(*) FROM throttle_hints GROUP BY action"
	    " ORDER BY action",
	/* Scalar subqueries, one min() or max() each: SQLite answers each
	 * from the first key column (day, begin) without a scan. */
	[SQ_DATA_SPAN] =
	    "SELECT min(lo), max(hi), max(top) FROM ("
	    " SELECT (SELECT min(day) FROM agg_daily) AS lo,"
	    " (SELECT max(day) FROM agg_daily WHERE day <= :ud) AS hi,"
	    " (SELECT max(day) FROM agg_daily) AS top"
	    " UNION ALL SELECT (SELECT min(day) FROM tlsrpt_daily),"
	    " (SELECT max(day) FROM tlsrpt_daily WHERE day <= :ud),"
	    " (SELECT max(day) FROM tlsrpt_daily)"
	    " UNION ALL SELECT (SELECT min(day) FROM sendlog_daily),"
	    " (SELECT max(day) FROM sendlog_daily WHERE day <= :ud),"
	    " (SELECT max(day) FROM sendlog_daily)"
	    " UNION ALL SELECT (SELECT min(day) FROM engine_days),"
	    " (SELECT max(day) FROM engine_days WHERE day <= :ud),"
	    " (SELECT max(day) FROM engine_days)"
	    " UNION ALL SELECT date((SELECT min(begin) FROM reports),"
	    " 'unixepoch'), date((SELECT max(begin) FROM reports"
	    " WHERE begin < :until), 'unixepoch'),"
	    " date((SELECT max(begin) FROM reports), 'unixepoch'))",
	[SQ_PTR_NAMES] =
	    "SELECT p.ip, p.status, p.name, p.confirmed, p.looked_up"
	    " FROM json_each(:ips) i CROSS JOIN ptr_cache p"
	    " WHERE p.ip = i.value",
};

/* Binds v to the named parameter when the statement has it. */
static int
bind_int(sqlite3_stmt *st, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	return i == 0 ? SQLITE_OK : sqlite3_bind_int64(st, i, v);
}

static int
bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i == 0)
		return SQLITE_OK;
	if (v == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

int
store_query_each(struct store *s, enum store_query q,
    const struct store_query_filter *f,
    int (*cb)(void *ctx, const struct store_row *row), void *ctx,
    struct err *err)
{
	static const struct store_query_filter none;
	struct store_row *row = NULL;
	sqlite3_stmt *st = NULL;
	char *ips = NULL, *days = NULL;
	char sd[16], ud[16];
	int64_t until;
	int rc, src, nomem = 0;

	if (s == NULL || cb == NULL || (int)q < 0 || q >= SQ__COUNT)
		return err_set(err, ERR_INVAL, "store_query_each: bad call");
	if (f == NULL)
		f = &none;
	until = f->until > 0 ? f->until : INT64_MAX;
	/* Days as text compare like dates: "YYYY-MM-DD". */
	if (f->since > 0)
		time_iso_day(f->since, sd, sizeof sd);
	else
		memcpy(sd, "0000-00-00", 11);
	if (f->until > 0)
		time_iso_day(f->until - 1, ud, sizeof ud);
	else
		memcpy(ud, "9999-99-99", 11);
	if ((row = calloc(1, sizeof *row)) == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	src = sqlite3_prepare_v2(s->db, query_sql[q], -1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = store_db_error(s, src, "prepare a read query", err);
		goto out;
	}
	/* The lists as JSON, for the queries that take them only. */
	if (f->n_ips > 0 && sqlite3_bind_parameter_index(st, ":ips") != 0 &&
	    (ips = store_json_strings(f->ips, f->n_ips, &nomem)) == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (f->n_days > 0 && sqlite3_bind_parameter_index(st, ":days") != 0 &&
	    (days = store_json_strings(f->days, f->n_days, &nomem)) == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	src = SQLITE_OK;
	if (src == SQLITE_OK) src = bind_text(st, ":sd", sd);
	if (src == SQLITE_OK) src = bind_text(st, ":ud", ud);
	if (src == SQLITE_OK) src = bind_text(st, ":dom", f->domain);
	if (src == SQLITE_OK) src = bind_text(st, ":kind", f->kind);
	if (src == SQLITE_OK) src = bind_int(st, ":since", f->since);
	if (src == SQLITE_OK) src = bind_int(st, ":until", until);
	/* LIMIT -1 is SQLite's "no limit". */
	if (src == SQLITE_OK)
		src = bind_int(st, ":lim", f->limit > 0 ? f->limit : -1);
	if (src == SQLITE_OK) src = bind_int(st, ":rid", f->report_id);
	/* No addresses given: an empty list, so the query returns nothing
	 * rather than everything. */
	if (src == SQLITE_OK) src = bind_text(st, ":ips", ips ? ips : "[]");
	if (src == SQLITE_OK)
		src = bind_text(st, ":days", days ? days : "[]");
	if (src != SQLITE_OK) {
		rc = store_db_error(s, src, "bind a read query", err);
		goto out;
	}
	row->ncol = sqlite3_column_count(st);
	if (row->ncol > STORE_QUERY_MAX_COLS) {
		rc = err_set(err, ERR_INVAL, "read query has too many columns");
		goto out;
	}
	rc = 0;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < row->ncol; i++) {
			int t = sqlite3_column_type(st, i);

			row->null[i] = t == SQLITE_NULL;
			row->num[i] = t == SQLITE_INTEGER || t == SQLITE_FLOAT ?
			    sqlite3_column_int64(st, i) : 0;
			row->text[i] = t == SQLITE_TEXT || t == SQLITE_BLOB ?
			    (const char *)sqlite3_column_text(st, i) : NULL;
		}
		if ((rc = cb(ctx, row)) != 0)
			break;
	}
	if (rc == 0 && src != SQLITE_DONE)
		rc = store_db_error(s, src, "run a read query", err);
out:
	sqlite3_finalize(st);
	free(ips);
	free(days);
	free(row);
	return rc;
}

int
store_message_reports(struct store *s, int64_t message_id, uint64_t *n,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, src;

	*n = 0;
	if ((rc = store_prepare(s, "SELECT count(*) FROM reports"
	    " WHERE message_id = ?1", &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, message_id);
	if ((src = sqlite3_step(st)) == SQLITE_ROW)
		*n = store_col_u64(st, 0);
	else
		rc = store_db_error(s, src, "count a message's reports", err);
	sqlite3_finalize(st);
	return rc;
}
