/*
 * report/strmap.h - a hash map from byte strings (keys may hold any byte,
 * NUL included: callers build composite keys from a fixed-width
 * index and a name) to a size_t,
 * for summing the rollup rows in one pass (report/overview.c). Keys are
 * copied into an arena; nothing is freed before strmap_free().
 */
#ifndef DW_REPORT_STRMAP_H
#define DW_REPORT_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_new(void);
void strmap_free(struct strmap *m);
/*
 * Finds key (len bytes). When absent, adds it with value next and sets
 * *created. *value gets the value. Returns 0 or ERR_NOMEM.
 */
int strmap_get(struct strmap *m, const void *key, size_t len, size_t next,
    size_t *value, int *created);

#endif
