/*
 * tests/unit/test_store.c - the SQLite store: open/migrate, messages,
 * reports and dedup, records and their child rows, warnings, the daily
 * rollup, savepoints, rejected rows, read-only use and the read side.
 *
 * Each numbered case works on a fresh database file in a temporary
 * directory ($TMPDIR or /tmp) that is removed at the end. What the store
 * wrote is checked with plain SQL through a second connection, the way
 * scripts read the database (this test, like store/, may use sqlite3.h).
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/timefmt.h"
#include "parse/report.h"
#include "store/store.h"

static char dir[4096];
static char dbpath[4200];
static int n_db;
static int failures;
static int current_case;

#define FAIL(...) do { fail_at(__LINE__, __VA_ARGS__); return 1; } while (0)
#define CHECK(c) do { if (!(c)) FAIL("check failed: %s", #c); } while (0)

static void fail_at(int line, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail_at(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "case %d: line %d: ", current_case, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
rm_db(const char *p)
{
	char x[4300];

	unlink(p);
	snprintf(x, sizeof x, "%s-wal", p);
	unlink(x);
	snprintf(x, sizeof x, "%s-shm", p);
	unlink(x);
}

/* A fresh database path for each case. */
static const char *
new_path(void)
{
	snprintf(dbpath, sizeof dbpath, "%s/db%d.sqlite", dir, ++n_db);
	rm_db(dbpath);
	return dbpath;
}

/* ---- SQL checks through a second connection ---- */

static int64_t
q_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -999;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		fprintf(stderr, "  sql failed: %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* First column of the first row as text ("<null>" / "<none>"). */
static const char *
q_text(const char *path, const char *sql)
{
	static char out[1024];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	snprintf(out, sizeof out, "<none>");
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(st, 0);
			snprintf(out, sizeof out, "%s",
			    t ? (const char *)t : "<null>");
		}
	} else {
		fprintf(stderr, "  sql failed: %s: %s\n", sql, sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static int
q_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* One integer from sql after running first (e.g. an ATTACH) on the
 * same read-write connection; -999 when there is no row. */
static int64_t
q_attached(const char *path, const char *first, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -999;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_exec(db, first, NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* agg_daily of one-day reports, as the SQL GROUP BY over their records
 * computes it (doc/schema.md "Days"). */
#define ROLLUP_SQL "SELECT date(r.begin, 'unixepoch'), c.source_ip," \
	" ifnull(c.header_from, ''), r.org_name, r.policy_domain," \
	" sum(c.count), sum(CASE WHEN c.dmarc_pass THEN c.count ELSE 0 END)," \
	" sum(CASE WHEN c.spf_aligned = 'pass' THEN c.count ELSE 0 END)," \
	" sum(CASE WHEN c.dkim_aligned = 'pass' THEN c.count ELSE 0 END)," \
	" sum(CASE WHEN c.disposition = 'quarantine' THEN c.count ELSE 0" \
	" END), sum(CASE WHEN c.disposition = 'reject' THEN c.count ELSE 0" \
	" END) FROM records c JOIN reports r ON r.id = c.report_id" \
	" GROUP BY 1, 2, 3, 4, 5"

/* ---- building reports by hand ---- */

struct fixture {
	struct report r;
	struct agg_record rec;
	struct agg_dkim dkim[2];
	struct agg_spf spf[1];
	struct agg_reason reasons[2];
	struct raw_value rec_raw[1];
	struct raw_value rep_raw[1];
	struct report_warning warn[2];
	const char *errors[2];
};

static void
fx_init(struct fixture *f, const char *email, const char *rid,
    int64_t begin, int64_t end, const char *domain)
{
	memset(f, 0, sizeof *f);
	f->r.kind = REPORT_AGGREGATE;
	f->r.agg.org_name = "Example Org";
	f->r.agg.email = email;
	f->r.agg.report_id = rid;
	f->r.agg.begin = begin;
	f->r.agg.end = end;
	f->r.agg.flavour = AGG_RFC7489;
	f->r.agg.version = "1.0";
	f->r.policy.domain = domain;
	f->r.policy.adkim = "r";
	f->r.policy.aspf = "r";
	f->r.policy.p = "none";
	f->r.policy.pct = 100;
}

static void
fx_record(struct fixture *f, size_t idx, const char *ip, uint64_t count,
    const char *disp, const char *dkim_al, const char *spf_al)
{
	memset(&f->rec, 0, sizeof f->rec);
	f->rec.index = idx;
	f->rec.source_ip = ip;
	f->rec.ip_family = strchr(ip, ':') ? 6 : 4;
	memset(f->rec.ip_bin, 0, sizeof f->rec.ip_bin);
	f->rec.ip_bin[10] = 0xff;
	f->rec.ip_bin[11] = 0xff;
	f->rec.ip_bin[15] = (unsigned char)idx;
	f->rec.count = count;
	f->rec.disposition = disp;
	f->rec.dkim_aligned = dkim_al;
	f->rec.spf_aligned = spf_al;
	f->rec.header_from = "example.com";
	f->rec.envelope_from = "bounce.example.com";
	f->dkim[0] = (struct agg_dkim){ "example.com", "s1", "pass", NULL };
	f->dkim[1] = (struct agg_dkim){ "esp.net", NULL, "fail", "bad sig" };
	f->spf[0] = (struct agg_spf){ "bounce.example.com", "mfrom", "pass",
	    NULL };
	f->rec.dkim = f->dkim;
	f->rec.n_dkim = 1;
	f->rec.spf = f->spf;
	f->rec.n_spf = 1;
}

/* Stores a whole report with n records from the fixture's record, in
 * one transaction. Returns the store_report_begin result. */
static int
put_report(struct store *s, struct fixture *f, size_t nrec, int64_t *rid)
{
	int64_t id = 0;
	int rc, brc;

	if ((rc = store_tx_begin(s, NULL)) < 0)
		return rc;
	brc = store_report_begin(s, 0, &f->r, &id, NULL);
	if (brc == 0) {
		for (size_t i = 0; i < nrec; i++) {
			f->rec.index = i;
			if ((rc = store_report_record(s, id, &f->r, &f->rec,
			    NULL)) < 0)
				goto fail;
		}
		f->r.n_records = nrec;
		if ((rc = store_report_end(s, id, &f->r, NULL)) < 0)
			goto fail;
	} else if (brc < 0) {
		rc = brc;
		goto fail;
	}
	if ((rc = store_tx_commit(s, NULL)) < 0)
		goto fail;
	if (rid != NULL)
		*rid = id;
	return brc;
fail:
	store_tx_rollback(s);
	return rc;
}

static int64_t
utc(int64_t y, unsigned m, unsigned d, int hh, int mm, int ss)
{
	return time_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

/* ---- cases ---- */

/* 1: create, migrate, reopen; WAL; user_version. */
static int
case_open(void)
{
	const char *p = new_path();
	struct store *s = NULL;
	struct err e = { 0 };

	CHECK(store_schema_version() >= 1);
	CHECK(store_open(p, 0, &s, &e) == 0);
	CHECK(s != NULL);
	store_free(s);
	CHECK(q_int(p, "PRAGMA user_version") == store_schema_version());
	CHECK(strcmp(q_text(p, "PRAGMA journal_mode"), "wal") == 0);
	CHECK(q_int(p, "PRAGMA application_id") == 0x444d5761);
	CHECK(q_int(p, "SELECT count(*) FROM sqlite_master WHERE name IN"
	    " ('messages','message_origins','reports','report_errors',"
	    "'report_warnings','raw_values','records','record_dkim',"
	    "'record_spf','record_reasons','rejected','agg_daily',"
	    "'v_reports','v_records','v_daily_source','v_daily_domain')")
	    == 16);
	/* reopen: nothing re-run, still version 1 */
	s = NULL;
	CHECK(store_open(p, 0, &s, &e) == 0);
	store_free(s);
	CHECK(q_int(p, "PRAGMA user_version") == store_schema_version());
	/* an empty (0-byte) file is migrated like a new one */
	p = new_path();
	FILE *fp = fopen(p, "w");
	CHECK(fp != NULL);
	fclose(fp);
	s = NULL;
	CHECK(store_open(p, 0, &s, &e) == 0);
	store_free(s);
	CHECK(q_int(p, "PRAGMA user_version") == store_schema_version());
	/* store_free(NULL) is fine */
	store_free(NULL);
	return 0;
}

/* 2: a database newer than this build, or another program's, is refused. */
static int
case_refuse(void)
{
	const char *p = new_path();
	struct store *s = NULL;
	struct err e = { 0 };
	int rc;

	CHECK(store_open(p, 0, &s, &e) == 0);
	store_free(s);
	CHECK(q_exec(p, "PRAGMA user_version = 99") == SQLITE_OK);
	s = NULL;
	rc = store_open(p, 0, &s, &e);
	CHECK(rc == ERR_UNSUPPORTED);
	CHECK(s == NULL);
	CHECK(strstr(e.msg, "newer") != NULL);
	CHECK(strstr(e.msg, "99") != NULL);
	rc = store_open(p, STORE_READONLY, &s, &e);
	CHECK(rc == ERR_UNSUPPORTED);

	p = new_path();
	CHECK(q_exec(p, "CREATE TABLE foreign_app (x)") == SQLITE_OK);
	memset(&e, 0, sizeof e);
	rc = store_open(p, 0, &s, &e);
	CHECK(rc == ERR_INVAL);
	CHECK(strstr(e.msg, "not a dmarcwatch database") != NULL);
	/* untouched: no table of ours added */
	CHECK(q_int(p, "SELECT count(*) FROM sqlite_master") == 1);
	return 0;
}

/* 3: messages: add, find, outcome, origins. */
static int
case_messages(void)
{
	const char *p = new_path();
	const char *sha = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	struct store_message m = { sha, 1234, "/in/a.eml", "message", 1700000000 };
	struct store *s = NULL;
	struct err e = { 0 };
	int64_t id = 0, id2 = 0;
	int outcome = -1;

	CHECK(store_open(p, 0, &s, &e) == 0);
	CHECK(store_message_find(s, sha, &id, &outcome, &e) == 0);
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_message_add(s, &m, &id, &e) == 0);
	CHECK(id > 0);
	CHECK(store_message_find(s, sha, &id2, &outcome, &e) == 1);
	CHECK(id2 == id);
	CHECK(outcome == 0);
	CHECK(store_message_set_outcome(s, id, MSG_PARTIAL, &e) == 0);
	CHECK(store_message_find(s, sha, &id2, &outcome, &e) == 1);
	CHECK(outcome == MSG_PARTIAL);
	CHECK(store_message_set_outcome(s, id, MSG_STORED, &e) == 0);
	CHECK(store_message_set_outcome(s, id + 100, MSG_STORED, &e) ==
	    ERR_NOTFOUND);
	CHECK(store_message_set_outcome(s, id, 99, &e) == ERR_INVAL);
	/* same bytes again: the unique sha256 refuses a second row */
	CHECK(store_message_add(s, &m, &id2, &e) == ERR_DB);
	CHECK(strstr(e.msg, "UNIQUE") != NULL);
	CHECK(store_message_add_origin(s, id, "/in/copy.eml", 1700000100,
	    &e) == 0);
	CHECK(store_message_add_origin(s, id, "/in/copy.eml", 1700000200,
	    &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	CHECK(store_message_find(s, sha, &id2, &outcome, &e) == 1);
	CHECK(outcome == MSG_STORED);
	store_free(s);

	CHECK(q_int(p, "SELECT count(*) FROM messages") == 1);
	CHECK(strcmp(q_text(p, "SELECT outcome FROM messages"), "stored") == 0);
	CHECK(q_int(p, "SELECT size FROM messages") == 1234);
	CHECK(strcmp(q_text(p, "SELECT kind FROM messages"), "message") == 0);
	CHECK(q_int(p, "SELECT count(*) FROM message_origins") == 2);
	CHECK(q_int(p, "SELECT seen FROM message_origins WHERE origin ="
	    " '/in/copy.eml'") == 1700000100);
	CHECK(q_int(p, "SELECT seen FROM message_origins WHERE origin ="
	    " '/in/a.eml'") == 1700000000);
	return 0;
}

/* 4: dedup key. */
static int
case_dedup(void)
{
	const char *p = new_path();
	int64_t b = utc(2024, 3, 1, 0, 0, 0), e_ = b + 86399;
	struct store *s = NULL;
	struct fixture f;
	struct err e = { 0 };
	int64_t id1 = 0, id2 = 0, id3 = 0;

	CHECK(store_open(p, 0, &s, &e) == 0);
	fx_init(&f, "noreply-dmarc@google.com", "r1", b, e_, "example.com");
	fx_record(&f, 0, "192.0.2.1", 3, "none", "pass", "pass");
	CHECK(put_report(s, &f, 2, &id1) == 0);
	CHECK(id1 > 0);
	/* same key, e-mail in other case: known, nothing added */
	f.r.agg.email = "NoReply-DMARC@Google.com";
	f.r.agg.org_name = "Other name";
	CHECK(put_report(s, &f, 2, &id2) == 1);
	CHECK(id2 == id1);
	CHECK(q_int(p, "SELECT count(*) FROM reports") == 1);
	CHECK(q_int(p, "SELECT count(*) FROM records") == 2);
	CHECK(q_int(p, "SELECT sum(messages) FROM agg_daily") == 6);
	/* same report_id, other begin: another report */
	f.r.agg.begin = b + 86400;
	f.r.agg.end = e_ + 86400;
	CHECK(put_report(s, &f, 1, &id3) == 0);
	CHECK(id3 != id1);
	/* same report_id and range, other policy domain: another report */
	f.r.policy.domain = "example.org";
	CHECK(put_report(s, &f, 1, &id3) == 0);
	/* no e-mail: key falls back to the org name, lower-cased */
	fx_init(&f, NULL, NULL, b, e_, NULL);
	fx_record(&f, 0, "192.0.2.1", 1, "none", "pass", "pass");
	CHECK(put_report(s, &f, 1, &id1) == 0);
	f.r.agg.org_name = "EXAMPLE ORG";
	CHECK(put_report(s, &f, 1, &id2) == 1);
	CHECK(id2 == id1);
	store_free(s);
	CHECK(q_int(p, "SELECT count(*) FROM reports") == 4);
	CHECK(strcmp(q_text(p, "SELECT reporter_key FROM reports WHERE"
	    " report_id IS NULL"), "example org") == 0);
	CHECK(strcmp(q_text(p, "SELECT reporter_key FROM reports ORDER BY id"),
	    "noreply-dmarc@google.com") == 0);
	return 0;
}

/* 5: records with dkim, spf, reasons and raw values, read back. */
static int
case_records(void)
{
	const char *p = new_path();
	int64_t b = utc(2024, 3, 1, 0, 0, 0);
	struct store *s = NULL;
	struct fixture f;
	struct err e = { 0 };
	int64_t rid = 0, mid = 0;
	struct store_message m = { "aa", 10, "x.xml", "xml", 1 };

	CHECK(store_open(p, 0, &s, &e) == 0);
	fx_init(&f, "dmarc@yahoo.com", "y-1", b, b + 86399, "example.com");
	f.r.agg.flavour = AGG_RFC9990;
	f.r.agg.xml_namespace = "urn:ietf:params:xml:ns:dmarc-2.0";
	f.r.agg.generator = "gen 1";
	f.r.policy.np = "reject";
	f.r.policy.pct = -1;
	f.r.policy.testing = "n";
	f.r.policy.discovery_method = "treewalk";
	f.errors[0] = "first error";
	f.errors[1] = "second error";
	f.r.agg.errors = f.errors;
	f.r.agg.n_errors = 2;
	f.rep_raw[0] = (struct raw_value){ "date_range.begin", "1709251200000" };
	f.r.raw = f.rep_raw;
	f.r.n_raw = 1;

	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_message_add(s, &m, &mid, &e) == 0);
	CHECK(store_report_begin(s, mid, &f.r, &rid, &e) == 0);
	/* record 0: v4, dkim x2, spf, 2 reasons, 1 raw */
	fx_record(&f, 0, "192.0.2.7", 5, "quarantine", "fail", "pass");
	f.rec.n_dkim = 2;
	f.reasons[0] = (struct agg_reason){ "forwarded", "list" };
	f.reasons[1] = (struct agg_reason){ "local_policy", NULL };
	f.rec.reasons = f.reasons;
	f.rec.n_reasons = 2;
	f.rec_raw[0] = (struct raw_value){ "policy_evaluated.disposition",
	    "Quarantine" };
	f.rec.raw = f.rec_raw;
	f.rec.n_raw = 1;
	f.rec.envelope_to = "example.net";
	CHECK(store_report_record(s, rid, &f.r, &f.rec, &e) == 0);
	/* record 1: v6, nothing aligned */
	fx_record(&f, 1, "2001:db8::1", 2, "reject", "fail", "fail");
	memset(f.rec.ip_bin, 0, 16);
	f.rec.ip_bin[0] = 0x20;
	f.rec.ip_bin[1] = 0x01;
	f.rec.ip_bin[2] = 0x0d;
	f.rec.ip_bin[3] = 0xb8;
	f.rec.ip_bin[15] = 1;
	f.rec.n_spf = 0;
	f.rec.header_from = NULL;
	CHECK(store_report_record(s, rid, &f.r, &f.rec, &e) == 0);
	/* a record for another report id is refused */
	CHECK(store_report_record(s, rid + 1, &f.r, &f.rec, &e) == ERR_INVAL);
	f.r.n_records = 2;
	f.r.recovered = 1;
	CHECK(store_report_end(s, rid, &f.r, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	store_free(s);

	CHECK(q_int(p, "SELECT message_id FROM reports") == mid);
	CHECK(strcmp(q_text(p, "SELECT flavour || '|' || kind || '|' ||"
	    " xml_namespace || '|' || generator || '|' || np || '|' ||"
	    " testing || '|' || discovery_method || '|' || ifnull(pct, 'N')"
	    " || '|' || recovered || '|' || version FROM reports"),
	    "rfc9990|aggregate|urn:ietf:params:xml:ns:dmarc-2.0|gen 1|reject|"
	    "n|treewalk|N|1|1.0") == 0);
	CHECK(strcmp(q_text(p, "SELECT records || '|' || messages || '|' ||"
	    " messages_pass FROM reports"), "2|7|5") == 0);
	CHECK(q_int(p, "SELECT count(*) FROM report_errors") == 2);
	CHECK(strcmp(q_text(p, "SELECT error FROM report_errors WHERE seq = 1"),
	    "second error") == 0);
	CHECK(q_int(p, "SELECT count(*) FROM records") == 2);
	CHECK(strcmp(q_text(p, "SELECT source_ip || '|' || ip_family || '|' ||"
	    " count || '|' || disposition || '|' || dmarc_pass || '|' ||"
	    " envelope_to || '|' || hex(source_ip_bin) FROM records"
	    " WHERE seq = 0"),
	    "192.0.2.7|4|5|quarantine|1|example.net|"
	    "00000000000000000000FFFF00000000") == 0);
	CHECK(strcmp(q_text(p, "SELECT source_ip || '|' || ip_family || '|' ||"
	    " dmarc_pass || '|' || ifnull(header_from, 'N') || '|' ||"
	    " length(source_ip_bin) FROM records WHERE seq = 1"),
	    "2001:db8::1|6|0|N|16") == 0);
	/* binary IPs sort v4-mapped before 2001:: */
	CHECK(q_int(p, "SELECT seq FROM records ORDER BY source_ip_bin DESC")
	    == 1);
	CHECK(q_int(p, "SELECT count(*) FROM record_dkim") == 3);
	CHECK(strcmp(q_text(p, "SELECT d.domain || '|' || ifnull(d.selector,"
	    " 'N') || '|' || d.result || '|' || d.human_result FROM record_dkim"
	    " d JOIN records r ON r.id = d.record_id WHERE r.seq = 0 AND"
	    " d.seq = 1"), "esp.net|N|fail|bad sig") == 0);
	CHECK(q_int(p, "SELECT count(*) FROM record_spf") == 1);
	CHECK(strcmp(q_text(p, "SELECT scope || result FROM record_spf"),
	    "mfrompass") == 0);
	CHECK(q_int(p, "SELECT count(*) FROM record_reasons") == 2);
	CHECK(strcmp(q_text(p, "SELECT type || '|' || ifnull(comment, 'N')"
	    " FROM record_reasons WHERE seq = 1"), "local_policy|N") == 0);
	CHECK(q_int(p, "SELECT count(*) FROM raw_values") == 2);
	CHECK(strcmp(q_text(p, "SELECT raw FROM raw_values WHERE record_id IS"
	    " NULL AND field = 'date_range.begin'"), "1709251200000") == 0);
	CHECK(strcmp(q_text(p, "SELECT v.raw FROM raw_values v JOIN records r"
	    " ON r.id = v.record_id WHERE r.seq = 0"), "Quarantine") == 0);
	/* the views work */
	CHECK(q_int(p, "SELECT count(*) FROM v_records WHERE org_name ="
	    " 'Example Org' AND reporter_report_id = 'y-1'") == 2);
	CHECK(strcmp(q_text(p, "SELECT pass_pct FROM v_reports"), "71.43")
	    == 0);
	/* rollup of a pass/quarantine and a fail/reject record */
	CHECK(strcmp(q_text(p, "SELECT day || '|' || messages || '|' ||"
	    " dmarc_pass || '|' || spf_aligned_pass || '|' || dkim_aligned_pass"
	    " || '|' || quarantine || '|' || reject || '|' || reporter || '|'"
	    " || policy_domain FROM agg_daily WHERE source_ip = '192.0.2.7'"),
	    "2024-03-01|5|5|5|0|5|0|Example Org|example.com") == 0);
	CHECK(strcmp(q_text(p, "SELECT header_from || '|' || messages || '|' ||"
	    " reject FROM agg_daily WHERE source_ip = '2001:db8::1'"), "|2|2")
	    == 0);
	/* foreign keys cascade from a report to everything under it */
	CHECK(q_exec(p, "PRAGMA foreign_keys = ON; DELETE FROM reports")
	    == SQLITE_OK);
	CHECK(q_int(p, "SELECT (SELECT count(*) FROM records) +"
	    " (SELECT count(*) FROM record_dkim) +"
	    " (SELECT count(*) FROM record_spf) +"
	    " (SELECT count(*) FROM record_reasons) +"
	    " (SELECT count(*) FROM raw_values) +"
	    " (SELECT count(*) FROM report_errors)") == 0);
	return 0;
}

/* 6: warnings with their tokens and the sum in reports.warnings. */
static int
case_warnings(void)
{
	const char *p = new_path();
	struct store *s = NULL;
	struct fixture f;
	struct err e = { 0 };
	char sql[256];

	CHECK(store_open(p, 0, &s, &e) == 0);
	fx_init(&f, "a@b.c", "w1", 1709251200, 1709337599, "example.com");
	fx_record(&f, 0, "192.0.2.1", 1, "none", "pass", "pass");
	f.warn[0] = (struct report_warning){ W_WHITESPACE_TRIMMED, 12,
	    "record 3" };
	f.warn[1] = (struct report_warning){ W_VERSION_MISSING, 1, NULL };
	f.r.warnings = f.warn;
	f.r.n_warnings = 2;
	f.r.n_rows_skipped = 4;
	CHECK(put_report(s, &f, 1, NULL) == 0);
	store_free(s);
	/* codes are warn_token(); when two codes share a token (a stub
	 * warn_token) their counts merge into one row */
	if (strcmp(warn_token(W_WHITESPACE_TRIMMED),
	    warn_token(W_VERSION_MISSING)) != 0) {
		CHECK(q_int(p, "SELECT count(*) FROM report_warnings") == 2);
		snprintf(sql, sizeof sql, "SELECT count || '|' || detail FROM"
		    " report_warnings WHERE code = '%s'",
		    warn_token(W_WHITESPACE_TRIMMED));
		CHECK(strcmp(q_text(p, sql), "12|record 3") == 0);
		snprintf(sql, sizeof sql, "SELECT count || '|' || ifnull(detail,"
		    " 'N') FROM report_warnings WHERE code = '%s'",
		    warn_token(W_VERSION_MISSING));
		CHECK(strcmp(q_text(p, sql), "1|N") == 0);
	} else {
		CHECK(q_int(p, "SELECT sum(count) FROM report_warnings") == 13);
	}
	CHECK(q_int(p, "SELECT warnings FROM reports") == 13);
	CHECK(q_int(p, "SELECT rows_skipped FROM reports") == 4);
	return 0;
}

/* 7: the rollup spreads reports over UTC days. */
struct spread_case {
	const char *name;
	int64_t begin, end;
	uint64_t count;
	/* expected messages per day, in day order, and the first day */
	const char *first_day;
	int ndays;
	int64_t per_day[9];
};

/* floor(c * C_{d+1} / span) - floor(c * C_d / span), computed here
 * independently of the SQL, for the 7-day unaligned case. */
static void
expect_spread(int64_t b, int64_t e, uint64_t c, int64_t *out, int *nd)
{
	int64_t span = e - b, d0 = b - b % 86400, lo, hi;
	int n = 0;

	for (int64_t ds = d0; ds < e; ds += 86400) {
		lo = (ds > b ? ds : b) - b;
		hi = (ds + 86400 < e ? ds + 86400 : e) - b;
		out[n++] = (int64_t)(c * (uint64_t)hi / (uint64_t)span) -
		    (int64_t)(c * (uint64_t)lo / (uint64_t)span);
	}
	*nd = n;
}

static int
case_spread(void)
{
	int64_t d = utc(2024, 3, 1, 0, 0, 0);
	struct spread_case cases[] = {
		/* Google: 00:00:00 .. 23:59:59 */
		{ "google", d, d + 86399, 10, "2024-03-01", 1, { 10 } },
		/* Microsoft: 00:00:00 .. next 00:00:00 */
		{ "microsoft", d, d + 86400, 10, "2024-03-01", 1, { 10 } },
		/* two whole days, midnight to midnight: 5 + 5 */
		{ "two-days", d, d + 2 * 86400, 10, "2024-03-01", 2,
		    { 5, 5 } },
		/* noon to noon, end second inclusive: 43200 s then 43201 s
		 * of 86401; cumulative floor gives 10 -> 4 + 6 */
		{ "noon", d + 43200, d + 86400 + 43200, 10, "2024-03-01", 2,
		    { 4, 6 } },
		/* begin == end: all on that day */
		{ "instant", d + 5000, d + 5000, 7, "2024-03-01", 1, { 7 } },
		/* begin == end on a midnight */
		{ "instant-midnight", d, d, 3, "2024-03-01", 1, { 3 } },
		/* end before begin: all on begin's day */
		{ "backwards", d + 86400 + 10, d, 4, "2024-03-02", 1, { 4 } },
		/* 70 days: longer than the cap, all on begin's day */
		{ "too-long", d, d + 70 * 86400, 9, "2024-03-01", 1, { 9 } },
		/* Trustwave-like: 7 days, unaligned, odd count: span
		 * 610973 s over 8 calendar days; the first day's 74571 s
		 * earn floor(7 * 74571 / 610973) = 0 */
		{ "trustwave", d + 3 * 3600 + 17 * 60 + 9,
		    d + 7 * 86400 + 5 * 3600 + 1, 7, "2024-03-01", 8,
		    { 0, 1, 1, 1, 1, 1, 1, 1 } },
	};
	struct store *s = NULL;
	struct fixture f;
	struct err e = { 0 };
	char sql[512];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct spread_case *c = &cases[i];
		const char *p = new_path();
		int64_t sum = 0;

		s = NULL;
		CHECK(store_open(p, 0, &s, &e) == 0);
		fx_init(&f, "x@y.z", c->name, c->begin, c->end, "example.com");
		fx_record(&f, 0, "198.51.100.9", c->count, "none", "fail",
		    "fail");
		CHECK(put_report(s, &f, 1, NULL) == 0);
		store_free(s);
		/* days whose share rounds to 0 get no row */
		int nz = 0;
		for (int k = 0; k < c->ndays; k++)
			nz += c->per_day[k] != 0;
		if (q_int(p, "SELECT count(*) FROM agg_daily") != nz) {
			FAIL("%s: %lld days, want %d", c->name,
			    (long long)q_int(p, "SELECT count(*) FROM agg_daily"),
			    nz);
		}
		if (c->per_day[0] != 0)
			CHECK(strcmp(q_text(p, "SELECT min(day) FROM agg_daily"),
			    c->first_day) == 0);
		for (int k = 0; k < c->ndays; k++) {
			snprintf(sql, sizeof sql, "SELECT ifnull(sum(messages), 0)"
			    " FROM agg_daily WHERE day = date('%s', '+%d days')",
			    c->first_day, k);
			int64_t got = q_int(p, sql);
			if (got != c->per_day[k])
				FAIL("%s: day %d: %lld messages, want %lld",
				    c->name, k, (long long)got,
				    (long long)c->per_day[k]);
			sum += c->per_day[k];
		}
		if (sum != (int64_t)c->count ||
		    q_int(p, "SELECT sum(messages) FROM agg_daily") !=
		    (int64_t)c->count)
			FAIL("%s: shares do not sum to %llu", c->name,
			    (unsigned long long)c->count);
		CHECK(q_int(p, "SELECT sum(messages) FROM v_daily_source") ==
		    (int64_t)c->count);
	}

	/* trustwave: the literal shares above match the formula computed
	 * here independently of the SQL (doc/schema.md example) */
	{
		int64_t tw[9];
		int n;
		expect_spread(d + 3 * 3600 + 17 * 60 + 9,
		    d + 7 * 86400 + 5 * 3600 + 2, 7, tw, &n);
		CHECK(n == 8);
		for (int k = 0; k < n; k++)
			CHECK(tw[k] == cases[8].per_day[k]);
	}

	/* upsert: two reports on the same day and source add up */
	{
		const char *p = new_path();
		s = NULL;
		CHECK(store_open(p, 0, &s, &e) == 0);
		fx_init(&f, "x@y.z", "u1", d, d + 86399, "example.com");
		fx_record(&f, 0, "198.51.100.9", 3, "reject", "pass", "fail");
		CHECK(put_report(s, &f, 2, NULL) == 0);
		fx_init(&f, "x@y.z", "u2", d, d + 86399, "example.com");
		fx_record(&f, 0, "198.51.100.9", 4, "quarantine", "fail", "fail");
		CHECK(put_report(s, &f, 1, NULL) == 0);
		store_free(s);
		CHECK(q_int(p, "SELECT count(*) FROM agg_daily") == 1);
		CHECK(strcmp(q_text(p, "SELECT messages || '|' || dmarc_pass ||"
		    " '|' || dkim_aligned_pass || '|' || spf_aligned_pass || '|'"
		    " || quarantine || '|' || reject FROM agg_daily"),
		    "10|6|6|0|4|6") == 0);
		CHECK(strcmp(q_text(p, "SELECT day || '|' || source_ip || '|' ||"
		    " messages || '|' || dmarc_pass || '|' || pass_pct FROM"
		    " v_daily_source"), "2024-03-01|198.51.100.9|10|6|60.0") == 0);
		CHECK(strcmp(q_text(p, "SELECT header_from || '|' || messages"
		    " FROM v_daily_domain"), "example.com|10") == 0);
	}
	return 0;
}

/* 8: one-day reports are summed in memory while records stream past,
 * up to a cap of distinct (source_ip, header_from) pairs; past it the
 * table spills sorted runs that are merged at the end (case 19 has more
 * of that). Both must give the rows the SQL rollup gives. */
static int
case_rollup_paths(void)
{
	const char *p = new_path();
	int64_t d = utc(2024, 4, 2, 0, 0, 0);
	struct store *s = NULL;
	struct fixture f;
	struct err e = { 0 };
	int64_t rid = 0;
	char ip[32];
	const size_t many = 40000;   /* > the in-memory cap (32768) */
	static const char *const disp[] = { "none", "quarantine", "reject" };

	CHECK(store_open(p, 0, &s, &e) == 0);
	/* A: 300 records over 10 pairs, mixed verdicts (in memory) */
	fx_init(&f, "a@x", "A", d, d + 86399, "example.com");
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_report_begin(s, 0, &f.r, &rid, &e) == 0);
	for (size_t i = 0; i < 300; i++) {
		snprintf(ip, sizeof ip, "10.0.0.%zu", i % 10);
		fx_record(&f, i, ip, 1 + i % 3, disp[i % 3],
		    i % 2 ? "pass" : "fail", i % 5 ? "fail" : "pass");
		f.rec.source_ip = ip;
		f.rec.header_from = i % 20 < 10 ? "example.com" : NULL;
		CHECK(store_report_record(s, rid, &f.r, &f.rec, &e) == 0);
	}
	CHECK(store_report_end(s, rid, &f.r, &e) == 0);
	/* B: the same records again as a one-day report of 40000 distinct
	 * pairs (spilled runs): the first 300 land on A's rows */
	fx_init(&f, "b@x", "B", d, d + 86399, "example.com");
	CHECK(store_report_begin(s, 0, &f.r, &rid, &e) == 0);
	for (size_t i = 0; i < many; i++) {
		if (i < 300)
			snprintf(ip, sizeof ip, "10.0.0.%zu", i % 10);
		else
			snprintf(ip, sizeof ip, "10.%zu.%zu.%zu", 1 + i / 65536,
			    (i / 256) % 256, i % 256);
		fx_record(&f, i, ip, 1 + i % 3, disp[i % 3],
		    i % 2 ? "pass" : "fail", i % 5 ? "fail" : "pass");
		f.rec.source_ip = ip;
		f.rec.header_from = i % 20 < 10 ? "example.com" : NULL;
		CHECK(store_report_record(s, rid, &f.r, &f.rec, &e) == 0);
	}
	CHECK(store_report_end(s, rid, &f.r, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	store_free(s);
	/* same reporter and domain: A and B share the 10.0.0.x rows */
	CHECK(q_int(p, "SELECT count(*) FROM agg_daily") ==
	    (int64_t)(many - 300 + 20));
	/* A's 20 pairs were counted twice, identically by both paths */
	CHECK(q_int(p, "SELECT count(*) FROM agg_daily WHERE source_ip LIKE"
	    " '10.0.0.%' AND messages % 2 = 0 AND dmarc_pass % 2 = 0 AND"
	    " spf_aligned_pass % 2 = 0 AND dkim_aligned_pass % 2 = 0 AND"
	    " quarantine % 2 = 0 AND reject % 2 = 0") == 20);
	CHECK(q_int(p, "SELECT sum(messages) FROM agg_daily") ==
	    q_int(p, "SELECT sum(count) FROM records"));
	CHECK(q_int(p, "SELECT sum(dmarc_pass) FROM agg_daily") ==
	    q_int(p, "SELECT sum(count) FROM records WHERE dmarc_pass"));
	CHECK(q_int(p, "SELECT sum(reject) FROM agg_daily") ==
	    q_int(p, "SELECT sum(count) FROM records WHERE disposition ="
	    " 'reject'"));
	CHECK(q_int(p, "SELECT sum(quarantine) FROM agg_daily") ==
	    q_int(p, "SELECT sum(count) FROM records WHERE disposition ="
	    " 'quarantine'"));
	CHECK(q_int(p, "SELECT sum(spf_aligned_pass) FROM agg_daily") ==
	    q_int(p, "SELECT sum(count) FROM records WHERE spf_aligned ="
	    " 'pass'"));
	/* concrete values for one pair: 10.0.0.3 with header_from
	 * example.com is i in {3, 13, ..., 293} with i % 20 < 10, i.e.
	 * i = 3 + 20k (k = 0..14): counts 1 + i % 3 */
	{
		int64_t m = 0, q = 0;
		for (int k = 0; k < 15; k++) {
			int i = 3 + 20 * k;
			m += 1 + i % 3;
			if (i % 3 == 1)
				q += 1 + i % 3;
		}
		CHECK(q_int(p, "SELECT messages FROM agg_daily WHERE source_ip"
		    " = '10.0.0.3' AND header_from = 'example.com'") == 2 * m);
		CHECK(q_int(p, "SELECT quarantine FROM agg_daily WHERE"
		    " source_ip = '10.0.0.3' AND header_from = 'example.com'")
		    == 2 * q);
		CHECK(q_int(p, "SELECT dmarc_pass FROM agg_daily WHERE"
		    " source_ip = '10.0.0.3' AND header_from = 'example.com'")
		    == 2 * m);   /* odd i: dkim aligned pass */
	}
	return 0;
}

/* 9: a rolled-back savepoint leaves nothing; the outer tx survives. */
static int
case_savepoint(void)
{
	const char *p = new_path();
	struct store_message m = { "bb", 5, "y", "xml", 7 };
	struct store *s = NULL;
	struct fixture f;
	struct err e = { 0 };
	int64_t mid = 0, rid = 0;

	CHECK(store_open(p, 0, &s, &e) == 0);
	CHECK(store_savepoint(s, &e) == ERR_INVAL);   /* no transaction */
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_tx_begin(s, &e) == ERR_INVAL);
	CHECK(store_message_add(s, &m, &mid, &e) == 0);
	CHECK(store_savepoint(s, &e) == 0);
	fx_init(&f, "x@y.z", "sp", 1709251200, 1709337599, "example.com");
	fx_record(&f, 0, "192.0.2.1", 5, "none", "pass", "pass");
	f.reasons[0] = (struct agg_reason){ "other", "c" };
	f.rec.reasons = f.reasons;
	f.rec.n_reasons = 1;
	CHECK(store_report_begin(s, mid, &f.r, &rid, &e) == 0);
	CHECK(store_report_record(s, rid, &f.r, &f.rec, &e) == 0);
	CHECK(store_report_end(s, rid, &f.r, &e) == 0);
	store_savepoint_rollback(s);
	/* a second payload in its own savepoint, released */
	CHECK(store_savepoint(s, &e) == 0);
	struct store_rejected rj = { mid, "y: part 2", "cc", "format",
	    "byte 10", "not xml", 8 };
	CHECK(store_rejected_add(s, &rj, &e) == 0);
	CHECK(store_savepoint_release(s, &e) == 0);
	CHECK(store_savepoint_release(s, &e) == ERR_INVAL);
	CHECK(store_message_set_outcome(s, mid, MSG_REJECTED, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	store_free(s);
	CHECK(q_int(p, "SELECT count(*) FROM messages") == 1);
	CHECK(q_int(p, "SELECT (SELECT count(*) FROM reports) +"
	    " (SELECT count(*) FROM records) + (SELECT count(*) FROM"
	    " record_dkim) + (SELECT count(*) FROM record_spf) +"
	    " (SELECT count(*) FROM record_reasons) + (SELECT count(*) FROM"
	    " agg_daily)") == 0);
	CHECK(q_int(p, "SELECT count(*) FROM rejected") == 1);

	/* the same report stored after the rollback is new, not known */
	s = NULL;
	CHECK(store_open(p, 0, &s, &e) == 0);
	CHECK(put_report(s, &f, 1, &rid) == 0);
	/* store_free with an open transaction rolls it back */
	CHECK(store_tx_begin(s, &e) == 0);
	f.r.agg.report_id = "lost";
	CHECK(store_report_begin(s, 0, &f.r, &rid, &e) == 0);
	store_free(s);
	CHECK(q_int(p, "SELECT count(*) FROM reports") == 1);
	CHECK(q_int(p, "SELECT count(*) FROM reports WHERE report_id ="
	    " 'lost'") == 0);
	return 0;
}

/* 10: rejected rows. */
static int
case_rejected(void)
{
	const char *p = new_path();
	struct store *s = NULL;
	struct err e = { 0 };
	struct store_rejected rj = { 0, "imap://h/INBOX;UID=7", "dd",
	    "too_large", "part 2", "exceeds LIM_INFLATED_BYTES", 1700000000 };
	struct store_counts c;

	CHECK(store_open(p, 0, &s, &e) == 0);
	CHECK(store_rejected_add(s, &rj, &e) == 0);
	rj.error_code = NULL;
	CHECK(store_rejected_add(s, &rj, &e) == ERR_INVAL);
	CHECK(store_counts(s, &c, &e) == 0);
	CHECK(c.rejected == 1 && c.messages == 0 && c.reports == 0 &&
	    c.records == 0);
	store_free(s);
	CHECK(strcmp(q_text(p, "SELECT ifnull(message_id, 'N') || '|' ||"
	    " origin || '|' || sha256 || '|' || error_code || '|' ||"
	    " error_where || '|' || error_msg || '|' || at FROM rejected"),
	    "N|imap://h/INBOX;UID=7|dd|too_large|part 2|"
	    "exceeds LIM_INFLATED_BYTES|1700000000") == 0);
	return 0;
}

/* 11: read side: order, filters, stop; read-only handles. */
struct collect {
	int n;
	int64_t ids[16];
	char rids[16][16];
	int stop_after;
};

static int
collect_cb(void *ctx, const struct store_report_row *row)
{
	struct collect *c = ctx;

	if (c->n < 16) {
		c->ids[c->n] = row->begin;
		snprintf(c->rids[c->n], sizeof c->rids[0], "%s",
		    row->report_id ? row->report_id : "");
	}
	c->n++;
	if (c->stop_after && c->n == c->stop_after)
		return 42;
	return 0;
}

static int
case_read(void)
{
	const char *p = new_path();
	struct store *s = NULL, *ro = NULL;
	struct fixture f;
	struct err e = { 0 };
	struct collect c;
	struct store_report_filter flt;
	struct store_counts cnt;
	int64_t d = utc(2024, 3, 10, 0, 0, 0);
	static const struct { const char *rid; int day; const char *dom; }
	    in[] = {
		{ "c", 3, "example.com" }, { "a", 1, "example.com" },
		{ "d", 3, "example.org" }, { "b", 2, "example.org" },
	};

	/* read-only on a missing file: a clear "does not exist" */
	CHECK(store_open(p, STORE_READONLY, &ro, &e) == ERR_NOTFOUND);
	CHECK(strstr(e.msg, "does not exist") != NULL);
	CHECK(ro == NULL);

	CHECK(store_open(p, 0, &s, &e) == 0);
	for (size_t i = 0; i < 4; i++) {
		fx_init(&f, "x@y.z", in[i].rid, d + in[i].day * 86400,
		    d + in[i].day * 86400 + 86399, in[i].dom);
		fx_record(&f, 0, "192.0.2.1", 2, "none", "pass", "fail");
		CHECK(put_report(s, &f, i + 1, NULL) == 0);
	}
	CHECK(store_counts(s, &cnt, &e) == 0);
	CHECK(cnt.reports == 4 && cnt.records == 10 && cnt.messages == 0);

	CHECK(store_open(p, STORE_READONLY, &ro, &e) == 0);
	memset(&c, 0, sizeof c);
	CHECK(store_reports_each(ro, NULL, collect_cb, &c, &e) == 0);
	CHECK(c.n == 4);
	/* by begin, then id: a, b, c (id 1), d (id 3) */
	CHECK(strcmp(c.rids[0], "a") == 0 && strcmp(c.rids[1], "b") == 0 &&
	    strcmp(c.rids[2], "c") == 0 && strcmp(c.rids[3], "d") == 0);
	CHECK(c.ids[0] == d + 86400);

	memset(&c, 0, sizeof c);
	memset(&flt, 0, sizeof flt);
	flt.domain = "Example.ORG";
	CHECK(store_reports_each(ro, &flt, collect_cb, &c, &e) == 0);
	CHECK(c.n == 2 && strcmp(c.rids[0], "b") == 0 &&
	    strcmp(c.rids[1], "d") == 0);

	memset(&c, 0, sizeof c);
	memset(&flt, 0, sizeof flt);
	flt.since = d + 2 * 86400;     /* inclusive */
	flt.until = d + 3 * 86400;     /* exclusive */
	CHECK(store_reports_each(ro, &flt, collect_cb, &c, &e) == 0);
	CHECK(c.n == 1 && strcmp(c.rids[0], "b") == 0);

	memset(&c, 0, sizeof c);
	memset(&flt, 0, sizeof flt);
	flt.kind = "tlsrpt";
	CHECK(store_reports_each(ro, &flt, collect_cb, &c, &e) == 0);
	CHECK(c.n == 0);
	flt.kind = "aggregate";
	CHECK(store_reports_each(ro, &flt, collect_cb, &c, &e) == 0);
	CHECK(c.n == 4);

	/* a callback's non-zero return stops the walk and is returned */
	memset(&c, 0, sizeof c);
	c.stop_after = 2;
	CHECK(store_reports_each(ro, NULL, collect_cb, &c, &e) == 42);
	CHECK(c.n == 2);
	/* ... and the statement is usable again */
	memset(&c, 0, sizeof c);
	CHECK(store_reports_each(ro, NULL, collect_cb, &c, &e) == 0);
	CHECK(c.n == 4);

	/* the row carries the totals */
	{
		struct collect one;
		memset(&one, 0, sizeof one);
		memset(&flt, 0, sizeof flt);
		flt.domain = "example.com";
		flt.since = d + 3 * 86400;
		CHECK(store_reports_each(ro, &flt, collect_cb, &one, &e) == 0);
		CHECK(one.n == 1 && strcmp(one.rids[0], "c") == 0);
	}

	/* read-only: writes fail with ERR_IO, nothing changes */
	struct store_rejected rj = { 0, "o", "s", "format", NULL, NULL, 1 };
	int rc = store_rejected_add(ro, &rj, &e);
	CHECK(rc == ERR_IO);
	CHECK(store_counts(ro, &cnt, &e) == 0);
	CHECK(cnt.rejected == 0 && cnt.reports == 4);
	store_free(ro);
	store_free(s);

	/* read-only on an empty file: refused, not migrated */
	p = new_path();
	FILE *fp = fopen(p, "w");
	CHECK(fp != NULL);
	fclose(fp);
	ro = NULL;
	CHECK(store_open(p, STORE_READONLY, &ro, &e) < 0);
	CHECK(ro == NULL);
	CHECK(q_int(p, "PRAGMA user_version") == 0);
	return 0;
}

/* 12: hostile strings are data: quotes and SQL in every field. */
static int
case_hostile(void)
{
	const char *p = new_path();
	struct store *s = NULL;
	struct fixture f;
	struct err e = { 0 };
	const char *evil = "x'); DROP TABLE reports; --";

	CHECK(store_open(p, 0, &s, &e) == 0);
	fx_init(&f, evil, evil, 1709251200, 1709337599, evil);
	f.r.agg.org_name = evil;
	fx_record(&f, 0, evil, 1, evil, evil, evil);
	f.rec.header_from = evil;
	CHECK(put_report(s, &f, 1, NULL) == 0);
	/* a count above LIM_RECORD_COUNT is refused */
	fx_init(&f, "big@x", "big", 1709251200, 1709337599, "example.com");
	fx_record(&f, 0, "192.0.2.1", (uint64_t)1 << 62, "none", "pass",
	    "pass");
	CHECK(put_report(s, &f, 1, NULL) == ERR_TOO_LARGE);
	/* a kind the store does not know */
	f.r.kind = (enum report_kind)99;
	int64_t rid;
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_report_begin(s, 0, &f.r, &rid, &e) == ERR_UNSUPPORTED);
	store_tx_rollback(s);
	store_free(s);
	CHECK(q_int(p, "SELECT count(*) FROM reports") == 1);
	CHECK(strcmp(q_text(p, "SELECT org_name FROM reports"), evil) == 0);
	CHECK(strcmp(q_text(p, "SELECT source_ip FROM agg_daily"), evil) == 0);
	return 0;
}

/* ---- TLS-RPT and failure reports ---- */

struct tls_fixture {
	struct report r;
	struct tlsrpt_policy pol[2];
	struct tlsrpt_failure fail[2];
	const char *strings[2];
	const char *mx[2];
};

/* Two policies over two whole UTC days (2024-03-01, 2024-03-02): sts for
 * example.com with 100 ok / 7 failed sessions (4 + 3 in two failure
 * details), no-policy-found for mail.example.com with 11 ok. */
static void
tls_init(struct tls_fixture *t, const char *report_id)
{
	memset(t, 0, sizeof *t);
	t->r.kind = REPORT_TLSRPT;
	t->r.tls.organization_name = "Company-X";
	t->r.tls.contact_info = "SMTP-TLS-Reporting@Company-X.example";
	t->r.tls.report_id = report_id;
	t->r.tls.begin = utc(2024, 3, 1, 0, 0, 0);
	t->r.tls.end = utc(2024, 3, 3, 0, 0, 0);
	t->strings[0] = "version: STSv1";
	t->strings[1] = "mode: \"enforce\"";
	t->mx[0] = "*.mail.example.com";
	t->mx[1] = "mx2.example.com";
	t->fail[0] = (struct tlsrpt_failure){ .result_type =
	    "starttls-not-supported", .sending_mta_ip = "2001:db8:abcd::12",
	    .receiving_mx_hostname = "mx1.example.com",
	    .receiving_ip = "203.0.113.56", .failed_session_count = 4,
	    .additional_information = "https://reports.example/x",
	    .failure_reason_code = "X509_V_ERR" };
	t->fail[1] = (struct tlsrpt_failure){ .result_type =
	    "certificate-expired", .sending_mta_ip = "198.51.100.62",
	    .receiving_mx_hostname = "mx2.example.com",
	    .receiving_mx_helo = "mx2-helo.example.com",
	    .failed_session_count = 3 };
	t->pol[0] = (struct tlsrpt_policy){ .index = 0, .policy_type = "sts",
	    .policy_strings = t->strings, .n_policy_strings = 2,
	    .policy_domain = "example.com", .mx_hosts = t->mx,
	    .n_mx_hosts = 2, .total_successful = 100, .total_failure = 7,
	    .failures = t->fail, .n_failures = 2 };
	t->pol[1] = (struct tlsrpt_policy){ .index = 1,
	    .policy_type = "no-policy-found",
	    .policy_domain = "mail.example.com", .total_successful = 11 };
}

/* Stores a TLS-RPT report in one transaction; returns the begin result. */
static int
put_tls(struct store *s, struct tls_fixture *t, int64_t *rid)
{
	int64_t id = 0;
	int rc, brc;

	if ((rc = store_tx_begin(s, NULL)) < 0)
		return rc;
	if ((brc = store_report_begin(s, 0, &t->r, &id, NULL)) < 0) {
		rc = brc;
		goto fail;
	}
	if (brc == 0) {
		for (size_t i = 0; i < 2; i++)
			if ((rc = store_tlsrpt_policy(s, id, &t->r, &t->pol[i],
			    NULL)) < 0)
				goto fail;
		t->r.n_records = 2;
		if ((rc = store_report_end(s, id, &t->r, NULL)) < 0)
			goto fail;
	}
	if ((rc = store_tx_commit(s, NULL)) < 0)
		goto fail;
	if (rid != NULL)
		*rid = id;
	return brc;
fail:
	store_tx_rollback(s);
	return rc;
}

/* 13: a TLS-RPT report round-trips; tlsrpt_daily; dedup. */
static int
case_tlsrpt(void)
{
	const char *p = new_path();
	struct store *s = NULL;
	struct tls_fixture t;
	struct fixture f;
	struct err e = { 0 };
	int64_t rid = 0, rid2 = 0;

	CHECK(store_open(p, 0, &s, &e) == 0);
	tls_init(&t, "2024-03-01T00:00:00Z_example.com");
	CHECK(put_tls(s, &t, &rid) == 0);
	CHECK(rid > 0);
	/* the same report again: known, whatever its policies */
	tls_init(&t, "2024-03-01T00:00:00Z_example.com");
	t.r.tls.contact_info = "smtp-tls-reporting@company-x.example";
	CHECK(put_tls(s, &t, &rid2) == 1);
	CHECK(rid2 == rid);
	/* another report id is another report */
	tls_init(&t, "other");
	CHECK(put_tls(s, &t, &rid2) == 0);
	CHECK(rid2 != rid);
	/* records are for aggregate reports only */
	tls_init(&t, "third");
	fx_init(&f, "a@b", "x", 1, 2, "example.com");
	fx_record(&f, 0, "192.0.2.1", 1, "none", "pass", "pass");
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_report_begin(s, 0, &t.r, &rid2, &e) == 0);
	CHECK(store_report_record(s, rid2, &t.r, &f.rec, &e) == ERR_INVAL);
	store_tx_rollback(s);
	store_free(s);

	/* the reports row */
	CHECK(q_int(p, "SELECT count(*) FROM reports WHERE kind = 'tlsrpt'")
	    == 2);
	CHECK(strcmp(q_text(p, "SELECT org_name || '|' || email || '|' ||"
	    " report_id || '|' || policy_domain || '|' || records || '|' ||"
	    " messages || '|' || messages_pass || '|' || reporter_key ||"
	    " '|' || ifnull(flavour, 'N') FROM reports WHERE report_id LIKE"
	    " '2024%'"), "Company-X|SMTP-TLS-Reporting@Company-X.example|"
	    "2024-03-01T00:00:00Z_example.com|example.com|2|118|111|"
	    "smtp-tls-reporting@company-x.example|N") == 0);
	/* policies and failure details */
	CHECK(q_int(p, "SELECT count(*) FROM tlsrpt_policies") == 4);
	CHECK(strcmp(q_text(p, "SELECT policy_type || '|' || policy_domain ||"
	    " '|' || policy_strings || '|' || mx_hosts || '|' ||"
	    " total_successful || '|' || total_failure FROM tlsrpt_policies"
	    " WHERE seq = 0 ORDER BY id LIMIT 1"), "sts|example.com|"
	    "[\"version: STSv1\",\"mode: \\\"enforce\\\"\"]|"
	    "[\"*.mail.example.com\",\"mx2.example.com\"]|100|7") == 0);
	CHECK(strcmp(q_text(p, "SELECT json_extract(policy_strings, '$[1]')"
	    " FROM tlsrpt_policies ORDER BY id LIMIT 1"),
	    "mode: \"enforce\"") == 0);
	CHECK(strcmp(q_text(p, "SELECT ifnull(policy_strings, 'N') ||"
	    " ifnull(mx_hosts, 'N') FROM tlsrpt_policies WHERE seq = 1"
	    " ORDER BY id LIMIT 1"), "NN") == 0);
	CHECK(q_int(p, "SELECT count(*) FROM tlsrpt_failures") == 4);
	CHECK(strcmp(q_text(p, "SELECT f.result_type || '|' ||"
	    " f.sending_mta_ip || '|' || f.receiving_mx_hostname || '|' ||"
	    " ifnull(f.receiving_mx_helo, 'N') || '|' || f.receiving_ip ||"
	    " '|' || f.failed_session_count || '|' ||"
	    " f.additional_information || '|' || f.failure_reason_code"
	    " FROM tlsrpt_failures f JOIN tlsrpt_policies p ON"
	    " p.id = f.policy_id JOIN reports r ON r.id = p.report_id"
	    " WHERE r.report_id LIKE '2024%' AND f.seq = 0"),
	    "starttls-not-supported|2001:db8:abcd::12|mx1.example.com|N|"
	    "203.0.113.56|4|https://reports.example/x|X509_V_ERR") == 0);
	/* tlsrpt_daily: two reports, each spread evenly over two days */
	CHECK(q_int(p, "SELECT count(DISTINCT day) FROM tlsrpt_daily") == 2);
	CHECK(strcmp(q_text(p, "SELECT group_concat(day || ':' || sessions_ok"
	    " || '/' || sessions_failed, ',') FROM (SELECT * FROM tlsrpt_daily"
	    " WHERE policy_domain = 'example.com' AND receiving_mx = ''"
	    " AND result_type = '' ORDER BY day)"),
	    "2024-03-01:100/6,2024-03-02:100/8") == 0);
	CHECK(q_int(p, "SELECT sum(sessions_failed) FROM tlsrpt_daily WHERE"
	    " result_type <> '' AND policy_domain = 'example.com'") == 14);
	CHECK(q_int(p, "SELECT sum(sessions_ok) FROM tlsrpt_daily WHERE"
	    " result_type <> ''") == 0);
	CHECK(strcmp(q_text(p, "SELECT group_concat(day || ':' ||"
	    " sessions_failed, ',') FROM (SELECT * FROM tlsrpt_daily WHERE"
	    " receiving_mx = 'mx2.example.com' AND result_type ="
	    " 'certificate-expired' ORDER BY day)"),
	    "2024-03-01:2,2024-03-02:4") == 0);
	CHECK(q_int(p, "SELECT sum(sessions_ok) FROM tlsrpt_daily WHERE"
	    " policy_domain = 'mail.example.com'") == 22);
	CHECK(strcmp(q_text(p, "SELECT sessions_ok || '|' || sessions_failed"
	    " || '|' || success_pct FROM v_tlsrpt_daily WHERE day ="
	    " '2024-03-01' AND policy_domain = 'example.com'"), "100|6|94.34")
	    == 0);
	/* deleting a report takes its policies and details along */
	CHECK(q_exec(p, "DELETE FROM reports WHERE report_id = 'other'")
	    == SQLITE_OK);
	CHECK(q_int(p, "SELECT count(*) FROM tlsrpt_policies") == 2);
	CHECK(q_int(p, "SELECT count(*) FROM tlsrpt_failures") == 2);
	return 0;
}

struct fail_fixture {
	struct report r;
	struct raw_value other[2];
};

static void
fail_init(struct fail_fixture *x, const char *rcpt)
{
	memset(x, 0, sizeof *x);
	x->r.kind = REPORT_FAILURE;
	x->r.fail.feedback_type = "auth-failure";
	x->r.fail.user_agent = "Reporter/1.0";
	x->r.fail.version = "1";
	x->r.fail.original_mail_from = "bounce@example.com";
	x->r.fail.original_rcpt_to = rcpt;
	x->r.fail.arrival_date = "Fri, 01 Mar 2024 10:00:00 +0000";
	x->r.fail.arrival_time = utc(2024, 3, 1, 10, 0, 0);
	x->r.fail.source_ip = "192.0.2.1";
	x->r.fail.reported_domain = "Example.COM";
	x->r.fail.authentication_results = "mx.example.net; dmarc=fail";
	x->r.fail.auth_failure = "dmarc";
	x->r.fail.dkim_domain = "example.com";
	x->r.fail.dkim_selector = "s1";
	x->other[0] = (struct raw_value){ "Incidents", "3" };
	x->other[1] = (struct raw_value){ "X-Note", "a \"quoted\"\tvalue" };
	x->r.fail.other_fields = x->other;
	x->r.fail.n_other_fields = 2;
	x->r.fail.orig_from = "ceo@example.com";
	x->r.fail.orig_subject = "Invoice";
	x->r.fail.orig_message_id = "<abc@example.com>";
}

static int
put_failure(struct store *s, struct fail_fixture *x, int64_t *rid)
{
	int64_t id = 0;
	int rc, brc;

	if ((rc = store_tx_begin(s, NULL)) < 0)
		return rc;
	if ((brc = store_report_begin(s, 0, &x->r, &id, NULL)) < 0) {
		rc = brc;
		goto fail;
	}
	if (brc == 0 && (rc = store_report_end(s, id, &x->r, NULL)) < 0)
		goto fail;
	if ((rc = store_tx_commit(s, NULL)) < 0)
		goto fail;
	if (rid != NULL)
		*rid = id;
	return brc;
fail:
	store_tx_rollback(s);
	return rc;
}

/* 14: failure reports: round trip, body, dedup. */
static int
case_failure(void)
{
	static const unsigned char body[] = "Hello\0\xff body";
	const char *p = new_path();
	struct store *s = NULL;
	struct fail_fixture x;
	struct err e = { 0 };
	int64_t rid = 0, rid2 = 0;

	CHECK(store_open(p, 0, &s, &e) == 0);
	fail_init(&x, "a@example.net");
	x.r.fail.orig_body = body;
	x.r.fail.orig_body_len = sizeof body - 1;
	CHECK(put_failure(s, &x, &rid) == 0);
	/* the same report again (body kept or not): known */
	fail_init(&x, "a@example.net");
	CHECK(put_failure(s, &x, &rid2) == 1);
	CHECK(rid2 == rid);
	/* same message, another recipient: another report */
	fail_init(&x, "b@example.net");
	CHECK(put_failure(s, &x, &rid2) == 0);
	CHECK(rid2 != rid);
	/* same everything but one extra field: another report */
	fail_init(&x, "b@example.net");
	x.r.fail.n_other_fields = 1;
	CHECK(put_failure(s, &x, NULL) == 0);
	/* no Message-ID: report_id from Arrival-Date and Source-IP */
	fail_init(&x, "c@example.net");
	x.r.fail.orig_message_id = NULL;
	CHECK(put_failure(s, &x, NULL) == 0);
	store_free(s);

	CHECK(q_int(p, "SELECT count(*) FROM reports WHERE kind = 'failure'")
	    == 4);
	CHECK(q_int(p, "SELECT count(*) FROM failure_reports") == 4);
	CHECK(q_int(p, "SELECT count(*) FROM reports r JOIN failure_reports f"
	    " ON f.report_id = r.id") == 4);
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT report_id || '|' || policy_domain"
	    " || '|' || begin || '|' || end || '|' || records || '|' ||"
	    " messages || '|' || messages_pass || '|' || length(reporter_key)"
	    " FROM reports WHERE id = %lld", (long long)rid);
	CHECK(strcmp(q_text(p, sql), "<abc@example.com>|example.com|"
	    "1709287200|1709287200|1|1|0|36") == 0);
	snprintf(sql, sizeof sql, "SELECT feedback_type || '|' || user_agent"
	    " || '|' || original_rcpt_to || '|' || arrival_time || '|' ||"
	    " source_ip || '|' || reported_domain || '|' || auth_failure ||"
	    " '|' || dkim_selector || '|' || orig_subject || '|' ||"
	    " other_fields || '|' || hex(orig_body) FROM failure_reports"
	    " WHERE report_id = %lld", (long long)rid);
	CHECK(strcmp(q_text(p, sql), "auth-failure|Reporter/1.0|a@example.net|"
	    "1709287200|192.0.2.1|Example.COM|dmarc|s1|Invoice|"
	    "[[\"Incidents\",\"3\"],[\"X-Note\",\"a \\\"quoted\\\"\\u0009value\"]]|"
	    "48656C6C6F00FF20626F6479") == 0);
	CHECK(strcmp(q_text(p, "SELECT json_extract(other_fields, '$[1][1]')"
	    " FROM failure_reports LIMIT 1"), "a \"quoted\"\tvalue") == 0);
	CHECK(q_int(p, "SELECT count(*) FROM failure_reports WHERE"
	    " orig_body IS NULL") == 3);
	CHECK(strcmp(q_text(p, "SELECT report_id FROM reports WHERE"
	    " report_id NOT LIKE '<%'"), "Fri, 01 Mar 2024 10:00:00 +0000"
	    " 192.0.2.1") == 0);
	CHECK(strcmp(q_text(p, "SELECT arrival_utc || '|' || has_body FROM"
	    " v_failure_reports ORDER BY id LIMIT 1"),
	    "2024-03-01 10:00:00|1") == 0);
	return 0;
}

/* 15: foreign keys: the writer runs with them off; every reference it
 * wrote holds (PRAGMA foreign_key_check), and deletes cascade through
 * the triggers with foreign_keys on or off. */
static int
case_foreign_keys(void)
{
	const char *p = new_path();
	struct store *s = NULL;
	struct fixture f;
	struct tls_fixture t;
	struct fail_fixture x;
	struct store_message m = { .sha256 = "ab", .size = 1,
	    .origin = "o", .kind = "xml", .received = 1 };
	struct store_rejected rj = { .origin = "o", .error_code = "format",
	    .at = 1 };
	struct err e = { 0 };
	int64_t mid = 0, rid = 0;

	CHECK(store_open(p, 0, &s, &e) == 0);
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_message_add(s, &m, &mid, &e) == 0);
	CHECK(store_message_add_origin(s, mid, "o2", 2, &e) == 0);
	fx_init(&f, "a@b", "r1", utc(2024, 3, 1, 0, 0, 0),
	    utc(2024, 3, 1, 23, 59, 59), "example.com");
	f.rep_raw[0] = (struct raw_value){ "date_range.begin", "x" };
	f.r.raw = f.rep_raw;
	f.r.n_raw = 1;
	fx_record(&f, 0, "192.0.2.1", 3, "none", "pass", "fail");
	f.rec_raw[0] = (struct raw_value){ "disposition", "None" };
	f.rec.raw = f.rec_raw;
	f.rec.n_raw = 1;
	f.reasons[0] = (struct agg_reason){ "forwarded", NULL };
	f.rec.reasons = f.reasons;
	f.rec.n_reasons = 1;
	f.errors[0] = "oops";
	f.r.agg.errors = f.errors;
	f.r.agg.n_errors = 1;
	CHECK(store_report_begin(s, mid, &f.r, &rid, &e) == 0);
	for (size_t i = 0; i < 3; i++) {
		f.rec.index = i;
		CHECK(store_report_record(s, rid, &f.r, &f.rec, &e) == 0);
	}
	CHECK(store_report_end(s, rid, &f.r, &e) == 0);
	CHECK(store_report_add_warning(s, rid, "trailing_data", NULL, &e)
	    == 0);
	rj.message_id = mid;
	CHECK(store_rejected_add(s, &rj, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	tls_init(&t, "t1");
	CHECK(put_tls(s, &t, NULL) == 0);
	fail_init(&x, "a@example.net");
	CHECK(put_failure(s, &x, NULL) == 0);
	store_free(s);

	CHECK(q_int(p, "SELECT count(*) FROM pragma_foreign_key_check") == 0);
	CHECK(q_int(p, "SELECT count(*) FROM raw_values") == 4);
	/* cascade with foreign_keys off (the sqlite3 default) */
	CHECK(q_exec(p, "DELETE FROM messages") == SQLITE_OK);
	CHECK(q_int(p, "SELECT (SELECT count(*) FROM message_origins) +"
	    " (SELECT count(*) FROM reports WHERE message_id IS NOT NULL) +"
	    " (SELECT count(*) FROM records) +"
	    " (SELECT count(*) FROM record_dkim) +"
	    " (SELECT count(*) FROM record_spf) +"
	    " (SELECT count(*) FROM record_reasons) +"
	    " (SELECT count(*) FROM raw_values) +"
	    " (SELECT count(*) FROM report_errors) +"
	    " (SELECT count(*) FROM report_warnings) +"
	    " (SELECT count(*) FROM rejected WHERE message_id IS NOT NULL)")
	    == 0);
	CHECK(q_int(p, "SELECT count(*) FROM rejected") == 1);
	/* and with them on */
	CHECK(q_exec(p, "PRAGMA foreign_keys = ON; DELETE FROM reports")
	    == SQLITE_OK);
	CHECK(q_int(p, "SELECT (SELECT count(*) FROM tlsrpt_policies) +"
	    " (SELECT count(*) FROM tlsrpt_failures) +"
	    " (SELECT count(*) FROM failure_reports)") == 0);
	CHECK(q_int(p, "SELECT count(*) FROM pragma_foreign_key_check") == 0);
	return 0;
}

/* 16: a version 1 database (with data) migrates to the current version. */
static int
case_migrate_v1(void)
{
	const char *p = new_path();
	struct store *s = NULL;
	struct fixture f;
	struct tls_fixture t;
	struct err e = { 0 };

	/* v1 = today's schema without the v2 objects */
	CHECK(store_open(p, 0, &s, &e) == 0);
	fx_init(&f, "a@b", "r1", utc(2024, 3, 1, 0, 0, 0),
	    utc(2024, 3, 1, 23, 59, 59), "example.com");
	fx_record(&f, 0, "192.0.2.1", 3, "none", "pass", "fail");
	CHECK(put_report(s, &f, 2, NULL) == 0);
	store_free(s);
	CHECK(q_exec(p, "DROP TRIGGER imap_folders_delete; DROP TABLE"
	    " imap_uids; DROP TABLE imap_folders;"
	    " DROP VIEW v_tlsrpt_daily; DROP VIEW"
	    " v_failure_reports; DROP TRIGGER reports_delete_v2;"
	    " DROP TRIGGER tlsrpt_policies_delete; DROP TABLE tlsrpt_failures;"
	    " DROP TABLE tlsrpt_policies; DROP TABLE tlsrpt_daily;"
	    " DROP TABLE failure_reports; PRAGMA user_version = 1")
	    == SQLITE_OK);
	/* and without the v4 objects (send log and providers) */
	CHECK(q_exec(p, "DROP VIEW foreign_senders; DROP VIEW v_sendlog_dmarc;"
	    " DROP VIEW v_agg_provider; DROP TABLE sendlog_daily;"
	    " DROP TABLE sendlog_hourly; DROP TABLE sendlog_sources;"
	    " DROP TABLE sender_targets; DROP TABLE sender_domains;"
	    " DROP TABLE sender_ips; DROP TABLE provider_codes;"
	    " DROP TABLE provider_stages; DROP TABLE provider_match;"
	    " DROP TABLE providers") == SQLITE_OK);
	/* and without the v5 objects (engine and hints) */
	CHECK(q_exec(p, "DROP TABLE engine_state; DROP TABLE engine_days;"
	    " DROP TABLE hints_runs; DROP TABLE throttle_hints") == SQLITE_OK);
	/* and without the v7 objects (reverse DNS cache) */
	CHECK(q_exec(p, "DROP TABLE ptr_cache") == SQLITE_OK);
	/* and without the v8 objects (the v8 columns went with their
	 * tables) */
	CHECK(q_exec(p, "DROP TABLE provider_params; DROP TABLE engine_acted")
	    == SQLITE_OK);
	CHECK(q_int(p, "SELECT count(*) FROM sqlite_master WHERE name LIKE"
	    " '%tlsrpt%' OR name LIKE '%failure%'") == 0);
	/* a reader refuses the old schema, a writer migrates it */
	s = NULL;
	CHECK(store_open(p, STORE_READONLY, &s, &e) == ERR_UNSUPPORTED);
	CHECK(store_open(p, 0, &s, &e) == 0);
	tls_init(&t, "t1");
	CHECK(put_tls(s, &t, NULL) == 0);
	store_free(s);
	CHECK(q_int(p, "PRAGMA user_version") == store_schema_version());
	CHECK(q_int(p, "SELECT count(*) FROM sqlite_master WHERE name IN"
	    " ('providers', 'sendlog_daily', 'v_sendlog_dmarc',"
	    " 'foreign_senders', 'ptr_cache')") == 5);
	CHECK(q_int(p, "SELECT count(*) FROM sqlite_master WHERE name IN"
	    " ('provider_params', 'engine_acted')") == 2);
	CHECK(q_int(p, "SELECT count(*) FROM pragma_table_info('engine_state')"
	    " WHERE name = 'stop_until'") == 1);
	CHECK(q_int(p, "SELECT count(*) FROM pragma_table_info('engine_days')"
	    " WHERE name IN ('usable_cap', 'missed_block',"
	    " 'missed_rate_signal', 'dmarc_expected')") == 4);
	CHECK(q_int(p, "SELECT count(*) FROM pragma_table_info('provider_codes')"
	    " WHERE name IN ('smtp', 'enhanced', 'phrase', 'prefix')") == 4);
	CHECK(q_int(p, "SELECT count(*) FROM sqlite_master WHERE name IN"
	    " ('tlsrpt_policies','tlsrpt_failures','tlsrpt_daily',"
	    "'failure_reports','v_tlsrpt_daily','v_failure_reports',"
	    "'imap_folders','imap_uids')") == 8);
	CHECK(q_int(p, "SELECT count(*) FROM records") == 2);
	CHECK(q_int(p, "SELECT messages FROM agg_daily") == 6);
	CHECK(q_int(p, "SELECT count(*) FROM tlsrpt_policies") == 2);
	return 0;
}

/* 19: a version 5 database (engine state, providers) migrates to the current version: the
 * rows stay, the new columns take their defaults. */
static int
case_migrate_v5(void)
{
	const char *p = new_path();
	struct store *s = NULL;
	struct err e = { 0 };

	CHECK(store_open(p, 0, &s, &e) == 0);
	store_free(s);
	CHECK(q_exec(p, "INSERT INTO providers (name, display_name,"
	    " dmarc_pass_green, dmarc_pass_amber, deferral_pct_amber,"
	    " deferral_pct_red, rate_per_hour, block_per_hour, max_per_hour,"
	    " max_connections, rate_pause_minutes, block_pause_minutes,"
	    " advance_delivered_pct, decay_idle_days, rewarm_idle_days,"
	    " profile_file, synced_at) VALUES ('google', 'Google', 98, 90, 5,"
	    " 20, 1, 5, 30000, 10, 10, 120, 90, 7, 30, '/p', 1);"
	    " INSERT INTO engine_state (source_ip, provider, phase, stage,"
	    " stage_days, cap_day, cap_hour, connections, ssthresh, last_good,"
	    " since, hold_until, last_decrease, last_increase, last_gated_day,"
	    " last_gate, amber_days, green_days, idle_days, pauses_24h,"
	    " last_pause, last_action, last_action_at, updated) VALUES"
	    " ('192.0.2.10', 'google', 'warmup', 2, 0, 600, 50, 3, 0, 300, 1,"
	    " 0, 0, 0, '2026-03-05', 'green', 0, 2, 0, 0, 0, 'advance', 1, 1)")
	    == SQLITE_OK);
	/* back to version 5: without the v7 table and the v8 objects and
	 * columns (v6 only rebuilds imap_uids with a wider CHECK: running it
	 * again on a current table keeps its rows) */
	CHECK(q_exec(p, "DROP TABLE ptr_cache;"
	    " DROP TABLE provider_params; DROP TABLE engine_acted;"
	    " ALTER TABLE providers DROP COLUMN sends_reports;"
	    " ALTER TABLE providers DROP COLUMN reports_source;"
	    " ALTER TABLE provider_codes DROP COLUMN smtp;"
	    " ALTER TABLE provider_codes DROP COLUMN enhanced;"
	    " ALTER TABLE provider_codes DROP COLUMN phrase;"
	    " ALTER TABLE provider_codes DROP COLUMN prefix;"
	    " ALTER TABLE engine_state DROP COLUMN stop_until;"
	    " ALTER TABLE engine_days DROP COLUMN usable_cap;"
	    " ALTER TABLE engine_days DROP COLUMN missed_block;"
	    " ALTER TABLE engine_days DROP COLUMN missed_rate_signal;"
	    " ALTER TABLE engine_days DROP COLUMN dmarc_expected;"
	    " PRAGMA user_version = 5") == SQLITE_OK);
	s = NULL;
	CHECK(store_open(p, STORE_READONLY, &s, &e) == ERR_UNSUPPORTED);
	CHECK(store_open(p, 0, &s, &e) == 0);
	store_free(s);
	CHECK(q_int(p, "PRAGMA user_version") == store_schema_version());
	CHECK(q_int(p, "SELECT cap_day + stop_until FROM engine_state") == 600);
	CHECK(q_int(p, "SELECT count(*) FROM providers WHERE sends_reports ="
	    " 'unknown' AND reports_source IS NULL") == 1);
	CHECK(q_int(p, "SELECT count(*) FROM sqlite_master WHERE name IN"
	    " ('provider_params', 'engine_acted')") == 2);
	return 0;
}

/* 17: IMAP state: UID rows, UIDVALIDITY change, archive target. */
static int
case_imap(void)
{
	const char *p = new_path();
	struct store *s = NULL;
	struct store_imap_uid row;
	struct store_message m;
	struct err e = { 0 };
	int64_t fid = 0, fid2 = 0, mid = 0;
	uint32_t uids[2] = { 7, 8 };
	int changed = -1;
	char t[16];

	CHECK(store_open(p, 0, &s, &e) == 0);
	CHECK(store_imap_folder(s, "u@h:993", "INBOX", 11, &fid, &changed,
	    &e) == 0 && changed == 0 && fid > 0);
	CHECK(store_imap_uid_get(s, fid, 7, &row, &e) == 0);
	CHECK(store_imap_uid_put(s, fid, 7, "aa", "stored", "tlsrpt", 0, &e)
	    == 0);
	CHECK(store_imap_uid_put(s, fid, 8, NULL, "retry", "", 2, &e) == 0);
	CHECK(store_imap_uid_get(s, fid, 7, &row, &e) == 1 &&
	    strcmp(row.state, "stored") == 0 &&
	    strcmp(row.target, "tlsrpt") == 0);
	CHECK(store_imap_uid_get(s, fid, 8, &row, &e) == 1 &&
	    row.attempts == 2 && strcmp(row.state, "retry") == 0);
	/* NULL sha256 keeps the old one */
	CHECK(store_imap_uid_put(s, fid, 7, NULL, "stored", "tlsrpt", 0, &e)
	    == 0);
	CHECK(store_imap_target_of(s, "aa", t, sizeof t, &e) == 1 &&
	    strcmp(t, "tlsrpt") == 0);
	CHECK(store_imap_target_of(s, "bb", t, sizeof t, &e) == 0);
	/* a rejected message known from elsewhere goes to invalid */
	CHECK(store_tx_begin(s, &e) == 0);
	memset(&m, 0, sizeof m);
	m.sha256 = "bb";
	m.size = 1;
	m.origin = "f";
	m.kind = "file";
	CHECK(store_message_add(s, &m, &mid, &e) == 0);
	CHECK(store_message_set_outcome(s, mid, MSG_REJECTED, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	CHECK(store_imap_target_of(s, "bb", t, sizeof t, &e) == 1 &&
	    strcmp(t, "invalid") == 0);
	CHECK(store_imap_uids_archived(s, fid, uids, 2, &e) == 0);
	CHECK(store_imap_uid_get(s, fid, 8, &row, &e) == 1 &&
	    strcmp(row.state, "archived") == 0);
	/* same UIDVALIDITY: rows kept; another folder: its own id */
	CHECK(store_imap_folder(s, "u@h:993", "INBOX", 11, &fid2, &changed,
	    &e) == 0 && changed == 0 && fid2 == fid);
	CHECK(store_imap_folder(s, "u@h:993", "Other", 11, &fid2, &changed,
	    &e) == 0 && changed == 0 && fid2 != fid);
	/* a new UIDVALIDITY forgets the folder's UIDs */
	CHECK(store_imap_folder(s, "u@h:993", "INBOX", 12, &fid2, &changed,
	    &e) == 0 && changed == 1 && fid2 == fid);
	CHECK(store_imap_uid_get(s, fid, 7, &row, &e) == 0);
	store_free(s);
	CHECK(q_int(p, "SELECT uidvalidity FROM imap_folders WHERE folder ="
	    " 'INBOX'") == 12);
	return 0;
}

/* 18: the reverse DNS cache: which addresses need a lookup (busiest
 * first, stale answers, failed ones after the retry time, the day
 * filter), one transaction per put, the read query of the pages. */
struct ptr_list {
	char ip[8][48];
	size_t n;
};

static int
ptr_list_cb(void *ctx, const char *ip)
{
	struct ptr_list *l = ctx;

	if (l->n < 8)
		snprintf(l->ip[l->n++], sizeof l->ip[0], "%s", ip);
	return 0;
}

static int
ptr_row_cb(void *ctx, const struct store_row *r)
{
	struct ptr_list *l = ctx;

	if (l->n < 8)
		snprintf(l->ip[l->n++], sizeof l->ip[0], "%s|%s|%s|%lld",
		    r->text[0], r->text[1], r->text[2] ? r->text[2] : "-",
		    (long long)r->num[3]);
	return 0;
}

static int
case_ptr(void)
{
	const char *p = new_path();
	static const char *const ips[] = { "192.0.2.1", "192.0.2.2",
	    "192.0.2.3" };
	static const uint64_t counts[] = { 30, 20, 10 };
	struct store *s = NULL;
	struct fixture f;
	struct err e = { 0 };
	struct ptr_list l;
	struct store_query_filter qf;
	struct store_ptr put[2] = {
		{ "192.0.2.1", STORE_PTR_OK, "a.example", 1, 900 },
		{ "192.0.2.2", STORE_PTR_ERROR, "ignored", 1, 900 },
	};
	struct store_ptr bad = { "192.0.2.3", (enum store_ptr_status)7, NULL,
	    0, 900 };
	char rid[8];

	CHECK(store_open(p, 0, &s, &e) == 0);
	for (size_t i = 0; i < 3; i++) {
		snprintf(rid, sizeof rid, "p%zu", i);
		fx_init(&f, "a@b", rid, utc(2024, 3, 1, 0, 0, 0),
		    utc(2024, 3, 1, 23, 59, 59), "example.com");
		fx_record(&f, 0, ips[i], counts[i], "none", "pass", "pass");
		CHECK(put_report(s, &f, 1, NULL) == 0);
	}
	memset(&l, 0, sizeof l);
	CHECK(store_ptr_candidates(s, 0, 1000, 500, 2, ptr_list_cb, &l,
	    &e) == 0);
	CHECK(l.n == 2 && strcmp(l.ip[0], ips[0]) == 0 &&
	    strcmp(l.ip[1], ips[1]) == 0);
	CHECK(store_ptr_put(s, put, 2, &e) == 0);
	/* both fresh: only the third */
	memset(&l, 0, sizeof l);
	CHECK(store_ptr_candidates(s, 0, 800, 800, 10, ptr_list_cb, &l,
	    &e) == 0);
	CHECK(l.n == 1 && strcmp(l.ip[0], ips[2]) == 0);
	/* the name is stale, the failure not yet due again */
	memset(&l, 0, sizeof l);
	CHECK(store_ptr_candidates(s, 0, 1000, 800, 10, ptr_list_cb, &l,
	    &e) == 0);
	CHECK(l.n == 2 && strcmp(l.ip[0], ips[0]) == 0 &&
	    strcmp(l.ip[1], ips[2]) == 0);
	/* the failure due again */
	memset(&l, 0, sizeof l);
	CHECK(store_ptr_candidates(s, 0, 800, 1000, 10, ptr_list_cb, &l,
	    &e) == 0);
	CHECK(l.n == 2 && strcmp(l.ip[0], ips[1]) == 0);
	/* sources seen from a later day: none */
	memset(&l, 0, sizeof l);
	CHECK(store_ptr_candidates(s, utc(2024, 3, 2, 0, 0, 0), 1000, 1000,
	    10, ptr_list_cb, &l, &e) == 0);
	CHECK(l.n == 0);
	/* a bad row rolls the whole put back */
	put[0].name = "changed.example";
	{
		struct store_ptr two[2] = { put[0], bad };

		CHECK(store_ptr_put(s, two, 2, &e) == ERR_INVAL);
	}
	store_free(s);
	CHECK(q_int(p, "SELECT count(*) FROM ptr_cache WHERE name ="
	    " 'a.example'") == 1);
	CHECK(q_int(p, "SELECT count(*) FROM ptr_cache") == 2);
	/* the pages' read query; an error keeps no name */
	s = NULL;
	CHECK(store_open(p, STORE_READONLY, &s, &e) == 0);
	memset(&qf, 0, sizeof qf);
	qf.ips = ips;
	qf.n_ips = 3;
	memset(&l, 0, sizeof l);
	CHECK(store_query_each(s, SQ_PTR_NAMES, &qf, ptr_row_cb, &l, &e) ==
	    0);
	store_free(s);
	CHECK(l.n == 2);
	CHECK(strcmp(l.ip[0], "192.0.2.1|ok|a.example|1") == 0 ||
	    strcmp(l.ip[1], "192.0.2.1|ok|a.example|1") == 0);
	CHECK(strcmp(l.ip[0], "192.0.2.2|error|-|0") == 0 ||
	    strcmp(l.ip[1], "192.0.2.2|error|-|0") == 0);
	return 0;
}

/* 20: store_report_records() writes a batch with multi-row statements
 * (STORE_MULTI_ROWS rows each, the rest one by one): every record gets
 * the next id in order, its DKIM and SPF rows (none, one or two) point
 * at it with their seq, reasons and raw values follow, and the result is
 * the same as one store_report_record() call per record. A bad record
 * anywhere in a batch refuses the batch before anything is written. */
static int
case_record_batches(void)
{
	static char p1[4200];
	const char *p2;
	static const size_t nb = 3 * 32 + 5;     /* 3 full statements + 5 */
	static struct agg_record recs[3 * 32 + 5];
	static char ips[3 * 32 + 5][32];
	int64_t d = utc(2024, 5, 6, 0, 0, 0);
	struct store *s = NULL;
	struct fixture f;
	struct err e = { 0 };
	int64_t rid = 0;
	char sql[4300];

	snprintf(p1, sizeof p1, "%s", new_path());
	fx_init(&f, "batch@x", "b1", d, d + 86399, "example.com");
	fx_record(&f, 0, "192.0.2.1", 1, "none", "pass", "pass");
	f.reasons[0] = (struct agg_reason){ "forwarded", "via list" };
	f.rec_raw[0] = (struct raw_value){ "row.source_ip", " 192.0.2.1 " };
	for (size_t i = 0; i < nb; i++) {
		recs[i] = f.rec;
		recs[i].index = i;
		snprintf(ips[i], sizeof ips[i], "192.0.2.%zu", i % 7);
		recs[i].source_ip = ips[i];
		recs[i].count = 1 + i;
		recs[i].n_dkim = i % 3;          /* 0, 1 or 2 */
		recs[i].n_spf = i % 4 != 0;      /* 0 or 1 */
		recs[i].n_reasons = i % 10 == 9;
		recs[i].reasons = f.reasons;
		recs[i].n_raw = i % 25 == 0;
		recs[i].raw = f.rec_raw;
	}
	/* the batch, after one record on its own (ids continue) */
	CHECK(store_open(p1, 0, &s, &e) == 0);
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_report_begin(s, 0, &f.r, &rid, &e) == 0);
	CHECK(store_report_records(s, rid, &f.r, recs, 1, &e) == 0);
	/* a record without source_ip in the middle: nothing of it lands */
	recs[50].source_ip = NULL;
	CHECK(store_report_records(s, rid, &f.r, recs + 1, nb - 1, &e) ==
	    ERR_INVAL);
	recs[50].source_ip = ips[50];
	CHECK(store_report_records(s, rid, &f.r, recs + 1, nb - 1, &e) == 0);
	CHECK(store_report_records(s, rid, &f.r, recs, 0, &e) == 0);
	f.r.n_records = nb;
	CHECK(store_report_end(s, rid, &f.r, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	store_free(s);
	s = NULL;
	CHECK(q_int(p1, "SELECT count(*) FROM records") == (int64_t)nb);
	CHECK(q_int(p1, "SELECT max(id) - min(id) + 1 FROM records") ==
	    (int64_t)nb);
	CHECK(q_int(p1, "SELECT count(*) FROM records WHERE id - seq <>"
	    " (SELECT min(id) FROM records)") == 0);
	CHECK(q_int(p1, "SELECT count(*) FROM records WHERE count <> seq + 1")
	    == 0);
	/* DKIM rows: seq % 3 of them per record, numbered from 0 */
	CHECK(q_int(p1, "SELECT count(*) FROM record_dkim") ==
	    q_int(p1, "SELECT sum(seq % 3) FROM records"));
	CHECK(q_int(p1, "SELECT count(*) FROM records r WHERE seq % 3 <>"
	    " (SELECT count(*) FROM record_dkim d WHERE d.record_id = r.id)")
	    == 0);
	CHECK(q_int(p1, "SELECT count(*) FROM record_dkim d JOIN records r"
	    " ON r.id = d.record_id WHERE (d.seq = 0 AND d.domain ="
	    " 'example.com' AND d.result = 'pass') OR (d.seq = 1 AND"
	    " d.domain = 'esp.net' AND d.human_result = 'bad sig')") ==
	    q_int(p1, "SELECT count(*) FROM record_dkim"));
	CHECK(q_int(p1, "SELECT count(*) FROM record_spf s JOIN records r"
	    " ON r.id = s.record_id WHERE r.seq % 4 <> 0 AND s.seq = 0 AND"
	    " s.scope = 'mfrom'") == q_int(p1, "SELECT count(*) FROM"
	    " record_spf"));
	CHECK(q_int(p1, "SELECT count(*) FROM record_spf") ==
	    q_int(p1, "SELECT count(*) FROM records WHERE seq % 4 <> 0"));
	CHECK(q_int(p1, "SELECT count(*) FROM record_reasons x JOIN records r"
	    " ON r.id = x.record_id WHERE r.seq % 10 = 9") == (int64_t)nb / 10);
	CHECK(q_int(p1, "SELECT count(*) FROM raw_values v JOIN records r"
	    " ON r.id = v.record_id WHERE r.seq % 25 = 0 AND v.raw ="
	    " ' 192.0.2.1 '") == 5);
	/* raw seq numbers the values in record order */
	CHECK(q_int(p1, "SELECT count(*) FROM raw_values a JOIN raw_values b"
	    " ON b.seq = a.seq + 1 JOIN records ra ON ra.id = a.record_id"
	    " JOIN records rb ON rb.id = b.record_id WHERE rb.seq <= ra.seq")
	    == 0);
	CHECK(q_int(p1, "SELECT count(*) FROM pragma_foreign_key_check")
	    == 0);
	CHECK(strcmp(q_text(p1, "SELECT records || '|' || messages FROM"
	    " reports"), "101|5151") == 0);

	/* one call per record gives the same rows */
	p2 = new_path();
	CHECK(store_open(p2, 0, &s, &e) == 0);
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_report_begin(s, 0, &f.r, &rid, &e) == 0);
	for (size_t i = 0; i < nb; i++)
		CHECK(store_report_record(s, rid, &f.r, &recs[i], &e) == 0);
	CHECK(store_report_end(s, rid, &f.r, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	store_free(s);
	snprintf(sql, sizeof sql, "ATTACH '%s' AS o", p1);
	{
		static const char *const q[] = {
			"SELECT count(*) FROM (SELECT * FROM records EXCEPT"
			" SELECT * FROM o.records)",
			"SELECT count(*) FROM (SELECT * FROM record_dkim EXCEPT"
			" SELECT * FROM o.record_dkim)",
			"SELECT count(*) FROM (SELECT * FROM record_spf EXCEPT"
			" SELECT * FROM o.record_spf)",
			"SELECT count(*) FROM (SELECT * FROM record_reasons"
			" EXCEPT SELECT * FROM o.record_reasons)",
			"SELECT count(*) FROM (SELECT * FROM raw_values EXCEPT"
			" SELECT * FROM o.raw_values)",
			"SELECT count(*) FROM (SELECT * FROM agg_daily EXCEPT"
			" SELECT * FROM o.agg_daily)",
		};
		for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
			CHECK(q_attached(p2, sql, q[i]) == 0);
	}
	CHECK(q_int(p2, "SELECT count(*) FROM agg_daily") == 7);
	return 0;
}

/* 21: a one-day report with more distinct (source_ip, header_from)
 * pairs than the in-memory table holds spills sorted runs and merges
 * them: pairs that recur across runs are summed, and agg_daily equals an
 * SQL GROUP BY over the records exactly, also where the day already had
 * rows of the same reporter (one upsert per row there) and of another
 * reporter (left alone), and where the table went to append mode and
 * one run holds a pair many times. */
static int
case_rollup_runs(void)
{
	const char *p = new_path();
	int64_t d = utc(2024, 6, 1, 0, 0, 0);
	static const char *const disp[] = { "none", "quarantine", "reject" };
	static const char *const hfs[] = { "example.com", NULL, "b.example" };
	struct store *s = NULL;
	struct fixture f;
	struct err e = { 0 };
	int64_t rid = 0;
	char ip[32];

	CHECK(store_open(p, 0, &s, &e) == 0);
	CHECK(store_tx_begin(s, &e) == 0);
	/* A (org "Example Org") and C (org "Other") first: 3000 pairs each
	 * that B meets again, in scattered places of its key range */
	for (int k = 0; k < 2; k++) {
		fx_init(&f, k ? "c@x" : "a@x", k ? "C" : "A", d, d + 86399,
		    "example.com");
		if (k)
			f.r.agg.org_name = "Other";
		CHECK(store_report_begin(s, 0, &f.r, &rid, &e) == 0);
		for (size_t i = 0; i < 3000; i++) {
			size_t key = i * 7;
			snprintf(ip, sizeof ip, "10.%zu.%zu.1", key / 256,
			    key % 256);
			fx_record(&f, i, ip, 1 + i % 5, disp[i % 3],
			    i % 2 ? "pass" : "fail", "fail");
			f.rec.source_ip = ip;
			f.rec.header_from = hfs[key % 3];
			CHECK(store_report_record(s, rid, &f.r, &f.rec, &e)
			    == 0);
		}
		CHECK(store_report_end(s, rid, &f.r, &e) == 0);
	}
	/* B: 70000 records over 25000 pairs, each pair 2-3 times spread
	 * over the whole report (so over several runs) */
	fx_init(&f, "a@x", "B", d, d + 86399, "example.com");
	CHECK(store_report_begin(s, 0, &f.r, &rid, &e) == 0);
	for (size_t i = 0; i < 70000; i++) {
		size_t key = (i * 7919) % 25000;
		snprintf(ip, sizeof ip, "10.%zu.%zu.1", key / 256, key % 256);
		fx_record(&f, i, ip, 1 + i % 4, disp[i % 3],
		    i % 3 ? "fail" : "pass", i % 5 ? "pass" : "fail");
		f.rec.source_ip = ip;
		f.rec.header_from = hfs[key % 3];
		CHECK(store_report_record(s, rid, &f.r, &f.rec, &e) == 0);
	}
	CHECK(store_report_end(s, rid, &f.r, &e) == 0);
	/* D, the next day: 20000 distinct senders (the table fills with no
	 * repeats and turns to append mode), then 30000 records from 50 of
	 * them, which pile up in the appended runs and are summed there */
	fx_init(&f, "a@x", "D", d + 86400, d + 2 * 86400 - 1, "example.com");
	CHECK(store_report_begin(s, 0, &f.r, &rid, &e) == 0);
	for (size_t i = 0; i < 50000; i++) {
		size_t key = i < 20000 ? i : (i * 13) % 50;
		snprintf(ip, sizeof ip, "10.%zu.%zu.2", key / 256, key % 256);
		fx_record(&f, i, ip, 1 + i % 3, disp[i % 3],
		    i % 2 ? "pass" : "fail", i % 7 ? "pass" : "fail");
		f.rec.source_ip = ip;
		f.rec.header_from = hfs[key % 3];
		CHECK(store_report_record(s, rid, &f.r, &f.rec, &e) == 0);
	}
	CHECK(store_report_end(s, rid, &f.r, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	store_free(s);
	CHECK(q_int(p, "SELECT count(*) FROM agg_daily") ==
	    25000 + 3000 + 20000);
	CHECK(q_int(p, "SELECT messages FROM agg_daily WHERE source_ip ="
	    " '10.0.7.2'") == q_int(p, "SELECT sum(count) FROM records"
	    " WHERE source_ip = '10.0.7.2'"));
	CHECK(q_int(p, "SELECT count(*) FROM records WHERE source_ip ="
	    " '10.0.7.2'") == 601);
	CHECK(q_int(p, "SELECT count(*) FROM (SELECT day, source_ip,"
	    " header_from, reporter, policy_domain, messages, dmarc_pass,"
	    " spf_aligned_pass, dkim_aligned_pass, quarantine, reject FROM"
	    " agg_daily EXCEPT " ROLLUP_SQL ")") == 0);
	CHECK(q_int(p, "SELECT count(*) FROM (" ROLLUP_SQL " EXCEPT SELECT"
	    " * FROM agg_daily)") == 0);
	/* the pairs A and B share: both reports' counts */
	CHECK(q_int(p, "SELECT count(*) FROM agg_daily a JOIN (SELECT"
	    " c.source_ip AS ip, ifnull(c.header_from, '') AS hf,"
	    " sum(c.count) AS n FROM records c JOIN reports r ON r.id ="
	    " c.report_id WHERE r.report_id = 'B' GROUP BY 1, 2) b ON b.ip ="
	    " a.source_ip AND b.hf = a.header_from WHERE a.reporter ="
	    " 'Example Org' AND a.messages > b.n") == 3000);
	return 0;
}

/* 22: store_sync() after commits (the IMAP source calls it before it
 * moves messages away): refused inside a transaction, fine outside and
 * on a read-only handle, and what it synced is there. */
static int
case_sync(void)
{
	const char *p = new_path();
	struct store_message m = { "cc", 3, "z", "xml", 9 };
	struct store *s = NULL;
	struct err e = { 0 };
	int64_t mid = 0;

	CHECK(store_open(p, 0, &s, &e) == 0);
	CHECK(store_sync(s, &e) == 0);               /* nothing written yet */
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_message_add(s, &m, &mid, &e) == 0);
	CHECK(store_sync(s, &e) == ERR_INVAL);
	CHECK(store_tx_commit(s, &e) == 0);
	CHECK(store_sync(s, &e) == 0);
	CHECK(q_int(p, "SELECT count(*) FROM messages") == 1);
	store_free(s);
	s = NULL;
	CHECK(store_open(p, STORE_READONLY, &s, &e) == 0);
	CHECK(store_sync(s, &e) == 0);
	store_free(s);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(void);
} cases[] = {
	{ "open, migrate, reopen", case_open },
	{ "newer or foreign database refused", case_refuse },
	{ "messages and origins", case_messages },
	{ "report dedup key", case_dedup },
	{ "records and child rows", case_records },
	{ "warnings", case_warnings },
	{ "daily rollup spreading", case_spread },
	{ "rollup in memory and in SQL agree", case_rollup_paths },
	{ "savepoint rollback", case_savepoint },
	{ "rejected rows", case_rejected },
	{ "read side and read-only", case_read },
	{ "hostile values", case_hostile },
	{ "TLS-RPT reports", case_tlsrpt },
	{ "failure reports", case_failure },
	{ "foreign keys and cascades", case_foreign_keys },
	{ "migration from version 1", case_migrate_v1 },
	{ "IMAP state", case_imap },
	{ "reverse DNS cache", case_ptr },
	{ "migration from version 5", case_migrate_v5 },
	{ "record batches, multi-row inserts", case_record_batches },
	{ "rollup runs spilled and merged", case_rollup_runs },
	{ "sync after commit", case_sync },
};

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	int n = (int)(sizeof cases / sizeof cases[0]);

	snprintf(dir, sizeof dir, "%s/dw-store-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		current_case = i + 1;
		if (cases[i].fn() != 0) {
			fprintf(stderr, "FAIL case %d: %s\n", i + 1,
			    cases[i].name);
			failures++;
		} else {
			printf("ok %d - %s\n", i + 1, cases[i].name);
		}
	}
	for (int i = 1; i <= n_db; i++) {
		snprintf(dbpath, sizeof dbpath, "%s/db%d.sqlite", dir, i);
		rm_db(dbpath);
	}
	rmdir(dir);
	printf("%d/%d cases passed\n", n - failures, n);
	return failures != 0;
}
