/*
 * common/json.h - JSON output (and, later, input) behind one opaque API, so
 * jansson is included by exactly one module. Keys keep insertion order;
 * output is UTF-8 with non-ASCII kept and control characters escaped.
 */
#ifndef DW_COMMON_JSON_H
#define DW_COMMON_JSON_H

#include <stdint.h>
#include <stdio.h>

struct jv;   /* a JSON value (object, array, string, number, null) */

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
void jv_free(struct jv *v);

#endif
