#include "vmm/cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "boot/layout.h"
#include "vmm/net_alloc.h"
#include "vmm/seccomp_filter.h"
#include "vmm/test_hooks.h"
#include "vmm/vm_spec.h"

static int parse_u64(const char *flag, const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!text[0] || text[0] == '-' || text[0] == '+')
		return err_set(-EINVAL, "%s: '%s' is not a number", flag, text);
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end)
		return err_set(-EINVAL, "%s: '%s' is not a number", flag, text);
	if (v < min || v > max)
		return err_set(-EINVAL, "%s: %llu is out of range [%llu, %llu]", flag, v,
			       (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

/* Splits "--flag=value" or takes the next argument as the value. */
static int take_value(int argc, char *const argv[], int *i, const char *flag, const char **value)
{
	const char *arg = argv[*i];
	size_t n = strlen(flag);

	if (arg[n] == '=') {
		*value = arg + n + 1;
		return 0;
	}
	if (*i + 1 >= argc)
		return err_set(-EINVAL, "%s needs a value", flag);
	*value = argv[++*i];
	return 0;
}

/* A path-like value: not empty, and bounded so it fits a vm_spec field. */
static int take_path(int argc, char *const argv[], int *i, const char *flag, const char **value)
{
	int ret = take_value(argc, argv, i, flag, value);

	if (ret)
		return ret;
	if (!(*value)[0])
		return err_set(-EINVAL, "%s: must not be empty", flag);
	if (strnlen(*value, SPEC_PATH_MAX) >= SPEC_PATH_MAX)
		return err_set(-EINVAL, "%s: longer than %d bytes", flag, SPEC_PATH_MAX - 1);
	return 0;
}

static void note_shortcut(struct cli_options *out, const char *flag)
{
	if (!out->shortcut)
		out->shortcut = flag;
}

/* --restore and its companions: the snapshot describes the whole VM, so
 * nothing that shapes one may stand beside it. */
static int check_restore(const struct cli_options *o)
{
	if (!o->restore) {
		if (o->mem_file)
			return err_set(-EINVAL, "--mem-file needs --restore (it is a snapshot's guest memory)");
		if (o->restore_mem_set)
			return err_set(-EINVAL, "--restore-mem needs --restore");
		return 0;
	}
	if (!o->mem_file)
		return err_set(-EINVAL, "--restore needs --mem-file (the guest memory written with the snapshot)");
	if (o->config_file)
		return err_set(-EINVAL, "--restore cannot be combined with --config-file (the snapshot holds the "
					"VM's configuration)");
	if (o->shortcut && !strcmp(o->shortcut, "--net"))
		return err_set(-EINVAL, "--restore cannot be combined with --net (the snapshot holds the VM's "
					"interfaces; a new TAP is PUT /snapshot/load's network_overrides)");
	if (o->shortcut)
		return err_set(-EINVAL, "--restore cannot be combined with %s (the snapshot holds the VM's "
					"configuration)", o->shortcut);
	return 0;
}

/* Which ways in are given, and that they do not contradict each other. */
static int check_combination(const struct cli_options *o)
{
	int ret = check_restore(o);

	if (ret)
		return ret;
	/* The file describes the whole VM; a shortcut beside it would leave
	 * which one wins to guesswork. */
	if (o->config_file && o->shortcut)
		return err_set(-EINVAL, "--config-file cannot be combined with %s (put it in the config file)",
			       o->shortcut);
	if (o->no_api && !o->config_file && !o->kernel && !o->restore)
		return err_set(-EINVAL, "--no-api needs --config-file, --kernel or --restore (nothing could configure "
					"the VM)");
	if (o->no_api && o->api_sock)
		return err_set(-EINVAL, "--no-api cannot be combined with --api-sock");
	if (!o->kernel && !o->config_file && !o->api_sock && !o->restore)
		return err_set(-EINVAL, "--kernel, --config-file, --restore or --api-sock is required (see --help)");
	return 0;
}

/* What the kernel takes as an interface name (dev_valid_name): 1..15
 * bytes, not "." or "..", no '/', ':' or whitespace. Control bytes are
 * refused too: the name ends up in logs and in `ip link` output. */
static int check_ifname(const char *name)
{
	size_t len = strnlen(name, NET_ALLOC_TAP_NAME_MAX);

	if (len >= NET_ALLOC_TAP_NAME_MAX)
		return err_set(-EINVAL, "--net tap=: longer than %d bytes (an interface name)",
			       NET_ALLOC_TAP_NAME_MAX - 1);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		goto bad;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= ' ' || c >= 0x7f || c == '/' || c == ':')
			goto bad;
	}
	return 0;
bad:
	return err_set(-EINVAL, "--net tap=: not a valid interface name (1-15 bytes; no '/', ':', spaces or "
				"control characters; not '.' or '..')");
}

/* Firecracker's instance ids (and so ember-jailer's) are letters, digits
 * and '-'; '_' stays accepted as ember always took it. */
static int check_instance_id(const char *id)
{
	size_t len = strnlen(id, SPEC_ID_MAX + 1);

	if (!len || len > SPEC_ID_MAX)
		return err_set(-EINVAL, "--id: must be 1 to %d characters", SPEC_ID_MAX);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_')
			return err_set(-EINVAL, "--id: '%s' may hold only letters, digits, '-' and '_'", id);
	return 0;
}

/* --vsock cid=N,uds=PATH: both keys, once each. */
static int parse_vsock(const char *text, struct spec_vsock *out)
{
	struct spec_vsock v = { .present = true };
	bool have_cid = false, have_uds = false;
	char copy[SPEC_PATH_MAX + 32], *save = NULL;
	uint64_t cid;
	int ret;

	if (out->present)
		return err_set(-EINVAL, "--vsock: given twice (one vsock device per VM)");
	if (strlen(text) >= sizeof(copy))
		return err_set(-EINVAL, "--vsock: too long");
	strcpy(copy, text);
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (!strncmp(item, "cid=", 4) && !have_cid) {
			if ((ret = parse_u64("--vsock cid=", item + 4, 3, UINT32_MAX, &cid)))
				return ret;
			v.guest_cid = (uint32_t)cid;
			have_cid = true;
		} else if (!strncmp(item, "uds=", 4) && !have_uds && item[4]) {
			/* The device binds this path and connects to PATH_<port>:
			 * leave room in sun_path for the suffix. */
			if (strlen(item + 4) > 96)
				return err_set(-EINVAL, "--vsock uds=: longer than 96 bytes (a Unix socket path)");
			strcpy(v.uds_path, item + 4);
			have_uds = true;
		} else {
			return err_set(-EINVAL, "--vsock: unexpected '%.32s' (cid=N,uds=PATH, each once)", item);
		}
	}
	if (!have_cid || !have_uds)
		return err_set(-EINVAL, "--vsock: needs cid=N (>= 3) and uds=PATH");
	*out = v;
	return 0;
}

/* One --net value's keys, pointing into a private copy of it. */
struct net_keys {
	const char *tap, *mac, *id, *subnet;
};

/* Splits "k=v,k=v" into keys; every key at most once, no empty item. */
static int split_net(char *text, struct net_keys *k)
{
	static const char *const names[] = { "tap", "mac", "id", "subnet" };
	const char **slots[] = { &k->tap, &k->mac, &k->id, &k->subnet };

	memset(k, 0, sizeof(*k));
	if (!text[0])
		return err_set(-EINVAL, "--net: must not be empty (tap=NAME or id=VMID,subnet=CIDR)");
	for (char *item = text, *next; item; item = next) {
		char *eq;
		size_t i;

		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		if (!item[0])
			return err_set(-EINVAL, "--net: an empty item between commas");
		eq = strchr(item, '=');
		if (!eq)
			return err_set(-EINVAL, "--net: '%.32s' is not key=value", item);
		*eq = '\0';
		for (i = 0; i < sizeof(names) / sizeof(names[0]) && strcmp(item, names[i]); i++)
			;
		if (i == sizeof(names) / sizeof(names[0]))
			return err_set(-EINVAL, "--net: unknown key '%.32s' (tap=, mac=, id=, subnet=)", item);
		if (*slots[i])
			return err_set(-EINVAL, "--net: %s= is given twice", names[i]);
		if (!eq[1])
			return err_set(-EINVAL, "--net %s=: must not be empty", names[i]);
		*slots[i] = eq + 1;
	}
	return 0;
}

/* id=VMID,subnet=CIDR: everything comes from the VM id, as an
 * orchestrator would compute it with the same functions. */
static int derive_net(const struct net_keys *k, struct spec_net *n)
{
	struct net_subnet sub;
	int ret;

	if (strnlen(k->id, SPEC_ID_MAX + 1) > SPEC_ID_MAX)
		return err_set(-EINVAL, "--net id=: longer than %d bytes", SPEC_ID_MAX);
	if ((ret = net_alloc_parse_cidr(k->subnet, &sub)))
		return err_wrap(ret, "--net");
	if ((ret = net_alloc_tap_name(k->id, n->host_dev_name)))
		return err_wrap(ret, "--net");
	net_alloc_mac(k->id, n->guest_mac);
	n->has_guest_mac = true;
	n->has_ip = true;
	n->ip = net_alloc_guest_ip(&sub, k->id);
	n->gateway = net_alloc_gateway(&sub);
	n->netmask = net_alloc_netmask(&sub);
	return 0;
}

static int tap_net(const struct net_keys *k, struct spec_net *n)
{
	int ret = check_ifname(k->tap);

	if (ret)
		return ret;
	snprintf(n->host_dev_name, sizeof(n->host_dev_name), "%s", k->tap);
	if (k->id) {
		if ((ret = vm_spec_check_id("--net id", k->id)))
			return ret;
		snprintf(n->iface_id, sizeof(n->iface_id), "%s", k->id);
	}
	if (k->mac) {
		if ((ret = net_alloc_mac_parse(k->mac, n->guest_mac)))
			return err_wrap(ret, "--net mac=");
		/* The I/G bit set is a group address, which no NIC can own. */
		if (n->guest_mac[0] & 1)
			return err_set(-EINVAL, "--net mac=: %.17s is a multicast address, not a NIC's own", k->mac);
		n->has_guest_mac = true;
	}
	return 0;
}

/* Refuses what vm_spec_put_net would turn into a silent replacement (the
 * same interface id) or a late failure (the same TAP or MAC). */
static int check_net_unique(const struct cli_options *o, const struct spec_net *n)
{
	for (unsigned i = 0; i < o->nr_nets; i++) {
		const struct spec_net *p = &o->nets[i];
		char mac[NET_ALLOC_MAC_STR];

		if (!strcmp(p->iface_id, n->iface_id))
			return err_set(-EINVAL, "--net: interface id %s is used twice", n->iface_id);
		if (!strcmp(p->host_dev_name, n->host_dev_name))
			return err_set(-EINVAL, "--net: TAP %s is used twice", n->host_dev_name);
		if (p->has_guest_mac && n->has_guest_mac && !memcmp(p->guest_mac, n->guest_mac, 6)) {
			net_alloc_mac_format(n->guest_mac, mac);
			return err_set(-EINVAL, "--net: MAC %s is used twice", mac);
		}
		if (p->has_ip && n->has_ip)
			return err_set(-EINVAL, "--net: only one interface can take its address from subnet= "
						"(the kernel's ip= configures one)");
	}
	return 0;
}

static int parse_net(const char *value, struct cli_options *out)
{
	char text[512];
	struct net_keys k;
	struct spec_net n;
	int ret;

	if (out->nr_nets >= SPEC_MAX_NETS)
		return err_set(-EINVAL, "--net: at most %d interfaces", SPEC_MAX_NETS);
	if (strnlen(value, sizeof(text)) >= sizeof(text))
		return err_set(-EINVAL, "--net: longer than %zu bytes", sizeof(text) - 1);
	snprintf(text, sizeof(text), "%s", value);
	if ((ret = split_net(text, &k)))
		return ret;
	if (k.tap && k.subnet)
		return err_set(-EINVAL, "--net: tap= and subnet= do not mix (subnet= derives the TAP name from id=)");
	if (k.mac && k.subnet)
		return err_set(-EINVAL, "--net: mac= and subnet= do not mix (subnet= derives the MAC from id=)");
	if (k.subnet && !k.id)
		return err_set(-EINVAL, "--net subnet=: needs id=VMID to derive the TAP name, MAC and address from");
	if (!k.tap && !k.subnet)
		return err_set(-EINVAL, "--net: needs tap= or id=,subnet= (see --help)");
	memset(&n, 0, sizeof(n));
	/* The guest names its NICs in creation order: ethN for the Nth. */
	snprintf(n.iface_id, sizeof(n.iface_id), "eth%u", out->nr_nets);
	ret = k.subnet ? derive_net(&k, &n) : tap_net(&k, &n);
	if (!ret)
		ret = check_net_unique(out, &n);
	if (ret)
		return ret;
	out->nets[out->nr_nets++] = n;
	return 0;
}

static int parse_restore_mem(const char *v, enum restore_mem *out)
{
	if (!strcmp(v, "lazy"))
		*out = RESTORE_MEM_LAZY;
	else if (!strcmp(v, "copy"))
		*out = RESTORE_MEM_COPY;
	else
		return err_set(-EINVAL, "--restore-mem: '%.32s' is not one of lazy, copy", v);
	return 0;
}

static bool flag_is(const char *arg, const char *flag)
{
	size_t n = strlen(flag);

	return strncmp(arg, flag, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

int cli_parse(int argc, char *const argv[], struct cli_options *out)
{
	memset(out, 0, sizeof(*out));
	out->mem_mib = CLI_DEFAULT_MEM_MiB;
	out->vcpus = 1;
	out->cmdline = CLI_DEFAULT_CMDLINE;
	out->seccomp_level = SECCOMP_LEVEL_ARGS;
	out->log_level = LOG_WARN;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *v = NULL;
		uint64_t n;
		int ret = 0;

#ifdef EMBER_TEST_HOOKS
		ret = test_hooks_parse(argc, argv, &i);
		if (ret < 0)
			return ret;
		if (ret == 1)
			continue;
#endif
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			out->help = true;
		} else if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
			out->version = true;
		} else if (strcmp(arg, "--print-startup") == 0) {
			out->print_startup = true;
		} else if (strcmp(arg, "--print-exit-stats") == 0) {
			out->print_exit_stats = true;
		} else if (strcmp(arg, "--console-escape") == 0) {
			out->console_escape = true;
		} else if (strcmp(arg, "--print-net") == 0) {
			out->print_net = true;
		} else if (strcmp(arg, "--rng") == 0) {
			out->rng = true;
			note_shortcut(out, "--rng");
		} else if (strcmp(arg, "--no-seccomp") == 0) {
			if (out->seccomp_level_set && out->seccomp_level != SECCOMP_LEVEL_OFF)
				ret = err_set(-EINVAL, "--no-seccomp contradicts --seccomp-level %d", out->seccomp_level);
			out->seccomp_level = SECCOMP_LEVEL_OFF;
			out->seccomp_level_set = true;
		} else if (flag_is(arg, "--seccomp-level")) {
			ret = take_value(argc, argv, &i, "--seccomp-level", &v);
			if (!ret && out->seccomp_level_set)
				ret = err_set(-EINVAL, "--seccomp-level: given twice (or with --no-seccomp)");
			if (!ret)
				ret = parse_u64("--seccomp-level", v, SECCOMP_LEVEL_OFF, SECCOMP_LEVEL_ARGS, &n);
			if (!ret) {
				out->seccomp_level = (int)n;
				out->seccomp_level_set = true;
			}
		} else if (strcmp(arg, "--no-landlock") == 0) {
			out->no_landlock = true;
		} else if (strcmp(arg, "--print-seccomp") == 0 || strcmp(arg, "--print-seccomp=table") == 0) {
			out->print_seccomp = CLI_PRINT_SECCOMP_TABLE;
		} else if (strcmp(arg, "--print-seccomp=pfc") == 0) {
			out->print_seccomp = CLI_PRINT_SECCOMP_PFC;
		} else if (flag_is(arg, "--snapshot-dir")) {
			ret = take_path(argc, argv, &i, "--snapshot-dir", &out->snapshot_dir);
		} else if (strcmp(arg, "--no-api") == 0) {
			out->no_api = true;
		} else if (strcmp(arg, "--show-level") == 0) {
			out->show_level = true;
		} else if (strcmp(arg, "--show-log-origin") == 0) {
			out->show_log_origin = true;
		} else if (flag_is(arg, "--config-file")) {
			ret = take_path(argc, argv, &i, "--config-file", &out->config_file);
		} else if (flag_is(arg, "--api-sock")) {
			ret = take_path(argc, argv, &i, "--api-sock", &out->api_sock);
			if (!ret && strlen(out->api_sock) >= sizeof(((struct sockaddr_un *)0)->sun_path))
				ret = err_set(-EINVAL, "--api-sock: longer than %zu bytes (a Unix socket path)",
					      sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		} else if (flag_is(arg, "--log-path")) {
			ret = take_path(argc, argv, &i, "--log-path", &out->log_path);
		} else if (flag_is(arg, "--restore-mem")) {
			ret = take_value(argc, argv, &i, "--restore-mem", &v);
			out->restore_mem_set = true;
			if (!ret)
				ret = parse_restore_mem(v, &out->restore_mem);
		} else if (flag_is(arg, "--restore")) {
			ret = take_path(argc, argv, &i, "--restore", &out->restore);
		} else if (flag_is(arg, "--mem-file")) {
			ret = take_path(argc, argv, &i, "--mem-file", &out->mem_file);
		} else if (flag_is(arg, "--metrics-path")) {
			ret = take_path(argc, argv, &i, "--metrics-path", &out->metrics_path);
		} else if (flag_is(arg, "--id")) {
			ret = take_value(argc, argv, &i, "--id", &out->id);
			if (!ret)
				ret = check_instance_id(out->id);
		} else if (flag_is(arg, "--drive")) {
			ret = take_value(argc, argv, &i, "--drive", &v);
			note_shortcut(out, "--drive");
			if (!ret && out->nr_drives >= CLI_MAX_DRIVES)
				ret = err_set(-EINVAL, "--drive: at most %d drives", CLI_MAX_DRIVES);
			if (!ret) {
				char id[16];

				snprintf(id, sizeof(id), "drive%u", out->nr_drives);
				ret = drive_parse(v, id, &out->drives[out->nr_drives]);
			}
			if (!ret)
				out->nr_drives++;
		} else if (flag_is(arg, "--vsock")) {
			ret = take_value(argc, argv, &i, "--vsock", &v);
			note_shortcut(out, "--vsock");
			if (!ret)
				ret = parse_vsock(v, &out->vsock);
		} else if (flag_is(arg, "--net")) {
			ret = take_value(argc, argv, &i, "--net", &v);
			note_shortcut(out, "--net");
			if (!ret)
				ret = parse_net(v, out);
		} else if (flag_is(arg, "--kernel")) {
			ret = take_value(argc, argv, &i, "--kernel", &out->kernel);
			note_shortcut(out, "--kernel");
		} else if (flag_is(arg, "--initrd")) {
			ret = take_value(argc, argv, &i, "--initrd", &out->initrd);
			note_shortcut(out, "--initrd");
		} else if (flag_is(arg, "--cpu-template")) {
			ret = take_value(argc, argv, &i, "--cpu-template", &out->cpu_template);
			note_shortcut(out, "--cpu-template");
		} else if (flag_is(arg, "--cmdline")) {
			ret = take_value(argc, argv, &i, "--cmdline", &out->cmdline);
			note_shortcut(out, "--cmdline");
			out->cmdline_set = true;
		} else if (flag_is(arg, "--mem")) {
			ret = take_value(argc, argv, &i, "--mem", &v);
			note_shortcut(out, "--mem");
			if (!ret)
				ret = parse_u64("--mem", v, LAYOUT_MEM_MIN_MiB, CLI_MAX_MEM_MiB, &out->mem_mib);
		} else if (flag_is(arg, "--vcpus")) {
			ret = take_value(argc, argv, &i, "--vcpus", &v);
			note_shortcut(out, "--vcpus");
			if (!ret)
				ret = parse_u64("--vcpus", v, 1, LAYOUT_MAX_VCPUS, &n);
			if (!ret)
				out->vcpus = (uint32_t)n;
		} else if (flag_is(arg, "--log-level")) {
			ret = take_value(argc, argv, &i, "--log-level", &v);
			out->log_level_set = true;
			if (!ret && log_level_parse(v, &out->log_level))
				ret = err_set(-EINVAL, "--log-level: '%s' is not one of Error, Warning, Info, Debug, Trace", v);
		} else {
			ret = err_set(-EINVAL, "unknown argument '%s' (see --help)", arg);
		}
		if (ret)
			return ret;
	}
	if (out->help || out->version || out->print_seccomp || out->print_net)
		return 0;
	return check_combination(out);
}

void cli_print_nets(const struct cli_options *opt, FILE *f)
{
	for (unsigned i = 0; i < opt->nr_nets && i < SPEC_MAX_NETS; i++) {
		const struct spec_net *n = &opt->nets[i];
		char mac[NET_ALLOC_MAC_STR], ip[16], gw[16], mask[16];

		net_alloc_mac_format(n->guest_mac, mac);
		/* A TAP name is ours to quote: single quotes, each ' as '\''. */
		fprintf(f, "iface=%s tap='", n->iface_id);
		for (const char *c = n->host_dev_name; *c; c++)
			fputs(*c == '\'' ? "'\\''" : (char[2]){ *c, 0 }, f);
		fprintf(f, "' mac=%s", n->has_guest_mac ? mac : "");
		if (n->has_ip) {
			net_alloc_ip_format(n->ip, ip);
			net_alloc_ip_format(n->gateway, gw);
			net_alloc_ip_format(n->netmask, mask);
			fprintf(f, " guest=%s gateway=%s netmask=%s prefix=%d", ip, gw, mask,
				__builtin_popcount(n->netmask));
		}
		fputc('\n', f);
	}
}

/* Copies a CLI value into a bounded spec field. */
static int copy_field(const char *flag, const char *value, char *dst, size_t size)
{
	size_t len = strnlen(value, size);

	if (len >= size)
		return err_set(-EINVAL, "%s: longer than %zu bytes", flag, size - 1);
	memcpy(dst, value, len + 1);
	return 0;
}

static int shortcuts_to_spec(const struct cli_options *opt, struct vm_spec *spec)
{
	int ret;

	if (opt->kernel) {
		spec->boot.present = true;
		if ((ret = copy_field("--kernel", opt->kernel, spec->boot.kernel_image_path,
				      sizeof(spec->boot.kernel_image_path))))
			return ret;
	}
	if (opt->initrd && (ret = copy_field("--initrd", opt->initrd, spec->boot.initrd_path,
					     sizeof(spec->boot.initrd_path))))
		return ret;
	if (opt->cmdline_set) {
		if ((ret = copy_field("--cmdline", opt->cmdline, spec->boot.boot_args, sizeof(spec->boot.boot_args))))
			return ret;
		spec->boot.has_boot_args = true;
	}
	if (opt->cpu_template && (ret = copy_field("--cpu-template", opt->cpu_template,
						   spec->machine.cpu_template_path,
						   sizeof(spec->machine.cpu_template_path))))
		return ret;
	spec->machine.mem_size_mib = opt->mem_mib;
	spec->machine.vcpu_count = opt->vcpus;
	for (unsigned i = 0; i < opt->nr_drives && i < CLI_MAX_DRIVES; i++)
		if ((ret = vm_spec_put_drive(spec, &opt->drives[i])))
			return err_wrap(ret, "--drive path=%s", opt->drives[i].path_on_host);
	for (unsigned i = 0; i < opt->nr_nets && i < SPEC_MAX_NETS; i++)
		if ((ret = vm_spec_put_net(spec, &opt->nets[i])))
			return err_wrap(ret, "--net %s", opt->nets[i].host_dev_name);
	if (opt->rng)
		spec->entropy.present = true;
	if (opt->vsock.present)
		spec->vsock = opt->vsock;
	return 0;
}

int cli_to_spec(const struct cli_options *opt, struct vm_spec *spec)
{
	struct spec_logger *l = &spec->logger;
	int ret;

	if (!opt->config_file && (ret = shortcuts_to_spec(opt, spec)))
		return ret;
	if (opt->id && (ret = copy_field("--id", opt->id, spec->id, sizeof(spec->id))))
		return ret;
	if (opt->log_path || opt->show_level || opt->show_log_origin || opt->log_level_set) {
		/* The CLI's level is the default only for a logger the config
		 * file did not set up. */
		if (opt->log_level_set || !l->present) {
			l->level = opt->log_level;
			l->off = false;
		}
		l->present = true;
		if (opt->log_path && (ret = copy_field("--log-path", opt->log_path, l->log_path, sizeof(l->log_path))))
			return ret;
		l->show_level |= opt->show_level;
		l->show_log_origin |= opt->show_log_origin;
	}
	if (opt->metrics_path) {
		spec->metrics.present = true;
		if ((ret = copy_field("--metrics-path", opt->metrics_path, spec->metrics.metrics_path,
				      sizeof(spec->metrics.metrics_path))))
			return ret;
	}
	return 0;
}

int cli_to_load_params(const struct cli_options *opt, struct snapshot_load_params *out)
{
	struct snapshot_load_params p;
	int ret;

	if (!opt->restore || !opt->mem_file)
		return err_set(-EINVAL, "no --restore and --mem-file to load a snapshot from");
	memset(&p, 0, sizeof(p));
	if ((ret = copy_field("--restore", opt->restore, p.snapshot_path, sizeof(p.snapshot_path))) ||
	    (ret = copy_field("--mem-file", opt->mem_file, p.mem_file_path, sizeof(p.mem_file_path))))
		return ret;
	p.resume_vm = true;
	p.mem_mode = opt->restore_mem;
	*out = p;
	return 0;
}

void cli_print_usage(FILE *f)
{
	fprintf(f,
		"usage: ember --kernel PATH [options]\n"
		"       ember --config-file FILE [--no-api | --api-sock PATH] [options]\n"
		"       ember --api-sock PATH [options]\n"
		"       ember --restore SNAPSHOT --mem-file FILE [--api-sock PATH | --no-api] [options]\n"
		"\n"
		"Boots a Linux guest on KVM: an ELF vmlinux (PVH entry, or its 64-bit entry)\n"
		"or a bzImage (Linux 64-bit boot protocol). The guest's COM1 is this terminal.\n"
		"The VM comes from the shortcuts below, a Firecracker config file,\n"
		"Firecracker's API on a Unix socket, or a snapshot.\n"
		"\n"
		"  --config-file FILE   Firecracker JSON config (boot-source, drives,\n"
		"                       machine-config, ...); not with the VM shortcuts\n"
		"  --api-sock PATH      serve Firecracker's REST API on this Unix socket\n"
		"  --no-api             boot from --config-file or --kernel with no API\n"
		"  --id ID              instance id (letters, digits, _; default %s)\n"
		"  --log-path PATH      write the log to this file or named pipe\n"
		"  --show-level         put the level in each log line\n"
		"  --show-log-origin    put the source file and line in each log line\n"
		"  --metrics-path PATH  write metrics (JSON lines) to this file or pipe\n"
		"\n"
		"Restoring a snapshot (written by PUT /snapshot/create):\n"
		"  --restore SNAPSHOT   the VM state file; the VM runs at once, configured as\n"
		"                       it was; not with --config-file or the VM shortcuts\n"
		"  --mem-file FILE      its guest memory file (required with --restore)\n"
		"  --restore-mem lazy|copy\n"
		"                       lazy (default): map the file privately, each page read\n"
		"                       on first touch; copy: read it all before the vCPUs run\n"
		"\n"
		"VM shortcuts:\n"
		"  --kernel PATH        kernel image (ELF vmlinux or bzImage)\n"
		"  --initrd PATH        initial ramdisk\n"
		"  --cmdline STR        kernel command line\n"
		"                       (default: \"%s\")\n"
		"  --mem MiB            guest memory, %llu..%llu (default %d)\n"
		"  --vcpus N            virtual CPUs, 1..%d (default 1)\n"
		"  --cpu-template PATH  CPUID/MSR bit masks, Firecracker custom-template JSON\n"
		"  --drive path=FILE[,ro=on|off][,id=NAME]\n"
		"                       a virtio-blk disk (repeatable: vda, vdb, ...); the file\n"
		"                       is locked, so no second VMM can write it; ro=on refuses\n"
		"                       guest writes; NAME (<= 20 chars: letters, digits, _)\n"
		"                       answers GET_ID and is the API's drive_id\n"
		"  --rng                a virtio-rng device fed by the host's getrandom()\n"
		"  --vsock cid=N,uds=PATH\n"
		"                       a virtio-vsock device with guest CID N (>= 3); host\n"
		"                       programs connect to PATH and send \"CONNECT <port>\\n\";\n"
		"                       guest connections to host port P go to PATH_P\n"
		"  --net tap=NAME[,mac=aa:bb:cc:dd:ee:ff][,id=IFACE]\n"
		"                       a virtio-net NIC on the TAP NAME (opened, or created if\n"
		"                       ember may); IFACE is the API's iface_id (default ethN\n"
		"                       for the Nth --net); repeatable up to %d\n"
		"  --net id=VMID,subnet=CIDR\n"
		"                       a NIC whose TAP name (tap-<8 hex digits>), MAC and\n"
		"                       address in CIDR (a.b.c.d/n, n <= 30) all derive from\n"
		"                       VMID; the guest gets ip=<addr>::<a.b.c.d+1>:<mask>::ethN:off\n"
		"                       on its command line (one such --net)\n"
		"\n"
		"Hardening (on by default; see README, Security):\n"
		"  --seccomp-level N    0: no filter, 1: syscall numbers only, 2: numbers and\n"
		"                       arguments (default)\n"
		"  --no-seccomp         --seccomp-level 0, for debugging\n"
		"  --print-seccomp[=table|pfc]\n"
		"                       print each thread's filter at the chosen level and exit\n"
		"                       (pfc: libseccomp's pseudo filter code)\n"
		"  --no-landlock        do not restrict file access once the guest runs\n"
		"  --snapshot-dir DIR   the directory snapshots may be written to once the guest\n"
		"                       runs, and the only one a loaded snapshot may name files\n"
		"                       in (default: the working directory)\n"
		"\n"
		"  --log-level LEVEL    Error, Warning, Info, Debug or Trace (default Warning)\n"
		"  --print-exit-stats   print VM exits by reason when the VM stops\n"
		"  --print-startup      print the monotonic time of the first KVM_RUN\n"
		"  --print-net          print each --net's TAP, MAC and addresses as shell\n"
		"                       assignments (for the host's set-up) and exit\n"
		"  --console-escape     Ctrl-A x on the console stops the VM as SIGTERM does\n"
		"                       (Ctrl-A a types a Ctrl-A)\n"
		"  --help, --version\n"
		"\n"
		"Exit status: 0 when the guest powers off, reboots or halts, or on SIGTERM;\n"
		"1 on a VMM error; 2 on a vCPU failure (registers are printed);\n"
		"3 when the guest kernel reports a panic (pvpanic);\n"
		"78 for a bad configuration (kernel, initrd); 64 for bad arguments.\n",
		SPEC_DEFAULT_ID, CLI_DEFAULT_CMDLINE, LAYOUT_MEM_MIN_MiB, CLI_MAX_MEM_MiB, CLI_DEFAULT_MEM_MiB,
		LAYOUT_MAX_VCPUS, SPEC_MAX_NETS);
}
