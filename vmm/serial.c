// SPDX-License-Identifier: Apache-2.0
/* The 8250/16550A UART at 0x3f8 (IRQ 4): console output, and input the VMM injects. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "snapshot.h"
#include "vm_internal.h"

#define SERIAL_PORT 0x3f8
#define SERIAL_IRQ  4

/* Register offsets (read / write) and bits, as in Linux's serial_reg.h. */
enum {
	UART_RX_TX = 0,
	UART_IER = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7
};

#define IER_RDI	   0x01 /* receive data available */
#define IER_THRI   0x02 /* transmit holding register empty */
#define IER_RLSI   0x04 /* receiver line status */
#define IER_MSI	   0x08 /* modem status */
#define IIR_NO_INT 0x01
#define IIR_THRI   0x02
#define IIR_RDI	   0x04
#define IIR_FIFO   0xc0 /* FIFOs enabled: what makes Linux see a 16550A */
#define FCR_ENABLE 0x01
#define LCR_DLAB   0x80
#define MCR_LOOP   0x10
#define LSR_DR	   0x01 /* receive data ready */
#define LSR_THRE   0x20
#define LSR_TEMT   0x40
#define MSR_CTS	   0x10
#define MSR_DSR	   0x20
#define MSR_DCD	   0x80

void uart_reset(struct uart *u)
{
	void (*out)(void *, uint8_t) = u->out;
	void *opaque = u->out_opaque;

	memset(u, 0, sizeof(*u));
	u->out = out;
	u->out_opaque = opaque;
	u->lsr = LSR_THRE | LSR_TEMT; /* transmitter always idle: output is instant */
	u->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	u->mcr = 0x08; /* OUT2: ISA UARTs gate their IRQ with it; Linux sets it anyway */
}

/* The pending interrupt by priority: received data before transmitter empty. */
static uint8_t uart_iir(const struct uart *u)
{
	uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((u->ier & IER_RDI) && u->rx_len)
		return IIR_RDI | fifo;
	if ((u->ier & IER_THRI) && u->thr_ipending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

bool uart_irq(const struct uart *u)
{
	return !(uart_iir(u) & IIR_NO_INT);
}

/* In loopback the modem inputs mirror the outputs (Linux's probe checks it). */
static uint8_t uart_msr(const struct uart *u)
{
	if (u->mcr & MCR_LOOP)
		return (uint8_t)(((u->mcr & 0x0c) << 4) | ((u->mcr & 0x01) << 5) |
				 ((u->mcr & 0x02) << 3));
	return u->msr;
}

static uint8_t uart_rx_pop(struct uart *u)
{
	uint8_t c;

	if (!u->rx_len)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (uint16_t)((u->rx_head + 1) % UART_RX_MAX);
	u->rx_len--;
	return c;
}

size_t uart_rx_push(struct uart *u, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t n = 0;

	for (; n < len && u->rx_len < UART_RX_MAX; n++, u->rx_len++)
		u->rx[(u->rx_head + u->rx_len) % UART_RX_MAX] = b[n];
	return n;
}

uint8_t uart_read(struct uart *u, unsigned off)
{
	uint8_t iir;

	switch (off) {
	case UART_RX_TX:
		return (u->lcr & LCR_DLAB) ? u->dll : uart_rx_pop(u);
	case UART_IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case UART_IIR_FCR:
		iir = uart_iir(u);
		/* Reading IIR while it reports THRE acknowledges that interrupt. */
		if ((iir & 0x0f) == IIR_THRI)
			u->thr_ipending = false;
		return iir;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return (uint8_t)(u->lsr | (u->rx_len ? LSR_DR : 0));
	case UART_MSR:
		return uart_msr(u);
	case UART_SCR:
		return u->scr;
	default:
		return 0xff;
	}
}

static void uart_write_ier(struct uart *u, uint8_t v)
{
	uint8_t old = u->ier;

	u->ier = v & (IER_RDI | IER_THRI | IER_RLSI | IER_MSI);
	/* Enabling THRI with an empty holding register raises it at once. */
	if (!(old & IER_THRI) && (u->ier & IER_THRI))
		u->thr_ipending = true;
}

void uart_write(struct uart *u, unsigned off, uint8_t v)
{
	switch (off) {
	case UART_RX_TX:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
			break;
		}
		if (!(u->mcr & MCR_LOOP) && u->out)
			u->out(u->out_opaque, v);
		u->thr_ipending = true; /* sent at once: empty again */
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB)
			u->dlm = v;
		else
			uart_write_ier(u, v);
		break;
	case UART_IIR_FCR:
		u->fcr = v & 0xc9; /* enable, DMA mode, trigger level; clears self-reset */
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

/* ---- the device on the PIO bus ---- */

struct serial {
	pthread_mutex_t lock;
	struct uart uart;
	struct vm *vm;
	bool irq;
	int fd;
	char buf[256]; /* one console line */
	size_t len;
};

static struct serial serial = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static void serial_flush_locked(struct serial *s)
{
	size_t done = 0;

	while (done < s->len) {
		ssize_t n = write(s->fd, s->buf + done, s->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* a broken console must not stop the guest */
		done += (size_t)n;
	}
	s->len = 0;
}

void serial_flush(void)
{
	pthread_mutex_lock(&serial.lock);
	if (serial.fd >= 0)
		serial_flush_locked(&serial);
	pthread_mutex_unlock(&serial.lock);
}

/* Line-buffered: one write(2) per console line, not per byte. */
static void serial_out(void *opaque, uint8_t c)
{
	struct serial *s = opaque;

	if (s->fd < 0)
		return;
	s->buf[s->len++] = (char)c;
	if (c == '\n' || s->len == sizeof(s->buf))
		serial_flush_locked(s);
}

/* Drive the IRQ line to the UART's output level (edge for the irqchip on a rise). */
static void serial_update_irq_locked(struct serial *s)
{
	bool irq = uart_irq(&s->uart);

	if (irq != s->irq) {
		s->irq = irq;
		vm_irq_line(s->vm, SERIAL_IRQ, irq);
	}
}

size_t serial_input(const void *buf, size_t len)
{
	struct serial *s = &serial;
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = uart_rx_push(&s->uart, buf, len);
	serial_update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void serial_io(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;
	uint8_t *b = data;

	/* The 8250 has byte registers only; wider accesses read as all ones. */
	if (len != 1) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (is_write)
		uart_write(&s->uart, (unsigned)off, *b);
	else
		*b = uart_read(&s->uart, (unsigned)off);
	serial_update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

int serial_init(struct vm *vm, int out_fd)
{
	serial.vm = vm;
	serial.fd = out_fd;
	serial.uart.out = serial_out;
	serial.uart.out_opaque = &serial;
	uart_reset(&serial.uart);
	return vm_pio_register(vm, SERIAL_PORT, 8, serial_io, &serial);
}

void serial_save(struct snap_serial *out)
{
	struct serial *s = &serial;

	pthread_mutex_lock(&s->lock);
	if (s->fd >= 0)
		serial_flush_locked(s); /* the partial line belongs to this process's console */
	*out = (struct snap_serial){
		.ier = s->uart.ier,
		.lcr = s->uart.lcr,
		.mcr = s->uart.mcr,
		.lsr = s->uart.lsr,
		.msr = s->uart.msr,
		.scr = s->uart.scr,
		.dll = s->uart.dll,
		.dlm = s->uart.dlm,
		.fcr = s->uart.fcr,
		.thr_ipending = s->uart.thr_ipending,
		.irq = s->irq,
	};
	pthread_mutex_unlock(&s->lock);
}

void serial_restore(const struct snap_serial *in)
{
	struct serial *s = &serial;

	pthread_mutex_lock(&s->lock);
	s->uart.ier = in->ier;
	s->uart.lcr = in->lcr;
	s->uart.mcr = in->mcr;
	s->uart.lsr = in->lsr;
	s->uart.msr = in->msr;
	s->uart.scr = in->scr;
	s->uart.dll = in->dll;
	s->uart.dlm = in->dlm;
	s->uart.fcr = in->fcr;
	s->uart.thr_ipending = in->thr_ipending;
	/* The in-kernel irqchip comes back separately; drive our input to the same level. */
	s->irq = in->irq;
	vm_irq_line(s->vm, SERIAL_IRQ, s->irq);
	pthread_mutex_unlock(&s->lock);
}
