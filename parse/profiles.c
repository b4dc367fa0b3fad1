/* parse/profiles.c - see profiles.h; the format is doc/providers.md. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/inifile.h"
#include "../common/limits.h"
#include "../common/strparse.h"
#include "profiles.h"

static const char *const class_names[SL_CLASSES] = {
	"ok", "rate", "block", "auth", "tls", "conn", "other_4xx", "other_5xx",
};

int
sl_class_parse(const char *name)
{
	for (int i = 0; i < SL_CLASSES; i++)
		if (sp_casecmp(name, class_names[i]) == 0)
			return i;
	return -1;
}

const char *
sl_class_name(int cls)
{
	return cls >= 0 && cls < SL_CLASSES ? class_names[cls] : NULL;
}

const char *
profile_match_kind_name(int kind)
{
	switch (kind) {
	case PM_DOMAIN:
		return "domain";
	case PM_MX:
		return "mx";
	case PM_REPORTER:
		return "reporter";
	}
	return NULL;
}

/* The threshold keys, valid in [defaults] and in provider sections
 * (profiles.h). The ranges refuse nonsense (a percentage above 100, a
 * pause longer than the 48 h a hint may last); sensible values are the
 * profile author's job. Grouped as doc/providers.md lists them. */
static const struct profile_key keys[] = {
	/* daily gate */
	{ "dmarc_pass_green", PKT_PCT, 0, 100 },
	{ "dmarc_pass_amber", PKT_PCT, 0, 100 },
	{ "deferral_pct_amber", PKT_PCT, 0, 100 },
	{ "deferral_pct_red", PKT_PCT, 0, 100 },
	{ "bounce_pct_amber", PKT_PCT, 0, 100 },
	{ "bounce_pct_red", PKT_PCT, 0, 100 },
	{ "auth_pct_amber", PKT_PCT, 0, 100 },
	{ "min_attempts", PKT_UINT, 0, 1000000 },
	{ "coverage_low_pct", PKT_PCT, 0, 100 },
	{ "coverage_high_pct", PKT_PCT, 100, 1000 },
	{ "sends_reports", PKT_REPORTS, -1, 1 },
	{ "dmarc_lag_days", PKT_UINT, 0, 7 },
	{ "dmarc_absent_days", PKT_UINT, 1, 24 },
	{ "advance_delivered_pct", PKT_PCT, 0, 100 },
	{ "block_red_hours", PKT_UINT, 1, 24 },
	{ "block_pause_pct", PKT_PCT, 0, 100 },
	{ "rate_gate_red", PKT_BOOL, 0, 1 },
	/* growth */
	{ "growth_above_s_pct", PKT_PCT, 0.01, 100 },
	{ "realised_factor", PKT_UINT, 1, 100 },
	{ "realised_window_days", PKT_UINT, 1, 28 },
	{ "recovery_days", PKT_UINT, 0, 60 },
	{ "ssthresh_clear_days", PKT_UINT, 0, 365 },
	{ "stall_days", PKT_UINT, 1, 365 },
	{ "stage_snap_pct", PKT_PCT, 0, 50 },
	{ "red_cut_pct", PKT_PCT, 1, 100 },
	/* fast loop */
	{ "rate_per_hour", PKT_UINT, 1, 1000000 },
	{ "block_per_hour", PKT_UINT, 1, 1000000 },
	{ "rate_min_attempts", PKT_UINT, 0, 1000000 },
	{ "rate_share_pct", PKT_PCT, 0, 100 },
	{ "rate_share_cut_pct", PKT_PCT, 1, 100 },
	{ "rate_strict_cut_pct", PKT_PCT, 1, 100 },
	{ "rate_pause_minutes", PKT_UINT, 0, 48 * 60 },
	{ "block_pause_minutes", PKT_UINT, 1, 48 * 60 },
	{ "block_pause_max_minutes", PKT_UINT, 1, 48 * 60 },
	{ "block_pause_growth", PKT_UINT, 1, 16 },
	{ "block_cut_pct", PKT_PCT, 1, 100 },
	{ "decrease_gap_minutes", PKT_UINT, 0, 24 * 60 },
	{ "increase_gap_minutes", PKT_UINT, 0, 24 * 60 },
	{ "recovery_step_pct", PKT_PCT, 1, 100 },
	/* caps */
	{ "max_per_hour", PKT_UINT, 0, 100000000 },
	{ "max_connections", PKT_UINT, 1, 10000 },
	{ "start_connections", PKT_UINT, 1, 10000 },
	{ "active_hours", PKT_UINT, 1, 24 },
	/* idle */
	{ "idle_pct", PKT_PCT, 0, 100 },
	{ "decay_idle_days", PKT_UINT, 1, 3650 },
	{ "rewarm_idle_days", PKT_UINT, 1, 3650 },
	/* the hint */
	{ "ttl_hours", PKT_UINT, 1, 48 },
	{ "confidence_prior", PKT_UINT, 1, 1000000 },
	{ "confidence_one_source_pct", PKT_PCT, 0, 100 },
};

#define N_KEYS (sizeof keys / sizeof keys[0])
_Static_assert(N_KEYS <= PROFILE_KEYS_MAX, "raise PROFILE_KEYS_MAX");

size_t
profile_keys_count(void)
{
	return N_KEYS;
}

const struct profile_key *
profile_key_at(size_t i)
{
	return i < N_KEYS ? &keys[i] : NULL;
}

int
profile_key_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

double
profile_lim(const struct profile_limits *lim, const char *name, double dflt)
{
	int k = profile_key_find(name);

	return k >= 0 && lim->set[k] ? lim->v[k] : dflt;
}

/* Largest daily cap of a stage: 100M/day is beyond any single IP. */
#define STAGE_CAP_MAX 100000000u

struct pctx {
	struct profiles *p;
	struct profile *cur;      /* section being read; NULL: skip keys */
	const char *name;
	void (*on_error)(void *, int, const char *);
	void *ectx;
	struct err *err;
	int problems;
	int first_rc;
	int nomem;
	int defaults_seen;
};

static int problem(struct pctx *c, int line, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reports one problem. Returns 1 (an error in that line, for the INI
 * reader). */
static int
problem(struct pctx *c, int line, int rc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->on_error != NULL)
		c->on_error(c->ectx, line, msg);
	if (c->problems++ == 0) {
		c->first_rc = rc;
		err_where(c->err, "%s:%d", c->name, line);
		err_set(c->err, rc, "%s", msg);
	}
	return 1;
}

static char *
dup_lower(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return sp_lower(d);
}

/* Domain-like token: letters, digits, '-', '.', '_'; no empty label
 * at the ends. Used for names and match patterns. */
static int
token_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n >= max || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_'))
			return 0;
	}
	return 1;
}

static struct profile *
new_section(struct pctx *c, const char *name, size_t n, int line)
{
	struct profile *np, *pr;

	if (c->p->n >= LIM_PROVIDERS) {
		problem(c, line, ERR_TOO_LARGE, "more providers than "
		    "LIM_PROVIDERS (%s)", "256");
		return NULL;
	}
	for (size_t i = 0; i < c->p->n; i++)
		if (strlen(c->p->v[i].name) == n &&
		    sp_ncasecmp(c->p->v[i].name, name, n) == 0) {
			problem(c, line, ERR_FORMAT, "provider '%s' defined "
			    "twice", c->p->v[i].name);
			return NULL;
		}
	np = realloc(c->p->v, (c->p->n + 1) * sizeof *np);
	if (np == NULL) {
		c->nomem = 1;
		return NULL;
	}
	c->p->v = np;
	pr = &np[c->p->n];
	memset(pr, 0, sizeof *pr);
	if ((pr->name = dup_lower(name, n)) == NULL) {
		c->nomem = 1;
		return NULL;
	}
	/* Thresholds start from [defaults] as read so far: the file
	 * format requires [defaults] first (checked below). */
	pr->lim = c->p->defaults.lim;
	pr->line = line;
	c->p->n++;
	return pr;
}

/* Looks up which section the key belongs to, opening a new provider
 * when the section name changes. inih hands us the section per key. */
static struct profile *
section_of(struct pctx *c, const char *section, int line)
{
	static const char prefix[] = "provider ";
	const char *name;

	if (strcmp(section, "defaults") == 0) {
		if (c->p->n > 0 && !c->defaults_seen) {
			problem(c, line, ERR_FORMAT, "[defaults] must come "
			    "before the first provider%s", "");
			c->defaults_seen = 1;
		}
		c->defaults_seen = 1;
		return &c->p->defaults;
	}
	if (strncmp(section, prefix, sizeof prefix - 1) != 0) {
		problem(c, line, ERR_FORMAT, "unknown section [%.100s] "
		    "(expected [defaults] or [provider NAME])", section);
		return NULL;
	}
	name = section + sizeof prefix - 1;
	sp_skip_blanks(&name);
	if (c->cur != NULL && c->cur != &c->p->defaults &&
	    strcmp(c->cur->name, name) == 0)
		return c->cur;
	if (!token_ok(name, strlen(name), LIM_PROVIDER_NAME_BYTES)) {
		problem(c, line, ERR_FORMAT, "bad provider name '%.100s'", name);
		return NULL;
	}
	return new_section(c, name, strlen(name), line);
}

static int
parse_u64(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	return sp_uint64_all(s, n, v, max);
}

/* "12", "99.5": a percentage with at most 2 decimals, 0..1000 (the
 * caller checks the key's range). */
static int
parse_pct(const char *s, double *out)
{
	const char *p = s;
	uint64_t whole = 0, frac = 0;
	size_t fd = 0;

	if (sp_uint64(&p, &whole, 1000) != 0)
		return -1;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9' && fd < 2) {
			frac = frac * 10 + (uint64_t)(*p - '0');
			p++;
			fd++;
		}
		if (fd == 0)
			return -1;
	}
	if (*p != '\0')
		return -1;
	*out = (double)whole + (fd == 1 ? frac / 10.0 : frac / 100.0);
	return 0;
}

/* "daily[/min_days[/hourly]], ..." */
static int
parse_stages(struct pctx *c, struct profile *pr, const char *v, int line)
{
	const char *p = v;
	size_t n = 0;
	struct profile_stage st[LIM_PROVIDER_STAGES];

	while (*p != '\0') {
		uint64_t x[3] = { 0, 1, 0 };
		int k = 0;

		sp_skip_blanks(&p);
		if (n >= LIM_PROVIDER_STAGES)
			return problem(c, line, ERR_TOO_LARGE, "more stages than "
			    "LIM_PROVIDER_STAGES (%s)", "64");
		for (k = 0; k < 3; k++) {
			uint64_t max = k == 1 ? 365 : STAGE_CAP_MAX;
			if (sp_uint64(&p, &x[k], max) != 0)
				return problem(c, line, ERR_FORMAT, "stages: "
				    "expected daily[/min_days[/hourly]], ... "
				    "near '%.40s'", p);
			if (*p != '/')
				break;
			p++;
		}
		if (k == 3)
			return problem(c, line, ERR_FORMAT, "stages: too many "
			    "'/' near '%.40s'", p);
		if (x[0] == 0 || (n > 0 && x[0] < st[n - 1].daily_cap))
			return problem(c, line, ERR_FORMAT, "stages: daily caps "
			    "must be > 0 and not decrease (%.40s)", v);
		st[n].daily_cap = x[0];
		st[n].min_days = x[1];
		st[n].hourly_cap = x[2] != 0 ? x[2] : (x[0] + 23) / 24;
		n++;
		sp_skip_blanks(&p);
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return problem(c, line, ERR_FORMAT, "stages: expected ',' "
			    "near '%.40s'", p);
	}
	if (n == 0)
		return problem(c, line, ERR_FORMAT, "stages: empty%s", "");
	free(pr->stages);
	if ((pr->stages = malloc(n * sizeof *pr->stages)) == NULL) {
		c->nomem = 1;
		return 1;
	}
	memcpy(pr->stages, st, n * sizeof *st);
	pr->n_stages = n;
	return 0;
}

static int
add_match(struct pctx *c, struct profile *pr, int kind, const char *v,
    int line)
{
	const char *p = v;

	if (pr == &c->p->defaults)
		return problem(c, line, ERR_FORMAT, "match lists belong in a "
		    "[provider] section, not [defaults]%s", "");
	while (*p != '\0') {
		const char *b;
		size_t n;
		struct profile_match *nm;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		b = p;
		/* Reporter org names may hold spaces ("Enterprise Outlook"):
		 * only a comma ends one. */
		while (*p != '\0' && *p != ',' && (kind == PM_REPORTER ||
		    (*p != ' ' && *p != '\t')))
			p++;
		n = (size_t)(p - b);
		while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		if (kind != PM_REPORTER &&
		    !token_ok(b, n, LIM_PROVIDER_TEXT_BYTES)) {
			return problem(c, line, ERR_FORMAT, "bad domain or host "
			    "pattern '%.100s'", b);
		}
		if (n >= LIM_PROVIDER_TEXT_BYTES)
			return problem(c, line, ERR_TOO_LARGE, "pattern longer "
			    "than LIM_PROVIDER_TEXT_BYTES%s", "");
		if (pr->n_matches >= LIM_PROVIDER_PATTERNS)
			return problem(c, line, ERR_TOO_LARGE, "more patterns "
			    "than LIM_PROVIDER_PATTERNS (%s)", "256");
		for (size_t i = 0; i < c->p->n; i++)
			for (size_t j = 0; j < c->p->v[i].n_matches; j++) {
				const struct profile_match *m =
				    &c->p->v[i].matches[j];
				if (m->kind == kind && strlen(m->pattern) == n &&
				    sp_ncasecmp(m->pattern, b, n) == 0)
					return problem(c, line, ERR_FORMAT,
					    "pattern '%s' already listed", m->pattern);
			}
		nm = realloc(pr->matches, (pr->n_matches + 1) * sizeof *nm);
		if (nm == NULL) {
			c->nomem = 1;
			return 1;
		}
		pr->matches = nm;
		nm[pr->n_matches].kind = kind;
		if ((nm[pr->n_matches].pattern = dup_lower(b, n)) == NULL) {
			c->nomem = 1;
			return 1;
		}
		pr->n_matches++;
	}
	return 0;
}

/* "4xx", "5xx" or a three-digit code 200..599. */
static int
smtp_cond(const char *t, size_t n, int *cls, int *code)
{
	if (n != 3 || t[0] < '2' || t[0] > '5')
		return 0;
	if ((t[1] == 'x' || t[1] == 'X') && (t[2] == 'x' || t[2] == 'X')) {
		*cls = t[0] - '0';
		*code = 0;
		return 1;
	}
	if (t[1] < '0' || t[1] > '9' || t[2] < '0' || t[2] > '9')
		return 0;
	*cls = 0;
	*code = (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
	return 1;
}

/* An enhanced status code "C.S.D" (RFC 3463: class 2, 4 or 5, subject
 * and detail 1..3 digits); with wild to allow 'x' for a digit. */
static int
enh_code(const char *t, size_t n, int wild)
{
	size_t i = 0, parts = 0;

	if (n < 5 || n > 9 || !(t[0] == '2' || t[0] == '4' || t[0] == '5') ||
	    t[1] != '.')
		return 0;
	for (i = 2; i <= n && parts < 2; parts++) {
		size_t d = 0;
		while (i < n && ((t[i] >= '0' && t[i] <= '9') ||
		    (wild && (t[i] == 'x' || t[i] == 'X')))) {
			i++;
			d++;
		}
		if (d == 0 || d > 3)
			return 0;
		if (parts == 0) {
			if (i >= n || t[i] != '.')
				return 0;
			i++;
		}
	}
	return parts == 2 && i == n;
}

/* "CLASS: [SMTP] [ENH] [PHRASE]" (profiles.h struct profile_code). */
static int
add_code(struct pctx *c, struct profile *pr, const char *v, int line)
{
	const char *colon = strchr(v, ':');
	char cls[16];
	size_t n;
	int k;
	struct profile_code *nc, rule;
	const char *p, *rest;

	if (colon == NULL || (size_t)(colon - v) >= sizeof cls)
		return problem(c, line, ERR_FORMAT, "code: expected 'CLASS: "
		    "[SMTP] [ENH] [PHRASE]', got '%.60s'", v);
	memcpy(cls, v, (size_t)(colon - v));
	cls[colon - v] = '\0';
	sp_trim(cls);
	if ((k = sl_class_parse(cls)) < 0)
		return problem(c, line, ERR_FORMAT, "code: unknown class '%s' "
		    "(ok, rate, block, auth, tls, conn, other_4xx, other_5xx)",
		    cls);
	memset(&rule, 0, sizeof rule);
	rule.cls = k;
	p = colon + 1;
	sp_skip_blanks(&p);
	rest = p;
	n = strlen(p);
	if (n == 0 || n >= LIM_PROVIDER_TEXT_BYTES)
		return problem(c, line, ERR_FORMAT, "code: empty rule or "
		    "longer than LIM_PROVIDER_TEXT_BYTES%s", "");
	/* Leading conditions: an SMTP code or class, an enhanced code. */
	for (int i = 0; i < 2; i++) {
		const char *e = p;
		size_t tn;
		while (*e != '\0' && *e != ' ' && *e != '\t')
			e++;
		tn = (size_t)(e - p);
		if (tn == 0)
			break;
		if (rule.smtp_class == 0 && rule.smtp_code == 0 &&
		    rule.enh[0] == '\0' &&
		    smtp_cond(p, tn, &rule.smtp_class, &rule.smtp_code)) {
			/* taken */
		} else if (rule.enh[0] == '\0' && enh_code(p, tn, 1)) {
			memcpy(rule.enh, p, tn);
			rule.enh[tn] = '\0';
			sp_lower(rule.enh);
		} else {
			break;
		}
		p = e;
		sp_skip_blanks(&p);
	}
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= 2 && p[0] == '"') {
		if (p[n - 1] != '"')
			return problem(c, line, ERR_FORMAT, "code: unterminated "
			    "quoted phrase in '%.60s'", v);
		p++;
		n -= 2;
	}
	if (n > 0 && p[n - 1] == '*') {
		rule.prefix = 1;
		n--;
	}
	if (n == 0 && (rule.prefix || (rule.enh[0] == '\0' &&
	    rule.smtp_class == 0 && rule.smtp_code == 0)))
		return problem(c, line, ERR_FORMAT, "code: '%.60s' has no "
		    "condition (an SMTP code, an enhanced code or a phrase)", v);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == '"')
			return problem(c, line, ERR_FORMAT, "code: control "
			    "character or '\"' inside the phrase of '%.60s'", v);
	if (pr->n_codes >= LIM_PROVIDER_CODES)
		return problem(c, line, ERR_TOO_LARGE, "more code rules than "
		    "LIM_PROVIDER_CODES (%s)", "128");
	nc = realloc(pr->codes, (pr->n_codes + 1) * sizeof *nc);
	if (nc == NULL) {
		c->nomem = 1;
		return 1;
	}
	pr->codes = nc;
	if ((n > 0 && (rule.phrase = dup_lower(p, n)) == NULL) ||
	    (rule.text = malloc(strlen(rest) + 1)) == NULL) {
		free(rule.phrase);
		c->nomem = 1;
		return 1;
	}
	memcpy(rule.text, rest, strlen(rest) + 1);
	sp_trim(rule.text);
	nc[pr->n_codes++] = rule;
	return 0;
}

static int
set_text(struct pctx *c, char **dst, const char *v, int line)
{
	size_t n = strlen(v);

	if (n == 0 || n >= LIM_PROVIDER_TEXT_BYTES)
		return problem(c, line, ERR_FORMAT, "empty or longer than "
		    "LIM_PROVIDER_TEXT_BYTES: '%.40s'", v);
	free(*dst);
	if ((*dst = malloc(n + 1)) == NULL) {
		c->nomem = 1;
		return 1;
	}
	memcpy(*dst, v, n + 1);
	return 0;
}

/* One threshold key: checked against its type and range. */
static int
set_key(struct pctx *c, struct profile *pr, int k, const char *value,
    int line)
{
	const struct profile_key *pk = &keys[k];
	double d = 0;
	uint64_t u;

	if (pk->type == PKT_REPORTS && pr == &c->p->defaults)
		return problem(c, line, ERR_FORMAT, "%s belongs in a [provider] "
		    "section, not [defaults]", pk->name);

	switch (pk->type) {
	case PKT_PCT:
		if (parse_pct(value, &d) != 0 || d < pk->min || d > pk->max)
			return problem(c, line, ERR_FORMAT, "%s: expected a "
			    "percentage %g..%g (at most 2 decimals)", pk->name,
			    pk->min, pk->max);
		break;
	case PKT_UINT:
		if (parse_u64(value, strlen(value), (uint64_t)pk->max, &u) != 0
		    || (double)u < pk->min)
			return problem(c, line, ERR_FORMAT, "%s: expected a "
			    "whole number %g..%g", pk->name, pk->min, pk->max);
		d = (double)u;
		break;
	case PKT_BOOL:
		if (strcmp(value, "yes") == 0)
			d = 1;
		else if (strcmp(value, "no") == 0)
			d = 0;
		else
			return problem(c, line, ERR_FORMAT, "%s: yes or no, not "
			    "'%.40s'", pk->name, value);
		break;
	default:
		if (strcmp(value, "yes") == 0)
			d = 1;
		else if (strcmp(value, "no") == 0)
			d = 0;
		else if (strcmp(value, "unknown") == 0)
			d = -1;
		else
			return problem(c, line, ERR_FORMAT, "%s: yes, no or "
			    "unknown, not '%.40s'", pk->name, value);
		break;
	}
	pr->lim.v[k] = d;
	pr->lim.set[k] = 1;
	return 0;
}

static int
on_key(void *ctx, const char *section, const char *key, const char *value,
    int line)
{
	struct pctx *c = ctx;
	struct profile *pr;

	if (c->nomem)
		return 1;
	if (section[0] == '\0')
		return problem(c, line, ERR_FORMAT, "'%.100s': key outside any "
		    "section", key);
	if ((pr = section_of(c, section, line)) == NULL)
		return 1;
	c->cur = pr;
	if (profile_key_find(key) >= 0)
		return set_key(c, pr, profile_key_find(key), value, line);
	if (strcmp(key, "stages") == 0)
		return parse_stages(c, pr, value, line);
	if (strcmp(key, "code") == 0)
		return add_code(c, pr, value, line);
	if (strcmp(key, "domains") == 0)
		return add_match(c, pr, PM_DOMAIN, value, line);
	if (strcmp(key, "mx") == 0)
		return add_match(c, pr, PM_MX, value, line);
	if (strcmp(key, "reporters") == 0)
		return add_match(c, pr, PM_REPORTER, value, line);
	if (strcmp(key, "display") == 0)
		return set_text(c, &pr->display_name, value, line);
	if (strcmp(key, "source") == 0)
		return set_text(c, &pr->source, value, line);
	if (strcmp(key, "reports_source") == 0)
		return set_text(c, &pr->reports_source, value, line);
	if (strcmp(key, "unverified") == 0) {
		if (strcmp(value, "yes") == 0)
			pr->unverified = 1;
		else if (strcmp(value, "no") == 0)
			pr->unverified = 0;
		else
			return problem(c, line, ERR_FORMAT, "unverified: yes or "
			    "no, not '%.40s'", value);
		return 0;
	}
	return problem(c, line, ERR_FORMAT, "unknown key '%.100s'", key);
}

static void
profile_clear(struct profile *pr)
{
	free(pr->name);
	free(pr->display_name);
	free(pr->source);
	free(pr->reports_source);
	free(pr->stages);
	for (size_t i = 0; i < pr->n_codes; i++) {
		free(pr->codes[i].text);
		free(pr->codes[i].phrase);
	}
	free(pr->codes);
	for (size_t i = 0; i < pr->n_matches; i++)
		free(pr->matches[i].pattern);
	free(pr->matches);
}

void
profiles_free(struct profiles *p)
{
	if (p == NULL)
		return;
	profile_clear(&p->defaults);
	for (size_t i = 0; i < p->n; i++)
		profile_clear(&p->v[i]);
	free(p->v);
	free(p);
}

/* lo must not exceed hi when both are set (hi 0 means "off" when
 * zero_off). */
static void
check_pair(struct pctx *c, const struct profile *pr, const char *lo,
    const char *hi, int zero_off)
{
	int kl = profile_key_find(lo), kh = profile_key_find(hi);

	if (!pr->lim.set[kl] || !pr->lim.set[kh] ||
	    (zero_off && pr->lim.v[kh] == 0))
		return;
	if (pr->lim.v[kl] > pr->lim.v[kh])
		problem(c, pr->line, ERR_FORMAT, "provider '%s': %s above %s",
		    pr->name, lo, hi);
}

static int
has_reporter(const struct profile *pr)
{
	for (size_t i = 0; i < pr->n_matches; i++)
		if (pr->matches[i].kind == PM_REPORTER)
			return 1;
	return 0;
}

/* Checks that need the whole file: every provider has a stage list (its
 * own or the default) and something to match; pairs of thresholds in
 * order; sends_reports settled. */
static void
check_complete(struct pctx *c)
{
	struct profiles *p = c->p;

	if (!c->defaults_seen)
		problem(c, 1, ERR_FORMAT, "no [defaults] section%s", "");
	for (size_t i = 0; i < p->n; i++) {
		struct profile *pr = &p->v[i];

		if (pr->n_stages == 0 && p->defaults.n_stages > 0) {
			pr->stages = malloc(p->defaults.n_stages *
			    sizeof *pr->stages);
			if (pr->stages == NULL) {
				c->nomem = 1;
				return;
			}
			memcpy(pr->stages, p->defaults.stages,
			    p->defaults.n_stages * sizeof *pr->stages);
			pr->n_stages = p->defaults.n_stages;
		}
		if (pr->n_stages == 0)
			problem(c, pr->line, ERR_FORMAT, "provider '%s': no "
			    "stages (and none in [defaults])", pr->name);
		if (pr->n_matches == 0)
			problem(c, pr->line, ERR_FORMAT, "provider '%s': no "
			    "domains, mx or reporters", pr->name);
		check_pair(c, pr, "dmarc_pass_amber", "dmarc_pass_green", 0);
		check_pair(c, pr, "deferral_pct_amber", "deferral_pct_red", 1);
		check_pair(c, pr, "bounce_pct_amber", "bounce_pct_red", 0);
		check_pair(c, pr, "start_connections", "max_connections", 0);
		check_pair(c, pr, "block_pause_minutes",
		    "block_pause_max_minutes", 0);
		if (!pr->lim.set[profile_key_find("sends_reports")]) {
			/* not said: unknown when it has a reporter to map
			 * reports by, else it sends none we could read */
			pr->lim.v[profile_key_find("sends_reports")] =
			    has_reporter(pr) ? -1 : 0;
			pr->lim.set[profile_key_find("sends_reports")] = 1;
		} else if (profile_lim(&pr->lim, "sends_reports", 0) != 0 &&
		    !has_reporter(pr)) {
			problem(c, pr->line, ERR_FORMAT, "provider '%s': "
			    "sends_reports yes or unknown needs reporters = "
			    "(how else would its reports be found?)", pr->name);
		}
	}
}

int
profiles_parse(const char *text, size_t len, const char *name,
    void (*on_error)(void *ctx, int line, const char *msg), void *ectx,
    struct profiles **out, struct err *err)
{
	struct pctx c;
	int rc;

	*out = NULL;
	memset(&c, 0, sizeof c);
	c.name = name;
	c.on_error = on_error;
	c.ectx = ectx;
	c.err = err;
	if (len > LIM_PROFILE_BYTES) {
		err_where(err, "%s", name);
		return err_set(err, ERR_TOO_LARGE, "profile file exceeds "
		    "LIM_PROFILE_BYTES (%u)", LIM_PROFILE_BYTES);
	}
	if ((c.p = calloc(1, sizeof *c.p)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	if ((c.p->defaults.name = dup_lower("*", 1)) == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = ini_read_mem(text, len, name, on_key, &c, c.problems ? NULL : err);
	if (rc < 0) {
		if (c.on_error != NULL)
			c.on_error(c.ectx, 0, err != NULL ? err->msg : "syntax");
		goto out;
	}
	if (!c.nomem)
		check_complete(&c);
	if (c.nomem) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (c.problems > 0) {
		rc = c.first_rc;
		goto out;
	}
	*out = c.p;
	c.p = NULL;
	rc = 0;
out:
	profiles_free(c.p);
	return rc;
}

const struct profile *
profiles_find(const struct profiles *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (sp_casecmp(p->v[i].name, name) == 0)
			return &p->v[i];
	return NULL;
}

/* s equals pat, or ends in "." pat (case-insensitive). */
static int
suffix_match(const char *s, size_t sn, const char *pat)
{
	size_t pn = strlen(pat);

	if (sn == pn)
		return sp_casecmp(s, pat) == 0;
	return sn > pn && s[sn - pn - 1] == '.' &&
	    sp_casecmp(s + sn - pn, pat) == 0;
}

static const struct profile *
by_kind(const struct profiles *p, const char *s, int kind)
{
	const struct profile *best = NULL;
	size_t bestlen = 0, sn;

	if (s == NULL || *s == '\0')
		return NULL;
	sn = strlen(s);
	for (size_t i = 0; i < p->n; i++)
		for (size_t j = 0; j < p->v[i].n_matches; j++) {
			const struct profile_match *m = &p->v[i].matches[j];
			size_t pn = strlen(m->pattern);
			if (m->kind == kind && pn > bestlen &&
			    suffix_match(s, sn, m->pattern)) {
				best = &p->v[i];
				bestlen = pn;
			}
		}
	return best;
}

const struct profile *
profiles_by_domain(const struct profiles *p, const char *domain)
{
	return by_kind(p, domain, PM_DOMAIN);
}

const struct profile *
profiles_by_mx(const struct profiles *p, const char *host)
{
	return by_kind(p, host, PM_MX);
}

/* ---- classification ---- */

/* Normalised reply text: what the classifier matches phrases against. */
#define NORM_BYTES 1024

static int
is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9');
}

static int
is_digit3(const char *t, size_t n, int code)
{
	return n == 3 && t[0] >= '2' && t[0] <= '5' && t[1] >= '0' &&
	    t[1] <= '9' && t[2] >= '0' && t[2] <= '9' && (code == 0 ||
	    (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0') == code);
}

/*
 * Lower-cases reply into out, drops the Postfix framing ("host H said: "
 * or "host H refused to talk to me: " before, " (in reply to ...)"
 * after) and the reply-line prefixes of a multi-line reply ("550-5.7.1",
 * "550-", and "550 5.7.1" before the last line; code = the reply's code),
 * and collapses white space. The first enhanced code seen in a prefix or
 * at the start of the text goes to enh (when enh is "" on entry).
 */
static void
normalise(const char *reply, int code, char *out, size_t outsz, char *enh,
    size_t enhsz)
{
	const char *p = reply, *end, *q;
	size_t o = 0;
	int first = 1, prefixed = 0;

	if ((q = strstr(p, " said: ")) != NULL)
		p = q + 7;
	else if ((q = strstr(p, " refused to talk to me: ")) != NULL)
		p = q + 24;
	end = p + strlen(p);
	if ((q = strstr(p, " (in reply to ")) != NULL && q[strlen(q) - 1] ==
	    ')' && strchr(q + 2, '(') == NULL)
		end = q;
	while (p < end) {
		const char *t, *e;
		size_t tn;
		int drop = 0;

		while (p < end && ((unsigned char)*p <= ' '))
			p++;
		if (p >= end)
			break;
		t = p;
		while (p < end && (unsigned char)*p > ' ')
			p++;
		e = p;
		tn = (size_t)(e - t);
		/* "550-5.7.1" or "550-": a reply-line prefix; "421-text":
		 * the prefix of a line without an enhanced code */
		if (tn > 4 && t[3] == '-' && is_digit3(t, 3, code) &&
		    !enh_code(t + 4, tn - 4, 0)) {
			t += 4;
			tn -= 4;
			prefixed = 1;
		} else if (tn >= 4 && t[3] == '-' && is_digit3(t, 3, code)) {
			drop = prefixed = 1;
			if (tn > 4 && enh[0] == '\0' && tn - 4 < enhsz) {
				memcpy(enh, t + 4, tn - 4);
				enh[tn - 4] = '\0';
			}
		} else if (is_digit3(t, tn, code)) {
			/* "550 5.7.1 text": the code, then maybe the
			 * enhanced code, starting the last line (or the
			 * text) */
			const char *u = p, *ue;
			while (u < end && (unsigned char)*u <= ' ')
				u++;
			ue = u;
			while (ue < end && (unsigned char)*ue > ' ')
				ue++;
			if (enh_code(u, (size_t)(ue - u), 0)) {
				if (enh[0] == '\0' && (size_t)(ue - u) < enhsz) {
					memcpy(enh, u, (size_t)(ue - u));
					enh[ue - u] = '\0';
				}
				p = ue;
				drop = 1;
			} else if (first || prefixed) {
				/* the code starting the text, or the last
				 * line's "421 " after "421-" lines */
				drop = 1;
				prefixed = 0;
			}
		} else if (first && enh_code(t, tn, 0)) {
			/* CSV / KumoMTA text starting with its enhanced
			 * code */
			if (enh[0] == '\0' && tn < enhsz) {
				memcpy(enh, t, tn);
				enh[tn] = '\0';
			}
			drop = 1;
		}
		first = 0;
		if (drop)
			continue;
		if (o > 0 && o + 1 < outsz)
			out[o++] = ' ';
		for (const char *x = t; x < e && o + 1 < outsz; x++)
			out[o++] = (*x >= 'A' && *x <= 'Z') ? (char)(*x + 32) :
			    *x;
	}
	out[o] = '\0';
}

/* phrase occurs in text on word boundaries (prefix: none at the end). */
static int
phrase_in(const char *text, const char *phrase, int prefix)
{
	size_t n = strlen(phrase);
	int lead = is_alnum((unsigned char)phrase[0]);
	int trail = !prefix && is_alnum((unsigned char)phrase[n - 1]);

	for (const char *h = strstr(text, phrase); h != NULL;
	    h = strstr(h + 1, phrase)) {
		if (lead && h > text && is_alnum((unsigned char)h[-1]))
			continue;
		if (trail && is_alnum((unsigned char)h[n]))
			continue;
		return 1;
	}
	return 0;
}

/* "5.7.1" matches "5.7.1"; 'x' in the rule matches one digit. */
static int
enh_match(const char *rule, const char *enh)
{
	for (; *rule != '\0'; rule++, enh++)
		if (*enh == '\0' || (*rule == 'x' ? !(*enh >= '0' &&
		    *enh <= '9') : *rule != *enh))
			return 0;
	return *enh == '\0';
}

static const struct profile_code *
rules(const struct profile *pr, int code, const char *enh, const char *text)
{
	for (size_t i = 0; pr != NULL && i < pr->n_codes; i++) {
		const struct profile_code *r = &pr->codes[i];

		if (r->smtp_class != 0 && code / 100 != r->smtp_class)
			continue;
		if (r->smtp_code != 0 && code != r->smtp_code)
			continue;
		if (r->enh[0] != '\0' && !enh_match(r->enh, enh))
			continue;
		if (r->phrase != NULL && !phrase_in(text, r->phrase, r->prefix))
			continue;
		return r;
	}
	return NULL;
}

int
profiles_classify(const struct profiles *p, const struct profile *prov,
    int code, const char *enhanced, const char *reply, int *provider_rule,
    const struct profile_code **rule)
{
	const struct profile_code *r;
	char text[NORM_BYTES], enh[16];

	*provider_rule = 0;
	if (rule != NULL)
		*rule = NULL;
	if (code >= 200 && code < 300)
		return SL_OK;
	enh[0] = '\0';
	if (enhanced != NULL && enh_code(enhanced, strlen(enhanced), 0))
		snprintf(enh, sizeof enh, "%s", enhanced);
	normalise(reply != NULL ? reply : "", code, text, sizeof text, enh,
	    sizeof enh);
	if ((r = rules(prov, code, enh, text)) != NULL)
		*provider_rule = 1;
	else if (p != NULL)
		r = rules(&p->defaults, code, enh, text);
	if (rule != NULL)
		*rule = r;
	if (r != NULL)
		return r->cls;
	if (code >= 400 && code < 500)
		return SL_OTHER_4XX;
	if (code >= 500 && code < 600)
		return SL_OTHER_5XX;
	return SL_CONN;
}
