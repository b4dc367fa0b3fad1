/*
 * tests/fuzz/fuzz_mime.c - libFuzzer target for ingest/mime.
 *
 * Sniffs the input, lists its top-level headers, walks every part and
 * unpacks each part's decoded data (reading all payload bytes), as the
 * pipeline does.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../ingest/mime.h"
#include "../../ingest/unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps the byte-touching sums from being optimised away. */
static volatile size_t sink;

static int
on_header(void *ctx, const struct mime_header *h)
{
	size_t *sum = ctx;

	/* Touch every byte so a bad pointer shows under ASan. */
	*sum += strlen(h->name) + strlen(h->value);
	return 0;
}

static int
on_part(void *ctx, const struct mime_part *p)
{
	static unsigned char chunk[65536];
	size_t *sum = ctx;
	struct unpack *u;
	struct reader *rd;
	struct payload_info info;
	struct err err;
	size_t got;
	int n = 0;

	*sum += strlen(p->path) + strlen(p->content_type) +
	    strlen(p->transfer_encoding) + (p->filename ? strlen(p->filename)
	    : 0);
	for (size_t i = 0; i < p->n_headers; i++)
		*sum += strlen(p->headers[i].name) +
		    strlen(p->headers[i].value);
	if (p->len > 0)
		*sum += p->data[0] + p->data[p->len - 1];
	if (p->raw_len > 0)
		*sum += p->raw[0] + p->raw[p->raw_len - 1];
	if (unpack_open(p->data, p->len, 0, &u) != 0)
		return 0;
	while (unpack_next(u, &rd, &info, &err) == 1 && n++ < 1000)
		while (rd->read(rd->ctx, chunk, sizeof chunk, &got) == 0 &&
		    got > 0)
			;
	unpack_free(u);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err err;
	size_t sum = 0;

	(void)mime_looks_like_message(data, size);
	(void)mime_headers(data, size, on_header, &sum, &err);
	(void)mime_walk(data, size, on_part, &sum, &err);
	sink = sum;
	return 0;
}
