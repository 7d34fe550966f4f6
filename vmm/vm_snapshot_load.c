/* Reading a snapshot back: the state file is hostile input, checked whole
 * by snap_parse and then field by field here before anything is applied. */
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

uint32_t vm_snapshot_device_kind(uint32_t virtio_id)
{
	switch (virtio_id) {
	case VIRTIO_ID_BLOCK:
		return SNAP_DEV_BLOCK;
	case VIRTIO_ID_NET:
		return SNAP_DEV_NET;
	case VIRTIO_ID_VSOCK:
		return SNAP_DEV_VSOCK;
	case VIRTIO_ID_RNG:
		return SNAP_DEV_RNG;
	default:
		return 0;
	}
}

/* The machine must be one ember builds: the usual RAM layout for its size. */
static int check_machine(const struct snap_machine *m)
{
	uint64_t gpa[2], size[2];
	unsigned n;

	if (m->vcpus < 1 || m->vcpus > 32)
		return err_set(-EINVAL, "snapshot: %u vCPUs, 1 to 32 supported", m->vcpus);
	if (m->mem_size & ((1u << 20) - 1) || (m->mem_size >> 20) < 16)
		return err_set(-EINVAL, "snapshot: guest memory of %llu bytes is not a whole number of MiB >= 16",
			       (unsigned long long)m->mem_size);
	n = vm_ram_layout(m->mem_size, gpa, size);
	if (m->nregions != n)
		return err_set(-EINVAL, "snapshot: %u memory regions where ember lays out %u", m->nregions, n);
	for (unsigned i = 0; i < n; i++)
		if (m->regions[i].gpa != gpa[i] || m->regions[i].size != size[i])
			return err_set(-EINVAL, "snapshot: memory region %u is not where ember puts it", i);
	return 0;
}

static int check_records(const struct vm_snapshot *s)
{
	struct snap_vcpu v;
	size_t cursor = 0;
	uint32_t n = 0;

	if (!snap_find(&s->file, SNAP_TAG_CLOCK) || !snap_find(&s->file, SNAP_TAG_IRQCHIP))
		return err_set(-EINVAL, "snapshot: no %s record",
			       snap_find(&s->file, SNAP_TAG_CLOCK) ? "IRQCHIP" : "CLOCK");
	for (const struct snap_record *r; (r = snap_next(&s->file, SNAP_TAG_VCPU, &cursor)); n++)
		snap_decode_vcpu(r, &v); /* parse checked the indices: unique, below vcpus */
	if (n != s->machine.vcpus)
		return err_set(-EINVAL, "snapshot: %u vCPU records for %u vCPUs", n, s->machine.vcpus);
	return 0;
}

static int open_mem(const char *path, const struct snap_machine *m, int *out)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return err_set(-errno, "memory file %s: %m", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		ret = err_set(-EINVAL, "memory file %s: not a regular file", path);
	for (unsigned i = 0; i < m->nregions && !ret; i++) {
		ret = ram_file_check_region((uint64_t)st.st_size, m->regions[i].file_offset, m->regions[i].size);
		if (ret)
			ret = err_wrap(ret, "memory file %s (%lld bytes)", path, (long long)st.st_size);
	}
	if (ret) {
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

int vm_snapshot_open(const char *snapshot_path, const char *mem_path, struct vm_snapshot *s)
{
	const struct snap_record *r;
	int ret;

	memset(s, 0, sizeof(*s));
	s->mem_fd = -1;
	ret = file_read_all(snapshot_path, SNAP_MAX_FILE, &s->buf, &s->len);
	if (ret)
		return err_wrap(ret, "snapshot file");
	ret = snap_parse(s->buf, s->len, &s->file);
	if (!ret && !(r = snap_find(&s->file, SNAP_TAG_MACHINE)))
		ret = err_set(-EINVAL, "snapshot: no MACHINE record");
	if (!ret)
		ret = snap_decode_machine(r, &s->machine);
	if (!ret)
		ret = check_machine(&s->machine);
	if (!ret)
		ret = check_records(s);
	if (!ret)
		ret = open_mem(mem_path, &s->machine, &s->mem_fd);
	if (ret) {
		vm_snapshot_close(s);
		return err_wrap(ret, "%s", snapshot_path);
	}
	return 0;
}

void vm_snapshot_close(struct vm_snapshot *s)
{
	snap_file_free(&s->file);
	free(s->buf);
	if (s->mem_fd >= 0)
		close(s->mem_fd);
	memset(s, 0, sizeof(*s));
	s->mem_fd = -1;
}

void vm_snapshot_mem_file(const struct vm_snapshot *s, bool lazy, struct vm_mem_file *mf)
{
	memset(mf, 0, sizeof(*mf));
	mf->fd = s->mem_fd;
	mf->lazy = lazy;
	for (unsigned i = 0; i < s->machine.nregions && i < 2; i++)
		mf->offset[i] = s->machine.regions[i].file_offset;
}

/* The n-th DEVICE record (ids are 0, 1, ... in creation order), or NULL. */
static const struct snap_record *device_record(const struct snap_file *f, uint32_t id, struct snap_device *d)
{
	size_t cursor = 0;

	for (const struct snap_record *r; (r = snap_next(f, SNAP_TAG_DEVICE, &cursor));)
		if (!snap_decode_device(r, d) && d->id == id)
			return r;
	return NULL;
}

static int add_backing(struct vm_spec *out, const struct snap_device *d, uint32_t id)
{
	char path[48];
	json_t *j;
	int ret;

	snprintf(path, sizeof(path), "device %u", id);
	/* The API's own loader and parsers: the same limits and messages. */
	ret = spec_json_load((const char *)d->backing.data, d->backing.len, &j);
	if (ret)
		return err_wrap(ret, "snapshot: %s: configuration", path);
	switch (d->kind) {
	case SNAP_DEV_BLOCK:
		ret = out->nr_drives == SPEC_MAX_DRIVES ? err_set(-E2BIG, "snapshot: too many drives")
			: spec_json_parse_drive(j, path, &out->drives[out->nr_drives]);
		out->nr_drives += !ret;
		break;
	case SNAP_DEV_NET:
		ret = out->nr_nets == SPEC_MAX_NETS ? err_set(-E2BIG, "snapshot: too many network interfaces")
			: spec_json_parse_net(j, path, &out->nets[out->nr_nets]);
		out->nr_nets += !ret;
		break;
	case SNAP_DEV_VSOCK:
		ret = out->vsock.present ? err_set(-EINVAL, "snapshot: two vsock devices")
			: spec_json_parse_vsock(j, path, &out->vsock);
		break;
	case SNAP_DEV_RNG:
		ret = out->entropy.present ? err_set(-EINVAL, "snapshot: two entropy devices")
			: spec_json_parse_entropy(j, path, &out->entropy);
		break;
	default:
		ret = err_set(-ENOTSUP, "snapshot: %s: %s devices are not supported", path,
			      snap_device_kind_name(d->kind));
	}
	json_decref(j);
	return ret && d->kind <= SNAP_DEV_RNG ? err_wrap(ret, "snapshot") : ret;
}

static int apply_overrides(struct vm_spec *out, const struct snapshot_load_params *p)
{
	for (unsigned i = 0; i < p->nr_net_overrides; i++) {
		const struct snapshot_net_override *o = &p->net_overrides[i];
		unsigned k = 0;

		while (k < out->nr_nets && strcmp(out->nets[k].iface_id, o->iface_id))
			k++;
		if (k == out->nr_nets)
			return err_set(-EINVAL, "network_overrides[%u]: the snapshot has no interface %s", i,
				       o->iface_id);
		snprintf(out->nets[k].host_dev_name, sizeof(out->nets[k].host_dev_name), "%s", o->host_dev_name);
	}
	if (p->has_vsock_override) {
		if (!out->vsock.present)
			return err_set(-EINVAL, "vsock_override: the snapshot has no vsock device");
		snprintf(out->vsock.uds_path, sizeof(out->vsock.uds_path), "%s", p->vsock_uds_path);
	}
	return 0;
}

static int outside(const char *what, const char *path, const char *dir)
{
	return err_set(-EPERM, "snapshot: %s %s lies outside the snapshot directory %s, the only place a snapshot "
			       "may name files in (--snapshot-dir; by default the working directory)",
		       what, path, dir);
}

int vm_snapshot_confine(const struct vm_spec *spec, const struct snapshot_load_params *p, const char *dir)
{
	char what[SPEC_ID_MAX + 32];

	if (!dir)
		return 0;
	for (unsigned i = 0; i < spec->nr_drives; i++)
		if (!file_within(dir, spec->drives[i].path_on_host)) {
			snprintf(what, sizeof(what), "drive %s: path_on_host", spec->drives[i].drive_id);
			return outside(what, spec->drives[i].path_on_host, dir);
		}
	if (spec->vsock.present && !p->has_vsock_override && !file_within(dir, spec->vsock.uds_path))
		return outside("vsock: uds_path", spec->vsock.uds_path, dir);
	return 0;
}

int vm_snapshot_spec(const struct vm_snapshot *s, const struct snapshot_load_params *p,
		     const struct vm_spec *base, struct vm_spec *out)
{
	struct vm_spec fresh;
	struct snap_device d;
	size_t cursor = 0;
	uint32_t n = 0;
	int ret = 0;

	vm_spec_init(&fresh);
	*out = *base;
	out->machine = fresh.machine;
	out->machine.vcpu_count = s->machine.vcpus;
	out->machine.mem_size_mib = s->machine.mem_size >> 20;
	out->machine.track_dirty_pages = p->track_dirty_pages;
	out->nr_drives = out->nr_nets = 0;
	out->vsock = fresh.vsock;
	out->entropy = fresh.entropy;
	out->balloon = fresh.balloon;
	while (snap_next(&s->file, SNAP_TAG_DEVICE, &cursor))
		n++;
	/* Ids are unique (snap_parse checked); they must also be 0 .. n-1. */
	for (uint32_t id = 0; id < n && !ret; id++)
		ret = device_record(&s->file, id, &d) ? add_backing(out, &d, id)
						       : err_set(-EINVAL, "snapshot: no device with id %u", id);
	if (!ret)
		ret = apply_overrides(out, p);
	return ret;
}

static int restore_device(struct device *dev, const uint8_t *data, size_t len)
{
	struct state_reader r;
	int ret;

	state_reader_init(&r, data, len);
	pthread_mutex_lock(&dev->lock);
	ret = dev->ops->restore(dev, &r);
	pthread_mutex_unlock(&dev->lock);
	if (!ret)
		ret = state_reader_finish(&r);
	return ret ? err_wrap(ret, "restoring %s", dev->ops->kind) : 0;
}

static int restore_virtio(struct vm *vm, const struct vm_snapshot *s)
{
	for (uint32_t i = 0; i < vm->nr_virtio; i++) {
		struct vm_virtio *v = vm->virtio[i];
		struct snap_device d;
		struct state_reader r;
		uint32_t version, gsi;
		uint64_t base;
		int ret;

		if (!device_record(&s->file, i, &d))
			return err_set(-EINVAL, "snapshot: no record for device %u", i);
		if (d.kind != vm_snapshot_device_kind(v->dev->ops->device_id))
			return err_set(-EINVAL, "snapshot: device %u is a %s, the record a %s", i, v->dev->ops->kind,
				       snap_device_kind_name(d.kind));
		state_reader_init(&r, d.transport.data, d.transport.len);
		version = state_get_u32(&r);
		base = state_get_u64(&r);
		gsi = state_get_u32(&r);
		if ((ret = state_reader_error(&r)))
			return err_wrap(ret, "snapshot: device %u", i);
		if (version != VM_SNAPSHOT_DEVICE_VERSION || base != v->base || gsi != v->gsi)
			return err_set(-EINVAL, "snapshot: device %u: record version %u at %#llx GSI %u, rebuilt at %#llx GSI %u",
				       i, version, (unsigned long long)base, gsi, (unsigned long long)v->base, v->gsi);
		ret = restore_device(&v->dev->dev, d.transport.data + r.pos, d.transport.len - r.pos);
		if (ret)
			return err_wrap(ret, "device %u", i);
	}
	return 0;
}

static int restore_legacy(struct vm *vm, const struct vm_snapshot *s)
{
	for (uint32_t tag = SNAP_TAG_SERIAL; tag <= SNAP_TAG_LAST; tag++) {
		const struct snap_record *r = snap_find(&s->file, tag);
		struct device *dev = vm_snapshot_legacy_device(vm, tag);
		struct snap_blob b;
		int ret;

		/* A missing record leaves the device as it powers on. */
		if (!r || !dev)
			continue;
		ret = snap_decode_legacy(r, &b);
		if (!ret)
			ret = restore_device(dev, b.data, b.len);
		if (ret)
			return ret;
	}
	return 0;
}

static int restore_vcpus(struct vm *vm, const struct vm_snapshot *s)
{
	struct cpu_state *cs = malloc(sizeof(*cs));
	size_t cursor = 0;
	int ret = cs ? 0 : err_fail(-ENOMEM, "no memory for a vCPU's state");

	for (const struct snap_record *r; !ret && (r = snap_next(&s->file, SNAP_TAG_VCPU, &cursor));) {
		struct snap_vcpu v;

		ret = snap_decode_vcpu(r, &v);
		if (!ret && v.index >= vm->nr_vcpus)
			ret = err_set(-EINVAL, "snapshot: vCPU %u of %u", v.index, vm->nr_vcpus);
		if (!ret)
			ret = cpu_state_decode(v.state.data, v.state.len, cs);
		if (!ret)
			ret = arch_vcpu_apply(vm->vcpus[v.index].hal, cs);
		if (ret)
			ret = err_wrap(ret, "vCPU %u", v.index);
	}
	free(cs);
	return ret;
}

static int restore_arch(struct vm *vm, const struct vm_snapshot *s)
{
	struct vm_arch_state as;
	struct snap_irqchip ic;
	struct snap_clock clock;
	int ret = snap_decode_irqchip(snap_find(&s->file, SNAP_TAG_IRQCHIP), &ic);

	if (!ret)
		ret = snap_decode_clock(snap_find(&s->file, SNAP_TAG_CLOCK), &clock);
	if (!ret)
		ret = vm_arch_state_from_snap(&ic, &clock, &as);
	if (!ret)
		ret = arch_vm_apply(vm->hvm, &as);
	return ret;
}

int vm_snapshot_restore(struct vm *vm, const struct vm_snapshot *s)
{
	int ret;

	if (vm->nr_vcpus != s->machine.vcpus)
		return err_set(-EINVAL, "snapshot: %u vCPUs saved, %u built", s->machine.vcpus, vm->nr_vcpus);
	ret = restore_vcpus(vm, s);
	if (!ret)
		ret = restore_arch(vm, s);
	if (!ret)
		ret = restore_legacy(vm, s);
	if (!ret)
		ret = restore_virtio(vm, s);
	return ret ? err_wrap(ret, "restoring the snapshot") : 0;
}
