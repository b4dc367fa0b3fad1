/*
 * common/arena.h - an alloc-only memory pool, freed (or reset) in one call.
 *
 * Everything a parser produces for one report or one record comes from an
 * arena, so error paths cannot leak piecemeal. Allocations are 16-byte
 * aligned. A failed allocation returns NULL (the caller maps it to
 * ERR_NOMEM); the arena stays usable.
 */
#ifndef DW_COMMON_ARENA_H
#define DW_COMMON_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(void);
void arena_free(struct arena *a);
/* Releases every allocation; keeps up to 512 KiB of blocks for reuse. */
void arena_reset(struct arena *a);
/* 1 when an allocation from this arena failed since arena_new() (not
 * cleared by arena_reset()): a parser that treats a NULL string as "not
 * given" still learns that the input was not read whole. */
int arena_failed(const struct arena *a);

void *arena_alloc(struct arena *a, size_t size);       /* uninitialised */
void *arena_zalloc(struct arena *a, size_t size);      /* zeroed */
/* Copies len bytes and appends a NUL. */
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);
/* Grows an arena array: returns a copy of old (n elements of size) with
 * room for at least n+1; old stays valid (arena memory is never freed). */
void *arena_grow(struct arena *a, void *old, size_t n, size_t *alloc,
    size_t size);

#endif
