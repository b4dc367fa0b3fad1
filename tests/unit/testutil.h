/*
 * tests/unit/testutil.h - helpers shared by the unit test programs.
 * Header-only (static functions): each test is one C file plus this.
 */
#ifndef DW_TESTS_TESTUTIL_H
#define DW_TESTS_TESTUTIL_H

#include <stdio.h>

#include "../../common/buf.h"

/* One check of a table-driven test: counted in the test's own `checks`;
 * a failure counted in `failures` and printed with its case id and the
 * condition. */
#define TU_CHECK(id, cond) do {                                        \
		checks++;                                              \
		if (!(cond)) {                                         \
			failures++;                                    \
			fprintf(stderr, "FAIL case %s: %s (line %d)\n",\
			    id, #cond, __LINE__);                      \
		}                                                      \
	} while (0)

/* Largest test input read whole (corpus files are far smaller). */
#define TU_FILE_BYTES (256u * 1024 * 1024)

/* Reads a whole file; NULL if it cannot be read or is over
 * TU_FILE_BYTES. The data is NUL-terminated (not counted in *len);
 * the caller frees it. */
static inline char *
tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[65536];
	size_t n;
	int rc = 0;

	if (f == NULL)
		return NULL;
	buf_init(&b, TU_FILE_BYTES);
	while (rc == 0 && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
		rc = buf_append(&b, tmp, n);
	if (ferror(f) || rc != 0) {
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	if (b.data == NULL && buf_append(&b, "", 0) != 0)
		return NULL;
	return (char *)buf_steal(&b, len);
}

#endif
