/* common/arena.c - see arena.h */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_BLOCK 8192
#define ALIGN 16
/*
 * Standard blocks a reset keeps for reuse (512 KiB): more than a relay
 * batch (ingest/relay.c, 256 KiB of strings), which an arena is reset
 * for every 1024 records. Freeing them on every reset made glibc trim
 * its heap and fault fresh pages back in each time (an madvise with a
 * TLB shootdown across threads, 5 per 1000 records); beyond this many
 * blocks memory still goes back.
 */
#define ARENA_KEEP_BLOCKS 64

struct block {
	struct block *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct block *head;
	struct block *spare;      /* standard blocks kept by a reset */
	size_t n_spare;
	int failed;               /* an allocation failed (arena_failed) */
};

struct arena *
arena_new(void)
{
	return calloc(1, sizeof(struct arena));
}

void
arena_free(struct arena *a)
{
	struct block *b, *n;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = n) {
		n = b->next;
		free(b);
	}
	for (b = a->spare; b != NULL; b = n) {
		n = b->next;
		free(b);
	}
	free(a);
}

void
arena_reset(struct arena *a)
{
	struct block *b, *n;

	for (b = a->head; b != NULL; b = n) {
		n = b->next;
		if (b->size == ARENA_BLOCK && a->n_spare < ARENA_KEEP_BLOCKS) {
			b->used = 0;
			b->next = a->spare;
			a->spare = b;
			a->n_spare++;
		} else
			free(b);
	}
	a->head = NULL;
}

int
arena_failed(const struct arena *a)
{
	return a != NULL && a->failed;
}

void *
arena_alloc(struct arena *a, size_t size)
{
	struct block *b = a->head;
	size_t need;

	if (size > SIZE_MAX - 2 * ALIGN - sizeof(struct block)) {
		a->failed = 1;
		return NULL;
	}
	need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (need == 0)
		need = ALIGN;
	if (b == NULL || b->size - b->used < need) {
		size_t bsz = need > ARENA_BLOCK ? need : ARENA_BLOCK;
		if (bsz == ARENA_BLOCK && a->spare != NULL) {
			b = a->spare;
			a->spare = b->next;
			a->n_spare--;
		} else if ((b = malloc(sizeof *b + bsz)) == NULL) {
			a->failed = 1;
			return NULL;
		}
		b->size = bsz;
		b->used = 0;
		if (need > ARENA_BLOCK && a->head != NULL) {
			/* big one-off block goes behind the current one */
			b->next = a->head->next;
			a->head->next = b;
			b->used = need;
			return b->data;
		}
		b->next = a->head;
		a->head = b;
	}
	b->used += need;
	return b->data + b->used - need;
}

void *
arena_zalloc(struct arena *a, size_t size)
{
	void *p = arena_alloc(a, size);

	if (p != NULL)
		memset(p, 0, size);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		return NULL;
	p = arena_alloc(a, len + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void *
arena_grow(struct arena *a, void *old, size_t n, size_t *alloc, size_t size)
{
	size_t na;
	void *p;

	if (n < *alloc)
		return old;
	na = *alloc ? *alloc * 2 : 4;
	if (na > SIZE_MAX / size)
		return NULL;
	p = arena_alloc(a, na * size);
	if (p == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, old, n * size);
	*alloc = na;
	return p;
}
