/* STUB */
#include "listing.h"
int listing_reports(struct store *st, const struct store_report_filter *f, enum listing_format fmt, FILE *out, unsigned long *count, struct err *err) { (void)st; (void)f; (void)fmt; (void)out; (void)count; return err_set(err, ERR_UNSUPPORTED, "stub"); }
