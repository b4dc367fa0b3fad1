/*
 * cli/cmd_import.c - dmarcwatch import [-d DB] [--json] [-q] PATH...
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/json.h"
#include "../common/log.h"
#include "../ingest/ingest.h"
#include "cli.h"

struct progress {
	int enabled;
	struct timespec last;
	int drawn;
};

/* One line on the terminal, redrawn at most 5 times a second. */
static void
on_progress(void *ctx, const struct pipeline_stats *st,
    const struct ingest_source *src)
{
	struct progress *pg = ctx;
	struct source_paths_stats ss;
	struct timespec now;
	double pct;

	if (!pg->enabled)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (pg->drawn && (now.tv_sec - pg->last.tv_sec) * 1000 +
	    (now.tv_nsec - pg->last.tv_nsec) / 1000000 < 200)
		return;
	pg->last = now;
	pg->drawn = 1;
	source_paths_stats(src, &ss);
	pct = ss.bytes_total ? 100.0 * (double)ss.bytes_done /
	    (double)ss.bytes_total : 0;
	fprintf(stderr, "\r\033[K%llu files, %llu messages, %llu new "
	    "reports, %llu records (%.0f%% of bytes seen)",
	    (unsigned long long)ss.files, (unsigned long long)st->messages,
	    (unsigned long long)st->reports_new,
	    (unsigned long long)st->records, pct);
}

int
cmd_import(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = g->db_path;
	struct progress pg = { 0 };
	struct source_paths_stats ss;
	struct pipeline_stats stats;
	struct pipeline_opts popts = { 0 };
	const struct pipeline_stats *ps = &stats;
	struct err err;
	int json = 0, quiet = g->quiet, ch, rc, status = EXIT_RUNTIME;

	while ((ch = getopt_long(argc, argv, "d:q", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = 1; break;
		case 'd': db = optarg; break;
		case 'q': quiet = 1; break;
		default: return cli_usage("import");
		}
	}
	if (optind >= argc)
		return cli_usage("import");
	err_clear(&err);
	pg.enabled = !quiet && !json && isatty(STDERR_FILENO);
	popts.keep_failure_body = g->settings.keep_failure_body;
	rc = ingest_import_paths(db, (const char *const *)argv + optind,
	    (size_t)(argc - optind), &popts, on_progress, &pg, &stats, &ss,
	    &err);
	if (pg.drawn)
		fprintf(stderr, "\r\033[K");
	if (rc < 0) {
		log_error("%s%s%s", err.msg, err.where[0] ? ": " : "",
		    err.where);
		goto out;
	}
	if (json) {
		struct jv *o = jv_object();
		rc = o == NULL ? ERR_NOMEM : 0;
		if (rc == 0) rc = jv_set_int(o, "files", (int64_t)ss.files);
		if (rc == 0) rc = jv_set_int(o, "messages", (int64_t)ps->messages);
		if (rc == 0) rc = jv_set_int(o, "messages_known", (int64_t)ps->messages_known);
		if (rc == 0) rc = jv_set_int(o, "messages_rejected", (int64_t)ps->messages_rejected);
		if (rc == 0) rc = jv_set_int(o, "reports_new", (int64_t)ps->reports_new);
		if (rc == 0) rc = jv_set_int(o, "reports_known", (int64_t)ps->reports_known);
		if (rc == 0) rc = jv_set_int(o, "reports_known_by_message", (int64_t)ps->reports_known_by_message);
		if (rc == 0) rc = jv_set_int(o, "reports_replaced", (int64_t)ps->reports_replaced);
		if (rc == 0) rc = jv_set_int(o, "reports_rejected", (int64_t)ps->reports_rejected);
		if (rc == 0) rc = jv_set_int(o, "records", (int64_t)ps->records);
		if (rc == 0) rc = jv_set_int(o, "transient", (int64_t)ps->transient);
		if (rc == 0) rc = jv_set_str(o, "database", db);
		if (rc == 0) rc = jv_dump(o, stdout, 0);
		jv_free(o);
		if (rc != 0)
			goto out;
	} else if (!quiet) {
		char newx[96] = "", knownx[96] = "";

		/* a re-import finds the messages known by their bytes and
		 * reads none of their reports: say the reports were known
		 * too (L5); a good copy may replace a recovered one */
		if (ps->reports_replaced)
			snprintf(newx, sizeof newx, " (%llu replacing a copy "
			    "stored from broken XML)",
			    (unsigned long long)ps->reports_replaced);
		if (ps->reports_known_by_message)
			snprintf(knownx, sizeof knownx, " (%llu through their "
			    "already known message%s)",
			    (unsigned long long)ps->reports_known_by_message,
			    ps->reports_known_by_message == 1 ? "" : "s");
		printf("%llu file%s, %llu message%s (%llu already known, "
		    "%llu rejected)\n"
		    "reports: %llu new%s, %llu already known%s, %llu rejected; "
		    "%llu records\n"
		    "database: %s\n",
		    (unsigned long long)ss.files, ss.files == 1 ? "" : "s",
		    (unsigned long long)ps->messages,
		    ps->messages == 1 ? "" : "s",
		    (unsigned long long)ps->messages_known,
		    (unsigned long long)ps->messages_rejected,
		    (unsigned long long)ps->reports_new, newx,
		    (unsigned long long)(ps->reports_known +
		    ps->reports_known_by_message), knownx,
		    (unsigned long long)ps->reports_rejected,
		    (unsigned long long)ps->records, db);
		if (ps->transient)
			printf("%llu message%s not stored because of a "
			    "transient error: run again\n",
			    (unsigned long long)ps->transient,
			    ps->transient == 1 ? "" : "s");
		if (ps->reports_rejected)
			printf("rejected inputs: sqlite3 %s 'SELECT origin, "
			    "error_code, error_msg FROM rejected'\n", db);
	}
	status = ps->transient ? EXIT_TRANSIENT :
	    ps->reports_rejected ? EXIT_PARTIAL : EXIT_OK;
out:
	return status;
}
