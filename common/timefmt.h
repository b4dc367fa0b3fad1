/*
 * common/timefmt.h - UTC time formatting and parsing (ISO 8601), without
 * the process time zone.
 */
#ifndef DW_COMMON_TIMEFMT_H
#define DW_COMMON_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* "2026-11-23T00:00:00Z" into out (at least 21 bytes). */
void time_iso8601(int64_t t, char *out, size_t outsz);
/* "2026-11-23" into out (at least 11 bytes). */
void time_iso_day(int64_t t, char *out, size_t outsz);
/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]" with optional "Z" or
 * "+HH:MM"/"-HH:MM" (no zone = UTC). Returns 0 or ERR_FORMAT. */
int time_parse_iso8601(const char *s, int64_t *t);
/* Days since 1970-01-01 for a civil date, and back (proleptic Gregorian). */
int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
