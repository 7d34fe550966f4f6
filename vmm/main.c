/* ember: boot a Linux guest on KVM, configured by the CLI, a Firecracker
 * config file or Firecracker's API on a Unix socket. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/api.h"
#include "vmm/api_server.h"
#include "vmm/cli.h"
#include "vmm/console.h"
#include "vmm/controller.h"
#include "vmm/event_loop.h"
#include "vmm/file.h"
#include "vmm/log.h"
#include "vmm/sandbox.h"
#include "vmm/spec_json.h"
#include "vmm/test_hooks.h"
#include "vmm/version.h"
#include "vmm/vm.h"
#include "vmm/vm_devices.h"

#define CONFIG_FILE_MAX_BYTES (1U << 20)
#define METRICS_PERIOD_S 60 /* as Firecracker's periodic flush */

struct main_state {
	struct controller ctl;
	struct console con;
	struct event_loop loop;
	struct api_server *api;
	int signal_fd;
	int timer_fd;
	bool quit; /* a signal before boot */
};

/* A clean stop asked from outside the guest: a signal or the console escape. */
static void stop_requested(struct main_state *st)
{
	if (st->ctl.vm)
		vm_request_exit(st->ctl.vm, VM_EXIT_SIGNAL, EMBER_EXIT_OK);
	else
		st->quit = true;
}

static void on_signal(void *opaque, uint32_t events)
{
	struct main_state *st = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(st->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("received %s, stopping the VM", strsignal((int)si.ssi_signo));
	stop_requested(st);
}

static void on_console_escape(void *opaque)
{
	/* The terminal is still raw here: the line needs its own \r. */
	fprintf(stderr, "\r\nember: Ctrl-A x: stopping the VM\r\n");
	log_info("console escape (Ctrl-A x), stopping the VM");
	stop_requested(opaque);
}

static void on_wakeup(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;
}

static void on_metrics_timer(void *opaque, uint32_t events)
{
	struct main_state *st = opaque;
	uint64_t n;

	(void)events;
	if (read(st->timer_fd, &n, sizeof(n)) == sizeof(n) && st->ctl.metrics_configured)
		metrics_flush(&st->ctl.metrics, st->ctl.vm);
}

static void on_api(void *opaque, uint32_t events)
{
	struct main_state *st = opaque;
	struct api_request *req;

	(void)events;
	while ((req = api_server_next(st->api))) {
		struct api_reply r;

		api_handle(&st->ctl, req, &r);
		api_server_reply(st->api, req, r.status, r.json);
	}
}

static int on_vm_built(void *opaque, struct vm *vm)
{
	struct main_state *st = opaque;
	int ret = console_attach(&st->con, vm_devices_console_push, vm);

	if (!ret)
		ret = event_loop_add(&st->loop, vm->exit_fd, EPOLLIN, on_wakeup, st);
	return ret;
}

/* The last step before the guest runs: the VMM thread keeps only the
 * files and calls the running VM needs. */
static int on_vcpus_parked(void *opaque, struct vm *vm)
{
	struct main_state *st = opaque;
	int ret = sandbox_enter_vmm(&st->ctl.spec);

	(void)vm;
	if (ret)
		return ret;
	test_hooks_after_sandbox(SECCOMP_THREAD_VMM);
	return 0;
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

static int setup_metrics_timer(struct main_state *st)
{
	struct itimerspec its = { .it_interval = { METRICS_PERIOD_S, 0 },
				  .it_value = { METRICS_PERIOD_S, 0 } };

	st->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (st->timer_fd < 0)
		return err_set(-errno, "timerfd_create: %m");
	if (timerfd_settime(st->timer_fd, 0, &its, NULL))
		return err_set(-errno, "timerfd_settime: %m");
	return event_loop_add(&st->loop, st->timer_fd, EPOLLIN, on_metrics_timer, st);
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

static bool vm_done(const struct main_state *st)
{
	const struct vm *vm = st->ctl.vm;

	return vm ? vm->exit_reason != VM_EXIT_NONE : st->quit;
}

/* Serves the loop until the VM (or, before boot, the process) is asked to
 * stop. Returns the exit code. */
static int serve(struct main_state *st, const struct cli_options *opt)
{
	int code;

	while (!vm_done(st)) {
		if (event_loop_run_once(&st->loop, -1) < 0) {
			if (!st->ctl.vm)
				return EMBER_EXIT_GENERIC;
			vm_request_exit(st->ctl.vm, VM_EXIT_VCPU_ERROR, EMBER_EXIT_GENERIC);
		}
	}
	/* The guest's last output before ember's own closing lines. */
	console_flush(&st->con, CONSOLE_FINI_DRAIN_MS);
	/* No API call may run against a VM being torn down. */
	api_server_stop(st->api);
	st->api = NULL;
	code = controller_finish(&st->ctl);
	if (st->ctl.vm) {
		log_info("VM stopped: %s", vm_exit_reason_name(st->ctl.vm->exit_reason));
		if (opt->print_exit_stats)
			print_exit_stats(st->ctl.vm);
	}
	if (code == EMBER_EXIT_OK)
		err_clear();
	return code;
}

static int run(const struct cli_options *opt, const struct vm_spec *spec)
{
	static struct main_state st; /* the controller holds a large spec */
	struct controller_env env = { .open_hal = hal_kvm_open, .loop = &st.loop,
				      .on_vm_built = on_vm_built, .on_vcpus_parked = on_vcpus_parked,
				      .opaque = &st,
				      .print_startup = opt->print_startup };
	bool boot_now = opt->config_file || opt->kernel;
	int code = EMBER_EXIT_GENERIC;
	static char cwd[4096];

	/* A snapshot may name files only where snapshots are written (as
	 * Landlock lets the running VM write them). */
	env.snapshot_dir = opt->snapshot_dir ? opt->snapshot_dir : getcwd(cwd, sizeof(cwd)) ? cwd : ".";
	st.signal_fd = st.timer_fd = -1;
	if (event_loop_init(&st.loop)) {
		fprintf(stderr, "ember: %s\n", err_last());
		return EMBER_EXIT_GENERIC;
	}
	if (console_init(&st.con, &st.loop, STDIN_FILENO, STDOUT_FILENO))
		goto out_loop;
	if (opt->console_escape)
		console_set_escape(&st.con, on_console_escape, &st);
	env.console = (struct vm_console){ console_write, &st.con, console_notify_space };
	controller_init(&st.ctl, &env, spec);
	st.signal_fd = setup_signals();
	if (st.signal_fd < 0 || event_loop_add(&st.loop, st.signal_fd, EPOLLIN, on_signal, &st) ||
	    setup_metrics_timer(&st))
		goto out_ctl;
	if ((spec->logger.present && controller_apply_logger(&st.ctl, &spec->logger)) ||
	    (spec->metrics.present && controller_apply_metrics(&st.ctl, &spec->metrics))) {
		code = EMBER_EXIT_BAD_CONFIG;
		goto out_ctl;
	}
	log_info("Running ember v%s", EMBER_VERSION);
	if (opt->api_sock && !opt->no_api) {
		if (api_server_start(opt->api_sock, &st.api) ||
		    event_loop_add(&st.loop, api_server_fd(st.api), EPOLLIN, on_api, &st))
			goto out_ctl;
	}
	if (opt->restore) {
		static struct snapshot_load_params lp;

		if (cli_to_load_params(opt, &lp) || controller_snapshot_load(&st.ctl, &lp)) {
			code = st.ctl.start_failed_on_config ? EMBER_EXIT_BAD_CONFIG : EMBER_EXIT_GENERIC;
			goto out_ctl;
		}
	} else if (boot_now && controller_start(&st.ctl)) {
		code = st.ctl.start_failed_on_config ? EMBER_EXIT_BAD_CONFIG : EMBER_EXIT_GENERIC;
		goto out_ctl;
	}
	code = serve(&st, opt);
out_ctl:
	api_server_stop(st.api);
	controller_fini(&st.ctl);
	if (st.timer_fd >= 0)
		close(st.timer_fd);
	if (st.signal_fd >= 0)
		close(st.signal_fd);
	console_fini(&st.con);
out_loop:
	event_loop_fini(&st.loop);
	if (code != EMBER_EXIT_OK && code != EMBER_EXIT_VCPU_FAILURE)
		fprintf(stderr, "ember: %s\n", err_last());
	return code;
}

/* The VM's description: a Firecracker config file or the CLI shortcuts. */
static int load_spec(const struct cli_options *opt, struct vm_spec *spec)
{
	uint8_t *json;
	size_t len;
	int ret;

	vm_spec_init(spec);
	/* Paths are checked before KVM is touched, so a missing file is
	 * reported as such on any host. */
	if (!opt->config_file) {
		ret = cli_to_spec(opt, spec);
		return ret ? ret : vm_spec_check_paths(spec);
	}
	ret = file_read_all(opt->config_file, CONFIG_FILE_MAX_BYTES, &json, &len);
	if (ret)
		return err_wrap(ret, "--config-file");
	ret = spec_json_parse_config((const char *)json, len, spec);
	free(json);
	if (!ret)
		ret = cli_to_spec(opt, spec);
	if (!ret)
		ret = vm_spec_check_paths(spec);
	return ret ? err_wrap(ret, "%s", opt->config_file) : 0;
}

static int print_seccomp(const struct cli_options *opt)
{
	for (int t = 0; t < SECCOMP_THREADS; t++) {
		int ret = opt->print_seccomp == CLI_PRINT_SECCOMP_PFC
				  ? seccomp_filter_print_pfc(stdout, (enum seccomp_thread)t, opt->seccomp_level)
				  : seccomp_filter_print(stdout, (enum seccomp_thread)t, opt->seccomp_level);

		if (ret) {
			fprintf(stderr, "ember: %s\n", err_last());
			return EMBER_EXIT_GENERIC;
		}
		printf("\n");
	}
	return EMBER_EXIT_OK;
}

/* Before any input is read: the main thread's list, inherited by every
 * thread started later. */
static int start_sandbox(const struct cli_options *opt)
{
	struct sandbox_config cfg = { .seccomp_level = opt->seccomp_level, .landlock = !opt->no_landlock,
				      .snapshot_dir = opt->snapshot_dir,
				      .api_sock = opt->no_api ? NULL : opt->api_sock };

	/* With TZ set, glibc reads the zone file once, here, instead of
	 * checking it on every localtime() in a filtered thread. */
	if (!getenv("TZ"))
		setenv("TZ", ":/etc/localtime", 1);
	tzset();
	if (test_hooks_seccomp_log())
		seccomp_filter_set_default_action(SCMP_ACT_LOG);
	sandbox_configure(&cfg);
	return sandbox_enter_main();
}

int main(int argc, char **argv)
{
	static struct vm_spec spec;
	struct cli_options opt;
	struct timespec entered;

	/* Splits start-up time into the loader's part and ember's own. */
	clock_gettime(CLOCK_MONOTONIC, &entered);
	if (cli_parse(argc, argv, &opt)) {
		fprintf(stderr, "ember: %s\n", err_last());
		return EMBER_EXIT_ARG_PARSING;
	}
	if (opt.print_startup)
		fprintf(stderr, "ember: main at %lld ns\n", (long long)entered.tv_sec * 1000000000LL + entered.tv_nsec);
	if (opt.help) {
		cli_print_usage(stdout);
		return EMBER_EXIT_OK;
	}
	if (opt.version) {
		printf("ember %s\n", EMBER_VERSION);
		return EMBER_EXIT_OK;
	}
	if (opt.print_seccomp)
		return print_seccomp(&opt);
	if (opt.print_net) {
		cli_print_nets(&opt, stdout);
		return EMBER_EXIT_OK;
	}
	log_set_level(opt.log_level);
	if (start_sandbox(&opt)) {
		fprintf(stderr, "ember: %s\n", err_last());
		return EMBER_EXIT_GENERIC;
	}
	if (load_spec(&opt, &spec)) {
		fprintf(stderr, "ember: %s\n", err_last());
		return EMBER_EXIT_BAD_CONFIG;
	}
	return run(&opt, &spec);
}
