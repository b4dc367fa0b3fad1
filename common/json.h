/*
 * common/json.h - JSON output and input behind one opaque API, so jansson
 * is included by exactly one module (common/json.c). Keys keep insertion
 * order; output is UTF-8 with non-ASCII kept and control characters
 * escaped.
 */
#ifndef DW_COMMON_JSON_H
#define DW_COMMON_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "reader.h"

struct jv;   /* a JSON value (object, array, string, number, bool, null) */

/* ---- write side ---- */

struct jv *jv_object(void);
struct jv *jv_array(void);
/* Setters take ownership of val (which may be NULL: then ERR_NOMEM). A
 * NULL string is stored as JSON null. Return 0 or ERR_NOMEM. */
int jv_set(struct jv *obj, const char *key, struct jv *val);
int jv_set_str(struct jv *obj, const char *key, const char *s);
int jv_set_int(struct jv *obj, const char *key, int64_t v);
int jv_set_real(struct jv *obj, const char *key, double v);
int jv_set_bool(struct jv *obj, const char *key, int v);
int jv_append(struct jv *arr, struct jv *val);
struct jv *jv_str(const char *s);
struct jv *jv_int(int64_t v);
/* Writes the value (pretty when indent > 0) and a newline. 0 or ERR_IO. */
int jv_dump(const struct jv *v, FILE *f, int indent);
/* The same, with reals written with at most real_digits significant
 * digits (1..17): 0.98 stays "0.98" instead of its 17-digit binary
 * neighbour. For files other programs diff or compare byte for byte. */
int jv_dump_prec(const struct jv *v, FILE *f, int indent, int real_digits);
/* Frees a value built here or returned by jv_parse(); NULL is a no-op.
 * Values obtained through the accessors below are borrowed: never free
 * them. */
void jv_free(struct jv *v);

/* ---- read side ---- */

/*
 * Reads the whole stream `in` and parses it as one JSON text (RFC 8259;
 * any value may be at the top). The result is owned by the caller
 * (jv_free()).
 *
 * Refused before the JSON parser runs:
 *   more than max_bytes bytes        -> ERR_TOO_LARGE (reading stops there)
 *   containers nested deeper than    -> ERR_TOO_LARGE, with line/column
 *     max_depth (a pre-scan that skips strings; jansson's own limit of
 *     2048 recursions is never reached)
 *   more than LIM_JSON_VALUES values -> ERR_TOO_LARGE, with line/column
 *     (the same pre-scan: the tree costs up to ~80x the input bytes)
 * Refused by the parser, ERR_FORMAT with "line L column C" in err->where:
 *   syntax errors; duplicate object keys ("duplicate key 'x'");
 *   invalid UTF-8; "\u0000" in a string or key (NUL is never let through,
 *   so every string value is also a C string); lone surrogate escapes;
 *   numbers that do not fit (integers beyond int64, reals beyond double);
 *   anything but white space after the value (trailing data is refused,
 *   not ignored: it may be a second document we would silently drop).
 * A leading UTF-8 byte order mark is skipped.
 * Other returns: ERR_NOMEM (also when jansson finished the parse after
 * a failed allocation: it may have dropped bytes), or a negative code
 * from the reader.
 * err messages quote no more than a short, sanitised token of the input.
 */
int jv_parse(struct reader *in, size_t max_bytes, int max_depth,
    struct jv **out, struct err *err);

enum jv_type {
	JV_NULL = 0,
	JV_BOOL,
	JV_INTEGER,
	JV_REAL,
	JV_STRING,
	JV_ARRAY,
	JV_OBJECT,
};

/* Type of v; JV_NULL for a NULL pointer (an absent member). */
enum jv_type jv_type(const struct jv *v);
/* "object", "array", "string", "integer", "real", "boolean", "null",
 * or "absent" for NULL: for error messages. */
const char *jv_type_name(const struct jv *v);
int jv_is_object(const struct jv *v);
int jv_is_array(const struct jv *v);
int jv_is_string(const struct jv *v);
int jv_is_number(const struct jv *v);   /* integer or real */
int jv_is_null(const struct jv *v);     /* JSON null (not NULL) */

/* Member of an object; NULL when absent or when obj is not an object.
 * Borrowed: valid as long as the document. */
const struct jv *jv_get(const struct jv *obj, const char *key);
/* Number of members of an object (0 for a non-object). */
size_t jv_object_size(const struct jv *obj);
/*
 * Iterates an object's members in document order. Start with *it = NULL;
 * returns 1 with *key and *val set (borrowed), 0 after the last member or
 * when obj is not an object.
 */
int jv_object_next(const struct jv *obj, void **it, const char **key,
    const struct jv **val);

/* Array length (0 for a non-array) and element i (NULL when out of
 * range or not an array). Borrowed. */
size_t jv_array_size(const struct jv *arr);
const struct jv *jv_array_get(const struct jv *arr, size_t i);

/* The bytes of a string value and their number in *len (len may be
 * NULL); NULL when v is not a string. Valid UTF-8 without NUL when the
 * value came from jv_parse(), NUL-terminated. Control characters other
 * than NUL (escaped as \n, \u0001 ...) may be present: callers that
 * hand strings on must filter them. */
const char *jv_string_value(const struct jv *v, size_t *len);

/* Returned by jv_integer_value() when the number was written as a real
 * with no fractional part ("5.0", "1e3"). */
#define JV_INT_FROM_REAL 1

/*
 * A non-negative integer at most max, in *out.
 * Returns 0 for a JSON integer; JV_INT_FROM_REAL for a real with an
 * integral value (|v| <= 2^53, so it is exact) - the caller decides
 * whether that deserves a warning; ERR_FORMAT when v is not a number,
 * is negative, or has a fractional part; ERR_TOO_LARGE when v > max.
 * *out is written only on success.
 */
int jv_integer_value(const struct jv *v, uint64_t max, uint64_t *out);

/* Any JSON number (integer or real) as a double in *out: 0, or
 * ERR_FORMAT when v is not a number (*out untouched). For display. */
int jv_number_value(const struct jv *v, double *out);

#endif
