/* One parser per Firecracker schema object. Each fills a zeroed local and
 * copies it out only when every field passed, so a bad body changes
 * nothing. */
#include "vmm/spec_json.h"
#include "vmm/net_alloc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "boot/layout.h"
#include "vmm/spec_json_field.h"

int spec_json_load(const char *text, size_t len, json_t **out)
{
	json_error_t e;
	json_t *j;

	*out = NULL;
	if (len > SPEC_JSON_MAX_TEXT)
		return err_set(-E2BIG, "JSON text of %zu bytes is larger than %u", len, SPEC_JSON_MAX_TEXT);
	/* NULs are let through the decoder so that the field readers can name
	 * the key that holds one; keys with NULs are refused there too. */
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
	if (!j)
		return err_set(-EINVAL, "invalid JSON at line %d, column %d: %s", e.line, e.column, e.text);
	*out = j;
	return 0;
}

static int parse_bucket(json_t *j, const char *path, struct spec_token_bucket *out)
{
	static const char *const keys[] = { "size", "one_time_burst", "refill_time", NULL };
	struct spec_token_bucket b = { .present = true };
	int ret = jf_check_object(j, path, keys);

	if (ret < 0 || (ret = jf_u64(j, path, "size", JF_REQUIRED, 0, INT64_MAX, &b.size)) < 0 ||
	    (ret = jf_u64(j, path, "one_time_burst", 0, 0, INT64_MAX, &b.one_time_burst)) < 0 ||
	    (ret = jf_u64(j, path, "refill_time", JF_REQUIRED, 0, INT64_MAX, &b.refill_time_ms)) < 0)
		return ret;
	*out = b;
	return 0;
}

int spec_json_parse_rate_limiter(json_t *j, const char *path, struct spec_rate_limiter *out)
{
	static const char *const keys[] = { "bandwidth", "ops", NULL };
	struct spec_rate_limiter rl;
	char at[JF_PATH_MAX];
	json_t *v;
	int ret = jf_check_object(j, path, keys);

	if (ret)
		return ret;
	memset(&rl, 0, sizeof(rl));
	rl.present = true;
	if ((v = jf_get(j, "bandwidth"))) {
		jf_join(at, sizeof(at), path, "bandwidth");
		if ((ret = parse_bucket(v, at, &rl.bandwidth)))
			return ret;
	}
	if ((v = jf_get(j, "ops"))) {
		jf_join(at, sizeof(at), path, "ops");
		if ((ret = parse_bucket(v, at, &rl.ops)))
			return ret;
	}
	*out = rl;
	return 0;
}

/* An optional rate limiter under key: 1 when set, 0 when absent. */
static int opt_rate_limiter(json_t *obj, const char *path, const char *key, struct spec_rate_limiter *out)
{
	char at[JF_PATH_MAX];
	json_t *v = jf_get(obj, key);
	int ret;

	if (!v)
		return 0;
	jf_join(at, sizeof(at), path, key);
	ret = spec_json_parse_rate_limiter(v, at, out);
	return ret ? ret : 1;
}

int spec_json_parse_boot_source(json_t *j, const char *path, struct spec_boot_source *out)
{
	static const char *const keys[] = { "kernel_image_path", "boot_args", "initrd_path", NULL };
	struct spec_boot_source b;
	int ret = jf_check_object(j, path, keys);

	if (ret)
		return ret;
	memset(&b, 0, sizeof(b));
	b.present = true;
	if ((ret = jf_string(j, path, "kernel_image_path", JF_REQUIRED | JF_NONEMPTY, b.kernel_image_path,
			     sizeof(b.kernel_image_path))) < 0 ||
	    (ret = jf_string(j, path, "initrd_path", 0, b.initrd_path, sizeof(b.initrd_path))) < 0 ||
	    (ret = jf_string(j, path, "boot_args", 0, b.boot_args, sizeof(b.boot_args))) < 0)
		return ret;
	b.has_boot_args = ret == 1;
	*out = b;
	return 0;
}

static const char *const cpu_templates[] = { "None", "C3", "T2", "T2S", "T2CL", "T2A", "V1N1", NULL };
static const char *const huge_pages_names[] = { "None", "2M", "Transparent", NULL };

/* Fields present in j are applied onto *m; `flags` makes the two sizes
 * required (PUT) or optional (PATCH). */
static int apply_machine(json_t *j, const char *path, unsigned flags, struct spec_machine *out)
{
	static const char *const keys[] = { "vcpu_count", "mem_size_mib", "smt", "track_dirty_pages",
					    "cpu_template", "huge_pages", NULL };
	struct spec_machine m = *out;
	char at[JF_PATH_MAX];
	uint64_t n;
	unsigned e;
	int ret = jf_check_object(j, path, keys);

	if (ret)
		return ret;
	if ((ret = jf_u64(j, path, "vcpu_count", flags, 1, SPEC_MAX_VCPUS, &n)) < 0)
		return ret;
	if (ret)
		m.vcpu_count = (uint32_t)n;
	if ((ret = jf_u64(j, path, "mem_size_mib", flags, LAYOUT_MEM_MIN_MiB, SPEC_MAX_MEM_MiB, &m.mem_size_mib)) < 0 ||
	    (ret = jf_bool(j, path, "smt", 0, &m.smt)) < 0 ||
	    (ret = jf_bool(j, path, "track_dirty_pages", 0, &m.track_dirty_pages)) < 0 ||
	    (ret = jf_enum(j, path, "cpu_template", 0, cpu_templates, &e)) < 0)
		return ret;
	if (ret) {
		jf_join(at, sizeof(at), path, "cpu_template");
		if (e)
			return err_set(-EINVAL, "%s: static CPU template %s is not supported by ember (use None, or a "
				       "custom template with --cpu-template)", at, cpu_templates[e]);
		snprintf(m.cpu_template, sizeof(m.cpu_template), "None");
	}
	if ((ret = jf_enum(j, path, "huge_pages", 0, huge_pages_names, &e)) < 0)
		return ret;
	if (ret) {
		jf_join(at, sizeof(at), path, "huge_pages");
		if (e == 2)
			return err_set(-EINVAL, "%s: Transparent huge pages are not supported by ember (None or 2M)", at);
		m.huge_pages = e ? SPEC_HUGE_PAGES_2M : SPEC_HUGE_PAGES_NONE;
	}
	/* Firecracker refuses these at PUT time, not only at boot. */
	if (m.smt && m.vcpu_count > 1 && m.vcpu_count % 2) {
		jf_join(at, sizeof(at), path, "vcpu_count");
		return err_set(-EINVAL, "%s: with smt the count must be 1 or even, not %u", at, m.vcpu_count);
	}
	if (m.huge_pages == SPEC_HUGE_PAGES_2M && m.mem_size_mib % 2) {
		jf_join(at, sizeof(at), path, "mem_size_mib");
		return err_set(-EINVAL, "%s: 2M huge pages need an even size, not %llu", at,
			       (unsigned long long)m.mem_size_mib);
	}
	*out = m;
	return 0;
}

int spec_json_parse_machine(json_t *j, const char *path, struct spec_machine *m)
{
	struct spec_machine fresh;
	int ret;

	memset(&fresh, 0, sizeof(fresh));
	fresh.vcpu_count = SPEC_DEFAULT_VCPUS;
	fresh.mem_size_mib = SPEC_DEFAULT_MEM_MiB;
	snprintf(fresh.cpu_template, sizeof(fresh.cpu_template), "None");
	memcpy(fresh.cpu_template_path, m->cpu_template_path, sizeof(fresh.cpu_template_path));
	if ((ret = apply_machine(j, path, JF_REQUIRED, &fresh)))
		return ret;
	*m = fresh;
	return 0;
}

int spec_json_patch_machine(json_t *j, const char *path, struct spec_machine *m)
{
	return apply_machine(j, path, 0, m);
}

static int parse_id(json_t *j, const char *path, const char *key, char *out)
{
	char at[JF_PATH_MAX];
	int ret = jf_string(j, path, key, JF_REQUIRED, out, SPEC_ID_MAX + 1);

	if (ret < 0)
		return ret;
	jf_join(at, sizeof(at), path, key);
	return vm_spec_check_id(at, out);
}

/* PARTUUID ends up on the kernel command line: no spaces or quotes that
 * could add parameters of their own. */
static int check_partuuid(const char *path, const char *s)
{
	char at[JF_PATH_MAX];

	for (const char *p = s; *p; p++) {
		if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-' ||
		    *p == '/' || *p == '=')
			continue;
		jf_join(at, sizeof(at), path, "partuuid");
		return err_set(-EINVAL, "%s: '%s' may hold only letters, digits, '-', '/' and '='", at, s);
	}
	return 0;
}

int spec_json_parse_drive(json_t *j, const char *path, struct spec_drive *out)
{
	static const char *const keys[] = { "drive_id", "path_on_host", "is_root_device", "is_read_only", "partuuid",
					    "cache_type", "io_engine", "rate_limiter", "socket", NULL };
	static const char *const caches[] = { "Unsafe", "Writeback", NULL };
	static const char *const engines[] = { "Sync", "Async", NULL };
	struct spec_drive d;
	char at[JF_PATH_MAX];
	unsigned e;
	int ret = jf_check_object(j, path, keys);

	if (ret)
		return ret;
	if (jf_get(j, "socket")) {
		jf_join(at, sizeof(at), path, "socket");
		return err_set(-EINVAL, "%s: vhost-user block devices are not supported by ember", at);
	}
	memset(&d, 0, sizeof(d));
	if ((ret = parse_id(j, path, "drive_id", d.drive_id)) < 0 ||
	    (ret = jf_bool(j, path, "is_root_device", JF_REQUIRED, &d.is_root_device)) < 0 ||
	    (ret = jf_string(j, path, "path_on_host", JF_REQUIRED | JF_NONEMPTY, d.path_on_host,
			     sizeof(d.path_on_host))) < 0 ||
	    (ret = jf_bool(j, path, "is_read_only", 0, &d.is_read_only)) < 0 ||
	    (ret = jf_string(j, path, "partuuid", 0, d.partuuid, sizeof(d.partuuid))) < 0 ||
	    (ret = check_partuuid(path, d.partuuid)) < 0 ||
	    (ret = opt_rate_limiter(j, path, "rate_limiter", &d.rate_limiter)) < 0)
		return ret;
	e = SPEC_CACHE_UNSAFE;
	if ((ret = jf_enum(j, path, "cache_type", 0, caches, &e)) < 0)
		return ret;
	d.cache_type = e ? SPEC_CACHE_WRITEBACK : SPEC_CACHE_UNSAFE;
	e = SPEC_IO_SYNC;
	if ((ret = jf_enum(j, path, "io_engine", 0, engines, &e)) < 0)
		return ret;
	d.io_engine = e ? SPEC_IO_ASYNC : SPEC_IO_SYNC;
	*out = d;
	return 0;
}

int spec_json_parse_partial_drive(json_t *j, const char *path, struct spec_partial_drive *out)
{
	static const char *const keys[] = { "drive_id", "path_on_host", "rate_limiter", NULL };
	struct spec_partial_drive d;
	int ret = jf_check_object(j, path, keys);

	if (ret)
		return ret;
	memset(&d, 0, sizeof(d));
	if ((ret = parse_id(j, path, "drive_id", d.drive_id)) < 0 ||
	    (ret = jf_string(j, path, "path_on_host", JF_NONEMPTY, d.path_on_host, sizeof(d.path_on_host))) < 0)
		return ret;
	d.has_path_on_host = ret == 1;
	if ((ret = opt_rate_limiter(j, path, "rate_limiter", &d.rate_limiter)) < 0)
		return ret;
	d.has_rate_limiter = ret == 1;
	*out = d;
	return 0;
}

static int parse_mac(const char *at, const char *s, uint8_t mac[6])
{
	int ret = net_alloc_mac_parse(s, mac);

	if (ret)
		return err_wrap(ret, "%s", at);
	if (mac[0] & 1)
		return err_set(-EINVAL, "%s: %s is a multicast address", at, s);
	return 0;
}

/* The kernel's rule for interface names (dev_valid_name). */
static int check_ifname(const char *at, const char *s)
{
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return err_set(-EINVAL, "%s: '%s' is not a valid interface name", at, s);
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == ':' || *p <= ' ' || *p == 0x7f)
			return err_set(-EINVAL, "%s: '%s' is not a valid interface name", at, s);
	return 0;
}

int spec_json_parse_net(json_t *j, const char *path, struct spec_net *out)
{
	static const char *const keys[] = { "iface_id", "host_dev_name", "guest_mac", "mtu", "rx_rate_limiter",
					    "tx_rate_limiter", NULL };
	struct spec_net n;
	char at[JF_PATH_MAX], mac[32];
	uint64_t mtu;
	int ret = jf_check_object(j, path, keys);

	if (ret)
		return ret;
	memset(&n, 0, sizeof(n));
	jf_join(at, sizeof(at), path, "host_dev_name");
	if ((ret = parse_id(j, path, "iface_id", n.iface_id)) < 0 ||
	    (ret = jf_string(j, path, "host_dev_name", JF_REQUIRED | JF_NONEMPTY, n.host_dev_name,
			     sizeof(n.host_dev_name))) < 0 ||
	    (ret = check_ifname(at, n.host_dev_name)) < 0 ||
	    (ret = jf_string(j, path, "guest_mac", 0, mac, sizeof(mac))) < 0)
		return ret;
	if (ret == 1) {
		jf_join(at, sizeof(at), path, "guest_mac");
		if ((ret = parse_mac(at, mac, n.guest_mac)))
			return ret;
		n.has_guest_mac = true;
	}
	if ((ret = jf_u64(j, path, "mtu", 0, 68, 65535, &mtu)) < 0)
		return ret;
	n.mtu = ret ? (uint32_t)mtu : 0;
	if ((ret = opt_rate_limiter(j, path, "rx_rate_limiter", &n.rx_rate_limiter)) < 0 ||
	    (ret = opt_rate_limiter(j, path, "tx_rate_limiter", &n.tx_rate_limiter)) < 0)
		return ret;
	*out = n;
	return 0;
}

int spec_json_parse_partial_net(json_t *j, const char *path, struct spec_partial_net *out)
{
	static const char *const keys[] = { "iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL };
	struct spec_partial_net n;
	int ret = jf_check_object(j, path, keys);

	if (ret)
		return ret;
	memset(&n, 0, sizeof(n));
	if ((ret = parse_id(j, path, "iface_id", n.iface_id)) < 0 ||
	    (ret = opt_rate_limiter(j, path, "rx_rate_limiter", &n.rx_rate_limiter)) < 0)
		return ret;
	n.has_rx_rate_limiter = ret == 1;
	if ((ret = opt_rate_limiter(j, path, "tx_rate_limiter", &n.tx_rate_limiter)) < 0)
		return ret;
	n.has_tx_rate_limiter = ret == 1;
	*out = n;
	return 0;
}

int spec_json_parse_vsock(json_t *j, const char *path, struct spec_vsock *out)
{
	static const char *const keys[] = { "guest_cid", "uds_path", "vsock_id", NULL };
	struct spec_vsock v;
	char at[JF_PATH_MAX];
	uint64_t cid;
	int ret = jf_check_object(j, path, keys);

	if (ret)
		return ret;
	memset(&v, 0, sizeof(v));
	v.present = true;
	if ((ret = jf_u64(j, path, "guest_cid", JF_REQUIRED, 3, UINT32_MAX, &cid)) < 0 ||
	    (ret = jf_string(j, path, "uds_path", JF_REQUIRED | JF_NONEMPTY, v.uds_path, sizeof(v.uds_path))) < 0 ||
	    (ret = jf_string(j, path, "vsock_id", 0, v.vsock_id, sizeof(v.vsock_id))) < 0)
		return ret;
	jf_join(at, sizeof(at), path, "vsock_id");
	if (ret == 1 && (ret = vm_spec_check_id(at, v.vsock_id)))
		return ret;
	v.guest_cid = (uint32_t)cid;
	*out = v;
	return 0;
}

int spec_json_parse_logger(json_t *j, const char *path, struct spec_logger *out)
{
	static const char *const keys[] = { "log_path", "level", "show_level", "show_log_origin", "module", NULL };
	struct spec_logger l;
	char at[JF_PATH_MAX], level[16];
	int ret = jf_check_object(j, path, keys);

	if (ret)
		return ret;
	memset(&l, 0, sizeof(l));
	l.present = true;
	l.level = LOG_INFO;
	jf_join(at, sizeof(at), path, "level");
	if ((ret = jf_string(j, path, "log_path", JF_NONEMPTY, l.log_path, sizeof(l.log_path))) < 0 ||
	    (ret = jf_bool(j, path, "show_level", 0, &l.show_level)) < 0 ||
	    (ret = jf_bool(j, path, "show_log_origin", 0, &l.show_log_origin)) < 0 ||
	    (ret = jf_string(j, path, "module", 0, l.module, sizeof(l.module))) < 0)
		return ret;
	ret = jf_string(j, path, "level", 0, level, sizeof(level));
	if (ret == -EINVAL && strstr(err_last(), "longer than"))
		ret = err_set(-EINVAL, "%s: not one of Error, Warning, Info, Debug, Trace, Off", at);
	if (ret < 0)
		return ret;
	if (ret == 1) {
		if (!strcasecmp(level, "off"))
			l.off = true;
		else if (log_level_parse(level, &l.level))
			return err_set(-EINVAL, "%s: '%s' is not one of Error, Warning, Info, Debug, Trace, Off", at,
				       level);
	}
	*out = l;
	return 0;
}

int spec_json_parse_metrics(json_t *j, const char *path, struct spec_metrics *out)
{
	static const char *const keys[] = { "metrics_path", NULL };
	struct spec_metrics m;
	int ret = jf_check_object(j, path, keys);

	if (ret)
		return ret;
	memset(&m, 0, sizeof(m));
	m.present = true;
	if ((ret = jf_string(j, path, "metrics_path", JF_REQUIRED | JF_NONEMPTY, m.metrics_path,
			     sizeof(m.metrics_path))) < 0)
		return ret;
	*out = m;
	return 0;
}

int spec_json_parse_entropy(json_t *j, const char *path, struct spec_entropy *out)
{
	static const char *const keys[] = { "rate_limiter", NULL };
	struct spec_entropy e;
	int ret = jf_check_object(j, path, keys);

	if (ret)
		return ret;
	memset(&e, 0, sizeof(e));
	e.present = true;
	if ((ret = opt_rate_limiter(j, path, "rate_limiter", &e.rate_limiter)) < 0)
		return ret;
	*out = e;
	return 0;
}

int spec_json_parse_balloon(json_t *j, const char *path, struct spec_balloon *out)
{
	static const char *const keys[] = { "amount_mib", "deflate_on_oom", "stats_polling_interval_s",
					    "free_page_hinting", "free_page_reporting", NULL };
	static const char *const unsupported[] = { "free_page_hinting", "free_page_reporting" };
	struct spec_balloon b;
	char at[JF_PATH_MAX];
	uint64_t n, secs = 0;
	int ret = jf_check_object(j, path, keys);

	if (ret)
		return ret;
	memset(&b, 0, sizeof(b));
	b.present = true;
	for (unsigned i = 0; i < 2; i++) {
		bool on = false;

		if ((ret = jf_bool(j, path, unsupported[i], 0, &on)) < 0)
			return ret;
		jf_join(at, sizeof(at), path, unsupported[i]);
		if (on)
			return err_set(-EINVAL, "%s: not supported by ember", at);
	}
	if ((ret = jf_u64(j, path, "amount_mib", JF_REQUIRED, 0, UINT32_MAX, &n)) < 0 ||
	    (ret = jf_bool(j, path, "deflate_on_oom", JF_REQUIRED, &b.deflate_on_oom)) < 0 ||
	    (ret = jf_u64(j, path, "stats_polling_interval_s", 0, 0, UINT16_MAX, &secs)) < 0)
		return ret;
	b.amount_mib = (uint32_t)n;
	b.stats_polling_interval_s = (uint32_t)secs;
	*out = b;
	return 0;
}
