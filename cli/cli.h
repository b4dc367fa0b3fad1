/*
 * cli/cli.h - shared by main.c and the subcommand files (one per command).
 *
 * Exit codes (documented in doc/cli.md and dmarcwatch(1)):
 *   0  success (duplicates are success)
 *   1  runtime error (database cannot be opened, disk full, ...)
 *   2  usage error
 *   3  partial success: some inputs were rejected (recorded in the
 *      database, table rejected); everything else landed
 *   4  some inputs hit a transient error and were not stored; re-run
 */
#ifndef DW_CLI_H
#define DW_CLI_H

#include "dw_config.h"

#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_PARTIAL 3
#define EXIT_TRANSIENT 4

#define DEFAULT_DB "./dmarcwatch.db"
#define DEFAULT_CONFIG DW_SYSCONFDIR "/dmarcwatch/dmarcwatch.conf"

#include "settings.h"

struct cli_globals {
	const char *db_path;      /* -d, else [general] database */
	const char *config_path;  /* -c, else DEFAULT_CONFIG if present */
	int config_explicit;      /* -c was given */
	int verbose;              /* -v count */
	int quiet;                /* -q */
	struct settings settings;
};

struct cli_command {
	const char *name;
	int (*run)(const struct cli_globals *g, int argc, char **argv);
	const char *usage;        /* arguments, after the command name */
	const char *summary;      /* one line for --help */
};

extern const struct cli_command cli_commands[];

int cmd_import(const struct cli_globals *g, int argc, char **argv);
int cmd_reports(const struct cli_globals *g, int argc, char **argv);
int cmd_config(const struct cli_globals *g, int argc, char **argv);
int cmd_fetch(const struct cli_globals *g, int argc, char **argv);
int cmd_watch(const struct cli_globals *g, int argc, char **argv);
int cmd_sendlog(const struct cli_globals *g, int argc, char **argv);
int cmd_hints(const struct cli_globals *g, int argc, char **argv);

/* The provider profile file to use: flag, else [general] providers, else
 * SYSCONFDIR/dmarcwatch/providers.conf, else DATADIR/providers.conf when
 * readable; NULL when none (doc/providers.md). buf holds the result for
 * the searched paths. */
const char *cli_providers_path(const struct cli_globals *g, const char *flag,
    char *buf, size_t bufsz);
int cmd_summary(const struct cli_globals *g, int argc, char **argv);
int cmd_report(const struct cli_globals *g, int argc, char **argv);
int cmd_resolve(const struct cli_globals *g, int argc, char **argv);

/* Prints "usage: dmarcwatch NAME USAGE" to stderr; returns EXIT_USAGE. */
int cli_usage(const char *name);

#endif
