/* STUB - replaced by the MIME work. */
#include "mime.h"
int mime_walk(const unsigned char *msg, size_t len, int (*cb)(void *ctx, const struct mime_part *p), void *ctx, struct err *err) { (void)msg; (void)len; (void)cb; (void)ctx; return err_set(err, ERR_UNSUPPORTED, "stub"); }
int mime_headers(const unsigned char *msg, size_t len, int (*cb)(void *ctx, const struct mime_header *h), void *ctx, struct err *err) { (void)msg; (void)len; (void)cb; (void)ctx; return err_set(err, ERR_UNSUPPORTED, "stub"); }
int mime_looks_like_message(const unsigned char *p, size_t n) { (void)p; (void)n; return 0; }
