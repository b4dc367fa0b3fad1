/*
 * store/store_priv.h - internals shared by the store/ source files. Not
 * included outside store/ (sqlite3.h stays behind this directory).
 */
#ifndef DW_STORE_PRIV_H
#define DW_STORE_PRIV_H

#include <sqlite3.h>
#include <stdint.h>

#include "store.h"

/*
 * Every statement the store runs more than once, prepared on first use and
 * kept for the life of the handle (sqlite3_prepare_v3 PERSISTENT). Adding a
 * statement: a value here and its SQL in stmt_sql[] (store.c), same order.
 */
/* Rows per multi-row INSERT (records, their DKIM and SPF rows, rollup
 * rows): past 32 the saving per row flattens out (1.99 G instructions
 * for 100k records at 32, 1.95 G at 128, 3.13 G at 1), and 15 columns x
 * 32 rows stays far below SQLite's parameter limit. */
#define STORE_MULTI_ROWS 32

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_MSG_FIND,
	ST_MSG_ADD,
	ST_MSG_OUTCOME,
	ST_MSG_SHA,
	ST_REJECTED_SHA,
	ST_MSG_ORIGIN,
	ST_REPORT_ADD,
	ST_REPORT_FIND,
	ST_FAILURE_FIND,
	ST_REPORT_ERROR,
	ST_REPORT_WARNING,
	ST_REPORT_TOTALS,
	ST_REPORT_WARN_BUMP,
	ST_RAW,
	ST_RECORD,
	ST_RECORD_N,
	ST_RECORD_MAX_ID,
	ST_DKIM,
	ST_DKIM_N,
	ST_SPF,
	ST_SPF_N,
	ST_REASON,
	ST_ROLLUP,
	ST_ROLLUP_1DAY,
	ST_ROLLUP_ROW,
	ST_ROLLUP_ROW_N,
	ST_ROLLUP_PROBE,
	ST_REPORT_FIND_ANY_DOMAIN,
	ST_REPORT_SET_DOMAIN,
	ST_TLS_POLICY,
	ST_TLS_FAILURE,
	ST_TLS_DAILY,
	ST_FAILURE_REPORT,
	ST_REJECTED,
	ST_REPORTS_EACH,
	ST_COUNTS,
	ST__COUNT
};

struct store {
	sqlite3 *db;
	int readonly;
	int in_tx;           /* store_tx_begin() done, no commit/rollback yet */
	int sp_depth;        /* open savepoints inside the transaction */
	int tx_lost;         /* its work was (partly) rolled back by an error:
	                      * store_tx_commit() refuses it (store.c) */
	int tx_lost_code;    /* the ERR_* of that error */
	sqlite3_stmt *st[ST__COUNT];

	/* The report being written (store_report_begin .. _end). Totals are
	 * summed here while records stream past so that _end needs no
	 * per-record SELECT; the record id range feeds the rollup. */
	int64_t cur_report;
	int64_t cur_first_record, cur_last_record;
	uint64_t cur_records, cur_messages, cur_pass;
	int64_t cur_raw_seq;     /* next raw_values.seq of the report */
	/* Id of the report's next record, 0 = not read yet. The writer
	 * numbers records itself (max(id) + 1 at the report's first
	 * record: it holds the write lock) so that a batch's DKIM and SPF
	 * rows know their parents before anything is inserted. */
	int64_t next_record_id;
	enum report_kind cur_kind;
	int cur_domain_set;      /* TLS-RPT: reports.policy_domain written */
	/* Rollup of a one-day report summed while its records stream past
	 * (agg.c), bounded; NULL until the first report. */
	struct rollup_acc *acc;
	int cur_replaced;        /* see store_report_replaced() */
};

void store_rollup_acc_free(struct rollup_acc *a);   /* agg.c */

/* The dedup key of a reports row (doc/schema.md "Identity"). */
struct store_report_key {
	const char *kind;          /* "aggregate" | "tlsrpt" | "failure" */
	const char *reporter;      /* reports.reporter_key, not NULL */
	const char *report_id;     /* NULL = '' in the key */
	int64_t begin, end;
	const char *domain;        /* NULL = '' in the key */
};

/* agg.c: shared by the report kinds. */
const char *store_kind_name(enum report_kind k);
int store_rollup_range(int64_t begin, int64_t end, int64_t *b, int64_t *e);

/* replace.c: when report id was stored from XML recover mode, takes back
 * its daily rollup and deletes it, returning 1; 0 when it was not (kept);
 * <0 on error. */
int store_replace_recovered(struct store *s, int64_t id, struct err *err);
int store_report_insert(struct store *s, int64_t message_id,
    const struct report *r, const struct store_report_key *k,
    const char *org_name, const char *email, int64_t *id, struct err *err);
void store_report_started(struct store *s, int64_t id);

/* tlsrpt.c, failure.c: the other kinds' begin/end halves. */
int store_tlsrpt_begin(struct store *s, int64_t message_id,
    const struct report *r, int64_t *report_id, struct err *err);
int store_failure_begin(struct store *s, int64_t message_id,
    const struct report *r, int64_t *report_id, struct err *err);
int store_failure_end(struct store *s, int64_t report_id,
    const struct report *r, struct err *err);

/* A JSON array of strings (NULL entries skipped) in a malloc'ed string;
 * NULL with n == 0 or out of memory (*nomem set). tlsrpt.c */
char *store_json_strings(const char *const *v, size_t n, int *nomem);
/* Appends a JSON string literal of v to the buffer. tlsrpt.c */
struct store_buf {
	char *p;
	size_t len, cap;
	int nomem;
};
void store_buf_json_str(struct store_buf *b, const char *v);
void store_buf_add(struct store_buf *b, const char *v, size_t n);

/* Maps an SQLite result code to ERR_BUSY / ERR_IO / ERR_DB and fills err
 * with what we were doing and sqlite3_errmsg(). Returns the ERR_* code. */
int store_db_error(struct store *s, int sqlite_rc, const char *what,
    struct err *err);

/* The cached statement id, prepared on first use. Returns 0 or ERR_*. */
int store_stmt(struct store *s, enum stmt_id id, sqlite3_stmt **out,
    struct err *err);

/* Runs one cached statement that returns no rows (binds done), resets it.
 * Returns 0 or ERR_*; what names the action in the error. */
/* One-shot statements of the less frequent paths (profiles, engine, IMAP
 * state): prepared per call, stepped once and finalized. store_prepare
 * sets *st to NULL on error; store_step_finalize accepts DONE or ROW and
 * always finalizes. */
int store_prepare(struct store *s, const char *sql, sqlite3_stmt **st,
    struct err *err);
int store_step_finalize(struct store *s, sqlite3_stmt *st, const char *what,
    struct err *err);
/* ERR_INVAL unless the handle is writable and inside store_tx_begin();
 * what names the caller in the message. */
int store_need_write_tx(struct store *s, const char *what, struct err *err);
/* A text column into a fixed buffer ("" for NULL, cut to fit). */
void store_col_text(sqlite3_stmt *st, int col, char *out, size_t n);
/* A count column: negative values (never written) read as 0. */
uint64_t store_col_u64(sqlite3_stmt *st, int col);

int store_step_done(struct store *s, sqlite3_stmt *st, const char *what,
    struct err *err);

/* Text binding that maps NULL to SQL NULL. SQLITE_STATIC: the caller's
 * string outlives the step (the statement is reset right after). */
int store_bind_text(sqlite3_stmt *st, int idx, const char *v);

/* schema.c: brings the database at s->db up to STORE_SCHEMA_VERSION (or
 * checks it, read-only). */
int store_migrate(struct store *s, const char *path, struct err *err);

#define STORE_SCHEMA_VERSION 8

#endif
