/*
 * ingest/digest.h - SHA-256 of message bytes (GnuTLS), as 64 hex chars.
 * The message identity of the exactly-once model.
 */
#ifndef DW_INGEST_DIGEST_H
#define DW_INGEST_DIGEST_H

#include <stddef.h>

#define DIGEST_HEX_LEN 64

/* out must hold DIGEST_HEX_LEN + 1 bytes. When drop_behind is set, data is
 * a read-only file mapping whose pages are released as they are hashed.
 * Returns 0 or ERR_NOMEM. */
int digest_sha256_hex(const void *data, size_t len, int drop_behind,
    char *out);

#endif
