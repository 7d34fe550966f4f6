#include "vmm/controller.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio/blk.h"
#include "vmm/file.h"
#include "vmm/log.h"
#include "vmm/vm_snapshot.h"
#include "vmm/vm_virtio.h"

#define KERNEL_MAX_BYTES (1ULL << 30)
#define INITRD_MAX_BYTES (2ULL << 30)

void controller_init(struct controller *ctl, const struct controller_env *env,
		     const struct vm_spec *spec)
{
	memset(ctl, 0, sizeof(*ctl));
	ctl->env = *env;
	if (spec)
		ctl->spec = *spec;
	else
		vm_spec_init(&ctl->spec);
	ctl->state = CONTROLLER_NOT_STARTED;
	metrics_init(&ctl->metrics);
}

const char *controller_state_name(enum controller_state s)
{
	switch (s) {
	case CONTROLLER_RUNNING:
		return "Running";
	case CONTROLLER_PAUSED:
		return "Paused";
	default:
		return "Not started";
	}
}

/* Reads the kernel and initrd before any KVM work, so a bad path is
 * reported as such on any machine. */
static int read_images(const struct vm_spec *spec, const char *cmdline, struct boot_config *boot)
{
	uint8_t *kernel = NULL, *initrd = NULL;
	int ret;

	*boot = (struct boot_config){ .cmdline = cmdline, .nr_vcpus = spec->machine.vcpu_count };
	ret = file_read_all(spec->boot.kernel_image_path, KERNEL_MAX_BYTES, &kernel,
			    &boot->kernel_len);
	if (ret)
		return err_wrap(ret, "boot-source.kernel_image_path");
	if (spec->boot.initrd_path[0]) {
		ret = file_read_all(spec->boot.initrd_path, INITRD_MAX_BYTES, &initrd,
				    &boot->initrd_len);
		if (ret) {
			free(kernel);
			return err_wrap(ret, "boot-source.initrd_path");
		}
	}
	boot->kernel = kernel;
	boot->kernel_release = (struct boot_release){ file_drop_range, kernel };
	boot->initrd = initrd;
	return 0;
}

static void free_images(struct boot_config *boot)
{
	free((void *)boot->kernel);
	free((void *)boot->initrd);
	boot->kernel = boot->initrd = NULL;
}

static int read_cpu_template(const char *path, struct cpu_template *tpl)
{
	uint8_t *json;
	size_t len;
	int ret = file_read_all(path, CPU_TEMPLATE_MAX_BYTES, &json, &len);

	if (ret)
		return ret;
	ret = cpu_template_parse((const char *)json, len, tpl);
	free(json);
	return ret ? err_wrap(ret, "%s", path) : 0;
}

static int add_devices(struct controller *ctl)
{
	const struct vm_spec *spec = &ctl->spec;
	int ret = 0;

	/* The guest has no balloon device model yet: refusing is better than
	 * booting a VM without the device it was promised. */
	if (spec->balloon.present)
		return err_set(-ENOTSUP, "balloon: the balloon device is not implemented yet");
	for (unsigned i = 0; i < spec->nr_drives && !ret; i++) {
		ret = vm_virtio_add_blk(ctl->vm, &spec->drives[i]);
		if (ret)
			ret = err_wrap(ret, "drives[%u]", i);
	}
	/* NICs after the disks, as Firecracker attaches them; the guest
	 * names them eth0, eth1, ... in this order, which ip= relies on. */
	for (unsigned i = 0; i < spec->nr_nets && i < SPEC_MAX_NETS && !ret; i++) {
		ret = vm_virtio_add_net(ctl->vm, &spec->nets[i]);
		if (ret)
			ret = err_wrap(ret, "network-interfaces[%u]", i);
	}
	if (!ret && spec->vsock.present && (ret = vm_virtio_add_vsock(ctl->vm, &spec->vsock)))
		ret = err_wrap(ret, "vsock");
	if (!ret && spec->entropy.present)
		ret = vm_virtio_add_rng(ctl->vm);
	return ret;
}

static int open_hal(struct controller *ctl)
{
	int ret;

	if (ctl->env.hal)
		return 0;
	ret = ctl->env.open_hal ? ctl->env.open_hal(&ctl->env.hal) : err_set(-ENODEV, "no hypervisor backend");
	if (!ret)
		ctl->owns_hal = true;
	return ret;
}

/* The end of every start: main's wiring, the device kicks on the loop,
 * then the vCPUs (parked at once when `paused`). On failure the VM goes. */
static int start_vcpus(struct controller *ctl, int ret, bool paused)
{
	/* Parked first when main must harden before the guest runs. */
	bool park = paused || ctl->env.on_vcpus_parked;

	if (!ret && ctl->env.on_vm_built)
		ret = ctl->env.on_vm_built(ctl->env.opaque, ctl->vm);
	if (!ret)
		ret = vm_virtio_attach(ctl->vm, ctl->env.loop);
	if (!ret && park)
		atomic_store(&ctl->vm->pause_requested, true);
	if (!ret)
		ret = vm_start(ctl->vm);
	if (!ret && park)
		ret = vm_pause(ctl->vm);
	if (!ret && ctl->env.on_vcpus_parked)
		ret = ctl->env.on_vcpus_parked(ctl->env.opaque, ctl->vm);
	if (!ret && park && !paused)
		vm_resume(ctl->vm);
	if (ret) {
		char msg[ERR_MSG_MAX];

		/* Teardown may log and clobber the message the caller reports. */
		snprintf(msg, sizeof(msg), "%s", err_last());
		vm_destroy(ctl->vm);
		ctl->vm = NULL;
		return err_set(ret, "%s", msg);
	}
	ctl->state = paused ? CONTROLLER_PAUSED : CONTROLLER_RUNNING;
	return 0;
}

int controller_start(struct controller *ctl)
{
	const struct vm_spec *spec = &ctl->spec;
	struct vm_config cfg = { .mem_mib = spec->machine.mem_size_mib,
				 .nr_vcpus = spec->machine.vcpu_count,
				 .console = ctl->env.console,
				 .track_dirty = spec->machine.track_dirty_pages };
	/* Room for boot_args plus what vm_spec_cmdline appends: root= with a
	 * partuuid (~82 bytes) and an ip= (~62). */
	char cmdline[SPEC_BOOT_ARGS_MAX + 256];
	struct boot_config boot;
	int ret;

	if (ctl->state != CONTROLLER_NOT_STARTED)
		return err_set(-EALREADY, "the microVM is already started");
	ctl->start_failed_on_config = true;
	ret = vm_spec_validate(spec);
	if (!ret)
		ret = vm_spec_cmdline(spec, cmdline, sizeof(cmdline));
	if (!ret && spec->machine.cpu_template_path[0])
		ret = read_cpu_template(spec->machine.cpu_template_path, &ctl->tpl);
	if (ret)
		return ret;
	ret = read_images(spec, cmdline, &boot);
	if (ret)
		return ret;
	vm_spec_warn_host_memory(spec, "/proc/meminfo");
	ctl->start_failed_on_config = false;
	ret = open_hal(ctl);
	if (ret) {
		free_images(&boot);
		return ret;
	}
	ret = vm_create(ctl->env.hal, &cfg, &ctl->vm);
	if (!ret) {
		ctl->start_failed_on_config = true;
		ret = add_devices(ctl);
	}
	if (!ret) {
		ctl->vm->print_startup = ctl->env.print_startup;
		ctl->vm->cpu_template = spec->machine.cpu_template_path[0] ? &ctl->tpl : NULL;
		ret = vm_load_kernel(ctl->vm, &boot);
	}
	free_images(&boot);
	if (!ret)
		ctl->start_failed_on_config = false;
	return start_vcpus(ctl, ret, false);
}

int controller_snapshot_create(struct controller *ctl, const struct snapshot_create_params *p)
{
	struct vm_snapshot_stats st;
	struct timespec t0, t1;
	int ret;

	if (ctl->state != CONTROLLER_PAUSED)
		return err_set(-EINVAL, "Cannot create a snapshot: the microVM is not paused.");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = vm_snapshot_save(ctl->vm, &ctl->spec, p, &st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!ret)
		log_info("snapshot (%s) created in %.1f ms: %s (%llu bytes), %s (%llu bytes of RAM written, %llu pages, %llu skipped)",
			 p->type == SNAPSHOT_DIFF ? "Diff" : "Full",
			 (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, p->snapshot_path,
			 (unsigned long long)st.state_bytes, p->mem_file_path, (unsigned long long)st.mem_bytes,
			 (unsigned long long)st.pages_written, (unsigned long long)st.pages_skipped);
	return ret;
}

static int load_vm(struct controller *ctl, const struct snapshot_load_params *p, const struct vm_snapshot *snap)
{
	struct vm_mem_file mf;
	struct vm_config cfg = { .mem_mib = ctl->spec.machine.mem_size_mib,
				 .nr_vcpus = ctl->spec.machine.vcpu_count,
				 .console = ctl->env.console,
				 .mem_file = &mf,
				 .track_dirty = p->track_dirty_pages };
	int ret;

	vm_snapshot_mem_file(snap, p->mem_mode == RESTORE_MEM_LAZY, &mf);
	ret = vm_create(ctl->env.hal, &cfg, &ctl->vm);
	if (ret)
		return ret;
	ctl->vm->print_startup = ctl->env.print_startup;
	/* The devices' backing files and the saved state are the user's. */
	ctl->start_failed_on_config = true;
	ret = add_devices(ctl);
	if (!ret)
		ret = vm_snapshot_restore(ctl->vm, snap);
	if (!ret)
		ctl->start_failed_on_config = false;
	return ret;
}

int controller_snapshot_load(struct controller *ctl, const struct snapshot_load_params *p)
{
	static struct vm_spec spec, saved; /* large; only the VMM thread comes here */
	struct vm_snapshot snap;
	struct timespec t0, t1;
	int ret;

	if (ctl->state != CONTROLLER_NOT_STARTED)
		return err_set(-EALREADY, "the microVM is already started");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ctl->start_failed_on_config = true;
	/* KVM_CLOCK_REALTIME needs the host's wall time at save, which the
	 * CLOCK record does not keep yet: the guest clock resumes where it stopped. */
	if (p->clock_realtime)
		return err_set(-ENOTSUP, "clock_realtime: not supported by ember (the guest clock resumes where it was paused)");
	ret = vm_snapshot_open(p->snapshot_path, p->mem_file_path, &snap);
	if (ret)
		return ret;
	ret = vm_snapshot_spec(&snap, p, &ctl->spec, &spec);
	if (!ret)
		ret = vm_snapshot_confine(&spec, p, ctl->env.snapshot_dir);
	if (!ret) {
		ctl->start_failed_on_config = false;
		ret = open_hal(ctl);
	}
	if (!ret) {
		saved = ctl->spec;
		ctl->spec = spec; /* add_devices builds from it */
		ret = load_vm(ctl, p, &snap);
		ret = start_vcpus(ctl, ret, !p->resume_vm);
		if (ret)
			ctl->spec = saved;
	}
	vm_snapshot_close(&snap);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Firecracker's load_snapshot latency: the load itself, not the process start. */
	if (!ret)
		log_info("snapshot %s loaded in %.1f ms (%s memory, %s)", p->snapshot_path,
			 (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6,
			 p->mem_mode == RESTORE_MEM_LAZY ? "lazy" : "copied", p->resume_vm ? "running" : "paused");
	return ret;
}

int controller_pause(struct controller *ctl)
{
	int ret;

	if (ctl->state == CONTROLLER_NOT_STARTED)
		return err_set(-EINVAL, "the microVM is not started");
	ret = vm_pause(ctl->vm);
	if (!ret)
		ctl->state = CONTROLLER_PAUSED;
	return ret;
}

int controller_resume(struct controller *ctl)
{
	if (ctl->state == CONTROLLER_NOT_STARTED)
		return err_set(-EINVAL, "the microVM is not started");
	vm_resume(ctl->vm);
	ctl->state = CONTROLLER_RUNNING;
	return 0;
}

int controller_apply_logger(struct controller *ctl, const struct spec_logger *l)
{
	struct log_options o = {
		.path = l->log_path[0] ? l->log_path : NULL,
		.level = l->level,
		.off = l->off,
		.show_level = l->show_level,
		.show_log_origin = l->show_log_origin,
		.instance_id = ctl->spec.id,
	};
	int ret = log_configure(&o);

	if (ret)
		return err_wrap(ret, "logger.log_path");
	ctl->spec.logger = *l;
	ctl->spec.logger.present = true;
	ctl->logger_configured = true;
	return 0;
}

int controller_apply_metrics(struct controller *ctl, const struct spec_metrics *m)
{
	int ret;

	if (ctl->metrics_configured)
		return err_set(-EALREADY, "Reinitialization of metrics not allowed.");
	ret = metrics_open(&ctl->metrics, m->metrics_path);
	if (ret)
		return err_wrap(ret, "metrics.metrics_path");
	ctl->spec.metrics = *m;
	ctl->spec.metrics.present = true;
	ctl->metrics_configured = true;
	return 0;
}

int controller_finish(struct controller *ctl)
{
	int code;

	if (!ctl->vm)
		return EMBER_EXIT_OK;
	/* A no-op when the guest or a signal already asked; otherwise the
	 * VMM itself is going away. */
	vm_request_exit(ctl->vm, VM_EXIT_SIGNAL, EMBER_EXIT_OK);
	vm_resume(ctl->vm);
	vm_stop_vcpus(ctl->vm);
	code = vm_wait_exit(ctl->vm);
	return code;
}

void controller_fini(struct controller *ctl)
{
	if (ctl->metrics_configured)
		metrics_flush(&ctl->metrics, ctl->vm);
	vm_destroy(ctl->vm);
	ctl->vm = NULL;
	if (ctl->owns_hal && ctl->env.hal)
		ctl->env.hal->ops->destroy(ctl->env.hal);
	ctl->env.hal = NULL;
	metrics_fini(&ctl->metrics);
}

int controller_update_drive(struct controller *ctl, const struct spec_partial_drive *p)
{
	struct spec_drive *sd = vm_spec_find_drive(&ctl->spec, p->drive_id);
	static struct spec_drive d; /* large; only the VMM thread comes here */
	struct vm_virtio *dev;
	uint64_t size;
	int fd, ret;

	if (!sd)
		return err_set(-ENOENT, "drive %s: no such drive", p->drive_id);
	/* The spec's drives were created in order, one device each. */
	dev = ctl->vm->virtio[sd - ctl->spec.drives];
	if (!p->has_path_on_host) {
		if (p->has_rate_limiter)
			sd->rate_limiter = p->rate_limiter;
		return 0;
	}
	/* The drive as it is, on its new file. */
	d = *sd;
	snprintf(d.path_on_host, sizeof(d.path_on_host), "%s", p->path_on_host);
	ret = drive_open(&d, &fd, &size);
	if (ret)
		return err_wrap(ret, "path_on_host");
	ret = blk_set_backing(dev->dev, fd, size);
	if (ret) {
		close(fd);
		return err_wrap(ret, "drive %s", p->drive_id);
	}
	snprintf(sd->path_on_host, sizeof(sd->path_on_host), "%s", p->path_on_host);
	if (p->has_rate_limiter)
		sd->rate_limiter = p->rate_limiter;
	return 0;
}
