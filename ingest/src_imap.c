/*
 * ingest/src_imap.c - the IMAP source (struct ingest_source) and the
 * `fetch` / `watch` drivers. The only file that includes libetpan.
 *
 * Per folder: SELECT, compare UIDVALIDITY with the store (a change forgets
 * the folder's UID rows: a rescan, made safe by message hashes), list the
 * UIDs with their sizes, then in batches: one UID FETCH (UID BODY.PEEK[])
 * for up to `batch` messages, each message through the pipeline (its
 * transaction also writes the UID's row: state "stored" and the archive
 * subfolder), then one UID MOVE per subfolder for the batch, then the
 * rows are marked "archived". A UID whose row says "stored" is only
 * re-archived, never fetched again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dw_config.h"
#include "../common/log.h"
#include "../common/strparse.h"
#include "../store/store.h"
#include "imap.h"
#include "imap_timing.h"
#include "pipeline.h"
#include "source.h"
#include "tlsverify.h"

void
imap_config_defaults(struct imap_config *c)
{
	memset(c, 0, sizeof *c);
	c->tls = IMAP_TLS_IMPLICIT;
	c->tls_verify = 1;
	c->auth = IMAP_AUTH_PASSWORD;
	snprintf(c->archive_folder, sizeof c->archive_folder, "dmarcwatch");
	c->batch = 100;
	c->poll_interval = 300;
}

/*
 * Opens a secret file for reading and checks what was opened (fstat on
 * the descriptor, not stat on the name: no window for a swap between the
 * check and the read). The name itself must not be a symbolic link
 * (O_NOFOLLOW: a link's target is not what the admin's chmod was about);
 * O_NONBLOCK so that a FIFO does not hang us before it is refused.
 */
static int
secret_open(const char *path, int *fdp, struct err *err)
{
	struct stat sb;
	int fd;

	*fdp = -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			return err_set(err, ERR_INVAL, "%s: a symbolic link: "
			    "refused (name the file itself)", path);
		return err_set(err, errno == ENOENT ? ERR_NOTFOUND : ERR_INVAL,
		    "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &sb) != 0) {
		int rc = err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return err_set(err, ERR_INVAL, "%s: not a regular file", path);
	}
	if ((sb.st_mode & 077) != 0) {
		close(fd);
		return err_set(err, ERR_INVAL, "%s: readable or writable by "
		    "group or others (mode %04o): chmod 600 it", path,
		    (unsigned)(sb.st_mode & 07777));
	}
	*fdp = fd;
	return 0;
}

int
imap_secret_file_check(const char *path, struct err *err)
{
	int fd, rc;

	if ((rc = secret_open(path, &fd, err)) != 0)
		return rc;
	close(fd);
	return 0;
}

#if HAVE_IMAP

#include <libetpan/libetpan.h>

/* Network timeout of one IMAP read or write. A UID FETCH of a batch
 * streams continuously; a minute of silence means the peer is gone. */
#define IMAP_TIMEOUT_SECONDS 60

/*
 * Stored messages are moved once this many are queued (and at the end of
 * each folder). Each MOVE makes Dovecot (and others) resync the source
 * folder, which costs time proportional to its size: moving per fetched
 * batch of 100 made a 5,000-message fetch 2-3x slower. Waiting costs
 * nothing in safety: until moved, a message's row says "stored", so a
 * crash only re-archives it.
 */
#define IMAP_MOVE_BATCH 500

enum target {
	T_AGGREGATE, T_TLSRPT, T_FAILURE, T_INVALID, T_UNSAVED, T_ROOT,
	T__COUNT
};
static const char *const target_names[T__COUNT] = {
	"aggregate", "tlsrpt", "failure", "invalid", "unsaved", ""
};

static enum target
target_of_name(const char *n)
{
	for (int i = 0; i < T__COUNT; i++)
		if (strcmp(n, target_names[i]) == 0)
			return (enum target)i;
	return T_ROOT;
}

struct conn {
	mailimap *s;
	const struct imap_config *cfg;
	char delim;                 /* hierarchy delimiter, 0 = flat */
	int has_move, has_uidplus, has_idle;
	char account[2 * LIM_IMAP_NAME_BYTES + 16];
	char selected[LIM_IMAP_NAME_BYTES];
	unsigned created;           /* bit per target folder made */
	size_t literal_too_big;     /* announced size of a refused literal */
};

/* libetpan result -> our code, with what we were doing. */
static int
imap_fail(struct conn *c, int r, const char *what, struct err *err)
{
	const char *resp = NULL;

	if (c->literal_too_big)
		return err_set(err, ERR_TOO_LARGE, "%s: the server sent a "
		    "literal of %zu bytes, over LIM_MESSAGE_BYTES (%u) although "
		    "RFC822.SIZE said less: connection closed", what,
		    c->literal_too_big, LIM_MESSAGE_BYTES);
	if (c->s != NULL && c->s->imap_response != NULL &&
	    c->s->imap_response[0] != '\0')
		resp = c->s->imap_response;
	if (r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_CONNECTION_REFUSED)
		return err_set(err, ERR_NET, "%s: connection to %s lost", what,
		    c->cfg->host);
	if (r == MAILIMAP_ERROR_PARSE)
		return err_set(err, ERR_NET, "%s: malformed response from %s",
		    what, c->cfg->host);
	return err_set(err, ERR_NET, "%s: server said: %.200s (libetpan %d)",
	    what, resp ? resp : "error", r);
}

/* Reads a secret (one line) from a file or a command's output. The value
 * never goes to argv, logs or errors. */
static int
read_secret(const struct imap_config *cfg, char *out, size_t cap,
    struct err *err)
{
	FILE *f = NULL;
	size_t n = 0;
	int rc, from_cmd = 0;

	if (cfg->auth == IMAP_AUTH_XOAUTH2 && cfg->token_command[0]) {
		/* The helper inherits no descriptor of ours beyond 0-2 and
		 * its pipe: the IMAP socket, the database and the secret
		 * files are close-on-exec. Its stderr is our log. */
		from_cmd = 1;
		fflush(NULL);
		f = popen(cfg->token_command, "re");
		if (f == NULL)
			return err_set(err, ERR_AUTH, "token_command cannot be "
			    "run: %s", strerror(errno));
	} else {
		const char *path = cfg->auth == IMAP_AUTH_XOAUTH2 ?
		    cfg->token_file : cfg->password_file;
		int fd;
		if ((rc = secret_open(path, &fd, err)) != 0)
			return err_set(err, ERR_AUTH, "%s", err->msg);
		f = fdopen(fd, "r");
		if (f == NULL) {
			rc = err_set(err, ERR_AUTH, "%s: %s", path,
			    strerror(errno));
			close(fd);
			return rc;
		}
	}
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	if (from_cmd) {
		int st = pclose(f);
		if (st != 0) {
			explicit_bzero(out, cap);
			if (st > 0 && WIFEXITED(st))
				return err_set(err, ERR_AUTH, "token_command "
				    "failed (exit status %d)", WEXITSTATUS(st));
			if (st > 0 && WIFSIGNALED(st))
				return err_set(err, ERR_AUTH, "token_command "
				    "failed (killed by signal %d)",
				    WTERMSIG(st));
			return err_set(err, ERR_AUTH, "token_command failed: "
			    "%s", strerror(errno));
		}
	} else
		fclose(f);
	/* The first line is the secret. */
	out[strcspn(out, "\r\n")] = '\0';
	if (out[0] == '\0')
		return err_set(err, ERR_AUTH, "the %s is empty",
		    cfg->auth == IMAP_AUTH_XOAUTH2 ? "token" : "password");
	if (n >= cap - 1) {
		explicit_bzero(out, cap);
		return err_set(err, ERR_AUTH, "secret longer than "
		    "LIM_IMAP_SECRET_BYTES (%d)", LIM_IMAP_SECRET_BYTES);
	}
	return 0;
}

/*
 * libetpan reads a literal whole into memory, trusting the size the
 * server announces. Messages are fetched only when RFC822.SIZE is under
 * LIM_MESSAGE_BYTES, but a hostile server can announce more in the FETCH
 * itself: the body progress callback sees the announced size and closes
 * the socket, so the read fails instead of growing without bound.
 */
static void
body_progress(size_t current, size_t maximum, void *ctx)
{
	struct conn *c = ctx;
	mailstream_low *low;

	if ((maximum <= LIM_MESSAGE_BYTES && current <= LIM_MESSAGE_BYTES) ||
	    c->literal_too_big || c->s == NULL || c->s->imap_stream == NULL)
		return;
	c->literal_too_big = maximum > current ? maximum : current;
	low = mailstream_get_low(c->s->imap_stream);
	if (low != NULL)
		shutdown(mailstream_low_get_fd(low), SHUT_RDWR);
}

/*
 * libetpan 1.9 loops forever when the peer closes the connection in the
 * middle of a literal: its literal reader takes a 0-byte read (EOF) for
 * "nothing yet" and reads again. The stream's driver is swapped for a
 * copy whose read reports EOF as an error, so a server that hangs up is
 * a clear "connection lost" instead of a spinning process. One copy per
 * underlying driver (plain socket, TLS).
 */
struct eof_patch {
	mailstream_low_driver *orig;
	mailstream_low_driver copy;
};
static struct eof_patch eof_patches[4];

static ssize_t
read_eof_is_error(mailstream_low *low, void *buf, size_t n)
{
	for (size_t i = 0; i < sizeof eof_patches / sizeof eof_patches[0];
	    i++)
		if (low->driver == &eof_patches[i].copy) {
			ssize_t r = eof_patches[i].orig->mailstream_read(low,
			    buf, n);
			return r == 0 ? -1 : r;
		}
	return -1;
}

static void
patch_eof(mailimap *s)
{
	mailstream_low *low;
	size_t i;

	if (s->imap_stream == NULL ||
	    (low = mailstream_get_low(s->imap_stream)) == NULL)
		return;
	for (i = 0; i < sizeof eof_patches / sizeof eof_patches[0]; i++) {
		struct eof_patch *p = &eof_patches[i];
		if (low->driver == &p->copy)
			return;                 /* done already */
		if (p->orig == NULL) {
			p->orig = low->driver;
			p->copy = *low->driver;
			p->copy.mailstream_read = read_eof_is_error;
		}
		if (p->orig == low->driver) {
			low->driver = &p->copy;
			return;
		}
	}
}

/* libetpan opens its socket without close-on-exec: a token_command
 * (popen) would inherit the connection to the server. */
static void
set_cloexec(mailimap *s)
{
	mailstream_low *low;
	int fd, fl;

	if (s->imap_stream == NULL ||
	    (low = mailstream_get_low(s->imap_stream)) == NULL ||
	    (fd = mailstream_low_get_fd(low)) < 0)
		return;
	if ((fl = fcntl(fd, F_GETFD)) >= 0)
		(void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

static void
set_sni(struct mailstream_ssl_context *ctx, void *data)
{
	mailstream_ssl_set_server_name(ctx, data);
}

static int
is_loopback(const char *h)
{
	return strcmp(h, "127.0.0.1") == 0 || strcmp(h, "::1") == 0;
}

/* Verifies the peer's chain and name before any secret is sent. */
static int
verify_peer(struct conn *c, struct err *err)
{
	const unsigned char *der[LIM_TLS_CHAIN];
	size_t len[LIM_TLS_CHAIN];
	carray *chain;
	unsigned n;
	int rc;

	if (!c->cfg->tls_verify) {
		log_warnx("TLS certificate verification is OFF for %s "
		    "(tls_verify = no): anyone on the path can read the "
		    "password and the reports", c->cfg->host);
		return 0;
	}
	chain = mailstream_get_certificate_chain(c->s->imap_stream);
	if (chain == NULL)
		return err_set(err, ERR_TLS, "%s: no certificate chain from "
		    "the TLS layer", c->cfg->host);
	n = carray_count(chain);
	/* A longer chain is passed with its real length and refused by
	 * tls_verify_chain() before it reads the arrays: never cut short
	 * (a cut chain could verify differently). */
	for (unsigned i = 0; i < n && i < LIM_TLS_CHAIN; i++) {
		MMAPString *m = carray_get(chain, i);
		der[i] = (const unsigned char *)m->str;
		len[i] = m->len;
	}
	rc = tls_verify_chain(der, len, n, c->cfg->host, c->cfg->ca_file,
	    err);
	mailstream_certificate_chain_free(chain);
	if (rc != 0)
		err_where(err, "%s:%u", c->cfg->host, c->cfg->port);
	return rc;
}

static unsigned
cfg_port(const struct imap_config *cfg)
{
	if (cfg->port)
		return cfg->port;
	return cfg->tls == IMAP_TLS_IMPLICIT ? 993 : 143;
}

static void
conn_close(struct conn *c)
{
	if (c->s != NULL) {
		if (c->s->imap_stream != NULL)
			(void)mailimap_logout(c->s);
		mailimap_free(c->s);
	}
	c->s = NULL;
}

static int
conn_open(struct conn *c, const struct imap_config *cfg, struct err *err)
{
	char secret[LIM_IMAP_SECRET_BYTES];
	unsigned port = cfg_port(cfg);
	clist *list = NULL;
	struct mailimap_capability_data *cap = NULL;
	int r, rc;

	memset(c, 0, sizeof *c);
	c->cfg = cfg;
	snprintf(c->account, sizeof c->account, "%s@%s:%u", cfg->user,
	    cfg->host, port);
	c->s = mailimap_new(0, NULL);
	if (c->s == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	mailimap_set_timeout(c->s, IMAP_TIMEOUT_SECONDS);
	mailimap_set_progress_callback(c->s, body_progress, NULL, c);
	if (cfg->tls == IMAP_TLS_IMPLICIT)
		r = mailimap_ssl_connect_with_callback(c->s, cfg->host,
		    (uint16_t)port, set_sni, (void *)cfg->host);
	else {
		if (cfg->tls == IMAP_TLS_NONE) {
			if (!is_loopback(cfg->host)) {
				rc = err_set(err, ERR_INVAL, "tls = none is "
				    "only allowed for 127.0.0.1 or ::1, not "
				    "'%s'", cfg->host);
				goto fail;
			}
			log_warnx("tls = none: talking to %s:%u in PLAIN "
			    "TEXT (password included); for local testing "
			    "only", cfg->host, port);
		}
		r = mailimap_socket_connect(c->s, cfg->host, (uint16_t)port);
	}
	if (r != MAILIMAP_NO_ERROR_AUTHENTICATED &&
	    r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED) {
		rc = err_set(err, ERR_NET, "cannot connect to %s:%u%s",
		    cfg->host, port, cfg->tls == IMAP_TLS_IMPLICIT ?
		    " (TCP or TLS handshake failed)" : "");
		goto fail;
	}
	patch_eof(c->s);
	set_cloexec(c->s);
	if (cfg->tls == IMAP_TLS_STARTTLS) {
		r = mailimap_socket_starttls_with_callback(c->s, set_sni,
		    (void *)cfg->host);
		if (r != MAILIMAP_NO_ERROR) {
			rc = err_set(err, ERR_TLS, "%s:%u: STARTTLS failed "
			    "(libetpan %d): refusing to go on without TLS",
			    cfg->host, port, r);
			goto fail;
		}
		patch_eof(c->s);        /* the TLS stream replaced it */
	}
	if (cfg->tls != IMAP_TLS_NONE && (rc = verify_peer(c, err)) != 0)
		goto fail;
	if ((rc = read_secret(cfg, secret, sizeof secret, err)) != 0)
		goto fail;
	if (cfg->auth == IMAP_AUTH_XOAUTH2)
		r = mailimap_oauth2_authenticate(c->s, cfg->user, secret);
	else
		r = mailimap_login(c->s, cfg->user, secret);
	explicit_bzero(secret, sizeof secret);
	if (r != MAILIMAP_NO_ERROR) {
		if (r == MAILIMAP_ERROR_STREAM ||
		    r == MAILIMAP_ERROR_CONNECTION_REFUSED)
			rc = imap_fail(c, r, "login", err);
		else
			rc = err_set(err, ERR_AUTH, "%s:%u: login as '%s' "
			    "refused (wrong user or %s?)", cfg->host, port,
			    cfg->user, cfg->auth == IMAP_AUTH_XOAUTH2 ?
			    "token" : "password");
		goto fail;
	}
	if ((r = mailimap_capability(c->s, &cap)) != MAILIMAP_NO_ERROR) {
		rc = imap_fail(c, r, "CAPABILITY", err);
		goto fail;
	}
	mailimap_capability_data_free(cap);
	c->has_move = mailimap_has_extension(c->s, "MOVE");
	c->has_uidplus = mailimap_has_extension(c->s, "UIDPLUS");
	c->has_idle = mailimap_has_idle(c->s);
	r = mailimap_list(c->s, "", "", &list);
	if (r != MAILIMAP_NO_ERROR) {
		rc = imap_fail(c, r, "LIST", err);
		goto fail;
	}
	if (list != NULL && clist_begin(list) != NULL) {
		struct mailimap_mailbox_list *mb =
		    clist_content(clist_begin(list));
		c->delim = mb->mb_delimiter;
	}
	mailimap_list_result_free(list);
	log_info("connected to %s:%u as %s (%s%s%s)", cfg->host, port,
	    cfg->user, cfg->tls == IMAP_TLS_NONE ? "no TLS" :
	    cfg->tls == IMAP_TLS_STARTTLS ? "STARTTLS" : "TLS",
	    c->has_move ? ", MOVE" : "", c->has_idle ? ", IDLE" : "");
	return 0;
fail:
	conn_close(c);
	return rc;
}

/* ---- transient failures, counted per UID ---- */

/*
 * The transient failures of each UID, kept in memory for the session
 * (one pass for `fetch`, the whole run for `watch`) besides imap_uids.
 * The cause of a failure (database locked, disk full) usually fails the
 * write of its count too: the count goes on here, so the message still
 * reaches 'unsaved' after LIM_IMAP_RETRIES, and is written to imap_uids
 * whenever the database takes it (dirty until then). Sorted by
 * (folder_id, uid); at most LIM_IMAP_UIDS entries.
 */
struct retry_entry {
	int64_t folder_id;
	uint32_t uid;
	int attempts;
	int unsaved;          /* given up: the row to write is 'unsaved' */
	int dirty;            /* not yet in imap_uids */
};

struct retry_mem {
	struct retry_entry *v;
	size_t n, cap;
};

static int
retry_cmp(const struct retry_entry *e, int64_t folder_id, uint32_t uid)
{
	if (e->folder_id != folder_id)
		return e->folder_id < folder_id ? -1 : 1;
	return e->uid < uid ? -1 : e->uid > uid;
}

/* Index of (folder_id, uid), or where it would go (*found = 0). */
static size_t
retry_pos(const struct retry_mem *rm, int64_t folder_id, uint32_t uid,
    int *found)
{
	size_t lo = 0, hi = rm->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = retry_cmp(&rm->v[mid], folder_id, uid);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

static struct retry_entry *
retry_find(const struct retry_mem *rm, int64_t folder_id, uint32_t uid)
{
	int found;
	size_t i = retry_pos(rm, folder_id, uid, &found);

	return found ? &rm->v[i] : NULL;
}

/* The entry for (folder_id, uid), made if missing; NULL when memory or
 * LIM_IMAP_UIDS runs out (the count then relies on imap_uids alone). */
static struct retry_entry *
retry_get(struct retry_mem *rm, int64_t folder_id, uint32_t uid)
{
	int found;
	size_t i = retry_pos(rm, folder_id, uid, &found);

	if (found)
		return &rm->v[i];
	if (rm->n >= LIM_IMAP_UIDS)
		return NULL;
	if (rm->n == rm->cap) {
		size_t nc = rm->cap ? rm->cap * 2 : 16;
		struct retry_entry *p = realloc(rm->v, nc * sizeof *p);
		if (p == NULL)
			return NULL;
		rm->v = p;
		rm->cap = nc;
	}
	memmove(&rm->v[i + 1], &rm->v[i], (rm->n - i) * sizeof rm->v[0]);
	rm->n++;
	memset(&rm->v[i], 0, sizeof rm->v[i]);
	rm->v[i].folder_id = folder_id;
	rm->v[i].uid = uid;
	return &rm->v[i];
}

/* Forgets (folder_id, uid), or every UID of the folder when uid is 0
 * (UIDVALIDITY changed: the numbers mean other messages now). */
static void
retry_forget(struct retry_mem *rm, int64_t folder_id, uint32_t uid)
{
	size_t w = 0;

	for (size_t i = 0; i < rm->n; i++)
		if (!(rm->v[i].folder_id == folder_id &&
		    (uid == 0 || rm->v[i].uid == uid)))
			rm->v[w++] = rm->v[i];
	rm->n = w;
}

static void
retry_mem_free(struct retry_mem *rm)
{
	free(rm->v);
	memset(rm, 0, sizeof *rm);
}

/* Writes the counts not yet in imap_uids. Stops at the first failure:
 * the database is still busy, and each try waits its busy timeout. */
static void
retry_flush(struct retry_mem *rm, struct store *st)
{
	size_t pending = 0;
	struct err e;

	for (size_t i = 0; i < rm->n; i++)
		pending += rm->v[i].dirty != 0;
	for (size_t i = 0; i < rm->n && pending > 0; i++) {
		struct retry_entry *r = &rm->v[i];
		if (!r->dirty)
			continue;
		err_clear(&e);
		if (store_imap_uid_put(st, r->folder_id, r->uid, NULL,
		    r->unsaved ? "unsaved" : "retry",
		    r->unsaved ? "unsaved" : "", r->attempts, &e) != 0) {
			log_warnx("cannot record the transient failures of "
			    "%zu message%s yet (%s): counted in memory, "
			    "written later", pending, pending == 1 ? "" : "s",
			    e.msg);
			return;
		}
		r->dirty = 0;
		pending--;
	}
}

/* ---- the source ---- */

struct uidq {
	uint32_t *uids;
	size_t n, cap;
};

struct imap_src {
	struct ingest_source base;
	struct conn *c;
	struct store *st;
	struct pipeline *pl;
	struct retry_mem *rm;            /* the session's failure counts */
	const struct imap_config *cfg;
	const sigset_t *wake;            /* pending = stop between messages */
	size_t fi;                       /* folder index */
	const char *folder;              /* NULL = none open */
	int64_t folder_id;
	uint32_t uidvalidity;
	uint32_t *uids, *sizes;          /* listed in the open folder */
	size_t n_uids, next_uid;
	clist *batch;                    /* fetched messages */
	clistiter *it;
	uint32_t cur_uid;
	enum target cur_target;
	int cur_hooked;                  /* the commit hook ran */
	int cur_left;                    /* not a report, stays (leave) */
	struct uidq q[T__COUNT];         /* to move after the batch */
	struct uidq q_expunge;           /* copied already (COPY fallback,
	                                  * then a crash): only delete */
	struct imap_counts counts;
};

static int
q_add(struct uidq *q, uint32_t uid)
{
	if (q->n == q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 64;
		uint32_t *p = realloc(q->uids, nc * sizeof *p);
		if (p == NULL)
			return ERR_NOMEM;
		q->uids = p;
		q->cap = nc;
	}
	q->uids[q->n++] = uid;
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* A UID set with runs folded into ranges (short command lines). */
static struct mailimap_set *
make_set(uint32_t *uids, size_t n)
{
	struct mailimap_set *set = mailimap_set_new_empty();

	if (set == NULL)
		return NULL;
	qsort(uids, n, sizeof *uids, cmp_u32);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (mailimap_set_add_interval(set, uids[i], uids[j]) !=
		    MAILIMAP_NO_ERROR) {
			mailimap_set_free(set);
			return NULL;
		}
		i = j + 1;
	}
	return set;
}

static void
folder_name(const struct imap_src *s, enum target t, char *out, size_t cap)
{
	if (t == T_ROOT || s->c->delim == '\0')
		snprintf(out, cap, "%s%s%s", s->cfg->archive_folder,
		    t == T_ROOT ? "" : "-", target_names[t]);
	else
		snprintf(out, cap, "%s%c%s", s->cfg->archive_folder,
		    s->c->delim, target_names[t]);
}

/* Flags \Deleted and expunges exactly these UIDs where UIDPLUS allows. */
static int
delete_uids(struct imap_src *s, struct mailimap_set *set, struct err *err)
{
	struct mailimap_flag_list *fl = mailimap_flag_list_new_empty();
	struct mailimap_store_att_flags *sf;
	int r;

	if (fl == NULL || mailimap_flag_list_add(fl,
	    mailimap_flag_new_deleted()) != MAILIMAP_NO_ERROR)
		return err_set(err, ERR_NOMEM, "out of memory");
	sf = mailimap_store_att_flags_new_add_flags_silent(fl);
	if (sf == NULL) {
		mailimap_flag_list_free(fl);
		return err_set(err, ERR_NOMEM, "out of memory");
	}
	r = mailimap_uid_store(s->c->s, set, sf);
	mailimap_store_att_flags_free(sf);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s->c, r, "UID STORE \\Deleted", err);
	r = s->c->has_uidplus ? mailimap_uid_expunge(s->c->s, set) :
	    mailimap_expunge(s->c->s);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(s->c, r, "EXPUNGE", err);
	return 0;
}

/* Marks UIDs archived; not fatal: a row left "stored" only means the
 * next pass re-archives it if it is still there. */
static void
mark_archived(struct imap_src *s, const uint32_t *uids, size_t n)
{
	struct err e;

	err_clear(&e);
	if (store_imap_uids_archived(s->st, s->folder_id, uids, n, &e) != 0)
		log_warnx("%s: cannot mark %zu message%s archived: %s",
		    s->folder ? s->folder : "?", n, n == 1 ? "" : "s", e.msg);
}

static size_t
moves_queued(const struct imap_src *s)
{
	size_t n = s->q_expunge.n;

	for (int t = 0; t < T__COUNT; t++)
		n += s->q[t].n;
	return n;
}

/*
 * Moves (or deletes) the queued UIDs and marks them archived. Without
 * MOVE: COPY, then the rows are marked archived, then \Deleted and
 * EXPUNGE; a crash after the COPY leaves archived rows whose messages
 * are still in the folder, which the next pass only deletes (q_expunge)
 * instead of copying them a second time.
 */
static int
flush_moves(struct imap_src *s, struct err *err)
{
	int rc = 0;

	/* Their commits must survive a power loss before the originals
	 * leave the folder (or the server): the store commits with
	 * synchronous = NORMAL, so sync once for the whole batch. On
	 * failure nothing moves; the rows stay "stored" and the next pass
	 * archives them. */
	if (moves_queued(s) > 0 && (rc = store_sync(s->st, err)) != 0)
		return rc;
	for (int t = 0; t < T__COUNT; t++) {
		struct uidq *q = &s->q[t];
		struct mailimap_set *set;
		char dest[2 * LIM_IMAP_NAME_BYTES];
		int r, del, marked = 0;

		if (q->n == 0)
			continue;
		if ((set = make_set(q->uids, q->n)) == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		/* Only what was stored is deleted: invalid and unsaved
		 * messages are kept for a person to look at. */
		del = s->cfg->delete_after && t != T_INVALID && t != T_UNSAVED;
		folder_name(s, (enum target)t, dest, sizeof dest);
		if (del)
			rc = delete_uids(s, set, err);
		else {
			if (!(s->c->created & (1u << t))) {
				/* Fails harmlessly when it exists. */
				(void)mailimap_create(s->c->s, dest);
				s->c->created |= 1u << t;
			}
			if (s->c->has_move)
				r = mailimap_uid_move(s->c->s, set, dest);
			else {
				r = mailimap_uid_copy(s->c->s, set, dest);
				if (r == MAILIMAP_NO_ERROR) {
					mark_archived(s, q->uids, q->n);
					marked = 1;
					rc = delete_uids(s, set, err);
				}
			}
			if (rc == 0 && r != MAILIMAP_NO_ERROR)
				rc = imap_fail(s->c, r, s->c->has_move ?
				    "UID MOVE" : "UID COPY", err);
		}
		mailimap_set_free(set);
		if (rc != 0) {
			err_where(err, "%s -> %s", s->folder ? s->folder : "?",
			    dest);
			return rc;
		}
		log_debug("%zu message%s %s %s", q->n, q->n == 1 ? "" : "s",
		    del ? "deleted from" : "moved to", del ? s->folder : dest);
		if (t != T_UNSAVED)
			s->counts.archived += q->n;
		if (t == T_INVALID)
			s->counts.invalid += q->n;
		if (t == T_UNSAVED)
			s->counts.unsaved += q->n;
		else if (!marked)   /* unsaved rows keep their state */
			mark_archived(s, q->uids, q->n);
		q->n = 0;
	}
	if (s->q_expunge.n > 0) {
		struct mailimap_set *set = make_set(s->q_expunge.uids,
		    s->q_expunge.n);
		if (set == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		rc = delete_uids(s, set, err);
		mailimap_set_free(set);
		if (rc != 0) {
			err_where(err, "%s", s->folder ? s->folder : "?");
			return rc;
		}
		log_debug("%zu message%s copied before, now deleted from %s",
		    s->q_expunge.n, s->q_expunge.n == 1 ? "" : "s", s->folder);
		s->counts.archived += s->q_expunge.n;
		s->q_expunge.n = 0;
	}
	return 0;
}


static void
batch_free(struct imap_src *s)
{
	if (s->batch != NULL)
		mailimap_fetch_list_free(s->batch);
	s->batch = NULL;
	s->it = NULL;
}

static void
folder_close(struct imap_src *s)
{
	free(s->uids);
	free(s->sizes);
	s->uids = s->sizes = NULL;
	s->n_uids = s->next_uid = 0;
	s->folder = NULL;
}

/* UID and the attribute wanted from one FETCH response. */
static void
att_get(struct mailimap_msg_att *ma, uint32_t *uid, uint32_t *size,
    const char **body, size_t *blen)
{
	for (clistiter *i = clist_begin(ma->att_list); i; i = clist_next(i)) {
		struct mailimap_msg_att_item *it = clist_content(i);
		if (it->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		switch (it->att_data.att_static->att_type) {
		case MAILIMAP_MSG_ATT_UID:
			*uid = it->att_data.att_static->att_data.att_uid;
			break;
		case MAILIMAP_MSG_ATT_RFC822_SIZE:
			if (size)
				*size = it->att_data.att_static->att_data.
				    att_rfc822_size;
			break;
		case MAILIMAP_MSG_ATT_BODY_SECTION:
			if (body) {
				struct mailimap_msg_att_body_section *b =
				    it->att_data.att_static->att_data.
				    att_body_section;
				*body = b->sec_body_part;
				*blen = b->sec_length;
			}
			break;
		default:
			break;
		}
	}
}

static int
folder_open(struct imap_src *s, const char *folder, struct err *err)
{
	struct mailimap_fetch_type *ft = NULL;
	struct mailimap_set *set = NULL;
	clist *res = NULL;
	uint32_t exists;
	int changed = 0, r, rc;

	r = mailimap_select(s->c->s, folder);
	if (r != MAILIMAP_NO_ERROR) {
		rc = imap_fail(s->c, r, "SELECT", err);
		err_where(err, "%s", folder);
		return rc;
	}
	snprintf(s->c->selected, sizeof s->c->selected, "%s", folder);
	s->uidvalidity = s->c->s->imap_selection_info->sel_uidvalidity;
	exists = s->c->s->imap_selection_info->sel_exists;
	if ((rc = store_imap_folder(s->st, s->c->account, folder,
	    s->uidvalidity, &s->folder_id, &changed, err)) != 0)
		return rc;
	if (changed) {
		log_warnx("imap://%s@%s/%s: UIDVALIDITY changed to %u: "
		    "rescanning the folder (known messages are only "
		    "re-archived)", s->cfg->user, s->cfg->host, folder,
		    s->uidvalidity);
		retry_forget(s->rm, s->folder_id, 0);
	}
	s->folder = folder;
	s->counts.folders++;
	if (exists == 0)
		return 0;
	/* Every UID with its size: oversized messages are not fetched. */
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	set = mailimap_set_new_interval(1, 0);
	if (ft == NULL || set == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid()) != MAILIMAP_NO_ERROR ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_rfc822_size()) != MAILIMAP_NO_ERROR) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	r = mailimap_uid_fetch(s->c->s, set, ft, &res);
	if (r != MAILIMAP_NO_ERROR) {
		rc = imap_fail(s->c, r, "UID FETCH 1:* (UID RFC822.SIZE)", err);
		err_where(err, "%s", folder);
		goto out;
	}
	s->n_uids = 0;
	s->uids = calloc(clist_count(res) + 1, sizeof *s->uids);
	s->sizes = calloc(clist_count(res) + 1, sizeof *s->sizes);
	if (s->uids == NULL || s->sizes == NULL) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	for (clistiter *i = clist_begin(res); i && s->n_uids < LIM_IMAP_UIDS;
	    i = clist_next(i)) {
		uint32_t uid = 0, size = 0;
		att_get(clist_content(i), &uid, &size, NULL, NULL);
		if (uid == 0)
			continue;
		s->uids[s->n_uids] = uid;
		s->sizes[s->n_uids++] = size;
	}
	rc = 0;
out:
	if (res != NULL)
		mailimap_fetch_list_free(res);
	if (set != NULL)
		mailimap_set_free(set);
	if (ft != NULL)
		mailimap_fetch_type_free(ft);
	return rc;
}

static void
set_origin(struct imap_src *s, struct ingest_msg *m, uint32_t uid);

/* The transient failures of a UID so far: its imap_uids row or the
 * session's count, whichever is higher (see struct retry_mem). */
static int
attempts_of(const struct imap_src *s, uint32_t uid,
    const struct store_imap_uid *row, int have_row)
{
	const struct retry_entry *r = retry_find(s->rm, s->folder_id, uid);
	int a = have_row && strcmp(row->state, "retry") == 0 ?
	    row->attempts : 0;

	return r != NULL && r->attempts > a ? r->attempts : a;
}

/* LIM_IMAP_RETRIES reached: queued for 'unsaved' (never deleted), its row
 * written now or, if the database refuses, later (retry_flush). */
static int
give_up(struct imap_src *s, uint32_t uid, int attempts, struct err *err)
{
	struct retry_entry *r = retry_get(s->rm, s->folder_id, uid);
	char dest[2 * LIM_IMAP_NAME_BYTES];
	struct ingest_msg m;

	folder_name(s, T_UNSAVED, dest, sizeof dest);
	set_origin(s, &m, uid);
	log_error("%s: %d transient failures (LIM_IMAP_RETRIES): -> %s, "
	    "not stored", m.origin, attempts, dest);
	if (r != NULL) {
		r->attempts = attempts;
		r->unsaved = 1;
		r->dirty = 1;
	} else {
		struct err e;
		err_clear(&e);
		if (store_imap_uid_put(s->st, s->folder_id, uid, NULL,
		    "unsaved", "unsaved", attempts, &e) != 0)
			log_warnx("%s: %s", m.origin, e.msg);
	}
	return q_add(&s->q[T_UNSAVED], uid) < 0 ?
	    err_set(err, ERR_NOMEM, "out of memory") : 0;
}

/*
 * Picks the next batch from the listed UIDs: known ones are queued for
 * re-archiving directly; up to `batch` others (and LIM_IMAP_BATCH_BYTES)
 * are fetched with one UID FETCH. An oversized message is returned alone
 * in *oversize (1) to be rejected without fetching it.
 */
static int
next_batch(struct imap_src *s, uint32_t *oversize, struct err *err)
{
	uint32_t want[LIM_IMAP_BATCH];
	size_t n = 0, bytes = 0;
	unsigned batch = s->cfg->batch ? s->cfg->batch : 1;
	struct mailimap_fetch_type *ft = NULL;
	struct mailimap_set *set = NULL;
	int r, rc;

	*oversize = 0;
	if (batch > LIM_IMAP_BATCH)
		batch = LIM_IMAP_BATCH;
	while (s->next_uid < s->n_uids && n < batch) {
		uint32_t uid = s->uids[s->next_uid];
		uint32_t size = s->sizes[s->next_uid];
		struct store_imap_uid row;

		int have, attempts;

		rc = store_imap_uid_get(s->st, s->folder_id, uid, &row, err);
		if (rc < 0)
			return rc;
		have = rc == 1;
		if (have && strcmp(row.state, "archived") == 0 &&
		    !s->c->has_move && !s->cfg->delete_after) {
			/* Copied to the archive, then a crash before the
			 * EXPUNGE: delete it, do not copy it again. */
			s->next_uid++;
			if (q_add(&s->q_expunge, uid) < 0)
				return err_set(err, ERR_NOMEM, "out of memory");
			continue;
		}
		if (have && (strcmp(row.state, "stored") == 0 ||
		    strcmp(row.state, "archived") == 0)) {
			/* Stored before, not moved yet (a crash, or the
			 * move failed): archive it now. */
			s->next_uid++;
			if (q_add(&s->q[target_of_name(row.target)], uid) < 0)
				return err_set(err, ERR_NOMEM, "out of memory");
			continue;
		}
		if (have && strcmp(row.state, "unsaved") == 0) {
			s->next_uid++;
			if (q_add(&s->q[T_UNSAVED], uid) < 0)
				return err_set(err, ERR_NOMEM, "out of memory");
			continue;
		}
		if (have && strcmp(row.state, "left") == 0) {
			/* Not a report, left here (non_reports = leave):
			 * never fetched again. Moved to invalid when the
			 * configuration now says so. */
			s->next_uid++;
			if (s->cfg->non_reports == IMAP_NONREPORT_LEAVE) {
				s->counts.left++;
				continue;
			}
			if ((rc = store_imap_uid_put(s->st, s->folder_id, uid,
			    NULL, "stored", "invalid", 0, err)) != 0)
				return rc;
			if (q_add(&s->q[T_INVALID], uid) < 0)
				return err_set(err, ERR_NOMEM, "out of memory");
			continue;
		}
		attempts = attempts_of(s, uid, &row, have);
		if (attempts >= LIM_IMAP_RETRIES) {
			s->next_uid++;
			if ((rc = give_up(s, uid, attempts, err)) < 0)
				return rc;
			continue;
		}
		if (size > LIM_MESSAGE_BYTES) {
			if (n > 0)
				break;          /* fetch what we have first */
			s->next_uid++;
			*oversize = uid;
			return 0;
		}
		if (n > 0 && bytes + size > LIM_IMAP_BATCH_BYTES)
			break;
		bytes += size;
		want[n++] = uid;
		s->next_uid++;
	}
	if (n == 0)
		return 0;
	ft = mailimap_fetch_type_new_fetch_att_list_empty();
	set = make_set(want, n);
	if (ft == NULL || set == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_uid()) != MAILIMAP_NO_ERROR ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft,
	    mailimap_fetch_att_new_body_peek_section(
	    mailimap_section_new(NULL))) != MAILIMAP_NO_ERROR) {
		rc = err_set(err, ERR_NOMEM, "out of memory");
		goto out;
	}
	r = mailimap_uid_fetch(s->c->s, set, ft, &s->batch);
	if (r != MAILIMAP_NO_ERROR) {
		s->batch = NULL;
		rc = imap_fail(s->c, r, "UID FETCH (BODY.PEEK[])", err);
		err_where(err, "%s", s->folder);
		goto out;
	}
	s->it = clist_begin(s->batch);
	rc = 0;
out:
	if (set != NULL)
		mailimap_set_free(set);
	if (ft != NULL)
		mailimap_fetch_type_free(ft);
	return rc;
}

static int
wake_pending(const struct imap_src *s)
{
	sigset_t p;

	if (s->wake == NULL || sigpending(&p) != 0)
		return 0;
	for (int sig = 1; sig < 32; sig++)
		if (sigismember(s->wake, sig) == 1 && sigismember(&p, sig) == 1)
			return 1;
	return 0;
}

static void
set_origin(struct imap_src *s, struct ingest_msg *m, uint32_t uid)
{
	snprintf(m->origin, sizeof m->origin,
	    "imap://%s@%s/%s;UIDVALIDITY=%u/;UID=%u", s->cfg->user,
	    s->cfg->host, s->folder, s->uidvalidity, uid);
}

static int
imap_next(struct ingest_source *src, struct ingest_msg *m, struct err *err)
{
	struct imap_src *s = src->impl;
	int rc;

	for (;;) {
		/* A stop request ends the pass between messages. */
		if (wake_pending(s)) {
			batch_free(s);
			return flush_moves(s, err);
		}
		while (s->it != NULL) {
			uint32_t uid = 0;
			const char *body = NULL;
			size_t blen = 0;

			att_get(clist_content(s->it), &uid, NULL, &body, &blen);
			s->it = clist_next(s->it);
			if (uid == 0 || body == NULL) {
				/* expunged meanwhile, or a FETCH about
				 * flags only */
				s->counts.skipped++;
				continue;
			}
			memset(m, 0, sizeof *m);
			m->data = (const unsigned char *)body;
			m->len = blen;
			m->form = MSG_FORM_MESSAGE;
			m->kind = "imap-message";
			set_origin(s, m, uid);
			s->cur_uid = uid;
			s->cur_hooked = 0;
			return 1;
		}
		batch_free(s);
		if (moves_queued(s) >= IMAP_MOVE_BATCH &&
		    (rc = flush_moves(s, err)) != 0)
			return rc;
		if (s->folder != NULL && s->next_uid < s->n_uids) {
			uint32_t big;
			if ((rc = next_batch(s, &big, err)) != 0)
				return rc;
			if (big != 0) {
				memset(m, 0, sizeof *m);
				m->form = MSG_FORM_MESSAGE;
				m->kind = "imap-message";
				set_origin(s, m, big);
				m->read_failed = 1;
				err_clear(&m->read_err);
				err_set(&m->read_err, ERR_TOO_LARGE, "message "
				    "larger than LIM_MESSAGE_BYTES (%u): not "
				    "fetched", LIM_MESSAGE_BYTES);
				s->cur_uid = big;
				s->cur_hooked = 0;
				return 1;
			}
			continue;
		}
		if ((rc = flush_moves(s, err)) != 0)
			return rc;
		if (s->folder != NULL) {
			folder_close(s);
			s->fi++;
		}
		if (s->fi >= (s->cfg->n_folders ? s->cfg->n_folders : 1))
			return 0;
		rc = folder_open(s, s->cfg->n_folders ?
		    s->cfg->folders[s->fi] : "INBOX", err);
		if (rc != 0)
			return rc;
	}
}

/* Inside the message's transaction (pipeline_set_commit_hook). */
static int
imap_commit_hook(void *ctx, const struct ingest_msg *m, const char *sha256,
    int outcome, unsigned kinds, struct err *err)
{
	struct imap_src *s = ctx;
	enum target t = T_ROOT;
	int rc, noreport = 0;

	(void)m;
	s->cur_left = 0;
	/* Nothing in it is a report (new, or bytes known as such): what
	 * non_reports says. A malformed report is always invalid. */
	if (sha256 != NULL && (outcome == MSG_REJECTED ||
	    (outcome == MSG_DUPLICATE && kinds == 0))) {
		noreport = store_imap_noreport(s->st, sha256, err);
		if (noreport < 0)
			return noreport;
	}
	if (noreport)
		t = T_INVALID;
	else if (outcome == MSG_REJECTED)
		t = T_INVALID;
	else if (kinds & (1u << REPORT_AGGREGATE))
		t = T_AGGREGATE;
	else if (kinds & (1u << REPORT_TLSRPT))
		t = T_TLSRPT;
	else if (kinds & (1u << REPORT_FAILURE))
		t = T_FAILURE;
	else {
		char name[16];
		rc = store_imap_target_of(s->st, sha256, name, sizeof name,
		    err);
		if (rc < 0)
			return rc;
		/* Bytes imported from elsewhere with no kind on record go
		 * to the archive folder itself. */
		t = rc == 1 ? target_of_name(name) : T_ROOT;
	}
	if (noreport && s->cfg->non_reports == IMAP_NONREPORT_LEAVE) {
		rc = store_imap_uid_put(s->st, s->folder_id, s->cur_uid, sha256,
		    "left", "invalid", 0, err);
		s->cur_left = 1;
	} else
		rc = store_imap_uid_put(s->st, s->folder_id, s->cur_uid, sha256,
		    "stored", target_names[t], 0, err);
	if (rc != 0)
		return rc;
	s->cur_target = t;
	s->cur_hooked = 1;
	return 0;
}

/* Where a message with this target ends up, for its log line. */
static void
dest_text(const struct imap_src *s, enum target t, char *out, size_t cap)
{
	if (s->cfg->delete_after && t != T_INVALID && t != T_UNSAVED)
		snprintf(out, cap, "deleted (delete_after)");
	else
		folder_name(s, t, out, cap);
}

/*
 * The outcome of one message: its one log line (what became of it and
 * where it goes), then queue its move, or count the transient failure.
 */
static int
imap_done(struct ingest_source *src, const struct ingest_msg *m,
    int outcome, struct err *err)
{
	struct imap_src *s = src->impl;
	const struct pipeline_msg_summary *ls = pipeline_last(s->pl);
	char dest[2 * LIM_IMAP_NAME_BYTES + 32];
	struct store_imap_uid row;
	struct err e;
	int rc;

	if (outcome < 0) {
		struct retry_entry *r;
		int attempts;

		/* Read access works while another process holds the write
		 * lock (WAL); when it fails too, the memory counts alone. */
		err_clear(&e);
		rc = store_imap_uid_get(s->st, s->folder_id, s->cur_uid, &row,
		    &e);
		attempts = attempts_of(s, s->cur_uid, &row, rc == 1) + 1;
		r = retry_get(s->rm, s->folder_id, s->cur_uid);
		if (r != NULL) {
			r->attempts = attempts;
			r->unsaved = 0;
			r->dirty = 1;   /* written at the end of the pass */
		} else if (store_imap_uid_put(s->st, s->folder_id, s->cur_uid,
		    NULL, "retry", "", attempts, &e) != 0)
			log_warnx("%s: cannot count the failure: %s",
			    m->origin, e.msg);
		log_error("%s: not stored: %s%s%s (transient failure %d of "
		    "%d): left in place, retried on the next pass", m->origin,
		    ls->transient.msg, ls->transient.where[0] ? " at " : "",
		    ls->transient.where, attempts, LIM_IMAP_RETRIES);
		s->counts.retry++;
		return 0;
	}
	/* Stored, known or rejected: a count from earlier failures is
	 * over (and must not overwrite the row the commit wrote). */
	retry_forget(s->rm, s->folder_id, s->cur_uid);
	if (!s->cur_hooked) {
		/* Defensive: every outcome >= 0 passes the commit hook. */
		s->cur_target = T_INVALID;
		s->cur_left = 0;
	}
	if (s->cur_left) {
		log_info("%s: not a report (%s): left in place (non_reports "
		    "= leave)", m->origin, ls->first_reject);
		s->counts.left++;
		return 0;
	}
	dest_text(s, s->cur_target, dest, sizeof dest);
	if (outcome == MSG_STORED)
		log_info("%s: stored %d report%s (%llu records) -> %s",
		    m->origin, ls->reports_new, ls->reports_new == 1 ? "" :
		    "s", (unsigned long long)ls->records, dest);
	else if (outcome == MSG_PARTIAL)
		log_warnx("%s: stored %d report%s (%llu records)%s, %d "
		    "part%s rejected (first: %s) -> %s", m->origin,
		    ls->reports_new, ls->reports_new == 1 ? "" : "s",
		    (unsigned long long)ls->records, ls->reports_known ?
		    ", some already known" : "", ls->rejected,
		    ls->rejected == 1 ? "" : "s", ls->first_reject, dest);
	else if (outcome == MSG_REJECTED)
		log_warnx("%s: rejected: %s -> %s", m->origin,
		    ls->first_reject, dest);
	else
		log_info("%s: already known -> %s", m->origin, dest);
	if (q_add(&s->q[s->cur_target], s->cur_uid) < 0)
		return err_set(err, ERR_NOMEM, "out of memory");
	return 0;
}

static void
imap_close(struct ingest_source *src)
{
	struct imap_src *s = src->impl;

	batch_free(s);
	folder_close(s);
	for (int t = 0; t < T__COUNT; t++)
		free(s->q[t].uids);
	free(s->q_expunge.uids);
	free(s);
}

static const struct ingest_source_ops imap_ops = {
	.name = "imap",
	.next = imap_next,
	.done = imap_done,
	.close = imap_close,
};

/* One pass over the configured folders on an open connection. rm: the
 * session's transient-failure counts (kept by the caller between passes;
 * written to the database at the end of the pass). */
static int
run_pass(struct conn *c, struct store *st, struct pipeline *pl,
    struct retry_mem *rm, const struct imap_config *cfg,
    const sigset_t *wake, struct imap_counts *counts, struct err *err)
{
	struct imap_src *s = calloc(1, sizeof *s);
	int rc;

	if (s == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	s->base.ops = &imap_ops;
	s->base.impl = s;
	s->c = c;
	s->st = st;
	s->pl = pl;
	s->rm = rm;
	s->cfg = cfg;
	s->wake = wake;
	pipeline_set_commit_hook(pl, imap_commit_hook, s);
	pipeline_set_source_logs(pl, 1);
	rc = pipeline_run(pl, &s->base, NULL, NULL, err);
	pipeline_set_source_logs(pl, 0);
	pipeline_set_commit_hook(pl, NULL, NULL);
	retry_flush(rm, st);
	log_debug("pass %s: %llu folder%s, %llu archived, %llu left in "
	    "place, %llu to retry", rc == 0 ? "done" : "failed",
	    (unsigned long long)s->counts.folders,
	    s->counts.folders == 1 ? "" : "s",
	    (unsigned long long)s->counts.archived,
	    (unsigned long long)(s->counts.left + s->counts.skipped),
	    (unsigned long long)s->counts.retry);
	counts->folders += s->counts.folders;
	counts->archived += s->counts.archived;
	counts->invalid += s->counts.invalid;
	counts->unsaved += s->counts.unsaved;
	counts->retry += s->counts.retry;
	counts->skipped += s->counts.skipped;
	counts->left += s->counts.left;
	imap_close(&s->base);
	return rc;
}

int
ingest_imap_fetch(const char *db_path, const struct imap_config *cfg,
    const struct pipeline_opts *opts, struct pipeline_stats *stats,
    struct imap_counts *counts, struct err *err)
{
	struct store *st = NULL;
	struct pipeline *pl = NULL;
	struct retry_mem rm;
	struct conn c;
	int rc;

	memset(stats, 0, sizeof *stats);
	memset(counts, 0, sizeof *counts);
	memset(&c, 0, sizeof c);
	memset(&rm, 0, sizeof rm);
	if ((rc = store_open(db_path, 0, &st, err)) != 0) {
		err_where(err, "%s", db_path);
		goto out;
	}
	if ((rc = pipeline_new(st, opts, &pl)) != 0) {
		err_set(err, rc, "out of memory");
		goto out;
	}
	if ((rc = conn_open(&c, cfg, err)) != 0)
		goto out;
	rc = run_pass(&c, st, pl, &rm, cfg, NULL, counts, err);
	*stats = *pipeline_stats(pl);
out:
	conn_close(&c);
	pipeline_free(pl);
	store_free(st);
	retry_mem_free(&rm);
	return rc;
}

/* ---- watch ---- */

/* Sleeps ms with the wake signals let through. Returns 1 when woken. */
static int
wait_ms(const struct imap_watch_ctl *ctl, int fd, long ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	sigset_t open_mask;
	int r;

	if (*ctl->stop || *ctl->reload)
		return 1;
	pthread_sigmask(SIG_BLOCK, NULL, &open_mask);
	for (int sig = 1; sig < 32; sig++)
		if (sigismember(ctl->wake, sig) == 1)
			sigdelset(&open_mask, sig);
	r = ppoll(fd >= 0 ? &pfd : NULL, fd >= 0 ? 1 : 0, &ts, &open_mask);
	if (r < 0 && errno == EINTR)
		return 1;
	return r > 0 ? 2 : 0;
}

/*
 * Runs the handlers of wake signals that are pending now (they set *stop
 * or *reload), then blocks the signals again. A pass ends early when one
 * is pending (imap_next) without letting it through, so the loop must do
 * this before it decides what comes next: else it starts another pass,
 * which ends at once on the same pending signal, and so on for ever.
 * POSIX delivers at least one pending signal per unblock: loop until none
 * of ours is left (bounded: there are fewer than 32 of them).
 */
static void
take_pending_signals(const struct imap_watch_ctl *ctl)
{
	for (int i = 0; i < 32; i++) {
		sigset_t p, old;
		int any = 0;

		if (sigpending(&p) != 0)
			return;
		for (int sig = 1; sig < 32; sig++)
			if (sigismember(ctl->wake, sig) == 1 &&
			    sigismember(&p, sig) == 1)
				any = 1;
		if (!any)
			return;
		if (pthread_sigmask(SIG_UNBLOCK, ctl->wake, &old) != 0)
			return;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* IDLE on the selected folder until something happens, a signal or the
 * re-issue limit. Returns 0, or <0 on a network error. */
static int
idle_wait(struct conn *c, const struct imap_watch_ctl *ctl, struct err *err)
{
	int64_t start = now_ms();
	int r, w = 0, fd;

	r = mailimap_idle(c->s);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(c, r, "IDLE", err);
	fd = mailimap_idle_get_fd(c->s);
	while (c->s->imap_stream->read_buffer_len == 0 && fd >= 0) {
		long left = imap_idle_left_ms(start, now_ms());
		if (left <= 0)
			break;          /* LIM_IMAP_IDLE_SECONDS: re-issue */
		w = wait_ms(ctl, fd, left);
		if (w != 0)
			break;
	}
	r = mailimap_idle_done(c->s);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(c, r, "IDLE DONE", err);
	return 0;
}

/*
 * Polling: sleeps poll_interval, with a NOOP whenever the connection
 * would otherwise sit silent longer than LIM_IMAP_NOOP_SECONDS. A NOOP
 * that fails closes the connection quietly: the server logged us out
 * while we slept, the next pass connects again.
 */
static void
poll_wait(struct conn *c, const struct imap_watch_ctl *ctl,
    unsigned interval_s)
{
	int64_t start = now_ms(), last_cmd = start;

	for (;;) {
		int noop = 0;
		long ms = imap_poll_slice_ms(interval_s, start, last_cmd,
		    now_ms(), &noop);

		if (ms == 0 && !noop)
			return;
		if (ms > 0 && wait_ms(ctl, -1, ms) == 1)
			return;         /* a signal */
		if (noop && c->s != NULL) {
			int r = mailimap_noop(c->s);
			last_cmd = now_ms();
			if (r != MAILIMAP_NO_ERROR) {
				log_info("%s: the connection was closed while "
				    "waiting (NOOP failed): reconnecting for "
				    "the next pass", c->cfg->host);
				conn_close(c);
			}
		} else if (noop)
			last_cmd = now_ms();
	}
}

/* After a network or server error: close, log, wait the backoff. */
static void
fail_and_wait(struct conn *c, const struct imap_watch_ctl *ctl,
    unsigned *attempt, const struct err *e, const char *what)
{
	long ms = imap_backoff_ms((*attempt)++, (unsigned long)random());

	log_error("%s%s%s; %s in %ld.%ld s", e->msg, e->where[0] ? " at " :
	    "", e->where, what, ms / 1000, (ms % 1000) / 100);
	conn_close(c);
	wait_ms(ctl, -1, ms);
}

int
ingest_imap_watch(const char *db_path, struct imap_config *cfg,
    struct pipeline_opts *opts, const struct imap_watch_ctl *ctl,
    struct err *err)
{
	struct store *st = NULL;
	struct pipeline *pl = NULL;
	struct conn c;
	struct retry_mem rm;
	unsigned attempt = 0;
	int rc;

	memset(&c, 0, sizeof c);
	memset(&rm, 0, sizeof rm);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	if ((rc = store_open(db_path, 0, &st, err)) != 0) {
		err_where(err, "%s", db_path);
		return rc;
	}
	if ((rc = pipeline_new(st, opts, &pl)) != 0) {
		store_free(st);
		return err_set(err, rc, "out of memory");
	}
	while (!*ctl->stop) {
		struct imap_counts counts;
		struct err e;

		if (*ctl->reload) {
			*ctl->reload = 0;
			conn_close(&c);
			if (ctl->reload_fn(ctl->ctx, cfg, opts) == 0) {
				pipeline_free(pl);
				pl = NULL;
				if ((rc = pipeline_new(st, opts, &pl)) != 0) {
					err_set(err, rc, "out of memory");
					break;
				}
				log_info("configuration re-read");
			}
		}
		err_clear(&e);
		if (c.s == NULL && (rc = conn_open(&c, cfg, &e)) != 0) {
			fail_and_wait(&c, ctl, &attempt, &e, "retrying");
			continue;
		}
		memset(&counts, 0, sizeof counts);
		rc = run_pass(&c, st, pl, &rm, cfg, ctl->wake, &counts, &e);
		take_pending_signals(ctl);
		if (rc != 0) {
			fail_and_wait(&c, ctl, &attempt, &e, "reconnecting");
			continue;
		}
		if (*ctl->stop || *ctl->reload)
			continue;
		if (c.has_idle && cfg->n_folders <= 1 && counts.retry == 0) {
			/* Mail that arrived during the pass was announced
			 * before IDLE started: a fresh SELECT counts it, and
			 * anything beyond what the pass had to leave means
			 * another pass now. */
			int r = mailimap_select(c.s, cfg->n_folders ?
			    cfg->folders[0] : "INBOX");
			if (r != MAILIMAP_NO_ERROR) {
				imap_fail(&c, r, "SELECT", &e);
				fail_and_wait(&c, ctl, &attempt, &e,
				    "reconnecting");
				continue;
			}
			if (c.s->imap_selection_info->sel_exists >
			    counts.skipped + counts.left)
				continue;
			if ((rc = idle_wait(&c, ctl, &e)) != 0) {
				fail_and_wait(&c, ctl, &attempt, &e,
				    "reconnecting");
				continue;
			}
			/* Only a whole cycle (pass, SELECT, IDLE, DONE)
			 * shows the server works: a server that fails IDLE
			 * every time keeps backing off. */
			attempt = 0;
		} else {
			attempt = 0;    /* polling: the pass was the cycle */
			poll_wait(&c, ctl, cfg->poll_interval);
		}
	}
	conn_close(&c);
	retry_flush(&rm, st);
	retry_mem_free(&rm);
	pipeline_free(pl);
	store_free(st);
	log_info("stopped");
	return 0;
}

#else /* !HAVE_IMAP */

int
ingest_imap_fetch(const char *db_path, const struct imap_config *cfg,
    const struct pipeline_opts *opts, struct pipeline_stats *stats,
    struct imap_counts *counts, struct err *err)
{
	(void)db_path; (void)cfg; (void)opts;
	memset(stats, 0, sizeof *stats);
	memset(counts, 0, sizeof *counts);
	return err_set(err, ERR_UNSUPPORTED, "built without IMAP (libetpan)");
}

int
ingest_imap_watch(const char *db_path, struct imap_config *cfg,
    struct pipeline_opts *opts, const struct imap_watch_ctl *ctl,
    struct err *err)
{
	(void)db_path; (void)cfg; (void)opts; (void)ctl;
	return err_set(err, ERR_UNSUPPORTED, "built without IMAP (libetpan)");
}

#endif
