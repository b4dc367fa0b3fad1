/*
 * common/strparse.h - checked number and token parsing.
 *
 * atoi/strtol/sscanf are banned in this code base: these helpers take an
 * explicit maximum and say exactly why they failed. Cursor functions take a
 * `const char **p`, advance it past what they consumed on success, and leave
 * it unchanged on failure.
 */
#ifndef DW_COMMON_STRPARSE_H
#define DW_COMMON_STRPARSE_H

#include <stddef.h>
#include <stdint.h>

/* Decimal digits -> *v, at most max. Returns 0, ERR_FORMAT (no digit),
 * ERR_TOO_LARGE (> max or overflow). Stops at the first non-digit. */
int sp_uint64(const char **p, uint64_t *v, uint64_t max);

/* Optional sign then digits, |v| <= max. */
int sp_int64(const char **p, int64_t *v, int64_t max);

/* Whole-string variants: s (len bytes, not necessarily NUL-terminated)
 * must be exactly one number, nothing else. */
int sp_uint64_all(const char *s, size_t len, uint64_t *v, uint64_t max);
int sp_int64_all(const char *s, size_t len, int64_t *v, int64_t max);

/* Skips spaces and tabs. */
void sp_skip_blanks(const char **p);

/* ASCII-only helpers (locale independent). */
/* Value of a hex digit, or -1. */
int sp_hexval(int c);
int sp_is_space(int c);
int sp_casecmp(const char *a, const char *b);
int sp_ncasecmp(const char *a, const char *b, size_t n);
/* In place: ASCII lower-case; returns s. */
char *sp_lower(char *s);
/* Trims ASCII white space (incl. CR, LF, TAB, VT, FF) in place; returns s. */
char *sp_trim(char *s);

#endif
