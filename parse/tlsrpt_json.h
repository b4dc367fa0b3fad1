/*
 * parse/tlsrpt_json.h - SMTP TLS reports (TLS-RPT, RFC 8460 section 4)
 * in JSON, read through common/json.h (jansson stays behind it).
 *
 * A report is small (RFC 8460 puts it in one mail, LIM_JSON_BYTES caps
 * it), so the whole document is parsed into a tree, every policy is
 * checked and converted first, and only then is the sink called: a report
 * that turns out unusable in its last policy never reaches the sink half
 * delivered.
 *
 * Caps: document LIM_JSON_BYTES, nesting LIM_JSON_DEPTH, values
 * LIM_JSON_VALUES, each string LIM_FIELD_BYTES (ERR_TOO_LARGE naming the
 * cap), each session count LIM_RECORD_COUNT (the per-record message cap:
 * sessions are messages), date range LIM_REPORT_SPAN_SECONDS.
 *
 * Leniency (each with a coded warning, see the .c file for the table):
 * missing organization-name (contact-info domain used), dates without a
 * zone (UTC), mx-host as string or array or "mx-host-pattern",
 * "additional-info-uri", policy-string as a lone string, unknown
 * policy-type / result-type kept verbatim, upper-case enum values,
 * failure details without IPs or host names, unparsable IPs kept as sent,
 * counts written as integral reals or digit strings, totals that differ
 * from the details' sum (kept as sent), empty or missing "policies",
 * "contact-info": null, unknown members ignored.
 *
 * Strings handed to the sink: valid UTF-8, trimmed, no NUL; control
 * characters replaced by U+FFFD (W_INVALID_UTF8), except TAB/LF/CR inside
 * policy strings. Empty strings are absent (NULL).
 */
#ifndef DW_PARSE_TLSRPT_JSON_H
#define DW_PARSE_TLSRPT_JSON_H

#include "../common/err.h"
#include "../common/reader.h"
#include "report.h"

/*
 * Parses one TLS-RPT JSON report from `in` and hands it to `sink`:
 * begin() once (r->kind == REPORT_TLSRPT, r->tls filled, r->raw holding
 * values rewritten by normalisation), tlsrpt_policy() once per element
 * of "policies" in document order, then end() with the final warnings.
 * NULL callbacks are skipped. Pointers are valid during the callbacks
 * only (report metadata from begin() to end()).
 *
 * Returns 0 when the report was parsed and end() ran;
 * ERR_STOPPED when a sink callback returned it;
 * ERR_NOREPORT when the bytes are JSON but not a TLS-RPT report (not an
 *   object, or none of "policies", "report-id", "organization-name");
 * ERR_FORMAT when not JSON (syntax, duplicate keys, invalid UTF-8,
 *   "\u0000", trailing data) or a report part is unusable: no report-id,
 *   no or unparsable date-range, a member of the wrong JSON type, a
 *   negative, fractional or non-numeric count, neither organization-name
 *   nor contact-info;
 * ERR_TOO_LARGE when a LIM_* cap is hit (the message names the cap);
 * ERR_NOMEM, a reader error, or any negative code a sink callback
 *   returned.
 * On failure err says what, and where: "line L column C" for JSON
 * errors, the member path (e.g. "policies[0].failure-details[2].
 * failed-session-count") for report errors. err quotes no byte of the
 * report: a duplicated member is named only when it is one of RFC 8460's
 * (else "duplicate key" and its line and column).
 * No global state: safe to call from several threads on different inputs.
 */
int tlsrpt_json_parse(struct reader *in, const struct report_sink *sink,
    struct err *err);

#endif
