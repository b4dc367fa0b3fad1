/*
 * parse/sendlog.h - one line of an MTA's delivery log in, one delivery
 * attempt out (doc/sendlog.md). Pure: no file, clock or database access;
 * the year of a Postfix timestamp comes from the caller.
 *
 * Formats:
 *  - postfix: syslog lines of the smtp / lmtp delivery agents
 *    ("... postfix/smtp[123]: QUEUEID: to=<a@b>, relay=..., dsn=4.7.28,
 *    status=deferred (reply)"), traditional ("Nov 24 01:02:03") or
 *    RFC 3339 timestamps;
 *  - kumomta: KumoMTA JSON log records (Delivery, TransientFailure,
 *    Bounce);
 *  - csv: "timestamp,source_ip,recipient_domain,status,smtp_code,
 *    enhanced_code,response", or the same keys as a JSON object per line.
 */
#ifndef DW_PARSE_SENDLOG_H
#define DW_PARSE_SENDLOG_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

enum sl_format { SL_FMT_AUTO = 0, SL_FMT_POSTFIX, SL_FMT_KUMOMTA, SL_FMT_CSV };
/* "postfix", "kumomta", "csv" <-> enum; -1 / NULL when unknown. */
int sl_format_parse(const char *name);
const char *sl_format_name(int fmt);

enum sl_status { SL_SENT = 1, SL_DEFERRED, SL_BOUNCED };

struct sl_attempt {
	int64_t when;              /* epoch s UTC */
	int status;                /* enum sl_status */
	char source_ip[48];        /* canonical; "" when the log has none */
	char rcpt_domain[256];     /* lower-case */
	char relay_host[256];      /* lower-case MX / site name; "" if none */
	char transport[64];        /* Postfix syslog name ("postfix-out") */
	int smtp_code;             /* 0 when no SMTP reply (connection) */
	char enhanced[16];         /* "4.7.28" or "" */
	char reply[512];           /* reply text, truncated, control chars
	                            * replaced by spaces */
	int internal;              /* 1: an MTA-internal deferral, not a
	                            * provider's answer (KumoMTA "KumoMTA
	                            * internal: ...", Postfix "delivery
	                            * temporarily suspended: ...", "deferred
	                            * transport", "mail transport
	                            * unavailable"); callers count it apart
	                            * (doc/sendlog.md) */
};

/* What the year-less Postfix timestamps are read against: ref_year and
 * ref_month (1..12) are those of the file's last change (or --year with
 * ref_month 12). A line dated in a later month than ref_month belongs to
 * the year before (a December line in a January file). */
struct sl_opts {
	int ref_year;
	int ref_month;
};

/* Format of a log from its first non-empty line; SL_FMT_AUTO when none
 * fits. */
int sendlog_detect(const char *line, size_t len);

/*
 * Parses one line (without its newline). Returns 0 with *out filled for
 * a delivery attempt; 1 for a line that is well-formed but not a
 * delivery attempt (other Postfix daemons, status=expired, KumoMTA
 * Reception, a CSV header, a blank line); ERR_FORMAT for a malformed line
 * (err->msg says why); ERR_TOO_LARGE for a line over
 * LIM_SENDLOG_LINE_BYTES.
 */
int sendlog_parse_line(int fmt, const char *line, size_t len,
    const struct sl_opts *o, struct sl_attempt *out, struct err *err);

#endif
