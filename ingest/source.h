/*
 * ingest/source.h - where messages come from.
 *
 * A source yields messages one at a time and is told afterwards what
 * became of each (stored, duplicate, rejected, transient failure) so it
 * can act on it (IMAP archives or retries; files do nothing). One
 * interface, several implementations: local paths (files, directories,
 * mbox, Maildir, stdin) here, IMAP in src_imap.c.
 */
#ifndef DW_INGEST_SOURCE_H
#define DW_INGEST_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../common/limits.h"

enum msg_form {
	MSG_FORM_MESSAGE = 1,  /* RFC 5322 message: walk its MIME parts */
	MSG_FORM_RAW = 2,      /* raw payload file: xml, json, gzip, zip */
};

struct ingest_msg {
	const unsigned char *data;  /* borrowed from the source until next() */
	size_t len;
	enum msg_form form;
	const char *kind;           /* "file", "message", "mbox-message",
	                             * "maildir-message", "stdin" */
	char origin[LIM_ORIGIN_BYTES];
	int drop_behind;            /* data is a file mapping (reader_mem) */
	int is_file_start;          /* first message of a new input file */
	/* A message that could not even be read (unreadable file, over a
	 * cap): the pipeline records it as rejected and goes on. */
	int read_failed;
	struct err read_err;
};

struct ingest_source;

struct ingest_source_ops {
	const char *name;
	/* 1 = *msg filled, 0 = no more messages, <0 = the source failed as a
	 * whole (err filled). */
	int (*next)(struct ingest_source *src, struct ingest_msg *msg,
	    struct err *err);
	/* The outcome of the last message (enum msg_outcome, or a negative
	 * transient error code). */
	int (*done)(struct ingest_source *src, const struct ingest_msg *msg,
	    int outcome, struct err *err);
	void (*close)(struct ingest_source *src);
};

struct ingest_source {
	const struct ingest_source_ops *ops;
	void *impl;
};

/*
 * Local paths: each path is a file, a directory (walked recursively in
 * name order, symlinks not followed, at most LIM_DIR_DEPTH deep; a
 * directory holding cur/ and new/ is read as a Maildir), or "-" for stdin.
 * A file is sniffed by content: an mbox ("From " first line) yields each
 * message; an RFC 5322 message yields itself; anything else is a raw
 * payload. Returns 0 or ERR_NOMEM.
 */
int source_paths_new(const char *const *paths, size_t n,
    struct ingest_source **out);

/* Counts the local source keeps, for the summary and progress line. */
struct source_paths_stats {
	uint64_t files;        /* regular files opened (stdin counts as 1) */
	uint64_t bytes_done;   /* bytes of files fully handed out */
	uint64_t bytes_total;  /* sum of file sizes seen so far */
};
void source_paths_stats(const struct ingest_source *src,
    struct source_paths_stats *st);

void source_free(struct ingest_source *src);

#endif
