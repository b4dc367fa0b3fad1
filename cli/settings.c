/* cli/settings.c - see settings.h */
#include <stdio.h>
#include <string.h>

#include "../common/inifile.h"
#include "../common/strparse.h"
#include "cli.h"
#include "settings.h"

struct load_ctx {
	struct settings *s;
	const char *path;
	FILE *errs;
	int problems;
};

void
settings_defaults(struct settings *s)
{
	memset(s, 0, sizeof *s);
	snprintf(s->database, sizeof s->database, "%s", DEFAULT_DB);
	s->keep_failure_body = 0;
}

static int
problem(struct load_ctx *c, int line, const char *msg)
{
	fprintf(c->errs, "%s:%d: %s\n", c->path, line, msg);
	c->problems++;
	return 1;
}

static int
parse_bool(const char *v, int *out)
{
	if (sp_casecmp(v, "yes") == 0 || sp_casecmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0 || sp_casecmp(v, "on") == 0)
		*out = 1;
	else if (sp_casecmp(v, "no") == 0 || sp_casecmp(v, "false") == 0 ||
	    strcmp(v, "0") == 0 || sp_casecmp(v, "off") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int
on_key(void *ctx, const char *section, const char *key, const char *value,
    int line)
{
	struct load_ctx *c = ctx;

	if (strcmp(section, "general") == 0 && strcmp(key, "database") == 0) {
		if (value[0] == '\0' ||
		    strlen(value) >= sizeof c->s->database)
			return problem(c, line, "database: needs a path "
			    "(shorter than 4096 bytes)");
		snprintf(c->s->database, sizeof c->s->database, "%s", value);
		return 0;
	}
	if (strcmp(section, "failure") == 0 &&
	    strcmp(key, "keep_original_body") == 0) {
		if (parse_bool(value, &c->s->keep_failure_body) != 0)
			return problem(c, line, "keep_original_body: not yes "
			    "or no");
		return 0;
	}
	{
		char msg[600];
		if (section[0] == '\0')
			snprintf(msg, sizeof msg, "'%.200s': key outside any "
			    "[section]", key);
		else
			snprintf(msg, sizeof msg, "unknown key '%.200s' in "
			    "[%.200s]", key, section);
		return problem(c, line, msg);
	}
}

int
settings_load(struct settings *s, const char *path, int missing_ok,
    FILE *errs)
{
	struct load_ctx c = { s, path, errs, 0 };
	struct err e;
	int rc;

	err_clear(&e);
	rc = ini_read(path, on_key, &c, &e);
	if (rc == ERR_NOTFOUND && missing_ok)
		return 0;
	if (rc != 0) {
		fprintf(errs, "%s: %s\n", e.where[0] ? e.where : path, e.msg);
		return rc == ERR_FORMAT || rc == ERR_TOO_LARGE ?
		    c.problems + 1 : -1;
	}
	return c.problems;
}
