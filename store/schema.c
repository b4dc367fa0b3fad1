/*
 * store/schema.c - the schema, as an ordered list of migrations driven by
 * PRAGMA user_version. doc/schema.md documents every table and column.
 *
 * Rule: a released migration is never edited. A schema change is a new
 * entry at the end of migrations[] (TLS-RPT, failure reports, IMAP state
 * and the send log each come as their own step), and doc/schema.md is
 * updated in the same change.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store_priv.h"

/* Written at migration 1 and checked at open: a database made by another
 * program (user_version set, foreign tables) is refused rather than
 * migrated into. ASCII "DMWa". */
#define STORE_APPLICATION_ID 0x444d5761

struct migration {
	int version;          /* user_version after this step */
	const char *sql;
};

static const char schema_v1[] =
	/* Raw inputs, known by the sha256 of their bytes. */
	"CREATE TABLE messages ("
	" id INTEGER PRIMARY KEY,"
	" sha256 TEXT NOT NULL UNIQUE,"
	" size INTEGER NOT NULL,"
	" kind TEXT NOT NULL,"
	" origin TEXT NOT NULL,"
	" received INTEGER NOT NULL,"
	" outcome TEXT CHECK (outcome IN"
	"  ('stored', 'duplicate', 'rejected', 'partial')));"

	"CREATE TABLE message_origins ("
	" message_id INTEGER NOT NULL REFERENCES messages(id)"
	"  ON DELETE CASCADE,"
	" origin TEXT NOT NULL,"
	" seen INTEGER NOT NULL,"
	" PRIMARY KEY (message_id, origin)) WITHOUT ROWID;"

	"CREATE TABLE reports ("
	" id INTEGER PRIMARY KEY,"
	" message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,"
	" kind TEXT NOT NULL,"
	" flavour TEXT,"
	" xml_namespace TEXT,"
	" version TEXT,"
	" org_name TEXT,"
	" email TEXT,"
	" extra_contact_info TEXT,"
	" report_id TEXT,"
	" generator TEXT,"
	" begin INTEGER NOT NULL,"
	" end INTEGER NOT NULL,"
	" policy_domain TEXT,"
	" adkim TEXT, aspf TEXT, p TEXT, sp TEXT, np TEXT,"
	" pct INTEGER,"
	" fo TEXT, testing TEXT, discovery_method TEXT,"
	" extensions_xml TEXT,"
	" recovered INTEGER NOT NULL DEFAULT 0,"
	" records INTEGER NOT NULL DEFAULT 0,"
	" messages INTEGER NOT NULL DEFAULT 0,"
	" messages_pass INTEGER NOT NULL DEFAULT 0,"
	" rows_skipped INTEGER NOT NULL DEFAULT 0,"
	" warnings INTEGER NOT NULL DEFAULT 0,"
	" reporter_key TEXT NOT NULL,"
	" imported_at INTEGER NOT NULL);"
	/* The dedup key. Absent report_id / policy domain compare as '' so
	 * that NULLs (distinct in a UNIQUE index) cannot slip a copy in. */
	"CREATE UNIQUE INDEX reports_key ON reports (kind, reporter_key,"
	" ifnull(report_id, ''), begin, end, ifnull(policy_domain, ''));"
	"CREATE INDEX reports_begin ON reports (begin);"
	"CREATE INDEX reports_message ON reports (message_id);"

	"CREATE TABLE report_errors ("
	" report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" error TEXT NOT NULL,"
	" PRIMARY KEY (report_id, seq)) WITHOUT ROWID;"

	"CREATE TABLE report_warnings ("
	" report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
	" code TEXT NOT NULL,"
	" count INTEGER NOT NULL,"
	" detail TEXT,"
	" PRIMARY KEY (report_id, code)) WITHOUT ROWID;"

	"CREATE TABLE records ("
	" id INTEGER PRIMARY KEY,"
	" report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" source_ip TEXT NOT NULL,"
	" source_ip_bin BLOB,"
	" ip_family INTEGER,"
	" count INTEGER NOT NULL,"
	" disposition TEXT,"
	" dkim_aligned TEXT,"
	" spf_aligned TEXT,"
	" dmarc_pass INTEGER NOT NULL,"
	" header_from TEXT,"
	" envelope_from TEXT,"
	" envelope_to TEXT,"
	" extensions_xml TEXT);"
	/* Not UNIQUE: the writer numbers seq itself, and a unique index
	 * costs an extra b-tree probe per record (doc/schema.md "Write
	 * path"). */
	"CREATE INDEX records_report ON records (report_id, seq);"

	"CREATE TABLE record_dkim ("
	" record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" domain TEXT, selector TEXT, result TEXT, human_result TEXT,"
	" PRIMARY KEY (record_id, seq)) WITHOUT ROWID;"

	"CREATE TABLE record_spf ("
	" record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" domain TEXT, scope TEXT, result TEXT, human_result TEXT,"
	" PRIMARY KEY (record_id, seq)) WITHOUT ROWID;"

	"CREATE TABLE record_reasons ("
	" record_id INTEGER NOT NULL REFERENCES records(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" type TEXT, comment TEXT,"
	" PRIMARY KEY (record_id, seq)) WITHOUT ROWID;"

	/* Keyed by (report_id, seq): the table is its own by-report index,
	 * so an insert touches two b-trees (this and the partial record
	 * index) instead of three. seq numbers the report's values in the
	 * order written (records' values first, report-level last). */
	"CREATE TABLE raw_values ("
	" report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" record_id INTEGER REFERENCES records(id) ON DELETE CASCADE,"
	" field TEXT NOT NULL,"
	" raw TEXT,"
	" PRIMARY KEY (report_id, seq)) WITHOUT ROWID;"
	"CREATE INDEX raw_values_record ON raw_values (record_id)"
	" WHERE record_id IS NOT NULL;"

	"CREATE TABLE rejected ("
	" id INTEGER PRIMARY KEY,"
	" message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,"
	" origin TEXT,"
	" sha256 TEXT,"
	" error_code TEXT NOT NULL,"
	" error_where TEXT,"
	" error_msg TEXT,"
	" at INTEGER NOT NULL);"
	"CREATE INDEX rejected_message ON rejected (message_id);"
	"CREATE INDEX rejected_sha256 ON rejected (sha256);"

	/* The daily rollup; the primary key doubles as the by-day index. */
	"CREATE TABLE agg_daily ("
	" day TEXT NOT NULL,"
	" source_ip TEXT NOT NULL,"
	" header_from TEXT NOT NULL,"
	" reporter TEXT NOT NULL,"
	" policy_domain TEXT NOT NULL,"
	" messages INTEGER NOT NULL,"
	" dmarc_pass INTEGER NOT NULL,"
	" spf_aligned_pass INTEGER NOT NULL,"
	" dkim_aligned_pass INTEGER NOT NULL,"
	" quarantine INTEGER NOT NULL,"
	" reject INTEGER NOT NULL,"
	" PRIMARY KEY (day, source_ip, header_from, reporter, policy_domain))"
	" WITHOUT ROWID;"

	/*
	 * Cascading deletes. The writer runs with foreign_keys OFF (the
	 * per-row parent checks cost ~20% of a big import; store.c
	 * configure()), and scripts' connections have them off by default,
	 * so the ON DELETE clauses above would rarely fire: these triggers
	 * do the same work whatever the connection's foreign_keys setting
	 * (with it ON, both run; the second finds nothing left). The
	 * REFERENCES clauses stay as documentation and for PRAGMA
	 * foreign_key_check, which the tests run.
	 */
	"CREATE TRIGGER messages_delete AFTER DELETE ON messages BEGIN"
	" DELETE FROM message_origins WHERE message_id = old.id;"
	" DELETE FROM reports WHERE message_id = old.id;"
	" UPDATE rejected SET message_id = NULL WHERE message_id = old.id;"
	" END;"
	"CREATE TRIGGER reports_delete AFTER DELETE ON reports BEGIN"
	" DELETE FROM report_errors WHERE report_id = old.id;"
	" DELETE FROM report_warnings WHERE report_id = old.id;"
	" DELETE FROM raw_values WHERE report_id = old.id;"
	" DELETE FROM records WHERE report_id = old.id;"
	" END;"
	"CREATE TRIGGER records_delete AFTER DELETE ON records BEGIN"
	" DELETE FROM record_dkim WHERE record_id = old.id;"
	" DELETE FROM record_spf WHERE record_id = old.id;"
	" DELETE FROM record_reasons WHERE record_id = old.id;"
	" DELETE FROM raw_values WHERE record_id = old.id;"
	" END;"

	/* Views for scripts (doc/schema.md has example queries). */
	"CREATE VIEW v_reports AS SELECT"
	" r.id, r.kind, r.flavour, r.org_name, r.email, r.report_id,"
	" r.policy_domain, r.begin, r.end,"
	" datetime(r.begin, 'unixepoch') AS begin_utc,"
	" datetime(r.end, 'unixepoch') AS end_utc,"
	" r.records, r.messages, r.messages_pass,"
	" CASE WHEN r.messages > 0 THEN"
	"  round(100.0 * r.messages_pass / r.messages, 2) END AS pass_pct,"
	" r.warnings, r.rows_skipped, r.recovered,"
	" datetime(r.imported_at, 'unixepoch') AS imported_utc,"
	" m.sha256 AS message_sha256, m.origin AS message_origin"
	" FROM reports r LEFT JOIN messages m ON m.id = r.message_id;"

	"CREATE VIEW v_records AS SELECT"
	" c.id, c.report_id, c.seq, c.source_ip, c.ip_family, c.count,"
	" c.disposition, c.dkim_aligned, c.spf_aligned, c.dmarc_pass,"
	" c.header_from, c.envelope_from, c.envelope_to,"
	" r.org_name, r.email, r.report_id AS reporter_report_id,"
	" r.policy_domain, r.begin, r.end,"
	" date(r.begin, 'unixepoch') AS begin_day"
	" FROM records c JOIN reports r ON r.id = c.report_id;"

	"CREATE VIEW v_daily_source AS SELECT"
	" day, source_ip, sum(messages) AS messages,"
	" sum(dmarc_pass) AS dmarc_pass,"
	" sum(spf_aligned_pass) AS spf_aligned_pass,"
	" sum(dkim_aligned_pass) AS dkim_aligned_pass,"
	" sum(quarantine) AS quarantine, sum(reject) AS reject,"
	" CASE WHEN sum(messages) > 0 THEN"
	"  round(100.0 * sum(dmarc_pass) / sum(messages), 2) END AS pass_pct"
	" FROM agg_daily GROUP BY day, source_ip;"

	"CREATE VIEW v_daily_domain AS SELECT"
	" day, header_from, sum(messages) AS messages,"
	" sum(dmarc_pass) AS dmarc_pass,"
	" sum(spf_aligned_pass) AS spf_aligned_pass,"
	" sum(dkim_aligned_pass) AS dkim_aligned_pass,"
	" sum(quarantine) AS quarantine, sum(reject) AS reject,"
	" CASE WHEN sum(messages) > 0 THEN"
	"  round(100.0 * sum(dmarc_pass) / sum(messages), 2) END AS pass_pct"
	" FROM agg_daily GROUP BY day, header_from;"

	"CREATE VIEW v_daily_reporter AS SELECT"
	" day, reporter, policy_domain, sum(messages) AS messages,"
	" sum(dmarc_pass) AS dmarc_pass,"
	" CASE WHEN sum(messages) > 0 THEN"
	"  round(100.0 * sum(dmarc_pass) / sum(messages), 2) END AS pass_pct"
	" FROM agg_daily GROUP BY day, reporter, policy_domain;"

	"PRAGMA application_id = 1145919329;";

_Static_assert(STORE_APPLICATION_ID == 1145919329,
    "schema_v1 writes STORE_APPLICATION_ID as a literal");

/* v2: TLS-RPT (RFC 8460) and DMARC failure reports (RFC 6591 / 9991).
 * Their reports rows are in reports (kind 'tlsrpt' / 'failure'). */
static const char schema_v2[] =
	"CREATE TABLE tlsrpt_policies ("
	" id INTEGER PRIMARY KEY,"
	" report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" policy_type TEXT,"
	" policy_domain TEXT,"
	" policy_strings TEXT,"          /* JSON array of strings, or NULL */
	" mx_hosts TEXT,"                /* JSON array of strings, or NULL */
	" total_successful INTEGER NOT NULL,"
	" total_failure INTEGER NOT NULL);"
	"CREATE INDEX tlsrpt_policies_report ON tlsrpt_policies"
	" (report_id, seq);"

	"CREATE TABLE tlsrpt_failures ("
	" policy_id INTEGER NOT NULL REFERENCES tlsrpt_policies(id)"
	"  ON DELETE CASCADE,"
	" seq INTEGER NOT NULL,"
	" result_type TEXT,"
	" sending_mta_ip TEXT,"
	" receiving_mx_hostname TEXT,"
	" receiving_mx_helo TEXT,"
	" receiving_ip TEXT,"
	" failed_session_count INTEGER NOT NULL,"
	" additional_information TEXT,"
	" failure_reason_code TEXT,"
	" PRIMARY KEY (policy_id, seq)) WITHOUT ROWID;"

	/* Summary rows: receiving_mx = result_type = ''. Detail rows:
	 * result_type <> '', sessions_ok = 0 (doc/schema.md). */
	"CREATE TABLE tlsrpt_daily ("
	" day TEXT NOT NULL,"
	" policy_domain TEXT NOT NULL,"
	" receiving_mx TEXT NOT NULL,"
	" result_type TEXT NOT NULL,"
	" sessions_ok INTEGER NOT NULL,"
	" sessions_failed INTEGER NOT NULL,"
	" PRIMARY KEY (day, policy_domain, receiving_mx, result_type))"
	" WITHOUT ROWID;"

	"CREATE TABLE failure_reports ("
	" report_id INTEGER PRIMARY KEY REFERENCES reports(id)"
	"  ON DELETE CASCADE,"
	" feedback_type TEXT,"
	" user_agent TEXT,"
	" version TEXT,"
	" original_mail_from TEXT,"
	" original_rcpt_to TEXT,"
	" arrival_date TEXT,"
	" arrival_time INTEGER,"
	" source_ip TEXT,"
	" reported_domain TEXT,"
	" reported_uri TEXT,"
	" authentication_results TEXT,"
	" auth_failure TEXT,"
	" identity_alignment TEXT,"
	" delivery_result TEXT,"
	" dkim_domain TEXT,"
	" dkim_identity TEXT,"
	" dkim_selector TEXT,"
	" dkim_canonicalized_header TEXT,"
	" dkim_canonicalized_body TEXT,"
	" spf_dns TEXT,"
	" other_fields TEXT,"            /* JSON [[name, value], ...] */
	" orig_from TEXT,"
	" orig_to TEXT,"
	" orig_subject TEXT,"
	" orig_date TEXT,"
	" orig_message_id TEXT,"
	" orig_body BLOB);"

	/* Cascades, as in v1: triggers, whatever foreign_keys says. */
	"CREATE TRIGGER reports_delete_v2 AFTER DELETE ON reports BEGIN"
	" DELETE FROM tlsrpt_policies WHERE report_id = old.id;"
	" DELETE FROM failure_reports WHERE report_id = old.id;"
	" END;"
	"CREATE TRIGGER tlsrpt_policies_delete AFTER DELETE ON tlsrpt_policies"
	" BEGIN DELETE FROM tlsrpt_failures WHERE policy_id = old.id; END;"

	/* Per day and policy domain: the summary totals. */
	"CREATE VIEW v_tlsrpt_daily AS SELECT"
	" day, policy_domain, sum(sessions_ok) AS sessions_ok,"
	" sum(sessions_failed) AS sessions_failed,"
	" CASE WHEN sum(sessions_ok) + sum(sessions_failed) > 0 THEN"
	"  round(100.0 * sum(sessions_ok) /"
	"  (sum(sessions_ok) + sum(sessions_failed)), 2) END AS success_pct"
	" FROM tlsrpt_daily WHERE receiving_mx = '' AND result_type = ''"
	" GROUP BY day, policy_domain;"

	"CREATE VIEW v_failure_reports AS SELECT"
	" r.id, f.arrival_time, datetime(f.arrival_time, 'unixepoch')"
	"  AS arrival_utc, f.arrival_date, f.source_ip, f.reported_domain,"
	" f.feedback_type, f.auth_failure, f.delivery_result,"
	" f.original_mail_from, f.original_rcpt_to,"
	" f.dkim_domain, f.dkim_selector, f.spf_dns,"
	" f.orig_from, f.orig_to, f.orig_subject, f.orig_message_id,"
	" f.user_agent, f.orig_body IS NOT NULL AS has_body,"
	" r.warnings, datetime(r.imported_at, 'unixepoch') AS imported_utc,"
	" m.sha256 AS message_sha256, m.origin AS message_origin"
	" FROM failure_reports f JOIN reports r ON r.id = f.report_id"
	" LEFT JOIN messages m ON m.id = r.message_id;";

/* IMAP poller state (doc/schema.md "IMAP state"): which UIDVALIDITY each
 * folder had and what became of each UID, so that a crash between "stored"
 * and "moved to the archive" only re-archives. */
static const char schema_v3[] =
	"CREATE TABLE imap_folders ("
	" id INTEGER PRIMARY KEY,"
	" account TEXT NOT NULL,"          /* user@host:port, no secret */
	" folder TEXT NOT NULL,"
	" uidvalidity INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" UNIQUE (account, folder));"
	"CREATE TABLE imap_uids ("
	" folder_id INTEGER NOT NULL REFERENCES imap_folders(id)"
	"  ON DELETE CASCADE,"
	" uid INTEGER NOT NULL,"
	" sha256 TEXT,"
	" state TEXT NOT NULL CHECK (state IN"
	"  ('stored', 'retry', 'archived', 'unsaved')),"
	" target TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" updated INTEGER NOT NULL,"
	" PRIMARY KEY (folder_id, uid)) WITHOUT ROWID;"
	"CREATE INDEX imap_uids_sha256 ON imap_uids (sha256);"
	/* Cascade whatever foreign_keys says (as in v1, v2). */
	"CREATE TRIGGER imap_folders_delete AFTER DELETE ON imap_folders"
	" BEGIN DELETE FROM imap_uids WHERE folder_id = old.id; END;";

/*
 * v4: provider profiles, the send log and its correlation with DMARC
 * (doc/schema.md "Send log and providers"). providers* mirror the
 * profile file (dist/providers.conf or the admin's copy): replaced as a
 * whole by each sync, so a provider removed from the file disappears.
 * sender_* mirror the [sender] configuration, for views that cannot read
 * the config. sendlog_* are additive rollups like agg_daily.
 */
static const char schema_v4[] =
	"CREATE TABLE providers ("
	" name TEXT PRIMARY KEY,"
	" display_name TEXT NOT NULL,"
	" dmarc_pass_green REAL NOT NULL,"
	" dmarc_pass_amber REAL NOT NULL,"
	" deferral_pct_amber REAL NOT NULL,"
	" deferral_pct_red REAL NOT NULL,"
	" rate_per_hour INTEGER NOT NULL,"
	" block_per_hour INTEGER NOT NULL,"
	" max_per_hour INTEGER NOT NULL,"
	" max_connections INTEGER NOT NULL,"
	" rate_pause_minutes INTEGER NOT NULL,"
	" block_pause_minutes INTEGER NOT NULL,"
	" advance_delivered_pct REAL NOT NULL,"
	" decay_idle_days INTEGER NOT NULL,"
	" rewarm_idle_days INTEGER NOT NULL,"
	" unverified INTEGER NOT NULL DEFAULT 0,"
	" source TEXT,"
	" profile_file TEXT NOT NULL,"
	" synced_at INTEGER NOT NULL) WITHOUT ROWID;"

	"CREATE TABLE provider_match ("
	" provider TEXT NOT NULL REFERENCES providers(name),"
	" kind TEXT NOT NULL CHECK (kind IN ('domain', 'mx', 'reporter')),"
	" pattern TEXT NOT NULL,"
	" PRIMARY KEY (kind, pattern)) WITHOUT ROWID;"

	"CREATE TABLE provider_stages ("
	" provider TEXT NOT NULL REFERENCES providers(name),"
	" stage INTEGER NOT NULL,"
	" daily_cap INTEGER NOT NULL,"
	" hourly_cap INTEGER NOT NULL,"
	" min_days INTEGER NOT NULL,"
	" PRIMARY KEY (provider, stage)) WITHOUT ROWID;"

	/* provider '*' holds the [defaults] rules, tried after the
	 * provider's own. */
	"CREATE TABLE provider_codes ("
	" provider TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" pattern TEXT NOT NULL,"
	" class TEXT NOT NULL CHECK (class IN ('ok', 'rate', 'block', 'auth',"
	"  'tls', 'conn', 'other_4xx', 'other_5xx')),"
	" PRIMARY KEY (provider, seq)) WITHOUT ROWID;"

	"CREATE TABLE sender_ips (ip TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TABLE sender_domains (domain TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TABLE sender_targets ("
	" provider TEXT PRIMARY KEY,"
	" daily INTEGER NOT NULL) WITHOUT ROWID;"

	/* One row per log file (or stdin stream) read, known by the SHA-256
	 * of its first line: a copy, a rename or a second run of the same
	 * file resumes at offset instead of counting again. */
	"CREATE TABLE sendlog_sources ("
	" head_sha256 TEXT PRIMARY KEY,"
	" path TEXT NOT NULL,"
	" dev INTEGER NOT NULL,"
	" inode INTEGER NOT NULL,"
	" offset INTEGER NOT NULL,"
	" lines INTEGER NOT NULL,"
	" first_seen INTEGER NOT NULL,"
	" updated INTEGER NOT NULL) WITHOUT ROWID;"

	"CREATE TABLE sendlog_hourly ("
	" hour INTEGER NOT NULL,"
	" source_ip TEXT NOT NULL,"
	" provider TEXT NOT NULL,"
	" attempts INTEGER NOT NULL, delivered INTEGER NOT NULL,"
	" deferred INTEGER NOT NULL, bounced INTEGER NOT NULL,"
	" ok INTEGER NOT NULL, rate INTEGER NOT NULL, block INTEGER NOT NULL,"
	" auth INTEGER NOT NULL, tls INTEGER NOT NULL, conn INTEGER NOT NULL,"
	" other_4xx INTEGER NOT NULL, other_5xx INTEGER NOT NULL,"
	" rate_signal INTEGER NOT NULL,"
	" PRIMARY KEY (hour, source_ip, provider)) WITHOUT ROWID;"

	"CREATE TABLE sendlog_daily ("
	" day TEXT NOT NULL,"
	" source_ip TEXT NOT NULL,"
	" provider TEXT NOT NULL,"
	" attempts INTEGER NOT NULL, delivered INTEGER NOT NULL,"
	" deferred INTEGER NOT NULL, bounced INTEGER NOT NULL,"
	" ok INTEGER NOT NULL, rate INTEGER NOT NULL, block INTEGER NOT NULL,"
	" auth INTEGER NOT NULL, tls INTEGER NOT NULL, conn INTEGER NOT NULL,"
	" other_4xx INTEGER NOT NULL, other_5xx INTEGER NOT NULL,"
	" rate_signal INTEGER NOT NULL,"
	" PRIMARY KEY (day, source_ip, provider)) WITHOUT ROWID;"

	/* DMARC rows mapped to a provider through its reporter patterns:
	 * the org name equal to the pattern, or ending in '.pattern' or
	 * '@pattern' (case-insensitive). */
	"CREATE VIEW v_agg_provider AS SELECT"
	" a.day, a.source_ip, a.header_from, a.reporter, m.provider,"
	" a.messages, a.dmarc_pass, a.spf_aligned_pass, a.dkim_aligned_pass,"
	" a.quarantine, a.reject"
	" FROM agg_daily a JOIN provider_match m ON m.kind = 'reporter'"
	" AND (lower(a.reporter) = m.pattern"
	"  OR substr(lower(a.reporter), -length(m.pattern) - 1) IN"
	"   ('.' || m.pattern, '@' || m.pattern));"

	/* Per (day, source IP, provider): what we sent and what that
	 * provider's reporter saw. Only our IPs ([sender] ips, or any IP in
	 * the send log) are correlated; the rest is foreign_senders. */
	"CREATE VIEW v_sendlog_dmarc AS SELECT"
	" day, source_ip, provider,"
	" sum(attempts) AS attempts, sum(delivered) AS delivered,"
	" sum(deferred) AS deferred, sum(bounced) AS bounced,"
	" sum(rate) AS rate, sum(block) AS block, sum(auth) AS auth,"
	" sum(tls) AS tls, sum(conn) AS conn, sum(other_4xx) AS other_4xx,"
	" sum(other_5xx) AS other_5xx, sum(rate_signal) AS rate_signal,"
	" sum(reported) AS reported, sum(dmarc_pass) AS dmarc_pass,"
	" sum(spf_aligned_pass) AS spf_aligned_pass,"
	" sum(dkim_aligned_pass) AS dkim_aligned_pass,"
	" sum(quarantine) AS quarantine, sum(reject) AS reject,"
	" CASE WHEN sum(reported) > 0 THEN"
	"  round(100.0 * sum(dmarc_pass) / sum(reported), 2) END AS pass_pct,"
	" CASE WHEN sum(delivered) > 0 THEN"
	"  round(1.0 * sum(reported) / sum(delivered), 3) END AS coverage"
	" FROM ("
	"  SELECT day, source_ip, provider, attempts, delivered, deferred,"
	"   bounced, rate, block, auth, tls, conn, other_4xx, other_5xx,"
	"   rate_signal, 0 AS reported, 0 AS dmarc_pass,"
	"   0 AS spf_aligned_pass, 0 AS dkim_aligned_pass, 0 AS quarantine,"
	"   0 AS reject FROM sendlog_daily WHERE provider <> ''"
	"  UNION ALL"
	"  SELECT day, source_ip, provider, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,"
	"   0, messages, dmarc_pass, spf_aligned_pass, dkim_aligned_pass,"
	"   quarantine, reject FROM v_agg_provider v"
	"   WHERE v.source_ip IN (SELECT ip FROM sender_ips)"
	"   OR v.source_ip IN (SELECT source_ip FROM sendlog_daily))"
	" GROUP BY day, source_ip, provider;"

	/* Mail as our domains (or their subdomains) from IPs that are not
	 * ours: spoofing or an unlisted service, never warm-up volume. */
	"CREATE VIEW foreign_senders AS SELECT"
	" a.day, a.source_ip, a.header_from, a.reporter,"
	" (SELECT m.provider FROM provider_match m WHERE m.kind = 'reporter'"
	"  AND (lower(a.reporter) = m.pattern"
	"  OR substr(lower(a.reporter), -length(m.pattern) - 1) IN"
	"   ('.' || m.pattern, '@' || m.pattern)) LIMIT 1) AS provider,"
	" sum(a.messages) AS messages, sum(a.dmarc_pass) AS dmarc_pass,"
	" sum(a.quarantine) AS quarantine, sum(a.reject) AS reject"
	" FROM agg_daily a"
	" WHERE a.source_ip NOT IN (SELECT ip FROM sender_ips)"
	" AND EXISTS (SELECT 1 FROM sender_domains d WHERE"
	"  lower(a.header_from) = d.domain"
	"  OR substr(lower(a.header_from), -length(d.domain) - 1) ="
	"   '.' || d.domain)"
	" GROUP BY a.day, a.source_ip, a.header_from, a.reporter;";

/*
 * v5: the reputation engine and its hints (doc/schema.md "Engine and
 * hints"). engine_state is the memory of each (our IP, provider) key;
 * engine_days the daily gate with the metrics behind it; throttle_hints
 * the hints of the last run (replaced as a whole); hints_runs one row per
 * run, whose seq is the file's monotonically increasing sequence.
 */
static const char schema_v5[] =
	"CREATE TABLE engine_state ("
	" source_ip TEXT NOT NULL,"
	" provider TEXT NOT NULL,"
	" phase TEXT NOT NULL CHECK (phase IN"
	"  ('warmup', 'steady', 'recovery', 'paused')),"
	" stage INTEGER NOT NULL,"
	" stage_days INTEGER NOT NULL,"
	" cap_day INTEGER NOT NULL,"
	" cap_hour INTEGER NOT NULL,"
	" connections INTEGER NOT NULL,"
	" ssthresh INTEGER NOT NULL,"
	" last_good INTEGER NOT NULL,"
	" since INTEGER NOT NULL,"
	" hold_until INTEGER NOT NULL,"
	" last_decrease INTEGER NOT NULL,"
	" last_increase INTEGER NOT NULL,"
	" last_gated_day TEXT,"
	" last_gate TEXT NOT NULL CHECK (last_gate IN"
	"  ('none', 'green', 'amber', 'red')),"
	" amber_days INTEGER NOT NULL,"
	" green_days INTEGER NOT NULL,"
	" idle_days INTEGER NOT NULL,"
	" pauses_24h INTEGER NOT NULL,"
	" last_pause INTEGER NOT NULL,"
	" last_action TEXT NOT NULL,"
	" last_action_at INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" PRIMARY KEY (source_ip, provider)) WITHOUT ROWID;"

	"CREATE TABLE engine_days ("
	" day TEXT NOT NULL,"
	" source_ip TEXT NOT NULL,"
	" provider TEXT NOT NULL,"
	" gate TEXT NOT NULL CHECK (gate IN ('green', 'amber', 'red')),"
	" reason TEXT,"
	" reason_text TEXT,"
	" action TEXT NOT NULL,"
	" cap_day INTEGER NOT NULL,"
	" new_cap_day INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL,"
	" accepted INTEGER NOT NULL,"
	" deferral_rate REAL,"
	" bounce_rate REAL,"
	" block INTEGER NOT NULL,"
	" block_hours INTEGER NOT NULL,"
	" utilisation REAL,"
	" dmarc_day TEXT,"
	" dmarc_messages INTEGER NOT NULL,"
	" dmarc_pass_rate REAL,"
	" quarantine INTEGER NOT NULL,"
	" reject INTEGER NOT NULL,"
	" coverage REAL,"
	" decided_at INTEGER NOT NULL,"
	" PRIMARY KEY (day, source_ip, provider)) WITHOUT ROWID;"

	"CREATE TABLE hints_runs ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" run_at INTEGER NOT NULL,"
	" hints INTEGER NOT NULL,"
	" json_path TEXT);"

	"CREATE TABLE throttle_hints ("
	" seq INTEGER NOT NULL,"
	" hint_id TEXT NOT NULL,"
	" source_ip TEXT NOT NULL,"
	" provider TEXT NOT NULL,"
	" action TEXT NOT NULL CHECK (action IN"
	"  ('advance', 'hold', 'reduce', 'pause')),"
	" phase TEXT NOT NULL,"
	" stage INTEGER NOT NULL,"
	" max_per_hour INTEGER NOT NULL,"
	" max_per_day INTEGER NOT NULL,"
	" max_connections INTEGER NOT NULL,"
	" valid_from INTEGER NOT NULL,"
	" valid_until INTEGER NOT NULL,"
	" on_expiry TEXT NOT NULL CHECK (on_expiry IN ('revert', 'hold_last')),"
	" reason TEXT NOT NULL,"
	" reason_text TEXT NOT NULL,"
	" confidence REAL NOT NULL,"
	" evidence TEXT NOT NULL,"
	" PRIMARY KEY (source_ip, provider)) WITHOUT ROWID;";

/*
 * v6: imap_uids state 'left' ([imap] non_reports = leave: a message with
 * no report stays in its folder, and its UID is known so that it is not
 * fetched again). SQLite cannot change a CHECK in place: the table is
 * rebuilt with the same columns and rows, its index and the cascade
 * trigger made again.
 */
static const char schema_v6[] =
	"DROP TRIGGER imap_folders_delete;"
	"CREATE TABLE imap_uids_v6 ("
	" folder_id INTEGER NOT NULL REFERENCES imap_folders(id)"
	"  ON DELETE CASCADE,"
	" uid INTEGER NOT NULL,"
	" sha256 TEXT,"
	" state TEXT NOT NULL CHECK (state IN"
	"  ('stored', 'retry', 'archived', 'unsaved', 'left')),"
	" target TEXT NOT NULL,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" updated INTEGER NOT NULL,"
	" PRIMARY KEY (folder_id, uid)) WITHOUT ROWID;"
	"INSERT INTO imap_uids_v6 (folder_id, uid, sha256, state, target,"
	" attempts, updated) SELECT folder_id, uid, sha256, state, target,"
	" attempts, updated FROM imap_uids;"
	"DROP TABLE imap_uids;"
	"ALTER TABLE imap_uids_v6 RENAME TO imap_uids;"
	"CREATE INDEX imap_uids_sha256 ON imap_uids (sha256);"
	"CREATE TRIGGER imap_folders_delete AFTER DELETE ON imap_folders"
	" BEGIN DELETE FROM imap_uids WHERE folder_id = old.id; END;";

/*
 * v7: reverse DNS names of source IPs (doc/schema.md "ptr_cache"),
 * written by `dmarcwatch resolve` (ingest/resolve.c), an explicit,
 * optional step: report/ reads the store only, never the network, and
 * shows a name only when this table has one.
 */
static const char schema_v7[] =
	"CREATE TABLE ptr_cache ("
	" ip TEXT PRIMARY KEY,"
	" status TEXT NOT NULL CHECK (status IN ('ok', 'none', 'error')),"
	" name TEXT,"
	" confirmed INTEGER NOT NULL DEFAULT 0,"
	" looked_up INTEGER NOT NULL) WITHOUT ROWID;";

/*
 * v8: thresholds as data, reply rules by condition, and the engine's
 * memory of what it acted on (doc/schema.md "Engine and hints";
 * doc/providers.md; doc/hints.md). provider_params holds every threshold
 * key the profile sets for a provider (its own or [defaults]; provider
 * '*' = [defaults]); the v4 columns of providers stay as a copy of their
 * keys. engine_acted keeps, per (our IP, provider, hour bucket), the
 * send-log counts the fast loop has already acted on, so that a reply is
 * acted on once, and the daily gate can tell what no fast-loop run saw.
 */
static const char schema_v8[] =
	"CREATE TABLE provider_params ("
	" provider TEXT NOT NULL,"
	" key TEXT NOT NULL,"
	" value REAL NOT NULL,"
	" PRIMARY KEY (provider, key)) WITHOUT ROWID;"
	"ALTER TABLE providers ADD COLUMN sends_reports TEXT NOT NULL"
	" DEFAULT 'unknown' CHECK (sends_reports IN ('yes', 'no', 'unknown'));"
	"ALTER TABLE providers ADD COLUMN reports_source TEXT;"
	"ALTER TABLE provider_codes ADD COLUMN smtp TEXT;"
	"ALTER TABLE provider_codes ADD COLUMN enhanced TEXT;"
	"ALTER TABLE provider_codes ADD COLUMN phrase TEXT;"
	"ALTER TABLE provider_codes ADD COLUMN prefix INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE engine_state ADD COLUMN stop_until INTEGER NOT NULL"
	" DEFAULT 0;"
	"CREATE TABLE engine_acted ("
	" source_ip TEXT NOT NULL,"
	" provider TEXT NOT NULL,"
	" hour INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL,"
	" rate INTEGER NOT NULL,"
	" rate_signal INTEGER NOT NULL,"
	" block INTEGER NOT NULL,"
	" conn INTEGER NOT NULL,"
	" PRIMARY KEY (source_ip, provider, hour)) WITHOUT ROWID;"
	"ALTER TABLE engine_days ADD COLUMN usable_cap INTEGER;"
	"ALTER TABLE engine_days ADD COLUMN missed_block INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE engine_days ADD COLUMN missed_rate_signal INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE engine_days ADD COLUMN dmarc_expected INTEGER NOT NULL"
	" DEFAULT 1;";

static const struct migration migrations[] = {
	{ 1, schema_v1 },
	{ 2, schema_v2 },
	{ 3, schema_v3 },
	{ 4, schema_v4 },
	{ 5, schema_v5 },
	{ 6, schema_v6 },
	{ 7, schema_v7 },
	{ 8, schema_v8 },
};

#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

_Static_assert(STORE_SCHEMA_VERSION == 8,
    "STORE_SCHEMA_VERSION must be the last migration's version");

/* One integer from a pragma or a count query. */
static int
query_int(struct store *s, const char *sql, int64_t *v, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, src;

	src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = store_db_error(s, src, sql, err);
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
	} else if (src == SQLITE_DONE) {
		*v = 0;
	} else {
		rc = store_db_error(s, src, sql, err);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * Checks that the file is ours (or empty), and at which version. A file
 * with tables but no user_version, or with a foreign application_id, is
 * another program's database: refuse it instead of adding our tables.
 */
static int
check_identity(struct store *s, const char *path, int64_t *version,
    struct err *err)
{
	int64_t appid = 0, ntables = 0;
	int rc;

	if ((rc = query_int(s, "PRAGMA user_version", version, err)) < 0)
		return rc;
	if ((rc = query_int(s, "PRAGMA application_id", &appid, err)) < 0)
		return rc;
	if (*version == 0) {
		rc = query_int(s, "SELECT count(*) FROM sqlite_master", &ntables,
		    err);
		if (rc < 0)
			return rc;
	}
	if ((*version > 0 && appid != STORE_APPLICATION_ID) ||
	    (*version == 0 && (ntables > 0 || appid != 0))) {
		err_where(err, "%s", path);
		return err_set(err, ERR_INVAL,
		    "not a dmarcwatch database (application_id %lld, "
		    "user_version %lld)", (long long)appid,
		    (long long)*version);
	}
	if (*version > STORE_SCHEMA_VERSION) {
		err_where(err, "%s", path);
		return err_set(err, ERR_UNSUPPORTED,
		    "database schema version %lld is newer than this build "
		    "supports (%d); upgrade dmarcwatch", (long long)*version,
		    STORE_SCHEMA_VERSION);
	}
	return 0;
}

static int
exec_sql(struct store *s, const char *sql, const char *what, struct err *err)
{
	int src = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	if (src != SQLITE_OK)
		return store_db_error(s, src, what, err);
	return 0;
}

/* Runs one migration step in its own transaction. The version is read
 * again under the write lock: another process may have migrated while we
 * waited, and its step must not run twice. */
static int
run_step(struct store *s, const char *path, const struct migration *m,
    int prev, struct err *err)
{
	char pragma[64];
	int64_t v = 0;
	int rc;

	if ((rc = exec_sql(s, "BEGIN IMMEDIATE", "migration begin", err)) < 0)
		return rc;
	if ((rc = check_identity(s, path, &v, err)) < 0)
		goto out;
	if (v >= m->version) {
		rc = 0;
		goto out;
	}
	if (v != prev) {
		rc = err_set(err, ERR_DB, "schema version %lld cannot step to %d",
		    (long long)v, m->version);
		goto out;
	}
	if ((rc = exec_sql(s, m->sql, "migration", err)) < 0) {
		err_where(err, "%s: migration to schema %d", path, m->version);
		goto out;
	}
	/* PRAGMA takes no bound parameters; the value is our own integer. */
	snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d",
	    m->version);
	if ((rc = exec_sql(s, pragma, "set user_version", err)) < 0)
		goto out;
	rc = exec_sql(s, "COMMIT", "migration commit", err);
out:
	if (rc < 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int
store_migrate(struct store *s, const char *path, struct err *err)
{
	int64_t v = 0;
	int rc;

	if ((rc = check_identity(s, path, &v, err)) < 0)
		return rc;
	if (v == STORE_SCHEMA_VERSION)
		return 0;
	if (s->readonly) {
		err_where(err, "%s", path);
		if (v == 0)
			return err_set(err, ERR_INVAL,
			    "empty database (no dmarcwatch schema); "
			    "import something into it first");
		return err_set(err, ERR_UNSUPPORTED,
		    "database schema version %lld is older than this build "
		    "(%d); open it read-write once (e.g. dmarcwatch import) "
		    "to migrate", (long long)v, STORE_SCHEMA_VERSION);
	}
	for (size_t i = 0; i < N_MIGRATIONS; i++) {
		if (migrations[i].version <= v)
			continue;
		if ((rc = run_step(s, path, &migrations[i],
		    i > 0 ? migrations[i - 1].version : 0, err)) < 0)
			return rc;
	}
	return 0;
}
