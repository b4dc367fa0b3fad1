/*
 * ingest/source_paths.c - the local source: files, directories, mbox,
 * Maildir, stdin. See source.h.
 *
 * Files are mapped read-only (MAP_PRIVATE) rather than read into memory:
 * a raw 600 MB report then streams through unpack and the parser with the
 * consumed pages dropped behind (reader_mem drop_behind), so resident
 * memory stays small. Messages (eml, mbox entries) are bounded by
 * LIM_MESSAGE_BYTES.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "mime.h"
#include "source.h"

/* Files up to this size are read into memory; bigger ones are mapped
 * (see open_file). 8 MiB keeps the read copy well under the import's
 * memory target and covers nearly every mail file. */
#define SMALL_FILE_BYTES (8 * 1024 * 1024)

/* A directory being walked: its sorted entry names. */
struct dir_frame {
	char *path;
	char **names;
	size_t n, next;
	int depth;
	int maildir;         /* entries are cur/ and new/ message files */
};

struct src_paths {
	const char *const *paths;
	size_t n_paths, next_path;
	struct dir_frame stack[LIM_DIR_DEPTH + 2];
	int sp;                       /* frames in use */

	/* the current file */
	char *file_path;
	unsigned char *map;           /* mmap, or NULL */
	size_t map_len;
	struct buf stdin_buf;
	int is_mbox;
	int is_stdin;                 /* the current "file" is stdin */
	size_t mbox_pos;              /* next mbox byte to look at */
	unsigned mbox_index;
	struct buf mbox_msg;          /* unescaped current mbox message */
	int file_pending;             /* file opened, first message not out */

	struct source_paths_stats st;
};

static void
unmap_current(struct src_paths *s)
{
	if (s->map != NULL && s->map_len > 0)
		munmap(s->map, s->map_len);
	s->map = NULL;
	s->map_len = 0;
	free(s->file_path);
	s->file_path = NULL;
	s->is_mbox = 0;
	s->is_stdin = 0;
	buf_free(&s->stdin_buf);
	buf_free(&s->mbox_msg);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
frame_free(struct dir_frame *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->names[i]);
	free(f->names);
	free(f->path);
	memset(f, 0, sizeof *f);
}

static int
is_dir(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *
join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);

	if (p == NULL)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

/* Reads a directory's names (sorted, dot files skipped). A Maildir (cur/
 * and new/ present) lists the files in cur and new instead. */
static int
push_dir(struct src_paths *s, const char *path, int depth, struct err *err)
{
	struct dir_frame *f;
	char *sub[2] = { NULL, NULL };
	int maildir, rc = 0;

	if (s->sp >= (int)(sizeof s->stack / sizeof s->stack[0]) ||
	    depth > LIM_DIR_DEPTH) {
		log_warnx("%s: deeper than LIM_DIR_DEPTH (%d), skipped", path,
		    LIM_DIR_DEPTH);
		return 0;
	}
	f = &s->stack[s->sp];
	memset(f, 0, sizeof *f);
	if ((f->path = strdup(path)) == NULL)
		return ERR_NOMEM;
	f->depth = depth;
	sub[0] = join(path, "cur");
	sub[1] = join(path, "new");
	if (sub[0] == NULL || sub[1] == NULL) {
		rc = ERR_NOMEM;
		goto out;
	}
	maildir = is_dir(sub[0]) && is_dir(sub[1]);
	f->maildir = maildir;
	for (int k = 0; k < (maildir ? 2 : 1); k++) {
		const char *dpath = maildir ? sub[k] : path;
		DIR *d = opendir(dpath);
		struct dirent *de;

		if (d == NULL) {
			/* ENOMEM (opendir's buffer): fatal like the other
			 * allocations here, not an unreadable directory */
			rc = err_set(err, errno == ENOMEM ? ERR_NOMEM :
			    errno == ENOENT ? ERR_NOTFOUND : ERR_IO,
			    "cannot open directory: %s", strerror(errno));
			err_where(err, "%s", dpath);
			goto out;
		}
		while ((de = readdir(d)) != NULL) {
			char **nn;
			if (de->d_name[0] == '.')
				continue;
			nn = realloc(f->names, (f->n + 1) * sizeof *nn);
			if (nn == NULL) {
				closedir(d);
				rc = ERR_NOMEM;
				goto out;
			}
			f->names = nn;
			f->names[f->n] = maildir ? join(maildir && k == 0 ?
			    "cur" : "new", de->d_name) : strdup(de->d_name);
			if (f->names[f->n] == NULL) {
				closedir(d);
				rc = ERR_NOMEM;
				goto out;
			}
			f->n++;
		}
		closedir(d);
	}
	if (f->n > 1)
		qsort(f->names, f->n, sizeof *f->names, name_cmp);
	s->sp++;
out:
	free(sub[0]);
	free(sub[1]);
	if (rc != 0)
		frame_free(f);
	return rc;
}

static void
fail_msg(struct ingest_msg *m, const char *path, int code, const char *what)
{
	memset(m, 0, sizeof *m);
	m->read_failed = 1;
	m->kind = "file";
	m->data = (const unsigned char *)"";
	snprintf(m->origin, sizeof m->origin, "%s", path);
	err_set(&m->read_err, code, "%s", what);
	err_where(&m->read_err, "%s", path);
}

static int
starts_mbox(const unsigned char *p, size_t n)
{
	return n >= 5 && memcmp(p, "From ", 5) == 0;
}

/* Opens a regular file (or stdin for "-") and decides its form. Returns 1
 * with *m filled when a message is ready, 0 when the file was consumed
 * (nothing to hand out: impossible here), <0 fatal. Per-file problems are
 * handed out as read_failed messages. */
static int
open_file(struct src_paths *s, const char *path, int from_walk,
    struct ingest_msg *m, struct err *err)
{
	struct stat st;
	int fd = -1, rc;

	unmap_current(s);
	s->st.files++;
	if (strcmp(path, "-") == 0) {
		unsigned char chunk[65536];
		ssize_t r;

		buf_init(&s->stdin_buf, LIM_MESSAGE_BYTES);
		while ((r = read(STDIN_FILENO, chunk, sizeof chunk)) != 0) {
			if (r < 0) {
				if (errno == EINTR)
					continue;
				fail_msg(m, "stdin", ERR_IO, strerror(errno));
				return 1;
			}
			rc = buf_append(&s->stdin_buf, chunk, (size_t)r);
			if (rc == ERR_TOO_LARGE) {
				fail_msg(m, "stdin", ERR_TOO_LARGE,
				    "stdin exceeds LIM_MESSAGE_BYTES "
				    "(64 MiB); give large files by path");
				return 1;
			}
			if (rc != 0)
				return err_set(err, rc, "out of memory reading "
				    "stdin");
		}
		if ((s->file_path = strdup("stdin")) == NULL)
			return err_set(err, ERR_NOMEM, "out of memory");
		s->is_stdin = 1;
		s->map = NULL;
		s->st.bytes_total += s->stdin_buf.len;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
		    (from_walk ? O_NOFOLLOW : 0));
		if (fd < 0) {
			fail_msg(m, path, errno == ENOENT ? ERR_NOTFOUND :
			    ERR_IO, strerror(errno));
			return 1;
		}
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			fail_msg(m, path, ERR_UNSUPPORTED,
			    "not a regular file");
			return 1;
		}
		if ((uint64_t)st.st_size > LIM_FILE_BYTES) {
			close(fd);
			fail_msg(m, path, ERR_TOO_LARGE,
			    "file exceeds LIM_FILE_BYTES (8 GiB)");
			return 1;
		}
		if ((s->file_path = strdup(path)) == NULL) {
			close(fd);
			return err_set(err, ERR_NOMEM, "out of memory");
		}
		s->st.bytes_total += (uint64_t)st.st_size;
		if (st.st_size > 0 && st.st_size <= SMALL_FILE_BYTES) {
			/* Read small files: a mapping of a file that shrinks
			 * under us (a mail client expunging an mbox) would
			 * raise SIGBUS; a read just sees the shorter file. */
			unsigned char chunk[65536];
			ssize_t r;

			buf_init(&s->stdin_buf, SMALL_FILE_BYTES);
			while ((r = read(fd, chunk, sizeof chunk)) != 0) {
				int arc;

				if (r < 0 && errno == EINTR)
					continue;
				arc = r < 0 ? 0 : buf_append(&s->stdin_buf,
				    chunk, (size_t)r);
				if (arc == ERR_NOMEM) {
					/* not the file's fault: never a
					 * rejection for good */
					close(fd);
					return err_set(err, ERR_NOMEM, "out of "
					    "memory reading %s", path);
				}
				if (r < 0 || arc != 0) {
					close(fd);
					fail_msg(m, path, r < 0 ? ERR_IO :
					    ERR_TOO_LARGE, r < 0 ?
					    strerror(errno) : "file grew while "
					    "being read");
					return 1;
				}
			}
		} else if (st.st_size > 0) {
			void *p = mmap(NULL, (size_t)st.st_size, PROT_READ,
			    MAP_PRIVATE, fd, 0);
			if (p == MAP_FAILED) {
				close(fd);
				fail_msg(m, path, ERR_IO, strerror(errno));
				return 1;
			}
			(void)madvise(p, (size_t)st.st_size,
			    MADV_SEQUENTIAL);
			s->map = p;
			s->map_len = (size_t)st.st_size;
		}
		close(fd);
	}
	s->file_pending = 1;
	s->mbox_pos = 0;
	s->mbox_index = 0;
	return 0;
}

static const unsigned char *
cur_data(struct src_paths *s, size_t *len)
{
	if (s->map != NULL) {
		*len = s->map_len;
		return s->map;
	}
	*len = s->stdin_buf.len;
	return s->stdin_buf.data ? s->stdin_buf.data :
	    (const unsigned char *)"";
}

/* Next mbox message starting at s->mbox_pos. Messages start at a "From "
 * line at the start of the file or after an empty line (mboxrd writers
 * escape body lines as ">From "); the From_ line is not part of the
 * message; ">From " lines are unescaped (one '>' removed). */
static int
next_mbox(struct src_paths *s, struct ingest_msg *m)
{
	size_t len, pos = s->mbox_pos, start, end, body;
	const unsigned char *d = cur_data(s, &len);
	const unsigned char *nl;
	int rc;

	if (pos >= len)
		return 0;
	/* skip the From_ line */
	nl = memchr(d + pos, '\n', len - pos);
	body = nl ? (size_t)(nl - d) + 1 : len;
	start = pos;
	/* find the next "\n\nFrom " (or "\n\r\nFrom ") */
	end = len;
	for (size_t i = body; i + 6 < len; ) {
		const unsigned char *q = memchr(d + i, '\n', len - i);
		size_t at;
		if (q == NULL)
			break;
		at = (size_t)(q - d) + 1;
		if (at + 5 <= len && memcmp(d + at, "From ", 5) == 0 &&
		    at >= 2 && (d[at - 2] == '\n' ||
		    (d[at - 2] == '\r' && at >= 3 && d[at - 3] == '\n'))) {
			end = at;
			break;
		}
		i = at;
	}
	buf_free(&s->mbox_msg);
	buf_init(&s->mbox_msg, LIM_MESSAGE_BYTES);
	memset(m, 0, sizeof *m);
	snprintf(m->origin, sizeof m->origin, "%s: message %u (byte %zu)",
	    s->file_path, s->mbox_index + 1, start);
	m->kind = "mbox-message";
	m->form = MSG_FORM_MESSAGE;
	m->is_file_start = s->mbox_index == 0;
	/* copy lines, unescaping >From; drop the separator's blank line */
	{
		size_t stop = end, i = body;
		if (stop < len && stop > body && d[stop - 1] == '\n') {
			stop--;
			if (stop > body && d[stop - 1] == '\r')
				stop--;
		}
		rc = 0;
		while (i < stop && rc == 0) {
			const unsigned char *q = memchr(d + i, '\n', stop - i);
			size_t le = q ? (size_t)(q - d) + 1 : stop;
			size_t k = i;
			while (k < le && d[k] == '>')
				k++;
			if (k > i && le - k >= 5 &&
			    memcmp(d + k, "From ", 5) == 0)
				i++;
			rc = buf_append(&s->mbox_msg, d + i, le - i);
			i = le;
		}
	}
	s->mbox_pos = end;
	s->mbox_index++;
	if (rc == ERR_TOO_LARGE) {
		char o[LIM_ORIGIN_BYTES];
		snprintf(o, sizeof o, "%s", m->origin);
		fail_msg(m, o, ERR_TOO_LARGE,
		    "mbox message exceeds LIM_MESSAGE_BYTES (64 MiB)");
		m->kind = "mbox-message";
		return 1;
	}
	if (rc != 0)
		return rc;
	m->data = s->mbox_msg.data ? s->mbox_msg.data :
	    (const unsigned char *)"";
	m->len = s->mbox_msg.len;
	return 1;
}

/* The current file as one message (first call after open_file). */
static int
file_message(struct src_paths *s, int in_maildir, struct ingest_msg *m)
{
	size_t len;
	const unsigned char *d = cur_data(s, &len);

	s->file_pending = 0;
	if (starts_mbox(d, len)) {
		s->is_mbox = 1;
		return next_mbox(s, m);
	}
	memset(m, 0, sizeof *m);
	snprintf(m->origin, sizeof m->origin, "%s", s->file_path);
	m->data = d;
	m->len = len;
	m->is_file_start = 1;
	if (mime_looks_like_message(d, len)) {
		m->form = MSG_FORM_MESSAGE;
		m->kind = in_maildir ? "maildir-message" :
		    s->is_stdin ? "stdin" : "message";
		if (len > LIM_MESSAGE_BYTES) {
			char o[LIM_ORIGIN_BYTES];
			snprintf(o, sizeof o, "%s", m->origin);
			fail_msg(m, o, ERR_TOO_LARGE,
			    "message exceeds LIM_MESSAGE_BYTES (64 MiB)");
		}
		return 1;
	}
	m->form = MSG_FORM_RAW;
	m->kind = s->is_stdin ? "stdin" : "file";
	m->drop_behind = s->map != NULL;
	return 1;
}

static int
paths_next(struct ingest_source *src, struct ingest_msg *m, struct err *err)
{
	struct src_paths *s = src->impl;
	int rc;

	memset(m, 0, sizeof *m);
	for (;;) {
		/* more messages in the current mbox? */
		if (s->is_mbox) {
			if ((rc = next_mbox(s, m)) != 0)
				return rc;
			s->st.bytes_done += s->map_len;
			unmap_current(s);
		}
		/* next entry of the innermost directory */
		if (s->sp > 0) {
			struct dir_frame *f = &s->stack[s->sp - 1];
			struct stat st;
			char *p;

			if (f->next >= f->n) {
				frame_free(f);
				s->sp--;
				continue;
			}
			p = join(f->path, f->names[f->next++]);
			if (p == NULL)
				return ERR_NOMEM;
			if (lstat(p, &st) != 0) {
				fail_msg(m, p, ERR_IO, strerror(errno));
				free(p);
				return 1;
			}
			if (S_ISDIR(st.st_mode) && !f->maildir) {
				struct err de;

				err_clear(&de);
				rc = push_dir(s, p, f->depth + 1, &de);
				if (rc == ERR_NOMEM) {
					free(p);
					return rc;
				}
				if (rc < 0) {
					/* one unreadable directory is a rejected
					 * input, not the end of the walk */
					fail_msg(m, p, rc, de.msg);
					free(p);
					return 1;
				}
				free(p);
				continue;
			}
			if (!S_ISREG(st.st_mode)) { /* symlinks, fifos... */
				free(p);
				continue;
			}
			rc = open_file(s, p, 1, m, err);
			free(p);
			if (rc != 0 || m->read_failed)
				return rc < 0 ? rc : 1;
			rc = file_message(s, f->maildir, m);
			if (rc != 0 && !s->is_mbox) {
				s->st.bytes_done += m->len;
			}
			return rc;
		}
		/* next command-line path */
		if (s->next_path >= s->n_paths)
			return 0;
		{
			const char *p = s->paths[s->next_path++];
			struct stat st;

			if (strcmp(p, "-") != 0 && stat(p, &st) == 0 &&
			    S_ISDIR(st.st_mode)) {
				struct err de;

				err_clear(&de);
				rc = push_dir(s, p, 0, &de);
				if (rc == ERR_NOMEM)
					return rc;
				if (rc < 0) {
					fail_msg(m, p, rc, de.msg);
					return 1;
				}
				continue;
			}
			rc = open_file(s, p, 0, m, err);
			if (rc != 0 || m->read_failed)
				return rc < 0 ? rc : 1;
			rc = file_message(s, 0, m);
			if (rc != 0 && !s->is_mbox)
				s->st.bytes_done += m->len;
			return rc;
		}
	}
}

static int
paths_done(struct ingest_source *src, const struct ingest_msg *m,
    int outcome, struct err *err)
{
	/* Local files are left alone whatever happened to them. */
	return 0;
}

static void
paths_close(struct ingest_source *src)
{
	struct src_paths *s = src->impl;

	unmap_current(s);
	while (s->sp > 0)
		frame_free(&s->stack[--s->sp]);
	free(s);
	free(src);
}

static const struct ingest_source_ops paths_ops = {
	.name = "paths",
	.next = paths_next,
	.done = paths_done,
	.close = paths_close,
};

int
source_paths_new(const char *const *paths, size_t n,
    struct ingest_source **out)
{
	struct ingest_source *src = calloc(1, sizeof *src);
	struct src_paths *s = calloc(1, sizeof *s);

	if (src == NULL || s == NULL) {
		free(src);
		free(s);
		return ERR_NOMEM;
	}
	s->paths = paths;
	s->n_paths = n;
	buf_init(&s->stdin_buf, LIM_MESSAGE_BYTES);
	buf_init(&s->mbox_msg, LIM_MESSAGE_BYTES);
	src->ops = &paths_ops;
	src->impl = s;
	*out = src;
	return 0;
}

void
source_paths_stats(const struct ingest_source *src,
    struct source_paths_stats *st)
{
	const struct src_paths *s = src->impl;

	*st = s->st;
}

void
source_free(struct ingest_source *src)
{
	if (src != NULL)
		src->ops->close(src);
}
