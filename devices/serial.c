/* 16550A UART model. See serial.h for what it does and does not emulate. */
#include "devices/serial.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

enum { REG_DATA = 0, REG_IER = 1, REG_IIR = 2, REG_LCR = 3, REG_MCR = 4, REG_LSR = 5,
       REG_MSR = 6, REG_SCR = 7 };

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI 0x08  /* modem status */
#define IER_MASK 0x0f

#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_TRIGGER 0xc0 /* kept for snapshots; the model reports data at once */

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
/* Outside loopback the virtual line is always up. */
#define MSR_LINES_IDLE (MSR_DCD | MSR_DSR | MSR_CTS)

#define DEFAULT_DIVISOR 0x0c /* 9600 baud: what firmware would leave */

#define SERIAL_STATE_VERSION 1

/* Everything the guest can observe, i.e. everything a snapshot carries. */
struct serial_regs {
	uint8_t dll, dlm, ier, fcr, lcr, mcr, msr, scr;
	bool overrun;     /* LSR.OE; DR, THRE and TEMT are derived */
	bool thr_pending; /* THRE interrupt armed (only while IER.THRI) */
	uint8_t rx[SERIAL_FIFO_SIZE];
	unsigned rx_head, rx_count;
};

struct serial {
	struct device dev; /* first, so a struct device * converts back */
	struct serial_config cfg;
	struct serial_regs r;
	bool rx_waiting; /* host input was refused: owe an on_rx_space */
	int irq_level;   /* the level the line was last driven to */
	bool irq_warned;
	_Atomic uint64_t stats[SERIAL_STAT_COUNT];
};

const char *const serial_stat_names[SERIAL_STAT_COUNT] = {
	[SERIAL_STAT_READ_COUNT] = "read_count",
	[SERIAL_STAT_WRITE_COUNT] = "write_count",
	[SERIAL_STAT_MISSED_READ_COUNT] = "missed_read_count",
	[SERIAL_STAT_MISSED_WRITE_COUNT] = "missed_write_count",
};

/* Bumped only under dev->lock: a relaxed load and store lets metrics read
 * whole values from another thread without a locked add per byte. */
static void serial_count(struct serial *s, enum serial_stat which)
{
	atomic_store_explicit(&s->stats[which], atomic_load_explicit(&s->stats[which], memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

void serial_get_stats(const struct device *dev, struct serial_stats *out)
{
	const struct serial *s = (const struct serial *)dev;

	for (unsigned i = 0; i < SERIAL_STAT_COUNT; i++)
		out->v[i] = atomic_load_explicit(&s->stats[i], memory_order_relaxed);
}

static struct serial *to_serial(struct device *dev)
{
	return (struct serial *)dev;
}

static void regs_power_on(struct serial_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->dll = DEFAULT_DIVISOR;
	r->msr = MSR_LINES_IDLE;
}

/* In loopback the modem outputs feed the modem inputs. */
static uint8_t msr_lines_for(uint8_t mcr)
{
	uint8_t lines = 0;

	if (!(mcr & MCR_LOOP))
		return MSR_LINES_IDLE;
	if (mcr & MCR_RTS)
		lines |= MSR_CTS;
	if (mcr & MCR_DTR)
		lines |= MSR_DSR;
	if (mcr & MCR_OUT1)
		lines |= MSR_RI;
	if (mcr & MCR_OUT2)
		lines |= MSR_DCD;
	return lines;
}

static void msr_set_lines(struct serial_regs *r, uint8_t lines)
{
	uint8_t old = r->msr, changed = old ^ lines, deltas = old & MSR_DELTAS;

	if (changed & MSR_CTS)
		deltas |= MSR_DCTS;
	if (changed & MSR_DSR)
		deltas |= MSR_DDSR;
	if (changed & MSR_DCD)
		deltas |= MSR_DDCD;
	if ((old & MSR_RI) && !(lines & MSR_RI)) /* trailing edge only */
		deltas |= MSR_TERI;
	r->msr = (uint8_t)(lines | deltas);
}

static uint8_t lsr_value(const struct serial_regs *r)
{
	return (uint8_t)(LSR_THRE | LSR_TEMT | (r->rx_count ? LSR_DR : 0) | (r->overrun ? LSR_OE : 0));
}

/* The highest-priority enabled source, as IIR bits 0-3. */
static uint8_t pending_source(const struct serial_regs *r)
{
	if ((r->ier & IER_RLSI) && r->overrun)
		return IIR_RLSI;
	if ((r->ier & IER_RDI) && r->rx_count)
		return IIR_RDI;
	if ((r->ier & IER_THRI) && r->thr_pending)
		return IIR_THRI;
	if ((r->ier & IER_MSI) && (r->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NONE;
}

/* Drives the line when the level changed (or when forced after a state
 * load). A failed drive keeps the old level so the next access retries. */
static void update_irq(struct serial *s, bool force)
{
	int level = pending_source(&s->r) != IIR_NONE;
	int err;

	if (!force && level == s->irq_level)
		return;
	err = irq_line_set(&s->cfg.irq, level);
	if (!err) {
		s->irq_level = level;
	} else if (!s->irq_warned) {
		s->irq_warned = true;
		log_warn("serial: cannot set irq %u to %d: %d", s->cfg.irq.gsi, level, err);
	}
}

static bool rx_can_take_host_input(const struct serial *s)
{
	return !(s->r.mcr & MCR_LOOP) && s->r.rx_count < SERIAL_FIFO_SIZE;
}

/* Tells the input thread it may push again, once, after a refusal. */
static void rx_space_check(struct serial *s)
{
	if (!s->rx_waiting || (s->r.mcr & MCR_LOOP) || s->r.rx_count > SERIAL_RX_LOW_WATER)
		return;
	s->rx_waiting = false;
	if (s->cfg.on_rx_space)
		s->cfg.on_rx_space(s->cfg.rx_space_opaque);
}

static bool rx_put(struct serial_regs *r, uint8_t b)
{
	if (r->rx_count == SERIAL_FIFO_SIZE)
		return false;
	r->rx[(r->rx_head + r->rx_count) % SERIAL_FIFO_SIZE] = b;
	r->rx_count++;
	return true;
}

static uint8_t rx_get(struct serial_regs *r)
{
	uint8_t b;

	if (!r->rx_count)
		return 0;
	b = r->rx[r->rx_head];
	r->rx_head = (r->rx_head + 1) % SERIAL_FIFO_SIZE;
	r->rx_count--;
	return b;
}

static void rx_clear(struct serial_regs *r)
{
	r->rx_head = 0;
	r->rx_count = 0;
}

static void transmit(struct serial *s, uint8_t b)
{
	if (s->r.mcr & MCR_LOOP) {
		if (!rx_put(&s->r, b))
			s->r.overrun = true; /* the new byte is lost, as on silicon */
	} else if (s->cfg.output.write) {
		/* A short or failed write loses the byte: there is no way to
		 * push back on the guest, and blocking the vCPU is worse. */
		bool sent = s->cfg.output.write(s->cfg.output.opaque, &b, 1) == 1;

		serial_count(s, sent ? SERIAL_STAT_WRITE_COUNT : SERIAL_STAT_MISSED_WRITE_COUNT);
	} else {
		serial_count(s, SERIAL_STAT_WRITE_COUNT); /* discarded by choice, not lost */
	}
	/* The byte left THR at once, so THR is empty again. */
	s->r.thr_pending = (s->r.ier & IER_THRI) != 0;
}

static void write_fcr(struct serial *s, uint8_t val)
{
	uint8_t fcr = (val & FCR_ENABLE) ? (uint8_t)(val & (FCR_ENABLE | FCR_TRIGGER)) : 0;

	/* Changing the enable bit resets the FIFOs; the clear bits only take
	 * effect together with the enable bit. */
	if (((fcr ^ s->r.fcr) & FCR_ENABLE) || ((val & FCR_ENABLE) && (val & FCR_CLEAR_RX)))
		rx_clear(&s->r);
	s->r.fcr = fcr;
	/* There is no transmit FIFO to clear: bytes leave at once. */
}

static void write_ier(struct serial *s, uint8_t val)
{
	uint8_t old = s->r.ier;

	s->r.ier = val & IER_MASK;
	/* A rising ETBEI with THR empty raises THRE even if an IIR read had
	 * cleared it: the 8250 THRE and TXEN probes rely on this. */
	if (!(s->r.ier & IER_THRI))
		s->r.thr_pending = false;
	else if (!(old & IER_THRI))
		s->r.thr_pending = true;
}

static void write_mcr(struct serial *s, uint8_t val)
{
	s->r.mcr = val & MCR_MASK;
	msr_set_lines(&s->r, msr_lines_for(s->r.mcr));
}

static void reg_write(struct serial *s, uint64_t off, uint8_t val)
{
	bool dlab = s->r.lcr & LCR_DLAB;

	switch (off) {
	case REG_DATA:
		if (dlab)
			s->r.dll = val;
		else
			transmit(s, val);
		break;
	case REG_IER:
		if (dlab)
			s->r.dlm = val;
		else
			write_ier(s, val);
		break;
	case REG_IIR:
		write_fcr(s, val);
		break;
	case REG_LCR:
		s->r.lcr = val;
		break;
	case REG_MCR:
		write_mcr(s, val);
		break;
	case REG_SCR:
		s->r.scr = val;
		break;
	default: /* LSR and MSR are read-only here */
		break;
	}
}

static uint8_t reg_read(struct serial *s, uint64_t off)
{
	bool dlab = s->r.lcr & LCR_DLAB;
	uint8_t v;

	switch (off) {
	case REG_DATA:
		if (dlab)
			return s->r.dll;
		if (s->r.rx_count)
			serial_count(s, SERIAL_STAT_READ_COUNT);
		return rx_get(&s->r);
	case REG_IER:
		return dlab ? s->r.dlm : s->r.ier;
	case REG_IIR:
		v = pending_source(&s->r);
		if (v == IIR_THRI) /* reporting THRE acknowledges it */
			s->r.thr_pending = false;
		return (uint8_t)(v | ((s->r.fcr & FCR_ENABLE) ? IIR_FIFO_ENABLED : 0));
	case REG_LCR:
		return s->r.lcr;
	case REG_MCR:
		return s->r.mcr;
	case REG_LSR:
		v = lsr_value(&s->r);
		s->r.overrun = false;
		return v;
	case REG_MSR:
		v = s->r.msr;
		s->r.msr &= (uint8_t)~MSR_DELTAS;
		return v;
	default: /* REG_SCR: the caller checked offset < SERIAL_RANGE_LEN */
		return s->r.scr;
	}
}

static void serial_read(struct device *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct serial *s = to_serial(dev);

	if (!len)
		return;
	/* Byte registers: a wider access reads as a floating bus, with no
	 * side effect (see serial.h). */
	if (len != 1 || offset >= SERIAL_RANGE_LEN) {
		memset(data, 0xff, len);
		serial_count(s, SERIAL_STAT_MISSED_READ_COUNT);
		return;
	}
	data[0] = reg_read(s, offset);
	update_irq(s, false);
	rx_space_check(s);
}

static void serial_write(struct device *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct serial *s = to_serial(dev);

	if (len != 1 || offset >= SERIAL_RANGE_LEN) {
		serial_count(s, SERIAL_STAT_MISSED_WRITE_COUNT);
		return;
	}
	reg_write(s, offset, data[0]);
	update_irq(s, false);
	rx_space_check(s);
}

static void serial_reset(struct device *dev)
{
	struct serial *s = to_serial(dev);

	regs_power_on(&s->r);
	update_irq(s, true);
	rx_space_check(s);
}

/* Record (version 1): u8 version, dll, dlm, ier, fcr, lcr, mcr, lsr, msr,
 * scr, thr_pending, then the rx FIFO as a blob (u32 length, bytes, oldest
 * first). */
static int serial_save(struct device *dev, struct state_writer *w)
{
	struct serial *s = to_serial(dev);
	const struct serial_regs *r = &s->r;
	uint8_t rx[SERIAL_FIFO_SIZE];

	for (unsigned i = 0; i < r->rx_count; i++)
		rx[i] = r->rx[(r->rx_head + i) % SERIAL_FIFO_SIZE];
	state_put_u8(w, SERIAL_STATE_VERSION);
	state_put_u8(w, r->dll);
	state_put_u8(w, r->dlm);
	state_put_u8(w, r->ier);
	state_put_u8(w, r->fcr);
	state_put_u8(w, r->lcr);
	state_put_u8(w, r->mcr);
	state_put_u8(w, lsr_value(r));
	state_put_u8(w, r->msr);
	state_put_u8(w, r->scr);
	state_put_u8(w, r->thr_pending);
	state_put_blob(w, rx, r->rx_count);
	return state_writer_error(w);
}

/* Rejects what the model can never reach, so a restored device is always
 * one the guest could have produced. */
static void validate(struct state_reader *rd, const struct serial_regs *r, uint8_t lsr,
		     uint8_t thr_pending)
{
	if (r->ier & ~IER_MASK)
		state_reader_reject(rd, "serial: IER reserved bits set");
	if ((r->fcr & ~(FCR_ENABLE | FCR_TRIGGER)) || (r->fcr && !(r->fcr & FCR_ENABLE)))
		state_reader_reject(rd, "serial: FCR holds bits that are not state");
	if (r->mcr & ~MCR_MASK)
		state_reader_reject(rd, "serial: MCR reserved bits set");
	if (lsr & ~(LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT))
		state_reader_reject(rd, "serial: LSR error bits the model never sets");
	if ((lsr & (LSR_THRE | LSR_TEMT)) != (LSR_THRE | LSR_TEMT))
		state_reader_reject(rd, "serial: LSR says the transmitter is busy");
	if (!(lsr & LSR_DR) != !r->rx_count)
		state_reader_reject(rd, "serial: LSR.DR disagrees with the rx FIFO");
	if ((r->msr & ~MSR_DELTAS) != msr_lines_for(r->mcr))
		state_reader_reject(rd, "serial: MSR lines disagree with MCR");
	if (thr_pending > 1 || (thr_pending && !(r->ier & IER_THRI)))
		state_reader_reject(rd, "serial: THRE pending without IER.THRI");
}

static int serial_restore(struct device *dev, struct state_reader *rd)
{
	struct serial *s = to_serial(dev);
	struct serial_regs r;
	uint8_t lsr, thr_pending;
	int err;

	memset(&r, 0, sizeof(r));
	if (state_get_u8(rd) != SERIAL_STATE_VERSION)
		state_reader_reject(rd, "serial: unknown state version");
	r.dll = state_get_u8(rd);
	r.dlm = state_get_u8(rd);
	r.ier = state_get_u8(rd);
	r.fcr = state_get_u8(rd);
	r.lcr = state_get_u8(rd);
	r.mcr = state_get_u8(rd);
	lsr = state_get_u8(rd);
	r.msr = state_get_u8(rd);
	r.scr = state_get_u8(rd);
	thr_pending = state_get_u8(rd);
	r.rx_count = (unsigned)state_get_blob(rd, r.rx, sizeof(r.rx));
	err = state_reader_error(rd);
	if (err)
		return err;
	validate(rd, &r, lsr, thr_pending);
	err = state_reader_error(rd);
	if (err)
		return err;
	r.overrun = lsr & LSR_OE;
	r.thr_pending = thr_pending;
	/* Commit only a fully valid record: a failed restore changes nothing. */
	s->r = r;
	update_irq(s, true);
	rx_space_check(s);
	return 0;
}

static void serial_destroy(struct device *dev)
{
	device_fini(dev);
	free(to_serial(dev));
}

static const struct device_ops serial_ops = {
	.kind = "serial",
	.read = serial_read,
	.write = serial_write,
	.reset = serial_reset,
	.save = serial_save,
	.restore = serial_restore,
	.destroy = serial_destroy,
};

int serial_create(const struct serial_config *cfg, struct device **out)
{
	struct serial *s;

	if (!cfg || !out)
		return err_fail(-EINVAL, "missing config or output pointer");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_fail(-ENOMEM, "cannot allocate the serial device");
	device_init(&s->dev, &serial_ops);
	s->cfg = *cfg;
	regs_power_on(&s->r);
	/* The line starts low and nobody has been told otherwise. */
	s->irq_level = 0;
	*out = &s->dev;
	return 0;
}

size_t serial_push_input(struct device *dev, const uint8_t *buf, size_t len)
{
	struct serial *s = to_serial(dev);
	size_t n = 0;

	if (!len)
		return 0;
	pthread_mutex_lock(&dev->lock);
	while (n < len && rx_can_take_host_input(s))
		rx_put(&s->r, buf[n++]);
	if (n < len)
		s->rx_waiting = true;
	update_irq(s, false);
	pthread_mutex_unlock(&dev->lock);
	return n;
}
