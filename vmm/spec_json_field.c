#include "vmm/spec_json_field.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vmm/log.h"

void jf_join(char *buf, size_t size, const char *path, const char *key)
{
	if (path && path[0])
		snprintf(buf, size, "%s.%s", path, key);
	else
		snprintf(buf, size, "%s", key);
}

void jf_index(char *buf, size_t size, const char *path, unsigned i)
{
	snprintf(buf, size, "%s[%u]", path ? path : "", i);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static const char *path_or_body(const char *path)
{
	return path && path[0] ? path : "body";
}

int jf_check_object(json_t *j, const char *path, const char *const *keys)
{
	const char *key;
	size_t key_len;
	json_t *v;

	if (!json_is_object(j))
		return err_set(-EINVAL, "%s: expected an object, not %s", path_or_body(path), type_name(j));
	json_object_keylen_foreach(j, key, key_len, v) {
		bool known = false;
		char at[JF_PATH_MAX];

		(void)v;
		if (strlen(key) != key_len)
			return err_set(-EINVAL, "%s: a key holds a NUL byte", path_or_body(path));
		for (unsigned i = 0; keys[i] && !known; i++)
			known = !strcmp(key, keys[i]);
		if (!known) {
			char shown[68];

			/* The key is hostile: show a bounded piece of it. */
			snprintf(shown, sizeof(shown), "%.64s%s", key, key_len > 64 ? "..." : "");
			jf_join(at, sizeof(at), path, shown);
			return err_set(-EINVAL, "%s: unknown key", at);
		}
	}
	return 0;
}

json_t *jf_get(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

/* Looks the field up: 1 with *v set, 0 when optional and absent, or the
 * error for a missing required field. */
static int lookup(json_t *obj, const char *path, const char *key, unsigned flags, json_t **v, char *at)
{
	jf_join(at, JF_PATH_MAX, path, key);
	*v = jf_get(obj, key);
	if (*v)
		return 1;
	if (flags & JF_REQUIRED)
		return err_set(-EINVAL, "%s: missing (required)", at);
	return 0;
}

int jf_u64(json_t *obj, const char *path, const char *key, unsigned flags, uint64_t min, uint64_t max,
	   uint64_t *out)
{
	char at[JF_PATH_MAX];
	json_t *v;
	json_int_t n;
	int ret = lookup(obj, path, key, flags, &v, at);

	if (ret <= 0)
		return ret;
	if (!json_is_integer(v))
		return err_set(-EINVAL, "%s: expected an integer, not %s", at, type_name(v));
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return err_set(-EINVAL, "%s: %" JSON_INTEGER_FORMAT " is out of range [%" PRIu64 ", %" PRIu64 "]", at,
			       n, min, max);
	*out = (uint64_t)n;
	return 1;
}

int jf_bool(json_t *obj, const char *path, const char *key, unsigned flags, bool *out)
{
	char at[JF_PATH_MAX];
	json_t *v;
	int ret = lookup(obj, path, key, flags, &v, at);

	if (ret <= 0)
		return ret;
	if (!json_is_boolean(v))
		return err_set(-EINVAL, "%s: expected a boolean, not %s", at, type_name(v));
	*out = json_is_true(v);
	return 1;
}

/* The string under key, checked for NUL bytes and bounded by `size`. */
static int string_value(json_t *obj, const char *path, const char *key, unsigned flags, size_t size,
			const char **s, char *at)
{
	json_t *v;
	size_t len;
	int ret = lookup(obj, path, key, flags, &v, at);

	if (ret <= 0)
		return ret;
	if (!json_is_string(v))
		return err_set(-EINVAL, "%s: expected a string, not %s", at, type_name(v));
	*s = json_string_value(v);
	len = json_string_length(v);
	if (strlen(*s) != len)
		return err_set(-EINVAL, "%s: holds a NUL byte", at);
	if (len >= size)
		return err_set(-EINVAL, "%s: longer than %zu bytes", at, size - 1);
	if (!len && (flags & JF_NONEMPTY))
		return err_set(-EINVAL, "%s: must not be empty", at);
	return 1;
}

int jf_string(json_t *obj, const char *path, const char *key, unsigned flags, char *out, size_t size)
{
	char at[JF_PATH_MAX];
	const char *s;
	int ret = string_value(obj, path, key, flags, size, &s, at);

	if (ret <= 0)
		return ret;
	memcpy(out, s, strlen(s) + 1);
	return 1;
}

int jf_enum(json_t *obj, const char *path, const char *key, unsigned flags, const char *const *names,
	    unsigned *out)
{
	char at[JF_PATH_MAX], list[128] = "";
	const char *s;
	size_t len = 0;
	int ret = string_value(obj, path, key, flags, 64, &s, at);

	if (ret == -EINVAL && strstr(err_last(), "longer than"))
		return err_set(-EINVAL, "%s: not a known value", at);
	if (ret <= 0)
		return ret;
	for (unsigned i = 0; names[i]; i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			return 1;
		}
		if (len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", names[i]);
	}
	return err_set(-EINVAL, "%s: '%s' is not one of %s", at, s, list);
}
