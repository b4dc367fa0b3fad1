/*
 * report/hints.h - `dmarcwatch hints`: read the engine's inputs from the
 * store (provider profiles, [sender], send-log rollups, DMARC rollups),
 * run the engine for every (our IP, provider) key, and write the results:
 * the store tables (engine_state, engine_days, throttle_hints,
 * hints_runs), the throttle-hints/1 JSON file and the native exports.
 *
 * Deterministic: everything depends on the database and `now` only, so
 * the same database and --now give byte-identical files.
 *
 * Order: engine and table writes inside one transaction; then the files
 * (each written atomically); the transaction commits only when every
 * file was written. A failed run leaves the store as it was, so the next
 * run recomputes the same decisions. The format and the daemon-side
 * contract: doc/hints.md; the JSON Schema: doc/throttle-hints.schema.json.
 */
#ifndef DW_REPORT_HINTS_H
#define DW_REPORT_HINTS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

struct hints_config {
	const char *json_path;     /* NULL: no JSON file; "-": stdout */
	const char *postfix_dir;   /* NULL: no Postfix export */
	const char *kumomta_file;  /* NULL: no KumoMTA overlay */
	const char *pmta_dir;      /* NULL: no PowerMTA includes */
	const char *instance;      /* generator.instance; NULL: omitted */
	unsigned ttl_hours;        /* hint validity, 1..48; 0: engine's */
	unsigned active_hours;     /* hours a day cap is spread over; 0:
	                            * engine's (12) */
};

struct hints_summary {
	int64_t seq;               /* the run's sequence */
	size_t ips, providers, hints;
	size_t by_action[4];       /* enum engine_action */
	size_t gated;              /* keys whose day was gated this run */
};

/*
 * Runs the engine at time now and writes everything configured. Returns
 * 0; ERR_NOTFOUND (no database), ERR_INVAL (a profile the engine cannot
 * use: err names the provider and the field), ERR_IO (a file could not
 * be written: nothing was committed), or a store error.
 */
int hints_run(const char *db_path, const struct hints_config *c,
    int64_t now, struct hints_summary *sum, struct err *err);

#endif
