/* parse/report.c - warning tokens and helpers of the neutral report model. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/arena.h"
#include "report.h"

/* Stored in the database and matched by scripts: never change a token,
 * only append (in the same order as enum warn_code). */
static const char *const warn_tokens[W__COUNT] = {
	[W_VERSION_MISSING] = "version_missing",
	[W_VERSION_ODD] = "version_odd",
	[W_NAMESPACE_ODD] = "namespace_odd",
	[W_XML_RECOVERED] = "xml_recovered",
	[W_INVALID_UTF8] = "invalid_utf8",
	[W_WHITESPACE_TRIMMED] = "whitespace_trimmed",
	[W_ORDER] = "order",
	[W_IDENTITIES_ALIAS] = "identities_alias",
	[W_EMPTY_ELEMENT] = "empty_element",
	[W_ENVELOPE_FROM_MISSING] = "envelope_from_missing",
	[W_NO_SPF] = "no_spf",
	[W_DKIM_NO_SELECTOR] = "dkim_no_selector",
	[W_DKIM_EMPTY_DOMAIN] = "dkim_empty_domain",
	[W_SPF_NO_SCOPE] = "spf_no_scope",
	[W_ENUM_ALIAS] = "enum_alias",
	[W_ENUM_CASE] = "enum_case",
	[W_ENUM_UNKNOWN] = "enum_unknown",
	[W_REASON_BARE] = "reason_bare",
	[W_DISPOSITION_PASS_7489] = "disposition_pass_7489",
	[W_REASON_OBSOLETE] = "reason_obsolete",
	[W_STRAY_TEXT] = "stray_text",
	[W_TIME_MILLISECONDS] = "time_milliseconds",
	[W_TIME_FRACTIONAL] = "time_fractional",
	[W_SPAN_LONG] = "span_long",
	[W_SPAN_ODD] = "span_odd",
	[W_ROW_NO_SOURCE_IP] = "row_no_source_ip",
	[W_ROW_BAD_SOURCE_IP] = "row_bad_source_ip",
	[W_ROW_BAD_COUNT] = "row_bad_count",
	[W_ROW_SKIPPED] = "row_skipped",
	[W_IPV6_NONCANONICAL] = "ipv6_noncanonical",
	[W_ULABEL_DOMAIN] = "ulabel_domain",
	[W_NO_RECORDS] = "no_records",
	[W_ORG_NAME_MISSING] = "org_name_missing",
	[W_NUMBER_FLOAT] = "number_float",
	[W_EXTENSION] = "extension",
	[W_DUPLICATE_ELEMENT] = "duplicate_element",
	[W_UNKNOWN_ELEMENT] = "unknown_element",
	[W_POLICY_DEFAULTED] = "policy_defaulted",
	[W_BOM] = "bom",
	[W_TRAILING_DATA] = "trailing_data",
	[W_FIELD_MISSING] = "field_missing",
	[W_TOTALS_MISMATCH] = "totals_mismatch",
	[W_TIMEZONE_MISSING] = "timezone_missing",
	[W_RENESTED] = "renested",
	[W_DOMAIN_CASE] = "domain_case",
};

const char *
warn_token(enum warn_code c)
{
	if ((int)c <= 0 || c >= W__COUNT || warn_tokens[c] == NULL)
		return "unknown";
	return warn_tokens[c];
}

/* Drops an incomplete UTF-8 sequence that truncation left at the end. */
static void
utf8_cut(char *s)
{
	size_t n = strlen(s), i = n, need;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80 && n - i < 3)
		i--;
	if (i == 0 || (unsigned char)s[i - 1] < 0xc0)
		return;
	/* s[i - 1] leads a sequence of `need` bytes; n - i + 1 are here */
	need = (unsigned char)s[i - 1] >= 0xf0 ? 4 :
	    (unsigned char)s[i - 1] >= 0xe0 ? 3 : 2;
	if (n - i + 1 < need)
		s[i - 1] = '\0';
}

void
warn_set_init(struct warn_set *ws)
{
	memset(ws, 0, sizeof *ws);
	memset(ws->idx, -1, sizeof ws->idx);
}

int
warn_set_has(const struct warn_set *ws, enum warn_code c)
{
	return (int)c > 0 && c < W__COUNT && ws->idx[c] >= 0;
}

void
warn_set_add(struct warn_set *ws, struct arena *a, enum warn_code c,
    const char *detail)
{
	struct report_warning *w;
	char tmp[256];
	size_t n;

	if ((int)c <= 0 || c >= W__COUNT)
		return;
	if (ws->idx[c] >= 0) {
		ws->warns[ws->idx[c]].count++;
		return;
	}
	w = &ws->warns[ws->n];
	ws->idx[c] = (signed char)ws->n;
	ws->n++;
	w->code = c;
	w->count = 1;
	w->detail = NULL;
	if (detail == NULL)
		return;
	n = strlen(detail);
	if (n >= sizeof tmp)
		n = sizeof tmp - 1;
	memcpy(tmp, detail, n);
	tmp[n] = '\0';
	utf8_cut(tmp);   /* the cut (here or in the caller's snprintf) */
	for (char *p = tmp; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	w->detail = arena_strdup(a, tmp);
}

void
warn_set_vaddf(struct warn_set *ws, struct arena *a, enum warn_code c,
    const char *fmt, va_list ap)
{
	char tmp[256];

	if (fmt == NULL || warn_set_has(ws, c) ||
	    vsnprintf(tmp, sizeof tmp, fmt, ap) < 0) {
		warn_set_add(ws, a, c, NULL);
		return;
	}
	warn_set_add(ws, a, c, tmp);
}

int
report_domain_lower(char *d)
{
	int nonascii = 0;

	for (char *p = d; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		else if ((unsigned char)*p >= 0x80)
			nonascii = 1;
	}
	return nonascii;
}

size_t
report_utf8_ok(const unsigned char *p, size_t n, int allow_newlines)
{
	unsigned c = p[0];
	uint32_t cp;
	size_t len, i;

	if (c < 0x80)
		return (c >= 0x20 && c != 0x7f) || c == '\t' ||
		    (allow_newlines && (c == '\n' || c == '\r')) ? 1 : 0;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF, C1 controls */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}
