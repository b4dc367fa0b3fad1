/*
 * tests/unit/test_profiles.c - the provider profile parser
 * (parse/profiles.c) and its lookups and reply classification.
 *
 * Part 1: numbered table cases. Each profile text is parsed; every error
 * is rendered as "LINE: message" and the result as a summary; a case
 * lists substrings that must (and must not) appear.
 * Part 2: the shipped dist/providers.conf parses, has at least 15
 * providers, and maps and classifies the well-known replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../parse/profiles.h"
#include "testutil.h"

#define DEFAULTS "[defaults]\ndmarc_pass_green = 98\ndmarc_pass_amber = 90\n" \
	"stages = 100/1, 200/2/20\n"

struct tcase {
	const char *text;
	int rc;                    /* expected return */
	const char *want[4];       /* substrings of the rendering */
	const char *never[2];
};

static const struct tcase cases[] = {
	/* 1: minimal valid profile; stages inherited from [defaults],
	 * hourly cap derived (100/24 -> 5) or given (20) */
	{ DEFAULTS "[provider a]\ndomains = a.example\n", 0,
	  { "a:stages=100/1/5,200/2/20", "a:green=98.00", "n=1" }, { "ERR" } },
	/* 2: provider overrides thresholds and stages */
	{ DEFAULTS "[provider b]\ndomains = b.example\ndmarc_pass_green = 99.5\n"
	  "stages = 50/1\nmax_per_hour = 700\n", 0,
	  { "b:green=99.50", "b:stages=50/1/3", "b:maxh=700" }, { NULL } },
	/* 3: unknown key, with its line */
	{ DEFAULTS "[provider c]\ndomains = c.example\ncolour = blue\n", ERR_FORMAT,
	  { "7: unknown key 'colour'" }, { NULL } },
	/* 4: percentage out of range */
	{ DEFAULTS "[provider d]\ndomains = d.example\ndmarc_pass_amber = 101\n",
	  ERR_FORMAT, { "7: dmarc_pass_amber: expected a percentage" }, { NULL } },
	/* 5: decreasing stages */
	{ DEFAULTS "[provider e]\ndomains = e.example\nstages = 500/1, 100/1\n",
	  ERR_FORMAT, { "7: stages: daily caps must be > 0 and not decrease" },
	  { NULL } },
	/* 6: bad code class */
	{ DEFAULTS "[provider f]\ndomains = f.example\ncode = slow: 4.7.28\n",
	  ERR_FORMAT, { "7: code: unknown class 'slow'" }, { NULL } },
	/* 7: code without a colon */
	{ DEFAULTS "[provider g]\ndomains = g.example\ncode = 4.7.28\n",
	  ERR_FORMAT, { "7: code: expected 'CLASS: [SMTP] [ENH] [PHRASE]'" }, { NULL } },
	/* 8: provider without anything to match */
	{ DEFAULTS "[provider h]\nmax_per_hour = 5\n", ERR_FORMAT,
	  { "6: provider 'h': no domains, mx or reporters" }, { NULL } },
	/* 9: no [defaults] */
	{ "[provider i]\ndomains = i.example\nstages = 10/1\n", ERR_FORMAT,
	  { "1: no [defaults] section" }, { NULL } },
	/* 10: the same domain pattern in two providers */
	{ DEFAULTS "[provider j]\ndomains = x.example\n[provider k]\n"
	  "domains = X.example\n", ERR_FORMAT,
	  { "8: pattern 'x.example' already listed" }, { NULL } },
	/* 11: unknown section */
	{ DEFAULTS "[providers]\ndomains = y.example\n", ERR_FORMAT,
	  { "6: unknown section [providers]" }, { NULL } },
	/* 12: INI syntax error */
	{ DEFAULTS "[provider l\ndomains = l.example\n", ERR_FORMAT,
	  { "syntax error", "test.conf:5" }, { NULL } },
	/* 13: a bad domain pattern */
	{ DEFAULTS "[provider m]\ndomains = m example/evil\n", ERR_FORMAT,
	  { "6: bad domain or host pattern 'example/evil'" }, { NULL } },
	/* 14: amber above green */
	{ DEFAULTS "[provider n]\ndomains = n.example\ndmarc_pass_amber = 99\n",
	  ERR_FORMAT, { "dmarc_pass_amber above dmarc_pass_green" }, { NULL } },
	/* 15: the same provider twice */
	{ DEFAULTS "[provider o]\ndomains = o.example\n[provider p]\n"
	  "domains = p.example\n[provider o]\nmx = o2.example\n", ERR_FORMAT,
	  { "10: provider 'o' defined twice" }, { NULL } },
	/* 16: reporter names keep their spaces, lower-cased; commas split */
	{ DEFAULTS "[provider q]\nreporters = Enterprise Outlook, outlook.com\n",
	  0, { "q:reporter=enterprise outlook q:reporter=outlook.com" },
	  { NULL } },
	/* 17: [defaults] after a provider */
	{ "[provider r]\ndomains = r.example\nstages = 1/1\n[defaults]\n"
	  "dmarc_pass_green = 50\n", ERR_FORMAT,
	  { "5: [defaults] must come before the first provider" }, { NULL } },
	/* 18: number too large */
	{ DEFAULTS "[provider s]\ndomains = s.example\nmax_connections = 99999\n",
	  ERR_FORMAT, { "7: max_connections: expected a whole number" }, { NULL } },
	/* 19: unverified flag */
	{ DEFAULTS "[provider t]\ndomains = t.example\nunverified = yes\n", 0,
	  { "t:unverified=1" }, { NULL } },
	/* 20: key outside any section */
	{ "stray = 1\n" DEFAULTS "[provider u]\ndomains = u.example\n", ERR_FORMAT,
	  { "1: 'stray': key outside any section" }, { NULL } },
	/* 21: reply rules: SMTP class, enhanced code with 'x', a phrase, a
	 * quoted phrase, a prefix phrase (audit H3: conditions apart) */
	{ DEFAULTS "[provider v]\ndomains = v.example\n"
	  "code = rate: 4xx 4.7.5xx Server Busy\n"
	  "code = block: 5.7.1 \"listed at\"\n"
	  "code = rate: RL0000*\ncode = block: 550\n", 0,
	  { "v:code=rate/4xx/0/4.7.5xx/server busy/0",
	    "v:code=block/0/0/5.7.1/listed at/0",
	    "v:code=rate/0/0//rl0000/1", "v:code=block/0/550//-/0" },
	  { NULL } },
	/* 22: a rule without any condition */
	{ DEFAULTS "[provider w]\ndomains = w.example\ncode = block: *\n",
	  ERR_FORMAT, { "7: code: 'block: *' has no condition" }, { NULL } },
	/* 23: an unterminated quoted phrase */
	{ DEFAULTS "[provider x]\ndomains = x.example\n"
	  "code = block: \"listed at\n", ERR_FORMAT,
	  { "7: code: unterminated quoted phrase" }, { NULL } },
};

static void
on_error(void *ctx, int line, const char *msg)
{
	struct buf *b = ctx;
	char tmp[700];

	snprintf(tmp, sizeof tmp, "%d: %s\n", line, msg);
	buf_append(b, tmp, strlen(tmp));
}

static void
render(struct buf *b, const struct profiles *p)
{
	char tmp[1024];

	snprintf(tmp, sizeof tmp, "n=%zu\n", p->n);
	buf_append(b, tmp, strlen(tmp));
	for (size_t i = 0; i < p->n; i++) {
		const struct profile *pr = &p->v[i];
		int n;

		n = snprintf(tmp, sizeof tmp, "%s:green=%.2f %s:maxh=%llu "
		    "%s:unverified=%d %s:stages=", pr->name,
		    profile_lim(&pr->lim, "dmarc_pass_green", -1), pr->name,
		    (unsigned long long)profile_lim(&pr->lim, "max_per_hour", 0),
		    pr->name,
		    pr->unverified, pr->name);
		for (size_t k = 0; k < pr->n_stages && n < 900; k++)
			n += snprintf(tmp + n, sizeof tmp - (size_t)n,
			    "%s%llu/%llu/%llu", k ? "," : "",
			    (unsigned long long)pr->stages[k].daily_cap,
			    (unsigned long long)pr->stages[k].min_days,
			    (unsigned long long)pr->stages[k].hourly_cap);
		buf_append(b, tmp, (size_t)n);
		for (size_t k = 0; k < pr->n_codes; k++) {
			const struct profile_code *r = &pr->codes[k];
			snprintf(tmp, sizeof tmp, " %s:code=%s/%s/%d/%s/%s/%d",
			    pr->name, sl_class_name(r->cls), r->smtp_class == 4 ?
			    "4xx" : r->smtp_class == 5 ? "5xx" : "0",
			    r->smtp_code, r->enh, r->phrase ? r->phrase : "-",
			    r->prefix);
			buf_append(b, tmp, strlen(tmp));
		}
		for (size_t k = 0; k < pr->n_matches; k++) {
			snprintf(tmp, sizeof tmp, " %s:%s=%s", pr->name,
			    profile_match_kind_name(pr->matches[k].kind),
			    pr->matches[k].pattern);
			buf_append(b, tmp, strlen(tmp));
		}
		buf_append(b, "\n", 1);
	}
}

static int
check_case(size_t i, const struct tcase *c)
{
	struct buf b;
	struct profiles *p = NULL;
	struct err e;
	int rc, bad = 0;
	char tail[1200];

	buf_init(&b, 1 << 20);
	err_clear(&e);
	rc = profiles_parse(c->text, strlen(c->text), "test.conf", on_error, &b,
	    &p, &e);
	if (p != NULL)
		render(&b, p);
	snprintf(tail, sizeof tail, "rc=%d %s [%s]\n%s", rc, e.msg, e.where,
	    rc != 0 ? "ERR" : "");
	buf_append(&b, tail, strlen(tail) + 1);
	if (rc != c->rc || (rc == 0) != (p != NULL))
		bad = 1;
	for (int k = 0; k < 4 && c->want[k]; k++)
		if (strstr((char *)b.data, c->want[k]) == NULL)
			bad = 1;
	for (int k = 0; k < 2 && c->never[k]; k++)
		if (strstr((char *)b.data, c->never[k]) != NULL)
			bad = 1;
	printf("%s %zu - profile case\n", bad ? "not ok" : "ok", i + 1);
	if (bad)
		printf("# expected rc %d, got:\n%s\n", c->rc, (char *)b.data);
	profiles_free(p);
	buf_free(&b);
	return bad;
}

/* Part 2: the shipped file. */
static int
check_shipped(void)
{
	const char *src = getenv("DW_SRCDIR");
	char path[4096];
	struct profiles *p = NULL;
	struct err e;
	char *text;
	size_t len;
	int bad = 0, rc, prule;
	const struct profile *g, *y, *m, *q;

	snprintf(path, sizeof path, "%s/dist/providers.conf",
	    src != NULL ? src : "..");
	if ((text = tu_read_file(path, &len)) == NULL) {
		printf("not ok - cannot read %s\n", path);
		return 1;
	}
	err_clear(&e);
	rc = profiles_parse(text, len, path, NULL, NULL, &p, &e);
	free(text);
	if (rc != 0) {
		printf("not ok - shipped profiles: %s [%s]\n", e.msg, e.where);
		return 1;
	}
#define T(cond) do { if (!(cond)) { printf("not ok - shipped: %s\n", #cond); \
	bad = 1; } } while (0)
	T(p->n >= 15);
	g = profiles_by_domain(p, "gmail.com");
	y = profiles_by_domain(p, "aol.com");
	m = profiles_by_mx(p, "hotmail-com.olc.protection.outlook.com");
	q = profiles_by_domain(p, "foxmail.com");
	T(g != NULL && strcmp(g->name, "google") == 0);
	T(y != NULL && strcmp(y->name, "yahoo") == 0);
	T(m != NULL && strcmp(m->name, "microsoft") == 0);
	T(q != NULL && strcmp(q->name, "qq") == 0 && q->unverified);
	T(profiles_by_domain(p, "sub.web.de") != NULL);
	T(profiles_by_domain(p, "notweb.de") == NULL);
	T(profiles_by_mx(p, "mx.example.org") == NULL);
	T(profiles_by_domain(p, "163.com") != NULL &&
	    profiles_by_domain(p, "163.com")->stages[0].daily_cap == 400);
	T(profiles_classify(p, g, 421, "4.7.28", "421-4.7.28 unusual rate",
	    &prule, NULL) == SL_RATE && prule == 1);
	T(profiles_classify(p, y, 421, "4.7.0", "421 4.7.0 [TSS04] Messages "
	    "temporarily deferred", &prule, NULL) == SL_RATE && prule == 1);
	T(profiles_classify(p, m, 550, "5.7.1", "5.7.1 part of their network "
	    "is on our block list (S3150)", &prule, NULL) == SL_BLOCK &&
	    prule == 1);
	T(profiles_classify(p, q, 450, "", " Ip frequency limited", &prule,
	    NULL) == SL_RATE);
	T(profiles_classify(p, g, 250, "2.0.0", "OK", &prule, NULL) == SL_OK);
	T(profiles_classify(p, NULL, 0, "", " connect to x: Connection timed "
	    "out", &prule, NULL) == SL_CONN && prule == 0);
	T(profiles_classify(p, NULL, 452, "4.2.2", "mailbox full", &prule,
	    NULL) == SL_OTHER_4XX);
	T(profiles_classify(p, NULL, 554, "5.0.0", "no", &prule, NULL) ==
	    SL_OTHER_5XX);
	T(profiles_classify(p, NULL, 550, "5.7.1", "listed at Spamhaus",
	    &prule, NULL) == SL_BLOCK && prule == 0);
	/* AUTH and TLS (audit L10: never checked before) */
	T(profiles_classify(p, g, 550, "5.7.26", "Unauthenticated email is "
	    "not accepted due to domain's DMARC policy", &prule, NULL) ==
	    SL_AUTH && prule == 0);
	T(profiles_classify(p, g, 421, "4.7.32", "Your email has been rate "
	    "limited because the From: header isn't aligned", &prule, NULL) ==
	    SL_AUTH && prule == 1);
	T(profiles_classify(p, g, 421, "4.7.29", "rate limited because this "
	    "message wasn't sent over a TLS connection", &prule, NULL) ==
	    SL_TLS && prule == 1);
	T(profiles_classify(p, NULL, 0, "", "TLS is required, but was not "
	    "offered by host x", &prule, NULL) == SL_TLS);
#undef T
	printf("%s - shipped dist/providers.conf (%zu providers)\n",
	    bad ? "not ok" : "ok", p->n);
	profiles_free(p);
	return bad;
}

int
main(void)
{
	int failed = 0;
	size_t n = sizeof cases / sizeof cases[0];

	for (size_t i = 0; i < n; i++)
		failed += check_case(i, &cases[i]);
	failed += check_shipped();
	printf("%zu table cases + shipped file, %d failures\n", n, failed);
	return failed ? 1 : 0;
}
