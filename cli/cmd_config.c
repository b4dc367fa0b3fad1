/*
 * cli/cmd_config.c - dmarcwatch [-c FILE] config check
 *
 * Prints every problem as file:line: message and exits 1, or prints
 * "FILE: ok" and exits 0. Used as ExecStartPre= of the service units.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../ingest/sendlog.h"
#include "cli.h"

struct perr {
	const char *path;
	int n;
};

static void
profile_error(void *ctx, int line, const char *msg)
{
	struct perr *pe = ctx;

	if (line > 0)
		printf("%s:%d: %s\n", pe->path, line, msg);
	pe->n++;
}

/*
 * The provider profile file the configuration selects is checked too,
 * and every [sender] target_daily must name a provider in it. Returns
 * the number of problems.
 */
static int
check_profiles(const struct cli_globals *g, const struct settings *s)
{
	struct cli_globals g2 = *g;
	char buf[SETTINGS_PATH_MAX + 32];
	struct profiles *pf = NULL;
	struct perr pe = { NULL, 0 };
	struct err e;
	const char *path;
	int rc;

	g2.settings.providers[0] = '\0';
	snprintf(g2.settings.providers, sizeof g2.settings.providers, "%s",
	    s->providers);
	if ((path = cli_providers_path(&g2, NULL, buf, sizeof buf)) == NULL) {
		printf("%s: note: no provider profile file found "
		    "(doc/providers.md)\n", g->config_path);
		return s->sender.n_targets > 0 ? 1 : 0;
	}
	pe.path = path;
	err_clear(&e);
	rc = ingest_profiles_load(path, profile_error, &pe, &pf, &e);
	if (rc < 0 && pe.n == 0) {
		printf("%s: %s\n", e.where[0] ? e.where : path, e.msg);
		pe.n = 1;
	} else if (rc < 0 && e.where[0] && strstr(e.msg, "syntax") != NULL) {
		printf("%s: %s\n", e.where, e.msg);
	}
	for (size_t i = 0; pf != NULL && i < s->sender.n_targets; i++)
		if (profiles_find(pf, s->sender.targets[i].provider) == NULL) {
			printf("%s:%d: target_daily: unknown provider '%s' (not "
			    "in %s)\n", g->config_path, s->target_line[i],
			    s->sender.targets[i].provider, path);
			pe.n++;
		}
	profiles_free(pf);
	return pe.n;
}

/*
 * Run as root, config check sees files the way root does, but fetch and
 * watch started as root read the [imap] secret file as [general] user,
 * after the switch (cli/privdrop.c): one owned by someone else passes
 * here and fails at the first connect. Checked when the user exists on
 * this machine; a user that does not is a note (the check may run on
 * another machine). Returns the number of problems.
 */
static int
check_run_user(const struct cli_globals *g, const struct settings *s)
{
	const struct imap_config *ic = &s->imap;
	const char *secret, *key;
	struct passwd *pw;
	struct stat sb;

	if (geteuid() != 0 || !ic->present)
		return 0;
	if ((pw = getpwnam(s->run_user)) == NULL) {
		printf("%s: note: [general] user '%s' does not exist here: "
		    "fetch and watch refuse to start as root without it\n",
		    g->config_path, s->run_user);
		return 0;
	}
	if (pw->pw_uid == 0)
		return 0;
	if (ic->auth == IMAP_AUTH_PASSWORD) {
		secret = ic->password_file;
		key = "password_file";
	} else {
		secret = ic->token_file;
		key = "token_file";
	}
	if (secret[0] == '\0' || lstat(secret, &sb) != 0 ||
	    sb.st_uid == pw->pw_uid)
		return 0;   /* missing: reported by settings_load already */
	printf("%s:%d: %s %s belongs to uid %u, but fetch and watch read it "
	    "as %s (uid %u) after leaving root: chown %s %s\n",
	    g->config_path, s->secret_line, key, secret, (unsigned)sb.st_uid,
	    pw->pw_name, (unsigned)pw->pw_uid, pw->pw_name, secret);
	return 1;
}

int
cmd_config(const struct cli_globals *g, int argc, char **argv)
{
	static struct settings s;   /* ~60 KiB with [sender] */
	int problems;

	if (argc != 2 || strcmp(argv[1], "check") != 0)
		return cli_usage("config");
	settings_defaults(&s);
	problems = settings_load(&s, g->config_path, 0, stdout);
	if (problems >= 0)
		problems += check_profiles(g, &s) + check_run_user(g, &s);
	if (problems != 0) {
		if (problems > 0)
			printf("%s: %d error%s\n", g->config_path, problems,
			    problems == 1 ? "" : "s");
		return EXIT_RUNTIME;
	}
	printf("%s: ok\n", g->config_path);
	return EXIT_OK;
}
