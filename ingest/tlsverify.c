/* ingest/tlsverify.c - see tlsverify.h */
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "../common/limits.h"
#include "tlsverify.h"

/* A server chain longer than this is not a real one (leaf, one or two
 * intermediates, maybe the root). */

int
tls_verify_chain(const unsigned char *const *der, const size_t *len,
    size_t n, const char *host, const char *ca_file, struct err *err)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t crts[LIM_TLS_CHAIN];
	gnutls_typed_vdata_st vd[2];
	gnutls_datum_t out = { NULL, 0 };
	unsigned int status = 0;
	size_t ncrt = 0;
	int rc, grc;

	if (n == 0)
		return err_set(err, ERR_TLS, "the server sent no certificate");
	if (n > LIM_TLS_CHAIN)
		return err_set(err, ERR_TLS, "the server sent a chain of %zu "
		    "certificates, more than LIM_TLS_CHAIN (%d): refused", n,
		    LIM_TLS_CHAIN);
	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (ca_file != NULL && ca_file[0] != '\0') {
		grc = gnutls_x509_trust_list_add_trust_file(tl, ca_file, NULL,
		    GNUTLS_X509_FMT_PEM, 0, 0);
		if (grc <= 0) {
			rc = err_set(err, ERR_TLS, "ca_file %s: no CA "
			    "certificate could be read (%s)", ca_file,
			    grc < 0 ? gnutls_strerror(grc) : "none found");
			goto out;
		}
	} else {
		grc = gnutls_x509_trust_list_add_system_trust(tl, 0, 0);
		if (grc <= 0) {
			rc = err_set(err, ERR_TLS, "the system trust store is "
			    "empty or unreadable (%s); set [imap] ca_file",
			    grc < 0 ? gnutls_strerror(grc) : "no CA");
			goto out;
		}
	}
	for (ncrt = 0; ncrt < n; ncrt++) {
		gnutls_datum_t d;
		d.data = (unsigned char *)der[ncrt];
		d.size = (unsigned int)len[ncrt];
		if (gnutls_x509_crt_init(&crts[ncrt]) < 0) {
			rc = err_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
		grc = gnutls_x509_crt_import(crts[ncrt], &d,
		    GNUTLS_X509_FMT_DER);
		if (grc < 0) {
			ncrt++;
			rc = err_set(err, ERR_TLS, "server certificate %zu "
			    "cannot be read: %s", ncrt - 1,
			    gnutls_strerror(grc));
			goto out;
		}
	}
	memset(vd, 0, sizeof vd);
	vd[0].type = GNUTLS_DT_DNS_HOSTNAME;
	vd[0].data = (unsigned char *)host;
	vd[0].size = (unsigned int)strlen(host);
	vd[1].type = GNUTLS_DT_KEY_PURPOSE_OID;
	vd[1].data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER;
	grc = gnutls_x509_trust_list_verify_crt2(tl, crts, (unsigned int)ncrt,
	    vd, 2, 0, &status, NULL);
	if (grc < 0) {
		rc = err_set(err, ERR_TLS, "certificate verification failed: "
		    "%s", gnutls_strerror(grc));
		goto out;
	}
	if (status != 0) {
		const char *why = "not trusted";
		if (gnutls_certificate_verification_status_print(status,
		    GNUTLS_CRT_X509, &out, 0) == 0 && out.data != NULL)
			why = (const char *)out.data;
		rc = err_set(err, ERR_TLS, "server certificate for '%s' "
		    "refused: %s%s", host, why,
		    (status & GNUTLS_CERT_SIGNER_NOT_FOUND) ?
		    (ca_file && ca_file[0] ? " (not issued by ca_file)" :
		    " (not issued by a CA in the system trust store)") : "");
		goto out;
	}
	rc = 0;
out:
	gnutls_free(out.data);
	for (size_t i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	if (tl != NULL)
		gnutls_x509_trust_list_deinit(tl, 1);
	return rc;
}
