/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * wcalias: range-limited, revocable aliases of PCI memory BARs with a chosen
 * memory type (write-combining or uncached-minus), handed out as dma-buf fds.
 *
 * The control device /dev/wcalias is for one privileged broker (mode 0600
 * and CAP_SYS_RAWIO, refused under kernel lockdown). Each open of it is a
 * "control context": the claims and aliases it creates live until they are
 * released or revoked, or until the context is closed. An alias fd maps
 * exactly [offset, offset + length) of the BAR, at mmap offset 0, and may be
 * passed to any process (SCM_RIGHTS); revoking the alias makes every mapping
 * of it fault SIGBUS and new mmaps fail with ENODEV.
 *
 * All structures are fixed-size, naturally aligned, and have no implicit
 * padding. Fields marked "in" are read by the kernel, "out" are written by
 * it. Reserved fields and flags must be zero; the kernel answers EINVAL
 * otherwise so that they can be given a meaning later.
 */
#ifndef _UAPI_WCALIAS_H
#define _UAPI_WCALIAS_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define WCALIAS_DEVICE_NAME "wcalias"
#define WCALIAS_API_VERSION 1

/* Memory types of an alias. */
#define WCALIAS_MEMTYPE_UC_MINUS   0 /* uncached-minus, as a VFIO or resourceN mapping */
#define WCALIAS_MEMTYPE_WC         1 /* write-combining */
/* Only as an effective type: the architecture gives no way to read it back. */
#define WCALIAS_MEMTYPE_UNVERIFIED 2

/*
 * Why a request failed, when errno alone does not say (the "why" fields).
 * The kernel log says the same in words.
 */
#define WCALIAS_WHY_NONE            0
#define WCALIAS_WHY_NO_DEVICE       1 /* no PCI device at that address */
#define WCALIAS_WHY_NO_VFIO_DRIVER  2 /* the device is not bound to vfio-pci or a variant of it */
#define WCALIAS_WHY_NOT_MEMORY_BAR  3 /* the BAR is absent, empty or an I/O port BAR */
#define WCALIAS_WHY_NOT_PREFETCH    4 /* write-combining needs a prefetchable BAR */
#define WCALIAS_WHY_BAD_RANGE       5 /* not page-aligned, empty, or outside the BAR */
#define WCALIAS_WHY_BAR_BUSY        6 /* another driver (e.g. vfio-pci) holds the BAR */
#define WCALIAS_WHY_OTHER_CONTEXT   7 /* another control context has claimed the BAR */
#define WCALIAS_WHY_TYPE_CONFLICT   8 /* a live alias of another type overlaps the range */
#define WCALIAS_WHY_DOWNGRADED      9 /* the kernel would map it with another memory type */
#define WCALIAS_WHY_NO_PAT         10 /* the CPU's PAT is disabled: no write-combining */
#define WCALIAS_WHY_LIMIT          11 /* too many aliases for this context or device */
#define WCALIAS_WHY_LOCKDOWN       12 /* kernel lockdown forbids PCI BAR access */

/* Why an alias was revoked (wcalias_query.revoked). */
#define WCALIAS_LIVE                0
#define WCALIAS_REVOKED_BY_REQUEST  1 /* WCALIAS_IOC_REVOKE or WCALIAS_IOC_REVOKE_ALL */
#define WCALIAS_REVOKED_CONTEXT     2 /* its control context was closed */
#define WCALIAS_REVOKED_UNBIND      3 /* the device's driver unbound */
/*
 * The device was removed while no driver was bound. A device bound to a VFIO
 * driver is unbound first on its way out, and reports WCALIAS_REVOKED_UNBIND.
 */
#define WCALIAS_REVOKED_REMOVAL     4

/* A memory BAR of a PCI device. */
struct wcalias_bar {
	__u32 domain;
	__u8 bus;
	__u8 devfn;	/* PCI_DEVFN(slot, function) */
	__u8 bar;	/* 0..5 */
	__u8 reserved;
};

/* WCALIAS_IOC_VERSION: what this module is and can do. */
struct wcalias_version {
	__u32 api_version;		/* out: WCALIAS_API_VERSION */
	__u32 flags;			/* out: WCALIAS_VERSION_* */
	__u32 max_aliases_per_context;	/* out */
	__u32 max_aliases_per_device;	/* out */
};
#define WCALIAS_VERSION_PAT		(1U << 0) /* write-combining is possible */
#define WCALIAS_VERSION_VERIFIES	(1U << 1) /* effective types are read back */

/*
 * WCALIAS_IOC_CLAIM / WCALIAS_IOC_UNCLAIM: take a whole BAR for this
 * context (it shows in /proc/iomem as "wcalias"), so that no driver, VFIO
 * included, can request it while the claim lasts. A claim is dropped by
 * UNCLAIM once the context's aliases of that BAR are gone, when the context
 * is closed, and when the device's driver unbinds or the device is removed.
 * Claiming a BAR this context already holds succeeds.
 */
struct wcalias_claim {
	struct wcalias_bar bar;	/* in */
	__u32 flags;		/* in: 0 */
	__u32 why;		/* out: WCALIAS_WHY_* on failure */
	__u64 start;		/* out: the BAR's bus address */
	__u64 size;		/* out: the BAR's size in bytes */
};

/*
 * WCALIAS_IOC_CREATE: an alias of [offset, offset + length) of a BAR. The
 * BAR is claimed for the context first if it is not already. Returns a new
 * dma-buf fd (O_RDWR | O_CLOEXEC) of exactly length bytes. The memory type
 * is reserved for exactly the range for the alias's life and read back from
 * the kernel's own mapping of it; the create fails with EBUSY
 * (WCALIAS_WHY_DOWNGRADED) rather than hand out another type.
 */
struct wcalias_create {
	struct wcalias_bar bar;	/* in */
	__u32 memtype;		/* in: WCALIAS_MEMTYPE_WC or _UC_MINUS */
	__u32 flags;		/* in: 0 */
	__u64 offset;		/* in: from the start of the BAR, page-aligned */
	__u64 length;		/* in: page-aligned, non-zero */
	__s32 fd;		/* out: the alias */
	__u32 effective;	/* out: WCALIAS_MEMTYPE_* in effect */
	__u64 id;		/* out: the alias's id, unique while the module is loaded */
	__u64 phys;		/* out: bus address of the range */
	__u32 why;		/* out: WCALIAS_WHY_* on failure */
	__u32 reserved;
};

/*
 * WCALIAS_IOC_QUERY: what an alias fd is (for a restarted broker that finds
 * its fds in a store). EINVAL for an fd that is not a wcalias alias.
 */
struct wcalias_query {
	__s32 fd;		/* in: an alias fd */
	__u32 revoked;		/* out: WCALIAS_LIVE or WCALIAS_REVOKED_* */
	__u64 id;		/* out */
	struct wcalias_bar bar;	/* out */
	__u32 memtype;		/* out: as asked */
	__u32 effective;	/* out: as read back */
	__u64 offset;		/* out */
	__u64 length;		/* out */
	__u64 phys;		/* out */
	__u32 own;		/* out: 1 if this context created it */
	__u32 reserved;
};

#define WCALIAS_IOC_MAGIC	0xCA
#define WCALIAS_IOC_VERSION	_IOR(WCALIAS_IOC_MAGIC, 0x00, struct wcalias_version)
#define WCALIAS_IOC_CLAIM	_IOWR(WCALIAS_IOC_MAGIC, 0x01, struct wcalias_claim)
#define WCALIAS_IOC_UNCLAIM	_IOWR(WCALIAS_IOC_MAGIC, 0x02, struct wcalias_claim)
#define WCALIAS_IOC_CREATE	_IOWR(WCALIAS_IOC_MAGIC, 0x03, struct wcalias_create)
/* Revoke one alias of this context, by id (__u64); ENOENT if there is none. */
#define WCALIAS_IOC_REVOKE	_IOW(WCALIAS_IOC_MAGIC, 0x04, __u64)
/* Revoke every alias of this context; its claims stay. */
#define WCALIAS_IOC_REVOKE_ALL	_IO(WCALIAS_IOC_MAGIC, 0x05)
#define WCALIAS_IOC_QUERY	_IOWR(WCALIAS_IOC_MAGIC, 0x06, struct wcalias_query)

#endif /* _UAPI_WCALIAS_H */
