// SPDX-License-Identifier: GPL-2.0
/*
 * wcalias: range-limited, revocable aliases of PCI memory BARs with a chosen
 * memory type, for a privileged broker to hand to unprivileged userspace
 * drivers. See uapi/wcalias.h for the interface and docs/kernel-mechanisms.md
 * in the wcbroker sources for why it exists.
 *
 * An alias is a dma-buf of exactly the granted length whose mmap inserts the
 * BAR's pages at fault time. The memory type comes from a reservation made
 * for exactly the range when the alias is created (on x86 the PAT memtype
 * tree decides the type of every inserted pfn), and is read back from a
 * kernel mapping of the range before the alias is handed out, so that a
 * request is refused rather than silently served with another type.
 *
 * Locking, outermost first:
 *
 *  device_lock(&pdev->dev)  held by the driver core around bind and unbind
 *                           (and so around our bus notifier's UNBIND_DRIVER);
 *                           we take it to create claims and aliases, so that
 *                           "a VFIO driver is bound" stays true until the new
 *                           claim or alias is on the lists the notifier walks.
 *  wcalias_lock             every list and counter below, the link between an
 *                           alias and its context and claim, and the state of
 *                           every alias and claim.
 *  alias->lock (rwsem)      alias->revoked against the fault and mmap paths,
 *                           which run under mmap_lock and must not take the
 *                           global mutex. Written only with wcalias_lock held.
 *
 * A live alias holds a reference to its own dma-buf, so its file, inode and
 * address space outlive any revocation; the alias is freed by the dma-buf
 * release, which can only come after the revocation dropped that reference.
 * A claim holds a runtime PM reference to its device, so that the BAR
 * answers while it is ours.
 *
 * Not covered, and documented for admins: a VFIO user's reset of the device,
 * and a VFIO type1 DMA mapping of an alias, which type1 never zaps.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pm_runtime.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/security.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#ifdef CONFIG_X86
#include <asm/memtype.h>
#endif

#include "compat.h"
#include "uapi/wcalias.h"

#define WCALIAS_VERSION "0.1.0"

static unsigned int max_aliases_per_context = 1024;
module_param(max_aliases_per_context, uint, 0444);
MODULE_PARM_DESC(max_aliases_per_context,
		 "Live aliases one open of /dev/wcalias may hold (default 1024)");

static unsigned int max_aliases_per_device = 4096;
module_param(max_aliases_per_device, uint, 0444);
MODULE_PARM_DESC(max_aliases_per_device,
		 "Live aliases of one PCI device, all contexts together (default 4096)");

/* One open of /dev/wcalias. */
struct wcalias_context {
	struct list_head aliases;	/* wcalias_alias.ctx_node */
	struct list_head claims;	/* wcalias_claim_rec.ctx_node */
	unsigned int nr_aliases;
	unsigned int number;		/* for the debugfs listing */
	pid_t opener;			/* tgid that opened it, for the listing */
};

/* A whole BAR held for one context with request_mem_region(). */
struct wcalias_claim_rec {
	struct list_head node;		/* wcalias_claims */
	struct list_head ctx_node;	/* ctx->claims */
	struct wcalias_context *ctx;
	struct pci_dev *pdev;		/* referenced */
	int bar;
	resource_size_t start;
	resource_size_t size;
	bool requested;			/* asked for by WCALIAS_IOC_CLAIM */
	unsigned int nr_aliases;	/* live aliases that rely on it */
};

struct wcalias_alias {
	struct rw_semaphore lock;	/* see the comment at the top */
	u32 revoked;			/* WCALIAS_LIVE or WCALIAS_REVOKED_* */

	/* The rest is under wcalias_lock while the alias is live. */
	struct list_head node;		/* wcalias_aliases */
	struct list_head ctx_node;	/* ctx->aliases */
	struct wcalias_context *ctx;	/* NULL once revoked */
	struct wcalias_claim_rec *claim;	/* NULL once revoked */
	struct dma_buf *dmabuf;		/* the alias's own reference while live */
	void __iomem *uc_hold;		/* keeps the UC- reservation of an UC alias */

	/* Fixed at creation. */
	struct pci_dev *pdev;		/* referenced until the dma-buf is freed */
	struct wcalias_bar bar;
	u64 id;
	u64 offset;
	u64 length;
	phys_addr_t phys;
	u32 memtype;
	u32 effective;
	unsigned int ctx_number;
};

static DEFINE_MUTEX(wcalias_lock);
static LIST_HEAD(wcalias_aliases);
static LIST_HEAD(wcalias_claims);
static u64 wcalias_next_id = 1;
static unsigned int wcalias_next_context = 1;
static struct dentry *wcalias_debugfs;

static const char *const wcalias_memtype_names[] = {
	[WCALIAS_MEMTYPE_UC_MINUS] = "uncached-minus",
	[WCALIAS_MEMTYPE_WC] = "write-combining",
	[WCALIAS_MEMTYPE_UNVERIFIED] = "unverified",
};

static const char *const wcalias_revoked_names[] = {
	[WCALIAS_LIVE] = "live",
	[WCALIAS_REVOKED_BY_REQUEST] = "revoked by its broker",
	[WCALIAS_REVOKED_CONTEXT] = "control fd closed",
	[WCALIAS_REVOKED_UNBIND] = "driver unbound",
	[WCALIAS_REVOKED_REMOVAL] = "device removed",
};

static bool wcalias_bar_matches(const struct pci_dev *pdev, int bar,
				const struct wcalias_claim_rec *claim)
{
	return claim->pdev == pdev && claim->bar == bar;
}

static struct wcalias_claim_rec *wcalias_find_claim(struct pci_dev *pdev, int bar)
{
	struct wcalias_claim_rec *claim;

	lockdep_assert_held(&wcalias_lock);
	list_for_each_entry(claim, &wcalias_claims, node)
		if (wcalias_bar_matches(pdev, bar, claim))
			return claim;
	return NULL;
}

static void wcalias_release_claim(struct wcalias_claim_rec *claim)
{
	lockdep_assert_held(&wcalias_lock);
	release_mem_region(claim->start, claim->size);
	/* Asynchronous: the device may suspend again once this returns. */
	pm_runtime_put(&claim->pdev->dev);
	list_del(&claim->node);
	list_del(&claim->ctx_node);
	pci_dev_put(claim->pdev);
	kfree(claim);
}

/*
 * Ends an alias: from here on its faults raise SIGBUS and its mmaps fail,
 * every page already mapped in any process is unmapped, and its memory type
 * reservation and its share of the claim go.
 */
static void wcalias_revoke(struct wcalias_alias *alias, u32 why)
{
	struct wcalias_claim_rec *claim = alias->claim;

	lockdep_assert_held(&wcalias_lock);

	/* Waits for faults in flight: their pages are in place before the zap. */
	down_write(&alias->lock);
	alias->revoked = why;
	up_write(&alias->lock);
	unmap_mapping_range(alias->dmabuf->file->f_mapping, 0, 0, 1);

	/* No pfn of the range is mapped through us any more. */
	if (alias->uc_hold)
		iounmap(alias->uc_hold);
	else
		arch_io_free_memtype_wc(alias->phys, alias->length);
	alias->uc_hold = NULL;

	list_del(&alias->node);
	list_del(&alias->ctx_node);
	alias->ctx->nr_aliases--;
	alias->ctx = NULL;
	alias->claim = NULL;
	if (--claim->nr_aliases == 0 && !claim->requested)
		wcalias_release_claim(claim);

	/*
	 * Drops the alias's own reference. Never the last one inside this
	 * call: the final fput of a file is deferred, and the release then
	 * takes nothing we hold.
	 */
	dma_buf_put(alias->dmabuf);
}

/* What the kernel's page tables give the range: read back, not assumed. */
static u32 wcalias_effective_memtype(phys_addr_t phys, u32 memtype)
{
#ifdef CONFIG_X86
	unsigned long bits, wc_bits, uc_minus_bits;
	void __iomem *probe;
	unsigned int level;
	u32 effective = U32_MAX;
	pte_t *pte;

	/*
	 * A one-page mapping asking for the alias's type inherits whatever
	 * the memtype tree already holds for the range (the alias's own
	 * reservation, or an older conflicting one that PAT lets win).
	 */
	probe = memtype == WCALIAS_MEMTYPE_WC ? ioremap_wc(phys, PAGE_SIZE) :
						 ioremap(phys, PAGE_SIZE);
	if (!probe)
		return U32_MAX;
	pte = lookup_address((unsigned long)probe & PAGE_MASK, &level);
	if (pte && level == PG_LEVEL_4K) {
		bits = pte_flags(*pte) & _PAGE_CACHE_MASK;
		wc_bits = cachemode2protval(_PAGE_CACHE_MODE_WC) & _PAGE_CACHE_MASK;
		uc_minus_bits = cachemode2protval(_PAGE_CACHE_MODE_UC_MINUS) &
				_PAGE_CACHE_MASK;
		/* Without PAT the "WC" bits are those of UC-. */
		if (pat_enabled() && bits == wc_bits)
			effective = WCALIAS_MEMTYPE_WC;
		else if (bits == uc_minus_bits)
			effective = WCALIAS_MEMTYPE_UC_MINUS;
	}
	iounmap(probe);
	return effective;
#else
	return WCALIAS_MEMTYPE_UNVERIFIED;
#endif
}

static bool wcalias_pat_usable(void)
{
#ifdef CONFIG_X86
	return pat_enabled();
#else
	return true;
#endif
}

/* vfio-pci itself, or one of its variant drivers ("mlx5-vfio-pci", ...). */
static bool wcalias_vfio_bound(struct pci_dev *pdev)
{
	const struct device_driver *drv = pdev->dev.driver;
	size_t len;

	if (!drv)
		return false;
	len = strlen(drv->name);
	return len >= 8 && !strcmp(drv->name + len - 8, "vfio-pci");
}

/*
 * Finds the device of a request and locks it; the checks every request
 * shares. On success the caller owns a reference and the device lock.
 */
static int wcalias_lock_device(const struct wcalias_bar *req, struct pci_dev **out,
			       u32 *why)
{
	struct pci_dev *pdev;
	int ret;

	if (req->reserved || req->bar >= PCI_STD_NUM_BARS)
		return -EINVAL;
	if (security_locked_down(LOCKDOWN_PCI_ACCESS)) {
		*why = WCALIAS_WHY_LOCKDOWN;
		return -EPERM;
	}
	pdev = pci_get_domain_bus_and_slot(req->domain, req->bus, req->devfn);
	if (!pdev) {
		*why = WCALIAS_WHY_NO_DEVICE;
		return -ENODEV;
	}
	ret = device_lock_interruptible(&pdev->dev);
	if (ret) {
		pci_dev_put(pdev);
		return ret;
	}
	if (!wcalias_vfio_bound(pdev)) {
		*why = WCALIAS_WHY_NO_VFIO_DRIVER;
		ret = -ENODEV;
	} else if (!(pci_resource_flags(pdev, req->bar) & IORESOURCE_MEM) ||
		   (pci_resource_flags(pdev, req->bar) & (IORESOURCE_UNSET | IORESOURCE_DISABLED)) ||
		   !pdev->resource[req->bar].parent || !pci_resource_len(pdev, req->bar)) {
		*why = WCALIAS_WHY_NOT_MEMORY_BAR;
		ret = -EINVAL;
	} else if (!PAGE_ALIGNED(pci_resource_start(pdev, req->bar))) {
		/* Its first page would also hold someone else's registers. */
		*why = WCALIAS_WHY_BAD_RANGE;
		ret = -EINVAL;
	}
	if (ret) {
		device_unlock(&pdev->dev);
		pci_dev_put(pdev);
		return ret;
	}
	*out = pdev;
	return 0;
}

static void wcalias_unlock_device(struct pci_dev *pdev)
{
	device_unlock(&pdev->dev);
	pci_dev_put(pdev);
}

/* The context's claim of the BAR, made now if there is none. */
static int wcalias_get_claim(struct wcalias_context *ctx, struct pci_dev *pdev, int bar,
			     struct wcalias_claim_rec **out, u32 *why)
{
	struct wcalias_claim_rec *claim;
	int ret;

	lockdep_assert_held(&wcalias_lock);
	claim = wcalias_find_claim(pdev, bar);
	if (claim) {
		if (claim->ctx != ctx) {
			*why = WCALIAS_WHY_OTHER_CONTEXT;
			return -EBUSY;
		}
		*out = claim;
		return 0;
	}
	claim = kzalloc(sizeof(*claim), GFP_KERNEL);
	if (!claim)
		return -ENOMEM;
	claim->start = pci_resource_start(pdev, bar);
	claim->size = pci_resource_len(pdev, bar);
	/*
	 * vfio-pci puts a device nobody has opened into D3hot, where its BARs
	 * do not answer: keep it in D0 while the BAR is ours. EACCES: runtime
	 * PM is off for it, so it is not suspended either.
	 */
	ret = pm_runtime_get_sync(&pdev->dev);
	if (ret < 0 && ret != -EACCES) {
		pm_runtime_put_noidle(&pdev->dev);
		kfree(claim);
		return ret;
	}
	if (!request_mem_region(claim->start, claim->size, KBUILD_MODNAME)) {
		pci_info_ratelimited(pdev, "BAR %d %pR is held by another driver\n", bar,
				     &pdev->resource[bar]);
		pm_runtime_put(&pdev->dev);
		kfree(claim);
		*why = WCALIAS_WHY_BAR_BUSY;
		return -EBUSY;
	}
	claim->ctx = ctx;
	claim->pdev = pci_dev_get(pdev);
	claim->bar = bar;
	list_add_tail(&claim->node, &wcalias_claims);
	list_add_tail(&claim->ctx_node, &ctx->claims);
	*out = claim;
	return 0;
}

static long wcalias_ioctl_claim(struct wcalias_context *ctx, void __user *argp)
{
	struct wcalias_claim_rec *claim = NULL;
	struct wcalias_claim req;
	struct pci_dev *pdev;
	int ret;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.flags)
		return -EINVAL;
	req.why = WCALIAS_WHY_NONE;
	ret = wcalias_lock_device(&req.bar, &pdev, &req.why);
	if (!ret) {
		mutex_lock(&wcalias_lock);
		ret = wcalias_get_claim(ctx, pdev, req.bar.bar, &claim, &req.why);
		if (!ret) {
			claim->requested = true;
			req.start = claim->start;
			req.size = claim->size;
		}
		mutex_unlock(&wcalias_lock);
		wcalias_unlock_device(pdev);
	}
	if (copy_to_user(argp, &req, sizeof(req)))
		return -EFAULT;
	return ret;
}

static long wcalias_ioctl_unclaim(struct wcalias_context *ctx, void __user *argp)
{
	struct wcalias_claim_rec *claim;
	struct wcalias_claim req;
	struct pci_dev *pdev;
	int ret = -ENOENT;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.bar.reserved || req.bar.bar >= PCI_STD_NUM_BARS)
		return -EINVAL;
	/* No device lock: dropping a claim never needs the driver bound. */
	pdev = pci_get_domain_bus_and_slot(req.bar.domain, req.bar.bus, req.bar.devfn);
	if (!pdev)
		return -ENOENT;
	mutex_lock(&wcalias_lock);
	claim = wcalias_find_claim(pdev, req.bar.bar);
	if (claim && claim->ctx == ctx) {
		/* Aliases of the BAR keep it until they end. */
		claim->requested = false;
		if (!claim->nr_aliases)
			wcalias_release_claim(claim);
		ret = 0;
	}
	mutex_unlock(&wcalias_lock);
	pci_dev_put(pdev);
	return ret;
}

static int wcalias_dmabuf_attach(struct dma_buf *dmabuf, struct dma_buf_attachment *attach)
{
	return -EOPNOTSUPP; /* CPU mappings only: no device may import it */
}

static struct sg_table *wcalias_map_dma_buf(struct dma_buf_attachment *attach,
					    enum dma_data_direction dir)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static void wcalias_unmap_dma_buf(struct dma_buf_attachment *attach, struct sg_table *sgt,
				  enum dma_data_direction dir)
{
}

static vm_fault_t wcalias_fault(struct vm_fault *vmf)
{
	struct wcalias_alias *alias = vmf->vma->vm_private_data;
	vm_fault_t ret;

	down_read(&alias->lock);
	if (alias->revoked || vmf->pgoff >= alias->length >> PAGE_SHIFT)
		ret = VM_FAULT_SIGBUS;
	else
		ret = vmf_insert_pfn_prot(vmf->vma, vmf->address,
					  (alias->phys >> PAGE_SHIFT) + vmf->pgoff,
					  vmf->vma->vm_page_prot);
	up_read(&alias->lock);
	return ret;
}

static const struct vm_operations_struct wcalias_vm_ops = {
	.fault = wcalias_fault,
};

/* The dma-buf core has checked that the mapping fits in the alias. */
static int wcalias_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct wcalias_alias *alias = dmabuf->priv;
	int ret = 0;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	down_read(&alias->lock);
	if (alias->revoked) {
		ret = -ENODEV;
	} else {
		/* No page is inserted here: only faults do, under the lock. */
		vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
		vma->vm_page_prot = alias->memtype == WCALIAS_MEMTYPE_WC ?
					    pgprot_writecombine(vma->vm_page_prot) :
					    pgprot_noncached(vma->vm_page_prot);
		vma->vm_ops = &wcalias_vm_ops;
		vma->vm_private_data = alias;
	}
	up_read(&alias->lock);
	return ret;
}

/* The last fd and mapping are gone, and a live alias holds a reference: it is revoked. */
static void wcalias_dmabuf_release(struct dma_buf *dmabuf)
{
	struct wcalias_alias *alias = dmabuf->priv;

	WARN_ON(alias->revoked == WCALIAS_LIVE);
	pci_dev_put(alias->pdev);
	kfree(alias);
}

static const struct dma_buf_ops wcalias_dmabuf_ops = {
	.attach = wcalias_dmabuf_attach,
	.map_dma_buf = wcalias_map_dma_buf,
	.unmap_dma_buf = wcalias_unmap_dma_buf,
	.mmap = wcalias_dmabuf_mmap,
	.release = wcalias_dmabuf_release,
};

static bool wcalias_overlaps(const struct wcalias_alias *alias, struct pci_dev *pdev, int bar,
			     u64 offset, u64 length)
{
	return alias->pdev == pdev && alias->bar.bar == bar &&
	       offset < alias->offset + alias->length && alias->offset < offset + length;
}

/* Whether one more alias of the device fits the limits; under wcalias_lock. */
static bool wcalias_within_limits(struct wcalias_context *ctx, struct pci_dev *pdev)
{
	struct wcalias_alias *alias;
	unsigned int of_device = 0;

	if (ctx->nr_aliases >= max_aliases_per_context)
		return false;
	list_for_each_entry(alias, &wcalias_aliases, node)
		if (alias->pdev == pdev)
			of_device++;
	return of_device < max_aliases_per_device;
}

/* Reserves the memory type for the range and checks what it really is. */
static int wcalias_reserve_memtype(struct wcalias_alias *alias, u32 *why)
{
	int ret;

	if (alias->memtype == WCALIAS_MEMTYPE_WC) {
		ret = arch_io_reserve_memtype_wc(alias->phys, alias->length);
		if (ret) {
			*why = WCALIAS_WHY_DOWNGRADED;
			return ret == -EINVAL ? -EBUSY : ret;
		}
	} else {
		/* Fails when the memtype tree holds another type for part of it. */
		alias->uc_hold = ioremap(alias->phys, alias->length);
		if (!alias->uc_hold) {
			*why = WCALIAS_WHY_DOWNGRADED;
			return -EBUSY;
		}
	}
	alias->effective = wcalias_effective_memtype(alias->phys, alias->memtype);
	if (alias->effective == alias->memtype || alias->effective == WCALIAS_MEMTYPE_UNVERIFIED)
		return 0;

	pci_info_ratelimited(alias->pdev,
			     "BAR %u [%#llx, +%#llx): refusing %s, the kernel would map it %s\n",
			     alias->bar.bar, alias->offset, alias->length,
			     wcalias_memtype_names[alias->memtype],
			     alias->effective < ARRAY_SIZE(wcalias_memtype_names) ?
				     wcalias_memtype_names[alias->effective] : "with another type");
	if (alias->uc_hold)
		iounmap(alias->uc_hold);
	else
		arch_io_free_memtype_wc(alias->phys, alias->length);
	alias->uc_hold = NULL;
	*why = WCALIAS_WHY_DOWNGRADED;
	return -EBUSY;
}

static int wcalias_check_create(const struct wcalias_create *req, struct pci_dev *pdev, u32 *why)
{
	resource_size_t len = pci_resource_len(pdev, req->bar.bar);

	if (req->memtype == WCALIAS_MEMTYPE_WC) {
		if (!(pci_resource_flags(pdev, req->bar.bar) & IORESOURCE_PREFETCH)) {
			*why = WCALIAS_WHY_NOT_PREFETCH;
			return -EINVAL;
		}
		if (!wcalias_pat_usable()) {
			*why = WCALIAS_WHY_NO_PAT;
			return -EOPNOTSUPP;
		}
	}
	if (req->offset >= len || req->length > len - req->offset) {
		*why = WCALIAS_WHY_BAD_RANGE;
		return -EINVAL;
	}
	return 0;
}

/* Makes the alias and its dma-buf; on success it is on every list. */
static int wcalias_create_locked(struct wcalias_context *ctx, struct wcalias_alias *alias,
				 u32 *why)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct wcalias_alias *other;
	struct wcalias_claim_rec *claim;
	struct dma_buf *dmabuf;
	bool new_claim;
	int ret;

	lockdep_assert_held(&wcalias_lock);
	if (!wcalias_within_limits(ctx, alias->pdev)) {
		*why = WCALIAS_WHY_LIMIT;
		return -ENOSPC;
	}
	list_for_each_entry(other, &wcalias_aliases, node) {
		if (wcalias_overlaps(other, alias->pdev, alias->bar.bar, alias->offset,
				     alias->length) &&
		    other->memtype != alias->memtype) {
			*why = WCALIAS_WHY_TYPE_CONFLICT;
			return -EBUSY;
		}
	}
	new_claim = !wcalias_find_claim(alias->pdev, alias->bar.bar);
	ret = wcalias_get_claim(ctx, alias->pdev, alias->bar.bar, &claim, why);
	if (ret)
		return ret;
	alias->phys = claim->start + alias->offset;
	ret = wcalias_reserve_memtype(alias, why);
	if (ret)
		goto drop_claim;

	exp_info.ops = &wcalias_dmabuf_ops;
	exp_info.size = alias->length;
	exp_info.flags = O_RDWR | O_CLOEXEC;
	exp_info.priv = alias;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto free_memtype;
	}
	/* The alias's own reference; the export's goes to the caller's fd. */
	get_dma_buf(dmabuf);
	alias->dmabuf = dmabuf;
	alias->id = wcalias_next_id++;
	alias->ctx = ctx;
	alias->ctx_number = ctx->number;
	alias->claim = claim;
	claim->nr_aliases++;
	ctx->nr_aliases++;
	list_add_tail(&alias->node, &wcalias_aliases);
	list_add_tail(&alias->ctx_node, &ctx->aliases);
	return 0;

free_memtype:
	if (alias->uc_hold)
		iounmap(alias->uc_hold);
	else
		arch_io_free_memtype_wc(alias->phys, alias->length);
	alias->uc_hold = NULL;
drop_claim:
	if (new_claim)
		wcalias_release_claim(claim);
	return ret;
}

static long wcalias_ioctl_create(struct wcalias_context *ctx, void __user *argp)
{
	struct wcalias_alias *alias;
	struct wcalias_create req;
	struct pci_dev *pdev;
	int fd, ret;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.reserved ||
	    (req.memtype != WCALIAS_MEMTYPE_WC && req.memtype != WCALIAS_MEMTYPE_UC_MINUS))
		return -EINVAL;
	req.why = WCALIAS_WHY_NONE;
	req.fd = -1;
	if (!req.length || !PAGE_ALIGNED(req.offset) || !PAGE_ALIGNED(req.length)) {
		req.why = WCALIAS_WHY_BAD_RANGE;
		ret = -EINVAL;
		goto reply;
	}
	ret = wcalias_lock_device(&req.bar, &pdev, &req.why);
	if (ret)
		goto reply;
	ret = wcalias_check_create(&req, pdev, &req.why);
	if (ret)
		goto unlock_device;

	alias = kzalloc(sizeof(*alias), GFP_KERNEL);
	if (!alias) {
		ret = -ENOMEM;
		goto unlock_device;
	}
	init_rwsem(&alias->lock);
	alias->pdev = pci_dev_get(pdev);
	alias->bar = req.bar;
	alias->offset = req.offset;
	alias->length = req.length;
	alias->memtype = req.memtype;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto free_alias;
	}
	mutex_lock(&wcalias_lock);
	ret = wcalias_create_locked(ctx, alias, &req.why);
	mutex_unlock(&wcalias_lock);
	if (ret)
		goto put_fd;
	wcalias_unlock_device(pdev);

	req.fd = fd;
	req.id = alias->id;
	req.phys = alias->phys;
	req.effective = alias->effective;
	if (copy_to_user(argp, &req, sizeof(req))) {
		mutex_lock(&wcalias_lock);
		if (alias->revoked == WCALIAS_LIVE)
			wcalias_revoke(alias, WCALIAS_REVOKED_BY_REQUEST);
		mutex_unlock(&wcalias_lock);
		dma_buf_put(alias->dmabuf); /* frees the alias */
		put_unused_fd(fd);
		return -EFAULT;
	}
	fd_install(fd, alias->dmabuf->file);
	return 0;

put_fd:
	put_unused_fd(fd);
free_alias:
	pci_dev_put(alias->pdev);
	kfree(alias);
unlock_device:
	wcalias_unlock_device(pdev);
reply:
	if (copy_to_user(argp, &req, sizeof(req)))
		return -EFAULT;
	return ret;
}

static long wcalias_ioctl_revoke(struct wcalias_context *ctx, u64 __user *argp)
{
	struct wcalias_alias *alias;
	int ret = -ENOENT;
	u64 id;

	if (get_user(id, argp))
		return -EFAULT;
	mutex_lock(&wcalias_lock);
	list_for_each_entry(alias, &ctx->aliases, ctx_node) {
		if (alias->id == id) {
			wcalias_revoke(alias, WCALIAS_REVOKED_BY_REQUEST);
			ret = 0;
			break;
		}
	}
	mutex_unlock(&wcalias_lock);
	return ret;
}

static void wcalias_revoke_all(struct wcalias_context *ctx, u32 why)
{
	struct wcalias_alias *alias, *next;

	lockdep_assert_held(&wcalias_lock);
	list_for_each_entry_safe(alias, next, &ctx->aliases, ctx_node)
		wcalias_revoke(alias, why);
}

static long wcalias_ioctl_query(struct wcalias_context *ctx, void __user *argp)
{
	struct wcalias_alias *alias;
	struct wcalias_query req;
	struct dma_buf *dmabuf;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (req.reserved)
		return -EINVAL;
	dmabuf = dma_buf_get(req.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf) == -EBADF ? -EBADF : -EINVAL;
	if (dmabuf->ops != &wcalias_dmabuf_ops) {
		dma_buf_put(dmabuf);
		return -EINVAL;
	}
	alias = dmabuf->priv;
	mutex_lock(&wcalias_lock);
	req.revoked = alias->revoked;
	req.own = alias->ctx_number == ctx->number;
	mutex_unlock(&wcalias_lock);
	req.id = alias->id;
	req.bar = alias->bar;
	req.memtype = alias->memtype;
	req.effective = alias->effective;
	req.offset = alias->offset;
	req.length = alias->length;
	req.phys = alias->phys;
	dma_buf_put(dmabuf);
	return copy_to_user(argp, &req, sizeof(req)) ? -EFAULT : 0;
}

static long wcalias_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct wcalias_context *ctx = file->private_data;
	void __user *argp = (void __user *)arg;
	struct wcalias_version version = {};

	/* The fd may have been passed on: the holder must be privileged too. */
	if (!capable(CAP_SYS_RAWIO))
		return -EPERM;

	switch (cmd) {
	case WCALIAS_IOC_VERSION:
		version.api_version = WCALIAS_API_VERSION;
		if (wcalias_pat_usable())
			version.flags |= WCALIAS_VERSION_PAT;
		if (IS_ENABLED(CONFIG_X86))
			version.flags |= WCALIAS_VERSION_VERIFIES;
		version.max_aliases_per_context = max_aliases_per_context;
		version.max_aliases_per_device = max_aliases_per_device;
		return copy_to_user(argp, &version, sizeof(version)) ? -EFAULT : 0;
	case WCALIAS_IOC_CLAIM:
		return wcalias_ioctl_claim(ctx, argp);
	case WCALIAS_IOC_UNCLAIM:
		return wcalias_ioctl_unclaim(ctx, argp);
	case WCALIAS_IOC_CREATE:
		return wcalias_ioctl_create(ctx, argp);
	case WCALIAS_IOC_REVOKE:
		return wcalias_ioctl_revoke(ctx, argp);
	case WCALIAS_IOC_REVOKE_ALL:
		mutex_lock(&wcalias_lock);
		wcalias_revoke_all(ctx, WCALIAS_REVOKED_BY_REQUEST);
		mutex_unlock(&wcalias_lock);
		return 0;
	case WCALIAS_IOC_QUERY:
		return wcalias_ioctl_query(ctx, argp);
	default:
		return -ENOTTY;
	}
}

static int wcalias_open(struct inode *inode, struct file *file)
{
	struct wcalias_context *ctx;

	if (!capable(CAP_SYS_RAWIO))
		return -EPERM;
	/* The same policy as the sysfs resource files and /dev/mem. */
	if (security_locked_down(LOCKDOWN_PCI_ACCESS))
		return -EPERM;
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	INIT_LIST_HEAD(&ctx->aliases);
	INIT_LIST_HEAD(&ctx->claims);
	ctx->opener = task_tgid_nr(current);	/* as debugfs readers see it */
	mutex_lock(&wcalias_lock);
	ctx->number = wcalias_next_context++;
	mutex_unlock(&wcalias_lock);
	file->private_data = ctx;
	return nonseekable_open(inode, file);
}

static int wcalias_release(struct inode *inode, struct file *file)
{
	struct wcalias_context *ctx = file->private_data;
	struct wcalias_claim_rec *claim, *next;

	mutex_lock(&wcalias_lock);
	wcalias_revoke_all(ctx, WCALIAS_REVOKED_CONTEXT);
	list_for_each_entry_safe(claim, next, &ctx->claims, ctx_node)
		wcalias_release_claim(claim);
	mutex_unlock(&wcalias_lock);
	kfree(ctx);
	return 0;
}

static const struct file_operations wcalias_fops = {
	.owner = THIS_MODULE,
	.open = wcalias_open,
	.release = wcalias_release,
	.unlocked_ioctl = wcalias_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice wcalias_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = WCALIAS_DEVICE_NAME,
	.fops = &wcalias_fops,
	.mode = 0600,
};

/*
 * The device is losing its driver (unbind, or the first step of a removal)
 * or leaving: nothing of it may stay mapped or claimed. Called by the driver
 * core with the device locked for UNBIND_DRIVER, which is what makes the
 * creation paths' "a VFIO driver is bound" check hold until their alias or
 * claim is on the lists walked here.
 */
static int wcalias_pci_notify(struct notifier_block *nb, unsigned long action, void *data)
{
	struct pci_dev *pdev = to_pci_dev(data);
	struct wcalias_claim_rec *claim, *next_claim;
	struct wcalias_alias *alias, *next;
	u32 why;

	switch (action) {
	case BUS_NOTIFY_UNBIND_DRIVER:
		why = WCALIAS_REVOKED_UNBIND;
		break;
	case BUS_NOTIFY_DEL_DEVICE:
		why = WCALIAS_REVOKED_REMOVAL;
		break;
	default:
		return NOTIFY_DONE;
	}
	mutex_lock(&wcalias_lock);
	list_for_each_entry_safe(alias, next, &wcalias_aliases, node) {
		if (alias->pdev == pdev) {
			pci_info(pdev, "alias %llu of BAR %u revoked: %s\n", alias->id,
				 alias->bar.bar, wcalias_revoked_names[why]);
			wcalias_revoke(alias, why);
		}
	}
	list_for_each_entry_safe(claim, next_claim, &wcalias_claims, node)
		if (claim->pdev == pdev)
			wcalias_release_claim(claim);
	mutex_unlock(&wcalias_lock);
	return NOTIFY_OK;
}

static struct notifier_block wcalias_pci_nb = {
	.notifier_call = wcalias_pci_notify,
};

/* /sys/kernel/debug/wcalias/state: every claim and live alias, for admins. */
static int wcalias_state_show(struct seq_file *m, void *unused)
{
	struct wcalias_claim_rec *claim;
	struct wcalias_alias *alias;

	mutex_lock(&wcalias_lock);
	list_for_each_entry(claim, &wcalias_claims, node)
		seq_printf(m, "claim %s bar %d [mem %pa+%#llx] context %u pid %d%s aliases %u\n",
			   pci_name(claim->pdev), claim->bar, &claim->start,
			   (unsigned long long)claim->size, claim->ctx->number, claim->ctx->opener,
			   claim->requested ? " requested" : "", claim->nr_aliases);
	list_for_each_entry(alias, &wcalias_aliases, node)
		seq_printf(m, "alias %llu %s bar %u offset %#llx length %#llx %s effective %s context %u\n",
			   alias->id, pci_name(alias->pdev), alias->bar.bar, alias->offset,
			   alias->length, wcalias_memtype_names[alias->memtype],
			   wcalias_memtype_names[alias->effective], alias->ctx_number);
	mutex_unlock(&wcalias_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(wcalias_state);

static int __init wcalias_init(void)
{
	int ret;

	ret = bus_register_notifier(&pci_bus_type, &wcalias_pci_nb);
	if (ret)
		return ret;
	ret = misc_register(&wcalias_misc);
	if (ret) {
		bus_unregister_notifier(&pci_bus_type, &wcalias_pci_nb);
		return ret;
	}
	wcalias_debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("state", 0400, wcalias_debugfs, NULL, &wcalias_state_fops);
	return 0;
}

/* Open control fds and alias dma-bufs hold module references: nothing is left. */
static void __exit wcalias_exit(void)
{
	debugfs_remove_recursive(wcalias_debugfs);
	misc_deregister(&wcalias_misc);
	bus_unregister_notifier(&pci_bus_type, &wcalias_pci_nb);
}

module_init(wcalias_init);
module_exit(wcalias_exit);

MODULE_DESCRIPTION("Range-limited, revocable write-combining aliases of PCI BARs");
MODULE_AUTHOR("The wcbroker developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(WCALIAS_VERSION);
WCALIAS_IMPORT_DMA_BUF_NS;
