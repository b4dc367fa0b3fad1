/* cli/daterange.c - see daterange.h. */
#include <string.h>

#include "../common/err.h"
#include "../common/timefmt.h"
#include "daterange.h"

int
cli_parse_date(const char *s, int is_until, int64_t *t)
{
	int64_t v;

	if (s == NULL || time_parse_iso8601(s, &v) != 0)
		return ERR_FORMAT;
	/* A bare day names the whole day: --until 2026-11-30 includes the
	 * 30th, as an admin reading it would expect. */
	if (is_until && strlen(s) == 10)
		v += 86400;
	/* 0 means "open" to the report code; 1970-01-01 as a bound is
	 * the same as no bound. */
	*t = v > 0 ? v : 1;
	return 0;
}
