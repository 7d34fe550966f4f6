/* The 16550A model, register by register, and the access sequences the
 * Linux 8250 driver performs (probe, THRE test, tx interrupt loop, console
 * write, rx interrupt). A fake irq line records every level it is driven
 * to; a fake output collects transmitted bytes. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "device_access.h"

#include "devices/serial.h"
#include "snapshot/state.h"
#include "vmm/log.h"

/* Register offsets and bits, spelled out here rather than shared with the
 * model so the test states the hardware contract independently. */
enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
       LSR = 5, MSR = 6, SCR = 7 };
#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xc0
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

#define HIST_MAX 256

struct ctx {
	struct device *dev;
	int level;
	int irq_calls;
	int hist[HIST_MAX];
	int irq_fail; /* fail the next N set_level calls */
	uint8_t out[8192];
	size_t out_len;
	ssize_t out_ret; /* 0: accept; otherwise returned as is */
	int rx_space_calls;
	sem_t rx_sem;
	int use_sem;
};

static int fake_set_level(void *opaque, uint32_t gsi, int level)
{
	struct ctx *c = opaque;

	assert_int_equal(gsi, 4);
	if (c->irq_fail > 0) {
		c->irq_fail--;
		return -EIO;
	}
	if (c->irq_calls < HIST_MAX)
		c->hist[c->irq_calls] = level;
	c->irq_calls++;
	c->level = level;
	return 0;
}

static ssize_t fake_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct ctx *c = opaque;

	if (c->out_ret)
		return c->out_ret;
	assert_true(c->out_len + len <= sizeof(c->out));
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return (ssize_t)len;
}

static void fake_rx_space(void *opaque)
{
	struct ctx *c = opaque;

	c->rx_space_calls++;
	if (c->use_sem)
		sem_post(&c->rx_sem);
}

static struct serial_config make_cfg(struct ctx *c)
{
	struct serial_config cfg = {
		.irq = { .set_level = fake_set_level, .opaque = c, .gsi = 4 },
		.output = { .write = fake_write, .opaque = c },
		.on_rx_space = fake_rx_space,
		.rx_space_opaque = c,
	};
	return cfg;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct serial_config cfg = make_cfg(c);

	assert_non_null(c);
	assert_int_equal(serial_create(&cfg, &c->dev), 0);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	c->dev->ops->destroy(c->dev);
	free(c);
	return 0;
}

/* Register access the way the bus does it: one byte, under dev->lock. */
static uint8_t rd(struct ctx *c, uint64_t off)
{
	return device_test_read8(c->dev, off);
}

static void wr(struct ctx *c, uint64_t off, uint8_t v)
{
	device_test_write8(c->dev, off, v);
}

static size_t push(struct ctx *c, const char *s)
{
	return serial_push_input(c->dev, (const uint8_t *)s, strlen(s));
}

static void assert_hist(struct ctx *c, int n, ...)
{
	va_list ap;

	assert_int_equal(c->irq_calls, n);
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(c->hist[i], va_arg(ap, int));
	va_end(ap);
}

/* ---- power-on state ---- */

static void test_power_on_values(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(rd(c, IER), 0);
	assert_int_equal(rd(c, IIR), IIR_NONE);
	assert_int_equal(rd(c, LCR), 0);
	assert_int_equal(rd(c, MCR), 0);
	assert_int_equal(rd(c, LSR), LSR_THRE | LSR_TEMT);
	/* Carrier, DSR and CTS asserted so the console is never held off. */
	assert_int_equal(rd(c, MSR), MSR_DCD | MSR_DSR | MSR_CTS);
	assert_int_equal(rd(c, SCR), 0);
	assert_int_equal(rd(c, RBR), 0);
	wr(c, LCR, 0x80);
	assert_int_equal(rd(c, DLL), 0x0c); /* 9600 baud at 1.8432 MHz */
	assert_int_equal(rd(c, DLM), 0);
	assert_int_equal(c->irq_calls, 0);
	assert_int_equal(c->level, 0);
}

static void test_create_rejects_bad_args(void **state)
{
	struct ctx *c = *state;
	struct serial_config cfg = make_cfg(c);
	struct device *dev = NULL;

	assert_int_equal(serial_create(NULL, &dev), -EINVAL);
	assert_int_equal(serial_create(&cfg, NULL), -EINVAL);
	assert_null(dev);
}

static void test_create_with_no_callbacks(void **state)
{
	struct serial_config cfg;
	struct device *dev;
	uint8_t v = 'x';

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(serial_create(&cfg, &dev), 0);
	pthread_mutex_lock(&dev->lock);
	dev->ops->write(dev, IER, &(uint8_t){ IER_THRI | IER_RDI }, 1);
	dev->ops->write(dev, THR, &v, 1); /* discarded, no crash */
	pthread_mutex_unlock(&dev->lock);
	assert_int_equal(serial_push_input(dev, &v, 1), 1);
	pthread_mutex_lock(&dev->lock);
	dev->ops->read(dev, RBR, &v, 1);
	pthread_mutex_unlock(&dev->lock);
	assert_int_equal(v, 'x');
	assert_string_equal(dev->ops->kind, "serial");
	dev->ops->destroy(dev);
}

/* ---- transmit ---- */

static void test_thr_write_goes_to_output(void **state)
{
	struct ctx *c = *state;

	for (const char *p = "hello\n"; *p; p++)
		wr(c, THR, (uint8_t)*p);
	assert_int_equal(c->out_len, 6);
	assert_memory_equal(c->out, "hello\n", 6);
	assert_int_equal(rd(c, LSR), LSR_THRE | LSR_TEMT);
	assert_int_equal(c->irq_calls, 0); /* ETBEI clear: no interrupt */
}

static void test_output_failure_drops_byte(void **state)
{
	struct ctx *c = *state;

	c->out_ret = -EAGAIN;
	wr(c, THR, 'a');
	c->out_ret = 0;
	wr(c, THR, 'b');
	assert_int_equal(c->out_len, 1);
	assert_int_equal(c->out[0], 'b');
	assert_int_equal(rd(c, LSR), LSR_THRE | LSR_TEMT);
}

/* ---- simple registers ---- */

static void test_dlab_switches_offsets_0_and_1(void **state)
{
	struct ctx *c = *state;

	wr(c, IER, IER_RDI);
	wr(c, LCR, 0x83);
	assert_int_equal(rd(c, LCR), 0x83);
	wr(c, DLL, 0x01);
	wr(c, DLM, 0x02);
	assert_int_equal(rd(c, DLL), 0x01);
	assert_int_equal(rd(c, DLM), 0x02);
	assert_int_equal(c->out_len, 0); /* the DLL write was not a THR write */
	assert_int_equal(push(c, "z"), 1);
	assert_int_equal(rd(c, DLL), 0x01); /* RBR hidden: z stays queued */
	wr(c, LCR, 0x03);
	assert_int_equal(rd(c, IER), IER_RDI);
	assert_int_equal(rd(c, RBR), 'z');
	wr(c, LCR, 0x80);
	assert_int_equal(rd(c, DLL), 0x01);
	assert_int_equal(rd(c, DLM), 0x02);
}

static void test_ier_upper_bits_read_zero(void **state)
{
	struct ctx *c = *state;

	/* The 8250 probe writes 0x0f and expects it back, then 0. */
	wr(c, IER, 0xff);
	assert_int_equal(rd(c, IER), 0x0f);
	wr(c, IER, 0);
	assert_int_equal(rd(c, IER), 0);
}

static void test_scratch_round_trip(void **state)
{
	struct ctx *c = *state;

	for (int v = 0; v < 256; v += 51) {
		wr(c, SCR, (uint8_t)v);
		assert_int_equal(rd(c, SCR), v);
	}
}

static void test_mcr_upper_bits_read_zero(void **state)
{
	struct ctx *c = *state;

	wr(c, MCR, 0xff & ~MCR_LOOP);
	assert_int_equal(rd(c, MCR), 0x0f);
	wr(c, MCR, 0);
	assert_int_equal(rd(c, MCR), 0);
}

static void test_lsr_msr_writes_ignored(void **state)
{
	struct ctx *c = *state;

	wr(c, LSR, 0);
	wr(c, MSR, 0);
	assert_int_equal(rd(c, LSR), LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(c, MSR), MSR_DCD | MSR_DSR | MSR_CTS);
}

/* ---- FIFO control ---- */

static void test_fcr_fifo_enable_sets_iir_bits(void **state)
{
	struct ctx *c = *state;

	wr(c, FCR, 0x01);
	assert_int_equal(rd(c, IIR), IIR_FIFO | IIR_NONE);
	/* The 16750 probe (bit 5) must not find a 64-byte FIFO. */
	wr(c, FCR, 0x21);
	assert_int_equal(rd(c, IIR), IIR_FIFO | IIR_NONE);
	wr(c, FCR, 0xc1);
	assert_int_equal(rd(c, IIR), IIR_FIFO | IIR_NONE);
	wr(c, FCR, 0x00);
	assert_int_equal(rd(c, IIR), IIR_NONE);
	/* Trigger bits without the enable bit are ignored. */
	wr(c, FCR, 0xc0);
	assert_int_equal(rd(c, IIR), IIR_NONE);
}

static void test_fcr_clear_rx(void **state)
{
	struct ctx *c = *state;

	wr(c, FCR, 0x01);
	assert_int_equal(push(c, "abc"), 3);
	assert_int_equal(rd(c, LSR) & LSR_DR, LSR_DR);
	wr(c, FCR, 0x01 | 0x02 | 0x04);
	assert_int_equal(rd(c, LSR), LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(c, RBR), 0);
	assert_int_equal(rd(c, IIR), IIR_FIFO | IIR_NONE);
	/* Clearing only tx leaves rx alone. */
	assert_int_equal(push(c, "d"), 1);
	wr(c, FCR, 0x01 | 0x04);
	assert_int_equal(rd(c, RBR), 'd');
}

static void test_fcr_toggling_enable_clears_rx(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(push(c, "ab"), 2);
	wr(c, FCR, 0x01); /* enable: FIFOs are reset */
	assert_int_equal(rd(c, LSR) & LSR_DR, 0);
	assert_int_equal(push(c, "cd"), 2);
	wr(c, FCR, 0x01); /* no change: data kept */
	assert_int_equal(rd(c, RBR), 'c');
	wr(c, FCR, 0x00); /* disable: reset again */
	assert_int_equal(rd(c, LSR) & LSR_DR, 0);
}

/* ---- receive ---- */

static void test_rx_sets_dr_and_interrupt(void **state)
{
	struct ctx *c = *state;

	wr(c, IER, IER_RDI);
	assert_int_equal(c->irq_calls, 0);
	assert_int_equal(push(c, "ab"), 2);
	assert_int_equal(rd(c, LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(c, IIR), IIR_RDI);
	assert_int_equal(c->level, 1);
	assert_int_equal(rd(c, RBR), 'a');
	assert_int_equal(c->level, 1);
	assert_int_equal(rd(c, IIR), IIR_RDI); /* reading IIR does not clear RDI */
	assert_int_equal(rd(c, RBR), 'b');
	assert_int_equal(rd(c, LSR), LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(c, IIR), IIR_NONE);
	assert_hist(c, 2, 1, 0);
	assert_int_equal(rd(c, RBR), 0); /* empty RBR reads 0 */
}

static void test_rx_without_erbfi_raises_nothing(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(push(c, "x"), 1);
	assert_int_equal(rd(c, IIR), IIR_NONE);
	assert_int_equal(c->irq_calls, 0);
	/* Enabling ERBFI with data waiting raises it at once. */
	wr(c, IER, IER_RDI);
	assert_int_equal(c->level, 1);
	wr(c, IER, 0);
	assert_hist(c, 2, 1, 0);
}

static void test_rx_fifo_bounded_and_space_notified(void **state)
{
	struct ctx *c = *state;
	char big[101];

	memset(big, 'q', 100);
	big[100] = 0;
	assert_int_equal(push(c, ""), 0);
	assert_int_equal(push(c, big), SERIAL_FIFO_SIZE);
	assert_int_equal(push(c, "r"), 0);
	assert_int_equal(c->rx_space_calls, 0);
	for (int i = 0; i < SERIAL_FIFO_SIZE - SERIAL_RX_LOW_WATER - 1; i++)
		assert_int_equal(rd(c, RBR), 'q');
	assert_int_equal(c->rx_space_calls, 0);
	assert_int_equal(rd(c, RBR), 'q'); /* drained to the low-water mark */
	assert_int_equal(c->rx_space_calls, 1);
	for (int i = 0; i < SERIAL_RX_LOW_WATER; i++)
		assert_int_equal(rd(c, RBR), 'q');
	assert_int_equal(c->rx_space_calls, 1); /* once per refusal */
	assert_int_equal(rd(c, LSR) & LSR_DR, 0);
	/* A full push that fits asks for no notification. */
	assert_int_equal(push(c, "st"), 2);
	assert_int_equal(rd(c, RBR), 's');
	assert_int_equal(rd(c, RBR), 't');
	assert_int_equal(c->rx_space_calls, 1);
	/* No overrun is ever flagged for host input. */
	assert_int_equal(rd(c, LSR) & LSR_OE, 0);
}

static void test_rx_space_notified_on_fifo_clear(void **state)
{
	struct ctx *c = *state;
	uint8_t big[SERIAL_FIFO_SIZE + 1] = { 0 };

	assert_int_equal(serial_push_input(c->dev, big, sizeof(big)), SERIAL_FIFO_SIZE);
	wr(c, FCR, 0x01); /* enable -> clear */
	assert_int_equal(c->rx_space_calls, 1);
}

/* ---- loopback ---- */

static void test_loopback_probe_as_linux_does(void **state)
{
	struct ctx *c = *state;

	/* autoconfig: MCR = LOOP | OUT2 | RTS; expects MSR & 0xf0 == 0x90. */
	wr(c, MCR, MCR_LOOP | 0x0a);
	assert_int_equal(rd(c, MSR) & 0xf0, MSR_DCD | MSR_CTS);
	wr(c, MCR, MCR_LOOP | 0x0f);
	assert_int_equal(rd(c, MSR) & 0xf0, 0xf0);
	wr(c, MCR, MCR_LOOP);
	assert_int_equal(rd(c, MSR) & 0xf0, 0);
	wr(c, MCR, 0);
	assert_int_equal(rd(c, MSR) & 0xf0, MSR_DCD | MSR_DSR | MSR_CTS);
}

static void test_loopback_echoes_thr(void **state)
{
	struct ctx *c = *state;

	wr(c, MCR, MCR_LOOP);
	wr(c, IER, IER_RDI);
	wr(c, THR, 'L');
	assert_int_equal(c->out_len, 0);
	assert_int_equal(rd(c, LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(c, IIR), IIR_RDI);
	assert_int_equal(rd(c, RBR), 'L');
	assert_int_equal(rd(c, IIR), IIR_NONE);
	wr(c, MCR, 0);
	wr(c, THR, 'M');
	assert_int_equal(c->out_len, 1);
	assert_int_equal(c->out[0], 'M');
}

static void test_loopback_msr_deltas(void **state)
{
	struct ctx *c = *state;

	wr(c, MCR, MCR_LOOP);
	/* DCD, DSR and CTS fell when the lines were looped back. */
	assert_int_equal(rd(c, MSR), MSR_DCTS | MSR_DDSR | MSR_DDCD);
	assert_int_equal(rd(c, MSR), 0); /* deltas clear on read */
	wr(c, MCR, MCR_LOOP | MCR_RTS);
	assert_int_equal(rd(c, MSR), MSR_CTS | MSR_DCTS);
	wr(c, MCR, MCR_LOOP | MCR_RTS | MCR_DTR);
	assert_int_equal(rd(c, MSR), MSR_CTS | MSR_DSR | MSR_DDSR);
	wr(c, MCR, MCR_LOOP | MCR_RTS | MCR_DTR | MCR_OUT2);
	assert_int_equal(rd(c, MSR), MSR_CTS | MSR_DSR | MSR_DCD | MSR_DDCD);
	/* RI: TERI only on the trailing edge. */
	wr(c, MCR, MCR_LOOP | MCR_OUT1);
	assert_int_equal(rd(c, MSR), MSR_RI | MSR_DCTS | MSR_DDSR | MSR_DDCD);
	wr(c, MCR, MCR_LOOP);
	assert_int_equal(rd(c, MSR), MSR_TERI);
	/* Leaving loopback raises the lines again. */
	wr(c, MCR, 0);
	assert_int_equal(rd(c, MSR), MSR_DCD | MSR_DSR | MSR_CTS | MSR_DCTS | MSR_DDSR | MSR_DDCD);
	assert_int_equal(rd(c, MSR), MSR_DCD | MSR_DSR | MSR_CTS);
	/* Outside loopback the MCR lines do not reach MSR. */
	wr(c, MCR, MCR_OUT1 | MCR_OUT2 | MCR_RTS | MCR_DTR);
	assert_int_equal(rd(c, MSR), MSR_DCD | MSR_DSR | MSR_CTS);
}

static void test_modem_status_interrupt(void **state)
{
	struct ctx *c = *state;

	wr(c, IER, IER_MSI);
	assert_int_equal(c->irq_calls, 0);
	wr(c, MCR, MCR_LOOP);
	assert_int_equal(c->level, 1);
	assert_int_equal(rd(c, IIR), IIR_MSI);
	assert_int_equal(c->level, 1); /* IIR read does not clear MSI */
	rd(c, MSR);
	assert_int_equal(rd(c, IIR), IIR_NONE);
	assert_hist(c, 2, 1, 0);
}

static void test_loopback_refuses_host_input(void **state)
{
	struct ctx *c = *state;

	wr(c, MCR, MCR_LOOP);
	assert_int_equal(push(c, "x"), 0);
	assert_int_equal(c->rx_space_calls, 0);
	wr(c, MCR, MCR_LOOP | MCR_RTS); /* still looped */
	assert_int_equal(c->rx_space_calls, 0);
	wr(c, MCR, 0);
	assert_int_equal(c->rx_space_calls, 1);
	assert_int_equal(push(c, "x"), 1);
	assert_int_equal(rd(c, RBR), 'x');
}

static void test_loopback_overflow_sets_oe(void **state)
{
	struct ctx *c = *state;

	wr(c, MCR, MCR_LOOP);
	for (int i = 0; i < SERIAL_FIFO_SIZE; i++)
		wr(c, THR, (uint8_t)i);
	assert_int_equal(rd(c, LSR), LSR_DR | LSR_THRE | LSR_TEMT);
	wr(c, IER, IER_RLSI | IER_RDI);
	assert_int_equal(rd(c, IIR), IIR_RDI);
	wr(c, THR, 0xee); /* lost */
	assert_int_equal(c->level, 1);
	assert_int_equal(rd(c, IIR), IIR_RLSI);
	assert_int_equal(rd(c, LSR), LSR_OE | LSR_DR | LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(c, LSR), LSR_DR | LSR_THRE | LSR_TEMT); /* OE clears on read */
	assert_int_equal(rd(c, IIR), IIR_RDI);
	for (int i = 0; i < SERIAL_FIFO_SIZE; i++)
		assert_int_equal(rd(c, RBR), i); /* earlier data intact */
	assert_int_equal(rd(c, IIR), IIR_NONE);
	assert_int_equal(c->level, 0);
}

/* ---- interrupt identification ---- */

static void test_iir_priority_order(void **state)
{
	struct ctx *c = *state;

	/* Make every source pending: OE (loopback overflow), data, THRE, and
	 * modem status deltas. */
	wr(c, MCR, MCR_LOOP);
	for (int i = 0; i <= SERIAL_FIFO_SIZE; i++)
		wr(c, THR, 'p');
	wr(c, FCR, 0x01 | 0x02);
	for (int i = 0; i <= SERIAL_FIFO_SIZE; i++)
		wr(c, THR, 'p');
	wr(c, IER, 0x0f);
	assert_int_equal(rd(c, IIR), IIR_FIFO | IIR_RLSI);
	rd(c, LSR);
	assert_int_equal(rd(c, IIR), IIR_FIFO | IIR_RDI);
	while (rd(c, LSR) & LSR_DR)
		rd(c, RBR);
	assert_int_equal(rd(c, IIR), IIR_FIFO | IIR_THRI);
	/* That read was the THRE report: it cleared THRE. */
	assert_int_equal(rd(c, IIR), IIR_FIFO | IIR_MSI);
	rd(c, MSR);
	assert_int_equal(rd(c, IIR), IIR_FIFO | IIR_NONE);
	assert_int_equal(c->level, 0);
}

static void test_iir_read_does_not_clear_masked_thre(void **state)
{
	struct ctx *c = *state;

	/* THRE pending behind a higher-priority RDI is not cleared by an IIR
	 * read that reports RDI. */
	wr(c, IER, IER_RDI | IER_THRI);
	assert_int_equal(push(c, "a"), 1);
	assert_int_equal(rd(c, IIR), IIR_RDI);
	rd(c, RBR);
	assert_int_equal(rd(c, IIR), IIR_THRI);
	assert_int_equal(rd(c, IIR), IIR_NONE);
}

/* ---- THRE interrupt, as the 8250 driver exercises it ---- */

static void test_thre_test_at_startup(void **state)
{
	struct ctx *c = *state;
	uint8_t iir1, iir2;

	/* serial8250_do_startup's UART_BUG_THRE probe. */
	wr(c, IER, IER_THRI);
	iir1 = rd(c, IIR);
	wr(c, IER, 0);
	wr(c, IER, IER_THRI);
	iir2 = rd(c, IIR);
	wr(c, IER, 0);
	assert_int_equal(iir1, IIR_THRI);
	assert_int_equal(iir2, IIR_THRI);
	/* The TXEN (serial-over-LAN) probe right after. */
	wr(c, IER, IER_THRI);
	assert_true(rd(c, LSR) & LSR_TEMT);
	assert_int_equal(rd(c, IIR) & IIR_NONE, 0);
	wr(c, IER, 0);
	assert_int_equal(c->level, 0);
	assert_hist(c, 6, 1, 0, 1, 0, 1, 0);
}

static void test_thre_cleared_by_iir_read(void **state)
{
	struct ctx *c = *state;

	wr(c, IER, IER_THRI);
	assert_int_equal(c->level, 1);
	assert_int_equal(rd(c, IIR), IIR_THRI);
	assert_int_equal(c->level, 0);
	assert_int_equal(rd(c, IIR), IIR_NONE);
	/* Rewriting IER with ETBEI already set is no rising edge. */
	wr(c, IER, IER_THRI);
	assert_int_equal(rd(c, IIR), IIR_NONE);
	assert_hist(c, 2, 1, 0);
}

static void test_thre_cleared_by_disabling(void **state)
{
	struct ctx *c = *state;

	wr(c, IER, IER_THRI);
	wr(c, IER, IER_RDI);
	assert_int_equal(rd(c, IIR), IIR_NONE);
	assert_hist(c, 2, 1, 0);
}

static void test_thr_write_rearms_thre(void **state)
{
	struct ctx *c = *state;

	wr(c, IER, IER_THRI);
	rd(c, IIR);
	wr(c, THR, 'a');
	assert_int_equal(rd(c, IIR), IIR_THRI);
	assert_hist(c, 4, 1, 0, 1, 0);
	/* Back-to-back writes with the line already high give no new edge. */
	wr(c, THR, 'b');
	wr(c, THR, 'c');
	assert_int_equal(c->irq_calls, 5);
	assert_int_equal(c->level, 1);
	assert_memory_equal(c->out, "abc", 3);
}

static void test_linux_tx_interrupt_loop(void **state)
{
	struct ctx *c = *state;
	const char *msg = "0123456789abcdefXYZ"; /* 19 bytes: two batches of <= 16 */
	size_t sent = 0, len = strlen(msg);
	int interrupts = 0;

	wr(c, FCR, 0x01);
	wr(c, MCR, MCR_OUT2 | MCR_RTS | MCR_DTR);
	wr(c, IER, IER_RDI | IER_RLSI);
	wr(c, IER, IER_RDI | IER_RLSI | IER_THRI); /* __start_tx */
	while (c->level) {
		uint8_t iir = rd(c, IIR); /* serial8250_handle_irq */
		uint8_t lsr;

		interrupts++;
		assert_int_equal(iir & 0x0f, IIR_THRI);
		lsr = rd(c, LSR);
		assert_true(lsr & LSR_THRE);
		if (sent == len) {
			wr(c, IER, IER_RDI | IER_RLSI); /* __stop_tx */
			continue;
		}
		for (int n = 0; n < 16 && sent < len; n++)
			wr(c, THR, (uint8_t)msg[sent++]);
	}
	assert_int_equal(interrupts, 3);
	assert_int_equal(c->out_len, len);
	assert_memory_equal(c->out, msg, len);
	/* Each handler pass dropped the line and the refill raised it again:
	 * every interrupt was a fresh edge. */
	assert_hist(c, 6, 1, 0, 1, 0, 1, 0);
}

static void test_linux_console_write(void **state)
{
	struct ctx *c = *state;
	uint8_t ier;

	wr(c, IER, IER_RDI);
	/* serial8250_console_write: save IER, mask, poll LSR, restore. */
	ier = rd(c, IER);
	wr(c, IER, 0);
	for (const char *p = "console"; *p; p++) {
		assert_int_equal(rd(c, LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
		wr(c, THR, (uint8_t)*p);
	}
	assert_int_equal(rd(c, LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
	wr(c, IER, ier);
	assert_int_equal(c->irq_calls, 0);
	assert_memory_equal(c->out, "console", 7);
}

static void test_linux_rx_interrupt(void **state)
{
	struct ctx *c = *state;
	char got[8] = { 0 };
	int n = 0;

	wr(c, IER, IER_RDI | IER_RLSI);
	assert_int_equal(push(c, "ls\n"), 3);
	assert_int_equal(c->level, 1);
	assert_int_equal(rd(c, IIR), IIR_RDI);
	while (rd(c, LSR) & LSR_DR) /* serial8250_rx_chars */
		got[n++] = (char)rd(c, RBR);
	assert_string_equal(got, "ls\n");
	assert_hist(c, 2, 1, 0);
}

/* ---- the irq line ---- */

static void test_irq_failure_is_retried(void **state)
{
	struct ctx *c = *state;

	c->irq_fail = 1;
	log_set_level(LOG_ERROR); /* the one warning is expected */
	wr(c, IER, IER_THRI); /* the line cannot be raised */
	assert_int_equal(c->irq_calls, 0);
	wr(c, SCR, 1); /* a write with no interrupt change */
	rd(c, LSR);
	/* The next state change drives the line again. */
	assert_int_equal(push(c, "a"), 1);
	log_set_level(LOG_WARN);
	assert_int_equal(c->level, 1);
}

/* ---- hostile accesses ---- */

static void test_wide_accesses_are_ignored(void **state)
{
	struct ctx *c = *state;
	static const uint32_t lens[] = { 2, 4, 8 };

	wr(c, IER, IER_THRI | IER_RDI);
	assert_int_equal(push(c, "w"), 1);
	c->irq_calls = 0;
	for (unsigned i = 0; i < 3; i++) {
		for (uint64_t off = 0; off < SERIAL_RANGE_LEN; off++) {
			uint8_t buf[8];

			memset(buf, 0, sizeof(buf));
			pthread_mutex_lock(&c->dev->lock);
			c->dev->ops->read(c->dev, off, buf, lens[i]);
			pthread_mutex_unlock(&c->dev->lock);
			for (uint32_t k = 0; k < lens[i]; k++)
				assert_int_equal(buf[k], 0xff);
			memset(buf, 0x41, sizeof(buf));
			pthread_mutex_lock(&c->dev->lock);
			c->dev->ops->write(c->dev, off, buf, lens[i]);
			pthread_mutex_unlock(&c->dev->lock);
		}
	}
	/* Nothing moved: data still queued, THRE still pending, registers
	 * unchanged, nothing sent. */
	assert_int_equal(c->irq_calls, 0);
	assert_int_equal(c->out_len, 0);
	assert_int_equal(rd(c, IER), IER_THRI | IER_RDI);
	assert_int_equal(rd(c, LCR), 0);
	assert_int_equal(rd(c, SCR), 0);
	assert_int_equal(rd(c, IIR), IIR_RDI);
	assert_int_equal(rd(c, RBR), 'w');
	assert_int_equal(rd(c, IIR), IIR_THRI);
}

static void test_unknown_offsets(void **state)
{
	struct ctx *c = *state;
	static const uint64_t offs[] = { 8, 9, 0x100, UINT64_MAX };
	uint8_t zero = 0;

	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(rd(c, offs[i]), 0xff);
		wr(c, offs[i], 0x5a);
	}
	pthread_mutex_lock(&c->dev->lock);
	c->dev->ops->read(c->dev, RBR, &zero, 0); /* len 0: nothing touched */
	c->dev->ops->write(c->dev, THR, &zero, 0);
	pthread_mutex_unlock(&c->dev->lock);
	assert_int_equal(zero, 0);
	assert_int_equal(c->out_len, 0);
	assert_int_equal(rd(c, SCR), 0);
}

/* ---- reset ---- */

static void test_reset_restores_power_on(void **state)
{
	struct ctx *c = *state;
	uint8_t big[SERIAL_FIFO_SIZE + 1] = { 0 };

	wr(c, LCR, 0x80);
	wr(c, DLL, 1);
	wr(c, LCR, 0x1b);
	wr(c, FCR, 0xc1);
	wr(c, IER, 0x0f);
	wr(c, SCR, 0x77);
	assert_int_equal(serial_push_input(c->dev, big, sizeof(big)), SERIAL_FIFO_SIZE);
	wr(c, MCR, 0x1f);
	assert_int_equal(c->level, 1);
	pthread_mutex_lock(&c->dev->lock);
	c->dev->ops->reset(c->dev);
	pthread_mutex_unlock(&c->dev->lock);
	assert_int_equal(c->level, 0);
	assert_int_equal(c->rx_space_calls, 1);
	assert_int_equal(rd(c, IER), 0);
	assert_int_equal(rd(c, IIR), IIR_NONE);
	assert_int_equal(rd(c, LCR), 0);
	assert_int_equal(rd(c, MCR), 0);
	assert_int_equal(rd(c, LSR), LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(c, MSR), MSR_DCD | MSR_DSR | MSR_CTS);
	assert_int_equal(rd(c, SCR), 0);
	wr(c, LCR, 0x80);
	assert_int_equal(rd(c, DLL), 0x0c);
}

/* ---- save / restore ---- */

static int save(struct ctx *c, struct state_writer *w)
{
	return device_test_save(c->dev, w);
}

static int restore(struct ctx *c, const uint8_t *buf, size_t len, size_t *left)
{
	return device_test_restore(c->dev, buf, len, left);
}

/* A busy state: divisor, line settings, FIFO on, loopback off, data and an
 * overrun waiting, modem deltas pending, THRE pending. */
static void make_busy(struct ctx *c)
{
	wr(c, LCR, 0x80);
	wr(c, DLL, 0x01);
	wr(c, DLM, 0x03);
	wr(c, LCR, 0x1b);
	wr(c, FCR, 0x81);
	wr(c, SCR, 0x5a);
	wr(c, MCR, MCR_LOOP | MCR_RTS);
	for (int i = 0; i <= SERIAL_FIFO_SIZE; i++)
		wr(c, THR, (uint8_t)(0x30 + i));
	wr(c, MCR, MCR_OUT2 | MCR_DTR);
	wr(c, IER, 0x0e);
}

/* Reads every register in a fixed order, side effects included, so two
 * devices in the same state give the same trace. */
static size_t trace(struct ctx *c, uint8_t *t)
{
	size_t n = 0;

	t[n++] = rd(c, LCR);
	t[n++] = rd(c, MCR);
	t[n++] = rd(c, SCR);
	t[n++] = rd(c, IER);
	t[n++] = rd(c, IIR);
	t[n++] = rd(c, IIR);
	t[n++] = rd(c, MSR);
	t[n++] = rd(c, MSR);
	t[n++] = rd(c, LSR);
	t[n++] = rd(c, LSR);
	for (int i = 0; i < SERIAL_FIFO_SIZE + 1; i++)
		t[n++] = rd(c, RBR);
	t[n++] = rd(c, IIR);
	wr(c, LCR, 0x80 | t[0]);
	t[n++] = rd(c, DLL);
	t[n++] = rd(c, DLM);
	wr(c, LCR, t[0]);
	t[n++] = (uint8_t)c->level;
	return n;
}

static void test_save_restore_round_trip(void **state)
{
	struct ctx *c = *state;
	struct ctx *d = NULL;
	struct state_writer w;
	uint8_t ta[128], tb[128];
	size_t na, nb, left;

	make_busy(c);
	assert_int_equal(save(c, &w), 0);
	setup((void **)&d);
	assert_int_equal(restore(d, w.buf, w.len, &left), 0);
	assert_int_equal(left, 0);
	assert_int_equal(d->level, 1); /* restore drives the line */
	na = trace(c, ta);
	nb = trace(d, tb);
	assert_int_equal(na, nb);
	assert_memory_equal(ta, tb, na);
	/* Mutate, restore over it, compare behaviour with the original save. */
	wr(d, SCR, 0);
	wr(d, MCR, MCR_LOOP);
	assert_int_equal(restore(d, w.buf, w.len, NULL), 0);
	assert_int_equal(restore(c, w.buf, w.len, NULL), 0);
	na = trace(c, ta);
	nb = trace(d, tb);
	assert_memory_equal(ta, tb, na);
	state_writer_free(&w);
	teardown((void **)&d);
}

static void test_restore_power_on_state(void **state)
{
	struct ctx *c = *state;
	struct state_writer w;

	assert_int_equal(save(c, &w), 0);
	make_busy(c);
	assert_int_equal(restore(c, w.buf, w.len, NULL), 0);
	assert_int_equal(c->level, 0);
	assert_int_equal(rd(c, LSR), LSR_THRE | LSR_TEMT);
	assert_int_equal(rd(c, IIR), IIR_NONE);
	state_writer_free(&w);
}

static void test_save_reports_writer_error(void **state)
{
	struct ctx *c = *state;
	struct state_writer w;

	state_writer_init(&w);
	w.err = -ENOMEM;
	pthread_mutex_lock(&c->dev->lock);
	assert_int_equal(c->dev->ops->save(c->dev, &w), -ENOMEM);
	pthread_mutex_unlock(&c->dev->lock);
	state_writer_free(&w);
}

static void test_restore_truncated_at_every_length(void **state)
{
	struct ctx *c = *state;
	struct state_writer w;
	uint8_t before[128], after[128];
	size_t n;

	make_busy(c);
	assert_int_equal(save(c, &w), 0);
	/* Keep a reference device in the saved state to compare against. */
	for (size_t len = 0; len < w.len; len++) {
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, w.buf, len);
		assert_int_equal(restore(c, copy, len, NULL), -EINVAL);
		free(copy);
	}
	/* A failed restore leaves the device untouched. */
	n = trace(c, after);
	assert_int_equal(restore(c, w.buf, w.len, NULL), 0);
	assert_int_equal(trace(c, before), n);
	assert_memory_equal(before, after, n);
	state_writer_free(&w);
}

/* Field offsets in the version-1 record (see serial.c). */
enum { F_VERSION, F_DLL, F_DLM, F_IER, F_FCR, F_LCR, F_MCR, F_LSR, F_MSR, F_SCR, F_THR_PENDING,
       F_RX_LEN };

static void expect_rejected(struct ctx *c, const uint8_t *good, size_t len, size_t field, uint8_t val)
{
	uint8_t *bad = malloc(len);
	uint8_t t[128], ref[128];
	struct ctx *fresh = NULL;
	size_t n;

	memcpy(bad, good, len);
	bad[field] = val;
	assert_int_equal(restore(c, bad, len, NULL), -EINVAL);
	free(bad);
	/* Unchanged: still the power-on state the fixture started with. */
	setup((void **)&fresh);
	n = trace(fresh, ref);
	teardown((void **)&fresh);
	assert_int_equal(trace(c, t), n);
	assert_memory_equal(t, ref, n);
}

static void test_restore_rejects_impossible_values(void **state)
{
	struct ctx *c = *state;
	struct ctx *src = NULL;
	struct state_writer w;
	uint8_t *good;
	size_t len;

	/* A source record with some data queued and THRE pending. */
	setup((void **)&src);
	assert_int_equal(push(src, "ab"), 2);
	wr(src, IER, IER_THRI);
	assert_int_equal(save(src, &w), 0);
	good = w.buf;
	len = w.len;
	assert_int_equal(good[F_RX_LEN], 2);
	assert_int_equal(len, F_RX_LEN + 4 + 2);
	assert_int_equal(good[F_THR_PENDING], 1);

	expect_rejected(c, good, len, F_VERSION, 0);
	expect_rejected(c, good, len, F_VERSION, 2);
	expect_rejected(c, good, len, F_IER, 0x12);       /* upper IER bits */
	expect_rejected(c, good, len, F_FCR, 0x03);       /* clear bits are not state */
	expect_rejected(c, good, len, F_FCR, 0x40);       /* trigger without enable */
	expect_rejected(c, good, len, F_MCR, 0x20);
	expect_rejected(c, good, len, F_LSR, 0x60);       /* DR clear with data queued */
	expect_rejected(c, good, len, F_LSR, 0x41);       /* THRE clear */
	expect_rejected(c, good, len, F_LSR, 0x21);       /* TEMT clear */
	expect_rejected(c, good, len, F_LSR, 0x69);       /* framing error never happens */
	expect_rejected(c, good, len, F_MSR, 0x30);       /* DCD dropped outside loopback */
	expect_rejected(c, good, len, F_MSR, 0xf0);       /* RI outside loopback */
	expect_rejected(c, good, len, F_MCR, MCR_LOOP);   /* loop lines low but MSR high */
	expect_rejected(c, good, len, F_THR_PENDING, 2);
	expect_rejected(c, good, len, F_IER, 0x01);       /* THRE pending, ETBEI clear */
	expect_rejected(c, good, len, F_RX_LEN, SERIAL_FIFO_SIZE + 1);
	expect_rejected(c, good, len, F_RX_LEN, 0);       /* length and DR disagree */
	expect_rejected(c, good, len, F_RX_LEN + 3, 0x80); /* huge length */
	state_writer_free(&w);
	teardown((void **)&src);
}

static void test_restore_empty_fifo_with_dr_rejected(void **state)
{
	struct ctx *c = *state;
	struct state_writer w;
	uint8_t t[128];

	assert_int_equal(save(c, &w), 0);
	w.buf[F_LSR] |= LSR_DR;
	assert_int_equal(restore(c, w.buf, w.len, NULL), -EINVAL);
	w.buf[F_LSR] &= (uint8_t)~LSR_DR;
	w.buf[F_LSR] |= LSR_OE; /* a pending overrun is legal */
	assert_int_equal(restore(c, w.buf, w.len, NULL), 0);
	trace(c, t);
	assert_int_equal(t[8], LSR_OE | LSR_THRE | LSR_TEMT);
	state_writer_free(&w);
}

static void test_restore_full_fifo_loopback(void **state)
{
	struct ctx *c = *state;
	struct ctx *d = NULL;
	struct state_writer w;
	uint8_t ta[128], tb[128];
	size_t na, nb;

	wr(c, MCR, MCR_LOOP | MCR_OUT1 | MCR_DTR);
	for (int i = 0; i < SERIAL_FIFO_SIZE; i++)
		wr(c, THR, (uint8_t)i);
	assert_int_equal(save(c, &w), 0);
	assert_int_equal(w.buf[F_RX_LEN], SERIAL_FIFO_SIZE);
	setup((void **)&d);
	assert_int_equal(restore(d, w.buf, w.len, NULL), 0);
	assert_int_equal(push(d, "x"), 0); /* still looped */
	na = trace(c, ta);
	nb = trace(d, tb);
	assert_int_equal(na, nb);
	assert_memory_equal(ta, tb, na);
	state_writer_free(&w);
	teardown((void **)&d);
}

/* ---- threads: the VMM's input thread against a reading vCPU ---- */

#define STREAM_LEN 5000

static void *pusher(void *arg)
{
	struct ctx *c = arg;
	uint8_t buf[97];
	size_t sent = 0;

	while (sent < STREAM_LEN) {
		size_t n = STREAM_LEN - sent < sizeof(buf) ? STREAM_LEN - sent : sizeof(buf);
		size_t took;

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)((sent + i) * 7);
		took = serial_push_input(c->dev, buf, n);
		sent += took;
		if (took < n)
			sem_wait(&c->rx_sem); /* the FIFO is full: wait for on_rx_space */
	}
	return NULL;
}

static void test_input_thread_against_reader(void **state)
{
	struct ctx *c = *state;
	pthread_t t;
	size_t got = 0;

	c->use_sem = 1;
	sem_init(&c->rx_sem, 0, 0);
	assert_int_equal(pthread_create(&t, NULL, pusher, c), 0);
	while (got < STREAM_LEN) {
		if (rd(c, LSR) & LSR_DR) {
			assert_int_equal(rd(c, RBR), (uint8_t)(got * 7));
			got++;
		} else {
			sched_yield();
		}
	}
	pthread_join(t, NULL);
	sem_destroy(&c->rx_sem);
	assert_int_equal(rd(c, LSR) & LSR_DR, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* ---- statistics for metrics ---- */

static uint64_t serial_stat_of(struct ctx *c, enum serial_stat which)
{
	struct serial_stats st;

	serial_get_stats(c->dev, &st);
	return st.v[which];
}

static void test_stats_count_bytes_and_misses(void **state)
{
	struct ctx *c = *state;
	uint8_t buf[4] = { 0x41, 0x41, 0x41, 0x41 };

	for (unsigned i = 0; i < SERIAL_STAT_COUNT; i++)
		assert_int_equal(serial_stat_of(c, (enum serial_stat)i), 0);
	wr(c, THR, 'a');
	wr(c, THR, 'b');
	c->out_ret = -EAGAIN; /* the output refuses: the byte is lost */
	wr(c, THR, 'c');
	c->out_ret = 0;
	assert_int_equal(push(c, "xy"), 2);
	assert_int_equal(rd(c, RBR), 'x');
	assert_int_equal(rd(c, RBR), 'y');
	rd(c, RBR); /* empty FIFO: nothing read */
	rd(c, LSR);
	pthread_mutex_lock(&c->dev->lock);
	c->dev->ops->read(c->dev, 0, buf, 2);
	c->dev->ops->write(c->dev, 0, buf, 4);
	c->dev->ops->write(c->dev, SERIAL_RANGE_LEN, buf, 1);
	pthread_mutex_unlock(&c->dev->lock);
	assert_int_equal(serial_stat_of(c, SERIAL_STAT_WRITE_COUNT), 2);
	assert_int_equal(serial_stat_of(c, SERIAL_STAT_READ_COUNT), 2);
	assert_int_equal(serial_stat_of(c, SERIAL_STAT_MISSED_READ_COUNT), 1);
	assert_int_equal(serial_stat_of(c, SERIAL_STAT_MISSED_WRITE_COUNT), 3);
	/* Loopback bytes never leave the UART. */
	wr(c, MCR, MCR_LOOP);
	wr(c, THR, 'z');
	assert_int_equal(serial_stat_of(c, SERIAL_STAT_WRITE_COUNT), 2);
	assert_int_equal(serial_stat_of(c, SERIAL_STAT_READ_COUNT), 2);
	assert_int_equal(rd(c, RBR), 'z');
	assert_int_equal(serial_stat_of(c, SERIAL_STAT_READ_COUNT), 3);
	assert_string_equal(serial_stat_names[SERIAL_STAT_MISSED_WRITE_COUNT], "missed_write_count");
	assert_string_equal(serial_stat_names[SERIAL_STAT_READ_COUNT], "read_count");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_power_on_values),
		T(test_create_rejects_bad_args),
		T(test_create_with_no_callbacks),
		T(test_thr_write_goes_to_output),
		T(test_output_failure_drops_byte),
		T(test_dlab_switches_offsets_0_and_1),
		T(test_ier_upper_bits_read_zero),
		T(test_scratch_round_trip),
		T(test_mcr_upper_bits_read_zero),
		T(test_lsr_msr_writes_ignored),
		T(test_fcr_fifo_enable_sets_iir_bits),
		T(test_fcr_clear_rx),
		T(test_fcr_toggling_enable_clears_rx),
		T(test_rx_sets_dr_and_interrupt),
		T(test_rx_without_erbfi_raises_nothing),
		T(test_rx_fifo_bounded_and_space_notified),
		T(test_rx_space_notified_on_fifo_clear),
		T(test_loopback_probe_as_linux_does),
		T(test_loopback_echoes_thr),
		T(test_loopback_msr_deltas),
		T(test_modem_status_interrupt),
		T(test_loopback_refuses_host_input),
		T(test_loopback_overflow_sets_oe),
		T(test_iir_priority_order),
		T(test_iir_read_does_not_clear_masked_thre),
		T(test_thre_test_at_startup),
		T(test_thre_cleared_by_iir_read),
		T(test_thre_cleared_by_disabling),
		T(test_thr_write_rearms_thre),
		T(test_linux_tx_interrupt_loop),
		T(test_linux_console_write),
		T(test_linux_rx_interrupt),
		T(test_irq_failure_is_retried),
		T(test_wide_accesses_are_ignored),
		T(test_unknown_offsets),
		T(test_reset_restores_power_on),
		T(test_save_restore_round_trip),
		T(test_restore_power_on_state),
		T(test_save_reports_writer_error),
		T(test_restore_truncated_at_every_length),
		T(test_restore_rejects_impossible_values),
		T(test_restore_empty_fifo_with_dr_rejected),
		T(test_restore_full_fifo_loopback),
		T(test_input_thread_against_reader),
		T(test_stats_count_bytes_and_misses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
