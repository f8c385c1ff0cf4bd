/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only */
/*
 * khoabi_types.h - the few definitions every khoabi ABI header shares.
 *
 * DOC: Building the ABI headers
 *
 * The headers under abi/ describe on-disk (in-memory, across kexec) layouts
 * byte for byte. They are plain C11 that also compiles as C++ and in a
 * freestanding, kernel-like build:
 *
 *  - hosted C or C++: fixed-width types come from <stdint.h>;
 *  - a kernel build (``__KERNEL__`` defined): from <linux/types.h>, which
 *    provides uint8_t ... uint64_t as well as u8 ... u64.
 *
 * Nothing else is included: no libc, no <stddef.h> (offsets use
 * __builtin_offsetof, which GCC and Clang provide in every mode).
 *
 * Layout rules the headers follow: fixed-width integer fields only, explicit
 * padding, no bitfields, no pointers, no enum-typed fields; every struct's size
 * and every field's offset pinned with a static assertion. Where upstream used a
 * bitfield or a kernel pointer, the mirror keeps upstream's exact layout with a
 * plain integer field and says so.
 */
#ifndef KHOABI_ABI_KHOABI_TYPES_H_
#define KHOABI_ABI_KHOABI_TYPES_H_

#if defined(__KERNEL__)
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#ifdef __cplusplus
#define KHOABI_STATIC_ASSERT(expr, msg) static_assert(expr, msg)
#else
#define KHOABI_STATIC_ASSERT(expr, msg) _Static_assert(expr, msg)
#endif

/* Byte offset of @member in @type (works without <stddef.h>). */
#define KHOABI_OFFSETOF(type, member) __builtin_offsetof(type, member)

/* Upstream's __packed. */
#define KHOABI_PACKED __attribute__((__packed__))

/* Pins sizeof(@type) to @size bytes. */
#define KHOABI_ASSERT_SIZE(type, size) \
  KHOABI_STATIC_ASSERT(sizeof(type) == (size), "ABI break: sizeof(" #type ") != " #size)

/* Pins the offset of @member in @type to @offset bytes. */
#define KHOABI_ASSERT_OFFSET(type, member, offset)                \
  KHOABI_STATIC_ASSERT(KHOABI_OFFSETOF(type, member) == (offset), \
                       "ABI break: offsetof(" #type ", " #member ") != " #offset)

/* Pages are 4 KiB on every ABI described here (x86-64 reference machine). */
#define KHOABI_PAGE_SHIFT 12
#define KHOABI_PAGE_SIZE 4096u

#endif /* KHOABI_ABI_KHOABI_TYPES_H_ */
