/*
 * ingest/mime.c - a bounded RFC 5322 / MIME walker (see mime.h).
 *
 * Hand-written on purpose: the message is already in memory, and what we
 * need (headers, boundaries, base64, quoted-printable, part numbers) is
 * small enough to check line by line. Everything the walk produces lives
 * in one arena freed at the end; decoded leaf bodies go into one buf that
 * is reused from leaf to leaf (part data is only valid during the call).
 *
 * Leniency: a malformed header line ends the header block, a missing
 * final boundary ends the part at the end of the body, bad base64 or QP
 * characters are skipped or kept. Caps are never lenient.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/arena.h"
#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/strparse.h"
#include "mime.h"

/* Decoded bytes are staged here before being appended to a buf, so the
 * decoders do not call buf_append per byte. */
#define DECODE_CHUNK 4096

struct walk {
	struct arena *a;
	int (*cb)(void *ctx, const struct mime_part *p);
	void *ctx;
	struct err *err;
	unsigned parts;
	struct buf leaf;        /* decoded body of the current leaf */
};

struct hblock {
	struct mime_header *h;
	size_t n, alloc;
	size_t body;            /* offset of the body in the entity */
};

struct param {
	char *attr;             /* lower-case */
	char *val;              /* unquoted, not yet RFC 2231 decoded */
};

struct plist {
	struct param *p;
	size_t n, alloc;
};

static int entity(struct walk *w, const unsigned char *p, size_t len,
    const char *path, int depth, int is_message, const char *dflt);

/* ---- small helpers ------------------------------------------------------- */

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}


/* "" + 3 -> "3", "2.1" + 3 -> "2.1.3" */
static char *
child_path(struct arena *a, const char *parent, unsigned n)
{
	char tmp[16];
	size_t pl = strlen(parent);
	char *s;

	snprintf(tmp, sizeof tmp, "%u", n);
	if ((s = arena_alloc(a, pl + strlen(tmp) + 2)) == NULL)
		return NULL;
	if (pl == 0) {
		memcpy(s, tmp, strlen(tmp) + 1);
	} else {
		memcpy(s, parent, pl);
		s[pl] = '.';
		memcpy(s + pl + 1, tmp, strlen(tmp) + 1);
	}
	return s;
}

/* Line [*ls, *le) starting at pos, without CR/LF; returns the start of the
 * next line. */
static size_t
next_line(const unsigned char *p, size_t len, size_t pos, size_t *le)
{
	const unsigned char *nl = memchr(p + pos, '\n', len - pos);
	size_t end = nl ? (size_t)(nl - p) : len;
	size_t next = nl ? end + 1 : len;

	if (end > pos && p[end - 1] == '\r')
		end--;
	*le = end;
	return next;
}

/* Length of a header field name at p (up to ':'), 0 when the line is not
 * "Name: value". Obsolete syntax allows blanks before the colon. */
static size_t
field_name(const unsigned char *p, size_t n, size_t *colon)
{
	size_t i, end;

	for (i = 0; i < n && p[i] != ':'; i++)
		if (p[i] <= 32 || p[i] >= 127) {
			if (!is_wsp(p[i]))
				return 0;
		}
	if (i == n || i == 0)
		return 0;
	end = i;
	while (end > 0 && is_wsp(p[end - 1]))
		end--;
	/* no blank inside the name itself */
	for (size_t k = 0; k < end; k++)
		if (is_wsp(p[k]))
			return 0;
	*colon = i;
	return end;
}

/* ---- header block ----------------------------------------------------------- */

static int
push_field(struct arena *a, struct hblock *hb, const unsigned char *name,
    size_t nlen, struct buf *val)
{
	struct mime_header *h;
	size_t s = 0, e = val->len;
	const unsigned char *v = val->data ? val->data :
	    (const unsigned char *)"";

	while (s < e && (is_wsp(v[s]) || v[s] == '\r' || v[s] == '\n'))
		s++;
	while (e > s && (is_wsp(v[e - 1]) || v[e - 1] == '\r' ||
	    v[e - 1] == '\n'))
		e--;
	if (hb->n == hb->alloc) {
		h = arena_grow(a, hb->h, hb->n, &hb->alloc, sizeof *hb->h);
		if (h == NULL)
			return ERR_NOMEM;
		hb->h = h;
	}
	h = &hb->h[hb->n];
	h->name = arena_strndup(a, (const char *)name, nlen);
	h->value = arena_strndup(a, (const char *)v + s, e - s);
	if (h->name == NULL || h->value == NULL)
		return ERR_NOMEM;
	hb->n++;
	return 0;
}

/*
 * Parses the header block at the start of p. Ends at the first empty line
 * (body after it), at a line that is neither a field nor a continuation
 * (lenient: body starts there) or at the end. hb->n == 0 when p does not
 * start with a field.
 */
static int
parse_headers(struct arena *a, const unsigned char *p, size_t len,
    const char *where, struct hblock *hb, struct err *err)
{
	struct buf val;
	size_t pos = 0, le, next, colon = 0, nlen = 0;
	const unsigned char *name = NULL;
	int rc = 0;

	memset(hb, 0, sizeof *hb);
	buf_init(&val, LIM_HEADER_BYTES);
	hb->body = len;
	while (pos < len) {
		next = next_line(p, len, pos, &le);
		/* A line of only blanks ends the header block too: strictly it
		 * is an (obsolete) folded continuation, but writers that emit
		 * it mean the empty line (django-dmarc2 feedback2.eml). */
		{
			size_t k = pos;
			while (k < le && (is_wsp(p[k]) || p[k] == '\r'))
				k++;
			if (k == le) {
				hb->body = next;
				break;
			}
		}
		if (is_wsp(p[pos])) {
			if (name == NULL) {
				hb->body = pos;
				break;
			}
			/* Unfolding: drop the line break, keep the blank. */
			rc = buf_append(&val, p + pos, le - pos);
		} else {
			size_t nl = field_name(p + pos, le - pos, &colon);

			if (nl == 0) {
				hb->body = pos;
				break;
			}
			if (name != NULL &&
			    (rc = push_field(a, hb, name, nlen, &val)) != 0)
				break;
			if (hb->n >= LIM_HEADER_FIELDS) {
				rc = err_set(err, ERR_TOO_LARGE,
				    "header block has more than "
				    "LIM_HEADER_FIELDS (%d) fields",
				    LIM_HEADER_FIELDS);
				err_where(err, "%s line %zu", where,
				    hb->n + 1);
				break;
			}
			name = p + pos;
			nlen = nl;
			buf_reset(&val);
			rc = buf_append(&val, p + pos + colon + 1,
			    le - pos - colon - 1);
		}
		if (rc == ERR_TOO_LARGE) {
			err_set(err, ERR_TOO_LARGE, "header field exceeds "
			    "LIM_HEADER_BYTES (%u)", (unsigned)LIM_HEADER_BYTES);
			err_where(err, "%s field %zu", where, hb->n + 1);
			break;
		}
		if (rc != 0)
			break;
		pos = next;
	}
	if (rc == 0 && name != NULL)
		rc = push_field(a, hb, name, nlen, &val);
	if (rc == ERR_NOMEM)
		err_set(err, ERR_NOMEM, "out of memory parsing headers");
	buf_free(&val);
	return rc;
}

static const char *
hget(const struct hblock *hb, const char *name)
{
	for (size_t i = 0; i < hb->n; i++)
		if (sp_casecmp(hb->h[i].name, name) == 0)
			return hb->h[i].value;
	return NULL;
}

/* ---- Content-Type / Content-Disposition ------------------------------------ */

/*
 * "type/subtype; a=b; c="d"" -> *type (lower-case "type/subtype", NULL if
 * the value has no valid type) and the parameters. Lenient about blanks,
 * stray semicolons and unterminated quotes.
 */
static int
parse_ctype(struct arena *a, const char *v, char **type, struct plist *pl)
{
	const char *s = v, *t0;
	struct buf tmp;
	int rc = 0;

	*type = NULL;
	memset(pl, 0, sizeof *pl);
	if (v == NULL)
		return 0;
	while (sp_is_space((unsigned char)*s))
		s++;
	t0 = s;
	while (*s != '\0' && *s != ';' && !sp_is_space((unsigned char)*s))
		s++;
	if (s > t0 && memchr(t0, '/', (size_t)(s - t0)) != NULL &&
	    t0[0] != '/' && s[-1] != '/') {
		if ((*type = arena_strndup(a, t0, (size_t)(s - t0))) == NULL)
			return ERR_NOMEM;
		sp_lower(*type);
	}
	buf_init(&tmp, LIM_HEADER_BYTES);
	while (*s != '\0') {
		const char *a0;
		char *attr;
		struct param *np;

		while (*s == ';' || sp_is_space((unsigned char)*s))
			s++;
		a0 = s;
		while (*s != '\0' && *s != '=' && *s != ';' &&
		    !sp_is_space((unsigned char)*s))
			s++;
		if (s == a0) {
			if (*s == '=')
				s++;
			continue;
		}
		attr = arena_strndup(a, a0, (size_t)(s - a0));
		if (attr == NULL) {
			rc = ERR_NOMEM;
			break;
		}
		sp_lower(attr);
		while (sp_is_space((unsigned char)*s))
			s++;
		if (*s != '=')
			continue;
		s++;
		while (sp_is_space((unsigned char)*s))
			s++;
		buf_reset(&tmp);
		if (*s == '"') {
			s++;
			while (*s != '\0' && *s != '"') {
				if (*s == '\\' && s[1] != '\0')
					s++;
				if ((rc = buf_append(&tmp, s, 1)) != 0)
					break;
				s++;
			}
			if (*s == '"')
				s++;
		} else {
			const char *v0 = s;

			/* Tokens should stop at tspecials; real mail has
			 * unquoted names with '=' and '?', so only ';' and
			 * blanks end one. */
			while (*s != '\0' && *s != ';' &&
			    !sp_is_space((unsigned char)*s))
				s++;
			rc = buf_append(&tmp, v0, (size_t)(s - v0));
		}
		if (rc != 0)
			break;
		if (pl->n == pl->alloc) {
			np = arena_grow(a, pl->p, pl->n, &pl->alloc,
			    sizeof *pl->p);
			if (np == NULL) {
				rc = ERR_NOMEM;
				break;
			}
			pl->p = np;
		}
		pl->p[pl->n].attr = attr;
		pl->p[pl->n].val = arena_strndup(a, tmp.data ?
		    (const char *)tmp.data : "", tmp.len);
		if (pl->p[pl->n].val == NULL) {
			rc = ERR_NOMEM;
			break;
		}
		pl->n++;
	}
	buf_free(&tmp);
	return rc == ERR_TOO_LARGE ? 0 : rc;
}

static const char *
pget(const struct plist *pl, const char *attr)
{
	for (size_t i = 0; i < pl->n; i++)
		if (strcmp(pl->p[i].attr, attr) == 0)
			return pl->p[i].val;
	return NULL;
}

/* Appends s to b with ISO-8859-1 bytes turned into UTF-8. */
static int
append_latin1(struct buf *b, const unsigned char *s, size_t n)
{
	unsigned char two[2];
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (s[i] < 0x80) {
			rc = buf_append(b, s + i, 1);
		} else {
			two[0] = (unsigned char)(0xc0 | (s[i] >> 6));
			two[1] = (unsigned char)(0x80 | (s[i] & 0x3f));
			rc = buf_append(b, two, 2);
		}
	}
	return rc;
}

/* 1 = bytes are UTF-8 already (utf-8, us-ascii), 2 = ISO-8859-1, 0 = other
 * (kept as they are). */
static int
charset_kind(const char *cs, size_t n)
{
	static const char *const utf[] = { "utf-8", "utf8", "us-ascii",
	    "ascii" };
	static const char *const latin[] = { "iso-8859-1", "iso8859-1",
	    "latin1", "latin-1", "l1" };

	for (size_t i = 0; i < sizeof utf / sizeof utf[0]; i++)
		if (strlen(utf[i]) == n && sp_ncasecmp(cs, utf[i], n) == 0)
			return 1;
	for (size_t i = 0; i < sizeof latin / sizeof latin[0]; i++)
		if (strlen(latin[i]) == n && sp_ncasecmp(cs, latin[i], n) == 0)
			return 2;
	return 0;
}

/* RFC 2231 %XX decoding of s (appended to b). */
static int
append_pct(struct buf *b, const char *s)
{
	unsigned char c;
	int rc = 0;

	for (; *s != '\0' && rc == 0; s++) {
		if (*s == '%' && sp_hexval((unsigned char)s[1]) >= 0 &&
		    sp_hexval((unsigned char)s[2]) >= 0) {
			c = (unsigned char)(sp_hexval((unsigned char)s[1]) * 16 +
			    sp_hexval((unsigned char)s[2]));
			s += 2;
		} else {
			c = (unsigned char)*s;
		}
		rc = buf_append(b, &c, 1);
	}
	return rc;
}

/*
 * A parameter value with RFC 2231 applied: name*=charset'lang'%XX..., or
 * name*0=, name*1*=... continuations; else the plain name=. Returns an
 * arena string or NULL (absent / out of memory).
 */
static char *
param_2231(struct arena *a, const struct plist *pl, const char *name)
{
	struct buf raw, out;
	char attr[96];
	const char *v, *cs = NULL;
	size_t cslen = 0;
	int star, rc = 0, found = 0;
	char *res = NULL;

	if (strlen(name) > 64)
		return NULL;
	buf_init(&raw, LIM_HEADER_BYTES);
	buf_init(&out, LIM_HEADER_BYTES);
	for (unsigned k = 0;; k++) {
		star = 0;
		if (k == 0) {
			snprintf(attr, sizeof attr, "%s*", name);
			if ((v = pget(pl, attr)) != NULL) {
				star = 1;
			} else {
				snprintf(attr, sizeof attr, "%s*0*", name);
				if ((v = pget(pl, attr)) != NULL)
					star = 1;
				else {
					snprintf(attr, sizeof attr, "%s*0",
					    name);
					v = pget(pl, attr);
				}
			}
		} else {
			snprintf(attr, sizeof attr, "%s*%u*", name, k);
			if ((v = pget(pl, attr)) != NULL) {
				star = 1;
			} else {
				snprintf(attr, sizeof attr, "%s*%u", name, k);
				v = pget(pl, attr);
			}
		}
		if (v == NULL)
			break;
		if (k == 0 && star) {
			/* charset'language'value; tolerate a missing one */
			const char *q1 = strchr(v, '\''), *q2;

			if (q1 != NULL && (q2 = strchr(q1 + 1, '\'')) != NULL) {
				cs = v;
				cslen = (size_t)(q1 - v);
				v = q2 + 1;
			}
		}
		found = 1;
		rc = star ? append_pct(&raw, v) : buf_append_str(&raw, v);
		if (rc != 0)
			break;
		/* name* alone is the whole value; name*0 starts sections */
		if (k == 0 && pget(pl, attr) != NULL &&
		    strcmp(attr + strlen(name), "*") == 0)
			break;
	}
	if (!found) {
		v = pget(pl, name);
		res = v ? arena_strdup(a, v) : NULL;
		goto out;
	}
	if (rc == 0 && raw.len > 0 && cs != NULL && charset_kind(cs, cslen) == 2)
		rc = append_latin1(&out, raw.data, raw.len);
	else if (rc == 0 && raw.len > 0)
		rc = buf_append(&out, raw.data, raw.len);
	if (rc == 0)
		res = arena_strndup(a, out.data ? (const char *)out.data : "",
		    out.len);
out:
	buf_free(&raw);
	buf_free(&out);
	return res;
}

/* Decodes one RFC 2047 encoded-word body (text between "?X?" and "?=")
 * into b. Returns 0, or -1 when it is not decodable (caller keeps it). */
static int
ew_decode(struct buf *b, const char *cs, size_t cslen, int enc,
    const char *t, size_t n)
{
	struct buf tmp;
	const char *star = memchr(cs, '*', cslen);
	int kind, rc = 0;

	if (star != NULL)
		cslen = (size_t)(star - cs); /* RFC 2231 language suffix */
	if ((kind = charset_kind(cs, cslen)) == 0)
		return -1;
	buf_init(&tmp, LIM_HEADER_BYTES);
	if (enc == 'q' || enc == 'Q') {
		for (size_t i = 0; i < n && rc == 0; i++) {
			unsigned char c = (unsigned char)t[i];

			if (c == '_') {
				c = ' ';
			} else if (c == '=' && i + 2 < n + 0 &&
			    sp_hexval((unsigned char)t[i + 1]) >= 0 &&
			    sp_hexval((unsigned char)t[i + 2]) >= 0) {
				c = (unsigned char)(sp_hexval((unsigned char)
				    t[i + 1]) * 16 + sp_hexval((unsigned char)
				    t[i + 2]));
				i += 2;
			}
			rc = buf_append(&tmp, &c, 1);
		}
	} else {
		uint32_t acc = 0;
		int bits = 0;

		for (size_t i = 0; i < n && rc == 0; i++) {
			unsigned char c = (unsigned char)t[i];
			int v;

			if (c >= 'A' && c <= 'Z')
				v = c - 'A';
			else if (c >= 'a' && c <= 'z')
				v = c - 'a' + 26;
			else if (c >= '0' && c <= '9')
				v = c - '0' + 52;
			else if (c == '+')
				v = 62;
			else if (c == '/')
				v = 63;
			else
				continue;
			acc = (acc << 6) | (uint32_t)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				c = (unsigned char)(acc >> bits);
				rc = buf_append(&tmp, &c, 1);
			}
		}
	}
	if (rc == 0 && tmp.len > 0)
		rc = kind == 2 ? append_latin1(b, tmp.data, tmp.len) :
		    buf_append(b, tmp.data, tmp.len);
	buf_free(&tmp);
	return rc == 0 ? 0 : -1;
}

/* RFC 2047 encoded words in s decoded where the charset is simple; blanks
 * between two encoded words dropped. Returns an arena string. */
static char *
decode_2047(struct arena *a, const char *s)
{
	struct buf b;
	const char *p = s, *pending = NULL;
	int prev_ew = 0;
	char *res = NULL;

	if (strstr(s, "=?") == NULL)
		return (char *)(uintptr_t)s;
	buf_init(&b, LIM_HEADER_BYTES);
	while (*p != '\0') {
		const char *q1, *q2, *end;

		if (p[0] == '=' && p[1] == '?' &&
		    (q1 = strchr(p + 2, '?')) != NULL && q1[1] != '\0' &&
		    q1[2] == '?' && (end = strstr(q1 + 3, "?=")) != NULL) {
			q2 = q1 + 2;
			if (ew_decode(&b, p + 2, (size_t)(q1 - p - 2), q1[1],
			    q2 + 1, (size_t)(end - q2 - 1)) == 0) {
				/* blanks between encoded words vanish */
				pending = NULL;
				prev_ew = 1;
				p = end + 2;
				continue;
			}
		}
		if (is_wsp((unsigned char)*p) && prev_ew) {
			if (pending == NULL)
				pending = p;
			p++;
			continue;
		}
		if (pending != NULL)
			buf_append(&b, pending, (size_t)(p - pending));
		pending = NULL;
		prev_ew = 0;
		buf_append(&b, p, 1);
		p++;
	}
	if (pending != NULL)
		buf_append(&b, pending, (size_t)(p - pending));
	res = arena_strndup(a, b.data ? (const char *)b.data : "", b.len);
	buf_free(&b);
	return res;
}

/* Control bytes in a filename hint become '_' (logs, HTML, terminals). */
static char *
clean_name(char *s)
{
	for (unsigned char *p = (unsigned char *)s; p && *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '_';
	return s;
}

/* ---- transfer decoding -------------------------------------------------- */

static const signed char b64v[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
	['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26,
	['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31,
	['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41,
	['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46,
	['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51,
	['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61,
	['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/*
 * Base64 into b (values above are +1 so 0 means "not base64"). Blanks,
 * line breaks of any length and junk are skipped; '=' ends a quantum
 * (some encoders concatenate padded chunks); missing padding is fine.
 */
static int
decode_b64(struct buf *b, const unsigned char *s, size_t n)
{
	unsigned char out[DECODE_CHUNK + 4];
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0, rc = 0;

	for (size_t i = 0; i < n; i++) {
		int v = b64v[s[i]];

		if (v == 0) {
			if (s[i] == '=') {
				acc = 0;
				bits = 0;
			}
			continue;
		}
		acc = (acc << 6) | (uint32_t)(v - 1);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
			if (o >= DECODE_CHUNK) {
				if ((rc = buf_append(b, out, o)) != 0)
					return rc;
				o = 0;
			}
		}
	}
	return o ? buf_append(b, out, o) : 0;
}

/* Quoted-printable into b: =XX, soft line breaks (also "=" followed by
 * blanks), a bad escape is kept literally. */
static int
decode_qp(struct buf *b, const unsigned char *s, size_t n)
{
	unsigned char out[DECODE_CHUNK + 4];
	size_t o = 0, i = 0;
	int rc;

	while (i < n) {
		unsigned char c = s[i];

		if (c == '=') {
			size_t j = i + 1;

			if (j + 1 < n + 0 && sp_hexval(s[j]) >= 0 &&
			    sp_hexval(s[j + 1]) >= 0) {
				out[o++] = (unsigned char)(sp_hexval(s[j]) * 16 +
				    sp_hexval(s[j + 1]));
				i += 3;
				goto flush;
			}
			while (j < n && is_wsp(s[j]))
				j++;
			if (j < n && s[j] == '\r')
				j++;
			if (j == n || s[j] == '\n') {
				i = j < n ? j + 1 : n; /* soft line break */
				goto flush;
			}
		}
		out[o++] = c;
		i++;
flush:
		if (o >= DECODE_CHUNK) {
			if ((rc = buf_append(b, out, o)) != 0)
				return rc;
			o = 0;
		}
	}
	return o ? buf_append(b, out, o) : 0;
}

/* Decodes raw per cte into b, or points *data at raw (no copy). */
static int
decode_body(struct walk *w, struct buf *b, const char *cte,
    const unsigned char *raw, size_t raw_len, const char *path,
    const unsigned char **data, size_t *len)
{
	int rc;

	if (strcmp(cte, "base64") == 0)
		rc = decode_b64(b, raw, raw_len);
	else if (strcmp(cte, "quoted-printable") == 0)
		rc = decode_qp(b, raw, raw_len);
	else {
		*data = raw;
		*len = raw_len;
		return 0;
	}
	if (rc == ERR_TOO_LARGE) {
		err_set(w->err, ERR_TOO_LARGE, "decoded part exceeds "
		    "LIM_MESSAGE_BYTES (%u)", (unsigned)LIM_MESSAGE_BYTES);
		err_where(w->err, "part %s", path);
		return rc;
	}
	if (rc != 0)
		return err_set(w->err, ERR_NOMEM, "out of memory decoding "
		    "part %s", path);
	*data = b->data ? b->data : (const unsigned char *)"";
	*len = b->len;
	return 0;
}

/* ---- the walk ----------------------------------------------------------- */

static int
count_part(struct walk *w, const char *path)
{
	if (++w->parts > LIM_MIME_PARTS) {
		err_set(w->err, ERR_TOO_LARGE, "message has more than "
		    "LIM_MIME_PARTS (%d) parts", LIM_MIME_PARTS);
		err_where(w->err, "part %s", path);
		return ERR_TOO_LARGE;
	}
	return 0;
}

/* A part's facts from its headers. */
static int
describe(struct walk *w, const struct hblock *hb, const char *dflt,
    struct mime_part *mp, struct plist *ctp)
{
	struct plist dp;
	const char *v;
	char *type, *cte, *fn = NULL;
	int rc;

	if ((rc = parse_ctype(w->a, hget(hb, "Content-Type"), &type, ctp)) != 0)
		return rc;
	mp->content_type = type ? type : dflt;
	v = hget(hb, "Content-Transfer-Encoding");
	if (v != NULL && *v != '\0') {
		size_t n = 0;

		while (v[n] != '\0' && v[n] != ';' && v[n] != '(' &&
		    !sp_is_space((unsigned char)v[n]))
			n++;
		if ((cte = arena_strndup(w->a, v, n)) == NULL)
			return ERR_NOMEM;
		mp->transfer_encoding = sp_lower(cte);
	} else {
		mp->transfer_encoding = "7bit";
	}
	v = hget(hb, "Content-Disposition");
	if (v != NULL) {
		char *dtype;

		if ((rc = parse_ctype(w->a, v, &dtype, &dp)) != 0)
			return rc;
		/* Disposition has no '/', so the "type" parse found the
		 * parameters only; that is all we need. */
		fn = param_2231(w->a, &dp, "filename");
	}
	if (fn == NULL)
		fn = param_2231(w->a, ctp, "name");
	if (fn != NULL && (fn = decode_2047(w->a, fn)) != NULL)
		clean_name(fn);
	mp->filename = fn;
	mp->headers = hb->h;
	mp->n_headers = hb->n;
	return 0;
}

/*
 * Finds the next delimiter line "--boundary" ("--" after it: the close
 * delimiter) at or after from. *cend = where the previous part's content
 * ends (the line break before the delimiter belongs to it), *next = start
 * of the line after. Returns 1 found, 0 not.
 */
static int
find_delim(const unsigned char *p, size_t len, size_t from,
    const char *bd, size_t bl, size_t *cend, size_t *next, int *close)
{
	while (from + bl <= len) {
		const unsigned char *hit = memmem(p + from, len - from, bd, bl);
		size_t c, e;

		if (hit == NULL)
			return 0;
		c = (size_t)(hit - p);
		from = c + 1;
		if (c > 0 && p[c - 1] != '\n')
			continue;
		e = c + bl;
		*close = 0;
		if (e + 1 < len + 0 && p[e] == '-' && p[e + 1] == '-') {
			*close = 1;
			e += 2;
		}
		while (e < len && (is_wsp(p[e]) || p[e] == '\r'))
			e++;
		if (e < len && p[e] != '\n')
			continue;
		*next = e < len ? e + 1 : len;
		*cend = c;
		if (c > 0 && p[c - 1] == '\n') {
			*cend = c - 1;
			if (*cend > 0 && p[*cend - 1] == '\r')
				(*cend)--;
		}
		return 1;
	}
	return 0;
}

static int
multipart(struct walk *w, const unsigned char *body, size_t blen,
    const char *boundary, const char *path, int depth, int digest)
{
	char *bd;
	size_t bl = strlen(boundary), cend, next, start;
	const char *dflt = digest ? "message/rfc822" : "text/plain";
	unsigned n = 0;
	int close = 0, rc;

	if ((bd = arena_alloc(w->a, bl + 3)) == NULL)
		return err_set(w->err, ERR_NOMEM, "out of memory");
	bd[0] = '-';
	bd[1] = '-';
	memcpy(bd + 2, boundary, bl + 1);
	bl += 2;
	if (!find_delim(body, blen, 0, bd, bl, &cend, &next, &close)) {
		/* No delimiter at all: hand the body on as one part so its
		 * bytes can still be sniffed. */
		char *cp = child_path(w->a, path, 1);

		if (cp == NULL)
			return err_set(w->err, ERR_NOMEM, "out of memory");
		if ((rc = count_part(w, cp)) != 0)
			return rc;
		return entity(w, body, blen, cp, depth + 1, 0, dflt);
	}
	while (!close) {
		char *cp;
		size_t pend;

		start = next;
		if (find_delim(body, blen, start, bd, bl, &cend, &next,
		    &close))
			pend = cend < start ? start : cend;
		else {
			/* Missing final boundary: the part runs to the end. */
			pend = blen;
			close = 1;
		}
		if ((cp = child_path(w->a, path, ++n)) == NULL)
			return err_set(w->err, ERR_NOMEM, "out of memory");
		if ((rc = count_part(w, cp)) != 0)
			return rc;
		if ((rc = entity(w, body + start, pend - start, cp, depth + 1,
		    0, dflt)) != 0)
			return rc;
	}
	return 0;
}

/* A non-multipart body part at path: a leaf, or message/rfc822. */
static int
body_part(struct walk *w, struct mime_part *mp, const unsigned char *raw,
    size_t raw_len, int depth)
{
	const char *ct = mp->content_type;
	int rc;

	mp->raw = raw;
	mp->raw_len = raw_len;
	mp->depth = depth;
	if (strcmp(ct, "message/rfc822") == 0 ||
	    strcmp(ct, "message/global") == 0) {
		/* The embedded message must outlive the leaves inside it,
		 * which reuse w->leaf: decode into its own buf. */
		struct buf own;

		buf_init(&own, LIM_MESSAGE_BYTES);
		rc = decode_body(w, &own, mp->transfer_encoding, raw, raw_len,
		    mp->path, &mp->data, &mp->len);
		if (rc == 0)
			rc = w->cb(w->ctx, mp);
		if (rc == 0)
			rc = entity(w, mp->data, mp->len, mp->path, depth + 1,
			    1, "text/plain");
		buf_free(&own);
		return rc;
	}
	buf_reset(&w->leaf);
	if ((rc = decode_body(w, &w->leaf, mp->transfer_encoding, raw,
	    raw_len, mp->path, &mp->data, &mp->len)) != 0)
		return rc;
	return w->cb(w->ctx, mp);
}

/* Skips an mbox "From " separator line some .eml files still carry. */
static size_t
skip_from_line(const unsigned char *p, size_t len)
{
	size_t le;

	if (len >= 5 && memcmp(p, "From ", 5) == 0)
		return next_line(p, len, 0, &le);
	return 0;
}

/*
 * One entity (a message or a body part): its headers, then a multipart,
 * a message/rfc822 or a leaf. For a message (is_message) that is not
 * multipart, the body is part path.1 ("1" at the top), as in IMAP.
 */
static int
entity(struct walk *w, const unsigned char *p, size_t len, const char *path,
    int depth, int is_message, const char *dflt)
{
	struct hblock hb;
	struct plist ctp;
	struct mime_part mp;
	const char *where = path[0] ? path : "message";
	char wbuf[64];
	int rc;

	if (depth > LIM_MIME_DEPTH) {
		err_set(w->err, ERR_TOO_LARGE, "MIME parts nested deeper than "
		    "LIM_MIME_DEPTH (%d)", LIM_MIME_DEPTH);
		err_where(w->err, "part %s", where);
		return ERR_TOO_LARGE;
	}
	snprintf(wbuf, sizeof wbuf, "part %s", where);
	if ((rc = parse_headers(w->a, p, len, wbuf, &hb, w->err)) != 0)
		return rc;
	if (is_message && hb.n == 0 && depth > 0)
		return 0; /* an embedded "message" that is not one: a leaf
		           * already given to the callback */
	memset(&mp, 0, sizeof mp);
	if ((rc = describe(w, &hb, dflt, &mp, &ctp)) != 0)
		return err_set(w->err, rc, "out of memory");
	if (strncmp(mp.content_type, "multipart/", 10) == 0) {
		const char *bd = pget(&ctp, "boundary");

		if (bd != NULL && *bd != '\0' && strlen(bd) <= 200)
			return multipart(w, p + hb.body, len - hb.body, bd,
			    path, depth,
			    strcmp(mp.content_type, "multipart/digest") == 0);
		/* No usable boundary: the body is just bytes. */
	}
	if (is_message) {
		if ((mp.path = child_path(w->a, path, 1)) == NULL)
			return err_set(w->err, ERR_NOMEM, "out of memory");
		if ((rc = count_part(w, mp.path)) != 0)
			return rc;
	} else {
		mp.path = path;
	}
	return body_part(w, &mp, p + hb.body, len - hb.body, depth);
}

int
mime_walk(const unsigned char *msg, size_t len,
    int (*cb)(void *ctx, const struct mime_part *p), void *ctx,
    struct err *err)
{
	struct walk w;
	struct hblock hb;
	struct err local;
	size_t skip;
	int rc;

	if (err == NULL)
		err = &local;
	if (len > LIM_MESSAGE_BYTES) {
		err_set(err, ERR_TOO_LARGE, "message exceeds LIM_MESSAGE_BYTES "
		    "(%u)", (unsigned)LIM_MESSAGE_BYTES);
		return ERR_TOO_LARGE;
	}
	memset(&w, 0, sizeof w);
	if ((w.a = arena_new()) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	w.cb = cb;
	w.ctx = ctx;
	w.err = err;
	buf_init(&w.leaf, LIM_MESSAGE_BYTES);
	skip = skip_from_line(msg, len);
	/* Not a message at all: no header field on the first line. */
	if ((rc = parse_headers(w.a, msg + skip, len - skip, "message", &hb,
	    err)) == 0 && hb.n == 0) {
		rc = err_set(err, ERR_FORMAT, "not a mail message (no header "
		    "block)");
		err_where(err, "byte 0");
	}
	if (rc == 0)
		rc = entity(&w, msg + skip, len - skip, "", 0, 1,
		    "text/plain");
	buf_free(&w.leaf);
	arena_free(w.a);
	return rc;
}

int
mime_headers(const unsigned char *msg, size_t len,
    int (*cb)(void *ctx, const struct mime_header *h), void *ctx,
    struct err *err)
{
	struct arena *a;
	struct hblock hb;
	size_t skip = skip_from_line(msg, len);
	int rc;

	if ((a = arena_new()) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	rc = parse_headers(a, msg + skip, len - skip, "message", &hb, err);
	if (rc == 0 && hb.n == 0) {
		rc = err_set(err, ERR_FORMAT, "not a mail message (no header "
		    "block)");
		err_where(err, "byte 0");
	}
	for (size_t i = 0; rc == 0 && i < hb.n; i++)
		rc = cb(ctx, &hb.h[i]);
	arena_free(a);
	return rc;
}

/* Header names that only mail carries (lower-case). */
static int
typical_field(const unsigned char *s, size_t n)
{
	static const char *const names[] = {
		"from", "received", "return-path", "date", "subject",
		"mime-version", "message-id", "content-type", "delivered-to",
		"to", "cc", "reply-to", "sender", "dkim-signature",
		"authentication-results", "received-spf", "references",
		"in-reply-to", "content-transfer-encoding", "envelope-to",
		"thread-index", "thread-topic", "user-agent",
	};

	if (n > 2 && sp_ncasecmp((const char *)s, "x-", 2) == 0)
		return 1;
	if (n > 4 && sp_ncasecmp((const char *)s, "arc-", 4) == 0)
		return 1;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n &&
		    sp_ncasecmp((const char *)s, names[i], n) == 0)
			return 1;
	return 0;
}

int
mime_looks_like_message(const unsigned char *p, size_t n)
{
	/* Enough to see past a long Received / ARC / DKIM run. */
	size_t lim = n < 64 * 1024 ? n : 64 * 1024;
	size_t pos = 0, le, next, colon, nl;
	int fields = 0, typical = 0;

	/* XML, JSON, gzip, zip: sniffed elsewhere, never a message. */
	if (n == 0 || p[0] == '<' || p[0] == '{' || p[0] == '[' ||
	    (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) ||
	    (n >= 2 && p[0] == 'P' && p[1] == 'K'))
		return 0;
	if (n >= 5 && memcmp(p, "From ", 5) == 0)
		return 0;
	while (pos < lim) {
		next = next_line(p, lim, pos, &le);
		if (le == pos)
			break;
		if (is_wsp(p[pos])) {
			if (fields == 0)
				return 0;
		} else if ((nl = field_name(p + pos, le - pos, &colon)) != 0) {
			fields++;
			typical |= typical_field(p + pos, nl);
		} else if (next < lim || le - pos > 1000) {
			return 0;
		} else {
			break; /* a line cut by the window: judge so far */
		}
		pos = next;
	}
	return fields > 0 && typical;
}
