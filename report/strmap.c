/* report/strmap.c - see strmap.h. Open addressing, linear probing, FNV-1a;
 * grows at 1/2 load so probes stay short. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/arena.h"
#include "../common/err.h"
#include "strmap.h"

struct slot {
	const char *key;           /* NULL = empty */
	size_t len;
	uint64_t hash;
	size_t value;
};

struct strmap {
	struct arena *keys;
	struct slot *slots;
	size_t cap, n;             /* cap is a power of two */
};

static uint64_t
fnv1a(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

struct strmap *
strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof *m);

	if (m == NULL)
		return NULL;
	m->cap = 256;
	m->slots = calloc(m->cap, sizeof *m->slots);
	m->keys = arena_new();
	if (m->slots == NULL || m->keys == NULL) {
		strmap_free(m);
		return NULL;
	}
	return m;
}

void
strmap_free(struct strmap *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	arena_free(m->keys);
	free(m);
}

static int
grow(struct strmap *m)
{
	size_t nc = m->cap * 2;
	struct slot *ns = calloc(nc, sizeof *ns);

	if (ns == NULL)
		return ERR_NOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (m->slots[i].key == NULL)
			continue;
		for (j = m->slots[i].hash & (nc - 1); ns[j].key != NULL;
		    j = (j + 1) & (nc - 1))
			;
		ns[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->cap = nc;
	return 0;
}

int
strmap_get(struct strmap *m, const void *key, size_t len, size_t next,
    size_t *value, int *created)
{
	uint64_t h = fnv1a(key, len);
	size_t i;
	char *k;

	*created = 0;
	for (i = h & (m->cap - 1); m->slots[i].key != NULL;
	    i = (i + 1) & (m->cap - 1)) {
		const struct slot *s = &m->slots[i];

		if (s->hash == h && s->len == len &&
		    memcmp(s->key, key, len) == 0) {
			*value = s->value;
			return 0;
		}
	}
	if ((k = arena_alloc(m->keys, len ? len : 1)) == NULL)
		return ERR_NOMEM;
	memcpy(k, key, len);
	m->slots[i].key = k;
	m->slots[i].len = len;
	m->slots[i].hash = h;
	m->slots[i].value = next;
	m->n++;
	*value = next;
	*created = 1;
	if (m->n * 2 > m->cap)
		return grow(m);
	return 0;
}
