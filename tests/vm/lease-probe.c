/*
 * A client that probes what a lease really allows, for the e2e scenarios:
 * acquires a lease through libwcbroker, tries to map beyond it through the
 * lease's own fd, writes a pattern, then keeps touching the mapping until
 * wcbrokerd revokes the lease, and reports both ends of the revocation: the
 * kernel's (SIGBUS on the next access) and the daemon's (the Revoked signal).
 *
 * Usage: lease-probe [--uc] [--bar-size BYTES] [--timeout SECONDS] BDF BAR OFFSET LENGTH
 * Prints one "probe: EVENT key=value..." line per event:
 *   acquired mechanism= enforcement= memtype= lease=
 *   mmap-beyond-length result=   mmap-past-end result=   mmap-whole-bar result=
 *       (result "mapped" or the errno's name)
 *   wrote pattern=WCALIAS-PROBE-          holding
 *   sigbus                                revoked reason=...
 *   done / timeout sigbus=0|1 revoked=0|1
 * Exit: 0 done (both ends seen), 1 refused or timed out, 2 usage.
 */
#define _GNU_SOURCE
#include "wcbroker.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static sigjmp_buf on_sigbus;
static volatile sig_atomic_t saw_sigbus;
static int saw_revoked;

static void sigbus(int sig)
{
	(void)sig;
	saw_sigbus = 1;
	siglongjmp(on_sigbus, 1);
}

static void revoked(wcbroker_mapping *mapping, const char *reason, void *userdata)
{
	(void)mapping;
	(void)userdata;
	saw_revoked = 1;
	printf("probe: revoked reason=%s\n", reason != NULL ? reason : "");
	fflush(stdout);
}

/* Maps LENGTH bytes of the lease's fd at OFFSET and says what the kernel did. */
static void try_map(const char *what, int fd, size_t length, off_t offset)
{
	void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);

	if (p == MAP_FAILED) {
		printf("probe: %s result=%s\n", what, strerrorname_np(errno));
	} else {
		printf("probe: %s result=mapped\n", what);
		munmap(p, length);
	}
}

int main(int argc, char **argv)
{
	struct wcbroker_map_request request = WCBROKER_MAP_REQUEST_INIT;
	wcbroker_session *session = NULL;
	wcbroker_mapping *mapping = NULL;
	unsigned long long bar_size = 0;
	int timeout = 30, i = 1;
	char *error = NULL;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--uc") == 0)
			request.access = WCBROKER_UNCACHED;
		else if (strcmp(argv[i], "--bar-size") == 0 && i + 1 < argc)
			bar_size = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout = atoi(argv[++i]);
		else
			break;
	}
	if (argc - i != 4) {
		fprintf(stderr, "usage: lease-probe [--uc] [--bar-size BYTES] [--timeout SECONDS] BDF BAR OFFSET LENGTH\n");
		return 2;
	}
	request.device = argv[i];
	request.bar = (unsigned)strtoul(argv[i + 1], NULL, 0);
	request.offset = strtoull(argv[i + 2], NULL, 0);
	request.length = strtoull(argv[i + 3], NULL, 0);
	request.label = "lease-probe";
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (wcbroker_session_open(&session, &error) < 0 ||
	    wcbroker_map(session, &request, &mapping, &error) < 0) {
		printf("probe: refused error=%s\n", error != NULL ? error : "");
		return 1;
	}
	wcbroker_session_on_revoked(session, revoked, NULL);
	printf("probe: acquired mechanism=%s enforcement=%s memtype=%s lease=%s\n",
	       wcbroker_mapping_mechanism(mapping), wcbroker_mapping_range_enforcement(mapping),
	       wcbroker_mapping_memtype(mapping), wcbroker_mapping_lease(mapping));

	const int fd = wcbroker_mapping_fd(mapping);
	const off_t start = (off_t)wcbroker_mapping_fd_offset(mapping);
	const size_t length = wcbroker_mapping_length(mapping);
	try_map("mmap-beyond-length", fd, length + 4096, start);
	try_map("mmap-past-end", fd, 4096, start + (off_t)length);
	if (bar_size != 0)
		try_map("mmap-whole-bar", fd, bar_size, 0);

	volatile unsigned char *bytes = wcbroker_mapping_address(mapping);
	const char pattern[] = "WCALIAS-PROBE-";
	for (size_t k = 0; k < length; k++)
		bytes[k] = (unsigned char)pattern[k % (sizeof(pattern) - 1)];
	wcbroker_wc_barrier();
	printf("probe: wrote pattern=%s\n", pattern);
	printf("probe: holding\n");

	signal(SIGBUS, sigbus);
	const time_t deadline = time(NULL) + timeout;
	sigsetjmp(on_sigbus, 1);
	if (saw_sigbus == 1) {
		saw_sigbus = 2;
		printf("probe: sigbus\n");
	}
	while (time(NULL) < deadline && !(saw_sigbus && saw_revoked)) {
		struct pollfd pfd = { .fd = wcbroker_session_fd(session), .events = POLLIN };

		if (!saw_sigbus)
			bytes[0] = (unsigned char)pattern[0]; /* a store that leaves the pattern whole */
		if (poll(&pfd, 1, 1) > 0)
			wcbroker_session_process(session);
	}
	if (!(saw_sigbus && saw_revoked)) {
		printf("probe: timeout sigbus=%d revoked=%d\n", saw_sigbus != 0, saw_revoked);
		return 1;
	}
	wcbroker_unmap(mapping);
	wcbroker_session_close(session);
	printf("probe: done\n");
	return 0;
}
