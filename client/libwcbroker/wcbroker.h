/*
 * libwcbroker: write-combining (or uncached) access to a PCI BAR range for
 * userspace drivers, through wcbrokerd on the D-Bus system bus.
 *
 *   wcbroker_session *session;
 *   wcbroker_mapping *mapping;
 *   char *error = NULL;
 *   struct wcbroker_map_request request = WCBROKER_MAP_REQUEST_INIT;
 *   request.device = "0000:3b:00.0";
 *   request.bar = 2;
 *   request.length = 0x10000;
 *   if (wcbroker_session_open(&session, &error) < 0 ||
 *       wcbroker_map(session, &request, &mapping, &error) < 0) {
 *       fprintf(stderr, "%s\n", error);
 *       free(error);
 *       ...
 *   }
 *   volatile uint64_t *bar = wcbroker_mapping_address(mapping);
 *   ... stores ...
 *   wcbroker_wc_barrier();   // before ringing a doorbell elsewhere
 *   wcbroker_unmap(mapping);
 *   wcbroker_session_close(session);
 *
 * All functions return 0 or a negative errno; on failure *error (when not
 * NULL) receives a message to print, to be released with free(). See
 * libwcbroker(3) and docs/client.md. Not thread-safe: use a session from
 * one thread at a time.
 */
#ifndef WCBROKER_H
#define WCBROKER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WCBROKER_EXPORT __attribute__((visibility("default")))
#else
#define WCBROKER_EXPORT
#endif

typedef struct wcbroker_session wcbroker_session;
typedef struct wcbroker_mapping wcbroker_mapping;

enum wcbroker_access {
    WCBROKER_WRITE_COMBINE = 0,
    WCBROKER_UNCACHED = 1,
};

struct wcbroker_map_request {
    size_t size;              /* sizeof(struct wcbroker_map_request): lets the struct grow */
    const char *device;       /* PCI address as in sysfs, e.g. "0000:3b:00.0" */
    unsigned bar;             /* 0 to 5 */
    uint64_t offset;          /* in the BAR; a multiple of the page size */
    uint64_t length;          /* a multiple of the page size */
    enum wcbroker_access access;
    int require_verified_wc;  /* nonzero: fail unless the kernel verifiably maps it WC */
    const char *label;        /* optional, shown in lease lists and audit records */
    /* Added after `label`: a request of the shorter first layout leaves them 0. */
    void *address;            /* NULL: anywhere; else exactly here, replacing what is mapped (MAP_FIXED) */
    int require_kernel_enforced_range; /* nonzero: fail unless the kernel stops accesses outside the range */
};

#define WCBROKER_MAP_REQUEST_INIT \
    { sizeof(struct wcbroker_map_request), NULL, 0, 0, 0, WCBROKER_WRITE_COMBINE, 0, NULL, NULL, 0 }

/* Connects to wcbrokerd on the system bus ($DBUS_SYSTEM_BUS_ADDRESS is
 * honoured) and checks that it answers. -ECONNREFUSED when the bus or
 * wcbrokerd cannot be reached. */
WCBROKER_EXPORT int wcbroker_session_open(wcbroker_session **session, char **error);

/* Connects to the bus at `address` instead, e.g. "unix:path=/run/x". */
WCBROKER_EXPORT int wcbroker_session_open_address(wcbroker_session **session, const char *address, char **error);

/* Unmaps and releases every mapping of the session, then disconnects. */
WCBROKER_EXPORT void wcbroker_session_close(wcbroker_session *session);

/* Acquires a lease and maps it. Errors: -EACCES (the policy denies it),
 * -ENODEV (no such device, or not on vfio-pci), -ERANGE (range outside the
 * BAR or unaligned), -EINVAL (malformed argument), -EOPNOTSUPP (the kernel
 * cannot: BAR not prefetchable, WC not verified, lockdown), -EBUSY (a VFIO
 * user claimed the BAR, or a conflicting lease), -EDQUOT (a lease limit),
 * -ECONNREFUSED (wcbrokerd unreachable), -EIO (anything else). */
WCBROKER_EXPORT int wcbroker_map(wcbroker_session *session, const struct wcbroker_map_request *request,
    wcbroker_mapping **mapping, char **error);

/* A range of a BAR the policy grants this caller, and with which access. */
struct wcbroker_grant {
    uint64_t offset;
    uint64_t length;
    enum wcbroker_access access;
};

/* The ranges of BAR `bar` the policy grants this caller, rule by rule in
 * the policy's order (they may overlap; a whole-BAR rule gives the whole
 * BAR). *grants is allocated with malloc() (free() it; NULL when *count is
 * 0). For a client that maps a whole BAR and composes it from leases, each
 * range with the access granted there. Errors as wcbroker_map()'s. */
WCBROKER_EXPORT int wcbroker_list_grants(wcbroker_session *session, const char *device, unsigned bar,
    struct wcbroker_grant **grants, size_t *count, char **error);

/* Unmaps, closes the fd and releases the lease. Always frees `mapping`;
 * returns the Release error, if any (a revoked lease is already gone: 0). */
WCBROKER_EXPORT int wcbroker_unmap(wcbroker_mapping *mapping);

WCBROKER_EXPORT void *wcbroker_mapping_address(const wcbroker_mapping *mapping);
WCBROKER_EXPORT size_t wcbroker_mapping_length(const wcbroker_mapping *mapping);
/* "write-combining", "uncached-minus", "uncached" or "unverified": what the
 * kernel actually set up, never merely what was asked for. */
WCBROKER_EXPORT const char *wcbroker_mapping_memtype(const wcbroker_mapping *mapping);
/* The lease's D-Bus object path. */
WCBROKER_EXPORT const char *wcbroker_mapping_lease(const wcbroker_mapping *mapping);
/* "sysfs-wc", "sysfs-uc", ... */
WCBROKER_EXPORT const char *wcbroker_mapping_mechanism(const wcbroker_mapping *mapping);
/* "kernel" or "advisory": whether the kernel stops accesses outside the range. */
WCBROKER_EXPORT const char *wcbroker_mapping_range_enforcement(const wcbroker_mapping *mapping);
/* The lease's file descriptor, owned by the mapping (closed by
 * wcbroker_unmap(); dup() it to keep it), and the offset to give mmap(2)
 * for the first byte of the range: to map it again elsewhere, or to hand it
 * to another process. With range enforcement "kernel" no mmap of it can
 * reach beyond the range. */
WCBROKER_EXPORT int wcbroker_mapping_fd(const wcbroker_mapping *mapping);
WCBROKER_EXPORT uint64_t wcbroker_mapping_fd_offset(const wcbroker_mapping *mapping);
/* Nonzero once wcbrokerd revoked the lease; the reason, or NULL. */
WCBROKER_EXPORT int wcbroker_mapping_revoked(const wcbroker_mapping *mapping);
WCBROKER_EXPORT const char *wcbroker_mapping_revoked_reason(const wcbroker_mapping *mapping);

/* Revocation: called when wcbrokerd revokes a lease (device unbound or
 * removed, policy changed), from wcbroker_session_process(), or from
 * wcbroker_map() and wcbroker_unmap() for revocations that arrived while they
 * waited for wcbrokerd. Stop using the mapping, then wcbroker_unmap() it. */
typedef void (*wcbroker_revoked_fn)(wcbroker_mapping *mapping, const char *reason, void *userdata);
WCBROKER_EXPORT void wcbroker_session_on_revoked(wcbroker_session *session, wcbroker_revoked_fn callback, void *userdata);

/* A file descriptor to poll for POLLIN; when readable, call
 * wcbroker_session_process(), which dispatches revocations. */
WCBROKER_EXPORT int wcbroker_session_fd(const wcbroker_session *session);
WCBROKER_EXPORT int wcbroker_session_process(wcbroker_session *session);

/* Orders write-combining stores before what follows (a doorbell write, a
 * flag another agent polls): WC stores are buffered and may be reordered
 * and merged until a store fence. */
static inline void wcbroker_wc_barrier(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("sfence" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("dsb st" ::: "memory");
#else
    __sync_synchronize();
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* WCBROKER_H */
