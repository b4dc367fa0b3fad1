/* common/err.c - see err.h */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

/* Control characters from hostile input must not reach a terminal or log:
 * replace them after formatting. */
static void
scrub(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int
err_set(struct err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	scrub(e->msg);
	return code;
}

void
err_where(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(e->where, sizeof e->where, fmt, ap);
	va_end(ap);
	scrub(e->where);
}

void
err_where_prefix(struct err *e, const char *fmt, ...)
{
	char pre[sizeof e->where], old[sizeof e->where];
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, e->where, sizeof old);
	/* Truncation is fine here: where is a hint for people. */
	size_t cap = sizeof e->where - 1, n = 0, k;
	k = strlen(pre);
	if (k > cap)
		k = cap;
	memcpy(e->where, pre, k);
	n = k;
	if (old[0] != '\0') {
		const char *parts[2] = { ": ", old };
		for (int i = 0; i < 2; i++) {
			k = strlen(parts[i]);
			if (k > cap - n)
				k = cap - n;
			memcpy(e->where + n, parts[i], k);
			n += k;
		}
	}
	e->where[n] = '\0';
	scrub(e->where);
}

void
err_clear(struct err *e)
{
	if (e == NULL)
		return;
	e->code = 0;
	e->where[0] = '\0';
	e->msg[0] = '\0';
}

static const struct {
	int code;
	const char *token;
	const char *text;
} codes[] = {
	{ ERR_OK,          "ok",          "success" },
	{ ERR_NOMEM,       "nomem",       "out of memory" },
	{ ERR_IO,          "io",          "input/output error" },
	{ ERR_TOO_LARGE,   "too_large",   "input exceeds a limit" },
	{ ERR_FORMAT,      "format",      "malformed input" },
	{ ERR_UNSUPPORTED, "unsupported", "unsupported input" },
	{ ERR_HOSTILE,     "hostile",     "refused hostile input" },
	{ ERR_NOREPORT,    "noreport",    "no report found" },
	{ ERR_DB,          "db",          "database error" },
	{ ERR_BUSY,        "busy",        "database busy" },
	{ ERR_INVAL,       "inval",       "invalid argument" },
	{ ERR_NOTFOUND,    "notfound",    "not found" },
	{ ERR_STOPPED,     "stopped",     "stopped" },
	{ ERR_NET,         "net",         "network error" },
	{ ERR_TLS,         "tls",         "TLS verification failed" },
	{ ERR_AUTH,        "auth",        "authentication failed" },
	{ ERR_TRUNCATED,   "truncated",   "truncated input" },
};

const char *
err_str(int code)
{
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (codes[i].code == code)
			return codes[i].text;
	return "unknown error";
}

const char *
err_token(int code)
{
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (codes[i].code == code)
			return codes[i].token;
	return "unknown";
}

int
err_is_transient(int code)
{
	return code == ERR_NOMEM || code == ERR_IO || code == ERR_DB ||
	    code == ERR_BUSY || code == ERR_NET;
}
