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
	{ "reports", cmd_reports, "[-d DB] [--json] [--domain D]",
	  "list stored reports" },
	{ NULL, NULL, NULL, NULL },
};

static void
help(FILE *f)
{
	fprintf(f, "usage: dmarcwatch [-d DB] [-v|-q] COMMAND [ARGS]\n"
	    "       dmarcwatch --help | --version\n\n"
	    "Options:\n"
	    "  -d DB      database file (default %s)\n"
	    "  -v         more log output (repeat for debug)\n"
	    "  -q         errors only\n\n"
	    "Commands:\n", DEFAULT_DB);
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
		{ NULL, 0, NULL, 0 },
	};
	struct cli_globals g = { DEFAULT_DB, 0, 0 };
	int ch;

	/* '+': stop at the first non-option, the command name. */
	while ((ch = getopt_long(argc, argv, "+hVd:vq", opts, NULL)) != -1) {
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
		case 'v':
			g.verbose++;
			break;
		case 'q':
			g.quiet = 1;
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
