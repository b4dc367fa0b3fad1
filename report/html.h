/*
 * report/html.h - `dmarcwatch report html`: static, self-contained HTML
 * pages written from the store (doc/cli.md "report html").
 *
 * Pages: index.html (overview per policy domain), sources.html,
 * warmup.html, tls.html, failures.html, rejected.html, reports.html and
 * report-<id>.html for the newest LIM_HTML_REPORT_PAGES reports. Each page
 * carries its CSS and its one optional script inline, loads nothing, and
 * is written through a temporary file and a rename.
 */
#ifndef DW_REPORT_HTML_H
#define DW_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "../common/err.h"

struct html_opts {
	const char *out_dir;       /* created if missing (one level) */
	/* epoch s, [since, until); 0 = open. since 0: the pages cover the
	 * LIM_HTML_DEFAULT_DAYS days that end on the last day with data
	 * (today at the latest), or on until - 1 day when until is set. */
	int64_t since, until;
	const char *domain;        /* one policy domain; NULL = all */
	/* The sender's own IP addresses (config `[sender] ips =`, canonical
	 * text as in records.source_ip). Empty: sources are shown as
	 * "unknown (set [sender] ips)" and the warm-up page takes the
	 * busiest sources instead. */
	const char *const *sender_ips;
	size_t n_sender_ips;
	/* The sender's own domains ([sender] domains, lower case): mail
	 * with one of them (or a subdomain) in header_from from an address
	 * that is not ours is highlighted on sources.html as foreign. */
	const char *const *sender_domains;
	size_t n_sender_domains;
	int64_t now;               /* shown as generation time; 0 = now */
};

struct html_stats {
	unsigned pages;            /* files written */
	unsigned report_pages;     /* of which report-<id>.html */
	unsigned removed;          /* stale report-<id>.html of earlier runs */
};

/* Opens db_path read-only and writes the pages. Returns 0, ERR_NOTFOUND
 * (no database), ERR_IO (err says which file) or a store error. */
int html_write(const char *db_path, const struct html_opts *o,
    struct html_stats *stats, struct err *err);

#endif
