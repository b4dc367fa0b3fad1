/* common/reader.c - see reader.h */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "reader.h"

/* Give pages back every MiB: often enough to keep RSS small (the import
 * target is 32 MiB in all), rarely enough that the syscall costs nothing. */
#define DROP_STEP (1u * 1024 * 1024)

void
mem_drop_behind(const void *data, size_t from, size_t upto)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t base = (uintptr_t)data, mask, start, end;

	if (pg <= 0 || base % (uintptr_t)pg != 0 || upto <= from)
		return;
	mask = ~((uintptr_t)pg - 1);
	start = (base + from) & mask;
	end = (base + upto) & mask;
	if (end > start)
		(void)madvise((void *)start, end - start, MADV_DONTNEED);
}

static int
mem_read(void *ctx, unsigned char *buf, size_t cap, size_t *got)
{
	struct reader_mem *m = ctx;
	size_t n = m->len - m->pos;

	if (n > cap)
		n = cap;
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	*got = n;
	if (m->drop_behind && m->pos - m->dropped >= DROP_STEP) {
		mem_drop_behind(m->data, m->dropped, m->pos);
		m->dropped = m->pos;
	}
	return 0;
}

void
reader_mem_init(struct reader_mem *m, const void *data, size_t len,
    int drop_behind, struct reader *out)
{
	m->data = data;
	m->len = len;
	m->pos = 0;
	m->dropped = 0;
	m->drop_behind = drop_behind;
	out->read = mem_read;
	out->ctx = m;
}
