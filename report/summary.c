/* report/summary.c - see summary.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/json.h"
#include "../common/timefmt.h"
#include "../store/store.h"
#include "overview.h"
#include "summary.h"

/* Reporters listed per domain, and the widest name column: a hostile
 * 2 kB domain must not push every figure off the screen. */
#define SUMMARY_REPORTERS 5
#define SUMMARY_NAME_WIDTH 40

/* A name fit for one aligned column: control characters (which could
 * move the cursor or fake lines) become '?', empty becomes "-", longer
 * than the column is cut (at a UTF-8 character boundary) and marked '~'. */
static void
cell(char *out, size_t outsz, const char *s)
{
	size_t n = 0, max = SUMMARY_NAME_WIDTH < outsz - 1 ?
	    SUMMARY_NAME_WIDTH : outsz - 1;

	if (s == NULL || *s == '\0')
		s = "-";
	for (; *s != '\0' && n < max; s++) {
		unsigned char c = (unsigned char)*s;

		out[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (*s != '\0') {
		/* Cut at a character boundary with room for the '~'. */
		size_t k = max - 1;

		while (k > 0 && ((unsigned char)out[k] & 0xc0) == 0x80)
			k--;
		out[k] = '~';
		n = k + 1;
	}
	out[n] = '\0';
}

/* Display width: UTF-8 continuation bytes take no column. */
static int
width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void
pad(FILE *f, const char *s, int w)
{
	fputs(s, f);
	for (int i = width(s); i < w; i++)
		fputc(' ', f);
}

static void
pct(char *out, size_t n, uint64_t num, uint64_t den)
{
	if (den == 0)
		snprintf(out, n, "n/a");
	else
		snprintf(out, n, "%.2f %%", 100.0 * (double)num / (double)den);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Figures beyond the overview: foreign senders of our domains (when
 * [sender] ips and domains are set) and the last hints run. */
struct extra {
	int foreign_known;
	uint64_t n_spoof, n_svc, m_spoof, m_svc;
	int64_t runs, last_run, hints;
	struct {
		char action[16];
		int64_t n;
	} act[8];
	size_t n_act;
};

static int
presence_cb(void *ctx, const struct store_row *r)
{
	struct extra *x = ctx;

	x->runs = r->num[2];
	x->last_run = r->num[3];
	x->hints = r->num[4];
	return 0;
}

static int
action_cb(void *ctx, const struct store_row *r)
{
	struct extra *x = ctx;

	if (x->n_act >= sizeof x->act / sizeof x->act[0])
		return 0;
	snprintf(x->act[x->n_act].action, sizeof x->act[0].action, "%s",
	    r->text[0] ? r->text[0] : "?");
	x->act[x->n_act++].n = r->num[1];
	return 0;
}

/* The foreign senders come from the overview's pass (ov_load was given
 * the sender's IPs and domains); the hints from their tables. */
static int
extra_load(struct store *st, const struct overview *ov, struct extra *x,
    struct err *err)
{
	int rc;

	memset(x, 0, sizeof *x);
	x->foreign_known = ov->foreign_known;
	x->n_spoof = ov->n_foreign_fail;
	x->m_spoof = ov->m_foreign_fail;
	x->n_svc = ov->n_foreign_pass;
	x->m_svc = ov->m_foreign_pass;
	if ((rc = store_query_each(st, SQ_ENGINE_PRESENCE, NULL, presence_cb,
	    x, err)) != 0)
		return rc;
	return store_query_each(st, SQ_HINT_ACTIONS, NULL, action_cb, x, err);
}

static void
print_foreign(const struct extra *x, FILE *f)
{
	if (!x->foreign_known)
		fprintf(f, "\nForeign senders: set [sender] ips and domains to "
		    "count them\n");
	else
		fprintf(f, "\nForeign senders of our domains: %llu failing DMARC "
		    "(likely spoofing, %llu %s), %llu passing DMARC (%llu "
		    "%s)\n", (unsigned long long)x->n_spoof,
		    (unsigned long long)x->m_spoof,
		    x->m_spoof == 1 ? "message" : "messages",
		    (unsigned long long)x->n_svc, (unsigned long long)x->m_svc,
		    x->m_svc == 1 ? "message" : "messages");
}

static int
print_text(const struct overview *ov, const struct summary_opts *o,
    FILE *f)
{
	char name[4 * SUMMARY_NAME_WIDTH + 8], a[32], b[32], c[32];
	int w = (int)strlen("POLICY DOMAIN");

	if (o->since > 0)
		time_iso_day(o->since, a, sizeof a);
	if (o->until > 0)
		time_iso_day(o->until - 1, b, sizeof b);
	if (o->since <= 0 && o->until <= 0)
		fprintf(f, "Range: all data\n");
	else
		fprintf(f, "Range: %s to %s (UTC days)\n",
		    o->since > 0 ? a : "the first day",
		    o->until > 0 ? b : "the last day");
	if (o->domain) {
		cell(name, sizeof name, o->domain);
		fprintf(f, "Policy domain: %s\n", name);
	}
	fprintf(f, "Reports: %llu aggregate, %llu TLS-RPT, %llu failure; "
	    "%llu rejected inputs\n\n", (unsigned long long)ov->n_aggregate,
	    (unsigned long long)ov->n_tlsrpt,
	    (unsigned long long)ov->n_failure,
	    (unsigned long long)ov->n_rejected);
	for (size_t i = 0; i < ov->n_doms; i++) {
		cell(name, sizeof name, ov->doms[i].domain);
		if (width(name) > w)
			w = width(name);
	}
	for (size_t i = 0; i < ov->n_tls; i++) {
		cell(name, sizeof name, ov->tls[i].domain);
		if (width(name) > w)
			w = width(name);
	}
	if (ov->n_doms == 0)
		fprintf(f, "DMARC aggregate: no data in this range.\n");
	else {
		fprintf(f, "DMARC aggregate (messages)\n");
		pad(f, "POLICY DOMAIN", w);
		fprintf(f, "  %12s  %10s  %11s  %12s  %10s  %10s  %4s\n",
		    "MESSAGES", "DMARC PASS", "SPF ALIGNED", "DKIM ALIGNED",
		    "QUARANTINE", "REJECT", "DAYS");
	}
	for (size_t i = 0; i < ov->n_doms; i++) {
		const struct ov_domain *d = &ov->doms[i];

		cell(name, sizeof name, d->domain);
		pad(f, name, w);
		pct(a, sizeof a, d->pass, d->messages);
		pct(b, sizeof b, d->spf, d->messages);
		pct(c, sizeof c, d->dkim, d->messages);
		fprintf(f, "  %12llu  %10s  %11s  %12s  %10llu  %10llu  %4zu\n",
		    (unsigned long long)d->messages, a, b, c,
		    (unsigned long long)d->quarantine,
		    (unsigned long long)d->reject, d->n_days);
	}
	for (size_t i = 0; i < ov->n_doms; i++) {
		const struct ov_domain *d = &ov->doms[i];
		int rw = (int)strlen("REPORTER");

		if (d->n_reporters == 0)
			continue;
		cell(name, sizeof name, d->domain);
		fprintf(f, "\nTop reporters for %s\n", name);
		for (size_t j = 0; j < d->n_reporters && j < SUMMARY_REPORTERS;
		    j++) {
			cell(name, sizeof name, d->reporters[j].name);
			if (width(name) > rw)
				rw = width(name);
		}
		fprintf(f, "  ");
		pad(f, "REPORTER", rw);
		fprintf(f, "  %12s  %10s  %4s\n", "MESSAGES", "DMARC PASS",
		    "DAYS");
		for (size_t j = 0; j < d->n_reporters && j < SUMMARY_REPORTERS;
		    j++) {
			const struct ov_reporter *r = &d->reporters[j];

			cell(name, sizeof name, r->name);
			fprintf(f, "  ");
			pad(f, name, rw);
			pct(a, sizeof a, r->pass, r->messages);
			fprintf(f, "  %12llu  %10s  %4llu\n",
			    (unsigned long long)r->messages, a,
			    (unsigned long long)r->days);
		}
	}
	fprintf(f, "\n");
	if (ov->n_tls == 0)
		fprintf(f, "TLS-RPT: no data in this range.\n");
	else {
		fprintf(f, "TLS-RPT (sessions)\n");
		pad(f, "POLICY DOMAIN", w);
		fprintf(f, "  %12s  %12s  %10s\n", "SUCCESSFUL", "FAILED",
		    "SUCCESS");
	}
	for (size_t i = 0; i < ov->n_tls; i++) {
		const struct tls_domain *t = &ov->tls[i];

		cell(name, sizeof name, t->domain);
		pad(f, name, w);
		pct(a, sizeof a, t->ok, t->ok + t->failed);
		fprintf(f, "  %12llu  %12llu  %10s\n",
		    (unsigned long long)t->ok, (unsigned long long)t->failed,
		    a);
	}
	return ferror(f) ? ERR_IO : 0;
}

/* Percentage with 2 decimals as a JSON number, or null. */
static int
set_pct(struct jv *o, const char *k, uint64_t num, uint64_t den)
{
	if (den == 0)
		return jv_set(o, k, jv_str(NULL));
	return jv_set_real(o, k, (double)(int64_t)(10000.0 * (double)num /
	    (double)den + 0.5) / 100.0);
}

static int
json_extra(struct jv *root, const struct extra *x)
{
	struct jv *h = jv_object(), *by = jv_object(), *fo = NULL;
	char when[32];
	int rc = h && by ? 0 : ERR_NOMEM;

	if (rc == 0) rc = jv_set_int(h, "runs", x->runs);
	if (rc == 0 && x->runs > 0) {
		time_iso8601(x->last_run, when, sizeof when);
		rc = jv_set_str(h, "last_run", when);
	} else if (rc == 0)
		rc = jv_set_str(h, "last_run", NULL);
	if (rc == 0) rc = jv_set_int(h, "hints", x->hints);
	for (size_t i = 0; rc == 0 && i < x->n_act; i++)
		rc = jv_set_int(by, x->act[i].action, x->act[i].n);
	if (rc == 0) {
		rc = jv_set(h, "by_action", by);
		by = NULL;
	}
	if (rc == 0) {
		rc = jv_set(root, "hints", h);
		h = NULL;
	}
	if (rc == 0 && x->foreign_known) {
		struct jv *fail = jv_object(), *pass = jv_object();

		fo = jv_object();
		rc = fo && fail && pass ? 0 : ERR_NOMEM;
		if (rc == 0) rc = jv_set_int(fo, "sources",
		    (int64_t)(x->n_spoof + x->n_svc));
		if (rc == 0) rc = jv_set_int(fo, "messages",
		    (int64_t)(x->m_spoof + x->m_svc));
		if (rc == 0) rc = jv_set_int(fail, "sources",
		    (int64_t)x->n_spoof);
		if (rc == 0) rc = jv_set_int(fail, "messages",
		    (int64_t)x->m_spoof);
		if (rc == 0) rc = jv_set_int(pass, "sources",
		    (int64_t)x->n_svc);
		if (rc == 0) rc = jv_set_int(pass, "messages",
		    (int64_t)x->m_svc);
		if (rc == 0) {
			rc = jv_set(fo, "failing_dmarc", fail);
			fail = NULL;
		}
		if (rc == 0) {
			rc = jv_set(fo, "passing_dmarc", pass);
			pass = NULL;
		}
		jv_free(fail);
		jv_free(pass);
		if (rc == 0) {
			rc = jv_set(root, "foreign_senders", fo);
			fo = NULL;
		}
	} else if (rc == 0) {
		rc = jv_set(root, "foreign_senders", jv_str(NULL));
	}
	jv_free(fo);
	jv_free(h);
	jv_free(by);
	return rc;
}

static int
print_json(const struct overview *ov, const struct summary_opts *o,
    const struct extra *ex, FILE *f)
{
	struct jv *root = jv_object(), *range = jv_object(),
	    *counts = jv_object(), *doms = jv_array(), *tls = jv_array();
	char a[16];
	int rc = root && range && counts && doms && tls ? 0 : ERR_NOMEM;

	if (rc == 0 && o->since > 0) {
		time_iso_day(o->since, a, sizeof a);
		rc = jv_set_str(range, "since", a);
	} else if (rc == 0)
		rc = jv_set_str(range, "since", NULL);
	if (rc == 0 && o->until > 0) {
		time_iso_day(o->until - 1, a, sizeof a);
		rc = jv_set_str(range, "until", a);
	} else if (rc == 0)
		rc = jv_set_str(range, "until", NULL);
	if (rc == 0) rc = jv_set_str(range, "domain", o->domain);
	if (rc == 0) rc = jv_set_int(counts, "aggregate_reports",
	    (int64_t)ov->n_aggregate);
	if (rc == 0) rc = jv_set_int(counts, "tlsrpt_reports",
	    (int64_t)ov->n_tlsrpt);
	if (rc == 0) rc = jv_set_int(counts, "failure_reports",
	    (int64_t)ov->n_failure);
	if (rc == 0) rc = jv_set_int(counts, "rejected_inputs",
	    (int64_t)ov->n_rejected);
	for (size_t i = 0; rc == 0 && i < ov->n_doms; i++) {
		const struct ov_domain *d = &ov->doms[i];
		struct jv *x = jv_object(), *reps = jv_array();

		rc = x && reps ? 0 : ERR_NOMEM;
		if (rc == 0) rc = jv_set_str(x, "policy_domain", d->domain);
		if (rc == 0) rc = jv_set_int(x, "messages",
		    (int64_t)d->messages);
		if (rc == 0) rc = jv_set_int(x, "dmarc_pass", (int64_t)d->pass);
		if (rc == 0) rc = set_pct(x, "dmarc_pass_pct", d->pass,
		    d->messages);
		if (rc == 0) rc = jv_set_int(x, "spf_aligned_pass",
		    (int64_t)d->spf);
		if (rc == 0) rc = set_pct(x, "spf_aligned_pct", d->spf,
		    d->messages);
		if (rc == 0) rc = jv_set_int(x, "dkim_aligned_pass",
		    (int64_t)d->dkim);
		if (rc == 0) rc = set_pct(x, "dkim_aligned_pct", d->dkim,
		    d->messages);
		if (rc == 0) rc = jv_set_int(x, "quarantine",
		    (int64_t)d->quarantine);
		if (rc == 0) rc = jv_set_int(x, "reject", (int64_t)d->reject);
		if (rc == 0) rc = jv_set_int(x, "days", (int64_t)d->n_days);
		if (rc == 0) rc = jv_set_str(x, "first_day",
		    d->n_days ? d->days[0].day : NULL);
		if (rc == 0) rc = jv_set_str(x, "last_day",
		    d->n_days ? d->days[d->n_days - 1].day : NULL);
		for (size_t j = 0; rc == 0 && j < d->n_reporters &&
		    j < SUMMARY_REPORTERS; j++) {
			const struct ov_reporter *r = &d->reporters[j];
			struct jv *y = jv_object();

			rc = y ? 0 : ERR_NOMEM;
			if (rc == 0) rc = jv_set_str(y, "reporter", r->name);
			if (rc == 0) rc = jv_set_int(y, "messages",
			    (int64_t)r->messages);
			if (rc == 0) rc = jv_set_int(y, "dmarc_pass",
			    (int64_t)r->pass);
			if (rc == 0) rc = jv_set_int(y, "days",
			    (int64_t)r->days);
			if (rc == 0)
				rc = jv_append(reps, y);
			else
				jv_free(y);
		}
		if (rc == 0) {
			rc = jv_set(x, "top_reporters", reps);
			reps = NULL;
		}
		jv_free(reps);
		if (rc == 0)
			rc = jv_append(doms, x);
		else
			jv_free(x);
	}
	for (size_t i = 0; rc == 0 && i < ov->n_tls; i++) {
		const struct tls_domain *t = &ov->tls[i];
		struct jv *x = jv_object();

		rc = x ? 0 : ERR_NOMEM;
		if (rc == 0) rc = jv_set_str(x, "policy_domain", t->domain);
		if (rc == 0) rc = jv_set_int(x, "sessions_ok", (int64_t)t->ok);
		if (rc == 0) rc = jv_set_int(x, "sessions_failed",
		    (int64_t)t->failed);
		if (rc == 0) rc = set_pct(x, "success_pct", t->ok,
		    t->ok + t->failed);
		if (rc == 0)
			rc = jv_append(tls, x);
		else
			jv_free(x);
	}
	if (rc == 0) {
		rc = jv_set(root, "range", range);
		range = NULL;
	}
	if (rc == 0) {
		rc = jv_set(root, "counts", counts);
		counts = NULL;
	}
	if (rc == 0) {
		rc = jv_set(root, "domains", doms);
		doms = NULL;
	}
	if (rc == 0) {
		rc = jv_set(root, "tlsrpt", tls);
		tls = NULL;
	}
	if (rc == 0)
		rc = json_extra(root, ex);
	if (rc == 0)
		rc = jv_dump(root, f, 2);
	jv_free(range);
	jv_free(counts);
	jv_free(doms);
	jv_free(tls);
	jv_free(root);
	return rc;
}

/* The hints line: counts per action of the last `hints` run. */
struct hint_line {
	FILE *f;
	int64_t runs, last_run, hints;
	int n;
};

static int
hint_presence_cb(void *ctx, const struct store_row *r)
{
	struct hint_line *h = ctx;

	h->runs = r->num[2];
	h->last_run = r->num[3];
	h->hints = r->num[4];
	return 0;
}

static int
hint_action_cb(void *ctx, const struct store_row *r)
{
	struct hint_line *h = ctx;

	fprintf(h->f, "%s%lld %s", h->n++ ? ", " : " ",
	    (long long)r->num[1], r->text[0] ? r->text[0] : "?");
	return 0;
}

static int
print_hints(struct store *st, FILE *f, struct err *err)
{
	struct hint_line h;
	char when[32];
	int rc;

	memset(&h, 0, sizeof h);
	h.f = f;
	if ((rc = store_query_each(st, SQ_ENGINE_PRESENCE, NULL,
	    hint_presence_cb, &h, err)) != 0)
		return rc;
	if (h.runs == 0)
		return 0;
	time_iso8601(h.last_run, when, sizeof when);
	fprintf(f, "\nThrottle hints (last run %s): %lld hints:", when,
	    (long long)h.hints);
	if ((rc = store_query_each(st, SQ_HINT_ACTIONS, NULL,
	    hint_action_cb, &h, err)) != 0)
		return rc;
	fprintf(f, "%s\n", h.n ? "" : " none");
	return ferror(f) ? ERR_IO : 0;
}

int
summary_print(const char *db_path, const struct summary_opts *o,
    FILE *out, struct err *err)
{
	struct store_query_filter f;
	struct overview ov;
	struct extra x;
	struct store *st = NULL;
	const char **ips = NULL;
	int rc;

	memset(&ov, 0, sizeof ov);
	memset(&f, 0, sizeof f);
	f.since = o->since;
	f.until = o->until;
	f.domain = o->domain;
	if ((rc = store_open(db_path, STORE_READONLY, &st, err)) != 0)
		return rc;
	if (o->n_sender_ips > 0 && o->n_sender_domains > 0) {
		/* ov_load looks our IPs up by binary search: sorted. */
		if ((ips = calloc(o->n_sender_ips, sizeof *ips)) == NULL) {
			rc = err_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
		memcpy(ips, o->sender_ips, o->n_sender_ips * sizeof *ips);
		ov_sort(ips, o->n_sender_ips, sizeof *ips, str_cmp);
		f.ips = ips;
		f.n_ips = o->n_sender_ips;
		f.sender_domains = o->sender_domains;
		f.n_sender_domains = o->n_sender_domains;
	}
	if ((rc = ov_load(st, &f, &ov, err)) != 0 ||
	    (rc = extra_load(st, &ov, &x, err)) != 0)
		goto out;
	rc = o->json ? print_json(&ov, o, &x, out) : print_text(&ov, o, out);
	if (rc == 0 && !o->json) {
		print_foreign(&x, out);
		rc = print_hints(st, out, err);
	}
	if (rc == 0 && fflush(out) != 0)
		rc = ERR_IO;
	if (rc == ERR_IO)
		err_set(err, rc, "cannot write the summary");
	else if (rc == ERR_NOMEM)
		err_set(err, rc, "out of memory");
out:
	ov_free(&ov);
	free((void *)ips);
	store_free(st);
	return rc;
}
