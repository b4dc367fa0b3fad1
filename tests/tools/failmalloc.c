/*
 * failmalloc.c - LD_PRELOAD shim for the allocation-failure run
 * (tests/tools/failmalloc_run.py; test-only, never installed).
 *
 * DW_FAILMALLOC=N (N >= 1): the Nth call of malloc/calloc/realloc/
 * strdup/strndup/posix_memalign/aligned_alloc in the process fails once
 * (NULL or ENOMEM, errno ENOMEM); every other call goes to the real
 * allocator. DW_FAILMALLOC=0: count only. Either way the number of calls
 * is written to stderr at exit as "failmalloc: calls=C failed=F".
 * Unset: a plain pass-through. DW_FAILMALLOC_EXE=PATH (the real path of
 * a program): only a process running it counts and fails.
 *
 * DW_FAILMALLOC_TRACE=FILE (with DW_FAILMALLOC set): also writes, at
 * exit, the call stack of every counted call to FILE, so that the runner
 * can tell which allocation index N is (and which indices are the same
 * code path in every input):
 *   "M <id> <path>"            a loaded object
 *   "S <id> <m>:<hexoff> ..."  a distinct call stack, innermost first,
 *                              frames of this shim left out
 *   "C <stack id> ..."          the stack of each call, in call order;
 *                              "E" for a call before the shim's
 *                              constructor (start-up, not unwound)
 * Stacks come from backtrace(); the allocations the unwinder makes for
 * itself (loading libgcc_s once) are not counted, so N means the same
 * call with and without tracing.
 *
 * Works in front of AddressSanitizer (the sanitizer's allocator becomes
 * the "real" one; needs ASAN_OPTIONS=verify_asan_link_order=0) and under
 * valgrind (which replaces libc's allocator behind this one). strdup and
 * strndup are defined here because ASan intercepts them itself and would
 * otherwise bypass the count.
 *
 * dlsym() may itself call calloc: until the real functions are known,
 * allocations come from a small static arena (never freed to libc). The
 * environment may not be set up yet when the first allocation comes (in
 * front of ASan, whose start-up allocates): then the variables are read
 * from /proc/self/environ.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* dladdr, RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);
void free(void *p);
char *strdup(const char *s);
char *strndup(const char *s, size_t n);
int posix_memalign(void **p, size_t align, size_t n);
void *aligned_alloc(size_t align, size_t n);

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);

static long fail_at = -1;	/* -1 off, 0 count only, N fail call N */
static long calls;
static long failed;
static int resolving;
/* Inside the unwinder: not counted. initial-exec: no __tls_get_addr
 * call, which is not usable yet when ASan starts allocating. */
static __thread int in_hook __attribute__((tls_model("initial-exec")));

static _Alignas(max_align_t) unsigned char boot[4096];
static size_t boot_used;

/* Trace: distinct stacks (open addressing on a hash of the return
 * addresses) and the stack id of every call. */
#define TR_DEPTH 24
struct stack {
	uint64_t hash;
	int depth;
	void *pc[TR_DEPTH];
};
static char trace_path[4096];
static struct stack *stacks;	/* hash table, tr_cap slots (mmap) */
static size_t tr_cap, tr_used;
static unsigned *call_stack;	/* slot index per call (mmap) */
static long trace_lost;		/* calls whose stack was not kept */
/* Calls before this shim's constructor (libc, ASan and library start-up)
 * are not unwound: loading the unwinder then breaks ASan's start-up.
 * They are written as stack "E", the same in every run. */
#define EARLY 0xffffffffu
static int trace_ready;

__attribute__((constructor)) static void
trace_start(void)
{
	trace_ready = 1;
}

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

/* Bounded copy (no libc formatting: this may run while ASan starts). */
static void
copy_str(char *out, size_t outsz, const char *s)
{
	size_t n = strnlen(s, outsz - 1);

	memcpy(out, s, n);
	out[n] = '\0';
}

/* Value of NAME from /proc/self/environ into out (empty if unset).
 * Raw system calls here and in target_process(): ASan's interceptors of
 * open/read/readlink are not usable yet while it starts. */
static void
proc_env(const char *name, char *out, size_t outsz)
{
	static char env[65536];
	size_t len = 0, nl = strlen(name), i;
	ssize_t r;
	int fd;

	out[0] = '\0';
	fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/environ",
	    O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while (len < sizeof env - 1 && (r = (ssize_t)syscall(SYS_read, fd,
	    env + len, sizeof env - 1 - len)) > 0)
		len += (size_t)r;
	syscall(SYS_close, fd);
	env[len] = '\0';
	for (i = 0; i < len; i += strlen(env + i) + 1) {
		if (memcmp(env + i, name, nl) == 0 && env[i + nl] == '=') {
			copy_str(out, outsz, env + i + nl + 1);
			return;
		}
	}
}

static void
read_env(const char *name, char *out, size_t outsz)
{
	const char *e = getenv(name);

	if (e != NULL)
		copy_str(out, outsz, e);
	else
		proc_env(name, out, outsz);
}

/* DW_FAILMALLOC_EXE (optional): only the process running that program
 * counts and fails; others (a shell or valgrind's launcher in front of
 * it, inheriting LD_PRELOAD) pass through. Under valgrind /proc/self/exe
 * is the client's program. */
static int
target_process(void)
{
	static char want[4096], have[4096];
	ssize_t n;

	read_env("DW_FAILMALLOC_EXE", want, sizeof want);
	if (want[0] == '\0')
		return 1;
	n = (ssize_t)syscall(SYS_readlink, "/proc/self/exe", have,
	    sizeof have - 1);
	if (n < 0)
		return 0;
	have[n] = '\0';
	return strcmp(have, want) == 0;
}

static void
resolve(void)
{
	char e[64];
	char *end;
	long v;

	if (real_malloc != NULL || resolving)
		return;
	resolving = 1;
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(
	    RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT,
	    "aligned_alloc");
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	resolving = 0;
	if (!target_process())
		return;
	read_env("DW_FAILMALLOC", e, sizeof e);
	/* By hand: ASan's strtol interceptor aborts while ASan starts. */
	for (v = 0, end = e; *end >= '0' && *end <= '9' &&
	    v < 100000000000L; end++)
		v = v * 10 + (*end - '0');
	if (end != e && *end == '\0')
		fail_at = v;
	if (fail_at >= 0)
		read_env("DW_FAILMALLOC_TRACE", trace_path, sizeof trace_path);
}

static void
out_str(int fd, const char *s)
{
	size_t n = strlen(s);
	ssize_t w;

	while (n > 0 && (w = write(fd, s, n)) > 0) {
		s += w;
		n -= (size_t)w;
	}
}

/* Object table for the trace file: the distinct dli_fbase values. */
#define TR_OBJS 256
static const void *obj_base[TR_OBJS];
static char obj_name[TR_OBJS][256];
static int n_obj;

static int
obj_of(const void *pc, uintptr_t *off)
{
	Dl_info di;
	int i;

	if (dladdr(pc, &di) == 0 || di.dli_fbase == NULL) {
		*off = (uintptr_t)pc;
		return -1;
	}
	*off = (uintptr_t)pc - (uintptr_t)di.dli_fbase;
	for (i = 0; i < n_obj; i++)
		if (obj_base[i] == di.dli_fbase)
			return i;
	if (n_obj == TR_OBJS)
		return -1;
	obj_base[n_obj] = di.dli_fbase;
	snprintf(obj_name[n_obj], sizeof obj_name[0], "%s",
	    di.dli_fname != NULL ? di.dli_fname : "?");
	return n_obj++;
}

static void
write_trace(void)
{
	static char line[TR_DEPTH * 40 + 64];
	size_t i, k, len, ncalls = (size_t)calls;
	uintptr_t off;
	int fd, d, m;

	fd = open(trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	/* Stacks first (objects are numbered as they are met), then the
	 * object table, then the calls: the reader takes them in any order. */
	for (i = 0; i < tr_cap; i++) {
		if (stacks[i].depth == 0)
			continue;
		len = (size_t)snprintf(line, sizeof line, "S %zu", i);
		for (d = 0; d < stacks[i].depth; d++) {
			m = obj_of(stacks[i].pc[d], &off);
			len += (size_t)snprintf(line + len, sizeof line - len,
			    " %d:%lx", m, (unsigned long)off);
		}
		snprintf(line + len, sizeof line - len, "\n");
		out_str(fd, line);
	}
	for (m = 0; m < n_obj; m++) {
		snprintf(line, sizeof line, "M %d %s\n", m, obj_name[m]);
		out_str(fd, line);
	}
	if (trace_lost != 0) {
		/* The runner refuses a trace with holes. */
		snprintf(line, sizeof line, "L %ld\n", trace_lost);
		out_str(fd, line);
	} else {
		for (k = 0; k < ncalls; k += 16) {
			len = (size_t)snprintf(line, sizeof line, "C");
			for (i = k; i < k + 16 && i < ncalls; i++)
				len += (size_t)(call_stack[i] == EARLY ?
				    snprintf(line + len, sizeof line - len,
				    " E") : snprintf(line + len,
				    sizeof line - len, " %u", call_stack[i]));
			snprintf(line + len, sizeof line - len, "\n");
			out_str(fd, line);
		}
	}
	close(fd);
}

__attribute__((destructor)) static void
report(void)
{
	char line[96];
	int n;

	if (fail_at < 0)
		return;
	in_hook = 1;
	if (trace_path[0] != '\0' && stacks != NULL)
		write_trace();
	n = snprintf(line, sizeof line, "failmalloc: calls=%ld failed=%ld\n",
	    calls, failed);
	if (n > 0 && (size_t)n < sizeof line)
		out_str(2, line);
}

/* Room for call n (1-based) and for one more distinct stack. The tables
 * are mapped once, untouched pages cost nothing, and never come from an
 * allocator (ASan's cannot serve them while it starts). The stack table
 * is never rehashed (calls hold slot numbers): room for 32768 distinct
 * stacks and 64 M calls, far more than one import makes. */
#define TR_SLOTS ((size_t)1 << 16)
#define TR_CALLS ((size_t)1 << 26)
static int
grow_tables(long n)
{
	void *p;

	if (call_stack == NULL) {
		p = mmap(NULL, TR_CALLS * sizeof *call_stack +
		    TR_SLOTS * sizeof *stacks, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return -1;
		call_stack = p;
		stacks = (struct stack *)(call_stack + TR_CALLS);
		tr_cap = TR_SLOTS;
	}
	if ((size_t)n > TR_CALLS || tr_used * 2 >= tr_cap)
		return -1;
	return 0;
}

/* Records the stack of call number n (1-based). */
static void
trace_call(long n)
{
	void *pc[TR_DEPTH + 8];
	Dl_info self;
	int got, d, first = 0;
	uint64_t h = 1469598103934665603ull;
	size_t slot;
	struct stack *s;

	in_hook = 1;
	if (grow_tables(n) != 0) {
		trace_lost++;
		goto out;
	}
	got = backtrace(pc, TR_DEPTH + 8);
	/* Leave out the frames up to the last one inside this shim (ASan's
	 * backtrace interceptor adds its own on top). */
	if (dladdr((void *)trace_call, &self) != 0) {
		Dl_info di;
		for (d = 0; d < got && d < 8; d++)
			if (dladdr(pc[d], &di) != 0 &&
			    di.dli_fbase == self.dli_fbase)
				first = d + 1;
	}
	if (got - first > TR_DEPTH)
		got = first + TR_DEPTH;
	for (d = first; d < got; d++) {
		h ^= (uint64_t)(uintptr_t)pc[d];
		h *= 1099511628211ull;
	}
	h |= 1;
	slot = (size_t)(h & (tr_cap - 1));
	while (stacks[slot].depth != 0 && stacks[slot].hash != h)
		slot = (slot + 1) & (tr_cap - 1);
	s = &stacks[slot];
	if (s->depth == 0) {
		s->hash = h;
		s->depth = got - first > 0 ? got - first : 1;
		memcpy(s->pc, pc + first, (size_t)(got - first) * sizeof *pc);
		tr_used++;
	}
	call_stack[n - 1] = (unsigned)slot;
out:
	in_hook = 0;
}

/* 1 when this call is the one to fail. */
static int
should_fail(void)
{
	long n;

	if (fail_at < 0 || in_hook)
		return 0;
	n = __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
	if (trace_path[0] != '\0') {
		if (trace_ready)
			trace_call(n);
		else if (grow_tables(n) == 0)
			call_stack[n - 1] = EARLY;
		else
			trace_lost++;
	}
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

char *
strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	return p != NULL ? memcpy(p, s, n) : NULL;
}

char *
strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *p = malloc(n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int
posix_memalign(void **p, size_t align, size_t n)
{
	resolve();
	if (real_posix_memalign == NULL)
		return ENOMEM;
	if (should_fail())
		return ENOMEM;
	return real_posix_memalign(p, align, n);
}

void *
aligned_alloc(size_t align, size_t n)
{
	resolve();
	if (real_aligned_alloc == NULL)
		return NULL;
	if (should_fail()) {
		errno = ENOMEM;
		return NULL;
	}
	return real_aligned_alloc(align, n);
}
