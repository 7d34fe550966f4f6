/* Firecracker's endpoints and their semantics, on the VMM thread. The
 * fault messages that clients match on are Firecracker's own words. */
#include "vmm/api.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8042.h"
#include "vmm/log.h"
#include "vmm/spec_json.h"
#include "vmm/version.h"

#define MSG_POST_BOOT "The requested operation is not supported after starting the microVM."
#define MSG_PRE_BOOT "The requested operation is not supported before starting the microVM."

struct route_ctx {
	struct controller *ctl;
	const struct api_request *req;
	const char *tok[3]; /* path segments; NULL past the end */
	char segs[API_PATH_MAX];
	json_t *body;
	struct api_reply *out;
	const char *group; /* metrics: "boot_source", "drive", ... */
};

static char *fault_json(const char *msg)
{
	json_t *o = json_pack("{s:s}", "fault_message", msg);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

static void reply_fault(struct api_reply *out, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_fault(struct api_reply *out, int status, const char *fmt, ...)
{
	char msg[ERR_MSG_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote what the client sent (paths, keys, possibly cut
	 * mid-character): keep them printable ASCII so they are valid JSON. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	free(out->json);
	out->status = status;
	out->json = fault_json(msg);
	log_write(LOG_ERROR, "api", "Received Error. Status code: %d. Message: %s", status, msg);
}

static void reply_empty(struct api_reply *out)
{
	out->status = 204;
	out->json = NULL;
}

static void reply_body(struct api_reply *out, char *json)
{
	if (!json) {
		reply_fault(out, 500, "out of memory building the response");
		return;
	}
	out->status = 200;
	out->json = json;
}

/* A failed operation: err_last() says why. */
static void reply_error(struct api_reply *out)
{
	reply_fault(out, 400, "%s", err_last());
}

static bool started(const struct route_ctx *c)
{
	return c->ctl->state != CONTROLLER_NOT_STARTED;
}

static bool require_pre_boot(struct route_ctx *c)
{
	if (!started(c))
		return true;
	reply_fault(c->out, 400, MSG_POST_BOOT);
	return false;
}

static bool require_post_boot(struct route_ctx *c)
{
	if (started(c))
		return true;
	reply_fault(c->out, 400, MSG_PRE_BOOT);
	return false;
}

/* Firecracker's resource-id checks, with its messages. */
static bool check_path_id(struct route_ctx *c, const char *id)
{
	if (!id || !id[0]) {
		reply_fault(c->out, 400, "The ID cannot be empty.");
		return false;
	}
	for (const char *p = id; *p; p++) {
		if (!(*p == '_' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z'))) {
			reply_fault(c->out, 400,
				    "API Resource IDs can only contain alphanumeric characters and underscores.");
			return false;
		}
	}
	return true;
}

static void get_instance_info(struct route_ctx *c)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", c->ctl->spec.id, "state",
			      controller_state_name(c->ctl->state), "vmm_version", EMBER_VERSION,
			      "app_name", "ember");
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	reply_body(c->out, s);
}

static void get_version(struct route_ctx *c)
{
	json_t *o = json_pack("{s:s}", "firecracker_version", EMBER_VERSION);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	reply_body(c->out, s);
}

/* Host paths are checked when they are given, as Firecracker opens them
 * then: the spec as it would be with the change must pass the checks. */
static int check_candidate(struct route_ctx *c, const struct spec_boot_source *b,
			   const struct spec_drive *d)
{
	struct vm_spec *cand = malloc(sizeof(*cand));
	int ret;

	if (!cand)
		return err_set(-ENOMEM, "no memory to check the request");
	*cand = c->ctl->spec;
	if (b)
		cand->boot = *b;
	ret = d ? vm_spec_put_drive(cand, d) : 0;
	if (!ret)
		ret = vm_spec_check_paths(cand);
	free(cand);
	return ret;
}

static int check_candidate_boot(struct route_ctx *c, const struct spec_boot_source *b)
{
	return check_candidate(c, b, NULL);
}

static int check_candidate_drive(struct route_ctx *c, const struct spec_drive *d)
{
	return check_candidate(c, NULL, d);
}

static void put_boot_source(struct route_ctx *c)
{
	struct spec_boot_source b;

	if (!require_pre_boot(c))
		return;
	if (spec_json_parse_boot_source(c->body, "boot-source", &b) || check_candidate_boot(c, &b)) {
		reply_error(c->out);
		return;
	}
	c->ctl->spec.boot = b;
	reply_empty(c->out);
}

static void put_machine_config(struct route_ctx *c, bool patch)
{
	struct spec_machine m = c->ctl->spec.machine;

	if (!require_pre_boot(c))
		return;
	if ((patch ? spec_json_patch_machine : spec_json_parse_machine)(c->body, "machine-config", &m)) {
		reply_error(c->out);
		return;
	}
	c->ctl->spec.machine = m;
	reply_empty(c->out);
}

static void put_drive(struct route_ctx *c)
{
	struct spec_drive d;

	if (!require_pre_boot(c) || !check_path_id(c, c->tok[1]))
		return;
	if (spec_json_parse_drive(c->body, "drive", &d)) {
		reply_error(c->out);
		return;
	}
	if (strcmp(d.drive_id, c->tok[1])) {
		reply_fault(c->out, 400, "The id from the path does not match the id from the body!");
		return;
	}
	if (check_candidate_drive(c, &d) || vm_spec_put_drive(&c->ctl->spec, &d)) {
		reply_error(c->out);
		return;
	}
	reply_empty(c->out);
}

static void patch_drive(struct route_ctx *c)
{
	struct spec_partial_drive p;

	if (!check_path_id(c, c->tok[1]) || !require_post_boot(c))
		return;
	if (spec_json_parse_partial_drive(c->body, "drive", &p)) {
		reply_error(c->out);
		return;
	}
	if (strcmp(p.drive_id, c->tok[1])) {
		reply_fault(c->out, 400, "The id from the path does not match the id from the body!");
		return;
	}
	if (controller_update_drive(c->ctl, &p)) {
		reply_error(c->out);
		return;
	}
	reply_empty(c->out);
}

static void put_network_interface(struct route_ctx *c)
{
	struct spec_net n;

	if (!require_pre_boot(c) || !check_path_id(c, c->tok[1]))
		return;
	if (spec_json_parse_net(c->body, "network-interface", &n)) {
		reply_error(c->out);
		return;
	}
	if (strcmp(n.iface_id, c->tok[1])) {
		reply_fault(c->out, 400, "The id from the path does not match the id from the body!");
		return;
	}
	/* The TAP is opened at InstanceStart, through the HAL the VM is
	 * built on; a TAP that cannot be opened fails the start naming
	 * network-interfaces[i]. */
	if (vm_spec_put_net(&c->ctl->spec, &n)) {
		reply_error(c->out);
		return;
	}
	reply_empty(c->out);
}

static struct spec_net *find_net(struct vm_spec *spec, const char *iface_id)
{
	for (unsigned i = 0; i < spec->nr_nets && i < SPEC_MAX_NETS; i++)
		if (!strcmp(spec->nets[i].iface_id, iface_id))
			return &spec->nets[i];
	return NULL;
}

/* Rate limiters are kept (GET /vm/config shows them) but, as for drives,
 * not enforced yet. */
static void patch_network_interface(struct route_ctx *c)
{
	struct spec_partial_net p;
	struct spec_net *n;

	if (!check_path_id(c, c->tok[1]) || !require_post_boot(c))
		return;
	if (spec_json_parse_partial_net(c->body, "network-interface", &p)) {
		reply_error(c->out);
		return;
	}
	if (strcmp(p.iface_id, c->tok[1])) {
		reply_fault(c->out, 400, "The id from the path does not match the id from the body!");
		return;
	}
	n = find_net(&c->ctl->spec, p.iface_id);
	if (!n) {
		reply_fault(c->out, 400, "network-interface %s: no such interface (PUT it before InstanceStart)",
			    p.iface_id);
		return;
	}
	if (p.has_rx_rate_limiter)
		n->rx_rate_limiter = p.rx_rate_limiter;
	if (p.has_tx_rate_limiter)
		n->tx_rate_limiter = p.tx_rate_limiter;
	reply_empty(c->out);
}

static void put_vsock(struct route_ctx *c)
{
	struct spec_vsock v;

	if (!require_pre_boot(c))
		return;
	if (spec_json_parse_vsock(c->body, "vsock", &v)) {
		reply_error(c->out);
		return;
	}
	/* The socket is bound at InstanceStart, as the TAP is opened then. */
	c->ctl->spec.vsock = v;
	c->ctl->spec.vsock.present = true;
	reply_empty(c->out);
}

static void put_entropy(struct route_ctx *c)
{
	struct spec_entropy e;

	if (!require_pre_boot(c))
		return;
	if (spec_json_parse_entropy(c->body, "entropy", &e)) {
		reply_error(c->out);
		return;
	}
	c->ctl->spec.entropy = e;
	reply_empty(c->out);
}

static void put_logger(struct route_ctx *c)
{
	struct spec_logger l;

	if (!require_pre_boot(c))
		return;
	if (spec_json_parse_logger(c->body, "logger", &l) || controller_apply_logger(c->ctl, &l)) {
		reply_error(c->out);
		return;
	}
	reply_empty(c->out);
}

static void put_metrics(struct route_ctx *c)
{
	struct spec_metrics m;

	if (!require_pre_boot(c))
		return;
	if (spec_json_parse_metrics(c->body, "metrics", &m) || controller_apply_metrics(c->ctl, &m)) {
		reply_error(c->out);
		return;
	}
	reply_empty(c->out);
}

static void put_actions(struct route_ctx *c)
{
	json_t *t = json_object_get(c->body, "action_type");
	const char *what = json_is_string(t) ? json_string_value(t) : NULL;

	if (!json_is_object(c->body) || json_object_size(c->body) != 1 || !what) {
		reply_fault(c->out, 400,
			    "An error occurred when deserializing the json body of a request: "
			    "expected {\"action_type\": \"InstanceStart\" | \"SendCtrlAltDel\" | \"FlushMetrics\"}.");
		return;
	}
	if (!strcmp(what, "InstanceStart")) {
		if (!require_pre_boot(c))
			return;
		if (controller_start(c->ctl)) {
			reply_fault(c->out, 400, "Failed to start the microVM: %s", err_last());
			return;
		}
	} else if (!strcmp(what, "SendCtrlAltDel")) {
		if (!require_post_boot(c))
			return;
		if (i8042_send_ctrl_alt_del(c->ctl->vm->i8042)) {
			reply_fault(c->out, 400, "SendCtrlAltDel: the keyboard controller's buffer is full");
			return;
		}
	} else if (!strcmp(what, "FlushMetrics")) {
		if (!c->ctl->metrics_configured) {
			reply_fault(c->out, 400, "FlushMetrics: the metrics system is not configured (PUT /metrics first).");
			return;
		}
		if (metrics_flush(&c->ctl->metrics, c->ctl->vm)) {
			reply_error(c->out);
			return;
		}
	} else {
		reply_fault(c->out, 400,
			    "An error occurred when deserializing the json body of a request: "
			    "unknown action_type '%.64s'.", what);
		return;
	}
	reply_empty(c->out);
}

static void patch_vm(struct route_ctx *c)
{
	json_t *s = json_object_get(c->body, "state");
	const char *state = json_is_string(s) ? json_string_value(s) : "";

	if (!json_is_object(c->body) || json_object_size(c->body) != 1 ||
	    (strcmp(state, "Paused") && strcmp(state, "Resumed"))) {
		reply_fault(c->out, 400,
			    "An error occurred when deserializing the json body of a request: "
			    "expected {\"state\": \"Paused\" | \"Resumed\"}.");
		return;
	}
	if (!require_post_boot(c))
		return;
	if ((!strcmp(state, "Paused") ? controller_pause(c->ctl) : controller_resume(c->ctl))) {
		reply_error(c->out);
		return;
	}
	reply_empty(c->out);
}

/* Firecracker refuses a load once anything that shapes the VM was set. */
static bool boot_configured(const struct vm_spec *s)
{
	struct vm_spec fresh;

	vm_spec_init(&fresh);
	return s->boot.kernel_image_path[0] || s->nr_drives || s->nr_nets || s->vsock.present ||
	       s->entropy.present || s->balloon.present || memcmp(&s->machine, &fresh.machine, sizeof(fresh.machine));
}

static void snapshot_create(struct route_ctx *c)
{
	struct snapshot_create_params p;

	if (!require_post_boot(c))
		return;
	if (spec_json_parse_snapshot_create(c->body, "snapshot", &p) || controller_snapshot_create(c->ctl, &p)) {
		reply_error(c->out);
		return;
	}
	reply_empty(c->out);
}

static void snapshot_load(struct route_ctx *c)
{
	static struct snapshot_load_params p; /* paths make it large; one VMM thread */

	if (!require_pre_boot(c))
		return;
	if (boot_configured(&c->ctl->spec)) {
		reply_fault(c->out, 400,
			    "Loading a microVM snapshot not allowed after configuring boot-specific resources.");
		return;
	}
	if (spec_json_parse_snapshot_load(c->body, "snapshot", &p)) {
		reply_error(c->out);
		return;
	}
	if (controller_snapshot_load(c->ctl, &p)) {
		reply_fault(c->out, 400, "Load microVM snapshot error: %s", err_last());
		return;
	}
	reply_empty(c->out);
}

static void put_snapshot(struct route_ctx *c)
{
	if (c->tok[1] && !strcmp(c->tok[1], "create"))
		snapshot_create(c);
	else if (c->tok[1] && !strcmp(c->tok[1], "load"))
		snapshot_load(c);
	else
		reply_fault(c->out, 400, "Invalid request method and/or path: PUT snapshot.");
}

static void invalid_path(struct route_ctx *c)
{
	reply_fault(c->out, 400, "Invalid request method and/or path: %s %s.", c->req->method_name,
		    c->tok[0] ? c->tok[0] : "");
}

/* Splits "/a/b/c" into at most three segments; more is an invalid path. */
static bool split_path(struct route_ctx *c)
{
	char *save = NULL, *p;
	unsigned n = 0;

	snprintf(c->segs, sizeof(c->segs), "%s", c->req->path);
	for (p = strtok_r(c->segs, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (n == 3)
			return false;
		c->tok[n++] = p;
	}
	return true;
}

static bool is(const struct route_ctx *c, const char *a, const char *b)
{
	if (strcmp(c->tok[0] ? c->tok[0] : "", a))
		return false;
	if (!b)
		return !c->tok[1];
	return c->tok[1] && !strcmp(c->tok[1], b) && !c->tok[2];
}

static void route_get(struct route_ctx *c)
{
	if (c->req->body) {
		reply_fault(c->out, 400, "GET request cannot have a body.");
	} else if (is(c, "", NULL)) {
		c->group = "instance_info";
		get_instance_info(c);
	} else if (is(c, "version", NULL)) {
		c->group = "vmm_version";
		get_version(c);
	} else if (is(c, "vm", "config")) {
		c->group = "vm_config";
		reply_body(c->out, spec_json_dump_full(&c->ctl->spec));
	} else if (is(c, "machine-config", NULL)) {
		c->group = "machine_cfg";
		reply_body(c->out, spec_json_dump_machine(&c->ctl->spec.machine));
	} else {
		invalid_path(c);
	}
}

/* Parses the body; on failure replies 400 and returns false. */
static bool load_body(struct route_ctx *c)
{
	if (spec_json_load(c->req->body, c->req->body_len, &c->body)) {
		reply_fault(c->out, 400, "An error occurred when deserializing the json body of a request: %s.",
			    err_last());
		return false;
	}
	return true;
}

static void route_put(struct route_ctx *c)
{
	static const struct {
		const char *name;
		bool with_id;
		void (*fn)(struct route_ctx *c);
		const char *group;
	} puts_[] = {
		{ "actions", false, put_actions, "actions" },
		{ "boot-source", false, put_boot_source, "boot_source" },
		{ "drives", true, put_drive, "drive" },
		{ "network-interfaces", true, put_network_interface, "network" },
		{ "vsock", false, put_vsock, "vsock" },
		{ "entropy", false, put_entropy, "entropy" },
		{ "logger", false, put_logger, "logger" },
		{ "metrics", false, put_metrics, "metrics" },
		{ "snapshot", true, put_snapshot, "snapshot" },
	};

	if (!c->req->body) {
		reply_fault(c->out, 400, "Empty PUT request.");
		return;
	}
	if (is(c, "machine-config", NULL)) {
		c->group = "machine_cfg";
		if (load_body(c))
			put_machine_config(c, false);
		return;
	}
	for (size_t i = 0; i < sizeof(puts_) / sizeof(puts_[0]); i++) {
		if (!c->tok[0] || strcmp(c->tok[0], puts_[i].name))
			continue;
		if (c->tok[2] || (!puts_[i].with_id && c->tok[1]))
			break;
		c->group = puts_[i].group;
		if (load_body(c))
			puts_[i].fn(c);
		return;
	}
	invalid_path(c);
}

static void route_patch(struct route_ctx *c)
{
	if (!c->req->body) {
		reply_fault(c->out, 400, "Empty PATCH request.");
		return;
	}
	if (is(c, "machine-config", NULL)) {
		c->group = "machine_cfg";
		if (load_body(c))
			put_machine_config(c, true);
	} else if (c->tok[0] && !strcmp(c->tok[0], "drives") && !c->tok[2]) {
		c->group = "drive";
		if (load_body(c))
			patch_drive(c);
	} else if (c->tok[0] && !strcmp(c->tok[0], "network-interfaces") && !c->tok[2]) {
		c->group = "network";
		if (load_body(c))
			patch_network_interface(c);
	} else if (is(c, "vm", NULL)) {
		c->group = "vm";
		if (load_body(c))
			patch_vm(c);
	} else {
		invalid_path(c);
	}
}

void api_handle(struct controller *ctl, const struct api_request *req, struct api_reply *out)
{
	struct route_ctx c = { .ctl = ctl, .req = req, .out = out };

	*out = (struct api_reply){ 0 };
	log_write(LOG_INFO, "api", "The API server received a %s request on \"%.200s\".",
		  req->method_name, req->path);
	if (!split_path(&c)) {
		invalid_path(&c);
	} else if (req->method == API_GET) {
		route_get(&c);
	} else if (req->method == API_PUT) {
		route_put(&c);
	} else if (req->method == API_PATCH) {
		route_patch(&c);
	} else {
		invalid_path(&c);
	}
	json_decref(c.body);
	if (c.group)
		metrics_count_api(&ctl->metrics, req->method_name, c.group, out->status >= 400);
}
