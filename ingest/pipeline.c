/*
 * ingest/pipeline.c - one message through MIME, unpack, parse and store in
 * a single transaction. See pipeline.h for the contract.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/strparse.h"
#include "../common/buf.h"
#include "../parse/arf.h"
#include "../parse/dmarc_xml.h"
#include "../parse/tlsrpt_json.h"
#include "digest.h"
#include "mime.h"
#include "pipeline.h"
#include "relay.h"
#include "unpack.h"

/* Bytes looked at to decide what a payload is: enough for a BOM, an XML
 * declaration, blank lines and the first element. */
#define SNIFF_BYTES 4096

struct pipeline {
	struct store *st;
	struct pipeline_stats stats;
	struct pipeline_opts opts;
	unsigned long long pending_seq;   /* provisional message hashes */
	pipeline_commit_fn commit_fn;     /* the source's state, see .h */
	void *commit_ctx;
	int source_logs;                  /* pipeline_set_source_logs() */
	struct pipeline_msg_summary last; /* pipeline_last() */
	/* progress while pipeline_run() runs, also inside one big message */
	pipeline_progress_fn progress;
	void *progress_ctx;
	struct ingest_source *progress_src;
};

/* Records between two progress calls inside one report: the callback
 * throttles itself; this keeps the calls (and their clock reads) rare. */
#define PROGRESS_RECORDS 4096u

/* Raw files at least this big are hashed in a second thread while they
 * are parsed: SHA-256 of 600 MB takes about a quarter of the parse time,
 * too much to spend before parsing starts. Smaller inputs are hashed
 * first, so known bytes cost nothing more than the hash. */
#define DIGEST_PARALLEL_BYTES (8u * 1024 * 1024)

struct digest_job {
	const unsigned char *data;
	size_t len;
	int drop_behind;
	int rc;
	char sha[DIGEST_HEX_LEN + 1];
};

static void *
digest_main(void *arg)
{
	struct digest_job *j = arg;

	j->rc = digest_sha256_hex(j->data, j->len, j->drop_behind, j->sha);
	return NULL;
}

/* A part of a message kept until the walk ends (ARF pieces). */
struct kept_part {
	struct buf data;
	char parent[64];              /* MIME path of the enclosing part */
	int present;
};

/* Per-message state. */
struct msg_ctx {
	struct pipeline *p;
	const struct ingest_msg *m;
	const char *sha256;
	int64_t message_id;
	int64_t report_id;            /* of the report being parsed */
	int payloads;                 /* report-like payloads seen */
	int reports_new, reports_known, rejected;
	int reports_replaced;         /* of reports_new: took a recovered
	                               * copy's place */
	int begun_replaced;           /* the payload being parsed did */
	int transient;                /* a transient error: abort message */
	struct err transient_err;
	uint64_t records;
	uint64_t records_inflight;    /* of the report being read */
	int in_message;               /* MIME parts: ignore non-reports */
	struct err payload_err;       /* a sink's own refusal, if any */
	int payloads_seen;            /* against LIM_PAYLOADS_PER_MESSAGE */
	int payload_cap_hit;
	struct kept_part arf_feedback;  /* message/feedback-report */
	struct kept_part arf_original[4]; /* message/rfc822, rfc822-headers */
	int arf_feedback_parts;
	unsigned kinds;               /* 1 << report kind, for the hook */
};

/* A reader that replays the first bytes it peeked, then reads on. */
struct peek_reader {
	struct reader *in;
	unsigned char head[SNIFF_BYTES];
	size_t head_len, head_pos;
	struct reader rd;
};

static int
peek_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
	struct peek_reader *pr = ctx;

	if (pr->head_pos < pr->head_len) {
		size_t n = pr->head_len - pr->head_pos;
		if (n > cap)
			n = cap;
		memcpy(buf, pr->head + pr->head_pos, n);
		pr->head_pos += n;
		*got = n;
		return 0;
	}
	return pr->in->read(pr->in->ctx, buf, cap, got);
}

/* Fills the peek buffer; returns 0 or the reader's error. */
static int
peek_fill(struct peek_reader *pr, struct reader *in)
{
	int rc;

	memset(pr, 0, sizeof *pr);
	pr->in = in;
	while (pr->head_len < sizeof pr->head) {
		size_t got = 0;
		rc = in->read(in->ctx, pr->head + pr->head_len,
		    sizeof pr->head - pr->head_len, &got);
		if (rc != 0)
			return rc;
		if (got == 0)
			break;
		pr->head_len += got;
	}
	pr->rd.read = peek_read;
	pr->rd.ctx = pr;
	return 0;
}

enum content { CONTENT_NONE, CONTENT_XML, CONTENT_JSON };

/* What a payload's first bytes say it is (after BOMs and white space). */
static enum content
sniff_content(const unsigned char *p, size_t n)
{
	size_t i = 0;

	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;
	else if (n >= 2 && ((p[0] == 0xff && p[1] == 0xfe) ||
	    (p[0] == 0xfe && p[1] == 0xff)))
		return CONTENT_XML;   /* UTF-16 BOM: only XML is plausible */
	else if (n >= 4 && ((p[0] == 0 && p[1] == '<' && p[2] == 0 &&
	    p[3] == '?') || (p[0] == '<' && p[1] == 0 && p[2] == '?' &&
	    p[3] == 0)))
		/* UTF-16 without a BOM: the XML declaration tells (XML 1.0
		 * appendix F, "00 3C 00 3F"), as libxml2 reads it */
		return CONTENT_XML;
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'))
		i++;
	if (i >= n)
		return CONTENT_NONE;
	if (p[i] == '<')
		return CONTENT_XML;
	if (p[i] == '{')
		return CONTENT_JSON;
	return CONTENT_NONE;
}

/* 1 when the head of an XML payload has a <feedback> start tag, with or
 * without a namespace prefix. Only used to tell a report from other XML
 * inside messages and archives. */
static int
looks_like_feedback(const unsigned char *p, size_t n)
{
	static const char tag[] = "feedback";
	const unsigned char *q = p, *end = p + n;
	unsigned char narrow[SNIFF_BYTES / 2];

	/* UTF-16 (a BOM, or NUL bytes beside the first '<'): look at every
	 * other byte, the ASCII of the markup */
	if (n >= 4 && ((p[0] == 0xff && p[1] == 0xfe) || (p[0] == 0xfe &&
	    p[1] == 0xff) || (p[0] == 0 && p[1] == '<') || (p[0] == '<' &&
	    p[1] == 0))) {
		size_t odd = (p[0] == 0xfe || p[0] == 0) ? 1 : 0, k = 0;
		for (size_t i = odd; i < n && k < sizeof narrow; i += 2)
			narrow[k++] = p[i];
		p = q = narrow;
		end = narrow + k;
	}

	while ((q = memmem(q, (size_t)(end - q), tag, sizeof tag - 1)) !=
	    NULL) {
		const unsigned char *t = q + sizeof tag - 1;
		int after = t >= end || *t == '>' || *t == ' ' || *t == '\t' ||
		    *t == '\r' || *t == '\n' || *t == '/';
		if (after && q > p && q[-1] == '<')
			return 1;
		if (after && q > p && q[-1] == ':') {
			/* walk back over the prefix to its '<' */
			const unsigned char *b = q - 1;
			while (b > p && b[-1] != '<' && b[-1] != ' ' &&
			    b[-1] != '>' && b[-1] != '\n' && q - b < 64)
				b--;
			if (b > p && b[-1] == '<')
				return 1;
		}
		q = t;
	}
	return 0;
}

/* ---- the sink: parser -> store ---- */

/* A store call failed inside a parser callback: a transient failure ends
 * the whole message (retried later); a permanent one rejects this payload
 * with the store's own message. */
static int
sink_fail(struct msg_ctx *c, int rc, const struct err *e)
{
	if (err_is_transient(rc)) {
		c->transient = 1;
		c->transient_err = *e;
	} else if (c->payload_err.code == 0)
		c->payload_err = *e;
	return rc;
}

static int
sink_begin(void *ctx, const struct report *r)
{
	struct msg_ctx *c = ctx;
	struct err e;
	int rc;

	err_clear(&e);
	/* ARF also carries spam complaints (RFC 5965 "abuse") and other
	 * feedback: only auth-failure reports are DMARC failure reports. */
	if (r->kind == REPORT_FAILURE && r->fail.feedback_type != NULL &&
	    sp_casecmp(r->fail.feedback_type, "auth-failure") != 0) {
		/* Named when registered (RFC 5965, 6650); any other word is
		 * the sender's and stays out of the message. */
		static const char *const reg[] = { "abuse", "fraud", "virus",
		    "other", "not-spam" };
		const char *ft = NULL;
		for (size_t i = 0; i < sizeof reg / sizeof reg[0]; i++)
			if (sp_casecmp(r->fail.feedback_type, reg[i]) == 0)
				ft = reg[i];
		err_set(&c->payload_err, ERR_UNSUPPORTED, "ARF feedback type "
		    "%s%s%s is not a DMARC failure report (auth-failure)",
		    ft ? "'" : "", ft ? ft : "(unregistered)", ft ? "'" : "");
		return ERR_UNSUPPORTED;
	}
	c->kinds |= 1u << r->kind;
	c->records_inflight = 0;
	rc = store_report_begin(c->p->st, c->message_id, r, &c->report_id,
	    &e);
	if (rc == 1) {
		c->reports_known++;
		return ERR_STOPPED;
	}
	if (rc < 0)
		return sink_fail(c, rc, &e);
	/* counted once the payload's savepoint is kept */
	c->begun_replaced = store_report_replaced(c->p->st);
	return rc;
}

/* A 1M-record file is one message: show its records as they go (not yet
 * committed: what the summary says may be less), every PROGRESS_RECORDS
 * records whether they come one by one or in batches. */
static void
progress_records(struct msg_ctx *c, uint64_t n)
{
	uint64_t before = c->records_inflight;

	c->records_inflight += n;
	if (c->p->progress != NULL && c->records_inflight / PROGRESS_RECORDS !=
	    before / PROGRESS_RECORDS) {
		struct pipeline_stats now = c->p->stats;
		now.records += c->records + c->records_inflight;
		c->p->progress(c->p->progress_ctx, &now, c->p->progress_src);
	}
}

static int
sink_record(void *ctx, const struct report *r, const struct agg_record *rec)
{
	struct msg_ctx *c = ctx;
	struct err e;
	int rc;

	err_clear(&e);         /* err_set() keeps a where */
	rc = store_report_record(c->p->st, c->report_id, r, rec, &e);
	if (rc < 0)
		return sink_fail(c, rc, &e);
	progress_records(c, 1);
	return rc;
}

static int
sink_records(void *ctx, const struct report *r, const struct agg_record *recs,
    size_t n)
{
	struct msg_ctx *c = ctx;
	struct err e;
	int rc;

	err_clear(&e);         /* err_set() keeps a where */
	rc = store_report_records(c->p->st, c->report_id, r, recs, n, &e);
	if (rc < 0)
		return sink_fail(c, rc, &e);
	progress_records(c, n);
	return rc;
}

static int
sink_end(void *ctx, const struct report *r)
{
	struct msg_ctx *c = ctx;
	struct err e;
	int rc;

	err_clear(&e);         /* err_set() keeps a where */
	rc = store_report_end(c->p->st, c->report_id, r, &e);
	c->records_inflight = 0;
	if (rc < 0)
		return sink_fail(c, rc, &e);
	/* A failure report is one record (one message) by definition. */
	c->records += r->kind == REPORT_FAILURE ? 1 : r->n_records;
	return 0;
}

static int
sink_policy(void *ctx, const struct report *r, const struct tlsrpt_policy *p)
{
	struct msg_ctx *c = ctx;
	struct err e;
	int rc;

	err_clear(&e);         /* err_set() keeps a where */
	rc = store_tlsrpt_policy(c->p->st, c->report_id, r, p, &e);
	if (rc < 0)
		return sink_fail(c, rc, &e);
	return rc;
}

/* Appends src to the string in dst (cap bytes), cutting it to fit. */
static void
cat_cut(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(dst), k;

	if (n + 1 >= cap)
		return;
	k = strnlen(src, cap - n - 1);
	memcpy(dst + n, src, k);
	dst[n + k] = '\0';
}

static int
record_rejected(struct msg_ctx *c, const char *where, const struct err *e)
{
	struct store_rejected rj;
	struct err se;
	char origin[LIM_ORIGIN_BYTES + 300];
	int rc, show_where;

	snprintf(origin, sizeof origin, "%s%s%s", c->m->origin,
	    where[0] ? ": " : "", where);
	memset(&rj, 0, sizeof rj);
	rj.message_id = c->message_id;
	rj.origin = origin;
	rj.sha256 = c->sha256;
	rj.error_code = err_token(e->code);
	rj.error_where = e->where;
	rj.error_msg = e->msg;
	rj.at = (int64_t)time(NULL);
	/* the origin may already name the place (a zip member): say it
	 * once */
	show_where = e->where[0] != '\0' && strstr(origin, e->where) == NULL;
	if (c->p->source_logs)
		log_debug("rejected %s: %s%s%s", origin, e->msg,
		    show_where ? " at " : "", show_where ? e->where : "");
	else
		log_warnx("rejected %s: %s%s%s", origin, e->msg,
		    show_where ? " at " : "", show_where ? e->where : "");
	if (c->rejected == 0) {
		/* where: msg at where, cut to fit (a log line's detail) */
		char *fr = c->p->last.first_reject;
		size_t cap = sizeof c->p->last.first_reject;
		fr[0] = '\0';
		cat_cut(fr, cap, where);
		cat_cut(fr, cap, where[0] ? ": " : "");
		cat_cut(fr, cap, e->msg);
		cat_cut(fr, cap, show_where ? " at " : "");
		cat_cut(fr, cap, show_where ? e->where : "");
	}
	c->rejected++;
	err_clear(&se);         /* err_set() keeps a where */
	rc = store_rejected_add(c->p->st, &rj, &se);
	if (rc < 0) {
		c->transient = 1;
		c->transient_err = se;
	}
	return rc;
}

/* Opens blob and advances to payload number idx (0-based). Returns 1 with
 * *rd set, 0 if there is no such payload, <0 error. */
static int
open_payload(const unsigned char *data, size_t len, int drop_behind,
    int idx, struct unpack **u, struct reader **rd, struct payload_info *pi,
    struct err *err)
{
	int rc;

	if ((rc = unpack_open(data, len, drop_behind, u)) != 0)
		return rc;
	for (int i = 0; i <= idx; i++) {
		rc = unpack_next(*u, rd, pi, err);
		if (rc <= 0)
			return rc;
	}
	return 1;
}

/*
 * Ends the savepoint of one parsed payload according to the parser's rc:
 * kept (0), already known (ERR_STOPPED), ignored (ERR_NOREPORT inside a
 * message: some other document), rejected (recorded) or transient.
 * Returns 0 or a transient error.
 */
static int
finish_payload(struct msg_ctx *c, int rc, struct err *e, const char *where)
{
	if (c->transient) {
		store_savepoint_rollback(c->p->st);
		return c->transient_err.code ? c->transient_err.code : ERR_DB;
	}
	if (rc == 0) {
		c->reports_new++;
		if (c->begun_replaced)
			c->reports_replaced++;
		c->begun_replaced = 0;
		if (store_savepoint_release(c->p->st, &c->transient_err) != 0) {
			c->transient = 1;
			return ERR_DB;
		}
		return 0;
	}
	store_savepoint_rollback(c->p->st);
	c->begun_replaced = 0;
	if (rc == ERR_STOPPED)  /* already known */
		return 0;
	if (rc == ERR_NOREPORT && c->in_message) {
		c->payloads--;  /* some other JSON/XML: not ours to reject */
		return 0;
	}
	if (err_is_transient(rc)) {
		c->transient = 1;
		c->transient_err = *e;
		return rc;
	}
	if (c->payload_err.code != 0) {
		*e = c->payload_err;
		err_clear(&c->payload_err);
	}
	if (e->code == 0)
		err_set(e, rc, "%s", err_str(rc));
	return record_rejected(c, where, e) < 0 ? ERR_DB : 0;
}

static const struct report_sink *
pipeline_sink(struct msg_ctx *c, struct report_sink *sink)
{
	memset(sink, 0, sizeof *sink);
	sink->begin = sink_begin;
	sink->record = sink_record;
	sink->records = sink_records;
	sink->end = sink_end;
	sink->tlsrpt_policy = sink_policy;
	sink->ctx = c;
	return sink;
}

/* One TLS-RPT JSON payload. Reports are small: no relay thread. */
static int
parse_json(struct msg_ctx *c, struct peek_reader *pr, const char *where)
{
	struct report_sink sink;
	struct err e;
	int rc;

	err_clear(&e);
	if ((rc = store_savepoint(c->p->st, &e)) != 0) {
		c->transient = 1;
		c->transient_err = e;
		return rc;
	}
	rc = tlsrpt_json_parse(&pr->rd, pipeline_sink(c, &sink), &e);
	return finish_payload(c, rc, &e, where);
}

/* dmarc_xml_parse with the relay's signature. */
static int
xml_parse_fn(struct reader *in, const void *opts,
    const struct report_sink *sink, struct err *err)
{
	return dmarc_xml_parse(in, opts, sink, err);
}

/* Parses one XML payload into a savepoint. Returns 0 (stored, known or
 * rejected: all recorded) or a transient error. */
static int
parse_xml(struct msg_ctx *c, const unsigned char *data, size_t len,
    int drop_behind, int idx, struct peek_reader *pr, const char *where,
    struct unpack *u)
{
	struct report_sink sink;
	struct dmarc_xml_opts opts = { 0 };
	struct err e, first;
	int rc;

	err_clear(&e);
	if ((rc = store_savepoint(c->p->st, &e)) != 0)
		goto transient;
	pipeline_sink(c, &sink);
	rc = relay_parse(xml_parse_fn, &pr->rd, &opts, &sink, &e);
	if (c->transient)
		goto transient_sp;
	if (rc < 0 && rc != ERR_STOPPED && unpack_error(u) != NULL &&
	    unpack_error(u)->code != 0)
		/* The container broke, not the XML (corrupt deflate data, a
		 * bomb past LIM_INFLATED_BYTES): its error names the cap and
		 * the byte or member, the parser's only says the read failed. */
		e = *unpack_error(u);
	else if (rc == ERR_FORMAT) {
		/* Not well-formed: one more try in libxml2 recover mode
		 * (standards.md 6.1), from the start of this payload. */
		struct unpack *u2 = NULL;
		struct reader *rd2 = NULL;
		struct payload_info pi2;
		struct peek_reader pr2;
		struct err e2;

		first = e;
		store_savepoint_rollback(c->p->st);
		if ((rc = store_savepoint(c->p->st, &e)) != 0)
			goto transient;
		err_clear(&e2);
		rc = open_payload(data, len, drop_behind, idx, &u2, &rd2, &pi2,
		    &e2);
		if (rc == 1 && (rc = peek_fill(&pr2, rd2)) == 0) {
			opts.recover = 1;
			rc = relay_parse(xml_parse_fn, &pr2.rd, &opts, &sink,
			    &e2);
		} else if (rc == 0)
			rc = ERR_FORMAT;
		unpack_free(u2);
		if (c->transient)
			goto transient_sp;
		if (rc != 0 && rc != ERR_STOPPED)
			e = first;      /* the first error says more */
	}
	if (rc == 0 && unpack_info(u) != NULL &&
	    unpack_info(u)->trailing_garbage) {
		/* Mimecast adds CRLF after its gzip stream: harmless, but
		 * say so on the report. */
		rc = store_report_add_warning(c->p->st, c->report_id,
		    warn_token(W_TRAILING_DATA), "bytes after the gzip stream "
		    "ignored", &c->transient_err);
		if (rc != 0) {
			c->transient = 1;
			goto transient_sp;
		}
	}
	return finish_payload(c, rc, &e, where);

transient_sp:
	store_savepoint_rollback(c->p->st);
	return c->transient_err.code ? c->transient_err.code : ERR_DB;
transient:
	c->transient = 1;
	c->transient_err = e;
	return rc;
}

/* All payloads of one blob (a raw file or a decoded MIME part). */
static int
do_blob(struct msg_ctx *c, const unsigned char *data, size_t len,
    int drop_behind, const char *where)
{
	struct unpack *u = NULL;
	struct reader *rd;
	struct payload_info pi;
	struct err e;
	enum content ct;
	int rc, idx = 0, found = 0;

	if ((rc = unpack_open(data, len, drop_behind, &u)) != 0)
		return rc;
	for (;; idx++) {
		struct peek_reader pr;
		char pwhere[600];

		err_clear(&e);
		rc = unpack_next(u, &rd, &pi, &e);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (err_is_transient(rc))
				goto out;
			/* A broken container: reject it, keep the rest. */
			if (!c->in_message || unpack_sniff(data, len)) {
				c->payloads++;
				rc = record_rejected(c, where, &e);
				if (rc < 0)
					goto out;
			}
			break;
		}
		/* The cap counts payloads of the whole message, across its
		 * MIME parts and archive members. */
		if (c->payloads_seen >= LIM_PAYLOADS_PER_MESSAGE) {
			if (!c->payload_cap_hit) {
				c->payload_cap_hit = 1;
				err_set(&e, ERR_TOO_LARGE, "more than "
				    "LIM_PAYLOADS_PER_MESSAGE (%d) payloads; "
				    "the rest is ignored",
				    LIM_PAYLOADS_PER_MESSAGE);
				if ((rc = record_rejected(c, where, &e)) < 0)
					goto out;
			}
			break;
		}
		c->payloads_seen++;
		snprintf(pwhere, sizeof pwhere, "%s%s%s", where,
		    where[0] && pi.desc[0] ? ", " : "", pi.desc);
		if ((rc = peek_fill(&pr, rd)) != 0) {
			const struct err *ue = unpack_error(u);
			if (err_is_transient(rc))
				goto out;
			c->payloads++;
			if (ue != NULL && ue->code != 0)
				e = *ue;
			else
				err_set(&e, rc, "cannot read payload");
			if ((rc = record_rejected(c, pwhere, &e)) < 0)
				goto out;
			continue;
		}
		ct = sniff_content(pr.head, pr.head_len);
		/* Inside a message or an archive, XML that is not a DMARC
		 * document (an HTML body, an XML invoice) is not ours to
		 * reject; a raw file given to us must be a report. */
		if (ct == CONTENT_XML && (c->in_message || pi.container_zip) &&
		    !looks_like_feedback(pr.head, pr.head_len))
			ct = CONTENT_NONE;
		switch (ct) {
		case CONTENT_XML:
			c->payloads++;
			found++;
			rc = parse_xml(c, data, len, drop_behind, idx, &pr,
			    pwhere, u);
			if (rc < 0)
				goto out;
			break;
		case CONTENT_JSON:
			c->payloads++;
			found++;
			rc = parse_json(c, &pr, pwhere);
			if (rc < 0)
				goto out;
			break;
		case CONTENT_NONE:
			/* Text bodies, logos, a readme in a zip: not an
			 * error. If nothing in the input is a report, the
			 * caller rejects the whole input as "noreport". */
			break;
		}
	}
	rc = 0;
out:
	unpack_free(u);
	(void)found;
	return rc;
}

static int
keep_part(struct kept_part *k, const struct mime_part *part)
{
	const char *dot = strrchr(part->path, '.');
	size_t n = dot ? (size_t)(dot - part->path) : 0;
	int rc;

	buf_init(&k->data, LIM_MESSAGE_BYTES);
	if ((rc = buf_append(&k->data, part->data, part->len)) != 0)
		return rc == ERR_TOO_LARGE ? 0 : rc;
	if (n >= sizeof k->parent)
		n = sizeof k->parent - 1;
	memcpy(k->parent, part->path, n);
	k->parent[n] = '\0';
	k->present = 1;
	return 0;
}

static void
kept_free(struct msg_ctx *c)
{
	buf_free(&c->arf_feedback.data);
	for (size_t i = 0; i < sizeof c->arf_original /
	    sizeof c->arf_original[0]; i++)
		buf_free(&c->arf_original[i].data);
}

static int
on_part(void *ctx, const struct mime_part *part)
{
	struct msg_ctx *c = ctx;
	const char *ct = part->content_type;
	char where[400];
	int rc;

	/* ARF (RFC 6591): the feedback fields and the original message are
	 * siblings in a multipart/report; keep both until the walk ends. */
	if (strcmp(ct, "message/feedback-report") == 0) {
		c->arf_feedback_parts++;
		if (!c->arf_feedback.present)
			return keep_part(&c->arf_feedback, part);
		return 0;
	}
	if (strcmp(ct, "message/rfc822") == 0 ||
	    strcmp(ct, "message/global") == 0 ||
	    strcmp(ct, "text/rfc822-headers") == 0 ||
	    strcmp(ct, "message/rfc822-headers") == 0) {
		for (size_t i = 0; i < sizeof c->arf_original /
		    sizeof c->arf_original[0]; i++)
			if (!c->arf_original[i].present) {
				rc = keep_part(&c->arf_original[i], part);
				if (rc < 0)
					return rc;
				break;
			}
		/* Embedded messages are walked into by mime_walk itself. */
		if (strncmp(ct, "message/", 8) == 0)
			return 0;
	}
	if (strncmp(ct, "multipart/", 10) == 0)
		return 0;
	if (part->len == 0)
		return 0;
	snprintf(where, sizeof where, "part %s%s%s%s", part->path,
	    part->filename ? " '" : "", part->filename ? part->filename : "",
	    part->filename ? "'" : "");
	for (char *q = where; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	rc = do_blob(c, part->data, part->len, 0, where);
	return rc < 0 ? rc : 0;
}

static int
on_header_date(void *ctx, const struct mime_header *h)
{
	char *out = ctx;

	if (out[0] == '\0' && sp_casecmp(h->name, "Date") == 0)
		snprintf(out, 128, "%s", h->value);
	return 0;
}

/* After the walk: a failure report, if the message had a feedback part. */
static int
do_arf(struct msg_ctx *c, const struct ingest_msg *m)
{
	struct arf_input in;
	struct report_sink sink;
	struct err e;
	char date[128] = "";
	int rc;

	if (!c->arf_feedback.present)
		return 0;
	memset(&in, 0, sizeof in);
	in.feedback = c->arf_feedback.data.data;
	in.feedback_len = c->arf_feedback.data.len;
	for (size_t i = 0; i < sizeof c->arf_original /
	    sizeof c->arf_original[0]; i++)
		if (c->arf_original[i].present && strcmp(
		    c->arf_original[i].parent, c->arf_feedback.parent) == 0) {
			in.original = c->arf_original[i].data.data;
			in.original_len = c->arf_original[i].data.len;
			break;
		}
	err_clear(&e);
	/* The outer Date stands in for a missing Arrival-Date: a message
	 * without a header block just has none, but a failed allocation
	 * would store the report without it (found by the allocation-failure
	 * sweep): transient, the message is read again. */
	if (mime_headers(m->data, m->len, on_header_date, date, &e) ==
	    ERR_NOMEM) {
		c->transient = 1;
		c->transient_err = e;
		return ERR_NOMEM;
	}
	err_clear(&e);
	in.outer_date = date[0] ? date : NULL;
	in.keep_body = c->p->opts.keep_failure_body;
	c->payloads++;
	if ((rc = store_savepoint(c->p->st, &e)) != 0) {
		c->transient = 1;
		c->transient_err = e;
		return rc;
	}
	rc = arf_parse(&in, pipeline_sink(c, &sink), &e);
	return finish_payload(c, rc, &e, "feedback report");
}

int
pipeline_new(struct store *st, const struct pipeline_opts *opts,
    struct pipeline **out)
{
	struct pipeline *p = calloc(1, sizeof *p);

	if (p == NULL)
		return ERR_NOMEM;
	p->st = st;
	if (opts != NULL)
		p->opts = *opts;
	*out = p;
	return 0;
}

void
pipeline_free(struct pipeline *p)
{
	free(p);
}

static int
outcome_of(const struct msg_ctx *c)
{
	if (c->reports_new > 0)
		return c->rejected > 0 ? MSG_PARTIAL : MSG_STORED;
	if (c->rejected > 0)
		return c->reports_known > 0 ? MSG_PARTIAL : MSG_REJECTED;
	return MSG_DUPLICATE;
}

int
pipeline_message(struct pipeline *p, const struct ingest_msg *m,
    int *outcome, struct err *err)
{
	struct store_message sm;
	struct msg_ctx c;
	struct digest_job job;
	pthread_t digest_th;
	char sha[DIGEST_HEX_LEN + 1];
	int64_t id;
	int known_outcome, rc, parallel = 0;
	uint64_t nrep;

	memset(&c, 0, sizeof c);
	c.p = p;
	c.m = m;
	p->stats.messages++;
	memset(&p->last, 0, sizeof p->last);

	if (m->read_failed) {
		/* Nothing to hash: record where and why, and go on. */
		if ((rc = store_tx_begin(p->st, err)) != 0) {
			p->stats.transient++;
			return rc;
		}
		c.sha256 = NULL;
		rc = record_rejected(&c, "", &m->read_err);
		if (rc < 0)
			*err = c.transient_err;
		/* The source's state commits with the rejected row: a kill
		 * between two transactions would record the rejection twice
		 * (there is no hash to know it by). */
		if (rc == 0 && p->commit_fn != NULL)
			rc = p->commit_fn(p->commit_ctx, m, NULL, MSG_REJECTED,
			    0, err);
		if (rc == 0)
			rc = store_tx_commit(p->st, err);
		else
			store_tx_rollback(p->st);
		if (rc != 0) {
			p->stats.transient++;
			p->last.transient = *err;
			err_where_prefix(err, "%s", m->origin);
			return rc < 0 ? rc : ERR_DB;
		}
		p->stats.messages_rejected++;
		p->stats.reports_rejected++;
		p->last.rejected = 1;
		*outcome = MSG_REJECTED;
		return 0;
	}

	parallel = m->form == MSG_FORM_RAW && m->len >= DIGEST_PARALLEL_BYTES;
	if (parallel) {
		job.data = m->data;
		job.len = m->len;
		job.drop_behind = m->drop_behind;
		if (pthread_create(&digest_th, NULL, digest_main, &job) != 0)
			parallel = 0;
		else
			/* unique, and never a valid hex digest */
			snprintf(sha, sizeof sha, "pending:%ld:%llu",
			    (long)getpid(), ++p->pending_seq);
	}
	if (!parallel &&
	    (rc = digest_sha256_hex(m->data, m->len, m->drop_behind, sha)) != 0) {
		/* counted, or the run ends with exit 0 and this message
		 * silently not stored */
		p->stats.transient++;
		return err_set(err, rc, "cannot hash message");
	}
	c.sha256 = sha;
	if ((rc = store_tx_begin(p->st, err)) != 0)
		goto fail;
	rc = parallel ? 0 : store_message_find(p->st, sha, &id, &known_outcome,
	    err);
	if (rc < 0)
		goto fail_tx;
	if (rc == 1) {
	known:
		/* The same bytes again: a no-op that still tells the source
		 * (IMAP archives it). */
		rc = store_message_add_origin(p->st, id, m->origin,
		    (int64_t)time(NULL), err);
		if (rc != 0)
			goto fail_tx;
		if (p->commit_fn != NULL && (rc = p->commit_fn(p->commit_ctx,
		    m, sha, MSG_DUPLICATE, 0, err)) != 0)
			goto fail_tx;
		if ((rc = store_message_reports(p->st, id, &nrep, err)) != 0)
			goto fail_tx;
		if ((rc = store_tx_commit(p->st, err)) != 0)
			goto fail_tx;   /* it stays open on failure */
		p->stats.messages_known++;
		p->stats.reports_known_by_message += nrep;
		*outcome = MSG_DUPLICATE;
		log_debug("%s: already known (%s)", m->origin, sha);
		return 0;
	}
	memset(&sm, 0, sizeof sm);
	sm.sha256 = sha;
	sm.size = m->len;
	sm.origin = m->origin;
	sm.kind = m->kind;
	sm.received = (int64_t)time(NULL);
	if ((rc = store_message_add(p->st, &sm, &c.message_id, err)) != 0)
		goto fail_tx;

	if (m->form == MSG_FORM_MESSAGE) {
		struct err we;
		c.in_message = 1;
		err_clear(&we);
		rc = mime_walk(m->data, m->len, on_part, &c, &we);
		if (rc == 0 && !c.transient)
			rc = do_arf(&c, m);
		kept_free(&c);
		if (c.transient) {
			*err = c.transient_err;
			rc = c.transient_err.code ? c.transient_err.code :
			    ERR_DB;
			goto fail_tx;
		}
		if (rc < 0 && err_is_transient(rc)) {
			*err = we;
			goto fail_tx;
		}
		if (rc < 0 && record_rejected(&c, "", &we) < 0) {
			*err = c.transient_err;
			rc = ERR_DB;
			goto fail_tx;
		}
	} else {
		rc = do_blob(&c, m->data, m->len, m->drop_behind, "");
		if (rc < 0) {
			if (c.transient)
				*err = c.transient_err;
			else
				err_set(err, rc, "%s", err_str(rc));
			goto fail_tx;
		}
	}
	if (c.payloads == 0 && c.rejected == 0) {
		struct err ne;
		err_clear(&ne);
		if (m->len == 0)
			err_set(&ne, ERR_NOREPORT, "empty input");
		else if (m->form == MSG_FORM_MESSAGE)
			err_set(&ne, ERR_NOREPORT, "no report found in "
			    "message: no part holds DMARC XML or JSON");
		else
			err_set(&ne, ERR_NOREPORT, "not a report: neither "
			    "DMARC XML nor JSON (after unpacking)");
		if (record_rejected(&c, "", &ne) < 0) {
			*err = c.transient_err;
			rc = ERR_DB;
			goto fail_tx;
		}
	}
	if (parallel) {
		pthread_join(digest_th, NULL);
		parallel = 0;
		if (job.rc != 0) {
			rc = err_set(err, job.rc, "cannot hash message");
			goto fail_tx;
		}
		rc = store_message_find(p->st, job.sha, &id, &known_outcome,
		    err);
		if (rc < 0)
			goto fail_tx;
		memcpy(sha, job.sha, sizeof sha);
		if (rc == 1) {
			/* Known bytes after all: drop what the parse wrote
			 * (its reports were known anyway) and only note the
			 * origin. */
			store_tx_rollback(p->st);
			if ((rc = store_tx_begin(p->st, err)) != 0)
				goto fail;
			goto known;
		}
		if ((rc = store_message_set_sha256(p->st, c.message_id, sha,
		    err)) != 0)
			goto fail_tx;
	}
	*outcome = outcome_of(&c);
	if ((rc = store_message_set_outcome(p->st, c.message_id, *outcome,
	    err)) != 0)
		goto fail_tx;
	if (p->commit_fn != NULL && (rc = p->commit_fn(p->commit_ctx, m, sha,
	    *outcome, c.kinds, err)) != 0)
		goto fail_tx;
	if ((rc = store_tx_commit(p->st, err)) != 0)
		goto fail_tx;           /* it stays open on failure */
	p->stats.reports_new += (uint64_t)c.reports_new;
	p->stats.reports_known += (uint64_t)c.reports_known;
	p->stats.reports_replaced += (uint64_t)c.reports_replaced;
	p->stats.reports_rejected += (uint64_t)c.rejected;
	p->stats.records += c.records;
	if (*outcome == MSG_REJECTED)
		p->stats.messages_rejected++;
	p->last.reports_new = c.reports_new;
	p->last.reports_known = c.reports_known;
	p->last.rejected = c.rejected;
	p->last.records = c.records;
	if (c.reports_new > 0 && p->source_logs)
		log_debug("%s: stored %d report%s (%llu records)", m->origin,
		    c.reports_new, c.reports_new == 1 ? "" : "s",
		    (unsigned long long)c.records);
	else if (c.reports_new > 0)
		log_info("%s: stored %d report%s (%llu records)%s", m->origin,
		    c.reports_new, c.reports_new == 1 ? "" : "s",
		    (unsigned long long)c.records,
		    c.rejected ? ", some parts rejected" : "");
	return 0;

fail_tx:
	store_tx_rollback(p->st);
fail:
	if (parallel)
		pthread_join(digest_th, NULL);
	p->stats.transient++;
	memset(&p->last, 0, sizeof p->last);
	p->last.transient = *err;
	err_where_prefix(err, "%s", m->origin);
	return rc < 0 ? rc : ERR_DB;
}

int
pipeline_run(struct pipeline *p, struct ingest_source *src,
    pipeline_progress_fn progress, void *progress_ctx, struct err *err)
{
	struct ingest_msg m;
	int rc, outcome;

	p->progress = progress;
	p->progress_ctx = progress_ctx;
	p->progress_src = src;
	for (;;) {
		struct err me;

		rc = src->ops->next(src, &m, err);
		if (rc <= 0)
			break;
		err_clear(&me);
		rc = pipeline_message(p, &m, &outcome, &me);
		if (rc < 0) {
			if (!p->source_logs)
				log_error("%s: %s%s%s (will be retried)",
				    m.origin, me.msg, me.where[0] ? " at " : "",
				    me.where);
			if ((rc = src->ops->done(src, &m, rc, err)) < 0)
				break;
		} else if ((rc = src->ops->done(src, &m, outcome, err)) < 0)
			break;
		if (progress != NULL)
			progress(progress_ctx, &p->stats, src);
	}
	p->progress = NULL;
	p->progress_ctx = NULL;
	p->progress_src = NULL;
	return rc;
}

void
pipeline_set_commit_hook(struct pipeline *p, pipeline_commit_fn fn,
    void *ctx)
{
	p->commit_fn = fn;
	p->commit_ctx = ctx;
}

const struct pipeline_stats *
pipeline_stats(const struct pipeline *p)
{
	return &p->stats;
}

const struct pipeline_msg_summary *
pipeline_last(const struct pipeline *p)
{
	return &p->last;
}

void
pipeline_set_source_logs(struct pipeline *p, int on)
{
	p->source_logs = on;
}

int
ingest_import_paths(const char *db_path, const char *const *paths, size_t n,
    const struct pipeline_opts *opts,
    pipeline_progress_fn progress, void *progress_ctx,
    struct pipeline_stats *stats, struct source_paths_stats *files,
    struct err *err)
{
	struct store *st = NULL;
	struct pipeline *pl = NULL;
	struct ingest_source *src = NULL;
	int rc;

	memset(stats, 0, sizeof *stats);
	memset(files, 0, sizeof *files);
	if ((rc = store_open(db_path, 0, &st, err)) != 0) {
		err_where(err, "%s", db_path);
		goto out;
	}
	if ((rc = pipeline_new(st, opts, &pl)) != 0 ||
	    (rc = source_paths_new(paths, n, &src)) != 0) {
		err_set(err, rc, "out of memory");
		goto out;
	}
	rc = pipeline_run(pl, src, progress, progress_ctx, err);
	*stats = pl->stats;
	source_paths_stats(src, files);
out:
	source_free(src);
	pipeline_free(pl);
	store_free(st);
	return rc;
}
