/*
 * tests/unit/test_mime.c - the MIME walker.
 *
 * Numbered cases: a message in, the list of parts (path, type, filename,
 * decoded data) or the error out. Messages are written with LF and
 * converted to CRLF where a case says so (want_data is written with LF
 * and converted the same way). DW_CORPUS (optional): every
 * *-eml corpus message expected to hold a report yields a part that
 * unpacks to something starting with '<' or '{'.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "../../common/buf.h"
#include "../../common/limits.h"
#include "../../ingest/mime.h"
#include "../../ingest/unpack.h"

static int failures;

#define CHECK(n, cond, ...) do { \
	if (!(cond)) { \
		failures++; \
		printf("case %d FAILED (%s:%d): ", (n), __FILE__, __LINE__); \
		printf(__VA_ARGS__); \
		printf("\n"); \
	} \
} while (0)

/* ---- collecting parts ----------------------------------------------------- */

struct seen {
	int n;
	char list[2048];        /* "path type [filename] depth|" ... */
	char data[16][512];     /* decoded data, NUL-terminated, cut */
	size_t len[16];
	int stop_at;            /* return 42 at this part (1-based) */
};

static int
collect(void *ctx, const struct mime_part *p)
{
	struct seen *s = ctx;
	size_t l = strlen(s->list);

	snprintf(s->list + l, sizeof s->list - l, "%s %s%s%s %d|", p->path,
	    p->content_type, p->filename ? " " : "",
	    p->filename ? p->filename : "", p->depth);
	if (s->n < 16) {
		size_t k = p->len < 500 ? p->len : 500;

		memcpy(s->data[s->n], p->data, k);
		s->data[s->n][k] = '\0';
		s->len[s->n] = p->len;
	}
	s->n++;
	if (s->stop_at != 0 && s->n == s->stop_at)
		return 42;
	return 0;
}

/* LF -> CRLF copy. */
static char *
crlf(const char *s)
{
	size_t n = strlen(s), k = 0;
	char *o = malloc(2 * n + 1);

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			o[k++] = '\r';
		o[k++] = s[i];
	}
	o[k] = '\0';
	return o;
}

static int
walk(const char *msg, struct seen *s, struct err *e)
{
	memset(s, 0, sizeof *s);
	err_clear(e);
	return mime_walk((const unsigned char *)msg, strlen(msg), collect, s,
	    e);
}

static char *
b64(const unsigned char *d, size_t n, size_t wrap)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = malloc(n * 2 + 16), *q = o;
	size_t col = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < n)
			v |= d[i + 2];
		*q++ = t[(v >> 18) & 63];
		*q++ = t[(v >> 12) & 63];
		*q++ = i + 1 < n ? t[(v >> 6) & 63] : '=';
		*q++ = i + 2 < n ? t[v & 63] : '=';
		col += 4;
		if (wrap && col >= wrap) {
			*q++ = '\n';
			col = 0;
		}
	}
	*q = '\0';
	return o;
}

/* ---- table-driven cases ------------------------------------------------- */

struct tcase {
	int id;
	const char *msg;
	int crlf;
	int want_rc;
	const char *want_list;   /* NULL: not checked */
	int data_idx;            /* which part's data to compare */
	const char *want_data;   /* NULL: not checked */
};

static const struct tcase cases[] = {
	{ 1, "From: a@b\nSubject: x\n\n<feedback/>\n", 0, 0,
	    "1 text/plain 0|", 0, "<feedback/>\n" },
	{ 2, "From: a@b\nSubject: x\n\n<feedback/>\n", 1, 0,
	    "1 text/plain 0|", 0, "<feedback/>\n" },
	/* quoted-printable: =XX, soft breaks (LF, CRLF, "=  "), bad escape */
	{ 3, "From: a@b\nContent-Transfer-Encoding: Quoted-Printable\n\n"
	    "a=3Db=\nc=  \nd =XZ =4\n", 0, 0, "1 text/plain 0|", 0,
	    "a=bcd =XZ =4\n" },
	{ 4, "From: a@b\nContent-Transfer-Encoding: quoted-printable\n\n"
	    "a=3Db=\nc\n", 1, 0, NULL, 0, "a=bc\n" },
	/* base64 with junk, blanks, no padding */
	{ 5, "From: a@b\nContent-Type: application/gzip\n"
	    "Content-Transfer-Encoding: base64\n\n  PGZl ZWRi\n*YWNr\tLz4\n",
	    0, 0, "1 application/gzip 0|", 0, "<feedback/>" },
	/* base64 in padded chunks glued together */
	{ 6, "From: a@b\nContent-Transfer-Encoding: base64\n\nPGE+\nPGI+PA==\nYw==\n",
	    0, 0, NULL, 0, "<a><b><c" },
	/* nested multipart/mixed > related > alternative (Microsoft) */
	{ 7, "From: a@b\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"M\"\n\n"
	    "preamble\n--M\n"
	    "Content-Type: multipart/related; boundary=R\n\n"
	    "--R\nContent-Type: multipart/alternative;\n boundary=\"A\"\n\n"
	    "--A\nContent-Type: text/plain\n\nplain\n"
	    "--A\nContent-Type: text/html\n\n<p>html</p>\n--A--\n"
	    "--R\nContent-Type: image/png; name=logo.png\n\nPNG\n--R--\n"
	    "--M\nContent-Type: application/gzip;\n"
	    " name=\"protection.outlook.com!d!1!2.xml.gz\"\n"
	    "Content-Disposition: attachment;\n"
	    "\tfilename=\"protection.outlook.com!d!1!2.xml.gz\"\n"
	    "Content-Transfer-Encoding: base64\n\nPGZlZWRiYWNrLz4=\n"
	    "--M--\nepilogue\n", 1,
	    0, "1.1.1 text/plain 3|1.1.2 text/html 3|1.2 image/png logo.png 2|"
	    "2 application/gzip protection.outlook.com!d!1!2.xml.gz 1|",
	    3, "<feedback/>" },
	/* message/rfc822 inside (Google report forwarded) */
	{ 8, "From: fwd@x\nContent-Type: multipart/mixed; boundary=o\n\n"
	    "--o\nContent-Type: text/plain\n\nsee attached\n"
	    "--o\nContent-Type: message/rfc822\n\n"
	    "From: noreply-dmarc-support@google.com\n"
	    "Content-Type: multipart/mixed; boundary=i\n\n"
	    "--i\n\nhello\n"
	    "--i\nContent-Type: application/zip; name=google.com!d!1!2.zip\n"
	    "Content-Transfer-Encoding: base64\n\nUEsDBA==\n--i--\n"
	    "--o--\n", 0, 0,
	    "1 text/plain 1|2 message/rfc822 1|2.1 text/plain 3|"
	    "2.2 application/zip google.com!d!1!2.zip 3|", 3, "PK\x03\x04" },
	/* message/rfc822 whose embedded message is single part: "2.1" */
	{ 9, "From: a\nContent-Type: multipart/report; report-type=x; "
	    "boundary=b\n\n--b\n\nhuman\n--b\nContent-Type: "
	    "text/rfc822-headers\n\nFrom: z\n--b\nContent-Type: "
	    "message/rfc822\n\nFrom: y\nSubject: s\n\nbody\n--b--\n", 0, 0,
	    "1 text/plain 1|2 text/rfc822-headers 1|3 message/rfc822 1|"
	    "3.1 text/plain 2|", 3, "body" },
	/* missing final boundary: the last part runs to the end */
	{ 10, "From: a\nContent-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\none\n--b\nContent-Type: text/xml\n\n<x/>\ntail\n", 0, 0,
	    "1 text/plain 1|2 text/xml 1|", 1, "<x/>\ntail\n" },
	/* whitespace after the boundary; boundary that is a prefix of a
	 * longer line; "--b" inside a line is not a delimiter */
	{ 11, "From: a\nContent-Type: multipart/mixed; boundary=b\n\n"
	    "--b \t\n\none --b\n--bx\nstill one\n--b-- \nepi\n", 1, 0,
	    "1 text/plain 1|", 0, "one --b\n--bx\nstill one" },
	/* RFC 2231 filename, percent-encoded UTF-8 */
	{ 12, "From: a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Disposition: attachment; filename*=utf-8''r%C3%A9port.xml"
	    "\n\nx\n--b--\n", 0, 0, "1 text/plain r\xc3\xa9port.xml 1|",
	    -1, NULL },
	/* RFC 2231 continuations, mixed encoded / plain sections */
	{ 13, "From: a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Disposition: attachment;\n filename*0*=iso-8859-1'en'%E9t;"
	    "\n filename*1=\"e.xml\"; filename*2*=%2Egz\n\nx\n--b--\n", 0, 0,
	    "1 text/plain \xc3\xa9te.xml.gz 1|", -1, NULL },
	/* RFC 2047 in name= (B and Q), words joined across blanks */
	{ 14, "From: a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: application/gzip; name=\"=?UTF-8?B?csOpcA==?= "
	    "=?iso-8859-1?Q?=E9_x.gz?=\"\n\nx\n--b--\n", 0, 0,
	    "1 application/gzip r\xc3\xa9p\xc3\xa9 x.gz 1|", -1, NULL },
	/* unknown charset in an encoded word: kept as written */
	{ 15, "From: a\nContent-Type: text/plain; name=\"=?koi8-r?B?AAA=?=\""
	    "\n\nx\n", 0, 0, "1 text/plain =?koi8-r?B?AAA=?= 0|", -1, NULL },
	/* not a message */
	{ 16, "<?xml version=\"1.0\"?><feedback/>", 0, ERR_FORMAT, NULL, -1,
	    NULL },
	{ 17, "", 0, ERR_FORMAT, NULL, -1, NULL },
	/* header block only, no body */
	{ 18, "From: a\nSubject: b", 0, 0, "1 text/plain 0|", 0, "" },
	/* a malformed line ends the headers; body starts there */
	{ 19, "From: a\nthis is not a header\nmore\n", 0, 0, "1 text/plain 0|",
	    0, "this is not a header\nmore\n" },
	/* mbox "From " line tolerated at the top */
	{ 20, "From a@b Mon Jan  1 00:00:00 2024\nFrom: a\n\nbody", 0, 0,
	    "1 text/plain 0|", 0, "body" },
	/* multipart without boundary parameter: a leaf */
	{ 21, "From: a\nContent-Type: multipart/mixed\n\nstuff", 0, 0,
	    "1 multipart/mixed 0|", 0, "stuff" },
	/* boundary never found: the body is one part */
	{ 22, "From: a\nContent-Type: multipart/mixed; boundary=zz\n\n"
	    "Content-Type: application/json\n\n{}", 0, 0,
	    "1 application/json 1|", 0, "{}" },
	/* multipart/digest: parts default to message/rfc822 */
	{ 23, "From: a\nContent-Type: multipart/digest; boundary=d\n\n--d\n\n"
	    "From: q\n\ninner\n--d--\n", 0, 0,
	    "1 message/rfc822 1|1.1 text/plain 2|", 1, "inner" },
	/* base64-encoded message/rfc822 is decoded, then walked */
	{ 24, "From: a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n"
	    "\nRnJvbTogcQoKaW5uZXIK\n--b--\n", 0, 0,
	    "1 message/rfc822 1|1.1 text/plain 2|", 1, "inner\n" },
	/* quoted boundary with specials, folded content type */
	{ 25, "From: a\nContent-Type: multipart/alternative;\n\tboundary=\""
	    "=_a b?c\"\n\n--=_a b?c\n\nA\n--=_a b?c--\n", 0, 0,
	    "1 text/plain 1|", 0, "A" },
	/* a line of only a blank ends the part's headers (it used to be
	 * taken as a folded continuation: django-dmarc2 feedback2.eml) */
	{ 26, "From: a\nContent-Type: multipart/report; boundary=b\n\n--b\n"
	    "Content-Type: message/feedback-report\n \nFeedback-Type: abuse\n"
	    "--b--\n", 0, 0, "1 message/feedback-report 1|", 0,
	    "Feedback-Type: abuse" },
};

static void
run_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct tcase *t = &cases[i];
		char *msg = t->crlf ? crlf(t->msg) : (char *)(uintptr_t)t->msg;
		char *want_data = NULL;
		struct seen s;
		struct err e;
		int rc = walk(msg, &s, &e);

		CHECK(t->id, rc == t->want_rc, "rc=%d want %d (%s)", rc,
		    t->want_rc, e.msg);
		if (t->want_list != NULL)
			CHECK(t->id, strcmp(s.list, t->want_list) == 0,
			    "parts '%s' want '%s'", s.list, t->want_list);
		if (t->want_data != NULL) {
			want_data = t->crlf ? crlf(t->want_data) :
			    (char *)(uintptr_t)t->want_data;
			CHECK(t->id, t->data_idx < s.n &&
			    strcmp(s.data[t->data_idx], want_data) == 0,
			    "data '%s' want '%s'",
			    t->data_idx < s.n ? s.data[t->data_idx] : "-",
			    want_data);
			if (t->crlf)
				free(want_data);
		}
		/* The same message in the other line-end style gives the
		 * same part list. */
		if (t->want_list != NULL && !t->crlf) {
			char *m2 = crlf(t->msg);

			rc = walk(m2, &s, &e);
			CHECK(t->id, rc == t->want_rc &&
			    strcmp(s.list, t->want_list) == 0,
			    "CRLF variant: rc=%d parts '%s'", rc, s.list);
			free(m2);
		}
		if (t->crlf)
			free(msg);
	}
}

/* ---- generated cases ----------------------------------------------------- */

static void
run_generated(void)
{
	struct seen s;
	struct err e;
	struct buf m;
	int rc;

	/* 40: base64 in one line far longer than 998 octets (Microsoft) */
	{
		unsigned char xml[6000];
		char *enc;

		for (size_t i = 0; i < sizeof xml; i++)
			xml[i] = (unsigned char)("<ab>cd</ef>\n"[i % 12]);
		enc = b64(xml, sizeof xml, 0);
		buf_init(&m, 1u << 20);
		buf_printf(&m, "From: a\r\nContent-Type: multipart/mixed; "
		    "boundary=b\r\n\r\n--b\r\nContent-Type: application/gzip"
		    "\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n"
		    "--b--\r\n", enc);
		CHECK(40, strlen(enc) > 998, "line too short");
		memset(&s, 0, sizeof s);
		rc = mime_walk(m.data, m.len, collect, &s, &e);
		CHECK(40, rc == 0 && s.n == 1 && s.len[0] == sizeof xml &&
		    memcmp(s.data[0], xml, 500) == 0, "rc=%d n=%d len=%zu",
		    rc, s.n, s.len[0]);
		free(enc);
		buf_free(&m);
	}

	/* 41: 10k header lines -> ERR_TOO_LARGE naming LIM_HEADER_FIELDS */
	buf_init(&m, 1u << 20);
	for (int i = 0; i < 10000; i++)
		buf_printf(&m, "X-H%d: v\n", i);
	buf_append_str(&m, "\nbody\n");
	memset(&s, 0, sizeof s);
	rc = mime_walk(m.data, m.len, collect, &s, &e);
	CHECK(41, rc == ERR_TOO_LARGE && strstr(e.msg, "LIM_HEADER_FIELDS") &&
	    s.n == 0, "rc=%d msg=%s where=%s", rc, e.msg, e.where);
	{
		int cnt = 0;

		rc = mime_headers(m.data, m.len, NULL, &cnt, &e);
		CHECK(41, rc == ERR_TOO_LARGE, "mime_headers rc=%d", rc);
	}
	buf_free(&m);

	/* 42: one 100 KB folded header -> LIM_HEADER_BYTES */
	buf_init(&m, 1u << 20);
	buf_append_str(&m, "From: a\nSubject: x");
	for (int i = 0; i < 2000; i++)
		buf_append_str(&m, "\n aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	buf_append_str(&m, "\n\nbody\n");
	rc = mime_walk(m.data, m.len, collect, &s, &e);
	CHECK(42, rc == ERR_TOO_LARGE && strstr(e.msg, "LIM_HEADER_BYTES"),
	    "rc=%d msg=%s", rc, e.msg);
	buf_free(&m);

	/* 43: 300 nested multiparts -> LIM_MIME_DEPTH */
	buf_init(&m, 1u << 20);
	buf_append_str(&m, "From: a\n");
	for (int i = 0; i < 300; i++)
		buf_printf(&m, "Content-Type: multipart/mixed; boundary=b%d\n"
		    "\n--b%d\n", i, i);
	buf_append_str(&m, "\nleaf\n");
	memset(&s, 0, sizeof s);
	rc = mime_walk(m.data, m.len, collect, &s, &e);
	CHECK(43, rc == ERR_TOO_LARGE && strstr(e.msg, "LIM_MIME_DEPTH") &&
	    strstr(e.where, "part 1.1.1") != NULL, "rc=%d msg=%s where=%s",
	    rc, e.msg, e.where);
	buf_free(&m);

	/* 44: 300 parts -> LIM_MIME_PARTS; the first 256 were delivered */
	buf_init(&m, 1u << 20);
	buf_append_str(&m, "From: a\nContent-Type: multipart/mixed; "
	    "boundary=b\n\n");
	for (int i = 0; i < 300; i++)
		buf_printf(&m, "--b\n\np%d\n", i);
	buf_append_str(&m, "--b--\n");
	memset(&s, 0, sizeof s);
	rc = mime_walk(m.data, m.len, collect, &s, &e);
	CHECK(44, rc == ERR_TOO_LARGE && strstr(e.msg, "LIM_MIME_PARTS") &&
	    s.n == LIM_MIME_PARTS, "rc=%d n=%d msg=%s", rc, s.n, e.msg);
	buf_free(&m);

	/* 45: a non-zero callback return stops the walk and is returned */
	memset(&s, 0, sizeof s);
	s.stop_at = 2;
	{
		static const char msg[] = "From: a\nContent-Type: multipart/"
		    "mixed; boundary=b\n\n--b\n\n1\n--b\n\n2\n--b\n\n3\n--b--\n";

		rc = mime_walk((const unsigned char *)msg, sizeof msg - 1,
		    collect, &s, &e);
		CHECK(45, rc == 42 && s.n == 2, "rc=%d n=%d", rc, s.n);
	}

	/* 46: whole message is an application/octet-stream gzip (Amazon
	 * SES / Mimecast style): the part unpacks to the XML */
	{
		static const char xml[] = "<?xml version=\"1.0\"?><feedback/>";
		unsigned char gzb[256];
		z_stream zs;
		char *enc;
		struct unpack *u;
		struct reader *rd;
		struct payload_info info;
		unsigned char out[128];
		size_t got = 0;

		memset(&zs, 0, sizeof zs);
		deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9,
		    Z_DEFAULT_STRATEGY);
		zs.next_in = (unsigned char *)(uintptr_t)xml;
		zs.avail_in = sizeof xml - 1;
		zs.next_out = gzb;
		zs.avail_out = sizeof gzb;
		deflate(&zs, Z_FINISH);
		enc = b64(gzb, zs.total_out, 76);
		deflateEnd(&zs);
		buf_init(&m, 1u << 20);
		buf_printf(&m, "Return-Path: <x@y>\nFrom: a\nContent-Type: "
		    "application/octet-stream;\n name=\"amazonses.com!d!1!2."
		    "xml.gz\"\nContent-Transfer-Encoding: base64\n\n%s\n",
		    enc);
		memset(&s, 0, sizeof s);
		rc = mime_walk(m.data, m.len, collect, &s, &e);
		CHECK(46, rc == 0 && s.n == 1 && s.len[0] > 2 &&
		    (unsigned char)s.data[0][0] == 0x1f,
		    "rc=%d n=%d", rc, s.n);
		if (rc == 0 && s.n == 1 &&
		    unpack_open((const unsigned char *)s.data[0], s.len[0], 0,
		    &u) == 0) {
			size_t n = 0;

			if (unpack_next(u, &rd, &info, &e) == 1)
				while (n < sizeof out - 1 && rd->read(rd->ctx,
				    out + n, sizeof out - 1 - n, &got) == 0 &&
				    got > 0)
					n += got;
			out[n] = '\0';
			CHECK(46, strcmp((char *)out, xml) == 0 &&
			    strcmp(info.desc, "gzip") == 0, "got '%s'",
			    (char *)out);
			unpack_free(u);
		}
		CHECK(46, strstr(s.list, "application/octet-stream "
		    "amazonses.com!d!1!2.xml.gz") != NULL, "%s", s.list);
		free(enc);
		buf_free(&m);
	}
}

/* ---- headers and sniffing ------------------------------------------------ */

struct hseen {
	char list[1024];
};

static int
hcollect(void *ctx, const struct mime_header *h)
{
	struct hseen *s = ctx;
	size_t l = strlen(s->list);

	snprintf(s->list + l, sizeof s->list - l, "[%s=%s]", h->name,
	    h->value);
	return 0;
}

static void
run_headers(void)
{
	static const struct {
		int id;
		const char *msg;
		int rc;
		const char *want;
	} t[] = {
		{ 60, "Subject: a\r\n b\r\n\tc  \r\nFrom : x\r\n\r\nSubject: no",
		    0, "[Subject=a b\tc][From=x]" },
		{ 61, "X-A: 1\nX-B:\n\nbody", 0, "[X-A=1][X-B=]" },
		{ 62, "not a header\n", ERR_FORMAT, "" },
		{ 63, " folded first\n", ERR_FORMAT, "" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct hseen s;
		struct err e;
		int rc;

		memset(&s, 0, sizeof s);
		rc = mime_headers((const unsigned char *)t[i].msg,
		    strlen(t[i].msg), hcollect, &s, &e);
		CHECK(t[i].id, rc == t[i].rc && strcmp(s.list, t[i].want) == 0,
		    "rc=%d list=%s", rc, s.list);
	}
}

static void
run_looks(void)
{
	static const struct {
		int id;
		const char *in;
		int want;
	} t[] = {
		{ 70, "Return-Path: <a@b>\nReceived: from x\n\tby y\n\nbody", 1 },
		{ 71, "Received: from x\r\n", 1 },
		{ 72, "Delivered-To: a@b\nFrom: c\n\n", 1 },
		{ 73, "X-Mailer: foo\n\n", 1 },
		{ 74, "From: a@b\nTo: c\n", 1 },
		{ 75, "MIME-Version: 1.0\n", 1 },
		{ 76, "Date: Mon, 1 Jan 2024 00:00:00 +0000\n", 1 },
		{ 77, "ARC-Seal: i=1; a=rsa-sha256\n", 1 },
		{ 78, "<?xml version=\"1.0\"?>\n<feedback>", 0 },
		{ 79, "{\"organization-name\": \"x\"}", 0 },
		{ 80, "\x1f\x8b\x08\x00", 0 },
		{ 81, "PK\x03\x04", 0 },
		{ 82, "From a@b Mon Jan  1 00:00:00 2024\nFrom: a\n", 0 },
		{ 83, "", 0 },
		{ 84, "Foo: bar\nBaz: q\n\n", 0 },            /* none typical */
		{ 85, "From: a\nthis is prose\n\n", 0 },
		{ 86, "\xef\xbb\xbf<feedback/>", 0 },
		{ 87, "From: a\n", 1 },
		{ 88, "  indented: no\n", 0 },
		{ 89, "Subject: x\nDKIM-Signature: v=1\n\n", 1 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int r = mime_looks_like_message((const unsigned char *)t[i].in,
		    strlen(t[i].in));

		CHECK(t[i].id, r == t[i].want, "got %d", r);
	}
}

/* ---- corpus ----------------------------------------------------------------- */

struct cctx {
	int found;
};

static int
corpus_part(void *ctx, const struct mime_part *p)
{
	struct cctx *c = ctx;
	struct unpack *u;
	struct reader *rd;
	struct payload_info info;
	struct err e;
	unsigned char head[64];

	if (unpack_open(p->data, p->len, 0, &u) != 0)
		return 0;
	while (unpack_next(u, &rd, &info, &e) == 1) {
		size_t got = 0, n = 0, i = 0;

		while (n < sizeof head &&
		    rd->read(rd->ctx, head + n, sizeof head - n, &got) == 0 &&
		    got > 0)
			n += got;
		if (n >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0)
			i = 3;
		while (i < n && (head[i] == ' ' || head[i] == '\t' ||
		    head[i] == '\r' || head[i] == '\n'))
			i++;
		if (i < n && (head[i] == '<' || head[i] == '{') &&
		    strncmp(p->content_type, "text/html", 9) != 0)
			c->found = 1;
	}
	unpack_free(u);
	return 0;
}

static void
run_corpus(void)
{
	const char *dir = getenv("DW_CORPUS");
	char path[4096], line[8192];
	FILE *mf;
	int files = 0, bad = 0;

	if (dir == NULL)
		return;
	snprintf(path, sizeof path, "%.2000s/MANIFEST.tsv", dir);
	if ((mf = fopen(path, "r")) == NULL) {
		printf("corpus: no %s, skipped\n", path);
		return;
	}
	while (fgets(line, sizeof line, mf) != NULL) {
		char *col[7], *t = line;
		FILE *f;
		unsigned char *data;
		long n;
		struct cctx c = { 0 };
		struct err e;
		int rc, k;

		for (k = 0; k < 7 && t != NULL; k++) {
			col[k] = t;
			if ((t = strchr(t, '\t')) != NULL)
				*t++ = '\0';
		}
		if (k < 7 || strlen(col[3]) < 4 ||
		    strcmp(col[3] + strlen(col[3]) - 4, "-eml") != 0)
			continue;
		snprintf(path, sizeof path, "%.2000s/files/%.1000s", dir,
		    col[0]);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		data = malloc((size_t)n + 1);
		if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n)
			abort();
		fclose(f);
		files++;
		err_clear(&e);
		rc = mime_walk(data, (size_t)n, corpus_part, &c, &e);
		if (strcmp(col[5], "aggregate") == 0 ||
		    strcmp(col[5], "tlsrpt") == 0) {
			if (rc != 0 || !c.found) {
				bad++;
				printf("corpus %s: rc=%d (%s %s) report part "
				    "%s\n", col[0], rc, e.msg, e.where,
				    c.found ? "found" : "NOT found");
			}
			if (!mime_looks_like_message(data, (size_t)n))
				printf("corpus %s: note: not sniffed as a "
				    "message\n", col[0]);
		} else if (rc != 0 && rc != ERR_FORMAT) {
			bad++;
			printf("corpus %s: rc=%d (%s)\n", col[0], rc, e.msg);
		}
		free(data);
	}
	fclose(mf);
	printf("corpus: %d messages, %d failed\n", files, bad);
	CHECK(90, bad == 0, "%d corpus messages failed", bad);
}

int
main(void)
{
	run_cases();
	run_generated();
	run_headers();
	run_looks();
	run_corpus();
	if (failures != 0) {
		printf("%d check(s) failed\n", failures);
		return 1;
	}
	printf("all mime cases passed\n");
	return 0;
}
