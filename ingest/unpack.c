/* STUB - replaced by the unpack work. */
#include <zlib.h>
#include <archive.h>
#include "unpack.h"
int unpack_open(const unsigned char *data, size_t len, int drop_behind, struct unpack **out) { (void)data; (void)len; (void)drop_behind; *out = NULL; return ERR_NOMEM; }
int unpack_next(struct unpack *u, struct reader **rd, struct payload_info *info, struct err *err) { (void)u; (void)rd; (void)info; return err_set(err, ERR_UNSUPPORTED, "stub"); }
const struct err *unpack_error(const struct unpack *u) { (void)u; return NULL; }
int unpack_rewind(struct unpack *u) { (void)u; return ERR_NOMEM; }
void unpack_free(struct unpack *u) { (void)u; }
const char *unpack_sniff(const unsigned char *p, size_t n) { (void)p; (void)n; return NULL; }
