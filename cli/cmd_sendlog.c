/*
 * cli/cmd_sendlog.c - dmarcwatch sendlog import [--format F] [--year Y]
 *     [--follow] [--providers FILE] [-d DB] [--json] FILE|-
 *
 * Syncs the provider profiles and [sender] into the database, then rolls
 * the delivery log up per hour, source IP and provider (doc/sendlog.md).
 * Exit: 0 ok (nothing new is ok), 3 some lines were malformed (the rest
 * landed), 1 runtime error, 2 usage.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/json.h"
#include "../common/strparse.h"
#include "../ingest/sendlog.h"
#include "cli.h"

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

const char *
cli_providers_path(const struct cli_globals *g, const char *flag,
    char *buf, size_t bufsz)
{
	if (flag != NULL)
		return flag;
	if (g->settings.providers[0] != '\0')
		return g->settings.providers;
	if (buf == NULL || bufsz == 0)
		return NULL;
	snprintf(buf, bufsz, "%s/dmarcwatch/providers.conf", DW_SYSCONFDIR);
	if (access(buf, R_OK) == 0)
		return buf;
	snprintf(buf, bufsz, "%s/providers.conf", DW_DATADIR);
	if (access(buf, R_OK) == 0)
		return buf;
	return NULL;
}

static void
print_text(const char *path, const struct sendlog_summary *s)
{
	printf("%s (%s): %llu lines, %llu attempts, %llu skipped, "
	    "%llu malformed", path,
	    ingest_sendlog_format_name(s->format) ? ingest_sendlog_format_name(s->format) : "?",
	    (unsigned long long)s->lines, (unsigned long long)s->attempts,
	    (unsigned long long)s->skipped, (unsigned long long)s->malformed);
	if (s->malformed > 0) {
		printf(" (line");
		for (uint64_t i = 0; i < s->malformed &&
		    i < SENDLOG_MALFORMED_SHOWN; i++)
			printf("%s %llu", i ? "," : "",
			    (unsigned long long)s->malformed_line[i]);
		printf("%s)", s->malformed > SENDLOG_MALFORMED_SHOWN ?
		    ", ..." : "");
	}
	printf(", %llu without provider", (unsigned long long)s->unmatched);
	if (s->internal > 0)
		printf(", %llu MTA-internal deferrals not counted",
		    (unsigned long long)s->internal);
	if (s->resumed_at_line > 0)
		printf(", resumed after line %llu",
		    (unsigned long long)s->resumed_at_line);
	printf("\n");
}

static int
print_json(const char *path, const struct sendlog_summary *s)
{
	struct jv *o = jv_object(), *ml = jv_array();
	int rc = 0;

	if (o == NULL || ml == NULL) {
		jv_free(o);
		jv_free(ml);
		return ERR_NOMEM;
	}
	for (uint64_t i = 0; i < s->malformed && i < SENDLOG_MALFORMED_SHOWN;
	    i++)
		rc |= jv_append(ml, jv_int((int64_t)s->malformed_line[i]));
	rc |= jv_set_str(o, "file", path);
	rc |= jv_set_str(o, "format", ingest_sendlog_format_name(s->format));
	rc |= jv_set_int(o, "lines", (int64_t)s->lines);
	rc |= jv_set_int(o, "attempts", (int64_t)s->attempts);
	rc |= jv_set_int(o, "skipped", (int64_t)s->skipped);
	rc |= jv_set_int(o, "internal", (int64_t)s->internal);
	rc |= jv_set_int(o, "malformed", (int64_t)s->malformed);
	rc |= jv_set(o, "malformed_lines", ml);
	rc |= jv_set_int(o, "without_provider", (int64_t)s->unmatched);
	rc |= jv_set_int(o, "resumed_after_line", (int64_t)s->resumed_at_line);
	rc |= jv_set_int(o, "files", (int64_t)s->files);
	if (rc == 0)
		rc = jv_dump(o, stdout, 2);
	jv_free(o);
	return rc;
}

static int
sendlog_import(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "year", required_argument, NULL, 'y' },
		{ "follow", no_argument, NULL, 'F' },
		{ "poll-ms", required_argument, NULL, 'p' },
		{ "providers", required_argument, NULL, 'P' },
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct sendlog_opts o;
	struct sendlog_summary sum;
	struct err err;
	const char *db = g->db_path, *prov_flag = NULL, *prov;
	char provbuf[SETTINGS_PATH_MAX + 32];
	uint64_t u;
	int ch, json = 0, rc;
	struct sigaction sa;

	memset(&o, 0, sizeof o);
	memset(&sum, 0, sizeof sum);
	while ((ch = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if ((o.format = ingest_sendlog_format_parse(optarg)) < 0) {
				fprintf(stderr, "dmarcwatch: --format: postfix, "
				    "kumomta or csv\n");
				return EXIT_USAGE;
			}
			break;
		case 'y':
			if (sp_uint64_all(optarg, strlen(optarg), &u, 9999) != 0 ||
			    u < 1970) {
				fprintf(stderr, "dmarcwatch: --year: 1970..9999\n");
				return EXIT_USAGE;
			}
			o.year = (int)u;
			break;
		case 'F':
			o.follow = 1;
			break;
		case 'p':
			if (sp_uint64_all(optarg, strlen(optarg), &u, 60000) != 0 ||
			    u == 0) {
				fprintf(stderr, "dmarcwatch: --poll-ms: 1..60000\n");
				return EXIT_USAGE;
			}
			o.poll_ms = (unsigned)u;
			break;
		case 'P':
			prov_flag = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'j':
			json = 1;
			break;
		default:
			return cli_usage("sendlog");
		}
	}
	if (optind + 1 != argc)
		return cli_usage("sendlog");
	o.path = argv[optind];
	o.stop = &stop_flag;
	prov = cli_providers_path(g, prov_flag, provbuf, sizeof provbuf);
	if (prov == NULL)
		fprintf(stderr, "dmarcwatch: no provider profiles found "
		    "(doc/providers.md); every attempt counts as provider ''\n");
	if (o.follow) {
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;   /* no SA_RESTART: wake the sleep */
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	err_clear(&err);
	rc = ingest_sendlog_run(db, prov, &g->settings.sender, &o, &sum, &err);
	if (rc < 0) {
		fprintf(stderr, "dmarcwatch: %s%s%s\n", err.where,
		    err.where[0] ? ": " : "", err.msg);
		return rc == ERR_INVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	if (json ? print_json(o.path, &sum) < 0 : (print_text(o.path, &sum), 0))
		return EXIT_RUNTIME;
	return sum.malformed > 0 ? EXIT_PARTIAL : EXIT_OK;
}

int
cmd_sendlog(const struct cli_globals *g, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "import") != 0)
		return cli_usage("sendlog");
	return sendlog_import(g, argc - 1, argv + 1);
}
