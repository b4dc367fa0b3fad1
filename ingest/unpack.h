/*
 * ingest/unpack.h - from one blob of bytes (a decoded MIME part or a raw
 * file) to the report documents inside it. The only module that includes
 * zlib and libarchive.
 *
 * Containers are sniffed by magic bytes, never by name: gzip (1f 8b,
 * concatenated members joined, trailing garbage after the last member
 * ignored with a note, nested gzip "double gzip" unwrapped), zip (50 4b 03
 * 04: every member, not just the first; encrypted members and names that
 * are absolute, contain '..' components, '\\' or drive letters are refused;
 * plain relative folders are accepted because real zips use them and
 * nothing is ever written to disk; at most LIM_ARCHIVE_ENTRIES), else
 * plain. Nesting is bounded by LIM_UNPACK_DEPTH. Decompression is streamed
 * and stops with ERR_TOO_LARGE as soon as one payload exceeds
 * LIM_INFLATED_BYTES; header sizes are never trusted. Nothing is written to
 * disk.
 */
#ifndef DW_INGEST_UNPACK_H
#define DW_INGEST_UNPACK_H

#include <stddef.h>

#include "../common/err.h"
#include "../common/reader.h"

struct unpack;

/* Info about one payload. */
struct payload_info {
	char desc[256];     /* how it was unwrapped: "gzip", "zip member
	                     * 'a.xml'", "gzip > gzip", "" for plain */
	int container_gzip; /* 1 if any gzip layer */
	int container_zip;  /* 1 if from a zip member */
	int trailing_garbage; /* gzip had bytes after the last member */
};

/*
 * Opens the blob. data is borrowed and must stay valid until
 * unpack_free(). drop_behind: data is a read-only file mapping whose
 * consumed pages may be released (see reader_mem).
 * Returns 0, ERR_NOMEM.
 */
int unpack_open(const unsigned char *data, size_t len, int drop_behind,
    struct unpack **out);

/*
 * Moves to the next payload. Returns 1 and sets *rd to a reader of the
 * decompressed bytes (valid until the next unpack_next()/unpack_free())
 * and fills *info; 0 when there are no more payloads; negative on an error
 * that ends the blob (e.g. a zip whose directory is corrupt), with err
 * filled (where = "byte N" or "zip member 'x'").
 *
 * A read error inside a payload (corrupt deflate data, truncated gzip,
 * LIM_INFLATED_BYTES hit) is returned by rd->read(); unpack_error() then
 * tells what and where. After such an error unpack_next() moves on to the
 * next member where the container allows it (zip), else returns 0.
 */
int unpack_next(struct unpack *u, struct reader **rd,
    struct payload_info *info, struct err *err);

/* The error of the last failed rd->read() (code 0 if none). */
const struct err *unpack_error(const struct unpack *u);

/* The current payload's info, kept up to date while it is read:
 * trailing_garbage only becomes known when the gzip stream has been read
 * to its end, so check it here after reading (the copy unpack_next()
 * filled is taken before any byte is inflated). */
const struct payload_info *unpack_info(const struct unpack *u);

/* Rewinds to the first payload, so a payload can be parsed again (XML
 * recover mode). Returns 0 or ERR_NOMEM. */
int unpack_rewind(struct unpack *u);

void unpack_free(struct unpack *u);

/* Magic-byte container test: "gzip", "zip" or NULL. */
const char *unpack_sniff(const unsigned char *p, size_t n);

#endif
