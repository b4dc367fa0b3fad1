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
#include <time.h>
#include <unistd.h>

#include "dw_config.h"
#include "../common/log.h"
#include "../common/strparse.h"
#include "../store/store.h"
#include "imap.h"
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

int
imap_secret_file_check(const char *path, struct err *err)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return err_set(err, errno == ENOENT ? ERR_NOTFOUND : ERR_INVAL,
		    "%s: %s", path, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return err_set(err, ERR_INVAL, "%s: not a regular file", path);
	if ((sb.st_mode & 077) != 0)
		return err_set(err, ERR_INVAL, "%s: readable or writable by "
		    "group or others (mode %04o): chmod 600 it", path,
		    (unsigned)(sb.st_mode & 07777));
	return 0;
}

#if HAVE_IMAP

#include <libetpan/libetpan.h>

/* Network timeout of one IMAP read or write. A UID FETCH of a batch
 * streams continuously; a minute of silence means the peer is gone. */
#define IMAP_TIMEOUT_SECONDS 60

/* IDLE is re-issued after this: RFC 2177 lets servers drop an idle client
 * after 30 minutes, many do at 29. */
#define IMAP_IDLE_SECONDS (28 * 60)

/* Reconnect backoff: 1 s doubling up to 5 minutes, with up to 50% jitter
 * so that many pollers do not return in step after a server restart. */
#define IMAP_BACKOFF_FIRST_MS 1000
#define IMAP_BACKOFF_MAX_MS (300 * 1000)

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
		from_cmd = 1;
		fflush(NULL);
		f = popen(cfg->token_command, "r");
		if (f == NULL)
			return err_set(err, ERR_AUTH, "token_command cannot be "
			    "run: %s", strerror(errno));
	} else {
		const char *path = cfg->auth == IMAP_AUTH_XOAUTH2 ?
		    cfg->token_file : cfg->password_file;
		if ((rc = imap_secret_file_check(path, err)) != 0)
			return err_set(err, ERR_AUTH, "%s", err->msg);
		f = fopen(path, "re");
		if (f == NULL)
			return err_set(err, ERR_AUTH, "%s: %s", path,
			    strerror(errno));
	}
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	if (from_cmd) {
		int st = pclose(f);
		if (st != 0) {
			explicit_bzero(out, cap);
			return err_set(err, ERR_AUTH, "token_command failed "
			    "(status %d)", st);
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
	const unsigned char *der[16];
	size_t len[16];
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
	if (n > 16)
		n = 16;
	for (unsigned i = 0; i < n; i++) {
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

/* ---- the source ---- */

struct uidq {
	uint32_t *uids;
	size_t n, cap;
};

struct imap_src {
	struct ingest_source base;
	struct conn *c;
	struct store *st;
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
	struct uidq q[T__COUNT];         /* to move after the batch */
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

static size_t
moves_queued(const struct imap_src *s)
{
	size_t n = 0;

	for (int t = 0; t < T__COUNT; t++)
		n += s->q[t].n;
	return n;
}

/* Moves (or deletes) the queued UIDs, then marks them archived. */
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
		int r, del;

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
					rc = delete_uids(s, set, err);
					r = MAILIMAP_NO_ERROR;
				}
			}
			if (rc == 0 && r != MAILIMAP_NO_ERROR)
				rc = imap_fail(s->c, r, "UID MOVE", err);
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
		rc = store_imap_uids_archived(s->st, s->folder_id, q->uids,
		    q->n, err);
		q->n = 0;
		/* Not fatal: the rows stay "stored"; the next pass no longer
		 * finds those UIDs in the folder. */
		if (rc != 0) {
			log_warnx("%s: %s", err->where, err->msg);
			rc = 0;
		}
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
	if (changed)
		log_warnx("imap://%s@%s/%s: UIDVALIDITY changed to %u: "
		    "rescanning the folder (known messages are only "
		    "re-archived)", s->cfg->user, s->cfg->host, folder,
		    s->uidvalidity);
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

/* Transient failures so far; at LIM_IMAP_RETRIES the message goes to
 * 'unsaved'. Returns 1 when it was queued there. */
static int
retry_or_unsave(struct imap_src *s, uint32_t uid, int attempts,
    struct err *err)
{
	struct err e;

	err_clear(&e);
	if (attempts >= LIM_IMAP_RETRIES) {
		log_error("imap://%s@%s/%s;UIDVALIDITY=%u/;UID=%u: %d "
		    "transient failures: moved to the 'unsaved' folder "
		    "(LIM_IMAP_RETRIES)", s->cfg->user, s->cfg->host,
		    s->folder, s->uidvalidity, uid, attempts);
		if (store_imap_uid_put(s->st, s->folder_id, uid, NULL,
		    "unsaved", "unsaved", attempts, &e) != 0)
			log_warnx("%s", e.msg);
		return q_add(&s->q[T_UNSAVED], uid) < 0 ?
		    err_set(err, ERR_NOMEM, "out of memory") : 1;
	}
	if (store_imap_uid_put(s->st, s->folder_id, uid, NULL, "retry", "",
	    attempts, &e) != 0)
		log_warnx("cannot count the retry: %s", e.msg);
	s->counts.retry++;
	return 0;
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

		rc = store_imap_uid_get(s->st, s->folder_id, uid, &row, err);
		if (rc < 0)
			return rc;
		if (rc == 1 && (strcmp(row.state, "stored") == 0 ||
		    strcmp(row.state, "archived") == 0)) {
			/* Stored before, not moved yet (a crash, or the
			 * move failed): archive it now. */
			s->next_uid++;
			if (q_add(&s->q[target_of_name(row.target)], uid) < 0)
				return err_set(err, ERR_NOMEM, "out of memory");
			continue;
		}
		if (rc == 1 && strcmp(row.state, "unsaved") == 0) {
			s->next_uid++;
			if (q_add(&s->q[T_UNSAVED], uid) < 0)
				return err_set(err, ERR_NOMEM, "out of memory");
			continue;
		}
		if (rc == 1 && strcmp(row.state, "retry") == 0 &&
		    row.attempts >= LIM_IMAP_RETRIES) {
			s->next_uid++;
			if ((rc = retry_or_unsave(s, uid, row.attempts,
			    err)) < 0)
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
	int rc;

	if (outcome == MSG_REJECTED)
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
	(void)m;
	rc = store_imap_uid_put(s->st, s->folder_id, s->cur_uid, sha256,
	    "stored", target_names[t], 0, err);
	if (rc != 0)
		return rc;
	s->cur_target = t;
	s->cur_hooked = 1;
	return 0;
}

static int
imap_done(struct ingest_source *src, const struct ingest_msg *m,
    int outcome, struct err *err)
{
	struct imap_src *s = src->impl;
	struct store_imap_uid row;
	struct err e;
	int rc;

	if (outcome < 0) {
		err_clear(&e);
		rc = store_imap_uid_get(s->st, s->folder_id, s->cur_uid, &row,
		    &e);
		rc = retry_or_unsave(s, s->cur_uid, (rc == 1 ? row.attempts :
		    0) + 1, err);
		return rc < 0 ? rc : 0;
	}
	if (!s->cur_hooked) {
		/* Not through the commit hook: a message not even fetched
		 * (over the size cap), rejected by the pipeline. */
		s->cur_target = T_INVALID;
		err_clear(&e);
		if (store_imap_uid_put(s->st, s->folder_id, s->cur_uid, NULL,
		    "stored", "invalid", 0, &e) != 0)
			log_warnx("%s: %s", m->origin, e.msg);
	}
	if (s->cur_target == T_INVALID)
		log_info("%s: no usable report: moving to %s/invalid",
		    m->origin, s->cfg->archive_folder);
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
	free(s);
}

static const struct ingest_source_ops imap_ops = {
	.name = "imap",
	.next = imap_next,
	.done = imap_done,
	.close = imap_close,
};

/* One pass over the configured folders on an open connection. */
static int
run_pass(struct conn *c, struct store *st, struct pipeline *pl,
    const struct imap_config *cfg, const sigset_t *wake,
    struct imap_counts *counts, struct err *err)
{
	struct imap_src *s = calloc(1, sizeof *s);
	int rc;

	if (s == NULL)
		return err_set(err, ERR_NOMEM, "out of memory");
	s->base.ops = &imap_ops;
	s->base.impl = s;
	s->c = c;
	s->st = st;
	s->cfg = cfg;
	s->wake = wake;
	pipeline_set_commit_hook(pl, imap_commit_hook, s);
	rc = pipeline_run(pl, &s->base, NULL, NULL, err);
	pipeline_set_commit_hook(pl, NULL, NULL);
	counts->folders += s->counts.folders;
	counts->archived += s->counts.archived;
	counts->invalid += s->counts.invalid;
	counts->unsaved += s->counts.unsaved;
	counts->retry += s->counts.retry;
	counts->skipped += s->counts.skipped;
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
	struct conn c;
	int rc;

	memset(stats, 0, sizeof *stats);
	memset(counts, 0, sizeof *counts);
	memset(&c, 0, sizeof c);
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
	rc = run_pass(&c, st, pl, cfg, NULL, counts, err);
	*stats = *pipeline_stats(pl);
out:
	conn_close(&c);
	pipeline_free(pl);
	store_free(st);
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

static long
backoff_ms(unsigned attempt)
{
	long ms = IMAP_BACKOFF_FIRST_MS;

	for (unsigned i = 0; i < attempt && ms < IMAP_BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > IMAP_BACKOFF_MAX_MS)
		ms = IMAP_BACKOFF_MAX_MS;
	/* jitter: 50% .. 100% of the step */
	return ms / 2 + (long)((unsigned long)random() % (unsigned long)(ms / 2
	    + 1));
}

/* IDLE on the selected folder until something happens, a signal or the
 * re-issue limit. Returns 0, or <0 on a network error. */
static int
idle_wait(struct conn *c, const struct imap_watch_ctl *ctl, struct err *err)
{
	time_t start = time(NULL);
	int r, w = 0, fd;

	r = mailimap_idle(c->s);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(c, r, "IDLE", err);
	fd = mailimap_idle_get_fd(c->s);
	while (c->s->imap_stream->read_buffer_len == 0 && fd >= 0) {
		long left = (long)IMAP_IDLE_SECONDS - (long)(time(NULL) - start);
		if (left <= 0)
			break;
		w = wait_ms(ctl, fd, left * 1000);
		if (w != 0)
			break;
	}
	r = mailimap_idle_done(c->s);
	if (r != MAILIMAP_NO_ERROR)
		return imap_fail(c, r, "IDLE DONE", err);
	return 0;
}

int
ingest_imap_watch(const char *db_path, struct imap_config *cfg,
    struct pipeline_opts *opts, const struct imap_watch_ctl *ctl,
    struct err *err)
{
	struct store *st = NULL;
	struct pipeline *pl = NULL;
	struct conn c;
	unsigned attempt = 0;
	int rc;

	memset(&c, 0, sizeof c);
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
			long ms = backoff_ms(attempt++);
			log_error("%s%s%s; retrying in %ld s", e.msg,
			    e.where[0] ? " at " : "", e.where, ms / 1000);
			wait_ms(ctl, -1, ms);
			continue;
		}
		memset(&counts, 0, sizeof counts);
		rc = run_pass(&c, st, pl, cfg, ctl->wake, &counts, &e);
		if (rc != 0) {
			long ms = backoff_ms(attempt++);
			log_error("%s%s%s; reconnecting in %ld s", e.msg,
			    e.where[0] ? " at " : "", e.where, ms / 1000);
			conn_close(&c);
			wait_ms(ctl, -1, ms);
			continue;
		}
		attempt = 0;
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
				log_error("%s; reconnecting", e.msg);
				conn_close(&c);
				continue;
			}
			if (c.s->imap_selection_info->sel_exists >
			    counts.skipped)
				continue;
			if ((rc = idle_wait(&c, ctl, &e)) != 0) {
				log_error("%s; reconnecting", e.msg);
				conn_close(&c);
			}
		} else
			wait_ms(ctl, -1, (long)cfg->poll_interval * 1000);
	}
	conn_close(&c);
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
