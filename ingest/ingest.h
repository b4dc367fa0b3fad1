/*
 * ingest/ingest.h - the entry points the CLI uses: import local paths into
 * a database. Deliberately free of store/ types, so cli/ depends on ingest/
 * and report/ only.
 */
#ifndef DW_INGEST_INGEST_H
#define DW_INGEST_INGEST_H

#include <stdint.h>

#include "../common/err.h"
#include "source.h"

struct pipeline_stats {
	uint64_t messages;          /* messages seen */
	uint64_t messages_known;    /* identical bytes seen before */
	uint64_t messages_rejected; /* messages with no usable report */
	uint64_t reports_new;
	uint64_t reports_known;     /* already known (dedup key) */
	uint64_t reports_replaced;  /* of reports_new: a well-formed copy that
	                             * replaced one stored from recover mode */
	uint64_t reports_known_by_message; /* stored from messages seen again
	                             * (known by their bytes, not parsed) */
	uint64_t reports_rejected;  /* payloads rejected */
	uint64_t records;           /* records stored (new reports only) */
	uint64_t transient;         /* messages left for a retry */
};

/* Choices that change what is stored (from the configuration). */
struct pipeline_opts {
	int keep_failure_body;   /* keep the original body of failure
	                          * reports ([failure] keep_original_body) */
};

/* Progress callback, called after each message. */
typedef void (*pipeline_progress_fn)(void *ctx,
    const struct pipeline_stats *st, const struct ingest_source *src);

/*
 * Opens (creating or migrating) the database at db_path and imports every
 * path (see source_paths_new()). Fills *stats and *files. Returns 0 when
 * every input was handled (rejections and transient failures are counted
 * in stats, not returned), or a negative code when the database cannot be
 * opened or the walk fails as a whole (err filled).
 */
int ingest_import_paths(const char *db_path, const char *const *paths,
    size_t n, const struct pipeline_opts *opts,
    pipeline_progress_fn progress, void *progress_ctx,
    struct pipeline_stats *stats, struct source_paths_stats *files,
    struct err *err);

#endif
