/*
 * wc-poke: map a PCI BAR resource file (normally resourceN_wc), write a pattern, read it back,
 * optionally show the kernel's PAT memtype entry for the mapping and hold it.
 *
 *   wc-poke (-f FD | -p PATH) [-m MAPOFF] [-M MAPLEN] [-o OFF] [-n LEN] [-s SEED] [-t] [-w]
 *   wc-poke -g -n LEN [-s SEED]          write the pattern to stdout (host-side expectation)
 *
 *   -f FD      use an inherited fd (e.g. opened by root before privileges were dropped);
 *              with -p the file is opened O_RDWR by this process itself
 *   -m/-M      mmap window within the file (default: whole file; sysfs sizes it as the BAR)
 *   -o/-n/-s   pattern offset and length within the window, PRNG seed (default 0, 4096, 1)
 *   -t         print the /sys/kernel/debug/x86/pat_memtype_list lines overlapping the mapping
 *              (needs root; the BAR address comes from the fd's sysfs path)
 *   -w         print "wc-poke: holding" and keep the mapping until stdin reaches EOF, so a
 *              privileged observer can inspect the memtype list while the mapping is alive
 *
 * Numbers accept 0x prefixes.  All output lines start with "wc-poke: ".
 * Exit: 0 ok, 1 read-back mismatch, 2 usage, 3 open/mmap failed (errno printed).
 * Static so it runs in the guest without libraries and on the host for -g.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAT_LIST "/sys/kernel/debug/x86/pat_memtype_list"

/* xorshift32: cheap, not periodic at any small stride, so a misplaced or torn write shows. */
static uint8_t pattern_byte(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return (uint8_t)(x >> 11);
}

static uint32_t pattern_seed(uint64_t seed)
{
	uint32_t s = (uint32_t)(seed ^ (seed >> 32)) * 2654435761u;

	return s ? s : 0x9e3779b9u;
}

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "wc-poke: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

/*
 * The physical address of the BAR behind a sysfs resource fd: /proc/self/fd/N names
 * /sys/devices/.../resourceN[_wc]; line N of the sibling "resource" file has start/end/flags.
 */
static int bar_start(int fd, uint64_t *start)
{
	char link[64], path[PATH_MAX], *base, *end;
	unsigned long long s, e, f;
	ssize_t n;
	long bar;
	FILE *res;
	int i, ok = -1;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return -1;
	path[n] = '\0';
	base = strrchr(path, '/');
	if (!base || strncmp(base + 1, "resource", 8) != 0)
		return -1;
	bar = strtol(base + 9, &end, 10);
	if (end == base + 9 || (*end && strcmp(end, "_wc") != 0))
		return -1;
	strcpy(base + 1, "resource");
	res = fopen(path, "r");
	if (!res)
		return -1;
	for (i = 0; i <= bar; i++) {
		if (fscanf(res, "%llx %llx %llx", &s, &e, &f) != 3)
			break;
		if (i == bar) {
			*start = s;
			ok = 0;
		}
	}
	fclose(res);
	return ok;
}

/* Print memtype entries overlapping [lo, hi).  Handles both list formats:
 *   "PAT: [mem 0x...-0x...] write-combining"   (5.x and later)
 *   "write-combining @ 0x...-0x..."            (older) */
static void show_memtype(uint64_t lo, uint64_t hi)
{
	char line[256];
	int found = 0;
	FILE *f = fopen(PAT_LIST, "r");

	if (!f) {
		printf("wc-poke: memtype list %s unreadable: %s\n", PAT_LIST, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "0x"), *q;
		uint64_t s, e;

		if (!p)
			continue;
		s = strtoull(p, &q, 16);
		if (*q != '-')
			continue;
		e = strtoull(q + 1, NULL, 16);
		if (s < hi && e > lo) {
			printf("wc-poke: memtype: %s", line);
			found = 1;
		}
	}
	fclose(f);
	if (!found)
		printf("wc-poke: memtype: no entry overlaps 0x%" PRIx64 "-0x%" PRIx64 "\n", lo, hi);
}

int main(int argc, char **argv)
{
	uint64_t mapoff = 0, maplen = 0, off = 0, len = 4096, seed = 1, i, bad = 0, phys;
	int fd = -1, opt, gen = 0, memtype = 0, hold = 0;
	const char *path = NULL;
	volatile uint8_t *bar;
	uint32_t st;
	struct stat sb;
	void *map;
	char c;

	while ((opt = getopt(argc, argv, "f:p:m:M:o:n:s:tgw")) != -1) {
		switch (opt) {
		case 'f': fd = (int)num(optarg); break;
		case 'p': path = optarg; break;
		case 'm': mapoff = num(optarg); break;
		case 'M': maplen = num(optarg); break;
		case 'o': off = num(optarg); break;
		case 'n': len = num(optarg); break;
		case 's': seed = num(optarg); break;
		case 't': memtype = 1; break;
		case 'g': gen = 1; break;
		case 'w': hold = 1; break;
		default: fprintf(stderr, "wc-poke: see the comment at the top of wc-poke.c\n"); return 2;
		}
	}

	if (gen) {
		st = pattern_seed(seed);
		for (i = 0; i < len; i++)
			putchar(pattern_byte(&st));
		return fflush(stdout) ? 3 : 0;
	}

	if ((fd < 0) == !path) {
		fprintf(stderr, "wc-poke: need exactly one of -f FD or -p PATH\n");
		return 2;
	}
	if (path) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			printf("wc-poke: open %s: %s\n", path, strerror(errno));
			return 3;
		}
	}
	if (fstat(fd, &sb)) {
		printf("wc-poke: fstat fd %d: %s\n", fd, strerror(errno));
		return 3;
	}
	if (!maplen)
		maplen = (uint64_t)sb.st_size - mapoff;
	if (off + len > maplen) {
		fprintf(stderr, "wc-poke: pattern 0x%" PRIx64 "+0x%" PRIx64 " outside window 0x%" PRIx64 "\n",
			off, len, maplen);
		return 2;
	}

	map = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)mapoff);
	if (map == MAP_FAILED) {
		printf("wc-poke: mmap fd %d off 0x%" PRIx64 " len 0x%" PRIx64 " as uid %u: %s\n",
		       fd, mapoff, maplen, getuid(), strerror(errno));
		return 3;
	}
	printf("wc-poke: mapped 0x%" PRIx64 " bytes at file offset 0x%" PRIx64 " as uid %u euid %u\n",
	       maplen, mapoff, getuid(), geteuid());

	bar = (volatile uint8_t *)map + off;
	st = pattern_seed(seed);
	for (i = 0; i < len; i++)
		bar[i] = pattern_byte(&st);
#if defined(__x86_64__) || defined(__i386__)
	/* WC stores may sit in fill buffers: fence before anyone else is told to look. */
	__builtin_ia32_sfence();
#endif
	st = pattern_seed(seed);
	for (i = 0; i < len; i++)
		if (bar[i] != pattern_byte(&st))
			bad++;
	printf("wc-poke: wrote 0x%" PRIx64 " bytes at window offset 0x%" PRIx64 " seed 0x%" PRIx64
	       ", read back %s (%" PRIu64 " bad)\n", len, off, seed, bad ? "MISMATCH" : "ok", bad);

	if (memtype) {
		if (bar_start(fd, &phys) == 0)
			show_memtype(phys + mapoff, phys + mapoff + maplen);
		else
			printf("wc-poke: memtype: fd %d is not a sysfs PCI resource file\n", fd);
	}
	if (hold) {
		printf("wc-poke: holding pid %d\n", (int)getpid());
		fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
	}
	munmap(map, maplen);
	printf("wc-poke: unmapped\n");
	return bad ? 1 : 0;
}
