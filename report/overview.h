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

/* One sending IP over the range (all its header_from, reporters and
 * policy domains). */
struct ov_source {
	char *ip;
	uint64_t messages, pass, spf, dkim, quarantine, reject;
	char first[11], last[11];  /* first and last UTC day seen */
	size_t rank;               /* internal: order of first sight */
	/* With the sender's IPs and domains given (ov_load): ours is 1 for
	 * an address in f->ips; for the others, the mail with one of
	 * f->sender_domains (or a subdomain) in header_from, its DMARC
	 * passes, and one such header_from. foreign_messages > 0 makes the
	 * source a foreign sender of our domains. */
	int ours;
	uint64_t foreign_messages, foreign_pass;
	char *foreign_from;
};

/* A (source, reporter) or (source, header_from) pair and its messages;
 * src indexes overview.src. */
struct ov_pair {
	size_t src;
	char *name;
	uint64_t messages;
};

struct overview {
	struct ov_domain *doms;    /* by messages, descending, then name */
	size_t n_doms;
	struct ov_source *src;     /* by messages, descending, then ip */
	size_t n_src;
	char (*days)[11];          /* every UTC day with rollup rows, asc. */
	size_t n_days;
	/* Reporters and header_from domains per source, by src, then
	 * messages descending. Collected during the pass while there are at
	 * most LIM_HTML_SOURCE_PAIRS of each; beyond that pairs_dropped is
	 * set and the lists are empty (the caller reads them for the
	 * sources it shows, SQ_AGG_IPS). */
	struct ov_pair *rep_pairs, *from_pairs;
	size_t n_rep_pairs, n_from_pairs;
	int pairs_dropped;
	struct tls_domain *tls;    /* by sessions, descending */
	size_t n_tls;
	/* SQ_RANGE_COUNTS */
	uint64_t n_aggregate, n_tlsrpt, n_failure, n_rejected;
	/* Foreign senders of our domains, split by OV_FOREIGN_PASS_PCT:
	 * known when f->ips and f->sender_domains were given. */
	int foreign_known;
	size_t n_foreign_fail, n_foreign_pass;
	uint64_t m_foreign_fail, m_foreign_pass;
};

/*
 * A foreign source (not in [sender] ips, mail as our domains) counts as
 * passing DMARC when at least this share (percent) of its mail passed: a
 * service that signs for us passes nearly always, a spoofer nearly never;
 * the few in between are counted with the failing ones, the side that
 * gets looked at. Shared by sources.html, index.html and summary.
 */
#define OV_FOREIGN_PASS_PCT 50

/* Reads everything in one pass over agg_daily (SQ_AGG_SCAN), summing in
 * memory, plus the small TLS-RPT rollup and the counts. Whole lists: the
 * caller caps what it shows. When f->n_ips and f->n_sender_domains are
 * set (the sender's own IPs, sorted by strcmp, and domains, lower case),
 * the same pass finds the foreign senders of those domains (struct
 * ov_source, foreign_*), so no second scan is needed; f->ips is not a
 * filter here. Returns 0 or an ERR_* (err filled). ov is zeroed first. */
int ov_load(struct store *st, const struct store_query_filter *f,
    struct overview *ov, struct err *err);
void ov_free(struct overview *ov);
/* qsort(), but a no-op below two items: an empty list may have a NULL
 * base, which qsort() must not be given (C11 7.22.5). */
void ov_sort(void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *));
/* qsort order of pairs: by src, then messages descending, then name. */
int ov_pair_cmp(const void *a, const void *b);
/* Does the foreign source pass DMARC (OV_FOREIGN_PASS_PCT)? */
int ov_foreign_passes(const struct ov_source *s);

#endif
