/* common/timefmt.c - see timefmt.h */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "strparse.h"
#include "timefmt.h"

/* Howard Hinnant's civil-from-days algorithms: exact, no time zone. */
int64_t
time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void
time_iso8601(int64_t t, char *out, size_t outsz)
{
	int64_t days = floordiv(t, 86400), y;
	int64_t secs = t - days * 86400;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	snprintf(out, outsz, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y,
	    m, d, (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
	    (unsigned)(secs % 60));
}

void
time_iso_day(int64_t t, char *out, size_t outsz)
{
	int64_t y;
	unsigned m, d;

	civil_from_days(floordiv(t, 86400), &y, &m, &d);
	snprintf(out, outsz, "%04lld-%02u-%02u", (long long)y, m, d);
}

static int
num(const char **p, unsigned width, uint64_t max, uint64_t *v)
{
	char tmp[8];
	const char *q = tmp;

	if (width >= sizeof tmp || strlen(*p) < width)
		return ERR_FORMAT;
	memcpy(tmp, *p, width);
	tmp[width] = '\0';
	if (sp_uint64(&q, v, max) != 0 || *q != '\0')
		return ERR_FORMAT;
	*p += width;
	return 0;
}

int
time_parse_iso8601(const char *s, int64_t *t)
{
	uint64_t y, mo, d, h = 0, mi = 0, se = 0, zh, zm;
	const char *p = s;
	int64_t off = 0;

	if (num(&p, 4, 9999, &y) || *p++ != '-' || num(&p, 2, 12, &mo) ||
	    *p++ != '-' || num(&p, 2, 31, &d) || mo == 0 || d == 0)
		return ERR_FORMAT;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (num(&p, 2, 23, &h) || *p++ != ':' || num(&p, 2, 59, &mi))
			return ERR_FORMAT;
		if (*p == ':') {
			p++;
			if (num(&p, 2, 60, &se))
				return ERR_FORMAT;
			if (*p == '.') /* fractional seconds: ignored */
				for (p++; *p >= '0' && *p <= '9'; p++)
					;
		}
		if (*p == 'Z' || *p == 'z')
			p++;
		else if (*p == '+' || *p == '-') {
			int neg = *p++ == '-';
			if (num(&p, 2, 23, &zh))
				return ERR_FORMAT;
			if (*p == ':')
				p++;
			if (num(&p, 2, 59, &zm))
				return ERR_FORMAT;
			off = (int64_t)(zh * 3600 + zm * 60);
			if (neg)
				off = -off;
		}
	}
	if (*p != '\0')
		return ERR_FORMAT;
	*t = time_days_from_civil((int64_t)y, (unsigned)mo, (unsigned)d) *
	    86400 + (int64_t)(h * 3600 + mi * 60 + se) - off;
	return 0;
}
