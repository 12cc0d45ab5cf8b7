/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels wcalias is built for (Debian's 6.1, 6.12
 * and 7.x): one place, so that wcalias.c reads as code for the newest.
 */
#ifndef _WCALIAS_COMPAT_H
#define _WCALIAS_COMPAT_H

#include <linux/mm.h>
#include <linux/module.h>
#include <linux/version.h>

/* vm_flags became read-only behind helpers in 6.3. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_set(struct vm_area_struct *vma, unsigned long flags)
{
	vma->vm_flags |= flags;
}
#endif

/* Symbol namespaces are string literals from 6.13 on. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define WCALIAS_IMPORT_DMA_BUF_NS MODULE_IMPORT_NS("DMA_BUF")
#else
#define WCALIAS_IMPORT_DMA_BUF_NS MODULE_IMPORT_NS(DMA_BUF)
#endif

#endif /* _WCALIAS_COMPAT_H */
