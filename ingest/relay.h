/*
 * ingest/relay.h - run a parser in a worker thread and its sink in the
 * caller's thread.
 *
 * Parsing (libxml2) and storing (SQLite) each take about half the time of
 * an import; on two cores they can overlap. The relay runs the parse
 * function in a second thread with a sink that copies each record into a
 * batch, and calls the real sink's callbacks in the calling thread, which
 * owns the database connection. begin(), end() and tlsrpt_policy() are
 * synchronous round trips (their return codes steer the parser: "already
 * known" stops it); records are batched and each batch goes to the real
 * sink's records() when it has one (the store writes a batch with
 * multi-row statements), else to record() one by one. Memory stays
 * bounded: at most
 * RELAY_BATCHES batches of about RELAY_BATCH_BYTES each are in flight, and
 * the parser waits when they are all full.
 *
 * If a sink callback fails, the parser's next callback returns that code,
 * so the parser stops and relay_parse() returns it.
 */
#ifndef DW_INGEST_RELAY_H
#define DW_INGEST_RELAY_H

#include "../common/err.h"
#include "../common/reader.h"
#include "../parse/report.h"

typedef int (*relay_parse_fn)(struct reader *in, const void *opts,
    const struct report_sink *sink, struct err *err);

/* Returns what the parse function returned (err filled by it), or
 * ERR_NOMEM when the thread or its buffers cannot be had. */
int relay_parse(relay_parse_fn fn, struct reader *in, const void *opts,
    const struct report_sink *sink, struct err *err);

#endif
