/*
 * report/export_pmta.c - PowerMTA: one include file per (virtual MTA,
 * provider), for an `include` inside the <domain> block of that provider
 * in the virtual MTA (doc/hints.md "PowerMTA"). Then `pmta reload`.
 */
#include <stdio.h>
#include <string.h>

#include "../common/timefmt.h"
#include "export.h"
#include "outfile.h"

int
export_pmta(const struct export_set *x, const char *dir, struct err *err)
{
	char path[4096], name[256], until[32], gen[32];
	struct outfile of;
	int rc;

	if ((rc = outfile_mkdir(dir, err)) < 0)
		return rc;
	time_iso8601(x->generated_at, gen, sizeof gen);
	for (size_t i = 0; i < x->n_hints; i++) {
		const struct export_hint *h = &x->hints[i];

		snprintf(name, sizeof name, "%s.%s.conf", h->source,
		    h->provider);
		if ((rc = outfile_path(path, sizeof path, dir, name, err)) < 0 ||
		    (rc = outfile_open(&of, path, err)) < 0)
			return rc;
		time_iso8601(h->valid_until, until, sizeof until);
		fprintf(of.f, "# dmarcwatch hint %s: virtual-mta %s (%s), "
		    "provider %s\n# sequence %lld, generated %s, valid until "
		    "%s\n# action %s (%s); day cap %llu (not expressible "
		    "here: see the hint file)\n", h->hint_id, h->source,
		    h->source_ip, h->provider, (long long)x->seq, gen, until,
		    h->action, h->reason, (unsigned long long)h->per_day);
		if (h->paused) {
			/* PowerMTA has no timed pause in configuration: the
			 * queue pause is a command, and it does not expire. */
			fprintf(of.f, "# PAUSED until %s: pmta pause queue "
			    "<domain>/%s for each domain of %s;\n# pmta resume "
			    "queue at that time. After the pause: %llu/h, %u "
			    "connection(s).\nmax-msg-rate 1/h\nmax-smtp-out 1\n",
			    until, h->source, h->provider,
			    (unsigned long long)h->then_per_hour, h->then_conns);
		} else if (h->stop_until > x->generated_at) {
			char stop[32];
			/* The provider's stop (Gmail 4.7.28: at least 10
			 * minutes): as a pause until then. */
			time_iso8601(h->stop_until, stop, sizeof stop);
			fprintf(of.f, "# STOP until %s (the provider asked for "
			    "it): pmta pause queue <domain>/%s for each domain "
			    "of %s;\n# pmta resume queue at that time. After "
			    "the stop: %llu/h, %u connection(s).\n"
			    "max-msg-rate 1/h\nmax-smtp-out 1\n", stop,
			    h->source, h->provider,
			    (unsigned long long)h->per_hour, h->conns);
		} else {
			fprintf(of.f, "max-msg-rate %llu/h\nmax-smtp-out %u\n",
			    (unsigned long long)h->per_hour, h->conns);
		}
		if ((rc = outfile_commit(&of, err)) < 0)
			return rc;
	}
	return 0;
}
