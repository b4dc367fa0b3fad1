/*
 * failmalloc.c - LD_PRELOAD shim for the allocation-failure run
 * (tests/tools/failmalloc_run.py; test-only, never installed).
 *
 * DW_FAILMALLOC=N (N >= 1): the Nth call of malloc/calloc/realloc in the
 * process returns NULL (errno ENOMEM), once; every other call goes to the
 * real allocator. DW_FAILMALLOC=0: count only. Either way the number of
 * calls is written to stderr at exit as "failmalloc: calls=C failed=F".
 * Unset: a plain pass-through.
 *
 * dlsym() may itself call calloc: until the real functions are known,
 * allocations come from a small static arena (never freed to libc).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void free(void *p);

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);

static long fail_at = -1;	/* -1 off, 0 count only, N fail call N */
static long calls;
static long failed;
static int resolving;

static _Alignas(max_align_t) unsigned char boot[4096];
static size_t boot_used;

static void *
boot_alloc(size_t n)
{
	size_t a = (n + 15) & ~(size_t)15;

	if (a < n || a > sizeof boot - boot_used)
		return NULL;
	boot_used += a;
	return memset(boot + boot_used - a, 0, a);
}

static int
is_boot(const void *p)
{
	return (const unsigned char *)p >= boot &&
	    (const unsigned char *)p < boot + sizeof boot;
}

static void
report(void)
{
	char line[96];
	int n;

	if (fail_at < 0)
		return;
	n = snprintf(line, sizeof line, "failmalloc: calls=%ld failed=%ld\n",
	    calls, failed);
	if (n > 0 && (size_t)n < sizeof line)
		(void)!write(2, line, (size_t)n);
}

static void
resolve(void)
{
	const char *e;
	char *end;
	long v;

	if (real_malloc != NULL || resolving)
		return;
	resolving = 1;
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	resolving = 0;
	e = getenv("DW_FAILMALLOC");
	if (e != NULL && *e != '\0') {
		errno = 0;
		v = strtol(e, &end, 10);
		if (errno == 0 && *end == '\0' && v >= 0) {
			fail_at = v;
			atexit(report);
		}
	}
}

/* 1 when this call is the one to fail. */
static int
should_fail(void)
{
	long n;

	if (fail_at < 0)
		return 0;
	n = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
	if (fail_at > 0 && n == fail_at) {
		__atomic_add_fetch(&failed, 1, __ATOMIC_RELAXED);
		return 1;
	}
	return 0;
}

void *
malloc(size_t n)
{
	resolve();
	if (real_malloc == NULL)
		return boot_alloc(n);
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_malloc(n);
}

void *
calloc(size_t n, size_t m)
{
	resolve();
	if (real_calloc == NULL) {
		if (m != 0 && n > (size_t)-1 / m)
			return NULL;
		return boot_alloc(n * m);
	}
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_calloc(n, m);
}

void *
realloc(void *p, size_t n)
{
	resolve();
	if (real_realloc == NULL || is_boot(p)) {
		void *q = real_malloc != NULL ? malloc(n) : boot_alloc(n);
		if (q != NULL && p != NULL)
			memcpy(q, p, n < (size_t)(boot + sizeof boot -
			    (unsigned char *)p) ? n : (size_t)(boot +
			    sizeof boot - (unsigned char *)p));
		return q;
	}
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_realloc(p, n);
}

void
free(void *p)
{
	if (p == NULL || is_boot(p))
		return;
	resolve();
	if (real_free != NULL)
		real_free(p);
}
