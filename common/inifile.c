/* common/inifile.c - see inifile.h. The only file that includes inih. */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

#include "inifile.h"

struct ini_ctx {
	FILE *f;
	const char *mem;          /* ini_read_mem(): the text and what is left */
	size_t mem_left;
	int line;
	int too_long;
	int (*on_key)(void *, const char *, const char *, const char *, int);
	void *ctx;
};

/* fgets-alike that counts lines, so the handler knows where it is. */
static char *
read_line(char *str, int num, void *stream)
{
	struct ini_ctx *c = stream;
	char *r = fgets(str, num, c->f);

	if (r != NULL) {
		size_t n = strlen(r);
		if (n > 0 && r[n - 1] != '\n' && !feof(c->f))
			c->too_long = c->too_long ? c->too_long : c->line + 1;
		c->line++;
	}
	return r;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *c = user;

	(void)c->on_key(c->ctx, section, name, value, c->line);
	return 1;   /* keep going: every error gets reported */
}

int
ini_read(const char *path,
    int (*on_key)(void *ctx, const char *section, const char *key,
    const char *value, int line), void *ctx, struct err *err)
{
	struct ini_ctx c;
	int rc;

	memset(&c, 0, sizeof c);
	c.on_key = on_key;
	c.ctx = ctx;
	if ((c.f = fopen(path, "re")) == NULL) {
		rc = errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
		err_where(err, "%s", path);
		return err_set(err, rc, "cannot open: %s", strerror(errno));
	}
	rc = ini_parse_stream(read_line, &c, handler, &c);
	fclose(c.f);
	if (c.too_long) {
		err_where(err, "%s:%d", path, c.too_long);
		return err_set(err, ERR_TOO_LARGE, "line too long");
	}
	if (rc > 0) {
		err_where(err, "%s:%d", path, rc);
		return err_set(err, ERR_FORMAT, "syntax error");
	}
	if (rc < 0)
		return err_set(err, ERR_IO, "cannot read %s", path);
	return 0;
}

/* Line reader over memory, with the same line counting and overlong-line
 * detection as read_line(). */
static char *
read_mem_line(char *str, int num, void *stream)
{
	struct ini_ctx *c = stream;
	size_t n = 0;

	if (c->mem_left == 0 || num < 2)
		return NULL;
	while (n < (size_t)num - 1 && n < c->mem_left) {
		char ch = c->mem[n];

		str[n++] = ch == '\0' ? ' ' : ch;   /* NUL would cut the line */
		if (ch == '\n')
			break;
	}
	str[n] = '\0';
	c->mem += n;
	c->mem_left -= n;
	if (str[n - 1] != '\n' && c->mem_left > 0)
		c->too_long = c->too_long ? c->too_long : c->line + 1;
	c->line++;
	return str;
}

int
ini_read_mem(const char *text, size_t len, const char *name,
    int (*on_key)(void *ctx, const char *section, const char *key,
    const char *value, int line), void *ctx, struct err *err)
{
	struct ini_ctx c;
	int rc;

	memset(&c, 0, sizeof c);
	c.on_key = on_key;
	c.ctx = ctx;
	c.mem = text;
	c.mem_left = len;
	rc = ini_parse_stream(read_mem_line, &c, handler, &c);
	if (c.too_long) {
		err_where(err, "%s:%d", name, c.too_long);
		return err_set(err, ERR_TOO_LARGE, "line too long");
	}
	if (rc > 0) {
		err_where(err, "%s:%d", name, rc);
		return err_set(err, ERR_FORMAT, "syntax error");
	}
	return rc < 0 ? err_set(err, ERR_NOMEM, "out of memory") : 0;
}
