/*
 * cli/cmd_report.c - dmarcwatch report html [-d DB] --out DIR [--since D]
 * [--until D] [--domain D]
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "../report/html.h"
#include "cli.h"
#include "daterange.h"

int
cmd_report(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "domain", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct html_opts o;
	const char *ips[LIM_SENDER_IPS], *doms[LIM_SENDER_DOMAINS];
	struct html_stats st;
	const char *db = g->db_path;
	struct err err;
	int ch, rc;

	memset(&o, 0, sizeof o);
	/* "report html": the format is a word so that other report forms
	 * (hints files) can join later without new commands. */
	if (argc < 2 || strcmp(argv[1], "html") != 0)
		return cli_usage("report");
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		case 'o': o.out_dir = optarg; break;
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
		default: return cli_usage("report");
		}
	}
	if (optind != argc || o.out_dir == NULL)
		return cli_usage("report");
	/* The sender's own addresses and domains: [sender] ips, domains. */
	for (size_t i = 0; i < g->settings.sender.n_ips; i++)
		ips[i] = g->settings.sender.ips[i];
	for (size_t i = 0; i < g->settings.sender.n_domains; i++)
		doms[i] = g->settings.sender.domains[i];
	o.sender_ips = ips;
	o.n_sender_ips = g->settings.sender.n_ips;
	o.sender_domains = doms;
	o.n_sender_domains = g->settings.sender.n_domains;
	err_clear(&err);
	rc = html_write(db, &o, &st, &err);
	if (rc != 0) {
		if (err.where[0])
			log_error("%s: %s", err.where, err.msg);
		else
			log_error("%s: %s", db, err.msg);
		return EXIT_RUNTIME;
	}
	if (!g->quiet) {
		printf("%u pages written to %s (index.html; %u report "
		    "pages)", st.pages, o.out_dir, st.report_pages);
		if (st.removed > 0)
			printf("; %u stale report %s removed", st.removed,
			    st.removed == 1 ? "page" : "pages");
		printf("\n");
	}
	return EXIT_OK;
}
