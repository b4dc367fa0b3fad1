/*
 * cli/cmd_fetch.c - dmarcwatch fetch [-d DB] [--json] [-q]
 *
 * One pass over the [imap] folders: every message is stored (or rejected)
 * and then archived; a summary like import's. Same exit codes as import.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../common/json.h"
#include "../common/log.h"
#include "../ingest/imap.h"
#include "cli.h"
#include "privdrop.h"

int
cmd_fetch(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = g->db_path;
	struct pipeline_stats ps;
	struct imap_counts ic;
	struct pipeline_opts popts = { 0 };
	struct err err;
	int json = 0, quiet = g->quiet, ch, rc;

	while ((ch = getopt_long(argc, argv, "d:q", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = 1; break;
		case 'd': db = optarg; break;
		case 'q': quiet = 1; break;
		default: return cli_usage("fetch");
		}
	}
	if (optind != argc)
		return cli_usage("fetch");
	if (!g->settings.imap.present) {
		fprintf(stderr, "dmarcwatch: fetch needs an [imap] section in "
		    "the configuration file (%s; see doc/config.md)\n",
		    g->config_path);
		return EXIT_USAGE;
	}
	if (privdrop(g->settings.run_user) != 0)   /* before network, parsing */
		return EXIT_RUNTIME;
	/* A server that hangs up turns the next write into an error, not
	 * a SIGPIPE that kills us between two steps. */
	signal(SIGPIPE, SIG_IGN);
	err_clear(&err);
	popts.keep_failure_body = g->settings.keep_failure_body;
	rc = ingest_imap_fetch(db, &g->settings.imap, &popts, &ps, &ic, &err);
	if (rc < 0) {
		log_error("%s%s%s", err.msg, err.where[0] ? " at " : "",
		    err.where);
		if (ps.messages > 0)
			log_error("%llu messages were handled before the "
			    "error (stored ones stay stored)",
			    (unsigned long long)ps.messages);
		return EXIT_RUNTIME;
	}
	if (json) {
		struct jv *o = jv_object();
		rc = o == NULL ? ERR_NOMEM : 0;
		if (rc == 0) rc = jv_set_int(o, "folders", (int64_t)ic.folders);
		if (rc == 0) rc = jv_set_int(o, "messages", (int64_t)ps.messages);
		if (rc == 0) rc = jv_set_int(o, "messages_known", (int64_t)ps.messages_known);
		if (rc == 0) rc = jv_set_int(o, "messages_rejected", (int64_t)ps.messages_rejected);
		if (rc == 0) rc = jv_set_int(o, "reports_new", (int64_t)ps.reports_new);
		if (rc == 0) rc = jv_set_int(o, "reports_known", (int64_t)ps.reports_known);
		if (rc == 0) rc = jv_set_int(o, "reports_known_by_message", (int64_t)ps.reports_known_by_message);
		if (rc == 0) rc = jv_set_int(o, "reports_replaced", (int64_t)ps.reports_replaced);
		if (rc == 0) rc = jv_set_int(o, "reports_rejected", (int64_t)ps.reports_rejected);
		if (rc == 0) rc = jv_set_int(o, "records", (int64_t)ps.records);
		if (rc == 0) rc = jv_set_int(o, "transient", (int64_t)ps.transient);
		if (rc == 0) rc = jv_set_int(o, "archived", (int64_t)ic.archived);
		if (rc == 0) rc = jv_set_int(o, "invalid", (int64_t)ic.invalid);
		if (rc == 0) rc = jv_set_int(o, "unsaved", (int64_t)ic.unsaved);
		if (rc == 0) rc = jv_set_int(o, "left", (int64_t)ic.left);
		if (rc == 0) rc = jv_set_str(o, "database", db);
		if (rc == 0) rc = jv_dump(o, stdout, 0);
		jv_free(o);
		if (rc != 0)
			return EXIT_RUNTIME;
	} else if (!quiet) {
		printf("%llu folder%s, %llu message%s (%llu already known, "
		    "%llu rejected)\n"
		    "reports: %llu new, %llu already known, %llu rejected; "
		    "%llu records\n"
		    "archived: %llu (%llu to invalid), %llu unsaved\n"
		    "database: %s\n",
		    (unsigned long long)ic.folders, ic.folders == 1 ? "" : "s",
		    (unsigned long long)ps.messages,
		    ps.messages == 1 ? "" : "s",
		    (unsigned long long)ps.messages_known,
		    (unsigned long long)ps.messages_rejected,
		    (unsigned long long)ps.reports_new,
		    (unsigned long long)ps.reports_known,
		    (unsigned long long)ps.reports_rejected,
		    (unsigned long long)ps.records,
		    (unsigned long long)ic.archived,
		    (unsigned long long)ic.invalid,
		    (unsigned long long)ic.unsaved, db);
		if (ps.transient)
			printf("%llu message%s not stored because of a "
			    "transient error: left in place, run again\n",
			    (unsigned long long)ps.transient,
			    ps.transient == 1 ? "" : "s");
		if (ic.left)
			printf("%llu message%s with no report left in place "
			    "(non_reports = leave)\n",
			    (unsigned long long)ic.left, ic.left == 1 ? "" : "s");
		if (ic.unsaved)
			printf("%llu message%s given up after %d transient "
			    "failures: see folder %s, 'unsaved'\n",
			    (unsigned long long)ic.unsaved,
			    ic.unsaved == 1 ? "" : "s", LIM_IMAP_RETRIES,
			    g->settings.imap.archive_folder);
	}
	/* Messages given up on (unsaved) are not stored: like rejected
	 * ones, a person has to look at them; running again changes
	 * nothing. */
	return ps.transient ? EXIT_TRANSIENT :
	    ps.reports_rejected || ic.unsaved ? EXIT_PARTIAL : EXIT_OK;
}
