/*
 * parse/arf.h - DMARC failure reports: the ARF message/feedback-report
 * fields (RFC 5965, RFC 6591, RFC 9991) plus the headers of the enclosed
 * original message.
 *
 * parse/ does not walk MIME (ingest/ does, and dependencies point down):
 * the caller hands over the already separated, transfer-decoded pieces of
 * one multipart/report. The result is one struct report of kind
 * REPORT_FAILURE (see report.h, struct failure_report) handed to the sink
 * with begin() and then end(); there is no per-item callback.
 *
 * Both pieces are parsed as RFC 5322 header blocks: CRLF or LF line ends,
 * folded lines unfolded, field names case-insensitive. Caps:
 * LIM_HEADER_FIELDS fields (plus stray lines) per block and
 * LIM_HEADER_BYTES per unfolded field give ERR_TOO_LARGE. A value longer
 * than LIM_FIELD_BYTES is cut there (at a character boundary) with a
 * W_TRAILING_DATA warning instead: the values quote the failed message,
 * whose sender would otherwise make reports about it impossible to store
 * by sending a long Subject. Authentication-Results and the
 * DKIM-Canonicalized-* blobs (legitimately several kB) are bounded by
 * LIM_HEADER_BYTES only.
 *
 * Every string handed out is valid UTF-8 without NUL or control characters
 * except TAB (anything else becomes U+FFFD, W_INVALID_UTF8), trimmed, and
 * NULL when absent or empty. The original body, when kept, is passed as
 * the raw bytes it was given.
 */
#ifndef DW_PARSE_ARF_H
#define DW_PARSE_ARF_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "report.h"

/* Bytes of the original body kept when arf_input.keep_body is set. A
 * failure report's sample is for a person reading it, not for archiving
 * (RFC 9991 asks receivers to redact); longer bodies are cut with
 * W_TRAILING_DATA. */
#define ARF_BODY_BYTES          (64u * 1024)

struct arf_input {
	/* The message/feedback-report part, transfer-decoded. Borrowed. */
	const unsigned char *feedback;
	size_t feedback_len;
	/* The message/rfc822 or text/rfc822-headers part: a header block,
	 * maybe followed by a blank line and the body. Borrowed; may be
	 * NULL (then the orig_* fields stay NULL). */
	const unsigned char *original;
	size_t original_len;
	/* Date header of the report mail: used for arrival_time when the
	 * report has no Arrival-Date. May be NULL. */
	const char *outer_date;
	/* Keep the original body (default 0: it is personal data and maybe
	 * malware). Never kept when the original is text/html. */
	int keep_body;
};

/*
 * Parses one failure report and hands it to sink (begin(), then end()).
 *
 * Field handling (all names case-insensitive):
 *  - Feedback-Type: lower-cased; absent -> "auth-failure", W_FIELD_MISSING.
 *    Other ARF types (abuse, fraud...) are parsed and returned as they are;
 *    whether to store them is the caller's decision.
 *  - Auth-Failure: lower-cased; absent -> "dmarc" with W_FIELD_MISSING for
 *    auth-failure reports (left NULL for other feedback types, where the
 *    default would mislabel e.g. an abuse complaint).
 *  - Original-Rcpt-To: repeated fields joined with ", ".
 *  - Arrival-Date (legacy alias Received-Date): RFC 5322 date, obsolete
 *    zones and comments accepted, ISO 8601 tolerated; unparsable ->
 *    arrival_time 0 with W_ENUM_UNKNOWN; absent -> arrival_date NULL,
 *    arrival_time from outer_date, W_FIELD_MISSING.
 *  - Source-IP: first token, canonicalised through ipaddr_parse (raw kept
 *    in report.raw "source_ip" when that changed it); not an address ->
 *    the token as sent, W_ROW_BAD_SOURCE_IP.
 *  - Reported-Domain: lower-cased; absent -> the domain of the original
 *    From, W_FIELD_MISSING.
 *  - Identity-Alignment: lower-cased, spaces around commas removed;
 *    absent in a DMARC failure report -> W_FIELD_MISSING.
 *  - Delivery-Result: mapped to delivered|spam|policy|reject|other where
 *    obvious (raw kept in report.raw "delivery_result").
 *  - DKIM-Canonicalized-Header/Body: white space removed (base64).
 *  - A repeated single-valued field: the first is used, later ones go to
 *    other_fields (W_DUPLICATE_ELEMENT). Unknown fields go to other_fields
 *    with their name as written.
 *  - Original From/To/Subject: RFC 2047 encoded words decoded for utf-8,
 *    us-ascii and iso-8859-1; other charsets left encoded.
 *
 * Returns 0 when the report was parsed and sink->end() ran;
 * ERR_STOPPED when a sink callback returned it;
 * ERR_NOREPORT when the feedback part holds no ARF field at all;
 * ERR_FORMAT when the report names no domain at all (no Reported-Domain
 *   and no From in the original headers);
 * ERR_TOO_LARGE when LIM_HEADER_FIELDS or LIM_HEADER_BYTES is exceeded;
 * ERR_INVAL for a NULL in or sink; ERR_NOMEM;
 * or any negative code a sink callback returned.
 * On failure err says what, and where ("feedback-report line 12",
 * "original headers line 3"). No global state.
 */
int arf_parse(const struct arf_input *in, const struct report_sink *sink,
    struct err *err);

/*
 * RFC 5322 date-time ("Thu, 1 Jan 2024 10:00:00 +0000") -> epoch seconds.
 * Accepts the obsolete syntax of RFC 5322 4.3 (two- and three-digit years,
 * UT/GMT/EST/EDT/CST/CDT/MST/MDT/PST/PDT and military zones, comments,
 * missing seconds or day of week). A day of week that does not match the
 * date is ignored. s: len bytes, need not be NUL-terminated.
 * Returns 0, 1 when it parsed but carried no zone (read as UTC), or
 * ERR_FORMAT.
 */
int arf_parse_date(const char *s, size_t len, int64_t *t);

#endif
