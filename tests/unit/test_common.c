/*
 * tests/unit/test_common.c - common/: strparse, buf, arena, timefmt, err.
 * Numbered, table-driven cases; prints each failure, exits non-zero.
 */
#include <stdio.h>
#include <string.h>

#include "../../common/arena.h"
#include "../../common/buf.h"
#include "../../common/err.h"
#include "../../common/reader.h"
#include "../../common/strparse.h"
#include "../../common/timefmt.h"
#include "testutil.h"

static int failures, checks;

static const struct {
	const char *id, *in;
	uint64_t max;
	int rc;
	uint64_t v;
} u64_cases[] = {
	{ "u01", "0", 10, 0, 0 },
	{ "u02", "1559606399", UINT64_MAX, 0, 1559606399ull },
	{ "u03", "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
	{ "u04", "18446744073709551616", UINT64_MAX, ERR_TOO_LARGE, 0 },
	{ "u05", "99999999999999999999999", UINT64_MAX, ERR_TOO_LARGE, 0 },
	{ "u06", "101", 100, ERR_TOO_LARGE, 0 },
	{ "u07", "", 100, ERR_FORMAT, 0 },
	{ "u08", "12a", 1000, ERR_FORMAT, 0 },
	{ "u09", " 12", 1000, ERR_FORMAT, 0 },
	{ "u10", "-1", 1000, ERR_FORMAT, 0 },
};

static const struct {
	const char *id, *in;
	int rc;
	int64_t t;
} time_cases[] = {
	{ "t01", "1970-01-01", 0, 0 },
	{ "t02", "2020-01-07T00:00:00Z", 0, 1578355200 },
	{ "t03", "2020-01-07T23:59:59Z", 0, 1578441599 },
	{ "t04", "2023-02-20T00:00:00", 0, 1676851200 },    /* no zone */
	{ "t05", "2023-02-20T02:00:00+02:00", 0, 1676851200 },
	{ "t06", "2024-02-29T12:00:00.123Z", 0, 1709208000 },
	{ "t07", "2024-13-01", ERR_FORMAT, 0 },
	{ "t08", "2024-01-01T25:00:00Z", ERR_FORMAT, 0 },
	{ "t09", "2024-01-01Tjunk", ERR_FORMAT, 0 },
	{ "t10", "20240101", ERR_FORMAT, 0 },
};

int
main(void)
{
	/* strparse */
	for (size_t i = 0; i < sizeof u64_cases / sizeof u64_cases[0]; i++) {
		uint64_t v = 0;
		const char *s = u64_cases[i].in;
		int rc = sp_uint64_all(s, strlen(s), &v, u64_cases[i].max);
		TU_CHECK(u64_cases[i].id, rc == u64_cases[i].rc);
		if (rc == 0)
			TU_CHECK(u64_cases[i].id, v == u64_cases[i].v);
	}
	{
		int64_t v;
		TU_CHECK("i01", sp_int64_all("-42", 3, &v, 100) == 0 && v == -42);
		TU_CHECK("i02", sp_int64_all("+7", 2, &v, 100) == 0 && v == 7);
		TU_CHECK("i03", sp_int64_all("-101", 4, &v, 100) ==
		    ERR_TOO_LARGE);
		TU_CHECK("i04", sp_int64_all("1\0002", 3, &v, 100) == ERR_FORMAT);
	}
	{
		char s1[] = "  \tPass \r\n", s2[] = "", s3[] = "   ";
		TU_CHECK("s01", strcmp(sp_lower(sp_trim(s1)), "pass") == 0);
		TU_CHECK("s02", strcmp(sp_trim(s2), "") == 0);
		TU_CHECK("s03", strcmp(sp_trim(s3), "") == 0);
		TU_CHECK("s04", sp_casecmp("FeedBack", "feedback") == 0);
		TU_CHECK("s05", sp_ncasecmp("Content-Type: x", "content-type",
		    12) == 0);
	}
	/* buf: the cap is exact and distinct from out-of-memory */
	{
		struct buf b;
		buf_init(&b, 8);
		TU_CHECK("b01", buf_append(&b, "12345678", 8) == 0);
		TU_CHECK("b02", buf_append(&b, "9", 1) == ERR_TOO_LARGE);
		TU_CHECK("b03", b.len == 8 && memcmp(b.data, "12345678", 8) == 0);
		TU_CHECK("b04", b.data[8] == '\0');
		buf_reset(&b);
		TU_CHECK("b05", buf_printf(&b, "%d-%s", 42, "x") == 0 &&
		    strcmp((char *)b.data, "42-x") == 0);
		TU_CHECK("b06", buf_printf(&b, "%s", "too long!") ==
		    ERR_TOO_LARGE);
		buf_free(&b);
		TU_CHECK("b07", b.data == NULL && b.len == 0 && b.cap == 8);
	}
	/* arena */
	{
		struct arena *a = arena_new();
		char *s;
		int *arr = NULL;
		size_t alloc = 0;
		TU_CHECK("a01", a != NULL);
		s = arena_strndup(a, "hello world", 5);
		TU_CHECK("a02", s != NULL && strcmp(s, "hello") == 0);
		for (size_t i = 0; i < 1000; i++) {
			arr = arena_grow(a, arr, i, &alloc, sizeof *arr);
			if (arr == NULL)
				break;
			arr[i] = (int)i;
		}
		TU_CHECK("a03", arr != NULL && arr[999] == 999 && arr[0] == 0);
		TU_CHECK("a04", arena_alloc(a, 100000) != NULL); /* big block */
		TU_CHECK("a05", ((uintptr_t)arena_alloc(a, 3) % 16) == 0);
		TU_CHECK("a07", !arena_failed(a));
		arena_reset(a);
		s = arena_strdup(a, "again");
		TU_CHECK("a06", s != NULL && strcmp(s, "again") == 0);
		/* a failed allocation is remembered, across resets: parsers
		 * ask at the end instead of checking every optional string */
		TU_CHECK("a08", arena_alloc(a, SIZE_MAX - 8) == NULL &&
		    arena_failed(a));
		TU_CHECK("a09", arena_strdup(a, "still usable") != NULL);
		arena_reset(a);
		TU_CHECK("a10", arena_failed(a) && !arena_failed(NULL));
		arena_free(a);
	}
	/* arena reuse: after a reset the same blocks serve again (a relay
	 * batch resets its arena every 1024 records; fresh blocks each time
	 * made glibc trim and re-fault its heap), up to 512 KiB of them */
	{
		enum { N = 100, SZ = 4000 };   /* two per 8 KiB block */
		static char *old[N];
		struct arena *a = arena_new();
		int reused = 0, ok = a != NULL;

		for (int i = 0; ok && i < N; i++)
			ok = (old[i] = arena_alloc(a, SZ)) != NULL;
		if (ok)
			arena_reset(a);
		for (int i = 0; ok && i < N; i++) {
			char *p = arena_alloc(a, SZ);
			ok = p != NULL;
			for (int k = 0; ok && k < N; k++)
				if (p == old[k]) {
					reused++;
					break;
				}
			if (ok)
				memset(p, 'x', SZ);
		}
		TU_CHECK("a07", ok && reused == N);
		/* past the kept 64 blocks (128 allocations) memory goes back:
		 * still usable */
		for (int i = 0; ok && i < 300; i++)
			ok = arena_alloc(a, SZ) != NULL;
		if (ok)
			arena_reset(a);
		TU_CHECK("a08", ok && arena_strdup(a, "after") != NULL);
		arena_free(a);
	}
	/* timefmt */
	for (size_t i = 0; i < sizeof time_cases / sizeof time_cases[0];
	    i++) {
		int64_t t = -1;
		int rc = time_parse_iso8601(time_cases[i].in, &t);
		TU_CHECK(time_cases[i].id, rc == time_cases[i].rc);
		if (rc == 0)
			TU_CHECK(time_cases[i].id, t == time_cases[i].t);
	}
	{
		char b[32];
		time_iso8601(1578441599, b, sizeof b);
		TU_CHECK("f01", strcmp(b, "2020-01-07T23:59:59Z") == 0);
		time_iso8601(-1, b, sizeof b);
		TU_CHECK("f02", strcmp(b, "1969-12-31T23:59:59Z") == 0);
		time_iso_day(1709208000, b, sizeof b);
		TU_CHECK("f03", strcmp(b, "2024-02-29") == 0);
	}
	/* err */
	{
		struct err e;
		err_clear(&e);
		TU_CHECK("e01", err_set(&e, ERR_FORMAT, "bad\nline %d", 3) ==
		    ERR_FORMAT);
		TU_CHECK("e02", strcmp(e.msg, "bad?line 3") == 0); /* no LF */
		err_where(&e, "byte %d", 10);
		err_where_prefix(&e, "file.xml");
		TU_CHECK("e03", strcmp(e.where, "file.xml: byte 10") == 0);
		TU_CHECK("e04", strcmp(err_token(ERR_TOO_LARGE), "too_large") ==
		    0);
		TU_CHECK("e05", err_is_transient(ERR_BUSY) &&
		    !err_is_transient(ERR_FORMAT));
	}
	/* reader_mem */
	{
		struct reader_mem m;
		struct reader r;
		unsigned char out[4];
		size_t got;
		reader_mem_init(&m, "abcdef", 6, 0, &r);
		TU_CHECK("r01", r.read(r.ctx, out, 4, &got) == 0 && got == 4 &&
		    memcmp(out, "abcd", 4) == 0);
		TU_CHECK("r02", r.read(r.ctx, out, 4, &got) == 0 && got == 2);
		TU_CHECK("r03", r.read(r.ctx, out, 4, &got) == 0 && got == 0);
	}
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
