/*
 * parse/report.h - the neutral report model shared by parse/ and store/.
 *
 * Parsers are pure: bytes in (a struct reader), a report out through a sink
 * of callbacks. They never hold all records at once: each record is handed
 * to sink->record() and its memory is reused afterwards. The store consumes
 * the callbacks inside one open transaction.
 *
 * Strings: UTF-8, NUL-terminated, trimmed; NULL means absent (an empty
 * element is absent). Enum-like fields (results, dispositions, alignment...)
 * are normalised: lower-case, aliases mapped (hardfail->fail, unknown->
 * temperror, error->permerror). Where normalisation changed a value, the
 * value as sent is kept in a raw_value entry beside it.
 *
 * Ownership: every pointer inside struct report and struct agg_record is
 * owned by the parser's arenas and valid only during the callback that
 * receives it (report metadata stays valid from begin() to end()).
 * Callers never free them.
 */
#ifndef DW_PARSE_REPORT_H
#define DW_PARSE_REPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/reader.h"

enum report_kind {
	REPORT_AGGREGATE = 1,
	REPORT_TLSRPT = 2,
	REPORT_FAILURE = 3,
};

/* Which schema an aggregate report follows. RFC 9990 is detected by its
 * namespace or by any 9990-only element (np, testing, discovery_method,
 * generator, extension); `version` is not used for detection (D3). */
enum agg_flavour {
	AGG_RFC7489 = 1,
	AGG_RFC9990 = 2,
};

/*
 * Warnings: each accepted oddity, coded. Stable tokens (warn_token()) are
 * what the database stores and scripts match on; never renumber, append.
 * A warning is recorded once per report with the number of times it
 * occurred and the detail of its first occurrence (e.g. "record 17").
 */
enum warn_code {
	W_VERSION_MISSING = 1,     /* D1 */
	W_VERSION_ODD,             /* D2, D3: not 1.0 */
	W_NAMESPACE_ODD,           /* D4: unknown / draft namespace */
	W_XML_RECOVERED,           /* D5, D6: not well-formed, recovered */
	W_INVALID_UTF8,            /* D7: bytes replaced */
	W_WHITESPACE_TRIMMED,      /* D9: values with surrounding space */
	W_ORDER,                   /* D11: children out of schema order */
	W_IDENTITIES_ALIAS,        /* D12: <identities> */
	W_EMPTY_ELEMENT,           /* D13: empty element treated as absent */
	W_ENVELOPE_FROM_MISSING,   /* D14 */
	W_NO_SPF,                  /* D15: auth_results without spf */
	W_DKIM_NO_SELECTOR,        /* D16 */
	W_DKIM_EMPTY_DOMAIN,       /* D17: dkim result without domain, dropped */
	W_SPF_NO_SCOPE,            /* D19 */
	W_ENUM_ALIAS,              /* D20: hardfail/unknown/error mapped */
	W_ENUM_CASE,               /* D21: upper/mixed case enum */
	W_ENUM_UNKNOWN,            /* value outside every enum, kept verbatim */
	W_REASON_BARE,             /* D22: <reason>text</reason> */
	W_DISPOSITION_PASS_7489,   /* D23 */
	W_REASON_OBSOLETE,         /* D24: forwarded/sampled_out in 9990 */
	W_STRAY_TEXT,              /* D25 */
	W_TIME_MILLISECONDS,       /* D26 */
	W_TIME_FRACTIONAL,         /* D27 */
	W_SPAN_LONG,               /* D28: range > 24 h + 1 s */
	W_SPAN_ODD,                /* begin == end, end < begin, not aligned */
	W_ROW_NO_SOURCE_IP,        /* D30: row skipped */
	W_ROW_BAD_SOURCE_IP,       /* unparsable IP: row skipped */
	W_ROW_BAD_COUNT,           /* missing/garbage count: row skipped */
	W_ROW_SKIPPED,             /* other unusable row (no header_from...) */
	W_IPV6_NONCANONICAL,       /* D31: IP rewritten to RFC 5952 form */
	W_ULABEL_DOMAIN,           /* D32: non-ASCII domain */
	W_NO_RECORDS,              /* D34 */
	W_ORG_NAME_MISSING,        /* D36: fell back to email domain */
	W_NUMBER_FLOAT,            /* D37: pct etc. not an integer */
	W_EXTENSION,               /* D38 / 9990: extension kept as raw XML */
	W_DUPLICATE_ELEMENT,       /* repeated singleton: first kept */
	W_UNKNOWN_ELEMENT,         /* element we do not know, ignored */
	W_POLICY_DEFAULTED,        /* adkim/aspf/sp/pct default applied */
	W_BOM,                     /* byte order mark / leading garbage */
	W_TRAILING_DATA,           /* bytes after the document */
	W_FIELD_MISSING,           /* required field absent, report kept */
	W_TOTALS_MISMATCH,         /* TLS-RPT: totals vs details */
	W_TIMEZONE_MISSING,        /* TLS-RPT: date without zone (Microsoft) */
	W_RENESTED,                /* recover mode: an element found under the
	                            * wrong parent (an unclosed tag took it in)
	                            * read where it belongs */
	W_DOMAIN_CASE,             /* domain lower-cased; raw value kept */
	W__COUNT
};

const char *warn_token(enum warn_code c);  /* "version_missing" ... */



struct report_warning {
	enum warn_code code;
	uint64_t count;
	const char *detail;   /* first occurrence, may be NULL */
};

struct arena;

/*
 * The warnings of one report being parsed: one entry per code with its
 * count and the detail of its first occurrence. Shared by the parsers so
 * they count and clean details the same way. After warn_set_add(), point
 * report.warnings / n_warnings at ws->warns / ws->n.
 */
struct warn_set {
	struct report_warning warns[W__COUNT];
	signed char idx[W__COUNT];     /* position in warns, -1 if absent */
	size_t n;
};

void warn_set_init(struct warn_set *ws);
/* 1 when code c has been recorded. */
int warn_set_has(const struct warn_set *ws, enum warn_code c);
/* Counts c; on its first occurrence keeps a copy of detail (may be NULL)
 * in arena a, at most 255 bytes, with control characters masked and a
 * UTF-8 sequence cut at the end dropped. An allocation failure keeps the count
 * and drops the detail. */
void warn_set_add(struct warn_set *ws, struct arena *a, enum warn_code c,
    const char *detail);

/* warn_set_add with a printf-style detail, formatted only on the first
 * occurrence (a warning repeated on a million rows costs one compare). */
void warn_set_vaddf(struct warn_set *ws, struct arena *a, enum warn_code c,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/* Length of the valid UTF-8 sequence at p (n > 0 bytes left) allowed in
 * a stored string; 0 for invalid bytes and control characters (C0 other
 * than TAB, and LF/CR unless allow_newlines; DEL; C1). */
size_t report_utf8_ok(const unsigned char *p, size_t n, int allow_newlines);

/* Lower-cases ASCII letters of a domain in place; returns 1 if it has
 * non-ASCII bytes (a U-label, for W_ULABEL_DOMAIN), else 0. */
int report_domain_lower(char *d);

/* A value as sent, where normalisation changed it. field names the path,
 * e.g. "policy_evaluated.disposition", "dkim[1].result", "source_ip". */
struct raw_value {
	const char *field;
	const char *raw;
};

struct agg_policy {
	const char *domain;            /* policy domain, lower-cased */
	const char *adkim, *aspf;      /* "r" | "s" (defaulted to "r") */
	const char *p, *sp, *np;       /* disposition words */
	const char *fo;                /* verbatim, trimmed */
	const char *testing;           /* "n" | "y" (9990) */
	const char *discovery_method;  /* "psl" | "treewalk" (9990) */
	int pct;                       /* 0..100, -1 absent */
};

struct agg_meta {
	const char *org_name;
	const char *email;
	const char *extra_contact_info;
	const char *report_id;
	const char *generator;         /* 9990 */
	int64_t begin, end;            /* epoch seconds UTC (ms divided) */
	const char *const *errors;     /* n_errors <error> texts */
	size_t n_errors;
	const char *version;           /* as sent, NULL if absent */
	const char *xml_namespace;     /* of <feedback>, NULL if none */
	enum agg_flavour flavour;
	const char *extensions_xml;    /* file-level <extension>, raw XML */
};

struct agg_dkim {
	const char *domain, *selector, *result, *human_result;
};

struct agg_spf {
	const char *domain, *scope, *result, *human_result;
};

struct agg_reason {
	const char *type, *comment;
};

struct agg_record {
	size_t index;                 /* 0-based position among <record>s */
	const char *source_ip;        /* canonical text (RFC 5952 for v6) */
	int ip_family;                /* 4 or 6 */
	unsigned char ip_bin[16];     /* v4: ::ffff:a.b.c.d mapped; sorts */
	uint64_t count;
	const char *disposition;      /* none|quarantine|reject|pass|... */
	const char *dkim_aligned;     /* pass|fail, NULL if absent */
	const char *spf_aligned;
	const struct agg_reason *reasons;
	size_t n_reasons;
	const char *header_from, *envelope_from, *envelope_to;
	const struct agg_dkim *dkim;
	size_t n_dkim;
	const struct agg_spf *spf;
	size_t n_spf;
	const char *extensions_xml;   /* 9990 record-level extension XML */
	const struct raw_value *raw;
	size_t n_raw;
};

/* ---- TLS-RPT (RFC 8460 section 4) ---- */

struct tlsrpt_failure {
	const char *result_type;        /* as sent, lower-cased; unknown
	                                 * types kept verbatim */
	const char *sending_mta_ip;     /* canonical if it parses, else as
	                                 * sent (raw kept); NULL if absent */
	const char *receiving_mx_hostname;
	const char *receiving_mx_helo;
	const char *receiving_ip;
	uint64_t failed_session_count;
	const char *additional_information;
	const char *failure_reason_code;
};

struct tlsrpt_policy {
	size_t index;                   /* 0-based position in "policies" */
	const char *policy_type;        /* sts | tlsa | no-policy-found |
	                                 * other value verbatim */
	const char *const *policy_strings;
	size_t n_policy_strings;
	const char *policy_domain;      /* lower-cased */
	const char *const *mx_hosts;    /* "mx-host" string or array */
	size_t n_mx_hosts;
	uint64_t total_successful;
	uint64_t total_failure;
	const struct tlsrpt_failure *failures;
	size_t n_failures;
};

struct tlsrpt_meta {
	const char *organization_name;
	const char *contact_info;
	const char *report_id;
	int64_t begin, end;             /* epoch seconds UTC */
	const char *begin_raw, *end_raw;/* date-range strings as sent */
};

/* ---- DMARC failure report (RFC 6591 ARF, RFC 9991) ---- */

struct failure_report {
	/* message/feedback-report fields (NULL when absent) */
	const char *feedback_type;      /* "auth-failure" when absent */
	const char *user_agent;
	const char *version;
	const char *original_mail_from;
	const char *original_rcpt_to;
	const char *arrival_date;       /* as sent */
	int64_t arrival_time;           /* epoch s, 0 if unparsable */
	const char *source_ip;          /* canonical if it parses */
	const char *reported_domain;
	const char *reported_uri;
	const char *authentication_results;
	const char *auth_failure;       /* "dmarc" when absent */
	const char *identity_alignment;
	const char *delivery_result;
	const char *dkim_domain, *dkim_identity, *dkim_selector;
	const char *dkim_canonicalized_header, *dkim_canonicalized_body;
	const char *spf_dns;
	/* every other feedback-report field, name and value */
	const struct raw_value *other_fields;
	size_t n_other_fields;
	/* headers of the original message (from the message/rfc822 or
	 * text/rfc822-headers part) */
	const char *orig_from, *orig_to, *orig_subject, *orig_date;
	const char *orig_message_id;
	/* the original body: NULL unless the caller asked to keep it */
	const unsigned char *orig_body;
	size_t orig_body_len;
};

struct report {
	enum report_kind kind;
	struct agg_meta agg;
	struct agg_policy policy;
	struct tlsrpt_meta tls;         /* kind == REPORT_TLSRPT */
	struct failure_report fail;     /* kind == REPORT_FAILURE */
	/* Report-level raw values (e.g. "date_range.begin" in ms). */
	const struct raw_value *raw;
	size_t n_raw;
	/* Filled progressively; complete when sink->end() runs. */
	const struct report_warning *warnings;
	size_t n_warnings;
	uint64_t n_records;           /* records accepted so far */
	uint64_t n_rows_skipped;      /* rows skipped with a warning */
	int recovered;                /* parsed in XML recover mode */
};

/*
 * The sink: how a parser hands over a report.
 *
 * begin(): once, when metadata and policy are known (normally when the
 *   first <record> starts; at the end for reports without records).
 *   Return 0 to go on, ERR_STOPPED to end the parse quietly (e.g. the
 *   report is already known), another negative code to abort with it.
 * record(): once per accepted record, in document order. Same returns.
 * end(): once, after the last record, with the final warnings and counts.
 *   Not called when the parse fails or was stopped.
 *
 * If records come before policy_published in a document (allowed by no
 * schema, but order is never trusted), the parser buffers them until
 * begin() can be called.
 */
struct report_sink {
	int (*begin)(void *ctx, const struct report *r);
	int (*record)(void *ctx, const struct report *r,
	    const struct agg_record *rec);
	int (*end)(void *ctx, const struct report *r);
	void *ctx;
	/* TLS-RPT: once per policy, in document order, between begin() and
	 * end() (records are not used for TLS-RPT). Failure reports have no
	 * per-item callback: begin() and end() carry everything. */
	int (*tlsrpt_policy)(void *ctx, const struct report *r,
	    const struct tlsrpt_policy *p);
	/* Optional, for whoever holds several records at once (the import
	 * relay, ingest/relay.h; parsers call record()): recs[0..n) in
	 * document order, as n calls of record() would hand them. NULL:
	 * record() is called for each. */
	int (*records)(void *ctx, const struct report *r,
	    const struct agg_record *recs, size_t n);
};

#endif
