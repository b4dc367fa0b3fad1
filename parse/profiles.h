/*
 * parse/profiles.h - provider profiles (doc/providers.md): which recipient
 * domains, MX hosts and DMARC reporters belong to a mailbox provider, its
 * warm-up stages, hourly caps, thresholds and the reply codes it uses for
 * rate limits and blocks. Pure: text in, struct profiles out; the file is
 * read by the caller (ingest/profiles_sync.c) and synced into the store.
 */
#ifndef DW_PARSE_PROFILES_H
#define DW_PARSE_PROFILES_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

/* Reply classes; same order as store/store.h enum store_sl_class (the
 * sync checks it). */
enum sl_class {
	SL_OK = 0, SL_RATE, SL_BLOCK, SL_AUTH, SL_TLS, SL_CONN, SL_OTHER_4XX,
	SL_OTHER_5XX, SL_CLASSES
};
/* "ok" ... "other_5xx"; -1 / NULL when unknown. */
int sl_class_parse(const char *name);
const char *sl_class_name(int cls);

enum profile_match_kind { PM_DOMAIN = 0, PM_MX, PM_REPORTER };
const char *profile_match_kind_name(int kind);   /* "domain", "mx", ... */

/*
 * Threshold keys (doc/providers.md "Threshold keys"): every number the
 * engine judges by, valid in [defaults] and in provider sections. The
 * table is fixed: profile_key_at(0 .. profile_keys_count() - 1).
 * report/engine.c knows the same names (engine_param_set()); a unit test
 * checks that the two lists and doc/providers.md agree.
 */
enum profile_key_type {
	PKT_PCT = 0,              /* percent, at most 2 decimals */
	PKT_UINT,                 /* whole number */
	PKT_BOOL,                 /* yes | no: 1 | 0 */
	PKT_REPORTS,              /* yes | no | unknown: 1 | 0 | -1 */
};
struct profile_key {
	const char *name;
	int type;                 /* enum profile_key_type */
	double min, max;          /* PKT_PCT, PKT_UINT: allowed range */
};
#define PROFILE_KEYS_MAX 64
size_t profile_keys_count(void);
const struct profile_key *profile_key_at(size_t i);   /* NULL past end */
int profile_key_find(const char *name);               /* index or -1 */

/* Values of the threshold keys; [defaults] fills them, a provider
 * section overrides. set[i] is 1 when key i was given in the section or
 * in [defaults]; a key given nowhere is left to the engine's documented
 * fallback (report/engine.c engine_params_defaults()). */
struct profile_limits {
	double v[PROFILE_KEYS_MAX];
	unsigned char set[PROFILE_KEYS_MAX];
};
/* The value of key name in lim, or dflt when it is unknown or not set. */
double profile_lim(const struct profile_limits *lim, const char *name,
    double dflt);

struct profile_stage {
	uint64_t daily_cap, hourly_cap, min_days;
};

/*
 * A reply rule (doc/providers.md "Reply rules"): "CLASS: [SMTP] [ENH]
 * [PHRASE]". Every condition given must hold:
 *  - SMTP: "4xx", "5xx" or a code ("421"): the reply's SMTP code;
 *  - ENH: an enhanced status code, digits or 'x' per digit ("5.7.1",
 *    "4.7.5xx"): the attempt's enhanced code (the log's dsn, else the
 *    first one in the reply);
 *  - PHRASE: words of the reply text, case-insensitive, on word
 *    boundaries (a letter or digit at either end of the phrase must not
 *    touch another); a trailing '*' drops the boundary at the end
 *    ("RL0000*" matches "RL000001"). The text is normalised first: the
 *    MTA's framing ("host H said: ... (in reply to ...)") and the
 *    per-line "550-5.7.1" prefixes of a multi-line reply are dropped and
 *    white space collapsed, so a phrase may span reply lines.
 */
struct profile_code {
	char *text;               /* the rule after "CLASS:", as written */
	int cls;                  /* enum sl_class */
	int smtp_class;           /* 0 any; 4 or 5: 4xx / 5xx */
	int smtp_code;            /* 0 any; else this code */
	char enh[16];             /* "" any; 'x' matches one digit */
	char *phrase;             /* NULL: none; lower-case */
	int prefix;               /* phrase ended in '*' */
};

struct profile_match {
	int kind;                 /* enum profile_match_kind */
	char *pattern;            /* lower-case */
};

struct profile {
	char *name;               /* section [provider NAME], lower-case */
	char *display_name;       /* display =, else name */
	char *source;             /* source =, provenance note, may be NULL */
	char *reports_source;     /* reports_source =: where "sends_reports"
	                           * comes from; may be NULL */
	int unverified;           /* unverified = yes */
	struct profile_limits lim;
	size_t n_stages;
	struct profile_stage *stages;
	size_t n_codes;
	struct profile_code *codes;
	size_t n_matches;
	struct profile_match *matches;
	int line;                 /* of the section header */
};

struct profiles {
	struct profile defaults;  /* name "*": [defaults] */
	size_t n;
	struct profile *v;
};

/*
 * Parses len bytes of profile text; name is used in error positions
 * ("name:line"). Every problem is passed to on_error (may be NULL) as
 * line + message, and the first one is also in err. Returns 0 and *out
 * when there was no problem, ERR_FORMAT (bad values), ERR_TOO_LARGE (a
 * LIM_PROVIDER_* / LIM_PROFILE_BYTES cap) or ERR_NOMEM otherwise; *out
 * is NULL then.
 */
int profiles_parse(const char *text, size_t len, const char *name,
    void (*on_error)(void *ctx, int line, const char *msg), void *ectx,
    struct profiles **out, struct err *err);
void profiles_free(struct profiles *p);

/* The provider of a recipient domain (exact or parent-domain match of a
 * domain pattern, the longest wins), of an MX / relay host (suffix match
 * of an mx pattern on a label boundary), or of a DMARC reporter org name.
 * NULL when none. */
const struct profile *profiles_by_domain(const struct profiles *p,
    const char *domain);
const struct profile *profiles_by_mx(const struct profiles *p,
    const char *host);
const struct profile *profiles_find(const struct profiles *p,
    const char *name);

/*
 * Class of a reply: the provider's code rules in order (first match),
 * then the [defaults] rules, then the structural rule: 2xx ok, no SMTP
 * code conn, 4xx other_4xx, 5xx other_5xx. code is the SMTP code (0 when
 * none), enhanced the attempt's enhanced status code ("" or NULL when
 * none), reply the reply text as logged. *provider_rule is set to 1 when
 * the provider's own rule matched (send-log column rate_signal counts
 * those RATE replies); *rule (when rule is not NULL) to the rule that
 * matched, NULL for the structural class. p and prov may be NULL.
 */
int profiles_classify(const struct profiles *p, const struct profile *prov,
    int code, const char *enhanced, const char *reply, int *provider_rule,
    const struct profile_code **rule);

#endif
