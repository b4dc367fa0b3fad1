/* ingest/resolve.c - see resolve.h. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "../common/limits.h"
#include "resolve.h"

/* An answer is looked up again after this long (PTR names change
 * rarely); a failed lookup after an hour (the resolver may be back). */
#define RESOLVE_STALE_S (30 * 86400)
#define RESOLVE_RETRY_S 3600

/* One answer from the child: fixed size, written with one write() far
 * below PIPE_BUF, so it arrives whole or not at all. A DNS name is at
 * most 253 characters. */
struct answer {
	uint32_t idx;
	char status;               /* 'o' name, 'n' no PTR, 'e' failed */
	char confirmed;            /* 1: the name resolves back */
	char name[256];
};

struct cands {
	char **ip;
	size_t n, max;
};

static int
cand_cb(void *ctx, const char *ip)
{
	struct cands *c = ctx;

	if (c->n >= c->max)
		return 0;
	if ((c->ip[c->n] = strdup(ip)) == NULL)
		return ERR_NOMEM;
	c->n++;
	return 0;
}

/* The address as a socket address; 0 or -1 when it is none. */
static int
to_sockaddr(const char *ip, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		*len = sizeof *v4;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		*len = sizeof *v6;
		return 0;
	}
	return -1;
}

/* A plain host name: what a PTR record should hold. Anything else (a
 * resolver can return any bytes) is not stored as a name. */
static int
plain_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
		    *s == '_'))
			return 0;
	return 1;
}

/* Does name resolve back to the address in ss? */
static int
forward_confirms(const char *name, const struct sockaddr_storage *ss)
{
	struct addrinfo hints, *res = NULL;
	int ok = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = ss->ss_family;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (struct addrinfo *a = res; a != NULL && !ok; a = a->ai_next) {
		if (a->ai_family != ss->ss_family)
			continue;
		if (a->ai_family == AF_INET)
			ok = memcmp(&((const struct sockaddr_in *)
			    (const void *)a->ai_addr)->sin_addr,
			    &((const struct sockaddr_in *)
			    (const void *)ss)->sin_addr,
			    sizeof(struct in_addr)) == 0;
		else
			ok = memcmp(&((const struct sockaddr_in6 *)
			    (const void *)a->ai_addr)->sin6_addr,
			    &((const struct sockaddr_in6 *)
			    (const void *)ss)->sin6_addr,
			    sizeof(struct in6_addr)) == 0;
	}
	freeaddrinfo(res);
	return ok;
}

/* The child: one answer per address, in order, then _exit. It touches
 * nothing of the parent's (no database, no stdio buffers). */
static void
child(int fd, char *const *ip, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		struct answer a;
		socklen_t len;
		char host[NI_MAXHOST];
		int rc;

		memset(&a, 0, sizeof a);
		a.idx = (uint32_t)i;
		if (to_sockaddr(ip[i], &ss, &len) != 0) {
			a.status = 'e';
		} else {
			rc = getnameinfo((struct sockaddr *)&ss, len, host,
			    sizeof host, NULL, 0, NI_NAMEREQD);
			if (rc == 0 && plain_name(host)) {
				a.status = 'o';
				memcpy(a.name, host, strlen(host) + 1);
				a.confirmed = (char)forward_confirms(host, &ss);
			} else if (rc == 0 || rc == EAI_NONAME) {
				/* No PTR record, or one that is no host
				 * name: nothing to show either way. */
				a.status = 'n';
			} else {
				a.status = 'e';
			}
		}
		for (;;) {
			ssize_t w = write(fd, &a, sizeof a);

			if (w == (ssize_t)sizeof a)
				break;
			if (w < 0 && errno == EINTR)
				continue;
			_exit(1);
		}
	}
	_exit(0);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the child's answers into v until EOF or the deadline (then the
 * child is killed). Returns 0 or ERR_IO. */
static int
collect(int fd, pid_t pid, const struct resolve_opts *o, char *const *ip,
    size_t n, struct store_ptr *v, struct answer *ans, int *got,
    struct resolve_stats *stats)
{
	int64_t deadline = mono_ms() + (int64_t)o->timeout_s * 1000;
	struct answer a;
	size_t have = 0;

	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - mono_ms();
		ssize_t r;
		int pr;

		if (left <= 0) {
			stats->timed_out = 1;
			break;
		}
		pr = poll(&pf, 1, left > 60000 ? 60000 : (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return ERR_IO;
		if (pr == 0)
			continue;
		r = read(fd, (char *)&a + have, sizeof a - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ERR_IO;
		if (r == 0)
			break;             /* the child is done (or died) */
		have += (size_t)r;
		if (have < sizeof a)
			continue;
		have = 0;
		if (a.idx >= n || got[a.idx])
			continue;          /* not ours to trust: skip */
		a.name[sizeof a.name - 1] = '\0';
		ans[a.idx] = a;
		got[a.idx] = 1;
		v[a.idx].ip = ip[a.idx];
		v[a.idx].at = o->now;
		switch (a.status) {
		case 'o':
			v[a.idx].status = STORE_PTR_OK;
			v[a.idx].name = ans[a.idx].name;
			v[a.idx].confirmed = a.confirmed == 1;
			stats->named++;
			stats->confirmed += a.confirmed == 1;
			break;
		case 'n':
			v[a.idx].status = STORE_PTR_NONE;
			stats->none++;
			break;
		default:
			v[a.idx].status = STORE_PTR_ERROR;
			stats->failed++;
			break;
		}
	}
	kill(pid, SIGKILL);
	return 0;
}

int
ingest_resolve(struct store *st, const struct resolve_opts *o,
    struct resolve_stats *stats, struct err *err)
{
	struct cands c;
	struct store_ptr *v = NULL, *put = NULL;
	struct answer *ans = NULL;
	int *got = NULL;
	int fds[2] = { -1, -1 }, rc = 0, status;
	size_t n_put = 0;
	pid_t pid = -1;

	memset(&c, 0, sizeof c);
	memset(stats, 0, sizeof *stats);
	if (o->max_lookups < 1 || o->max_lookups > LIM_RESOLVE_LOOKUPS ||
	    o->timeout_s < 1 || o->timeout_s > LIM_RESOLVE_SECONDS)
		return err_set(err, ERR_INVAL, "resolve: at most %d lookups "
		    "and %d seconds", LIM_RESOLVE_LOOKUPS,
		    LIM_RESOLVE_SECONDS);
	c.max = o->max_lookups;
	if ((c.ip = calloc(c.max, sizeof *c.ip)) == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = store_ptr_candidates(st, o->since, o->now - RESOLVE_STALE_S,
	    o->now - RESOLVE_RETRY_S, c.max, cand_cb, &c, err)) != 0) {
		if (rc == ERR_NOMEM)
			err_set(err, rc, "out of memory");
		goto out;
	}
	stats->asked = c.n;
	if (c.n == 0)
		goto out;
	if ((v = calloc(c.n, sizeof *v)) == NULL ||
	    (put = calloc(c.n, sizeof *put)) == NULL ||
	    (ans = calloc(c.n, sizeof *ans)) == NULL ||
	    (got = calloc(c.n, sizeof *got)) == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	if (pipe(fds) != 0) {
		rc = err_set(err, ERR_IO, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) < 0) {
		rc = err_set(err, ERR_IO, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], c.ip, c.n);
	}
	close(fds[1]);
	fds[1] = -1;
	rc = collect(fds[0], pid, o, c.ip, c.n, v, ans, got, stats);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc != 0) {
		rc = err_set(err, rc, "reading the lookups: %s",
		    strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < c.n; i++)
		if (got[i])
			put[n_put++] = v[i];
	stats->unfinished = c.n - n_put;
	rc = store_ptr_put(st, put, n_put, err);
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	for (size_t i = 0; i < c.n; i++)
		free(c.ip[i]);
	free(c.ip);
	free(v);
	free(put);
	free(ans);
	free(got);
	return rc;
}
