#include "vmm/cpu_template.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

#define PATH_MAX_LEN 96

static int reject(const char *path, const char *why)
{
	return err_set(-EINVAL, "cpu template: %s: %s", path, why);
}

/* Refuses keys the schema does not have, so typos are not ignored. */
static int check_keys(json_t *obj, const char *path, const char *const *allowed)
{
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val) {
		bool ok = false;

		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(key, *a) == 0;
		if (!ok) {
			char where[PATH_MAX_LEN + 64];

			snprintf(where, sizeof(where), "%s%s%.60s", path, path[0] ? "." : "", key);
			return reject(where, "unknown key");
		}
	}
	return 0;
}

static int parse_hex32(json_t *v, const char *path, uint32_t *out)
{
	const char *s = json_string_value(v);
	char *end;
	unsigned long long n;

	if (!s || strncmp(s, "0x", 2) != 0 || !s[2])
		return reject(path, "want a hex string like \"0x1\"");
	errno = 0;
	n = strtoull(s + 2, &end, 16);
	if (errno || *end || n > UINT32_MAX)
		return reject(path, "not a 32-bit hex number");
	*out = (uint32_t)n;
	return 0;
}

static int parse_bitmap(json_t *v, const char *path, unsigned width, struct cpu_template_bits *out)
{
	const char *s = json_string_value(v);
	unsigned bits = 0;

	if (!s || strncmp(s, "0b", 2) != 0)
		return reject(path, "want a string \"0b\" followed by 0, 1 or x per bit");
	*out = (struct cpu_template_bits){ 0, 0 };
	for (s += 2; *s; s++) {
		if (*s == '_')
			continue;
		if (*s != '0' && *s != '1' && *s != 'x')
			return reject(path, "bits must be 0, 1, x (or _ between them)");
		if (++bits > width)
			break;
		out->mask <<= 1;
		out->value <<= 1;
		if (*s != 'x') {
			out->mask |= 1;
			out->value |= (uint64_t)(*s == '1');
		}
	}
	if (bits != width) {
		char why[64];

		snprintf(why, sizeof(why), "want exactly %u bits", width);
		return reject(path, why);
	}
	return 0;
}

static int parse_register(json_t *v, const char *path, enum cpu_template_reg *out)
{
	static const char *const names[] = { "eax", "ebx", "ecx", "edx" };
	const char *s = json_string_value(v);

	for (unsigned i = 0; s && i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum cpu_template_reg)i;
			return 0;
		}
	}
	return reject(path, "want one of eax, ebx, ecx, edx");
}

static int parse_cpuid_leaf(json_t *obj, unsigned i, struct cpu_template_leaf *leaf)
{
	static const char *const keys[] = { "leaf", "subleaf", "flags", "modifiers", NULL };
	static const char *const mod_keys[] = { "register", "bitmap", NULL };
	char path[PATH_MAX_LEN], sub[PATH_MAX_LEN * 2];
	json_t *mods, *flags, *m;
	size_t j;
	int ret;

	snprintf(path, sizeof(path), "cpuid_modifiers[%u]", i);
	if (!json_is_object(obj))
		return reject(path, "not an object");
	ret = check_keys(obj, path, keys);
	if (ret)
		return ret;
	memset(leaf, 0, sizeof(*leaf));
	snprintf(sub, sizeof(sub), "%s.leaf", path);
	if ((ret = parse_hex32(json_object_get(obj, "leaf"), sub, &leaf->leaf)))
		return ret;
	snprintf(sub, sizeof(sub), "%s.subleaf", path);
	if ((ret = parse_hex32(json_object_get(obj, "subleaf"), sub, &leaf->subleaf)))
		return ret;
	flags = json_object_get(obj, "flags");
	snprintf(sub, sizeof(sub), "%s.flags", path);
	if (!json_is_integer(flags) || (json_integer_value(flags) != 0 && json_integer_value(flags) != 1))
		return reject(sub, "want 0 or 1 (KVM_CPUID_FLAG_SIGNIFCANT_INDEX)");
	leaf->flags = (uint32_t)json_integer_value(flags);
	mods = json_object_get(obj, "modifiers");
	snprintf(sub, sizeof(sub), "%s.modifiers", path);
	if (!json_is_array(mods) || json_array_size(mods) > 4)
		return reject(sub, "want an array of at most 4 register modifiers");
	json_array_foreach(mods, j, m) {
		enum cpu_template_reg reg = CPU_REG_EAX;

		snprintf(sub, sizeof(sub), "%s.modifiers[%zu]", path, j);
		if (!json_is_object(m))
			return reject(sub, "not an object");
		if ((ret = check_keys(m, sub, mod_keys)))
			return ret;
		snprintf(sub, sizeof(sub), "%s.modifiers[%zu].register", path, j);
		if ((ret = parse_register(json_object_get(m, "register"), sub, &reg)))
			return ret;
		snprintf(sub, sizeof(sub), "%s.modifiers[%zu].bitmap", path, j);
		if ((ret = parse_bitmap(json_object_get(m, "bitmap"), sub, 32, &leaf->regs[reg])))
			return ret;
	}
	return 0;
}

static int parse_msr(json_t *obj, unsigned i, struct cpu_template_msr *msr)
{
	static const char *const keys[] = { "addr", "bitmap", NULL };
	char path[PATH_MAX_LEN], sub[PATH_MAX_LEN * 2];
	int ret;

	snprintf(path, sizeof(path), "msr_modifiers[%u]", i);
	if (!json_is_object(obj))
		return reject(path, "not an object");
	if ((ret = check_keys(obj, path, keys)))
		return ret;
	snprintf(sub, sizeof(sub), "%s.addr", path);
	if ((ret = parse_hex32(json_object_get(obj, "addr"), sub, &msr->addr)))
		return ret;
	snprintf(sub, sizeof(sub), "%s.bitmap", path);
	return parse_bitmap(json_object_get(obj, "bitmap"), sub, 64, &msr->bits);
}

static int parse_array(json_t *root, const char *key, size_t max, json_t **out)
{
	json_t *arr = json_object_get(root, key);
	char why[64];

	*out = NULL;
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return reject(key, "not an array");
	if (json_array_size(arr) > max) {
		snprintf(why, sizeof(why), "more than %zu entries", max);
		return reject(key, why);
	}
	*out = arr;
	return 0;
}

int cpu_template_parse(const char *json, size_t len, struct cpu_template *out)
{
	static const char *const keys[] = { "cpuid_modifiers", "msr_modifiers", NULL };
	json_error_t jerr;
	json_t *root, *arr, *item;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len > CPU_TEMPLATE_MAX_BYTES)
		return err_set(-EINVAL, "cpu template: %zu bytes is over the %u allowed", len,
			       CPU_TEMPLATE_MAX_BYTES);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return err_set(-EINVAL, "cpu template: invalid JSON at line %d column %d: %s", jerr.line,
			       jerr.column, jerr.text);
	if (!json_is_object(root)) {
		ret = reject("(top level)", "not an object");
		goto out;
	}
	if ((ret = check_keys(root, "", keys)))
		goto out;
	if ((ret = parse_array(root, "cpuid_modifiers", CPU_TEMPLATE_MAX_CPUID, &arr)))
		goto out;
	json_array_foreach(arr, i, item) {
		if ((ret = parse_cpuid_leaf(item, (unsigned)i, &out->cpuid[i])))
			goto out;
		out->nr_cpuid++;
	}
	if ((ret = parse_array(root, "msr_modifiers", CPU_TEMPLATE_MAX_MSR, &arr)))
		goto out;
	json_array_foreach(arr, i, item) {
		if ((ret = parse_msr(item, (unsigned)i, &out->msr[i])))
			goto out;
		out->nr_msr++;
	}
out:
	json_decref(root);
	return ret;
}

static uint32_t apply_bits(uint32_t v, const struct cpu_template_bits *b)
{
	return (uint32_t)((v & ~b->mask) | (b->value & b->mask));
}

int cpu_template_apply_cpuid(const struct cpu_template *tpl, struct cpuid_table *t)
{
	for (unsigned i = 0; i < tpl->nr_cpuid; i++) {
		const struct cpu_template_leaf *l = &tpl->cpuid[i];
		struct kvm_cpuid_entry2 *e = cpuid_find(t, l->leaf, l->subleaf);

		if (!e) {
			if (t->head.nent >= CPUID_MAX_ENTRIES)
				return err_fail(-ENOSPC, "no room to add CPUID leaf 0x%x", l->leaf);
			e = &t->entries[t->head.nent++];
			*e = (struct kvm_cpuid_entry2){ .function = l->leaf, .index = l->subleaf,
							.flags = l->flags };
		}
		e->eax = apply_bits(e->eax, &l->regs[CPU_REG_EAX]);
		e->ebx = apply_bits(e->ebx, &l->regs[CPU_REG_EBX]);
		e->ecx = apply_bits(e->ecx, &l->regs[CPU_REG_ECX]);
		e->edx = apply_bits(e->edx, &l->regs[CPU_REG_EDX]);
	}
	return 0;
}

void cpu_template_apply_msr(const struct cpu_template *tpl, uint32_t addr, uint64_t *value)
{
	for (unsigned i = 0; i < tpl->nr_msr; i++)
		if (tpl->msr[i].addr == addr)
			*value = (*value & ~tpl->msr[i].bits.mask) | (tpl->msr[i].bits.value & tpl->msr[i].bits.mask);
}
