// SPDX-License-Identifier: Apache-2.0
/* virtio-net against a real tap (root): TX/RX bytes, RX stall, hostile chains. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "virtio.h"
#include "virtio_drv.h"

#define RAM	  (4u << 20)
#define ETHTYPE	  0x88b5 /* IEEE local experimental: nobody else sends it */
#define FRAME_LEN 60
#define HDR	  12
#define RXQ	  0
#define TXQ	  1

static const uint8_t mac[6] = {0x02, 0xe3, 0xbe, 0x00, 0x00, 0x01};

struct fx {
	struct vm *vm;
	char name[IFNAMSIZ];
	int ifindex;
	int pkt;     /* AF_PACKET on the tap's host side */
	int own_tap; /* an fd we opened for the inherited-fd case, or -1 */
};

static void frame(uint8_t *f, uint8_t tag)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x02", 6);
	f[12] = ETHTYPE >> 8;
	f[13] = ETHTYPE & 0xff;
	for (int i = 14; i < FRAME_LEN; i++)
		f[i] = tag + i;
}

static int if_up(const char *name)
{
	struct ifreq ifr = {0};
	char path[128];
	int s = socket(AF_INET, SOCK_DGRAM, 0), fd, err = 0;

	/* No IPv6 on the tap: the host would send router solicitations into it. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			err = -errno;
		close(fd);
	}
	strcpy(ifr.ifr_name, name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
	close(s);
	return err;
}

static int packet_socket(struct fx *f)
{
	struct sockaddr_ll sa = {
		.sll_family = AF_PACKET, .sll_protocol = htons(ETHTYPE), .sll_ifindex = f->ifindex};
	struct timeval tv = {.tv_sec = 1};

	f->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETHTYPE));
	if (f->pkt < 0 || bind(f->pkt, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	setsockopt(f->pkt, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

/* Open a tap without vnet headers ourselves, as emberd might hand one over. */
static int open_plain_tap(const char *name)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	strcpy(ifr.ifr_name, name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -1;
	return fd;
}

static int make(void **state, bool inherited)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct virtio_net_opts o = {.tap_fd = -1};
	static unsigned n;

	snprintf(f->name, sizeof(f->name), "embvt%u_%u", (unsigned)getpid() % 100000, n++);
	f->own_tap = -1;
	f->vm = fake_vm_new(RAM, -ENOSYS, -ENOSYS);
	memcpy(o.mac, mac, 6);
	if (inherited) {
		f->own_tap = open_plain_tap(f->name);
		assert_true(f->own_tap >= 0);
		o.tap_fd = f->own_tap;
	} else {
		o.tap_name = f->name;
	}
	assert_int_equal(virtio_net_create(f->vm, &o), 0);
	assert_int_equal(if_up(f->name), 0);
	f->ifindex = if_nametoindex(f->name);
	assert_int_equal(packet_socket(f), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return make(state, false);
}

static int setup_inherited(void **state)
{
	return make(state, true);
}

/* The tap vanishes with its last fd; the device's fd lives in the leaked device. */
static int teardown(void **state)
{
	struct fx *f = *state;
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = {0};

	strcpy(ifr.ifr_name, f->name);
	ioctl(s, SIOCSIFFLAGS, &ifr); /* down: stop traffic */
	close(s);
	close(f->pkt);
	fake_vm_free(f->vm);
	free(f);
	return 0;
}

static void host_send(struct fx *f, uint8_t tag)
{
	uint8_t fr[FRAME_LEN];

	frame(fr, tag);
	assert_int_equal(send(f->pkt, fr, sizeof(fr), 0), sizeof(fr));
}

static void test_config(void **state)
{
	struct fx *f = *state;
	uint32_t lo = mmio_rd(f->vm, VIRTIO_MMIO_CONFIG),
		 hi = mmio_rd(f->vm, VIRTIO_MMIO_CONFIG + 4);
	uint8_t got[8];

	memcpy(got, &lo, 4);
	memcpy(got + 4, &hi, 4);
	assert_memory_equal(got, mac, 6);
	assert_int_equal(got[6] | got[7] << 8, VIRTIO_NET_S_LINK_UP);
}

static void test_tx(void **state)
{
	struct fx *f = *state;
	uint8_t fr[FRAME_LEN], got[256];
	/* Header and frame split over two descriptors, as Linux may do. */
	struct drv_buf b[2] = {{DRV_DATA, HDR, false}, {DRV_DATA + 0x100, FRAME_LEN, false}};

	drv_start(f->vm, (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS), 2);
	frame(fr, 7);
	memcpy(f->vm->ram + DRV_DATA + 0x100, fr, FRAME_LEN);
	drv_add(f->vm, TXQ, 0, b, 2);
	drv_kick(f->vm, TXQ);
	assert_int_equal(drv_used(f->vm, TXQ)->idx, 1);
	assert_int_equal(recv(f->pkt, got, sizeof(got), 0), FRAME_LEN);
	assert_memory_equal(got, fr, FRAME_LEN);
}

static void post_rx(struct fx *f, uint16_t desc, uint64_t gpa)
{
	struct drv_buf b = {gpa, 1526, true};

	drv_add(f->vm, RXQ, desc, &b, 1);
}

static void expect_rx(struct fx *f, unsigned used_slot, uint64_t gpa, uint8_t tag)
{
	struct vring_used *u = drv_used(f->vm, RXQ);
	uint8_t fr[FRAME_LEN];
	struct virtio_net_hdr_v1 h;

	frame(fr, tag);
	assert_int_equal(u->ring[used_slot].len, HDR + FRAME_LEN);
	memcpy(&h, f->vm->ram + gpa, HDR);
	assert_int_equal(h.num_buffers, 1);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_memory_equal(f->vm->ram + gpa + HDR, fr, FRAME_LEN);
}

static int tap_fd_of(struct fx *f)
{
	for (int i = 0; i < FAKE_WATCHES; i++) {
		if (f->vm->watch[i].fd >= 0)
			return f->vm->watch[i].fd;
	}
	return -1;
}

static void test_rx_and_stall(void **state)
{
	struct fx *f = *state;
	uint16_t avail_event;
	int tap;

	drv_start(f->vm, (1ull << VIRTIO_NET_F_MAC), 2);
	tap = tap_fd_of(f);
	assert_true(tap >= 0);
	post_rx(f, 0, DRV_DATA);
	host_send(f, 1);
	usleep(10000);
	fake_vm_poll(f->vm);
	assert_int_equal(drv_used(f->vm, RXQ)->idx, 1);
	expect_rx(f, 0, DRV_DATA, 1);

	/* No buffers left: the tap is no longer polled and frames wait in it. */
	assert_false(fake_vm_watched(f->vm, tap));
	memcpy(&avail_event, f->vm->ram + DRV_RING(RXQ) + 0x2000 + 4 + 8 * DRV_QSZ, 2);
	assert_int_equal(avail_event, 1); /* kick me when you add the next buffer */
	host_send(f, 2);
	host_send(f, 3);
	usleep(10000);
	assert_int_equal(fake_vm_poll(f->vm), 0);
	assert_int_equal(drv_used(f->vm, RXQ)->idx, 1);

	/* The guest adds buffers and kicks: both waiting frames arrive, in order. */
	post_rx(f, 1, DRV_DATA + 0x1000);
	post_rx(f, 2, DRV_DATA + 0x2000);
	post_rx(f, 3, DRV_DATA + 0x3000);
	assert_int_equal(fake_vm_irqs(f->vm), 1);
	drv_avail(f->vm, RXQ)->ring[DRV_QSZ] = 1; /* used_event: consumed the first */
	drv_kick(f->vm, RXQ);
	assert_int_equal(drv_used(f->vm, RXQ)->idx, 3);
	expect_rx(f, 1, DRV_DATA + 0x1000, 2);
	expect_rx(f, 2, DRV_DATA + 0x2000, 3);
	assert_true(fake_vm_watched(f->vm, tap)); /* one buffer still free */
	assert_int_equal(fake_vm_irqs(f->vm), 2); /* one interrupt for the batch of two */
}

static void test_tx_writable_fails(void **state)
{
	struct fx *f = *state;
	struct drv_buf b[2] = {{DRV_DATA, HDR, false}, {DRV_DATA + 0x100, 64, true}};

	drv_start(f->vm, 0, 2);
	drv_add(f->vm, TXQ, 0, b, 2);
	drv_kick(f->vm, TXQ);
	assert_true(mmio_rd(f->vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(drv_used(f->vm, TXQ)->idx, 0);
}

static void test_rx_readable_fails(void **state)
{
	struct fx *f = *state;
	struct drv_buf b = {DRV_DATA, 1526, false};
	int tap;

	drv_start(f->vm, 0, 2);
	tap = tap_fd_of(f);
	drv_add(f->vm, RXQ, 0, &b, 1);
	host_send(f, 1);
	usleep(10000);
	fake_vm_poll(f->vm);
	assert_true(mmio_rd(f->vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_false(fake_vm_watched(f->vm, tap)); /* no busy loop on a failed device */
}

/* The driver may disable a queue (QueueReady 0) while the tap is polled. */
static void test_rx_queue_disabled(void **state)
{
	struct fx *f = *state;
	int tap;

	drv_start(f->vm, 0, 2);
	tap = tap_fd_of(f);
	mmio_wr(f->vm, VIRTIO_MMIO_QUEUE_SEL, RXQ);
	mmio_wr(f->vm, VIRTIO_MMIO_QUEUE_READY, 0);
	host_send(f, 1);
	usleep(10000);
	fake_vm_poll(f->vm);
	assert_false(fake_vm_watched(f->vm, tap));
	drv_kick(f->vm, RXQ); /* ignored: queue not ready */
	mmio_wr(f->vm, VIRTIO_MMIO_QUEUE_SEL, TXQ);
	mmio_wr(f->vm, VIRTIO_MMIO_QUEUE_READY, 0);
	drv_kick(f->vm, TXQ);
	assert_false(mmio_rd(f->vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_inherited_plain_tap(void **state)
{
	struct fx *f = *state;

	/* No IFF_VNET_HDR on this tap: the device writes the header itself. */
	drv_start(f->vm, 0, 2);
	post_rx(f, 0, DRV_DATA);
	memset(f->vm->ram + DRV_DATA, 0xaa, HDR);
	host_send(f, 9);
	usleep(10000);
	fake_vm_poll(f->vm);
	assert_int_equal(drv_used(f->vm, RXQ)->idx, 1);
	expect_rx(f, 0, DRV_DATA, 9);
	test_tx(state);
}

static void test_not_a_tap(void **state)
{
	struct vm *vm = fake_vm_new(RAM, 0, 0);
	char err[128] = "";
	struct virtio_net_opts o = {.tap_fd = STDIN_FILENO, .err = err, .errlen = sizeof(err)};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	o.tap_fd = p[0];
	assert_true(virtio_net_create(vm, &o) < 0);
	assert_non_null(strstr(err, "not a usable tap"));
	close(p[0]);
	close(p[1]);
	fake_vm_free(vm);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_config),
		T(test_tx),
		T(test_rx_and_stall),
		T(test_tx_writable_fails),
		T(test_rx_readable_fails),
		T(test_rx_queue_disabled),
		cmocka_unit_test_setup_teardown(test_inherited_plain_tap, setup_inherited,
						teardown),
		cmocka_unit_test(test_not_a_tap),
	};
	int fd = open("/dev/net/tun", O_RDWR);

	if (fd < 0 || geteuid() != 0) {
		printf("SKIP: test_virtio_net needs root and /dev/net/tun\n");
		return 77;
	}
	close(fd);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
