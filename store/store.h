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
#include "../common/limits.h"
#include "../parse/report.h"

struct store;

enum store_open_flags {
	STORE_READONLY = 1 << 0,   /* readers: reports, summary, html */
};

/*
 * Opens (read-write: creates and migrates) the database at path. When a
 * read-write open fails because the file, its -wal/-shm files or its
 * directory cannot be written by the effective user (another user's
 * files, a read-only file system), err says so with the owner and mode
 * and the code is ERR_INVAL (permanent), instead of SQLite's message.
 */
int store_open(const char *path, int flags, struct store **out,
    struct err *err);
void store_free(struct store *s);   /* NULL ok; rolls back an open tx */

/* Schema version this build writes (PRAGMA user_version after open). */
int store_schema_version(void);

/* Transactions (BEGIN IMMEDIATE, so writers queue on busy_timeout rather
 * than failing at commit). A transaction that SQLite rolled back by
 * itself after an error, or whose savepoint could not be rolled back, is
 * "lost": later writes stay uncommitted and store_tx_commit() rolls it
 * back and fails with the transient code of that error. Otherwise a
 * failed commit leaves the transaction open: call store_tx_rollback(). */
int store_tx_begin(struct store *s, struct err *err);
int store_tx_commit(struct store *s, struct err *err);
void store_tx_rollback(struct store *s);
/*
 * Makes every transaction committed so far durable against power loss or
 * an OS crash (fsync of the WAL, then of the database file). Commits run
 * with synchronous = NORMAL: they survive a crash of the process but not
 * of the machine (doc/schema.md "Connection settings"). A source that
 * deletes or moves the original once it is stored (IMAP) calls this
 * first. Not inside a transaction (ERR_INVAL); 0 on a read-only handle.
 */
int store_sync(struct store *s, struct err *err);
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

/* The number of reports stored from message id (a known message's
 * reports are not parsed again; the import summary counts them). */
int store_message_reports(struct store *s, int64_t message_id, uint64_t *n,
    struct err *err);

/* Adds an origin to a known message (the same bytes seen elsewhere). */
int store_message_add_origin(struct store *s, int64_t id,
    const char *origin, int64_t seen, struct err *err);

/*
 * Report writing, called from the parser's sink inside a savepoint.
 *
 * store_report_begin: returns 0 and *report_id for a new report;
 *   1 when the dedup key is already stored (*report_id = existing id;
 *   the caller stops the parse and counts "already known"). An aggregate
 *   report parsed without recovery replaces a stored copy of the same key
 *   that was parsed in XML recover mode (returns 0; see
 *   store_report_replaced()).
 * store_report_record: inserts one record with its dkim, spf, reason and
 *   raw rows.
 * store_report_records: the same for recs[0..n) in document order, with
 *   multi-row statements (the import relay hands over its batches); the
 *   strings need only live until it returns.
 * store_report_end: writes warnings and report-level raw values, the
 *   totals (records, messages, DMARC-pass messages), and the daily rollup
 *   rows for this report (spreading multi-day reports over UTC days, see
 *   doc/schema.md).
 */
int store_report_begin(struct store *s, int64_t message_id,
    const struct report *r, int64_t *report_id, struct err *err);
int store_report_record(struct store *s, int64_t report_id,
    const struct report *r, const struct agg_record *rec, struct err *err);
int store_report_records(struct store *s, int64_t report_id,
    const struct report *r, const struct agg_record *recs, size_t n,
    struct err *err);
int store_report_end(struct store *s, int64_t report_id,
    const struct report *r, struct err *err);
/* 1 when the report begun last (store_report_begin returned 0) took the
 * place of a stored copy parsed in recover mode, else 0. */
int store_report_replaced(const struct store *s);

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
	char state[16];    /* "stored", "retry", "archived", "unsaved",
	                    * "left" (not a report, left in its folder) */
	char target[16];   /* archive subfolder: "aggregate", "tlsrpt",
	                    * "failure", "invalid", "unsaved", "" (root) */
	int attempts;      /* transient failures so far */
};

/*
 * Records the folder's UIDVALIDITY (account = "user@host:port"). When an
 * older value differs, the folder's UID rows are forgotten (*changed = 1):
 * the folder is rescanned, and message hashes keep that exactly-once.
 * Only reads when the folder is known with this UIDVALIDITY; else writes
 * in its own transaction. Sets *folder_id.
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
/* 1 when the message with these bytes was rejected only because nothing
 * in it is a report (every rejection "noreport"), 0 if not or unknown,
 * <0 on error. */
int store_imap_noreport(struct store *s, const char *sha256,
    struct err *err);
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

/* ==================================================================== */
/* ---- send log and providers (schema v4) ----
 *
 * Tables and views: doc/schema.md "Send log and providers"; the profile
 * file: doc/providers.md; the log formats: doc/sendlog.md.
 *
 * Writers (ingest/, inside store_tx_begin() .. store_tx_commit()):
 *  - profile sync: store_providers_clear(), then per provider
 *    store_provider_put(), store_provider_match_put(),
 *    store_provider_code_put() (provider "*" = the [defaults] rules);
 *  - sender sync: store_sender_sync();
 *  - send log: store_sendlog_add() per rollup key, then
 *    store_sendlog_source_set() with the new offset, same transaction.
 * Readers (report/, cli/): the *_each / *_get functions below.
 */

/* Reply classes, in the order of the sendlog_* columns ok .. other_5xx
 * and of store_sendlog_row.cls[]. */
enum store_sl_class {
	STORE_SL_OK = 0,      /* 2xx: accepted */
	STORE_SL_RATE,        /* rate / volume limit (Gmail 4.7.28, TSS04) */
	STORE_SL_BLOCK,       /* block list, reputation block (S3150) */
	STORE_SL_AUTH,        /* SPF / DKIM / DMARC / alignment refused */
	STORE_SL_TLS,         /* TLS required / failed */
	STORE_SL_CONN,        /* no SMTP reply: refused, timeout, lost */
	STORE_SL_OTHER_4XX,
	STORE_SL_OTHER_5XX,
	STORE_SL_CLASSES
};
/* "ok", "rate", "block", "auth", "tls", "conn", "other_4xx",
 * "other_5xx"; NULL out of range. */
const char *store_sl_class_name(int cls);

struct store_provider_stage {
	uint64_t daily_cap;       /* messages per day at this stage */
	uint64_t hourly_cap;      /* per hour (0 = daily_cap / 24, rounded up) */
	uint64_t min_days;        /* days at least at this stage */
};

/* One provider's profile (table providers + provider_stages). Percent
 * values are 0..100. Strings are NUL-terminated copies. */
struct store_provider {
	char name[LIM_PROVIDER_NAME_BYTES];          /* "google" */
	char display_name[LIM_PROVIDER_TEXT_BYTES];  /* "Google (Gmail)" */
	double dmarc_pass_green;      /* pass_pct >= this: healthy */
	double dmarc_pass_amber;      /* >= this: watch; below: trouble */
	double deferral_pct_amber;    /* deferred / attempts per hour, % */
	double deferral_pct_red;
	uint64_t rate_per_hour;       /* RATE replies in an hour => back off */
	uint64_t block_per_hour;      /* BLOCK replies in an hour => pause */
	uint64_t max_per_hour;        /* cap per IP once warm */
	uint64_t max_connections;     /* per IP */
	uint64_t rate_pause_minutes;  /* pause after a RATE signal */
	uint64_t block_pause_minutes; /* pause after the BLOCK threshold */
	double advance_delivered_pct; /* delivered % of a stage to advance */
	uint64_t decay_idle_days;     /* idle days that cost one stage */
	uint64_t rewarm_idle_days;    /* idle days after which warm-up restarts */
	int unverified;               /* schedule without a primary source */
	char source[LIM_PROVIDER_TEXT_BYTES];        /* provenance note */
	int sends_reports;            /* 1 yes, 0 no, -1 unknown (v6) */
	char reports_source[LIM_PROVIDER_TEXT_BYTES];   /* its provenance */
	size_t n_stages;
	struct store_provider_stage stages[LIM_PROVIDER_STAGES];
};

/* Deletes every providers / provider_match / provider_stages /
 * provider_codes row (a sync replaces the profile as a whole). */
int store_providers_clear(struct store *s, struct err *err);
/* profile_file: the file it came from (providers.profile_file). */
int store_provider_put(struct store *s, const struct store_provider *p,
    const char *profile_file, int64_t now, struct err *err);
/* kind: "domain", "mx" or "reporter"; pattern lower-case. */
int store_provider_match_put(struct store *s, const char *provider,
    const char *kind, const char *pattern, struct err *err);
/* One reply rule (doc/providers.md "Reply rules"). */
struct store_provider_code {
	const char *rule;          /* as written after "CLASS:" */
	int cls;                   /* enum store_sl_class */
	const char *smtp;          /* "4xx", "5xx", "421"; NULL = any */
	const char *enhanced;      /* "5.7.1", "4.7.5xx"; NULL = any */
	const char *phrase;        /* lower-case; NULL = none */
	int prefix;                /* phrase ends in '*' */
};
/* seq: order of trial within the provider. */
int store_provider_code_put(struct store *s, const char *provider,
    int seq, const struct store_provider_code *c, struct err *err);
/* One threshold key of a provider (provider_params; "*" = [defaults]). */
int store_provider_param_put(struct store *s, const char *provider,
    const char *key, double value, struct err *err);
/* Every provider_params row, ordered by provider, key. */
int store_provider_params_each(struct store *s,
    int (*cb)(void *ctx, const char *provider, const char *key,
    double value), void *ctx, struct err *err);

/* The [sender] section of the configuration (doc/config.md), parsed by
 * cli/settings.c and mirrored into sender_ips / sender_domains /
 * sender_targets by store_sender_sync(). A plain struct so that cli/ and
 * report/ share it. IPs are canonical (parse/ipaddr.h), domains
 * lower-case. */
struct sender_target {
	char provider[LIM_PROVIDER_NAME_BYTES];
	uint64_t daily;
};
struct sender_transport {
	char transport[LIM_PROVIDER_NAME_BYTES];   /* Postfix service name */
	char ip[48];
};
struct sender_config {
	size_t n_ips;
	char ips[LIM_SENDER_IPS][48];
	size_t n_domains;
	char domains[LIM_SENDER_DOMAINS][256];
	size_t n_targets;
	struct sender_target targets[LIM_SENDER_TARGETS];
	size_t n_transports;
	struct sender_transport transports[LIM_SENDER_TRANSPORTS];
};
/* Replaces sender_ips, sender_domains and sender_targets with c. */
int store_sender_sync(struct store *s, const struct sender_config *c,
    struct err *err);
/* Reads them back (transports are not stored: n_transports = 0). */
int store_sender_load(struct store *s, struct sender_config *c,
    struct err *err);

/* One rollup key of the send log. Written: hour is the epoch second of
 * the UTC hour; store_sendlog_add() adds to sendlog_hourly and to the
 * sendlog_daily row of that hour's day. Read: see the _each functions. */
struct store_sendlog_row {
	int64_t hour;              /* epoch s, multiple of 3600 */
	const char *day;           /* 'YYYY-MM-DD' (read side; NULL on write) */
	const char *source_ip;     /* canonical, '' when the log had none */
	const char *provider;      /* providers.name, '' when unmatched */
	uint64_t attempts;         /* delivery attempts (one per recipient) */
	uint64_t delivered, deferred, bounced;   /* by status */
	uint64_t cls[STORE_SL_CLASSES];          /* by reply class */
	uint64_t rate_signal;      /* RATE replies matched by a provider's own
	                            * code rule (4.7.28, TSS04, RP-001 ...) */
};
int store_sendlog_add(struct store *s, const struct store_sendlog_row *r,
    struct err *err);

/* Read position of a send-log file, known by the SHA-256 of its first
 * line (sendlog_sources). */
struct store_sendlog_source {
	const char *head_sha256;   /* 64 lower-case hex */
	const char *path;          /* as given; "-" for stdin */
	int64_t dev, inode;        /* 0 for stdin */
	uint64_t offset;           /* bytes consumed (whole lines only) */
	uint64_t lines;            /* lines consumed */
};
/* 1 and *offset, *lines when known, 0 when not, <0 on error. */
int store_sendlog_source_get(struct store *s, const char *head_sha256,
    uint64_t *offset, uint64_t *lines, struct err *err);
int store_sendlog_source_set(struct store *s,
    const struct store_sendlog_source *src, int64_t now, struct err *err);

/* ---- read side (report/, cli/) ---- */

/* Every provider with its stages, ordered by name. cb as for
 * store_reports_each(). */
int store_providers_each(struct store *s,
    int (*cb)(void *ctx, const struct store_provider *p), void *ctx,
    struct err *err);
/* 1 and *out when the provider exists, 0 when not. */
int store_provider_get(struct store *s, const char *name,
    struct store_provider *out, struct err *err);

struct store_sendlog_filter {
	const char *source_ip;     /* NULL = all */
	const char *provider;      /* NULL = all */
	int64_t since, until;      /* on hour: since <= hour < until; 0 = open */
};
/* sendlog_hourly rows (day set too), ordered by hour, source_ip,
 * provider. */
int store_sendlog_hourly_each(struct store *s,
    const struct store_sendlog_filter *f,
    int (*cb)(void *ctx, const struct store_sendlog_row *row), void *ctx,
    struct err *err);

/* A row of v_sendlog_dmarc: send log and DMARC per (day, IP, provider). */
struct store_correlation_row {
	const char *day, *source_ip, *provider;
	uint64_t attempts, delivered, deferred, bounced;
	uint64_t cls[STORE_SL_CLASSES];  /* cls[STORE_SL_OK] = delivered */
	uint64_t rate_signal;
	uint64_t reported;         /* messages in that provider's DMARC reports */
	uint64_t dmarc_pass, spf_aligned_pass, dkim_aligned_pass;
	uint64_t quarantine, reject;
	double pass_pct;           /* -1 when reported = 0 */
	double coverage;           /* reported / delivered; -1 when delivered = 0 */
};
/* Rows with day_from <= day <= day_to ('YYYY-MM-DD'; NULL = open),
 * ordered by day, source_ip, provider. */
int store_correlation_each(struct store *s, const char *day_from,
    const char *day_to,
    int (*cb)(void *ctx, const struct store_correlation_row *row),
    void *ctx, struct err *err);

/* ==================================================================== */
/* ---- engine and hints (schema v5) ----
 *
 * Tables: doc/schema.md "Engine and hints"; the engine: doc/hints.md.
 * report/hints.c reads the state of each (our IP, provider) key, runs the
 * engine and writes state, day verdicts and hints back, all inside one
 * store_tx_begin() .. store_tx_commit(). The store knows the engine's
 * enums only as their names ("warmup", "green", "advance" ...).
 */

/* Send-log counts of one hour bucket the fast loop has acted on
 * (engine_acted, v6). */
#define STORE_ENGINE_ACTED_MAX 48
struct store_engine_acted {
	int64_t hour;
	uint64_t attempts, rate, rate_signal, block, conn;
};

struct store_engine_state {
	char source_ip[48];
	char provider[LIM_PROVIDER_NAME_BYTES];
	char phase[16];              /* warmup | steady | recovery | paused */
	uint64_t stage, stage_days, cap_day, cap_hour, connections;
	uint64_t ssthresh, last_good;
	int64_t since, hold_until, last_decrease, last_increase;
	char last_gated_day[11];     /* 'YYYY-MM-DD', '' = none */
	char last_gate[8];           /* none | green | amber | red */
	uint64_t amber_days, idle_days, pauses_24h, green_days;
	int64_t last_pause;
	char last_action[12];        /* advance | hold | reduce | pause */
	int64_t last_action_at;
	int64_t stop_until;          /* provider-asked stop ends (v6) */
	size_t n_acted;              /* engine_acted rows of the key (v6) */
	struct store_engine_acted acted[STORE_ENGINE_ACTED_MAX];
};
/* 1 and *out when the key has a state, 0 when not (a new key). */
int store_engine_state_get(struct store *s, const char *source_ip,
    const char *provider, struct store_engine_state *out, struct err *err);
/* Inserts or replaces the key's state and its engine_acted rows;
 * updated = now. */
int store_engine_state_put(struct store *s,
    const struct store_engine_state *st, int64_t now, struct err *err);

/* One daily gate (table engine_days). Rates < 0 are stored as NULL. */
struct store_engine_day {
	const char *day, *source_ip, *provider;
	const char *gate, *reason, *reason_text, *action;
	uint64_t cap_day, new_cap_day;
	uint64_t attempts, accepted, block, block_hours;
	double deferral_rate, bounce_rate, utilisation;
	const char *dmarc_day;       /* NULL: no DMARC evidence */
	uint64_t dmarc_messages, quarantine, reject;
	double dmarc_pass_rate, coverage;
	int64_t decided_at;
	uint64_t usable_cap;         /* the cap utilisation is judged against
	                              * (v6); 0 = NULL */
	uint64_t missed_block, missed_rate_signal;   /* no fast-loop run acted
	                              * on them (v6) */
	int dmarc_expected;          /* a missing report held the day (v6) */
};
int store_engine_day_put(struct store *s, const struct store_engine_day *d,
    struct err *err);

/*
 * Starts a hints run: the next sequence (greater than every earlier run
 * and than min_seq, e.g. the sequence of a hints file already on disk)
 * goes to *seq, a hints_runs row is added and throttle_hints emptied.
 */
int store_hints_run_begin(struct store *s, int64_t run_at, int64_t min_seq,
    int64_t *seq, struct err *err);
struct store_hint_row {
	int64_t seq;
	const char *hint_id, *source_ip, *provider, *action, *phase;
	uint64_t stage, max_per_hour, max_per_day, max_connections;
	int64_t valid_from, valid_until;
	const char *on_expiry, *reason, *reason_text;
	double confidence;
	const char *evidence_json;   /* JSON array text */
};
int store_hint_put(struct store *s, const struct store_hint_row *h,
    struct err *err);
int store_hints_run_finish(struct store *s, int64_t seq, uint64_t hints,
    const char *json_path, struct err *err);

/* Calls cb with each distinct report_id (ascending, at most max) of the
 * DMARC aggregate reports whose range covers day ('YYYY-MM-DD') and that
 * have a record for source_ip, from a reporter of provider. */
int store_dmarc_report_ids(struct store *s, const char *source_ip,
    const char *provider, const char *day, size_t max,
    int (*cb)(void *ctx, const char *report_id), void *ctx,
    struct err *err);

/* Calls cb with each provider_match row (kind "domain", "mx" or
 * "reporter"), ordered by provider, kind, pattern. */
int store_provider_match_each(struct store *s,
    int (*cb)(void *ctx, const char *provider, const char *kind,
    const char *pattern), void *ctx, struct err *err);

/* ==== reverse DNS cache (ptr_cache): store/ptr.c ====
 *
 * Filled by `dmarcwatch resolve` (ingest/resolve.c); the pages read it
 * through SQ_PTR_NAMES and never look anything up themselves.
 */
enum store_ptr_status {
	STORE_PTR_OK = 0,          /* a name (name set) */
	STORE_PTR_NONE,            /* the address has no PTR record */
	STORE_PTR_ERROR,           /* the lookup failed; try again later */
};

struct store_ptr {
	const char *ip;            /* canonical, as records.source_ip */
	enum store_ptr_status status;
	const char *name;          /* STORE_PTR_OK: the PTR name */
	int confirmed;             /* the name resolves back to ip */
	int64_t at;                /* epoch s of the lookup */
};

/* Calls cb with the source IPs of agg_daily on days from since (epoch s;
 * 0 = all) that need a lookup: no ptr_cache row, or a row looked up
 * before stale_before (retry_before for a failed lookup); busiest first,
 * at most max. A non-zero cb return stops the walk and is returned. */
int store_ptr_candidates(struct store *s, int64_t since,
    int64_t stale_before, int64_t retry_before, size_t max,
    int (*cb)(void *ctx, const char *ip), void *ctx, struct err *err);

/* Stores (replaces) the n lookups in v, in one transaction of its own.
 * Returns 0 or an ERR_*. */
int store_ptr_put(struct store *s, const struct store_ptr *v, size_t n,
    struct err *err);

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
	 * rows). tlsrpt_daily; by domain, failed sessions descending; at most
	 * f->limit rows. */
	SQ_TLS_DETAIL,
	/* policy_domain, policy_type, mx_hosts (JSON array text or NULL),
	 * sessions_ok, sessions_failed, reports: tlsrpt_policies of the
	 * TLS-RPT reports that begin in the range, summed per (domain, type,
	 * mx_hosts); by domain, then sessions descending; at most f->limit
	 * rows. RFC 8460 counts successful sessions per policy only, never
	 * per MX. */
	SQ_TLS_POLICIES,
	/* policy seq, policy_type, policy_domain, policy_strings (JSON),
	 * mx_hosts (JSON), total_successful, total_failure, failure seq
	 * (NULL: the policy has no failure details), result_type,
	 * sending_mta_ip, receiving_mx_hostname, receiving_mx_helo,
	 * receiving_ip, failed_session_count, additional_information,
	 * failure_reason_code: the policies of TLS-RPT report f->report_id
	 * with their failure details, by policy, detail; at most f->limit
	 * rows. */
	SQ_REPORT_TLS,
	/* report id, arrival_time, source_ip, reported_domain, feedback_type,
	 * auth_failure, delivery_result, original_mail_from,
	 * original_rcpt_to, dkim_domain, dkim_selector, spf_dns, orig_from,
	 * orig_to, orig_subject, orig_message_id, user_agent,
	 * authentication_results, identity_alignment, reported_uri,
	 * other_fields (JSON text), arrival_date, reports.report_id (the
	 * original Message-ID). failure_reports; newest first, at most
	 * f->limit rows; only report f->report_id when it is not 0. */
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
	/* ---- engine and hints (warmup.html, summary) ---- */
	/* sendlog (1 when sendlog_daily has a row), engine (1 when
	 * engine_state has a row), runs (hints_runs rows), last_run_at
	 * (epoch s of the newest run, NULL none), hints (throttle_hints
	 * rows): one row. */
	SQ_ENGINE_PRESENCE,
	/* source_ip, provider, phase (NULL: no engine state), stage, cap_day,
	 * last_gate, hint action (NULL: no current hint), max_per_day,
	 * max_per_hour, max_connections, valid_from, valid_until, on_expiry,
	 * reason, reason_text, evidence (JSON array text), confidence in
	 * thousandths (0..1000): every (IP, provider) key of f->ips found in
	 * engine_state, throttle_hints or sendlog_daily (rows in the range
	 * and with a provider); ordered by source_ip, provider. */
	SQ_WARMUP_KEYS,
	/* source_ip, provider, day, sent (send log attempts), delivered,
	 * cap_day (the engine's cap that day; NULL: not gated), gate (green |
	 * amber | red; NULL: not gated), reason_text (or reason), action,
	 * new_cap_day: sendlog_daily and engine_days for f->ips on the days
	 * of the range; ordered by source_ip, provider, day. */
	SQ_WARMUP_DAYS,
	/* provider, stage, daily_cap, hourly_cap, min_days: the warm-up
	 * schedule of every provider profile, by provider, stage. */
	SQ_PROVIDER_STAGES,
	/* action, keys: throttle_hints rows per action, by action. */
	SQ_HINT_ACTIONS,
	/* first_day, last_day (the last before f->until), top_day (the
	 * last of all): 'YYYY-MM-DD', NULL when there is none; over
	 * agg_daily, tlsrpt_daily, sendlog_daily, engine_days and the begin
	 * of every report; other filters ignored. One row. */
	SQ_DATA_SPAN,
	/* ip, status (ok | none | error), name, confirmed (0 | 1),
	 * looked_up (epoch s): the ptr_cache rows of f->ips. */
	SQ_PTR_NAMES,
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
	const char *const *ips;    /* SQ_AGG_IPS, SQ_IP_DAILY, SQ_WARMUP_*,
	                            * SQ_PTR_NAMES */
	size_t n_ips;
	const char *const *days;   /* SQ_AGG_IPS, SQ_IP_DAILY: YYYY-MM-DD */
	size_t n_days;
	/* Not used by a query: report/overview.c reads it (with ips) to
	 * find foreign senders in its one pass. Lower case. */
	const char *const *sender_domains;
	size_t n_sender_domains;
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
