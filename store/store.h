/*
 * store/store.h - the SQLite store. store/ is the only module that includes
 * sqlite3.h; everything else talks to the database through this header.
 *
 * Schema and column meanings: doc/schema.md. The database is opened in WAL
 * mode with a busy timeout (foreign keys off for the writer: doc/schema.md
 * "Write path"); migrations run at open
 * (PRAGMA user_version). All statements are prepared once per handle.
 *
 * Exactly-once model (../doc/schema.md "Identity"):
 *  - a message is known by the sha256 of its raw bytes (table messages);
 *  - a report by (reporter email or org, report_id, begin, end, policy
 *    domain) (table reports, unique index). A report seen again is
 *    "already known" and stores nothing.
 * The pipeline writes one message per transaction: store_tx_begin(),
 * store_message_add(), then for each payload a savepoint with the report
 * calls, store_tx_commit(). Nothing is visible to readers before commit.
 *
 * Returns: 0 on success, ERR_BUSY when the database stayed locked past the
 * busy timeout, ERR_IO on disk errors (full, read-only), ERR_DB otherwise;
 * err (may be NULL) gets the SQLite message. Positive returns only where
 * documented.
 */
#ifndef DW_STORE_STORE_H
#define DW_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../parse/report.h"

struct store;

enum store_open_flags {
	STORE_READONLY = 1 << 0,   /* readers: reports, summary, html */
};

int store_open(const char *path, int flags, struct store **out,
    struct err *err);
void store_free(struct store *s);   /* NULL ok; rolls back an open tx */

/* Schema version this build writes (PRAGMA user_version after open). */
int store_schema_version(void);

/* Transactions (BEGIN IMMEDIATE, so writers queue on busy_timeout rather
 * than failing at commit). */
int store_tx_begin(struct store *s, struct err *err);
int store_tx_commit(struct store *s, struct err *err);
void store_tx_rollback(struct store *s);
/* Named savepoint inside the open transaction, one per payload. */
int store_savepoint(struct store *s, struct err *err);
int store_savepoint_release(struct store *s, struct err *err);
void store_savepoint_rollback(struct store *s);

/* Outcome of a message, stored and reported back to the source. */
enum msg_outcome {
	MSG_STORED = 1,      /* at least one new report */
	MSG_DUPLICATE = 2,   /* every report already known, or bytes known */
	MSG_REJECTED = 3,    /* no usable report; see rejected table */
	MSG_PARTIAL = 4,     /* some payloads stored, some rejected */
};

struct store_message {
	const char *sha256;        /* 64 lower-case hex chars */
	uint64_t size;             /* bytes */
	const char *origin;        /* "path", "path: message 3 (byte 1234)",
	                            * "imap://host/INBOX;UIDVALIDITY=1/;UID=7" */
	const char *kind;          /* how the bytes were read: "xml", "gzip",
	                            * "zip", "message", "mbox-message" ... */
	int64_t received;          /* epoch seconds when we read it */
};

/*
 * Looks a message up by sha256. Returns 1 and sets *outcome (enum
 * msg_outcome) and *id if known, 0 if not, <0 on error.
 */
int store_message_find(struct store *s, const char *sha256, int64_t *id,
    int *outcome, struct err *err);

/* Inserts a message row (outcome filled later) and returns its id. */
int store_message_add(struct store *s, const struct store_message *m,
    int64_t *id, struct err *err);
int store_message_set_outcome(struct store *s, int64_t id, int outcome,
    struct err *err);
/* Replaces a message's provisional sha256 (and that of its rejected rows)
 * with the real one, for callers that hash a large file while parsing it.
 * The caller checks with store_message_find() first that the hash is not
 * known: a known hash violates the unique index (ERR_DB). */
int store_message_set_sha256(struct store *s, int64_t id,
    const char *sha256, struct err *err);

/* Adds an origin to a known message (the same bytes seen elsewhere). */
int store_message_add_origin(struct store *s, int64_t id,
    const char *origin, int64_t seen, struct err *err);

/*
 * Report writing, called from the parser's sink inside a savepoint.
 *
 * store_report_begin: returns 0 and *report_id for a new report;
 *   1 when the dedup key is already stored (*report_id = existing id;
 *   the caller stops the parse and counts "already known").
 * store_report_record: inserts one record with its dkim, spf, reason and
 *   raw rows.
 * store_report_end: writes warnings and report-level raw values, the
 *   totals (records, messages, DMARC-pass messages), and the daily rollup
 *   rows for this report (spreading multi-day reports over UTC days, see
 *   doc/schema.md).
 */
int store_report_begin(struct store *s, int64_t message_id,
    const struct report *r, int64_t *report_id, struct err *err);
int store_report_record(struct store *s, int64_t report_id,
    const struct report *r, const struct agg_record *rec, struct err *err);
int store_report_end(struct store *s, int64_t report_id,
    const struct report *r, struct err *err);

/*
 * Other kinds (doc/schema.md "Report kinds"): store_report_begin()
 * dispatches on r->kind.
 *  - REPORT_TLSRPT: begin with the TLS-RPT metadata (r->tls); then
 *    store_tlsrpt_policy() once per policy (the sink's tlsrpt_policy
 *    callback), which writes the policy, its failure details and their
 *    tlsrpt_daily rows, and sets reports.policy_domain from the first
 *    policy; store_report_end() writes warnings, raw values and totals
 *    (records = policies, messages = sessions, messages_pass =
 *    successful sessions). store_report_record() is refused.
 *  - REPORT_FAILURE: begin with r->fail complete (the ARF parser calls
 *    begin and end only); store_report_end() writes the failure_reports
 *    row (the original body only when r->fail.orig_body is set).
 */
int store_tlsrpt_policy(struct store *s, int64_t report_id,
    const struct report *r, const struct tlsrpt_policy *p, struct err *err);

/* Adds one warning (token as in warn_token()) to a stored report, for
 * oddities only the caller saw (e.g. bytes after a gzip stream). Must be
 * called after store_report_end(), inside the same transaction. */
int store_report_add_warning(struct store *s, int64_t report_id,
    const char *token, const char *detail, struct err *err);

/* Records a rejected input (payload or whole message). message_id may be
 * 0 when there is no message row (an input that could not be read): such
 * a rejection is recorded once per (origin, error_code, error_msg), so
 * re-running an import does not add the same row again. */
struct store_rejected {
	int64_t message_id;
	const char *origin;        /* where: file, mailbox/UID, + part/member */
	const char *sha256;        /* of the rejected bytes (message or payload) */
	const char *error_code;    /* err_token() */
	const char *error_where;   /* byte/line/element */
	const char *error_msg;
	int64_t at;
};
int store_rejected_add(struct store *s, const struct store_rejected *rj,
    struct err *err);

/* ---- read side ---- */

struct store_report_row {
	int64_t id;
	const char *kind;          /* "aggregate" | "tlsrpt" | "failure" */
	const char *org_name, *email, *report_id, *policy_domain;
	int64_t begin, end;
	uint64_t records, messages, messages_pass;
	uint64_t warnings;         /* number of warning occurrences */
	const char *flavour;       /* "rfc7489" | "rfc9990" (aggregate) */
};

struct store_report_filter {
	const char *kind;          /* NULL = all */
	const char *domain;        /* policy domain, NULL = all */
	int64_t since, until;      /* on begin; 0 = open */
};

/* Calls cb for each stored report, ordered by begin, then id. The row and
 * its strings are valid during the call only. A non-zero cb return stops
 * the walk and is returned. */
int store_reports_each(struct store *s, const struct store_report_filter *f,
    int (*cb)(void *ctx, const struct store_report_row *row), void *ctx,
    struct err *err);

struct store_counts {
	uint64_t messages, reports, records, rejected;
};
int store_counts(struct store *s, struct store_counts *c, struct err *err);

/* ==== read queries for report/ (HTML pages, summary): store/query.c ====
 *
 * One entry point runs a named, fixed query; report/ never writes SQL.
 * Each query reads the daily rollups (agg_daily, tlsrpt_daily) where it
 * can, so its cost grows with days x senders, not with records; only the
 * per-report queries read records, by report id and with a row limit.
 *
 * Filter fields a query does not use are ignored. Columns of each query
 * are listed below in order; a text column is row->text[i] (NULL for SQL
 * NULL), an integer column row->num[i] (0 for NULL; row->null[i] tells).
 * Rows and their strings are valid during the callback only; a non-zero
 * callback return stops the walk and is returned.
 */
enum store_query {
	/* day, source_ip, header_from, reporter, policy_domain, messages,
	 * dmarc_pass, spf_aligned_pass, dkim_aligned_pass, quarantine,
	 * reject: the agg_daily rows in the range, in key order (day first),
	 * unsummed. One sequential pass over the rollup: callers sum what
	 * they need in memory, which costs less than one GROUP BY (a sort)
	 * per figure. */
	SQ_AGG_SCAN,
	/* The same columns, for the addresses in f->ips on the days in
	 * f->days only, read by key lookups (day, source_ip) rather than a
	 * scan: cost follows the rows returned. Ordered by day. */
	SQ_AGG_IPS,
	/* source_ip, reporter, day, messages, dmarc_pass, quarantine_reject
	 * (quarantine + reject), for f->ips on f->days (key lookups);
	 * ordered by source_ip, reporter, day. */
	SQ_IP_DAILY,
	/* policy_domain, day, sessions_ok, sessions_failed (summary rows).
	 * tlsrpt_daily; by domain, day. */
	SQ_TLS_DAILY,
	/* policy_domain, receiving_mx, result_type, sessions_failed (detail
	 * rows). tlsrpt_daily; by domain, failed sessions descending. */
	SQ_TLS_DETAIL,
	/* report id, arrival_time, source_ip, reported_domain, feedback_type,
	 * auth_failure, delivery_result, original_mail_from,
	 * original_rcpt_to, dkim_domain, dkim_selector, spf_dns, orig_from,
	 * orig_to, orig_subject, orig_message_id, user_agent,
	 * authentication_results, identity_alignment, reported_uri,
	 * other_fields (JSON text), arrival_date. failure_reports; newest
	 * first, at most f->limit rows. */
	SQ_FAILURES,
	/* id, at, origin, error_code, error_where, error_msg, sha256.
	 * rejected (f->domain ignored: a rejected input has no domain);
	 * newest first, at most f->limit rows. */
	SQ_REJECTED,
	/* aggregate reports, tlsrpt reports, failure reports, rejected
	 * inputs in the filter's range: one row. */
	SQ_RANGE_COUNTS,
	/* id, kind, org_name, email, report_id, policy_domain, begin, end,
	 * records, messages, messages_pass, warnings, flavour, p, sp, np,
	 * adkim, aspf, pct, extra_contact_info, generator, rows_skipped,
	 * testing. reports of kind f->kind (NULL all); newest begin first,
	 * at most f->limit rows. */
	SQ_REPORTS_LATEST,
	/* id, seq, source_ip, count, disposition, dkim_aligned, spf_aligned,
	 * dmarc_pass, header_from, envelope_from, envelope_to: records of
	 * report f->report_id by seq, at most f->limit rows. */
	SQ_REPORT_RECORDS,
	/* record_id, what ("dkim" | "spf" | "reason"), seq, domain (reason:
	 * type), selector (spf: scope; reason: NULL), result (reason: NULL),
	 * human_result (reason: comment): auth results and override reasons
	 * of the first f->limit records of report f->report_id (as
	 * SQ_REPORT_RECORDS returns them), by record_id, what, seq. */
	SQ_REPORT_AUTH,
	/* what ("warning" | "error"), text (code | error), count, detail:
	 * warnings and <error>s of report f->report_id. */
	SQ_REPORT_NOTES,
	SQ__COUNT
};

/* Most columns a query returns. */
#define STORE_QUERY_MAX_COLS 24

struct store_query_filter {
	int64_t since, until;      /* epoch s, [since, until); 0 = open. The
	                            * rollups compare whole UTC days: a day
	                            * is in when it overlaps the range. */
	const char *domain;        /* policy domain; NULL = all */
	const char *kind;          /* SQ_REPORTS_LATEST; NULL = all */
	int64_t limit;             /* most rows where said; 0 = no limit */
	int64_t report_id;         /* SQ_REPORT_* */
	const char *const *ips;    /* SQ_AGG_IPS, SQ_IP_DAILY */
	size_t n_ips;
	const char *const *days;   /* SQ_AGG_IPS, SQ_IP_DAILY: YYYY-MM-DD */
	size_t n_days;
};

struct store_row {
	int ncol;
	const char *text[STORE_QUERY_MAX_COLS];
	int64_t num[STORE_QUERY_MAX_COLS];
	int null[STORE_QUERY_MAX_COLS];
};

int store_query_each(struct store *s, enum store_query q,
    const struct store_query_filter *f,
    int (*cb)(void *ctx, const struct store_row *row), void *ctx,
    struct err *err);

#endif
