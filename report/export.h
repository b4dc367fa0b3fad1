/*
 * report/export.h - native throttle files for the sending MTA, rendered
 * from one run's hints (report/hints.c builds the set). Each writer
 * writes whole files atomically (report/outfile.h). Formats, limits and
 * how to wire them into the MTA: doc/hints.md "Exports".
 */
#ifndef DW_REPORT_EXPORT_H
#define DW_REPORT_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

struct export_hint {
	const char *hint_id;
	const char *source;          /* egress name: "ip-192-0-2-10" */
	const char *source_ip;
	const char *provider;
	const char *action;          /* advance | hold | reduce | pause */
	const char *reason;
	int paused;
	uint64_t per_hour, per_day;  /* caps; 0 while paused */
	unsigned conns;
	uint64_t then_per_hour, then_per_day;   /* after a pause */
	unsigned then_conns;
	int64_t valid_from, valid_until;
	int64_t stop_until;          /* > generated_at: the provider asked
	                              * for a stop until then (no attempts
	                              * from this source to this provider);
	                              * 0 = none */
};

struct export_provider {
	const char *name;
	size_t n_domains, n_mx;
	const char *const *domains;  /* recipient domains, lower-case */
	const char *const *mx;       /* MX host suffixes */
};

struct export_set {
	int64_t seq, generated_at;
	size_t n_hints;
	const struct export_hint *hints;       /* sorted by source, provider */
	size_t n_providers;
	const struct export_provider *providers;   /* sorted by name */
};

const struct export_provider *export_provider_find(const struct export_set *x,
    const char *name);

/* DIR/<source>/{transport,master.cf,main.cf}: one Postfix instance per
 * source IP. Creates DIR and the subdirectories. */
int export_postfix(const struct export_set *x, const char *dir,
    struct err *err);
/* One KumoMTA shaping overlay (JSON) at path, and beside it
 * path.suspend.json: the pauses and stops to apply as ready-queue
 * suspensions, each with its expiry (doc/hints.md "KumoMTA"). */
int export_kumomta(const struct export_set *x, const char *path,
    struct err *err);
/* DIR/<source>.<provider>.conf: PowerMTA include files. */
int export_pmta(const struct export_set *x, const char *dir,
    struct err *err);

#endif
