/* A stand-in for the kernel's <linux/types.h>, for the freestanding header test:
 * the ABI headers are compiled with -ffreestanding -nostdinc -D__KERNEL__ and may
 * only rely on what a kernel build provides. Types come from compiler builtins. */
#ifndef KHOABI_FAKE_KERNEL_LINUX_TYPES_H
#define KHOABI_FAKE_KERNEL_LINUX_TYPES_H
typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
typedef __INT8_TYPE__ s8;
typedef __INT16_TYPE__ s16;
typedef __INT32_TYPE__ s32;
typedef __INT64_TYPE__ s64;
typedef u8 uint8_t;
typedef u16 uint16_t;
typedef u32 uint32_t;
typedef u64 uint64_t;
typedef u64 phys_addr_t;
#ifndef __cplusplus
typedef _Bool bool;
#endif
#endif
