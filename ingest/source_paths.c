/* STUB */
#include "source.h"
int source_paths_new(const char *const *paths, size_t n, struct ingest_source **out) { (void)paths; (void)n; *out = NULL; return ERR_NOMEM; }
void source_paths_stats(const struct ingest_source *src, struct source_paths_stats *st) { (void)src; (void)st; }
void source_free(struct ingest_source *src) { (void)src; }
