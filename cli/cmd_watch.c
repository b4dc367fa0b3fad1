/*
 * cli/cmd_watch.c - dmarcwatch watch [-d DB]
 *
 * Stays connected to the [imap] server (IDLE, else polling), stores each
 * new message and archives it. SIGTERM / SIGINT stop it between messages,
 * SIGHUP re-reads the configuration file.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../common/log.h"
#include "../ingest/imap.h"
#include "cli.h"
#include "privdrop.h"

static volatile sig_atomic_t stop_flag, reload_flag;

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
on_hup(int sig)
{
	(void)sig;
	reload_flag = 1;
}

struct reload_ctx {
	const struct cli_globals *g;
	int db_from_flag;          /* -d given: [general] database unused */
};

static int
reload(void *ctx, struct imap_config *cfg, struct pipeline_opts *opts)
{
	struct reload_ctx *rc = ctx;
	static struct settings s;   /* 100 KiB: not on the stack */
	int problems;

	settings_defaults(&s);
	problems = settings_load(&s, rc->g->config_path,
	    !rc->g->config_explicit, stderr);
	if (problems != 0 || !s.imap.present) {
		log_error("SIGHUP: configuration %s has errors or no [imap]: "
		    "keeping the old one", rc->g->config_path);
		return -1;
	}
	/* What the running process cannot change: it has the database
	 * open, the log target chosen and root dropped. Said, not silently
	 * ignored. */
	if (!rc->db_from_flag &&
	    strcmp(s.database, rc->g->settings.database) != 0)
		log_warnx("SIGHUP: [general] database changed (%s): takes "
		    "effect at the next start", s.database);
	if (s.log_syslog != rc->g->settings.log_syslog)
		log_warnx("SIGHUP: [general] log changed: takes effect at the "
		    "next start");
	if (strcmp(s.run_user, rc->g->settings.run_user) != 0)
		log_warnx("SIGHUP: [general] user changed: takes effect at "
		    "the next start");
	*cfg = s.imap;
	opts->keep_failure_body = s.keep_failure_body;
	return 0;
}

int
cmd_watch(const struct cli_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	static struct imap_config cfg;
	const char *db = g->db_path;
	struct pipeline_opts popts = { 0 };
	struct imap_watch_ctl ctl;
	struct reload_ctx rctx = { g, 0 };
	struct sigaction sa;
	sigset_t wake;
	struct err err;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': db = optarg; break;
		default: return cli_usage("watch");
		}
	}
	if (optind != argc)
		return cli_usage("watch");
	rctx.db_from_flag = db != g->settings.database;
	if (!g->settings.imap.present) {
		fprintf(stderr, "dmarcwatch: watch needs an [imap] section in "
		    "the configuration file (%s; see doc/config.md)\n",
		    g->config_path);
		return EXIT_USAGE;
	}
	if (privdrop(g->settings.run_user) != 0)   /* before network, parsing */
		return EXIT_RUNTIME;
	/* A daemon says what it does: one line per message at info. */
	if (!g->quiet && log_get_level() < LOG_LVL_INFO)
		log_set_level(LOG_LVL_INFO);
	cfg = g->settings.imap;
	popts.keep_failure_body = g->settings.keep_failure_body;

	/* The signals are blocked except while watch waits, so that they
	 * never break a network read or a database write. */
	sigemptyset(&wake);
	sigaddset(&wake, SIGTERM);
	sigaddset(&wake, SIGINT);
	sigaddset(&wake, SIGHUP);
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigprocmask(SIG_BLOCK, &wake, NULL);

	memset(&ctl, 0, sizeof ctl);
	ctl.stop = &stop_flag;
	ctl.reload = &reload_flag;
	ctl.wake = &wake;
	ctl.reload_fn = reload;
	ctl.ctx = &rctx;
	err_clear(&err);
	rc = ingest_imap_watch(db, &cfg, &popts, &ctl, &err);
	if (rc < 0) {
		log_error("%s%s%s", err.msg, err.where[0] ? " at " : "",
		    err.where);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}
