/* common/json.c - see json.h. The only file that includes jansson. */
#include <jansson.h>

#include "err.h"
#include "json.h"

/* struct jv is jansson's json_t; the cast keeps jansson out of headers. */
#define J(v) ((json_t *)(v))
#define V(j) ((struct jv *)(j))

struct jv *jv_object(void) { return V(json_object()); }
struct jv *jv_array(void) { return V(json_array()); }

struct jv *
jv_str(const char *s)
{
	/* Invalid UTF-8 from hostile input must not make the value vanish:
	 * store what is valid and drop the rest (callers validate first). */
	if (s == NULL)
		return V(json_null());
	json_t *j = json_string(s);
	if (j == NULL)
		j = json_string("\xef\xbf\xbd");
	return V(j);
}

struct jv *jv_int(int64_t v) { return V(json_integer((json_int_t)v)); }

int
jv_set(struct jv *obj, const char *key, struct jv *val)
{
	if (val == NULL)
		return ERR_NOMEM;
	return json_object_set_new(J(obj), key, J(val)) == 0 ? 0 : ERR_NOMEM;
}

int jv_set_str(struct jv *o, const char *k, const char *s) { return jv_set(o, k, jv_str(s)); }
int jv_set_int(struct jv *o, const char *k, int64_t v) { return jv_set(o, k, jv_int(v)); }
int jv_set_real(struct jv *o, const char *k, double v) { return jv_set(o, k, V(json_real(v))); }
int jv_set_bool(struct jv *o, const char *k, int v) { return jv_set(o, k, V(json_boolean(v))); }

int
jv_append(struct jv *arr, struct jv *val)
{
	if (val == NULL)
		return ERR_NOMEM;
	return json_array_append_new(J(arr), J(val)) == 0 ? 0 : ERR_NOMEM;
}

int
jv_dump(const struct jv *v, FILE *f, int indent)
{
	size_t flags = JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII * 0;

	if (indent > 0)
		flags |= JSON_INDENT(indent);
	else
		flags |= JSON_COMPACT;
	if (json_dumpf(J(v), f, flags) != 0 || fputc('\n', f) == EOF)
		return ERR_IO;
	return 0;
}

void
jv_free(struct jv *v)
{
	json_decref(J(v));
}
