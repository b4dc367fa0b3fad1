/*
 * cli/cmd_config.c - dmarcwatch [-c FILE] config check
 *
 * Prints every problem as file:line: message and exits 1, or prints
 * "FILE: ok" and exits 0. Used as ExecStartPre= of the service units.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int
cmd_config(const struct cli_globals *g, int argc, char **argv)
{
	struct settings s;
	int problems;

	if (argc != 2 || strcmp(argv[1], "check") != 0)
		return cli_usage("config");
	settings_defaults(&s);
	problems = settings_load(&s, g->config_path, 0, stdout);
	if (problems != 0) {
		if (problems > 0)
			printf("%s: %d error%s\n", g->config_path, problems,
			    problems == 1 ? "" : "s");
		return EXIT_RUNTIME;
	}
	printf("%s: ok\n", g->config_path);
	return EXIT_OK;
}
