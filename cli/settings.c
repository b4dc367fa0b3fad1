/* cli/settings.c - see settings.h */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
	imap_config_defaults(&s->imap);
	snprintf(s->run_user, sizeof s->run_user, "%s", SETTINGS_DEFAULT_USER);
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

/* Copies a string value into a fixed field; 1 (a problem) if too long
 * or empty. */
static int
set_str(struct load_ctx *c, int line, const char *key, const char *value,
    char *out, size_t cap)
{
	char msg[300];

	if (value[0] == '\0' || strlen(value) >= cap) {
		snprintf(msg, sizeof msg, "%s: needs a value shorter than %zu "
		    "bytes", key, cap);
		return problem(c, line, msg);
	}
	snprintf(out, cap, "%s", value);
	return 0;
}

static int
set_uint(struct load_ctx *c, int line, const char *key, const char *value,
    unsigned lo, unsigned hi, unsigned *out)
{
	uint64_t v;
	char msg[300];

	if (sp_uint64_all(value, strlen(value), &v, hi) != 0 || v < lo) {
		snprintf(msg, sizeof msg, "%s: not a number from %u to %u",
		    key, lo, hi);
		return problem(c, line, msg);
	}
	*out = (unsigned)v;
	return 0;
}

/* folders = INBOX, Reports/DMARC: comma-separated, blanks trimmed. */
static int
set_folders(struct load_ctx *c, int line, const char *value)
{
	struct imap_config *ic = &c->s->imap;
	const char *p = value;

	ic->n_folders = 0;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char name[LIM_IMAP_NAME_BYTES];

		if (n >= sizeof name)
			return problem(c, line, "folders: a folder name is "
			    "longer than LIM_IMAP_NAME_BYTES");
		memcpy(name, p, n);
		name[n] = '\0';
		sp_trim(name);
		if (name[0] != '\0') {
			if (ic->n_folders == LIM_IMAP_FOLDERS)
				return problem(c, line, "folders: more than "
				    "LIM_IMAP_FOLDERS (16)");
			snprintf(ic->folders[ic->n_folders++],
			    sizeof ic->folders[0], "%s", name);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (ic->n_folders == 0)
		return problem(c, line, "folders: empty list");
	return 0;
}

static int
on_imap_key(struct load_ctx *c, const char *key, const char *value,
    int line)
{
	struct imap_config *ic = &c->s->imap;

	ic->present = 1;
	if (c->s->imap_line == 0)
		c->s->imap_line = line;
	if (strcmp(key, "host") == 0)
		return set_str(c, line, key, value, ic->host, sizeof ic->host);
	if (strcmp(key, "port") == 0)
		return set_uint(c, line, key, value, 1, 65535, &ic->port);
	if (strcmp(key, "tls") == 0) {
		if (strcmp(value, "implicit") == 0)
			ic->tls = IMAP_TLS_IMPLICIT;
		else if (strcmp(value, "starttls") == 0)
			ic->tls = IMAP_TLS_STARTTLS;
		else if (strcmp(value, "none") == 0)
			ic->tls = IMAP_TLS_NONE;
		else
			return problem(c, line, "tls: not implicit, starttls "
			    "or none");
		return 0;
	}
	if (strcmp(key, "tls_verify") == 0) {
		if (parse_bool(value, &ic->tls_verify) != 0)
			return problem(c, line, "tls_verify: not yes or no");
		return 0;
	}
	if (strcmp(key, "ca_file") == 0)
		return set_str(c, line, key, value, ic->ca_file,
		    sizeof ic->ca_file);
	if (strcmp(key, "user") == 0)
		return set_str(c, line, key, value, ic->user, sizeof ic->user);
	if (strcmp(key, "auth") == 0) {
		if (strcmp(value, "password") == 0)
			ic->auth = IMAP_AUTH_PASSWORD;
		else if (strcmp(value, "xoauth2") == 0)
			ic->auth = IMAP_AUTH_XOAUTH2;
		else
			return problem(c, line, "auth: not password or "
			    "xoauth2");
		return 0;
	}
	if (strcmp(key, "password_file") == 0 ||
	    strcmp(key, "token_file") == 0 ||
	    strcmp(key, "token_command") == 0) {
		char *out = key[0] == 'p' ? ic->password_file :
		    strcmp(key, "token_file") == 0 ? ic->token_file :
		    ic->token_command;
		c->s->secret_line = line;
		return set_str(c, line, key, value, out, IMAP_PATH_BYTES);
	}
	if (strcmp(key, "folders") == 0) {
		c->s->folders_line = line;
		return set_folders(c, line, value);
	}
	if (strcmp(key, "archive_folder") == 0)
		return set_str(c, line, key, value, ic->archive_folder,
		    sizeof ic->archive_folder);
	if (strcmp(key, "delete_after") == 0) {
		if (parse_bool(value, &ic->delete_after) != 0)
			return problem(c, line, "delete_after: not yes or no");
		return 0;
	}
	if (strcmp(key, "non_reports") == 0) {
		if (strcmp(value, "invalid") == 0)
			ic->non_reports = IMAP_NONREPORT_INVALID;
		else if (strcmp(value, "leave") == 0)
			ic->non_reports = IMAP_NONREPORT_LEAVE;
		else
			return problem(c, line, "non_reports: not invalid or "
			    "leave");
		return 0;
	}
	if (strcmp(key, "batch") == 0)
		return set_uint(c, line, key, value, 1, LIM_IMAP_BATCH,
		    &ic->batch);
	if (strcmp(key, "poll_interval") == 0)
		return set_uint(c, line, key, value, 1, 86400,
		    &ic->poll_interval);
	{
		char msg[300];
		snprintf(msg, sizeof msg, "unknown key '%.200s' in [imap]",
		    key);
		return problem(c, line, msg);
	}
}

/*
 * 1 when folder is the archive folder or lies under it: with delimiter
 * '/' or '.' (the server's, unknown here) or as the flat name
 * "<archive>-<subfolder>" used by servers without a hierarchy. Reading
 * such a folder would move its messages round on every pass.
 */
static int
under_archive(const char *folder, const char *archive)
{
	static const char *const subs[] = {
		"aggregate", "tlsrpt", "failure", "invalid", "unsaved",
	};
	size_t n = strlen(archive);

	if (strncmp(folder, archive, n) != 0)
		return 0;
	if (folder[n] == '\0' || folder[n] == '/' || folder[n] == '.')
		return 1;
	if (folder[n] == '-')
		for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
			if (strcmp(folder + n + 1, subs[i]) == 0)
				return 1;
	return 0;
}

/* Checks that need the whole [imap] section. */
static void
check_imap(struct load_ctx *c)
{
	struct imap_config *ic = &c->s->imap;
	int l = c->s->imap_line, sl = c->s->secret_line ? c->s->secret_line : l;
	struct err e;

	if (!ic->present)
		return;
	if (ic->host[0] == '\0')
		problem(c, l, "[imap] needs host");
	if (ic->user[0] == '\0')
		problem(c, l, "[imap] needs user");
	if (ic->tls == IMAP_TLS_NONE && strcmp(ic->host, "127.0.0.1") != 0 &&
	    strcmp(ic->host, "::1") != 0)
		problem(c, l, "tls = none is only allowed with host = "
		    "127.0.0.1 or ::1 (passwords in plain text)");
	if (ic->auth == IMAP_AUTH_PASSWORD) {
		if (ic->password_file[0] == '\0')
			problem(c, sl, "[imap] needs password_file (or auth = "
			    "xoauth2 with token_command or token_file)");
		else {
			err_clear(&e);
			if (imap_secret_file_check(ic->password_file, &e) != 0)
				problem(c, sl, e.msg);
		}
	} else {
		if ((ic->token_command[0] != '\0') ==
		    (ic->token_file[0] != '\0'))
			problem(c, sl, "auth = xoauth2 needs exactly one of "
			    "token_command and token_file");
		else if (ic->token_file[0] != '\0') {
			err_clear(&e);
			if (imap_secret_file_check(ic->token_file, &e) != 0)
				problem(c, sl, e.msg);
		}
	}
	for (size_t i = 0; i < ic->n_folders; i++)
		if (under_archive(ic->folders[i], ic->archive_folder)) {
			char msg[3 * LIM_IMAP_NAME_BYTES];
			snprintf(msg, sizeof msg, "folders: '%s' is the "
			    "archive_folder '%s' or lies under it (its "
			    "messages would be moved round on every pass)",
			    ic->folders[i], ic->archive_folder);
			problem(c, c->s->folders_line ? c->s->folders_line : l,
			    msg);
		}
	if (ic->n_folders == 0 && under_archive("INBOX", ic->archive_folder))
		problem(c, l, "archive_folder: INBOX (the folder read) "
		    "cannot be the archive");
	if (ic->ca_file[0] != '\0' && access(ic->ca_file, R_OK) != 0) {
		char msg[IMAP_PATH_BYTES + 64];
		snprintf(msg, sizeof msg, "ca_file %s: %s", ic->ca_file,
		    strerror(errno));
		problem(c, l, msg);
	}
}

/* Splits a comma-separated list, calling item() for each trimmed,
 * non-empty element. Stops at the first problem (returned). */
static int
each_item(struct load_ctx *c, int line, const char *v,
    int (*item)(struct load_ctx *, int, const char *))
{
	char buf[1024];
	const char *p = v;

	while (*p != '\0') {
		const char *b = p;
		size_t n;

		while (*p != '\0' && *p != ',')
			p++;
		n = (size_t)(p - b);
		if (*p == ',')
			p++;
		if (n >= sizeof buf)
			return problem(c, line, "list item too long");
		memcpy(buf, b, n);
		buf[n] = '\0';
		sp_trim(buf);
		if (buf[0] != '\0' && item(c, line, buf) != 0)
			return 1;
	}
	return 0;
}

static int
add_ip(struct load_ctx *c, int line, const char *v)
{
	struct sender_config *sc = &c->s->sender;
	char msg[300];

	if (sc->n_ips >= LIM_SENDER_IPS)
		return problem(c, line, "ips: more than LIM_SENDER_IPS (256)");
	if (ingest_canon_ip(v, sc->ips[sc->n_ips]) != 0) {
		snprintf(msg, sizeof msg, "ips: '%.100s' is not an IP address",
		    v);
		return problem(c, line, msg);
	}
	sc->n_ips++;
	return 0;
}

static int
domain_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 253 || v[0] == '.' || v[n - 1] == '.' ||
	    strchr(v, '.') == NULL)
		return 0;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_'))
			return 0;
	return 1;
}

static int
add_domain(struct load_ctx *c, int line, const char *v)
{
	struct sender_config *sc = &c->s->sender;
	char msg[300];

	if (sc->n_domains >= LIM_SENDER_DOMAINS)
		return problem(c, line, "domains: more than LIM_SENDER_DOMAINS "
		    "(64)");
	if (!domain_ok(v)) {
		snprintf(msg, sizeof msg, "domains: '%.100s' is not a domain",
		    v);
		return problem(c, line, msg);
	}
	snprintf(sc->domains[sc->n_domains], sizeof sc->domains[0], "%s", v);
	sp_lower(sc->domains[sc->n_domains]);
	sc->n_domains++;
	return 0;
}

/* "provider:number" */
static int
add_target(struct load_ctx *c, int line, const char *v)
{
	struct sender_config *sc = &c->s->sender;
	const char *colon = strchr(v, ':');
	struct sender_target *t;
	char msg[300];
	size_t n;

	if (sc->n_targets >= LIM_SENDER_TARGETS)
		return problem(c, line, "target_daily: too many entries");
	t = &sc->targets[sc->n_targets];
	n = colon != NULL ? (size_t)(colon - v) : 0;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (colon == NULL || n == 0 || n >= sizeof t->provider ||
	    sp_uint64_all(colon + 1 + strspn(colon + 1, " \t"),
	    strlen(colon + 1 + strspn(colon + 1, " \t")), &t->daily,
	    100000000u) != 0) {
		snprintf(msg, sizeof msg, "target_daily: expected "
		    "provider:messages_per_day, got '%.100s'", v);
		return problem(c, line, msg);
	}
	memcpy(t->provider, v, n);
	t->provider[n] = '\0';
	sp_lower(t->provider);
	c->s->target_line[sc->n_targets] = line;
	sc->n_targets++;
	return 0;
}

/* "transport:ip" */
static int
add_transport(struct load_ctx *c, int line, const char *v)
{
	struct sender_config *sc = &c->s->sender;
	const char *colon = strchr(v, ':');
	struct sender_transport *t;
	char msg[300];
	size_t n;

	if (sc->n_transports >= LIM_SENDER_TRANSPORTS)
		return problem(c, line, "transport_ip: more than "
		    "LIM_SENDER_TRANSPORTS (64)");
	t = &sc->transports[sc->n_transports];
	n = colon != NULL ? (size_t)(colon - v) : 0;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (colon == NULL || n == 0 || n >= sizeof t->transport ||
	    ingest_canon_ip(colon + 1 + strspn(colon + 1, " \t"), t->ip) != 0) {
		snprintf(msg, sizeof msg, "transport_ip: expected "
		    "transport:ip, got '%.100s'", v);
		return problem(c, line, msg);
	}
	memcpy(t->transport, v, n);
	t->transport[n] = '\0';
	sc->n_transports++;
	return 0;
}

/* [hints]: output paths and two numbers (doc/config.md). */
static int
hints_key(struct load_ctx *c, const char *key, const char *value, int line)
{
	struct settings_hints *h = &c->s->hints;
	char *dst = NULL;
	size_t dsz = 0;
	uint64_t u;

	if (strcmp(key, "json") == 0) {
		dst = h->json;
		dsz = sizeof h->json;
	} else if (strcmp(key, "postfix_dir") == 0) {
		dst = h->postfix_dir;
		dsz = sizeof h->postfix_dir;
	} else if (strcmp(key, "kumomta_file") == 0) {
		dst = h->kumomta_file;
		dsz = sizeof h->kumomta_file;
	} else if (strcmp(key, "pmta_dir") == 0) {
		dst = h->pmta_dir;
		dsz = sizeof h->pmta_dir;
	} else if (strcmp(key, "instance") == 0) {
		dst = h->instance;
		dsz = sizeof h->instance;
	} else if (strcmp(key, "ttl_hours") == 0 ||
	    strcmp(key, "active_hours") == 0) {
		uint64_t max = key[0] == 't' ? 48 : 24;
		if (sp_uint64_all(value, strlen(value), &u, max) != 0 || u == 0)
			return problem(c, line, key[0] == 't' ?
			    "ttl_hours: 1..48" : "active_hours: 1..24");
		if (key[0] == 't')
			h->ttl_hours = (unsigned)u;
		else
			h->active_hours = (unsigned)u;
		return 0;
	} else {
		return -1;
	}
	if (value[0] == '\0' || strlen(value) >= dsz)
		return problem(c, line, "[hints]: needs a value (a path "
		    "shorter than 4096 bytes)");
	snprintf(dst, dsz, "%s", value);
	return 0;
}

/* [general] user: a login name (letters, digits, '.', '_', '-'; not
 * starting with '-'), at most 32 bytes. Whether it exists is checked when
 * fetch or watch drop privileges (cli/privdrop.c), not here: config check
 * may run on another machine. */
static int
set_user(struct load_ctx *c, int line, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n >= SETTINGS_USER_MAX || v[0] == '-')
		return problem(c, line, "user: needs a user name of 1 to 32 "
		    "characters");
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return problem(c, line, "user: letters, digits, '.', "
			    "'_' and '-' only");
	snprintf(c->s->run_user, sizeof c->s->run_user, "%s", v);
	return 0;
}

static int
on_key(void *ctx, const char *section, const char *key, const char *value,
    int line)
{
	struct load_ctx *c = ctx;

	if (strcmp(section, "imap") == 0)
		return on_imap_key(c, key, value, line);

	if (strcmp(section, "general") == 0 && strcmp(key, "database") == 0) {
		if (value[0] == '\0' ||
		    strlen(value) >= sizeof c->s->database)
			return problem(c, line, "database: needs a path "
			    "(shorter than 4096 bytes)");
		snprintf(c->s->database, sizeof c->s->database, "%s", value);
		return 0;
	}
	if (strcmp(section, "general") == 0 && strcmp(key, "providers") == 0) {
		if (value[0] == '\0' ||
		    strlen(value) >= sizeof c->s->providers)
			return problem(c, line, "providers: needs a path "
			    "(shorter than 4096 bytes)");
		snprintf(c->s->providers, sizeof c->s->providers, "%s", value);
		return 0;
	}
	if (strcmp(section, "general") == 0 && strcmp(key, "user") == 0)
		return set_user(c, line, value);
	if (strcmp(section, "general") == 0 && strcmp(key, "log") == 0) {
		if (strcmp(value, "syslog") == 0)
			c->s->log_syslog = 1;
		else if (strcmp(value, "stderr") == 0)
			c->s->log_syslog = 0;
		else
			return problem(c, line, "log: not stderr or syslog");
		return 0;
	}
	if (strcmp(section, "sender") == 0) {
		if (strcmp(key, "ips") == 0)
			return each_item(c, line, value, add_ip);
		if (strcmp(key, "domains") == 0)
			return each_item(c, line, value, add_domain);
		if (strcmp(key, "target_daily") == 0)
			return each_item(c, line, value, add_target);
		if (strcmp(key, "transport_ip") == 0)
			return each_item(c, line, value, add_transport);
	}
	if (strcmp(section, "hints") == 0) {
		int rc = hints_key(c, key, value, line);
		if (rc >= 0)
			return rc;
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

static int
on_syntax(void *ctx, int line, const char *msg)
{
	return problem(ctx, line, msg);
}

int
settings_load(struct settings *s, const char *path, int missing_ok,
    FILE *errs)
{
	struct load_ctx c = { s, path, errs, 0 };
	struct err e;
	int rc;

	err_clear(&e);
	rc = ini_read(path, on_key, on_syntax, &c, &e);
	if (rc == ERR_NOTFOUND && missing_ok)
		return 0;
	if (rc != 0 && rc != ERR_FORMAT && rc != ERR_TOO_LARGE) {
		fprintf(errs, "%s: %s\n", e.where[0] ? e.where : path, e.msg);
		return -1;
	}
	/* Also after syntax errors (each printed by on_syntax): every
	 * problem of the file in one run. */
	check_imap(&c);
	return c.problems;
}
