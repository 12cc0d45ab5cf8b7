/*
 * wcbrokerd's costs in a guest, through the mechanism it uses there (the
 * wcalias module, or sysfs without it), against baselines taken in the same
 * run (docs/performance.md, "The wcalias module"):
 *
 *   floor     a D-Bus round trip to wcbrokerd that does no lease work (a
 *             property Get): what any call to the broker costs at least;
 *   acquire   what a driver does: wcbroker_map() (Acquire and mmap), one
 *             store, wcbroker_unmap() (munmap and Release);
 *   revoke    (--revocations) a mapped lease revoked by a policy reload:
 *             from the Reload reply, and from the call, to the SIGBUS of the
 *             next access; and by the device's unbind, from the write to
 *             the unbind file to the SIGBUS.
 *
 * Runs as root (Reload is root's; the policy must grant uid 0 write-combine
 * on BAR of BDF). The policy file is rewritten for the reload samples and
 * put back.
 *
 * Usage: daemon-bench [--revocations POLICY GRANTLESS-POLICY] BDF BAR ITERATIONS
 * Prints "RESULT name p50_ns p99_ns" and "RATIO name value" lines.
 */
#define _GNU_SOURCE
#include "wcbroker.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

static const char *device;
static unsigned bar;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, const char *why)
{
	printf("FAIL: %s: %s\n", what, why != NULL ? why : strerror(errno));
	exit(1);
}

static int compare(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t report(const char *name, uint64_t *samples, int n)
{
	qsort(samples, (size_t)n, sizeof(*samples), compare);
	printf("RESULT %s %llu %llu\n", name, (unsigned long long)samples[(n - 1) / 2],
	       (unsigned long long)samples[(n - 1) * 99 / 100]);
	return samples[(n - 1) / 2];
}

static wcbroker_mapping *map_page(wcbroker_session *session)
{
	struct wcbroker_map_request request = WCBROKER_MAP_REQUEST_INIT;
	wcbroker_mapping *mapping = NULL;
	char *error = NULL;

	request.device = device;
	request.bar = bar;
	request.offset = 0x1000;
	request.length = 0x1000;
	if (wcbroker_map(session, &request, &mapping, &error) < 0)
		die("wcbroker_map", error);
	return mapping;
}

static void bench_acquire(wcbroker_session *session, sd_bus *bus, int n)
{
	uint64_t *floor = calloc(n, 8), *acquire = calloc(n, 8);
	const char *mechanism = "";

	for (int i = 0; i < n; i++) {
		char *version = NULL;
		uint64_t t0 = now_ns();

		if (sd_bus_get_property_string(bus, "org.wcbroker.Broker1", "/org/wcbroker/Broker1",
					       "org.wcbroker.Broker1", "Version", NULL, &version) < 0)
			die("Get Version", NULL);
		floor[i] = now_ns() - t0;
		free(version);

		t0 = now_ns();
		wcbroker_mapping *mapping = map_page(session);
		*(volatile uint32_t *)wcbroker_mapping_address(mapping) = (uint32_t)i;
		mechanism = i == 0 ? strdup(wcbroker_mapping_mechanism(mapping)) : mechanism;
		wcbroker_unmap(mapping);
		acquire[i] = now_ns() - t0;
	}
	printf("MECHANISM %s\n", mechanism);
	uint64_t f = report("daemon-floor", floor, n);
	uint64_t a = report("daemon-acquire", acquire, n);
	printf("RATIO daemon-acquire/floor %.2f\n", (double)a / (double)f);
	free(floor);
	free(acquire);
}

static sigjmp_buf on_bus;
static volatile uint64_t bus_at;

static void sigbus(int sig)
{
	(void)sig;
	bus_at = now_ns();
	siglongjmp(on_bus, 1);
}

static void copy_file(const char *from, const char *to)
{
	char buffer[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	if (in < 0)
		die(from, NULL);
	out = open(to, O_WRONLY | O_TRUNC | O_CREAT, 0644);
	if (out < 0)
		die(to, NULL);
	while ((n = read(in, buffer, sizeof(buffer))) > 0)
		if (write(out, buffer, (size_t)n) != n)
			die(to, NULL);
	close(in);
	close(out);
}

static void reload(sd_bus *bus)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;

	if (sd_bus_call_method(bus, "org.wcbroker.Broker1", "/org/wcbroker/Broker1", "org.wcbroker.Broker1",
			       "Reload", &error, &reply, "") < 0)
		die("Reload", error.message);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&error);
}

static void write_sysfs(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		die(path, NULL);
	close(fd);
}

struct revocation {
	sd_bus *bus;		/* a reload when set, else an unbind */
	volatile uint64_t started; /* when the reload was called or the unbind written */
	volatile uint64_t replied; /* when the reload's reply came; volatile: set just before a loop left only by a signal */
};

/* Starts the revocation, then stores to P until it faults; returns when. */
static uint64_t revoke_and_touch(volatile uint32_t *p, struct revocation *how)
{
	char path[128];

	if (sigsetjmp(on_bus, 1))
		return bus_at;
	how->started = now_ns();
	if (how->bus != NULL) {
		reload(how->bus);
		how->replied = now_ns();
	} else {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", device);
		write_sysfs(path, device);
	}
	for (;;)
		p[0] = 1;
}

/* Maps a page and, by policy reload or unbind, revokes it; times until the SIGBUS. */
static void bench_revoke(wcbroker_session *session, sd_bus *bus, const char *policy,
			 const char *grantless, int n)
{
	/* An unbind and rebind takes seconds under TCG: fewer of those. */
	const int unbinds = n < 10 ? n : 10;
	uint64_t *from_reply = calloc(n, 8), *from_call = calloc(n, 8), *from_unbind = calloc(unbinds, 8);
	char saved[] = "/tmp/daemon-bench-policy.XXXXXX";
	int fd = mkstemp(saved);

	if (fd < 0)
		die("mkstemp", NULL);
	close(fd);
	copy_file(policy, saved);
	signal(SIGBUS, sigbus);
	for (int i = 0; i < n; i++) {
		wcbroker_mapping *mapping = map_page(session);
		volatile uint32_t *p = wcbroker_mapping_address(mapping);

		struct revocation by_reload = { .bus = bus };

		copy_file(grantless, policy);
		const uint64_t faulted = revoke_and_touch(p, &by_reload);
		from_reply[i] = faulted - by_reload.replied;
		from_call[i] = faulted - by_reload.started;
		copy_file(saved, policy);
		reload(bus);
		wcbroker_session_process(session);
		wcbroker_unmap(mapping);
	}
	report("revoke-reload-reply-to-sigbus", from_reply, n);
	report("revoke-reload-call-to-sigbus", from_call, n);

	for (int i = 0; i < unbinds; i++) {
		wcbroker_mapping *mapping = map_page(session);
		volatile uint32_t *p = wcbroker_mapping_address(mapping);
		struct revocation by_unbind = { .bus = NULL };

		from_unbind[i] = revoke_and_touch(p, &by_unbind) - by_unbind.started;
		write_sysfs("/sys/bus/pci/drivers_probe", device);
		wcbroker_session_process(session);
		wcbroker_unmap(mapping);
		/* Served again once a map succeeds. */
		for (int tries = 0;; tries++) {
			struct wcbroker_map_request request = WCBROKER_MAP_REQUEST_INIT;
			wcbroker_mapping *probe = NULL;

			request.device = device;
			request.bar = bar;
			request.offset = 0x1000;
			request.length = 0x1000;
			char *error = NULL;

			if (wcbroker_map(session, &request, &probe, &error) == 0) {
				wcbroker_unmap(probe);
				break;
			}
			if (tries == 3000)
				die("device served again after rebind (30 s)", error);
			free(error);
			usleep(10000);
		}
	}
	report("revoke-unbind-to-sigbus", from_unbind, unbinds);
	unlink(saved);
	free(from_reply);
	free(from_call);
	free(from_unbind);
}

int main(int argc, char **argv)
{
	const char *policy = NULL, *grantless = NULL;
	wcbroker_session *session = NULL;
	char *error = NULL;
	sd_bus *bus = NULL;
	int i = 1, n;

	if (argc > 3 && strcmp(argv[1], "--revocations") == 0) {
		policy = argv[2];
		grantless = argv[3];
		i = 4;
	}
	if (argc - i != 3) {
		fprintf(stderr, "usage: daemon-bench [--revocations POLICY GRANTLESS-POLICY] BDF BAR ITERATIONS\n");
		return 2;
	}
	device = argv[i];
	bar = (unsigned)strtoul(argv[i + 1], NULL, 0);
	n = atoi(argv[i + 2]);
	if (wcbroker_session_open(&session, &error) < 0)
		die("wcbroker_session_open", error);
	if (sd_bus_open_system(&bus) < 0)
		die("sd_bus_open_system", NULL);
	bench_acquire(session, bus, n);
	if (policy != NULL)
		bench_revoke(session, bus, policy, grantless, n / 20 > 0 ? n / 20 : 1);
	sd_bus_unref(bus);
	wcbroker_session_close(session);
	return 0;
}
