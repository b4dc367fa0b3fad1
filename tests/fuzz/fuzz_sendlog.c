/*
 * tests/fuzz/fuzz_sendlog.c - libFuzzer target for the send-log line
 * parsers (every format, every line of the input) and the provider
 * profile parser (the whole input as a profile file), with lookups and
 * classification over what parsed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../common/err.h"
#include "../../parse/profiles.h"
#include "../../parse/sendlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct profiles *pf = NULL;
	struct sl_opts o = { 2024, 1 };
	struct err e;
	volatile size_t sum = 0;

	err_clear(&e);
	(void)profiles_parse(p, size, "fuzz", NULL, NULL, &pf, &e);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		struct sl_attempt a;

		sum += (size_t)sendlog_detect(p, len);
		for (int f = SL_FMT_POSTFIX; f <= SL_FMT_CSV; f++) {
			err_clear(&e);
			if (sendlog_parse_line(f, p, len, &o, &a, &e) == 0) {
				int rule;
				const struct profile *pr = NULL;

				sum += strlen(a.reply) + strlen(a.rcpt_domain) +
				    strlen(a.relay_host) + strlen(a.source_ip);
				if (pf != NULL) {
					pr = profiles_by_domain(pf, a.rcpt_domain);
					if (pr == NULL)
						pr = profiles_by_mx(pf, a.relay_host);
					sum += (size_t)profiles_classify(pf, pr,
					    a.smtp_code, a.enhanced, a.reply,
					    &rule, NULL);
				}
			}
		}
		p += len + (nl != NULL);
	}
	profiles_free(pf);
	(void)sum;
	return 0;
}
