/*
 * common/reader.h - a pull stream of bytes.
 *
 * Decompressors produce readers, parsers consume them, so a 500 MB report
 * streams from disk (or from inflate) into the parser without ever being
 * held whole. read() fills up to cap bytes and sets *got; *got == 0 with a
 * 0 return means end of stream. A negative return is an ERR_* code; the
 * reader may then fill err (if it has one) with what and where.
 */
#ifndef DW_COMMON_READER_H
#define DW_COMMON_READER_H

#include <stddef.h>
#include <stdint.h>

struct reader {
	int (*read)(void *ctx, unsigned char *buf, size_t cap, size_t *got);
	void *ctx;
};

/* A reader over memory. The bytes are borrowed. When drop_behind is set and
 * the memory is a read-only file mapping, pages already consumed are given
 * back to the kernel (madvise MADV_DONTNEED) so a huge mapped file does not
 * count as resident memory. */
struct reader_mem {
	const unsigned char *data;  /* borrowed */
	size_t len;
	size_t pos;
	size_t dropped;             /* bytes released so far */
	int drop_behind;
};

void reader_mem_init(struct reader_mem *m, const void *data, size_t len,
    int drop_behind, struct reader *out);

/* Releases the consumed pages of a read-only file mapping that lie in
 * [data + from, data + upto), from and upto rounded down to pages: a
 * caller that drops every MiB passes where the last drop ended, so each
 * page is released once (dropping from data every time walked the whole
 * consumed range again: quadratic in the file size). No-op for memory
 * that is not page aligned. */
void mem_drop_behind(const void *data, size_t from, size_t upto);

#endif
