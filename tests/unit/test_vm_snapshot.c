/* Snapshots end to end on the mock HAL: a VM booted through the API is
 * paused and saved; a second controller on a second mock HAL (a fresh
 * process, as far as the VM can tell) loads it, and everything the guest
 * could see must come back: RAM, vCPU registers, irqchip and clock,
 * device registers and queues, the legacy devices. Hostile and mismatched
 * snapshot files are refused without leaving anything behind. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "api_fixture.h"
#include "hal/mock.h"
#include "snapshot/format.h"
#include "snapshot/rebase.h"
#include "vmm/log.h"
#include "vmm/vm_snapshot.h"
#include "vmm/vm_virtio.h"

#define PATTERN_GPA 0x200000ull

struct pair {
	struct api_fixture *src, *dst;
	char snap[128], mem[128], snap2[128], mem2[128], uds[128], src_uds[128];
};

static char body[8192];

static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(body, sizeof(body), f, ap);
	va_end(ap);
	return body;
}

/* Read-only drives: both VMs live in this one process, and a writable
 * drive is locked exclusively by the first. */
static void boot(struct api_fixture *f, const char *uds, bool track_dirty)
{
	assert_int_equal(api_fixture_call(f, "PUT", "/boot-source", fmt("{\"kernel_image_path\":\"%s\"}", f->kernel)), 204);
	assert_int_equal(api_fixture_call(f, "PUT", "/machine-config",
					  fmt("{\"vcpu_count\":2,\"mem_size_mib\":32,\"track_dirty_pages\":%s}",
					      track_dirty ? "true" : "false")),
			 204);
	assert_int_equal(api_fixture_call(f, "PUT", "/drives/root",
					  fmt("{\"drive_id\":\"root\",\"path_on_host\":\"%s\",\"is_root_device\":true,"
					      "\"is_read_only\":true}", f->disk)),
			 204);
	assert_int_equal(api_fixture_call(f, "PUT", "/drives/data",
					  fmt("{\"drive_id\":\"data\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
					      "\"is_read_only\":true}", f->disk2)),
			 204);
	assert_int_equal(api_fixture_call(f, "PUT", "/vsock", fmt("{\"guest_cid\":5,\"uds_path\":\"%s\"}", uds)), 204);
	assert_int_equal(api_fixture_call(f, "PUT", "/entropy", "{}"), 204);
	assert_int_equal(api_fixture_call(f, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 204);
}

static struct pair *pair_new(bool track_dirty)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->src = api_fixture_new("snap-src");
	p->dst = api_fixture_new("snap-dst");
	snprintf(p->snap, sizeof(p->snap), "%s/vm.snap", p->src->dir);
	snprintf(p->mem, sizeof(p->mem), "%s/vm.mem", p->src->dir);
	snprintf(p->snap2, sizeof(p->snap2), "%s/vm2.snap", p->src->dir);
	snprintf(p->mem2, sizeof(p->mem2), "%s/vm2.mem", p->src->dir);
	snprintf(p->uds, sizeof(p->uds), "%s/v.sock", p->dst->dir);
	snprintf(p->src_uds, sizeof(p->src_uds), "%s/v.sock", p->src->dir);
	boot(p->src, p->src_uds, track_dirty);
	return p;
}

static void pair_free(struct pair *p)
{
	api_fixture_free(p->src);
	api_fixture_free(p->dst);
	free(p);
}

static int create(struct api_fixture *f, const char *snap, const char *mem, const char *type)
{
	return api_fixture_call(f, "PUT", "/snapshot/create",
				fmt("{\"snapshot_type\":\"%s\",\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\"}", type,
				    snap, mem));
}

static int load(struct pair *p, const char *snap, const char *mem, bool resume)
{
	return api_fixture_call(p->dst, "PUT", "/snapshot/load",
				fmt("{\"snapshot_path\":\"%s\",\"mem_backend\":{\"backend_type\":\"File\","
				    "\"backend_path\":\"%s\"},\"resume_vm\":%s,\"vsock_override\":{\"uds_path\":\"%s\"}}",
				    snap, mem, resume ? "true" : "false", p->uds));
}

static void pause_vm(struct api_fixture *f)
{
	assert_int_equal(api_fixture_call(f, "PATCH", "/vm", "{\"state\":\"Paused\"}"), 204);
}

static const char *fault(struct api_fixture *f)
{
	json_t *m = f->json ? json_object_get(f->json, "fault_message") : NULL;

	return m ? json_string_value(m) : "";
}

/* What the guest would see, compared between the two VMs. */
static void assert_same_vm(struct vm *a, struct vm *b)
{
	struct kvm_regs ra, rb;
	struct kvm_sregs sa, sb;
	struct kvm_lapic_state la, lb;

	assert_int_equal(a->nr_vcpus, b->nr_vcpus);
	assert_int_equal(a->nr_ram, b->nr_ram);
	for (unsigned i = 0; i < a->nr_ram; i++)
		assert_memory_equal(a->ram[i].host, b->ram[i].host, a->ram[i].size);
	for (unsigned i = 0; i < a->nr_vcpus; i++) {
		struct hal_vcpu *va = a->vcpus[i].hal, *vb = b->vcpus[i].hal;

		assert_int_equal(va->ops->get_regs(va, &ra), 0);
		assert_int_equal(vb->ops->get_regs(vb, &rb), 0);
		assert_memory_equal(&ra, &rb, sizeof(ra));
		assert_int_equal(va->ops->get_sregs(va, &sa), 0);
		assert_int_equal(vb->ops->get_sregs(vb, &sb), 0);
		assert_memory_equal(&sa, &sb, sizeof(sa));
		assert_int_equal(va->ops->get_lapic(va, &la), 0);
		assert_int_equal(vb->ops->get_lapic(vb, &lb), 0);
		assert_memory_equal(&la, &lb, sizeof(la));
	}
	assert_int_equal(a->nr_virtio, b->nr_virtio);
	for (unsigned i = 0; i < a->nr_virtio; i++) {
		struct virtio_mmio *ta = a->virtio[i]->dev, *tb = b->virtio[i]->dev;

		assert_int_equal(a->virtio[i]->base, b->virtio[i]->base);
		assert_int_equal(ta->ops->device_id, tb->ops->device_id);
		assert_int_equal(ta->status, tb->status);
		assert_true(ta->driver_features == tb->driver_features);
		assert_int_equal(ta->nr_queues, tb->nr_queues);
	}
}

static void test_full_round_trip(void **state)
{
	struct pair *p = pair_new(false);
	struct vm *src = p->src->ctl.vm;
	struct kvm_regs regs;
	struct hal_vcpu *v1 = src->vcpus[1].hal;
	struct stat st;

	(void)state;
	/* Something distinctive in RAM and in a vCPU, so equality means a copy. */
	assert_int_equal(guest_mem_write(&src->mem, PATTERN_GPA, "ember-snapshot", 14), 0);
	pause_vm(p->src);
	assert_int_equal(v1->ops->get_regs(v1, &regs), 0);
	regs.rax = 0x1234abcd;
	regs.rip = 0xfeed;
	assert_int_equal(v1->ops->set_regs(v1, &regs), 0);
	assert_int_equal(create(p->src, p->snap, p->mem, "Full"), 204);
	assert_int_equal(stat(p->mem, &st), 0);
	assert_int_equal(st.st_size, 32 << 20);
	/* Sparse: far fewer blocks than the apparent size. */
	assert_true((uint64_t)st.st_blocks * 512 < (8u << 20));

	assert_int_equal(load(p, p->snap, p->mem, false), 204);
	assert_int_equal(p->dst->ctl.state, CONTROLLER_PAUSED);
	assert_same_vm(src, p->dst->ctl.vm);
	assert_string_equal(p->dst->ctl.spec.vsock.uds_path, p->uds);
	assert_int_equal(p->dst->ctl.spec.nr_drives, 2);
	assert_true(p->dst->ctl.spec.drives[1].is_read_only);
	assert_true(p->dst->ctl.spec.entropy.present);
	/* Lazy restore: the RAM is a private mapping of the file. */
	assert_true(p->dst->ctl.vm->ram_from_file);
	assert_int_equal(api_fixture_call(p->dst, "PATCH", "/vm", "{\"state\":\"Resumed\"}"), 204);
	pair_free(p);
}

static void test_copy_mode_and_resume(void **state)
{
	struct pair *p = pair_new(false);
	struct snapshot_load_params lp = { .resume_vm = true, .mem_mode = RESTORE_MEM_COPY };

	(void)state;
	pause_vm(p->src);
	assert_int_equal(create(p->src, p->snap, p->mem, "Full"), 204);
	snprintf(lp.snapshot_path, sizeof(lp.snapshot_path), "%s", p->snap);
	snprintf(lp.mem_file_path, sizeof(lp.mem_file_path), "%s", p->mem);
	lp.has_vsock_override = true;
	snprintf(lp.vsock_uds_path, sizeof(lp.vsock_uds_path), "%s", p->uds);
	assert_int_equal(controller_snapshot_load(&p->dst->ctl, &lp), 0);
	assert_int_equal(p->dst->ctl.state, CONTROLLER_RUNNING);
	assert_false(p->dst->ctl.vm->ram_from_file);
	assert_int_equal(vm_pause(p->dst->ctl.vm), 0);
	assert_same_vm(p->src->ctl.vm, p->dst->ctl.vm);
	pair_free(p);
}

static void test_create_needs_pause(void **state)
{
	struct pair *p = pair_new(false);

	(void)state;
	assert_int_equal(create(p->src, p->snap, p->mem, "Full"), 400);
	assert_non_null(strstr(fault(p->src), "not paused"));
	pause_vm(p->src);
	/* A diff needs dirty tracking. */
	assert_int_equal(create(p->src, p->snap, p->mem, "Diff"), 400);
	assert_non_null(strstr(fault(p->src), "dirty page tracking disabled"));
	assert_int_equal(create(p->src, p->snap, p->snap, "Full"), 400);
	/* Another spelling of the same file is the same file. */
	{
		char alias[160], *slash = strrchr(p->snap, '/');

		snprintf(alias, sizeof(alias), "%.*s/./%s", (int)(slash - p->snap), p->snap, slash + 1);
		assert_int_equal(create(p->src, p->snap, alias, "Full"), 400);
		assert_non_null(strstr(fault(p->src), "snapshot_path and mem_file_path are the same file"));
	}
	/* Before boot there is nothing to save. */
	assert_int_equal(create(p->dst, p->snap, p->mem, "Full"), 400);
	pair_free(p);
}

static void test_load_refusals(void **state)
{
	struct pair *p = pair_new(false);
	char missing[160];
	uint8_t *buf;
	size_t len;
	FILE *fp;
	int fd;

	(void)state;
	pause_vm(p->src);
	assert_int_equal(create(p->src, p->snap, p->mem, "Full"), 204);
	/* A loaded VM cannot load again, and a running one cannot load. */
	snprintf(missing, sizeof(missing), "%s/missing.mem", p->src->dir);
	assert_int_equal(load(p, p->snap, missing, false), 400);
	assert_non_null(strstr(fault(p->dst), "missing.mem"));
	assert_int_equal(p->dst->ctl.state, CONTROLLER_NOT_STARTED);
	assert_null(p->dst->ctl.vm);

	/* One flipped byte: the CRC catches it. */
	fp = fopen(p->snap, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = (size_t)ftell(fp);
	rewind(fp);
	buf = malloc(len);
	assert_int_equal(fread(buf, 1, len, fp), len);
	fclose(fp);
	buf[len / 2] ^= 0x40;
	api_fixture_write_file(p->snap2, buf, len);
	assert_int_equal(load(p, p->snap2, p->mem, false), 400);
	assert_non_null(strstr(fault(p->dst), "CRC"));
	/* Every proper prefix is refused too. */
	buf[len / 2] ^= 0x40;
	for (size_t cut = 0; cut < len; cut += len / 7 + 1) {
		api_fixture_write_file(p->snap2, buf, cut);
		assert_int_equal(load(p, p->snap2, p->mem, false), 400);
	}
	free(buf);

	/* A memory file shorter than the RAM it must hold. */
	fd = open(p->mem2, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 16 << 20), 0);
	close(fd);
	assert_int_equal(load(p, p->snap, p->mem2, false), 400);
	assert_non_null(strstr(fault(p->dst), "memory file"));
	assert_null(p->dst->ctl.vm);

	/* Configured for a boot: Firecracker refuses the load. */
	assert_int_equal(api_fixture_call(p->dst, "PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":64}"), 204);
	assert_int_equal(load(p, p->snap, p->mem, false), 400);
	assert_non_null(strstr(fault(p->dst), "boot-specific resources"));
	/* After a boot, a load is refused as post-boot. */
	assert_int_equal(load((struct pair[]){ { .dst = p->src } }, p->snap, p->mem, false), 400);
	pair_free(p);
}


enum mutation {
	BACKING_NOT_JSON,
	BACKING_WRONG_SHAPE,
	DEVICE_MOVED,
	DEVICE_RENUMBERED,
	DEVICE_KIND_SWAPPED,
	DEVICE_STATE_TRUNCATED,
	MACHINE_MORE_VCPUS,
	MACHINE_OTHER_LAYOUT,
	VCPU_TRUNCATED,
	CLOCK_DROPPED,
	MUTATIONS,
};

/* Rewrites the snapshot at `in` into `out` with one record changed; the
 * container stays valid (a fresh CRC), so only the load's own checks can
 * catch what is wrong. */
static void rewrite(const char *in, const char *out, enum mutation m)
{
	static uint8_t moved[64 << 10];
	struct snap_writer w;
	struct snap_file f;
	const uint8_t *data;
	uint8_t *buf;
	size_t len, cursor = 0;
	FILE *fp = fopen(in, "rb");

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = (size_t)ftell(fp);
	rewind(fp);
	buf = malloc(len);
	assert_int_equal(fread(buf, 1, len, fp), len);
	fclose(fp);
	assert_int_equal(snap_parse(buf, len, &f), 0);
	snap_writer_init(&w);
	for (const struct snap_record *r; (r = snap_next(&f, 0, &cursor));) {
		struct snap_device d;
		struct snap_machine mach;
		struct snap_vcpu v;

		if (r->tag == SNAP_TAG_DEVICE && !snap_decode_device(r, &d) && d.id == 0 && m <= DEVICE_STATE_TRUNCATED) {
			if (m == BACKING_NOT_JSON)
				d.backing = (struct snap_blob){ (const uint8_t *)"{\"drive_id\": ", 13 };
			else if (m == BACKING_WRONG_SHAPE)
				d.backing = (struct snap_blob){ (const uint8_t *)"{\"guest_cid\": 3}", 16 };
			else if (m == DEVICE_MOVED) {
				assert_true(d.transport.len <= sizeof(moved));
				memcpy(moved, d.transport.data, d.transport.len);
				moved[4] ^= 0x10; /* the MMIO base, after the version */
				d.transport.data = moved;
			} else if (m == DEVICE_RENUMBERED)
				d.id = 7;
			else if (m == DEVICE_KIND_SWAPPED)
				d.kind = SNAP_DEV_RNG;
			else
				d.transport.len -= 4;
			snap_put_device(&w, &d);
		} else if (r->tag == SNAP_TAG_MACHINE && (m == MACHINE_MORE_VCPUS || m == MACHINE_OTHER_LAYOUT)) {
			assert_int_equal(snap_decode_machine(r, &mach), 0);
			if (m == MACHINE_MORE_VCPUS)
				mach.vcpus = 3;
			else
				mach.regions[0].gpa = 0x100000; /* not where ember puts RAM */
			snap_put_machine(&w, &mach);
		} else if (r->tag == SNAP_TAG_VCPU && m == VCPU_TRUNCATED) {
			assert_int_equal(snap_decode_vcpu(r, &v), 0);
			snap_put_vcpu(&w, v.index, v.state.data, v.state.len - 8);
		} else if (!(r->tag == SNAP_TAG_CLOCK && m == CLOCK_DROPPED)) {
			snap_put_record(&w, r->tag, r->flags, r->data, r->len);
		}
	}
	assert_int_equal(snap_writer_finish(&w, &data, &len), 0);
	api_fixture_write_file(out, data, len);
	snap_writer_free(&w);
	snap_file_free(&f);
	free(buf);
}

/* A container whose CRC is right but whose content is not: every such
 * state file is refused with a reason and leaves no VM behind. */
static void test_load_hostile_records(void **state)
{
	static const char *const want[MUTATIONS] = {
		[BACKING_NOT_JSON] = "invalid JSON",
		[BACKING_WRONG_SHAPE] = "device 0",
		[DEVICE_MOVED] = "rebuilt at",
		[DEVICE_RENUMBERED] = "no device with id 0",
		[DEVICE_KIND_SWAPPED] = "device 0",
		[DEVICE_STATE_TRUNCATED] = "device 0",
		[MACHINE_MORE_VCPUS] = "vCPU records",
		[MACHINE_OTHER_LAYOUT] = "not where ember puts it",
		[VCPU_TRUNCATED] = "vCPU",
		[CLOCK_DROPPED] = "no CLOCK record",
	};
	struct pair *p = pair_new(false);

	(void)state;
	pause_vm(p->src);
	assert_int_equal(create(p->src, p->snap, p->mem, "Full"), 204);
	for (int m = 0; m < MUTATIONS; m++) {
		rewrite(p->snap, p->snap2, (enum mutation)m);
		assert_int_equal(load(p, p->snap2, p->mem, false), 400);
		if (!strstr(fault(p->dst), want[m]))
			fail_msg("mutation %d: \"%s\" does not say \"%s\"", m, fault(p->dst), want[m]);
		assert_null(p->dst->ctl.vm);
		assert_int_equal(p->dst->ctl.state, CONTROLLER_NOT_STARTED);
	}
	/* The untouched file still loads in the same process. */
	rewrite(p->snap, p->snap2, MUTATIONS);
	assert_int_equal(load(p, p->snap2, p->mem, false), 204);
	pair_free(p);
}

/* The snapshot file names host files; it may name them only inside the
 * loader's snapshot directory. Paths the loader gives itself (the vsock
 * override) are the loader's own choice. */
static void test_load_confines_the_paths_a_snapshot_names(void **state)
{
	struct pair *p = pair_new(false);

	(void)state;
	pause_vm(p->src);
	assert_int_equal(create(p->src, p->snap, p->mem, "Full"), 204);
	/* The drives live in the source's directory, not the loader's. */
	p->dst->ctl.env.snapshot_dir = p->dst->dir;
	assert_int_equal(load(p, p->snap, p->mem, false), 400);
	assert_non_null(strstr(fault(p->dst), "drive root: path_on_host"));
	assert_non_null(strstr(fault(p->dst), "outside the snapshot directory"));
	assert_null(p->dst->ctl.vm);
	/* Where they live is allowed; the override's socket is not checked. */
	p->dst->ctl.env.snapshot_dir = p->src->dir;
	assert_int_equal(load(p, p->snap, p->mem, false), 204);
	pair_free(p);
}

static void test_confine_checks_drives_and_the_socket(void **state)
{
	char dir[] = "/tmp/ember-confine.XXXXXX";
	struct snapshot_load_params lp = { 0 };
	struct vm_spec spec;

	(void)state;
	assert_non_null(mkdtemp(dir));
	vm_spec_init(&spec);
	spec.nr_drives = 1;
	snprintf(spec.drives[0].drive_id, sizeof(spec.drives[0].drive_id), "rootfs");
	snprintf(spec.drives[0].path_on_host, sizeof(spec.drives[0].path_on_host), "%s/disk.img", dir);
	spec.vsock.present = true;
	snprintf(spec.vsock.uds_path, sizeof(spec.vsock.uds_path), "%s/v.sock", dir);
	assert_int_equal(vm_snapshot_confine(&spec, &lp, dir), 0);
	assert_int_equal(vm_snapshot_confine(&spec, &lp, NULL), 0);
	snprintf(spec.vsock.uds_path, sizeof(spec.vsock.uds_path), "%s/../v.sock", dir);
	assert_int_equal(vm_snapshot_confine(&spec, &lp, dir), -EPERM);
	assert_non_null(strstr(err_last(), "vsock: uds_path"));
	lp.has_vsock_override = true;
	assert_int_equal(vm_snapshot_confine(&spec, &lp, dir), 0);
	snprintf(spec.drives[0].path_on_host, sizeof(spec.drives[0].path_on_host), "/etc/shadow");
	assert_int_equal(vm_snapshot_confine(&spec, &lp, dir), -EPERM);
	assert_non_null(strstr(err_last(), "drive rootfs: path_on_host /etc/shadow"));
	rmdir(dir);
}

static void test_diff_snapshot(void **state)
{
	struct pair *p = pair_new(true);
	struct vm *src = p->src->ctl.vm;
	uint64_t bitmap[2] = { 0, 0 };
	struct stat st;
	char got[16];

	(void)state;
	pause_vm(p->src);
	assert_int_equal(create(p->src, p->snap, p->mem, "Full"), 204);
	/* Page 3 written by a vCPU (KVM's log), page 0x200 by the VMM. */
	bitmap[0] = 1ull << 3;
	assert_int_equal(hal_mock_set_dirty_bitmap(p->src->hal, 0, bitmap, sizeof(bitmap)), 0);
	assert_int_equal(guest_mem_write(&src->mem, 3 * 4096, "vcpu", 4), 0);
	assert_int_equal(guest_mem_write(&src->mem, PATTERN_GPA, "device", 6), 0);
	assert_int_equal(create(p->src, p->snap2, p->mem2, "Diff"), 204);
	assert_int_equal(stat(p->mem2, &st), 0);
	assert_int_equal(st.st_size, 32 << 20);
	assert_true((uint64_t)st.st_blocks * 512 <= 64 * 1024);
	/* Merged onto the full one, the diff restores the newest state. */
	{
		int base = open(p->mem, O_RDWR), diff = open(p->mem2, O_RDONLY);
		struct ram_file_stats rs;

		assert_true(base >= 0 && diff >= 0);
		assert_int_equal(snap_rebase(base, diff, &rs), 0);
		close(base);
		close(diff);
	}
	assert_int_equal(load(p, p->snap2, p->mem, false), 204);
	assert_int_equal(guest_mem_read(&p->dst->ctl.vm->mem, PATTERN_GPA, got, 6), 0);
	assert_memory_equal(got, "device", 6);
	assert_int_equal(guest_mem_read(&p->dst->ctl.vm->mem, 3 * 4096, got, 4), 0);
	assert_memory_equal(got, "vcpu", 4);
	pair_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_round_trip),
		cmocka_unit_test(test_copy_mode_and_resume),
		cmocka_unit_test(test_create_needs_pause),
		cmocka_unit_test(test_load_refusals),
		cmocka_unit_test(test_load_confines_the_paths_a_snapshot_names),
		cmocka_unit_test(test_confine_checks_drives_and_the_socket),
		cmocka_unit_test(test_diff_snapshot),
		cmocka_unit_test(test_load_hostile_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
