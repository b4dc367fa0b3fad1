/*
 * store/store.c - opening the database, statements, transactions, messages,
 * rejected inputs and the read side. Report writing is in agg.c, the
 * schema and its migrations in schema.c. See store.h for the contract and
 * doc/schema.md for the tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_priv.h"

/*
 * How long a writer waits for another writer's lock before giving up with
 * ERR_BUSY. In WAL mode readers never block writers; only another import
 * or the watch daemon can hold the write lock. Their transactions last one
 * message: milliseconds, or a few seconds for a million-record report plus
 * the checkpoint after it. 10 s outlasts that with room and still fails
 * fast enough for a person at a terminal to see why.
 */
#define STORE_BUSY_TIMEOUT_MS 10000

/*
 * Page cache per connection, in KiB (negative cache_size = KiB). Inserts
 * append: the pages a big import keeps touching are the right edges of a
 * handful of b-trees (records, its index, the auth tables, raw values),
 * a few dozen pages. 2 MiB holds those with room; 8 MiB bought no
 * measurable speed on a 1M-record import (dirty pages spill to the WAL
 * either way) and cost 14 MiB of RSS. Readers use the same size: their
 * queries are scans or index lookups.
 */
#define STORE_CACHE_KIB 2048

/*
 * WAL file size kept after a checkpoint. One big report grows the WAL to
 * hundreds of MiB for the length of its transaction; without a limit that
 * space stays allocated for good.
 */
#define STORE_WAL_KEEP_BYTES (64 * 1024 * 1024)

/* The three ways rows get into agg_daily share its column list and the
 * upsert that adds a report's counts to what the day already has. */
#define AGG_DAILY_INSERT "INSERT OR FAIL INTO agg_daily (day, source_ip," \
	" header_from, reporter, policy_domain, messages, dmarc_pass," \
	" spf_aligned_pass, dkim_aligned_pass, quarantine, reject)"
#define AGG_DAILY_UPSERT \
	" ON CONFLICT (day, source_ip, header_from, reporter, policy_domain)" \
	" DO UPDATE SET messages = messages + excluded.messages," \
	" dmarc_pass = dmarc_pass + excluded.dmarc_pass," \
	" spf_aligned_pass = spf_aligned_pass + excluded.spf_aligned_pass," \
	" dkim_aligned_pass = dkim_aligned_pass" \
	" + excluded.dkim_aligned_pass," \
	" quarantine = quarantine + excluded.quarantine," \
	" reject = reject + excluded.reject"

/*
 * Multi-row inserts: one statement runs the VDBE program, opens the
 * cursors and seeks the b-tree edge once for STORE_MULTI_ROWS rows
 * instead of once per row (a third fewer instructions per record than one
 * row per statement). Parameters are anonymous: row j, column c is
 * parameter j * columns + c + 1.
 */
#define ROWS2(r) r "," r
#define ROWS4(r) ROWS2(r) "," ROWS2(r)
#define ROWS8(r) ROWS4(r) "," ROWS4(r)
#define ROWS16(r) ROWS8(r) "," ROWS8(r)
#define ROWS32(r) ROWS16(r) "," ROWS16(r)
#define ROWS_N(r) ROWS32(r)
_Static_assert(STORE_MULTI_ROWS == 32, "ROWS_N must repeat a row "
    "STORE_MULTI_ROWS times");

#define RECORD_INSERT "INSERT OR FAIL INTO records (id, report_id, seq," \
	" source_ip, source_ip_bin, ip_family, count, disposition," \
	" dkim_aligned, spf_aligned, dmarc_pass, header_from," \
	" envelope_from, envelope_to, extensions_xml) VALUES "
#define RECORD_ROW "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
#define DKIM_INSERT "INSERT OR FAIL INTO record_dkim (record_id, seq, domain," \
	" selector, result, human_result) VALUES "
#define SPF_INSERT "INSERT OR FAIL INTO record_spf (record_id, seq, domain," \
	" scope, result, human_result) VALUES "
#define AUTH_ROW "(?,?,?,?,?,?)"
#define AGG_ROW "(?,?,?,?,?,?,?,?,?,?,?)"

static const char *const stmt_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT payload",
	[ST_RELEASE] = "RELEASE payload",
	[ST_ROLLBACK_TO] = "ROLLBACK TO payload",
	[ST_MSG_FIND] = "SELECT id, outcome FROM messages WHERE sha256 = ?1",
	[ST_MSG_ADD] = "INSERT INTO messages (sha256, size, kind, origin,"
	    " received) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_MSG_OUTCOME] = "UPDATE messages SET outcome = ?2 WHERE id = ?1",
	[ST_MSG_SHA] = "UPDATE messages SET sha256 = ?2 WHERE id = ?1",
	[ST_REJECTED_SHA] = "UPDATE rejected SET sha256 = ?2"
	    " WHERE message_id = ?1",
	[ST_MSG_ORIGIN] = "INSERT INTO message_origins (message_id, origin,"
	    " seen) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
	[ST_REPORT_ADD] = "INSERT INTO reports (message_id, kind, flavour,"
	    " xml_namespace, version, org_name, email, extra_contact_info,"
	    " report_id, generator, begin, end, policy_domain, adkim, aspf,"
	    " p, sp, np, pct, fo, testing, discovery_method, extensions_xml,"
	    " recovered, reporter_key, imported_at) VALUES (?1, ?2, ?3, ?4,"
	    " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
	    " ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26) ON CONFLICT DO NOTHING",
	/* Same expressions as the reports_key index, so it is used. */
	/* A failure report is known by its digest alone: begin/end come from
	 * the outer Date when Arrival-Date is missing, and a forwarded copy
	 * has another Date (doc/schema.md). */
	[ST_FAILURE_FIND] = "SELECT id FROM reports WHERE kind = 'failure'"
	    " AND reporter_key = ?1 LIMIT 1",
	[ST_REPORT_FIND] = "SELECT id FROM reports WHERE kind = ?1"
	    " AND reporter_key = ?2 AND ifnull(report_id, '') = ?3"
	    " AND begin = ?4 AND end = ?5 AND ifnull(policy_domain, '') = ?6",
	[ST_REPORT_ERROR] = "INSERT INTO report_errors (report_id, seq, error)"
	    " VALUES (?1, ?2, ?3)",
	[ST_REPORT_WARNING] = "INSERT INTO report_warnings (report_id, code,"
	    " count, detail) VALUES (?1, ?2, ?3, ?4) ON CONFLICT"
	    " (report_id, code) DO UPDATE SET count = count + excluded.count",
	[ST_REPORT_WARN_BUMP] = "UPDATE reports SET warnings = warnings + ?2"
	    " WHERE id = ?1",
	[ST_REPORT_TOTALS] = "UPDATE reports SET records = ?2, messages = ?3,"
	    " messages_pass = ?4, rows_skipped = ?5, warnings = ?6,"
	    " recovered = ?7 WHERE id = ?1",
	[ST_RAW] = "INSERT INTO raw_values (report_id, seq, record_id, field,"
	    " raw) VALUES (?1, ?5, ?2, ?3, ?4)",
	/* Records and their DKIM / SPF rows go in STORE_MULTI_ROWS rows per
	 * statement (agg.c); the one-row forms take what is left of a batch.
	 * The record id is the writer's own (agg.c next_record_id), so the
	 * child rows of a whole batch can be bound before anything runs. */
	[ST_RECORD] = RECORD_INSERT RECORD_ROW,
	[ST_RECORD_N] = RECORD_INSERT ROWS_N(RECORD_ROW),
	[ST_RECORD_MAX_ID] = "SELECT ifnull(max(id), 0) FROM records",
	[ST_DKIM] = DKIM_INSERT AUTH_ROW,
	[ST_DKIM_N] = DKIM_INSERT ROWS_N(AUTH_ROW),
	[ST_SPF] = SPF_INSERT AUTH_ROW,
	[ST_SPF_N] = SPF_INSERT ROWS_N(AUTH_ROW),
	[ST_REASON] = "INSERT INTO record_reasons (record_id, seq, type,"
	    " comment) VALUES (?1, ?2, ?3, ?4)",
	/*
	 * The daily rollup of one report (doc/schema.md "Days"). ?1..?2:
	 * the report's record id range (ids of one report are contiguous:
	 * one connection inserts them in one go; ?9, the report id, guards
	 * that anyway). The records are walked once by rowid range (CROSS
	 * JOIN fixes the loop order, the unary + keeps the planner off the
	 * report_id index) with the few days inner. ?3: UTC midnight of the
	 * first day; ?4, ?5: the effective range [b, e) computed in agg.c;
	 * ?6 = e - b > 0; ?7 reporter; ?8 policy domain. For each day d the
	 * cumulative overlap before it is lo and after it hi, and a record
	 * of count c gets floor(c*hi/span) - floor(c*lo/span): the shares
	 * telescope to exactly c. c <= LIM_RECORD_COUNT and span <=
	 * LIM_REPORT_SPAN_SECONDS keep c*hi inside 64 bits.
	 */
	[ST_ROLLUP] = "WITH RECURSIVE d(ds) AS (SELECT ?3 UNION ALL"
	    " SELECT ds + 86400 FROM d WHERE ds + 86400 < ?5),"
	    " days(day, lo, hi) AS MATERIALIZED (SELECT date(ds, 'unixepoch'),"
	    " max(?4, ds) - ?4, min(?5, ds + 86400) - ?4 FROM d),"
	    " shares(day, source_ip, hf, dmarc_pass, dkim_aligned, spf_aligned,"
	    " disposition, n) AS (SELECT days.day, c.source_ip,"
	    " ifnull(c.header_from, ''), c.dmarc_pass, c.dkim_aligned,"
	    " c.spf_aligned, c.disposition,"
	    " (c.count * days.hi) / ?6 - (c.count * days.lo) / ?6"
	    " FROM records c CROSS JOIN days WHERE c.id BETWEEN ?1 AND ?2"
	    " AND +c.report_id = ?9)"
	    " " AGG_DAILY_INSERT
	    " SELECT day, source_ip, hf, ?7, ?8, sum(n),"
	    " sum(CASE WHEN dmarc_pass THEN n ELSE 0 END),"
	    " sum(CASE WHEN spf_aligned = 'pass' THEN n ELSE 0 END),"
	    " sum(CASE WHEN dkim_aligned = 'pass' THEN n ELSE 0 END),"
	    " sum(CASE WHEN disposition = 'quarantine' THEN n ELSE 0 END),"
	    " sum(CASE WHEN disposition = 'reject' THEN n ELSE 0 END)"
	    " FROM shares WHERE true GROUP BY day, source_ip, hf"
	    " HAVING sum(n) > 0"
	    AGG_DAILY_UPSERT,
	/*
	 * The rollup of a one-day report whose senders overflowed the
	 * in-memory table (agg.c): every record's whole count goes to the
	 * one day ?3, so no day arithmetic and a narrower sort than
	 * ST_ROLLUP. ?1..?2, ?6: record id range and report id as there;
	 * ?4 reporter, ?5 policy domain.
	 */
	[ST_ROLLUP_1DAY] = AGG_DAILY_INSERT
	    " SELECT ?3, source_ip, ifnull(header_from, '') AS hf, ?4, ?5,"
	    " sum(count), sum(CASE WHEN dmarc_pass THEN count ELSE 0 END),"
	    " sum(CASE WHEN spf_aligned = 'pass' THEN count ELSE 0 END),"
	    " sum(CASE WHEN dkim_aligned = 'pass' THEN count ELSE 0 END),"
	    " sum(CASE WHEN disposition = 'quarantine' THEN count ELSE 0 END),"
	    " sum(CASE WHEN disposition = 'reject' THEN count ELSE 0 END)"
	    " FROM records WHERE id BETWEEN ?1 AND ?2 AND +report_id = ?6"
	    " GROUP BY source_ip, hf HAVING sum(count) > 0"
	    AGG_DAILY_UPSERT,
	/*
	 * Pre-summed rollup rows (agg.c, one-day reports), in key order.
	 * A multi-row upsert would need a statement journal (its DO UPDATE
	 * may abort half-way), which writes every b-tree page it touches
	 * once more to a temporary file: 1.5 KiB per row. So a run of
	 * STORE_MULTI_ROWS rows whose keys the day does not hold yet (the
	 * probe: any row of the same reporter and policy domain in the
	 * run's key range) is a plain multi-row insert; otherwise each row
	 * is its own upsert.
	 */
	[ST_ROLLUP_ROW] = AGG_DAILY_INSERT " VALUES " AGG_ROW AGG_DAILY_UPSERT,
	[ST_ROLLUP_ROW_N] = AGG_DAILY_INSERT " VALUES " ROWS_N(AGG_ROW),
	[ST_ROLLUP_PROBE] = "SELECT 1 FROM agg_daily WHERE day = ?1"
	    " AND (source_ip, header_from) >= (?2, ?3)"
	    " AND (source_ip, header_from) <= (?4, ?5)"
	    " AND reporter = ?6 AND policy_domain = ?7 LIMIT 1",
	/* TLS-RPT dedup (tlsrpt.c): the policy domain is not known at
	 * begin, and RFC 8460 makes report-id unique per reporter, so the
	 * key prefix decides. Same expressions as reports_key. */
	[ST_REPORT_FIND_ANY_DOMAIN] = "SELECT id FROM reports WHERE kind = ?1"
	    " AND reporter_key = ?2 AND ifnull(report_id, '') = ?3"
	    " AND begin = ?4 AND end = ?5 ORDER BY id LIMIT 1",
	[ST_REPORT_SET_DOMAIN] = "UPDATE reports SET policy_domain = ?2"
	    " WHERE id = ?1",
	[ST_TLS_POLICY] = "INSERT INTO tlsrpt_policies (report_id, seq,"
	    " policy_type, policy_domain, policy_strings, mx_hosts,"
	    " total_successful, total_failure) VALUES (?1, ?2, ?3, ?4, ?5,"
	    " ?6, ?7, ?8)",
	[ST_TLS_FAILURE] = "INSERT INTO tlsrpt_failures (policy_id, seq,"
	    " result_type, sending_mta_ip, receiving_mx_hostname,"
	    " receiving_mx_helo, receiving_ip, failed_session_count,"
	    " additional_information, failure_reason_code) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_TLS_DAILY] = "INSERT INTO tlsrpt_daily (day, policy_domain,"
	    " receiving_mx, result_type, sessions_ok, sessions_failed)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
	    " ON CONFLICT (day, policy_domain, receiving_mx, result_type)"
	    " DO UPDATE SET sessions_ok = sessions_ok + excluded.sessions_ok,"
	    " sessions_failed = sessions_failed + excluded.sessions_failed",
	[ST_FAILURE_REPORT] = "INSERT INTO failure_reports (report_id,"
	    " feedback_type, user_agent, version, original_mail_from,"
	    " original_rcpt_to, arrival_date, arrival_time, source_ip,"
	    " reported_domain, reported_uri, authentication_results,"
	    " auth_failure, identity_alignment, delivery_result, dkim_domain,"
	    " dkim_identity, dkim_selector, dkim_canonicalized_header,"
	    " dkim_canonicalized_body, spf_dns, other_fields, orig_from,"
	    " orig_to, orig_subject, orig_date, orig_message_id, orig_body)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	    " ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26,"
	    " ?27, ?28)",
	/* An input that could not even be read has no message (and no
	 * hash): record it once per origin and error, not on every run. */
	[ST_REJECTED] = "INSERT INTO rejected (message_id, origin, sha256,"
	    " error_code, error_where, error_msg, at)"
	    " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE ?1 IS NOT NULL OR"
	    " NOT EXISTS (SELECT 1 FROM rejected WHERE message_id IS NULL"
	    " AND origin IS ?2 AND error_code IS ?4 AND error_msg IS ?6)",
	/* Filters are bound, never spliced: NULL / 0 mean "any". Half-open
	 * time window: since <= begin < until. */
	[ST_REPORTS_EACH] = "SELECT id, kind, org_name, email, report_id,"
	    " policy_domain, begin, end, records, messages, messages_pass,"
	    " warnings, flavour FROM reports"
	    " WHERE (?1 IS NULL OR kind = ?1)"
	    " AND (?2 IS NULL OR policy_domain = lower(?2))"
	    " AND (?3 = 0 OR begin >= ?3) AND (?4 = 0 OR begin < ?4)"
	    " ORDER BY begin, id",
	[ST_COUNTS] = "SELECT (SELECT count(*) FROM messages),"
	    " (SELECT count(*) FROM reports), (SELECT count(*) FROM records),"
	    " (SELECT count(*) FROM rejected)",
};

/*
 * After some errors (SQLITE_NOMEM, SQLITE_FULL, SQLITE_IOERR, a busy
 * COMMIT) SQLite may roll the whole transaction back by itself, and a
 * failed ROLLBACK TO leaves a savepoint's work in place. Either way the
 * transaction no longer holds what its caller thinks: what the caller
 * writes next (a rejected row for the input, say) would even commit
 * statement by statement. So the transaction is marked lost, begun
 * again at once when SQLite ended it (later writes stay uncommitted),
 * and store_tx_commit() rolls it back and fails with a transient error:
 * the caller retries the whole unit (found by the allocation-failure
 * sweep: a rejected row committed twice).
 */
static void
tx_lost(struct store *s, int code)
{
	if (s == NULL || s->db == NULL || !s->in_tx || s->tx_lost)
		return;
	s->tx_lost = 1;
	s->tx_lost_code = code;
	if (sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
}

int
store_db_error(struct store *s, int sqlite_rc, const char *what,
    struct err *err)
{
	int code;

	switch (sqlite_rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = ERR_BUSY;
		break;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
		code = ERR_IO;
		break;
	case SQLITE_NOMEM:
		code = ERR_NOMEM;
		break;
	default:
		code = ERR_DB;
		break;
	}
	err_set(err, code, "%s: %s", what,
	    s != NULL && s->db != NULL ? sqlite3_errmsg(s->db) :
	    sqlite3_errstr(sqlite_rc));
	if (s != NULL && s->db != NULL && s->in_tx &&
	    sqlite3_get_autocommit(s->db))
		tx_lost(s, code);
	return code;
}

int
store_stmt(struct store *s, enum stmt_id id, sqlite3_stmt **out,
    struct err *err)
{
	int src;

	if (s->st[id] == NULL) {
		src = sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL);
		if (src != SQLITE_OK) {
			s->st[id] = NULL;
			return store_db_error(s, src, "prepare", err);
		}
	}
	*out = s->st[id];
	return 0;
}

int
store_step_done(struct store *s, sqlite3_stmt *st, const char *what,
    struct err *err)
{
	int src = sqlite3_step(st);
	int rc = 0;

	if (src != SQLITE_DONE && src != SQLITE_ROW)
		rc = store_db_error(s, src, what, err);
	sqlite3_reset(st);
	return rc;
}

int
store_bind_text(sqlite3_stmt *st, int idx, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC);
}

/* Runs a cached statement without parameters or rows. */
static int
run_simple(struct store *s, enum stmt_id id, const char *what,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_stmt(s, id, &st, err)) < 0)
		return rc;
	return store_step_done(s, st, what, err);
}

/* One pragma whose answer we check (journal_mode) or ignore. */
static int
pragma(struct store *s, const char *sql, char *answer, size_t answersz,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int src, rc = 0;

	src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (src != SQLITE_OK)
		return store_db_error(s, src, sql, err);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW && answer != NULL) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(answer, answersz, "%s", t != NULL ? (const char *)t : "");
	} else if (src != SQLITE_ROW && src != SQLITE_DONE) {
		rc = store_db_error(s, src, sql, err);
	}
	sqlite3_finalize(st);
	return rc;
}

static int
configure(struct store *s, struct err *err)
{
	char mode[32] = "";
	char sql[96];
	int rc;

	/* NORMAL in WAL mode: a commit survives a crash of this process,
	 * the last commits may be lost on power loss (doc/schema.md;
	 * store_sync() when that matters). Set before the switch to WAL:
	 * on a new database that switch is a rollback-journal transaction,
	 * which FULL (the default) syncs once more (a 20 ms wait on a busy
	 * disk, in every import into a fresh file). */
	if ((rc = pragma(s, "PRAGMA synchronous = NORMAL", NULL, 0, err)) < 0)
		return rc;
	if (!s->readonly) {
		/* Page size of a new database (no effect on an existing one,
		 * and only possible before WAL is on). 16 KiB pages made a
		 * 1M-record import 10-20% faster than 4 KiB (fewer b-tree
		 * pages per appended row); 64 KiB was slower and needed 32 MiB
		 * of RSS (bench/import.sh). */
		if ((rc = pragma(s, "PRAGMA page_size = 16384", NULL, 0,
		    err)) < 0)
			return rc;
		/* WAL: readers (reports, HTML, scripts) never block the
		 * importer and see only committed messages. */
		rc = pragma(s, "PRAGMA journal_mode = WAL", mode, sizeof mode,
		    err);
		if (rc < 0)
			return rc;
		if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)
			return err_set(err, ERR_DB, "cannot switch the database "
			    "to WAL mode (journal_mode is %s)", mode);
		snprintf(sql, sizeof sql, "PRAGMA journal_size_limit = %d",
		    STORE_WAL_KEEP_BYTES);
		if ((rc = pragma(s, sql, NULL, 0, err)) < 0)
			return rc;
	}
	/*
	 * Foreign keys OFF (doc/schema.md "Write path"). This handle is the
	 * only writer inside its transaction and every child row it
	 * inserts takes its parent id from a row it has just written (the
	 * record ids are its own, agg.c) or from the caller's open report,
	 * so the per-row parent probes SQLite would make prove nothing. ON
	 * would cost 15% more instructions in the writing thread at best
	 * (deferred constraints; immediate ones, as declared, make the
	 * multi-row inserts keep a statement journal). Cascading deletes
	 * are triggers (schema.c); the REFERENCES clauses stay, and the
	 * tests run PRAGMA foreign_key_check.
	 */
	if ((rc = pragma(s, "PRAGMA foreign_keys = OFF", NULL, 0, err)) < 0)
		return rc;
	/* Sorts (the multi-day rollup's GROUP BY) spill to temporary files
	 * beyond the cache size rather than growing the heap; no mmap, so
	 * RSS counts what we use. */
	if ((rc = pragma(s, "PRAGMA temp_store = FILE", NULL, 0, err)) < 0)
		return rc;
	if ((rc = pragma(s, "PRAGMA mmap_size = 0", NULL, 0, err)) < 0)
		return rc;
	snprintf(sql, sizeof sql, "PRAGMA cache_size = %d", -STORE_CACHE_KIB);
	rc = pragma(s, sql, NULL, 0, err);
	return rc;
}

/*
 * Process-wide SQLite settings, before its first use. Memory statistics
 * off: with them on, every allocation takes a global mutex and updates
 * counters (~6% of a big import); nothing reads them.
 */
static void
sqlite_global_init(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* "nobody (uid 65534)", or "uid 65534" for an id without a name. */
static void
uid_name(uid_t uid, char *out, size_t cap)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(out, cap, "%.64s (uid %u)", pw->pw_name,
		    (unsigned)uid);
	else
		snprintf(out, cap, "uid %u", (unsigned)uid);
}

/*
 * Why a read-write open failed, when the reason is the file system rather
 * than SQLite: SQLite only says "attempt to write a readonly database" or
 * "unable to open database file". The usual cause is a database (or its
 * directory) made by another user, e.g. by root before fetch and watch
 * drop privileges, or a path outside the systemd units' ReadWritePaths.
 * Checks the file, its -wal and -shm files and the directory, with the
 * effective ids. Returns 1 with err replaced when it found the cause,
 * else 0 with err left alone.
 */
static int
explain_access(const char *path, struct err *err)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char f[PATH_MAX], me[96], owner[96];
	const char *slash;
	struct stat sb;

	uid_name(geteuid(), me, sizeof me);
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		if ((size_t)snprintf(f, sizeof f, "%s%s", path, sfx[i]) >=
		    sizeof f || stat(f, &sb) != 0)
			continue;
		if (faccessat(AT_FDCWD, f, R_OK | W_OK, AT_EACCESS) == 0)
			continue;
		if (errno == EROFS) {
			err_where(err, "%s", f);
			err_set(err, ERR_INVAL, "cannot write the database: "
			    "read-only file system (under the systemd units, "
			    "only /var/lib/dmarcwatch is writable; see "
			    "ReadWritePaths= in doc/operations.md)");
			return 1;
		}
		if (errno != EACCES && errno != EPERM)
			return 0;
		uid_name(sb.st_uid, owner, sizeof owner);
		err_where(err, "%s", f);
		err_set(err, ERR_INVAL, "cannot write the database as %s: "
		    "%s belongs to %s, mode %04o; chown the database and "
		    "its -wal and -shm files to that user "
		    "(doc/operations.md)", me, i == 0 ? "it" : i == 1 ?
		    "its -wal file" : "its -shm file",
		    owner, (unsigned)(sb.st_mode & 07777));
		return 1;
	}
	/* The directory: SQLite creates the file and the -wal and -shm
	 * files beside it. */
	slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(f, sizeof f, ".");
	else if (slash == path)
		snprintf(f, sizeof f, "/");
	else if ((size_t)(slash - path) < sizeof f)
		snprintf(f, sizeof f, "%.*s", (int)(slash - path), path);
	else
		return 0;
	if (stat(f, &sb) != 0 ||
	    faccessat(AT_FDCWD, f, W_OK | X_OK, AT_EACCESS) == 0)
		return 0;
	if (errno == EROFS) {
		err_where(err, "%s", f);
		err_set(err, ERR_INVAL, "cannot create the database files in "
		    "%.200s: read-only file system (under the systemd units, "
		    "only /var/lib/dmarcwatch is writable; see "
		    "ReadWritePaths= in doc/operations.md)", f);
		return 1;
	}
	if (errno != EACCES && errno != EPERM)
		return 0;
	uid_name(sb.st_uid, owner, sizeof owner);
	err_where(err, "%s", f);
	err_set(err, ERR_INVAL, "cannot create the database files in %.200s "
	    "as %s: the directory belongs to %s, mode %04o; SQLite "
	    "creates the database and its -wal and -shm files there "
	    "(doc/operations.md)", f, me, owner,
	    (unsigned)(sb.st_mode & 07777));
	return 1;
}

int
store_open(const char *path, int flags, struct store **out, struct err *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct store *s = NULL;
	struct stat sb;
	int oflags, src, rc;

	if (out == NULL || path == NULL || path[0] == '\0')
		return err_set(err, ERR_INVAL, "store_open: no database path");
	*out = NULL;
	if ((flags & STORE_READONLY) && stat(path, &sb) != 0) {
		err_where(err, "%s", path);
		if (errno == ENOENT)
			return err_set(err, ERR_NOTFOUND,
			    "database does not exist");
		return err_set(err, ERR_IO, "cannot stat database: %s",
		    strerror(errno));
	}
	(void)pthread_once(&once, sqlite_global_init);
	if ((s = calloc(1, sizeof *s)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	s->readonly = (flags & STORE_READONLY) != 0;
	/* No SQLITE_OPEN_URI: a path is a path, even "file:...". One
	 * thread per handle, so SQLite's own mutexes are not needed. */
	oflags = SQLITE_OPEN_NOMUTEX | (s->readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	src = sqlite3_open_v2(path, &s->db, oflags, NULL);
	if (src != SQLITE_OK) {
		rc = store_db_error(s, src, "cannot open database", err);
		err_where(err, "%s", path);
		goto out;
	}
	/* SQLite falls back to read-only, silently, on a file it cannot
	 * write; every later write would fail one message at a time (as a
	 * transient error, retried for ever). Refuse here, once. */
	if (!s->readonly && sqlite3_db_readonly(s->db, "main") == 1) {
		err_where(err, "%s", path);
		rc = err_set(err, ERR_INVAL, "cannot write the database "
		    "(SQLite opened it read-only)");
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if ((rc = configure(s, err)) < 0) {
		err_where(err, "%s", path);
		goto out;
	}
	if ((rc = store_migrate(s, path, err)) < 0)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	if (rc < 0 && s != NULL && !s->readonly && explain_access(path, err))
		rc = ERR_INVAL;
	store_free(s);
	return rc;
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	store_rollup_acc_free(s->acc);
	if (s->db != NULL) {
		/* An open transaction is abandoned, never half-committed. */
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close_v2(s->db);
	}
	free(s);
}

int
store_schema_version(void)
{
	return STORE_SCHEMA_VERSION;
}

/* ---- transactions ---- */

int
store_tx_begin(struct store *s, struct err *err)
{
	int rc;

	if (s->in_tx)
		return err_set(err, ERR_INVAL, "transaction already open");
	if ((rc = run_simple(s, ST_BEGIN, "begin transaction", err)) < 0)
		return rc;
	s->in_tx = 1;
	s->sp_depth = 0;
	s->tx_lost = 0;
	return 0;
}

int
store_tx_commit(struct store *s, struct err *err)
{
	int rc;

	if (!s->in_tx)
		return err_set(err, ERR_INVAL, "commit without transaction");
	if (s->tx_lost) {
		int code = s->tx_lost_code ? s->tx_lost_code : ERR_DB;

		store_tx_rollback(s);
		return err_set(err, code, "transaction rolled back after an "
		    "error inside it; nothing of it was committed");
	}
	/* On failure the transaction stays open: the caller rolls back. */
	if ((rc = run_simple(s, ST_COMMIT, "commit", err)) < 0)
		return rc;
	s->in_tx = 0;
	s->sp_depth = 0;
	return 0;
}

void
store_tx_rollback(struct store *s)
{
	if (s == NULL)
		return;
	/* SQLite may already have rolled back by itself (e.g. after
	 * SQLITE_FULL); ROLLBACK then fails harmlessly. */
	if (!sqlite3_get_autocommit(s->db))
		(void)run_simple(s, ST_ROLLBACK, "rollback", NULL);
	s->in_tx = 0;
	s->sp_depth = 0;
	s->tx_lost = 0;
}

/* fsync of one of the connection's files (SQLITE_FCNTL_*_POINTER op);
 * nothing when it has none open. */
static int
sync_file(struct store *s, int op, const char *what, struct err *err)
{
	sqlite3_file *f = NULL;
	int src;

	src = sqlite3_file_control(s->db, "main", op, &f);
	if (src != SQLITE_OK)
		return store_db_error(s, src, what, err);
	if (f == NULL || f->pMethods == NULL)
		return 0;
	src = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
	if (src != SQLITE_OK)
		return store_db_error(s, src, what, err);
	return 0;
}

/*
 * A committed WAL transaction is in the WAL file (written, not synced,
 * with synchronous = NORMAL) or, after a complete checkpoint, in the
 * database file, which the checkpoint synced before the WAL could be
 * reused. Syncing the WAL therefore makes every commit durable; the
 * database file is synced too, which costs nothing when it is clean and
 * covers a connection that is not in WAL mode.
 */
int
store_sync(struct store *s, struct err *err)
{
	int rc;

	if (s == NULL)
		return err_set(err, ERR_INVAL, "store_sync: no store");
	if (s->readonly)
		return 0;
	if (s->in_tx)
		return err_set(err, ERR_INVAL, "store_sync inside a "
		    "transaction: commit first");
	if ((rc = sync_file(s, SQLITE_FCNTL_JOURNAL_POINTER,
	    "sync of the write-ahead log", err)) < 0)
		return rc;
	return sync_file(s, SQLITE_FCNTL_FILE_POINTER,
	    "sync of the database file", err);
}

int
store_savepoint(struct store *s, struct err *err)
{
	int rc;

	if (!s->in_tx)
		return err_set(err, ERR_INVAL, "savepoint outside a transaction");
	if ((rc = run_simple(s, ST_SAVEPOINT, "savepoint", err)) < 0)
		return rc;
	s->sp_depth++;
	return 0;
}

int
store_savepoint_release(struct store *s, struct err *err)
{
	int rc;

	if (s->sp_depth <= 0)
		return err_set(err, ERR_INVAL, "no savepoint to release");
	if ((rc = run_simple(s, ST_RELEASE, "release savepoint", err)) < 0)
		return rc;
	s->sp_depth--;
	return 0;
}

void
store_savepoint_rollback(struct store *s)
{
	int rc;

	if (s == NULL || s->sp_depth <= 0)
		return;
	/* ROLLBACK TO undoes the work but keeps the savepoint open;
	 * RELEASE then removes it, leaving the outer transaction as it
	 * was before store_savepoint(). */
	rc = run_simple(s, ST_ROLLBACK_TO, "rollback to savepoint", NULL);
	if (rc != 0)
		tx_lost(s, rc);         /* its work may still be there */
	else
		(void)run_simple(s, ST_RELEASE, "release savepoint", NULL);
	s->sp_depth--;
	s->cur_report = 0;
}

/* ---- messages ---- */

static const char *const outcome_names[] = {
	[MSG_STORED] = "stored",
	[MSG_DUPLICATE] = "duplicate",
	[MSG_REJECTED] = "rejected",
	[MSG_PARTIAL] = "partial",
};

#define N_OUTCOMES ((int)(sizeof outcome_names / sizeof outcome_names[0]))

static int
outcome_from_text(const unsigned char *t)
{
	if (t == NULL)
		return 0;
	for (int i = 1; i < N_OUTCOMES; i++)
		if (strcmp((const char *)t, outcome_names[i]) == 0)
			return i;
	return 0;
}

int
store_message_find(struct store *s, const char *sha256, int64_t *id,
    int *outcome, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, src;

	if (sha256 == NULL)
		return err_set(err, ERR_INVAL, "message_find: no sha256");
	if ((rc = store_stmt(s, ST_MSG_FIND, &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, sha256);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		if (id != NULL)
			*id = sqlite3_column_int64(st, 0);
		/* 0 = known, outcome not set yet (crash mid-way cannot
		 * leave this: the row and its outcome commit together). */
		if (outcome != NULL)
			*outcome = outcome_from_text(sqlite3_column_text(st, 1));
		rc = 1;
	} else if (src == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = store_db_error(s, src, "find message", err);
	}
	sqlite3_reset(st);
	return rc;
}

int
store_message_add(struct store *s, const struct store_message *m,
    int64_t *id, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (m == NULL || m->sha256 == NULL || m->origin == NULL ||
	    m->kind == NULL || m->size > INT64_MAX)
		return err_set(err, ERR_INVAL, "message_add: incomplete message");
	if ((rc = store_stmt(s, ST_MSG_ADD, &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, m->sha256);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)m->size);
	store_bind_text(st, 3, m->kind);
	store_bind_text(st, 4, m->origin);
	sqlite3_bind_int64(st, 5, m->received);
	if ((rc = store_step_done(s, st, "add message", err)) < 0)
		return rc;
	int64_t mid = sqlite3_last_insert_rowid(s->db);
	if (id != NULL)
		*id = mid;
	/* message_origins lists every origin, the first one included, so
	 * scripts need not union it with messages.origin. */
	return store_message_add_origin(s, mid, m->origin, m->received, err);
}

int
store_message_set_outcome(struct store *s, int64_t id, int outcome,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (outcome < MSG_STORED || outcome >= N_OUTCOMES)
		return err_set(err, ERR_INVAL, "invalid message outcome %d",
		    outcome);
	if ((rc = store_stmt(s, ST_MSG_OUTCOME, &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, outcome_names[outcome]);
	if ((rc = store_step_done(s, st, "set message outcome", err)) < 0)
		return rc;
	if (sqlite3_changes(s->db) != 1)
		return err_set(err, ERR_NOTFOUND, "no message with id %lld",
		    (long long)id);
	return 0;
}

int
store_message_set_sha256(struct store *s, int64_t id, const char *sha256,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sha256 == NULL)
		return err_set(err, ERR_INVAL, "set_sha256: no hash");
	if ((rc = store_stmt(s, ST_MSG_SHA, &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, sha256);
	if ((rc = store_step_done(s, st, "set message sha256", err)) < 0)
		return rc;
	if (sqlite3_changes(s->db) != 1)
		return err_set(err, ERR_NOTFOUND, "no message with id %lld",
		    (long long)id);
	if ((rc = store_stmt(s, ST_REJECTED_SHA, &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, sha256);
	return store_step_done(s, st, "set rejected sha256", err);
}

int
store_message_add_origin(struct store *s, int64_t id, const char *origin,
    int64_t seen, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (origin == NULL)
		return err_set(err, ERR_INVAL, "add_origin: no origin");
	if ((rc = store_stmt(s, ST_MSG_ORIGIN, &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	store_bind_text(st, 2, origin);
	sqlite3_bind_int64(st, 3, seen);
	return store_step_done(s, st, "add message origin", err);
}

/* ---- rejected ---- */

int
store_rejected_add(struct store *s, const struct store_rejected *rj,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (rj == NULL || rj->error_code == NULL)
		return err_set(err, ERR_INVAL, "rejected_add: no error code");
	if ((rc = store_stmt(s, ST_REJECTED, &st, err)) < 0)
		return rc;
	if (rj->message_id > 0)
		sqlite3_bind_int64(st, 1, rj->message_id);
	else
		sqlite3_bind_null(st, 1);
	store_bind_text(st, 2, rj->origin);
	store_bind_text(st, 3, rj->sha256);
	store_bind_text(st, 4, rj->error_code);
	store_bind_text(st, 5, rj->error_where);
	store_bind_text(st, 6, rj->error_msg);
	sqlite3_bind_int64(st, 7, rj->at);
	return store_step_done(s, st, "add rejected", err);
}

/* ---- read side ---- */

static const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static uint64_t
col_u64(sqlite3_stmt *st, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);

	return v < 0 ? 0 : (uint64_t)v;
}

int
store_reports_each(struct store *s, const struct store_report_filter *f,
    int (*cb)(void *ctx, const struct store_report_row *row), void *ctx,
    struct err *err)
{
	static const struct store_report_filter all;
	struct store_report_row row;
	sqlite3_stmt *st = NULL;
	int rc, src;

	if (cb == NULL)
		return err_set(err, ERR_INVAL, "reports_each: no callback");
	if (f == NULL)
		f = &all;
	if ((rc = store_stmt(s, ST_REPORTS_EACH, &st, err)) < 0)
		return rc;
	/* The cached statement cannot serve a nested walk. */
	if (sqlite3_stmt_busy(st))
		return err_set(err, ERR_INVAL,
		    "store_reports_each called from its own callback");
	store_bind_text(st, 1, f->kind);
	store_bind_text(st, 2, f->domain);
	sqlite3_bind_int64(st, 3, f->since);
	sqlite3_bind_int64(st, 4, f->until);
	rc = 0;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof row);
		row.id = sqlite3_column_int64(st, 0);
		row.kind = col_text(st, 1);
		row.org_name = col_text(st, 2);
		row.email = col_text(st, 3);
		row.report_id = col_text(st, 4);
		row.policy_domain = col_text(st, 5);
		row.begin = sqlite3_column_int64(st, 6);
		row.end = sqlite3_column_int64(st, 7);
		row.records = col_u64(st, 8);
		row.messages = col_u64(st, 9);
		row.messages_pass = col_u64(st, 10);
		row.warnings = col_u64(st, 11);
		row.flavour = col_text(st, 12);
		if ((rc = cb(ctx, &row)) != 0)
			break;
	}
	if (rc == 0 && src != SQLITE_DONE)
		rc = store_db_error(s, src, "list reports", err);
	sqlite3_reset(st);
	return rc;
}

int
store_counts(struct store *s, struct store_counts *c, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, src;

	if (c == NULL)
		return err_set(err, ERR_INVAL, "store_counts: no output");
	if ((rc = store_stmt(s, ST_COUNTS, &st, err)) < 0)
		return rc;
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		c->messages = col_u64(st, 0);
		c->reports = col_u64(st, 1);
		c->records = col_u64(st, 2);
		c->rejected = col_u64(st, 3);
		rc = 0;
	} else {
		rc = store_db_error(s, src, "count rows", err);
	}
	sqlite3_reset(st);
	return rc;
}

int
store_prepare(struct store *s, const char *sql, sqlite3_stmt **st,
    struct err *err)
{
	int src = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);

	if (src != SQLITE_OK) {
		*st = NULL;
		return store_db_error(s, src, "prepare", err);
	}
	return 0;
}

int
store_step_finalize(struct store *s, sqlite3_stmt *st, const char *what,
    struct err *err)
{
	int src = sqlite3_step(st);
	int rc = 0;

	if (src != SQLITE_DONE && src != SQLITE_ROW)
		rc = store_db_error(s, src, what, err);
	sqlite3_finalize(st);
	return rc;
}

int
store_need_write_tx(struct store *s, const char *what, struct err *err)
{
	if (s->readonly)
		return err_set(err, ERR_INVAL, "store is read-only");
	if (!s->in_tx)
		return err_set(err, ERR_INVAL, "%s need an open transaction "
		    "(store_tx_begin)", what);
	return 0;
}

void
store_col_text(sqlite3_stmt *st, int col, char *out, size_t n)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	snprintf(out, n, "%s", v != NULL ? (const char *)v : "");
}

uint64_t
store_col_u64(sqlite3_stmt *st, int col)
{
	int64_t v = sqlite3_column_int64(st, col);

	return v < 0 ? 0 : (uint64_t)v;
}
