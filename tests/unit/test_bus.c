// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the VMM core without KVM: buses, the 8250 model, doorbell/reset ports, CLI parsing.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <ember/doorbell.h>

#include "cli.h"
#include "vm_internal.h"

/* ---- stubs for what serial.c, legacy.c and doorbell.c call in kvm.c ---- */

int vmm_verbose;

#define MAX_PORTS 8
static struct {
	uint16_t base, len;
	io_handler_fn fn;
	void *opaque;
} ports[MAX_PORTS];
static unsigned nr_ports;
static int irq_level[16], irq_calls;
static int exit_status = -1;

int vm_pio_register(struct vm *vm, uint16_t base, uint16_t len, io_handler_fn fn, void *opaque)
{
	(void)vm;
	assert_true(nr_ports < MAX_PORTS);
	ports[nr_ports++] = (typeof(ports[0])){base, len, fn, opaque};
	return 0;
}

int vm_irq_line(struct vm *vm, uint32_t gsi, int level)
{
	(void)vm;
	assert_true(gsi < 16);
	irq_level[gsi] = level;
	irq_calls++;
	return 0;
}

void vm_request_exit(struct vm *vm, int status)
{
	(void)vm;
	exit_status = status;
}

/* Port access through whatever handler the device registered. */
static void pio(uint16_t port, void *data, uint32_t len, bool is_write)
{
	for (unsigned i = 0; i < nr_ports; i++) {
		if (port >= ports[i].base && port - ports[i].base < ports[i].len) {
			ports[i].fn(ports[i].opaque, port - ports[i].base, data, len, is_write);
			return;
		}
	}
	fail_msg("port 0x%x not registered", port);
}

static uint8_t inb(uint16_t port)
{
	uint8_t v = 0x5a;

	pio(port, &v, 1, false);
	return v;
}

static void outb(uint16_t port, uint8_t v)
{
	pio(port, &v, 1, true);
}

static void outl(uint16_t port, uint32_t v)
{
	pio(port, &v, 4, true);
}

/* ---- bus ---- */

struct rec {
	uint64_t off;
	uint32_t len;
	bool write;
	int calls;
};

static void rec_io(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	struct rec *r = opaque;

	r->off = off;
	r->len = len;
	r->write = is_write;
	r->calls++;
	if (!is_write)
		memset(data, 0x11, len);
}

static void test_bus_overlap(void **state)
{
	struct io_bus b;
	struct rec r = {0};

	(void)state;
	bus_init(&b);
	assert_int_equal(bus_register(&b, 0x100, 8, rec_io, &r), 0);
	assert_int_equal(bus_register(&b, 0x104, 8, rec_io, &r), -EEXIST);
	assert_int_equal(bus_register(&b, 0xf8, 9, rec_io, &r), -EEXIST);
	assert_int_equal(bus_register(&b, 0x100, 1, rec_io, &r), -EEXIST);
	assert_int_equal(bus_register(&b, 0x0, 0x1000, rec_io, &r), -EEXIST);
	assert_int_equal(bus_register(&b, 0x108, 8, rec_io, &r), 0); /* adjacent above */
	assert_int_equal(bus_register(&b, 0xf8, 8, rec_io, &r), 0);  /* adjacent below */
	assert_int_equal(bus_register(&b, 0x200, 0, rec_io, &r), -EINVAL);
	assert_int_equal(bus_register(&b, UINT64_MAX - 3, 8, rec_io, &r), -EINVAL);
	assert_int_equal(bus_register(&b, UINT64_MAX - 7, 8, rec_io, &r), 0); /* up to the top */
	assert_int_equal(b.nr, 4);
	bus_destroy(&b);
}

static void test_bus_lookup(void **state)
{
	struct io_bus b;
	struct rec r[3] = {0};
	uint8_t data[16];

	(void)state;
	bus_init(&b);
	/* Out of order on purpose: the table must stay sorted. */
	assert_int_equal(bus_register(&b, 0xd0002000, 0x1000, rec_io, &r[2]), 0);
	assert_int_equal(bus_register(&b, 0xd0000000, 0x1000, rec_io, &r[0]), 0);
	assert_int_equal(bus_register(&b, 0xd0001000, 0x1000, rec_io, &r[1]), 0);

	assert_true(bus_access(&b, 0xd0001070, data, 4, false));
	assert_int_equal(r[1].calls, 1);
	assert_int_equal(r[1].off, 0x70);
	assert_int_equal(r[1].len, 4);
	assert_int_equal(data[0], 0x11);

	assert_true(bus_access(&b, 0xd0002ff8, data, 8, true));
	assert_int_equal(r[2].off, 0xff8);
	assert_true(r[2].write);

	/* Straddling the end of a range: nobody's, even though the next range is there. */
	memset(data, 0, sizeof(data));
	assert_false(bus_access(&b, 0xd0000ffe, data, 4, false));
	assert_memory_equal(data, "\xff\xff\xff\xff", 4);
	assert_int_equal(r[0].calls + r[1].calls, 1);

	/* Unregistered: reads are all ones, writes vanish. */
	memset(data, 0, sizeof(data));
	assert_false(bus_access(&b, 0xcfffffff, data, 2, false));
	assert_memory_equal(data, "\xff\xff\x00", 3);
	assert_false(bus_access(&b, 0xd0003000, data, 1, true));
	assert_false(bus_access(&b, 0, data, 8, false));

	/* A huge length is clamped: the handler never sees more than 8. */
	memset(data, 0, sizeof(data));
	assert_true(bus_access(&b, 0xd0000000, data, 4096, false));
	assert_int_equal(r[0].len, 8);
	assert_int_equal(data[8], 0);
	bus_destroy(&b);
}

static void test_bus_many(void **state)
{
	struct io_bus b;
	struct rec r = {0};
	uint8_t data[8];

	(void)state;
	bus_init(&b);
	/* Pseudo-random order over 200 disjoint 16-byte ranges every 32 bytes. */
	for (unsigned i = 0; i < 200; i++)
		assert_int_equal(bus_register(&b, ((i * 73) % 200) * 32, 16, rec_io, &r), 0);
	for (unsigned i = 1; i < b.nr; i++)
		assert_true(b.r[i - 1].base < b.r[i].base);
	for (uint64_t a = 0; a < 200 * 32; a += 4) {
		int calls = r.calls;
		bool hit = bus_access(&b, a, data, 4, false);

		assert_int_equal(hit, (a % 32) < 16);
		assert_int_equal(r.calls, calls + hit);
		if (hit)
			assert_int_equal(r.off, a % 32);
	}
	bus_destroy(&b);
}

/* ---- the 8250 ---- */

static char uart_out[64];
static size_t uart_nout;

static void out_cb(void *opaque, uint8_t c)
{
	(void)opaque;
	if (uart_nout < sizeof(uart_out))
		uart_out[uart_nout++] = (char)c;
}

static void test_uart_registers(void **state)
{
	struct uart u = {.out = out_cb};

	(void)state;
	uart_nout = 0;
	uart_reset(&u);
	assert_int_equal(uart_read(&u, 5), 0x60); /* LSR: THRE | TEMT, no data */
	assert_int_equal(uart_read(&u, 0), 0);	  /* RBR: empty */
	assert_int_equal(uart_read(&u, 2), 0x01); /* IIR: no interrupt, no FIFO */
	/* Linux's autoconfig: IER keeps the low four bits. */
	uart_write(&u, 1, 0x00);
	assert_int_equal(uart_read(&u, 1), 0x00);
	uart_write(&u, 1, 0xff);
	assert_int_equal(uart_read(&u, 1), 0x0f);
	uart_write(&u, 1, 0);
	/* Divisor latch behind DLAB. */
	uart_write(&u, 3, 0x83);
	uart_write(&u, 0, 0x01);
	uart_write(&u, 1, 0x02);
	assert_int_equal(uart_read(&u, 0), 0x01);
	assert_int_equal(uart_read(&u, 1), 0x02);
	uart_write(&u, 3, 0x03);
	assert_int_equal(uart_read(&u, 3), 0x03);
	assert_int_equal(uart_read(&u, 1), 0x00); /* IER again, untouched by DLM */
	assert_int_equal(uart_nout, 0);		  /* DLL writes are not output */
	/* FIFO enabled -> IIR bits 7:6 say 16550A. */
	uart_write(&u, 2, 0x07);
	assert_int_equal(uart_read(&u, 2) & 0xc0, 0xc0);
	/* Scratch. */
	uart_write(&u, 7, 0xa5);
	assert_int_equal(uart_read(&u, 7), 0xa5);
	/* Output. */
	uart_write(&u, 0, 'o');
	uart_write(&u, 0, 'k');
	assert_int_equal(uart_nout, 2);
	assert_memory_equal(uart_out, "ok", 2);
	/* Loopback: MSR mirrors MCR, output is not sent. */
	uart_write(&u, 4, 0x1f);
	assert_int_equal(uart_read(&u, 6) & 0xf0, 0xf0);
	uart_write(&u, 4, 0x11); /* DTR -> DSR */
	assert_int_equal(uart_read(&u, 6) & 0xf0, 0x20);
	uart_write(&u, 0, 'x');
	assert_int_equal(uart_nout, 2);
	uart_write(&u, 4, 0x0b);
	assert_int_equal(uart_read(&u, 6) & 0xb0, 0xb0); /* DCD DSR CTS */
	/* Out-of-range offsets never fault. */
	assert_int_equal(uart_read(&u, 9), 0xff);
	uart_write(&u, 200, 1);
}

static void test_uart_thre_irq(void **state)
{
	struct uart u = {.out = out_cb};

	(void)state;
	uart_reset(&u);
	assert_false(uart_irq(&u));
	uart_write(&u, 1, 0x02); /* enable THRI: empty THR interrupts at once */
	assert_true(uart_irq(&u));
	assert_int_equal(uart_read(&u, 2) & 0x0f, 0x02);
	/* That read acknowledged it. */
	assert_false(uart_irq(&u));
	assert_int_equal(uart_read(&u, 2) & 0x0f, 0x01);
	uart_write(&u, 0, 'a'); /* transmitted at once: THRE again */
	assert_true(uart_irq(&u));
	uart_write(&u, 1, 0x00); /* masked */
	assert_false(uart_irq(&u));
	uart_write(&u, 1, 0x02);
	assert_true(uart_irq(&u));
}

static void test_uart_rx(void **state)
{
	struct uart u = {.out = out_cb};
	uint8_t big[UART_RX_MAX + 10];

	(void)state;
	uart_reset(&u);
	assert_int_equal(uart_rx_push(&u, "hi\n", 3), 3);
	assert_int_equal(uart_read(&u, 5) & 0x01, 0x01); /* LSR: data ready */
	assert_false(uart_irq(&u));			  /* RDI not enabled yet */
	uart_write(&u, 1, 0x03);			  /* RDI | THRI */
	assert_true(uart_irq(&u));
	/* Received data outranks THRE in IIR. */
	assert_int_equal(uart_read(&u, 2) & 0x0f, 0x04);
	assert_int_equal(uart_read(&u, 0), 'h');
	assert_int_equal(uart_read(&u, 0), 'i');
	assert_int_equal(uart_read(&u, 0), '\n');
	assert_int_equal(uart_read(&u, 5) & 0x01, 0x00);
	assert_int_equal(uart_read(&u, 2) & 0x0f, 0x02); /* then THRE */
	assert_int_equal(uart_read(&u, 0), 0);		  /* empty RBR reads 0 */
	/* A full FIFO takes what fits and keeps the order across the wrap. */
	memset(big, 'a', sizeof(big));
	big[0] = 'b';
	assert_int_equal(uart_rx_push(&u, big, sizeof(big)), UART_RX_MAX);
	assert_int_equal(uart_rx_push(&u, "z", 1), 0);
	assert_int_equal(uart_read(&u, 0), 'b');
	assert_int_equal(uart_rx_push(&u, "z", 1), 1);
	for (int i = 1; i < UART_RX_MAX; i++)
		assert_int_equal(uart_read(&u, 0), 'a');
	assert_int_equal(uart_read(&u, 0), 'z');
	assert_int_equal(uart_read(&u, 5) & 0x01, 0x00);
	/* DLAB hides RBR behind the divisor latch: no byte is consumed. */
	uart_rx_push(&u, "q", 1);
	uart_write(&u, 3, 0x80);
	uart_read(&u, 0);
	uart_write(&u, 3, 0x03);
	assert_int_equal(uart_read(&u, 0), 'q');
}

static void test_serial_device(void **state)
{
	int pfd[2];
	char buf[64];
	uint16_t w = 0;

	(void)state;
	nr_ports = 0;
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(serial_init((struct vm *)0x1, pfd[1]), 0);
	assert_int_equal(ports[0].base, 0x3f8);
	assert_int_equal(ports[0].len, 8);
	/* Wider-than-byte accesses read as ones and write nothing. */
	pio(0x3f8, &w, 2, false);
	assert_int_equal(w, 0xffff);
	w = 0x4141;
	pio(0x3f8, &w, 2, true);
	/* IRQ 4 follows THRE. */
	outb(0x3f9, 0x02);
	assert_int_equal(irq_level[4], 1);
	assert_int_equal(inb(0x3fa) & 0x0f, 0x02);
	assert_int_equal(irq_level[4], 0);
	/* Output is line buffered onto the fd. */
	outb(0x3f8, 'h');
	outb(0x3f8, 'i');
	outb(0x3f8, '\n');
	assert_int_equal(read(pfd[0], buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "hi\n", 3);
	outb(0x3f8, '!');
	serial_flush();
	assert_int_equal(read(pfd[0], buf, sizeof(buf)), 1);
	close(pfd[0]);
	close(pfd[1]);
}

/* ---- doorbell and reset ports ---- */

static void test_doorbell_format(void **state)
{
	char b[96];

	(void)state;
	assert_int_equal(doorbell_format(EMBER_DB_VALUE(EMBER_DB_INIT_STARTED, 0), b, sizeof(b)),
			 EMBER_DB_INIT_STARTED);
	assert_string_equal(b, "init_started");
	assert_int_equal(doorbell_format(EMBER_DB_VALUE(EMBER_DB_READY, 80), b, sizeof(b)),
			 EMBER_DB_READY);
	assert_string_equal(b, "ready port=80");
	doorbell_format(EMBER_DB_VALUE(EMBER_DB_WORKLOAD_EXIT, 0x100), b, sizeof(b));
	assert_string_equal(b, "workload_exit status=256");
	doorbell_format(EMBER_DB_VALUE(EMBER_DB_POWEROFF, 3), b, sizeof(b));
	assert_string_equal(b, "poweroff status=3");
	doorbell_format(EMBER_DB_VALUE(EMBER_DB_PANIC, 2), b, sizeof(b));
	assert_string_equal(b, "panic errno=2");
	assert_int_equal(doorbell_format(EMBER_DB_VALUE(EMBER_DB_REFRESHED, 3), b, sizeof(b)),
			 EMBER_DB_REFRESHED);
	assert_string_equal(b, "refreshed flags=0x3");
	assert_int_equal(doorbell_format(EMBER_DB_VALUE(0, 1), b, sizeof(b)), 0);
	assert_int_equal(doorbell_format(0xffffffffu, b, sizeof(b)), 0);
	/* A tiny buffer truncates, never overflows. */
	assert_int_equal(doorbell_format(EMBER_DB_VALUE(EMBER_DB_READY, 8080), b, 4),
			 EMBER_DB_READY);
	assert_string_equal(b, "rea");
}

static void read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, len - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

static void test_doorbell_port(void **state)
{
	char path[] = "/tmp/ember-test-events-XXXXXX", buf[512];
	unsigned long long t1, t2, t3;
	unsigned port, status;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	nr_ports = 0;
	exit_status = -1;
	assert_int_equal(events_open(path, now_ns()), 0);
	assert_int_equal(doorbell_init((struct vm *)0x1), 0);
	assert_int_equal(ports[0].base, EMBER_DOORBELL_PORT);
	outl(EMBER_DOORBELL_PORT, EMBER_DB_VALUE(EMBER_DB_READY, 80));
	/* Hostile accesses: wrong size, wrong offset, unknown event, a read. */
	outb(EMBER_DOORBELL_PORT, EMBER_DB_READY);
	outl(EMBER_DOORBELL_PORT + 1, EMBER_DB_VALUE(EMBER_DB_POWEROFF, 9));
	outl(EMBER_DOORBELL_PORT, EMBER_DB_VALUE(0x77, 1));
	assert_int_equal(inb(EMBER_DOORBELL_PORT), 0xff);
	assert_int_equal(exit_status, -1);
	outl(EMBER_DOORBELL_PORT, EMBER_DB_VALUE(EMBER_DB_WORKLOAD_EXIT, 0));
	outl(EMBER_DOORBELL_PORT, EMBER_DB_VALUE(EMBER_DB_POWEROFF, 0x105)); /* status & 0xff */
	assert_int_equal(exit_status, 5);
	read_file(path, buf, sizeof(buf));
	unlink(path);
	assert_int_equal(sscanf(buf,
				"ready port=%u t_us=%llu\nworkload_exit status=0 t_us=%llu\n"
				"poweroff status=%u t_us=%llu\n",
				&port, &t1, &t2, &status, &t3),
			 5);
	assert_int_equal(port, 80);
	assert_int_equal(status, 5);
	assert_true(t1 <= t2 && t2 <= t3 && t3 < 10 * 1000 * 1000);
	assert_int_equal(strlen(buf) - (size_t)(strrchr(buf, '\n') - buf), 1); /* ends in \n */
}

static void test_reset_ports(void **state)
{
	(void)state;
	nr_ports = 0;
	exit_status = -1;
	assert_int_equal(legacy_init((struct vm *)0x1), 0);
	/* i8042: status reads "empty", other commands are ignored. */
	assert_int_equal(inb(0x64), 0);
	outb(0x64, 0xd1);
	outb(0x60, 0xfe); /* 0xfe on the data port is not a reset */
	assert_int_equal(exit_status, -1);
	outb(0x64, 0xfe);
	assert_int_equal(exit_status, 0);
	/* 0xcf9 as Linux's reboot=p drives it: 0x2 (no reset yet), then 0x6. */
	exit_status = -1;
	assert_int_equal(inb(0xcf9), 0);
	outb(0xcf9, 0x02);
	assert_int_equal(exit_status, -1);
	assert_int_equal(inb(0xcf9), 0x02);
	outl(0xcf9, 0xffffffff); /* wrong size: ignored */
	assert_int_equal(exit_status, -1);
	outb(0xcf9, 0x0e);
	assert_int_equal(exit_status, 0);
}

/* ---- the I/O thread ---- */

static struct vm io_vm;
static int efd[3];
static int calls[3];

static void kick(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0)
		return; /* EAGAIN: another callback drained it */
}

/* Wait up to 2 s for *@p to reach @want (callbacks run on the I/O thread). */
static bool wait_for(int *p, int want)
{
	for (int i = 0; i < 2000; i++) {
		if (__atomic_load_n(p, __ATOMIC_ACQUIRE) >= want)
			return true;
		usleep(1000);
	}
	return false;
}

static void cb2(void *opaque, uint32_t revents)
{
	(void)opaque;
	assert_true(revents & EPOLLIN);
	drain(efd[2]);
	__atomic_add_fetch(&calls[2], 1, __ATOMIC_RELEASE);
}

/* On its first event: unwatch itself and watch efd[2] from inside the callback. */
static void cb1(void *opaque, uint32_t revents)
{
	(void)opaque, (void)revents;
	drain(efd[1]);
	assert_int_equal(vm_io_unwatch(&io_vm, efd[1]), 0);
	assert_int_equal(vm_io_watch(&io_vm, efd[2], EPOLLIN, cb2, NULL), 0);
	__atomic_add_fetch(&calls[1], 1, __ATOMIC_RELEASE);
}

static void cb0(void *opaque, uint32_t revents)
{
	(void)opaque, (void)revents;
	drain(efd[0]);
	__atomic_add_fetch(&calls[0], 1, __ATOMIC_RELEASE);
}

static void test_iothread_watch(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++) {
		efd[i] = eventfd(0, EFD_NONBLOCK);
		calls[i] = 0;
	}
	assert_int_equal(iothread_init(&io_vm.io), 0);
	/* Watches may be added before the thread runs (devices are created first). */
	assert_int_equal(vm_io_watch(&io_vm, efd[0], EPOLLIN, cb0, NULL), 0);
	assert_int_equal(vm_io_watch(&io_vm, efd[0], EPOLLIN, cb0, NULL), -EEXIST);
	assert_int_equal(vm_io_watch(&io_vm, -1, EPOLLIN, cb0, NULL), -EINVAL);
	assert_int_equal(vm_io_unwatch(&io_vm, efd[2]), -ENOENT);
	assert_int_equal(vm_io_watch(&io_vm, efd[1], EPOLLIN, cb1, NULL), 0);
	kick(efd[0]);
	assert_int_equal(iothread_start(&io_vm.io), 0);
	assert_true(wait_for(&calls[0], 1));

	/* Unwatch and watch from inside a callback. */
	kick(efd[1]);
	assert_true(wait_for(&calls[1], 1));
	kick(efd[2]);
	assert_true(wait_for(&calls[2], 1));
	kick(efd[1]); /* no longer watched */
	usleep(50 * 1000);
	assert_int_equal(calls[1], 1);

	/* Unwatch from another thread: no callback afterwards. */
	assert_int_equal(vm_io_unwatch(&io_vm, efd[0]), 0);
	kick(efd[0]);
	usleep(50 * 1000);
	assert_int_equal(calls[0], 1);

	/* Churn: watch/unwatch while events keep arriving (ASan finds use-after-free). */
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(vm_io_watch(&io_vm, efd[0], EPOLLIN, cb0, NULL), 0);
		kick(efd[0]);
		if (i % 3 == 0)
			usleep(10);
		assert_int_equal(vm_io_unwatch(&io_vm, efd[0]), 0);
	}
	iothread_stop(&io_vm.io);
	for (int i = 0; i < 3; i++)
		close(efd[i]);
}

/* ---- command line ---- */

static void test_cli_size(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(cli_parse_size("256M", &v), 0);
	assert_int_equal(v, 256ull << 20);
	assert_int_equal(cli_parse_size("1G", &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(cli_parse_size("65536k", &v), 0);
	assert_int_equal(v, 64ull << 20);
	assert_int_equal(cli_parse_size("512", &v), 0); /* MiB */
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(cli_parse_size("2g", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(cli_parse_size("", &v), -EINVAL);
	assert_int_equal(cli_parse_size("M", &v), -EINVAL);
	assert_int_equal(cli_parse_size("-1M", &v), -EINVAL);
	assert_int_equal(cli_parse_size(" 1M", &v), -EINVAL);
	assert_int_equal(cli_parse_size("12T", &v), -EINVAL);
	assert_int_equal(cli_parse_size("1MB", &v), -EINVAL);
	assert_int_equal(cli_parse_size("0x10", &v), -EINVAL);
	assert_int_equal(cli_parse_size("17179869184G", &v), -ERANGE);
	assert_int_equal(cli_parse_size("99999999999999999999999", &v), -ERANGE);
}

static void test_cli_net(void **state)
{
	struct cli_net n;
	char err[128], s[64];

	(void)state;
	strcpy(s, "tap=tap0");
	assert_int_equal(cli_parse_net(s, 0, &n, err, sizeof(err)), 0);
	assert_string_equal(n.tap_name, "tap0");
	assert_int_equal(n.tap_fd, -1);
	assert_memory_equal(n.mac, "\x02\xeb\x00\x00\x00\x01", 6);
	strcpy(s, "fd=5,mac=52:54:00:aB:cd:EF");
	assert_int_equal(cli_parse_net(s, 2, &n, err, sizeof(err)), 0);
	assert_null(n.tap_name);
	assert_int_equal(n.tap_fd, 5);
	assert_memory_equal(n.mac, "\x52\x54\x00\xab\xcd\xef", 6);
	strcpy(s, "mac=52:54:00:12:34:56,tap=t1");
	assert_int_equal(cli_parse_net(s, 1, &n, err, sizeof(err)), 0);
	assert_string_equal(n.tap_name, "t1");

	static const char *const bad[] = {
		"",
		"tap=",
		"fd=",
		"fd=-1",
		"fd=3x",
		"tap=a,fd=3",
		"fd=3,tap=a",
		"tap=a,tap=b",
		"mac=52:54:00:12:34:56",
		"tap=a,mac=01:00:00:00:00:01",
		"tap=a,mac=52:54:00:12:34",
		"tap=a,mac=52:54:00:12:34:567",
		"tap=a,mac=52-54-00-12-34-56",
		"tap=a,vhost=on",
		"tap=0123456789abcdef",
		"fd=99999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(s, bad[i]);
		err[0] = '\0';
		if (cli_parse_net(s, 0, &n, err, sizeof(err)) != -EINVAL)
			fail_msg("--net '%s' accepted", bad[i]);
		assert_true(strlen(err) > 0);
	}
}

static void test_cli_disk(void **state)
{
	struct cli_disk d;
	char err[128], s[64];

	(void)state;
	strcpy(s, "/img/root.ext4");
	assert_int_equal(cli_parse_disk(s, &d, err, sizeof(err)), 0);
	assert_string_equal(d.path, "/img/root.ext4");
	assert_true(d.read_only);
	strcpy(s, "a.img,cow");
	assert_int_equal(cli_parse_disk(s, &d, err, sizeof(err)), 0);
	assert_string_equal(d.path, "a.img");
	assert_false(d.read_only);
	strcpy(s, "a.img,ro");
	assert_int_equal(cli_parse_disk(s, &d, err, sizeof(err)), 0);
	assert_true(d.read_only);
	strcpy(s, "a.img,rw");
	assert_int_equal(cli_parse_disk(s, &d, err, sizeof(err)), -EINVAL);
	strcpy(s, ",ro");
	assert_int_equal(cli_parse_disk(s, &d, err, sizeof(err)), -EINVAL);
	strcpy(s, "");
	assert_int_equal(cli_parse_disk(s, &d, err, sizeof(err)), -EINVAL);
}

/* Run cli_parse on a NULL-terminated list of string literals (copied: parsers edit them). */
static enum cli_result parse(struct cli_opts *o, char *err, ...)
{
	static char store[32][64];
	char *argv[33] = {"ember-vmm"};
	const char *a;
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	while ((a = va_arg(ap, const char *)) && argc < 32) {
		snprintf(store[argc], sizeof(store[argc]), "%s", a);
		argv[argc] = store[argc];
		argc++;
	}
	va_end(ap);
	argv[argc] = NULL;
	return cli_parse(argc, argv, o, err, 128);
}

static void test_cli_parse(void **state)
{
	struct cli_opts o;
	char err[128];

	(void)state;
	assert_int_equal(parse(&o, err, "--kernel", "vmlinux", NULL), CLI_RUN);
	assert_int_equal(o.mem, 256ull << 20);
	assert_int_equal(o.vcpus, 1);
	assert_int_equal(o.console, CONSOLE_STDOUT);
	assert_string_equal(o.cpu_template, "baseline");
	assert_false(o.rng);
	assert_int_equal(o.nr_net + o.nr_disk, 0);

	assert_int_equal(parse(&o, err, "--kernel=k", "--mem", "1G", "--vcpus", "2", "--net",
			       "tap=a", "--net", "fd=3", "--disk", "r.img,cow", "--rng",
			       "--console", "none", "--events", "/tmp/e", "-v", "-v", NULL),
			 CLI_RUN);
	assert_string_equal(o.kernel, "k");
	assert_int_equal(o.mem, 1ull << 30);
	assert_int_equal(o.vcpus, 2);
	assert_int_equal(o.nr_net, 2);
	assert_memory_equal(o.net[1].mac, "\x02\xeb\x00\x00\x00\x02", 6);
	assert_int_equal(o.nr_disk, 1);
	assert_false(o.disk[0].read_only);
	assert_true(o.rng);
	assert_int_equal(o.console, CONSOLE_NONE);
	assert_string_equal(o.events, "/tmp/e");
	assert_int_equal(o.verbose, 2);

	assert_int_equal(parse(&o, err, "--console", "/tmp/c", "--kernel", "k", NULL), CLI_RUN);
	assert_int_equal(o.console, CONSOLE_FILE);
	assert_string_equal(o.console_path, "/tmp/c");

	assert_int_equal(parse(&o, err, "--help", NULL), CLI_HELP);
	assert_int_equal(parse(&o, err, "--version", NULL), CLI_VERSION);
	assert_int_equal(parse(&o, err, NULL), CLI_USAGE); /* no --kernel */
	assert_non_null(strstr(err, "--kernel"));
	assert_int_equal(parse(&o, err, "--kernel", "k", "--vcpus", "0", NULL), CLI_USAGE);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--vcpus", "9", NULL), CLI_USAGE);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--vcpus", "1x", NULL), CLI_USAGE);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--mem", "8M", NULL), CLI_USAGE);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--mem", "1025k", NULL), CLI_USAGE);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--mem", "lots", NULL), CLI_USAGE);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--bogus", NULL), CLI_USAGE);
	assert_int_equal(parse(&o, err, "--kernel", "k", "extra", NULL), CLI_USAGE);
	assert_int_equal(parse(&o, err, "--kernel", NULL), CLI_USAGE);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--console", "", NULL), CLI_USAGE);
	assert_int_equal(parse(&o, err, "--kernel", "k", "--net", "tap=a", "--net", "tap=b",
			       "--net", "tap=c", "--net", "tap=d", "--net", "tap=e", NULL),
			 CLI_USAGE);
	assert_non_null(strstr(err, "at most"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus_overlap),	cmocka_unit_test(test_bus_lookup),
		cmocka_unit_test(test_bus_many),	cmocka_unit_test(test_uart_registers),
		cmocka_unit_test(test_uart_thre_irq), cmocka_unit_test(test_uart_rx),	cmocka_unit_test(test_serial_device),
		cmocka_unit_test(test_doorbell_format), cmocka_unit_test(test_doorbell_port),
		cmocka_unit_test(test_reset_ports),	cmocka_unit_test(test_iothread_watch),
		cmocka_unit_test(test_cli_size),	cmocka_unit_test(test_cli_net),
		cmocka_unit_test(test_cli_disk),	cmocka_unit_test(test_cli_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
