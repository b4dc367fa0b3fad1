/*
 * ingest/pipeline.h - one message: find payloads, parse, store, in ONE
 * transaction; then tell the source.
 *
 * For each message: sha256 of the raw bytes; if the store knows it, the
 * outcome is MSG_DUPLICATE and nothing else happens. Else: MIME walk (for
 * messages) -> unpack -> sniff -> parse each payload into the open
 * transaction (a savepoint per payload; a payload that fails is rolled back
 * to its savepoint and recorded in `rejected`, and the other payloads still
 * land) -> commit -> source->done(outcome).
 * A transient failure (database busy, disk full, out of memory) rolls the
 * whole message back and is returned as a negative code: nothing about the
 * message is stored, so it can be retried.
 */
#ifndef DW_INGEST_PIPELINE_H
#define DW_INGEST_PIPELINE_H

#include <stdint.h>

#include "../common/err.h"
#include "../store/store.h"
#include "ingest.h"
#include "source.h"


struct pipeline;

/* The store is borrowed; opts may be NULL (defaults). Returns 0 or
 * ERR_NOMEM. */
int pipeline_new(struct store *st, const struct pipeline_opts *opts,
    struct pipeline **out);
void pipeline_free(struct pipeline *p);

/*
 * Processes one message. Returns 0 and sets *outcome (enum msg_outcome),
 * or a negative transient code (err filled) after rolling back.
 * Rejections are not errors: they are stored and logged, outcome
 * MSG_REJECTED or MSG_PARTIAL.
 */
int pipeline_message(struct pipeline *p, const struct ingest_msg *m,
    int *outcome, struct err *err);


/*
 * Runs a source to its end: next -> pipeline_message -> done. Returns 0
 * when the source ended normally, or the source's fatal error. Transient
 * failures of single messages are counted, not fatal.
 */
int pipeline_run(struct pipeline *p, struct ingest_source *src,
    pipeline_progress_fn progress, void *progress_ctx, struct err *err);

const struct pipeline_stats *pipeline_stats(const struct pipeline *p);

/* What became of the last message given to pipeline_message(), for a
 * source that writes the message's one log line itself. */
struct pipeline_msg_summary {
	int reports_new, reports_known;
	int rejected;                  /* payloads rejected */
	uint64_t records;
	char first_reject[512];        /* "part 2 'r.xml': what at where" of
	                                * the first rejection, "" = none */
	struct err transient;          /* the error of a transient failure */
};
const struct pipeline_msg_summary *pipeline_last(const struct pipeline *p);

/*
 * on = 1: the source logs one line per message (IMAP: with the folder it
 * goes to), so the pipeline's own lines about a message (stored, each
 * rejected part, a transient failure) go to debug level; their content is
 * in pipeline_last(). Default 0: the pipeline logs them (import).
 */
void pipeline_set_source_logs(struct pipeline *p, int on);

/*
 * Called inside a message's transaction just before its commit (stored,
 * rejected or already known), with the outcome and the report kinds seen
 * (bit 1 << enum report_kind, new or already known; 0 when the bytes were
 * known and nothing was parsed). A source that keeps its own state (IMAP:
 * what became of each UID) writes it here, so that the state commits with
 * the message or not at all. A negative return rolls the message back
 * (transient). NULL fn = no hook.
 */
typedef int (*pipeline_commit_fn)(void *ctx, const struct ingest_msg *m,
    const char *sha256, int outcome, unsigned kinds, struct err *err);
void pipeline_set_commit_hook(struct pipeline *p, pipeline_commit_fn fn,
    void *ctx);

#endif
