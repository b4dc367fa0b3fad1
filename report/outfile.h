/*
 * report/outfile.h - files written whole or not at all: a temporary file
 * in the target's directory, fsync, rename over the target, fsync of the
 * directory. A reader (the sending daemon, postmap, kumod) sees either the
 * old file or the new one, never half of one, even after a crash.
 */
#ifndef DW_REPORT_OUTFILE_H
#define DW_REPORT_OUTFILE_H

#include <stdio.h>

#include "../common/err.h"

struct outfile {
	FILE *f;              /* write here between open and commit */
	char path[4096];      /* target; "-" = stdout (no temp file) */
	char tmp[4096];
	int to_stdout;
	int direct;           /* an existing device or FIFO: written in
	                       * place, never renamed over */
};

/* Opens a temporary file beside path (mode 0644), stdout for "-", or
 * the target itself when it is an existing device or FIFO (/dev/null).
 * Returns 0, ERR_IO (err: path and errno text), ERR_INVAL (path too
 * long). */
int outfile_open(struct outfile *o, const char *path, struct err *err);
/* Flushes, fsyncs, renames over the target and fsyncs its directory.
 * On failure the temporary file is removed and the target is untouched.
 * Returns 0 or ERR_IO. */
int outfile_commit(struct outfile *o, struct err *err);
/* Drops the temporary file (after a failed write); no-op after commit. */
void outfile_abort(struct outfile *o);

/* dir + "/" + name into out; ERR_INVAL (err filled) when it does not
 * fit. */
int outfile_path(char *out, size_t n, const char *dir, const char *name,
    struct err *err);

/* mkdir -p for one level: 0 when dir exists or was made, else ERR_IO. */
int outfile_mkdir(const char *dir, struct err *err);

#endif
