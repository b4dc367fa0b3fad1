/*
 * common/err.h - error codes and the human-readable error struct.
 *
 * Convention (everywhere): functions return int, 0 on success, a negative
 * ERR_* on failure; a positive value only where the header says so. Where a
 * person will read the failure, the function also fills a struct err with
 * what went wrong (msg) and where (where: file + byte/line, mailbox/UID,
 * element). err may be NULL: then nothing is written.
 */
#ifndef DW_COMMON_ERR_H
#define DW_COMMON_ERR_H

#include <stddef.h>

enum err_code {
	ERR_OK          =   0,
	ERR_NOMEM       =  -1, /* transient: allocation failed */
	ERR_IO          =  -2, /* transient: read/write/fsync failed, disk full */
	ERR_TOO_LARGE   =  -3, /* input exceeds a LIM_* cap: permanent */
	ERR_FORMAT      =  -4, /* input is malformed: permanent */
	ERR_UNSUPPORTED =  -5, /* input is a kind we do not read: permanent */
	ERR_HOSTILE     =  -6, /* DOCTYPE, entities, path traversal: permanent */
	ERR_NOREPORT    =  -7, /* message holds no report: permanent */
	ERR_DB          =  -8, /* database error (not busy): transient */
	ERR_BUSY        =  -9, /* database locked past busy_timeout: transient */
	ERR_INVAL       = -10, /* caller error / bad usage / bad config */
	ERR_NOTFOUND    = -11, /* file or object does not exist */
	ERR_STOPPED     = -12, /* a callback asked to stop (not an error to log) */
	ERR_NET         = -13, /* network failure: transient */
	ERR_TLS         = -14, /* TLS verification failed: permanent for config */
	ERR_AUTH        = -15, /* login refused */
	ERR_TRUNCATED   = -16, /* input ends before the document: permanent
	                        * for these bytes (never "recovered") */
};

struct err {
	int code;
	char where[512];  /* "file.xml.gz byte 1234", "INBOX uid 42 line 7" */
	char msg[512];    /* what went wrong, one line, no report contents */
};

/* Sets code and message (printf-style). Keeps an existing where. Returns
 * code, so callers can write: return err_set(err, ERR_FORMAT, "..."); */
int err_set(struct err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets where (printf-style), replacing what was there. */
void err_where(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prepends context to where: "a" + "b" -> "a: b". */
void err_where_prefix(struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void err_clear(struct err *e);

/* Static name of a code: "ERR_FORMAT" -> "malformed input" etc. */
const char *err_str(int code);

/* Short stable token for a code, for the database and JSON: "format". */
const char *err_token(int code);

/* 1 when retrying later may succeed (NOMEM, IO, DB, BUSY, NET). */
int err_is_transient(int code);

#endif
