/*
 * tests/fuzz/fuzz_dmarc_xml.c - libFuzzer target for the aggregate XML
 * parser: each input is parsed once normally and once in recover mode,
 * through a sink that reads every field it is given (so a dangling or
 * unterminated string shows up under ASan), and once more normally
 * through a reader that hands out a few bytes at a time, so the SAX
 * event queue sees text, tags and the end of input at every offset of
 * its read-ahead and slices.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../common/err.h"
#include "../../common/reader.h"
#include "../../parse/dmarc_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
touch(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

static int
f_begin(void *ctx, const struct report *r)
{
	size_t *sum = ctx;
	const struct agg_meta *m = &r->agg;
	const struct agg_policy *p = &r->policy;

	*sum += touch(m->org_name) + touch(m->email) +
	    touch(m->extra_contact_info) + touch(m->report_id) +
	    touch(m->generator) + touch(m->version) +
	    touch(m->xml_namespace) + touch(m->extensions_xml) +
	    (size_t)(m->begin ^ m->end) + (size_t)m->flavour;
	for (size_t i = 0; i < m->n_errors; i++)
		*sum += touch(m->errors[i]);
	*sum += touch(p->domain) + touch(p->adkim) + touch(p->aspf) +
	    touch(p->p) + touch(p->sp) + touch(p->np) + touch(p->fo) +
	    touch(p->testing) + touch(p->discovery_method) + (size_t)p->pct;
	for (size_t i = 0; i < r->n_raw; i++)
		*sum += touch(r->raw[i].field) + touch(r->raw[i].raw);
	return 0;
}

static int
f_record(void *ctx, const struct report *r, const struct agg_record *c)
{
	size_t *sum = ctx;

	(void)r;
	*sum += c->index + touch(c->source_ip) + (size_t)c->ip_family +
	    c->ip_bin[0] + c->ip_bin[15] + (size_t)c->count +
	    touch(c->disposition) + touch(c->dkim_aligned) +
	    touch(c->spf_aligned) + touch(c->header_from) +
	    touch(c->envelope_from) + touch(c->envelope_to) +
	    touch(c->extensions_xml);
	for (size_t i = 0; i < c->n_reasons; i++)
		*sum += touch(c->reasons[i].type) +
		    touch(c->reasons[i].comment);
	for (size_t i = 0; i < c->n_dkim; i++)
		*sum += touch(c->dkim[i].domain) + touch(c->dkim[i].selector) +
		    touch(c->dkim[i].result) + touch(c->dkim[i].human_result);
	for (size_t i = 0; i < c->n_spf; i++)
		*sum += touch(c->spf[i].domain) + touch(c->spf[i].scope) +
		    touch(c->spf[i].result) + touch(c->spf[i].human_result);
	for (size_t i = 0; i < c->n_raw; i++)
		*sum += touch(c->raw[i].field) + touch(c->raw[i].raw);
	return 0;
}

static int
f_end(void *ctx, const struct report *r)
{
	size_t *sum = ctx;

	for (size_t i = 0; i < r->n_warnings; i++)
		*sum += (size_t)r->warnings[i].code + r->warnings[i].count +
		    touch(r->warnings[i].detail) +
		    touch(warn_token(r->warnings[i].code));
	*sum += (size_t)(r->n_records + r->n_rows_skipped) +
	    (size_t)r->recovered;
	return 0;
}

struct dribble {
	const uint8_t *p;
	size_t n, pos;
	unsigned step;
};

static int
dribble_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
	struct dribble *d = ctx;
	size_t n = d->n - d->pos;

	/* 1..13 bytes, varying, derived from the position */
	d->step = d->step * 5 + 3;
	if (n > 1 + d->step % 13)
		n = 1 + d->step % 13;
	if (n > cap)
		n = cap;
	memcpy(buf, d->p + d->pos, n);
	d->pos += n;
	*got = n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static volatile size_t sink_sum;
	size_t sum = 0;
	struct report_sink sink = { .begin = f_begin, .record = f_record,
	    .end = f_end, .ctx = &sum };

	for (int recover = 0; recover <= 1; recover++) {
		struct reader_mem m;
		struct reader rd;
		struct dmarc_xml_opts o = { .recover = recover };
		struct err e;

		err_clear(&e);
		reader_mem_init(&m, data, size, 0, &rd);
		(void)dmarc_xml_parse(&rd, &o, &sink, &e);
		sum += touch(e.msg) + touch(e.where);
		(void)dmarc_xml_sniff(data, size);
	}
	{
		struct dribble d = { data, size, 0, (unsigned)size };
		struct reader rd = { dribble_read, &d };
		struct dmarc_xml_opts o = { .recover = 0 };
		struct err e;

		err_clear(&e);
		(void)dmarc_xml_parse(&rd, &o, &sink, &e);
		sum += touch(e.msg) + touch(e.where);
	}
	sink_sum = sink_sum + sum;
	return 0;
}
