/* What the user asked for: everything a Firecracker config file, the
 * pre-boot API or the CLI shortcuts can set, as plain data. The JSON and CLI
 * parsers check each field as they fill it in; vm_spec_validate checks the
 * whole (one root drive, unique ids, a kernel) before a boot. Field names
 * follow Firecracker's API so the mapping stays obvious. */
#ifndef EMBER_VM_SPEC_H
#define EMBER_VM_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/log.h"

#define SPEC_ID_MAX 64 /* drive_id, iface_id, instance id (not counting the NUL) */
#define SPEC_PATH_MAX 4096
#define SPEC_BOOT_ARGS_MAX 4096
#define SPEC_MAX_DRIVES 16
#define SPEC_MAX_NETS 8
#define SPEC_MAX_VCPUS 32
#define SPEC_DEFAULT_VCPUS 1
#define SPEC_DEFAULT_MEM_MiB 128
#define SPEC_MAX_MEM_MiB (1024ULL * 1024) /* 1 TiB */
#define SPEC_DEFAULT_ID "anonymous-instance"
/* Used when boot-source has no boot_args. Unlike Firecracker's default it
 * keeps the serial console, which is how ember shows the guest. */
#define SPEC_DEFAULT_BOOT_ARGS                                                                \
	"console=ttyS0 reboot=k panic=1 pci=off i8042.noaux i8042.nomux i8042.dumbkbd"

/* Firecracker's TokenBucket: size tokens, refilled over refill_time ms. */
struct spec_token_bucket {
	bool present;
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
};

/* Parsed and shown back by GET /vm/config; not enforced yet (README). */
struct spec_rate_limiter {
	bool present;
	struct spec_token_bucket bandwidth;
	struct spec_token_bucket ops;
};

struct spec_boot_source {
	bool present;
	char kernel_image_path[SPEC_PATH_MAX];
	char initrd_path[SPEC_PATH_MAX]; /* "" when none */
	bool has_boot_args;              /* false: SPEC_DEFAULT_BOOT_ARGS */
	char boot_args[SPEC_BOOT_ARGS_MAX];
};

enum spec_huge_pages { SPEC_HUGE_PAGES_NONE, SPEC_HUGE_PAGES_2M };

struct spec_machine {
	uint32_t vcpu_count;
	uint64_t mem_size_mib;
	bool smt;
	bool track_dirty_pages;
	/* Firecracker's static template names; only "None" is supported. */
	char cpu_template[8];
	enum spec_huge_pages huge_pages;
	/* ember extension (CLI --cpu-template): a custom template JSON file. */
	char cpu_template_path[SPEC_PATH_MAX];
};

enum spec_cache_type { SPEC_CACHE_UNSAFE, SPEC_CACHE_WRITEBACK };
enum spec_io_engine { SPEC_IO_SYNC, SPEC_IO_ASYNC };

struct spec_drive {
	char drive_id[SPEC_ID_MAX + 1];
	char path_on_host[SPEC_PATH_MAX];
	bool is_root_device;
	bool is_read_only;
	char partuuid[SPEC_ID_MAX + 1]; /* "" when none; used only for the root */
	enum spec_cache_type cache_type;
	enum spec_io_engine io_engine;
	struct spec_rate_limiter rate_limiter;
};

struct spec_net {
	char iface_id[SPEC_ID_MAX + 1];
	char host_dev_name[16]; /* IFNAMSIZ */
	bool has_guest_mac;
	uint8_t guest_mac[6];
	uint32_t mtu; /* 0: not advertised */
	struct spec_rate_limiter rx_rate_limiter;
	struct spec_rate_limiter tx_rate_limiter;
	/* ember extension (CLI --net id=,subnet=): the guest's address, told
	 * to its kernel with ip=. Host byte order. Not in the API's schema. */
	bool has_ip;
	uint32_t ip, gateway, netmask;
};

struct spec_vsock {
	bool present;
	uint32_t guest_cid; /* >= 3 */
	char uds_path[SPEC_PATH_MAX];
	char vsock_id[SPEC_ID_MAX + 1]; /* deprecated, kept for GET /vm/config */
};

struct spec_logger {
	bool present;
	char log_path[SPEC_PATH_MAX];
	bool off;              /* level "Off" */
	enum log_level level;  /* when !off; default Info */
	bool show_level;
	bool show_log_origin;
	char module[128];      /* "" when none */
};

struct spec_metrics {
	bool present;
	char metrics_path[SPEC_PATH_MAX];
};

struct spec_entropy {
	bool present;
	struct spec_rate_limiter rate_limiter;
};

struct spec_balloon {
	bool present;
	uint32_t amount_mib;
	bool deflate_on_oom;
	uint32_t stats_polling_interval_s;
};

struct vm_spec {
	char id[SPEC_ID_MAX + 1];
	struct spec_boot_source boot;
	struct spec_machine machine;
	struct spec_drive drives[SPEC_MAX_DRIVES]; /* in creation order: vda, vdb, ... */
	unsigned nr_drives;
	struct spec_net nets[SPEC_MAX_NETS];
	unsigned nr_nets;
	struct spec_vsock vsock;
	struct spec_logger logger;
	struct spec_metrics metrics;
	struct spec_entropy entropy;
	struct spec_balloon balloon;
};

/* Firecracker's defaults: 1 vCPU, 128 MiB, no devices, id "anonymous-instance". */
void vm_spec_init(struct vm_spec *spec);
/* Firecracker's resource-id rule: non-empty, [A-Za-z0-9_] only, and at most
 * SPEC_ID_MAX bytes. Returns 0 or -EINVAL with a message naming `what`. */
int vm_spec_check_id(const char *what, const char *id);
/* Adds a drive, or replaces the one with the same drive_id (PUT semantics).
 * Refuses a second root device and more than SPEC_MAX_DRIVES. A root drive
 * goes first so the guest sees it as vda, as Firecracker orders them. */
int vm_spec_put_drive(struct vm_spec *spec, const struct spec_drive *d);
struct spec_drive *vm_spec_find_drive(struct vm_spec *spec, const char *drive_id);
/* Adds or replaces a network interface by iface_id; refuses a host_dev_name
 * or guest_mac that another interface already uses. */
int vm_spec_put_net(struct vm_spec *spec, const struct spec_net *n);
/* Ready to boot: a kernel is set, machine limits hold (SMT needs 1 or an even
 * vCPU count; 2M pages need an even size). Returns 0 or -EINVAL. */
int vm_spec_validate(const struct vm_spec *spec);
/* The kernel command line for the guest: boot_args (or the default), plus
 * "root=/dev/vda rw" / "root=PARTUUID=... ro" for the root drive as
 * Firecracker adds it, plus "ip=<ip>::<gw>:<mask>::ethN:off" for the first
 * interface with has_ip (ethN: its place among the interfaces) unless the
 * boot_args hold an ip= already. Returns 0 or -E2BIG. */
int vm_spec_cmdline(const struct vm_spec *spec, char *out, size_t size);
/* Before a boot: the kernel, the initrd, the CPU template file and every
 * drive's backing file exist and can be opened as the spec needs (a drive
 * may be a block device; a writable one must be writable). The message names
 * the key as a config file spells it, "drives[1].path_on_host: /x.img: file
 * not found". Returns 0, -ENOENT, -EACCES or -EINVAL. */
int vm_spec_check_paths(const struct vm_spec *spec);
/* Guest memory beyond what the host has (MemTotal + SwapTotal in
 * `meminfo`, /proc/meminfo's format) is allowed, as in Firecracker, but the
 * guest would be OOM-killed once it used it all: true (with a warning
 * logged) when mem_size_mib is over that. An unreadable file says nothing. */
bool vm_spec_warn_host_memory(const struct vm_spec *spec, const char *meminfo);

#endif
