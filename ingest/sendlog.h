/*
 * ingest/sendlog.h - provider profiles and the send log into the store
 * (doc/sendlog.md, doc/providers.md).
 *
 * Profiles: the profile file is parsed (parse/profiles.h) and synced into
 * providers / provider_match / provider_stages / provider_codes, replacing
 * what was there, in one transaction: report/ (the engine) and the HTML
 * read the tables, never the file.
 *
 * Send log: each line is parsed (parse/sendlog.h), its reply classified
 * with the provider's rules, and rolled up per (hour, source IP,
 * provider) in memory; every batch is written with the file's new read
 * position in one transaction, so a crash or a second run never counts a
 * line twice (doc/sendlog.md "Exactly once").
 */
#ifndef DW_INGEST_SENDLOG_H
#define DW_INGEST_SENDLOG_H

#include <signal.h>
#include <stdint.h>

#include "../common/err.h"
#include "../parse/profiles.h"
#include "../store/store.h"

/* Reads and parses a profile file (at most LIM_PROFILE_BYTES). Every
 * problem goes to on_error (may be NULL) with its line. */
int ingest_profiles_load(const char *path,
    void (*on_error)(void *ctx, int line, const char *msg), void *ectx,
    struct profiles **out, struct err *err);

/* Loads path and replaces the provider tables with it (own transaction).
 * *out (may be NULL) receives the parsed profiles for the caller's use. */
int ingest_profiles_sync(struct store *db, const char *path,
    struct profiles **out, struct err *err);

/* Replaces sender_ips / sender_domains / sender_targets (own
 * transaction). */
int ingest_sender_sync(struct store *db, const struct sender_config *c,
    struct err *err);

/* Canonical text of an IP address (parse/ipaddr.h) into out[48], for
 * cli/ which may not include parse/. 0 or ERR_FORMAT. */
int ingest_canon_ip(const char *s, char out[48]);

/* --format names for cli/ (parse/sendlog.h sl_format_parse / _name). */
int ingest_sendlog_format_parse(const char *name);
const char *ingest_sendlog_format_name(int fmt);

#define SENDLOG_MALFORMED_SHOWN 5

struct sendlog_summary {
	int format;                 /* enum sl_format used */
	uint64_t lines;             /* lines read in this run */
	uint64_t attempts;          /* delivery attempts rolled up */
	uint64_t skipped;           /* well-formed lines that are not attempts */
	uint64_t internal;          /* MTA-internal deferrals (no provider
	                             * reply: "KumoMTA internal: ...", Postfix
	                             * "delivery temporarily suspended"),
	                             * not rolled up (doc/sendlog.md) */
	uint64_t malformed;         /* lines that did not parse */
	uint64_t malformed_line[SENDLOG_MALFORMED_SHOWN];  /* first few, 1-based */
	uint64_t resumed_at_line;   /* lines already imported before this run */
	uint64_t unmatched;         /* attempts with no provider */
	uint64_t files;             /* files read (follow: across rotations) */
};

struct sendlog_opts {
	const char *path;           /* file, or "-" for stdin */
	int format;                 /* enum sl_format; SL_FMT_AUTO = detect */
	int year;                   /* Postfix timestamps: 0 = file mtime's */
	int follow;                 /* tail the file across rotation */
	unsigned poll_ms;           /* follow: sleep between polls */
	const struct profiles *profiles;   /* may be NULL: provider '' */
	const struct sender_config *sender;    /* may be NULL */
	volatile sig_atomic_t *stop;   /* follow: set by a signal handler */
};

/*
 * Imports one log. Returns 0 (malformed lines are counted in *sum, not an
 * error), ERR_NOTFOUND / ERR_IO when the file cannot be read, ERR_INVAL
 * when the format cannot be detected, a store error (ERR_DB, ERR_BUSY).
 */
int ingest_sendlog(struct store *db, const struct sendlog_opts *o,
    struct sendlog_summary *sum, struct err *err);

/*
 * For cli/: opens the database at db_path read-write, syncs the profiles
 * (when profiles_path is not NULL) and the sender identity (when sender is
 * not NULL), then imports the log when o is not NULL (o->profiles is
 * replaced by the synced profiles). `sendlog import` and `hints` both run
 * this, so the tables the engine reads match the configuration.
 */
int ingest_sendlog_run(const char *db_path, const char *profiles_path,
    const struct sender_config *sender, const struct sendlog_opts *o,
    struct sendlog_summary *sum, struct err *err);

#endif
