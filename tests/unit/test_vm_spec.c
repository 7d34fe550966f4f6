/* vm_spec: defaults, id rule, drive/net put semantics (replace, one root,
 * root first, unique host devices), whole-spec validation, the guest
 * command line and the host-path checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/vm_spec.h"

static void expect_msg(const char *what)
{
	if (!strstr(err_last(), what))
		fail_msg("error \"%s\" lacks \"%s\"", err_last(), what);
}

static struct spec_drive mk_drive(const char *id, const char *path, bool root)
{
	struct spec_drive d;

	memset(&d, 0, sizeof(d));
	snprintf(d.drive_id, sizeof(d.drive_id), "%s", id);
	snprintf(d.path_on_host, sizeof(d.path_on_host), "%s", path);
	d.is_root_device = root;
	return d;
}

static struct spec_net mk_net(const char *id, const char *tap, uint8_t mac_last)
{
	struct spec_net n;

	memset(&n, 0, sizeof(n));
	snprintf(n.iface_id, sizeof(n.iface_id), "%s", id);
	snprintf(n.host_dev_name, sizeof(n.host_dev_name), "%s", tap);
	if (mac_last) {
		n.has_guest_mac = true;
		n.guest_mac[0] = 0x06;
		n.guest_mac[5] = mac_last;
	}
	return n;
}

static void test_init_defaults(void **state)
{
	static struct vm_spec s;

	(void)state;
	memset(&s, 0xa5, sizeof(s));
	vm_spec_init(&s);
	assert_string_equal(s.id, SPEC_DEFAULT_ID);
	assert_int_equal(s.machine.vcpu_count, 1);
	assert_int_equal(s.machine.mem_size_mib, 128);
	assert_false(s.machine.smt || s.machine.track_dirty_pages);
	assert_string_equal(s.machine.cpu_template, "None");
	assert_int_equal(s.machine.huge_pages, SPEC_HUGE_PAGES_NONE);
	assert_int_equal(s.nr_drives, 0);
	assert_int_equal(s.nr_nets, 0);
	assert_false(s.boot.present || s.boot.has_boot_args || s.vsock.present || s.logger.present ||
		     s.metrics.present || s.entropy.present || s.balloon.present);
	assert_int_equal(s.logger.level, LOG_INFO);
	assert_string_equal(s.boot.initrd_path, "");
}

static void test_check_id(void **state)
{
	char long_id[SPEC_ID_MAX + 2];

	(void)state;
	assert_int_equal(vm_spec_check_id("drive_id", "rootfs"), 0);
	assert_int_equal(vm_spec_check_id("drive_id", "A_b_9"), 0);
	assert_int_equal(vm_spec_check_id("drive_id", ""), -EINVAL);
	expect_msg("drive_id");
	assert_int_equal(vm_spec_check_id("iface_id", "eth-0"), -EINVAL);
	expect_msg("iface_id");
	expect_msg("eth-0");
	assert_int_equal(vm_spec_check_id("x", "a b"), -EINVAL);
	assert_int_equal(vm_spec_check_id("x", "a/b"), -EINVAL);
	assert_int_equal(vm_spec_check_id("x", "\xc3\xa9"), -EINVAL);
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[SPEC_ID_MAX] = 0;
	assert_int_equal(vm_spec_check_id("x", long_id), 0);
	long_id[SPEC_ID_MAX] = 'a';
	long_id[SPEC_ID_MAX + 1] = 0;
	assert_int_equal(vm_spec_check_id("x", long_id), -EINVAL);
	assert_int_equal(vm_spec_check_id("x", NULL), -EINVAL);
}

static void test_put_drive_order_and_replace(void **state)
{
	static struct vm_spec s;
	struct spec_drive d;

	(void)state;
	vm_spec_init(&s);
	d = mk_drive("data1", "/d1", false);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	d = mk_drive("data2", "/d2", false);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	d = mk_drive("rootfs", "/r", true);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	/* Root first, the others keep their order: vda=root, vdb=data1, vdc=data2. */
	assert_int_equal(s.nr_drives, 3);
	assert_string_equal(s.drives[0].drive_id, "rootfs");
	assert_string_equal(s.drives[1].drive_id, "data1");
	assert_string_equal(s.drives[2].drive_id, "data2");

	/* Replacing keeps the count and takes the new values. */
	d = mk_drive("data2", "/d2-new", false);
	d.is_read_only = true;
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	assert_int_equal(s.nr_drives, 3);
	assert_string_equal(vm_spec_find_drive(&s, "data2")->path_on_host, "/d2-new");
	assert_true(vm_spec_find_drive(&s, "data2")->is_read_only);
	assert_null(vm_spec_find_drive(&s, "nope"));

	/* A second root is refused and the spec is unchanged. */
	d = mk_drive("other", "/o", true);
	assert_int_equal(vm_spec_put_drive(&s, &d), -EINVAL);
	expect_msg("A root block device already exists");
	assert_int_equal(s.nr_drives, 3);
	/* Turning an existing data drive into root is also a second root. */
	d = mk_drive("data1", "/d1", true);
	assert_int_equal(vm_spec_put_drive(&s, &d), -EINVAL);
	assert_false(s.drives[1].is_root_device);

	/* The root may be replaced by itself, and demoted. */
	d = mk_drive("rootfs", "/r2", true);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	assert_string_equal(s.drives[0].path_on_host, "/r2");
	d = mk_drive("rootfs", "/r2", false);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	/* Now data2 can become root, and moves to the front. */
	d = mk_drive("data2", "/d2", true);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	assert_string_equal(s.drives[0].drive_id, "data2");
	assert_string_equal(s.drives[1].drive_id, "rootfs");
	assert_string_equal(s.drives[2].drive_id, "data1");
}

static void test_put_drive_rejects(void **state)
{
	static struct vm_spec s;
	struct spec_drive d;
	char id[16];

	(void)state;
	vm_spec_init(&s);
	d = mk_drive("bad-id", "/x", false);
	assert_int_equal(vm_spec_put_drive(&s, &d), -EINVAL);
	expect_msg("bad-id");
	d = mk_drive("ok", "", false);
	assert_int_equal(vm_spec_put_drive(&s, &d), -EINVAL);
	expect_msg("path_on_host");
	for (int i = 0; i < SPEC_MAX_DRIVES; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		d = mk_drive(id, "/x", false);
		assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	}
	d = mk_drive("onemore", "/x", false);
	assert_int_equal(vm_spec_put_drive(&s, &d), -ENOSPC);
	expect_msg("at most 16");
	/* A full spec still accepts a replacement. */
	d = mk_drive("d3", "/y", false);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	assert_int_equal(s.nr_drives, SPEC_MAX_DRIVES);
}

static void test_put_net(void **state)
{
	static struct vm_spec s;
	struct spec_net n;

	(void)state;
	vm_spec_init(&s);
	n = mk_net("eth0", "tap0", 1);
	assert_int_equal(vm_spec_put_net(&s, &n), 0);
	n = mk_net("eth1", "tap1", 0);
	assert_int_equal(vm_spec_put_net(&s, &n), 0);
	n = mk_net("eth2", "tap0", 0);
	assert_int_equal(vm_spec_put_net(&s, &n), -EINVAL);
	expect_msg("tap0");
	n = mk_net("eth2", "tap2", 1);
	assert_int_equal(vm_spec_put_net(&s, &n), -EINVAL);
	expect_msg("06:00:00:00:00:01");
	assert_int_equal(s.nr_nets, 2);
	/* Replacing eth0 by itself with the same tap and MAC is fine. */
	n = mk_net("eth0", "tap0", 1);
	n.mtu = 9000;
	assert_int_equal(vm_spec_put_net(&s, &n), 0);
	assert_int_equal(s.nr_nets, 2);
	assert_int_equal(s.nets[0].mtu, 9000);
	n = mk_net("eth 0", "tap9", 0);
	assert_int_equal(vm_spec_put_net(&s, &n), -EINVAL);
	n = mk_net("eth9", "", 0);
	assert_int_equal(vm_spec_put_net(&s, &n), -EINVAL);
	expect_msg("host_dev_name");
	for (int i = 2; i < SPEC_MAX_NETS; i++) {
		char id[8], tap[8];

		snprintf(id, sizeof(id), "e%d", i);
		snprintf(tap, sizeof(tap), "t%d", i);
		n = mk_net(id, tap, 0);
		assert_int_equal(vm_spec_put_net(&s, &n), 0);
	}
	n = mk_net("e99", "t99", 0);
	assert_int_equal(vm_spec_put_net(&s, &n), -ENOSPC);
}

static void test_validate(void **state)
{
	static struct vm_spec s;
	struct spec_drive d;

	(void)state;
	vm_spec_init(&s);
	assert_int_equal(vm_spec_validate(&s), -EINVAL);
	expect_msg("kernel_image_path");
	s.boot.present = true;
	strcpy(s.boot.kernel_image_path, "/k");
	assert_int_equal(vm_spec_validate(&s), 0);

	s.machine.smt = true;
	s.machine.vcpu_count = 3;
	assert_int_equal(vm_spec_validate(&s), -EINVAL);
	expect_msg("smt");
	s.machine.vcpu_count = 4;
	assert_int_equal(vm_spec_validate(&s), 0);
	s.machine.vcpu_count = 1;
	assert_int_equal(vm_spec_validate(&s), 0);
	s.machine.vcpu_count = 33;
	assert_int_equal(vm_spec_validate(&s), -EINVAL);
	s.machine.vcpu_count = 0;
	assert_int_equal(vm_spec_validate(&s), -EINVAL);
	s.machine.vcpu_count = 2;

	s.machine.huge_pages = SPEC_HUGE_PAGES_2M;
	s.machine.mem_size_mib = 129;
	assert_int_equal(vm_spec_validate(&s), -EINVAL);
	expect_msg("huge_pages");
	s.machine.mem_size_mib = 130;
	assert_int_equal(vm_spec_validate(&s), 0);
	s.machine.mem_size_mib = 15;
	assert_int_equal(vm_spec_validate(&s), -EINVAL);
	expect_msg("mem_size_mib");
	s.machine.mem_size_mib = SPEC_MAX_MEM_MiB + 2;
	assert_int_equal(vm_spec_validate(&s), -EINVAL);
	s.machine.mem_size_mib = 128;

	s.balloon.present = true;
	s.balloon.amount_mib = 129;
	assert_int_equal(vm_spec_validate(&s), -EINVAL);
	expect_msg("balloon");
	s.balloon.amount_mib = 64;
	assert_int_equal(vm_spec_validate(&s), 0);

	s.vsock.present = true;
	s.vsock.guest_cid = 2;
	strcpy(s.vsock.uds_path, "/v.sock");
	assert_int_equal(vm_spec_validate(&s), -EINVAL);
	expect_msg("guest_cid");
	s.vsock.guest_cid = 3;
	assert_int_equal(vm_spec_validate(&s), 0);

	/* A hand-built spec with two roots is caught too. */
	d = mk_drive("a", "/a", true);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	s.drives[1] = mk_drive("b", "/b", true);
	s.nr_drives = 2;
	assert_int_equal(vm_spec_validate(&s), -EINVAL);
	expect_msg("root");
	s.drives[1].is_root_device = false;
	strcpy(s.drives[1].drive_id, "a");
	assert_int_equal(vm_spec_validate(&s), -EINVAL);
	expect_msg("twice");
}

static void test_cmdline(void **state)
{
	static struct vm_spec s;
	static char out[SPEC_BOOT_ARGS_MAX + 64];
	struct spec_drive d;

	(void)state;
	vm_spec_init(&s);
	assert_int_equal(vm_spec_cmdline(&s, out, sizeof(out)), 0);
	assert_string_equal(out, SPEC_DEFAULT_BOOT_ARGS);
	s.boot.has_boot_args = true;
	strcpy(s.boot.boot_args, "console=ttyS0");
	assert_int_equal(vm_spec_cmdline(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "console=ttyS0");
	/* A data drive adds nothing. */
	d = mk_drive("data", "/d", false);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	assert_int_equal(vm_spec_cmdline(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "console=ttyS0");
	d = mk_drive("rootfs", "/r", true);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	assert_int_equal(vm_spec_cmdline(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "console=ttyS0 root=/dev/vda rw");
	d.is_read_only = true;
	strcpy(d.partuuid, "0eaa91a0-01");
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	assert_int_equal(vm_spec_cmdline(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "console=ttyS0 root=PARTUUID=0eaa91a0-01 ro");
	/* Too small: -E2BIG, never a truncated line. */
	assert_int_equal(vm_spec_cmdline(&s, out, strlen("console=ttyS0 root=PARTUUID=0eaa91a0-01 ro")), -E2BIG);
	assert_int_equal(vm_spec_cmdline(&s, out, strlen("console=ttyS0 root=PARTUUID=0eaa91a0-01 ro") + 1), 0);
	assert_int_equal(vm_spec_cmdline(&s, out, 5), -E2BIG);
	assert_int_equal(vm_spec_cmdline(&s, out, 0), -E2BIG);
	/* Empty boot_args given explicitly stay empty (no default). */
	s.boot.boot_args[0] = 0;
	assert_int_equal(vm_spec_cmdline(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "root=PARTUUID=0eaa91a0-01 ro");
}

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static void test_cmdline_ip_for_a_derived_interface(void **state)
{
	static struct vm_spec s;
	static char out[SPEC_BOOT_ARGS_MAX + 128];
	struct spec_net n;
	struct spec_drive d = mk_drive("rootfs", "/r", true);
	const char *want;

	(void)state;
	vm_spec_init(&s);
	s.boot.has_boot_args = true;
	strcpy(s.boot.boot_args, "console=ttyS0");
	/* An interface with no address from ember adds nothing. */
	n = mk_net("eth0", "tap0", 0);
	assert_int_equal(vm_spec_put_net(&s, &n), 0);
	assert_int_equal(vm_spec_cmdline(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "console=ttyS0");
	/* The second NIC is the guest's eth1: the device named must be it. */
	n = mk_net("eth1", "tap1", 0);
	n.has_ip = true;
	n.ip = IP4(10, 0, 0, 7);
	n.gateway = IP4(10, 0, 0, 1);
	n.netmask = IP4(255, 255, 255, 0);
	assert_int_equal(vm_spec_put_net(&s, &n), 0);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	assert_int_equal(vm_spec_cmdline(&s, out, sizeof(out)), 0);
	want = "console=ttyS0 root=/dev/vda rw ip=10.0.0.7::10.0.0.1:255.255.255.0::eth1:off";
	assert_string_equal(out, want);
	/* Exactly enough room, and one byte short: never a cut ip=. */
	assert_int_equal(vm_spec_cmdline(&s, out, strlen(want) + 1), 0);
	assert_int_equal(vm_spec_cmdline(&s, out, strlen(want)), -E2BIG);
	assert_string_equal(out, "");
	/* The kernel's ip= configures one interface and the last one wins:
	 * a user's own ip= is theirs to keep. */
	strcpy(s.boot.boot_args, "console=ttyS0 ip=dhcp");
	assert_int_equal(vm_spec_cmdline(&s, out, sizeof(out)), 0);
	assert_string_equal(out, "console=ttyS0 ip=dhcp root=/dev/vda rw");
	strcpy(s.boot.boot_args, "ip=192.168.0.2:::::eth0:off quiet");
	assert_int_equal(vm_spec_cmdline(&s, out, sizeof(out)), 0);
	assert_null(strstr(out, "10.0.0.7"));
	/* ...but "nfsip=" or "vip=x" is not an ip= of theirs. */
	strcpy(s.boot.boot_args, "vip=1");
	assert_int_equal(vm_spec_cmdline(&s, out, sizeof(out)), 0);
	assert_non_null(strstr(out, " ip=10.0.0.7::"));
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/ember-vmspec-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void touch(const char *path, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_check_paths(void **state)
{
	static struct vm_spec s;
	struct spec_drive d;
	char k[128], rd[128], img[128], ro_img[128];

	(void)state;
	snprintf(k, sizeof(k), "%s/vmlinux", tmpdir);
	snprintf(rd, sizeof(rd), "%s/initrd", tmpdir);
	snprintf(img, sizeof(img), "%s/disk.img", tmpdir);
	snprintf(ro_img, sizeof(ro_img), "%s/ro.img", tmpdir);
	touch(k, 0644);
	touch(rd, 0644);
	touch(img, 0644);
	touch(ro_img, 0444);

	vm_spec_init(&s);
	s.boot.present = true;
	snprintf(s.boot.kernel_image_path, sizeof(s.boot.kernel_image_path), "%s", k);
	assert_int_equal(vm_spec_check_paths(&s), 0);

	snprintf(s.boot.kernel_image_path, sizeof(s.boot.kernel_image_path), "%s/nope", tmpdir);
	assert_int_equal(vm_spec_check_paths(&s), -ENOENT);
	expect_msg("boot-source.kernel_image_path: ");
	expect_msg("/nope: file not found");
	snprintf(s.boot.kernel_image_path, sizeof(s.boot.kernel_image_path), "%s", tmpdir);
	assert_int_equal(vm_spec_check_paths(&s), -EINVAL);
	expect_msg("not a regular file");
	snprintf(s.boot.kernel_image_path, sizeof(s.boot.kernel_image_path), "%s", k);

	snprintf(s.boot.initrd_path, sizeof(s.boot.initrd_path), "%s/missing", tmpdir);
	assert_int_equal(vm_spec_check_paths(&s), -ENOENT);
	expect_msg("boot-source.initrd_path: ");
	snprintf(s.boot.initrd_path, sizeof(s.boot.initrd_path), "%s", rd);

	d = mk_drive("a", img, false);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	d = mk_drive("b", "/definitely/not/here.img", false);
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	assert_int_equal(vm_spec_check_paths(&s), -ENOENT);
	expect_msg("drives[1].path_on_host: /definitely/not/here.img: file not found");
	d = mk_drive("b", ro_img, false);
	d.is_read_only = true;
	assert_int_equal(vm_spec_put_drive(&s, &d), 0);
	assert_int_equal(vm_spec_check_paths(&s), 0);
	/* Root skips the permission checks; only test them as a normal user. */
	if (geteuid() != 0) {
		d.is_read_only = false;
		assert_int_equal(vm_spec_put_drive(&s, &d), 0);
		assert_int_equal(vm_spec_check_paths(&s), -EACCES);
		expect_msg("drives[1].path_on_host: ");
		expect_msg("not writable; attach it read-only (\"is_read_only\": true, or --drive ...,ro=on)");
	}
}

/* Writes a meminfo file with the given totals (kB) and returns its path. */
static const char *fake_meminfo(char *path, const char *body)
{
	int fd;

	strcpy(path, "/tmp/ember-meminfo.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	return path;
}

static void test_warn_host_memory(void **state)
{
	struct vm_spec s;
	char path[64];

	(void)state;
	vm_spec_init(&s);
	/* 2 GiB of RAM and 1 GiB of swap back 3072 MiB, not one more. */
	fake_meminfo(path, "MemTotal:        2097152 kB\nMemFree:  1000 kB\nSwapTotal:       1048576 kB\n");
	s.machine.mem_size_mib = 3072;
	assert_false(vm_spec_warn_host_memory(&s, path));
	s.machine.mem_size_mib = 3073;
	assert_true(vm_spec_warn_host_memory(&s, path));
	unlink(path);
	/* Truncated, garbled or missing files say nothing: no false alarm. */
	fake_meminfo(path, "MemTota");
	assert_false(vm_spec_warn_host_memory(&s, path));
	unlink(path);
	fake_meminfo(path, "MemTotal: lots kB\nSwapTotal: 1 kB\n");
	assert_false(vm_spec_warn_host_memory(&s, path));
	unlink(path);
	assert_false(vm_spec_warn_host_memory(&s, "/definitely/not/meminfo"));
	/* The real host: 1 TiB is more than these machines have. */
	s.machine.mem_size_mib = SPEC_MAX_MEM_MiB;
	assert_true(vm_spec_warn_host_memory(&s, "/proc/meminfo"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_defaults),
		cmocka_unit_test(test_warn_host_memory),
		cmocka_unit_test(test_check_id),
		cmocka_unit_test(test_put_drive_order_and_replace),
		cmocka_unit_test(test_put_drive_rejects),
		cmocka_unit_test(test_put_net),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_cmdline_ip_for_a_derived_interface),
		cmocka_unit_test_setup_teardown(test_check_paths, make_tmpdir, remove_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
