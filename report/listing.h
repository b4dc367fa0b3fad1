/*
 * report/listing.h - the `dmarcwatch reports` listing: one line per report
 * (tab-separated) or a JSON array. Format documented in doc/cli.md;
 * scripts rely on it, so columns are only ever appended.
 */
#ifndef DW_REPORT_LISTING_H
#define DW_REPORT_LISTING_H

#include <stdio.h>

#include "../common/err.h"
#include "../store/store.h"

enum listing_format { LISTING_TEXT = 0, LISTING_JSON = 1 };

/* Writes every report matching f to out. Returns 0, ERR_IO or a store
 * error (err filled). *count gets the number of reports written. */
int listing_reports(struct store *st, const struct store_report_filter *f,
    enum listing_format fmt, FILE *out, unsigned long *count,
    struct err *err);

#endif
