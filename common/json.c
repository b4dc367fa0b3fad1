/* common/json.c - see json.h. The only file that includes jansson. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "json.h"
#include "limits.h"

/*
 * Allocation failures inside jansson 2.14's lexer (all found by the
 * allocation-failure sweep): some come back as syntax errors ("string or
 * '}' expected"), so a report would be rejected for good instead of
 * retried; a failed growth of its token buffer is ignored and the byte
 * dropped: the parse may succeed with a damaged string, or, when the
 * dropped byte is a closing quote, the string decoder runs past the
 * buffer (heap overflow, abort in malloc). So:
 * - jansson's allocations go through these wrappers, which note a failure
 *   per thread; jv_parse() turns any parse after one, failed or not, into
 *   ERR_NOMEM;
 * - a failed allocation during a parse is served from a reserve made
 *   before the parse (room for the biggest token buffer growth), so the
 *   lexer never loses a byte;
 * - jansson reads the document one byte at a time through feed(), which
 *   ends the input right after a failure: the parse stops within the
 *   token, before it needs more than the reserve.
 */
static _Thread_local int alloc_failed;
static _Thread_local unsigned char *reserve;   /* this parse's, or NULL */
static _Thread_local size_t reserve_len, reserve_used;
static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

static void *
noting_malloc(size_t n)
{
	void *p = malloc(n);
	size_t a = (n + 15) & ~(size_t)15;

	if (p == NULL) {
		alloc_failed = 1;
		if (reserve != NULL && a >= n &&
		    a <= reserve_len - reserve_used) {
			p = reserve + reserve_used;
			reserve_used += a;
		}
	}
	return p;
}

static void
noting_free(void *p)
{
	/* reserve blocks go with the reserve, at the end of the parse */
	if (reserve != NULL && (unsigned char *)p >= reserve &&
	    (unsigned char *)p < reserve + reserve_len)
		return;
	free(p);
}

static void
install_alloc(void)
{
	json_set_alloc_funcs(noting_malloc, noting_free);
}

struct feed {
	const unsigned char *p;
	size_t len, pos;
};

/* json_load_callback() input: one byte per call, none after a failed
 * allocation ((size_t)-1: jansson's "premature end of input"). */
static size_t
feed(void *buf, size_t buflen, void *data)
{
	struct feed *f = data;

	if (alloc_failed)
		return (size_t)-1;
	if (f->pos >= f->len || buflen == 0)
		return 0;
	*(unsigned char *)buf = f->p[f->pos++];
	return 1;
}

/* struct jv is jansson's json_t; the cast keeps jansson out of headers. */
#define J(v) ((json_t *)(v))
#define V(j) ((struct jv *)(j))

struct jv *jv_object(void) { return V(json_object()); }
struct jv *jv_array(void) { return V(json_array()); }

struct jv *
jv_str(const char *s)
{
	/* Invalid UTF-8 from hostile input must not make the value vanish:
	 * store what is valid and drop the rest (callers validate first). */
	if (s == NULL)
		return V(json_null());
	json_t *j = json_string(s);
	if (j == NULL)
		j = json_string("\xef\xbf\xbd");
	return V(j);
}

struct jv *jv_int(int64_t v) { return V(json_integer((json_int_t)v)); }

int
jv_set(struct jv *obj, const char *key, struct jv *val)
{
	if (val == NULL)
		return ERR_NOMEM;
	return json_object_set_new(J(obj), key, J(val)) == 0 ? 0 : ERR_NOMEM;
}

int jv_set_str(struct jv *o, const char *k, const char *s) { return jv_set(o, k, jv_str(s)); }
int jv_set_int(struct jv *o, const char *k, int64_t v) { return jv_set(o, k, jv_int(v)); }
int jv_set_real(struct jv *o, const char *k, double v) { return jv_set(o, k, V(json_real(v))); }
int jv_set_bool(struct jv *o, const char *k, int v) { return jv_set(o, k, V(json_boolean(v))); }

int
jv_append(struct jv *arr, struct jv *val)
{
	if (val == NULL)
		return ERR_NOMEM;
	return json_array_append_new(J(arr), J(val)) == 0 ? 0 : ERR_NOMEM;
}

int
jv_dump(const struct jv *v, FILE *f, int indent)
{
	/* Reals (percentages rounded to 2 decimals) print as 81.62, not
	 * as the 17-digit 81.620000000000005 jansson writes by default. */
	size_t flags = JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII * 0 |
	    JSON_REAL_PRECISION(15);

	if (indent > 0)
		flags |= JSON_INDENT(indent);
	else
		flags |= JSON_COMPACT;
	if (json_dumpf(J(v), f, flags) != 0 || fputc('\n', f) == EOF)
		return ERR_IO;
	return 0;
}

int
jv_dump_prec(const struct jv *v, FILE *f, int indent, int real_digits)
{
	size_t flags = JSON_PRESERVE_ORDER;

	if (real_digits < 1 || real_digits > 17)
		return ERR_INVAL;
	flags |= JSON_REAL_PRECISION(real_digits);
	flags |= indent > 0 ? JSON_INDENT(indent) : JSON_COMPACT;
	if (json_dumpf(J(v), f, flags) != 0 || fputc('\n', f) == EOF)
		return ERR_IO;
	return 0;
}

void
jv_free(struct jv *v)
{
	json_decref(J(v));
}

/* ------------------------------------------------------------------ */
/* read side */

/*
 * Depth pre-scan. jansson recurses once per nesting level (up to its own
 * JSON_PARSER_MAX_DEPTH of 2048, too deep for a 16 MB document to be
 * harmless and far above what any report needs), so nesting is counted
 * here, chunk by chunk as the bytes arrive, and a deep document is refused
 * before jansson sees it. Strings are skipped with the same rule jansson's
 * lexer applies ('"' opens, '\' escapes one byte, '"' closes): up to the
 * first point where jansson would fail, both agree on what is string and
 * what is structure, so the count bounds jansson's recursion.
 */
struct prescan {
	int depth, max_depth;
	int in_str, esc;
	size_t tok, max_tok;         /* bytes of a token (string, number,
	                              * literal): the lexer's buffer */
	unsigned long line, col;     /* of the byte being scanned, 1-based */
	unsigned long tokens;        /* '[', '{', ',', ':' seen */
	int bad;                     /* 1: too deep, 2: unbalanced, 3: too
	                              * many values */
};

static void
prescan(struct prescan *s, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n && s->bad == 0; i++) {
		unsigned char c = p[i];

		if (c == '\n') {
			s->line++;
			s->col = 0;
		} else if ((c & 0xc0) != 0x80) {
			s->col++;    /* characters, as jansson counts */
		}
		if (s->in_str || (c != ' ' && c != '\t' && c != '\r' &&
		    c != '\n' && c != ',' && c != ':' && c != '[' && c != ']' &&
		    c != '{' && c != '}')) {
			if (++s->tok > s->max_tok)
				s->max_tok = s->tok;
		} else {
			s->tok = 0;
		}
		if (s->in_str) {
			if (s->esc)
				s->esc = 0;
			else if (c == '\\')
				s->esc = 1;
			else if (c == '"') {
				s->in_str = 0;
				s->tok = 0;
			}
			continue;
		}
		switch (c) {
		case '"':
			s->in_str = 1;
			break;
		case '[':
		case '{':
			if (++s->depth > s->max_depth)
				s->bad = 1;
			else if (++s->tokens > LIM_JSON_VALUES)
				s->bad = 3;
			break;
		case ',':
		case ':':
			/* each precedes one more value (or member) */
			if (++s->tokens > LIM_JSON_VALUES)
				s->bad = 3;
			break;
		case ']':
		case '}':
			/* jansson fails here too; stop counting so a later
			 * "[[[[" cannot hide below zero */
			if (--s->depth < 0)
				s->bad = 2;
			break;
		default:
			break;
		}
	}
}

/* Copies a jansson message into out, keeping printable ASCII only (the
 * "near '...'" part quotes the input) and at most outsz - 1 bytes. */
static void
clean_msg(char *out, size_t outsz, const char *in)
{
	size_t n = 0;

	for (; *in != '\0' && n + 1 < outsz; in++) {
		unsigned char c = (unsigned char)*in;
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
}

/* jansson says: duplicate object key near '"name"'. We say which key, if
 * it is short and printable; otherwise just that it was duplicated. */
static void
dup_key_msg(char *out, size_t outsz, const char *text)
{
	const char *a = strstr(text, "near '\"");
	const char *b;
	size_t n;

	if (a != NULL) {
		a += 7;
		b = strstr(a, "\"'");
		n = b != NULL ? (size_t)(b - a) : 0;
		if (b != NULL && n > 0 && n <= 64) {
			char key[65];
			clean_msg(key, n + 1 < sizeof key ? n + 1 : sizeof key,
			    a);
			snprintf(out, outsz, "duplicate key '%s'", key);
			return;
		}
	}
	snprintf(out, outsz, "duplicate key");
}

/* The cap's name in messages when the caller used the standard one. */
static const char *
bytes_cap_name(size_t max)
{
	return max == LIM_JSON_BYTES ? "LIM_JSON_BYTES" : "the byte cap";
}

int
jv_parse(struct reader *in, size_t max_bytes, int max_depth,
    struct jv **out, struct err *err)
{
	struct prescan ps = { .max_depth = max_depth, .line = 1 };
	unsigned char chunk[65536];
	struct buf b;
	json_error_t je;
	json_t *root = NULL;
	struct feed fd;
	size_t got, skip = 0;
	int rc = 0;

	*out = NULL;
	buf_init(&b, max_bytes);
	for (;;) {
		rc = in->read(in->ctx, chunk, sizeof chunk, &got);
		if (rc != 0) {
			if (err != NULL && err->msg[0] == '\0')
				err_set(err, rc, "reading JSON: %s",
				    err_str(rc));
			goto out;
		}
		if (got == 0)
			break;
		rc = buf_append(&b, chunk, got);
		if (rc == ERR_TOO_LARGE) {
			err_where(err, "byte %zu", max_bytes);
			err_set(err, rc, "JSON document exceeds %s (%zu bytes)",
			    bytes_cap_name(max_bytes), max_bytes);
			goto out;
		}
		if (rc != 0) {
			err_set(err, rc, "reading JSON: %s", err_str(rc));
			goto out;
		}
		prescan(&ps, chunk, got);
		if (ps.bad == 1) {
			err_where(err, "line %lu column %lu", ps.line, ps.col);
			rc = err_set(err, ERR_TOO_LARGE, "JSON nesting deeper "
			    "than %s (%d)", max_depth == LIM_JSON_DEPTH ?
			    "LIM_JSON_DEPTH" : "the depth cap", max_depth);
			goto out;
		}
		if (ps.bad == 3) {
			err_where(err, "line %lu column %lu", ps.line, ps.col);
			rc = err_set(err, ERR_TOO_LARGE, "more JSON values "
			    "than LIM_JSON_VALUES (%u)", LIM_JSON_VALUES);
			goto out;
		}
		if (ps.bad == 2) {
			err_where(err, "line %lu column %lu", ps.line, ps.col);
			rc = err_set(err, ERR_FORMAT, "unbalanced ']' or '}'");
			goto out;
		}
	}
	/* RFC 8259 8.1: a parser may ignore a byte order mark. */
	if (b.len >= 3 && memcmp(b.data, "\xef\xbb\xbf", 3) == 0)
		skip = 3;
	/* No JSON_ALLOW_NUL: "\u0000" stays an error, so every string is a
	 * C string. No JSON_DISABLE_EOF_CHECK: trailing white space is fine,
	 * anything else after the value is an error. */
	pthread_once(&alloc_once, install_alloc);
	/* The lexer's token buffer doubles: its last growth is under twice
	 * the longest token; two may come before the parse stops (a UTF-8
	 * sequence is read whole). Untouched, the reserve costs no memory. */
	reserve_len = 6 * (ps.max_tok + 16) + 4096;
	reserve_used = 0;
	if ((reserve = malloc(reserve_len)) == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory parsing JSON");
		goto out;
	}
	alloc_failed = 0;
	fd.p = b.data != NULL ? b.data + skip : (const unsigned char *)"";
	fd.len = b.len - skip;
	fd.pos = 0;
	root = json_load_callback(feed, &fd, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY, &je);
	if (root == NULL) {
		char msg[200];

		if (alloc_failed ||
		    json_error_code(&je) == json_error_out_of_memory) {
			rc = err_set(err, ERR_NOMEM, "out of memory parsing "
			    "JSON");
			goto out;
		}
		if (json_error_code(&je) == json_error_duplicate_key) {
			dup_key_msg(msg, sizeof msg, je.text);
		} else {
			/* "... near '<token>'" quotes the input (a whole
			 * string up to the bad byte): keep only the what */
			char *near = strstr(je.text, " near '");
			if (near != NULL)
				*near = '\0';
			clean_msg(msg, sizeof msg, je.text);
		}
		/* the position goes in where only: said once (L3) */
		err_where(err, "line %d column %d", je.line, je.column);
		rc = err_set(err, ERR_FORMAT, "%s", msg);
		goto out;
	}
	if (alloc_failed) {
		/* Parsed, but maybe from the reserve (and it goes now) or
		 * with a byte lost: see above. */
		json_decref(root);
		rc = err_set(err, ERR_NOMEM, "out of memory parsing JSON");
		goto out;
	}
	*out = V(root);
	rc = 0;
out:
	free(reserve);
	reserve = NULL;
	buf_free(&b);
	return rc;
}

enum jv_type
jv_type(const struct jv *v)
{
	switch (v != NULL ? json_typeof(J(v)) : JSON_NULL) {
	case JSON_OBJECT: return JV_OBJECT;
	case JSON_ARRAY: return JV_ARRAY;
	case JSON_STRING: return JV_STRING;
	case JSON_INTEGER: return JV_INTEGER;
	case JSON_REAL: return JV_REAL;
	case JSON_TRUE:
	case JSON_FALSE: return JV_BOOL;
	case JSON_NULL:
	default: return JV_NULL;
	}
}

const char *
jv_type_name(const struct jv *v)
{
	static const char *const names[] = {
		[JV_NULL] = "null", [JV_BOOL] = "boolean",
		[JV_INTEGER] = "integer", [JV_REAL] = "real",
		[JV_STRING] = "string", [JV_ARRAY] = "array",
		[JV_OBJECT] = "object",
	};

	return v == NULL ? "absent" : names[jv_type(v)];
}

int jv_is_object(const struct jv *v) { return v != NULL && json_is_object(J(v)); }
int jv_is_array(const struct jv *v) { return v != NULL && json_is_array(J(v)); }
int jv_is_string(const struct jv *v) { return v != NULL && json_is_string(J(v)); }
int jv_is_number(const struct jv *v) { return v != NULL && json_is_number(J(v)); }
int jv_is_null(const struct jv *v) { return v != NULL && json_is_null(J(v)); }

const struct jv *
jv_get(const struct jv *obj, const char *key)
{
	if (!jv_is_object(obj))
		return NULL;
	return V(json_object_get(J(obj), key));
}

size_t
jv_object_size(const struct jv *obj)
{
	return jv_is_object(obj) ? json_object_size(J(obj)) : 0;
}

int
jv_object_next(const struct jv *obj, void **it, const char **key,
    const struct jv **val)
{
	void *i;

	if (!jv_is_object(obj))
		return 0;
	/* jansson's iterators take a non-const object but do not modify
	 * it; objects iterate in insertion (= document) order. */
	i = *it == NULL ? json_object_iter(J(obj)) :
	    json_object_iter_next(J(obj), *it);
	if (i == NULL)
		return 0;
	*it = i;
	*key = json_object_iter_key(i);
	*val = V(json_object_iter_value(i));
	return 1;
}

size_t
jv_array_size(const struct jv *arr)
{
	return jv_is_array(arr) ? json_array_size(J(arr)) : 0;
}

const struct jv *
jv_array_get(const struct jv *arr, size_t i)
{
	if (!jv_is_array(arr))
		return NULL;
	return V(json_array_get(J(arr), i));
}

const char *
jv_string_value(const struct jv *v, size_t *len)
{
	if (!jv_is_string(v))
		return NULL;
	if (len != NULL)
		*len = json_string_length(J(v));
	return json_string_value(J(v));
}

/* Largest double below which every integer is exact. */
#define EXACT_DOUBLE_INT 9007199254740992.0

int
jv_integer_value(const struct jv *v, uint64_t max, uint64_t *out)
{
	if (v != NULL && json_is_integer(J(v))) {
		json_int_t i = json_integer_value(J(v));
		if (i < 0)
			return ERR_FORMAT;
		if ((uint64_t)i > max)
			return ERR_TOO_LARGE;
		*out = (uint64_t)i;
		return 0;
	}
	if (v != NULL && json_is_real(J(v))) {
		double d = json_real_value(J(v));
		if (!(d >= 0.0))
			return ERR_FORMAT;
		/* above 2^53 a double no longer holds every integer */
		if (d >= EXACT_DOUBLE_INT)
			return ERR_TOO_LARGE;
		if ((double)(uint64_t)d != d)
			return ERR_FORMAT;
		if ((uint64_t)d > max)
			return ERR_TOO_LARGE;
		*out = (uint64_t)d;
		return JV_INT_FROM_REAL;
	}
	return ERR_FORMAT;
}

int
jv_number_value(const struct jv *v, double *out)
{
	if (v != NULL && json_is_integer(J(v))) {
		*out = (double)json_integer_value(J(v));
		return 0;
	}
	if (v != NULL && json_is_real(J(v))) {
		*out = json_real_value(J(v));
		return 0;
	}
	return ERR_FORMAT;
}
