/* SPDX-License-Identifier: Apache-2.0 */
/* After a restore: read the VMM's hint from the console and reseed, step the clock, set the MAC. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/random.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timex.h>
#include <termios.h>
#include <unistd.h>

#include "init.h"

static int hint_fd = -1;
static char line[EMBER_HINT_MAX + 1];
static size_t line_len;
static bool line_overflow; /* skipping the rest of an over-long line */

int refresh_open(void)
{
	struct termios t;
	int fd;

	/* Host tests run ember-init in namespaces: never touch the host's console or clock. */
	if (getenv("EMBER_INIT_TEST"))
		return -ENOTSUP;
	/* A file description of our own: O_NONBLOCK must not reach the workload's stdout. */
	fd = open("/dev/console", O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* No echo: the hint (a seed among it) must not be printed on the console. */
	if (tcgetattr(fd, &t) == 0) {
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		tcsetattr(fd, TCSANOW, &t);
	}
	/* O_ASYNC first: the tty picks an owner, which F_SETOWN then overrides. */
	if (fcntl(fd, F_SETFL, O_NONBLOCK | O_ASYNC) < 0 || fcntl(fd, F_SETOWN, getpid()) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	hint_fd = fd;
	return 0;
}

/*
 * Mix the hint's seed (and, with virtio-rng, bytes fresh from the host) into
 * the input pool, credited, and force a CRNG reseed: every later
 * getrandom() in this clone differs from every other clone's.
 */
static int reseed(const struct init_hint *h)
{
	struct {
		struct rand_pool_info info;
		uint8_t buf[2 * EMBER_HINT_SEED_LEN];
	} e = {.info = {.buf_size = EMBER_HINT_SEED_LEN}};
	int fd, hw, ret = 0;

	memcpy(e.buf, h->seed, EMBER_HINT_SEED_LEN);
	/* Non-blocking: PID 1 must never wait on a device; what it has is enough. */
	hw = open("/dev/hwrng", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (hw >= 0) {
		ssize_t n = read(hw, e.buf + EMBER_HINT_SEED_LEN, EMBER_HINT_SEED_LEN);

		if (n > 0)
			e.info.buf_size += (int)n;
		close(hw);
	}
	e.info.entropy_count = (int)(8 * e.info.buf_size);
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, RNDADDENTROPY, &e) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0)
		ret = -errno;
	close(fd);
	explicit_bzero(&e, sizeof(e));
	return ret;
}

/* Step CLOCK_REALTIME by exactly the offset (no read-modify-write race). */
static int step_clock(int64_t ns)
{
	struct timex tx = {.modes = ADJ_SETOFFSET | ADJ_NANO};
	int64_t sec = ns / 1000000000, rem = ns % 1000000000;

	if (rem < 0) { /* the kernel wants 0 <= tv_usec (here ns) < 1e9 */
		rem += 1000000000;
		sec--;
	}
	tx.time.tv_sec = sec;
	tx.time.tv_usec = rem;
	return adjtimex(&tx) < 0 ? -errno : 0;
}

static void apply(const struct init_hint *h)
{
	unsigned flags = 0;
	char err[160] = "";
	int ret;

	ret = reseed(h);
	if (ret)
		log_err("restore hint: reseeding the CRNG: %s", strerror(-ret));
	flags |= ret ? EMBER_REFRESH_FAILED : EMBER_REFRESH_ENTROPY;
	if (h->clock_step_ns) {
		ret = step_clock(h->clock_step_ns);
		if (ret)
			log_err("restore hint: stepping the clock: %s", strerror(-ret));
		flags |= ret ? EMBER_REFRESH_FAILED : EMBER_REFRESH_CLOCK;
	}
	if (h->has_mac) {
		ret = net_set_mac(h->mac, err, sizeof(err));
		if (ret)
			log_err("restore hint: %s", err);
		flags |= ret ? EMBER_REFRESH_FAILED : EMBER_REFRESH_MAC;
	}
	doorbell_ring(EMBER_DB_REFRESHED, flags);
	log_msg("restored clone %016" PRIx64 ": clock stepped %+" PRId64
		" ms, flags 0x%x at %lu ms",
		h->gen, h->clock_step_ns / 1000000, flags, log_ms());
}

static void take_line(void)
{
	struct init_hint h;
	char err[160];
	int ret;

	line[line_len] = '\0';
	ret = hint_parse(line, &h, err, sizeof(err));
	if (ret > 0)
		apply(&h);
	else if (ret < 0)
		log_err("%s: ignored", err);
	explicit_bzero(line, sizeof(line));
	line_len = 0;
}

void refresh_poll(void)
{
	char buf[256];
	ssize_t n;

	if (hint_fd < 0)
		return;
	/* Canonical mode: each read returns at most one line. */
	while ((n = read(hint_fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || buf[i] == '\r') {
				if (!line_overflow && line_len)
					take_line();
				line_len = 0;
				line_overflow = false;
			} else if (line_len < EMBER_HINT_MAX && !line_overflow) {
				line[line_len++] = buf[i];
			} else {
				line_overflow = true;
			}
		}
	}
	explicit_bzero(buf, sizeof(buf));
}
