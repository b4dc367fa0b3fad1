/*
 * cli/cmd_resolve.c - dmarcwatch resolve [-d DB] [--max N]
 *     [--timeout SECONDS] [--days N] [--json]
 *
 * Looks up the reverse DNS names of the busiest source IPs of the last
 * --days days that have none cached, and stores them in ptr_cache for
 * the sources page (ingest/resolve.h). Optional: the pages never look
 * anything up themselves. Exit: 0 (also when lookups failed or were cut
 * by the deadline: the next run retries them), 1 runtime error, 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/json.h"
#include "../common/limits.h"
#include "../common/log.h"
#include "../common/strparse.h"
#include "../ingest/resolve.h"
#include "cli.h"

/* Sources of the last 90 days by default: the pages' default range. */
#define RESOLVE_DEFAULT_DAYS LIM_HTML_DEFAULT_DAYS

static int
print_json(const struct resolve_stats *s)
{
	struct jv *o = jv_object();
	int rc;

	if (o == NULL)
		return ERR_NOMEM;
	rc = jv_set_int(o, "asked", (int64_t)s->asked);
	rc |= jv_set_int(o, "named", (int64_t)s->named);
	rc |= jv_set_int(o, "confirmed", (int64_t)s->confirmed);
	rc |= jv_set_int(o, "no_ptr", (int64_t)s->none);
	rc |= jv_set_int(o, "failed", (int64_t)s->failed);
	rc |= jv_set_int(o, "unfinished", (int64_t)s->unfinished);
	rc |= jv_set_bool(o, "timed_out", s->timed_out);
	if (rc == 0)
		rc = jv_dump(o, stdout, 2);
	jv_free(o);
	return rc;
}

int
cmd_resolve(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "max", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "days", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct resolve_opts o;
	struct resolve_stats s;
	struct store *st = NULL;
	const char *db = g->db_path;
	uint64_t v;
	struct err err;
	int ch, rc, json = 0, days = RESOLVE_DEFAULT_DAYS;

	memset(&o, 0, sizeof o);
	o.max_lookups = LIM_RESOLVE_LOOKUPS;
	o.timeout_s = LIM_RESOLVE_DEFAULT_SECONDS;
	while ((ch = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'j': json = 1; break;
		case 'm':
			if (sp_uint64_all(optarg, strlen(optarg), &v,
			    LIM_RESOLVE_LOOKUPS) != 0 || v == 0) {
				log_error("--max: 1 to %d addresses",
				    LIM_RESOLVE_LOOKUPS);
				return EXIT_USAGE;
			}
			o.max_lookups = (size_t)v;
			break;
		case 't':
			if (sp_uint64_all(optarg, strlen(optarg), &v,
			    LIM_RESOLVE_SECONDS) != 0 || v == 0) {
				log_error("--timeout: 1 to %d seconds",
				    LIM_RESOLVE_SECONDS);
				return EXIT_USAGE;
			}
			o.timeout_s = (int)v;
			break;
		case 'D':
			if (sp_uint64_all(optarg, strlen(optarg), &v, 36500) !=
			    0) {
				log_error("--days: a number of days (0 = all)");
				return EXIT_USAGE;
			}
			days = (int)v;
			break;
		default: return cli_usage("resolve");
		}
	}
	if (optind != argc)
		return cli_usage("resolve");
	o.now = (int64_t)time(NULL);
	/* Whole UTC days: today and the days - 1 before it. */
	o.since = days > 0 ? (o.now / 86400 - (days - 1)) * 86400 : 0;
	err_clear(&err);
	if ((rc = store_open(db, 0, &st, &err)) != 0) {
		log_error("%s: %s", err.where[0] ? err.where : db, err.msg);
		return EXIT_RUNTIME;
	}
	rc = ingest_resolve(st, &o, &s, &err);
	store_free(st);
	if (rc != 0) {
		log_error("%s: %s", err.where[0] ? err.where : db, err.msg);
		return EXIT_RUNTIME;
	}
	if (json) {
		if (print_json(&s) != 0) {
			log_error("cannot write the result");
			return EXIT_RUNTIME;
		}
	} else if (!g->quiet) {
		printf("%zu addresses looked up: %zu named (%zu forward-"
		    "confirmed), %zu without a PTR record, %zu failed",
		    s.asked, s.named, s.confirmed, s.none, s.failed);
		if (s.unfinished > 0)
			printf(", %zu not answered within %d s (the next run "
			    "tries again)", s.unfinished, o.timeout_s);
		printf("\n");
	}
	return EXIT_OK;
}
