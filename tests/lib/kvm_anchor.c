// SPDX-License-Identifier: Apache-2.0
/* kvm_anchor: holds one idle KVM VM (with an in-kernel irqchip and one vCPU) until killed. */
/*
 * Why: the first KVM VM a kernel creates and the last one it destroys flip
 * static keys (preempt_notifier_key, which __schedule() tests, and the LAPIC
 * keys), and the kernel rewrites that code on every CPU with int3 patching.
 * Under QEMU's multi-threaded TCG, a vCPU of the nested test VM (L1) now and
 * then executes the half-patched code: "Oops: int3" in __schedule, "corrupted
 * stack end detected inside scheduler", or a silent wedge. Tests that churn
 * VMs pass through zero VMs hundreds of times. tests/lib/nested.sh starts this
 * in every L1 before the command, so the count never drops to zero and the
 * keys stay on (docs/testing.md has the measurements). The vCPU never runs.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char usage[] =
	"usage: kvm_anchor\n"
	"  Creates a KVM VM with an in-kernel irqchip and one vCPU that never\n"
	"  runs, prints \"kvm_anchor: holding a VM\" and sleeps until killed.\n";

int main(int argc, char **argv)
{
	int kvm, vm;

	if (argc > 1) {
		fputs(usage, strcmp(argv[1], "--help") ? stderr : stdout);
		return strcmp(argv[1], "--help") ? 2 : 0;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("kvm_anchor: /dev/kvm");
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 || ioctl(vm, KVM_CREATE_VCPU, 0) < 0) {
		perror("kvm_anchor: creating the VM");
		return 1;
	}
	printf("kvm_anchor: holding a VM\n");
	fflush(stdout);
	for (;;)
		pause();
}
