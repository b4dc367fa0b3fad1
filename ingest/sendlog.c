/* ingest/sendlog.c - see sendlog.h */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/limits.h"
#include "../common/log.h"
#include "../common/strparse.h"
#include "../parse/ipaddr.h"
#include "../parse/sendlog.h"
#include "digest.h"
#include "sendlog.h"

_Static_assert((int)SL_CLASSES == (int)STORE_SL_CLASSES,
    "parse/profiles.h enum sl_class and store_sl_class must agree");

int
ingest_canon_ip(const char *s, char out[48])
{
	struct ipaddr a;

	if (ipaddr_parse(s, strlen(s), &a) != 0)
		return ERR_FORMAT;
	snprintf(out, 48, "%s", a.text);
	return 0;
}

int
ingest_sendlog_format_parse(const char *name)
{
	return sl_format_parse(name);
}

const char *
ingest_sendlog_format_name(int fmt)
{
	return sl_format_name(fmt);
}

/* ---- profiles ---- */

int
ingest_profiles_load(const char *path,
    void (*on_error)(void *ctx, int line, const char *msg), void *ectx,
    struct profiles **out, struct err *err)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if ((f = fopen(path, "re")) == NULL) {
		rc = errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
		err_where(err, "%s", path);
		return err_set(err, rc, "cannot open: %s", strerror(errno));
	}
	/* One byte more than the cap tells "too large" from "exactly". */
	if ((buf = malloc(LIM_PROFILE_BYTES + 1)) == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	n = fread(buf, 1, LIM_PROFILE_BYTES + 1, f);
	if (ferror(f)) {
		err_where(err, "%s", path);
		rc = err_set(err, ERR_IO, "read error");
		goto out;
	}
	rc = profiles_parse(buf, n, path, on_error, ectx, out, err);
out:
	free(buf);
	fclose(f);
	return rc;
}

/* Every threshold key set for the provider (its own or [defaults]) as a
 * provider_params row. */
static int
put_params(struct store *db, const char *name,
    const struct profile_limits *lim, struct err *err)
{
	int rc;

	for (size_t k = 0; k < profile_keys_count(); k++)
		if (lim->set[k] && (rc = store_provider_param_put(db, name,
		    profile_key_at(k)->name, lim->v[k], err)) < 0)
			return rc;
	return 0;
}

static int
put_code(struct store *db, const char *name, int seq,
    const struct profile_code *pc, struct err *err)
{
	struct store_provider_code sc;
	char smtp[8];

	memset(&sc, 0, sizeof sc);
	sc.rule = pc->text;
	sc.cls = pc->cls;
	if (pc->smtp_class != 0 || pc->smtp_code != 0) {
		if (pc->smtp_code != 0)
			snprintf(smtp, sizeof smtp, "%d", pc->smtp_code);
		else
			snprintf(smtp, sizeof smtp, "%dxx", pc->smtp_class);
		sc.smtp = smtp;
	}
	sc.enhanced = pc->enh[0] != '\0' ? pc->enh : NULL;
	sc.phrase = pc->phrase;
	sc.prefix = pc->prefix;
	return store_provider_code_put(db, name, seq, &sc, err);
}

#define LIM(k) profile_lim(&pr->lim, #k, 0)

int
ingest_profiles_sync(struct store *db, const char *path,
    struct profiles **out, struct err *err)
{
	static struct store_provider sp;   /* ~20 KiB, filled per provider */
	struct profiles *p = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc;

	if (out != NULL)
		*out = NULL;
	if ((rc = ingest_profiles_load(path, NULL, NULL, &p, err)) < 0)
		return rc;
	if ((rc = store_tx_begin(db, err)) < 0)
		goto out;
	if ((rc = store_providers_clear(db, err)) < 0)
		goto fail;
	for (size_t i = 0; i < p->n; i++) {
		const struct profile *pr = &p->v[i];

		memset(&sp, 0, sizeof sp);
		snprintf(sp.name, sizeof sp.name, "%s", pr->name);
		snprintf(sp.display_name, sizeof sp.display_name, "%s",
		    pr->display_name != NULL ? pr->display_name : pr->name);
		snprintf(sp.source, sizeof sp.source, "%s",
		    pr->source != NULL ? pr->source : "");
		sp.unverified = pr->unverified;
		/* the v4 columns (for scripts and the pages); the engine
		 * reads every key from provider_params */
		sp.dmarc_pass_green = LIM(dmarc_pass_green);
		sp.dmarc_pass_amber = LIM(dmarc_pass_amber);
		sp.deferral_pct_amber = LIM(deferral_pct_amber);
		sp.deferral_pct_red = LIM(deferral_pct_red);
		sp.rate_per_hour = (uint64_t)LIM(rate_per_hour);
		sp.block_per_hour = (uint64_t)LIM(block_per_hour);
		sp.max_per_hour = (uint64_t)LIM(max_per_hour);
		sp.max_connections = (uint64_t)LIM(max_connections);
		sp.rate_pause_minutes = (uint64_t)LIM(rate_pause_minutes);
		sp.block_pause_minutes = (uint64_t)LIM(block_pause_minutes);
		sp.advance_delivered_pct = LIM(advance_delivered_pct);
		sp.decay_idle_days = (uint64_t)LIM(decay_idle_days);
		sp.rewarm_idle_days = (uint64_t)LIM(rewarm_idle_days);
		sp.sends_reports = (int)LIM(sends_reports);
		snprintf(sp.reports_source, sizeof sp.reports_source, "%s",
		    pr->reports_source != NULL ? pr->reports_source : "");
		sp.n_stages = pr->n_stages;
		for (size_t k = 0; k < pr->n_stages &&
		    k < LIM_PROVIDER_STAGES; k++) {
			sp.stages[k].daily_cap = pr->stages[k].daily_cap;
			sp.stages[k].hourly_cap = pr->stages[k].hourly_cap;
			sp.stages[k].min_days = pr->stages[k].min_days;
		}
		if ((rc = store_provider_put(db, &sp, path, now, err)) < 0)
			goto fail;
		if ((rc = put_params(db, pr->name, &pr->lim, err)) < 0)
			goto fail;
		for (size_t k = 0; k < pr->n_matches; k++)
			if ((rc = store_provider_match_put(db, pr->name,
			    profile_match_kind_name(pr->matches[k].kind),
			    pr->matches[k].pattern, err)) < 0)
				goto fail;
		for (size_t k = 0; k < pr->n_codes; k++)
			if ((rc = put_code(db, pr->name, (int)k,
			    &pr->codes[k], err)) < 0)
				goto fail;
	}
	if ((rc = put_params(db, "*", &p->defaults.lim, err)) < 0)
		goto fail;
	for (size_t k = 0; k < p->defaults.n_codes; k++)
		if ((rc = put_code(db, "*", (int)k, &p->defaults.codes[k],
		    err)) < 0)
			goto fail;
	if ((rc = store_tx_commit(db, err)) < 0)
		goto out;
	if (out != NULL) {
		*out = p;
		p = NULL;
	}
	goto out;
fail:
	store_tx_rollback(db);
out:
	profiles_free(p);
	return rc;
}

int
ingest_sender_sync(struct store *db, const struct sender_config *c,
    struct err *err)
{
	int rc;

	if ((rc = store_tx_begin(db, err)) < 0)
		return rc;
	if ((rc = store_sender_sync(db, c, err)) < 0) {
		store_tx_rollback(db);
		return rc;
	}
	return store_tx_commit(db, err);
}

/* ---- line reader ---- */

/* Lines are read from a file descriptor through one buffer of twice the
 * line cap: a line longer than LIM_SENDLOG_LINE_BYTES is skipped to its
 * newline (and reported), never held. */
#define LR_CAP (2u * LIM_SENDLOG_LINE_BYTES)

struct lr {
	int fd;
	char buf[LR_CAP];
	size_t start, end;
	uint64_t offset;        /* bytes consumed: start of the next line */
	int skipping;           /* inside an overlong line */
	int eof;                /* the last read() returned 0 */
};

static void
lr_reset(struct lr *r, int fd, uint64_t offset)
{
	r->fd = fd;
	r->start = r->end = 0;
	r->offset = offset;
	r->skipping = 0;
	r->eof = 0;
}

/*
 * Next line without its newline. Returns 1 (a line; *too_long set when it
 * was over the cap and skipped: *line is NULL then), 0 when no whole line
 * is available (end of data; with partial_ok a last line without newline
 * is returned as a line at the very end), <0 on a read error.
 */
static int
lr_next(struct lr *r, const char **line, size_t *len, int *too_long,
    int partial_ok)
{
	*too_long = 0;
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		ssize_t got;

		if (nl != NULL) {
			size_t n = (size_t)(nl - (r->buf + r->start));
			*line = r->buf + r->start;
			*len = n;
			r->start += n + 1;
			r->offset += n + 1;
			if (r->skipping) {
				r->skipping = 0;
				*too_long = 1;
				*line = NULL;
			}
			return 1;
		}
		if (r->end - r->start > LIM_SENDLOG_LINE_BYTES) {
			/* overlong: drop what we have, keep looking for
			 * its end */
			r->offset += r->end - r->start;
			r->start = r->end = 0;
			r->skipping = 1;
		}
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		got = read(r->fd, r->buf + r->end, LR_CAP - r->end);
		if (got < 0) {
			if (errno == EINTR)
				return 0;
			return ERR_IO;
		}
		if (got == 0) {
			r->eof = 1;
			if (partial_ok && (r->end > r->start || r->skipping)) {
				size_t n = r->end - r->start;
				*line = r->buf + r->start;
				*len = n;
				r->start = r->end;
				r->offset += n;
				if (r->skipping) {
					r->skipping = 0;
					*too_long = 1;
					*line = NULL;
				}
				return 1;
			}
			return 0;
		}
		r->eof = 0;
		r->end += (size_t)got;
	}
}

/* ---- rollup of one batch ---- */

#define MAP_SLOTS (2u * LIM_SENDLOG_BATCH_KEYS)

struct key {
	int used;
	int64_t hour;
	char ip[48];
	char prov[LIM_PROVIDER_NAME_BYTES];
	struct store_sendlog_row row;
};

struct run {
	struct store *db;
	const struct sendlog_opts *o;
	struct sendlog_summary *sum;
	struct err *err;
	struct lr *lr;
	int fmt;
	struct sl_opts slo;
	char head[DIGEST_HEX_LEN + 1];
	int64_t dev, inode;
	uint64_t lines_done;       /* lines consumed in this file, stored */
	uint64_t batch_lines;      /* consumed since the last flush */
	uint64_t line_start;       /* offset of the line being taken */
	size_t nkeys;
	struct key *map;           /* MAP_SLOTS */
};

static uint64_t
key_hash(int64_t hour, const char *ip, const char *prov)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)hour;

	for (const char *p = ip; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ '|') * 1099511628211ull;
	for (const char *p = prov; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

static struct key *
key_get(struct run *rn, int64_t hour, const char *ip, const char *prov)
{
	size_t i = (size_t)(key_hash(hour, ip, prov) % MAP_SLOTS);

	for (;;) {
		struct key *k = &rn->map[i];
		if (!k->used) {
			if (rn->nkeys >= LIM_SENDLOG_BATCH_KEYS)
				return NULL;
			memset(k, 0, sizeof *k);
			k->used = 1;
			k->hour = hour;
			snprintf(k->ip, sizeof k->ip, "%s", ip);
			snprintf(k->prov, sizeof k->prov, "%s", prov);
			rn->nkeys++;
			return k;
		}
		if (k->hour == hour && strcmp(k->ip, ip) == 0 &&
		    strcmp(k->prov, prov) == 0)
			return k;
		i = (i + 1) % MAP_SLOTS;
	}
}

/* Writes the batch and the read position (offset, lines) in one
 * transaction. */
static int
flush_at(struct run *rn, uint64_t offset, uint64_t lines)
{
	struct store_sendlog_source src;
	int rc;

	if (rn->batch_lines == 0 && rn->nkeys == 0)
		return 0;
	if ((rc = store_tx_begin(rn->db, rn->err)) < 0)
		return rc;
	for (size_t i = 0; i < MAP_SLOTS && rn->nkeys > 0; i++) {
		struct key *k = &rn->map[i];
		if (!k->used)
			continue;
		k->row.hour = k->hour;
		k->row.source_ip = k->ip;
		k->row.provider = k->prov;
		if ((rc = store_sendlog_add(rn->db, &k->row, rn->err)) < 0)
			goto fail;
	}
	memset(&src, 0, sizeof src);
	src.head_sha256 = rn->head;
	src.path = rn->o->path;
	src.dev = rn->dev;
	src.inode = rn->inode;
	src.offset = offset;
	src.lines = lines;
	if ((rc = store_sendlog_source_set(rn->db, &src, (int64_t)time(NULL),
	    rn->err)) < 0)
		goto fail;
	if ((rc = store_tx_commit(rn->db, rn->err)) < 0)
		goto fail;
	memset(rn->map, 0, MAP_SLOTS * sizeof *rn->map);
	rn->nkeys = 0;
	rn->batch_lines = 0;
	return 0;
fail:
	store_tx_rollback(rn->db);
	return rc;
}

static int
flush(struct run *rn)
{
	return flush_at(rn, rn->lr->offset, rn->lines_done);
}

/* Source address of an attempt: as logged, else the transport's bind
 * address from [sender] transport_ip, else our only IP, else ''. */
static const char *
source_of(const struct run *rn, const struct sl_attempt *a)
{
	const struct sender_config *s = rn->o->sender;

	if (a->source_ip[0] != '\0' || s == NULL)
		return a->source_ip;
	for (size_t i = 0; i < s->n_transports; i++)
		if (strcmp(s->transports[i].transport, a->transport) == 0)
			return s->transports[i].ip;
	if (s->n_ips == 1)
		return s->ips[0];
	return "";
}

static void
malformed(struct run *rn, uint64_t lineno, const char *why)
{
	struct sendlog_summary *sum = rn->sum;

	if (sum->malformed < SENDLOG_MALFORMED_SHOWN) {
		sum->malformed_line[sum->malformed] = lineno;
		log_warnx("%s:%llu: malformed line skipped: %s", rn->o->path,
		    (unsigned long long)lineno, why);
	}
	sum->malformed++;
}

/* One line: parse, classify, add to the batch. */
static int
take_line(struct run *rn, const char *line, size_t len, int too_long)
{
	const struct profiles *pf = rn->o->profiles;
	const struct profile *pr = NULL;
	struct sl_attempt a;
	struct key *k;
	struct err e;
	uint64_t lineno;
	int rc, cls, prule = 0;

	rn->lines_done++;
	rn->batch_lines++;
	rn->sum->lines++;
	lineno = rn->lines_done;
	if (too_long) {
		malformed(rn, lineno, "longer than LIM_SENDLOG_LINE_BYTES");
		return 0;
	}
	if (rn->fmt == SL_FMT_AUTO) {
		while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
			len--;
		if (len == 0) {
			rn->sum->skipped++;
			return 0;
		}
		if ((rn->fmt = sendlog_detect(line, len)) == SL_FMT_AUTO)
			return err_set(rn->err, ERR_INVAL, "%s: cannot tell the "
			    "log format from line %llu; use --format",
			    rn->o->path, (unsigned long long)lineno);
		rn->sum->format = rn->fmt;
	}
	err_clear(&e);
	rc = sendlog_parse_line(rn->fmt, line, len, &rn->slo, &a, &e);
	if (rc == ERR_NOMEM)
		return err_set(rn->err, rc, "out of memory");
	if (rc < 0) {
		malformed(rn, lineno, e.msg);
		return 0;
	}
	if (rc == 1) {
		rn->sum->skipped++;
		return 0;
	}
	if (a.internal) {
		/* the MTA's own deferral, not the provider's answer */
		rn->sum->internal++;
		return 0;
	}
	if (pf != NULL && (pr = profiles_by_domain(pf, a.rcpt_domain)) == NULL)
		pr = profiles_by_mx(pf, a.relay_host);
	if (pr == NULL)
		rn->sum->unmatched++;
	if (a.status == SL_SENT) {
		cls = SL_OK;
	} else {
		cls = profiles_classify(pf, pr, a.smtp_code, a.enhanced,
		    a.reply, &prule, NULL);
		/* a reply rule may not make a failed attempt "ok" */
		if (cls == SL_OK)
			cls = a.status == SL_DEFERRED ? SL_OTHER_4XX :
			    SL_OTHER_5XX;
	}
	if (a.when < 0)
		a.when = 0;
	if ((k = key_get(rn, a.when - a.when % 3600, source_of(rn, &a),
	    pr != NULL ? pr->name : "")) == NULL) {
		/* batch full of keys: write it up to the line before this
		 * one, then start a new batch with this line */
		if ((rc = flush_at(rn, rn->line_start, rn->lines_done - 1)) < 0)
			return rc;
		rn->batch_lines = 1;
		k = key_get(rn, a.when - a.when % 3600, source_of(rn, &a),
		    pr != NULL ? pr->name : "");
		if (k == NULL)
			return err_set(rn->err, ERR_INVAL, "internal: batch map");
	}
	k->row.attempts++;
	if (a.status == SL_SENT)
		k->row.delivered++;
	else if (a.status == SL_DEFERRED)
		k->row.deferred++;
	else
		k->row.bounced++;
	k->row.cls[cls]++;
	if (cls == SL_RATE && prule)
		k->row.rate_signal++;
	rn->sum->attempts++;
	return 0;
}

/* The header line of the CSV format (doc/sendlog.md). */
static int
is_csv_header(const char *line, size_t len)
{
	return len >= 10 && memcmp(line, "timestamp,", 10) == 0;
}

/*
 * Opens the source at its stored position. Returns 1 when ready, 0 when
 * the file has no whole first line yet (follow: try later), <0 on error.
 * On 1, the first line has been taken when the file is new.
 */
static int
open_source(struct run *rn, int fd)
{
	static char ident[2 * LIM_SENDLOG_LINE_BYTES + 2];
	struct stat st;
	const char *line, *line2 = NULL;
	size_t len, len2 = 0, n1, nident;
	int too_long, too_long2 = 0, have2 = 0, rc;
	uint64_t off = 0, lines = 0;

	if (fstat(fd, &st) != 0)
		return err_set(rn->err, ERR_IO, "%s: %s", rn->o->path,
		    strerror(errno));
	rn->dev = S_ISREG(st.st_mode) ? (int64_t)st.st_dev : 0;
	rn->inode = S_ISREG(st.st_mode) ? (int64_t)st.st_ino : 0;
	if (rn->o->year > 0) {
		rn->slo.ref_year = rn->o->year;
		rn->slo.ref_month = 12;
	} else {
		time_t t = S_ISREG(st.st_mode) ? st.st_mtime : time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		rn->slo.ref_year = tm.tm_year + 1900;
		rn->slo.ref_month = tm.tm_mon + 1;
	}
	/* From the start: an earlier call that found no whole first line
	 * (follow) has moved the file position. */
	if (S_ISREG(st.st_mode) && lseek(fd, 0, SEEK_SET) < 0)
		return err_set(rn->err, ERR_IO, "%s: seek: %s", rn->o->path,
		    strerror(errno));
	lr_reset(rn->lr, fd, 0);
	rc = lr_next(rn->lr, &line, &len, &too_long, !rn->o->follow);
	if (rc <= 0)
		return rc < 0 ? err_set(rn->err, rc, "%s: read error",
		    rn->o->path) : 0;
	/* The file's identity: SHA-256 of its first line (doc/sendlog.md),
	 * or of its first two when the first is a CSV header, which every
	 * CSV file shares. */
	n1 = too_long ? 0 : len;
	memcpy(ident, too_long ? "" : line, n1);
	nident = n1;
	if (!too_long && is_csv_header(line, len)) {
		rc = lr_next(rn->lr, &line2, &len2, &too_long2,
		    !rn->o->follow);
		if (rc < 0)
			return err_set(rn->err, rc, "%s: read error",
			    rn->o->path);
		if (rc == 0 && rn->o->follow)
			return 0;   /* wait for a whole second line */
		have2 = rc == 1;
		if (have2 && !too_long2) {
			ident[nident++] = '\n';
			memcpy(ident + nident, line2, len2);
			nident += len2;
		}
	}
	digest_sha256_hex(ident, nident, 0, rn->head);
	if ((rc = store_sendlog_source_get(rn->db, rn->head, &off, &lines,
	    rn->err)) < 0)
		return rc;
	rn->sum->files++;
	rn->lines_done = 0;
	rn->batch_lines = 0;
	if (rc == 1 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < off) {
		log_warnx("%s: shorter than the %llu bytes already imported "
		    "from a file with the same first line; reading it from the "
		    "start", rn->o->path, (unsigned long long)off);
		rc = 0;
	}
	if (rc == 0 || off == 0 || (have2 && off == n1 + 1)) {
		/* new (or only its header taken): the lines read so far */
		if (rc == 0 || off == 0) {
			rn->line_start = 0;
			if ((rc = take_line(rn, ident, n1, too_long)) < 0)
				return rc;
		} else {
			rn->lines_done = lines;
		}
		if (have2) {
			rn->line_start = n1 + 1;
			if ((rc = take_line(rn, too_long2 ? NULL :
			    ident + n1 + 1, len2, too_long2)) < 0)
				return rc;
		}
		return 1;
	}
	/* Known file: detect the format from its first line, then go on
	 * where the last run stopped. */
	if (rn->fmt == SL_FMT_AUTO && n1 > 0) {
		rn->fmt = sendlog_detect(ident, n1);
		rn->sum->format = rn->fmt;
	}
	rn->sum->resumed_at_line = lines;
	rn->lines_done = lines;
	if (off == rn->lr->offset)
		return 1;
	if (S_ISREG(st.st_mode)) {
		if (lseek(fd, (off_t)off, SEEK_SET) < 0)
			return err_set(rn->err, ERR_IO, "%s: seek: %s",
			    rn->o->path, strerror(errno));
		lr_reset(rn->lr, fd, off);
		return 1;
	}
	/* a pipe: read and drop what was imported before */
	while (rn->lr->offset < off) {
		rc = lr_next(rn->lr, &line, &len, &too_long, 1);
		if (rc <= 0)
			return rc < 0 ? err_set(rn->err, rc, "read error") : 1;
	}
	return 1;
}

/* 1 when the first line of the open file no longer hashes to the
 * identity we are reading under (rewritten in place). Reads at most one
 * line cap with pread(), so the read position is untouched. */
static int
head_changed(const struct run *rn, int fd)
{
	static char buf[2 * LIM_SENDLOG_LINE_BYTES + 2];
	char hex[DIGEST_HEX_LEN + 1];
	ssize_t got = pread(fd, buf, sizeof buf, 0);
	char *nl;

	if (got <= 0)
		return got == 0;
	if ((nl = memchr(buf, '\n', (size_t)got)) == NULL)
		return 0;   /* no whole first line: cannot tell yet */
	if ((size_t)(nl - buf) > LIM_SENDLOG_LINE_BYTES) {
		digest_sha256_hex("", 0, 0, hex);   /* overlong: as read */
		return strcmp(hex, rn->head) != 0;
	}
	/* same identity as open_source(): two lines after a CSV header */
	if (is_csv_header(buf, (size_t)(nl - buf)) &&
	    (nl = memchr(nl + 1, '\n', (size_t)(buf + got - nl - 1))) == NULL)
		return 0;
	digest_sha256_hex(buf, (size_t)(nl - buf), 0, hex);
	return strcmp(hex, rn->head) != 0;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int
stopped(const struct run *rn)
{
	return rn->o->stop != NULL && *rn->o->stop;
}

int
ingest_sendlog(struct store *db, const struct sendlog_opts *o,
    struct sendlog_summary *sum, struct err *err)
{
	struct run rn;
	int fd = -1, rc, ready = 0, is_stdin = strcmp(o->path, "-") == 0;
	const char *line;
	size_t len;
	int too_long;

	memset(&rn, 0, sizeof rn);
	memset(sum, 0, sizeof *sum);
	rn.db = db;
	rn.o = o;
	rn.sum = sum;
	rn.err = err;
	rn.fmt = o->format;
	sum->format = o->format;
	rn.lr = malloc(sizeof *rn.lr);
	rn.map = calloc(MAP_SLOTS, sizeof *rn.map);
	if (rn.lr == NULL || rn.map == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (is_stdin) {
		fd = STDIN_FILENO;
	} else if ((fd = open(o->path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
		err_where(err, "%s", o->path);
		rc = err_set(err, rc, "cannot open: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		if (!ready) {
			if ((rc = open_source(&rn, fd)) < 0)
				goto out;
			ready = rc;
		}
		while (ready && (rn.line_start = rn.lr->offset,
		    rc = lr_next(rn.lr, &line, &len, &too_long, !o->follow)) ==
		    1) {
			if ((rc = take_line(&rn, line, len, too_long)) < 0)
				goto out;
			if (rn.batch_lines >= LIM_SENDLOG_BATCH_LINES &&
			    (rc = flush(&rn)) < 0)
				goto out;
		}
		if (rc < 0) {
			rc = err_set(err, rc, "%s: read error", o->path);
			goto out;
		}
		if ((rc = flush(&rn)) < 0)
			goto out;
		if (!o->follow || is_stdin || stopped(&rn))
			break;
		/* Follow: wait, then look for rotation (another inode at
		 * the path) or truncation (the file got shorter). */
		sleep_ms(o->poll_ms ? o->poll_ms : 1000);
		if (stopped(&rn))
			break;
		{
			struct stat now;
			int rotated = 0, rewritten = 0;

			if (stat(o->path, &now) == 0) {
				rotated = (int64_t)now.st_ino != rn.inode ||
				    (int64_t)now.st_dev != rn.dev;
				if (ready && !rotated &&
				    (uint64_t)now.st_size < rn.lr->offset)
					rotated = 1;   /* truncated (copytruncate) */
				/* truncated and grown past our offset between
				 * two polls: the first line is another one */
				if (ready && !rotated && head_changed(&rn, fd))
					rotated = rewritten = 1;
			}
			if (rotated) {
				/* Renamed away: the old file's last lines
				 * first. Not after a truncation or rewrite in
				 * place: past our offset is new content. */
				while (!rewritten && ready &&
				    (int64_t)now.st_ino != rn.inode &&
				    (rn.line_start = rn.lr->offset,
				    rc = lr_next(rn.lr, &line, &len, &too_long,
				    0)) == 1)
					if ((rc = take_line(&rn, line, len,
					    too_long)) < 0)
						goto out;
				if (rc < 0) {
					rc = err_set(err, rc, "%s: read error",
					    o->path);
					goto out;
				}
				if ((rc = flush(&rn)) < 0)
					goto out;
				close(fd);
				fd = open(o->path, O_RDONLY | O_CLOEXEC);
				ready = 0;
				if (fd < 0) {
					/* not recreated yet: retry */
					while (fd < 0 && !stopped(&rn)) {
						sleep_ms(o->poll_ms ? o->poll_ms :
						    1000);
						fd = open(o->path,
						    O_RDONLY | O_CLOEXEC);
					}
					if (fd < 0)
						break;
				}
				log_info("%s: rotated, reading the new file",
				    o->path);
			}
		}
	}
	rc = 0;
out:
	if (fd >= 0 && !is_stdin)
		close(fd);
	free(rn.lr);
	free(rn.map);
	return rc;
}

int
ingest_sendlog_run(const char *db_path, const char *profiles_path,
    const struct sender_config *sender, const struct sendlog_opts *o,
    struct sendlog_summary *sum, struct err *err)
{
	struct store *db = NULL;
	struct profiles *pf = NULL;
	struct sendlog_opts oo;
	int rc;

	if ((rc = store_open(db_path, 0, &db, err)) < 0)
		return rc;
	if (profiles_path != NULL &&
	    (rc = ingest_profiles_sync(db, profiles_path, &pf, err)) < 0)
		goto out;
	if (sender != NULL && (rc = ingest_sender_sync(db, sender, err)) < 0)
		goto out;
	if (o != NULL) {
		oo = *o;
		oo.profiles = pf;
		if (oo.sender == NULL)
			oo.sender = sender;
		rc = ingest_sendlog(db, &oo, sum, err);
	}
out:
	profiles_free(pf);
	store_free(db);
	return rc;
}
