/* STUB - replaced by the store work. */
#include <sqlite3.h>
#include "store.h"
int store_open(const char *path, int flags, struct store **out, struct err *err) { (void)path; (void)flags; *out = NULL; return err_set(err, ERR_DB, "stub"); }
void store_free(struct store *s) { (void)s; }
int store_schema_version(void) { return 0; }
int store_tx_begin(struct store *s, struct err *err) { (void)s; return err_set(err, ERR_DB, "stub"); }
int store_tx_commit(struct store *s, struct err *err) { (void)s; return err_set(err, ERR_DB, "stub"); }
void store_tx_rollback(struct store *s) { (void)s; }
int store_savepoint(struct store *s, struct err *err) { (void)s; return err_set(err, ERR_DB, "stub"); }
int store_savepoint_release(struct store *s, struct err *err) { (void)s; return err_set(err, ERR_DB, "stub"); }
void store_savepoint_rollback(struct store *s) { (void)s; }
int store_message_find(struct store *s, const char *sha256, int64_t *id, int *outcome, struct err *err) { (void)s; (void)sha256; (void)id; (void)outcome; return err_set(err, ERR_DB, "stub"); }
int store_message_add(struct store *s, const struct store_message *m, int64_t *id, struct err *err) { (void)s; (void)m; (void)id; return err_set(err, ERR_DB, "stub"); }
int store_message_set_outcome(struct store *s, int64_t id, int outcome, struct err *err) { (void)s; (void)id; (void)outcome; return err_set(err, ERR_DB, "stub"); }
int store_message_add_origin(struct store *s, int64_t id, const char *origin, int64_t seen, struct err *err) { (void)s; (void)id; (void)origin; (void)seen; return err_set(err, ERR_DB, "stub"); }
int store_report_begin(struct store *s, int64_t message_id, const struct report *r, int64_t *report_id, struct err *err) { (void)s; (void)message_id; (void)r; (void)report_id; return err_set(err, ERR_DB, "stub"); }
int store_report_record(struct store *s, int64_t report_id, const struct report *r, const struct agg_record *rec, struct err *err) { (void)s; (void)report_id; (void)r; (void)rec; return err_set(err, ERR_DB, "stub"); }
int store_report_end(struct store *s, int64_t report_id, const struct report *r, struct err *err) { (void)s; (void)report_id; (void)r; return err_set(err, ERR_DB, "stub"); }
int store_rejected_add(struct store *s, const struct store_rejected *rj, struct err *err) { (void)s; (void)rj; return err_set(err, ERR_DB, "stub"); }
int store_reports_each(struct store *s, const struct store_report_filter *f, int (*cb)(void *ctx, const struct store_report_row *row), void *ctx, struct err *err) { (void)s; (void)f; (void)cb; (void)ctx; return err_set(err, ERR_DB, "stub"); }
int store_counts(struct store *s, struct store_counts *c, struct err *err) { (void)s; (void)c; return err_set(err, ERR_DB, "stub"); }
