/*
 * tests/fuzz/fuzz_unpack.c - libFuzzer target for ingest/unpack.
 *
 * Opens the input, reads every payload to its end (errors included), then
 * rewinds and reads everything again: the second pass must not crash or
 * leak whatever state the first left behind (a half-read member, an error).
 */
#include <stddef.h>
#include <stdint.h>

#include "../../ingest/unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
drain(struct unpack *u)
{
	static unsigned char chunk[65536];
	struct reader *rd;
	struct payload_info info;
	struct err err;
	size_t got;
	int n = 0;

	/* The entry cap bounds this loop; the counter is a second guard. */
	while (unpack_next(u, &rd, &info, &err) == 1 && n++ < 1000) {
		while (rd->read(rd->ctx, chunk, sizeof chunk, &got) == 0 &&
		    got > 0)
			;
		(void)unpack_error(u);
		(void)unpack_info(u);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unpack *u;

	(void)unpack_sniff(data, size);
	if (unpack_open(data, size, 0, &u) != 0)
		return 0;
	drain(u);
	if (unpack_rewind(u) == 0)
		drain(u);
	unpack_free(u);
	return 0;
}
