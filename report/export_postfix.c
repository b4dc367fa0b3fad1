/*
 * report/export_postfix.c - Postfix: one instance per source IP, a fixed
 * ladder of transports in master.cf/main.cf and a transport map that puts
 * each provider's domains on the rung matching its hint. Only the map
 * changes from run to run (postmap, no reload); the ladder changes only
 * when the IP does. Limits: doc/hints.md "Postfix".
 */
#include <stdio.h>
#include <string.h>

#include "../common/timefmt.h"
#include "export.h"
#include "outfile.h"

/* Rate rungs: delay between deliveries to one destination queue, in
 * seconds. A rung carries at most 3600 / delay messages an hour. */
static const unsigned delay_rungs[] = { 1, 2, 3, 4, 5, 6, 8, 10, 12, 15,
	20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600 };
/* Concurrency rungs for hour caps of 3600 and more (no delay). */
static const unsigned conc_rungs[] = { 1, 2, 3, 5, 10, 20 };

#define N_DELAYS (sizeof delay_rungs / sizeof delay_rungs[0])
#define N_CONCS (sizeof conc_rungs / sizeof conc_rungs[0])

/* The hint asks for no attempts now: a pause, or the provider's stop
 * (valid_from still ahead). */
static int
held(const struct export_set *x, const struct export_hint *h)
{
	return h->paused || h->stop_until > x->generated_at;
}

/* The rung for a hint: the fastest rate not above max_per_hour; the hold
 * rung while paused or stopped (the next run after the stop maps the
 * domains back: run hints at least every stop length). */
static void
rung_of(const struct export_set *x, const struct export_hint *h, char *out,
    size_t n)
{
	if (held(x, h)) {
		snprintf(out, n, "dw_hold");
		return;
	}
	if (h->per_hour >= 3600) {
		unsigned c = conc_rungs[0];
		for (size_t i = 0; i < N_CONCS; i++)
			if (conc_rungs[i] <= h->conns)
				c = conc_rungs[i];
		snprintf(out, n, "dw_c%u", c);
		return;
	}
	for (size_t i = 0; i < N_DELAYS; i++)
		if (3600 / delay_rungs[i] <= h->per_hour ||
		    i + 1 == N_DELAYS) {
			snprintf(out, n, "dw_d%u", delay_rungs[i]);
			return;
		}
}

static int
write_master(const char *dir, const struct export_hint *h, struct err *err)
{
	char path[4096];
	struct outfile of;
	const char *bind = strchr(h->source_ip, ':') != NULL ?
	    "smtp_bind_address6" : "smtp_bind_address";
	int rc;

	if ((rc = outfile_path(path, sizeof path, dir, "master.cf", err)) < 0 ||
	    (rc = outfile_open(&of, path, err)) < 0)
		return rc;
	fprintf(of.f, "# dmarcwatch: transport ladder for %s (%s).\n"
	    "# Generated; the same for every run. Add to this instance's "
	    "master.cf.\n# dw_dN: N s between deliveries to one destination "
	    "(<= 3600/N an hour);\n# dw_cN: no delay, N connections; dw_hold: "
	    "deferred (defer_transports).\n", h->source, h->source_ip);
	for (size_t i = 0; i < N_DELAYS; i++)
		fprintf(of.f, "dw_d%u unix - - n - - smtp -o %s=%s\n",
		    delay_rungs[i], bind, h->source_ip);
	for (size_t i = 0; i < N_CONCS; i++)
		fprintf(of.f, "dw_c%u unix - - n - - smtp -o %s=%s\n",
		    conc_rungs[i], bind, h->source_ip);
	fprintf(of.f, "dw_hold unix - - n - - smtp -o %s=%s\n", bind,
	    h->source_ip);
	return outfile_commit(&of, err);
}

static int
write_main(const char *dir, const struct export_hint *h, struct err *err)
{
	char path[4096];
	struct outfile of;
	int rc;

	if ((rc = outfile_path(path, sizeof path, dir, "main.cf", err)) < 0 ||
	    (rc = outfile_open(&of, path, err)) < 0)
		return rc;
	fprintf(of.f, "# dmarcwatch: rate ladder for %s (%s). Generated; the "
	    "same for every run.\n# Add to this instance's main.cf; the "
	    "transport file changes with each run.\n"
	    "transport_maps = hash:$config_directory/transport\n"
	    "defer_transports = dw_hold\n", h->source, h->source_ip);
	for (size_t i = 0; i < N_DELAYS; i++) {
		fprintf(of.f, "dw_d%u_destination_rate_delay = %us\n",
		    delay_rungs[i], delay_rungs[i]);
		/* Rate-delayed queues would otherwise be declared dead
		 * after one failed connection. */
		fprintf(of.f, "dw_d%u_destination_concurrency_failed_cohort_"
		    "limit = 10\n", delay_rungs[i]);
	}
	for (size_t i = 0; i < N_CONCS; i++)
		fprintf(of.f, "dw_c%u_destination_concurrency_limit = %u\n",
		    conc_rungs[i], conc_rungs[i]);
	return outfile_commit(&of, err);
}

static int
write_transport(const struct export_set *x, const char *dir, size_t first,
    size_t last, struct err *err)
{
	char path[4096], rung[32], until[32], gen[32];
	struct outfile of;
	int rc;

	if ((rc = outfile_path(path, sizeof path, dir, "transport", err)) < 0 ||
	    (rc = outfile_open(&of, path, err)) < 0)
		return rc;
	time_iso8601(x->generated_at, gen, sizeof gen);
	fprintf(of.f, "# dmarcwatch hints, sequence %lld, generated %s, for "
	    "%s (%s).\n# Run postmap on this file. Postfix enforces hourly "
	    "rates only; the day caps\n# are in the hint file.\n",
	    (long long)x->seq, gen, x->hints[first].source,
	    x->hints[first].source_ip);
	for (size_t i = first; i < last; i++) {
		const struct export_hint *h = &x->hints[i];
		const struct export_provider *p =
		    export_provider_find(x, h->provider);

		if (p == NULL || p->n_domains == 0)
			continue;
		rung_of(x, h, rung, sizeof rung);
		time_iso8601(h->valid_until, until, sizeof until);
		fprintf(of.f, "# %s: %s %s, %llu/h %llu/day, %u conn, until "
		    "%s (%s)\n", h->provider, h->hint_id, h->action,
		    (unsigned long long)h->per_hour,
		    (unsigned long long)h->per_day, h->conns, until,
		    h->reason);
		if (held(x, h)) {
			char end[32];
			time_iso8601(h->paused ? h->valid_until :
			    h->stop_until, end, sizeof end);
			fprintf(of.f, "# held (defer_transports) until %s: %s; "
			    "the first run after that maps these back, then "
			    "postqueue -f\n", end, h->paused ? "paused" :
			    "the provider asked for a stop");
		}
		/* Empty nexthop: each domain is delivered to its own MX, as
		 * without the map (a shared nexthop would pool the queue but
		 * could send a domain to another domain's MX). The rung's
		 * rate therefore applies per recipient domain. */
		for (size_t d = 0; d < p->n_domains; d++)
			fprintf(of.f, "%s %s:\n", p->domains[d], rung);
	}
	return outfile_commit(&of, err);
}

int
export_postfix(const struct export_set *x, const char *dir, struct err *err)
{
	char sub[4096];
	size_t i = 0;
	int rc;

	if ((rc = outfile_mkdir(dir, err)) < 0)
		return rc;
	while (i < x->n_hints) {
		size_t j = i;

		while (j < x->n_hints &&
		    strcmp(x->hints[j].source, x->hints[i].source) == 0)
			j++;
		if ((rc = outfile_path(sub, sizeof sub, dir,
		    x->hints[i].source, err)) < 0 ||
		    (rc = outfile_mkdir(sub, err)) < 0 ||
		    (rc = write_master(sub, &x->hints[i], err)) < 0 ||
		    (rc = write_main(sub, &x->hints[i], err)) < 0 ||
		    (rc = write_transport(x, sub, i, j, err)) < 0)
			return rc;
		i = j;
	}
	return 0;
}

const struct export_provider *
export_provider_find(const struct export_set *x, const char *name)
{
	for (size_t i = 0; i < x->n_providers; i++)
		if (strcmp(x->providers[i].name, name) == 0)
			return &x->providers[i];
	return NULL;
}
