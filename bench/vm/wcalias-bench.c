/*
 * The wcalias module's costs, measured in a guest against baselines taken in
 * the same run (docs/performance.md, "The wcalias module"):
 *
 *   acquire   create an alias, map it, store once, unmap, revoke, close;
 *             against the same through the sysfs resourceN_wc file, and a
 *             floor that maps a memfd page (what any mmap-able fd costs);
 *   fault     first touch of every page of a mapping (the module inserts a
 *             page per fault) against a second touch (no fault), and
 *             against sysfs, which maps every page at mmap time;
 *   revoke    from the start of WCALIAS_IOC_REVOKE, or of the write to the
 *             driver's unbind file, to the SIGBUS of the next access.
 *
 * Usage (as root, the device bound to vfio-pci, the module loaded):
 *   wcalias-bench BDF BAR ITERATIONS
 * Prints "RESULT name p50_ns p99_ns" lines and "RATIO name value" lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "wcalias.h"

#define PAGE 4096UL

static struct wcalias_bar target;
static char bdf[32];
static int control = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	printf("FAIL: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t percentile(uint64_t *samples, int n, int pct)
{
	qsort(samples, (size_t)n, sizeof(*samples), compare);
	return samples[(n - 1) * pct / 100];
}

static uint64_t report(const char *name, uint64_t *samples, int n)
{
	uint64_t p50 = percentile(samples, n, 50);

	printf("RESULT %s %llu %llu\n", name, (unsigned long long)p50,
	       (unsigned long long)percentile(samples, n, 99));
	return p50;
}

static struct wcalias_create create_alias(uint64_t offset, uint64_t length)
{
	struct wcalias_create req = { .bar = target, .memtype = WCALIAS_MEMTYPE_WC,
				      .offset = offset, .length = length };

	if (ioctl(control, WCALIAS_IOC_CREATE, &req))
		die("WCALIAS_IOC_CREATE");
	return req;
}

static void revoke_alias(uint64_t id)
{
	if (ioctl(control, WCALIAS_IOC_REVOKE, &id))
		die("WCALIAS_IOC_REVOKE");
}

static int open_sysfs_wc(void)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%u_wc", bdf, target.bar);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(path);
	return fd;
}

static volatile uint32_t *map(int fd, size_t length)
{
	void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void bench_acquire(int n)
{
	uint64_t *module = calloc(n, 8), *sysfs = calloc(n, 8), *floor = calloc(n, 8);
	uint64_t m, s, f;

	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		struct wcalias_create alias = create_alias(0, PAGE);
		volatile uint32_t *p = map(alias.fd, PAGE);

		p[0] = (uint32_t)i;
		munmap((void *)p, PAGE);
		revoke_alias(alias.id);
		close(alias.fd);
		module[i] = now_ns() - t0;

		t0 = now_ns();
		int fd = open_sysfs_wc();
		p = map(fd, PAGE);
		p[0] = (uint32_t)i;
		munmap((void *)p, PAGE);
		close(fd);
		sysfs[i] = now_ns() - t0;

		t0 = now_ns();
		fd = memfd_create("floor", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, PAGE))
			die("memfd");
		p = map(fd, PAGE);
		p[0] = (uint32_t)i;
		munmap((void *)p, PAGE);
		close(fd);
		floor[i] = now_ns() - t0;
	}
	m = report("acquire-module", module, n);
	s = report("acquire-sysfs-wc", sysfs, n);
	f = report("acquire-floor", floor, n);
	printf("RATIO acquire-module/sysfs-wc %.2f\n", (double)m / (double)s);
	printf("RATIO acquire-module/floor %.2f\n", (double)m / (double)f);
	free(module);
	free(sysfs);
	free(floor);
}

/* Touches every page once; returns the time per page. */
static uint64_t touch_pages(volatile uint32_t *p, size_t pages)
{
	uint64_t t0 = now_ns();

	for (size_t i = 0; i < pages; i++)
		p[i * PAGE / 4] = (uint32_t)i;
	return (now_ns() - t0) / pages;
}

static void bench_fault(int n, size_t pages)
{
	uint64_t *first = calloc(n, 8), *again = calloc(n, 8), *fault = calloc(n, 8);
	uint64_t *sysfs = calloc(n, 8), *module_all = calloc(n, 8);

	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		struct wcalias_create alias = create_alias(0, pages * PAGE);
		volatile uint32_t *p = map(alias.fd, pages * PAGE);

		first[i] = touch_pages(p, pages);
		module_all[i] = (now_ns() - t0) / pages;
		again[i] = touch_pages(p, pages);
		fault[i] = first[i] > again[i] ? first[i] - again[i] : 0;
		munmap((void *)p, pages * PAGE);
		revoke_alias(alias.id);
		close(alias.fd);

		t0 = now_ns();
		int fd = open_sysfs_wc();
		p = map(fd, pages * PAGE);
		touch_pages(p, pages);
		sysfs[i] = (now_ns() - t0) / pages;
		munmap((void *)p, pages * PAGE);
		close(fd);
	}
	report("fault-first-touch-per-page", first, n);
	report("fault-second-touch-per-page", again, n);
	report("fault-cost-per-page", fault, n);
	uint64_t m = report("map-and-touch-per-page-module", module_all, n);
	uint64_t s = report("map-and-touch-per-page-sysfs-wc", sysfs, n);
	printf("RATIO map-and-touch-module/sysfs-wc %.2f\n", (double)m / (double)s);
	free(first);
	free(again);
	free(fault);
	free(sysfs);
	free(module_all);
}

static sigjmp_buf on_bus;
static volatile uint64_t bus_at, revoke_started;

static void sigbus(int sig)
{
	(void)sig;
	bus_at = now_ns();
	siglongjmp(on_bus, 1);
}

/* Maps an alias, revokes it by `how`, and times until the next access faults. */
static uint64_t time_revocation(int by_unbind)
{
	struct wcalias_create alias = create_alias(0, PAGE);
	volatile uint32_t *p = map(alias.fd, PAGE);

	p[0] = 1;
	if (sigsetjmp(on_bus, 1)) {
		munmap((void *)p, PAGE);
		close(alias.fd);
		return bus_at - revoke_started;
	}
	revoke_started = now_ns();
	if (by_unbind) {
		char path[128];
		int fd;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		fd = open(path, O_WRONLY);
		if (fd < 0 || write(fd, bdf, strlen(bdf)) < 0)
			die("unbind");
		close(fd);
	} else {
		revoke_alias(alias.id);
	}
	for (;;)
		p[0]++;
}

static void rebind(void)
{
	int fd = open("/sys/bus/pci/drivers_probe", O_WRONLY);

	if (fd < 0 || write(fd, bdf, strlen(bdf)) < 0)
		die("drivers_probe");
	close(fd);
}

static void bench_revoke(int n, int unbinds)
{
	uint64_t *by_ioctl = calloc(n, 8), *by_unbind = calloc(unbinds, 8);

	signal(SIGBUS, sigbus);
	for (int i = 0; i < n; i++)
		by_ioctl[i] = time_revocation(0);
	report("revoke-ioctl-to-sigbus", by_ioctl, n);
	for (int i = 0; i < unbinds; i++) {
		by_unbind[i] = time_revocation(1);
		rebind();
	}
	report("revoke-unbind-to-sigbus", by_unbind, unbinds);
	free(by_ioctl);
	free(by_unbind);
}

int main(int argc, char **argv)
{
	unsigned int domain, bus, slot, fn;
	int n;

	if (argc != 4 || sscanf(argv[1], "%x:%x:%x.%x", &domain, &bus, &slot, &fn) != 4) {
		fprintf(stderr, "usage: wcalias-bench BDF BAR ITERATIONS\n");
		return 2;
	}
	snprintf(bdf, sizeof(bdf), "%s", argv[1]);
	target.domain = domain;
	target.bus = (uint8_t)bus;
	target.devfn = (uint8_t)(slot << 3 | fn);
	target.bar = (uint8_t)atoi(argv[2]);
	n = atoi(argv[3]);
	control = open("/dev/" WCALIAS_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (control < 0)
		die("/dev/wcalias");
	bench_acquire(n);
	bench_fault(n / 10 > 0 ? n / 10 : 1, 256);
	bench_revoke(n, n / 50 > 0 ? n / 50 : 1);
	return 0;
}
