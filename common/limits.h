/*
 * common/limits.h - every input cap dmarcwatch enforces, with its reason.
 *
 * Everything that arrives from a mailbox or the network is hostile. Each cap
 * below bounds one resource an attacker could otherwise make us spend. When a
 * cap is hit the code returns ERR_TOO_LARGE and names the cap in the error
 * message (e.g. "exceeds LIM_FIELD_BYTES (2048)"), so an admin can tell
 * which limit an input ran into. Change a value here, nowhere else.
 */
#ifndef DW_COMMON_LIMITS_H
#define DW_COMMON_LIMITS_H

#include <stdint.h>

/* One mail message (.eml, one mbox entry, one Maildir file, one IMAP
 * message). Receivers cap report mail near 10 MB (RFC 7489 7.2.1.1); base64
 * adds a third, and big Google reports approach that. */
#define LIM_MESSAGE_BYTES       (64u * 1024 * 1024)

/* A local file given on the command line that is not a message (plain XML,
 * gzip, zip). It is streamed, never held in memory whole; the cap only stops
 * a runaway device file or a sparse file from keeping us busy for ever. */
#define LIM_FILE_BYTES          ((uint64_t)8 * 1024 * 1024 * 1024)

/* Decompressed bytes of one payload (one gzip stream or one zip member).
 * Deflate reaches ~1030:1, so a ratio cap is useless (standards.md 6.2); an
 * absolute cap checked while streaming is what stops a bomb. 256 MiB holds
 * ~400k Google-shaped records, far above any real report seen. */
#define LIM_INFLATED_BYTES      (256u * 1024 * 1024)

/* Members read from one zip archive. Reporters send one; a few spare for
 * archives that carry a readme. Bounds work on a zip with 65k empty files. */
#define LIM_ARCHIVE_ENTRIES     16

/* Largest single read handed to zlib or libarchive: their length types
 * are uInt / size_t, and a read this big keeps them well inside 32 bits
 * (a caller's bigger buffer is simply filled in several reads). */
#define LIM_UNPACK_READ_BYTES   ((size_t)1 << 30)

/* Levels of compression around one payload: zip inside gzip inside... GMX
 * has sent gzip labelled zip and double gzip is seen; more is an attack. */
#define LIM_UNPACK_DEPTH        3

/* MIME parts walked in one message, and how deep multiparts / message/rfc822
 * may nest. Real reports have < 10 parts and depth < 4 (Microsoft). */
#define LIM_MIME_PARTS          256
#define LIM_MIME_DEPTH          16

/* Header fields in one header block, and bytes of one unfolded header field.
 * Stops a message of 10k header lines or one megabyte-long Subject. */
#define LIM_HEADER_FIELDS       1000
#define LIM_HEADER_BYTES        (64u * 1024)

/* Payloads (reports) taken from one message. */
#define LIM_PAYLOADS_PER_MESSAGE 64

/* Element nesting in a report document. The deepest legal DMARC path is 5;
 * RFC 9990 extensions may nest a little more. Stops deep-nesting attacks
 * before libxml2's own 256 limit. */
#define LIM_XML_DEPTH           32

/* How deep <feedback> may sit (D5: IKEA wraps it in an unclosed
 * <xs:schema>, depth 1), and how many elements are looked at before a
 * document without one is declared "not a report": another XML document
 * (an invoice, an HTML body) is not walked to its end. */
#define LIM_FEEDBACK_DEPTH      3
#define LIM_FEEDBACK_SEEK       64

/* Bytes of one text field (org_name, report_id, a domain, a comment...). No
 * legal value is near; a 10 kB org_name is an attack on the HTML and the DB. */
#define LIM_FIELD_BYTES         2048

/* Bytes of raw XML kept for one RFC 9990 extension container. */
#define LIM_EXTENSION_BYTES     (64u * 1024)

/* Records in one aggregate report. OpenDMARC's one-record-per-message
 * reports (D35) reach a few 100k; 10M records bound disk use per report. */
#define LIM_RECORDS             10000000u

/* Records kept in memory because they came before report_metadata or
 * policy_published (no schema allows that order, but order is never
 * trusted). Real reports put metadata first; a hostile file could make
 * us hold millions of records otherwise. */
#define LIM_HELD_RECORDS        10000u

/* DKIM / SPF results and override reasons in one record. RFC 9990 3.1.3
 * caps DKIM at 100 per row. */
#define LIM_AUTH_RESULTS        100
#define LIM_REASONS             16

/* <error> elements in report_metadata (RFC 7489 allows unbounded). */
#define LIM_METADATA_ERRORS     32

/* Largest message count for one record. Even a 1%-sampled Gmail report
 * stays far below; a bigger number is a forgery meant to skew the rollups
 * (and count * span must not overflow 64 bits in the day spreading). */
#define LIM_RECORD_COUNT        ((uint64_t)10000000000ull)

/* Longest report period accepted. Trustwave sends multi-week ranges (D28);
 * a year-long range is nonsense that would spread counts over 365 days. */
#define LIM_REPORT_SPAN_SECONDS ((int64_t)62 * 86400)

/* JSON (TLS-RPT): nesting depth and whole-document bytes. RFC 8460 nests 4
 * deep; its reports are small even for Google. */
#define LIM_JSON_DEPTH          32
#define LIM_JSON_BYTES          (16u * 1024 * 1024)
/* JSON values and keys in one document (counted as '[', '{', ',' and ':'
 * outside strings). The parse tree costs up to ~230 bytes per 3-byte "{},":
 * 16 MB of that is 1.3 GB. 500k bound the tree near 60 MB and still hold
 * ~60k failure-details, far above any real TLS-RPT report. */
#define LIM_JSON_VALUES         500000u

/* Directory recursion depth for `import DIR`; symlinks are not followed. */
#define LIM_DIR_DEPTH           32

/* Bytes of an origin string (file path + position, or mailbox/UID). */
#define LIM_ORIGIN_BYTES        1024


/* IMAP folders read per account ([imap] folders): a DMARC mailbox has one
 * or two; 16 bounds the per-folder state kept in memory. */
#define LIM_IMAP_FOLDERS        16

/* Bytes of an IMAP folder name or of host/user values in the [imap]
 * section: real names are short, RFC 3501 sets no limit. */
#define LIM_IMAP_NAME_BYTES     256

/* Messages fetched with one UID FETCH ([imap] batch at most this): one
 * round trip per batch, the batch is held in memory while it is stored. */
#define LIM_IMAP_BATCH          1000

/* Bytes of message bodies fetched with one UID FETCH: a batch of large
 * reports is cut short so memory stays near one LIM_MESSAGE_BYTES. */
#define LIM_IMAP_BATCH_BYTES    (64u * 1024 * 1024)

/* UIDs listed per folder and pass. A folder holding more is worked down
 * over several passes (the next pass lists what is left). */
#define LIM_IMAP_UIDS           200000u

/* Transient failures (database locked, disk full) of one message before
 * it is moved to the 'unsaved' folder instead of being retried forever
 * (it is never deleted). */
#define LIM_IMAP_RETRIES        5

/* Bytes of a password or OAuth2 token (password_file, token_file, the
 * output of token_command). Real tokens are 1-2 KiB. */
#define LIM_IMAP_SECRET_BYTES   8192

/* Certificates in the chain an IMAP server sends: real chains have 2 to
 * 4; a longer one is refused (never cut short), which also bounds the
 * verification work a hostile server can ask for. */
#define LIM_TLS_CHAIN           16

/* Seconds one IDLE lasts before `watch` ends it (DONE) and issues it
 * again: RFC 2177 lets a server drop a client idle for 30 minutes, and
 * many do at 29. */
#define LIM_IMAP_IDLE_SECONDS   (28 * 60)

/* Seconds `watch` lets a polling connection sit silent before a NOOP:
 * servers log out clients inactive for 30 minutes (RFC 3501 5.4), so a
 * poll_interval longer than this would otherwise start every pass with a
 * dropped connection. */
#define LIM_IMAP_NOOP_SECONDS   (25 * 60)

/* Reconnect backoff of `watch` after a network or server error: the
 * first wait, doubled per failure up to the cap (a restarted server is
 * found within 5 minutes); each wait is 50-100% of its step (jitter), so
 * that many pollers do not come back in step. */
#define LIM_IMAP_BACKOFF_FIRST_MS  1000
#define LIM_IMAP_BACKOFF_MAX_MS    (300 * 1000)
/* ---- send log and provider profiles ---- */

/* Bytes of one send-log line (Postfix, KumoMTA JSON, CSV/JSONL). Postfix
 * lines with a long remote reply stay under 2 KiB; KumoMTA records with
 * headers near 4 KiB. Longer lines are counted as malformed and skipped. */
#define LIM_SENDLOG_LINE_BYTES  (16u * 1024)

/* Lines per send-log transaction: the rollup of a batch is summed in
 * memory and written with the file offset in one commit, so a crash loses
 * at most one batch of work (re-read on the next run, never counted
 * twice) and memory stays bounded. */
#define LIM_SENDLOG_BATCH_LINES 20000u

/* Distinct (hour, source IP, provider) keys summed in memory per batch;
 * a batch that reaches it is committed early. */
#define LIM_SENDLOG_BATCH_KEYS  4096u

/* Bytes of a provider profile file. The shipped one is ~20 KiB; 1 MiB
 * leaves room for an admin's additions and stops a wrong path (a log
 * file) from being read whole. */
#define LIM_PROFILE_BYTES       (1024u * 1024)

/* Providers in a profile file, and per provider: match patterns, warm-up
 * stages, response-code rules. Real profiles have ~20 providers with a
 * dozen patterns and stages each; the caps bound the synced tables. */
#define LIM_PROVIDERS           256
#define LIM_PROVIDER_PATTERNS   256
#define LIM_PROVIDER_STAGES     64
#define LIM_PROVIDER_CODES      128

/* Bytes of a provider name, display name, pattern or code pattern. */
#define LIM_PROVIDER_NAME_BYTES 64
#define LIM_PROVIDER_TEXT_BYTES 256

/* [sender] lists in the configuration: our IPs, our domains, per-provider
 * targets, transport -> bind IP pairs. They live in a plain struct
 * (struct sender_config, ~50 KiB); a sender with more than 256 IPs has a
 * pool manager, not a config file. */
#define LIM_SENDER_IPS          256
#define LIM_SENDER_DOMAINS      64
#define LIM_SENDER_TARGETS      LIM_PROVIDERS
#define LIM_SENDER_TRANSPORTS   64
/* ---- Reverse DNS (dmarcwatch resolve, ingest/resolve.c) ----
 * A PTR lookup can take seconds when a resolver is slow; the run must end
 * soon and the sources page lists at most LIM_HTML_SOURCES addresses.
 * Beyond the deadline the lookups still pending are left to the next
 * run. */
#define LIM_RESOLVE_LOOKUPS     500
#define LIM_RESOLVE_SECONDS     300
/* The default deadline of one run (--timeout). */
#define LIM_RESOLVE_DEFAULT_SECONDS 30

/* ---- Output caps: the HTML pages (report html) ----
 * Pages are read by a person in a browser; beyond these sizes a page gets
 * slow to open and no easier to read. Each page that hits a cap says so,
 * naming it. */

/* Bytes of one generated page held in memory before it is written. The
 * caps below keep real pages far under it; hitting it is a bug. */
#define LIM_HTML_PAGE_BYTES     (64u * 1024 * 1024)

/* Policy domains with an overview section on index.html (a hostile
 * mailbox can invent thousands; the rest are counted, not shown). */
#define LIM_HTML_DOMAINS        50

/* Reporters listed per policy domain on the overview. */
#define LIM_HTML_REPORTERS      15

/* Source IPs on sources.html, by volume. Detail per source (reporters,
 * header_from domains) is read for these only. */
#define LIM_HTML_SOURCES        500

/* (source IP, reporter) and (source IP, header_from) pairs summed in the
 * one pass over the rollup (each ~100 bytes with its map slot). More, and
 * the pass stops collecting them; the sources page then reads the pairs
 * of the LIM_HTML_SOURCES it lists only. */
#define LIM_HTML_SOURCE_PAIRS   200000

/* Source IPs on the warm-up page when no [sender] ips are configured
 * (the busiest); with sender IPs configured, at most this many of those. */
#define LIM_HTML_WARMUP_IPS     20

/* Reports that get a page of their own (the newest by begin), and records
 * shown on one report page: a 1M-record Google report would make a
 * 500 MB page. These are the only pages that read records. */
#define LIM_HTML_REPORT_PAGES   100
#define LIM_HTML_RECORDS_PER_PAGE 1000

/* Failure reports and rejected inputs listed (newest first). */
#define LIM_HTML_FAILURES       500
#define LIM_HTML_REJECTED       500

/* Days the pages cover when no --since is given: the 90 days that end on
 * the last day with data (today at the latest). History grows every
 * day; a page that shows all of it grows without bound, and one report
 * dated years away would stretch every chart. */
#define LIM_HTML_DEFAULT_DAYS   90

/* Bars in one chart. The plot is ~800 units wide and ~350 px on a phone:
 * at 184 bars each keeps ~2 px. A longer span is drawn in weeks (or runs
 * of weeks). */
#define LIM_HTML_CHART_BARS     184

/* (IP, provider) keys of the warm-up page drawn in full (chart and day
 * table), most severe first; every other key keeps its line in the
 * summary table. 20 IPs x 256 providers of full blocks would be a page
 * no browser opens. */
#define LIM_HTML_WARMUP_DETAILS 40

/* Rows of a per-day table (warm-up key): the most recent days; the chart
 * above it covers the whole range. */
#define LIM_HTML_TABLE_DAYS     92

/* Rows of the TLS-RPT tables per policy domain (MX x result type, and
 * policies): a hostile reporter can invent thousands of MX names. */
#define LIM_HTML_TLS_ROWS       200

/* Keys in the compact warm-up table on index.html (the most severe);
 * warmup.html has them all. */
#define LIM_HTML_INDEX_KEYS     10

/* Foreign senders listed per kind (failing / passing DMARC) at the top
 * of sources.html; all of them keep their row in the sources table. */
#define LIM_HTML_FOREIGN        25

#endif
