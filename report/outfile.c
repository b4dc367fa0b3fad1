/* report/outfile.c - see outfile.h */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"

int
outfile_open(struct outfile *o, const char *path, struct err *err)
{
	size_t len;
	int fd;

	memset(o, 0, sizeof *o);
	if (strcmp(path, "-") == 0) {
		o->to_stdout = 1;
		o->f = stdout;
		snprintf(o->path, sizeof o->path, "-");
		return 0;
	}
	len = strlen(path);
	if (len + 16 >= sizeof o->tmp)
		return err_set(err, ERR_INVAL, "%.200s...: path too long",
		    path);
	memcpy(o->path, path, len + 1);
	/* An existing device or FIFO (--out /dev/null, a pipe) is written
	 * in place: renaming a temporary file over it would replace the
	 * device node with a regular file. */
	{
		struct stat sb;

		if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
			if (S_ISDIR(sb.st_mode)) {
				err_where(err, "%s", path);
				return err_set(err, ERR_INVAL, "is a directory");
			}
			if ((o->f = fopen(path, "w")) == NULL) {
				err_where(err, "%s", path);
				return err_set(err, ERR_IO, "%s",
				    strerror(errno));
			}
			o->direct = 1;
			return 0;
		}
	}
	/* Same directory as the target: rename() must not cross a file
	 * system. The dot hides it from globbing readers. */
	{
		const char *slash = strrchr(path, '/');
		size_t dl = slash != NULL ? (size_t)(slash - path) + 1 : 0;
		snprintf(o->tmp, sizeof o->tmp, "%.*s.%s.XXXXXX", (int)dl, path,
		    path + dl);
	}
	fd = mkstemp(o->tmp);
	if (fd < 0) {
		err_where(err, "%s", path);
		return err_set(err, ERR_IO, "cannot create a temporary file: "
		    "%s", strerror(errno));
	}
	/* mkstemp makes 0600; these files are read by other daemons. */
	if (fchmod(fd, 0644) != 0 || (o->f = fdopen(fd, "w")) == NULL) {
		int e = errno;
		close(fd);
		unlink(o->tmp);
		err_where(err, "%s", path);
		return err_set(err, ERR_IO, "%s", strerror(e));
	}
	return 0;
}

static int
fsync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
outfile_commit(struct outfile *o, struct err *err)
{
	int failed;

	if (o->f == NULL)
		return err_set(err, ERR_INVAL, "outfile not open");
	if (o->to_stdout) {
		failed = fflush(stdout) != 0 || ferror(stdout);
		o->f = NULL;
		return failed ? err_set(err, ERR_IO, "write to stdout "
		    "failed") : 0;
	}
	if (o->direct) {
		failed = fflush(o->f) != 0 || ferror(o->f);
		if (fclose(o->f) != 0)
			failed = 1;
		o->f = NULL;
		if (failed) {
			err_where(err, "%s", o->path);
			return err_set(err, ERR_IO, "write failed: %s",
			    strerror(errno));
		}
		return 0;
	}
	failed = fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) != 0;
	if (fclose(o->f) != 0)
		failed = 1;
	o->f = NULL;
	if (!failed && rename(o->tmp, o->path) != 0)
		failed = 1;
	if (failed) {
		int e = errno;
		unlink(o->tmp);
		err_where(err, "%s", o->path);
		return err_set(err, ERR_IO, "write failed: %s", strerror(e));
	}
	/* The rename is durable only once the directory is on disk. */
	if (fsync_dir(o->path) != 0) {
		err_where(err, "%s", o->path);
		return err_set(err, ERR_IO, "fsync of the directory failed: "
		    "%s", strerror(errno));
	}
	return 0;
}

void
outfile_abort(struct outfile *o)
{
	if (o->f != NULL && !o->to_stdout) {
		fclose(o->f);
		if (!o->direct)
			unlink(o->tmp);
	}
	o->f = NULL;
}

int
outfile_mkdir(const char *dir, struct err *err)
{
	struct stat sb;

	if (mkdir(dir, 0755) == 0)
		return 0;
	if (errno == EEXIST && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode))
		return 0;
	err_where(err, "%s", dir);
	return err_set(err, ERR_IO, "cannot create directory: %s",
	    strerror(errno));
}

int
outfile_path(char *out, size_t n, const char *dir, const char *name,
    struct err *err)
{
	int w = snprintf(out, n, "%s/%s", dir, name);

	if (w < 0 || (size_t)w >= n)
		return err_set(err, ERR_INVAL, "%s/%s: path too long", dir,
		    name);
	return 0;
}
