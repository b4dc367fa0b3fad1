/* ingest/digest.c - see digest.h */
#include <gnutls/crypto.h>
#include <stdio.h>

#include "../common/err.h"
#include "../common/reader.h"
#include "digest.h"

/* Hash in 1 MiB steps so a huge mapped file can drop pages behind us. */
#define DIGEST_STEP (1u * 1024 * 1024)

int
digest_sha256_hex(const void *data, size_t len, int drop_behind, char *out)
{
	gnutls_hash_hd_t h;
	unsigned char md[32];
	const unsigned char *p = data;
	size_t off = 0;

	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return ERR_NOMEM;
	while (off < len) {
		size_t n = len - off > DIGEST_STEP ? DIGEST_STEP : len - off;
		if (gnutls_hash(h, p + off, n) < 0) {
			gnutls_hash_deinit(h, NULL);
			return ERR_NOMEM;
		}
		if (drop_behind)
			mem_drop_behind(data, off, off + n);
		off += n;
	}
	gnutls_hash_deinit(h, md);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}
