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

/* ---- IMAP poller state (doc/schema.md "IMAP state") ---- */

struct store_imap_uid {
	char state[16];    /* "stored", "retry", "archived", "unsaved" */
	char target[16];   /* archive subfolder: "aggregate", "tlsrpt",
	                    * "failure", "invalid", "unsaved", "" (root) */
	int attempts;      /* transient failures so far */
};

/*
 * Records the folder's UIDVALIDITY (account = "user@host:port"). When an
 * older value differs, the folder's UID rows are forgotten (*changed = 1):
 * the folder is rescanned, and message hashes keep that exactly-once.
 * Runs in its own transaction. Sets *folder_id.
 */
int store_imap_folder(struct store *s, const char *account,
    const char *folder, uint32_t uidvalidity, int64_t *folder_id,
    int *changed, struct err *err);
/* 1 and *row when the UID has a row, 0 when not, <0 on error. */
int store_imap_uid_get(struct store *s, int64_t folder_id, uint32_t uid,
    struct store_imap_uid *row, struct err *err);
/* Inserts or replaces a UID's row, in the caller's transaction if one is
 * open (the pipeline's, so it commits with the message). sha256 may be
 * NULL (kept as it was). */
int store_imap_uid_put(struct store *s, int64_t folder_id, uint32_t uid,
    const char *sha256, const char *state, const char *target, int attempts,
    struct err *err);
/* Marks UIDs archived, in one transaction. */
int store_imap_uids_archived(struct store *s, int64_t folder_id,
    const uint32_t *uids, size_t n, struct err *err);
/* The archive subfolder for known bytes: from an earlier UID row with the
 * same sha256, else from the kinds of the reports of that message, else
 * "invalid" for a rejected message. 1 when found, 0 when nothing is on
 * record, <0 on error. */
int store_imap_target_of(struct store *s, const char *sha256, char *target,
    size_t cap, struct err *err);

struct store_counts {
	uint64_t messages, reports, records, rejected;
};
int store_counts(struct store *s, struct store_counts *c, struct err *err);

#endif
