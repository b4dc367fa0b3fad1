/*
 * store/agg.c - writing aggregate reports: the report row and its dedup
 * key, records with their auth results, warnings, raw values, totals and
 * the daily rollup. Called from the parser's sink inside a savepoint.
 *
 * Hot path: store_report_records() runs for every batch of records (a
 * million records for the biggest reports), so it only binds and steps
 * cached multi-row statements with SQLITE_STATIC strings: one SELECT per
 * report (the next record id), no allocation, no formatting.
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

/* v is "pass". Several times per record: no strcmp call for it. */
static int
is_pass(const char *v)
{
	return v != NULL && v[0] == 'p' && v[1] == 'a' && v[2] == 's' &&
	    v[3] == 's' && v[4] == '\0';
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
 * Rollup of a one-day report, summed here while the records stream past
 * instead of by an SQL GROUP BY over them at the end. On a one-day report
 * a record's whole count goes to that day, so the sums per (source_ip,
 * header_from) equal the per-record SQL rollup exactly.
 *
 * Real big reports (one record per message, D35) repeat a few thousand
 * senders: a hash table of ACC_MAX_KEYS pairs sums them in place. A
 * report with more distinct pairs than that spills the table, sorted, as
 * a run to a temporary file each time it fills; at the report's end the
 * runs are merged (equal pairs summed) and written in key order. Memory
 * stays bounded whatever the input, the work is one sort per table and
 * one upsert per distinct pair, and agg_daily grows at its b-tree's edge
 * (its key is the day, then the pair). Multi-day reports are rolled up by
 * SQL (ST_ROLLUP: each record's count is spread over the days), and so is
 * a one-day report whose table could not be had or could not spill
 * (ST_ROLLUP_1DAY, over its records).
 */
#define ACC_MAX_KEYS      16384u                /* distinct pairs */
#define ACC_MAX_KEY_BYTES ((size_t)1024 * 1024)
#define ACC_SLOTS         (2 * ACC_MAX_KEYS)    /* power of 2, load <= 1/2 */
#define ACC_WBUF_BYTES    ((size_t)64 * 1024)   /* run writes */
/* Read buffer per run while merging (with the run's current key, 8 KiB
 * per run): LIM_RECORDS distinct senders make 611 runs, 5 MiB. */
#define ACC_RBUF_BYTES    ((size_t)4 * 1024)
/* Longest source_ip or header_from the table takes (the parser's cap). */
#define ACC_FIELD_MAX     ((size_t)LIM_FIELD_BYTES)

enum { ACC_MSGS, ACC_PASS, ACC_SPF, ACC_DKIM, ACC_QUAR, ACC_REJ, ACC__N };

/* 64 bytes: one cache line (the table is reached at random). */
struct acc_entry {
	uint64_t hash;            /* while summing; the sort prefix after */
	uint32_t ip, hf;          /* offsets into keys */
	uint64_t n[ACC__N];
};
_Static_assert(sizeof(struct acc_entry) == 64, "acc_entry: one cache line");

/* A run in the temporary file: n entries from byte off, each a header
 * (ip length, header_from length: uint32; the sums: uint64 x ACC__N,
 * native byte order: the file never outlives the process) followed by
 * the two strings without terminators. */
struct acc_run {
	int64_t off;
	uint64_t n;
};

/* Rows on their way to agg_daily, STORE_MULTI_ROWS per statement. */
struct acc_out {
	const char *reporter, *domain;
	size_t n;
	size_t klen;
	struct {
		size_t ip, hf;        /* offsets into keys */
		uint64_t n[ACC__N];
	} row[STORE_MULTI_ROWS];
	char keys[STORE_MULTI_ROWS * 2 * (ACC_FIELD_MAX + 1)];
};

struct rollup_acc {
	int active;               /* summing; 0 = SQL rollup at the end */
	/* Append mode: the report's senders barely repeat (the first time
	 * the table filled, fewer than 1 record in 4 had found its pair
	 * already), so records are appended without hashing and equal pairs
	 * are summed when a run is written; hashing a million distinct
	 * senders into a table that is flushed every 16384 of them only
	 * cost cache misses. */
	int append;
	uint64_t added;           /* records summed since the table emptied */
	char day[16];
	uint32_t *slots;          /* entry index + 1; 0 = empty */
	struct acc_entry *e;
	uint32_t n;
	char *keys;
	size_t keys_len;
	uint32_t *order;          /* sort scratch, ACC_MAX_KEYS */

	/* spilled runs (the temporary file is SQLite's: its temp directory,
	 * deleted on close) */
	sqlite3_file *tmp;
	int64_t tmp_len;          /* bytes written, wbuf included */
	unsigned char *wbuf;
	size_t wlen;
	struct acc_run *runs;
	size_t n_runs, cap_runs;
	struct acc_out *out;
};

static void
acc_tmp_close(struct rollup_acc *a)
{
	if (a->tmp != NULL) {
		if (a->tmp->pMethods != NULL)
			a->tmp->pMethods->xClose(a->tmp);
		free(a->tmp);
		a->tmp = NULL;
	}
	a->tmp_len = 0;
	a->wlen = 0;
	a->n_runs = 0;
}

void
store_rollup_acc_free(struct rollup_acc *a)
{
	if (a == NULL)
		return;
	acc_tmp_close(a);
	free(a->slots);
	free(a->e);
	free(a->keys);
	free(a->order);
	free(a->wbuf);
	free(a->runs);
	free(a->out);
	free(a);
}

/* Empties the table (no slot is in use in append mode). */
static void
acc_empty(struct rollup_acc *a)
{
	if (a->n > 0 && !a->append)
		memset(a->slots, 0, ACC_SLOTS * sizeof *a->slots);
	a->n = 0;
	a->keys_len = 0;
	a->added = 0;
}

/* Clears everything for the next report; the SQL rollup runs unless
 * acc_start() activates the table again. */
static void
acc_clear(struct rollup_acc *a)
{
	acc_empty(a);
	acc_tmp_close(a);
	a->active = 0;
	a->append = 0;
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
		a->e = aligned_alloc(64, ACC_MAX_KEYS * sizeof *a->e);
		a->keys = malloc(ACC_MAX_KEY_BYTES);
		a->order = malloc(ACC_MAX_KEYS * sizeof *a->order);
		a->out = malloc(sizeof *a->out);
		if (a->slots == NULL || a->e == NULL || a->keys == NULL ||
		    a->order == NULL || a->out == NULL) {
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

/* Key order: source_ip, then header_from, bytewise: the order of
 * agg_daily's primary key (BINARY collation) for one day. The hash
 * field holds the first 8 bytes of source_ip by now (acc_sort), which
 * decides most comparisons without a strcmp. */
static int
acc_cmp(const void *x, const void *y, void *ctx)
{
	const struct rollup_acc *a = ctx;
	const struct acc_entry *p = &a->e[*(const uint32_t *)x];
	const struct acc_entry *q = &a->e[*(const uint32_t *)y];
	int c;

	if (p->hash != q->hash)
		return p->hash < q->hash ? -1 : 1;
	c = strcmp(a->keys + p->ip, a->keys + q->ip);
	return c != 0 ? c : strcmp(a->keys + p->hf, a->keys + q->hf);
}

/* a->order = the table's entries in key order. The hashes are not
 * needed any more (the table is emptied or written next): each becomes
 * its source_ip's first 8 bytes, big-endian, zero-padded, so that
 * comparing two of them as integers orders like strcmp() (a NUL
 * terminator sorts before every byte). */
static uint64_t
ip_prefix(const char *s)
{
	const unsigned char *ip = (const unsigned char *)s;
	uint64_t v = 0;
	int end = 0;

	for (int k = 0; k < 8; k++) {
		unsigned char c = end ? 0 : ip[k];
		end = c == '\0';
		v = v << 8 | c;
	}
	return v;
}

static void
acc_sort(struct rollup_acc *a)
{
	for (uint32_t i = 0; i < a->n; i++) {
		a->e[i].hash = ip_prefix(a->keys + a->e[i].ip);
		a->order[i] = i;
	}
	qsort_r(a->order, a->n, sizeof *a->order, acc_cmp, a);
}

static int
acc_tmp_flush(struct store *s, struct rollup_acc *a, struct err *err)
{
	int src;

	if (a->wlen == 0)
		return 0;
	src = a->tmp->pMethods->xWrite(a->tmp, a->wbuf, (int)a->wlen,
	    a->tmp_len - (int64_t)a->wlen);
	a->wlen = 0;
	if (src != SQLITE_OK)
		return store_db_error(s, src, "rollup: write temporary file",
		    err);
	return 0;
}

static int
acc_tmp_put(struct store *s, struct rollup_acc *a, const void *p, size_t n,
    struct err *err)
{
	const unsigned char *b = p;
	int rc;

	while (n > 0) {
		size_t k = ACC_WBUF_BYTES - a->wlen;
		if (k > n)
			k = n;
		memcpy(a->wbuf + a->wlen, b, k);
		a->wlen += k;
		a->tmp_len += (int64_t)k;
		b += k;
		n -= k;
		if (a->wlen == ACC_WBUF_BYTES &&
		    (rc = acc_tmp_flush(s, a, err)) < 0)
			return rc;
	}
	return 0;
}

/* Writes the table as one sorted run and empties it. */
static int
acc_spill(struct store *s, struct rollup_acc *a, struct err *err)
{
	sqlite3_vfs *vfs;
	struct acc_run *run;
	int src, rc, outflags = 0;

	if (a->tmp == NULL) {
		if ((vfs = sqlite3_vfs_find(NULL)) == NULL)
			return err_set(err, ERR_DB, "rollup: no SQLite VFS");
		if (a->wbuf == NULL &&
		    (a->wbuf = malloc(ACC_WBUF_BYTES)) == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		if ((a->tmp = calloc(1, (size_t)vfs->szOsFile)) == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		src = vfs->xOpen(vfs, NULL, a->tmp, SQLITE_OPEN_READWRITE |
		    SQLITE_OPEN_CREATE | SQLITE_OPEN_EXCLUSIVE |
		    SQLITE_OPEN_DELETEONCLOSE | SQLITE_OPEN_TEMP_JOURNAL,
		    &outflags);
		if (src != SQLITE_OK) {
			/* xOpen may leave pMethods set on failure */
			acc_tmp_close(a);
			return store_db_error(s, src,
			    "rollup: open temporary file", err);
		}
	}
	if (a->n_runs == a->cap_runs) {
		size_t cap = a->cap_runs ? 2 * a->cap_runs : 16;
		struct acc_run *p = realloc(a->runs, cap * sizeof *p);
		if (p == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		a->runs = p;
		a->cap_runs = cap;
	}
	run = &a->runs[a->n_runs++];
	run->off = a->tmp_len;
	run->n = 0;
	acc_sort(a);
	/* In append mode equal pairs sit next to each other now: one
	 * entry each, summed. */
	for (uint32_t i = 0; i < a->n; ) {
		const struct acc_entry *en = &a->e[a->order[i]];
		const char *ip = a->keys + en->ip, *hf = a->keys + en->hf;
		uint32_t len[2] = { (uint32_t)strlen(ip),
		    (uint32_t)strlen(hf) };
		uint64_t sum[ACC__N];

		memcpy(sum, en->n, sizeof sum);
		for (i++; i < a->n; i++) {
			const struct acc_entry *nx = &a->e[a->order[i]];
			if (nx->hash != en->hash ||
			    strcmp(a->keys + nx->ip, ip) != 0 ||
			    strcmp(a->keys + nx->hf, hf) != 0)
				break;
			for (int k = 0; k < ACC__N; k++)
				sum[k] += nx->n[k];
		}
		if ((rc = acc_tmp_put(s, a, len, sizeof len, err)) < 0 ||
		    (rc = acc_tmp_put(s, a, sum, sizeof sum, err)) < 0 ||
		    (rc = acc_tmp_put(s, a, ip, len[0], err)) < 0 ||
		    (rc = acc_tmp_put(s, a, hf, len[1], err)) < 0)
			return rc;
		run->n++;
	}
	acc_empty(a);
	return 0;
}

static void
acc_add(struct store *s, struct rollup_acc *a, const struct agg_record *rec,
    int pass)
{
	const char *ip = rec->source_ip;
	const char *hf = rec->header_from != NULL ? rec->header_from : "";
	uint64_t h = 0;
	uint32_t i = 0;
	struct acc_entry *en;
	struct err e;

	if (!a->append) {
		h = fnv1a(fnv1a(0xcbf29ce484222325ull, ip) ^ 0xff, hf);
		i = (uint32_t)h & (ACC_SLOTS - 1);
		while (a->slots[i] != 0) {
			en = &a->e[a->slots[i] - 1];
			if (en->hash == h && strcmp(a->keys + en->ip, ip) == 0 &&
			    strcmp(a->keys + en->hf, hf) == 0)
				goto add;
			i = (i + 1) & (ACC_SLOTS - 1);
		}
	}
	size_t lip = strlen(ip) + 1, lhf = strlen(hf) + 1;
	if (lip > ACC_FIELD_MAX + 1 || lhf > ACC_FIELD_MAX + 1) {
		acc_clear(a);     /* longer than any field: SQL rollup */
		return;
	}
	if (a->n == ACC_MAX_KEYS ||
	    lip + lhf > ACC_MAX_KEY_BYTES - a->keys_len) {
		/* Table full: out to a sorted run. If that fails, the SQL
		 * rollup still can (it needs no more than the records). */
		int distinct = a->added < (uint64_t)a->n + a->n / 4;

		err_clear(&e);
		if (acc_spill(s, a, &e) < 0) {
			acc_clear(a);
			return;
		}
		if (distinct)
			a->append = 1;
		i = (uint32_t)h & (ACC_SLOTS - 1);
	}
	en = &a->e[a->n];
	memset(en, 0, sizeof *en);
	en->hash = h;
	en->ip = (uint32_t)a->keys_len;
	memcpy(a->keys + a->keys_len, ip, lip);
	a->keys_len += lip;
	en->hf = (uint32_t)a->keys_len;
	memcpy(a->keys + a->keys_len, hf, lhf);
	a->keys_len += lhf;
	a->n++;
	if (!a->append)
		a->slots[i] = a->n;
add:
	a->added++;
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

/* Binds row j of the pending rows at parameter base b. */
static void
acc_out_bind(sqlite3_stmt *st, int b, const struct rollup_acc *a,
    const struct acc_out *o, size_t j)
{
	store_bind_text(st, b + 1, a->day);
	sqlite3_bind_text(st, b + 2, o->keys + o->row[j].ip, -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, b + 3, o->keys + o->row[j].hf, -1,
	    SQLITE_STATIC);
	store_bind_text(st, b + 4, o->reporter);
	store_bind_text(st, b + 5, o->domain);
	for (int k = 0; k < ACC__N; k++)
		sqlite3_bind_int64(st, b + 6 + k,
		    (sqlite3_int64)o->row[j].n[k]);
}

/* Whether agg_daily may hold a key of the pending rows already (they are
 * in key order): 1 yes (or cannot tell), 0 no, <0 error. */
static int
acc_out_probe(struct store *s, const struct rollup_acc *a, struct err *err)
{
	const struct acc_out *o = a->out;
	sqlite3_stmt *st = NULL;
	int rc, src;

	if ((rc = store_stmt(s, ST_ROLLUP_PROBE, &st, err)) < 0)
		return rc;
	store_bind_text(st, 1, a->day);
	sqlite3_bind_text(st, 2, o->keys + o->row[0].ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, o->keys + o->row[0].hf, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, o->keys + o->row[o->n - 1].ip, -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 5, o->keys + o->row[o->n - 1].hf, -1,
	    SQLITE_STATIC);
	store_bind_text(st, 6, o->reporter);
	store_bind_text(st, 7, o->domain);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		rc = 1;
	else if (src == SQLITE_DONE)
		rc = 0;
	else
		rc = store_db_error(s, src, "daily rollup", err);
	sqlite3_reset(st);
	return rc;
}

/* Writes the pending rows: STORE_MULTI_ROWS new keys in one statement,
 * else one upsert per row (see ST_ROLLUP_ROW in store.c). */
static int
acc_out_flush(struct store *s, struct rollup_acc *a, struct err *err)
{
	struct acc_out *o = a->out;
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (o->n == STORE_MULTI_ROWS &&
	    (rc = acc_out_probe(s, a, err)) == 0) {
		if ((rc = store_stmt(s, ST_ROLLUP_ROW_N, &st, err)) < 0)
			return rc;
		for (size_t j = 0; j < o->n; j++)
			acc_out_bind(st, (int)j * 11, a, o, j);
		rc = store_step_done(s, st, "daily rollup", err);
	} else if (rc >= 0 && o->n > 0) {
		if ((rc = store_stmt(s, ST_ROLLUP_ROW, &st, err)) < 0)
			return rc;
		rc = 0;
		for (size_t j = 0; j < o->n && rc == 0; j++) {
			acc_out_bind(st, 0, a, o, j);
			rc = store_step_done(s, st, "daily rollup", err);
		}
	}
	o->n = 0;
	o->klen = 0;
	return rc;
}

/* Queues one summed pair for agg_daily (none when it has no messages,
 * like the SQL rollup's HAVING sum(count) > 0). */
static int
acc_out_row(struct store *s, struct rollup_acc *a, const char *ip,
    size_t lip, const char *hf, size_t lhf, const uint64_t *n,
    struct err *err)
{
	struct acc_out *o = a->out;

	if (n[ACC_MSGS] == 0)
		return 0;
	o->row[o->n].ip = o->klen;
	memcpy(o->keys + o->klen, ip, lip);
	o->klen += lip;
	o->keys[o->klen++] = '\0';
	o->row[o->n].hf = o->klen;
	memcpy(o->keys + o->klen, hf, lhf);
	o->klen += lhf;
	o->keys[o->klen++] = '\0';
	memcpy(o->row[o->n].n, n, sizeof o->row[o->n].n);
	if (++o->n == STORE_MULTI_ROWS)
		return acc_out_flush(s, a, err);
	return 0;
}

/* One run being read back while merging. */
struct acc_rd {
	int64_t off;              /* next byte of the file to read */
	uint64_t left;            /* entries not yet decoded */
	unsigned char *buf;
	size_t pos, len;
	/* the current entry */
	char key[2 * (ACC_FIELD_MAX + 1)];
	uint32_t lip, lhf;        /* header_from at key + lip + 1 */
	uint64_t pfx;             /* source_ip's sort prefix (ip_prefix) */
	uint64_t n[ACC__N];
};

static int
acc_rd_take(struct store *s, struct rollup_acc *a, struct acc_rd *r,
    void *dst, size_t n, struct err *err)
{
	unsigned char *d = dst;
	int src;

	while (n > 0) {
		if (r->pos == r->len) {
			int64_t avail = a->tmp_len - r->off;
			size_t k = avail < (int64_t)ACC_RBUF_BYTES ?
			    (size_t)avail : ACC_RBUF_BYTES;
			if (k == 0)
				return err_set(err, ERR_DB, "rollup: run "
				    "ends early in the temporary file");
			src = a->tmp->pMethods->xRead(a->tmp, r->buf, (int)k,
			    r->off);
			if (src != SQLITE_OK)
				return store_db_error(s, src,
				    "rollup: read temporary file", err);
			r->off += (int64_t)k;
			r->pos = 0;
			r->len = k;
		}
		size_t k = r->len - r->pos < n ? r->len - r->pos : n;
		memcpy(d, r->buf + r->pos, k);
		r->pos += k;
		d += k;
		n -= k;
	}
	return 0;
}

/* Decodes the run's next entry: 1, 0 when the run is over, <0 error. */
static int
acc_rd_next(struct store *s, struct rollup_acc *a, struct acc_rd *r,
    struct err *err)
{
	uint32_t len[2];
	int rc;

	if (r->left == 0)
		return 0;
	r->left--;
	if ((rc = acc_rd_take(s, a, r, len, sizeof len, err)) < 0 ||
	    (rc = acc_rd_take(s, a, r, r->n, sizeof r->n, err)) < 0)
		return rc;
	if (len[0] > ACC_FIELD_MAX || len[1] > ACC_FIELD_MAX)
		return err_set(err, ERR_DB, "rollup: bad entry in the "
		    "temporary file");
	r->lip = len[0];
	r->lhf = len[1];
	if ((rc = acc_rd_take(s, a, r, r->key, r->lip, err)) < 0)
		return rc;
	r->key[r->lip] = '\0';
	if ((rc = acc_rd_take(s, a, r, r->key + r->lip + 1, r->lhf,
	    err)) < 0)
		return rc;
	r->key[r->lip + 1 + r->lhf] = '\0';
	r->pfx = ip_prefix(r->key);
	return 1;
}

static int
acc_rd_cmp(const struct acc_rd *p, const struct acc_rd *q)
{
	int c;

	if (p->pfx != q->pfx)
		return p->pfx < q->pfx ? -1 : 1;
	c = strcmp(p->key, q->key);
	return c != 0 ? c : strcmp(p->key + p->lip + 1, q->key + q->lip + 1);
}

/* Restores the min-heap below slot i. */
static void
acc_heap_down(struct acc_rd **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && acc_rd_cmp(h[l], h[m]) < 0)
			m = l;
		if (l + 1 < n && acc_rd_cmp(h[l + 1], h[m]) < 0)
			m = l + 1;
		if (m == i)
			return;
		struct acc_rd *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Merges the runs, summing equal pairs, into agg_daily in key order. */
static int
acc_merge(struct store *s, struct rollup_acc *a, struct err *err)
{
	struct acc_rd *rd = NULL, **heap = NULL;
	size_t nh = 0;
	uint64_t sum[ACC__N];
	char cur[2 * (ACC_FIELD_MAX + 1)];
	uint32_t clip, clhf;
	int rc;

	rd = calloc(a->n_runs, sizeof *rd);
	heap = calloc(a->n_runs, sizeof *heap);
	if (rd == NULL || heap == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < a->n_runs; i++) {
		rd[i].off = a->runs[i].off;
		rd[i].left = a->runs[i].n;
		if ((rd[i].buf = malloc(ACC_RBUF_BYTES)) == NULL) {
			rc = err_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((rc = acc_rd_next(s, a, &rd[i], err)) < 0)
			goto out;
		if (rc == 1)
			heap[nh++] = &rd[i];
	}
	for (size_t i = nh; i-- > 0; )
		acc_heap_down(heap, nh, i);
	while (nh > 0) {
		struct acc_rd *top = heap[0];

		clip = top->lip;
		clhf = top->lhf;
		memcpy(cur, top->key, (size_t)clip + clhf + 2);
		memcpy(sum, top->n, sizeof sum);
		for (;;) {
			if ((rc = acc_rd_next(s, a, top, err)) < 0)
				goto out;
			if (rc == 0)
				heap[0] = heap[--nh];
			acc_heap_down(heap, nh, 0);
			if (nh == 0)
				break;
			top = heap[0];
			if (top->lip != clip || top->lhf != clhf ||
			    memcmp(top->key, cur, (size_t)clip + clhf + 2) != 0)
				break;
			for (int k = 0; k < ACC__N; k++)
				sum[k] += top->n[k];
		}
		rc = acc_out_row(s, a, cur, clip, cur + clip + 1, clhf, sum,
		    err);
		if (rc < 0)
			goto out;
	}
	rc = acc_out_flush(s, a, err);
out:
	if (rd != NULL)
		for (size_t i = 0; i < a->n_runs; i++)
			free(rd[i].buf);
	free(rd);
	free(heap);
	return rc;
}

/* Writes the summed pairs of a one-day report, in key order. */
static int
acc_write(struct store *s, const struct report *r, struct err *err)
{
	struct rollup_acc *a = s->acc;
	int rc;

	a->out->reporter = r->agg.org_name != NULL ? r->agg.org_name : "";
	a->out->domain = r->policy.domain != NULL ? r->policy.domain : "";
	a->out->n = 0;
	a->out->klen = 0;
	if (a->n_runs > 0) {
		if (a->n > 0 && (rc = acc_spill(s, a, err)) < 0)
			return rc;
		if ((rc = acc_tmp_flush(s, a, err)) < 0)
			return rc;
		return acc_merge(s, a, err);
	}
	acc_sort(a);
	for (uint32_t i = 0; i < a->n; i++) {
		const struct acc_entry *en = &a->e[a->order[i]];
		const char *ip = a->keys + en->ip, *hf = a->keys + en->hf;

		rc = acc_out_row(s, a, ip, strlen(ip), hf, strlen(hf), en->n,
		    err);
		if (rc < 0)
			return rc;
	}
	return acc_out_flush(s, a, err);
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
	s->next_record_id = 0;
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

/* Binds rec, with record id id, as the row at parameter base b. */
static void
bind_record(sqlite3_stmt *st, int b, int64_t report_id, int64_t id,
    const struct agg_record *rec, int pass)
{
	sqlite3_bind_int64(st, b + 1, id);
	sqlite3_bind_int64(st, b + 2, report_id);
	sqlite3_bind_int64(st, b + 3, (sqlite3_int64)rec->index);
	store_bind_text(st, b + 4, rec->source_ip);
	if (rec->ip_family == 4 || rec->ip_family == 6) {
		sqlite3_bind_blob(st, b + 5, rec->ip_bin, sizeof rec->ip_bin,
		    SQLITE_STATIC);
		sqlite3_bind_int(st, b + 6, rec->ip_family);
	} else {
		sqlite3_bind_null(st, b + 5);
		sqlite3_bind_null(st, b + 6);
	}
	sqlite3_bind_int64(st, b + 7, (sqlite3_int64)rec->count);
	store_bind_text(st, b + 8, rec->disposition);
	store_bind_text(st, b + 9, rec->dkim_aligned);
	store_bind_text(st, b + 10, rec->spf_aligned);
	sqlite3_bind_int(st, b + 11, pass);
	store_bind_text(st, b + 12, rec->header_from);
	store_bind_text(st, b + 13, rec->envelope_from);
	store_bind_text(st, b + 14, rec->envelope_to);
	store_bind_text(st, b + 15, rec->extensions_xml);
}

#define RECORD_COLS 15
#define AUTH_COLS 6

static int
rec_pass(const struct agg_record *rec)
{
	return is_pass(rec->dkim_aligned) || is_pass(rec->spf_aligned);
}

/* The records rows of recs[0..n), ids first_id.. in order. */
static int
insert_records(struct store *s, int64_t report_id,
    const struct agg_record *recs, size_t n, int64_t first_id,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	size_t i = 0, k;
	int rc;

	for (; i < n; i += k) {
		k = n - i >= STORE_MULTI_ROWS ? STORE_MULTI_ROWS : 1;
		if ((rc = store_stmt(s, k > 1 ? ST_RECORD_N : ST_RECORD, &st,
		    err)) < 0)
			return rc;
		for (size_t j = 0; j < k; j++)
			bind_record(st, (int)j * RECORD_COLS, report_id,
			    first_id + (int64_t)(i + j), &recs[i + j],
			    rec_pass(&recs[i + j]));
		if ((rc = store_step_done(s, st, "add record", err)) < 0) {
			if (k == 1)
				err_where(err, "record %zu", recs[i].index);
			else
				err_where(err, "records %zu-%zu",
				    recs[i].index, recs[i + k - 1].index);
			return rc;
		}
	}
	return 0;
}

/*
 * The record_dkim (spf = 0) or record_spf (spf = 1) rows of recs[0..n).
 * agg_dkim and agg_spf are both four strings (relay.c asserts it), in
 * the column order of the two tables.
 */
static int
insert_auth(struct store *s, int spf, const struct agg_record *recs,
    size_t n, int64_t first_id, struct err *err)
{
	sqlite3_stmt *st = NULL;
	size_t total = 0, done = 0, ri = 0, ai = 0, k;
	int rc;

	for (size_t i = 0; i < n; i++)
		total += spf ? recs[i].n_spf : recs[i].n_dkim;
	for (; done < total; done += k) {
		k = total - done >= STORE_MULTI_ROWS ? STORE_MULTI_ROWS : 1;
		rc = store_stmt(s, spf ? (k > 1 ? ST_SPF_N : ST_SPF) :
		    (k > 1 ? ST_DKIM_N : ST_DKIM), &st, err);
		if (rc < 0)
			return rc;
		for (size_t j = 0; j < k; j++) {
			int b = (int)j * AUTH_COLS;
			const char *const *v;

			/* the next record with results left */
			while ((spf ? recs[ri].n_spf : recs[ri].n_dkim) == ai) {
				ri++;
				ai = 0;
			}
			v = spf ? (const char *const *)&recs[ri].spf[ai] :
			    (const char *const *)&recs[ri].dkim[ai];
			sqlite3_bind_int64(st, b + 1, first_id + (int64_t)ri);
			sqlite3_bind_int64(st, b + 2, (sqlite3_int64)ai);
			for (int c = 0; c < 4; c++)
				store_bind_text(st, b + 3 + c, v[c]);
			ai++;
		}
		rc = store_step_done(s, st, spf ? "add spf result" :
		    "add dkim result", err);
		if (rc < 0) {
			err_where(err, "record %zu", recs[ri].index);
			return rc;
		}
	}
	return 0;
}

_Static_assert(sizeof(struct agg_dkim) == 4 * sizeof(const char *) &&
    sizeof(struct agg_spf) == 4 * sizeof(const char *),
    "insert_auth binds agg_dkim / agg_spf as four strings");

static int
insert_reasons(struct store *s, const struct agg_record *rec, int64_t id,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store_stmt(s, ST_REASON, &st, err)) < 0)
		return rc;
	for (size_t i = 0; i < rec->n_reasons; i++) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		store_bind_text(st, 3, rec->reasons[i].type);
		store_bind_text(st, 4, rec->reasons[i].comment);
		if ((rc = store_step_done(s, st, "add reason", err)) < 0)
			return rc;
	}
	return 0;
}

int
store_report_records(struct store *s, int64_t report_id,
    const struct report *r, const struct agg_record *recs, size_t n,
    struct err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t first;
	int rc, src;

	(void)r;
	if (s == NULL || (recs == NULL && n > 0))
		return err_set(err, ERR_INVAL, "report_record: bad arguments");
	if (report_id <= 0 || report_id != s->cur_report)
		return err_set(err, ERR_INVAL, "record for report %lld outside "
		    "its report_begin/end", (long long)report_id);
	if (s->cur_kind != REPORT_AGGREGATE)
		return err_set(err, ERR_INVAL, "record for a %s report",
		    store_kind_name(s->cur_kind));
	for (size_t i = 0; i < n; i++) {
		if (recs[i].source_ip == NULL)
			return err_set(err, ERR_INVAL, "record %zu has no "
			    "source_ip", recs[i].index);
		/* The parser enforces this too; here it keeps count * span
		 * in 64 bits for the rollup and the sums exact. */
		if (recs[i].count > LIM_RECORD_COUNT)
			return err_set(err, ERR_TOO_LARGE, "record %zu count "
			    "exceeds LIM_RECORD_COUNT (%llu)", recs[i].index,
			    (unsigned long long)LIM_RECORD_COUNT);
	}
	if (n == 0)
		return 0;
	if (s->next_record_id == 0) {
		if ((rc = store_stmt(s, ST_RECORD_MAX_ID, &st, err)) < 0)
			return rc;
		src = sqlite3_step(st);
		if (src == SQLITE_ROW)
			s->next_record_id = sqlite3_column_int64(st, 0) + 1;
		else
			rc = store_db_error(s, src, "next record id", err);
		sqlite3_reset(st);
		if (rc < 0)
			return rc;
	}
	first = s->next_record_id;
	if ((rc = insert_records(s, report_id, recs, n, first, err)) < 0 ||
	    (rc = insert_auth(s, 0, recs, n, first, err)) < 0 ||
	    (rc = insert_auth(s, 1, recs, n, first, err)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const struct agg_record *rec = &recs[i];
		int64_t id = first + (int64_t)i;
		int pass = rec_pass(rec);

		if ((rec->n_reasons > 0 &&
		    (rc = insert_reasons(s, rec, id, err)) < 0) ||
		    (rc = add_raw(s, report_id, id, rec->raw, rec->n_raw,
		    err)) < 0) {
			err_where(err, "record %zu", rec->index);
			return rc;
		}
		s->cur_records++;
		s->cur_messages += rec->count;
		if (pass)
			s->cur_pass += rec->count;
		if (s->acc != NULL && s->acc->active)
			acc_add(s, s->acc, rec, pass);
	}
	s->next_record_id = first + (int64_t)n;
	if (s->cur_first_record == 0)
		s->cur_first_record = first;
	s->cur_last_record = s->next_record_id - 1;
	return 0;
}

int
store_report_record(struct store *s, int64_t report_id,
    const struct report *r, const struct agg_record *rec, struct err *err)
{
	if (rec == NULL)
		return err_set(err, ERR_INVAL, "report_record: bad arguments");
	return store_report_records(s, report_id, r, rec, 1, err);
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
