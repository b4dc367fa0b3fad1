/* common/strparse.c - see strparse.h */
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "strparse.h"

int
sp_uint64(const char **p, uint64_t *v, uint64_t max)
{
	const char *s = *p;
	uint64_t n = 0;

	if (*s < '0' || *s > '9')
		return ERR_FORMAT;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (n > (max - d) / 10)
			return ERR_TOO_LARGE;
		n = n * 10 + d;
	}
	*v = n;
	*p = s;
	return 0;
}

int
sp_int64(const char **p, int64_t *v, int64_t max)
{
	const char *s = *p;
	int neg = 0, rc;
	uint64_t u;

	if (max < 0)
		return ERR_INVAL;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if ((rc = sp_uint64(&s, &u, (uint64_t)max)) != 0)
		return rc;
	*v = neg ? -(int64_t)u : (int64_t)u;
	*p = s;
	return 0;
}

/* Copies into a small NUL-terminated scratch so callers can pass slices. */
static int
slice(const char *s, size_t len, char *tmp, size_t tmpsz)
{
	if (len == 0)
		return ERR_FORMAT;
	if (len >= tmpsz)
		return ERR_TOO_LARGE;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (strlen(tmp) != len)
		return ERR_FORMAT; /* embedded NUL */
	return 0;
}

int
sp_uint64_all(const char *s, size_t len, uint64_t *v, uint64_t max)
{
	char tmp[32];
	const char *p = tmp;
	int rc;

	if ((rc = slice(s, len, tmp, sizeof tmp)) != 0)
		return rc;
	if ((rc = sp_uint64(&p, v, max)) != 0)
		return rc;
	return *p == '\0' ? 0 : ERR_FORMAT;
}

int
sp_int64_all(const char *s, size_t len, int64_t *v, int64_t max)
{
	char tmp[32];
	const char *p = tmp;
	int rc;

	if ((rc = slice(s, len, tmp, sizeof tmp)) != 0)
		return rc;
	if ((rc = sp_int64(&p, v, max)) != 0)
		return rc;
	return *p == '\0' ? 0 : ERR_FORMAT;
}

void
sp_skip_blanks(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

int
sp_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int
sp_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int d = lower((unsigned char)*a) - lower((unsigned char)*b);
		if (d != 0 || *a == '\0')
			return d;
	}
}

int
sp_ncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; a++, b++, n--) {
		int d = lower((unsigned char)*a) - lower((unsigned char)*b);
		if (d != 0 || *a == '\0')
			return d;
	}
	return 0;
}

char *
sp_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)lower((unsigned char)*p);
	return s;
}

char *
sp_trim(char *s)
{
	size_t len = strlen(s), start = 0;

	while (len > 0 && sp_is_space((unsigned char)s[len - 1]))
		len--;
	while (start < len && sp_is_space((unsigned char)s[start]))
		start++;
	if (start > 0)
		memmove(s, s + start, len - start);
	s[len - start] = '\0';
	return s;
}

int
sp_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
