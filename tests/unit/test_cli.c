#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/cli.h"
#include "vmm/net_alloc.h"
#include "vmm/vm_spec.h"

#define ARGV(...) ((char *const[]){ "ember", __VA_ARGS__ })
#define ARGC(...) ((int)(sizeof((char *const[]){ "ember", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(opts, ...) cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (opts))

static void test_defaults(void **state)
{
	struct cli_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--kernel", "vmlinux"), 0);
	assert_string_equal(o.kernel, "vmlinux");
	assert_null(o.initrd);
	assert_int_equal(o.mem_mib, 128);
	assert_int_equal(o.vcpus, 1);
	assert_string_equal(o.cmdline, CLI_DEFAULT_CMDLINE);
	assert_int_equal(o.log_level, LOG_WARN);
	assert_false(o.help || o.version || o.print_startup || o.print_exit_stats || o.console_escape);
}

static void test_all_flags_both_forms(void **state)
{
	struct cli_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--kernel=bz", "--initrd", "rd.img", "--cmdline=a=b c", "--mem", "512",
			       "--vcpus=4", "--cpu-template", "t.json", "--log-level", "debug", "--print-startup", "--print-exit-stats", "--console-escape"),
			 0);
	assert_string_equal(o.kernel, "bz");
	assert_string_equal(o.initrd, "rd.img");
	assert_string_equal(o.cmdline, "a=b c");
	assert_int_equal(o.mem_mib, 512);
	assert_int_equal(o.vcpus, 4);
	assert_string_equal(o.cpu_template, "t.json");
	assert_int_equal(o.log_level, LOG_DEBUG);
	assert_true(o.print_startup && o.print_exit_stats && o.console_escape);
}

static void test_help_and_version_need_no_kernel(void **state)
{
	struct cli_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--help"), 0);
	assert_true(o.help);
	assert_int_equal(PARSE(&o, "-V"), 0);
	assert_true(o.version);
}

static void test_bad_arguments(void **state)
{
	struct cli_options o;

	(void)state;
	assert_int_equal(cli_parse(1, ARGV(NULL), &o), -EINVAL);
	assert_non_null(strstr(err_last(), "--kernel, --config-file, --restore or --api-sock is required"));
	assert_int_equal(PARSE(&o, "--kernel"), -EINVAL);
	assert_non_null(strstr(err_last(), "--kernel needs a value"));
	assert_int_equal(PARSE(&o, "--kernel", "k", "--bogus"), -EINVAL);
	assert_non_null(strstr(err_last(), "unknown argument '--bogus'"));
	assert_int_equal(PARSE(&o, "--kernelx", "k"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--vcpus", "0"), -EINVAL);
	assert_non_null(strstr(err_last(), "out of range"));
	assert_int_equal(PARSE(&o, "--kernel", "k", "--vcpus", "33"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--vcpus", "32"), 0);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--mem", "15"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--mem", "-1"), -EINVAL);
	assert_non_null(strstr(err_last(), "not a number"));
	assert_int_equal(PARSE(&o, "--kernel", "k", "--mem", "12x"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--mem", ""), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--mem", "99999999999999999999999"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--mem", "1048577"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--log-level", "loud"), -EINVAL);
	assert_non_null(strstr(err_last(), "--log-level"));
}

static void test_drives_and_rng(void **state)
{
	static struct cli_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--kernel", "k", "--drive", "path=/a.img,id=root", "--rng",
			       "--drive=path=/b.img,ro=on"), 0);
	assert_int_equal(o.nr_drives, 2);
	assert_string_equal(o.drives[0].path_on_host, "/a.img");
	assert_string_equal(o.drives[0].drive_id, "root");
	assert_false(o.drives[0].is_read_only);
	assert_string_equal(o.drives[1].path_on_host, "/b.img");
	assert_string_equal(o.drives[1].drive_id, "drive1");
	assert_true(o.drives[1].is_read_only);
	assert_true(o.rng);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--drive", "ro=on"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--drive"), -EINVAL);
}

static void test_too_many_drives(void **state)
{
	static struct cli_options o;
	char *argv[2 + 2 * (CLI_MAX_DRIVES + 1)];
	int argc = 0;

	(void)state;
	argv[argc++] = "ember";
	argv[argc++] = "--kernel=k";
	for (int i = 0; i <= CLI_MAX_DRIVES; i++) {
		argv[argc++] = "--drive";
		argv[argc++] = "path=/x.img";
	}
	assert_int_equal(cli_parse(argc, argv, &o), -EINVAL);
	assert_int_equal(o.nr_drives, CLI_MAX_DRIVES);
}

static void test_usage_mentions_every_flag(void **state)
{
	char buf[16384] = { 0 };
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	(void)state;
	assert_non_null(f);
	cli_print_usage(f);
	fclose(f);
	static const char *const flags[] = { "--kernel", "--initrd", "--cmdline", "--mem", "--vcpus",
					     "--cpu-template", "--log-level", "--print-exit-stats", "--print-startup",
					     "--help", "--version", "--drive", "--rng", "--config-file", "--api-sock",
					     "--no-api", "--id", "--log-path", "--show-level", "--show-log-origin",
					     "--metrics-path", "--net", "tap=", "subnet=", "--restore", "--mem-file",
					     "--restore-mem", "lazy|copy" };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		assert_non_null(strstr(buf, flags[i]));
}

static void test_config_and_api_flags(void **state)
{
	static struct cli_options o;

	(void)state;
	/* A config file or an API socket stands in for --kernel. */
	assert_int_equal(PARSE(&o, "--config-file", "vm.json"), 0);
	assert_string_equal(o.config_file, "vm.json");
	assert_null(o.kernel);
	assert_false(o.no_api);
	assert_int_equal(PARSE(&o, "--api-sock=/run/fc.sock"), 0);
	assert_string_equal(o.api_sock, "/run/fc.sock");
	assert_int_equal(PARSE(&o, "--config-file=vm.json", "--no-api", "--id", "vm_1", "--log-path", "/l.log",
			       "--show-level", "--show-log-origin", "--metrics-path=/m.fifo", "--log-level", "info",
			       "--print-startup"), 0);
	assert_true(o.no_api && o.show_level && o.show_log_origin && o.print_startup);
	assert_string_equal(o.id, "vm_1");
	assert_string_equal(o.log_path, "/l.log");
	assert_string_equal(o.metrics_path, "/m.fifo");
	assert_int_equal(o.log_level, LOG_INFO);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--no-api"), 0);
	/* The shortcuts may preconfigure a VM the API then completes. */
	assert_int_equal(PARSE(&o, "--api-sock", "/s", "--mem", "256", "--drive", "path=/a.img"), 0);
}

static void expect_refused(int ret, const char *what)
{
	assert_int_equal(ret, -EINVAL);
	if (!strstr(err_last(), what))
		fail_msg("error \"%s\" lacks \"%s\"", err_last(), what);
}

static void test_flag_conflicts(void **state)
{
	static struct cli_options o;

	(void)state;
	expect_refused(PARSE(&o, "--config-file", "c", "--kernel", "k"),
		       "--config-file cannot be combined with --kernel");
	expect_refused(PARSE(&o, "--initrd", "i", "--config-file", "c"), "--config-file cannot be combined with --initrd");
	expect_refused(PARSE(&o, "--config-file", "c", "--cmdline", "x"), "with --cmdline");
	expect_refused(PARSE(&o, "--config-file", "c", "--mem", "256"), "with --mem");
	expect_refused(PARSE(&o, "--config-file", "c", "--vcpus", "2"), "with --vcpus");
	expect_refused(PARSE(&o, "--config-file", "c", "--drive", "path=/a"), "with --drive");
	expect_refused(PARSE(&o, "--config-file", "c", "--rng"), "with --rng");
	expect_refused(PARSE(&o, "--config-file", "c", "--cpu-template", "t.json"), "with --cpu-template");
	expect_refused(PARSE(&o, "--no-api"), "--no-api needs --config-file, --kernel or --restore");
	expect_refused(PARSE(&o, "--api-sock", "/s", "--no-api"), "--no-api needs --config-file, --kernel or --restore");
	expect_refused(PARSE(&o, "--kernel", "k", "--api-sock", "/s", "--no-api"),
		       "--no-api cannot be combined with --api-sock");
	expect_refused(PARSE(&o, "--kernel", "k", "--id", "my vm"), "--id: 'my vm' may hold only");
	expect_refused(PARSE(&o, "--kernel", "k", "--id", "../vm"), "--id: '../vm' may hold only");
	/* Firecracker's (and ember-jailer's) ids have hyphens. */
	assert_int_equal(PARSE(&o, "--kernel", "k", "--id", "my-vm-1"), 0);
	expect_refused(PARSE(&o, "--kernel", "k", "--id", ""), "--id");
	expect_refused(PARSE(&o, "--kernel", "k", "--config-file"), "--config-file needs a value");
	expect_refused(PARSE(&o, "--kernel", "k", "--no-api=1"), "unknown argument '--no-api=1'");
	expect_refused(PARSE(&o, "--kernel", "k", "--config-file", ""), "--config-file: must not be empty");
	/* --help still works whatever else is wrong with the line. */
	assert_int_equal(PARSE(&o, "--help", "--no-api"), 0);
}

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static void test_net_tap_form(void **state)
{
	static struct cli_options o;
	static struct vm_spec s;
	static const uint8_t mac[6] = { 0x06, 0x00, 0xac, 0x10, 0x00, 0x02 };

	(void)state;
	assert_int_equal(PARSE(&o, "--kernel", "k", "--net", "tap=tap0", "--net=tap=fc-tap1,mac=06:00:AC:10:00:02,id=wan"),
			 0);
	assert_int_equal(o.nr_nets, 2);
	vm_spec_init(&s);
	assert_int_equal(cli_to_spec(&o, &s), 0);
	assert_int_equal(s.nr_nets, 2);
	assert_string_equal(s.nets[0].iface_id, "eth0");
	assert_string_equal(s.nets[0].host_dev_name, "tap0");
	assert_false(s.nets[0].has_guest_mac || s.nets[0].has_ip);
	assert_string_equal(s.nets[1].iface_id, "wan");
	assert_string_equal(s.nets[1].host_dev_name, "fc-tap1");
	assert_true(s.nets[1].has_guest_mac);
	assert_memory_equal(s.nets[1].guest_mac, mac, 6);
	assert_false(s.nets[1].has_ip);
	/* The default id counts every --net, so it names the guest's ethN. */
	assert_int_equal(PARSE(&o, "--kernel", "k", "--net", "tap=a,id=x", "--net", "tap=b"), 0);
	vm_spec_init(&s);
	assert_int_equal(cli_to_spec(&o, &s), 0);
	assert_string_equal(s.nets[1].iface_id, "eth1");
}

static void test_net_derived_form(void **state)
{
	static struct cli_options o;
	static struct vm_spec s;
	char tap[NET_ALLOC_TAP_NAME_MAX], cmdline[512];
	uint8_t mac[6];
	struct net_subnet sub = { IP4(172, 16, 0, 0), 24 };

	(void)state;
	assert_int_equal(PARSE(&o, "--kernel", "k", "--cmdline", "console=ttyS0", "--net",
			       "id=vm-42,subnet=172.16.0.0/24"), 0);
	vm_spec_init(&s);
	assert_int_equal(cli_to_spec(&o, &s), 0);
	assert_int_equal(s.nr_nets, 1);
	/* Exactly what an orchestrator computes from the id with net_alloc. */
	assert_int_equal(net_alloc_tap_name("vm-42", tap), 0);
	assert_string_equal(s.nets[0].host_dev_name, tap);
	net_alloc_mac("vm-42", mac);
	assert_true(s.nets[0].has_guest_mac);
	assert_memory_equal(s.nets[0].guest_mac, mac, 6);
	assert_string_equal(s.nets[0].iface_id, "eth0");
	assert_true(s.nets[0].has_ip);
	assert_int_equal(s.nets[0].ip, net_alloc_guest_ip(&sub, "vm-42"));
	assert_int_equal(s.nets[0].gateway, IP4(172, 16, 0, 1));
	assert_int_equal(s.nets[0].netmask, IP4(255, 255, 255, 0));
	assert_int_equal(vm_spec_cmdline(&s, cmdline, sizeof(cmdline)), 0);
	assert_non_null(strstr(cmdline, "::172.16.0.1:255.255.255.0::eth0:off"));
	assert_int_equal(strncmp(cmdline, "console=ttyS0 ip=172.16.0.", strlen("console=ttyS0 ip=172.16.0.")), 0);
	/* A /30 leaves the guest one address. */
	assert_int_equal(PARSE(&o, "--kernel", "k", "--net", "subnet=10.9.0.4/30,id=a"), 0);
	vm_spec_init(&s);
	assert_int_equal(cli_to_spec(&o, &s), 0);
	assert_int_equal(s.nets[0].ip, IP4(10, 9, 0, 6));
	/* Beside a plain TAP: the derived one is the guest's eth1. */
	assert_int_equal(PARSE(&o, "--kernel", "k", "--net", "tap=t0", "--net", "id=vm1,subnet=10.0.0.0/24"), 0);
	vm_spec_init(&s);
	assert_int_equal(cli_to_spec(&o, &s), 0);
	assert_int_equal(vm_spec_cmdline(&s, cmdline, sizeof(cmdline)), 0);
	assert_non_null(strstr(cmdline, "::eth1:off"));
}

static void test_vsock_flag(void **state)
{
	static struct cli_options o;
	static struct vm_spec spec;

	(void)state;
	assert_int_equal(PARSE(&o, "--kernel", "k", "--vsock", "cid=7,uds=/tmp/v.sock"), 0);
	assert_true(o.vsock.present);
	assert_int_equal(o.vsock.guest_cid, 7);
	assert_string_equal(o.vsock.uds_path, "/tmp/v.sock");
	vm_spec_init(&spec);
	assert_int_equal(cli_to_spec(&o, &spec), 0);
	assert_true(spec.vsock.present);
	assert_int_equal(spec.vsock.guest_cid, 7);
	assert_string_equal(spec.vsock.uds_path, "/tmp/v.sock");
	expect_refused(PARSE(&o, "--kernel", "k", "--vsock", "cid=2,uds=/tmp/v"), "out of range");
	expect_refused(PARSE(&o, "--kernel", "k", "--vsock", "cid=4294967296,uds=/tmp/v"), "out of range");
	expect_refused(PARSE(&o, "--kernel", "k", "--vsock", "cid=3"), "needs cid=N");
	expect_refused(PARSE(&o, "--kernel", "k", "--vsock", "uds=/tmp/v"), "needs cid=N");
	expect_refused(PARSE(&o, "--kernel", "k", "--vsock", "cid=3,cid=4,uds=/tmp/v"), "unexpected 'cid=4'");
	expect_refused(PARSE(&o, "--kernel", "k", "--vsock", "cid=3,uds="), "unexpected 'uds='");
	expect_refused(PARSE(&o, "--kernel", "k", "--vsock", "cid=3,uds=/tmp/v,x=1"), "unexpected 'x=1'");
	expect_refused(PARSE(&o, "--kernel", "k", "--vsock", "cid=3,uds=/tmp/a", "--vsock", "cid=4,uds=/tmp/b"),
		       "given twice");
	expect_refused(PARSE(&o, "--kernel", "k", "--vsock",
			     "cid=3,uds=/tmp/0123456789012345678901234567890123456789012345678901234567890123456789"
			     "0123456789012345678901234567"),
		       "longer than 96");
	expect_refused(PARSE(&o, "--config-file", "f.json", "--vsock", "cid=3,uds=/tmp/v"), "--vsock");
}

static void test_net_refusals(void **state)
{
	static struct cli_options o;

	(void)state;
	expect_refused(PARSE(&o, "--kernel", "k", "--net"), "--net needs a value");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", ""), "--net: ");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "mac=06:00:00:00:00:01"), "tap= or id=,subnet=");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "id=vm1"), "tap= or id=,subnet=");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "subnet=10.0.0.0/24"), "id=");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=t0,subnet=10.0.0.0/24"), "do not mix");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "id=vm1,subnet=10.0.0.0/24,mac=06:00:00:00:00:01"),
		       "do not mix");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=t0,foo=1"), "unknown key 'foo'");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=t0,tap=t1"), "tap= is given twice");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=t0,"), "--net: ");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap"), "key=value");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap="), "tap=: must not be empty");
	/* The kernel's interface-name rules: 1..15 bytes, no '/', ':' or space. */
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=0123456789abcdef"), "15");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=a/b"), "not a valid interface name");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=a:b"), "not a valid interface name");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=a b"), "not a valid interface name");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=.."), "not a valid interface name");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=t\x01"), "not a valid interface name");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=t0,mac=06:00:00:00:00"), "MAC");
	/* A multicast MAC cannot be a NIC's own address. */
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=t0,mac=01:00:5e:00:00:01"), "multicast");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=t0,id=my-if"), "may hold only");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "id=vm1,subnet=10.0.0.0/31"), "smaller than /30");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "id=vm1,subnet=10.0.0.1/24"), "host bits");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "id=vm1,subnet=10.0.0.0/24", "--net",
			     "id=vm2,subnet=10.0.1.0/24"),
		       "only one");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=t0", "--net", "tap=t1,id=eth0"),
		       "eth0 is used twice");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=t0", "--net", "tap=t0,id=b"), "t0");
	expect_refused(PARSE(&o, "--kernel", "k", "--net", "tap=t0,mac=06:00:00:00:00:01", "--net",
			     "tap=t1,mac=06:00:00:00:00:01"),
		       "06:00:00:00:00:01");
	expect_refused(PARSE(&o, "--config-file", "c", "--net", "tap=t0"), "with --net");
}

static void test_too_many_nets(void **state)
{
	static struct cli_options o;
	static char taps[SPEC_MAX_NETS + 1][16];
	char *argv[2 + 2 * (SPEC_MAX_NETS + 1)];
	int argc = 0;

	(void)state;
	argv[argc++] = "ember";
	argv[argc++] = "--kernel=k";
	for (int i = 0; i <= SPEC_MAX_NETS; i++) {
		snprintf(taps[i], sizeof(taps[i]), "tap=t%d", i);
		argv[argc++] = "--net";
		argv[argc++] = taps[i];
	}
	assert_int_equal(cli_parse(argc - 2, argv, &o), 0);
	assert_int_equal(o.nr_nets, SPEC_MAX_NETS);
	expect_refused(cli_parse(argc, argv, &o), "at most 8");
	assert_int_equal(o.nr_nets, SPEC_MAX_NETS);
}

static void test_to_spec_shortcuts(void **state)
{
	static struct cli_options o;
	static struct vm_spec s;

	(void)state;
	assert_int_equal(PARSE(&o, "--kernel", "/vmlinux", "--initrd", "/rd", "--cmdline", "console=hvc0", "--mem", "512",
			       "--vcpus", "2", "--cpu-template", "/t.json", "--drive", "path=/a.img,id=root_fs",
			       "--drive", "path=/b.img,ro=on", "--rng", "--id", "vm7", "--log-path", "/l.log",
			       "--show-level", "--log-level", "Debug", "--metrics-path", "/m"), 0);
	vm_spec_init(&s);
	assert_int_equal(cli_to_spec(&o, &s), 0);
	assert_true(s.boot.present);
	assert_string_equal(s.boot.kernel_image_path, "/vmlinux");
	assert_string_equal(s.boot.initrd_path, "/rd");
	assert_true(s.boot.has_boot_args);
	assert_string_equal(s.boot.boot_args, "console=hvc0");
	assert_int_equal(s.machine.mem_size_mib, 512);
	assert_int_equal(s.machine.vcpu_count, 2);
	assert_string_equal(s.machine.cpu_template_path, "/t.json");
	assert_int_equal(s.nr_drives, 2);
	assert_string_equal(s.drives[0].drive_id, "root_fs");
	assert_string_equal(s.drives[0].path_on_host, "/a.img");
	assert_false(s.drives[0].is_root_device || s.drives[0].is_read_only);
	assert_string_equal(s.drives[1].drive_id, "drive1");
	assert_true(s.drives[1].is_read_only);
	assert_false(s.drives[1].is_root_device);
	assert_true(s.entropy.present);
	assert_string_equal(s.id, "vm7");
	assert_true(s.logger.present && s.logger.show_level);
	assert_false(s.logger.show_log_origin);
	assert_string_equal(s.logger.log_path, "/l.log");
	assert_int_equal(s.logger.level, LOG_DEBUG);
	assert_true(s.metrics.present);
	assert_string_equal(s.metrics.metrics_path, "/m");
	assert_int_equal(vm_spec_validate(&s), 0);

	/* Without --cmdline the spec keeps its default, and nothing optional
	 * appears that the line did not ask for. */
	assert_int_equal(PARSE(&o, "--kernel", "/vmlinux"), 0);
	vm_spec_init(&s);
	assert_int_equal(cli_to_spec(&o, &s), 0);
	assert_false(s.boot.has_boot_args);
	assert_false(s.entropy.present || s.logger.present || s.metrics.present);
	assert_string_equal(s.id, SPEC_DEFAULT_ID);
	assert_int_equal(s.machine.mem_size_mib, 128);
	assert_int_equal(s.nr_drives, 0);
}

static void test_to_spec_keeps_config_file_values(void **state)
{
	static struct cli_options o;
	static struct vm_spec s;

	(void)state;
	/* With --config-file only --id, logger and metrics flags apply; the
	 * file's machine and logger level stay. */
	vm_spec_init(&s);
	s.machine.mem_size_mib = 2048;
	s.machine.vcpu_count = 4;
	s.logger.present = true;
	s.logger.level = LOG_TRACE;
	assert_int_equal(PARSE(&o, "--config-file", "c.json", "--show-log-origin", "--id", "x"), 0);
	assert_int_equal(cli_to_spec(&o, &s), 0);
	assert_int_equal(s.machine.mem_size_mib, 2048);
	assert_int_equal(s.machine.vcpu_count, 4);
	assert_int_equal(s.logger.level, LOG_TRACE);
	assert_true(s.logger.show_log_origin);
	assert_false(s.boot.present);
	assert_string_equal(s.id, "x");
}

static void test_to_spec_rejects(void **state)
{
	static struct cli_options o;
	static struct vm_spec s;

	(void)state;
	/* --drive allows '-' in ids (GET_ID), the API's drive_id does not. */
	assert_int_equal(PARSE(&o, "--kernel", "k", "--drive", "path=/a,id=my-disk"), 0);
	vm_spec_init(&s);
	assert_int_equal(cli_to_spec(&o, &s), -EINVAL);
	assert_non_null(strstr(err_last(), "--drive"));
	assert_non_null(strstr(err_last(), "my-disk"));
}

static void test_restore_flags(void **state)
{
	static struct cli_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--restore", "/s/vm.state", "--mem-file", "/s/vm.mem"), 0);
	assert_string_equal(o.restore, "/s/vm.state");
	assert_string_equal(o.mem_file, "/s/vm.mem");
	assert_int_equal(o.restore_mem, RESTORE_MEM_LAZY);
	assert_false(o.restore_mem_set);
	assert_null(o.shortcut);
	/* Both forms, and with every flag that does not shape the VM. */
	assert_int_equal(PARSE(&o, "--mem-file=/m", "--restore=/s", "--restore-mem=copy", "--api-sock", "/run/fc.sock",
			       "--id", "vm_2", "--log-path", "/l.log", "--log-level", "debug", "--show-level",
			       "--show-log-origin", "--metrics-path", "/m.fifo", "--print-startup", "--print-exit-stats"),
			 0);
	assert_string_equal(o.restore, "/s");
	assert_string_equal(o.mem_file, "/m");
	assert_int_equal(o.restore_mem, RESTORE_MEM_COPY);
	assert_true(o.restore_mem_set);
	assert_string_equal(o.api_sock, "/run/fc.sock");
	assert_string_equal(o.id, "vm_2");
	assert_int_equal(PARSE(&o, "--restore", "/s", "--mem-file", "/m", "--restore-mem", "lazy", "--no-api"), 0);
	assert_true(o.no_api);
	assert_int_equal(o.restore_mem, RESTORE_MEM_LAZY);
	/* The last --restore-mem wins, as for the other valued flags. */
	assert_int_equal(PARSE(&o, "--restore", "/s", "--mem-file", "/m", "--restore-mem", "copy", "--restore-mem", "lazy"),
			 0);
	assert_int_equal(o.restore_mem, RESTORE_MEM_LAZY);
	/* --help still answers beside a restore line that is wrong. */
	assert_int_equal(PARSE(&o, "--help", "--restore", "/s"), 0);
}

static void test_restore_refusals(void **state)
{
	static struct cli_options o;
	static char *const shortcuts[][2] = {
		{ "--kernel", "k" }, { "--initrd", "i" }, { "--cmdline", "c" }, { "--mem", "256" }, { "--vcpus", "2" },
		{ "--cpu-template", "t.json" }, { "--drive", "path=/a" }, { "--vsock", "cid=3,uds=/tmp/v" },
	};

	(void)state;
	expect_refused(PARSE(&o, "--restore", "/s"), "--restore needs --mem-file");
	expect_refused(PARSE(&o, "--restore", "/s", "--api-sock", "/a"), "--restore needs --mem-file");
	expect_refused(PARSE(&o, "--mem-file", "/m"), "--mem-file needs --restore");
	expect_refused(PARSE(&o, "--kernel", "k", "--mem-file", "/m"), "--mem-file needs --restore");
	expect_refused(PARSE(&o, "--kernel", "k", "--restore-mem", "copy"), "--restore-mem needs --restore");
	expect_refused(PARSE(&o, "--restore", "/s", "--mem-file", "/m", "--config-file", "c.json"),
		       "--restore cannot be combined with --config-file");
	expect_refused(PARSE(&o, "--config-file", "c.json", "--restore", "/s", "--mem-file", "/m"),
		       "--restore cannot be combined with --config-file");
	for (size_t i = 0; i < sizeof(shortcuts) / sizeof(shortcuts[0]); i++) {
		char what[64];

		snprintf(what, sizeof(what), "--restore cannot be combined with %s", shortcuts[i][0]);
		expect_refused(PARSE(&o, "--restore", "/s", "--mem-file", "/m", shortcuts[i][0], shortcuts[i][1]), what);
		expect_refused(PARSE(&o, shortcuts[i][0], shortcuts[i][1], "--restore", "/s", "--mem-file", "/m"), what);
	}
	expect_refused(PARSE(&o, "--restore", "/s", "--mem-file", "/m", "--rng"), "--restore cannot be combined with --rng");
	/* A new TAP for a restored NIC is an API matter. */
	expect_refused(PARSE(&o, "--restore", "/s", "--mem-file", "/m", "--net", "tap=t0"),
		       "--restore cannot be combined with --net (the snapshot holds the VM's interfaces; a new TAP is "
		       "PUT /snapshot/load's network_overrides)");
	expect_refused(PARSE(&o, "--restore", "/s", "--mem-file", "/m", "--restore-mem", "eager"),
		       "--restore-mem: 'eager' is not one of lazy, copy");
	expect_refused(PARSE(&o, "--restore", "/s", "--mem-file", "/m", "--restore-mem", "Copy"), "not one of lazy, copy");
	expect_refused(PARSE(&o, "--restore", "/s", "--mem-file", "/m", "--restore-mem", ""), "not one of lazy, copy");
	expect_refused(PARSE(&o, "--restore", "/s", "--mem-file", "/m", "--restore-mem"), "--restore-mem needs a value");
	expect_refused(PARSE(&o, "--restore"), "--restore needs a value");
	expect_refused(PARSE(&o, "--restore", "/s", "--mem-file"), "--mem-file needs a value");
	expect_refused(PARSE(&o, "--restore", "", "--mem-file", "/m"), "--restore: must not be empty");
	expect_refused(PARSE(&o, "--restore=", "--mem-file", "/m"), "--restore: must not be empty");
	expect_refused(PARSE(&o, "--restore", "/s", "--mem-file="), "--mem-file: must not be empty");
	expect_refused(PARSE(&o, "--restore", "/s", "--mem-file", "/m", "--api-sock", "/a", "--no-api"),
		       "--no-api cannot be combined with --api-sock");
	expect_refused(PARSE(&o, "--restorex", "/s"), "unknown argument '--restorex'");
	expect_refused(PARSE(&o, "--mem-files", "/s"), "unknown argument '--mem-files'");
}

static void test_restore_overlong_paths(void **state)
{
	static struct cli_options o;
	static char path[SPEC_PATH_MAX + 1];

	(void)state;
	memset(path, 'p', SPEC_PATH_MAX - 1);
	path[SPEC_PATH_MAX - 1] = '\0';
	assert_int_equal(PARSE(&o, "--restore", path, "--mem-file", path), 0);
	path[SPEC_PATH_MAX - 1] = 'p';
	expect_refused(PARSE(&o, "--restore", path, "--mem-file", "/m"), "--restore: longer than 4095 bytes");
	expect_refused(PARSE(&o, "--restore", "/s", "--mem-file", path), "--mem-file: longer than 4095 bytes");
}

static void test_to_load_params(void **state)
{
	static struct cli_options o;
	static struct snapshot_load_params p, before;

	(void)state;
	memset(&p, 0x5a, sizeof(p));
	assert_int_equal(PARSE(&o, "--restore", "/s/vm.state", "--mem-file", "/s/vm.mem", "--api-sock", "/a"), 0);
	assert_int_equal(cli_to_load_params(&o, &p), 0);
	assert_string_equal(p.snapshot_path, "/s/vm.state");
	assert_string_equal(p.mem_file_path, "/s/vm.mem");
	assert_true(p.resume_vm);
	assert_false(p.track_dirty_pages || p.has_vsock_override || p.clock_realtime);
	assert_int_equal(p.mem_mode, RESTORE_MEM_LAZY);
	assert_int_equal(p.nr_net_overrides, 0);
	assert_string_equal(p.net_overrides[0].iface_id, "");
	assert_string_equal(p.vsock_uds_path, "");
	assert_int_equal(PARSE(&o, "--restore-mem", "copy", "--restore", "/s", "--mem-file", "/m"), 0);
	assert_int_equal(cli_to_load_params(&o, &p), 0);
	assert_int_equal(p.mem_mode, RESTORE_MEM_COPY);
	assert_true(p.resume_vm);
	/* No --restore: nothing to load, and the output stays as it was. */
	before = p;
	assert_int_equal(PARSE(&o, "--kernel", "k"), 0);
	expect_refused(cli_to_load_params(&o, &p), "no --restore");
	assert_memory_equal(&p, &before, sizeof(p));
}

static void test_hardening_flags(void **state)
{
	struct cli_options o;

	(void)state;
	assert_int_equal(PARSE(&o, "--kernel", "k"), 0);
	assert_int_equal(o.seccomp_level, 2);
	assert_false(o.no_landlock);
	assert_null(o.snapshot_dir);
	assert_int_equal(o.print_seccomp, CLI_PRINT_SECCOMP_NONE);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--seccomp-level", "0"), 0);
	assert_int_equal(o.seccomp_level, 0);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--seccomp-level=1", "--no-landlock", "--snapshot-dir", "/s"), 0);
	assert_int_equal(o.seccomp_level, 1);
	assert_true(o.no_landlock);
	assert_string_equal(o.snapshot_dir, "/s");
	assert_int_equal(PARSE(&o, "--kernel", "k", "--no-seccomp"), 0);
	assert_int_equal(o.seccomp_level, 0);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--no-seccomp", "--seccomp-level", "0"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--seccomp-level", "2", "--no-seccomp"), -EINVAL);
	assert_non_null(strstr(err_last(), "--no-seccomp contradicts"));
	assert_int_equal(PARSE(&o, "--kernel", "k", "--seccomp-level", "3"), -EINVAL);
	assert_non_null(strstr(err_last(), "--seccomp-level"));
	assert_int_equal(PARSE(&o, "--kernel", "k", "--seccomp-level", "-1"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--seccomp-level", "two"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--seccomp-level"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--snapshot-dir"), -EINVAL);
	/* Printing needs nothing else, and takes the level given. */
	assert_int_equal(PARSE(&o, "--print-seccomp"), 0);
	assert_int_equal(o.print_seccomp, CLI_PRINT_SECCOMP_TABLE);
	assert_int_equal(PARSE(&o, "--print-seccomp=pfc", "--seccomp-level", "1"), 0);
	assert_int_equal(o.print_seccomp, CLI_PRINT_SECCOMP_PFC);
	assert_int_equal(o.seccomp_level, 1);
	assert_int_equal(PARSE(&o, "--print-seccomp=bpf"), -EINVAL);
	/* The test-only triggers do not exist in this build. */
	assert_int_equal(PARSE(&o, "--kernel", "k", "--test-forbidden-syscall", "vcpu"), -EINVAL);
	assert_int_equal(PARSE(&o, "--kernel", "k", "--test-open", "/etc/passwd"), -EINVAL);
}

static void test_print_nets_as_shell_assignments(void **state)
{
	struct cli_options o;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(PARSE(&o, "--net", "id=vm1,subnet=172.16.0.0/24", "--net", "tap=my'tap", "--print-net"), 0);
	assert_true(o.print_net);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	cli_print_nets(&o, f);
	fclose(f);
	/* The values test_net.sh's independent FNV-1a derivation gives for vm1;
	 * a quote in a TAP name is escaped so eval cannot be steered. */
	assert_string_equal(text, "iface=eth0 tap='tap-68f65f19' mac=6a:f6:5f:19:4e:c5 guest=172.16.0.192 "
				  "gateway=172.16.0.1 netmask=255.255.255.0 prefix=24\n"
				  "iface=eth1 tap='my'\\''tap' mac=\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_print_nets_as_shell_assignments),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_hardening_flags),
		cmocka_unit_test(test_all_flags_both_forms),
		cmocka_unit_test(test_help_and_version_need_no_kernel),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_drives_and_rng),
		cmocka_unit_test(test_too_many_drives),
		cmocka_unit_test(test_usage_mentions_every_flag),
		cmocka_unit_test(test_config_and_api_flags),
		cmocka_unit_test(test_flag_conflicts),
		cmocka_unit_test(test_to_spec_shortcuts),
		cmocka_unit_test(test_to_spec_keeps_config_file_values),
		cmocka_unit_test(test_to_spec_rejects),
		cmocka_unit_test(test_net_tap_form),
		cmocka_unit_test(test_net_derived_form),
		cmocka_unit_test(test_net_refusals),
		cmocka_unit_test(test_vsock_flag),
		cmocka_unit_test(test_too_many_nets),
		cmocka_unit_test(test_restore_flags),
		cmocka_unit_test(test_restore_refusals),
		cmocka_unit_test(test_restore_overlong_paths),
		cmocka_unit_test(test_to_load_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
