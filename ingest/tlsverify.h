/*
 * ingest/tlsverify.h - verifies a TLS server's certificate chain and host
 * name with GnuTLS. libetpan completes the handshake without looking at the
 * certificate; src_imap.c hands the peer chain (DER) here before anything
 * secret is sent.
 */
#ifndef DW_INGEST_TLSVERIFY_H
#define DW_INGEST_TLSVERIFY_H

#include <stddef.h>

#include "../common/err.h"

/*
 * der[i], len[i]: the peer's chain, server certificate first. Checked
 * against ca_file (PEM, one or more CAs) or, when ca_file is NULL or "",
 * the system trust store; host is matched against the certificate's
 * names (DNS or IP address). n may exceed LIM_TLS_CHAIN: such a chain is
 * refused before der/len are read (they need only hold LIM_TLS_CHAIN).
 * Returns 0, or ERR_TLS with a message saying what is wrong (too long,
 * unknown issuer, expired, name mismatch ...).
 */
int tls_verify_chain(const unsigned char *const *der, const size_t *len,
    size_t n, const char *host, const char *ca_file, struct err *err);

#endif
