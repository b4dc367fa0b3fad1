/* STUB */
#include "pipeline.h"
int pipeline_new(struct store *st, struct pipeline **out) { (void)st; *out = NULL; return ERR_NOMEM; }
void pipeline_free(struct pipeline *p) { (void)p; }
int pipeline_message(struct pipeline *p, const struct ingest_msg *m, int *outcome, struct err *err) { (void)p; (void)m; (void)outcome; return err_set(err, ERR_UNSUPPORTED, "stub"); }
int pipeline_run(struct pipeline *p, struct ingest_source *src, pipeline_progress_fn progress, void *progress_ctx, struct err *err) { (void)p; (void)src; (void)progress; (void)progress_ctx; return err_set(err, ERR_UNSUPPORTED, "stub"); }
const struct pipeline_stats *pipeline_stats(const struct pipeline *p) { (void)p; return NULL; }
