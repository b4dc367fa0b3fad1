/*
 * report/overview.h - the overview figures per policy domain, read from
 * the daily rollups and shared by `report html` (index.html, tls.html)
 * and `summary`, so the terminal and the pages always agree.
 */
#ifndef DW_REPORT_OVERVIEW_H
#define DW_REPORT_OVERVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"
#include "../store/store.h"

struct ov_day {
	char day[11];              /* YYYY-MM-DD, UTC */
	uint64_t messages, pass, spf, dkim, quarantine, reject;
};

struct ov_reporter {
	char *name;                /* agg_daily.reporter (org_name), hostile */
	uint64_t messages, pass, days;
};

struct ov_domain {
	char *domain;              /* policy domain, hostile; "" when absent */
	uint64_t messages, pass, spf, dkim, quarantine, reject;
	struct ov_day *days;       /* ascending */
	size_t n_days;
	struct ov_reporter *reporters;   /* by messages, descending */
	size_t n_reporters;
};

struct tls_day {
	char day[11];
	uint64_t ok, failed;
};

struct tls_domain {
	char *domain;
	uint64_t ok, failed;
	struct tls_day *days;
	size_t n_days;
};

struct overview {
	struct ov_domain *doms;    /* by messages, descending, then name */
	size_t n_doms;
	struct tls_domain *tls;    /* by sessions, descending */
	size_t n_tls;
	/* SQ_RANGE_COUNTS */
	uint64_t n_aggregate, n_tlsrpt, n_failure, n_rejected;
};

/* Reads everything (whole lists: the caller caps what it shows).
 * Returns 0 or an ERR_* (err filled). ov is zeroed first. */
int ov_load(struct store *st, const struct store_query_filter *f,
    struct overview *ov, struct err *err);
void ov_free(struct overview *ov);

#endif
