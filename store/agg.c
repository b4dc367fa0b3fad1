/*
 * store/agg.c - writing aggregate reports: the report row and its dedup
 * key, records with their auth results, warnings, raw values, totals and
 * the daily rollup. Called from the parser's sink inside a savepoint.
 *
 * Hot path: store_report_record() runs once per record (a million times
 * for the biggest reports), so it only binds and steps cached statements
 * with SQLITE_STATIC strings: no SELECT, no allocation, no formatting.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/limits.h"
#include "../common/strparse.h"
#include "../common/timefmt.h"
#include "store_priv.h"

#define DAY_SECONDS 86400

/* Last second SQLite's date() can format (9999-12-31T23:59:59Z). Days
 * outside 1970..9999 are nonsense from a broken reporter; such a report
 * is stored but left out of the rollup (doc/schema.md "Days"). */
#define ROLLUP_MAX_TIME ((int64_t)253402300799)

static int
is_pass(const char *v)
{
	return v != NULL && strcmp(v, "pass") == 0;
}

const char *
store_kind_name(enum report_kind k)
{
	switch (k) {
	case REPORT_AGGREGATE:
		return "aggregate";
	case REPORT_TLSRPT:
		return "tlsrpt";
	case REPORT_FAILURE:
		return "failure";
	}
	return NULL;
}

static const char *
flavour_name(enum agg_flavour f)
{
	switch (f) {
	case AGG_RFC7489:
		return "rfc7489";
	case AGG_RFC9990:
		return "rfc9990";
	}
	return NULL;
}

/* Who sent it, for the dedup key: the report e-mail address, else the
 * org name, lower-cased (reporters vary the case between resends). */
static char *
reporter_key(const struct report *r)
{
	const char *k = r->agg.email != NULL ? r->agg.email :
	    r->agg.org_name != NULL ? r->agg.org_name : "";
	char *dup = strdup(k);

	return dup != NULL ? sp_lower(dup) : NULL;
}

/* The id of the stored report with key k (the insert just conflicted). */
static int
find_existing(struct store *s, const struct store_report_key *k,
    int64_t *id, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, src;

	if ((rc = store_stmt(s, ST_REPORT_FIND, &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, k->kind);
	store_bind_text(st, 2, k->reporter);
	store_bind_text(st, 3, k->report_id != NULL ? k->report_id : "");
	sqlite3_bind_int64(st, 4, k->begin);
	sqlite3_bind_int64(st, 5, k->end);
	store_bind_text(st, 6, k->domain != NULL ? k->domain : "");
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = 0;
	} else if (src == SQLITE_DONE) {
		/* The insert conflicted, yet the key is not there. */
		rc = err_set(err, ERR_DB, "report conflicts on a key that "
		    "cannot be found");
	} else {
		rc = store_db_error(s, src, "find report", err);
	}
	sqlite3_reset(st);
	return rc;
}

static int
add_errors(struct store *s, int64_t rid, const struct report *r,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (r->agg.n_errors == 0)
		return 0;
	if ((rc = store_stmt(s, ST_REPORT_ERROR, &st, err)) < 0)
		return rc;
	for (size_t i = 0; i < r->agg.n_errors; i++) {
		if (r->agg.errors[i] == NULL)
			continue;
		sqlite3_bind_int64(st, 1, rid);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		store_bind_text(st, 3, r->agg.errors[i]);
		if ((rc = store_step_done(s, st, "add report error", err)) < 0)
			return rc;
	}
	return 0;
}

/*
 * The effective range of a report for spreading over days, as [b, e).
 * A range ending on a midnight is taken as exclusive of it (Microsoft:
 * 00:00:00 to the next 00:00:00 is one day); any other end second is
 * inclusive (Google: 00:00:00 to 23:59:59 is one day too). Degenerate
 * ranges (begin == end, end before begin, longer than
 * LIM_REPORT_SPAN_SECONDS) put everything on the day of begin.
 * Returns 0, or 1 when the report cannot be rolled up (times outside the
 * years 1970..9999).
 */
int
store_rollup_range(int64_t begin, int64_t end, int64_t *b, int64_t *e)
{
	if (begin < 0 || begin > ROLLUP_MAX_TIME)
		return 1;
	*b = begin;
	if (end < begin || end - begin > LIM_REPORT_SPAN_SECONDS)
		*e = begin + 1;
	else if (end % DAY_SECONDS == 0)
		*e = end > begin ? end : begin + 1;
	else
		*e = end + 1;
	if (*e - 1 > ROLLUP_MAX_TIME)
		*e = ROLLUP_MAX_TIME + 1;
	return 0;
}


/*
 * In-memory rollup of a one-day report. The SQL rollup sorts all the
 * report's records (GROUP BY); real big reports (one record per message,
 * D35) repeat a few senders thousands of times, so summing the pairs
 * (source_ip, header_from) in a hash table while the records stream past
 * is far cheaper. Only for reports that land on one day: there a record's
 * whole count goes to that day, so per-pair sums equal the per-record SQL
 * result exactly. Past the caps below the table gives up and the SQL
 * rollup runs instead, so memory stays bounded whatever the input.
 */
#define ACC_MAX_KEYS      16384u                /* distinct pairs */
#define ACC_MAX_KEY_BYTES ((size_t)1024 * 1024)
#define ACC_SLOTS         (2 * ACC_MAX_KEYS)    /* power of 2, load <= 1/2 */

enum { ACC_MSGS, ACC_PASS, ACC_SPF, ACC_DKIM, ACC_QUAR, ACC_REJ, ACC__N };

struct acc_entry {
	uint64_t hash;
	uint32_t ip, hf;          /* offsets into keys */
	uint32_t slot;
	uint64_t n[ACC__N];
};

struct rollup_acc {
	int active;               /* summing; 0 = SQL rollup at the end */
	char day[16];
	uint32_t *slots;          /* entry index + 1; 0 = empty */
	struct acc_entry *e;
	uint32_t n;
	char *keys;
	size_t keys_len;
};

void
store_rollup_acc_free(struct rollup_acc *a)
{
	if (a == NULL)
		return;
	free(a->slots);
	free(a->e);
	free(a->keys);
	free(a);
}

/* Clears the table for the next report: only the used slots. */
static void
acc_clear(struct rollup_acc *a)
{
	for (uint32_t i = 0; i < a->n; i++)
		a->slots[a->e[i].slot] = 0;
	a->n = 0;
	a->keys_len = 0;
	a->active = 0;
}

/* Prepares the table for report r: active only for one-day reports and
 * when memory is available (else the SQL rollup does the work). */
static void
acc_start(struct store *s, const struct report *r)
{
	struct rollup_acc *a = s->acc;
	int64_t b, e;

	if (a == NULL) {
		if ((a = calloc(1, sizeof *a)) == NULL)
			return;
		a->slots = calloc(ACC_SLOTS, sizeof *a->slots);
		a->e = malloc(ACC_MAX_KEYS * sizeof *a->e);
		a->keys = malloc(ACC_MAX_KEY_BYTES);
		if (a->slots == NULL || a->e == NULL || a->keys == NULL) {
			store_rollup_acc_free(a);
			return;
		}
		s->acc = a;
	}
	acc_clear(a);
	if (store_rollup_range(r->agg.begin, r->agg.end, &b, &e) != 0)
		return;
	if (b / DAY_SECONDS != (e - 1) / DAY_SECONDS)
		return;
	time_iso_day(b, a->day, sizeof a->day);
	a->active = 1;
}

static uint64_t
fnv1a(uint64_t h, const char *p)
{
	for (; *p != '\0'; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void
acc_add(struct rollup_acc *a, const struct agg_record *rec, int pass)
{
	const char *ip = rec->source_ip;
	const char *hf = rec->header_from != NULL ? rec->header_from : "";
	uint64_t h = fnv1a(fnv1a(0xcbf29ce484222325ull, ip) ^ 0xff, hf);
	uint32_t i = (uint32_t)h & (ACC_SLOTS - 1);
	struct acc_entry *en;

	while (a->slots[i] != 0) {
		en = &a->e[a->slots[i] - 1];
		if (en->hash == h && strcmp(a->keys + en->ip, ip) == 0 &&
		    strcmp(a->keys + en->hf, hf) == 0)
			goto add;
		i = (i + 1) & (ACC_SLOTS - 1);
	}
	size_t lip = strlen(ip) + 1, lhf = strlen(hf) + 1;
	if (a->n == ACC_MAX_KEYS ||
	    lip + lhf > ACC_MAX_KEY_BYTES - a->keys_len) {
		acc_clear(a);     /* too many senders: SQL rollup */
		return;
	}
	en = &a->e[a->n];
	memset(en, 0, sizeof *en);
	en->hash = h;
	en->slot = i;
	en->ip = (uint32_t)a->keys_len;
	memcpy(a->keys + a->keys_len, ip, lip);
	a->keys_len += lip;
	en->hf = (uint32_t)a->keys_len;
	memcpy(a->keys + a->keys_len, hf, lhf);
	a->keys_len += lhf;
	a->slots[i] = ++a->n;
add:
	en->n[ACC_MSGS] += rec->count;
	if (pass)
		en->n[ACC_PASS] += rec->count;
	if (is_pass(rec->spf_aligned))
		en->n[ACC_SPF] += rec->count;
	if (is_pass(rec->dkim_aligned))
		en->n[ACC_DKIM] += rec->count;
	if (rec->disposition != NULL &&
	    strcmp(rec->disposition, "quarantine") == 0)
		en->n[ACC_QUAR] += rec->count;
	if (rec->disposition != NULL && strcmp(rec->disposition, "reject") == 0)
		en->n[ACC_REJ] += rec->count;
}

/* Writes the summed pairs of a one-day report. */
static int
acc_write(struct store *s, const struct report *r, struct err *err)
{
	struct rollup_acc *a = s->acc;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_stmt(s, ST_ROLLUP_ROW, &st, err)) < 0)
		return rc;
	for (uint32_t i = 0; i < a->n; i++) {
		const struct acc_entry *en = &a->e[i];
		if (en->n[ACC_MSGS] == 0)
			continue;
		store_bind_text(st, 1, a->day);
		store_bind_text(st, 2, a->keys + en->ip);
		store_bind_text(st, 3, a->keys + en->hf);
		store_bind_text(st, 4, r->agg.org_name != NULL ?
		    r->agg.org_name : "");
		store_bind_text(st, 5, r->policy.domain != NULL ?
		    r->policy.domain : "");
		for (int k = 0; k < ACC__N; k++)
			sqlite3_bind_int64(st, 6 + k,
			    (sqlite3_int64)en->n[k]);
		if ((rc = store_step_done(s, st, "daily rollup", err)) < 0)
			return rc;
	}
	return 0;
}

/* Resets the per-report state once a new reports row is in. */
void
store_report_started(struct store *s, int64_t id)
{
	s->cur_report = id;
	s->cur_kind = 0;
	s->cur_first_record = 0;
	s->cur_last_record = 0;
	s->cur_records = 0;
	s->cur_messages = 0;
	s->cur_pass = 0;
	s->cur_raw_seq = 0;
	s->cur_domain_set = 0;
}

/*
 * Inserts the reports row of r with dedup key k (ON CONFLICT DO NOTHING).
 * Returns 0 and *id for a new row, 1 and the stored row's id when the key
 * is known, <0 on error. The kind-specific columns come from r: the
 * aggregate metadata and policy for aggregate reports, the TLS-RPT
 * metadata (doc/schema.md "Report kinds") otherwise.
 */
int
store_report_insert(struct store *s, int64_t message_id,
    const struct report *r, const struct store_report_key *k,
    const char *org_name, const char *email, int64_t *id, struct err *err)
{
	const int agg = r->kind == REPORT_AGGREGATE;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_stmt(s, ST_REPORT_ADD, &st, err)) < 0)
		return rc;
	/* 0 = no message row (tools, tests): stored as NULL. */
	if (message_id > 0)
		sqlite3_bind_int64(st, 1, message_id);
	else
		sqlite3_bind_null(st, 1);
	store_bind_text(st, 2, k->kind);
	store_bind_text(st, 3, agg ? flavour_name(r->agg.flavour) : NULL);
	store_bind_text(st, 4, agg ? r->agg.xml_namespace : NULL);
	store_bind_text(st, 5, agg ? r->agg.version : NULL);
	store_bind_text(st, 6, org_name);
	store_bind_text(st, 7, email);
	store_bind_text(st, 8, agg ? r->agg.extra_contact_info : NULL);
	store_bind_text(st, 9, k->report_id);
	store_bind_text(st, 10, agg ? r->agg.generator : NULL);
	sqlite3_bind_int64(st, 11, k->begin);
	sqlite3_bind_int64(st, 12, k->end);
	store_bind_text(st, 13, k->domain);
	store_bind_text(st, 14, agg ? r->policy.adkim : NULL);
	store_bind_text(st, 15, agg ? r->policy.aspf : NULL);
	store_bind_text(st, 16, agg ? r->policy.p : NULL);
	store_bind_text(st, 17, agg ? r->policy.sp : NULL);
	store_bind_text(st, 18, agg ? r->policy.np : NULL);
	if (agg && r->policy.pct >= 0)
		sqlite3_bind_int(st, 19, r->policy.pct);
	else
		sqlite3_bind_null(st, 19);
	store_bind_text(st, 20, agg ? r->policy.fo : NULL);
	store_bind_text(st, 21, agg ? r->policy.testing : NULL);
	store_bind_text(st, 22, agg ? r->policy.discovery_method : NULL);
	store_bind_text(st, 23, agg ? r->agg.extensions_xml : NULL);
	sqlite3_bind_int(st, 24, r->recovered ? 1 : 0);
	store_bind_text(st, 25, k->reporter);
	sqlite3_bind_int64(st, 26, (sqlite3_int64)time(NULL));
	if ((rc = store_step_done(s, st, "add report", err)) < 0)
		return rc;
	if (sqlite3_changes(s->db) == 0) {
		/* ON CONFLICT DO NOTHING: the dedup key is known. A
		 * well-formed copy takes the place of a recovered one
		 * (replace.c); the insert then goes through. */
		if ((rc = find_existing(s, k, id, err)) < 0)
			return rc;
		if (r->kind == REPORT_AGGREGATE && !r->recovered &&
		    (rc = store_replace_recovered(s, *id, err)) != 0) {
			if (rc < 0 || (rc = store_report_insert(s, message_id,
			    r, k, org_name, email, id, err)) != 0)
				return rc < 0 ? rc : err_set(err, ERR_DB,
				    "replaced report still conflicts");
			s->cur_replaced = 1;
			return 0;
		}
		return 1;
	}
	*id = sqlite3_last_insert_rowid(s->db);
	store_report_started(s, *id);
	s->cur_kind = r->kind;
	return 0;
}

static int
aggregate_begin(struct store *s, int64_t message_id, const struct report *r,
    int64_t *report_id, struct err *err)
{
	struct store_report_key k;
	char *key = NULL;
	int rc;

	if ((key = reporter_key(r)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	k = (struct store_report_key){ .kind = "aggregate", .reporter = key,
	    .report_id = r->agg.report_id, .begin = r->agg.begin,
	    .end = r->agg.end, .domain = r->policy.domain };
	rc = store_report_insert(s, message_id, r, &k, r->agg.org_name,
	    r->agg.email, report_id, err);
	free(key);
	if (rc != 0)
		return rc;
	if ((rc = add_errors(s, *report_id, r, err)) < 0)
		return rc;
	acc_start(s, r);
	return 0;
}

int
store_report_begin(struct store *s, int64_t message_id,
    const struct report *r, int64_t *report_id, struct err *err)
{
	if (s == NULL || r == NULL || report_id == NULL)
		return err_set(err, ERR_INVAL, "report_begin: bad arguments");
	s->cur_report = 0;
	s->cur_replaced = 0;
	switch (r->kind) {
	case REPORT_AGGREGATE:
		return aggregate_begin(s, message_id, r, report_id, err);
	case REPORT_TLSRPT:
		return store_tlsrpt_begin(s, message_id, r, report_id, err);
	case REPORT_FAILURE:
		return store_failure_begin(s, message_id, r, report_id, err);
	}
	return err_set(err, ERR_UNSUPPORTED, "unknown report kind %d",
	    (int)r->kind);
}

static int
add_raw(struct store *s, int64_t rid, int64_t record_id,
    const struct raw_value *raw, size_t n, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (n == 0)
		return 0;
	if ((rc = store_stmt(s, ST_RAW, &st, err)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (raw[i].field == NULL)
			continue;
		sqlite3_bind_int64(st, 1, rid);
		if (record_id > 0)
			sqlite3_bind_int64(st, 2, record_id);
		else
			sqlite3_bind_null(st, 2);
		store_bind_text(st, 3, raw[i].field);
		store_bind_text(st, 4, raw[i].raw);
		sqlite3_bind_int64(st, 5, s->cur_raw_seq++);
		if ((rc = store_step_done(s, st, "add raw value", err)) < 0)
			return rc;
	}
	return 0;
}

int
store_report_record(struct store *s, int64_t report_id,
    const struct report *r, const struct agg_record *rec, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t id;
	int rc, pass;

	if (s == NULL || rec == NULL)
		return err_set(err, ERR_INVAL, "report_record: bad arguments");
	if (report_id <= 0 || report_id != s->cur_report)
		return err_set(err, ERR_INVAL, "record for report %lld outside "
		    "its report_begin/end", (long long)report_id);
	if (s->cur_kind != REPORT_AGGREGATE)
		return err_set(err, ERR_INVAL, "record for a %s report",
		    store_kind_name(s->cur_kind));
	if (rec->source_ip == NULL)
		return err_set(err, ERR_INVAL, "record %zu has no source_ip",
		    rec->index);
	/* The parser enforces this too; here it keeps count * span in 64
	 * bits for the rollup and the sums exact. */
	if (rec->count > LIM_RECORD_COUNT)
		return err_set(err, ERR_TOO_LARGE, "record %zu count exceeds "
		    "LIM_RECORD_COUNT (%llu)", rec->index,
		    (unsigned long long)LIM_RECORD_COUNT);
	pass = is_pass(rec->dkim_aligned) || is_pass(rec->spf_aligned);

	if ((rc = store_stmt(s, ST_RECORD, &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, report_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)rec->index);
	store_bind_text(st, 3, rec->source_ip);
	if (rec->ip_family == 4 || rec->ip_family == 6) {
		sqlite3_bind_blob(st, 4, rec->ip_bin, sizeof rec->ip_bin,
		    SQLITE_STATIC);
		sqlite3_bind_int(st, 5, rec->ip_family);
	} else {
		sqlite3_bind_null(st, 4);
		sqlite3_bind_null(st, 5);
	}
	sqlite3_bind_int64(st, 6, (sqlite3_int64)rec->count);
	store_bind_text(st, 7, rec->disposition);
	store_bind_text(st, 8, rec->dkim_aligned);
	store_bind_text(st, 9, rec->spf_aligned);
	sqlite3_bind_int(st, 10, pass);
	store_bind_text(st, 11, rec->header_from);
	store_bind_text(st, 12, rec->envelope_from);
	store_bind_text(st, 13, rec->envelope_to);
	store_bind_text(st, 14, rec->extensions_xml);
	if ((rc = store_step_done(s, st, "add record", err)) < 0)
		goto out;
	id = sqlite3_last_insert_rowid(s->db);

	if (rec->n_dkim > 0) {
		if ((rc = store_stmt(s, ST_DKIM, &st, err)) < 0)
			goto out;
		for (size_t i = 0; i < rec->n_dkim; i++) {
			const struct agg_dkim *d = &rec->dkim[i];
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
			store_bind_text(st, 3, d->domain);
			store_bind_text(st, 4, d->selector);
			store_bind_text(st, 5, d->result);
			store_bind_text(st, 6, d->human_result);
			rc = store_step_done(s, st, "add dkim result", err);
			if (rc < 0)
				goto out;
		}
	}
	if (rec->n_spf > 0) {
		if ((rc = store_stmt(s, ST_SPF, &st, err)) < 0)
			goto out;
		for (size_t i = 0; i < rec->n_spf; i++) {
			const struct agg_spf *p = &rec->spf[i];
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
			store_bind_text(st, 3, p->domain);
			store_bind_text(st, 4, p->scope);
			store_bind_text(st, 5, p->result);
			store_bind_text(st, 6, p->human_result);
			rc = store_step_done(s, st, "add spf result", err);
			if (rc < 0)
				goto out;
		}
	}
	if (rec->n_reasons > 0) {
		if ((rc = store_stmt(s, ST_REASON, &st, err)) < 0)
			goto out;
		for (size_t i = 0; i < rec->n_reasons; i++) {
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
			store_bind_text(st, 3, rec->reasons[i].type);
			store_bind_text(st, 4, rec->reasons[i].comment);
			rc = store_step_done(s, st, "add reason", err);
			if (rc < 0)
				goto out;
		}
	}
	if ((rc = add_raw(s, report_id, id, rec->raw, rec->n_raw, err)) < 0)
		goto out;

	if (s->cur_first_record == 0)
		s->cur_first_record = id;
	s->cur_last_record = id;
	s->cur_records++;
	s->cur_messages += rec->count;
	if (pass)
		s->cur_pass += rec->count;
	if (s->acc != NULL && s->acc->active)
		acc_add(s->acc, rec, pass);
	rc = 0;
out:
	if (rc < 0)
		err_where(err, "record %zu", rec->index);
	return rc;
}

static int
rollup(struct store *s, int64_t rid, const struct report *r,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t b, e;
	int rc;

	if (s->cur_first_record == 0)
		return 0;
	if (s->acc != NULL && s->acc->active)
		return acc_write(s, r, err);
	if (store_rollup_range(r->agg.begin, r->agg.end, &b, &e) != 0)
		return 0;
	if (b / DAY_SECONDS == (e - 1) / DAY_SECONDS) {
		/* One day, too many senders for the table. */
		char day[16];

		if ((rc = store_stmt(s, ST_ROLLUP_1DAY, &st, err)) < 0)
			return rc;
		time_iso_day(b, day, sizeof day);
		sqlite3_bind_int64(st, 1, s->cur_first_record);
		sqlite3_bind_int64(st, 2, s->cur_last_record);
		store_bind_text(st, 3, day);
		store_bind_text(st, 4, r->agg.org_name != NULL ?
		    r->agg.org_name : "");
		store_bind_text(st, 5, r->policy.domain != NULL ?
		    r->policy.domain : "");
		sqlite3_bind_int64(st, 6, rid);
		return store_step_done(s, st, "daily rollup", err);
	}
	if ((rc = store_stmt(s, ST_ROLLUP, &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, s->cur_first_record);
	sqlite3_bind_int64(st, 2, s->cur_last_record);
	sqlite3_bind_int64(st, 3, b - b % DAY_SECONDS);
	sqlite3_bind_int64(st, 4, b);
	sqlite3_bind_int64(st, 5, e);
	sqlite3_bind_int64(st, 6, e - b);
	store_bind_text(st, 7, r->agg.org_name != NULL ? r->agg.org_name : "");
	store_bind_text(st, 8, r->policy.domain != NULL ? r->policy.domain :
	    "");
	sqlite3_bind_int64(st, 9, rid);
	return store_step_done(s, st, "daily rollup", err);
}

static int
add_warnings(struct store *s, int64_t rid, const struct report *r,
    uint64_t *total, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*total = 0;
	if (r->n_warnings == 0)
		return 0;
	if ((rc = store_stmt(s, ST_REPORT_WARNING, &st, err)) < 0)
		return rc;
	for (size_t i = 0; i < r->n_warnings; i++) {
		const struct report_warning *w = &r->warnings[i];
		uint64_t n = w->count > INT64_MAX ? INT64_MAX : w->count;
		const char *tok = warn_token(w->code);

		sqlite3_bind_int64(st, 1, rid);
		store_bind_text(st, 2, tok != NULL ? tok : "unknown");
		sqlite3_bind_int64(st, 3, (sqlite3_int64)n);
		store_bind_text(st, 4, w->detail);
		if ((rc = store_step_done(s, st, "add warning", err)) < 0)
			return rc;
		*total = n > INT64_MAX - *total ? INT64_MAX : *total + n;
	}
	return 0;
}

int
store_report_add_warning(struct store *s, int64_t report_id,
    const char *token, const char *detail, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (s == NULL || report_id <= 0 || token == NULL)
		return err_set(err, ERR_INVAL, "add_warning: bad arguments");
	if ((rc = store_stmt(s, ST_REPORT_WARNING, &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, report_id);
	store_bind_text(st, 2, token);
	sqlite3_bind_int64(st, 3, 1);
	store_bind_text(st, 4, detail);
	if ((rc = store_step_done(s, st, "add warning", err)) < 0)
		return rc;
	if ((rc = store_stmt(s, ST_REPORT_WARN_BUMP, &st, err)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, report_id);
	sqlite3_bind_int64(st, 2, 1);
	return store_step_done(s, st, "count warning", err);
}

int
store_report_replaced(const struct store *s)
{
	return s != NULL && s->cur_replaced;
}

int
store_report_end(struct store *s, int64_t report_id, const struct report *r,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	uint64_t nwarn = 0, skipped;
	int rc;

	if (s == NULL || r == NULL)
		return err_set(err, ERR_INVAL, "report_end: bad arguments");
	if (report_id <= 0 || report_id != s->cur_report)
		return err_set(err, ERR_INVAL, "report_end for report %lld "
		    "without its report_begin", (long long)report_id);
	if (r->kind != s->cur_kind)
		return err_set(err, ERR_INVAL, "report_end: kind changed");
	if ((rc = add_warnings(s, report_id, r, &nwarn, err)) < 0)
		goto out;
	if ((rc = add_raw(s, report_id, 0, r->raw, r->n_raw, err)) < 0)
		goto out;
	if ((rc = store_stmt(s, ST_REPORT_TOTALS, &st, err)) < 0)
		goto out;
	skipped = r->n_rows_skipped > INT64_MAX ? INT64_MAX :
	    r->n_rows_skipped;
	/* Sums of counts <= LIM_RECORD_COUNT over <= LIM_RECORDS records
	 * stay far below 2^63. */
	sqlite3_bind_int64(st, 1, report_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)s->cur_records);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)s->cur_messages);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)s->cur_pass);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)skipped);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)nwarn);
	sqlite3_bind_int(st, 7, r->recovered ? 1 : 0);
	if ((rc = store_step_done(s, st, "report totals", err)) < 0)
		goto out;
	switch (s->cur_kind) {
	case REPORT_AGGREGATE:
		rc = rollup(s, report_id, r, err);
		break;
	case REPORT_TLSRPT:
		/* tlsrpt_daily rows went in with each policy */
		rc = 0;
		break;
	case REPORT_FAILURE:
		rc = store_failure_end(s, report_id, r, err);
		break;
	}
out:
	s->cur_report = 0;
	return rc;
}
