/* Typed, bounded field readers shared by the spec_json parsers. Each names
 * the key path in its message ("drives[0].is_read_only: expected a
 * boolean"). The readers return 1 when the field was set, 0 when it is
 * absent or null (and optional), or a negative errno. */
#ifndef EMBER_SPEC_JSON_FIELD_H
#define EMBER_SPEC_JSON_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define JF_PATH_MAX 256
#define JF_REQUIRED 1u /* absent or null is an error */
#define JF_NONEMPTY 2u /* "" is an error (strings) */

/* "<path>.<key>", or "<key>" when path is "". */
void jf_join(char *buf, size_t size, const char *path, const char *key);
/* "<path>[i]". */
void jf_index(char *buf, size_t size, const char *path, unsigned i);
/* j must be an object whose keys are all in the NULL-terminated `keys`. */
int jf_check_object(json_t *j, const char *path, const char *const *keys);
int jf_u64(json_t *obj, const char *path, const char *key, unsigned flags, uint64_t min, uint64_t max,
	   uint64_t *out);
int jf_bool(json_t *obj, const char *path, const char *key, unsigned flags, bool *out);
/* Copies the string with its NUL; refuses one that does not fit in `size`
 * or that holds a NUL byte (which C would silently cut). */
int jf_string(json_t *obj, const char *path, const char *key, unsigned flags, char *out, size_t size);
/* Exact match against the NULL-terminated `names`; *out is the index. */
int jf_enum(json_t *obj, const char *path, const char *key, unsigned flags, const char *const *names,
	    unsigned *out);
/* The value under key, or NULL when it is absent or null. */
json_t *jf_get(json_t *obj, const char *key);

#endif
