/*
 * cli/main.c - global options and the subcommand table.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "cli.h"
#include "dw_config.h"

const struct cli_command cli_commands[] = {
	{ "import", cmd_import, "[-d DB] [--json] [-q] PATH...",
	  "import report files, messages, mbox files, Maildirs (- = stdin)" },
	{ "reports", cmd_reports, "[-d DB] [--json] [--domain D] [--kind K]",
	  "list stored reports" },
	{ "fetch", cmd_fetch, "[-d DB] [--json] [-q]",
	  "one pass over the [imap] folders: store, then archive" },
	{ "watch", cmd_watch, "[-d DB]",
	  "stay connected to [imap] (IDLE or polling); SIGHUP re-reads "
	  "the config" },
	{ "sendlog", cmd_sendlog, "import [--format postfix|kumomta|csv] "
	  "[--year Y] [--follow] [--poll-ms MS] [--providers FILE] [-d DB] "
	  "[--json] FILE|-",
	  "roll a delivery log up per hour, source IP and provider" },
	{ "summary", cmd_summary,
	  "[-d DB] [--json] [--since DATE] [--until DATE] [--domain D]",
	  "print the overview figures per policy domain" },
	{ "report", cmd_report,
	  "html [-d DB] --out DIR [--since DATE] [--until DATE] [--domain D]",
	  "write self-contained HTML pages (index.html and linked pages)" },
	{ "resolve", cmd_resolve,
	  "[-d DB] [--max N] [--timeout SECONDS] [--days N] [--json]",
	  "look up and cache reverse DNS names of the busiest source IPs" },
	{ "config", cmd_config, "check",
	  "check the configuration file; print every error as file:line" },
	{ "hints", cmd_hints, "[-d DB] [-c CONF] [--now ISO8601] [--out FILE|-] "
	  "[--providers FILE]",
	  "run the reputation engine; write throttle hints and MTA files" },
	{ NULL, NULL, NULL, NULL },
};

static void
help(FILE *f)
{
	fprintf(f, "usage: dmarcwatch [-c CONF] [-d DB] [-v|-q] [--syslog] "
	    "COMMAND [ARGS]\n"
	    "       dmarcwatch --help | --version\n\n"
	    "Options:\n"
	    "  -c CONF    configuration file (default %s, if present)\n"
	    "  -d DB      database file (default %s)\n"
	    "  -v         more log output (repeat for debug)\n"
	    "  -q         errors only\n"
	    "  --syslog   log to syslog (facility mail) instead of stderr\n\n"
	    "Commands:\n", DEFAULT_CONFIG, DEFAULT_DB);
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(f, "  %-8s %s\n           %s %s\n", c->name, c->summary,
		    c->name, c->usage);
	fprintf(f, "\nExit status: 0 ok, 1 runtime error, 2 usage, "
	    "3 some inputs rejected, 4 transient failures (re-run).\n"
	    "See dmarcwatch(1) and doc/cli.md.\n");
}

int
cli_usage(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			fprintf(stderr, "usage: dmarcwatch %s %s\n", c->name,
			    c->usage);
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "db", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "syslog", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_globals g;
	int ch, problems, use_syslog = 0;

	memset(&g, 0, sizeof g);
	g.config_path = DEFAULT_CONFIG;

	/* '+': stop at the first non-option, the command name. */
	while ((ch = getopt_long(argc, argv, "+hVd:c:vq", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			help(stdout);
			return EXIT_OK;
		case 'V':
			printf("dmarcwatch %s\n", DW_VERSION);
			return EXIT_OK;
		case 'd':
			g.db_path = optarg;
			break;
		case 'c':
			g.config_path = optarg;
			g.config_explicit = 1;
			break;
		case 'v':
			g.verbose++;
			break;
		case 'q':
			g.quiet = 1;
			break;
		case 'S':
			use_syslog = 1;
			break;
		default:
			help(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		help(stderr);
		return EXIT_USAGE;
	}
	log_set_level(g.quiet ? LOG_LVL_ERROR : g.verbose >= 2 ?
	    LOG_LVL_DEBUG : g.verbose == 1 ? LOG_LVL_INFO : LOG_LVL_WARN);
	/* The configuration is read before any command; `config check`
	 * reads it again itself to list every error. A default file that
	 * does not exist is fine; an explicit -c that does not is not. */
	settings_defaults(&g.settings);
	if (strcmp(argv[optind], "config") != 0) {
		problems = settings_load(&g.settings, g.config_path,
		    !g.config_explicit, stderr);
		if (problems != 0) {
			fprintf(stderr, "dmarcwatch: configuration has errors "
			    "(dmarcwatch config check)\n");
			return EXIT_RUNTIME;
		}
	}
	/* From here on, log lines go to syslog when asked for; messages
	 * about the command line and the file above stay on stderr. */
	if (use_syslog || g.settings.log_syslog)
		log_use_syslog();
	if (g.db_path == NULL)
		g.db_path = g.settings.database;
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, argv[optind]) == 0) {
			argc -= optind;
			argv += optind;
			optind = 0;   /* reset getopt for the subcommand */
			return c->run(&g, argc, argv);
		}
	fprintf(stderr, "dmarcwatch: unknown command '%s'\n", argv[optind]);
	help(stderr);
	return EXIT_USAGE;
}
