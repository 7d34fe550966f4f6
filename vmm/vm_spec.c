#include "vmm/vm_spec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/layout.h"
#include "vmm/log.h"
#include "vmm/net_alloc.h"

void vm_spec_init(struct vm_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	snprintf(spec->id, sizeof(spec->id), "%s", SPEC_DEFAULT_ID);
	spec->machine.vcpu_count = SPEC_DEFAULT_VCPUS;
	spec->machine.mem_size_mib = SPEC_DEFAULT_MEM_MiB;
	snprintf(spec->machine.cpu_template, sizeof(spec->machine.cpu_template), "None");
	spec->machine.huge_pages = SPEC_HUGE_PAGES_NONE;
	spec->logger.level = LOG_INFO;
}

int vm_spec_check_id(const char *what, const char *id)
{
	size_t len;

	if (!id || !id[0])
		return err_set(-EINVAL, "%s: must not be empty", what);
	len = strnlen(id, SPEC_ID_MAX + 1);
	if (len > SPEC_ID_MAX)
		return err_set(-EINVAL, "%s: longer than %d characters", what, SPEC_ID_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return err_set(-EINVAL, "%s: '%s' may hold only letters, digits and '_'", what, id);
	}
	return 0;
}

static int drive_index(const struct vm_spec *spec, const char *drive_id)
{
	for (unsigned i = 0; i < spec->nr_drives && i < SPEC_MAX_DRIVES; i++)
		if (!strcmp(spec->drives[i].drive_id, drive_id))
			return (int)i;
	return -1;
}

struct spec_drive *vm_spec_find_drive(struct vm_spec *spec, const char *drive_id)
{
	int i = drive_index(spec, drive_id);

	return i < 0 ? NULL : &spec->drives[i];
}

int vm_spec_put_drive(struct vm_spec *spec, const struct spec_drive *d)
{
	int at = drive_index(spec, d->drive_id);
	int ret = vm_spec_check_id("drive_id", d->drive_id);

	if (ret)
		return ret;
	if (!d->path_on_host[0])
		return err_set(-EINVAL, "drive %s: path_on_host must not be empty", d->drive_id);
	if (d->is_root_device) {
		for (unsigned i = 0; i < spec->nr_drives; i++)
			if ((int)i != at && spec->drives[i].is_root_device)
				return err_set(-EINVAL, "drive %s: A root block device already exists (%s)",
					       d->drive_id, spec->drives[i].drive_id);
	}
	if (at < 0) {
		if (spec->nr_drives >= SPEC_MAX_DRIVES)
			return err_set(-ENOSPC, "drive %s: at most %d drives", d->drive_id, SPEC_MAX_DRIVES);
		at = (int)spec->nr_drives++;
	}
	spec->drives[at] = *d;
	/* The guest names disks in order, and root= says /dev/vda: the root
	 * drive moves to the front, the others keep their relative order. */
	if (d->is_root_device && at > 0) {
		struct spec_drive root = spec->drives[at];

		memmove(&spec->drives[1], &spec->drives[0], (size_t)at * sizeof(spec->drives[0]));
		spec->drives[0] = root;
	}
	return 0;
}

static bool mac_equal(const struct spec_net *a, const struct spec_net *b)
{
	return a->has_guest_mac && b->has_guest_mac && !memcmp(a->guest_mac, b->guest_mac, 6);
}

int vm_spec_put_net(struct vm_spec *spec, const struct spec_net *n)
{
	int at = -1;
	int ret = vm_spec_check_id("iface_id", n->iface_id);

	if (ret)
		return ret;
	if (!n->host_dev_name[0] || strnlen(n->host_dev_name, sizeof(n->host_dev_name)) >= sizeof(n->host_dev_name))
		return err_set(-EINVAL, "iface %s: host_dev_name must be 1..%zu characters", n->iface_id,
			       sizeof(n->host_dev_name) - 1);
	for (unsigned i = 0; i < spec->nr_nets && i < SPEC_MAX_NETS; i++) {
		const struct spec_net *o = &spec->nets[i];

		if (!strcmp(o->iface_id, n->iface_id)) {
			at = (int)i;
			continue;
		}
		if (!strcmp(o->host_dev_name, n->host_dev_name))
			return err_set(-EINVAL, "iface %s: host_dev_name %s is already used by %s", n->iface_id,
				       n->host_dev_name, o->iface_id);
		if (mac_equal(o, n))
			return err_set(-EINVAL, "iface %s: guest_mac %02x:%02x:%02x:%02x:%02x:%02x is already used by %s",
				       n->iface_id, n->guest_mac[0], n->guest_mac[1], n->guest_mac[2],
				       n->guest_mac[3], n->guest_mac[4], n->guest_mac[5], o->iface_id);
	}
	if (at < 0) {
		if (spec->nr_nets >= SPEC_MAX_NETS)
			return err_set(-ENOSPC, "iface %s: at most %d network interfaces", n->iface_id, SPEC_MAX_NETS);
		at = (int)spec->nr_nets++;
	}
	spec->nets[at] = *n;
	return 0;
}

static int validate_drives(const struct vm_spec *spec)
{
	unsigned roots = 0;

	if (spec->nr_drives > SPEC_MAX_DRIVES)
		return err_set(-EINVAL, "drives: at most %d", SPEC_MAX_DRIVES);
	for (unsigned i = 0; i < spec->nr_drives; i++) {
		const struct spec_drive *d = &spec->drives[i];

		roots += d->is_root_device;
		if (roots > 1)
			return err_set(-EINVAL, "drives[%u]: A root block device already exists", i);
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(spec->drives[j].drive_id, d->drive_id))
				return err_set(-EINVAL, "drives[%u]: drive_id %s is used twice", i, d->drive_id);
	}
	if (roots && !spec->drives[0].is_root_device)
		return err_set(-EINVAL, "drives: the root device must be the first drive");
	return 0;
}

int vm_spec_validate(const struct vm_spec *spec)
{
	const struct spec_machine *m = &spec->machine;

	if (!spec->boot.present || !spec->boot.kernel_image_path[0])
		return err_set(-EINVAL, "boot-source.kernel_image_path: no kernel is configured");
	if (m->vcpu_count < 1 || m->vcpu_count > SPEC_MAX_VCPUS)
		return err_set(-EINVAL, "machine-config.vcpu_count: %u is out of range [1, %d]", m->vcpu_count,
			       SPEC_MAX_VCPUS);
	if (m->smt && m->vcpu_count != 1 && m->vcpu_count % 2)
		return err_set(-EINVAL, "machine-config.smt: with SMT the vcpu_count must be 1 or even, not %u",
			       m->vcpu_count);
	if (m->mem_size_mib < LAYOUT_MEM_MIN_MiB || m->mem_size_mib > SPEC_MAX_MEM_MiB)
		return err_set(-EINVAL, "machine-config.mem_size_mib: %llu is out of range [%llu, %llu]",
			       (unsigned long long)m->mem_size_mib, LAYOUT_MEM_MIN_MiB, SPEC_MAX_MEM_MiB);
	if (m->huge_pages == SPEC_HUGE_PAGES_2M && m->mem_size_mib % 2)
		return err_set(-EINVAL, "machine-config.huge_pages: 2M pages need an even mem_size_mib, not %llu",
			       (unsigned long long)m->mem_size_mib);
	if (spec->nr_nets > SPEC_MAX_NETS)
		return err_set(-EINVAL, "network-interfaces: at most %d", SPEC_MAX_NETS);
	if (spec->vsock.present && spec->vsock.guest_cid < 3)
		return err_set(-EINVAL, "vsock.guest_cid: %u is reserved (must be >= 3)", spec->vsock.guest_cid);
	if (spec->balloon.present && spec->balloon.amount_mib > m->mem_size_mib)
		return err_set(-EINVAL, "balloon.amount_mib: %u MiB is more than the guest's %llu MiB",
			       spec->balloon.amount_mib, (unsigned long long)m->mem_size_mib);
	return validate_drives(spec);
}

/* Appends src at *len; false when it (plus the NUL) does not fit. */
static bool append(char *out, size_t size, size_t *len, const char *src)
{
	size_t n = strlen(src);

	if (n >= size - *len)
		return false;
	memcpy(out + *len, src, n + 1);
	*len += n;
	return true;
}

/* Whether the command line has a parameter "<name>=..." of its own. */
static bool has_param(const char *args, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = args; (p = strstr(p, name)); p += n)
		if ((p == args || p[-1] == ' ') && p[n] == '=')
			return true;
	return false;
}

/* The kernel's ip= (Documentation/admin-guide/nfs/nfsroot.rst):
 * <client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>.
 * It configures a single interface and a later ip= replaces an earlier
 * one, so only the first interface with an address gets it, and a user's
 * own ip= in boot_args is left to win. False when it does not fit. */
static bool append_ip(const struct vm_spec *spec, const char *args, char *out, size_t size, size_t *len)
{
	for (unsigned i = 0; i < spec->nr_nets && i < SPEC_MAX_NETS; i++) {
		const struct spec_net *n = &spec->nets[i];
		char ip[16], gw[16], mask[16], param[96];

		if (!n->has_ip)
			continue;
		if (has_param(args, "ip"))
			return true;
		net_alloc_ip_format(n->ip, ip);
		net_alloc_ip_format(n->gateway, gw);
		net_alloc_ip_format(n->netmask, mask);
		/* Guests name virtio NICs eth0, eth1, ... in the order they
		 * are created, which is the spec's order. */
		snprintf(param, sizeof(param), "ip=%s::%s:%s::eth%u:off", ip, gw, mask, i);
		return (!*len || append(out, size, len, " ")) && append(out, size, len, param);
	}
	return true;
}

int vm_spec_cmdline(const struct vm_spec *spec, char *out, size_t size)
{
	const char *args = spec->boot.has_boot_args ? spec->boot.boot_args : SPEC_DEFAULT_BOOT_ARGS;
	size_t len = 0;

	if (!size)
		return err_set(-E2BIG, "kernel command line: no room");
	out[0] = '\0';
	if (!append(out, size, &len, args))
		goto too_big;
	for (unsigned i = 0; i < spec->nr_drives && i < SPEC_MAX_DRIVES; i++) {
		const struct spec_drive *d = &spec->drives[i];

		if (!d->is_root_device)
			continue;
		if (len && !append(out, size, &len, " "))
			goto too_big;
		if (d->partuuid[0]) {
			if (!append(out, size, &len, "root=PARTUUID=") || !append(out, size, &len, d->partuuid))
				goto too_big;
		} else if (!append(out, size, &len, "root=/dev/vda")) {
			goto too_big;
		}
		if (!append(out, size, &len, d->is_read_only ? " ro" : " rw"))
			goto too_big;
		break;
	}
	if (!append_ip(spec, args, out, size, &len))
		goto too_big;
	return 0;
too_big:
	out[0] = '\0';
	return err_set(-E2BIG, "kernel command line: longer than %zu bytes", size - 1);
}

/* `writable` also asks for write access; block devices count as files for
 * drives only, since a kernel or initrd is read whole by size. */
static int check_file(const char *key, const char *path, bool allow_blk, bool writable)
{
	struct stat st;

	if (stat(path, &st)) {
		int err = errno;

		if (err == ENOENT || err == ENOTDIR)
			return err_set(-ENOENT, "%s: %s: file not found", key, path);
		return err_set(-err, "%s: %s: %s", key, path, strerror(err));
	}
	if (!S_ISREG(st.st_mode) && !(allow_blk && S_ISBLK(st.st_mode)))
		return err_set(-EINVAL, "%s: %s: not a regular file%s", key, path, allow_blk ? " or block device" : "");
	if (access(path, R_OK))
		return err_set(-EACCES, "%s: %s: not readable", key, path);
	/* The spec does not know whether a config file, the API or --drive
	 * named the drive, so the hint names each way to make it read-only. */
	if (writable && access(path, W_OK)) {
		int err = errno;

		return err_set(err == EROFS ? -EROFS : -EACCES,
			       "%s: %s: %s; attach it read-only (\"is_read_only\": true, or --drive ...,ro=on) "
			       "or use a writable copy",
			       key, path, err == EROFS ? "on a read-only file system" : "not writable");
	}
	return 0;
}

int vm_spec_check_paths(const struct vm_spec *spec)
{
	int ret;

	if (spec->boot.present) {
		ret = check_file("boot-source.kernel_image_path", spec->boot.kernel_image_path, false, false);
		if (ret)
			return ret;
		if (spec->boot.initrd_path[0]) {
			ret = check_file("boot-source.initrd_path", spec->boot.initrd_path, false, false);
			if (ret)
				return ret;
		}
	}
	if (spec->machine.cpu_template_path[0]) {
		ret = check_file("--cpu-template", spec->machine.cpu_template_path, false, false);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < spec->nr_drives && i < SPEC_MAX_DRIVES; i++) {
		const struct spec_drive *d = &spec->drives[i];
		char key[40];

		snprintf(key, sizeof(key), "drives[%u].path_on_host", i);
		ret = check_file(key, d->path_on_host, true, !d->is_read_only);
		if (ret)
			return ret;
	}
	return 0;
}

/* A "Key:   N kB" line's N, or 0 when the line is another key. */
static uint64_t meminfo_kib(const char *line, const char *key)
{
	size_t n = strlen(key);
	unsigned long long v;

	if (strncmp(line, key, n) || line[n] != ':' || sscanf(line + n + 1, "%llu", &v) != 1)
		return 0;
	return v;
}

bool vm_spec_warn_host_memory(const struct vm_spec *spec, const char *meminfo)
{
	uint64_t total = 0, swap = 0, host_mib;
	char line[256];
	FILE *f = fopen(meminfo, "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		total = total ? total : meminfo_kib(line, "MemTotal");
		swap = swap ? swap : meminfo_kib(line, "SwapTotal");
	}
	fclose(f);
	host_mib = (total + swap) >> 10;
	if (!total || spec->machine.mem_size_mib <= host_mib)
		return false;
	log_warn("machine-config.mem_size_mib: %llu MiB is more than this host's memory and swap "
		 "(%llu MiB): the guest is killed if it uses it all",
		 (unsigned long long)spec->machine.mem_size_mib, (unsigned long long)host_mib);
	return true;
}
