/*
 * report/listing.h - the `dmarcwatch reports` listing: one line per report
 * (tab-separated) or a JSON array. Format documented in doc/cli.md;
 * scripts rely on it, so columns are only ever appended.
 */
#ifndef DW_REPORT_LISTING_H
#define DW_REPORT_LISTING_H

#include <stdio.h>

#include <stdint.h>

#include "../common/err.h"

enum listing_format { LISTING_TEXT = 0, LISTING_JSON = 1 };

struct listing_filter {
	const char *kind;          /* aggregate | tlsrpt | failure; NULL all */
	const char *domain;        /* policy domain; NULL all */
	int64_t since, until;      /* on begin, epoch s; 0 = open */
};

/* Opens the database read-only and writes every report matching f to
 * out. Returns 0, ERR_NOTFOUND (no database), ERR_IO or a store error
 * (err filled). *count (may be NULL) gets the number of reports. */
int listing_reports(const char *db_path, const struct listing_filter *f,
    enum listing_format fmt, FILE *out, unsigned long *count,
    struct err *err);

#endif
