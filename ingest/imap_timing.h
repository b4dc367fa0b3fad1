/*
 * ingest/imap_timing.h - when `watch` waits, and for how long: reconnect
 * backoff, IDLE re-issue, NOOP while polling. Pure functions of the time
 * and of a random number, so that tests check the rules without waiting
 * for them (tests/unit/test_imap_timing.c); src_imap.c does the waiting.
 * The constants are LIM_IMAP_* in common/limits.h.
 */
#ifndef DW_INGEST_IMAP_TIMING_H
#define DW_INGEST_IMAP_TIMING_H

#include <stdint.h>

/*
 * The wait before reconnect number attempt + 1 (attempt 0 = the first
 * failure): LIM_IMAP_BACKOFF_FIRST_MS doubled attempt times, capped at
 * LIM_IMAP_BACKOFF_MAX_MS, of which a random 50% to 100% (from rnd, any
 * value). Never less than LIM_IMAP_BACKOFF_FIRST_MS / 2.
 */
long imap_backoff_ms(unsigned attempt, unsigned long rnd);

/* Milliseconds an IDLE started at started_ms may still run before it must
 * be ended and issued again (LIM_IMAP_IDLE_SECONDS); 0 = now. A clock
 * that went backwards counts as no time passed. */
long imap_idle_left_ms(int64_t started_ms, int64_t now_ms);

/*
 * Polling: the next wait of a poll interval (seconds) begun at
 * started_ms. Returns the milliseconds to sleep (0 = the interval is
 * over: start the next pass) and sets *noop_after to 1 when a NOOP is due
 * after that sleep, because the interval goes on longer than
 * LIM_IMAP_NOOP_SECONDS since the last command (last_cmd_ms).
 */
long imap_poll_slice_ms(unsigned interval_s, int64_t started_ms,
    int64_t last_cmd_ms, int64_t now_ms, int *noop_after);

#endif
