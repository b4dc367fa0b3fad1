/*
 * slowdns.c - LD_PRELOAD shim for the `dmarcwatch resolve` deadline test
 * (tests/html/test_html.py; test-only, never installed).
 *
 * DW_SLOWDNS_SECONDS=N: every getnameinfo() sleeps N seconds before
 * answering, like a resolver that does not answer; the lookup run must
 * still end at its deadline. Unset: a plain pass-through.
 */
#include <dlfcn.h>
#include <netdb.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
    socklen_t hostlen, char *serv, socklen_t servlen, int flags);

int
getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
    socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	int (*real)(const struct sockaddr *, socklen_t, char *, socklen_t,
	    char *, socklen_t, int);
	const char *s = getenv("DW_SLOWDNS_SECONDS");

	if (s != NULL) {
		char *end;
		unsigned long n = strtoul(s, &end, 10);

		if (*end == '\0' && n < 3600)
			sleep((unsigned)n);
	}
	*(void **)&real = dlsym(RTLD_NEXT, "getnameinfo");
	if (real == NULL)
		return EAI_FAIL;
	return real(sa, salen, host, hostlen, serv, servlen, flags);
}
