#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/cpu_template.h"
#include "vmm/log.h"

static void table_with(struct cpuid_table *t)
{
	memset(t, 0, sizeof(*t));
	t->head.nent = 3;
	t->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 0x800f12, .ebx = 0x11, .ecx = 0xfffa3203, .edx = 0x178bfbff };
	t->entries[1] = (struct kvm_cpuid_entry2){ .function = 7, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 0xffffffff };
	t->entries[2] = (struct kvm_cpuid_entry2){ .function = 7, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x30 };
}

static void test_bitmaps_set_clear_and_keep(void **state)
{
	const char *json =
		"{\"cpuid_modifiers\": [ {\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": ["
		" {\"register\": \"ecx\", \"bitmap\": \"0b0xxxxxxx_xxxxxxxx_xxxxxxxx_xxxxxxx1\"},"
		" {\"register\": \"edx\", \"bitmap\": \"0b1xxxxxxxxxxxxxxxxxxxxxxxxxxxxx00\"} ]},"
		" {\"leaf\": \"0x7\", \"subleaf\": \"0x1\", \"flags\": 1, \"modifiers\": ["
		" {\"register\": \"eax\", \"bitmap\": \"0b00000000000000000000000000000000\"} ]} ],"
		" \"msr_modifiers\": [ {\"addr\": \"0x1a0\", \"bitmap\": \"0b" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx1\"} ] }";
	struct cpu_template tpl;
	struct cpuid_table t;
	uint64_t v;

	(void)state;
	assert_int_equal(cpu_template_parse(json, strlen(json), &tpl), 0);
	assert_int_equal(tpl.nr_cpuid, 2);
	assert_int_equal(tpl.nr_msr, 1);
	table_with(&t);
	assert_int_equal(cpu_template_apply_cpuid(&tpl, &t), 0);
	/* ecx bit 31 (hypervisor) cleared, bit 0 set, the rest kept. */
	assert_int_equal(t.entries[0].ecx, (0xfffa3203u & ~0x80000000u) | 1u);
	assert_int_equal(t.entries[0].edx, (0x178bfbffu | 0x80000000u) & ~3u);
	/* Only the subleaf that was named changed. */
	assert_int_equal(t.entries[2].eax, 0);
	assert_int_equal(t.entries[1].ebx, 0xffffffff);
	v = 0xf0;
	cpu_template_apply_msr(&tpl, 0x1a0, &v);
	assert_true(v == 0xf1);
	v = 0xf0;
	cpu_template_apply_msr(&tpl, 0x1a1, &v);
	assert_true(v == 0xf0);
}

static void test_missing_leaf_is_added(void **state)
{
	const char *json = "{\"cpuid_modifiers\": [{\"leaf\": \"0x40000010\", \"subleaf\": \"0x0\", \"flags\": 0,"
			   " \"modifiers\": [{\"register\": \"ebx\", \"bitmap\": \"0b00000000000000000000000000000101\"}]}]}";
	struct cpu_template tpl;
	struct cpuid_table t;

	(void)state;
	assert_int_equal(cpu_template_parse(json, strlen(json), &tpl), 0);
	table_with(&t);
	assert_int_equal(cpu_template_apply_cpuid(&tpl, &t), 0);
	assert_int_equal(t.head.nent, 4);
	assert_int_equal(t.entries[3].function, 0x40000010);
	assert_int_equal(t.entries[3].ebx, 5);
	/* A full table refuses new leaves with an error, not an overflow. */
	table_with(&t);
	t.head.nent = CPUID_MAX_ENTRIES;
	assert_int_equal(cpu_template_apply_cpuid(&tpl, &t), -ENOSPC);
}

static void expect_reject(const char *json, const char *why)
{
	struct cpu_template tpl;

	err_clear();
	assert_int_equal(cpu_template_parse(json, strlen(json), &tpl), -EINVAL);
	if (!strstr(err_last(), why)) {
		printf("for %s\n  got: %s\n  want: %s\n", json, err_last(), why);
		fail();
	}
}

static void test_hostile_templates_rejected(void **state)
{
	(void)state;
	expect_reject("", "JSON");
	expect_reject("{\"cpuid_modifiers\": [", "JSON");
	expect_reject("[]", "object");
	expect_reject("{\"bogus\": 1}", "bogus: unknown key");
	expect_reject("{\"cpuid_modifiers\": {}}", "cpuid_modifiers: not an array");
	expect_reject("{\"cpuid_modifiers\": [{\"leaf\": 1, \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}]}",
		      "cpuid_modifiers[0].leaf");
	expect_reject("{\"cpuid_modifiers\": [{\"leaf\": \"0x1zz\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}]}",
		      "cpuid_modifiers[0].leaf");
	expect_reject("{\"cpuid_modifiers\": [{\"leaf\": \"0x100000000\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}]}",
		      "cpuid_modifiers[0].leaf");
	expect_reject("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\":"
		      " [{\"register\": \"esp\", \"bitmap\": \"0b0\"}]}]}", "modifiers[0].register");
	expect_reject("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\":"
		      " [{\"register\": \"eax\", \"bitmap\": \"0b0101\"}]}]}", "modifiers[0].bitmap");
	expect_reject("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\":"
		      " [{\"register\": \"eax\", \"bitmap\": \"0b2xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}]}", "modifiers[0].bitmap");
	expect_reject("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 7, \"modifiers\": []}]}",
		      "cpuid_modifiers[0].flags");
	expect_reject("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": [], \"x\": 1}]}",
		      "cpuid_modifiers[0].x: unknown key");
	expect_reject("{\"msr_modifiers\": [{\"addr\": \"0x10\", \"bitmap\": \"0b01\"}]}", "msr_modifiers[0].bitmap");
	expect_reject("{\"msr_modifiers\": [{\"addr\": \"0x10\"}]}", "msr_modifiers[0].bitmap");
	/* Duplicate keys are refused rather than silently taking the last. */
	expect_reject("{\"msr_modifiers\": [], \"msr_modifiers\": []}", "JSON");
}

static void test_counts_bounded(void **state)
{
	char json[65536];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(json + n, sizeof(json) - n, "{\"cpuid_modifiers\": [");
	for (int i = 0; i <= CPU_TEMPLATE_MAX_CPUID; i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n,
				      "%s{\"leaf\": \"0x%x\", \"subleaf\": \"0x0\", \"flags\": 0, \"modifiers\": []}",
				      i ? "," : "", i);
	n += (size_t)snprintf(json + n, sizeof(json) - n, "]}");
	expect_reject(json, "more than");
}

static void test_empty_template_changes_nothing(void **state)
{
	struct cpu_template tpl;
	struct cpuid_table t, before;

	(void)state;
	assert_int_equal(cpu_template_parse("{}", 2, &tpl), 0);
	table_with(&t);
	before = t;
	assert_int_equal(cpu_template_apply_cpuid(&tpl, &t), 0);
	assert_memory_equal(&t, &before, sizeof(t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmaps_set_clear_and_keep),
		cmocka_unit_test(test_missing_leaf_is_added),
		cmocka_unit_test(test_hostile_templates_rejected),
		cmocka_unit_test(test_counts_bounded),
		cmocka_unit_test(test_empty_template_changes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
