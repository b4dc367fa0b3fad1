/*
 * parse/dmarc_xml.c - DMARC aggregate report XML with libxml2 (see
 * dmarc_xml.h).
 *
 * Shape: a recursive descent over a stream of nodes. Each container
 * handler loops over its children with xp_child() and dispatches on the
 * local name (namespace ignored); leaf handlers collect the text with
 * xp_text(). Nothing of the document is held beyond the current record:
 * record strings live in a per-record arena that is reset after the record
 * went to the sink, so memory does not grow with the number of records.
 *
 * Where the nodes come from: the normal pass runs libxml2's SAX2 push
 * parser, whose callbacks append start/end/text events to a small queue
 * that raw_next() pops; the queue is refilled one slice of input at a time
 * and emptied before the next slice, so it holds a few KiB. SAX2 builds no
 * tree, which is where xmlTextReader spent most of its time (node
 * allocation, unlinking, buffer copies).
 *
 * The recover pass (a second attempt for a document that is not
 * well-formed) never builds a tree either: the same SAX2 callbacks run
 * under libxml2's pull parser (xmlParseDocument with XML_PARSE_RECOVER) on
 * a thread of its own, which hands its events over in bounded batches
 * (thr_handoff / thr_take), so memory stays flat whatever the number of
 * records. Not the push parser: libxml2 2.9's push parser halts at errors
 * the pull parser recovers from ("<<<" in a text, as in the corpus file
 * dmarc-monitor__03-invalid.xml, whose four records would be lost).
 *
 * Recovery can move elements under the wrong parent: an unclosed
 * <policy_published> takes in every <record> after it, an unclosed <row>
 * takes in <identifiers> and the next record. renest() puts a known DMARC
 * element back under its only possible parent when an ancestor is that
 * parent (W_RENESTED). As a safety net, the <record> start tags are counted
 * in the document (the raw bytes in recover mode, libxml2's events
 * otherwise) and compared with the records read: a report missing records
 * is never stored (ERR_FORMAT naming the cause), so that a complete copy
 * arriving later is not discarded as "already known".
 *
 * Decisions (where we deliberately differ from parsedmarc, parsedmarc.md
 * section 3a; doc/schema.md "Parser decisions" says the same for users):
 *   report_id <...@host>       kept verbatim, not stripped: it is part of
 *                              the dedup key, stripping could merge two
 *                              reports (quirk 15)
 *   envelope_from missing      NULL (W_ENVELOPE_FROM_MISSING), not
 *                              back-filled from the SPF domain: that is a
 *                              guess, and scripts can do it (quirk 27)
 *   org_name missing           the email's domain (W_ORG_NAME_MISSING), not
 *                              reduced to a base domain: no public suffix
 *                              list in the parser (quirk 13)
 *   dkim selector / result,    NULL when absent, not "none" / "mfrom": an
 *   spf scope missing          absent value is not a result (quirk 31)
 *   np missing                 NULL, not defaulted to sp or p (RFC 9990 has
 *                              no default for a report; parsedmarc also
 *                              leaves it null)
 *   several reports' worth of  a document whose <record>s cannot all be
 *   records lost to recovery   read is rejected, not stored in part
 *   domains                    lower-cased; the value as sent kept in
 *                              raw_values (W_DOMAIN_CASE)
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include "../common/arena.h"
#include "../common/buf.h"
#include "../common/limits.h"
#include "../common/strparse.h"
#include "dmarc_xml.h"
#include "ipaddr.h"

#define NS_7489 "http://dmarc.org/dmarc-xml/0.1"
#define NS_9990 "urn:ietf:params:xml:ns:dmarc-2.0"


/* Raw values kept for one record: disposition, two aligned results,
 * source_ip, count, header_from, envelope_from, envelope_to, then one per
 * reason type and per DKIM/SPF domain, result and scope. */
#define REC_RAW_MAX (8 + LIM_REASONS + 5 * LIM_AUTH_RESULTS)
#define REP_RAW_MAX 16
#define ELCACHE_BITS 8
#define ELCACHE_SIZE (1u << ELCACHE_BITS)  /* > the names we know */

/* Bytes taken from the byte reader at a time, and bytes handed to
 * xmlParseChunk() at a time. The slice is small on purpose: when libxml2
 * finds the document broken, the events of the failing slice are dropped
 * (as xmlTextReader dropped the nodes of its failing 512-byte chunk), so
 * junk right after </feedback> still fails the normal pass and goes to
 * recover mode. 4 KiB slices cost nothing measurable over 64 KiB ones. */
#define SAX_READ_BYTES  (64u * 1024)
#define SAX_FEED_BYTES  4096u

/* Bytes of one text node kept in the event queue. Nothing uses more: a
 * leaf fails past LIM_FIELD_BYTES and an extension is dropped past
 * LIM_EXTENSION_BYTES; the full length is still counted. */
#define SAX_TEXT_KEEP   ((size_t)LIM_EXTENSION_BYTES + 1)

/* Recover pass: events handed from the parser thread to the reader of the
 * nodes at once. The thread stops at the next safe point past either
 * bound and waits until the reader took the batch, so at most two batches
 * exist (a few hundred KiB). */
#define THR_BATCH_EVENTS 512u
#define THR_BATCH_BYTES  (64u * 1024)

/* Raw <record> scan (recover pass): bytes of an undecided tag carried
 * from one read to the next; a tag name longer than RS_NAME_MAX is not
 * "record" with any sane prefix. */
#define RS_NAME_MAX      40
#define RS_CARRY         64

enum el {
	EL_OTHER = 0,
	EL_FEEDBACK, EL_VERSION, EL_REPORT_METADATA, EL_ORG_NAME, EL_EMAIL,
	EL_EXTRA_CONTACT_INFO, EL_REPORT_ID, EL_DATE_RANGE, EL_BEGIN, EL_END,
	EL_ERROR, EL_GENERATOR, EL_POLICY_PUBLISHED, EL_DOMAIN, EL_ADKIM,
	EL_ASPF, EL_P, EL_SP, EL_NP, EL_PCT, EL_FO, EL_TESTING,
	EL_DISCOVERY_METHOD, EL_EXTENSION, EL_EXTENSIONS, EL_RECORD, EL_ROW,
	EL_SOURCE_IP, EL_COUNT, EL_POLICY_EVALUATED, EL_DISPOSITION, EL_DKIM,
	EL_SPF, EL_REASON, EL_TYPE, EL_COMMENT, EL_IDENTIFIERS, EL_IDENTITIES,
	EL_HEADER_FROM, EL_ENVELOPE_FROM, EL_ENVELOPE_TO, EL_AUTH_RESULTS,
	EL_SELECTOR, EL_RESULT, EL_HUMAN_RESULT, EL_SCOPE,
};

static const struct {
	const char *name;
	enum el id;
} el_names[] = {
	{ "adkim", EL_ADKIM }, { "aspf", EL_ASPF },
	{ "auth_results", EL_AUTH_RESULTS }, { "begin", EL_BEGIN },
	{ "comment", EL_COMMENT }, { "count", EL_COUNT },
	{ "date_range", EL_DATE_RANGE },
	{ "discovery_method", EL_DISCOVERY_METHOD },
	{ "disposition", EL_DISPOSITION }, { "dkim", EL_DKIM },
	{ "domain", EL_DOMAIN }, { "email", EL_EMAIL }, { "end", EL_END },
	{ "envelope_from", EL_ENVELOPE_FROM },
	{ "envelope_to", EL_ENVELOPE_TO }, { "error", EL_ERROR },
	{ "extension", EL_EXTENSION }, { "extensions", EL_EXTENSIONS },
	{ "extra_contact_info", EL_EXTRA_CONTACT_INFO },
	{ "feedback", EL_FEEDBACK }, { "fo", EL_FO },
	{ "generator", EL_GENERATOR }, { "header_from", EL_HEADER_FROM },
	{ "human_result", EL_HUMAN_RESULT },
	{ "identifiers", EL_IDENTIFIERS }, { "identities", EL_IDENTITIES },
	{ "np", EL_NP }, { "org_name", EL_ORG_NAME }, { "p", EL_P },
	{ "pct", EL_PCT }, { "policy_evaluated", EL_POLICY_EVALUATED },
	{ "policy_published", EL_POLICY_PUBLISHED },
	{ "reason", EL_REASON }, { "record", EL_RECORD },
	{ "report_id", EL_REPORT_ID },
	{ "report_metadata", EL_REPORT_METADATA }, { "result", EL_RESULT },
	{ "row", EL_ROW }, { "scope", EL_SCOPE }, { "selector", EL_SELECTOR },
	{ "source_ip", EL_SOURCE_IP }, { "sp", EL_SP },
	{ "spf", EL_SPF }, { "testing", EL_TESTING }, { "type", EL_TYPE },
	{ "version", EL_VERSION },
};

/* Enum vocabularies (after lower-casing and alias mapping). */
static const char *const V_ALIGN[] = { "r", "s", NULL };
static const char *const V_DISP[] = { "none", "quarantine", "reject", NULL };
static const char *const V_ACTION[] = {
	"none", "quarantine", "reject", "pass", NULL
};
static const char *const V_DMARC[] = { "pass", "fail", NULL };
static const char *const V_DKIM[] = {
	"none", "pass", "fail", "policy", "neutral", "temperror", "permerror",
	NULL
};
static const char *const V_SPF[] = {
	"none", "neutral", "pass", "fail", "softfail", "temperror",
	"permerror", "policy", NULL
};
static const char *const V_SCOPE[] = { "helo", "mfrom", NULL };
static const char *const V_REASON[] = {
	"forwarded", "sampled_out", "trusted_forwarder", "mailing_list",
	"local_policy", "other", "policy_test_mode", NULL
};
static const char *const V_TESTING[] = { "n", "y", NULL };
static const char *const V_DISCOVERY[] = { "psl", "treewalk", NULL };

/* One SAX2 event. Names are interned in the parser's dictionary and stay
 * valid for the whole parse; text and the serialised attributes of a
 * start tag live in xp.eb at [off, off + len). */
struct ev {
	int type;                /* XML_READER_TYPE_ELEMENT / _END_ELEMENT /
	                          * _TEXT, so both node sources look alike */
	int depth, line, col;
	enum el el;              /* element: id of the local name */
	const char *name, *prefix, *uri;
	size_t off, len;
	size_t full;             /* text: length before SAX_TEXT_KEEP */
	unsigned empty : 1;      /* <x/> */
	unsigned nonblank : 1;   /* text: not only white space */
	unsigned own_ns : 1;     /* start tag declares its own prefix */
};

/* Prolog scanner states (DOCTYPE refusal before libxml2 sees it). */
enum prolog {
	PR_TEXT, PR_LT, PR_BANG, PR_BANG_DASH, PR_COMMENT, PR_PI, PR_DONE
};

/* Recover pass: one element open as the reader of the nodes sees it
 * (libxml2's open elements minus those renest() closed early). */
struct vnode {
	const char *name, *prefix, *uri;
	enum el el;
	int ld;                  /* libxml2's depth of the element */
};

/* Raw <record> start tag counter (recover pass): a small state machine
 * over the bytes, skipping comments, CDATA sections and PIs. */
enum { RS_TEXT, RS_COMMENT, RS_CDATA, RS_PI };
struct recscan {
	int state;
	int off;                 /* UTF-16 input: not scanned */
	unsigned char carry[RS_CARRY];
	size_t ncarry;
	uint64_t n;
	unsigned n_feedback;     /* <feedback> start tags so far */
};

struct xp {
	/* SAX2 parser: push (normal pass) or pull on a thread (recover) */
	xmlParserCtxtPtr pc;
	const struct dmarc_xml_opts *opts;
	const struct report_sink *sink;
	struct err *err;

	/* input wrapper */
	struct reader *in;
	int in_rc;               /* negative: the byte reader or prescan failed */
	int lead_done;
	size_t lead_skipped;
	enum prolog prolog;
	int pr_dash, pr_q;
	unsigned long pr_line;
	int first_byte;          /* first byte after BOM/white space, -1 none */
	uint64_t in_bytes;
	/* Whether a feedback end tag ("</feedback>", "</x:feedback>") went by
	 * in the raw input; tail keeps the last bytes of the previous chunk
	 * so a tag split between two reads is still seen. */
	int saw_end_tag;
	unsigned char tail[16];
	size_t tail_len;

	/* libxml2 diagnostics (first error kept), with the elements open
	 * in libxml2 at that point ("feedback/record/row"; "" at the top) */
	int xerr_code, xerr_line, xerr_col;
	unsigned long n_xerr;
	int xerr_utf8;
	char xerr_msg[200];
	char xerr_path[200];

	/* SAX2 event queue (normal pass): evs[ev_head, ev_n) not yet read */
	struct ev *evs;
	size_t ev_head, ev_n, ev_cap;
	char *eb;                /* event bytes */
	size_t eb_len, eb_cap;
	unsigned char *inbuf;    /* SAX_READ_BYTES from the byte reader */
	size_t in_len, in_pos;
	int in_eof;              /* the byte reader has nothing more */
	int sax_depth;           /* open elements seen by the callbacks */
	/* per open element: blank text directly inside it is invisible
	 * to the code reading the nodes (see sax_quiet()), and its URI */
	unsigned char sax_quiet[LIM_XML_DEPTH + 1];
	unsigned char sax_terr[LIM_XML_DEPTH + 1];
	unsigned char sax_el[LIM_XML_DEPTH + 1];      /* enum el */
	const char *sax_uri[LIM_XML_DEPTH + 1];
	int sax_done, sax_failed;
	int sax_rc;              /* negative: a callback refused the input */
	int sax_line, sax_col;
	char sax_what[64];       /* entity name; "" for a DOCTYPE */
	xmlSAXHandler sax;
	int options;
	uint64_t sax_records;    /* <record> start events (normal pass) */
	unsigned sax_feedbacks;  /* <feedback> start events */

	/* recover pass: the parser thread (producer) fills evs/eb as above
	 * and hands the batch over; the reader of the nodes reads c_evs */
	int threaded;
	int thr_sync;            /* mu and cv initialised */
	int thr_started, thr_ready, thr_done, thr_cancel;
	int thr_nomem;           /* an allocation failed on the thread */
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ev *c_evs;
	size_t c_head, c_n, c_cap;
	char *c_eb;
	size_t c_eb_cap;
	int c_final;
	unsigned long c_nxerr;   /* n_xerr when the batch was taken */
	struct recscan rs;

	/* re-nesting (recover pass), see renest() */
	struct vnode vs[LIM_XML_DEPTH + 2];
	int nv, fb_v;
	unsigned char lclosed[LIM_XML_DEPTH + 2];
	int rn_close_to;         /* pop vs down to this, then rn_start */
	int rn_held;
	struct ev rn_start;

	/* current node */
	int type, depth, empty;
	enum el el;
	const char *name;
	const char *ns, *prefix;         /* element: namespace URI, prefix */
	const char *ename, *eprefix;     /* end element: its names */
	const char *val;                 /* text (not NUL-terminated) */
	size_t vlen, vfull;
	int vnonblank;
	const char *attrs;               /* SAX: serialised attributes */
	size_t attrs_len;
	int own_ns;
	int line, col;
	unsigned long n_elems;
	const char *path[LIM_XML_DEPTH + 1];
	/* libxml2 interns element names in the reader's dictionary, so a
	 * name pointer seen once maps to its id without a string compare */
	struct { const char *name; enum el id; } elcache[ELCACHE_SIZE];

	/* output */
	struct arena *ra;        /* report lifetime */
	struct arena *ca;        /* one record (or the held ones) */
	struct report rep;
	struct warn_set ws;
	struct raw_value rraw[REP_RAW_MAX];
	const char *errors[LIM_METADATA_ERRORS];
	const char *feedback_ns;

	/* document state */
	int feedback_depth;
	int seen_meta, seen_policy, seen_version, seen_date_range;
	int has_begin, has_end;
	int begun;
	int top_rank;            /* schema order of feedback children (W_ORDER) */

	/* text of the current leaf, untrimmed */
	char text[LIM_FIELD_BYTES + 1];
	size_t tlen;

	/* the record being built */
	struct agg_record rec;
	struct agg_reason reasons[LIM_REASONS];
	struct agg_dkim dkim[LIM_AUTH_RESULTS];
	struct agg_spf spf[LIM_AUTH_RESULTS];
	struct raw_value raw[REC_RAW_MAX];
	const char *count_text;
	int rec_has_row, rec_has_ids, rec_has_auth, rec_has_pe;
	uint64_t n_record_elems;

	/* <record> elements the reader saw: all, inside kept extensions,
	 * skipped because out of place, after </feedback> */
	uint64_t seen_records, ext_records, lost_records, after_records;
	char lost_at[160];

	/* records that arrived before metadata/policy (held in ca) */
	struct agg_record **held;
	size_t n_held, a_held;

	struct buf ext;          /* extension serialisation */
	int ext_cut;             /* an append to ext was refused */
	int oom;                 /* a copy failed: the report is incomplete
	                          * (ERR_NOMEM at the end, never stored) */
};

/* arena_strdup that remembers a failure (x->oom) instead of letting a
 * value or its raw copy vanish without a word */
static char *
xdup(struct xp *x, struct arena *a, const char *s)
{
	char *d = arena_strdup(a, s);

	if (d == NULL)
		x->oom = 1;
	return d;
}

/* sp_is_space(), inlined for the loops that see every byte of text */
static inline int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/* ------------------------------------------------------------------ */
/* warnings, errors */

static void warn(struct xp *x, enum warn_code c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Counts a warning (see warn_set_vaddf in parse/report.h). */
static void
warn(struct xp *x, enum warn_code c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	warn_set_vaddf(&x->ws, x->ra, c, fmt, ap);
	va_end(ap);
	x->rep.n_warnings = x->ws.n;
}

static enum el el_lookup(const char *s);

/*
 * An element name as an error's path shows it: a DMARC element's local
 * name, any other as "[name]". Errors reach the log and the rejected
 * table, and the document's own names are report contents (doc/cli.md
 * "Logging").
 */
static const char *
path_name(const char *nm)
{
	const char *local;

	if (nm == NULL)
		return "";
	local = strrchr(nm, ':');
	local = local != NULL ? local + 1 : nm;
	return el_lookup(local) != EL_OTHER ? local : "[name]";
}

/* "feedback/record/row/count" for the node at depth d. An error's path
 * (redact) shows other names as "[name]": it is logged. A warning's
 * path keeps them: warnings are stored with the report, never logged
 * above debug, and the unknown element's name is what the admin wants. */
static void
path_str(const struct xp *x, int d, int redact, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	if (d > LIM_XML_DEPTH)
		d = LIM_XML_DEPTH;
	/* a text node's depth has no element: the path ends at its parent */
	for (int i = 0; i <= d && n + 1 < cap && x->path[i] != NULL; i++) {
		int w = snprintf(out + n, cap - n, "%s%s", i ? "/" : "",
		    redact ? path_name(x->path[i]) : x->path[i]);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	if (n >= cap)
		out[cap - 1] = '\0';
}

/* Fills err->where with the reader position and the element path. */
static void
where_here(struct xp *x, int d)
{
	char path[256];

	/* where the current node was (not how far libxml2 read) */
	path_str(x, d, 1, path, sizeof path);
	err_where(x->err, "line %d column %d, %s", x->line, x->col, path);
}

static int fail(struct xp *x, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(struct xp *x, int code, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	where_here(x, x->depth);
	return err_set(x->err, code, "%s", msg);
}

static int
name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
	    c >= 0x80;
}

/* Replaces each whole-word occurrence of name in msg by "[name]", unless
 * name is a DMARC element's (ours to quote). */
static void
redact_name(char *msg, size_t cap, const char *name)
{
	static const char repl[] = "[name]";
	size_t nl, rl = sizeof repl - 1, ml;
	char *p;

	if (name == NULL || (nl = strlen(name)) == 0 ||
	    el_lookup(name) != EL_OTHER)
		return;
	for (p = msg; (p = strstr(p, name)) != NULL; ) {
		ml = strlen(msg);
		if ((p > msg && name_char((unsigned char)p[-1])) ||
		    name_char((unsigned char)p[nl])) {
			p += nl;
			continue;
		}
		if (ml - nl + rl >= cap)   /* no room: drop the rest */
			*p = '\0';
		else {
			memmove(p + rl, p + nl, ml - (size_t)(p - msg) - nl + 1);
			memcpy(p, repl, rl);
		}
		p += rl;
		if ((size_t)(p - msg) >= strlen(msg))
			break;
	}
}

#if LIBXML_VERSION >= 21200
static void
on_xml_error(void *ctx, const xmlError *e)
#else
static void
on_xml_error(void *ctx, xmlErrorPtr e)
#endif
{
	struct xp *x = ctx;
	size_t n;

	if (e == NULL || e->level < XML_ERR_ERROR)
		return;
	/* Undeclared prefixes and the like: the tree is still usable and we
	 * match local names only. */
	if (e->domain == XML_FROM_NAMESPACE)
		return;
	/* libxml2 out of memory: in recover mode it would go on without
	 * the text or name it could not copy. Stop; the caller retries. */
	if (e->code == XML_ERR_NO_MEMORY) {
		if (x->sax_rc == 0)
			x->sax_rc = ERR_NOMEM;
		if (x->pc != NULL)
			xmlStopParser(x->pc);
		return;
	}
	if (e->code == XML_ERR_INVALID_CHAR ||
	    e->code == XML_ERR_INVALID_ENCODING ||
	    e->code == XML_I18N_CONV_FAILED)
		x->xerr_utf8 = 1;
	if (x->n_xerr++ > 0)
		return;
	x->xerr_code = e->code;
	x->xerr_line = e->line;
	x->xerr_col = e->int2;
	x->xerr_path[0] = '\0';
	if (x->pc != NULL && x->pc->nameTab != NULL) {
		size_t k = 0;
		for (int i = 0; i < x->pc->nameNr && k + 1 <
		    sizeof x->xerr_path; i++) {
			const char *nm = (const char *)x->pc->nameTab[i];
			int w = snprintf(x->xerr_path + k,
			    sizeof x->xerr_path - k, "%s%s", i ? "/" : "",
			    path_name(nm));
			if (w < 0)
				break;
			k += (size_t)w;
		}
		/* document text: keep it printable */
		for (char *p = x->xerr_path; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 ||
			    (unsigned char)*p >= 0x7f)
				*p = '?';
	}
	snprintf(x->xerr_msg, sizeof x->xerr_msg, "%s",
	    e->message != NULL ? e->message : "XML error");
	/* The first line only: later ones quote bytes ("Bytes: 0xE9 ..."). */
	x->xerr_msg[strcspn(x->xerr_msg, "\r\n")] = '\0';
	/* libxml2 puts the document's names into its messages (element,
	 * attribute, entity, encoding): str1..str3 of the error. Names of
	 * DMARC elements stay, any other becomes "[name]". */
	redact_name(x->xerr_msg, sizeof x->xerr_msg, e->str1);
	redact_name(x->xerr_msg, sizeof x->xerr_msg, e->str2);
	redact_name(x->xerr_msg, sizeof x->xerr_msg, e->str3);
	n = strlen(x->xerr_msg);
	while (n > 0 && x->xerr_msg[n - 1] == ' ')
		x->xerr_msg[--n] = '\0';
	/* the message may quote document bytes: keep it printable */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)x->xerr_msg[i] < 0x20 ||
		    (unsigned char)x->xerr_msg[i] >= 0x7f)
			x->xerr_msg[i] = '?';
}

static int
is_entity_attack(int code)
{
	return code == XML_ERR_ENTITY_LOOP ||
	    code == XML_ERR_ENTITY_PROCESSING ||
	    code == XML_ERR_ENTITY_IS_EXTERNAL ||
	    code == XML_ERR_ENTITY_IS_PARAMETER ||
	    code == XML_ERR_UNDECLARED_ENTITY ||
	    code == XML_ERR_ENTITYREF_IN_PROLOG ||
	    code == XML_ERR_ENTITYREF_IN_DTD;
}

/* The reader gave up (or the byte source did): say why. */
static int io_read(void *ctx, char *buf, int len);

static int
fail_reader(struct xp *x)
{
	char path[256];

	if (x->in_rc == ERR_HOSTILE) {
		err_where(x->err, "line %lu", x->pr_line);
		return err_set(x->err, ERR_HOSTILE,
		    "DOCTYPE refused: reports never need a DTD or entities");
	}
	if (x->in_rc < 0) {
		if (x->err != NULL && x->err->msg[0] == '\0')
			err_set(x->err, x->in_rc, "reading the report failed");
		return x->err != NULL ? (x->err->code = x->in_rc) : x->in_rc;
	}
	if (x->sax_rc < 0) {
		/* a SAX callback stopped the parser: say what it saw */
		err_where(x->err, "line %d column %d", x->sax_line,
		    x->sax_col);
		if (x->sax_rc == ERR_TOO_LARGE)
			return err_set(x->err, ERR_TOO_LARGE, "element "
			    "nesting exceeds LIM_XML_DEPTH (%d)",
			    LIM_XML_DEPTH);
		if (x->sax_rc == ERR_HOSTILE && x->sax_what[0] == '\0')
			return err_set(x->err, ERR_HOSTILE, "DOCTYPE "
			    "refused: reports never need a DTD or entities");
		if (x->sax_rc == ERR_HOSTILE)   /* its name is the sender's */
			return err_set(x->err, ERR_HOSTILE, "entity refused: "
			    "a reference to an undeclared entity");
		return err_set(x->err, x->sax_rc, "out of memory");
	}
	/* the element libxml2 was in when it failed (the nodes read so far
	 * may stop well before, a failing slice is dropped) */
	snprintf(path, sizeof path, "%s", x->xerr_path[0] != '\0' ?
	    x->xerr_path : "top level, outside any element");
	if (x->n_xerr > 0 && is_entity_attack(x->xerr_code)) {
		err_where(x->err, "line %d column %d", x->xerr_line,
		    x->xerr_col);
		return err_set(x->err, ERR_HOSTILE, "entity refused: %s",
		    x->xerr_msg);
	}
	/* Bytes that do not even start like XML (Yahoo's "unused", D10)
	 * are no report; a broken document is ERR_FORMAT, so the caller
	 * tries recover mode. UTF-16 starts with a BOM or a NUL byte. */
	if (x->n_elems == 0 && x->first_byte != '<' && x->first_byte != 0 &&
	    x->first_byte != 0xfe && x->first_byte != 0xff) {
		err_where(x->err, "line %d column %d", x->xerr_line,
		    x->xerr_col);
		return err_set(x->err, ERR_NOREPORT, "not an XML document%s%s",
		    x->n_xerr ? ": " : "", x->n_xerr ? x->xerr_msg : "");
	}
	/* The parse stopped at its first error, maybe long before the end:
	 * read the rest (not parsed) to see whether an end tag follows. */
	while (x->n_xerr > 0 && !x->saw_end_tag && !x->rep.recovered &&
	    x->in_rc == 0 && !x->in_eof && x->inbuf != NULL) {
		int got = io_read(x, (char *)x->inbuf, (int)SAX_READ_BYTES);
		if (got <= 0)
			x->in_eof = 1;
	}
	if (x->n_xerr > 0 && !x->saw_end_tag && !x->rep.recovered &&
	    x->in_rc == 0) {
		err_where(x->err, "line %d column %d, %s", x->xerr_line,
		    x->xerr_col, path);
		return err_set(x->err, ERR_TRUNCATED, "document ends before "
		    "</feedback> (cut short?): %s", x->xerr_msg);
	}
	if (x->n_xerr > 0) {
		err_where(x->err, "line %d column %d, %s", x->xerr_line,
		    x->xerr_col, path);
		return err_set(x->err, ERR_FORMAT, "XML not well-formed: %s",
		    x->xerr_msg);
	}
	return fail(x, ERR_FORMAT, "XML reader failed");
}

/* ------------------------------------------------------------------ */
/* input: leading white space / BOM, DOCTYPE prescan */

/* Scans the prolog (everything before the root element) for markup
 * declarations: "<!" followed by a letter is DOCTYPE/ENTITY/ELEMENT/
 * ATTLIST. Refusing them here means libxml2 never parses a DTD at all.
 * After the root starts a DOCTYPE is not well-formed anyway (libxml2
 * fails, and the node type check in xp_next catches recover mode), so the
 * scan stops there and costs nothing for the body. UTF-16 input is not
 * scanned (it looks like "<\0"): the node type check covers it. */
static int
prolog_scan(struct xp *x, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n && x->prolog != PR_DONE; i++) {
		unsigned char c = p[i];

		if (c == '\n')
			x->pr_line++;
		switch (x->prolog) {
		case PR_TEXT:
			if (c == '<')
				x->prolog = PR_LT;
			break;
		case PR_LT:
			if (c == '?') {
				x->prolog = PR_PI;
				x->pr_q = 0;
			} else if (c == '!')
				x->prolog = PR_BANG;
			else
				x->prolog = PR_DONE;
			break;
		case PR_BANG:
			if (c == '-')
				x->prolog = PR_BANG_DASH;
			else
				return ERR_HOSTILE;
			break;
		case PR_BANG_DASH:
			if (c != '-')
				return ERR_HOSTILE;
			x->prolog = PR_COMMENT;
			x->pr_dash = 0;
			break;
		case PR_COMMENT:
			if (c == '>' && x->pr_dash >= 2)
				x->prolog = PR_TEXT;
			else
				x->pr_dash = c == '-' ? x->pr_dash + 1 : 0;
			break;
		case PR_PI:
			if (c == '>' && x->pr_q)
				x->prolog = PR_TEXT;
			else
				x->pr_q = c == '?';
			break;
		case PR_DONE:
			break;
		}
	}
	return 0;
}

/* libxml2 read callback over struct reader. Leading white space before
 * "<?xml" is a fatal error in libxml2 and a UTF-8 BOM followed by white
 * space confuses its encoding detection, so both are dropped here. */
/* 1 when buf[i..] ends a feedback end tag: "feedback>" preceded by "</"
 * or by "</prefix:". */
static int
is_end_tag(const unsigned char *b, size_t i)
{
	size_t k;

	if (i >= 2 && b[i - 1] == '/' && b[i - 2] == '<')
		return 1;
	if (i == 0 || b[i - 1] != ':')
		return 0;
	for (k = i - 1; k > 0 && b[k - 1] != '<' && b[k - 1] != '/' &&
	    b[k - 1] != '>' && i - k < 12; k--)
		;
	return k >= 2 && b[k - 1] == '/' && b[k - 2] == '<';
}

/* Whether b[0..n) holds a feedback end tag: each "feedback>" found by
 * its 'k' (a rare letter in a report: memchr skips most bytes, where
 * memmem() cost 3% of the parser's time on a big report). */
static int
has_end_tag(const unsigned char *b, size_t n)
{
	const unsigned char *q = b, *end = b + n;

	while ((q = memchr(q, 'k', (size_t)(end - q))) != NULL) {
		size_t i = (size_t)(q - b);
		if (i >= 7 && i + 1 < n && b[i + 1] == '>' &&
		    memcmp(b + i - 7, "feedbac", 7) == 0 &&
		    is_end_tag(b, i - 7))
			return 1;
		q++;
	}
	return 0;
}

/* Looks for a feedback end tag in the raw bytes (see saw_end_tag). A
 * document that fails to parse and never had one was cut short: it must
 * not be "recovered" into a report missing its last records, because the
 * complete copy arriving later would then be "already known". */
static void
scan_end_tag(struct xp *x, const unsigned char *p, size_t n)
{
	unsigned char win[sizeof x->tail + 64];
	size_t w = 0, head = n < 64 ? n : 64;
	const unsigned char *end = p + n;

	/* the seam between the previous chunk and this one */
	memcpy(win, x->tail, x->tail_len);
	memcpy(win + x->tail_len, p, head);
	w = x->tail_len + head;
	if (has_end_tag(win, w) || has_end_tag(p, n)) {
		x->saw_end_tag = 1;
		return;
	}
	/* the new tail: the last bytes of (old tail + this chunk) */
	if (n >= sizeof x->tail) {
		memcpy(x->tail, end - sizeof x->tail, sizeof x->tail);
		x->tail_len = sizeof x->tail;
	} else {
		size_t keep = x->tail_len + n > sizeof x->tail ?
		    sizeof x->tail - n : x->tail_len;
		memmove(x->tail, x->tail + x->tail_len - keep, keep);
		memcpy(x->tail + keep, p, n);
		x->tail_len = keep + n;
	}
}

/* Decides the tag at p[0] == '<' (n bytes available, eof: no more will
 * come): a <record> or <prefix:record> start tag, the start of a comment,
 * CDATA section or PI, anything else, or -1 when more bytes are needed.
 * *adv: bytes to step over. */
enum {
	RS_OTHER, RS_RECORD, RS_FEEDBACK, RS_OPEN_COMMENT, RS_OPEN_CDATA,
	RS_OPEN_PI
};

static int
rs_tag(const unsigned char *p, size_t n, int eof, size_t *adv)
{
	static const char cdata[] = "<![CDATA[";
	size_t i, name = 1;

	*adv = 1;
	if (n < 2)
		return eof ? RS_OTHER : -1;
	if (p[1] == '?') {
		*adv = 2;
		return RS_OPEN_PI;
	}
	if (p[1] == '!') {
		if (n >= 4 && memcmp(p, "<!--", 4) == 0) {
			*adv = 4;
			return RS_OPEN_COMMENT;
		}
		if (n >= 9 && memcmp(p, cdata, 9) == 0) {
			*adv = 9;
			return RS_OPEN_CDATA;
		}
		if (!eof && ((n < 4 && memcmp(p, "<!--", n) == 0) ||
		    (n < 9 && memcmp(p, cdata, n) == 0)))
			return -1;
		return RS_OTHER;
	}
	for (i = 1; i < n && i < RS_NAME_MAX; i++) {
		if (p[i] == ':')
			name = i + 1;
		else if (is_space(p[i]) || p[i] == '>' || p[i] == '/' ||
		    p[i] == '<')
			break;
	}
	if (i == n && !eof)
		return -1;
	if (i - name == 6 && memcmp(p + name, "record", 6) == 0)
		return RS_RECORD;
	if (i - name == 8 && memcmp(p + name, "feedback", 8) == 0)
		return RS_FEEDBACK;
	return RS_OTHER;
}

/*
 * Counts <record> start tags (any prefix) in the raw bytes of a document
 * being recovered, outside comments, CDATA sections and PIs: what the
 * document holds, whatever libxml2 makes of it. A second <feedback> start
 * tag begins another report (some tools concatenate reports in one file;
 * only the first is read, W_TRAILING_DATA): its records are not this
 * report's, counting stops there. Called with every chunk read and once
 * with eof set. Returns 0 or ERR_NOMEM.
 */
static int
rs_feed(struct recscan *s, const unsigned char *p, size_t n, int eof)
{
	static const char *const term[] = {
		[RS_COMMENT] = "-->", [RS_CDATA] = "]]>", [RS_PI] = "?>",
	};
	unsigned char *b;
	const unsigned char *q;
	size_t len, i = 0, adv, tl;

	if (s->off || s->n_feedback > 1)
		return 0;
	if ((len = s->ncarry + n) == 0)
		return 0;
	if ((b = malloc(len)) == NULL)
		return ERR_NOMEM;
	memcpy(b, s->carry, s->ncarry);
	if (n > 0)
		memcpy(b + s->ncarry, p, n);
	s->ncarry = 0;
	while (i < len) {
		if (s->state == RS_TEXT) {
			if ((q = memchr(b + i, '<', len - i)) == NULL)
				break;
			i = (size_t)(q - b);
			switch (rs_tag(b + i, len - i, eof, &adv)) {
			case -1:
				/* a tag cut by the end of this read */
				s->ncarry = len - i;
				memcpy(s->carry, b + i, s->ncarry);
				i = len;
				continue;
			case RS_RECORD: s->n++; break;
			case RS_FEEDBACK:
				if (++s->n_feedback > 1)
					i = len;        /* another report */
				break;
			case RS_OPEN_COMMENT: s->state = RS_COMMENT; break;
			case RS_OPEN_CDATA: s->state = RS_CDATA; break;
			case RS_OPEN_PI: s->state = RS_PI; break;
			default: break;
			}
			i += adv;
			continue;
		}
		tl = strlen(term[s->state]);
		q = memmem(b + i, len - i, term[s->state], tl);
		if (q == NULL) {
			/* keep what could begin the terminator */
			if (!eof) {
				s->ncarry = len - i < tl - 1 ? len - i : tl - 1;
				memcpy(s->carry, b + len - s->ncarry,
				    s->ncarry);
			}
			break;
		}
		i = (size_t)(q - b) + tl;
		s->state = RS_TEXT;
	}
	free(b);
	return 0;
}

static int
io_read(void *ctx, char *buf, int len)
{
	struct xp *x = ctx;
	unsigned char *p = (unsigned char *)buf;
	size_t got = 0, skip;
	int rc;

	if (len <= 0 || x->in_rc < 0)
		return x->in_rc < 0 ? -1 : 0;
	for (;;) {
		rc = x->in->read(x->in->ctx, p, (size_t)len, &got);
		if (rc < 0) {
			x->in_rc = rc;
			return -1;
		}
		if (got == 0)
			return 0;
		if (got > (size_t)len)
			got = (size_t)len;
		if (x->lead_done)
			break;
		skip = 0;
		while (skip < got) {
			if (got - skip >= 3 && p[skip] == 0xef &&
			    p[skip + 1] == 0xbb && p[skip + 2] == 0xbf)
				skip += 3;
			else if (p[skip] == ' ' || p[skip] == '\t' ||
			    p[skip] == '\r' || p[skip] == '\n')
				skip++;
			else {
				x->lead_done = 1;
				break;
			}
		}
		x->lead_skipped += skip;
		for (size_t i = 0; i < skip; i++)
			if (p[i] == '\n')
				x->pr_line++;
		if (skip < got) {
			memmove(p, p + skip, got - skip);
			got -= skip;
			x->first_byte = p[0];
			/* UTF-16 hides "<record" from a byte scan: the
			 * recover pass then counts libxml2's events */
			if (p[0] == 0 || p[0] == 0xfe || p[0] == 0xff ||
			    (got > 1 && p[1] == 0))
				x->rs.off = 1;
			break;
		}
	}
	x->in_bytes += got;
	if (!x->saw_end_tag)
		scan_end_tag(x, p, got);
	if (x->rep.recovered && rs_feed(&x->rs, p, got, 0) != 0) {
		x->in_rc = ERR_NOMEM;
		return -1;
	}
	if (x->prolog != PR_DONE && prolog_scan(x, p, got) < 0) {
		x->in_rc = ERR_HOSTILE;
		return -1;
	}
	return (int)got;
}

/* The pull parser's read callback (recover pass): fills the whole buffer
 * unless the input ends. libxml2 looks at the first bytes once (encoding,
 * "<?xml"): a byte source that hands out a few bytes at a time must not
 * make a declaration look like content. */
static int
io_read_full(void *ctx, char *buf, int len)
{
	int total = 0, got;

	while (total < len) {
		if ((got = io_read(ctx, buf + total, len - total)) < 0)
			return total > 0 ? total : -1;
		if (got == 0)
			break;
		total += got;
	}
	return total;
}

static int
io_close(void *ctx)
{
	(void)ctx;
	return 0;
}

/* ------------------------------------------------------------------ */
/* SAX2 push parser: callbacks fill the event queue */

static enum el
el_lookup(const char *s)
{
	for (size_t i = 0; i < sizeof el_names / sizeof el_names[0]; i++)
		if (el_names[i].name[0] == s[0] &&
		    strcmp(el_names[i].name, s) == 0)
			return el_names[i].id;
	return EL_OTHER;
}

/* Element id of a local name. libxml2 interns names in the parser's
 * dictionary, so a name pointer seen once maps to its id without a
 * string compare. */
static enum el
el_of(struct xp *x, const char *name)
{
	/* the dictionary packs names a few bytes apart, so low pointer
	 * bits collide: hash all of them */
	size_t h = (size_t)(((uint64_t)(uintptr_t)name *
	    0x9e3779b97f4a7c15ull) >> (64 - ELCACHE_BITS));

	if (x->elcache[h].name != name) {
		x->elcache[h].name = name;
		x->elcache[h].id = el_lookup(name);
	}
	return x->elcache[h].id;
}

/* Room for one more event; NULL (and the parser stopped) when out of
 * memory. The queue is emptied before every slice, so it stays small. */
static struct ev *
ev_push(struct xp *x, int type)
{
	struct ev *e;

	if (x->ev_n == x->ev_cap) {
		size_t cap = x->ev_cap ? x->ev_cap * 2 : 256;
		struct ev *n = realloc(x->evs, cap * sizeof *n);
		if (n == NULL) {
			x->sax_rc = ERR_NOMEM;
			xmlStopParser(x->pc);
			return NULL;
		}
		x->evs = n;
		x->ev_cap = cap;
	}
	/* field by field: this runs for every node of the document */
	e = &x->evs[x->ev_n++];
	e->type = type;
	e->depth = 0;
	e->line = x->pc->input != NULL ? x->pc->input->line : 0;
	e->col = x->pc->input != NULL ? x->pc->input->col : 0;
	e->name = e->prefix = e->uri = NULL;
	e->off = x->eb_len;
	e->len = e->full = 0;
	e->empty = e->nonblank = e->own_ns = 0;
	return e;
}

static int
eb_append(struct xp *x, const void *p, size_t n)
{
	if (n > x->eb_cap - x->eb_len) {
		size_t cap = x->eb_cap ? x->eb_cap : 8192;
		char *nb;
		while (cap - x->eb_len < n)
			cap *= 2;
		if ((nb = realloc(x->eb, cap)) == NULL) {
			x->sax_rc = ERR_NOMEM;
			xmlStopParser(x->pc);
			return ERR_NOMEM;
		}
		x->eb = nb;
		x->eb_cap = cap;
	}
	memcpy(x->eb + x->eb_len, p, n);
	x->eb_len += n;
	return 0;
}

/* Appends s (n bytes) XML-escaped. In attribute values from SAX2 a '&'
 * arrives as "&#38;" (libxml2 leaves the decoding to the tree builder,
 * which we do not run), so that is turned back into '&' first. */
static int
eb_escape(struct xp *x, const char *s, size_t n, int attr)
{
	size_t run = 0, i = 0;

	while (i < n) {
		const char *rep = NULL;
		size_t skip = 1;
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			if (attr && n - i >= 5 && memcmp(s + i, "&#38;", 5) == 0)
				skip = 5;
			break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = attr ? "&quot;" : NULL; break;
		default: break;
		}
		if (rep != NULL) {
			if (eb_append(x, s + run, i - run) != 0 ||
			    eb_append(x, rep, strlen(rep)) != 0)
				return ERR_NOMEM;
			run = i + skip;
		}
		i += skip;
	}
	return eb_append(x, s + run, n - run);
}

static void
eb_name(struct xp *x, const xmlChar *prefix, const xmlChar *name)
{
	if (prefix != NULL) {
		eb_append(x, prefix, strlen((const char *)prefix));
		eb_append(x, ":", 1);
	}
	eb_append(x, name, strlen((const char *)name));
}

/* Serialises the namespace declarations and attributes of a start tag as
 * xmlTextReaderMoveToNextAttribute() listed them (declarations first),
 * for extension capture. Reports carry none outside extensions, so the
 * common path never gets here. */
static void
sax_attrs(struct xp *x, struct ev *e, int nb_ns, const xmlChar **nss,
    int nb_attr, const xmlChar **attrs)
{
	e->off = x->eb_len;
	for (int i = 0; i < nb_ns; i++) {
		const xmlChar *pfx = nss[2 * i], *uri = nss[2 * i + 1];
		eb_append(x, pfx != NULL ? " xmlns:" : " xmlns",
		    pfx != NULL ? 7 : 6);
		if (pfx != NULL)
			eb_append(x, pfx, strlen((const char *)pfx));
		eb_append(x, "=\"", 2);
		if (uri != NULL)
			eb_escape(x, (const char *)uri,
			    strlen((const char *)uri), 1);
		eb_append(x, "\"", 1);
		if ((pfx == NULL && e->prefix == NULL) || (pfx != NULL &&
		    e->prefix != NULL && strcmp((const char *)pfx,
		    e->prefix) == 0))
			e->own_ns = 1;
	}
	/* attrs: localname, prefix, URI, value, end of value */
	for (int i = 0; i < nb_attr; i++) {
		const xmlChar **a = attrs + 5 * i;
		eb_append(x, " ", 1);
		eb_name(x, a[1], a[0]);
		eb_append(x, "=\"", 2);
		if (a[3] != NULL && a[4] >= a[3])
			eb_escape(x, (const char *)a[3], (size_t)(a[4] - a[3]),
			    1);
		eb_append(x, "\"", 1);
	}
	e->len = x->eb_len - e->off;
}

/*
 * Blank text (indentation) directly inside a DMARC container element is
 * skipped by every reader of the nodes (xp_child() only reports text with
 * something in it), so it need not become an event; in a pretty-printed
 * report that is every other event. sax_text() drops it as it comes
 * (sax_quiet[] of the parent). It is kept everywhere its bytes may count:
 * in leaves (text is concatenated), in dkim/spf under policy_evaluated
 * (leaves there; under auth_results they are containers, see
 * sax_start()), and anywhere under an unknown, extension or
 * foreign-namespace element (extensions are kept as raw XML).
 */
static int
el_container(enum el el)
{
	switch (el) {
	case EL_FEEDBACK: case EL_REPORT_METADATA: case EL_DATE_RANGE:
	case EL_POLICY_PUBLISHED: case EL_RECORD: case EL_ROW:
	case EL_POLICY_EVALUATED: case EL_REASON: case EL_IDENTIFIERS:
	case EL_IDENTITIES: case EL_AUTH_RESULTS:
		return 1;
	default:
		return 0;
	}
}

static void thr_handoff(struct xp *x);

/* Recover pass: hands the batch over once it is big enough. Only called
 * where the batch's last event is complete (see sax_start / sax_end). */
static inline void
thr_maybe_handoff(struct xp *x)
{
	if (x->threaded && (x->ev_n >= THR_BATCH_EVENTS ||
	    x->eb_len >= THR_BATCH_BYTES))
		thr_handoff(x);
}

static void
sax_start(void *ctx, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri, int nb_ns, const xmlChar **nss, int nb_attr,
    int nb_defaulted, const xmlChar **attrs)
{
	struct xp *x = ctx;
	struct ev *e;

	(void)nb_defaulted;
	/* a text before this tag is over, as is a <x/> before it */
	thr_maybe_handoff(x);
	if ((e = ev_push(x, XML_READER_TYPE_ELEMENT)) == NULL)
		return;
	e->depth = x->sax_depth++;
	e->name = (const char *)local;
	e->prefix = (const char *)prefix;
	e->uri = (const char *)uri;
	e->el = el_of(x, e->name);
	/* the records of this report (see rs_feed()) */
	if (e->el == EL_RECORD && x->sax_feedbacks <= 1)
		x->sax_records++;
	else if (e->el == EL_FEEDBACK)
		x->sax_feedbacks++;
	if (e->depth <= LIM_XML_DEPTH) {
		int d = e->depth;
		/* names and URIs are interned: pointers compare */
		int terr = (d > 0 && (x->sax_terr[d - 1] ||
		    x->sax_uri[d - 1] != e->uri)) || e->el == EL_OTHER ||
		    e->el == EL_EXTENSION || e->el == EL_EXTENSIONS;
		x->sax_terr[d] = (unsigned char)terr;
		x->sax_quiet[d] = (unsigned char)(!terr &&
		    (el_container(e->el) || ((e->el == EL_DKIM ||
		    e->el == EL_SPF) && d > 0 &&
		    x->sax_el[d - 1] == EL_AUTH_RESULTS)));
		x->sax_uri[d] = e->uri;
		x->sax_el[d] = (unsigned char)e->el;
	}
	/* libxml2 calls us with the input at the end of the start tag,
	 * before it looks for "/>" itself; the reader told <x/> from
	 * <x></x> and kept extensions say <x/> the way they were sent */
	e->empty = x->pc->input != NULL && x->pc->input->cur != NULL &&
	    x->pc->input->cur[0] == '/';
	if (nb_ns > 0 || nb_attr > 0)
		sax_attrs(x, e, nb_ns, nss, nb_attr, attrs);
	if (e->depth >= LIM_XML_DEPTH && x->sax_rc == 0) {
		/* stop libxml2 from walking the rest of a deep bomb */
		x->sax_rc = ERR_TOO_LARGE;
		x->sax_line = e->line;
		x->sax_col = e->col;
		xmlStopParser(x->pc);
	}
}

static void
sax_end(void *ctx, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri)
{
	struct xp *x = ctx;
	struct ev *e;

	(void)uri;
	x->sax_depth--;
	/* <x/>: the reader gave no end node for it, and the code reading
	 * the nodes relies on that (x->empty); its start event is still the
	 * last one, as nothing is consumed while libxml2 runs */
	if (x->ev_n > x->ev_head) {
		e = &x->evs[x->ev_n - 1];
		if (e->type == XML_READER_TYPE_ELEMENT && e->empty &&
		    e->depth == x->sax_depth)
			return;
	}
	thr_maybe_handoff(x);
	if ((e = ev_push(x, XML_READER_TYPE_END_ELEMENT)) == NULL)
		return;
	e->depth = x->sax_depth;
	e->name = (const char *)local;
	e->prefix = (const char *)prefix;
}

/* Text (and CDATA, which arrives here too since cdataBlock is NULL).
 * libxml2 hands one text node over in pieces: consecutive calls are
 * merged into one event, as the reader merged them into one node. */
static void
sax_text(void *ctx, const xmlChar *s, int len)
{
	struct xp *x = ctx;
	struct ev *e;
	size_t n = len > 0 ? (size_t)len : 0, keep;

	if (n == 0)
		return;
	if (x->ev_n > x->ev_head &&
	    x->evs[x->ev_n - 1].type == XML_READER_TYPE_TEXT)
		e = &x->evs[x->ev_n - 1];
	else {
		int d = x->sax_depth - 1;
		if (d >= 0 && d <= LIM_XML_DEPTH && x->sax_quiet[d]) {
			/* blank text in a quiet element is no event (see
			 * el_container()); a piece with something in it
			 * starts one: stray text, reported by its path */
			size_t i = 0;
			while (i < n && is_space(s[i]))
				i++;
			if (i == n)
				return;
		}
		if ((e = ev_push(x, XML_READER_TYPE_TEXT)) == NULL)
			return;
		e->depth = x->sax_depth;
	}
	if (!e->nonblank)
		for (size_t i = 0; i < n; i++)
			if (!is_space(s[i])) {
				e->nonblank = 1;
				break;
			}
	keep = SAX_TEXT_KEEP - e->len;
	if (keep > n)
		keep = n;
	/* the text event is the last one, so its bytes are the last too */
	if (keep > 0 && eb_append(x, s, keep) == 0)
		e->len += keep;
	e->full += n;
}

/* Any DOCTYPE (the prolog scan misses UTF-16 documents), any entity
 * other than the five predefined ones: refused, and the parser stopped
 * before it can expand or load anything. */
static void
sax_hostile(struct xp *x, const xmlChar *what)
{
	if (x->sax_rc == 0) {
		x->sax_rc = ERR_HOSTILE;
		x->sax_line = x->pc->input != NULL ? x->pc->input->line : 0;
		x->sax_col = x->pc->input != NULL ? x->pc->input->col : 0;
		snprintf(x->sax_what, sizeof x->sax_what, "%s",
		    what != NULL ? (const char *)what : "");
		/* the name is document text: keep it printable */
		for (char *p = x->sax_what; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 ||
			    (unsigned char)*p >= 0x7f)
				*p = '?';
	}
	xmlStopParser(x->pc);
}

static void
sax_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
    const xmlChar *sys_id)
{
	struct xp *x = ctx;

	(void)name;
	(void)ext_id;
	(void)sys_id;
	sax_hostile(x, NULL);
}

static xmlEntityPtr
sax_get_entity(void *ctx, const xmlChar *name)
{
	sax_hostile(ctx, name);
	return NULL;
}

static void
sax_reference(void *ctx, const xmlChar *name)
{
	sax_hostile(ctx, name);
}

/* Hands the next slice of input to libxml2. Consumed events are dropped
 * first; an unfinished text event (the last one, the parser may still add
 * to it) is moved to the front. On failure the events of the failing
 * slice are dropped again, see SAX_FEED_BYTES. */
static void
sax_feed(struct xp *x)
{
	size_t n, save_n, save_eb;
	struct ev save_last;
	int got, terminate = 0;

	if (x->ev_head == x->ev_n) {
		x->ev_head = x->ev_n = 0;
		x->eb_len = 0;
	} else if (x->ev_head > 0) {
		struct ev e = x->evs[x->ev_head];
		memmove(x->eb, x->eb + e.off, e.len);
		e.off = 0;
		x->evs[0] = e;
		x->ev_head = 0;
		x->ev_n = 1;
		x->eb_len = e.len;
	}
	while (x->in_len - x->in_pos <= SAX_FEED_BYTES && !x->in_eof) {
		/* read ahead before the last slice of the buffer, so that
		 * the end of the input goes to libxml2 with its last bytes:
		 * an unclosed wrapper (D5) or junk after </feedback> then
		 * fails the slice that holds </feedback>, as with the
		 * reader, instead of passing as trailing data */
		memmove(x->inbuf, x->inbuf + x->in_pos,
		    x->in_len - x->in_pos);
		x->in_len -= x->in_pos;
		x->in_pos = 0;
		if ((got = io_read(x, (char *)x->inbuf + x->in_len,
		    (int)(SAX_READ_BYTES - x->in_len))) < 0) {
			x->sax_failed = 1;
			return;
		}
		x->in_len += (size_t)got;
		x->in_eof = got == 0;
	}
	n = x->in_len - x->in_pos;
	if (n > SAX_FEED_BYTES)
		n = SAX_FEED_BYTES;
	terminate = x->in_eof && n == x->in_len - x->in_pos;
	if (x->pc == NULL) {
		/* libxml2 wants the first 4 bytes up front to detect the
		 * encoding; an empty input never gets a parser */
		size_t first = n < 4 ? n : 4;
		if (n == 0) {
			x->sax_done = 1;
			return;
		}
		x->pc = xmlCreatePushParserCtxt(&x->sax, x,
		    (const char *)x->inbuf + x->in_pos, (int)first, NULL);
		if (x->pc == NULL) {
			x->sax_rc = ERR_NOMEM;
			x->sax_failed = 1;
			return;
		}
		xmlCtxtUseOptions(x->pc, x->options);
		x->in_pos += first;
		n -= first;
	}
	save_n = x->ev_n;
	save_eb = x->eb_len;
	if (save_n > 0)
		save_last = x->evs[save_n - 1];
	xmlParseChunk(x->pc, (const char *)x->inbuf + x->in_pos, (int)n,
	    terminate);
	x->in_pos += n;
	if (x->sax_rc < 0 || !x->pc->wellFormed || x->pc->disableSAX) {
		x->ev_n = save_n;
		x->eb_len = save_eb;
		if (save_n > 0)
			x->evs[save_n - 1] = save_last;
		x->sax_failed = 1;
		return;
	}
	if (terminate)
		x->sax_done = 1;
}

/* ------------------------------------------------------------------ */
/* node stepping */

/* The current node from event e (its bytes in eb) at depth d. */
static void
set_node(struct xp *x, const struct ev *e, const char *eb, int d)
{
	x->type = e->type;
	x->depth = d;
	x->line = e->line;
	x->col = e->col;
	if (e->type == XML_READER_TYPE_ELEMENT) {
		x->el = e->el;
		x->name = e->name;
		x->empty = e->empty;
		x->ns = e->uri;
		x->prefix = e->prefix;
		/* eb is NULL until the first byte is saved (no attributes
		 * or text yet): NULL + 0 is undefined behaviour */
		x->attrs = eb ? eb + e->off : "";
		x->attrs_len = e->len;
		x->own_ns = e->own_ns;
	} else if (e->type == XML_READER_TYPE_END_ELEMENT) {
		x->ename = e->name;
		x->eprefix = e->prefix;
	} else {
		x->val = eb ? eb + e->off : "";
		x->vlen = e->len;
		x->vfull = e->full;
		x->vnonblank = e->nonblank;
	}
}

/* ------------------------------------------------------------------ */
/* recover pass: the pull parser on a thread of its own */

/*
 * libxml2 does not always report a failed allocation as one: some come
 * back as syntax errors (xmlParseVersionNum, a dictionary lookup), so the
 * document went to recover mode and was stored marked "recovered" (found
 * by the allocation-failure sweep). Its allocations therefore go through
 * these wrappers, which note a failure per thread; a parse during which
 * one failed is ERR_NOMEM, transient, whatever libxml2 made of it. In
 * recover mode libxml2 runs on the parser thread, which hands its flag
 * over in x->thr_nomem when it ends.
 */
static _Thread_local int xml_alloc_failed;

static void *
xml_malloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL)
		xml_alloc_failed = 1;
	return p;
}

static void *
xml_realloc(void *q, size_t n)
{
	void *p = realloc(q, n);

	if (p == NULL)
		xml_alloc_failed = 1;
	return p;
}

static char *
xml_strdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		xml_alloc_failed = 1;
	return p;
}

/* An allocation failed during this parse, libxml2's or one from our
 * arenas (a string that came back NULL reads as "not given"). */
static int
parse_nomem(const struct xp *x)
{
	return xml_alloc_failed || x->thr_nomem || arena_failed(x->ra) ||
	    arena_failed(x->ca);
}

/* Parser thread: hands the filled batch (evs/eb) to the reader of the
 * nodes and waits until it is taken; evs/eb are then the reader's old,
 * empty batch. When the reader gave up (thr_cancel) the parser stops. */
static void
thr_handoff(struct xp *x)
{
	int cancel;

	pthread_mutex_lock(&x->mu);
	x->thr_ready = 1;
	pthread_cond_broadcast(&x->cv);
	while (x->thr_ready && !x->thr_cancel)
		pthread_cond_wait(&x->cv, &x->mu);
	cancel = x->thr_cancel;
	pthread_mutex_unlock(&x->mu);
	if (cancel)
		xmlStopParser(x->pc);
}

static void *
thr_main(void *arg)
{
	struct xp *x = arg;

	xml_alloc_failed = 0;
	xmlParseDocument(x->pc);
	pthread_mutex_lock(&x->mu);
	x->thr_nomem = xml_alloc_failed;
	x->thr_done = 1;
	x->thr_ready = 1;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

/* Reader side: takes the next batch (waits for it). After the last one
 * (c_final) everything the parser thread wrote is visible here. */
static void
thr_take(struct xp *x)
{
	struct ev *te;
	char *tb;
	size_t tc, tbc;

	pthread_mutex_lock(&x->mu);
	while (!x->thr_ready)
		pthread_cond_wait(&x->cv, &x->mu);
	te = x->c_evs;
	tc = x->c_cap;
	tb = x->c_eb;
	tbc = x->c_eb_cap;
	x->c_evs = x->evs;
	x->c_cap = x->ev_cap;
	x->c_n = x->ev_n;
	x->c_eb = x->eb;
	x->c_eb_cap = x->eb_cap;
	x->c_head = 0;
	x->evs = te;
	x->ev_cap = tc;
	x->ev_n = x->ev_head = 0;
	x->eb = tb;
	x->eb_cap = tbc;
	x->eb_len = 0;
	x->c_final = x->thr_done;
	x->c_nxerr = x->n_xerr;
	x->thr_ready = 0;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
}

/* Stops the parser thread (if it still runs) and waits for it. */
static void
thr_stop(struct xp *x)
{
	if (!x->thr_started)
		return;
	pthread_mutex_lock(&x->mu);
	x->thr_cancel = 1;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	pthread_join(x->thr, NULL);
	x->thr_started = 0;
}

/*
 * Re-nesting. Each known DMARC element below has one possible parent (or
 * two equivalent ones); the others (feedback, domain, dkim, spf,
 * extension) occur in several places and are never moved.
 */
#define ELB(e) ((uint64_t)1 << (e))

static uint64_t
renest_parents(enum el el)
{
	switch (el) {
	case EL_VERSION: case EL_REPORT_METADATA: case EL_POLICY_PUBLISHED:
	case EL_RECORD:
		return ELB(EL_FEEDBACK);
	case EL_ORG_NAME: case EL_EMAIL: case EL_EXTRA_CONTACT_INFO:
	case EL_REPORT_ID: case EL_DATE_RANGE: case EL_ERROR:
	case EL_GENERATOR:
		return ELB(EL_REPORT_METADATA);
	case EL_BEGIN: case EL_END:
		return ELB(EL_DATE_RANGE);
	case EL_ADKIM: case EL_ASPF: case EL_P: case EL_SP: case EL_NP:
	case EL_PCT: case EL_FO: case EL_TESTING: case EL_DISCOVERY_METHOD:
		return ELB(EL_POLICY_PUBLISHED);
	case EL_ROW: case EL_IDENTIFIERS: case EL_IDENTITIES:
	case EL_AUTH_RESULTS:
		return ELB(EL_RECORD);
	case EL_SOURCE_IP: case EL_COUNT: case EL_POLICY_EVALUATED:
		return ELB(EL_ROW);
	case EL_DISPOSITION: case EL_REASON:
		return ELB(EL_POLICY_EVALUATED);
	case EL_TYPE: case EL_COMMENT:
		return ELB(EL_REASON);
	case EL_HEADER_FROM: case EL_ENVELOPE_FROM: case EL_ENVELOPE_TO:
		return ELB(EL_IDENTIFIERS) | ELB(EL_IDENTITIES);
	case EL_SELECTOR:
		return ELB(EL_DKIM);
	case EL_SCOPE:
		return ELB(EL_SPF);
	case EL_RESULT: case EL_HUMAN_RESULT:
		return ELB(EL_DKIM) | ELB(EL_SPF);
	default:
		return 0;
	}
}

/* An element whose subtree is not ours to rearrange: unknown elements,
 * extensions, anything in a foreign namespace. */
static int
renest_fence(const struct xp *x, const struct vnode *v)
{
	return v->el == EL_OTHER || v->el == EL_EXTENSION ||
	    v->el == EL_EXTENSIONS || (v->uri != NULL && x->fb_v >= 0 &&
	    v->uri != x->vs[x->fb_v].uri);
}

/*
 * Recover pass: libxml2's events (e) -> the nodes the reader sees. A start
 * tag of an element that cannot be a child of the open element, while an
 * ancestor (up to <feedback>, not across a fence) is its parent, first
 * closes the elements in between (their own end tags are dropped later):
 * an unclosed <policy_published> ends at the first <record>. Returns 1
 * with the node set, 0 when e produced no node (a dropped end tag).
 */
static int
renest(struct xp *x, const struct ev *e, const char *eb)
{
	uint64_t parents;
	int k, ld = e->depth;

	if (ld < 0 || ld > LIM_XML_DEPTH) {
		/* xp_next() refuses the depth */
		set_node(x, e, eb, ld);
		return 1;
	}
	if (e->type == XML_READER_TYPE_END_ELEMENT) {
		if (x->lclosed[ld]) {
			x->lclosed[ld] = 0;
			return 0;
		}
		while (x->nv > 0 && x->vs[x->nv - 1].ld > ld)
			x->nv--;        /* cannot happen; stay consistent */
		if (x->nv > 0)
			x->nv--;
		set_node(x, e, eb, x->nv);
		return 1;
	}
	if (e->type != XML_READER_TYPE_ELEMENT) {
		set_node(x, e, eb, x->nv);
		return 1;
	}
	parents = renest_parents(e->el);
	if (parents != 0 && x->fb_v >= 0 && x->nv > x->fb_v + 1 &&
	    !(parents & ELB(x->vs[x->nv - 1].el)) &&
	    (e->uri == NULL || e->uri == x->vs[x->fb_v].uri)) {
		for (k = x->nv - 1; k >= x->fb_v; k--) {
			if (parents & ELB(x->vs[k].el))
				break;
			if (renest_fence(x, &x->vs[k]))
				k = x->fb_v;    /* stop: not ours */
		}
		if (k >= x->fb_v && (parents & ELB(x->vs[k].el))) {
			if (!warn_set_has(&x->ws, W_RENESTED)) {
				char path[256];
				size_t n = 0;
				path[0] = '\0';
				for (int i = x->fb_v; i < x->nv &&
				    n < sizeof path - 1; i++)
					n += (size_t)snprintf(path + n,
					    sizeof path - n, "%s/",
					    x->vs[i].name);
				if (n < sizeof path - 1)
					snprintf(path + n, sizeof path - n,
					    "%s", e->name);
				warn(x, W_RENESTED, "%s", path);
			} else
				warn(x, W_RENESTED, NULL);
			x->rn_close_to = k + 1;
			x->rn_start = *e;
			x->rn_held = 1;
			return 0;
		}
	}
	if (e->el == EL_FEEDBACK && x->fb_v < 0)
		x->fb_v = x->nv;
	set_node(x, e, eb, x->nv);
	if (!e->empty) {
		x->vs[x->nv] = (struct vnode){ e->name, e->prefix, e->uri,
		    e->el, ld };
		x->lclosed[ld] = 0;
		x->nv++;
	}
	return 1;
}

/* Recover pass: one node forward (as raw_next()). */
static int
raw_next_thr(struct xp *x)
{
	for (;;) {
		if (x->rn_held && x->nv > x->rn_close_to) {
			/* close the elements in between, innermost first */
			const struct vnode *v = &x->vs[--x->nv];
			x->lclosed[v->ld] = 1;
			x->type = XML_READER_TYPE_END_ELEMENT;
			x->depth = x->nv;
			x->ename = v->name;
			x->eprefix = v->prefix;
			x->line = x->rn_start.line;
			x->col = x->rn_start.col;
			return 1;
		}
		if (x->rn_held) {
			/* then the start tag, in its place; its bytes
			 * (attributes) are still in the current batch */
			x->rn_held = 0;
			if (renest(x, &x->rn_start, x->c_eb))
				return 1;
			continue;
		}
		if (x->c_head == x->c_n) {
			if (x->c_final)
				return x->sax_rc < 0 || x->in_rc < 0 ? -1 : 0;
			thr_take(x);
			continue;
		}
		if (renest(x, &x->c_evs[x->c_head++], x->c_eb))
			return 1;
	}
}

/* One node forward, no checks: 1 on a node, 0 at the end of the
 * document, -1 when the parse failed (fail_reader() says why). */
static int
raw_next(struct xp *x)
{
	const struct ev *e;

	if (x->threaded)
		return raw_next_thr(x);
	for (;;) {
		if (x->ev_head == x->ev_n) {
			if (x->sax_failed)
				return -1;
			if (x->sax_done)
				return 0;
			sax_feed(x);
			continue;
		}
		e = &x->evs[x->ev_head];
		if (e->type == XML_READER_TYPE_TEXT &&
		    x->ev_head + 1 == x->ev_n && !x->sax_done &&
		    !x->sax_failed) {
			/* the next slice may continue this text */
			sax_feed(x);
			continue;
		}
		x->ev_head++;
		set_node(x, e, x->eb, e->depth);
		return 1;
	}
}

/* One node forward. Returns 1 on a node, 0 at the end of the document,
 * negative on error (err filled). */
static int
xp_next(struct xp *x)
{
	int r = raw_next(x);

	if (r != 1) {
		if (r == 0 && x->in_rc == 0)
			return 0;
		return fail_reader(x);
	}
	switch (x->type) {
	case XML_READER_TYPE_ELEMENT:
		x->n_elems++;
		if (x->depth < 0 || x->depth >= LIM_XML_DEPTH)
			return fail(x, ERR_TOO_LARGE,
			    "element nesting exceeds LIM_XML_DEPTH (%d)",
			    LIM_XML_DEPTH);
		x->path[x->depth] = x->name;
		x->path[x->depth + 1] = NULL;
		if (x->el == EL_RECORD)
			x->seen_records++;
		break;
	case XML_READER_TYPE_DOCUMENT_TYPE:
		return fail(x, ERR_HOSTILE, "DOCTYPE refused: reports never "
		    "need a DTD or entities");
	case XML_READER_TYPE_ENTITY_REFERENCE:
	case XML_READER_TYPE_ENTITY:
	case XML_READER_TYPE_NOTATION:
		return fail(x, ERR_HOSTILE, "entity reference refused");
	default:
		break;
	}
	return 1;
}

/* Next child of the element at depth d. Returns 1 on a child element
 * start, 2 on non-blank text directly inside, 0 when the element ended
 * (or the document ended, in recover mode), negative on error. */
static int
xp_child(struct xp *x, int d)
{
	int rc;

	for (;;) {
		if ((rc = xp_next(x)) <= 0)
			return rc;
		if (x->depth <= d) {
			/* our end tag, or (recover mode) a sibling of
			 * the parent: either way this element is over */
			if (x->type == XML_READER_TYPE_END_ELEMENT &&
			    x->depth == d)
				return 0;
			if (x->type == XML_READER_TYPE_ELEMENT)
				return fail(x, ERR_FORMAT,
				    "unexpected element structure");
			continue;
		}
		if (x->depth != d + 1)
			continue;
		if (x->type == XML_READER_TYPE_ELEMENT)
			return 1;
		if ((x->type == XML_READER_TYPE_TEXT ||
		    x->type == XML_READER_TYPE_CDATA) && x->vnonblank)
			return 2;
	}
}

/* A <record> element that is skipped, not read (inside an unknown
 * element, a duplicate container, out of place): its records are lost,
 * which check_records() refuses. Remembers where the first one was. */
static void
lost_record(struct xp *x)
{
	char path[128];

	if (x->lost_records++ > 0)
		return;
	path_str(x, x->depth, 1, path, sizeof path);
	snprintf(x->lost_at, sizeof x->lost_at, "line %d column %d, %s",
	    x->line, x->col, path);
}

/* Skips the subtree of the element just read. */
static int
xp_skip(struct xp *x)
{
	int d = x->depth, rc;

	if (x->el == EL_RECORD)
		lost_record(x);
	if (x->empty)
		return 0;
	while ((rc = xp_child(x, d)) > 0)
		if (rc == 1 && (rc = xp_skip(x)) < 0)
			return rc;
	return rc;
}

static int
xp_unknown(struct xp *x)
{
	char path[256];

	if (!warn_set_has(&x->ws, W_UNKNOWN_ELEMENT)) {
		path_str(x, x->depth, 0, path, sizeof path);
		warn(x, W_UNKNOWN_ELEMENT, "%s", path);
	} else
		warn(x, W_UNKNOWN_ELEMENT, NULL);
	return xp_skip(x);
}

static void
stray(struct xp *x)
{
	char path[256];

	if (!warn_set_has(&x->ws, W_STRAY_TEXT)) {
		path_str(x, x->depth - 1, 0, path, sizeof path);
		warn(x, W_STRAY_TEXT, "%s", path);
	} else
		warn(x, W_STRAY_TEXT, NULL);
}

/*
 * D6 (kddi.com): "<report_id>202504210000000/report_id>" lost the '<' of
 * its close tag, so the tag became text and the element ran on until
 * renest() ended it. Recover mode only: the tag's text is cut off the
 * value again (W_RENESTED), so the report_id is the reporter's.
 */
static void
cut_close_tag(struct xp *x, const char *name, const char *pfx)
{
	size_t nl = strlen(name), t = x->tlen;

	while (t > 0 && is_space((unsigned char)x->text[t - 1]))
		t--;
	if (t < nl + 2 || x->text[t - 1] != '>')
		return;
	t--;
	if (memcmp(x->text + t - nl, name, nl) != 0)
		return;
	t -= nl;
	if (pfx != NULL && t > 0 && x->text[t - 1] == ':') {
		size_t pl = strlen(pfx);
		if (t < pl + 1 || memcmp(x->text + t - 1 - pl, pfx, pl) != 0)
			return;
		t -= pl + 1;
	}
	if (t == 0 || x->text[t - 1] != '/')
		return;
	t--;
	warn(x, W_RENESTED, "%s: broken close tag '/%s>' cut from the text",
	    name, name);
	x->tlen = t;
	x->text[t] = '\0';
}

/* Collects the text of the leaf element just read into x->text. Child
 * elements inside a leaf are skipped with a warning. */
static int
xp_text(struct xp *x)
{
	int d = x->depth, rc;
	const char *ename = x->name, *epfx = x->prefix;

	x->tlen = 0;
	x->text[0] = '\0';
	if (x->empty)
		return 0;
	for (;;) {
		if ((rc = xp_next(x)) <= 0)
			return rc;
		if (x->depth <= d) {
			if (x->type == XML_READER_TYPE_END_ELEMENT &&
			    x->depth == d)
				break;
			if (x->type == XML_READER_TYPE_ELEMENT)
				return fail(x, ERR_FORMAT,
				    "unexpected element structure");
			continue;
		}
		if (x->depth != d + 1)
			continue;
		if (x->type == XML_READER_TYPE_ELEMENT) {
			if ((rc = xp_unknown(x)) < 0)
				return rc;
			continue;
		}
		if (x->type == XML_READER_TYPE_TEXT ||
		    x->type == XML_READER_TYPE_CDATA ||
		    x->type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE ||
		    x->type == XML_READER_TYPE_WHITESPACE) {
			size_t n = x->vlen;
			if (x->vfull > LIM_FIELD_BYTES - x->tlen)
				return fail(x, ERR_TOO_LARGE, "<%s> text "
				    "exceeds LIM_FIELD_BYTES (%u)", ename,
				    (unsigned)LIM_FIELD_BYTES);
			memcpy(x->text + x->tlen, x->val, n);
			x->tlen += n;
			x->text[x->tlen] = '\0';
		}
	}
	if (x->rep.recovered)
		cut_close_tag(x, ename, epfx);
	return 0;
}

/* ------------------------------------------------------------------ */
/* text normalisation */

/* Length of the valid UTF-8 sequence at p (n bytes left) that is allowed
 * in a field, 0 if invalid or a control character. */
static size_t
utf8_ok(const unsigned char *p, size_t n)
{
	return report_utf8_ok(p, n, 1);
}

/* Copies s (len bytes) into the arena as valid UTF-8 without control
 * characters: anything else becomes U+FFFD (W_INVALID_UTF8). */
static char *
clean_dup(struct xp *x, struct arena *a, const char *s, size_t len,
    const char *field)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
	char *out, *o;

	/* printable ASCII first: nearly every field is only that */
	while (i < len && p[i] >= 0x20 && p[i] < 0x7f)
		i++;
	while (i < len && (k = utf8_ok(p + i, len - i)) > 0)
		i += k;
	if (i == len)
		return arena_strndup(a, s, len);
	warn(x, W_INVALID_UTF8, "%s", field);
	if (len > (SIZE_MAX - 1) / 3 || (out = arena_alloc(a, len * 3 + 1))
	    == NULL)
		return NULL;
	memcpy(out, s, i);
	o = out + i;
	while (i < len) {
		if ((k = utf8_ok(p + i, len - i)) > 0) {
			memcpy(o, p + i, k);
			o += k;
			i += k;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*o = '\0';
	return out;
}

/* The current leaf's text, trimmed and cleaned, in arena a; NULL when
 * empty (W_EMPTY_ELEMENT) or out of memory (*rc set). */
static char *
leaf(struct xp *x, struct arena *a, const char *field, int *rc)
{
	const char *s;
	size_t n;
	char *v;

	*rc = 0;
	if ((*rc = xp_text(x)) < 0)
		return NULL;
	s = x->text;
	n = x->tlen;
	while (n > 0 && is_space((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_space((unsigned char)s[n - 1]))
		n--;
	if (n == 0) {
		warn(x, W_EMPTY_ELEMENT, "%s", field);
		return NULL;
	}
	if (n != x->tlen)
		warn(x, W_WHITESPACE_TRIMMED, "%s", field);
	if ((v = clean_dup(x, a, s, n, field)) == NULL) {
		*rc = err_set(x->err, ERR_NOMEM, "out of memory");
		return NULL;
	}
	return v;
}

static int
has_upper(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			return 1;
	return 0;
}

/* Lower-cases an enum word, maps aliases, checks the vocabulary; adds a
 * raw_value when the value changed. raw/n_raw/cap: where raw values go. */
static const char *
norm_enum(struct xp *x, struct arena *a, char *v, const char *const *vocab,
    int aliases, const char *field, struct raw_value *raw, size_t *n_raw,
    size_t cap)
{
	const char *orig = v, *out;
	int changed = 0;

	if (v == NULL)
		return NULL;
	if (has_upper(v)) {
		orig = xdup(x, a, v);
		sp_lower(v);
		changed = 1;
		warn(x, W_ENUM_CASE, "%s=%s", field, orig != NULL ? orig : v);
	}
	out = v;
	if (aliases) {
		const char *to = NULL;
		/* first letters first: this runs for every result */
		if (v[0] == 'h' && strcmp(v, "hardfail") == 0)
			to = "fail";
		else if (v[0] == 'u' && strcmp(v, "unknown") == 0)
			to = "temperror";
		else if (v[0] == 'e' && strcmp(v, "error") == 0)
			to = "permerror";
		if (to != NULL) {
			warn(x, W_ENUM_ALIAS, "%s=%s", field, v);
			out = to;
			changed = 1;
		}
	}
	if (vocab != NULL) {
		size_t i;
		for (i = 0; vocab[i] != NULL; i++)
			if (vocab[i][0] == out[0] && strcmp(vocab[i], out) == 0)
				break;
		if (vocab[i] == NULL)
			warn(x, W_ENUM_UNKNOWN, "%s=%s", field, out);
	}
	if (changed && orig != NULL && *n_raw < cap) {
		raw[*n_raw].field = xdup(x, a, field);
		raw[*n_raw].raw = orig;
		(*n_raw)++;
	}
	return out;
}

static void rep_raw(struct xp *x, const char *field, const char *raw);
static void rec_raw(struct xp *x, const char *field, const char *raw);
static const char *idx_field(struct xp *x, const char *what, size_t i,
    const char *sub);

/* Domains: ASCII lower-cased, the value as sent kept as a raw value
 * (W_DOMAIN_CASE); non-ASCII (U-labels) kept with a warning. field names
 * the value; for a DKIM / SPF result (idx >= 0) the raw value's field is
 * "<field>[idx].domain". in_record: the raw value belongs to the record
 * being read, else to the report. */
static char *
norm_domain(struct xp *x, char *v, const char *field, int in_record,
    long idx)
{
	const char *orig = NULL, *f = field;

	if (v == NULL)
		return NULL;
	if (has_upper(v))
		orig = xdup(x, in_record ? x->ca : x->ra, v);
	if (report_domain_lower(v))
		warn(x, W_ULABEL_DOMAIN, "%s%s", field, idx >= 0 ? ".domain" :
		    "");
	if (orig != NULL) {
		if (idx >= 0)
			f = idx_field(x, field, (size_t)idx, "domain");
		warn(x, W_DOMAIN_CASE, "%s=%s", f != NULL ? f : field, orig);
		if (f != NULL && in_record)
			rec_raw(x, f, orig);
		else if (f != NULL)
			rep_raw(x, f, orig);
	}
	return v;
}

/* "123", "123.0", "123.45": integer part in *v (<= max); *frac is 0 (no
 * fraction), 1 (zeros only) or 2 (non-zero fraction). */
static int
parse_dec(const char *s, uint64_t max, uint64_t *v, int *frac)
{
	const char *p = s;
	int rc;

	*frac = 0;
	if ((rc = sp_uint64(&p, v, max)) != 0)
		return rc;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return ERR_FORMAT;
		*frac = 1;
		for (; *p >= '0' && *p <= '9'; p++)
			if (*p != '0')
				*frac = 2;
	}
	return *p == '\0' ? 0 : ERR_FORMAT;
}

static void
rep_raw(struct xp *x, const char *field, const char *raw)
{
	if (x->rep.n_raw < REP_RAW_MAX && raw != NULL) {
		x->rraw[x->rep.n_raw].field = field;
		x->rraw[x->rep.n_raw].raw = raw;
		x->rep.n_raw++;
	}
}

/* A date_range bound: seconds since the epoch; fractions truncated (D27),
 * milliseconds divided (D26). */
static int
parse_time(struct xp *x, int64_t *out, const char *field)
{
	char *v;
	uint64_t n;
	int frac, rc;

	v = leaf(x, x->ra, field, &rc);
	if (rc < 0)
		return rc;
	if (v == NULL)
		return 0;
	if (parse_dec(v, (uint64_t)INT64_MAX, &n, &frac) != 0)
		return fail(x, ERR_FORMAT, "%s is not a timestamp", field);
	if (frac) {
		warn(x, W_TIME_FRACTIONAL, "%s=%s", field, v);
		rep_raw(x, field, v);
	}
	/* 10^11 s is the year 5138; any value above is milliseconds */
	if (n > 100000000000ull) {
		warn(x, W_TIME_MILLISECONDS, "%s=%s", field, v);
		if (!frac)
			rep_raw(x, field, v);
		n /= 1000;
	}
	*out = (int64_t)n;
	return 1;
}

/* First-wins singleton assignment. */
static void
set_once(struct xp *x, const char **slot, const char *v, const char *field)
{
	if (v == NULL)
		return;
	if (*slot != NULL) {
		warn(x, W_DUPLICATE_ELEMENT, "%s", field);
		return;
	}
	*slot = v;
}

/* ------------------------------------------------------------------ */
/* extension containers: kept as raw XML, serialised while streaming so
 * a huge extension never becomes a DOM; beyond LIM_EXTENSION_BYTES the
 * XML is dropped (with a warning), the report is kept. */

/* Appends to the extension copy. A refused append (one that would pass
 * LIM_EXTENSION_BYTES) leaves the buffer as it was, so it is remembered:
 * a fragment with a hole in it must not be kept. */
static void
ext_put(struct xp *x, const void *p, size_t n)
{
	if (buf_append(&x->ext, p, n) != 0)
		x->ext_cut = 1;
}

static void
ext_puts(struct xp *x, const char *s)
{
	ext_put(x, s, strlen(s));
}

static void
ext_escape(struct xp *x, const char *s, size_t n, int attr)
{
	const char *run = s, *end = s + n;

	for (; s < end; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = attr ? "&quot;" : NULL; break;
		default: break;
		}
		if (rep != NULL) {
			ext_put(x, run, (size_t)(s - run));
			ext_puts(x, rep);
			run = s + 1;
		}
	}
	ext_put(x, run, (size_t)(s - run));
}

static void
ext_qname(struct xp *x, const char *pfx, const char *name)
{
	if (pfx != NULL) {
		ext_puts(x, pfx);
		ext_puts(x, ":");
	}
	ext_puts(x, name != NULL ? name : "?");
}

static void
ext_start_tag(struct xp *x, int outer)
{
	const char *ns = x->ns;
	const char *pfx = x->prefix;
	int declared = 0;

	ext_puts(x, "<");
	ext_qname(x, pfx, x->name);
	/* serialised (and escaped) when the tag was parsed */
	ext_put(x, x->attrs, x->attrs_len);
	declared = x->own_ns;
	/* the outermost element carries the namespace it was declared with
	 * higher up, so the kept fragment stands on its own */
	if (outer && ns != NULL && !declared) {
		ext_puts(x, pfx != NULL ? " xmlns:" : " xmlns");
		if (pfx != NULL)
			ext_puts(x, pfx);
		ext_puts(x, "=\"");
		ext_escape(x, ns, strlen(ns), 1);
		ext_puts(x, "\"");
	}
	ext_puts(x, x->empty ? "/>" : ">");
}

/* Serialises the element just read (and its subtree) onto x->ext. */
static int
ext_capture(struct xp *x)
{
	int d = x->depth, rc;

	if (x->el == EL_RECORD)
		x->ext_records++;
	ext_start_tag(x, 1);
	if (x->empty)
		return 0;
	for (;;) {
		if ((rc = xp_next(x)) <= 0)
			return rc;
		if (x->depth < d || (x->depth == d &&
		    x->type != XML_READER_TYPE_END_ELEMENT))
			return fail(x, ERR_FORMAT,
			    "unexpected element structure");
		switch (x->type) {
		case XML_READER_TYPE_ELEMENT:
			/* kept as part of the extension, not lost */
			if (x->el == EL_RECORD)
				x->ext_records++;
			ext_start_tag(x, 0);
			break;
		case XML_READER_TYPE_END_ELEMENT:
			ext_puts(x, "</");
			ext_qname(x, x->eprefix, x->ename);
			ext_puts(x, ">");
			if (x->depth == d)
				return 0;
			break;
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
		case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
		case XML_READER_TYPE_WHITESPACE:
			ext_escape(x, x->val, x->vlen, 0);
			break;
		default:
			break;
		}
	}
}

/* Captures one extension element; *out gets (or is extended by) the XML
 * copied into arena a. */
static int
ext_keep(struct xp *x, struct arena *a, const char **out, const char *where)
{
	int rc;
	size_t prev = *out != NULL ? strlen(*out) : 0;
	char *s;

	buf_reset(&x->ext);
	x->ext_cut = 0;
	if (prev > 0 && buf_append(&x->ext, *out, prev) != 0)
		return xp_skip(x);
	if ((rc = ext_capture(x)) < 0)
		return rc;
	if (x->ext_cut || x->ext.len >= x->ext.cap) {
		/* buf refuses appends past the cap, so the copy is cut:
		 * a cut fragment is worse than none */
		warn(x, W_EXTENSION, "%s: dropped, exceeds "
		    "LIM_EXTENSION_BYTES (%u)", where,
		    (unsigned)LIM_EXTENSION_BYTES);
		return 0;
	}
	warn(x, W_EXTENSION, "%s", where);
	if (x->ext.len == 0)
		return 0;
	s = clean_dup(x, a, (const char *)x->ext.data, x->ext.len, where);
	if (s == NULL)
		return err_set(x->err, ERR_NOMEM, "out of memory");
	*out = s;
	return 0;
}

/* ------------------------------------------------------------------ */
/* report_metadata, policy_published */

static int
parse_date_range(struct xp *x)
{
	int d = x->depth, rc;
	int64_t t = 0;

	if (x->seen_date_range++) {
		warn(x, W_DUPLICATE_ELEMENT, "date_range");
		return xp_skip(x);
	}
	if (x->empty)
		return 0;
	while ((rc = xp_child(x, d)) > 0) {
		if (rc == 2) {
			stray(x);
			continue;
		}
		if (x->el == EL_BEGIN || x->el == EL_END) {
			/* x->el moves on while the text is read */
			int is_begin = x->el == EL_BEGIN;
			int *has = is_begin ? &x->has_begin : &x->has_end;
			const char *f = is_begin ?
			    "date_range.begin" : "date_range.end";
			if (*has) {
				warn(x, W_DUPLICATE_ELEMENT, "%s", f);
				rc = xp_skip(x);
			} else if ((rc = parse_time(x, &t, f)) > 0) {
				*has = 1;
				if (is_begin)
					x->rep.agg.begin = t;
				else
					x->rep.agg.end = t;
				rc = 0;
			}
		} else
			rc = xp_unknown(x);
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int
parse_metadata(struct xp *x)
{
	struct agg_meta *m = &x->rep.agg;
	int d = x->depth, rc;
	char *v;

	if (x->seen_meta++) {
		warn(x, W_DUPLICATE_ELEMENT, "report_metadata");
		return xp_skip(x);
	}
	if (x->empty)
		return 0;
	while ((rc = xp_child(x, d)) > 0) {
		if (rc == 2) {
			stray(x);
			continue;
		}
		rc = 0;
		switch (x->el) {
		case EL_ORG_NAME:
			v = leaf(x, x->ra, "org_name", &rc);
			set_once(x, &m->org_name, v, "org_name");
			break;
		case EL_EMAIL:
			v = leaf(x, x->ra, "email", &rc);
			set_once(x, &m->email, v, "email");
			break;
		case EL_EXTRA_CONTACT_INFO:
			v = leaf(x, x->ra, "extra_contact_info", &rc);
			set_once(x, &m->extra_contact_info, v,
			    "extra_contact_info");
			break;
		case EL_REPORT_ID:
			/* kept as sent (trimmed): <id@host> forms are part
			 * of the dedup key, stripping would merge reports */
			v = leaf(x, x->ra, "report_id", &rc);
			set_once(x, &m->report_id, v, "report_id");
			break;
		case EL_GENERATOR:
			x->rep.agg.flavour = AGG_RFC9990;
			v = leaf(x, x->ra, "generator", &rc);
			set_once(x, &m->generator, v, "generator");
			break;
		case EL_ERROR:
			v = leaf(x, x->ra, "error", &rc);
			if (v == NULL)
				break;
			if (m->n_errors < LIM_METADATA_ERRORS)
				x->errors[m->n_errors++] = v;
			else
				warn(x, W_DUPLICATE_ELEMENT, "error beyond "
				    "LIM_METADATA_ERRORS (%d) ignored",
				    LIM_METADATA_ERRORS);
			break;
		case EL_DATE_RANGE:
			rc = parse_date_range(x);
			break;
		default:
			rc = xp_unknown(x);
			break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int
parse_policy(struct xp *x)
{
	struct agg_policy *p = &x->rep.policy;
	int d = x->depth, rc, frac;
	size_t n_raw = x->rep.n_raw;
	uint64_t n;
	char *v;

	if (x->seen_policy++) {
		warn(x, W_DUPLICATE_ELEMENT, "policy_published");
		return xp_skip(x);
	}
	if (x->empty)
		return 0;
	while ((rc = xp_child(x, d)) > 0) {
		const char **slot = NULL;
		const char *const *vocab = NULL;
		const char *f = NULL;

		if (rc == 2) {
			stray(x);   /* D25: <sp>none</sp>11 */
			continue;
		}
		rc = 0;
		switch (x->el) {
		case EL_DOMAIN:
			v = leaf(x, x->ra, "policy_published.domain", &rc);
			set_once(x, &p->domain, norm_domain(x, v,
			    "policy_published.domain", 0, -1),
			    "policy_published.domain");
			break;
		case EL_ADKIM: slot = &p->adkim; vocab = V_ALIGN;
			f = "policy_published.adkim"; break;
		case EL_ASPF: slot = &p->aspf; vocab = V_ALIGN;
			f = "policy_published.aspf"; break;
		case EL_P: slot = &p->p; vocab = V_DISP;
			f = "policy_published.p"; break;
		case EL_SP: slot = &p->sp; vocab = V_DISP;
			f = "policy_published.sp"; break;
		case EL_NP: slot = &p->np; vocab = V_DISP;
			f = "policy_published.np";
			x->rep.agg.flavour = AGG_RFC9990; break;
		case EL_TESTING: slot = &p->testing; vocab = V_TESTING;
			f = "policy_published.testing";
			x->rep.agg.flavour = AGG_RFC9990; break;
		case EL_DISCOVERY_METHOD: slot = &p->discovery_method;
			vocab = V_DISCOVERY;
			f = "policy_published.discovery_method";
			x->rep.agg.flavour = AGG_RFC9990; break;
		case EL_FO:
			v = leaf(x, x->ra, "policy_published.fo", &rc);
			set_once(x, &p->fo, v, "policy_published.fo");
			break;
		case EL_PCT:
			v = leaf(x, x->ra, "policy_published.pct", &rc);
			if (v == NULL)
				break;
			if (p->pct >= 0) {
				warn(x, W_DUPLICATE_ELEMENT,
				    "policy_published.pct");
				break;
			}
			if (parse_dec(v, 1000, &n, &frac) != 0 || n > 100) {
				warn(x, W_ENUM_UNKNOWN,
				    "policy_published.pct=%s", v);
				rep_raw(x, "policy_published.pct", v);
				break;
			}
			if (frac) {
				warn(x, W_NUMBER_FLOAT,
				    "policy_published.pct=%s", v);
				rep_raw(x, "policy_published.pct", v);
			}
			p->pct = (int)n;
			break;
		default:
			rc = xp_unknown(x);
			break;
		}
		if (rc < 0)
			return rc;
		if (slot != NULL) {
			v = leaf(x, x->ra, f, &rc);
			if (rc < 0)
				return rc;
			n_raw = x->rep.n_raw;
			set_once(x, slot, norm_enum(x, x->ra, v, vocab, 0, f,
			    x->rraw, &n_raw, REP_RAW_MAX), f);
			x->rep.n_raw = n_raw;
		}
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* records */

static void
rec_raw(struct xp *x, const char *field, const char *raw)
{
	if (x->rec.n_raw < REC_RAW_MAX) {
		x->raw[x->rec.n_raw].field = field;
		x->raw[x->rec.n_raw].raw = raw;
		x->rec.n_raw++;
	}
}

/* Enum inside a record: raw values go to the record. */
static const char *
rec_enum(struct xp *x, char *v, const char *const *vocab, int aliases,
    const char *field)
{
	size_t n = x->rec.n_raw;
	const char *out = norm_enum(x, x->ca, v, vocab, aliases, field,
	    x->raw, &n, REC_RAW_MAX);

	x->rec.n_raw = n;
	return out;
}

static const char *
idx_field(struct xp *x, const char *what, size_t i, const char *sub)
{
	char tmp[64];

	snprintf(tmp, sizeof tmp, "%s[%zu].%s", what, i, sub);
	return xdup(x, x->ca, tmp);
}

static int
parse_reason(struct xp *x)
{
	struct agg_reason r = { NULL, NULL };
	int d = x->depth, rc;
	size_t i = x->rec.n_reasons;
	char bare[64];
	size_t nbare = 0;
	char *v;

	if (x->empty) {
		warn(x, W_EMPTY_ELEMENT, "reason");
		return 0;
	}
	while ((rc = xp_child(x, d)) > 0) {
		if (rc == 2) {
			/* D22: <reason>sampled_out</reason> */
			const char *t = x->val;
			size_t n = x->vlen;
			if (n > sizeof bare - 1 - nbare)
				n = sizeof bare - 1 - nbare;
			memcpy(bare + nbare, t, n);
			nbare += n;
			continue;
		}
		rc = 0;
		if (x->el == EL_TYPE) {
			v = leaf(x, x->ca, "reason.type", &rc);
			set_once(x, &r.type, v, "reason.type");
		} else if (x->el == EL_COMMENT) {
			v = leaf(x, x->ca, "reason.comment", &rc);
			set_once(x, &r.comment, v, "reason.comment");
		} else
			rc = xp_unknown(x);
		if (rc < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (r.type == NULL && nbare > 0) {
		const char *s = bare;
		while (nbare > 0 && sp_is_space((unsigned char)*s)) {
			s++;
			nbare--;
		}
		while (nbare > 0 && sp_is_space((unsigned char)s[nbare - 1]))
			nbare--;
		if (nbare > 0) {
			r.type = clean_dup(x, x->ca, s, nbare, "reason");
			warn(x, W_REASON_BARE, "record %llu",
			    (unsigned long long)x->rec.index + 1);
		}
	}
	if (r.type == NULL && r.comment == NULL) {
		/* <reason></reason> or only empty children: nothing to
		 * keep, and certainly no reason to drop the record */
		warn(x, W_EMPTY_ELEMENT, "reason");
		return 0;
	}
	if (i >= LIM_REASONS) {
		warn(x, W_DUPLICATE_ELEMENT, "record %llu: reason beyond "
		    "LIM_REASONS (%d) ignored",
		    (unsigned long long)x->rec.index + 1, LIM_REASONS);
		return 0;
	}
	if (r.type != NULL) {
		char *t = (char *)r.type;
		r.type = rec_enum(x, t, V_REASON, 0,
		    has_upper(t) ? idx_field(x, "reason", i, "type") :
		    "reason.type");
		if (x->rep.agg.flavour == AGG_RFC9990 &&
		    (strcmp(r.type, "forwarded") == 0 ||
		    strcmp(r.type, "sampled_out") == 0))
			warn(x, W_REASON_OBSOLETE, "record %llu: %s",
			    (unsigned long long)x->rec.index + 1, r.type);
	}
	x->reasons[i] = r;
	x->rec.n_reasons++;
	return 0;
}

static int
parse_policy_evaluated(struct xp *x)
{
	int d = x->depth, rc;
	char *v;

	if (x->rec_has_pe++) {
		warn(x, W_DUPLICATE_ELEMENT, "policy_evaluated");
		return xp_skip(x);
	}
	if (x->empty)
		return 0;
	while ((rc = xp_child(x, d)) > 0) {
		if (rc == 2) {
			stray(x);
			continue;
		}
		rc = 0;
		switch (x->el) {
		case EL_DISPOSITION:
			v = leaf(x, x->ca, "policy_evaluated.disposition",
			    &rc);
			set_once(x, &x->rec.disposition, rec_enum(x, v,
			    V_ACTION, 0, "policy_evaluated.disposition"),
			    "policy_evaluated.disposition");
			break;
		case EL_DKIM:
			v = leaf(x, x->ca, "policy_evaluated.dkim", &rc);
			set_once(x, &x->rec.dkim_aligned, rec_enum(x, v,
			    V_DMARC, 1, "policy_evaluated.dkim"),
			    "policy_evaluated.dkim");
			break;
		case EL_SPF:
			v = leaf(x, x->ca, "policy_evaluated.spf", &rc);
			set_once(x, &x->rec.spf_aligned, rec_enum(x, v,
			    V_DMARC, 1, "policy_evaluated.spf"),
			    "policy_evaluated.spf");
			break;
		case EL_REASON:
			rc = parse_reason(x);
			break;
		default:
			rc = xp_unknown(x);
			break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int
parse_row(struct xp *x)
{
	int d = x->depth, rc;
	char *v;

	if (x->rec_has_row++) {
		warn(x, W_DUPLICATE_ELEMENT, "row");
		return xp_skip(x);
	}
	if (x->empty)
		return 0;
	while ((rc = xp_child(x, d)) > 0) {
		if (rc == 2) {
			stray(x);
			continue;
		}
		rc = 0;
		switch (x->el) {
		case EL_SOURCE_IP:
			v = leaf(x, x->ca, "source_ip", &rc);
			set_once(x, &x->rec.source_ip, v, "source_ip");
			break;
		case EL_COUNT:
			v = leaf(x, x->ca, "count", &rc);
			set_once(x, &x->count_text, v, "count");
			break;
		case EL_POLICY_EVALUATED:
			rc = parse_policy_evaluated(x);
			break;
		default:
			rc = xp_unknown(x);
			break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int
parse_identifiers(struct xp *x)
{
	int d = x->depth, rc;
	char *v;

	if (x->el == EL_IDENTITIES)
		warn(x, W_IDENTITIES_ALIAS, "record %llu",
		    (unsigned long long)x->rec.index + 1);
	if (x->rec_has_ids++) {
		warn(x, W_DUPLICATE_ELEMENT, "identifiers");
		return xp_skip(x);
	}
	if (x->empty)
		return 0;
	while ((rc = xp_child(x, d)) > 0) {
		const char **slot = NULL, *f = NULL;

		if (rc == 2) {
			stray(x);
			continue;
		}
		switch (x->el) {
		case EL_HEADER_FROM: slot = &x->rec.header_from;
			f = "header_from"; break;
		case EL_ENVELOPE_FROM: slot = &x->rec.envelope_from;
			f = "envelope_from"; break;
		case EL_ENVELOPE_TO: slot = &x->rec.envelope_to;
			f = "envelope_to"; break;
		default:
			break;
		}
		if (slot == NULL)
			rc = xp_unknown(x);
		else {
			v = leaf(x, x->ca, f, &rc);
			set_once(x, slot, norm_domain(x, v, f, 1, -1), f);
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int
parse_auth_dkim(struct xp *x)
{
	struct agg_dkim k = { NULL, NULL, NULL, NULL };
	size_t i = x->rec.n_dkim;
	int d = x->depth, rc;
	char *v, *res = NULL;

	if (!x->empty)
		while ((rc = xp_child(x, d)) > 0) {
			if (rc == 2) {
				stray(x);
				continue;
			}
			rc = 0;
			switch (x->el) {
			case EL_DOMAIN:
				v = leaf(x, x->ca, "dkim.domain", &rc);
				set_once(x, &k.domain, norm_domain(x, v,
				    "dkim", 1, (long)i), "dkim.domain");
				break;
			case EL_SELECTOR:
				v = leaf(x, x->ca, "dkim.selector", &rc);
				set_once(x, &k.selector, v, "dkim.selector");
				break;
			case EL_RESULT:
				v = leaf(x, x->ca, "dkim.result", &rc);
				if (res == NULL)
					res = v;
				else if (v != NULL)
					warn(x, W_DUPLICATE_ELEMENT,
					    "dkim.result");
				break;
			case EL_HUMAN_RESULT:
				v = leaf(x, x->ca, "dkim.human_result", &rc);
				set_once(x, &k.human_result, v,
				    "dkim.human_result");
				break;
			default:
				rc = xp_unknown(x);
				break;
			}
			if (rc < 0)
				return rc;
		}
	else
		rc = 0;
	if (rc < 0)
		return rc;
	if (k.domain == NULL) {
		/* D17: a result for no domain says nothing useful */
		warn(x, W_DKIM_EMPTY_DOMAIN, "record %llu",
		    (unsigned long long)x->rec.index + 1);
		return 0;
	}
	if (i >= LIM_AUTH_RESULTS) {
		warn(x, W_DUPLICATE_ELEMENT, "record %llu: dkim beyond "
		    "LIM_AUTH_RESULTS (%d) ignored",
		    (unsigned long long)x->rec.index + 1, LIM_AUTH_RESULTS);
		return 0;
	}
	if (k.selector == NULL)
		warn(x, W_DKIM_NO_SELECTOR, "record %llu",
		    (unsigned long long)x->rec.index + 1);
	if (res != NULL)
		k.result = rec_enum(x, res, V_DKIM, 1, has_upper(res) ||
		    strcmp(res, "hardfail") == 0 ||
		    strcmp(res, "unknown") == 0 || strcmp(res, "error") == 0 ?
		    idx_field(x, "dkim", i, "result") : "dkim.result");
	else
		warn(x, W_FIELD_MISSING, "record %llu: dkim.result",
		    (unsigned long long)x->rec.index + 1);
	x->dkim[i] = k;
	x->rec.n_dkim++;
	return 0;
}

static int
parse_auth_spf(struct xp *x)
{
	struct agg_spf s = { NULL, NULL, NULL, NULL };
	size_t i = x->rec.n_spf;
	int d = x->depth, rc = 0;
	char *v, *res = NULL, *scope = NULL;

	if (!x->empty)
		while ((rc = xp_child(x, d)) > 0) {
			if (rc == 2) {
				stray(x);
				continue;
			}
			rc = 0;
			switch (x->el) {
			case EL_DOMAIN:
				v = leaf(x, x->ca, "spf.domain", &rc);
				set_once(x, &s.domain, norm_domain(x, v,
				    "spf", 1, (long)i), "spf.domain");
				break;
			case EL_SCOPE:
				v = leaf(x, x->ca, "spf.scope", &rc);
				if (scope == NULL)
					scope = v;
				break;
			case EL_RESULT:
				v = leaf(x, x->ca, "spf.result", &rc);
				if (res == NULL)
					res = v;
				else if (v != NULL)
					warn(x, W_DUPLICATE_ELEMENT,
					    "spf.result");
				break;
			case EL_HUMAN_RESULT:
				v = leaf(x, x->ca, "spf.human_result", &rc);
				set_once(x, &s.human_result, v,
				    "spf.human_result");
				break;
			default:
				rc = xp_unknown(x);
				break;
			}
			if (rc < 0)
				return rc;
		}
	if (rc < 0)
		return rc;
	if (i >= LIM_AUTH_RESULTS) {
		warn(x, W_DUPLICATE_ELEMENT, "record %llu: spf beyond "
		    "LIM_AUTH_RESULTS (%d) ignored",
		    (unsigned long long)x->rec.index + 1, LIM_AUTH_RESULTS);
		return 0;
	}
	if (scope != NULL)
		s.scope = rec_enum(x, scope, V_SCOPE, 0, has_upper(scope) ?
		    idx_field(x, "spf", i, "scope") : "spf.scope");
	else
		warn(x, W_SPF_NO_SCOPE, "record %llu",
		    (unsigned long long)x->rec.index + 1);
	if (res != NULL)
		s.result = rec_enum(x, res, V_SPF, 1, has_upper(res) ||
		    strcmp(res, "hardfail") == 0 ||
		    strcmp(res, "unknown") == 0 || strcmp(res, "error") == 0 ?
		    idx_field(x, "spf", i, "result") : "spf.result");
	else
		warn(x, W_FIELD_MISSING, "record %llu: spf.result",
		    (unsigned long long)x->rec.index + 1);
	x->spf[i] = s;
	x->rec.n_spf++;
	return 0;
}

static int
parse_auth_results(struct xp *x)
{
	int d = x->depth, rc;

	if (x->rec_has_auth++) {
		warn(x, W_DUPLICATE_ELEMENT, "auth_results");
		return xp_skip(x);
	}
	if (x->empty)
		return 0;
	while ((rc = xp_child(x, d)) > 0) {
		if (rc == 2) {
			stray(x);
			continue;
		}
		if (x->el == EL_DKIM)
			rc = parse_auth_dkim(x);
		else if (x->el == EL_SPF)
			rc = parse_auth_spf(x);
		else
			rc = xp_unknown(x);
		if (rc < 0)
			return rc;
	}
	return rc;
}

/* Keeps a record in the record arena until begin() can be called. */
static int
hold_record(struct xp *x)
{
	struct agg_record *r;
	void *p;

	if (x->n_held >= LIM_HELD_RECORDS)
		return fail(x, ERR_TOO_LARGE, "more than LIM_HELD_RECORDS (%u) "
		    "records before report_metadata and policy_published",
		    (unsigned)LIM_HELD_RECORDS);
	if ((r = arena_alloc(x->ca, sizeof *r)) == NULL)
		goto nomem;
	*r = x->rec;
#define HOLD(field, n, arr) do { \
		if ((n) > 0) { \
			if ((p = arena_alloc(x->ca, (n) * sizeof (arr)[0])) \
			    == NULL) \
				goto nomem; \
			memcpy(p, (arr), (n) * sizeof (arr)[0]); \
			r->field = p; \
		} else \
			r->field = NULL; \
	} while (0)
	HOLD(reasons, r->n_reasons, x->reasons);
	HOLD(dkim, r->n_dkim, x->dkim);
	HOLD(spf, r->n_spf, x->spf);
	HOLD(raw, r->n_raw, x->raw);
#undef HOLD
	if (x->n_held == x->a_held) {
		p = arena_grow(x->ca, x->held, x->n_held, &x->a_held,
		    sizeof *x->held);
		if (p == NULL)
			goto nomem;
		x->held = p;
	}
	x->held[x->n_held++] = r;
	return 0;
nomem:
	return err_set(x->err, ERR_NOMEM, "out of memory");
}

static int
sink_rc(struct xp *x, int rc, const char *what)
{
	if (rc == ERR_STOPPED)
		return err_set(x->err, ERR_STOPPED, "stopped by the %s "
		    "callback", what);
	if (rc < 0 && x->err != NULL && x->err->msg[0] == '\0')
		err_set(x->err, rc, "the %s callback failed", what);
	else if (rc < 0 && x->err != NULL)
		x->err->code = rc;
	return rc;
}

/* Validates the finished record and hands it on (or holds it). */
static int
finish_record(struct xp *x)
{
	struct agg_record *r = &x->rec;
	unsigned long long no = (unsigned long long)r->index + 1;
	struct ipaddr ip;
	uint64_t n;
	int frac, rc;

	if (r->source_ip == NULL) {
		warn(x, W_ROW_NO_SOURCE_IP, "record %llu", no);
		goto skip;
	}
	if (ipaddr_parse(r->source_ip, strlen(r->source_ip), &ip) != 0) {
		warn(x, W_ROW_BAD_SOURCE_IP, "record %llu", no);
		goto skip;
	}
	if (x->count_text == NULL) {
		warn(x, W_ROW_BAD_COUNT, "record %llu: no count", no);
		goto skip;
	}
	/* A count past LIM_RECORD_COUNT is a forgery meant to skew the
	 * rollups, but the rest of the report is still the reporter's:
	 * drop the row, keep the report. */
	rc = parse_dec(x->count_text, LIM_RECORD_COUNT, &n, &frac);
	if (rc == ERR_TOO_LARGE) {
		warn(x, W_ROW_BAD_COUNT, "record %llu: count exceeds "
		    "LIM_RECORD_COUNT", no);
		goto skip;
	}
	if (rc != 0 || frac == 2) {
		warn(x, W_ROW_BAD_COUNT, "record %llu: count not a number",
		    no);
		goto skip;
	}
	if (frac) {
		warn(x, W_NUMBER_FLOAT, "record %llu: count", no);
		rec_raw(x, "count", x->count_text);
	}
	r->count = n;
	if (strcmp(ip.text, r->source_ip) != 0) {
		rec_raw(x, "source_ip", r->source_ip);
		warn(x, W_IPV6_NONCANONICAL, "record %llu: %s", no,
		    r->source_ip);
		if ((r->source_ip = arena_strdup(x->ca, ip.text)) == NULL)
			return err_set(x->err, ERR_NOMEM, "out of memory");
	}
	r->ip_family = ip.family;
	memcpy(r->ip_bin, ip.bin, 16);
	if (r->header_from == NULL)
		warn(x, W_FIELD_MISSING, "record %llu: header_from", no);
	if (r->envelope_from == NULL)
		warn(x, W_ENVELOPE_FROM_MISSING, "record %llu", no);
	if (r->n_spf == 0)
		warn(x, W_NO_SPF, "record %llu", no);
	if (!x->rec_has_pe)
		warn(x, W_FIELD_MISSING, "record %llu: policy_evaluated",
		    no);
	if (r->disposition != NULL && x->rep.agg.flavour == AGG_RFC7489 &&
	    strcmp(r->disposition, "pass") == 0)
		warn(x, W_DISPOSITION_PASS_7489, "record %llu", no);
	r->reasons = r->n_reasons ? x->reasons : NULL;
	r->dkim = r->n_dkim ? x->dkim : NULL;
	r->spf = r->n_spf ? x->spf : NULL;
	r->raw = r->n_raw ? x->raw : NULL;
	x->rep.n_records++;
	if (!x->begun)
		return hold_record(x);
	if (x->sink->record != NULL &&
	    (rc = x->sink->record(x->sink->ctx, &x->rep, r)) != 0)
		return sink_rc(x, rc, "record");
	return 0;
skip:
	x->rep.n_rows_skipped++;
	return 0;
}

static int
parse_record(struct xp *x)
{
	int d = x->depth, rc, rank = 0;
	size_t index = (size_t)x->n_record_elems;

	if (++x->n_record_elems > LIM_RECORDS)
		return fail(x, ERR_TOO_LARGE, "more than LIM_RECORDS (%u) "
		    "records", (unsigned)LIM_RECORDS);
	if (x->begun)
		arena_reset(x->ca);
	memset(&x->rec, 0, sizeof x->rec);
	x->rec.index = index;
	x->count_text = NULL;
	x->rec_has_row = x->rec_has_ids = x->rec_has_auth = 0;
	x->rec_has_pe = 0;
	if (!x->empty)
		while ((rc = xp_child(x, d)) > 0) {
			int r = 0;
			const char *ns;

			if (rc == 2) {
				stray(x);
				continue;
			}
			switch (x->el) {
			case EL_ROW:
				r = 1;
				rc = parse_row(x);
				break;
			case EL_IDENTIFIERS:
			case EL_IDENTITIES:
				r = 2;
				rc = parse_identifiers(x);
				break;
			case EL_AUTH_RESULTS:
				r = 3;
				rc = parse_auth_results(x);
				break;
			case EL_EXTENSIONS:
			case EL_EXTENSION:
				rc = ext_keep(x, x->ca, &x->rec.extensions_xml,
				    "record extension");
				break;
			default:
				/* RFC 9990 record-level extensions: any
				 * element in a foreign namespace */
				ns = x->ns;
				if (ns != NULL && (x->feedback_ns == NULL ||
				    strcmp(ns, x->feedback_ns) != 0))
					rc = ext_keep(x, x->ca,
					    &x->rec.extensions_xml,
					    "record extension");
				else
					rc = xp_unknown(x);
				break;
			}
			if (rc < 0)
				return rc;
			if (r != 0 && r < rank)
				warn(x, W_ORDER, "record %llu",
				    (unsigned long long)index + 1);
			if (r > rank)
				rank = r;
		}
	else
		rc = 0;
	if (rc < 0)
		return rc;
	return finish_record(x);
}

/* ------------------------------------------------------------------ */
/* begin / end */

static int
check_report(struct xp *x)
{
	struct agg_meta *m = &x->rep.agg;
	struct agg_policy *p = &x->rep.policy;
	const char *def[4];
	size_t n_def = 0;
	int64_t span;

	err_where(x->err, "feedback");
	if (!x->seen_meta)
		return err_set(x->err, ERR_FORMAT, "no report_metadata");
	err_where(x->err, "feedback/report_metadata");
	if (m->version == NULL)
		warn(x, W_VERSION_MISSING, NULL);
	else if (strcmp(m->version, "1.0") != 0 &&
	    strcmp(m->version, "1") != 0)
		warn(x, W_VERSION_ODD, "%s", m->version);
	if (m->org_name == NULL) {
		const char *at;
		if (m->email == NULL)
			return err_set(x->err, ERR_FORMAT,
			    "neither org_name nor email");
		at = strrchr(m->email, '@');
		m->org_name = at != NULL && at[1] != '\0' ? at + 1 : m->email;
		warn(x, W_ORG_NAME_MISSING, "%s", m->org_name);
	}
	if (m->report_id == NULL)
		return err_set(x->err, ERR_FORMAT, "no report_id");
	if (!x->seen_date_range)
		return err_set(x->err, ERR_FORMAT, "no date_range");
	if (!x->has_begin || !x->has_end)
		return err_set(x->err, ERR_FORMAT, "date_range without %s",
		    x->has_begin ? "end" : "begin");
	span = m->end - m->begin;
	if (span > LIM_REPORT_SPAN_SECONDS)
		return err_set(x->err, ERR_FORMAT, "date_range spans %lld "
		    "seconds, more than LIM_REPORT_SPAN_SECONDS (%lld): "
		    "counts cannot be placed in time", (long long)span,
		    (long long)LIM_REPORT_SPAN_SECONDS);
	if (span <= 0)
		warn(x, W_SPAN_ODD, "begin %lld end %lld",
		    (long long)m->begin, (long long)m->end);
	else if (span > 86401)
		warn(x, W_SPAN_LONG, "%lld seconds", (long long)span);
	err_where(x->err, "feedback");
	if (!x->seen_policy)
		return err_set(x->err, ERR_FORMAT, "no policy_published");
	err_where(x->err, "feedback/policy_published");
	if (p->domain == NULL)
		return err_set(x->err, ERR_FORMAT,
		    "no policy_published/domain");
	if (p->p == NULL)
		warn(x, W_FIELD_MISSING, "policy_published.p");
	if (p->adkim == NULL) {
		p->adkim = "r";
		def[n_def++] = "adkim";
	}
	if (p->aspf == NULL) {
		p->aspf = "r";
		def[n_def++] = "aspf";
	}
	if (p->sp == NULL && p->p != NULL) {
		p->sp = p->p;
		def[n_def++] = "sp";
	}
	if (p->pct < 0 && m->flavour == AGG_RFC7489) {
		p->pct = 100;
		def[n_def++] = "pct";
	}
	if (n_def > 0)
		warn(x, W_POLICY_DEFAULTED, "%s%s%s%s%s%s%s", def[0],
		    n_def > 1 ? "," : "", n_def > 1 ? def[1] : "",
		    n_def > 2 ? "," : "", n_def > 2 ? def[2] : "",
		    n_def > 3 ? "," : "", n_def > 3 ? def[3] : "");
	err_where(x->err, "%s", "");
	return 0;
}

static int
do_begin(struct xp *x)
{
	int rc;

	if ((rc = check_report(x)) != 0)
		return rc;
	x->begun = 1;
	if (x->sink->begin != NULL &&
	    (rc = x->sink->begin(x->sink->ctx, &x->rep)) != 0)
		return sink_rc(x, rc, "begin");
	for (size_t i = 0; i < x->n_held; i++)
		if (x->sink->record != NULL && (rc = x->sink->record(
		    x->sink->ctx, &x->rep, x->held[i])) != 0)
			return sink_rc(x, rc, "record");
	x->n_held = x->a_held = 0;
	x->held = NULL;
	arena_reset(x->ca);
	return 0;
}

/* ------------------------------------------------------------------ */
/* the document */

static int
parse_feedback(struct xp *x)
{
	const char *ns = x->ns;
	int d = x->depth, rc, rank;
	const char *cname;
	char *v;

	x->feedback_depth = d;
	if (ns != NULL && ns[0] != '\0') {
		x->feedback_ns = xdup(x, x->ra, ns);
		x->rep.agg.xml_namespace = x->feedback_ns;
		if (strcmp(ns, NS_9990) == 0)
			x->rep.agg.flavour = AGG_RFC9990;
		else if (strcmp(ns, NS_7489) != 0)
			warn(x, W_NAMESPACE_ODD, "%.200s", ns);
	}
	if (!x->empty)
		while ((rc = xp_child(x, d)) > 0) {
			if (rc == 2) {
				stray(x);
				continue;
			}
			rc = 0;
			rank = 0;
			cname = x->name;
			switch (x->el) {
			case EL_VERSION:
				rank = 1;
				v = leaf(x, x->ra, "version", &rc);
				set_once(x, &x->rep.agg.version, v, "version");
				break;
			case EL_REPORT_METADATA:
				rank = 2;
				rc = parse_metadata(x);
				break;
			case EL_POLICY_PUBLISHED:
				rank = 3;
				rc = parse_policy(x);
				break;
			case EL_EXTENSION:
				x->rep.agg.flavour = AGG_RFC9990;
				__attribute__((fallthrough));
			case EL_EXTENSIONS:
				rank = 4;
				if (x->rep.agg.extensions_xml != NULL) {
					warn(x, W_DUPLICATE_ELEMENT,
					    "extension");
					rc = xp_skip(x);
				} else
					rc = ext_keep(x, x->ra,
					    &x->rep.agg.extensions_xml,
					    "extension");
				break;
			case EL_RECORD:
				rank = 5;
				if (!x->begun && x->seen_meta &&
				    x->seen_policy &&
				    (rc = do_begin(x)) < 0)
					return rc;
				rc = parse_record(x);
				break;
			default:
				rc = xp_unknown(x);
				break;
			}
			if (rc < 0)
				return rc;
			if (rank != 0 && rank < x->top_rank &&
			    !warn_set_has(&x->ws, W_ORDER))
				warn(x, W_ORDER, "feedback/%s", cname);
			else if (rank != 0 && rank < x->top_rank)
				warn(x, W_ORDER, NULL);
			if (rank > x->top_rank)
				x->top_rank = rank;
		}
	else
		rc = 0;
	if (rc < 0)
		return rc;
	if (!x->begun && (rc = do_begin(x)) < 0)
		return rc;
	if (x->rep.n_records == 0)
		warn(x, W_NO_RECORDS, x->n_record_elems ? "all %llu rows "
		    "skipped" : "no record elements",
		    (unsigned long long)x->n_record_elems);
	return 0;
}

/* Reads what follows </feedback>: an error there (trailing junk, the
 * unclosed IKEA wrapper) no longer affects the report. */
static void
drain(struct xp *x)
{
	unsigned long before = x->threaded ? x->c_nxerr : x->n_xerr;
	int r, warned = 0, another = 0;

	/* read to the end: <record>s after </feedback> are counted (lost,
	 * see check_records) */
	while ((r = raw_next(x)) == 1) {
		if (x->type != XML_READER_TYPE_ELEMENT)
			continue;
		if (x->el == EL_FEEDBACK)
			another = 1;    /* another report: not ours */
		if (x->el == EL_RECORD && !another)
			x->after_records++;
		if (!warned && x->depth <= x->feedback_depth) {
			warn(x, W_TRAILING_DATA, "element after feedback");
			warned = 1;
		}
	}
	if (!warned && (r < 0 || x->n_xerr > before))
		warn(x, W_TRAILING_DATA, "line %d: %s", x->xerr_line,
		    x->xerr_msg);
}

/* Recover pass: the parser thread is done; reads what libxml2 left
 * unread (it may stop early on a broken document) through the raw
 * <record> counter, so the count covers the whole input. */
static int
scan_rest(struct xp *x)
{
	unsigned char *b;
	size_t got;
	int rc = 0;

	thr_stop(x);
	if (x->in_rc < 0 || x->sax_rc < 0)
		return 0;
	if ((b = malloc(SAX_READ_BYTES)) == NULL)
		return err_set(x->err, ERR_NOMEM, "out of memory");
	for (;;) {
		rc = x->in->read(x->in->ctx, b, SAX_READ_BYTES, &got);
		if (rc < 0 || got == 0)
			break;
		if ((rc = rs_feed(&x->rs, b, got, 0)) != 0)
			break;
	}
	free(b);
	if (rc == 0)
		rc = rs_feed(&x->rs, NULL, 0, 1);
	if (rc < 0) {
		x->in_rc = rc;
		return fail_reader(x);
	}
	return 0;
}

/*
 * Every <record> of the document must have been read (stored or skipped
 * with a warning) or kept inside an extension. A report missing records
 * is refused: stored, it would make a complete copy "already known".
 * The document's count: the raw bytes in the recover pass (libxml2 may
 * drop or swallow content there), libxml2's events otherwise.
 */
static int
check_records(struct xp *x)
{
	uint64_t doc = x->rep.recovered && !x->rs.off ? x->rs.n :
	    x->sax_records;
	uint64_t read = x->n_record_elems + x->ext_records, gone, unseen;
	char why[400];
	size_t n = 0;

	if (doc <= read)
		return 0;
	gone = doc - read;
	why[0] = '\0';
	if (x->lost_records > 0)
		n += (size_t)snprintf(why + n, sizeof why - n, "%llu out of "
		    "place (the first is where this error points)",
		    (unsigned long long)x->lost_records);
	if (x->after_records > 0 && n < sizeof why)
		n += (size_t)snprintf(why + n, sizeof why - n, "%s%llu after "
		    "</feedback>", n ? ", " : "",
		    (unsigned long long)x->after_records);
	unseen = x->lost_records + x->after_records < gone ?
	    gone - x->lost_records - x->after_records : 0;
	if (unseen > 0 && n < sizeof why)
		snprintf(why + n, sizeof why - n, "%s%llu lost where the XML "
		    "is broken", n ? ", " : "", (unsigned long long)unseen);
	err_where(x->err, "%s", x->lost_records > 0 ? x->lost_at :
	    "feedback");
	return err_set(x->err, ERR_FORMAT, "%llu of the document's %llu "
	    "<record> elements cannot be read: %s; the report is not stored "
	    "without them", (unsigned long long)gone,
	    (unsigned long long)doc, why);
}

static int
parse_document(struct xp *x)
{
	int rc;

	for (;;) {
		if ((rc = xp_next(x)) < 0)
			return rc;
		if (rc == 0)
			break;
		if (x->type != XML_READER_TYPE_ELEMENT)
			continue;
		if (x->el == EL_FEEDBACK && x->depth <= LIM_FEEDBACK_DEPTH) {
			if ((rc = parse_feedback(x)) < 0)
				return rc;
			drain(x);
			if (x->threaded && (rc = scan_rest(x)) < 0)
				return rc;
			if (x->rs.n_feedback > 1 || x->sax_feedbacks > 1)
				warn(x, W_TRAILING_DATA, "another <feedback> "
				    "follows the report: not read");
			if (x->oom)
				return err_set(x->err, ERR_NOMEM, "out of "
				    "memory");
			return check_records(x);
		}
		if (x->n_elems > LIM_FEEDBACK_SEEK ||
		    x->depth >= LIM_FEEDBACK_DEPTH) {
			if (x->n_elems > LIM_FEEDBACK_SEEK)
				break;
			if ((rc = xp_skip(x)) < 0)
				return rc;
		}
	}
	err_where(x->err, "line %d", x->line);
	return err_set(x->err, ERR_NOREPORT, x->n_elems ?
	    "XML but not a DMARC <feedback> document" : x->in_bytes == 0 ?
	    "empty input" : "no XML element found");
}

static xmlParserInputPtr
no_entity_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
init_libxml(void)
{
	/* Before any other libxml2 call (this file is its only user). */
	xmlMemSetup(free, xml_malloc, xml_realloc, xml_strdup);
	xmlInitParser();
	/* belt and braces: nothing we parse may ever load a URL or file */
	xmlSetExternalEntityLoader(no_entity_loader);
}

int
dmarc_xml_parse(struct reader *in, const struct dmarc_xml_opts *opts,
    const struct report_sink *sink, struct err *err)
{
	struct xp *x = NULL;
	int rc, options;

	if (in == NULL || in->read == NULL || sink == NULL)
		return err_set(err, ERR_INVAL, "dmarc_xml_parse: bad arguments");
	xml_alloc_failed = 0;
	pthread_once(&init_once, init_libxml);
	if ((x = calloc(1, sizeof *x)) == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	x->opts = opts;
	x->sink = sink;
	x->err = err;
	x->in = in;
	x->pr_line = 1;
	warn_set_init(&x->ws);
	buf_init(&x->ext, LIM_EXTENSION_BYTES);
	x->ra = arena_new();
	x->ca = arena_new();
	if (x->ra == NULL || x->ca == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	x->rep.kind = REPORT_AGGREGATE;
	x->rep.agg.flavour = AGG_RFC7489;
	x->rep.agg.errors = x->errors;
	x->rep.policy.pct = -1;
	x->rep.warnings = x->ws.warns;
	x->rep.raw = x->rraw;
	x->rep.recovered = opts != NULL && opts->recover;

	options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
#ifdef XML_PARSE_NO_XXE
	options |= XML_PARSE_NO_XXE;
#endif
	if (x->rep.recovered)
		options |= XML_PARSE_RECOVER;
	x->first_byte = -1;
	/* SAX2 with only what we need: no internal/external subset,
	 * entity, notation or CDATA handlers, so nothing can declare or
	 * expand anything; a DOCTYPE or an entity reference stops the
	 * parser (ERR_HOSTILE). White space goes to the text handler like
	 * other text. Errors come to this parse's own handler: no global
	 * state. */
	x->sax.initialized = XML_SAX2_MAGIC;
	x->sax.startElementNs = sax_start;
	x->sax.endElementNs = sax_end;
	x->sax.characters = sax_text;
	x->sax.ignorableWhitespace = sax_text;
	x->sax.internalSubset = sax_subset;
	x->sax.getEntity = sax_get_entity;
	x->sax.reference = sax_reference;
	x->sax.serror = on_xml_error;
	x->options = options;
	if (x->rep.recovered) {
		/* the pull parser recovers from more than the push parser
		 * (see the top of this file); it runs on a thread of its own
		 * and hands its events over in bounded batches */
		x->threaded = 1;
		x->fb_v = -1;
		x->pc = xmlCreateIOParserCtxt(&x->sax, x, io_read_full,
		    io_close, x, XML_CHAR_ENCODING_NONE);
		if (x->pc == NULL) {
			rc = err_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
		xmlCtxtUseOptions(x->pc, options);
		if (pthread_mutex_init(&x->mu, NULL) != 0) {
			rc = err_set(err, ERR_NOMEM, "cannot create a mutex");
			goto out;
		}
		if (pthread_cond_init(&x->cv, NULL) != 0) {
			pthread_mutex_destroy(&x->mu);
			rc = err_set(err, ERR_NOMEM, "cannot create a "
			    "condition variable");
			goto out;
		}
		x->thr_sync = 1;
		if (pthread_create(&x->thr, NULL, thr_main, x) != 0) {
			rc = err_set(err, ERR_NOMEM, "cannot start the "
			    "recover thread");
			goto out;
		}
		x->thr_started = 1;
	} else {
		if ((x->inbuf = malloc(SAX_READ_BYTES)) == NULL) {
			rc = err_set(err, ERR_NOMEM, "out of memory");
			goto out;
		}
		sax_feed(x);
		if (x->pc == NULL && x->sax_done && x->in_rc == 0) {
			rc = err_set(err, ERR_NOREPORT, "empty input");
			goto out;
		}
	}
	if ((rc = parse_document(x)) < 0)
		goto out;
	if (parse_nomem(x)) {
		rc = ERR_NOMEM;
		goto out;
	}
	if (x->lead_skipped > 0)
		warn(x, W_BOM, "%zu leading bytes skipped", x->lead_skipped);
	if (x->n_xerr > 0 && x->rep.recovered)
		warn(x, W_XML_RECOVERED, "line %d: %s", x->xerr_line,
		    x->xerr_msg);
	if (x->xerr_utf8)
		warn(x, W_INVALID_UTF8, "line %d", x->xerr_line);
	if (sink->end != NULL && (rc = sink->end(sink->ctx, &x->rep)) != 0) {
		rc = sink_rc(x, rc, "end");
		goto out;
	}
	rc = 0;
out:
	thr_stop(x);            /* joined: x->thr_nomem is final */
	if (x->thr_sync) {
		pthread_cond_destroy(&x->cv);
		pthread_mutex_destroy(&x->mu);
	}
	if (rc < 0 && parse_nomem(x))
		rc = err_set(err, ERR_NOMEM, "out of memory in the XML "
		    "parser");
	if (x->pc != NULL)
		xmlFreeParserCtxt(x->pc);
	free(x->inbuf);
	free(x->evs);
	free(x->eb);
	free(x->c_evs);
	free(x->c_eb);
	buf_free(&x->ext);
	arena_free(x->ca);
	arena_free(x->ra);
	free(x);
	return rc;
}

int
dmarc_xml_sniff(const unsigned char *p, size_t n)
{
	size_t i = 0;

	if (p == NULL)
		return 0;
	if (n >= 2 && ((p[0] == 0xff && p[1] == 0xfe) ||
	    (p[0] == 0xfe && p[1] == 0xff)))
		return 1;
	if (n >= 4 && ((p[0] == '<' && p[1] == 0 && p[2] != 0) ||
	    (p[0] == 0 && p[1] == '<')))
		return 1;
	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'))
		i++;
	return i < n && p[i] == '<';
}
