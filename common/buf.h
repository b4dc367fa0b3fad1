/*
 * common/buf.h - a growable byte buffer with a hard cap given at init.
 *
 * The cap is the point: input-sized data only grows through buf_append,
 * which fails with ERR_TOO_LARGE (not a generic failure) once the buffer
 * would exceed the cap. The data is always NUL-terminated for convenience
 * (the NUL is not counted in len and not part of the cap).
 */
#ifndef DW_COMMON_BUF_H
#define DW_COMMON_BUF_H

#include <stddef.h>

struct buf {
	unsigned char *data; /* owned; NULL until the first append */
	size_t len;
	size_t alloc;
	size_t cap;          /* most bytes len may reach */
};

void buf_init(struct buf *b, size_t cap);
/* Returns 0, ERR_TOO_LARGE (buffer unchanged) or ERR_NOMEM. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);   /* len = 0, keeps memory */
void buf_free(struct buf *b);    /* frees memory, back to init state */
/* Hands the data to the caller (who frees it) and resets b. May be NULL
 * when nothing was appended. */
unsigned char *buf_steal(struct buf *b, size_t *len);

#endif
