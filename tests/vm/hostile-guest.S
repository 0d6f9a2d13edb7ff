/* SPDX-License-Identifier: Apache-2.0 */
/* A 32-bit PVH test guest whose first command-line character picks a misbehaviour. */
	.section .note.pvh, "a", @note
	.balign 4
	.long 4, 4, 18
	.asciz "Xen"
	.long _start
	.text
	.code32
	.globl _start
_start:
	mov $msg, %esi
	call puts
	mov 24(%ebx), %eax      /* hvm_start_info.cmdline_paddr */
	movb (%eax), %al
	cmp $'k', %al
	je kbd
	cmp $'c', %al
	je cf9
	cmp $'t', %al
	je triple
	cmp $'m', %al
	je mmio
	cmp $'h', %al
	je hostile
	cmp $'s', %al
	je spin
	cmp $'l', %al
	je halt
poweroff:
	mov $0xeb0, %dx
	mov $0x000101, %eax   /* init_started */
	outl %eax, %dx
	mov $0x005002, %eax   /* ready port=80 */
	outl %eax, %dx
	mov $0x000704, %eax   /* poweroff status=7 */
	outl %eax, %dx
	jmp halt
kbd:	mov $0xfe, %al
	outb %al, $0x64
	jmp halt
cf9:	mov $0xcf9, %dx
	inb %dx, %al
	mov $0x02, %al
	outb %al, %dx
	mov $0x06, %al
	outb %al, %dx
	jmp halt
triple:	lidt idt0
	int3
	jmp halt
mmio:	mov $0xd0000000, %eax
	jmp *%eax
hostile:
	mov $0x3f8, %dx
	mov $0x4141, %ax
	outw %ax, %dx           /* wide serial write: ignored */
	inl %dx, %eax
	mov $0xeb1, %dx
	outb %al, %dx           /* doorbell, bad offset/size */
	mov $0xeb0, %dx
	mov $0x12345677, %eax   /* unknown event */
	outl %eax, %dx
	mov $msg, %esi
	mov $8, %ecx
	rep outsb               /* string I/O to the doorbell */
	mov $0xcf8, %dx
	mov $0x80000000, %eax
	outl %eax, %dx          /* PCI config address: nobody */
	inl %dx, %eax
	mov $0xd0000000, %edi
	movl $0xdeadbeef, (%edi) /* unclaimed MMIO write */
	movl (%edi), %eax        /* unclaimed MMIO read: all ones */
	cmp $0xffffffff, %eax
	jne bad
	mov $0xfffffffc, %edi
	movl (%edi), %eax        /* top of 4 GiB */
	mov $0xeb0, %dx
	mov $0x000904, %eax   /* poweroff status=9 */
	outl %eax, %dx
	jmp halt
bad:	mov $0xeb0, %dx
	mov $0x000504, %eax   /* poweroff status=5: MMIO read not all ones */
	outl %eax, %dx
spin:	jmp spin
halt:	cli
	hlt
	jmp halt
puts:	movb (%esi), %al
	test %al, %al
	jz 1f
	mov $0x3f8, %dx
	outb %al, %dx
	inc %esi
	jmp puts
1:	ret
	.balign 8
idt0:	.word 0
	.long 0
msg:	.asciz "hello from the test guest\n"
