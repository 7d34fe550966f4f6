/* ember: boot a Linux guest on KVM. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/console.h"
#include "vmm/event_loop.h"
#include "vmm/file.h"
#include "vmm/log.h"
#include "vmm/vm.h"
#include "vmm/vm_devices.h"
#include "vmm/vm_virtio.h"

#define EMBER_VERSION "0.1.0"
#define KERNEL_MAX_BYTES (1ULL << 30)
#define INITRD_MAX_BYTES (2ULL << 30)

struct main_state {
	struct vm *vm;
	int signal_fd;
};

static void on_signal(void *opaque, uint32_t events)
{
	struct main_state *st = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(st->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("received %s, stopping the VM", strsignal((int)si.ssi_signo));
	vm_request_exit(st->vm, VM_EXIT_SIGNAL, EMBER_EXIT_OK);
}

static void on_vm_exit(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;
}

static int setup_signals(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so only the signalfd sees them. */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return err_set(-EINVAL, "cannot block signals");
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return err_set(-errno, "signalfd: %m");
	return fd;
}

static void print_exit_stats(const struct vm *vm)
{
	uint64_t counts[HAL_EXIT_UNKNOWN + 1];
	struct exit_sites sites;
	char where[512];
	struct rusage ru;
	uint64_t resident;

	vm_exit_counts(vm, counts);
	fprintf(stderr, "ember: vm exits:");
	for (unsigned r = HAL_EXIT_IO; r <= HAL_EXIT_UNKNOWN; r++)
		if (counts[r])
			fprintf(stderr, " %s=%llu", hal_exit_reason_name((enum hal_exit_reason)r),
				(unsigned long long)counts[r]);
	fprintf(stderr, "\n");
	vm_exit_sites(vm, &sites);
	exit_sites_format(&sites, 8, where, sizeof(where));
	fprintf(stderr, "ember: vm exits by site: %s\n", where);
	if (vm_guest_resident(vm, &resident) == 0 && getrusage(RUSAGE_SELF, &ru) == 0)
		fprintf(stderr, "ember: peak RSS KiB=%ld, guest resident KiB=%llu\n", ru.ru_maxrss,
			(unsigned long long)(resident >> 10));
}

/* Reads the kernel and initrd before any KVM work, so a bad path is
 * reported as such on any machine. */
static int read_images(const struct cli_options *opt, struct boot_config *boot)
{
	uint8_t *kernel = NULL, *initrd = NULL;
	int ret;

	*boot = (struct boot_config){ .cmdline = opt->cmdline, .nr_vcpus = opt->vcpus };
	ret = file_read_all(opt->kernel, KERNEL_MAX_BYTES, &kernel, &boot->kernel_len);
	if (!ret && opt->initrd)
		ret = file_read_all(opt->initrd, INITRD_MAX_BYTES, &initrd, &boot->initrd_len);
	if (ret) {
		free(kernel);
		return ret;
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

static int run(const struct cli_options *opt)
{
	static struct cpu_template tpl;
	struct main_state st = { .signal_fd = -1 };
	struct event_loop loop;
	struct console con;
	struct hal *hal = NULL;
	struct vm_config cfg = { .mem_mib = opt->mem_mib, .nr_vcpus = opt->vcpus };
	struct boot_config boot;
	int code = EMBER_EXIT_GENERIC;
	int ret;

	if ((opt->cpu_template && read_cpu_template(opt->cpu_template, &tpl)) || read_images(opt, &boot)) {
		fprintf(stderr, "ember: %s\n", err_last());
		return EMBER_EXIT_BAD_CONFIG;
	}
	if (event_loop_init(&loop)) {
		fprintf(stderr, "ember: %s\n", err_last());
		free_images(&boot);
		return EMBER_EXIT_GENERIC;
	}
	if (console_init(&con, &loop, STDIN_FILENO, STDOUT_FILENO))
		goto out_loop;
	st.signal_fd = setup_signals();
	if (st.signal_fd < 0)
		goto out_console;
	cfg.console = (struct vm_console){ console_write, &con, console_notify_space };
	ret = hal_kvm_open(&hal);
	if (ret)
		goto out_signals;
	ret = vm_create(hal, &cfg, &st.vm);
	if (ret)
		goto out_hal;
	for (unsigned i = 0; i < opt->nr_drives && !ret; i++)
		ret = vm_virtio_add_blk(st.vm, &opt->drives[i]);
	if (!ret && opt->rng)
		ret = vm_virtio_add_rng(st.vm);
	if (ret) {
		code = EMBER_EXIT_BAD_CONFIG;
		goto out_vm;
	}
	st.vm->print_startup = opt->print_startup;
	st.vm->cpu_template = opt->cpu_template ? &tpl : NULL;
	ret = vm_load_kernel(st.vm, &boot);
	free_images(&boot);
	if (ret) {
		code = EMBER_EXIT_BAD_CONFIG;
		goto out_vm;
	}
	ret = console_attach(&con, vm_devices_console_push, st.vm);
	if (!ret)
		ret = vm_virtio_attach(st.vm, &loop);
	if (!ret)
		ret = event_loop_add(&loop, st.signal_fd, EPOLLIN, on_signal, &st);
	if (!ret)
		ret = event_loop_add(&loop, st.vm->exit_fd, EPOLLIN, on_vm_exit, &st);
	if (!ret)
		ret = vm_start(st.vm);
	if (ret)
		goto out_vm;
	while (st.vm->exit_reason == VM_EXIT_NONE) {
		ret = event_loop_run_once(&loop, -1);
		if (ret < 0) {
			vm_request_exit(st.vm, VM_EXIT_VCPU_ERROR, EMBER_EXIT_GENERIC);
			break;
		}
	}
	vm_stop_vcpus(st.vm);
	code = vm_wait_exit(st.vm);
	log_info("VM stopped: %s", vm_exit_reason_name(st.vm->exit_reason));
	if (opt->print_exit_stats)
		print_exit_stats(st.vm);
	err_clear();
out_vm:
	vm_destroy(st.vm);
out_hal:
	if (hal)
		hal->ops->destroy(hal);
out_signals:
	if (st.signal_fd >= 0)
		close(st.signal_fd);
out_console:
	console_fini(&con);
out_loop:
	event_loop_fini(&loop);
	free_images(&boot);
	if (code != EMBER_EXIT_OK && code != EMBER_EXIT_VCPU_FAILURE)
		fprintf(stderr, "ember: %s\n", err_last());
	return code;
}

int main(int argc, char **argv)
{
	struct cli_options opt;

	if (cli_parse(argc, argv, &opt)) {
		fprintf(stderr, "ember: %s\n", err_last());
		return EMBER_EXIT_ARG_PARSING;
	}
	if (opt.help) {
		cli_print_usage(stdout);
		return EMBER_EXIT_OK;
	}
	if (opt.version) {
		printf("ember %s\n", EMBER_VERSION);
		return EMBER_EXIT_OK;
	}
	log_set_level(opt.log_level);
	return run(&opt);
}
