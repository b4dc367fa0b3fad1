/*
 * tests/unit/test_replies.c - the shipped reply rules against real reply
 * shapes (tests/sendlog/replies.txt): each case is rendered as a Postfix
 * smtp log line and as a KumoMTA JSON record, parsed by parse/sendlog.c
 * and classified with dist/providers.conf by parse/profiles.c. Checks the
 * class, the rule that matched (or none), MTA-internal deferrals, and
 * that every rule of the shipped file is matched by at least one case
 * (a rule nothing can reach, or one without a test, fails).
 * tests/sendlog/test_replies.py runs the same cases through the CLI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/err.h"
#include "../../parse/profiles.h"
#include "../../parse/sendlog.h"
#include "testutil.h"

#define MAX_LINES 12

struct rcase {
	char id[80];
	char domain[80];
	int code;
	char enh[16];
	char lines[MAX_LINES][256];
	int n_lines;
	char expect[16];
	char rule[300];
	char only[16];
	int greeting;
	int line_no;
};

static int n_fail, n_ok;

static void
result(int ok, const char *fmt, const char *id, const char *detail)
{
	if (ok) {
		n_ok++;
		return;
	}
	n_fail++;
	printf("not ok - %s %s [%s]\n", fmt, id, detail);
}

/* Renders the case as a Postfix line (see tests/sendlog/replies.py). */
static void
postfix_line(const struct rcase *c, char *out, size_t n)
{
	char flat[4096], dsn[16];
	size_t o = 0;

	flat[0] = '\0';
	if (c->code == 0) {
		for (int i = 0; i < c->n_lines; i++)
			o += (size_t)snprintf(flat + o, sizeof flat - o, "%s%s",
			    i ? " " : "", c->lines[i]);
	} else {
		for (int i = 0; i < c->n_lines; i++) {
			int last = i + 1 == c->n_lines;
			o += (size_t)snprintf(flat + o, sizeof flat - o,
			    "%s%d%s%s%s%s", i ? " " : "", c->code,
			    last ? " " : "-", c->enh, c->enh[0] ? " " : "",
			    c->lines[i]);
		}
	}
	if (c->enh[0] != '\0')
		snprintf(dsn, sizeof dsn, "%s", c->enh);
	else if (c->code != 0)
		snprintf(dsn, sizeof dsn, "%d.0.0", c->code / 100);
	else
		snprintf(dsn, sizeof dsn, "4.4.1");
	if (c->code == 0)
		snprintf(out, n, "Jan  5 08:00:00 mx1 postfix/smtp[9121]: "
		    "4Bc1X3Kd1R: to=<bob@%s>, relay=mx.%s[192.0.2.25]:25, "
		    "delay=1.2, delays=0.1/0/0.4/0.7, dsn=%s, status=%s (%s)",
		    c->domain, c->domain, dsn, c->code >= 500 ? "bounced" :
		    "deferred", flat);
	else
		snprintf(out, n, "Jan  5 08:00:00 mx1 postfix/smtp[9121]: "
		    "4Bc1X3Kd1R: to=<bob@%s>, relay=mx.%s[192.0.2.25]:25, "
		    "delay=1.2, delays=0.1/0/0.4/0.7, dsn=%s, status=%s (host "
		    "mx.%s[192.0.2.25] %s %s%s)", c->domain, c->domain, dsn,
		    c->code >= 500 ? "bounced" : "deferred", c->domain,
		    c->greeting ? "refused to talk to me:" : "said:", flat,
		    c->greeting ? "" : " (in reply to end of DATA command)");
}

static void
kumo_line(const struct rcase *c, char *out, size_t n)
{
	char content[4096], enh[96];
	size_t o = 0;

	for (int i = 0; i < c->n_lines; i++) {
		if (i && o + 2 < sizeof content) {
			content[o++] = '\\';
			content[o++] = 'n';
		}
		for (const char *p = c->lines[i]; *p && o + 2 < sizeof content;
		    p++) {
			if (*p == '"' || *p == '\\')
				content[o++] = '\\';
			content[o++] = *p;
		}
	}
	content[o] = '\0';
	if (c->enh[0] != '\0') {
		unsigned a = 0, b = 0, d = 0;
		(void)sscanf(c->enh, "%u.%u.%u", &a, &b, &d);
		snprintf(enh, sizeof enh, "{\"class\":%u,\"subject\":%u,"
		    "\"detail\":%u}", a, b, d);
	} else {
		snprintf(enh, sizeof enh, "null");
	}
	snprintf(out, n, "{\"type\":\"%s\",\"id\":\"k1\",\"sender\":"
	    "\"news@example.com\",\"recipient\":\"bob@%s\",\"queue\":\"%s\","
	    "\"site\":\"mx.%s:25\",\"size\":1200,\"response\":{\"code\":%d,"
	    "\"enhanced_code\":%s,\"content\":\"%s\",\"command\":null},"
	    "\"source_address\":{\"address\":\"198.51.100.10:0\",\"name\":"
	    "\"ip-1\"},\"timestamp\":1767600000}", c->code >= 500 ? "Bounce" :
	    "TransientFailure", c->domain, c->domain, c->domain, c->code, enh,
	    content);
}

/* "google: rate: 4.7.28" for a rule, "-" for none. */
static void
rule_name(const struct profiles *p, const struct profile_code *r, char *out,
    size_t n)
{
	if (r == NULL) {
		snprintf(out, n, "-");
		return;
	}
	for (size_t i = 0; i < p->n; i++)
		if (r >= p->v[i].codes && r < p->v[i].codes + p->v[i].n_codes) {
			snprintf(out, n, "%s: %s: %s", p->v[i].name,
			    sl_class_name(r->cls), r->text);
			return;
		}
	snprintf(out, n, "defaults: %s: %s", sl_class_name(r->cls), r->text);
}

/* Position of a rule in file order: [defaults] first, then each
 * provider's; -1 when r is none of them. */
static long
rule_index(const struct profiles *p, const struct profile_code *r)
{
	size_t k = 0;

	for (size_t i = 0; i < p->defaults.n_codes; i++, k++)
		if (&p->defaults.codes[i] == r)
			return (long)k;
	for (size_t j = 0; j < p->n; j++)
		for (size_t i = 0; i < p->v[j].n_codes; i++, k++)
			if (&p->v[j].codes[i] == r)
				return (long)k;
	return -1;
}

static const struct profile_code *
rule_at(const struct profiles *p, size_t k)
{
	if (k < p->defaults.n_codes)
		return &p->defaults.codes[k];
	k -= p->defaults.n_codes;
	for (size_t j = 0; j < p->n; j++) {
		if (k < p->v[j].n_codes)
			return &p->v[j].codes[k];
		k -= p->v[j].n_codes;
	}
	return NULL;
}

static void
run_case(const struct profiles *p, const struct rcase *c, int fmt,
    unsigned char *hit)
{
	struct sl_opts o = { 2026, 12 };
	struct sl_attempt a;
	struct err e;
	const struct profile *pr;
	const struct profile_code *r = NULL;
	char line[8192], got[320], detail[700];
	const char *fname = fmt == SL_FMT_POSTFIX ? "postfix" : "kumomta";
	int rc, cls, prule, ok;

	if (c->only[0] != '\0' && strcmp(c->only, fname) != 0)
		return;
	if (fmt == SL_FMT_POSTFIX)
		postfix_line(c, line, sizeof line);
	else
		kumo_line(c, line, sizeof line);
	err_clear(&e);
	rc = sendlog_parse_line(fmt, line, strlen(line), &o, &a, &e);
	if (rc != 0) {
		snprintf(detail, sizeof detail, "parse rc %d: %s; %s", rc,
		    e.msg, line);
		result(0, fname, c->id, detail);
		return;
	}
	if (strcmp(c->expect, "internal") == 0) {
		result(a.internal, fname, c->id, "not seen as MTA-internal");
		return;
	}
	if (a.internal) {
		result(0, fname, c->id, "taken for MTA-internal");
		return;
	}
	if ((pr = profiles_by_domain(p, a.rcpt_domain)) == NULL)
		pr = profiles_by_mx(p, a.relay_host);
	cls = profiles_classify(p, pr, a.smtp_code, a.enhanced, a.reply,
	    &prule, &r);
	rule_name(p, r, got, sizeof got);
	ok = strcmp(sl_class_name(cls), c->expect) == 0 &&
	    strcmp(got, c->rule) == 0 && a.smtp_code == c->code;
	snprintf(detail, sizeof detail, "line %d: want %s by '%s', got %s by "
	    "'%s' (code %d)", c->line_no, c->expect, c->rule,
	    sl_class_name(cls), got, a.smtp_code);
	result(ok, fname, c->id, detail);
	if (r != NULL && rule_index(p, r) >= 0)
		hit[rule_index(p, r)] = 1;
}

static int
load_cases(const char *path, struct rcase **out, size_t *n)
{
	FILE *f = fopen(path, "r");
	char buf[1024];
	struct rcase *v = NULL, *c = NULL;
	size_t nv = 0;
	int ln = 0;

	if (f == NULL)
		return -1;
	while (fgets(buf, sizeof buf, f) != NULL) {
		char *val;
		size_t l = strlen(buf);

		ln++;
		while (l > 0 && (buf[l - 1] == '\n' || buf[l - 1] == '\r'))
			buf[--l] = '\0';
		if (l == 0 || buf[0] == '#')
			continue;
		val = strchr(buf, ' ');
		if (val != NULL)
			*val++ = '\0';
		else
			val = buf + l;
		if (strcmp(buf, "case") == 0) {
			struct rcase *nvv = realloc(v, (nv + 1) * sizeof *v);
			if (nvv == NULL)
				break;
			v = nvv;
			c = &v[nv++];
			memset(c, 0, sizeof *c);
			snprintf(c->id, sizeof c->id, "%s", val);
			c->line_no = ln;
		} else if (c == NULL) {
			continue;
		} else if (strcmp(buf, "domain") == 0) {
			snprintf(c->domain, sizeof c->domain, "%s", val);
		} else if (strcmp(buf, "reply") == 0) {
			c->code = atoi(val);
			if (strchr(val, ' ') != NULL)
				snprintf(c->enh, sizeof c->enh, "%s",
				    strchr(val, ' ') + 1);
		} else if (strcmp(buf, "line") == 0 && c->n_lines < MAX_LINES) {
			snprintf(c->lines[c->n_lines++], sizeof c->lines[0],
			    "%s", val);
		} else if (strcmp(buf, "expect") == 0) {
			snprintf(c->expect, sizeof c->expect, "%s", val);
		} else if (strcmp(buf, "rule") == 0) {
			snprintf(c->rule, sizeof c->rule, "%s", val);
		} else if (strcmp(buf, "only") == 0) {
			snprintf(c->only, sizeof c->only, "%s", val);
		} else if (strcmp(buf, "form") == 0) {
			c->greeting = strcmp(val, "greeting") == 0;
		}
	}
	fclose(f);
	*out = v;
	*n = nv;
	return 0;
}

int
main(void)
{
	const char *src = getenv("DW_SRCDIR");
	char path[4096];
	struct profiles *p = NULL;
	struct rcase *cases = NULL;
	size_t n = 0, nrules = 0;
	unsigned char *hit = NULL;
	struct err e;
	char *text;
	size_t len;
	int missing = 0;

	snprintf(path, sizeof path, "%s/dist/providers.conf",
	    src != NULL ? src : "..");
	if ((text = tu_read_file(path, &len)) == NULL) {
		printf("not ok - cannot read %s\n", path);
		return 1;
	}
	err_clear(&e);
	if (profiles_parse(text, len, path, NULL, NULL, &p, &e) != 0) {
		printf("not ok - %s: %s [%s]\n", path, e.msg, e.where);
		free(text);
		return 1;
	}
	free(text);
	snprintf(path, sizeof path, "%s/tests/sendlog/replies.txt",
	    src != NULL ? src : "..");
	if (load_cases(path, &cases, &n) != 0 || n == 0) {
		printf("not ok - cannot read %s\n", path);
		profiles_free(p);
		return 1;
	}
	nrules = p->defaults.n_codes;
	for (size_t i = 0; i < p->n; i++)
		nrules += p->v[i].n_codes;
	if ((hit = calloc(nrules > 0 ? nrules : 1, 1)) == NULL) {
		printf("not ok - out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		run_case(p, &cases[i], SL_FMT_POSTFIX, hit);
		run_case(p, &cases[i], SL_FMT_KUMOMTA, hit);
	}
	for (size_t i = 0; i < nrules; i++)
		if (!hit[i]) {
			char name[320];
			rule_name(p, rule_at(p, i), name, sizeof name);
			printf("not ok - rule '%s' is matched by no case of "
			    "replies.txt\n", name);
			missing++;
		}
	printf("%s - every one of the %zu shipped rules matched by a case\n",
	    missing ? "not ok" : "ok", nrules);
	n_fail += missing;
	printf("%d passed, %d failed (%zu cases)\n", n_ok, n_fail, n);
	free(hit);
	free(cases);
	profiles_free(p);
	return n_fail == 0 ? 0 : 1;
}
