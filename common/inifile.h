/*
 * common/inifile.h - INI file reading (inih behind it) with line numbers, so
 * every configuration error can be reported as file:line: message.
 */
#ifndef DW_COMMON_INIFILE_H
#define DW_COMMON_INIFILE_H

#include <stddef.h>

#include "err.h"

/*
 * Reads path and calls on_key for every key = value, with its section
 * ("" before the first section) and 1-based line. on_key returns 0 to go
 * on; a non-zero return is counted as an error in that line (the reading
 * goes on so that every error is reported) and is the caller's to print.
 * on_syntax (may be NULL) is called for every line that is not valid INI
 * and every line longer than inih accepts (199 bytes), in line order with
 * the on_key calls; the keys of an overlong line are not passed on.
 * Returns 0 when the file was read (even if on_key reported errors),
 * ERR_NOTFOUND / ERR_IO when it cannot be opened, else for the first bad
 * line (err says file:line) ERR_FORMAT (syntax) or ERR_TOO_LARGE (line
 * too long).
 */
int ini_read(const char *path,
    int (*on_key)(void *ctx, const char *section, const char *key,
    const char *value, int line),
    int (*on_syntax)(void *ctx, int line, const char *msg), void *ctx,
    struct err *err);

/*
 * Same, over len bytes of text in memory (no file access: for the pure
 * parsers in parse/). name is used in err->where ("name:line").
 */
int ini_read_mem(const char *text, size_t len, const char *name,
    int (*on_key)(void *ctx, const char *section, const char *key,
    const char *value, int line), void *ctx, struct err *err);

#endif
