/*
 * cli/cmd_hints.c - dmarcwatch hints [-d DB] [-c CONF] [--now ISO8601]
 *                   [--out FILE|-] [--providers FILE]
 *
 * Syncs the provider profiles and [sender] into the database (as
 * `sendlog import` does), then runs the engine and writes the hints: the
 * throttle_hints table, the throttle-hints/1 JSON ([hints] json, or
 * --out) and the exports configured in [hints] (doc/hints.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/timefmt.h"
#include "../ingest/sendlog.h"
#include "../report/hints.h"
#include "cli.h"

static const char *
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

int
cmd_hints(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "now", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "providers", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const struct settings *st = &g->settings;
	struct settings *own = NULL;
	struct hints_config hc;
	struct hints_summary sum;
	struct cli_globals gl = *g;
	struct err err;
	const char *db = g->db_path, *conf = NULL, *out = NULL,
	    *prov_flag = NULL, *prov;
	char provbuf[SETTINGS_PATH_MAX + 32];
	int64_t now = (int64_t)time(NULL);
	int ch, rc, status = EXIT_OK, db_flag = 0;

	while ((ch = getopt_long(argc, argv, "d:c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; db_flag = 1; break;
		case 'c': conf = optarg; break;
		case 'o': out = optarg; break;
		case 'P': prov_flag = optarg; break;
		case 'n':
			if (time_parse_iso8601(optarg, &now) != 0) {
				fprintf(stderr, "dmarcwatch: --now: an ISO 8601 "
				    "time (2026-11-23T06:00:00Z)\n");
				return EXIT_USAGE;
			}
			break;
		default:
			return cli_usage("hints");
		}
	}
	if (optind != argc)
		return cli_usage("hints");
	/* -c after the command: read that file instead of the global one. */
	if (conf != NULL) {
		if ((own = malloc(sizeof *own)) == NULL) {
			fprintf(stderr, "dmarcwatch: out of memory\n");
			return EXIT_RUNTIME;
		}
		settings_defaults(own);
		if (settings_load(own, conf, 0, stderr) != 0) {
			fprintf(stderr, "dmarcwatch: configuration has errors "
			    "(dmarcwatch -c %s config check)\n", conf);
			free(own);
			return EXIT_RUNTIME;
		}
		st = own;
		gl.settings = *own;
		gl.config_path = conf;
		gl.config_explicit = 1;
		/* main.c points db_path at the global settings' database
		 * when no -d was given: then this file's wins. */
		if (!db_flag && g->db_path == g->settings.database)
			db = own->database;
	}
	memset(&hc, 0, sizeof hc);
	hc.json_path = out != NULL ? out : nonempty(st->hints.json);
	hc.postfix_dir = nonempty(st->hints.postfix_dir);
	hc.kumomta_file = nonempty(st->hints.kumomta_file);
	hc.pmta_dir = nonempty(st->hints.pmta_dir);
	hc.instance = nonempty(st->hints.instance);
	hc.ttl_hours = st->hints.ttl_hours;
	hc.active_hours = st->hints.active_hours;
	/* Nothing configured: the JSON to stdout, so the command always
	 * shows what it decided. */
	if (hc.json_path == NULL && hc.postfix_dir == NULL &&
	    hc.kumomta_file == NULL && hc.pmta_dir == NULL)
		hc.json_path = "-";

	err_clear(&err);
	prov = cli_providers_path(&gl, prov_flag, provbuf, sizeof provbuf);
	if (prov == NULL)
		fprintf(stderr, "dmarcwatch: no provider profiles found "
		    "(doc/providers.md); using those already in the "
		    "database\n");
	rc = ingest_sendlog_run(db, prov, &st->sender, NULL, NULL, &err);
	if (rc == 0)
		rc = hints_run(db, &hc, now, &sum, &err);
	if (rc < 0) {
		fprintf(stderr, "dmarcwatch: %s%s%s\n", err.where,
		    err.where[0] ? ": " : "", err.msg);
		status = rc == ERR_INVAL ? EXIT_USAGE : EXIT_RUNTIME;
		goto out;
	}
	fprintf(hc.json_path != NULL && strcmp(hc.json_path, "-") == 0 ?
	    stderr : stdout, "hints: sequence %lld, %zu hints (%zu advance, "
	    "%zu hold, %zu reduce, %zu pause) for %zu IPs x %zu providers, "
	    "%zu days gated\n", (long long)sum.seq, sum.hints,
	    sum.by_action[0], sum.by_action[1], sum.by_action[2],
	    sum.by_action[3], sum.ips, sum.providers, sum.gated);
out:
	free(own);
	return status;
}
