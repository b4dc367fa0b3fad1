/*
 * tests/fuzz/fuzz_arf.c - libFuzzer target for parse/arf.
 *
 * The input is parsed twice: whole, as the feedback-report part alone;
 * then split at an offset taken from its first byte, the front as the
 * feedback-report part and the rest as the original message (body kept
 * when the byte is odd). The first line also goes through arf_parse_date.
 * The sink touches every string and body byte so that a bad pointer or a
 * missing NUL shows under ASan.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../parse/arf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the byte-touching sums from being optimised away. */
static volatile size_t sink_sum;

static size_t
S(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

static int
on_end(void *ctx, const struct report *r)
{
	const struct failure_report *f = &r->fail;
	size_t *sum = ctx;

	*sum += S(f->feedback_type) + S(f->user_agent) + S(f->version) +
	    S(f->original_mail_from) + S(f->original_rcpt_to) +
	    S(f->arrival_date) + S(f->source_ip) + S(f->reported_domain) +
	    S(f->reported_uri) + S(f->authentication_results) +
	    S(f->auth_failure) + S(f->identity_alignment) +
	    S(f->delivery_result) + S(f->dkim_domain) + S(f->dkim_identity) +
	    S(f->dkim_selector) + S(f->dkim_canonicalized_header) +
	    S(f->dkim_canonicalized_body) + S(f->spf_dns) +
	    S(f->orig_from) + S(f->orig_to) + S(f->orig_subject) +
	    S(f->orig_date) + S(f->orig_message_id) +
	    (size_t)f->arrival_time;
	for (size_t i = 0; i < f->n_other_fields; i++)
		*sum += S(f->other_fields[i].field) +
		    S(f->other_fields[i].raw);
	for (size_t i = 0; i < r->n_raw; i++)
		*sum += S(r->raw[i].field) + S(r->raw[i].raw);
	for (size_t i = 0; i < r->n_warnings; i++)
		*sum += S(r->warnings[i].detail);
	if (f->orig_body_len > 0)
		*sum += f->orig_body[0] + f->orig_body[f->orig_body_len - 1];
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report_sink sink = { .end = on_end };
	struct arf_input in;
	struct err err;
	size_t sum = 0, split, n;
	int64_t t;

	sink.ctx = &sum;
	memset(&in, 0, sizeof in);
	in.feedback = data;
	in.feedback_len = size;
	in.outer_date = "Thu, 1 Jan 2024 10:00:00 +0000";
	(void)arf_parse(&in, &sink, &err);

	if (size > 0) {
		split = (size_t)((uint64_t)data[0] * size / 256);
		in.feedback = data;
		in.feedback_len = split;
		in.original = data + split;
		in.original_len = size - split;
		in.keep_body = data[0] & 1;
		in.outer_date = NULL;
		(void)arf_parse(&in, &sink, &err);
	}

	n = size;
	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n') {
			n = i;
			break;
		}
	(void)arf_parse_date((const char *)data, n, &t);
	sink_sum = sum;
	return 0;
}
