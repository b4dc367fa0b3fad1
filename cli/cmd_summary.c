/*
 * cli/cmd_summary.c - dmarcwatch summary [-d DB] [--json] [--since D]
 * [--until D] [--domain D]
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "../report/summary.h"
#include "cli.h"
#include "daterange.h"

int
cmd_summary(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "domain", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct summary_opts o;
	const char *ips[LIM_SENDER_IPS], *doms[LIM_SENDER_DOMAINS];
	const char *db = g->db_path;
	struct err err;
	int ch, rc;

	memset(&o, 0, sizeof o);
	while ((ch = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': o.json = 1; break;
		case 'd': db = optarg; break;
		case 'D': o.domain = optarg; break;
		case 's':
		case 'u':
			if (cli_parse_date(optarg, ch == 'u', ch == 's' ?
			    &o.since : &o.until) != 0) {
				log_error("--%s: a date YYYY-MM-DD (UTC) or an "
				    "ISO 8601 time", ch == 's' ? "since" :
				    "until");
				return EXIT_USAGE;
			}
			break;
		default: return cli_usage("summary");
		}
	}
	if (optind != argc)
		return cli_usage("summary");
	/* The sender's own addresses and domains: foreign senders. */
	for (size_t i = 0; i < g->settings.sender.n_ips; i++)
		ips[i] = g->settings.sender.ips[i];
	for (size_t i = 0; i < g->settings.sender.n_domains; i++)
		doms[i] = g->settings.sender.domains[i];
	o.sender_ips = ips;
	o.n_sender_ips = g->settings.sender.n_ips;
	o.sender_domains = doms;
	o.n_sender_domains = g->settings.sender.n_domains;
	err_clear(&err);
	rc = summary_print(db, &o, stdout, &err);
	if (rc != 0) {
		log_error("%s: %s", db, err.msg);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}
