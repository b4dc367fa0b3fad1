/*
 * tests/unit/test_imap_timing.c - the waiting rules of `watch`
 * (ingest/imap_timing.h): reconnect backoff with its cap and jitter, the
 * IDLE re-issue deadline, NOOPs during long poll intervals. Numbered,
 * table-driven cases; prints each failure, exits non-zero.
 */
#include <stdio.h>

#include "../../common/limits.h"
#include "../../ingest/imap_timing.h"
#include "testutil.h"

static int failures, checks;

#define MIN_MS (60L * 1000)

/* Backoff: the step for each attempt; the wait is 50-100% of it. */
static const struct {
	const char *id;
	unsigned attempt;
	long step;
} backoff_cases[] = {
	{ "b01", 0, 1000 },
	{ "b02", 1, 2000 },
	{ "b03", 2, 4000 },
	{ "b04", 5, 32000 },
	{ "b05", 8, 256000 },
	{ "b06", 9, LIM_IMAP_BACKOFF_MAX_MS },    /* 512 s capped at 300 */
	{ "b07", 40, LIM_IMAP_BACKOFF_MAX_MS },   /* no overflow */
	{ "b08", 4000000000u, LIM_IMAP_BACKOFF_MAX_MS },
};

/* IDLE: started at 1000 ms, now at the given time. */
static const struct {
	const char *id;
	int64_t now;
	long left;
} idle_cases[] = {
	{ "i01", 1000, (long)LIM_IMAP_IDLE_SECONDS * 1000 },
	{ "i02", 1000 + 60000, (long)LIM_IMAP_IDLE_SECONDS * 1000 - 60000 },
	{ "i03", 1000 + (int64_t)LIM_IMAP_IDLE_SECONDS * 1000 - 1, 1 },
	{ "i04", 1000 + (int64_t)LIM_IMAP_IDLE_SECONDS * 1000, 0 },
	{ "i05", 1000 + 3600 * 1000, 0 },              /* overslept */
	{ "i06", 0, (long)LIM_IMAP_IDLE_SECONDS * 1000 },  /* clock back */
};

/* Polling: interval (s), start, last command, now -> sleep, NOOP after. */
static const struct {
	const char *id;
	unsigned interval;
	int64_t start, last, now;
	long ms;
	int noop;
} poll_cases[] = {
	/* short intervals: one sleep, no NOOP */
	{ "p01", 300, 0, 0, 0, 300000, 0 },
	{ "p02", 300, 0, 0, 299000, 1000, 0 },
	{ "p03", 300, 0, 0, 300000, 0, 0 },
	{ "p04", 300, 0, 0, 900000, 0, 0 },
	/* exactly the NOOP interval: the pass itself is the next command */
	{ "p05", LIM_IMAP_NOOP_SECONDS, 0, 0, 0,
	  LIM_IMAP_NOOP_SECONDS * 1000L, 0 },
	/* an hour: sleep to the NOOP, NOOP, sleep to the next one ... */
	{ "p06", 3600, 0, 0, 0, LIM_IMAP_NOOP_SECONDS * 1000L, 1 },
	{ "p07", 3600, 0, 0, 5 * MIN_MS, (LIM_IMAP_NOOP_SECONDS - 300) *
	  1000L, 1 },
	{ "p08", 3600, 0, LIM_IMAP_NOOP_SECONDS * 1000L,
	  LIM_IMAP_NOOP_SECONDS * 1000L, LIM_IMAP_NOOP_SECONDS * 1000L, 1 },
	{ "p09", 3600, 0, 2 * LIM_IMAP_NOOP_SECONDS * 1000L,
	  2 * LIM_IMAP_NOOP_SECONDS * 1000L,
	  (3600 - 2 * LIM_IMAP_NOOP_SECONDS) * 1000L, 0 },
	/* a day: NOOP overdue (woke late) -> at once */
	{ "p10", 86400, 0, 0, 40 * MIN_MS, 0, 1 },
	{ "p11", 86400, 0, 40 * MIN_MS, 40 * MIN_MS,
	  LIM_IMAP_NOOP_SECONDS * 1000L, 1 },
	/* clock went back */
	{ "p12", 300, 10000, 10000, 0, 300000, 0 },
};

int
main(void)
{
	for (size_t i = 0; i < sizeof backoff_cases / sizeof backoff_cases[0];
	    i++) {
		long step = backoff_cases[i].step;
		unsigned a = backoff_cases[i].attempt;
		/* the whole jitter range, at its ends and inside */
		TU_CHECK(backoff_cases[i].id, imap_backoff_ms(a, 0) == step / 2);
		TU_CHECK(backoff_cases[i].id,
		    imap_backoff_ms(a, (unsigned long)(step / 2)) == step);
		for (unsigned long r = 0; r < 100000; r += 997) {
			long ms = imap_backoff_ms(a, r * 7919ul);
			TU_CHECK(backoff_cases[i].id, ms >= step / 2 &&
			    ms <= step);
		}
	}
	/* monotone in the attempt at the same random value, and capped */
	for (unsigned a = 0; a < 30; a++) {
		TU_CHECK("b20", imap_backoff_ms(a + 1, 12345) >=
		    imap_backoff_ms(a, 12345) ||
		    imap_backoff_ms(a + 1, 12345) >=
		    LIM_IMAP_BACKOFF_MAX_MS / 2);
		TU_CHECK("b21", imap_backoff_ms(a, ~0ul) <=
		    LIM_IMAP_BACKOFF_MAX_MS);
		TU_CHECK("b22", imap_backoff_ms(a, 0) >=
		    LIM_IMAP_BACKOFF_FIRST_MS / 2);
	}
	/* the re-issue comes before the server's 29 or 30 minutes */
	TU_CHECK("i00", LIM_IMAP_IDLE_SECONDS < 29 * 60);
	for (size_t i = 0; i < sizeof idle_cases / sizeof idle_cases[0]; i++)
		TU_CHECK(idle_cases[i].id, imap_idle_left_ms(1000,
		    idle_cases[i].now) == idle_cases[i].left);
	TU_CHECK("p00", LIM_IMAP_NOOP_SECONDS < 30 * 60);
	for (size_t i = 0; i < sizeof poll_cases / sizeof poll_cases[0]; i++) {
		int noop = -1;
		long ms = imap_poll_slice_ms(poll_cases[i].interval,
		    poll_cases[i].start, poll_cases[i].last, poll_cases[i].now,
		    &noop);
		TU_CHECK(poll_cases[i].id, ms == poll_cases[i].ms);
		TU_CHECK(poll_cases[i].id, noop == poll_cases[i].noop);
		if (ms != poll_cases[i].ms || noop != poll_cases[i].noop)
			fprintf(stderr, "  %s: got %ld ms noop %d\n",
			    poll_cases[i].id, ms, noop);
	}
	/* A whole day of polling, simulated: the connection is never silent
	 * longer than LIM_IMAP_NOOP_SECONDS and the interval ends on time. */
	{
		int64_t now = 0, last = 0, longest = 0;
		int noops = 0, steps = 0;
		for (;;) {
			int noop;
			long ms = imap_poll_slice_ms(86400, 0, last, now, &noop);
			if (++steps > 1000)
				break;
			if (ms == 0 && !noop)
				break;
			now += ms;
			if (noop) {
				if (now - last > longest)
					longest = now - last;
				last = now;
				noops++;
			}
		}
		if (86400000 - last > longest)
			longest = 86400000 - last;
		TU_CHECK("d01", steps < 1000 && now == 86400000);
		TU_CHECK("d02", longest <= LIM_IMAP_NOOP_SECONDS * 1000L);
		TU_CHECK("d03", noops == 86400 / LIM_IMAP_NOOP_SECONDS);
	}
	if (failures)
		fprintf(stderr, "%d of %d checks failed\n", failures, checks);
	else
		printf("%d checks passed\n", checks);
	return failures != 0;
}
