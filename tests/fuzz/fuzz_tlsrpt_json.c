/*
 * tests/fuzz/fuzz_tlsrpt_json.c - libFuzzer target for the TLS-RPT JSON
 * parser, through a sink that reads every field it is given (so a
 * dangling or unterminated string shows up under ASan).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../common/err.h"
#include "../../common/reader.h"
#include "../../parse/tlsrpt_json.h"

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
	const struct tlsrpt_meta *m = &r->tls;

	*sum += touch(m->organization_name) + touch(m->contact_info) +
	    touch(m->report_id) + touch(m->begin_raw) + touch(m->end_raw) +
	    (size_t)(m->begin ^ m->end);
	for (size_t i = 0; i < r->n_raw; i++)
		*sum += touch(r->raw[i].field) + touch(r->raw[i].raw);
	return 0;
}

static int
f_policy(void *ctx, const struct report *r, const struct tlsrpt_policy *p)
{
	size_t *sum = ctx;

	(void)r;
	*sum += p->index + touch(p->policy_type) + touch(p->policy_domain) +
	    (size_t)(p->total_successful + p->total_failure);
	for (size_t i = 0; i < p->n_policy_strings; i++)
		*sum += touch(p->policy_strings[i]);
	for (size_t i = 0; i < p->n_mx_hosts; i++)
		*sum += touch(p->mx_hosts[i]);
	for (size_t i = 0; i < p->n_failures; i++) {
		const struct tlsrpt_failure *f = &p->failures[i];
		*sum += touch(f->result_type) + touch(f->sending_mta_ip) +
		    touch(f->receiving_mx_hostname) +
		    touch(f->receiving_mx_helo) + touch(f->receiving_ip) +
		    (size_t)f->failed_session_count +
		    touch(f->additional_information) +
		    touch(f->failure_reason_code);
	}
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
	*sum += (size_t)r->n_records;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Keeps the walk over every parsed string from being optimised away;
	 * a volatile store counts as a use for every compiler. */
	static volatile size_t sink_sum;
	size_t sum = 0;
	struct report_sink sink = { .begin = f_begin, .end = f_end,
	    .tlsrpt_policy = f_policy, .ctx = &sum };
	struct reader_mem m;
	struct reader rd;
	struct err e;

	err_clear(&e);
	reader_mem_init(&m, data, size, 0, &rd);
	(void)tlsrpt_json_parse(&rd, &sink, &e);
	sum += touch(e.msg) + touch(e.where);
	sink_sum = sink_sum + sum;
	return 0;
}
