/* hostile_guest: a guest that attacks every virtio-mmio device it finds
 * from inside, as a compromised kernel would, and checks that each one
 * reports itself broken (NEEDS_RESET) instead of taking the VMM down, and
 * works again after a reset. Once the checks are done it prints DONE and
 * goes on storming (resets, avail floods, kicks) until the VMM is stopped,
 * so the host side can check that the API and SIGTERM still answer.
 *
 * Attacks: an INDIRECT descriptor whose table is the descriptor table
 * itself (the walk that never ended), an avail index jumped past the ring
 * (more chains than the queue holds), a blk queue stopped and resized to 0
 * with requests in flight (the SIGFPE), 1-byte RX buffers under MRG_RXBUF,
 * and reset storms. */
#include "guest.h"

#define MMIO_BASE 0xd0000000ULL
#define MMIO_STRIDE 0x1000ULL
#define MAX_DEVS 8
#define QN 16 /* entries per queue we set up */

/* virtio-mmio registers (virtio 1.2, 4.2.2). */
enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_DEV_FEATURES = 0x010, R_DEV_FEATURES_SEL = 0x014,
	R_DRV_FEATURES = 0x020, R_DRV_FEATURES_SEL = 0x024, R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034,
	R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044, R_QUEUE_NOTIFY = 0x050, R_INT_STATUS = 0x060, R_INT_ACK = 0x064,
	R_STATUS = 0x070, R_DESC_LO = 0x080, R_DESC_HI = 0x084, R_AVAIL_LO = 0x090, R_AVAIL_HI = 0x094,
	R_USED_LO = 0x0a0, R_USED_HI = 0x0a4,
};
#define S_ACK 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u
#define S_NEEDS_RESET 64u
#define D_NEXT 1u
#define D_WRITE 2u
#define D_INDIRECT 4u
#define ID_NET 1u
#define ID_BLK 2u
#define ID_RNG 4u
#define ID_VSOCK 19u
#define F_MRG_RXBUF 15
#define F_INDIRECT 28
#define F_EVENT_IDX 29
#define F_VERSION_1 32

struct desc {
	u64 addr;
	u32 len;
	u16 flags, next;
};

/* One queue: its rings in one page, its buffers in the next. */
struct qmem {
	struct desc desc[QN];
	u8 pad0[0x400 - QN * sizeof(struct desc)];
	volatile u16 avail[2 + QN + 1]; /* flags, idx, ring, used_event */
	u8 pad1[0x400 - (3 + QN) * 2];
	volatile u16 used_hdr[2];       /* flags, idx; then the ring */
	volatile u32 used_ring[2 * QN];
	volatile u16 avail_event;
	u8 pad2[0x800 - 4 - 8 * QN - 2];
	u8 buf[4096];
} __attribute__((aligned(4096)));
_Static_assert(sizeof(struct qmem) == 8192, "qmem layout");

struct dev {
	u64 base;
	u32 id;
	unsigned nq;     /* queues set up */
	unsigned attack; /* the queue the device pops on a notify */
	u64 features;
	u16 avail_idx[3], used_seen[3];
};

static struct qmem qmem[MAX_DEVS][3];
static struct dev devs[MAX_DEVS];
static unsigned ndevs;

static u32 rd(const struct dev *d, u32 off) { return *(volatile u32 *)(d->base + off); }
static void wr(const struct dev *d, u32 off, u32 v) { *(volatile u32 *)(d->base + off) = v; }
static void relax(void) { __asm__ volatile("pause" ::: "memory"); }

static const char *name_of(u32 id)
{
	return id == ID_BLK ? "blk" : id == ID_NET ? "net" : id == ID_RNG ? "rng" : id == ID_VSOCK ? "vsock" : "other";
}

static struct qmem *qm(const struct dev *d, unsigned q) { return &qmem[d - devs][q]; }

/* The whole bring-up a Linux driver does, with fresh rings. 1 when the
 * device reached DRIVER_OK. */
static int bring_up(struct dev *d)
{
	u64 want = 1ULL << F_VERSION_1 | 1ULL << F_INDIRECT | 1ULL << F_EVENT_IDX;
	u64 offered;

	if (d->id == ID_NET)
		want |= 1ULL << F_MRG_RXBUF;
	wr(d, R_STATUS, 0);
	wr(d, R_STATUS, S_ACK);
	wr(d, R_STATUS, S_ACK | S_DRIVER);
	wr(d, R_DEV_FEATURES_SEL, 0);
	offered = rd(d, R_DEV_FEATURES);
	wr(d, R_DEV_FEATURES_SEL, 1);
	offered |= (u64)rd(d, R_DEV_FEATURES) << 32;
	d->features = offered & want;
	wr(d, R_DRV_FEATURES_SEL, 0);
	wr(d, R_DRV_FEATURES, (u32)d->features);
	wr(d, R_DRV_FEATURES_SEL, 1);
	wr(d, R_DRV_FEATURES, (u32)(d->features >> 32));
	wr(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(d, R_STATUS) & S_FEATURES_OK))
		return 0;
	for (unsigned q = 0; q < d->nq; q++) {
		struct qmem *m = qm(d, q);

		memset(m, 0, 4096);
		d->avail_idx[q] = d->used_seen[q] = 0;
		wr(d, R_QUEUE_SEL, q);
		if (rd(d, R_QUEUE_NUM_MAX) < QN)
			return 0;
		wr(d, R_QUEUE_NUM, QN);
		wr(d, R_DESC_LO, (u32)(u64)m->desc);
		wr(d, R_DESC_HI, 0);
		wr(d, R_AVAIL_LO, (u32)(u64)m->avail);
		wr(d, R_AVAIL_HI, 0);
		wr(d, R_USED_LO, (u32)(u64)m->used_hdr);
		wr(d, R_USED_HI, 0);
		wr(d, R_QUEUE_READY, 1);
	}
	wr(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return (rd(d, R_STATUS) & (S_DRIVER_OK | S_NEEDS_RESET)) == S_DRIVER_OK;
}

static void post(struct dev *d, unsigned q, u16 head)
{
	struct qmem *m = qm(d, q);

	m->avail[2 + d->avail_idx[q] % QN] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	m->avail[1] = ++d->avail_idx[q];
	wr(d, R_QUEUE_NOTIFY, q);
}

/* Polls (the device is served by another host thread) until the queue
 * returned a chain or the device says it is broken: 1, -1, or 0 when
 * neither happened within the bound. */
static int wait_used_or_broken(struct dev *d, unsigned q)
{
	struct qmem *m = qm(d, q);

	for (unsigned i = 0; i < 4000000; i++) {
		if ((u16)(m->used_hdr[1] - d->used_seen[q])) {
			d->used_seen[q] = m->used_hdr[1];
			return 1;
		}
		/* A register read is a VM exit: only now and then. */
		if (i % 1024 == 1023 && rd(d, R_STATUS) & S_NEEDS_RESET)
			return -1;
		relax();
	}
	return 0;
}

static int wait_broken(struct dev *d)
{
	for (unsigned i = 0; i < 20000; i++) {
		if (rd(d, R_STATUS) & S_NEEDS_RESET)
			return 1;
		for (unsigned k = 0; k < 100; k++)
			relax();
	}
	return 0;
}

/* Builds the one well-formed chain each device answers at once on its
 * attack queue, at descriptor `first`: a blk read of sector 0, 64 bytes
 * of entropy, a 60-byte Ethernet frame, a vsock REQUEST to a port nobody
 * listens on. Returns its head. */
static u16 good_chain(struct dev *d, unsigned first)
{
	struct qmem *m = qm(d, d->attack);
	u8 *b = m->buf;
	struct desc *t = m->desc;
	u16 i = (u16)first;

	memset(b, 0, 1024);
	switch (d->id) {
	case ID_BLK:
		t[i] = (struct desc){ (u64)b, 16, D_NEXT, (u16)(i + 1) };
		t[i + 1] = (struct desc){ (u64)(b + 64), 512, D_WRITE | D_NEXT, (u16)(i + 2) };
		b[600] = 0xff;
		t[i + 2] = (struct desc){ (u64)(b + 600), 1, D_WRITE, 0 };
		break;
	case ID_RNG:
		t[i] = (struct desc){ (u64)b, 64, D_WRITE, 0 };
		break;
	case ID_NET:
		memset(b + 12, 0xff, 6); /* broadcast */
		b[12 + 12] = 0x08;       /* ethertype IPv4 */
		t[i] = (struct desc){ (u64)b, 12 + 60, 0, 0 };
		break;
	case ID_VSOCK:
		*(u64 *)(b + 0) = 3;        /* src_cid: a guest CID the device checks against its own */
		*(u64 *)(b + 8) = 2;        /* dst_cid: the host */
		*(u32 *)(b + 16) = 5000;    /* src_port */
		*(u32 *)(b + 20) = 7;       /* dst_port: nobody listens */
		*(u16 *)(b + 28) = 1;       /* type STREAM */
		*(u16 *)(b + 30) = 1;       /* op REQUEST */
		*(u32 *)(b + 36) = 65536;   /* buf_alloc */
		t[i] = (struct desc){ (u64)b, 44, 0, 0 };
		break;
	}
	return i;
}

/* After any attack: a reset and a fresh bring-up give a working device. */
static void check_recovers(struct dev *d, const char *after)
{
	int ok = bring_up(d);

	if (ok) {
		post(d, d->attack, good_chain(d, 0));
		ok = wait_used_or_broken(d, d->attack) == 1;
	}
	check(ok, after, "%s: no working device after a reset (status %x)", name_of(d->id),
	      (u64)rd(d, R_STATUS));
}

static void attack_indirect_self(struct dev *d)
{
	struct qmem *m = qm(d, d->attack);
	int broken;

	if (!bring_up(d)) {
		check(0, "indirect_self", "%s: does not come up", name_of(d->id));
		return;
	}
	if (!(d->features & 1ULL << F_INDIRECT)) {
		pr("info %s offers no INDIRECT_DESC: nothing to nest\n", name_of(d->id));
		return;
	}
	m->desc[0] = (struct desc){ (u64)m->desc, QN * sizeof(struct desc), D_INDIRECT, 0 };
	post(d, d->attack, 0);
	broken = wait_broken(d);
	check(broken, "indirect_self", "%s: a self-referencing indirect table did not mark the device broken",
	      name_of(d->id));
	check_recovers(d, "indirect_self_recovers");
}

static void attack_avail_jump(struct dev *d)
{
	struct qmem *m = qm(d, d->attack);

	if (!bring_up(d))
		return;
	good_chain(d, 0);
	m->avail[1] = 0x8000; /* 32768 chains on a 16-entry ring */
	wr(d, R_QUEUE_NOTIFY, d->attack);
	check(wait_broken(d), "avail_jump", "%s: an avail index past the ring did not mark it broken",
	      name_of(d->id));
	check_recovers(d, "avail_jump_recovers");
}

/* blk: the queue stopped and its size set to 0 with reads on the ring. */
static void attack_stop_in_flight(struct dev *d)
{
	struct qmem *m = qm(d, 0);

	if (!bring_up(d))
		return;
	for (unsigned i = 0; i < 5; i++) {
		good_chain(d, 3 * i);
		m->avail[2 + i] = (u16)(3 * i);
	}
	m->avail[1] = 5;
	wr(d, R_QUEUE_NOTIFY, 0);
	wr(d, R_QUEUE_SEL, 0);
	wr(d, R_QUEUE_READY, 0);
	wr(d, R_QUEUE_NUM, 0);
	for (unsigned i = 0; i < 200000; i++)
		relax();
	check(rd(d, R_QUEUE_READY) == 0, "stop_in_flight", "blk: QueueReady reads %x after writing 0",
	      (u64)rd(d, R_QUEUE_READY));
	check_recovers(d, "stop_in_flight_recovers");
}

/* net: 1-byte RX buffers under MRG_RXBUF; the host keeps sending frames. */
static void attack_tiny_rx(struct dev *d)
{
	struct qmem *m = qm(d, 0);
	int r;

	if (!bring_up(d))
		return;
	for (unsigned i = 0; i < QN; i++) {
		m->desc[i] = (struct desc){ (u64)(m->buf + i), 1, D_WRITE, 0 };
		post(d, 0, (u16)i);
	}
	r = wait_used_or_broken(d, 0);
	pr("info net tiny_rx: %s\n", r > 0 ? "a frame was delivered" : r < 0 ? "the device said it is broken"
									  : "no frame arrived");
	check_recovers(d, "tiny_rx_recovers");
}

static unsigned storm(struct dev *d, unsigned rounds)
{
	unsigned good = 0;

	for (unsigned i = 0; i < rounds; i++) {
		if (!bring_up(d))
			continue;
		post(d, d->attack, good_chain(d, 0));
		/* And a flood on top: the same chain republished. */
		qm(d, d->attack)->avail[1] = (u16)(d->avail_idx[d->attack] + 3 * QN);
		wr(d, R_QUEUE_NOTIFY, d->attack);
		good += wait_used_or_broken(d, d->attack) != 0;
	}
	return good;
}

static void find_devices(void)
{
	for (unsigned i = 0; i < 32 && ndevs < MAX_DEVS; i++) {
		struct dev *d = &devs[ndevs];

		d->base = MMIO_BASE + i * MMIO_STRIDE;
		if (rd(d, R_MAGIC) != 0x74726976 || rd(d, R_VERSION) != 2 || !(d->id = rd(d, R_DEVICE_ID)))
			continue;
		d->nq = d->id == ID_NET ? 2 : d->id == ID_VSOCK ? 3 : 1;
		d->attack = d->id == ID_NET || d->id == ID_VSOCK ? 1 : 0;
		if (d->id != ID_BLK && d->id != ID_RNG && d->id != ID_NET && d->id != ID_VSOCK)
			continue;
		pr("info found %s at %x\n", name_of(d->id), d->base);
		ndevs++;
	}
}

void guest_main(struct entry_state *st)
{
	(void)st;
	pr("info hostile_guest\n");
	find_devices();
	check(ndevs > 0, "devices", "no virtio-mmio device at %x", MMIO_BASE);
	for (unsigned i = 0; i < ndevs; i++) {
		struct dev *d = &devs[i];

		pr("info attacking %s\n", name_of(d->id));
		attack_indirect_self(d);
		attack_avail_jump(d);
		if (d->id == ID_BLK)
			attack_stop_in_flight(d);
		if (d->id == ID_NET)
			attack_tiny_rx(d);
		check(storm(d, 200) == 200, "reset_storm", "%s: a request went unanswered in a reset storm",
		      name_of(d->id));
	}
	report_done();
	/* Until the VMM is stopped: the host checks it still answers. */
	for (;;)
		for (unsigned i = 0; i < ndevs; i++)
			storm(&devs[i], 1);
}
