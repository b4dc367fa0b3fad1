/*
 * ingest/unpack.c - gzip / zip unwrapping into streamed payload readers.
 *
 * The only file that includes zlib and libarchive. A payload is a chain of
 * readers: a source (the blob in memory, or one zip member streamed by
 * libarchive), then per gzip layer a peek wrapper (to sniff the first bytes
 * without losing them) and an inflate layer. Every layer is a slot in fixed
 * arrays inside struct unpack, so building a chain allocates nothing but
 * the inflate input buffers (once) and zlib's own state.
 *
 * Sizes written in headers (gzip ISIZE, zip sizes) are never used: each
 * layer counts the bytes it really produced and stops at
 * LIM_INFLATED_BYTES.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "../common/buf.h"
#include "../common/limits.h"
#include "unpack.h"

/* Compressed input is pulled from the layer below in chunks this big: big
 * enough that the per-call overhead vanishes, small enough to stay in L2. */
#define GZ_IN_CHUNK   (64u * 1024)

/* Bytes peeked at the start of a stream to sniff the next container. */
#define PEEK_BYTES    4

/* Longest member name shown in desc and error messages. */
#define NAME_SHOW     96

/* Layer slots: a chain never holds more gzip layers than the depth cap,
 * and one peek layer per gzip layer plus one for the source. */
#define MAX_GZ        LIM_UNPACK_DEPTH
#define MAX_PK        (LIM_UNPACK_DEPTH + 1)


struct unpack;

/* Inflates a gzip stream read from src; joins concatenated members. */
struct gz_layer {
	z_stream zs;
	int zinit;
	struct reader *src;
	unsigned char *in;        /* GZ_IN_CHUNK, owned, kept across uses */
	int src_eof;
	int done;
	int rc;                   /* sticky error */
	uint64_t src_total;       /* compressed bytes pulled from src */
	uint64_t out_total;       /* bytes produced (capped) */
	struct unpack *u;
	struct reader rd;
};

/* Keeps the first bytes of src so they can be sniffed, then replays them. */
struct peek_layer {
	struct reader *src;
	unsigned char head[PEEK_BYTES];
	size_t n, pos;
	int rc;                   /* error hit while peeking, given on read */
	struct reader rd;
};

/* One zip member's data, from libarchive. */
struct arc_layer {
	struct unpack *u;
	uint64_t total;
	struct reader rd;
};

enum { ST_START, ST_ZIP, ST_DONE };

struct unpack {
	const unsigned char *data;   /* borrowed */
	size_t len;
	int drop_behind;
	int state;

	struct reader_mem mem;
	struct reader mem_rd;

	struct gz_layer gz[MAX_GZ];
	int ngz;
	struct peek_layer pk[MAX_PK];
	int npk;

	/* zip */
	struct archive *ar;
	struct archive_entry *ae;    /* the member header, ours (below) */
	const unsigned char *zdata;  /* the zip in memory, borrowed */
	size_t zlen, zpos;
	struct buf zbuf;             /* a zip found inside gzip, inflated */
	int zip_depth;               /* container layers above the members */
	int ar_fatal;                /* archive unusable after a read error */
	unsigned entries;
	char zprefix[64];            /* "gzip > " when the zip was in gzip */
	struct arc_layer arc;

	/* a payload that is refused: its reader returns this error */
	struct err refused;
	struct reader refused_rd;

	char desc[sizeof(((struct payload_info *)0)->desc)];
	struct payload_info info;
	struct err rerr;
};

const char *
unpack_sniff(const unsigned char *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return "gzip";
	/* 03 04: a local file header; 05 06: the end record of an empty
	 * archive, which opens fine and simply yields no payload. */
	if (n >= 4 && p[0] == 'P' && p[1] == 'K' &&
	    ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6)))
		return "zip";
	return NULL;
}

/* Appends s to the current desc, truncating rather than overflowing. */
static void
desc_add(struct unpack *u, const char *s)
{
	size_t have = strlen(u->desc), n = strlen(s);

	if (have + n >= sizeof u->desc)
		n = sizeof u->desc - 1 - have;
	memcpy(u->desc + have, s, n);
	u->desc[have + n] = '\0';
}

/* A member name as it may appear in messages: printable ASCII only (no
 * quote, so it cannot end the quoted form early), at most NAME_SHOW. */
static void
name_clean(const char *name, char *out, size_t outsz)
{
	size_t i, o = 0;

	if (name == NULL)
		name = "";
	for (i = 0; name[i] != '\0' && o + 4 < outsz; i++) {
		unsigned char c = (unsigned char)name[i];

		if (o >= NAME_SHOW) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		out[o++] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
	}
	out[o] = '\0';
}

/* ---- peek layer ------------------------------------------------------ */

static int
peek_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
	struct peek_layer *k = ctx;
	size_t n;

	size_t more = 0;
	int rc;

	*got = 0;
	if (k->pos < k->n) {
		n = k->n - k->pos;
		if (n > cap)
			n = cap;
		memcpy(buf, k->head + k->pos, n);
		k->pos += n;
		*got = n;
		/* Fill the rest from below too, so the caller is not handed
		 * a 4-byte chunk; an error waits for the next call. */
		if (n == cap || k->rc != 0)
			return 0;
		rc = k->src->read(k->src->ctx, buf + n, cap - n, &more);
		if (rc != 0)
			k->rc = rc;
		else
			*got += more;
		return 0;
	}
	if (k->rc != 0)
		return k->rc;
	return k->src->read(k->src->ctx, buf, cap, got);
}

/* Wraps src in a new peek slot and reads up to PEEK_BYTES from it. */
static struct peek_layer *
peek_push(struct unpack *u, struct reader *src)
{
	struct peek_layer *k;
	size_t got;
	int rc;

	if (u->npk >= MAX_PK)
		return NULL;
	k = &u->pk[u->npk++];
	memset(k, 0, sizeof *k);
	k->src = src;
	while (k->n < PEEK_BYTES) {
		rc = src->read(src->ctx, k->head + k->n, PEEK_BYTES - k->n,
		    &got);
		if (rc != 0) {
			k->rc = rc;
			break;
		}
		if (got == 0)
			break;
		k->n += got;
	}
	k->rd.read = peek_read;
	k->rd.ctx = k;
	return k;
}

/* ---- gzip layer ------------------------------------------------------ */

static int
gz_fail(struct gz_layer *g, int code, uint64_t at, const char *what)
{
	struct unpack *u = g->u;

	g->rc = code;
	err_set(&u->rerr, code, "%s at byte %llu", what,
	    (unsigned long long)at);
	err_where(&u->rerr, "%s byte %llu", u->desc[0] ? u->desc : "gzip",
	    (unsigned long long)at);
	return code;
}

/* Moves unread input to the front and pulls more from src. */
static int
gz_refill(struct gz_layer *g)
{
	size_t keep = g->zs.avail_in, got = 0;
	int rc;

	if (g->src_eof)
		return 0;
	if (keep > 0 && g->zs.next_in != g->in)
		memmove(g->in, g->zs.next_in, keep);
	g->zs.next_in = g->in;
	rc = g->src->read(g->src->ctx, g->in + keep, GZ_IN_CHUNK - keep, &got);
	if (rc != 0) {
		/* The layer below filled u->rerr already. */
		g->rc = rc;
		return rc;
	}
	if (got == 0)
		g->src_eof = 1;
	g->src_total += got;
	g->zs.avail_in = (uInt)(keep + got);
	return 0;
}

/* At the end of one member: another member follows (1f 8b), the input
 * ends, or the rest is garbage (Mimecast's CRLF) that is ignored. */
static int
gz_member_end(struct gz_layer *g)
{
	int rc;

	while (g->zs.avail_in < 2 && !g->src_eof)
		if ((rc = gz_refill(g)) != 0)
			return rc;
	if (g->zs.avail_in == 0) {
		g->done = 1;
		return 0;
	}
	if (g->zs.avail_in >= 2 && g->zs.next_in[0] == 0x1f &&
	    g->zs.next_in[1] == 0x8b) {
		if (inflateReset(&g->zs) != Z_OK)
			return gz_fail(g, ERR_FORMAT, g->src_total,
			    "gzip member reset failed");
		return 0;
	}
	g->u->info.trailing_garbage = 1;
	g->done = 1;
	return 0;
}

static int
gz_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
	struct gz_layer *g = ctx;
	size_t produced;
	int zr, rc = 0;

	*got = 0;
	if (g->rc != 0)
		return g->rc;
	if (g->done || cap == 0)
		return 0;
	if (cap > LIM_UNPACK_READ_BYTES)
		cap = LIM_UNPACK_READ_BYTES;
	g->zs.next_out = buf;
	g->zs.avail_out = (uInt)cap;
	while (g->zs.avail_out > 0 && !g->done) {
		if (g->zs.avail_in == 0) {
			if ((rc = gz_refill(g)) != 0)
				break;
			if (g->zs.avail_in == 0) {
				rc = gz_fail(g, ERR_FORMAT, g->src_total,
				    "truncated gzip");
				break;
			}
		}
		zr = inflate(&g->zs, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			if ((rc = gz_member_end(g)) != 0)
				break;
		} else if (zr == Z_OK || zr == Z_BUF_ERROR) {
			/* Z_BUF_ERROR: no progress for want of input; the
			 * loop refills or reports truncation. */
			continue;
		} else if (zr == Z_MEM_ERROR) {
			g->rc = rc = err_set(&g->u->rerr, ERR_NOMEM,
			    "out of memory inflating gzip");
			break;
		} else {
			char what[160];

			snprintf(what, sizeof what, "corrupt gzip (%s)",
			    g->zs.msg ? g->zs.msg : "bad data");
			rc = gz_fail(g, ERR_FORMAT,
			    g->src_total - g->zs.avail_in, what);
			break;
		}
	}
	produced = cap - g->zs.avail_out;
	if (produced > LIM_INFLATED_BYTES - g->out_total) {
		g->rc = ERR_TOO_LARGE;
		err_set(&g->u->rerr, ERR_TOO_LARGE,
		    "inflated data exceeds LIM_INFLATED_BYTES (%u)",
		    (unsigned)LIM_INFLATED_BYTES);
		err_where(&g->u->rerr, "%s byte %llu",
		    g->u->desc[0] ? g->u->desc : "gzip",
		    (unsigned long long)(g->src_total - g->zs.avail_in));
		return ERR_TOO_LARGE;
	}
	g->out_total += produced;
	/* Bytes made before an error are handed out; the error (sticky in
	 * g->rc) comes with the next call. */
	if (produced > 0) {
		*got = produced;
		return 0;
	}
	return rc;
}

static struct gz_layer *
gz_push(struct unpack *u, struct reader *src)
{
	struct gz_layer *g;

	if (u->ngz >= MAX_GZ)
		return NULL;
	g = &u->gz[u->ngz];
	if (g->in == NULL && (g->in = malloc(GZ_IN_CHUNK)) == NULL)
		return NULL;
	memset(&g->zs, 0, sizeof g->zs);
	g->src = src;
	g->src_eof = g->done = g->rc = 0;
	g->src_total = g->out_total = 0;
	g->u = u;
	g->zs.next_in = g->in;
	g->zs.avail_in = 0;
	/* 15 + 32: window 32 KiB, gzip or zlib header detected. */
	if (inflateInit2(&g->zs, 15 + 32) != Z_OK)
		return NULL;
	g->zinit = 1;
	u->ngz++;
	g->rd.read = gz_read;
	g->rd.ctx = g;
	return g;
}

/* Ends every layer of the current chain (not the buffers). */
static void
chain_reset(struct unpack *u)
{
	for (int i = 0; i < u->ngz; i++)
		if (u->gz[i].zinit) {
			inflateEnd(&u->gz[i].zs);
			u->gz[i].zinit = 0;
		}
	u->ngz = 0;
	u->npk = 0;
}

/* ---- refused payloads -------------------------------------------------- */

static int
refused_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
	struct unpack *u = ctx;

	(void)buf;
	(void)cap;
	*got = 0;
	u->rerr = u->refused;
	return u->refused.code;
}

/* Makes *rd a reader that fails with code; the message names the payload. */
static struct reader *
refuse(struct unpack *u, int code, const char *msg)
{
	err_clear(&u->refused);
	err_set(&u->refused, code, "%s", msg);
	err_where(&u->refused, "%s", u->desc[0] ? u->desc : "input");
	u->refused_rd.read = refused_read;
	u->refused_rd.ctx = u;
	return &u->refused_rd;
}

/* ---- zip ----------------------------------------------------------------- */

/* A libarchive call failed because an allocation failed: transient, not
 * a broken zip (which would be rejected for good). libarchive says ENOMEM
 * for most of its own allocations but not for all (zlib's inflateInit2()
 * failing is "Can't initialize ZIP decompression"), so errno, cleared
 * before the call, counts too: malloc() sets ENOMEM when it fails, and
 * nothing else in these calls touches errno (the zip is in memory). */
static int
ar_code(struct archive *a)
{
	return archive_errno(a) == ENOMEM || errno == ENOMEM ? ERR_NOMEM :
	    ERR_FORMAT;
}

static int
arc_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
	struct arc_layer *a = ctx;
	struct unpack *u = a->u;
	la_ssize_t n;

	*got = 0;
	if (cap > LIM_UNPACK_READ_BYTES)
		cap = LIM_UNPACK_READ_BYTES;
	errno = 0;
	n = archive_read_data(u->ar, buf, cap);
	if (n < 0) {
		int code = ar_code(u->ar);

		if (n == ARCHIVE_FATAL)
			u->ar_fatal = 1;
		err_set(&u->rerr, code, "%s: %s", code == ERR_NOMEM ?
		    "out of memory reading zip" : "corrupt zip data",
		    archive_error_string(u->ar) ? archive_error_string(u->ar)
		    : "unknown error");
		err_where(&u->rerr, "%s", u->desc);
		return code;
	}
	if ((uint64_t)n > LIM_INFLATED_BYTES - a->total) {
		err_set(&u->rerr, ERR_TOO_LARGE,
		    "inflated data exceeds LIM_INFLATED_BYTES (%u)",
		    (unsigned)LIM_INFLATED_BYTES);
		/* the place: how far into the member's inflated bytes */
		err_where(&u->rerr, "%s inflated byte %llu", u->desc,
		    (unsigned long long)a->total);
		a->total = (uint64_t)LIM_INFLATED_BYTES + 1;
		return ERR_TOO_LARGE;
	}
	a->total += (uint64_t)n;
	*got = (size_t)n;
	return 0;
}

/* The zip in memory as libarchive's client (archive_read_open_memory()
 * of libarchive 3.6 ignores a failed allocation in it and then crashes). */
static la_ssize_t
zmem_read(struct archive *a, void *ctx, const void **buf)
{
	struct unpack *u = ctx;
	size_t n = u->zlen - u->zpos;

	(void)a;
	if (n > LIM_UNPACK_READ_BYTES)
		n = LIM_UNPACK_READ_BYTES;
	*buf = u->zdata + u->zpos;
	u->zpos += n;
	return (la_ssize_t)n;
}

static la_int64_t
zmem_seek(struct archive *a, void *ctx, la_int64_t off, int whence)
{
	struct unpack *u = ctx;
	la_int64_t base = whence == SEEK_CUR ? (la_int64_t)u->zpos :
	    whence == SEEK_END ? (la_int64_t)u->zlen : 0;

	(void)a;
	if (off < -base)
		return ARCHIVE_FATAL;
	u->zpos = off > (la_int64_t)u->zlen - base ? u->zlen :
	    (size_t)(base + off);
	return (la_int64_t)u->zpos;
}

static la_int64_t
zmem_skip(struct archive *a, void *ctx, la_int64_t req)
{
	struct unpack *u = ctx;
	la_int64_t left = (la_int64_t)(u->zlen - u->zpos);

	(void)a;
	if (req < 0)
		return 0;
	if (req > left)
		req = left;
	u->zpos += (size_t)req;
	return req;
}

static void
zip_close(struct unpack *u)
{
	if (u->ar != NULL)
		archive_read_free(u->ar);
	u->ar = NULL;
	archive_entry_free(u->ae);
	u->ae = NULL;
}

static int
zip_open(struct unpack *u, const unsigned char *p, size_t n, struct err *err)
{
	int code;

	zip_close(u);
	u->zdata = p;
	u->zlen = n;
	u->zpos = 0;
	errno = 0;
	u->ar = archive_read_new();
	/* Our own entry for archive_read_next_header2(): libarchive 3.6's
	 * archive_read_new() does not check the allocation of its own. */
	u->ae = archive_entry_new();
	if (u->ar == NULL || u->ae == NULL) {
		zip_close(u);
		return err_set(err, ERR_NOMEM, "out of memory opening zip");
	}
	/* Registers both zip readers: the seekable one (central directory,
	 * bids when it finds the end record: right for Google's archives
	 * with data descriptors) and the streamable one as a fallback for
	 * archives whose directory is missing. */
	if (archive_read_support_format_zip(u->ar) != ARCHIVE_OK ||
	    archive_read_set_read_callback(u->ar, zmem_read) != ARCHIVE_OK ||
	    archive_read_set_seek_callback(u->ar, zmem_seek) != ARCHIVE_OK ||
	    archive_read_set_skip_callback(u->ar, zmem_skip) != ARCHIVE_OK ||
	    archive_read_set_callback_data(u->ar, u) != ARCHIVE_OK ||
	    archive_read_open1(u->ar) != ARCHIVE_OK) {
		code = ar_code(u->ar);
		err_set(err, code, "%s: %s", code == ERR_NOMEM ?
		    "out of memory opening zip" : "cannot open zip",
		    archive_error_string(u->ar) ? archive_error_string(u->ar)
		    : "unknown error");
		err_where(err, "%sbyte 0", u->zprefix);
		zip_close(u);
		return code;
	}
	u->entries = 0;
	u->ar_fatal = 0;
	u->state = ST_ZIP;
	return 0;
}

/*
 * 1 when a member name could point outside a directory if it were ever
 * written out: a ".." component, an absolute path, a backslash (Windows
 * separator, hides ".." from '/'-only checks) or a drive letter. A plain
 * relative folder ("samples/report.xml") is accepted: real reporters send
 * those, and nothing here is written to disk under the name anyway. An
 * empty name is harmless for the same reason.
 */
static int
name_hostile(const char *s)
{
	if (s == NULL)
		return 0;
	if (s[0] == '/' || strchr(s, '\\') != NULL)
		return 1;
	for (const char *p = s; (p = strstr(p, "..")) != NULL; p += 2)
		if ((p == s || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return 1;
	if (((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) &&
	    s[1] == ':')
		return 1;
	return 0;
}

static int build_chain(struct unpack *u, struct reader *src, int depth,
    int in_zip, struct reader **rd, struct err *err);

/* Next usable zip member: 1 with *rd, 0 at the end, negative when the
 * archive itself is broken. */
static int
zip_next(struct unpack *u, struct reader **rd, struct err *err)
{
	struct archive_entry *e;
	const char *name;
	char shown[NAME_SHOW + 8];
	int r;

	for (;;) {
		if (u->ar_fatal) {
			u->state = ST_DONE;
			return 0;
		}
		errno = 0;
		r = archive_read_next_header2(u->ar, u->ae);
		e = u->ae;
		if (r == ARCHIVE_EOF) {
			u->state = ST_DONE;
			return 0;
		}
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			int code = ar_code(u->ar);

			u->state = ST_DONE;
			err_set(err, code, "%s: %s", code == ERR_NOMEM ?
			    "out of memory reading zip" : "corrupt zip",
			    archive_error_string(u->ar) ?
			    archive_error_string(u->ar) : "unknown error");
			err_where(err, "%szip member %u", u->zprefix,
			    u->entries + 1);
			return code;
		}
		/* Counted before anything else, so 65k empty entries cost
		 * no more than 16. */
		if (++u->entries > LIM_ARCHIVE_ENTRIES) {
			u->state = ST_DONE;
			err_set(err, ERR_TOO_LARGE,
			    "zip has more than LIM_ARCHIVE_ENTRIES (%d) members",
			    LIM_ARCHIVE_ENTRIES);
			err_where(err, "%szip member %u", u->zprefix,
			    u->entries);
			return ERR_TOO_LARGE;
		}
		name = archive_entry_pathname(e);
		if (archive_entry_filetype(e) == AE_IFDIR ||
		    (name != NULL && *name != '\0' &&
		    name[strlen(name) - 1] == '/'))
			continue;
		name_clean(name, shown, sizeof shown);
		u->desc[0] = '\0';
		desc_add(u, u->zprefix);
		desc_add(u, "zip member '");
		desc_add(u, shown);
		desc_add(u, "'");
		u->info.container_zip = 1;
		u->info.container_gzip = u->zprefix[0] != '\0';
		chain_reset(u);
		if (name_hostile(name)) {
			*rd = refuse(u, ERR_HOSTILE,
			    "zip member name is absolute or has '..' or '\\'; "
			    "refused");
			return 1;
		}
		if (archive_entry_is_encrypted(e)) {
			*rd = refuse(u, ERR_HOSTILE,
			    "zip member is encrypted; refused");
			return 1;
		}
		if (archive_entry_filetype(e) != AE_IFREG) {
			*rd = refuse(u, ERR_HOSTILE,
			    "zip member is not a regular file; refused");
			return 1;
		}
		u->arc.u = u;
		u->arc.total = 0;
		u->arc.rd.read = arc_read;
		u->arc.rd.ctx = &u->arc;
		return build_chain(u, &u->arc.rd, u->zip_depth, 1, rd, err);
	}
}

/* Reads all of src into u->zbuf (a zip found inside gzip: libarchive needs
 * it whole to find the central directory). buf_append enforces
 * LIM_INFLATED_BYTES; the gzip layer below enforces it too. */
static int
slurp(struct unpack *u, struct reader *src)
{
	unsigned char *chunk;
	size_t got;
	int rc;

	buf_free(&u->zbuf);
	buf_init(&u->zbuf, LIM_INFLATED_BYTES);
	if ((chunk = malloc(GZ_IN_CHUNK)) == NULL)
		return err_set(&u->rerr, ERR_NOMEM, "out of memory");
	for (;;) {
		if ((rc = src->read(src->ctx, chunk, GZ_IN_CHUNK, &got)) != 0)
			break;
		if (got == 0)
			break;
		rc = buf_append(&u->zbuf, chunk, got);
		if (rc == ERR_TOO_LARGE) {
			err_set(&u->rerr, ERR_TOO_LARGE,
			    "inflated data exceeds LIM_INFLATED_BYTES (%u)",
			    (unsigned)LIM_INFLATED_BYTES);
			err_where(&u->rerr, "%s inflated byte %zu", u->desc,
			    u->zbuf.len);
			break;
		}
		if (rc != 0) {
			err_set(&u->rerr, rc, "out of memory");
			break;
		}
	}
	free(chunk);
	return rc;
}

/*
 * Sniffs src and wraps it: gzip gets an inflate layer (and is sniffed
 * again), zip inside gzip is read whole and opened as an archive, anything
 * else is the payload. depth counts container layers so far.
 */
static int
build_chain(struct unpack *u, struct reader *src, int depth, int in_zip,
    struct reader **rd, struct err *err)
{
	struct peek_layer *k;
	struct gz_layer *g;
	const char *kind;
	int rc;

	for (;;) {
		if ((k = peek_push(u, src)) == NULL)
			return err_set(err, ERR_NOMEM, "unpack layers");
		if (k->rc != 0 && k->n == 0) {
			/* The layer below failed before giving a byte: the
			 * payload is that error. */
			*rd = &k->rd;
			return 1;
		}
		kind = unpack_sniff(k->head, k->n);
		if (kind == NULL) {
			*rd = &k->rd;
			return 1;
		}
		if (depth >= LIM_UNPACK_DEPTH) {
			char msg[96];

			snprintf(msg, sizeof msg, "containers nested deeper "
			    "than LIM_UNPACK_DEPTH (%d)", LIM_UNPACK_DEPTH);
			*rd = refuse(u, ERR_TOO_LARGE, msg);
			return 1;
		}
		if (strcmp(kind, "zip") == 0) {
			if (in_zip) {
				*rd = refuse(u, ERR_UNSUPPORTED,
				    "zip archive inside a zip member");
				return 1;
			}
			rc = slurp(u, &k->rd);
			if (rc != 0) {
				u->refused = u->rerr;
				u->refused_rd.read = refused_read;
				u->refused_rd.ctx = u;
				*rd = &u->refused_rd;
				return 1;
			}
			chain_reset(u);
			/* The zip's data lives in zbuf from here on. */
			if (strlen(u->desc) + 4 < sizeof u->zprefix) {
				memcpy(u->zprefix, u->desc, strlen(u->desc));
				memcpy(u->zprefix + strlen(u->desc), " > ", 4);
			}
			u->zip_depth = depth + 1;
			if ((rc = zip_open(u, u->zbuf.data, u->zbuf.len,
			    err)) != 0)
				return rc;
			return zip_next(u, rd, err);
		}
		if ((g = gz_push(u, &k->rd)) == NULL)
			return err_set(err, ERR_NOMEM, "out of memory for "
			    "inflate");
		desc_add(u, u->desc[0] ? " > gzip" : "gzip");
		u->info.container_gzip = 1;
		src = &g->rd;
		depth++;
	}
}

int
unpack_open(const unsigned char *data, size_t len, int drop_behind,
    struct unpack **out)
{
	struct unpack *u;

	*out = NULL;
	if ((u = calloc(1, sizeof *u)) == NULL)
		return ERR_NOMEM;
	u->data = data;
	u->len = len;
	u->drop_behind = drop_behind;
	u->state = ST_START;
	buf_init(&u->zbuf, LIM_INFLATED_BYTES);
	*out = u;
	return 0;
}

int
unpack_next(struct unpack *u, struct reader **rd, struct payload_info *info,
    struct err *err)
{
	const char *kind;
	int rc;

	err_clear(&u->rerr);
	memset(&u->info, 0, sizeof u->info);
	u->desc[0] = '\0';
	switch (u->state) {
	case ST_DONE:
		chain_reset(u);
		return 0;
	case ST_ZIP:
		rc = zip_next(u, rd, err);
		break;
	default:
		u->state = ST_DONE;
		u->zprefix[0] = '\0';
		u->zip_depth = 1;
		reader_mem_init(&u->mem, u->data, u->len, u->drop_behind,
		    &u->mem_rd);
		kind = unpack_sniff(u->data, u->len);
		if (kind == NULL) {
			*rd = &u->mem_rd;
			rc = 1;
		} else if (strcmp(kind, "zip") == 0) {
			if ((rc = zip_open(u, u->data, u->len, err)) == 0)
				rc = zip_next(u, rd, err);
		} else {
			rc = build_chain(u, &u->mem_rd, 0, 0, rd, err);
		}
		break;
	}
	if (rc == 1) {
		memcpy(u->info.desc, u->desc, sizeof u->info.desc);
		if (info != NULL)
			*info = u->info;
	}
	return rc;
}

const struct err *
unpack_error(const struct unpack *u)
{
	return &u->rerr;
}

const struct payload_info *
unpack_info(const struct unpack *u)
{
	return &u->info;
}

int
unpack_rewind(struct unpack *u)
{
	chain_reset(u);
	zip_close(u);
	u->state = ST_START;
	u->entries = 0;
	u->ar_fatal = 0;
	err_clear(&u->rerr);
	return 0;
}

void
unpack_free(struct unpack *u)
{
	if (u == NULL)
		return;
	chain_reset(u);
	for (int i = 0; i < MAX_GZ; i++)
		free(u->gz[i].in);
	zip_close(u);
	buf_free(&u->zbuf);
	free(u);
}
