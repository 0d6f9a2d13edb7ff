// SPDX-License-Identifier: Apache-2.0
/* Legacy reset paths: the i8042's pulse-reset command and the 0xcf9 reset control register. */
#include <string.h>

#include "log.h"
#include "vm_internal.h"

#define I8042_DATA    0x60
#define I8042_CMD     0x64
#define I8042_RESET   0xfe /* pulse output line 0: CPU reset */
#define RESET_CTL     0xcf9
#define RESET_CTL_RST 0x04 /* 0 -> 1 transition of bit 2 resets */

/*
 * Linux's reboot=k waits for the i8042 input buffer to drain (status bit 1
 * clear) and writes 0xfe to the command port; status 0 says "empty, no
 * data", which is also what makes its probe give up quickly.
 */
static void i8042_data_io(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	(void)opaque, (void)off;
	if (!is_write)
		memset(data, 0, len); /* no keyboard: writes are dropped */
}

static void i8042_cmd_io(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	struct vm *vm = opaque;

	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (len == 1 && off == 0 && *(uint8_t *)data == I8042_RESET) {
		pr_info("guest reset (i8042 command 0xfe)");
		vm_request_exit(vm, 0);
	}
}

/*
 * reboot=p (Linux's BOOT_CF9_FORCE) reads 0xcf9, writes it with bit 1 (hard
 * reset) and then with bits 2|1 (0x6) or 2|3|1 (0xe): the second write, with
 * bit 2 set, is the reset. Reads return what was last written.
 */
static void reset_ctl_io(void *opaque, uint64_t off, void *data, uint32_t len, bool is_write)
{
	static uint8_t value;
	struct vm *vm = opaque;

	(void)off;
	if (!is_write) {
		memset(data, 0, len);
		*(uint8_t *)data = __atomic_load_n(&value, __ATOMIC_RELAXED);
		return;
	}
	if (len != 1)
		return;
	__atomic_store_n(&value, *(uint8_t *)data & ~RESET_CTL_RST, __ATOMIC_RELAXED);
	if (*(uint8_t *)data & RESET_CTL_RST) {
		pr_info("guest reset (port 0xcf9 <- 0x%x)", *(uint8_t *)data);
		vm_request_exit(vm, 0);
	}
}

int legacy_init(struct vm *vm)
{
	int ret = vm_pio_register(vm, I8042_DATA, 1, i8042_data_io, vm);

	if (!ret)
		ret = vm_pio_register(vm, I8042_CMD, 1, i8042_cmd_io, vm);
	if (ret)
		return ret;
	return vm_pio_register(vm, RESET_CTL, 1, reset_ctl_io, vm);
}
