/* Writing a paused VM to a state file and a guest-RAM file. */
#include "vmm/vm_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio/mmio.h"
#include "snapshot/cpu_state.h"
#include "snapshot/ram_file.h"
#include "vmm/arch_snapshot.h"
#include "vmm/file.h"
#include "vmm/log.h"
#include "vmm/spec_json.h"
#include "vmm/vm_snapshot_internal.h"
#include "vmm/vm_virtio.h"

static int save_arch(struct vm *vm, struct snap_writer *w)
{
	struct vm_arch_state as;
	struct snap_irqchip ic;
	struct snap_clock clock;
	int ret = arch_vm_capture(vm->hvm, &as);

	if (ret)
		return ret;
	vm_arch_state_to_snap(&as, &ic, &clock);
	snap_put_clock(w, &clock);
	snap_put_irqchip(w, &ic);
	return 0;
}

static int save_vcpus(struct vm *vm, struct snap_writer *w)
{
	struct cpu_state *cs = malloc(sizeof(*cs));
	int ret = cs ? 0 : err_fail(-ENOMEM, "no memory for a vCPU's state");

	for (unsigned i = 0; i < vm->nr_vcpus && !ret; i++) {
		struct state_writer sw;

		ret = arch_vcpu_capture(vm->vcpus[i].hal, cs);
		if (ret) {
			ret = err_wrap(ret, "vCPU %u", i);
			break;
		}
		state_writer_init(&sw);
		ret = cpu_state_encode(cs, &sw);
		if (!ret)
			snap_put_vcpu(w, i, sw.buf, sw.len);
		state_writer_free(&sw);
	}
	free(cs);
	return ret;
}

static const struct {
	uint32_t tag;
	size_t offset; /* of the struct device * in struct vm */
} legacy_devices[] = {
	{ SNAP_TAG_SERIAL, offsetof(struct vm, serial) },   { SNAP_TAG_I8042, offsetof(struct vm, i8042) },
	{ SNAP_TAG_CMOS, offsetof(struct vm, cmos) },       { SNAP_TAG_ACPI_PM, offsetof(struct vm, acpi_pm) },
	{ SNAP_TAG_PVPANIC, offsetof(struct vm, pvpanic) },
};

struct device *vm_snapshot_legacy_device(struct vm *vm, uint32_t tag)
{
	for (size_t i = 0; i < sizeof(legacy_devices) / sizeof(legacy_devices[0]); i++)
		if (legacy_devices[i].tag == tag)
			return *(struct device **)((char *)vm + legacy_devices[i].offset);
	return NULL;
}

static int save_device(struct device *dev, struct state_writer *sw)
{
	int ret;

	pthread_mutex_lock(&dev->lock);
	ret = dev->ops->save(dev, sw);
	pthread_mutex_unlock(&dev->lock);
	return ret ? err_wrap(ret, "saving %s", dev->ops->kind) : 0;
}

static int save_legacy(struct vm *vm, struct snap_writer *w)
{
	for (uint32_t tag = SNAP_TAG_SERIAL; tag <= SNAP_TAG_LAST; tag++) {
		struct device *dev = vm_snapshot_legacy_device(vm, tag);
		struct state_writer sw;
		int ret;

		if (!dev)
			continue;
		state_writer_init(&sw);
		ret = save_device(dev, &sw);
		if (!ret)
			snap_put_legacy(w, tag, sw.buf, sw.len);
		state_writer_free(&sw);
		if (ret)
			return ret;
	}
	return 0;
}

/* The i-th device's config object, from the spec's JSON (the same text
 * GET /vm/config answers), so restore parses it with the API's parsers. */
static char *backing_json(json_t *full, uint32_t kind, unsigned nth)
{
	static const char *const keys[] = { [SNAP_DEV_BLOCK] = "drives", [SNAP_DEV_NET] = "network-interfaces",
					     [SNAP_DEV_VSOCK] = "vsock", [SNAP_DEV_RNG] = "entropy" };
	json_t *j = json_object_get(full, keys[kind]);

	if (json_is_array(j))
		j = json_array_get(j, nth);
	return json_is_object(j) ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

static int save_virtio(struct vm *vm, const struct vm_spec *spec, struct snap_writer *w)
{
	char *text = spec_json_dump_full(spec);
	json_t *full = text ? json_loads(text, 0, NULL) : NULL;
	unsigned nth[SNAP_DEV_BALLOON + 1] = { 0 };
	int ret = full ? 0 : err_fail(-ENOMEM, "describing the devices: %s", text ? "bad JSON" : err_last());

	free(text);
	for (unsigned i = 0; i < vm->nr_virtio && !ret; i++) {
		struct vm_virtio *v = vm->virtio[i];
		uint32_t kind = vm_snapshot_device_kind(v->dev->ops->device_id);
		char *backing = kind ? backing_json(full, kind, nth[kind]++) : NULL;
		struct state_writer sw;

		if (!backing) {
			ret = err_fail(-EINVAL, "device %u (%s) has no configuration to save", i, v->dev->ops->kind);
			break;
		}
		state_writer_init(&sw);
		state_put_u32(&sw, VM_SNAPSHOT_DEVICE_VERSION);
		state_put_u64(&sw, v->base);
		state_put_u32(&sw, v->gsi);
		ret = save_device(&v->dev->dev, &sw);
		if (!ret) {
			struct snap_device d = { .kind = kind, .id = i };

			d.transport = (struct snap_blob){ sw.buf, sw.len };
			d.backing = (struct snap_blob){ (const uint8_t *)backing, strlen(backing) };
			snap_put_device(w, &d);
		}
		state_writer_free(&sw);
		free(backing);
	}
	json_decref(full);
	return ret;
}

static void save_machine(struct vm *vm, struct snap_writer *w, struct ram_file_region *regions)
{
	struct snap_machine m = { .vcpus = vm->nr_vcpus, .nregions = vm->nr_ram };
	uint64_t off = 0;

	for (unsigned i = 0; i < vm->nr_ram; i++) {
		m.regions[i] = (struct snap_region){ vm->ram[i].gpa, vm->ram[i].size, off };
		/* A lazily restored VM's untouched pages come from its file. */
		regions[i] = (struct ram_file_region){ vm->ram[i].size, off, vm->ram[i].host, !vm->ram_from_file };
		m.mem_size += vm->ram[i].size;
		off += vm->ram[i].size;
	}
	snap_put_machine(w, &m);
}

static int write_state(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret;

	if (fd < 0)
		return err_fail(-errno, "snapshot_path %s: %m", path);
	ret = ram_file_pwrite_all(fd, data, len, 0, path);
	if (close(fd) && !ret)
		ret = err_fail(-errno, "snapshot_path %s: close: %m", path);
	return ret;
}

/* Pages written since the last snapshot: KVM's log for the vCPUs' writes,
 * ORed with the VMM's own (devices filling guest buffers). Reading both
 * clears them. */
static int take_dirty(struct vm *vm, unsigned i, uint64_t **out)
{
	size_t words = ((vm->ram[i].size >> 12) + 63) / 64;
	uint64_t *bitmap = calloc(words, sizeof(*bitmap));
	int ret;

	if (!bitmap)
		return err_fail(-ENOMEM, "no memory for the dirty bitmap of region %u", i);
	ret = vm->hvm->ops->get_dirty_log(vm->hvm, i, bitmap);
	if (!ret)
		ret = guest_mem_take_dirty(&vm->mem, i, bitmap, words);
	if (ret) {
		free(bitmap);
		return err_wrap(ret, "reading the dirty log of region %u", i);
	}
	*out = bitmap;
	return 0;
}

static int write_mem(struct vm *vm, const struct snapshot_create_params *p, const struct ram_file_region *regions,
		     struct vm_snapshot_stats *st)
{
	uint64_t *bitmaps[2] = { NULL, NULL };
	struct ram_file_stats rs = { 0 };
	int fd, ret = 0;

	for (unsigned i = 0; i < vm->nr_ram && vm->track_dirty && !ret; i++)
		ret = take_dirty(vm, i, &bitmaps[i]);
	if (ret)
		goto out;
	fd = open(p->mem_file_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = err_fail(-errno, "mem_file_path %s: %m", p->mem_file_path);
		goto out;
	}
	if (p->type == SNAPSHOT_DIFF)
		ret = ram_file_write_diff(fd, regions, vm->nr_ram, (const uint64_t *const *)bitmaps, &rs);
	else
		ret = ram_file_write_full(fd, regions, vm->nr_ram, &rs);
	if (close(fd) && !ret)
		ret = err_fail(-errno, "mem_file_path %s: close: %m", p->mem_file_path);
	if (ret)
		ret = err_wrap(ret, "mem_file_path %s", p->mem_file_path);
	st->mem_bytes = rs.bytes_written;
	st->pages_written = rs.pages_written;
	st->pages_skipped = rs.pages_skipped;
out:
	free(bitmaps[0]);
	free(bitmaps[1]);
	return ret;
}

/* Truncating the file a lazily restored VM still reads its clean pages
 * from would change this VM's memory under it. */
static int check_targets(const struct vm *vm, const struct snapshot_create_params *p)
{
	struct stat st;

	if (file_same(p->snapshot_path, p->mem_file_path))
		return err_set(-EINVAL, "snapshot_path and mem_file_path are the same file");
	if (vm->ram_from_file && stat(p->mem_file_path, &st) == 0 && st.st_dev == vm->ram_file_dev &&
	    st.st_ino == vm->ram_file_ino)
		return err_set(-EINVAL,
			       "mem_file_path %s: this VM's memory is still mapped from that file; write the snapshot elsewhere",
			       p->mem_file_path);
	if (p->type == SNAPSHOT_DIFF && !vm->track_dirty)
		return err_set(-EINVAL, "Diff snapshots are not allowed on uVMs with dirty page tracking disabled.");
	return 0;
}

int vm_snapshot_save(struct vm *vm, const struct vm_spec *spec, const struct snapshot_create_params *p,
		     struct vm_snapshot_stats *st)
{
	struct ram_file_region regions[2];
	struct snap_writer w;
	const uint8_t *data;
	size_t len;
	int ret;

	memset(st, 0, sizeof(*st));
	if (!vm->paused)
		return err_set(-EBUSY, "the microVM must be paused before a snapshot is taken");
	ret = check_targets(vm, p);
	if (ret)
		return ret;
	snap_writer_init(&w);
	save_machine(vm, &w, regions);
	ret = save_arch(vm, &w);
	if (!ret)
		ret = save_vcpus(vm, &w);
	if (!ret)
		ret = save_legacy(vm, &w);
	if (!ret)
		ret = save_virtio(vm, spec, &w);
	if (!ret)
		ret = snap_writer_finish(&w, &data, &len);
	if (!ret)
		ret = write_state(p->snapshot_path, data, len);
	if (!ret) {
		st->state_bytes = len;
		ret = write_mem(vm, p, regions, st);
	}
	snap_writer_free(&w);
	return ret ? err_wrap(ret, "creating the snapshot") : 0;
}
