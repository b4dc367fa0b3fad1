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
	int line;                 /* number of the line being read */
	int mid_line;             /* the last piece did not end its line */
	int long_line;            /* the current line is over inih's buffer */
	int too_long;             /* first such line */
	int has_prev;             /* a key since the last [section]: inih
	                           * takes an indented line as its
	                           * continuation */
	int first_syntax;         /* first line with a syntax error */
	int (*on_key)(void *, const char *, const char *, const char *, int);
	int (*on_syntax)(void *, int, const char *);
	void *ctx;
};

/* Counts handler calls, for classify(). */
static int
count_key(void *user, const char *section, const char *name,
    const char *value)
{
	(void)section; (void)name; (void)value;
	(*(int *)user)++;
	return 1;
}

static void
syntax_error(struct ini_ctx *c, int line, const char *msg)
{
	if (c->first_syntax == 0)
		c->first_syntax = line;
	if (c->on_syntax != NULL)
		(void)c->on_syntax(c->ctx, line, msg);
}

/*
 * inih returns only the first syntax error of a file. To report every
 * one, each whole line is also given to inih alone (after a key line when
 * a key came before it, so that continuation lines are judged as inih
 * judges them in the file): inih's own rules, so no second grammar to
 * keep in step with it.
 */
static void
classify(struct ini_ctx *c, const char *text)
{
	char doc[1024];
	const char *t = text;
	int calls = 0, rc, target;

	if (strlen(text) + 5 > sizeof doc)
		return;
	snprintf(doc, sizeof doc, "%s%s", c->has_prev ? "a=b\n" : "", text);
	target = c->has_prev ? 2 : 1;
	rc = ini_parse_string(doc, count_key, &calls);
	while (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n' ||
	    *t == '\f' || *t == '\v')
		t++;
	if (rc == target)
		syntax_error(c, c->line, *t == '[' ? "syntax error: '[' "
		    "without ']'" : "syntax error: not key = value, "
		    "[section] or a ; or # comment");
	else if (calls > target - 1)
		c->has_prev = 1;        /* a key line, or a continuation */
	else if (*t == '[')
		c->has_prev = 0;        /* a section */
}

/* Book-keeping of one piece read for inih: line numbers, lines longer
 * than inih's buffer (which inih splits into several "lines"), syntax. */
static void
piece(struct ini_ctx *c, const char *r, int at_end)
{
	size_t n = strlen(r);
	int ends = n > 0 && r[n - 1] == '\n';

	if (!c->mid_line) {
		c->line++;
		c->long_line = 0;
	}
	if (c->long_line) {                 /* the rest of a long line */
		c->mid_line = !ends && !at_end;
		return;
	}
	c->mid_line = !ends && !at_end;
	if (c->mid_line) {
		c->long_line = 1;
		if (c->too_long == 0)
			c->too_long = c->line;
		syntax_error(c, c->line, "line too long");
		return;
	}
	classify(c, r);
}

/* fgets-alike that counts lines, so the handler knows where it is. */
static char *
read_line(char *str, int num, void *stream)
{
	struct ini_ctx *c = stream;
	char *r = fgets(str, num, c->f);
	int ch;

	if (r == NULL)
		return NULL;
	/* at the end of the file? (a last line without '\n') */
	ch = fgetc(c->f);
	if (ch != EOF)
		ungetc(ch, c->f);
	piece(c, r, ch == EOF);
	return r;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *c = user;

	/* The pieces of a line too long are not keys. */
	if (!c->long_line)
		(void)c->on_key(c->ctx, section, name, value, c->line);
	return 1;   /* keep going: every error gets reported */
}

/* The result of a read: the first error in err. inih's own first error
 * is reported too if classify() missed it (it should not). */
static int
finish(struct ini_ctx *c, int rc, const char *name, struct err *err)
{
	if (rc > 0 && c->first_syntax == 0)
		syntax_error(c, rc, "syntax error");
	if (c->too_long && c->too_long <= (c->first_syntax ? c->first_syntax :
	    c->too_long)) {
		err_where(err, "%s:%d", name, c->too_long);
		return err_set(err, ERR_TOO_LARGE, "line too long");
	}
	if (c->first_syntax) {
		err_where(err, "%s:%d", name, c->first_syntax);
		return err_set(err, ERR_FORMAT, "syntax error");
	}
	return 0;
}

int
ini_read(const char *path,
    int (*on_key)(void *ctx, const char *section, const char *key,
    const char *value, int line),
    int (*on_syntax)(void *ctx, int line, const char *msg), void *ctx,
    struct err *err)
{
	struct ini_ctx c;
	int rc;

	memset(&c, 0, sizeof c);
	c.on_key = on_key;
	c.on_syntax = on_syntax;
	c.ctx = ctx;
	if ((c.f = fopen(path, "re")) == NULL) {
		rc = errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
		err_where(err, "%s", path);
		return err_set(err, rc, "cannot open: %s", strerror(errno));
	}
	rc = ini_parse_stream(read_line, &c, handler, &c);
	fclose(c.f);
	if (rc < 0)
		return err_set(err, ERR_IO, "cannot read %s", path);
	return finish(&c, rc, path, err);
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
	piece(c, str, c->mem_left == 0);
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
	if (rc < 0)
		return err_set(err, ERR_NOMEM, "out of memory");
	return finish(&c, rc, name, err);
}
