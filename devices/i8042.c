/* i8042 keyboard controller model. See i8042.h for the supported subset. */
#include "devices/i8042.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

#define OFS_DATA 0
#define OFS_STATUS 4 /* read: status; write: command */

#define STR_OBF 0x01
#define STR_SYS 0x04
#define STR_CMDDAT 0x08  /* the last write went to the command port */
#define STR_KEYLOCK 0x10 /* 1: keyboard not inhibited by the key lock */

#define CTR_KBDINT 0x01
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_MASK 0x7f /* bit 7 is reserved */

#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_OUTP 0xd0
#define CMD_WRITE_OUTP 0xd1
#define CMD_PULSE_BASE 0xf0 /* 0xf0-0xff: low nibble masks the lines pulsed */

#define OUTP_RESET 0x01 /* active low CPU reset line */
#define OUTP_A20 0x02
#define POWER_ON_CTR (CTR_KBDINT | CTR_SYS)
#define POWER_ON_OUTP (OUTP_RESET | OUTP_A20)

#define KBD_ACK 0xfa
#define KBD_BAT_OK 0xaa
#define KBD_CMD_RESET 0xff

#define I8042_STATE_VERSION 1

struct i8042_regs {
	uint8_t ctr;     /* the "command byte" */
	uint8_t outp;    /* output port */
	uint8_t pending; /* command waiting for its data byte, or 0 */
	bool cmddat;
	uint8_t buf[I8042_BUF_SIZE]; /* output buffer, read through port 0x60 */
	unsigned head, count;
};

struct i8042 {
	struct device dev; /* first, so a struct device * converts back */
	struct i8042_config cfg;
	struct i8042_regs r;
	int irq_level; /* the level the line was last driven to */
	bool irq_warned;
};

static struct i8042 *to_i8042(struct device *dev)
{
	return (struct i8042 *)dev;
}

static void regs_power_on(struct i8042_regs *r)
{
	memset(r, 0, sizeof(*r));
	r->ctr = POWER_ON_CTR;
	r->outp = POWER_ON_OUTP;
}

static void drive_irq(struct i8042 *s, int level)
{
	int err = irq_line_set(&s->cfg.irq, level);

	if (!err) {
		s->irq_level = level;
	} else if (!s->irq_warned) {
		s->irq_warned = true;
		log_warn("i8042: cannot set irq %u to %d: %d", s->cfg.irq.gsi, level, err);
	}
}

/* IRQ 1 follows "output buffer full and keyboard interrupt enabled". */
static void update_irq(struct i8042 *s, bool force)
{
	int level = s->r.count && (s->r.ctr & CTR_KBDINT);

	if (force || level != s->irq_level)
		drive_irq(s, level);
}

static bool buf_push(struct i8042_regs *r, uint8_t b)
{
	if (r->count == I8042_BUF_SIZE)
		return false;
	r->buf[(r->head + r->count) % I8042_BUF_SIZE] = b;
	r->count++;
	return true;
}

static uint8_t buf_pop(struct i8042_regs *r)
{
	uint8_t b;

	if (!r->count)
		return 0;
	b = r->buf[r->head];
	r->head = (r->head + 1) % I8042_BUF_SIZE;
	r->count--;
	return b;
}

static void buf_flush(struct i8042_regs *r)
{
	r->head = 0;
	r->count = 0;
}

/* A reply must be the next byte the driver reads, so it replaces whatever
 * was queued (as Firecracker does). */
static void reply(struct i8042_regs *r, uint8_t b)
{
	buf_flush(r);
	buf_push(r, b);
}

static void request_reset(struct i8042 *s)
{
	if (s->cfg.on_reset)
		s->cfg.on_reset(s->cfg.reset_opaque);
}

static void write_command(struct i8042 *s, uint8_t cmd)
{
	struct i8042_regs *r = &s->r;

	r->cmddat = true;
	r->pending = 0; /* a new command abandons one waiting for data */
	switch (cmd) {
	case CMD_READ_CTR:
		reply(r, r->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
		r->pending = cmd;
		break;
	case CMD_SELF_TEST:
		reply(r, 0x55);
		break;
	case CMD_KBD_TEST:
		reply(r, 0x00); /* no clock or data line stuck */
		break;
	case CMD_KBD_DISABLE:
		r->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		r->ctr &= (uint8_t)~CTR_KBDDIS;
		break;
	case CMD_AUX_DISABLE:
		r->ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		r->ctr &= (uint8_t)~CTR_AUXDIS;
		break;
	case CMD_READ_OUTP:
		reply(r, r->outp);
		break;
	default:
		/* Pulse commands: a 0 in the mask pulses that line low, and
		 * line 0 is the CPU reset. Anything else is not modelled. */
		if (cmd >= CMD_PULSE_BASE && !(cmd & OUTP_RESET))
			request_reset(s);
		break;
	}
}

static void write_data(struct i8042 *s, uint8_t val)
{
	struct i8042_regs *r = &s->r;
	uint8_t cmd = r->pending;

	r->cmddat = false;
	r->pending = 0;
	if (cmd == CMD_WRITE_CTR) {
		r->ctr = val & CTR_MASK;
	} else if (cmd == CMD_WRITE_OUTP) {
		r->outp = val;
		if (!(val & OUTP_RESET))
			request_reset(s);
	} else {
		/* To the keyboard, which acknowledges every byte. */
		reply(r, KBD_ACK);
		if (val == KBD_CMD_RESET)
			buf_push(r, KBD_BAT_OK);
	}
}

static uint8_t read_data(struct i8042 *s)
{
	uint8_t b = buf_pop(&s->r);

	/* The next byte moves into the output buffer: drop the line so an
	 * edge-triggered PIC sees a fresh interrupt for it. */
	if (s->r.count && s->irq_level)
		drive_irq(s, 0);
	return b;
}

static uint8_t status(const struct i8042_regs *r)
{
	return (uint8_t)((r->count ? STR_OBF : 0) | (r->ctr & CTR_SYS ? STR_SYS : 0) |
			 (r->cmddat ? STR_CMDDAT : 0) | STR_KEYLOCK);
}

static void i8042_read(struct device *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct i8042 *s = to_i8042(dev);

	if (!len)
		return;
	if (len != 1 || (offset != OFS_DATA && offset != OFS_STATUS)) {
		memset(data, 0xff, len);
		return;
	}
	if (offset == OFS_DATA)
		data[0] = read_data(s);
	else
		data[0] = status(&s->r);
	update_irq(s, false);
}

static void i8042_write(struct device *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct i8042 *s = to_i8042(dev);

	if (len != 1 || (offset != OFS_DATA && offset != OFS_STATUS))
		return;
	if (offset == OFS_DATA)
		write_data(s, data[0]);
	else
		write_command(s, data[0]);
	update_irq(s, false);
}

static void i8042_reset(struct device *dev)
{
	struct i8042 *s = to_i8042(dev);

	regs_power_on(&s->r);
	update_irq(s, true);
}

/* Record (version 1): u8 version, ctr, outp, pending command, cmddat, then
 * the output buffer as a blob (u32 length, bytes, oldest first). */
static int i8042_save(struct device *dev, struct state_writer *w)
{
	struct i8042 *s = to_i8042(dev);
	const struct i8042_regs *r = &s->r;
	uint8_t buf[I8042_BUF_SIZE];

	for (unsigned i = 0; i < r->count; i++)
		buf[i] = r->buf[(r->head + i) % I8042_BUF_SIZE];
	state_put_u8(w, I8042_STATE_VERSION);
	state_put_u8(w, r->ctr);
	state_put_u8(w, r->outp);
	state_put_u8(w, r->pending);
	state_put_u8(w, r->cmddat);
	state_put_blob(w, buf, r->count);
	return state_writer_error(w);
}

static int i8042_restore(struct device *dev, struct state_reader *rd)
{
	struct i8042 *s = to_i8042(dev);
	struct i8042_regs r;
	uint8_t cmddat;

	memset(&r, 0, sizeof(r));
	if (state_get_u8(rd) != I8042_STATE_VERSION)
		state_reader_reject(rd, "i8042: unknown state version");
	r.ctr = state_get_u8(rd);
	r.outp = state_get_u8(rd); /* any value: every output port is reachable */
	r.pending = state_get_u8(rd);
	cmddat = state_get_u8(rd);
	r.count = (unsigned)state_get_blob(rd, r.buf, sizeof(r.buf));
	if (r.ctr & ~CTR_MASK)
		state_reader_reject(rd, "i8042: command byte reserved bit set");
	if (r.pending && r.pending != CMD_WRITE_CTR && r.pending != CMD_WRITE_OUTP)
		state_reader_reject(rd, "i8042: pending command takes no data");
	if (cmddat > 1)
		state_reader_reject(rd, "i8042: command/data flag is not 0 or 1");
	if (state_reader_error(rd))
		return state_reader_error(rd);
	r.cmddat = cmddat;
	/* Commit only a fully valid record: a failed restore changes nothing. */
	s->r = r;
	update_irq(s, true);
	return 0;
}

static void i8042_destroy(struct device *dev)
{
	device_fini(dev);
	free(to_i8042(dev));
}

static const struct device_ops i8042_ops = {
	.kind = "i8042",
	.read = i8042_read,
	.write = i8042_write,
	.reset = i8042_reset,
	.save = i8042_save,
	.restore = i8042_restore,
	.destroy = i8042_destroy,
};

int i8042_create(const struct i8042_config *cfg, struct device **out)
{
	struct i8042 *s;

	if (!cfg || !out)
		return err_fail(-EINVAL, "missing config or output pointer");
	s = calloc(1, sizeof(*s));
	if (!s)
		return err_fail(-ENOMEM, "cannot allocate the i8042 device");
	device_init(&s->dev, &i8042_ops);
	s->cfg = *cfg;
	regs_power_on(&s->r);
	*out = &s->dev;
	return 0;
}

int i8042_send_ctrl_alt_del(struct device *dev)
{
	/* Scan code set 2 make codes: Ctrl, Alt, then the extended Delete. */
	static const uint8_t seq[] = { 0x14, 0x11, 0xe0, 0x71 };
	struct i8042 *s = to_i8042(dev);
	int err = 0;

	pthread_mutex_lock(&dev->lock);
	if (s->r.count + sizeof(seq) > I8042_BUF_SIZE) {
		err = err_fail(-ENOBUFS, "i8042 output buffer has %u of %u bytes in use", s->r.count,
			       I8042_BUF_SIZE);
	} else {
		for (unsigned i = 0; i < sizeof(seq); i++)
			buf_push(&s->r, seq[i]);
		update_irq(s, false);
	}
	pthread_mutex_unlock(&dev->lock);
	return err;
}
