/*
 * report/export_kumomta.c - KumoMTA: a shaping overlay (JSON) with one
 * provider block per provider and, inside it, per-source named throttles
 * that aggregate across all of the provider's sites. List it last in the
 * shaping helper's extra_files (doc/hints.md "KumoMTA").
 */
#include <stdio.h>
#include <string.h>

#include "../common/json.h"
#include "export.h"
#include "outfile.h"

static int
rate(struct jv *o, const char *key, uint64_t n, const char *unit)
{
	char b[64];

	snprintf(b, sizeof b, "%llu/%s", (unsigned long long)n, unit);
	return jv_set_str(o, key, b);
}

static struct jv *
source_block(const struct export_hint *h)
{
	struct jv *s = jv_object(), *thr = jv_object(), *conn = jv_object();
	char key[256];
	/* A paused source gets the smallest expressible rate: the overlay
	 * has no timed suspend (the admin API does: doc/hints.md). */
	uint64_t ph = h->paused ? 1 : h->per_hour;
	uint64_t pd = h->paused ? 1 : h->per_day;
	unsigned k = h->paused ? 1 : h->conns;
	int rc = s == NULL || thr == NULL || conn == NULL ? ERR_NOMEM : 0;

	snprintf(key, sizeof key, "dw-%s-%s-h", h->provider, h->source);
	rc |= rate(thr, key, ph, "h");
	snprintf(key, sizeof key, "dw-%s-%s-d", h->provider, h->source);
	rc |= rate(thr, key, pd, "d");
	snprintf(key, sizeof key, "dw-%s-%s-conn", h->provider, h->source);
	rc |= jv_set_int(conn, key, k);
	rc |= jv_set(s, "additional_message_rate_throttles", thr);
	rc |= jv_set(s, "additional_connection_limits", conn);
	/* Pool selection skips the source once its day budget is used, so
	 * the rest overflows to other sources instead of queueing. */
	rc |= rate(s, "provider_source_selection_rate", pd, "d");
	if (rc != 0) {
		jv_free(s);
		return NULL;
	}
	return s;
}

int
export_kumomta(const struct export_set *x, const char *path,
    struct err *err)
{
	struct jv *doc = jv_object(), *provs = jv_object();
	struct outfile of;
	int rc = doc == NULL || provs == NULL ? ERR_NOMEM : 0;

	for (size_t p = 0; rc == 0 && p < x->n_providers; p++) {
		const struct export_provider *ep = &x->providers[p];
		struct jv *pb = jv_object(), *match = jv_array(),
		    *srcs = jv_object();
		char suf[300];

		if (pb == NULL || match == NULL || srcs == NULL) {
			jv_free(pb);
			jv_free(match);
			jv_free(srcs);
			rc = ERR_NOMEM;
			break;
		}
		for (size_t i = 0; i < ep->n_mx; i++) {
			struct jv *m = jv_object();
			snprintf(suf, sizeof suf, ".%s", ep->mx[i]);
			rc |= m == NULL ? ERR_NOMEM :
			    jv_set_str(m, "MXSuffix", suf);
			rc |= jv_append(match, m);
		}
		for (size_t i = 0; i < x->n_hints; i++)
			if (strcmp(x->hints[i].provider, ep->name) == 0)
				rc |= jv_set(srcs, x->hints[i].source,
				    source_block(&x->hints[i]));
		rc |= jv_set(pb, "match", match);
		rc |= jv_set(pb, "sources", srcs);
		rc |= jv_set(provs, ep->name, pb);
	}
	rc |= jv_set(doc, "provider", provs);
	if (rc != 0) {
		jv_free(doc);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	if ((rc = outfile_open(&of, path, err)) == 0) {
		if (jv_dump(doc, of.f, 2) != 0) {
			outfile_abort(&of);
			err_where(err, "%s", path);
			rc = err_set(err, ERR_IO, "write failed");
		} else {
			rc = outfile_commit(&of, err);
		}
	}
	jv_free(doc);
	return rc;
}
