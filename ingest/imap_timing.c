/* ingest/imap_timing.c - see imap_timing.h. */
#include "../common/limits.h"
#include "imap_timing.h"

long
imap_backoff_ms(unsigned attempt, unsigned long rnd)
{
	long ms = LIM_IMAP_BACKOFF_FIRST_MS;

	for (unsigned i = 0; i < attempt && ms < LIM_IMAP_BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > LIM_IMAP_BACKOFF_MAX_MS)
		ms = LIM_IMAP_BACKOFF_MAX_MS;
	/* jitter: 50% .. 100% of the step */
	return ms / 2 + (long)(rnd % (unsigned long)(ms / 2 + 1));
}

long
imap_idle_left_ms(int64_t started_ms, int64_t now_ms)
{
	int64_t spent = now_ms > started_ms ? now_ms - started_ms : 0;
	int64_t left = (int64_t)LIM_IMAP_IDLE_SECONDS * 1000 - spent;

	return left > 0 ? (long)left : 0;
}

long
imap_poll_slice_ms(unsigned interval_s, int64_t started_ms,
    int64_t last_cmd_ms, int64_t now_ms, int *noop_after)
{
	int64_t end = started_ms + (int64_t)interval_s * 1000;
	int64_t noop_at = last_cmd_ms + (int64_t)LIM_IMAP_NOOP_SECONDS * 1000;

	*noop_after = 0;
	if (now_ms < started_ms)        /* clock went back: start over */
		now_ms = started_ms;
	if (now_ms >= end)
		return 0;
	if (noop_at < end) {
		/* The connection would sit silent too long: wake for a NOOP
		 * first (at once if it is overdue). */
		*noop_after = 1;
		return noop_at > now_ms ? (long)(noop_at - now_ms) : 0;
	}
	return (long)(end - now_ms);
}
