/*
 * cli/daterange.h - --since / --until of the report commands.
 */
#ifndef DW_CLI_DATERANGE_H
#define DW_CLI_DATERANGE_H

#include <stdint.h>

/* Parses a --since (is_until 0) or --until (1) argument: "YYYY-MM-DD"
 * (UTC; an --until day is included whole) or an ISO 8601 time (then
 * --until is exclusive). *t gets the epoch second that starts the range
 * or the first second after it. Returns 0 or ERR_FORMAT. */
int cli_parse_date(const char *s, int is_until, int64_t *t);

#endif
