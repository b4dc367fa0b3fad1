/*
 * cli/cmd_reports.c - dmarcwatch reports [-d DB] [--json] [--domain D]
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "../report/listing.h"
#include "cli.h"

int
cmd_reports(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "domain", required_argument, NULL, 'D' },
		{ "kind", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct listing_filter f;
	const char *db = g->db_path;
	struct err err;
	int json = 0, ch, rc;

	memset(&f, 0, sizeof f);
	while ((ch = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = 1; break;
		case 'd': db = optarg; break;
		case 'D': f.domain = optarg; break;
		case 'k':
			if (strcmp(optarg, "aggregate") != 0 &&
			    strcmp(optarg, "tlsrpt") != 0 &&
			    strcmp(optarg, "failure") != 0) {
				log_error("--kind: aggregate, tlsrpt or "
				    "failure");
				return EXIT_USAGE;
			}
			f.kind = optarg;
			break;
		default: return cli_usage("reports");
		}
	}
	if (optind != argc)
		return cli_usage("reports");
	err_clear(&err);
	rc = listing_reports(db, &f, json ? LISTING_JSON : LISTING_TEXT,
	    stdout, NULL, &err);
	if (rc != 0) {
		log_error("%s: %s", db, err.msg);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}
