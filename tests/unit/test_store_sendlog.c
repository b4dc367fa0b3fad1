/*
 * tests/unit/test_store_sendlog.c - the store's send-log and provider
 * functions (store/sendlog.c): profile sync and read-back, sender sync,
 * rollup upserts, read positions, and the correlation view as the engine
 * reads it. Numbered cases on fresh databases in a temporary directory.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/err.h"
#include "../../store/store.h"

static char dir[] = "/tmp/dw-store-sendlog-XXXXXX";
static char path[4200];
static int n_db;

#define CHECK(c) do { if (!(c)) { printf("  line %d: check failed: %s\n", \
	__LINE__, #c); return 1; } } while (0)

static const char *
new_path(void)
{
	snprintf(path, sizeof path, "%s/db%d.sqlite", dir, ++n_db);
	return path;
}

static int
q_exec(const char *p, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = -1;

	if (sqlite3_open(p, &db) == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* First column of the first row, -1 when none or on error. */
static long long
q_int(const char *p, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
provider(struct store_provider *p, const char *name, size_t stages)
{
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	snprintf(p->display_name, sizeof p->display_name, "%s display", name);
	p->dmarc_pass_green = 98;
	p->dmarc_pass_amber = 90.5;
	p->deferral_pct_amber = 5;
	p->deferral_pct_red = 20;
	p->rate_per_hour = 1;
	p->block_per_hour = 5;
	p->max_per_hour = 1000;
	p->max_connections = 4;
	p->rate_pause_minutes = 10;
	p->block_pause_minutes = 120;
	p->advance_delivered_pct = 90;
	p->decay_idle_days = 7;
	p->rewarm_idle_days = 30;
	p->unverified = 1;
	p->n_stages = stages;
	for (size_t i = 0; i < stages; i++) {
		p->stages[i].daily_cap = 100u << i;
		p->stages[i].hourly_cap = 10u << i;
		p->stages[i].min_days = 1 + i;
	}
}

/* 1: writes outside a transaction are refused */
static int
case_need_tx(void)
{
	struct store *s = NULL;
	struct store_provider p;
	struct store_sendlog_row r = { 0 };
	struct err e;

	CHECK(store_open(new_path(), 0, &s, &e) == 0);
	provider(&p, "a", 1);
	CHECK(store_provider_put(s, &p, "f", 1, &e) == ERR_INVAL);
	r.source_ip = "";
	r.provider = "";
	CHECK(store_sendlog_add(s, &r, &e) == ERR_INVAL);
	store_free(s);
	return 0;
}

struct names {
	char buf[256];
	size_t stages;
};

static int
on_provider(void *ctx, const struct store_provider *p)
{
	struct names *n = ctx;

	strncat(n->buf, p->name, sizeof n->buf - strlen(n->buf) - 2);
	strncat(n->buf, ",", sizeof n->buf - strlen(n->buf) - 1);
	n->stages += p->n_stages;
	return 0;
}

static int
on_param(void *ctx, const char *provider, const char *key, double value)
{
	struct names *n = ctx;
	size_t l = strlen(n->buf);

	snprintf(n->buf + l, sizeof n->buf - l, "%s.%s=%g,", provider, key,
	    value);
	return 0;
}

/* 2: profile sync, read back, replace */
static int
case_profiles(void)
{
	static struct store_provider p, g;
	struct store *s = NULL;
	struct names n = { "", 0 };
	struct err e;

	CHECK(store_open(new_path(), 0, &s, &e) == 0);
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_providers_clear(s, &e) == 0);
	provider(&p, "zeta", 3);
	CHECK(store_provider_put(s, &p, "/x/providers.conf", 100, &e) == 0);
	provider(&p, "alpha", 2);
	CHECK(store_provider_put(s, &p, "/x/providers.conf", 100, &e) == 0);
	CHECK(store_provider_match_put(s, "alpha", "domain", "a.example", &e)
	    == 0);
	CHECK(store_provider_match_put(s, "alpha", "bogus", "b", &e) < 0);
	{
		struct store_provider_code c1 = { "4.7.28", STORE_SL_RATE, NULL,
			"4.7.28", NULL, 0 };
		struct store_provider_code c2 = { "spamhaus", STORE_SL_BLOCK,
			NULL, NULL, "spamhaus", 0 };
		struct store_provider_code c3 = { "x", 99, NULL, NULL, "x", 0 };
		CHECK(store_provider_code_put(s, "alpha", 0, &c1, &e) == 0);
		CHECK(store_provider_code_put(s, "*", 0, &c2, &e) == 0);
		CHECK(store_provider_code_put(s, "*", 1, &c3, &e) ==
		    ERR_INVAL);
	}
	/* v6: threshold keys per provider */
	CHECK(store_provider_param_put(s, "alpha", "rate_share_pct", 5, &e) ==
	    0);
	CHECK(store_provider_param_put(s, "*", "min_attempts", 20, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	CHECK(store_provider_params_each(s, on_param, &n, &e) == 0);
	CHECK(strcmp(n.buf, "*.min_attempts=20,alpha.rate_share_pct=5,") == 0);
	memset(&n, 0, sizeof n);
	CHECK(store_provider_get(s, "zeta", &g, &e) == 1);
	CHECK(strcmp(g.display_name, "zeta display") == 0 && g.n_stages == 3 &&
	    g.stages[2].daily_cap == 400 && g.stages[2].hourly_cap == 40 &&
	    g.stages[2].min_days == 3 && g.dmarc_pass_amber == 90.5 &&
	    g.max_connections == 4 && g.unverified == 1);
	CHECK(store_provider_get(s, "nope", &g, &e) == 0);
	CHECK(store_providers_each(s, on_provider, &n, &e) == 0);
	CHECK(strcmp(n.buf, "alpha,zeta,") == 0 && n.stages == 5);
	/* a new sync replaces everything */
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_providers_clear(s, &e) == 0);
	provider(&p, "beta", 1);
	CHECK(store_provider_put(s, &p, "/y", 200, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	memset(&n, 0, sizeof n);
	CHECK(store_providers_each(s, on_provider, &n, &e) == 0);
	CHECK(strcmp(n.buf, "beta,") == 0 && n.stages == 1);
	memset(&n, 0, sizeof n);
	CHECK(store_provider_params_each(s, on_param, &n, &e) == 0);
	CHECK(n.buf[0] == '\0');
	store_free(s);
	return 0;
}

/* 3: sender sync and load; duplicates are one row */
static int
case_sender(void)
{
	static struct sender_config c, d;
	struct store *s = NULL;
	struct err e;

	memset(&c, 0, sizeof c);
	c.n_ips = 3;
	snprintf(c.ips[0], sizeof c.ips[0], "198.51.100.2");
	snprintf(c.ips[1], sizeof c.ips[1], "198.51.100.1");
	snprintf(c.ips[2], sizeof c.ips[2], "198.51.100.2");
	c.n_domains = 1;
	snprintf(c.domains[0], sizeof c.domains[0], "example.com");
	c.n_targets = 1;
	snprintf(c.targets[0].provider, sizeof c.targets[0].provider, "google");
	c.targets[0].daily = 50000;
	CHECK(store_open(new_path(), 0, &s, &e) == 0);
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_sender_sync(s, &c, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	CHECK(store_sender_load(s, &d, &e) == 0);
	CHECK(d.n_ips == 2 && strcmp(d.ips[0], "198.51.100.1") == 0);
	CHECK(d.n_domains == 1 && strcmp(d.domains[0], "example.com") == 0);
	CHECK(d.n_targets == 1 && d.targets[0].daily == 50000);
	store_free(s);
	return 0;
}

struct hsum {
	int rows;
	uint64_t attempts, rate, signal;
	char day[16];
};

static int
on_hour(void *ctx, const struct store_sendlog_row *r)
{
	struct hsum *h = ctx;

	h->rows++;
	h->attempts += r->attempts;
	h->rate += r->cls[STORE_SL_RATE];
	h->signal += r->rate_signal;
	snprintf(h->day, sizeof h->day, "%s", r->day);
	return 0;
}

/* 4: rollup upserts add; the daily row sums hours; filters */
static int
case_rollup(void)
{
	struct store *s = NULL;
	struct store_sendlog_row r;
	struct store_sendlog_filter f = { NULL, "google", 0, 0 };
	struct hsum h = { 0 };
	struct err e;
	const char *p = new_path();

	memset(&r, 0, sizeof r);
	r.hour = 1700726400;   /* 2023-11-23 08:00 */
	r.source_ip = "198.51.100.1";
	r.provider = "google";
	r.attempts = 3;
	r.deferred = 1;
	r.delivered = 2;
	r.cls[STORE_SL_OK] = 2;
	r.cls[STORE_SL_RATE] = 1;
	r.rate_signal = 1;
	CHECK(store_open(p, 0, &s, &e) == 0);
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_sendlog_add(s, &r, &e) == 0);
	CHECK(store_sendlog_add(s, &r, &e) == 0);
	r.hour += 3600;
	CHECK(store_sendlog_add(s, &r, &e) == 0);
	r.provider = "yahoo";
	CHECK(store_sendlog_add(s, &r, &e) == 0);
	r.hour += 1;
	CHECK(store_sendlog_add(s, &r, &e) == ERR_INVAL);
	CHECK(store_tx_commit(s, &e) == 0);
	CHECK(store_sendlog_hourly_each(s, &f, on_hour, &h, &e) == 0);
	CHECK(h.rows == 2 && h.attempts == 9 && h.rate == 3 && h.signal == 3 &&
	    strcmp(h.day, "2023-11-23") == 0);
	f.since = 1700726400 + 3600;
	memset(&h, 0, sizeof h);
	CHECK(store_sendlog_hourly_each(s, &f, on_hour, &h, &e) == 0);
	CHECK(h.rows == 1 && h.attempts == 3);
	store_free(s);
	CHECK(q_int(p, "SELECT count(*) FROM sendlog_daily WHERE provider ="
	    " 'google' AND attempts = 9 AND rate = 3") == 1);
	return 0;
}

/* 5: read positions */
static int
case_sources(void)
{
	struct store *s = NULL;
	struct store_sendlog_source src = { "ab", "/var/log/mail.log", 1, 2,
	    1234, 10 };
	uint64_t off = 0, lines = 0;
	struct err e;

	CHECK(store_open(new_path(), 0, &s, &e) == 0);
	CHECK(store_sendlog_source_get(s, "ab", &off, &lines, &e) == 0);
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_sendlog_source_set(s, &src, 5, &e) == 0);
	src.offset = 2000;
	src.lines = 17;
	CHECK(store_sendlog_source_set(s, &src, 6, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	CHECK(store_sendlog_source_get(s, "ab", &off, &lines, &e) == 1);
	CHECK(off == 2000 && lines == 17);
	store_free(s);
	return 0;
}

struct csum {
	int rows;
	struct store_correlation_row last;
	char prov[32];
};

static int
on_corr(void *ctx, const struct store_correlation_row *r)
{
	struct csum *c = ctx;

	c->rows++;
	c->last = *r;
	snprintf(c->prov, sizeof c->prov, "%s", r->provider);
	c->last.day = c->last.source_ip = c->last.provider = NULL;
	return 0;
}

/* 6: correlation: send log joined with the provider's DMARC rows */
static int
case_correlation(void)
{
	struct store *s = NULL;
	struct store_sendlog_row r;
	struct csum c = { 0 };
	struct err e;
	const char *p = new_path();

	memset(&r, 0, sizeof r);
	r.hour = 1700726400;
	r.source_ip = "198.51.100.1";
	r.provider = "google";
	r.attempts = 25;
	r.delivered = 20;
	r.cls[STORE_SL_OK] = 20;
	r.bounced = 5;
	r.cls[STORE_SL_BLOCK] = 5;
	CHECK(store_open(p, 0, &s, &e) == 0);
	CHECK(store_tx_begin(s, &e) == 0);
	CHECK(store_sendlog_add(s, &r, &e) == 0);
	CHECK(store_tx_commit(s, &e) == 0);
	store_free(s);
	CHECK(q_exec(p, "INSERT INTO provider_match VALUES ('google',"
	    " 'reporter', 'google.com');"
	    "INSERT INTO agg_daily VALUES ('2023-11-23', '198.51.100.1',"
	    " 'example.com', 'google.com', 'example.com', 10, 9, 9, 8, 1, 0);"
	    "INSERT INTO agg_daily VALUES ('2023-11-23', '203.0.113.9',"
	    " 'example.com', 'google.com', 'example.com', 4, 0, 0, 0, 0, 4);"
	    "INSERT INTO sender_domains VALUES ('example.com');"
	    "INSERT INTO sender_ips VALUES ('198.51.100.1');") == SQLITE_OK);
	CHECK(store_open(p, STORE_READONLY, &s, &e) == 0);
	CHECK(store_correlation_each(s, "2023-11-23", "2023-11-23", on_corr, &c,
	    &e) == 0);
	CHECK(c.rows == 1 && strcmp(c.prov, "google") == 0);
	CHECK(c.last.attempts == 25 && c.last.delivered == 20 &&
	    c.last.bounced == 5 && c.last.cls[STORE_SL_BLOCK] == 5 &&
	    c.last.reported == 10 && c.last.dmarc_pass == 9 &&
	    c.last.dkim_aligned_pass == 8 && c.last.quarantine == 1 &&
	    c.last.pass_pct == 90.0 && c.last.coverage == 0.5);
	memset(&c, 0, sizeof c);
	CHECK(store_correlation_each(s, "2023-11-24", NULL, on_corr, &c, &e)
	    == 0 && c.rows == 0);
	store_free(s);
	CHECK(q_int(p, "SELECT count(*) FROM foreign_senders WHERE source_ip ="
	    " '203.0.113.9' AND provider = 'google' AND reject = 4") == 1);
	CHECK(q_int(p, "SELECT count(*) FROM foreign_senders") == 1);
	return 0;
}

int
main(void)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} cases[] = {
		{ "writes need a transaction", case_need_tx },
		{ "provider profiles sync and read back", case_profiles },
		{ "sender sync and load", case_sender },
		{ "send-log rollup upserts and filters", case_rollup },
		{ "read positions", case_sources },
		{ "correlation view", case_correlation },
	};
	size_t n = sizeof cases / sizeof cases[0];
	int failed = 0;
	char cmd[128];

	if (mkdtemp(dir) == NULL)
		return 2;
	for (size_t i = 0; i < n; i++) {
		int bad = cases[i].fn();
		printf("%s %zu - %s\n", bad ? "not ok" : "ok", i + 1,
		    cases[i].name);
		failed += bad;
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	printf("%zu cases, %d failures\n", n, failed);
	return failed ? 1 : 0;
}
