/*
 * ingest/mime.h - a bounded RFC 5322 / MIME walker over a message in memory.
 *
 * Finds report payloads anywhere in a message: every leaf part of every
 * multipart (any subtype), nested message/rfc822 parts (recursed into),
 * single-part messages whose whole body is the report. Bodies are decoded
 * (base64, including single-line base64 longer than 998 octets and base64
 * with junk/whitespace; quoted-printable; 7bit/8bit/binary as is).
 * Content types and filenames are returned as hints only: callers sniff
 * the decoded bytes.
 *
 * Caps: LIM_MESSAGE_BYTES (caller), LIM_MIME_PARTS, LIM_MIME_DEPTH,
 * LIM_HEADER_FIELDS, LIM_HEADER_BYTES. Both CRLF and LF line ends.
 */
#ifndef DW_INGEST_MIME_H
#define DW_INGEST_MIME_H

#include <stddef.h>

#include "../common/err.h"

struct mime_header {
	const char *name;    /* as written, e.g. "Content-Type" */
	const char *value;   /* unfolded, trimmed; RFC 2047 words NOT decoded */
};

struct mime_part {
	const char *path;          /* MIME part number: "1", "2.1", "2.1.3" */
	int depth;                 /* 0 = top-level message body */
	const char *content_type;  /* lower-case "type/subtype" ("text/plain"
	                            * when absent, per RFC 2045) */
	const char *filename;      /* Content-Disposition filename= or
	                            * Content-Type name=, RFC 2231/2047
	                            * decoded where possible; may be NULL */
	const char *transfer_encoding; /* lower-case, "7bit" when absent */
	const struct mime_header *headers; /* this part's own headers */
	size_t n_headers;
	const unsigned char *data; /* decoded body (owned by the walker) */
	size_t len;
	const unsigned char *raw;  /* undecoded body, borrowed from msg */
	size_t raw_len;
};

/*
 * Walks msg and calls cb for every leaf part and for every message/rfc822
 * part (before recursing into it), in document order. Part data is valid
 * during the call only. A non-zero cb return stops the walk and is
 * returned.
 * Returns 0; ERR_FORMAT when msg is not a message at all (no header
 * block); ERR_TOO_LARGE when a cap is hit (err names it and the part);
 * ERR_NOMEM.
 * Malformed MIME below the top (missing boundary end, bad base64) is
 * handled leniently: what can be decoded is passed on.
 */
int mime_walk(const unsigned char *msg, size_t len,
    int (*cb)(void *ctx, const struct mime_part *p), void *ctx,
    struct err *err);

/*
 * Top-level header fields of a message (for Subject, From, Message-ID,
 * Authentication-Results...). Calls cb for each field, unfolded. Same
 * returns as mime_walk.
 */
int mime_headers(const unsigned char *msg, size_t len,
    int (*cb)(void *ctx, const struct mime_header *h), void *ctx,
    struct err *err);

/* 1 when the bytes start like an RFC 5322 message: a run of header fields
 * ("Name: value", folded lines) of which at least one is a typical mail
 * header (From, Received, Return-Path, Date, Subject, MIME-Version,
 * Message-ID, Content-Type, Delivered-To, To, DKIM-Signature, X-...),
 * ended by an empty line or the end. 0 otherwise. */
int mime_looks_like_message(const unsigned char *p, size_t n);

#endif
