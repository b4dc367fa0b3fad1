/*
 * ingest/imap.h - the IMAP poller: configuration, one pass (`fetch`) and
 * the long-running loop (`watch`). Free of libetpan and store/ types so
 * that cli/ sees only this; the work is in src_imap.c.
 *
 * Exactly once (doc/schema.md "IMAP state"): each message is fetched with
 * BODY.PEEK[], stored by the same pipeline as `import` (one transaction,
 * which also records what became of the UID), and only then moved to its
 * archive folder. A crash between any two steps re-fetches or re-archives;
 * the message's sha256 keeps the store from counting it twice.
 */
#ifndef DW_INGEST_IMAP_H
#define DW_INGEST_IMAP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../common/limits.h"
#include "ingest.h"

#define IMAP_PATH_BYTES 4096

enum imap_tls {
	IMAP_TLS_IMPLICIT = 0,  /* TLS from the first byte, port 993 */
	IMAP_TLS_STARTTLS = 1,  /* port 143, STARTTLS or refuse */
	IMAP_TLS_NONE = 2,      /* plain text, 127.0.0.1 / ::1 only */
};

/* What becomes of a message in which nothing is a report. */
enum imap_nonreport {
	IMAP_NONREPORT_INVALID = 0,  /* moved to <archive>/invalid */
	IMAP_NONREPORT_LEAVE = 1,    /* left where it is (a shared mailbox);
	                              * its UID is recorded, not fetched
	                              * again */
};

enum imap_auth {
	IMAP_AUTH_PASSWORD = 0, /* LOGIN with password_file */
	IMAP_AUTH_XOAUTH2 = 1,  /* token_command or token_file */
};

struct imap_config {
	int present;                      /* an [imap] section was read */
	char host[LIM_IMAP_NAME_BYTES];
	unsigned port;                    /* 0 = 993 / 143 by tls */
	enum imap_tls tls;
	int tls_verify;                   /* 1 unless tls_verify = no */
	char ca_file[IMAP_PATH_BYTES];    /* "" = system trust store */
	char user[LIM_IMAP_NAME_BYTES];
	enum imap_auth auth;
	char password_file[IMAP_PATH_BYTES];
	char token_command[IMAP_PATH_BYTES];
	char token_file[IMAP_PATH_BYTES];
	char folders[LIM_IMAP_FOLDERS][LIM_IMAP_NAME_BYTES];
	size_t n_folders;                 /* 0 = INBOX */
	char archive_folder[LIM_IMAP_NAME_BYTES];
	int delete_after;                 /* delete stored messages instead
	                                   * of archiving them */
	enum imap_nonreport non_reports;
	unsigned batch;                   /* messages per UID FETCH */
	unsigned poll_interval;           /* seconds between passes */
};

void imap_config_defaults(struct imap_config *c);

/* Checks a secret file as it is read before each login: opens it (not
 * following a symbolic link, which is refused) and checks the opened
 * file: regular, not readable or writable by group or others. Returns 0
 * or ERR_INVAL / ERR_NOTFOUND / ERR_IO with msg. */
int imap_secret_file_check(const char *path, struct err *err);

/* What happened on the IMAP side, next to struct pipeline_stats. */
struct imap_counts {
	uint64_t folders;       /* folders read */
	uint64_t archived;      /* messages moved to the archive (or deleted
	                         * with delete_after) after being stored */
	uint64_t invalid;       /* of those, moved to <archive>/invalid */
	uint64_t unsaved;       /* moved to <archive>/unsaved after
	                         * LIM_IMAP_RETRIES transient failures */
	uint64_t retry;         /* left in place for a retry */
	uint64_t skipped;       /* listed, but FETCH returned no body
	                         * (expunged meanwhile): left alone */
	uint64_t left;          /* not reports, left in place
	                         * (non_reports = leave), new or known */
};

/*
 * One pass: connect, read every folder to its end, disconnect. Fills
 * *stats and *counts. Returns 0, or a negative code (err filled) when the
 * database cannot be opened or the connection, TLS, login or a folder
 * fails (messages stored until then stay stored).
 */
int ingest_imap_fetch(const char *db_path, const struct imap_config *cfg,
    const struct pipeline_opts *opts, struct pipeline_stats *stats,
    struct imap_counts *counts, struct err *err);

/* Control of `watch` by its caller (signals). */
struct imap_watch_ctl {
	volatile sig_atomic_t *stop;     /* set by SIGTERM / SIGINT */
	volatile sig_atomic_t *reload;   /* set by SIGHUP */
	/* The signals that set those flags. The caller blocks them before
	 * ingest_imap_watch(); they are let through only while it waits
	 * (IDLE, poll interval, backoff), so a signal never breaks a
	 * network read, and pending ones end a pass between messages. */
	const sigset_t *wake;
	/* Re-reads the configuration into *cfg / *opts; non-zero keeps the
	 * old one (the caller logs why). */
	int (*reload_fn)(void *ctx, struct imap_config *cfg,
	    struct pipeline_opts *opts);
	void *ctx;
};

/*
 * Stays connected: a pass over the folders, then IDLE (re-issued before
 * the 29-minute limit) when the server has it and one folder is read,
 * else a pass every poll_interval. Reconnects with capped exponential
 * backoff and jitter after any network or server error. Returns 0 after
 * a stop request, or a negative code when the database cannot be opened.
 */
int ingest_imap_watch(const char *db_path, struct imap_config *cfg,
    struct pipeline_opts *opts, const struct imap_watch_ctl *ctl,
    struct err *err);

#endif
