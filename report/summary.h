/*
 * report/summary.h - `dmarcwatch summary`: the overview figures of the
 * HTML pages (report/overview.h) in the terminal, as aligned plain text
 * or JSON. Format documented in doc/cli.md "summary".
 */
#ifndef DW_REPORT_SUMMARY_H
#define DW_REPORT_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/err.h"

struct summary_opts {
	int json;
	int64_t since, until;      /* epoch s, [since, until); 0 = open */
	const char *domain;        /* NULL = all */
	/* [sender] ips (canonical) and domains (lower case): with both set,
	 * the summary counts the foreign senders of our domains. */
	const char *const *sender_ips;
	size_t n_sender_ips;
	const char *const *sender_domains;
	size_t n_sender_domains;
};

/* Opens db_path read-only and prints the summary to out. Returns 0,
 * ERR_NOTFOUND (no database), ERR_IO or a store error (err filled). */
int summary_print(const char *db_path, const struct summary_opts *o,
    FILE *out, struct err *err);

#endif
