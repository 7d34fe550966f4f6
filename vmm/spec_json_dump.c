/* vm_spec back to Firecracker's JSON (GET /vm/config, GET /machine-config).
 * The output parses back to the same spec through spec_json_parse_config. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/spec_json.h"

/* Builders never fail silently: any NULL (no memory, or a CLI path that
 * is not UTF-8) poisons the whole document through `ok`. */
struct dump {
	bool ok;
};

static json_t *str(struct dump *d, const char *s)
{
	json_t *v = json_string(s);

	if (!v)
		d->ok = false;
	return v;
}

static json_t *u64(struct dump *d, uint64_t n)
{
	json_t *v = json_integer((json_int_t)n);

	if (!v)
		d->ok = false;
	return v;
}

static void set(struct dump *d, json_t *obj, const char *key, json_t *v)
{
	/* set_new consumes v even when it fails (obj NULL): no leak. */
	if (!v || json_object_set_new(obj, key, v))
		d->ok = false;
}

static json_t *obj(struct dump *d)
{
	json_t *o = json_object();

	if (!o)
		d->ok = false;
	return o;
}

static json_t *bucket(struct dump *d, const struct spec_token_bucket *b)
{
	json_t *o;

	if (!b->present)
		return json_null();
	o = obj(d);
	set(d, o, "size", u64(d, b->size));
	if (b->one_time_burst)
		set(d, o, "one_time_burst", u64(d, b->one_time_burst));
	set(d, o, "refill_time", u64(d, b->refill_time_ms));
	return o;
}

static json_t *rate_limiter(struct dump *d, const struct spec_rate_limiter *rl)
{
	json_t *o;

	if (!rl->present)
		return json_null();
	o = obj(d);
	set(d, o, "bandwidth", bucket(d, &rl->bandwidth));
	set(d, o, "ops", bucket(d, &rl->ops));
	return o;
}

static json_t *machine(struct dump *d, const struct spec_machine *m)
{
	json_t *o = obj(d);

	set(d, o, "vcpu_count", u64(d, m->vcpu_count));
	set(d, o, "mem_size_mib", u64(d, m->mem_size_mib));
	set(d, o, "smt", json_boolean(m->smt));
	set(d, o, "track_dirty_pages", json_boolean(m->track_dirty_pages));
	set(d, o, "huge_pages", str(d, m->huge_pages == SPEC_HUGE_PAGES_2M ? "2M" : "None"));
	/* Firecracker leaves the deprecated field out unless a template is set. */
	if (m->cpu_template[0] && strcmp(m->cpu_template, "None"))
		set(d, o, "cpu_template", str(d, m->cpu_template));
	return o;
}

static json_t *boot_source(struct dump *d, const struct spec_boot_source *b)
{
	json_t *o = obj(d);

	set(d, o, "kernel_image_path", str(d, b->kernel_image_path));
	if (b->initrd_path[0])
		set(d, o, "initrd_path", str(d, b->initrd_path));
	if (b->has_boot_args)
		set(d, o, "boot_args", str(d, b->boot_args));
	return o;
}

static json_t *drive(struct dump *d, const struct spec_drive *dr)
{
	json_t *o = obj(d);

	set(d, o, "drive_id", str(d, dr->drive_id));
	set(d, o, "partuuid", dr->partuuid[0] ? str(d, dr->partuuid) : json_null());
	set(d, o, "is_root_device", json_boolean(dr->is_root_device));
	set(d, o, "cache_type", str(d, dr->cache_type == SPEC_CACHE_WRITEBACK ? "Writeback" : "Unsafe"));
	set(d, o, "is_read_only", json_boolean(dr->is_read_only));
	set(d, o, "path_on_host", str(d, dr->path_on_host));
	set(d, o, "rate_limiter", rate_limiter(d, &dr->rate_limiter));
	set(d, o, "io_engine", str(d, dr->io_engine == SPEC_IO_ASYNC ? "Async" : "Sync"));
	return o;
}

static json_t *net(struct dump *d, const struct spec_net *n)
{
	json_t *o = obj(d);
	char mac[18];

	set(d, o, "iface_id", str(d, n->iface_id));
	set(d, o, "host_dev_name", str(d, n->host_dev_name));
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->guest_mac[0], n->guest_mac[1],
		 n->guest_mac[2], n->guest_mac[3], n->guest_mac[4], n->guest_mac[5]);
	set(d, o, "guest_mac", n->has_guest_mac ? str(d, mac) : json_null());
	set(d, o, "mtu", n->mtu ? u64(d, n->mtu) : json_null());
	set(d, o, "rx_rate_limiter", rate_limiter(d, &n->rx_rate_limiter));
	set(d, o, "tx_rate_limiter", rate_limiter(d, &n->tx_rate_limiter));
	return o;
}

static json_t *vsock(struct dump *d, const struct spec_vsock *v)
{
	json_t *o;

	if (!v->present)
		return json_null();
	o = obj(d);
	set(d, o, "guest_cid", u64(d, v->guest_cid));
	set(d, o, "uds_path", str(d, v->uds_path));
	if (v->vsock_id[0])
		set(d, o, "vsock_id", str(d, v->vsock_id));
	return o;
}

static json_t *logger(struct dump *d, const struct spec_logger *l)
{
	json_t *o;

	if (!l->present)
		return json_null();
	o = obj(d);
	if (l->log_path[0])
		set(d, o, "log_path", str(d, l->log_path));
	set(d, o, "level", str(d, l->off ? "Off" : log_level_name(l->level)));
	set(d, o, "show_level", json_boolean(l->show_level));
	set(d, o, "show_log_origin", json_boolean(l->show_log_origin));
	if (l->module[0])
		set(d, o, "module", str(d, l->module));
	return o;
}

static json_t *metrics(struct dump *d, const struct spec_metrics *m)
{
	json_t *o;

	if (!m->present)
		return json_null();
	o = obj(d);
	set(d, o, "metrics_path", str(d, m->metrics_path));
	return o;
}

static json_t *entropy(struct dump *d, const struct spec_entropy *e)
{
	json_t *o;

	if (!e->present)
		return json_null();
	o = obj(d);
	set(d, o, "rate_limiter", rate_limiter(d, &e->rate_limiter));
	return o;
}

static json_t *balloon(struct dump *d, const struct spec_balloon *b)
{
	json_t *o;

	if (!b->present)
		return json_null();
	o = obj(d);
	set(d, o, "amount_mib", u64(d, b->amount_mib));
	set(d, o, "deflate_on_oom", json_boolean(b->deflate_on_oom));
	set(d, o, "stats_polling_interval_s", u64(d, b->stats_polling_interval_s));
	return o;
}

static json_t *array(struct dump *d)
{
	json_t *a = json_array();

	if (!a)
		d->ok = false;
	return a;
}

static void append(struct dump *d, json_t *a, json_t *v)
{
	if (!v || json_array_append_new(a, v))
		d->ok = false;
}

/* Serialises and frees `root`; NULL with a message when building failed. */
static char *finish(struct dump *d, json_t *root)
{
	char *text = d->ok && root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	if (!text)
		err_set(-ENOMEM, "JSON output: out of memory or a string that is not UTF-8");
	return text;
}

char *spec_json_dump_full(const struct vm_spec *spec)
{
	struct dump d = { .ok = true };
	json_t *root = obj(&d), *drives = array(&d), *nets = array(&d);

	for (unsigned i = 0; i < spec->nr_drives && i < SPEC_MAX_DRIVES; i++)
		append(&d, drives, drive(&d, &spec->drives[i]));
	for (unsigned i = 0; i < spec->nr_nets && i < SPEC_MAX_NETS; i++)
		append(&d, nets, net(&d, &spec->nets[i]));
	set(&d, root, "balloon", balloon(&d, &spec->balloon));
	set(&d, root, "drives", drives);
	set(&d, root, "boot-source", boot_source(&d, &spec->boot));
	set(&d, root, "logger", logger(&d, &spec->logger));
	set(&d, root, "machine-config", machine(&d, &spec->machine));
	set(&d, root, "metrics", metrics(&d, &spec->metrics));
	set(&d, root, "mmds-config", json_null());
	set(&d, root, "network-interfaces", nets);
	set(&d, root, "vsock", vsock(&d, &spec->vsock));
	set(&d, root, "entropy", entropy(&d, &spec->entropy));
	return finish(&d, root);
}

char *spec_json_dump_machine(const struct spec_machine *m)
{
	struct dump d = { .ok = true };

	return finish(&d, machine(&d, m));
}
