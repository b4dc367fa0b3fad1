/*
 * report/export_kumomta.c - KumoMTA: a shaping overlay (JSON) with one
 * provider block per provider and, inside it, per-source named throttles
 * that aggregate across all of the provider's sites. List it last in the
 * shaping helper's extra_files (doc/hints.md "KumoMTA").
 */
#include <stdio.h>
#include <string.h>

#include "../common/json.h"
#include "../common/timefmt.h"
#include "export.h"
#include "outfile.h"

static int
rate(struct jv *o, const char *key, uint64_t n, const char *unit)
{
	char b[64];

	snprintf(b, sizeof b, "%llu/%s", (unsigned long long)n, unit);
	return jv_set_str(o, key, b);
}

/* No attempts now: a pause, or the provider's stop. */
static int
held(const struct export_set *x, const struct export_hint *h)
{
	return h->paused || h->stop_until > x->generated_at;
}

static struct jv *
source_block(const struct export_set *x, const struct export_hint *h)
{
	struct jv *s = jv_object(), *thr = jv_object(), *conn = jv_object();
	char key[256];
	/* A held source gets the smallest expressible rate: the overlay
	 * has no timed suspend (the suspension file beside it, applied
	 * through the admin API, has: doc/hints.md). */
	uint64_t ph = held(x, h) ? 1 : h->per_hour;
	uint64_t pd = held(x, h) ? 1 : h->per_day;
	unsigned k = held(x, h) ? 1 : h->conns;
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

static struct jv *
iso(int64_t t)
{
	char b[32];

	time_iso8601(t, b, sizeof b);
	return jv_str(b);
}

/*
 * path.suspend.json: one entry per held (source, provider) with its
 * expiry, for ready-queue suspensions through the admin API (KumoMTA
 * expires them itself, so a dead monitor cannot leave one behind). The
 * ready queues are "SOURCE->SITE@smtp_client" for every SITE of the
 * provider's MX suffixes (doc/hints.md "KumoMTA").
 */
static int
write_suspensions(const struct export_set *x, const char *path,
    struct err *err)
{
	struct jv *doc = jv_object(), *arr = jv_array();
	struct outfile of;
	char spath[4096];
	int rc = doc == NULL || arr == NULL ? ERR_NOMEM : 0;

	for (size_t i = 0; rc == 0 && i < x->n_hints; i++) {
		const struct export_hint *h = &x->hints[i];
		const struct export_provider *ep =
		    export_provider_find(x, h->provider);
		struct jv *o, *mx;
		int64_t until;
		char why[256], suf[300];

		if (!held(x, h) || ep == NULL)
			continue;
		until = h->paused ? h->valid_until : h->stop_until;
		o = jv_object();
		mx = jv_array();
		if (o == NULL || mx == NULL) {
			jv_free(o);
			jv_free(mx);
			rc = ERR_NOMEM;
			break;
		}
		for (size_t m = 0; m < ep->n_mx; m++) {
			snprintf(suf, sizeof suf, ".%s", ep->mx[m]);
			rc |= jv_append(mx, jv_str(suf));
		}
		snprintf(why, sizeof why, "dmarcwatch %s %s (%s)", h->hint_id,
		    h->reason, h->paused ? "pause" : "provider stop");
		rc |= jv_set_str(o, "source", h->source);
		rc |= jv_set_str(o, "source_ip", h->source_ip);
		rc |= jv_set_str(o, "provider", h->provider);
		rc |= jv_set(o, "mx_suffixes", mx);
		rc |= jv_set_str(o, "reason", why);
		rc |= jv_set(o, "expires", iso(until));
		rc |= jv_set_int(o, "duration_seconds", until - x->generated_at);
		rc |= jv_append(arr, o);
	}
	rc |= jv_set_str(doc, "format", "dmarcwatch-kumomta-suspensions");
	rc |= jv_set_int(doc, "version", 1);
	rc |= jv_set_int(doc, "sequence", x->seq);
	rc |= jv_set(doc, "generated_at", iso(x->generated_at));
	rc |= jv_set(doc, "suspensions", arr);
	if (rc != 0) {
		jv_free(doc);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	if ((size_t)snprintf(spath, sizeof spath, "%s.suspend.json", path) >=
	    sizeof spath) {
		jv_free(doc);
		err_where(err, "%s", path);
		return err_set(err, ERR_INVAL, "path too long");
	}
	if ((rc = outfile_open(&of, spath, err)) == 0) {
		if (jv_dump(doc, of.f, 2) != 0) {
			outfile_abort(&of);
			err_where(err, "%s", spath);
			rc = err_set(err, ERR_IO, "write failed");
		} else {
			rc = outfile_commit(&of, err);
		}
	}
	jv_free(doc);
	return rc;
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
		struct jv *pb, *match, *srcs;
		char suf[300];

		/* A provider block matches by MX suffix: without one it
		 * would match nothing (KumoMTA may refuse it too). */
		if (ep->n_mx == 0)
			continue;
		pb = jv_object();
		match = jv_array();
		srcs = jv_object();

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
				    source_block(x, &x->hints[i]));
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
	if (rc == 0 && strcmp(path, "-") != 0)
		rc = write_suspensions(x, path, err);
	return rc;
}
