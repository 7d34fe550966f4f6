/* Firecracker JSON into vm_spec and back: every section, every refusal with
 * its key path, hostile documents (deep nesting, huge numbers, NULs,
 * duplicates, truncation), all-or-nothing updates and the round trip. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/spec_json.h"

static const char full_config[] =
	"{\n"
	"  \"boot-source\": {\"kernel_image_path\": \"/k/vmlinux\", \"boot_args\": \"console=ttyS0 quiet\",\n"
	"                  \"initrd_path\": \"/k/initrd\"},\n"
	"  \"drives\": [\n"
	"    {\"drive_id\": \"data\", \"path_on_host\": \"/d.img\", \"is_root_device\": false, \"is_read_only\": true,\n"
	"     \"cache_type\": \"Writeback\", \"io_engine\": \"Async\",\n"
	"     \"rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"one_time_burst\": 5, \"refill_time\": 100},\n"
	"                      \"ops\": {\"size\": 10, \"refill_time\": 1000}}},\n"
	"    {\"drive_id\": \"rootfs\", \"path_on_host\": \"/r.ext4\", \"is_root_device\": true,\n"
	"     \"partuuid\": \"0eaa91a0-01\", \"is_read_only\": false, \"rate_limiter\": null, \"socket\": null}\n"
	"  ],\n"
	"  \"network-interfaces\": [\n"
	"    {\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"06:00:AC:10:00:02\", \"mtu\": 1500,\n"
	"     \"rx_rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": 2}}},\n"
	"    {\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\"}\n"
	"  ],\n"
	"  \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 1024, \"smt\": true, \"track_dirty_pages\": true,\n"
	"                     \"huge_pages\": \"2M\", \"cpu_template\": \"None\"},\n"
	"  \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\", \"vsock_id\": \"vsock0\"},\n"
	"  \"logger\": {\"log_path\": \"/tmp/fc.log\", \"level\": \"debug\", \"show_level\": true,\n"
	"             \"show_log_origin\": true, \"module\": \"api_server\"},\n"
	"  \"metrics\": {\"metrics_path\": \"/tmp/m.fifo\"},\n"
	"  \"entropy\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 64, \"refill_time\": 10}}},\n"
	"  \"balloon\": {\"amount_mib\": 64, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 5},\n"
	"  \"mmds-config\": null\n"
	"}\n";

#define KERNEL "\"boot-source\": {\"kernel_image_path\": \"/k\"}"

static struct vm_spec spec_a, spec_b;

static int parse_str(const char *text, struct vm_spec *out)
{
	return spec_json_parse_config(text, strlen(text), out);
}

/* A refused config must say why at which key and leave the output alone. */
static void expect_config_error(const char *text, const char *what)
{
	static struct vm_spec sentinel;
	int ret;

	memset(&spec_a, 0x5a, sizeof(spec_a));
	memset(&sentinel, 0x5a, sizeof(sentinel));
	ret = parse_str(text, &spec_a);
	if (ret >= 0)
		fail_msg("accepted: %s", text);
	if (!strstr(err_last(), what))
		fail_msg("%s\n  error \"%s\" lacks \"%s\"", text, err_last(), what);
	if (memcmp(&spec_a, &sentinel, sizeof(spec_a)))
		fail_msg("output changed on error: %s", text);
}

static void test_full_config(void **state)
{
	const struct vm_spec *s = &spec_a;

	(void)state;
	assert_int_equal(parse_str(full_config, &spec_a), 0);
	assert_true(s->boot.present);
	assert_string_equal(s->boot.kernel_image_path, "/k/vmlinux");
	assert_string_equal(s->boot.initrd_path, "/k/initrd");
	assert_true(s->boot.has_boot_args);
	assert_string_equal(s->boot.boot_args, "console=ttyS0 quiet");

	assert_int_equal(s->nr_drives, 2);
	/* The root drive moved first though the file lists it second. */
	assert_string_equal(s->drives[0].drive_id, "rootfs");
	assert_true(s->drives[0].is_root_device);
	assert_string_equal(s->drives[0].partuuid, "0eaa91a0-01");
	assert_false(s->drives[0].rate_limiter.present);
	assert_int_equal(s->drives[0].cache_type, SPEC_CACHE_UNSAFE);
	assert_int_equal(s->drives[0].io_engine, SPEC_IO_SYNC);
	assert_string_equal(s->drives[1].drive_id, "data");
	assert_string_equal(s->drives[1].path_on_host, "/d.img");
	assert_true(s->drives[1].is_read_only);
	assert_int_equal(s->drives[1].cache_type, SPEC_CACHE_WRITEBACK);
	assert_int_equal(s->drives[1].io_engine, SPEC_IO_ASYNC);
	assert_true(s->drives[1].rate_limiter.present);
	assert_true(s->drives[1].rate_limiter.bandwidth.present);
	assert_int_equal(s->drives[1].rate_limiter.bandwidth.size, 1000);
	assert_int_equal(s->drives[1].rate_limiter.bandwidth.one_time_burst, 5);
	assert_int_equal(s->drives[1].rate_limiter.bandwidth.refill_time_ms, 100);
	assert_int_equal(s->drives[1].rate_limiter.ops.size, 10);
	assert_int_equal(s->drives[1].rate_limiter.ops.refill_time_ms, 1000);

	assert_int_equal(s->nr_nets, 2);
	assert_string_equal(s->nets[0].iface_id, "eth0");
	assert_string_equal(s->nets[0].host_dev_name, "tap0");
	assert_true(s->nets[0].has_guest_mac);
	assert_memory_equal(s->nets[0].guest_mac, ((uint8_t[]){ 0x06, 0, 0xac, 0x10, 0, 2 }), 6);
	assert_int_equal(s->nets[0].mtu, 1500);
	assert_true(s->nets[0].rx_rate_limiter.present && s->nets[0].rx_rate_limiter.ops.present);
	assert_false(s->nets[0].rx_rate_limiter.bandwidth.present);
	assert_false(s->nets[0].tx_rate_limiter.present);
	assert_false(s->nets[1].has_guest_mac);
	assert_int_equal(s->nets[1].mtu, 0);

	assert_int_equal(s->machine.vcpu_count, 2);
	assert_int_equal(s->machine.mem_size_mib, 1024);
	assert_true(s->machine.smt && s->machine.track_dirty_pages);
	assert_int_equal(s->machine.huge_pages, SPEC_HUGE_PAGES_2M);
	assert_string_equal(s->machine.cpu_template, "None");

	assert_true(s->vsock.present);
	assert_int_equal(s->vsock.guest_cid, 3);
	assert_string_equal(s->vsock.uds_path, "/tmp/v.sock");
	assert_string_equal(s->vsock.vsock_id, "vsock0");
	assert_true(s->logger.present);
	assert_string_equal(s->logger.log_path, "/tmp/fc.log");
	assert_int_equal(s->logger.level, LOG_DEBUG);
	assert_false(s->logger.off);
	assert_true(s->logger.show_level && s->logger.show_log_origin);
	assert_string_equal(s->logger.module, "api_server");
	assert_true(s->metrics.present);
	assert_string_equal(s->metrics.metrics_path, "/tmp/m.fifo");
	assert_true(s->entropy.present && s->entropy.rate_limiter.bandwidth.present);
	assert_int_equal(s->entropy.rate_limiter.bandwidth.size, 64);
	assert_true(s->balloon.present && s->balloon.deflate_on_oom);
	assert_int_equal(s->balloon.amount_mib, 64);
	assert_int_equal(s->balloon.stats_polling_interval_s, 5);
	assert_string_equal(s->id, SPEC_DEFAULT_ID);
}

static void test_minimal_config_defaults(void **state)
{
	static char cmdline[8192];

	(void)state;
	assert_int_equal(parse_str("{" KERNEL "}", &spec_a), 0);
	assert_false(spec_a.boot.has_boot_args);
	assert_string_equal(spec_a.boot.initrd_path, "");
	assert_int_equal(spec_a.machine.vcpu_count, 1);
	assert_int_equal(spec_a.machine.mem_size_mib, 128);
	assert_int_equal(spec_a.nr_drives, 0);
	assert_false(spec_a.vsock.present || spec_a.logger.present || spec_a.entropy.present);
	assert_int_equal(vm_spec_cmdline(&spec_a, cmdline, sizeof(cmdline)), 0);
	assert_string_equal(cmdline, SPEC_DEFAULT_BOOT_ARGS);
	/* Nulls for optional sections are absent sections. */
	assert_int_equal(parse_str("{" KERNEL ", \"vsock\": null, \"balloon\": null, \"cpu-config\": null,"
				   " \"drives\": null, \"logger\": null}", &spec_a), 0);
	assert_false(spec_a.vsock.present || spec_a.balloon.present);
	/* Logger level is case-insensitive, and Off is a level. */
	assert_int_equal(parse_str("{" KERNEL ", \"logger\": {\"level\": \"tRaCe\"}}", &spec_a), 0);
	assert_int_equal(spec_a.logger.level, LOG_TRACE);
	assert_int_equal(parse_str("{" KERNEL ", \"logger\": {\"level\": \"OFF\"}}", &spec_a), 0);
	assert_true(spec_a.logger.off);
	assert_int_equal(parse_str("{" KERNEL ", \"logger\": {}}", &spec_a), 0);
	assert_int_equal(spec_a.logger.level, LOG_INFO);
}

static void test_config_errors(void **state)
{
	static const struct {
		const char *text, *what;
	} cases[] = {
		{ "{}", "boot-source: missing (required)" },
		{ "[]", "config: expected a JSON object" },
		{ "{" KERNEL ", \"foo\": 1}", "foo: unknown key" },
		{ "{" KERNEL ", \"cpu-config\": {}}", "cpu-config: not supported by ember" },
		{ "{" KERNEL ", \"mmds-config\": {\"network_interfaces\": []}}", "mmds-config: not supported by ember" },
		{ "{\"boot-source\": {}}", "boot-source.kernel_image_path: missing (required)" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"\"}}", "boot-source.kernel_image_path: must not be empty" },
		{ "{\"boot-source\": {\"kernel_image_path\": 7}}", "boot-source.kernel_image_path: expected a string" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\", \"x\": 1}}", "boot-source.x: unknown key" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/k\\u0000/evil\"}}",
		  "boot-source.kernel_image_path: holds a NUL byte" },
		{ "{\"boot-source\": \"/k\"}", "boot-source: expected an object, not a string" },
		{ "{" KERNEL ", \"drives\": {}}", "drives: expected an array" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false},"
		  " {\"drive_id\": \"b\", \"path_on_host\": \"/b\", \"is_root_device\": false, \"is_read_only\": \"yes\"}]}",
		  "drives[1].is_read_only: expected a boolean" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false,"
		  " \"rate_limiter\": {\"bandwidth\": {\"size\": 1, \"refill_time\": 1, \"foo\": 2}}}]}",
		  "drives[0].rate_limiter.bandwidth.foo: unknown key" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false,"
		  " \"rate_limiter\": {\"ops\": {\"refill_time\": 1}}}]}",
		  "drives[0].rate_limiter.ops.size: missing (required)" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false,"
		  " \"rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": -5}}}]}",
		  "drives[0].rate_limiter.ops.refill_time: -5 is out of range" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false,"
		  " \"rate_limiter\": []}]}", "drives[0].rate_limiter: expected an object, not an array" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\"}]}",
		  "drives[0].is_root_device: missing (required)" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"is_root_device\": true}]}",
		  "drives[0].path_on_host: missing (required)" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a-b\", \"path_on_host\": \"/a\", \"is_root_device\": true}]}",
		  "drives[0].drive_id: 'a-b' may hold only letters, digits and '_'" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false,"
		  " \"socket\": \"/vu.sock\"}]}", "drives[0].socket: vhost-user block devices are not supported" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false,"
		  " \"cache_type\": \"unsafe\"}]}", "drives[0].cache_type: 'unsafe' is not one of Unsafe, Writeback" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false,"
		  " \"io_engine\": \"Uring\"}]}", "drives[0].io_engine: 'Uring' is not one of Sync, Async" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": true,"
		  " \"partuuid\": \"1 init=/bin/sh\"}]}", "drives[0].partuuid: '1 init=/bin/sh' may hold only" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": false},"
		  " {\"drive_id\": \"a\", \"path_on_host\": \"/b\", \"is_root_device\": false}]}",
		  "drives[1].drive_id: a is used twice" },
		{ "{" KERNEL ", \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"/a\", \"is_root_device\": true},"
		  " {\"drive_id\": \"b\", \"path_on_host\": \"/b\", \"is_root_device\": true}]}",
		  "drives[1]: drive b: A root block device already exists" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 33, \"mem_size_mib\": 128}}",
		  "machine-config.vcpu_count: 33 is out of range [1, 32]" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 0, \"mem_size_mib\": 128}}",
		  "machine-config.vcpu_count: 0 is out of range [1, 32]" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": -1, \"mem_size_mib\": 128}}",
		  "machine-config.vcpu_count: -1 is out of range" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 1.5, \"mem_size_mib\": 128}}",
		  "machine-config.vcpu_count: expected an integer, not a real number" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 2.0, \"mem_size_mib\": 128}}",
		  "machine-config.vcpu_count: expected an integer" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": \"2\", \"mem_size_mib\": 128}}",
		  "machine-config.vcpu_count: expected an integer, not a string" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 9223372036854775807}}",
		  "machine-config.mem_size_mib: 9223372036854775807 is out of range" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 99999999999999999999}}",
		  "too big integer" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 1e400}}",
		  "real number overflow" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 1}}", "machine-config.mem_size_mib: missing (required)" },
		{ "{" KERNEL ", \"machine-config\": {\"mem_size_mib\": 128}}", "machine-config.vcpu_count: missing (required)" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": true}}",
		  "machine-config.vcpu_count: with smt the count must be 1 or even" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"2M\"}}",
		  "machine-config.mem_size_mib: 2M huge pages need an even size" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"Transparent\"}}",
		  "machine-config.huge_pages: Transparent huge pages are not supported by ember" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"1G\"}}",
		  "machine-config.huge_pages: '1G' is not one of" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"T2\"}}",
		  "machine-config.cpu_template: static CPU template T2 is not supported by ember" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"T3\"}}",
		  "machine-config.cpu_template: 'T3' is not one of None, C3" },
		{ "{" KERNEL ", \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": 1}}",
		  "machine-config.smt: expected a boolean, not an integer" },
		{ "{" KERNEL ", \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"abcdefghijklmnop\"}]}",
		  "network-interfaces[0].host_dev_name: longer than 15 bytes" },
		{ "{" KERNEL ", \"network-interfaces\": [{\"iface_id\": \"eth0\"}]}",
		  "network-interfaces[0].host_dev_name: missing (required)" },
		{ "{" KERNEL ", \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"../x\"}]}",
		  "network-interfaces[0].host_dev_name: '../x' is not a valid interface name" },
		{ "{" KERNEL ", \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\","
		  " \"guest_mac\": \"06:00:00:00:00\"}]}", "network-interfaces[0].guest_mac: MAC address '06:00:00:00:00': expected six hex bytes" },
		{ "{" KERNEL ", \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\","
		  " \"guest_mac\": \"06:00:00:00:00:0g\"}]}", "expected six hex bytes aa:bb:cc:dd:ee:ff" },
		{ "{" KERNEL ", \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\","
		  " \"guest_mac\": \"01:00:00:00:00:01\"}]}", "network-interfaces[0].guest_mac: 01:00:00:00:00:01 is a multicast" },
		{ "{" KERNEL ", \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\", \"mtu\": 67}]}",
		  "network-interfaces[0].mtu: 67 is out of range [68, 65535]" },
		{ "{" KERNEL ", \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\", \"mtu\": 65536}]}",
		  "network-interfaces[0].mtu: 65536 is out of range" },
		{ "{" KERNEL ", \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\","
		  " \"tx_rate_limiter\": {\"bandwidth\": {\"size\": true, \"refill_time\": 1}}}]}",
		  "network-interfaces[0].tx_rate_limiter.bandwidth.size: expected an integer, not a boolean" },
		{ "{" KERNEL ", \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\"},"
		  " {\"iface_id\": \"eth1\", \"host_dev_name\": \"t\"}]}", "network-interfaces[1]: iface eth1: host_dev_name t" },
		{ "{" KERNEL ", \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\"},"
		  " {\"iface_id\": \"eth0\", \"host_dev_name\": \"u\"}]}", "network-interfaces[1].iface_id: eth0 is used twice" },
		{ "{" KERNEL ", \"vsock\": {\"guest_cid\": 2, \"uds_path\": \"/v\"}}", "vsock.guest_cid: 2 is out of range [3, 4294967295]" },
		{ "{" KERNEL ", \"vsock\": {\"guest_cid\": 4294967296, \"uds_path\": \"/v\"}}", "vsock.guest_cid: 4294967296 is out of range" },
		{ "{" KERNEL ", \"vsock\": {\"guest_cid\": 3}}", "vsock.uds_path: missing (required)" },
		{ "{" KERNEL ", \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/v\", \"vsock_id\": \"a.b\"}}", "vsock.vsock_id: 'a.b'" },
		{ "{" KERNEL ", \"logger\": {\"level\": \"loud\"}}", "logger.level: 'loud' is not one of Error, Warning, Info, Debug, Trace, Off" },
		{ "{" KERNEL ", \"logger\": {\"level\": \"Errorxxxxxxxxxxxxxxxxxxxxxxxxx\"}}", "logger.level: not one of" },
		{ "{" KERNEL ", \"logger\": {\"show_level\": \"true\"}}", "logger.show_level: expected a boolean" },
		{ "{" KERNEL ", \"metrics\": {}}", "metrics.metrics_path: missing (required)" },
		{ "{" KERNEL ", \"entropy\": {\"rate_limiter\": 5}}", "entropy.rate_limiter: expected an object" },
		{ "{" KERNEL ", \"entropy\": {\"rate\": {}}}", "entropy.rate: unknown key" },
		{ "{" KERNEL ", \"balloon\": {\"amount_mib\": 1}}", "balloon.deflate_on_oom: missing (required)" },
		{ "{" KERNEL ", \"balloon\": {\"amount_mib\": 1, \"deflate_on_oom\": false, \"free_page_hinting\": true}}",
		  "balloon.free_page_hinting: not supported by ember" },
		{ "{" KERNEL ", \"balloon\": {\"amount_mib\": 1, \"deflate_on_oom\": false, \"stats_polling_interval_s\": 65536}}",
		  "balloon.stats_polling_interval_s: 65536 is out of range" },
		{ "{" KERNEL ", \"balloon\": {\"amount_mib\": 200, \"deflate_on_oom\": false}}",
		  "balloon.amount_mib: 200 MiB is more than the guest's 128 MiB" },
		{ "{" KERNEL ", " KERNEL "}", "duplicate object key" },
		{ "{\"boot-source\": {\"kernel_image_path\": \"/a\", \"kernel_image_path\": \"/b\"}}", "duplicate object key" },
		{ "{" KERNEL ", \"a\\u0000b\": 1}", "NUL byte in object key" },
		{ "{" KERNEL "} trailing", "invalid JSON at line 1" },
		{ "", "invalid JSON" },
		{ "{" KERNEL ", \"\\ud800\": 1}", "invalid JSON" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_config_error(cases[i].text, cases[i].what);
}

static void test_overlong_strings(void **state)
{
	size_t n = SPEC_PATH_MAX + 64;
	char *text = malloc(n + 128), *p;

	(void)state;
	assert_non_null(text);
	/* A path of exactly SPEC_PATH_MAX - 1 bytes fits, one more does not. */
	for (size_t len = SPEC_PATH_MAX - 1; len <= SPEC_PATH_MAX; len++) {
		p = text + sprintf(text, "{\"boot-source\": {\"kernel_image_path\": \"");
		memset(p, 'k', len);
		strcpy(p + len, "\"}}");
		if (len < SPEC_PATH_MAX) {
			assert_int_equal(parse_str(text, &spec_a), 0);
			assert_int_equal(strlen(spec_a.boot.kernel_image_path), len);
		} else {
			expect_config_error(text, "boot-source.kernel_image_path: longer than 4095 bytes");
		}
	}
	sprintf(text, "{" KERNEL ", \"drives\": [{\"drive_id\": \"%0*d\", \"path_on_host\": \"/a\", \"is_root_device\": false}]}",
		SPEC_ID_MAX + 1, 0);
	expect_config_error(text, "drives[0].drive_id: longer than 64 bytes");
	/* Unknown keys are shown bounded, whatever their length. */
	p = text + sprintf(text, "{" KERNEL ", \"");
	memset(p, 'x', 2000);
	strcpy(p + 2000, "\": 1}");
	expect_config_error(text, "xxx...: unknown key");
	free(text);
}

static void test_too_many_devices(void **state)
{
	static char text[16384];
	size_t len;

	(void)state;
	len = (size_t)sprintf(text, "{" KERNEL ", \"drives\": [");
	for (int i = 0; i <= SPEC_MAX_DRIVES; i++)
		len += (size_t)sprintf(text + len, "%s{\"drive_id\": \"d%d\", \"path_on_host\": \"/a\", \"is_root_device\": false}",
				       i ? "," : "", i);
	strcpy(text + len, "]}");
	expect_config_error(text, "drives: at most 16 drives");
	len = (size_t)sprintf(text, "{" KERNEL ", \"network-interfaces\": [");
	for (int i = 0; i <= SPEC_MAX_NETS; i++)
		len += (size_t)sprintf(text + len, "%s{\"iface_id\": \"e%d\", \"host_dev_name\": \"t%d\"}", i ? "," : "", i, i);
	strcpy(text + len, "]}");
	expect_config_error(text, "network-interfaces: at most 8 interfaces");
}

static void test_deep_nesting_and_size_cap(void **state)
{
	size_t depth = 100000, len;
	char *text = malloc(2 * depth + 64);

	(void)state;
	assert_non_null(text);
	memset(text, '[', depth);
	memset(text + depth, ']', depth);
	text[2 * depth] = '\0';
	expect_config_error(text, "invalid JSON");
	assert_int_equal(spec_json_parse_config(text, 2 * depth, &spec_a), -EINVAL);
	/* Deep nesting under a known key is refused by the decoder too. */
	len = (size_t)sprintf(text, "{" KERNEL ", \"vsock\": ");
	memset(text + len, '[', depth);
	assert_int_equal(spec_json_parse_config(text, len + depth, &spec_a), -EINVAL);
	free(text);

	text = malloc(SPEC_JSON_MAX_TEXT + 2);
	assert_non_null(text);
	memset(text, ' ', SPEC_JSON_MAX_TEXT + 1);
	memcpy(text, "{" KERNEL "}", strlen("{" KERNEL "}"));
	assert_int_equal(spec_json_parse_config(text, SPEC_JSON_MAX_TEXT + 1, &spec_a), -E2BIG);
	/* Exactly at the cap is still read (trailing spaces are fine). */
	assert_int_equal(spec_json_parse_config(text, SPEC_JSON_MAX_TEXT, &spec_a), 0);
	free(text);
}

static void test_every_prefix_rejected(void **state)
{
	size_t len = strlen(full_config);
	char *copy;

	(void)state;
	/* The last byte is a newline: everything up to the closing brace is
	 * a proper prefix that must fail. Copies are exact-size so an
	 * overread is visible under valgrind. */
	for (size_t cut = 0; cut < len - 1; cut++) {
		copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, full_config, cut);
		if (spec_json_parse_config(copy, cut, &spec_a) >= 0)
			fail_msg("prefix of %zu bytes accepted", cut);
		free(copy);
	}
	assert_int_equal(spec_json_parse_config(full_config, len - 1, &spec_a), 0);
}

static void test_round_trip(void **state)
{
	char *dump, *dump2;

	(void)state;
	memset(&spec_a, 0, sizeof(spec_a));
	memset(&spec_b, 0xff, sizeof(spec_b));
	assert_int_equal(parse_str(full_config, &spec_a), 0);
	dump = spec_json_dump_full(&spec_a);
	assert_non_null(dump);
	assert_int_equal(parse_str(dump, &spec_b), 0);
	assert_memory_equal(&spec_a, &spec_b, sizeof(spec_a));
	dump2 = spec_json_dump_full(&spec_b);
	assert_string_equal(dump, dump2);
	free(dump);
	free(dump2);

	/* And with every optional section absent. */
	assert_int_equal(parse_str("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"boot_args\": \"\"}}", &spec_a), 0);
	dump = spec_json_dump_full(&spec_a);
	assert_non_null(dump);
	assert_int_equal(parse_str(dump, &spec_b), 0);
	assert_memory_equal(&spec_a, &spec_b, sizeof(spec_a));
	assert_true(spec_b.boot.has_boot_args);
	assert_string_equal(spec_b.boot.boot_args, "");
	free(dump);
}

static void test_dump_shape(void **state)
{
	json_error_t e;
	json_t *j, *d;
	char *dump;

	(void)state;
	assert_int_equal(parse_str(full_config, &spec_a), 0);
	dump = spec_json_dump_full(&spec_a);
	assert_non_null(dump);
	j = json_loads(dump, 0, &e);
	assert_non_null(j);
	free(dump);
	assert_true(json_is_null(json_object_get(j, "mmds-config")));
	assert_true(json_is_array(json_object_get(j, "drives")));
	assert_true(json_is_array(json_object_get(j, "network-interfaces")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "boot-source"), "initrd_path")), "/k/initrd");
	d = json_array_get(json_object_get(j, "drives"), 1);
	assert_string_equal(json_string_value(json_object_get(d, "drive_id")), "data");
	assert_true(json_is_null(json_object_get(d, "partuuid")));
	assert_string_equal(json_string_value(json_object_get(d, "cache_type")), "Writeback");
	assert_string_equal(json_string_value(json_object_get(d, "io_engine")), "Async");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(d, "rate_limiter"), "bandwidth"),
							    "refill_time")), 100);
	d = json_array_get(json_object_get(j, "drives"), 0);
	assert_true(json_is_null(json_object_get(d, "rate_limiter")));
	assert_string_equal(json_string_value(json_object_get(d, "partuuid")), "0eaa91a0-01");
	d = json_array_get(json_object_get(j, "network-interfaces"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "guest_mac")), "06:00:ac:10:00:02");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "logger"), "level")), "Debug");
	json_decref(j);

	/* An empty spec: nulls for absent devices, bare boot-source. */
	vm_spec_init(&spec_a);
	dump = spec_json_dump_full(&spec_a);
	assert_non_null(dump);
	j = json_loads(dump, 0, &e);
	assert_non_null(j);
	free(dump);
	assert_int_equal(json_object_size(j), 10);
	assert_true(json_is_null(json_object_get(j, "vsock")));
	assert_true(json_is_null(json_object_get(j, "balloon")));
	assert_true(json_is_null(json_object_get(j, "entropy")));
	assert_true(json_is_null(json_object_get(j, "logger")));
	assert_true(json_is_null(json_object_get(j, "metrics")));
	assert_int_equal(json_object_size(json_object_get(j, "boot-source")), 1);
	assert_int_equal(json_array_size(json_object_get(j, "drives")), 0);
	json_decref(j);

	/* A CLI path that is not UTF-8 cannot be shown: an error, not bad JSON. */
	spec_a.boot.present = true;
	strcpy(spec_a.boot.kernel_image_path, "/k\xff");
	assert_null(spec_json_dump_full(&spec_a));
	assert_non_null(strstr(err_last(), "UTF-8"));
}

static void test_dump_machine(void **state)
{
	struct spec_machine m;
	char *s;

	(void)state;
	vm_spec_init(&spec_a);
	m = spec_a.machine;
	s = spec_json_dump_machine(&m);
	assert_non_null(s);
	assert_string_equal(s, "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,\"track_dirty_pages\":false,"
			       "\"huge_pages\":\"None\"}");
	free(s);
	m.vcpu_count = 4;
	m.huge_pages = SPEC_HUGE_PAGES_2M;
	m.smt = true;
	strcpy(m.cpu_template, "T2");
	s = spec_json_dump_machine(&m);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"vcpu_count\":4"));
	assert_non_null(strstr(s, "\"huge_pages\":\"2M\""));
	assert_non_null(strstr(s, "\"smt\":true"));
	assert_non_null(strstr(s, "\"cpu_template\":\"T2\""));
	free(s);
}

static json_t *load(const char *text)
{
	json_t *j = NULL;

	assert_int_equal(spec_json_load(text, strlen(text), &j), 0);
	return j;
}

static void test_machine_put_and_patch(void **state)
{
	struct spec_machine m, before;
	json_t *j;

	(void)state;
	vm_spec_init(&spec_a);
	m = spec_a.machine;
	strcpy(m.cpu_template_path, "/t.json");
	m.smt = true;
	m.vcpu_count = 2;

	/* PUT: the omitted fields go back to their defaults, the ember-only
	 * template path stays; API bodies name keys without a prefix. */
	j = load("{\"vcpu_count\": 4, \"mem_size_mib\": 256}");
	assert_int_equal(spec_json_parse_machine(j, "", &m), 0);
	json_decref(j);
	assert_int_equal(m.vcpu_count, 4);
	assert_int_equal(m.mem_size_mib, 256);
	assert_false(m.smt);
	assert_string_equal(m.cpu_template_path, "/t.json");

	j = load("{\"vcpu_count\": 4}");
	before = m;
	assert_int_equal(spec_json_parse_machine(j, "", &m), -EINVAL);
	assert_string_equal(err_last(), "mem_size_mib: missing (required)");
	assert_memory_equal(&m, &before, sizeof(m));
	/* PATCH: one field at a time, the rest kept. */
	assert_int_equal(spec_json_patch_machine(j, "", &m), 0);
	json_decref(j);
	j = load("{\"track_dirty_pages\": true}");
	assert_int_equal(spec_json_patch_machine(j, "", &m), 0);
	json_decref(j);
	assert_true(m.track_dirty_pages);
	assert_int_equal(m.mem_size_mib, 256);
	j = load("{}");
	assert_int_equal(spec_json_patch_machine(j, "", &m), 0);
	json_decref(j);

	/* All or nothing: a good field before a bad one changes nothing. */
	before = m;
	j = load("{\"vcpu_count\": 8, \"mem_size_mib\": 512, \"smt\": \"yes\"}");
	assert_int_equal(spec_json_patch_machine(j, "", &m), -EINVAL);
	json_decref(j);
	assert_string_equal(err_last(), "smt: expected a boolean, not a string");
	assert_memory_equal(&m, &before, sizeof(m));
	/* A patch that breaks a cross-field rule is refused too. */
	j = load("{\"smt\": true, \"vcpu_count\": 3}");
	assert_int_equal(spec_json_patch_machine(j, "", &m), -EINVAL);
	json_decref(j);
	assert_memory_equal(&m, &before, sizeof(m));
	j = load("[1]");
	assert_int_equal(spec_json_patch_machine(j, "", &m), -EINVAL);
	assert_string_equal(err_last(), "body: expected an object, not an array");
	json_decref(j);
}

static void test_api_sections(void **state)
{
	struct spec_partial_drive pd;
	struct spec_partial_net pn;
	static struct spec_drive d;
	struct spec_net n;
	json_t *j;

	(void)state;
	j = load("{\"drive_id\": \"rootfs\", \"path_on_host\": \"/new.img\"}");
	assert_int_equal(spec_json_parse_partial_drive(j, "", &pd), 0);
	json_decref(j);
	assert_string_equal(pd.drive_id, "rootfs");
	assert_true(pd.has_path_on_host);
	assert_string_equal(pd.path_on_host, "/new.img");
	assert_false(pd.has_rate_limiter);
	j = load("{\"drive_id\": \"rootfs\", \"rate_limiter\": {}}");
	assert_int_equal(spec_json_parse_partial_drive(j, "", &pd), 0);
	json_decref(j);
	assert_false(pd.has_path_on_host);
	assert_true(pd.has_rate_limiter && pd.rate_limiter.present);
	assert_false(pd.rate_limiter.bandwidth.present);
	j = load("{\"drive_id\": \"rootfs\", \"is_read_only\": true}");
	assert_int_equal(spec_json_parse_partial_drive(j, "", &pd), -EINVAL);
	json_decref(j);
	assert_string_equal(err_last(), "is_read_only: unknown key");
	j = load("{\"path_on_host\": \"/x\"}");
	assert_int_equal(spec_json_parse_partial_drive(j, "", &pd), -EINVAL);
	json_decref(j);
	assert_string_equal(err_last(), "drive_id: missing (required)");

	j = load("{\"iface_id\": \"eth0\", \"tx_rate_limiter\": {\"ops\": {\"size\": 5, \"refill_time\": 9}}}");
	assert_int_equal(spec_json_parse_partial_net(j, "", &pn), 0);
	json_decref(j);
	assert_false(pn.has_rx_rate_limiter);
	assert_true(pn.has_tx_rate_limiter);
	assert_int_equal(pn.tx_rate_limiter.ops.refill_time_ms, 9);

	j = load("{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": false}");
	assert_int_equal(spec_json_parse_drive(j, "", &d), 0);
	json_decref(j);
	assert_false(d.is_read_only);
	j = load("{\"iface_id\": \"e\", \"host_dev_name\": \"tap0\", \"guest_mac\": \"aa:bb:cc:dd:ee:fe\"}");
	assert_int_equal(spec_json_parse_net(j, "", &n), 0);
	json_decref(j);
	assert_int_equal(n.guest_mac[5], 0xfe);
}

static void test_small_sections(void **state)
{
	struct spec_boot_source *b = malloc(sizeof(*b));
	struct spec_vsock *v = malloc(sizeof(*v));
	struct spec_metrics *m = malloc(sizeof(*m));
	struct spec_entropy e;
	struct spec_balloon bal;
	json_t *j;

	(void)state;
	assert_non_null(b);
	assert_non_null(v);
	assert_non_null(m);
	j = load("{\"kernel_image_path\": \"/vmlinux\"}");
	assert_int_equal(spec_json_parse_boot_source(j, "", b), 0);
	json_decref(j);
	assert_true(b->present);
	assert_false(b->has_boot_args);
	j = load("{\"guest_cid\": 42, \"uds_path\": \"/v.sock\"}");
	assert_int_equal(spec_json_parse_vsock(j, "", v), 0);
	json_decref(j);
	assert_int_equal(v->guest_cid, 42);
	assert_string_equal(v->vsock_id, "");
	j = load("{\"metrics_path\": \"\"}");
	assert_int_equal(spec_json_parse_metrics(j, "", m), -EINVAL);
	json_decref(j);
	assert_string_equal(err_last(), "metrics_path: must not be empty");
	j = load("{}");
	assert_int_equal(spec_json_parse_entropy(j, "", &e), 0);
	assert_true(e.present);
	assert_false(e.rate_limiter.present);
	assert_int_equal(spec_json_parse_balloon(j, "", &bal), -EINVAL);
	json_decref(j);
	assert_string_equal(err_last(), "amount_mib: missing (required)");
	j = load("{\"amount_mib\": 10, \"deflate_on_oom\": false, \"free_page_reporting\": false}");
	assert_int_equal(spec_json_parse_balloon(j, "", &bal), 0);
	json_decref(j);
	assert_int_equal(bal.amount_mib, 10);
	free(b);
	free(v);
	free(m);
}

static void test_load(void **state)
{
	json_t *j = (json_t *)1;

	(void)state;
	assert_int_equal(spec_json_load("{\"a\": 1, \"a\": 2}", 16, &j), -EINVAL);
	assert_null(j);
	assert_non_null(strstr(err_last(), "duplicate object key"));
	assert_int_equal(spec_json_load("{\"a\": 1}", SPEC_JSON_MAX_TEXT + 1, &j), -E2BIG);
	/* Length-bounded: text after len is never read. */
	assert_int_equal(spec_json_load("{}garbage", 2, &j), 0);
	assert_true(json_is_object(j));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_minimal_config_defaults),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_overlong_strings),
		cmocka_unit_test(test_too_many_devices),
		cmocka_unit_test(test_deep_nesting_and_size_cap),
		cmocka_unit_test(test_every_prefix_rejected),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_dump_shape),
		cmocka_unit_test(test_dump_machine),
		cmocka_unit_test(test_machine_put_and_patch),
		cmocka_unit_test(test_api_sections),
		cmocka_unit_test(test_small_sections),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
