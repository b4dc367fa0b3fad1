/*
 * ingest/resolve.h - `dmarcwatch resolve`: reverse DNS (PTR) names of the
 * source IPs in the store, looked up once and cached in ptr_cache
 * (doc/schema.md) for the pages to show.
 *
 * The pages (report/) read the store only and never the network; this is
 * the explicit, optional step that looks names up. It is bounded: at most
 * LIM_RESOLVE_LOOKUPS addresses per run (the busiest sources first) and a
 * deadline for the whole run (LIM_RESOLVE_SECONDS at most). The lookups
 * run in a child process that is killed at the deadline, so a resolver
 * that hangs cannot hold the run; what was answered by then is stored,
 * the rest is looked up by the next run. A name is kept only when it is
 * a plain host name (letters, digits, '-', '.', '_'), and is checked
 * forward: confirmed when it resolves back to the address.
 */
#ifndef DW_INGEST_RESOLVE_H
#define DW_INGEST_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../store/store.h"

struct resolve_opts {
	int64_t now;               /* epoch s, stored as the lookup time */
	size_t max_lookups;        /* 1..LIM_RESOLVE_LOOKUPS */
	int timeout_s;             /* whole run, 1..LIM_RESOLVE_SECONDS */
	int64_t since;             /* sources seen from (epoch s); 0 = all */
};

struct resolve_stats {
	size_t asked;              /* addresses that needed a lookup */
	size_t named, confirmed;   /* got a PTR name; of which confirmed */
	size_t none;               /* no PTR record */
	size_t failed;             /* lookup failed (stored, retried later) */
	size_t unfinished;         /* no answer by the deadline (not stored) */
	int timed_out;             /* the deadline ended the run */
};

/* Looks up the addresses that need it and stores the answers (one
 * transaction). Returns 0 (also when some lookups failed or were cut by
 * the deadline: stats says so) or an ERR_* for the store or the system
 * (fork, pipe). */
int ingest_resolve(struct store *st, const struct resolve_opts *o,
    struct resolve_stats *stats, struct err *err);

#endif
