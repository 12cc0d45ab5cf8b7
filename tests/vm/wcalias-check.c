/*
 * wcalias-check: tests the wcalias kernel module (kmod/) through its uAPI
 * (kmod/uapi/wcalias.h), directly, with no daemon: run as root in the VM
 * guest by scenarios/wcalias.sh, with device A (ivshmem, BAR2 1 MiB
 * prefetchable, backed by a host file) bound to vfio-pci and the module
 * loaded.
 *
 *   wcalias-check run BDF BDF_B    every check, in order; ends with the
 *                                  driver unbind and the device removal
 *                                  (BDF_B: device B, a non-prefetchable
 *                                  BAR0, also bound to vfio-pci)
 *   wcalias-check lockdown KO BDF  under lockdown=integrity: loading KO and
 *                                  a resource2_wc mmap are refused (EPERM)
 *   wcalias-check pattern SEED LEN print the pattern (host side, to compare)
 *
 * Prints "PASS: ..." / "FAIL: ..." per check, "INFO: ..." for what was
 * measured, and "WCALIAS-PATTERN offset=N length=N seed=N" for each range an
 * unprivileged process wrote through an alias, which the host check
 * (scenarios/wcalias-host.sh) finds in the ivshmem backing file.
 * Exit status: the number of failed checks (at most 100).
 *
 * Asserts what the header promises; where a kernel version decides (7.x
 * vfio-pci claims every BAR when the device is opened, kernel-facts.md 3b)
 * the expectation depends on the running kernel's major version.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../kmod/uapi/wcalias.h"

#define PAGE 4096UL
#define CTL "/dev/wcalias"
#define NOBODY 65534
#define STRESS_CYCLES 10000

static int failures;
static const char *bdf, *bdf_b;
static struct wcalias_bar bar2, bar_b0;
static uint64_t bar2_start, bar2_size;
static int kernel_major;

static void vline(const char *tag, const char *fmt, va_list ap)
{
	printf("%s: ", tag);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
}

static void __attribute__((format(printf, 1, 2))) info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("INFO", fmt, ap);
	va_end(ap);
}

/* check(OK, description...): one PASS or FAIL line. */
static int __attribute__((format(printf, 2, 3))) check(int ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(ok ? "PASS" : "FAIL", fmt, ap);
	va_end(ap);
	if (!ok)
		failures++;
	return ok;
}

static const char *why_name(uint32_t why)
{
	static const char *const names[] = {
		"NONE", "NO_DEVICE", "NO_VFIO_DRIVER", "NOT_MEMORY_BAR", "NOT_PREFETCH",
		"BAD_RANGE", "BAR_BUSY", "OTHER_CONTEXT", "TYPE_CONFLICT", "DOWNGRADED",
		"NO_PAT", "LIMIT", "LOCKDOWN",
	};
	return why < sizeof(names) / sizeof(names[0]) ? names[why] : "?";
}

static const char *err_name(int e)
{
	static char buf[32];

	switch (e) {
	case 0: return "success";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case ENODEV: return "ENODEV";
	case ENOENT: return "ENOENT";
	case EBADF: return "EBADF";
	case ENOSPC: return "ENOSPC";
	case ENOTTY: return "ENOTTY";
	case EAGAIN: return "EAGAIN";
	case EFAULT: return "EFAULT";
	}
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the pattern unprivileged writers leave for the host --------------------------------- */

static uint8_t pattern_byte(unsigned int seed, size_t i)
{
	uint32_t x = seed * 2654435761u + (uint32_t)i * 40503u;

	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return (uint8_t)x;
}

static void pattern_write(volatile uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = 0;

		for (int b = 0; b < 8; b++)
			v |= (uint64_t)pattern_byte(seed, i + b) << (8 * b);
		*(volatile uint64_t *)(p + i) = v;
	}
	__asm__ __volatile__("sfence" ::: "memory");
}

static size_t pattern_bad(const volatile uint8_t *p, size_t len, unsigned int seed)
{
	size_t bad = 0;

	for (size_t i = 0; i < len; i++)
		bad += p[i] != pattern_byte(seed, i);
	return bad;
}

/* --- what the kernel shows: sysfs, the PAT memtype list, /proc/iomem -------------------- */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static int read_bar(const char *dev, int bar, uint64_t *start, uint64_t *size)
{
	char path[PATH_MAX], line[256];
	unsigned long long s, e, f;
	FILE *fp;
	int i = 0, ok = 0;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", dev);
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		if (i++ == bar && sscanf(line, "%llx %llx %llx", &s, &e, &f) == 3 && e > s) {
			*start = s;
			*size = e - s + 1;
			ok = 1;
		}
	fclose(fp);
	return ok ? 0 : -1;
}

static void driver_of(char *out, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		snprintf(out, len, "(none)");
		return;
	}
	link[n] = '\0';
	snprintf(out, len, "%s", strrchr(link, '/') + 1);
}

static int bind_vfio(void)
{
	char path[PATH_MAX], drv[64];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	write_file(path, "vfio-pci");
	write_file("/sys/bus/pci/drivers_probe", bdf);
	driver_of(drv, sizeof(drv));
	return strcmp(drv, "vfio-pci") == 0;
}

/*
 * The PAT memtype list's entries that overlap [start, start + len): their
 * count, and in *exact the type of the one that is exactly that range ("" if
 * none). Both formats: "PAT: [mem 0x...-0x...] TYPE" and "TYPE @ 0x...-0x...".
 */
static int pat_entries(uint64_t start, uint64_t len, char *exact, size_t exactlen, int show)
{
	FILE *fp = fopen("/sys/kernel/debug/x86/pat_memtype_list", "r");
	char line[256], type[64];
	unsigned long long s, e;
	int n = 0;

	if (exact)
		exact[0] = '\0';
	if (!fp) {
		info("cannot read the PAT memtype list: %s", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		char *p = strstr(line, "[mem ");

		if (p ? sscanf(p, "[mem %llx-%llx] %63s", &s, &e, type) != 3 :
			sscanf(line, "%63s @ %llx-%llx", type, &s, &e) != 3)
			continue;
		if (e <= start || s >= start + len)
			continue;
		n++;
		line[strcspn(line, "\n")] = '\0';
		if (show)
			info("PAT list: %s", line);
		if (exact && s == start && e == start + len)
			snprintf(exact, exactlen, "%s", type);
	}
	fclose(fp);
	return n;
}

/* Lines of /proc/iomem inside BAR2 owned by NAME (exactly NAME). */
static int iomem_owned(const char *name, int show)
{
	FILE *fp = fopen("/proc/iomem", "r");
	char line[256], owner[128];
	unsigned long long s, e;
	int n = 0;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, " %llx-%llx : %127[^\n]", &s, &e, owner) != 3)
			continue;
		if (s < bar2_start || e >= bar2_start + bar2_size)
			continue;
		if (show) {
			line[strcspn(line, "\n")] = '\0';
			info("/proc/iomem: %s", line);
		}
		if (!strcmp(owner, name))
			n++;
	}
	fclose(fp);
	return n;
}

/* The wcalias claim of BAR2: the whole BAR, owned "wcalias". */
static int claim_shown(void)
{
	FILE *fp = fopen("/proc/iomem", "r");
	char line[256], owner[128];
	unsigned long long s, e;
	int found = 0;

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, " %llx-%llx : %127[^\n]", &s, &e, owner) == 3 &&
		    !strcmp(owner, "wcalias") && s == bar2_start && e == bar2_start + bar2_size - 1)
			found = 1;
	fclose(fp);
	return found;
}

static int wcalias_lines(void)
{
	FILE *fp = fopen("/proc/iomem", "r");
	char line[256];
	int n = 0;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp))
		n += strstr(line, "wcalias") != NULL;
	fclose(fp);
	return n;
}

static int open_fds(void)
{
	char path[64];
	int n = 0;

	for (int fd = 0; fd < 4096; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

/* --- the uAPI ------------------------------------------------------------------------------ */

static int ctl_open(void)
{
	int fd = open(CTL, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		info("open %s: %s", CTL, strerror(errno));
	return fd;
}

/* CREATE of any BAR; returns 0 or -errno, the reply in *req. */
static int create_of(int ctl, struct wcalias_create *req, const struct wcalias_bar *bar, uint32_t memtype,
		     uint64_t offset, uint64_t length)
{
	memset(req, 0, sizeof(*req));
	req->bar = *bar;
	req->memtype = memtype;
	req->offset = offset;
	req->length = length;
	req->fd = -1;
	return ioctl(ctl, WCALIAS_IOC_CREATE, req) ? -errno : 0;
}

/* CREATE of device A's BAR2. */
static int create(int ctl, struct wcalias_create *req, uint32_t memtype, uint64_t offset, uint64_t length)
{
	return create_of(ctl, req, &bar2, memtype, offset, length);
}

static int claim(int ctl, unsigned long cmd, struct wcalias_claim *req)
{
	memset(req, 0, sizeof(*req));
	req->bar = bar2;
	return ioctl(ctl, cmd, req) ? -errno : 0;
}

static int revoke_alias(int ctl, uint64_t id)
{
	return ioctl(ctl, WCALIAS_IOC_REVOKE, &id) ? -errno : 0;
}

static int query(int ctl, int fd, struct wcalias_query *q)
{
	memset(q, 0, sizeof(*q));
	q->fd = fd;
	return ioctl(ctl, WCALIAS_IOC_QUERY, q) ? -errno : 0;
}

/* --- faults -------------------------------------------------------------------------------- */

/* volatile: the stores around the access must stay where they are, not be merged away */
static __thread sigjmp_buf *volatile fault_jump;
static __thread volatile int fault_sig;

static void on_fault(int sig)
{
	fault_sig = sig;
	if (fault_jump)
		siglongjmp(*fault_jump, 1);
	_exit(99);
}

static void catch_faults(void)
{
	struct sigaction sa = { .sa_handler = on_fault };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/* Write one byte at P: 0 when it worked, else the signal. */
static int touch(volatile uint8_t *p)
{
	sigjmp_buf jb;

	fault_sig = 0;
	if (sigsetjmp(jb, 1) == 0) {
		fault_jump = &jb;
		p[0] = (uint8_t)(p[0] + 1);
	}
	fault_jump = NULL;
	return fault_sig;
}

/* Read one byte at P: 0 when it worked, else the signal. */
static int peek(volatile uint8_t *p)
{
	sigjmp_buf jb;

	fault_sig = 0;
	if (sigsetjmp(jb, 1) == 0) {
		fault_jump = &jb;
		(void)p[0];
	}
	fault_jump = NULL;
	return fault_sig;
}

static const char *sig_name(int sig)
{
	return sig == 0 ? "no signal" : sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : "a signal";
}

/* --- an unprivileged process that maps an alias it was sent ---------------------------- */

struct mapper {
	pid_t pid;
	int sock;
};

enum { MAP_CMD = 1, TOUCH_CMD, QUIT_CMD };

struct mapper_cmd {
	int cmd;
	unsigned int seed;
	uint64_t length;
};

struct mapper_reply {
	int map_err;		/* mmap of the whole alias */
	size_t bad_bytes;	/* pattern read back wrong */
	int big_err;		/* mmap of length + 4K */
	int past_err;		/* mmap of 4K at offset = length */
	int private_err;	/* MAP_PRIVATE */
	int grow_err;		/* mremap of the mapping to length + 4K */
	int sig_first, sig_last;	/* TOUCH: first page, last byte */
	int remap_err;		/* TOUCH: a new mmap afterwards */
	uid_t uid;
};

static int send_with_fd(int sock, const void *buf, size_t len, int fd)
{
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		mh.msg_control = control;
		mh.msg_controllen = sizeof(control);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, 0) == (ssize_t)len ? 0 : -1;
}

static int recv_with_fd(int sock, void *buf, size_t len, int *fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			     .msg_controllen = sizeof(control) };
	struct cmsghdr *cm;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)len)
		return -1;
	if (fd) {
		*fd = -1;
		cm = CMSG_FIRSTHDR(&mh);
		if (cm && cm->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	}
	return 0;
}

static int map_err(void *p)
{
	return p == MAP_FAILED ? errno : 0;
}

static void mapper_main(int sock)
{
	volatile uint8_t *map = NULL;
	struct mapper_cmd cmd;
	uint64_t length = 0;
	int fd = -1;

	catch_faults();
	for (;;) {
		struct mapper_reply r = { .uid = getuid() };
		int got = -1;

		if (recv_with_fd(sock, &cmd, sizeof(cmd), &got))
			_exit(0);
		if (cmd.cmd == MAP_CMD) {
			void *p;

			fd = got;
			length = cmd.length;
			p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			r.map_err = map_err(p);
			if (!r.map_err) {
				map = p;
				pattern_write(map, length, cmd.seed);
				r.bad_bytes = pattern_bad(map, length, cmd.seed);
			}
			p = mmap(NULL, length + PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			r.big_err = map_err(p);
			if (p != MAP_FAILED)
				munmap(p, length + PAGE);
			p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)length);
			r.past_err = map_err(p);
			if (p != MAP_FAILED)
				munmap(p, PAGE);
			p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
			r.private_err = map_err(p);
			if (p != MAP_FAILED)
				munmap(p, length);
			if (map) {
				p = mremap((void *)map, length, length + PAGE, MREMAP_MAYMOVE);
				r.grow_err = map_err(p);
				if (p != MAP_FAILED)
					map = p; /* keep the one mapping there is */
			}
		} else if (cmd.cmd == TOUCH_CMD) {
			void *p;

			r.sig_first = map ? touch(map) : -1;
			r.sig_last = map ? touch(map + length - 1) : -1;
			p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			r.remap_err = map_err(p);
			if (p != MAP_FAILED)
				munmap(p, length);
			if (map)
				munmap((void *)map, length);
			map = NULL;
			close(fd);
			fd = -1;
		} else {
			_exit(0);
		}
		if (send(sock, &r, sizeof(r), 0) != (ssize_t)sizeof(r))
			_exit(1);
	}
}

/*
 * Forks the mapper as uid/gid 65534 with no supplementary groups and no fd
 * but its socket: it must not keep a control fd open behind our back.
 */
static int mapper_start(struct mapper *m)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -1;
	fflush(stdout);
	m->pid = fork();
	if (m->pid < 0)
		return -1;
	if (m->pid == 0) {
		if (dup2(sv[1], 3) < 0 || syscall(SYS_close_range, 4U, ~0U, 0) ||
		    setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(1);
		mapper_main(3);
	}
	close(sv[1]);
	m->sock = sv[0];
	return 0;
}

static int mapper_ask(struct mapper *m, int cmd, int fd, uint64_t length, unsigned int seed,
		      struct mapper_reply *r)
{
	struct mapper_cmd c = { .cmd = cmd, .seed = seed, .length = length };

	memset(r, 0, sizeof(*r));
	if (send_with_fd(m->sock, &c, sizeof(c), fd))
		return -1;
	return recv_with_fd(m->sock, r, sizeof(*r), NULL);
}

static void mapper_stop(struct mapper *m)
{
	struct mapper_cmd c = { .cmd = QUIT_CMD };

	send_with_fd(m->sock, &c, sizeof(c), -1);
	close(m->sock);
	waitpid(m->pid, NULL, 0);
}

/*
 * Creates an alias of [offset, offset + length), passes it to a fresh mapper
 * (uid 65534) which maps and writes it; checks what that mapper must see.
 * Returns the alias's fd (kept by us for QUERY) or -1; *m is the running mapper.
 */
static int alias_to_nobody(const char *tag, int ctl, uint32_t memtype, uint64_t offset, uint64_t length,
			   unsigned int seed, struct mapper *m, struct wcalias_create *c)
{
	struct mapper_reply r;
	int ret;

	if (mapper_start(m)) {
		check(0, "%s: starting the uid %d mapper", tag, NOBODY);
		return -1;
	}
	ret = create(ctl, c, memtype, offset, length);
	if (!check(ret == 0 && c->fd >= 0, "%s: CREATE %s [%#llx, +%#llx) of BAR2 (%s, why %s)", tag,
		   memtype == WCALIAS_MEMTYPE_WC ? "WC" : "UC-", (unsigned long long)offset,
		   (unsigned long long)length, err_name(-ret), why_name(c->why))) {
		mapper_stop(m);
		return -1;
	}
	if (mapper_ask(m, MAP_CMD, c->fd, length, seed, &r)) {
		check(0, "%s: the mapper answers", tag);
		return c->fd;
	}
	check(r.uid == NOBODY && r.map_err == 0 && r.bad_bytes == 0,
	      "%s: uid %u got the fd over SCM_RIGHTS, mapped it, wrote and read back %llu bytes (%s, %zu wrong)",
	      tag, r.uid, (unsigned long long)length, err_name(r.map_err), r.bad_bytes);
	if (r.map_err == 0 && r.bad_bytes == 0)
		printf("WCALIAS-PATTERN offset=%#llx length=%#llx seed=%u\n", (unsigned long long)offset,
		       (unsigned long long)length, seed);
	return c->fd;
}

/* After a revocation: the mapper's next access faults SIGBUS and a new mmap fails ENODEV. */
static void expect_revoked(const char *tag, struct mapper *m, uint64_t length)
{
	struct mapper_reply r;

	if (mapper_ask(m, TOUCH_CMD, -1, length, 0, &r)) {
		check(0, "%s: the mapper answers", tag);
		return;
	}
	check(r.sig_first == SIGBUS && r.sig_last == SIGBUS,
	      "%s: the mapper's next access faults SIGBUS (first page: %s, last byte: %s)", tag,
	      sig_name(r.sig_first), sig_name(r.sig_last));
	check(r.remap_err == ENODEV, "%s: a new mmap of the alias fails ENODEV (%s)", tag, err_name(r.remap_err));
}

static void expect_pat(const char *tag, uint64_t phys, uint64_t len, const char *type)
{
	char exact[64];
	int n = pat_entries(phys, len, exact, sizeof(exact), 1);

	check(n == 1 && !strcmp(exact, type), "%s: the PAT list has exactly [%#llx, +%#llx) as %s (%d entries, '%s')",
	      tag, (unsigned long long)phys, (unsigned long long)len, type, n, exact);
}

static void expect_no_pat(const char *tag, uint64_t phys, uint64_t len)
{
	int n = pat_entries(phys, len, NULL, 0, 1);

	check(n == 0, "%s: no PAT entry left in [%#llx, +%#llx) (%d)", tag, (unsigned long long)phys,
	      (unsigned long long)len, n);
}

static void expect_query_revoked(const char *tag, int fd, uint32_t want, uint32_t or_want)
{
	struct wcalias_query q;
	int ctl = ctl_open(), ret;

	ret = query(ctl, fd, &q);
	check(ret == 0 && (q.revoked == want || q.revoked == or_want),
	      "%s: QUERY says revoked = %u (want %u%s) (%s)", tag, q.revoked, want,
	      want == or_want ? "" : " or the other cause", err_name(-ret));
	close(ctl);
}

static int alias_works(int fd, uint64_t len, unsigned int seed);

/* --- the checks ---------------------------------------------------------------------------- */

static void check_node(void)
{
	struct stat st;
	pid_t pid;
	int status;

	if (!check(stat(CTL, &st) == 0 && S_ISCHR(st.st_mode), "%s is a character device", CTL))
		return;
	check((st.st_mode & 07777) == 0600 && st.st_uid == 0 && st.st_gid == 0,
	      "%s is mode 0600, owner root:root (%04o %u:%u)", CTL, st.st_mode & 07777, st.st_uid, st.st_gid);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY))
			_exit(2);
		fd = open(CTL, O_RDWR);
		_exit(fd < 0 && errno == EACCES ? 0 : fd < 0 ? 10 + (errno & 63) : 1);
	}
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "uid %d cannot open %s (EACCES) (child status %d)", NOBODY, CTL, WEXITSTATUS(status));
}

static void check_version(int ctl)
{
	struct wcalias_version v = { 0 };
	int ret = ioctl(ctl, WCALIAS_IOC_VERSION, &v) ? -errno : 0;

	check(ret == 0 && v.api_version == WCALIAS_API_VERSION,
	      "VERSION answers api_version %u (want %u) (%s)", v.api_version, WCALIAS_API_VERSION, err_name(-ret));
	check((v.flags & WCALIAS_VERSION_PAT) && (v.flags & WCALIAS_VERSION_VERIFIES),
	      "VERSION flags %#x: PAT and VERIFIES (x86, SeaBIOS: PAT on)", v.flags);
	check(v.max_aliases_per_context > 0 && v.max_aliases_per_device > 0,
	      "VERSION limits: %u per context, %u per device", v.max_aliases_per_context, v.max_aliases_per_device);
}

/* Claims, WC and UC- aliases side by side, conflicts, revoke, unclaim, QUERY. */
static void check_aliases(int ctl)
{
	struct wcalias_create wc, uc, bad;
	struct wcalias_claim cl;
	struct wcalias_query q;
	struct mapper_reply r;
	struct mapper m, m2;
	int ret, wcfd, ucfd, fdflags, nullfd, m2_up;
	const uint64_t wc_off = 0x10000, wc_len = 0x4000, uc_off = 0x20000, uc_len = 0x2000;

	ret = claim(ctl, WCALIAS_IOC_CLAIM, &cl);
	check(ret == 0 && cl.start == bar2_start && cl.size == bar2_size,
	      "CLAIM BAR2: start %#llx size %#llx (sysfs: %#llx %#llx) (%s, why %s)",
	      (unsigned long long)cl.start, (unsigned long long)cl.size, (unsigned long long)bar2_start,
	      (unsigned long long)bar2_size, err_name(-ret), why_name(cl.why));
	check(claim_shown(), "the claim shows in /proc/iomem as \"wcalias\" over the whole BAR2");
	iomem_owned("wcalias", 1);
	ret = claim(ctl, WCALIAS_IOC_CLAIM, &cl);
	check(ret == 0, "CLAIM of a BAR the context holds succeeds (%s)", err_name(-ret));

	wcfd = alias_to_nobody("WC alias", ctl, WCALIAS_MEMTYPE_WC, wc_off, wc_len, 61, &m, &wc);
	if (wcfd < 0)
		return;
	check(wc.effective == WCALIAS_MEMTYPE_WC, "WC alias: effective = %u (WC)", wc.effective);
	check(wc.phys == bar2_start + wc_off, "WC alias: phys %#llx = BAR2 + %#llx", (unsigned long long)wc.phys,
	      (unsigned long long)wc_off);
	fdflags = fcntl(wcfd, F_GETFD);
	check(fdflags >= 0 && (fdflags & FD_CLOEXEC) && (fcntl(wcfd, F_GETFL) & O_ACCMODE) == O_RDWR,
	      "WC alias: the fd is O_RDWR and close-on-exec");
	expect_pat("WC alias", wc.phys, wc_len, "write-combining");

	/* a second uid-65534 process maps the same alias: the range checks, and later the revocation */
	m2_up = !mapper_start(&m2);
	if (m2_up && !mapper_ask(&m2, MAP_CMD, wcfd, wc_len, 61, &r)) {
		check(r.map_err == 0 && r.bad_bytes == 0, "WC alias: a second process maps it too (%s)",
		      err_name(r.map_err));
		check(r.big_err == EINVAL, "WC alias: mmap of length + 4K fails (%s, want EINVAL)", err_name(r.big_err));
		check(r.past_err == EINVAL, "WC alias: mmap at offset = length fails (%s, want EINVAL)",
		      err_name(r.past_err));
		check(r.private_err != 0, "WC alias: MAP_PRIVATE fails (%s)", err_name(r.private_err));
		check(r.grow_err != 0, "WC alias: mremap of the mapping to length + 4K fails (%s)", err_name(r.grow_err));
	} else {
		check(0, "WC alias: a second mapper maps it");
	}

	ret = query(ctl, wcfd, &q);
	check(ret == 0 && q.revoked == WCALIAS_LIVE && q.id == wc.id && q.memtype == WCALIAS_MEMTYPE_WC &&
		      q.effective == WCALIAS_MEMTYPE_WC && q.offset == wc_off && q.length == wc_len &&
		      q.phys == wc.phys && q.own == 1 && !memcmp(&q.bar, &bar2, sizeof(bar2)),
	      "QUERY on the alias fd: live, id %llu, WC/WC, [%#llx, +%#llx), own %u (%s)",
	      (unsigned long long)q.id, (unsigned long long)q.offset, (unsigned long long)q.length, q.own,
	      err_name(-ret));
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ret = query(ctl, nullfd, &q);
	check(ret == -EINVAL, "QUERY on a non-alias fd (/dev/null) fails EINVAL (%s)", err_name(-ret));
	close(nullfd);
	ret = query(ctl, ctl, &q);
	check(ret == -EINVAL, "QUERY on the control fd fails EINVAL (%s)", err_name(-ret));

	/* UC- next to it */
	ret = create(ctl, &uc, WCALIAS_MEMTYPE_UC_MINUS, uc_off, uc_len);
	ucfd = uc.fd;
	check(ret == 0 && ucfd >= 0 && uc.effective == WCALIAS_MEMTYPE_UC_MINUS && uc.id != wc.id,
	      "UC- alias [%#llx, +%#llx) beside it: effective %u (UC-) (%s, why %s)", (unsigned long long)uc_off,
	      (unsigned long long)uc_len, uc.effective, err_name(-ret), why_name(uc.why));
	if (ret == 0) {
		/* a reservation only shows in the list while something maps it, for UC- too */
		expect_pat("UC- alias", uc.phys, uc_len, "uncached-minus");
		expect_pat("WC alias, beside the UC- one", wc.phys, wc_len, "write-combining");
	}

	ret = create(ctl, &bad, WCALIAS_MEMTYPE_UC_MINUS, wc_off + 0x1000, 0x2000);
	check(ret == -EBUSY && bad.why == WCALIAS_WHY_TYPE_CONFLICT && bad.fd == -1,
	      "UC- alias overlapping the WC alias: refused (%s, why %s, want EBUSY, TYPE_CONFLICT)",
	      err_name(-ret), why_name(bad.why));
	if (ret == 0)
		close(bad.fd);
	ret = create(ctl, &bad, WCALIAS_MEMTYPE_WC, uc_off, 0x1000);
	check(ret == -EBUSY && bad.why == WCALIAS_WHY_TYPE_CONFLICT,
	      "WC alias overlapping the UC- alias: refused (%s, why %s, want EBUSY, TYPE_CONFLICT)",
	      err_name(-ret), why_name(bad.why));
	if (ret == 0)
		close(bad.fd);
	ret = create(ctl, &bad, WCALIAS_MEMTYPE_WC, wc_off + 0x1000, 0x1000);
	check(ret == 0, "a WC alias overlapping the WC alias (same type) is allowed (%s, why %s)", err_name(-ret),
	      why_name(bad.why));
	if (ret == 0) {
		close(bad.fd);
		revoke_alias(ctl, bad.id);
	}
	ret = create(ctl, &bad, WCALIAS_MEMTYPE_WC, 0x1000, 0x800);
	check(ret == -EINVAL && bad.why == WCALIAS_WHY_BAD_RANGE, "a length that is not page-aligned: EINVAL, BAD_RANGE (%s, %s)",
	      err_name(-ret), why_name(bad.why));
	ret = create(ctl, &bad, WCALIAS_MEMTYPE_WC, bar2_size - 0x1000, 0x2000);
	check(ret == -EINVAL && bad.why == WCALIAS_WHY_BAD_RANGE, "a range past the end of the BAR: EINVAL, BAD_RANGE (%s, %s)",
	      err_name(-ret), why_name(bad.why));

	/* REVOKE */
	ret = revoke_alias(ctl, wc.id);
	check(ret == 0, "REVOKE of the WC alias (%s)", err_name(-ret));
	expect_revoked("WC alias revoked", &m, wc_len);
	if (m2_up) {
		expect_revoked("WC alias revoked, second process", &m2, wc_len);
		mapper_stop(&m2);
	}
	expect_no_pat("WC alias revoked", wc.phys, wc_len);
	expect_query_revoked("WC alias revoked", wcfd, WCALIAS_REVOKED_BY_REQUEST, WCALIAS_REVOKED_BY_REQUEST);
	ret = query(ctl, wcfd, &q);
	check(ret == 0 && q.own == 1 && q.id == wc.id,
	      "WC alias revoked: QUERY from the context that created it still says own 1 (own %u) (%s)", q.own,
	      err_name(-ret));
	ret = revoke_alias(ctl, wc.id);
	check(ret == -ENOENT, "REVOKE of an alias that is no longer live: ENOENT (%s)", err_name(-ret));
	mapper_stop(&m);
	close(wcfd);

	ret = ioctl(ctl, WCALIAS_IOC_REVOKE_ALL) ? -errno : 0;
	check(ret == 0, "REVOKE_ALL (%s)", err_name(-ret));
	if (ucfd >= 0) {
		expect_no_pat("UC- alias revoked", uc.phys, uc_len);
		close(ucfd);
	}
	check(claim_shown(), "with no alias left, the requested claim stays in /proc/iomem");
	ret = claim(ctl, WCALIAS_IOC_UNCLAIM, &cl);
	check(ret == 0 && !claim_shown() && wcalias_lines() == 0, "UNCLAIM: the claim is gone from /proc/iomem (%s)",
	      err_name(-ret));
	ret = claim(ctl, WCALIAS_IOC_UNCLAIM, &cl);
	check(ret == -ENOENT, "UNCLAIM of a BAR not claimed: ENOENT (%s)", err_name(-ret));
}

static void check_close_revokes(void)
{
	struct wcalias_create c;
	struct mapper m;
	int ctl = ctl_open(), fd;
	const uint64_t off = 0x30000, len = 0x4000;

	fd = alias_to_nobody("close", ctl, WCALIAS_MEMTYPE_WC, off, len, 62, &m, &c);
	if (fd < 0) {
		close(ctl);
		return;
	}
	check(claim_shown(), "close: the alias's claim is in /proc/iomem");
	close(ctl);
	expect_revoked("control fd closed", &m, len);
	expect_no_pat("control fd closed", c.phys, len);
	check(!claim_shown() && wcalias_lines() == 0, "control fd closed: the claim is gone from /proc/iomem");
	expect_query_revoked("control fd closed", fd, WCALIAS_REVOKED_CONTEXT, WCALIAS_REVOKED_CONTEXT);
	mapper_stop(&m);
	close(fd);
}

/* What requests the header says are refused, and why. */
static void check_refusals(int ctl)
{
	struct wcalias_create c;
	struct wcalias_claim cl;
	struct wcalias_query q;
	struct wcalias_bar b;
	int ret;

	memset(&c, 0, sizeof(c));
	c.bar = bar2;
	c.memtype = WCALIAS_MEMTYPE_WC;
	c.length = PAGE;
	c.flags = 1;
	ret = ioctl(ctl, WCALIAS_IOC_CREATE, &c) ? -errno : 0;
	check(ret == -EINVAL, "CREATE with flags != 0: EINVAL (%s)", err_name(-ret));
	c.flags = 0;
	c.reserved = 1;
	ret = ioctl(ctl, WCALIAS_IOC_CREATE, &c) ? -errno : 0;
	check(ret == -EINVAL, "CREATE with reserved != 0: EINVAL (%s)", err_name(-ret));
	c.reserved = 0;
	c.bar.reserved = 1;
	ret = ioctl(ctl, WCALIAS_IOC_CREATE, &c) ? -errno : 0;
	check(ret == -EINVAL, "CREATE with bar.reserved != 0: EINVAL (%s)", err_name(-ret));
	c.bar.reserved = 0;
	c.memtype = 2;
	ret = ioctl(ctl, WCALIAS_IOC_CREATE, &c) ? -errno : 0;
	check(ret == -EINVAL, "CREATE with memtype UNVERIFIED (2): EINVAL (%s)", err_name(-ret));
	memset(&cl, 0, sizeof(cl));
	cl.bar = bar2;
	cl.flags = 1;
	ret = ioctl(ctl, WCALIAS_IOC_CLAIM, &cl) ? -errno : 0;
	check(ret == -EINVAL, "CLAIM with flags != 0: EINVAL (%s)", err_name(-ret));
	memset(&q, 0, sizeof(q));
	q.fd = ctl;
	q.reserved = 1;
	ret = ioctl(ctl, WCALIAS_IOC_QUERY, &q) ? -errno : 0;
	check(ret == -EINVAL, "QUERY with reserved != 0: EINVAL (%s)", err_name(-ret));
	ret = ioctl(ctl, _IO(WCALIAS_IOC_MAGIC, 0x7f)) ? -errno : 0;
	check(ret == -ENOTTY, "an unknown ioctl: ENOTTY (%s)", err_name(-ret));

	b = bar2;
	b.bar = 6;
	ret = create_of(ctl, &c, &b, WCALIAS_MEMTYPE_WC, 0, PAGE);
	check(ret == -EINVAL, "CREATE of BAR 6: EINVAL (%s, why %s)", err_name(-ret), why_name(c.why));
	b.bar = 1;
	ret = create_of(ctl, &c, &b, WCALIAS_MEMTYPE_UC_MINUS, 0, PAGE);
	check(ret == -EINVAL && c.why == WCALIAS_WHY_NOT_MEMORY_BAR,
	      "CREATE of ivshmem's absent BAR1: EINVAL, NOT_MEMORY_BAR (%s, %s)", err_name(-ret), why_name(c.why));
	b = bar2;
	b.bus = 0x7f;
	ret = create_of(ctl, &c, &b, WCALIAS_MEMTYPE_WC, 0, PAGE);
	check(ret == -ENODEV && c.why == WCALIAS_WHY_NO_DEVICE, "CREATE on a bus with no device: ENODEV, NO_DEVICE (%s, %s)",
	      err_name(-ret), why_name(c.why));
	memset(&cl, 0, sizeof(cl));
	cl.bar = b;
	ret = ioctl(ctl, WCALIAS_IOC_CLAIM, &cl) ? -errno : 0;
	check(ret == -ENODEV && cl.why == WCALIAS_WHY_NO_DEVICE, "CLAIM on a bus with no device: ENODEV, NO_DEVICE (%s, %s)",
	      err_name(-ret), why_name(cl.why));

	if (bdf_b) {
		ret = create_of(ctl, &c, &bar_b0, WCALIAS_MEMTYPE_WC, 0, PAGE);
		check(ret == -EINVAL && c.why == WCALIAS_WHY_NOT_PREFETCH,
		      "CREATE WC of device B's non-prefetchable BAR0: EINVAL, NOT_PREFETCH (%s, %s)", err_name(-ret),
		      why_name(c.why));
		if (ret == 0)
			close(c.fd);
		ret = create_of(ctl, &c, &bar_b0, WCALIAS_MEMTYPE_UC_MINUS, 0, PAGE);
		check(ret == 0 && c.effective == WCALIAS_MEMTYPE_UC_MINUS,
		      "CREATE UC- of device B's non-prefetchable BAR0 works, effective UC- (%s, %s, %u)", err_name(-ret),
		      why_name(c.why), c.effective);
		if (ret == 0) {
			/* edu's registers: read only, a write could start its DMA engine */
			void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);

			check(p != MAP_FAILED && peek(p) == 0, "the UC- alias of device B's BAR0 maps and reads");
			if (p != MAP_FAILED)
				munmap(p, PAGE);
			revoke_alias(ctl, c.id);
			close(c.fd);
		}
	}
}

/* Two control contexts: a BAR belongs to one; ids and QUERY's "own" are per context. */
static void check_contexts(int ctl)
{
	struct wcalias_create c, c2;
	struct wcalias_claim cl;
	struct wcalias_query q;
	int other = ctl_open(), ret, status;
	pid_t pid;

	ret = create(ctl, &c, WCALIAS_MEMTYPE_WC, 0x70000, 0x2000);
	if (!check(ret == 0, "contexts: CREATE in the first context (%s, %s)", err_name(-ret), why_name(c.why)))
		goto out;
	ret = claim(other, WCALIAS_IOC_CLAIM, &cl);
	check(ret == -EBUSY && cl.why == WCALIAS_WHY_OTHER_CONTEXT,
	      "contexts: CLAIM of the BAR from a second context: EBUSY, OTHER_CONTEXT (%s, %s)", err_name(-ret),
	      why_name(cl.why));
	ret = create(other, &c2, WCALIAS_MEMTYPE_WC, 0x78000, 0x2000);
	check(ret == -EBUSY && c2.why == WCALIAS_WHY_OTHER_CONTEXT,
	      "contexts: CREATE in the same BAR from a second context: EBUSY, OTHER_CONTEXT (%s, %s)", err_name(-ret),
	      why_name(c2.why));
	if (ret == 0)
		close(c2.fd);
	ret = query(other, c.fd, &q);
	check(ret == 0 && q.own == 0 && q.id == c.id && q.revoked == WCALIAS_LIVE,
	      "contexts: QUERY from the second context: own 0, same id, live (%s)", err_name(-ret));
	ret = revoke_alias(other, c.id);
	check(ret == -ENOENT, "contexts: REVOKE of the first context's alias from the second: ENOENT (%s)", err_name(-ret));
	ret = query(ctl, c.fd, &q);
	check(ret == 0 && q.revoked == WCALIAS_LIVE, "contexts: ... and the alias is still live");

	/* UNCLAIM with a live alias: the claim stays until the alias ends */
	ret = claim(ctl, WCALIAS_IOC_CLAIM, &cl);
	ret = ret ? ret : claim(ctl, WCALIAS_IOC_UNCLAIM, &cl);
	check(ret == 0 && claim_shown(), "UNCLAIM while an alias of the BAR is live: the claim stays (%s)",
	      err_name(-ret));
	revoke_alias(ctl, c.id);
	check(!claim_shown(), "... and goes with the last alias");
	close(c.fd);

	/* a control fd passed to an unprivileged process is useless to it */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct wcalias_version v;

		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY))
			_exit(2);
		_exit(ioctl(ctl, WCALIAS_IOC_VERSION, &v) == -1 && errno == EPERM ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "an open control fd inherited by uid %d: its ioctls fail EPERM (status %d)", NOBODY, WEXITSTATUS(status));
out:
	close(other);
}

/* max_aliases_per_context: one more alias than that is refused with why LIMIT. */
static void check_limit(void)
{
	struct wcalias_version v = { 0 };
	struct wcalias_create c;
	struct rlimit rl;
	int ctl = ctl_open(), ret = 0, made = 0, *fds;

	if (ioctl(ctl, WCALIAS_IOC_VERSION, &v) || !v.max_aliases_per_context || v.max_aliases_per_context > 8192) {
		check(0, "limit: VERSION gives a usable max_aliases_per_context (%u)", v.max_aliases_per_context);
		close(ctl);
		return;
	}
	rl.rlim_cur = rl.rlim_max = v.max_aliases_per_context + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	fds = calloc(v.max_aliases_per_context, sizeof(int));
	for (unsigned int i = 0; i < v.max_aliases_per_context; i++) {
		ret = create(ctl, &c, WCALIAS_MEMTYPE_WC, 0x90000, PAGE);
		if (ret)
			break;
		fds[made++] = c.fd;
	}
	check(made == (int)v.max_aliases_per_context, "limit: %u aliases in one context (%d made, %s, %s)",
	      v.max_aliases_per_context, made, err_name(-ret), why_name(c.why));
	ret = create(ctl, &c, WCALIAS_MEMTYPE_WC, 0x90000, PAGE);
	check(ret != 0 && c.why == WCALIAS_WHY_LIMIT && c.fd == -1, "limit: one more is refused, why LIMIT (%s, %s)",
	      err_name(-ret), why_name(c.why));
	if (ret == 0)
		close(c.fd);
	close(ctl);
	for (int i = 0; i < made; i++)
		close(fds[i]);
	free(fds);
	check(pat_entries(bar2_start, bar2_size, NULL, 0, 0) == 0 && wcalias_lines() == 0,
	      "limit: closing the context leaves no PAT entry and no claim");
}

/*
 * A UC- mapping of the whole BAR through sysfs resource2 (a UC- memtype
 * reservation) made before the alias: whatever the kernel does with it, a
 * CREATE WC either gives a verified WC alias (the PAT list agrees) or fails
 * EBUSY with why DOWNGRADED; never an alias of another type. Which one is
 * measured: on 6.1 the claim's revoke_iomem() zaps the sysfs mapping, and
 * zapping a PFNMAP mapping drops its reservation (untrack_pfn), so WC.
 * Also measured: whether a sysfs resource2_wc mmap of a BAR wcalias has
 * claimed still succeeds (kernel-facts 8: pci-sysfs checks only the BAR's
 * first page).
 */
static void check_downgrade(void)
{
	char path[PATH_MAX], exact[64];
	struct wcalias_create c;
	int ctl, fd, ret;
	void *p;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource2", bdf);
	fd = open(path, O_RDWR | O_CLOEXEC);
	p = fd < 0 ? MAP_FAILED : mmap(NULL, bar2_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!check(p != MAP_FAILED, "UC- first: a sysfs mapping of resource2 (%s)", err_name(p == MAP_FAILED ? errno : 0))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	(void)peek(p);
	pat_entries(bar2_start, bar2_size, NULL, 0, 1);
	ctl = ctl_open();
	ret = create(ctl, &c, WCALIAS_MEMTYPE_WC, 0xa0000, 0x4000);
	if (ret == 0) {
		pat_entries(c.phys, 0x4000, exact, sizeof(exact), 1);
		check(c.effective == WCALIAS_MEMTYPE_WC && !strcmp(exact, "write-combining"),
		      "UC- first: CREATE WC gives WC, verified (effective %u, PAT list '%s'); the older UC- reservation went with the claim",
		      c.effective, exact);
		info("UC- first: %s", "the UC- sysfs mapping did not downgrade the alias");
		revoke_alias(ctl, c.id);
		close(c.fd);
	} else {
		check(ret == -EBUSY && c.why == WCALIAS_WHY_DOWNGRADED && c.fd == -1,
		      "UC- first: CREATE WC is refused EBUSY, DOWNGRADED (%s, %s)", err_name(-ret), why_name(c.why));
		check(!claim_shown(), "UC- first: the refused CREATE left no claim");
	}
	munmap(p, bar2_size);
	close(fd);
	check(pat_entries(bar2_start, bar2_size, NULL, 0, 1) == 0, "UC- first: no PAT entry left in BAR2 afterwards");
	ret = create(ctl, &c, WCALIAS_MEMTYPE_WC, 0xa0000, 0x4000);
	check(ret == 0 && c.effective == WCALIAS_MEMTYPE_WC, "UC- mapping gone: CREATE WC is WC (%s, %s)",
	      err_name(-ret), why_name(c.why));
	if (ret == 0) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource2_wc", bdf);
		fd = open(path, O_RDWR | O_CLOEXEC);
		p = fd < 0 ? MAP_FAILED : mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0xa0000);
		info("a new resource2_wc mmap inside the claimed BAR: %s", p == MAP_FAILED ? err_name(errno) : "succeeds");
		if (p != MAP_FAILED)
			munmap(p, PAGE);
		if (fd >= 0)
			close(fd);
		revoke_alias(ctl, c.id);
		close(c.fd);
	}
	close(ctl);
}

/* --- a VFIO user of the same device ------------------------------------------------------- */

struct vfio_user {
	int container, group, device;
};

static int vfio_open(struct vfio_user *v)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct vfio_group_status st = { .argsz = sizeof(st) };
	ssize_t n;

	v->container = v->group = v->device = -1;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return -errno;
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0)
		return -errno;
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &st) || !(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EINVAL;
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container))
		return -errno;
	if (ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) &&
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU))
		return -errno;
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	return v->device < 0 ? -errno : 0;
}

static void vfio_close(struct vfio_user *v)
{
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	v->container = v->group = v->device = -1;
}

/*
 * Uses BAR0 of ivshmem (registers; 256 bytes, too small to mmap): writes the
 * interrupt mask register through the VFIO fd and reads it back.
 */
static int vfio_use_bar0(struct vfio_user *v)
{
	struct vfio_region_info r = { .argsz = sizeof(r), .index = 0 };
	uint32_t w = 0xa5a5a5a5, back = 0, zero = 0;

	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &r))
		return -errno;
	if (pwrite(v->device, &w, 4, (off_t)r.offset) != 4)
		return -errno;
	if (pread(v->device, &back, 4, (off_t)r.offset) != 4)
		return -errno;
	if (pwrite(v->device, &zero, 4, (off_t)r.offset) != 4)
		return -errno;
	return back == w ? 0 : -EIO;
}

/* Maps BAR2 through the VFIO fd and touches it; 0 or -errno. *map keeps the mapping. */
static int vfio_map_bar2(struct vfio_user *v, void **map, uint64_t *size)
{
	struct vfio_region_info r = { .argsz = sizeof(r), .index = 2 };
	volatile uint8_t *p;

	*map = NULL;
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &r))
		return -errno;
	p = mmap(NULL, r.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->device, (off_t)r.offset);
	if (p == MAP_FAILED)
		return -errno;
	if (peek(p)) {
		munmap((void *)p, r.size);
		return -EFAULT;
	}
	*map = (void *)p;
	*size = r.size;
	return 0;
}

static int vfio_read_bar2(struct vfio_user *v)
{
	struct vfio_region_info r = { .argsz = sizeof(r), .index = 2 };
	uint32_t w;

	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &r))
		return -errno;
	return pread(v->device, &w, 4, (off_t)r.offset) == 4 ? 0 : -errno;
}

/* Our own mapping of an alias: write, read back. */
static int alias_works(int fd, uint64_t len, unsigned int seed)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	size_t bad;

	if (p == MAP_FAILED)
		return 0;
	if (touch(p)) {
		munmap(p, len);
		return 0;
	}
	pattern_write(p, len, seed);
	bad = pattern_bad(p, len, seed);
	munmap(p, len);
	return bad == 0;
}

static void check_vfio(void)
{
	struct wcalias_create c;
	struct wcalias_claim cl;
	struct wcalias_query q;
	struct vfio_user v;
	uint64_t vsize = 0;
	void *vmap;
	int ctl, ret, fd;
	const uint64_t off = 0x40000, len = 0x4000;

	/* 1. alias first, then a VFIO user of the device */
	ctl = ctl_open();
	ret = create(ctl, &c, WCALIAS_MEMTYPE_WC, off, len);
	fd = c.fd;
	if (!check(ret == 0, "VFIO, alias first: CREATE WC [%#llx, +%#llx) (%s, why %s)", (unsigned long long)off,
		   (unsigned long long)len, err_name(-ret), why_name(c.why))) {
		close(ctl);
		return;
	}
	check(alias_works(fd, len, 71), "VFIO, alias first: the alias works before the VFIO user comes");
	ret = vfio_open(&v);
	check(ret == 0, "VFIO, alias first: a VFIO user opens the device (%s)", err_name(-ret));
	iomem_owned("wcalias", 1);
	if (ret == 0) {
		ret = vfio_use_bar0(&v);
		check(ret == 0, "VFIO, alias first: the VFIO user writes and reads back BAR0 (%s)", err_name(-ret));
		check(alias_works(fd, len, 72), "VFIO, alias first: the alias still works while VFIO uses BAR0");
		ret = vfio_map_bar2(&v, &vmap, &vsize);
		check(ret == -EBUSY, "VFIO, alias first: the VFIO user's mmap of BAR2 fails EBUSY (%s)", err_name(-ret));
		if (vmap)
			munmap(vmap, vsize);
		ret = vfio_read_bar2(&v);
		check(ret == -EBUSY, "VFIO, alias first: the VFIO user's read of BAR2 fails EBUSY (%s)", err_name(-ret));
		check(alias_works(fd, len, 73), "VFIO, alias first: the alias still works after the VFIO user's attempt");
		ret = query(ctl, fd, &q);
		check(ret == 0 && q.revoked == WCALIAS_LIVE, "VFIO, alias first: QUERY says the alias is live (%u)",
		      q.revoked);
		expect_pat("VFIO, alias first", c.phys, len, "write-combining");
		check(pat_entries(bar2_start, bar2_size, NULL, 0, 0) == 1,
		      "VFIO, alias first: no other PAT entry in BAR2 (no UC- map of the whole BAR by vfio-pci)");
		iomem_owned("vfio", 1);
	}
	vfio_close(&v);
	close(fd);
	close(ctl);
	check(wcalias_lines() == 0, "VFIO, alias first: closing everything leaves no wcalias claim");

	/*
	 * 2. a VFIO user that opened the device and uses only BAR0, then a
	 * CLAIM of BAR2: 6.x vfio-pci claims a BAR at its first use, 7.x every
	 * BAR at open (kernel-facts 3b).
	 */
	ret = vfio_open(&v);
	if (ret == 0 && vfio_use_bar0(&v) == 0) {
		ctl = ctl_open();
		ret = claim(ctl, WCALIAS_IOC_CLAIM, &cl);
		iomem_owned("vfio", 1);
		if (kernel_major >= 7)
			check(ret == -EBUSY && cl.why == WCALIAS_WHY_BAR_BUSY,
			      "VFIO open first, BAR0 used (%d.x claims every BAR at open): CLAIM BAR2 fails EBUSY, BAR_BUSY (%s, %s)",
			      kernel_major, err_name(-ret), why_name(cl.why));
		else
			check(ret == 0,
			      "VFIO open first, BAR0 used (%d.x claims a BAR at its first use): CLAIM BAR2 succeeds (%s, %s)",
			      kernel_major, err_name(-ret), why_name(cl.why));
		close(ctl);
	} else {
		check(0, "VFIO open first: the VFIO user opens the device and uses BAR0 (%s)", err_name(-ret));
	}
	vfio_close(&v);

	/* 3. the VFIO user holds BAR2 first */
	ret = vfio_open(&v);
	if (ret == 0)
		ret = vfio_map_bar2(&v, &vmap, &vsize);
	if (check(ret == 0, "VFIO first: a VFIO user maps and touches BAR2 (%s)", err_name(-ret))) {
		iomem_owned("vfio", 1);
		ctl = ctl_open();
		ret = claim(ctl, WCALIAS_IOC_CLAIM, &cl);
		check(ret == -EBUSY && cl.why == WCALIAS_WHY_BAR_BUSY,
		      "VFIO first: CLAIM BAR2 fails EBUSY, BAR_BUSY (%s, %s)", err_name(-ret), why_name(cl.why));
		ret = create(ctl, &c, WCALIAS_MEMTYPE_WC, off, len);
		check(ret == -EBUSY && c.why == WCALIAS_WHY_BAR_BUSY && c.fd == -1,
		      "VFIO first: CREATE WC fails EBUSY, BAR_BUSY (%s, %s)", err_name(-ret), why_name(c.why));
		if (ret == 0)
			close(c.fd);
		close(ctl);
		munmap(vmap, vsize);
	}
	vfio_close(&v);

	/* and once the VFIO user is gone, BAR2 is ours again, still WC */
	ctl = ctl_open();
	ret = create(ctl, &c, WCALIAS_MEMTYPE_WC, off, len);
	check(ret == 0 && c.effective == WCALIAS_MEMTYPE_WC,
	      "after the VFIO user closed the device: CREATE WC works and is WC (%s, why %s, effective %u)",
	      err_name(-ret), why_name(c.why), c.effective);
	if (ret == 0)
		close(c.fd);
	close(ctl);
}

/* --- 10,000 create/revoke cycles against a thread that keeps touching the mapping -------- */

static _Atomic(uint8_t *) stress_map;
static atomic_int stress_stop;
static atomic_long stress_touches, stress_faults;

static void *stress_toucher(void *unused)
{
	(void)unused;
	catch_faults();
	while (!atomic_load(&stress_stop)) {
		uint8_t *p = atomic_load(&stress_map);

		if (!p)
			continue;
		if (touch(p + PAGE))
			atomic_fetch_add(&stress_faults, 1);
		else
			atomic_fetch_add(&stress_touches, 1);
	}
	return NULL;
}

static void check_stress(void)
{
	const uint64_t off = 0x80000, len = 0x2000;
	int ctl, fds_before, fds_after, ret = 0, made = 0, mapped = 0, revoked = 0;
	struct wcalias_create c;
	pthread_t thread;
	double t0, t1;

	fds_before = open_fds();
	ctl = ctl_open();
	if (ctl < 0)
		return;
	pthread_create(&thread, NULL, stress_toucher, NULL);
	t0 = now();
	for (int i = 0; i < STRESS_CYCLES; i++) {
		void *p;

		ret = create(ctl, &c, WCALIAS_MEMTYPE_WC, off, len);
		if (ret)
			break;
		made++;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);
		if (p != MAP_FAILED) {
			mapped++;
			atomic_store(&stress_map, p);
			/* let the toucher fault a page in on some cycles */
			if (i % 8 == 0)
				sched_yield();
		}
		if (revoke_alias(ctl, c.id) == 0)
			revoked++;
		atomic_store(&stress_map, NULL);
		if (p != MAP_FAILED)
			munmap(p, len);
		close(c.fd);
	}
	t1 = now();
	atomic_store(&stress_stop, 1);
	pthread_join(thread, NULL);
	close(ctl);
	check(made == STRESS_CYCLES && mapped == made && revoked == made,
	      "stress: %d create/mmap/revoke/close cycles (created %d, mapped %d, revoked %d; last %s, why %s) in %.1f s",
	      STRESS_CYCLES, made, mapped, revoked, err_name(-ret), why_name(c.why), t1 - t0);
	info("stress: the toucher thread wrote %ld times and faulted %ld times", atomic_load(&stress_touches),
	     atomic_load(&stress_faults));
	check(pat_entries(bar2_start, bar2_size, NULL, 0, 1) == 0, "stress: no PAT entry left in BAR2");
	check(wcalias_lines() == 0, "stress: no wcalias line left in /proc/iomem");
	fds_after = open_fds();
	check(fds_after == fds_before, "stress: no fd leaked (%d open before, %d after)", fds_before, fds_after);
}

/* --- the device goes away: unbind, removal ----------------------------------------------- */

static void check_unbind(void)
{
	struct wcalias_create c;
	struct mapper m;
	char drv[64];
	int ctl = ctl_open(), fd, ret;
	const uint64_t off = 0x50000, len = 0x4000;
	double t0;

	fd = alias_to_nobody("unbind", ctl, WCALIAS_MEMTYPE_WC, off, len, 63, &m, &c);
	if (fd >= 0) {
		t0 = now();
		ret = write_file("/sys/bus/pci/drivers/vfio-pci/unbind", bdf);
		driver_of(drv, sizeof(drv));
		check(ret == 0 && !strcmp(drv, "(none)"), "unbind: vfio-pci unbound in %.1f ms (%s, driver now %s)",
		      (now() - t0) * 1000, err_name(-ret), drv);
		expect_revoked("vfio-pci unbound", &m, len);
		expect_no_pat("vfio-pci unbound", c.phys, len);
		check(!claim_shown() && wcalias_lines() == 0, "vfio-pci unbound: the claim is gone from /proc/iomem");
		expect_query_revoked("vfio-pci unbound", fd, WCALIAS_REVOKED_UNBIND, WCALIAS_REVOKED_UNBIND);
		ret = create(ctl, &c, WCALIAS_MEMTYPE_WC, off, len);
		check(ret == -ENODEV && c.why == WCALIAS_WHY_NO_VFIO_DRIVER,
		      "no driver bound: CREATE fails ENODEV, NO_VFIO_DRIVER (%s, %s)", err_name(-ret), why_name(c.why));
		if (ret == 0)
			close(c.fd);
		mapper_stop(&m);
		close(fd);
	}
	close(ctl);
	check(bind_vfio(), "vfio-pci bound again");
}

static void check_removal(void)
{
	struct wcalias_create c;
	struct mapper m;
	char path[PATH_MAX];
	int ctl = ctl_open(), fd, ret;
	const uint64_t off = 0x60000, len = 0x4000;
	double t0;

	fd = alias_to_nobody("removal", ctl, WCALIAS_MEMTYPE_WC, off, len, 64, &m, &c);
	if (fd >= 0) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove", bdf);
		t0 = now();
		ret = write_file(path, "1");
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
		check(ret == 0 && access(path, F_OK) != 0, "removal: the device is gone in %.1f ms (%s)",
		      (now() - t0) * 1000, err_name(-ret));
		expect_revoked("device removed", &m, len);
		expect_no_pat("device removed", c.phys, len);
		check(wcalias_lines() == 0, "device removed: no wcalias claim left in /proc/iomem");
		/* vfio-pci is unbound first (pci_stop_dev), so either cause is the truth */
		expect_query_revoked("device removed", fd, WCALIAS_REVOKED_REMOVAL, WCALIAS_REVOKED_UNBIND);
		ret = create(ctl, &c, WCALIAS_MEMTYPE_WC, off, len);
		check(ret == -ENODEV && c.why == WCALIAS_WHY_NO_DEVICE,
		      "device removed: CREATE fails ENODEV, NO_DEVICE (%s, %s)", err_name(-ret), why_name(c.why));
		if (ret == 0)
			close(c.fd);
		mapper_stop(&m);
		close(fd);
	}
	close(ctl);
	write_file("/sys/bus/pci/rescan", "1");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	check(access(path, F_OK) == 0, "rescan: the device is back");
}

/*
 * The module stays while anything of it is open: a control fd, or an alias
 * fd even once revoked (the dma-buf holds a module reference). Last step of
 * "run": it leaves the module unloaded.
 */
static void check_unload(void)
{
	struct wcalias_create c;
	int ctl = ctl_open(), ret;

	ret = (int)syscall(SYS_delete_module, "wcalias", O_NONBLOCK) ? errno : 0;
	check(ret == EWOULDBLOCK || ret == EBUSY, "unload: refused while a control fd is open (%s)", err_name(ret));
	if (bind_vfio() && create(ctl, &c, WCALIAS_MEMTYPE_WC, 0x10000, PAGE) == 0) {
		close(ctl);
		ctl = -1;
		ret = (int)syscall(SYS_delete_module, "wcalias", O_NONBLOCK) ? errno : 0;
		check(ret == EWOULDBLOCK || ret == EBUSY,
		      "unload: refused while a revoked alias fd is still open (%s)", err_name(ret));
		close(c.fd);
	} else {
		check(0, "unload: an alias to hold open (vfio-pci bound again after the rescan)");
	}
	if (ctl >= 0)
		close(ctl);
	/* the dma-buf's last fput is deferred: give it a moment */
	for (int i = 0; i < 50; i++) {
		ret = (int)syscall(SYS_delete_module, "wcalias", O_NONBLOCK) ? errno : 0;
		if (ret != EWOULDBLOCK && ret != EBUSY)
			break;
		usleep(20000);
	}
	check(ret == 0 && access(CTL, F_OK) != 0, "unload: with everything closed, the module unloads (%s)",
	      err_name(ret));
}

/* --- lockdown ------------------------------------------------------------------------------- */

static int lockdown_main(const char *ko)
{
	char path[PATH_MAX];
	int fd, ret;
	void *p;

	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (!check(fd >= 0, "lockdown: %s is there", ko))
		return failures;
	ret = (int)syscall(SYS_finit_module, fd, "", 0) ? errno : 0;
	check(ret == EPERM, "lockdown: loading the unsigned wcalias.ko fails EPERM (%s)", err_name(ret));
	close(fd);
	check(access(CTL, F_OK) != 0, "lockdown: there is no %s", CTL);

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource2_wc", bdf);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		check(errno == EPERM, "lockdown: resource2_wc refused EPERM at open (%s)", err_name(errno));
		return failures;
	}
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ret = map_err(p);
	check(ret == EPERM, "lockdown: mmap of resource2_wc fails EPERM (%s)", err_name(ret));
	if (p != MAP_FAILED)
		munmap(p, PAGE);
	close(fd);
	return failures;
}

/* ------------------------------------------------------------------------------------------ */

static int parse_bdf(const char *s, struct wcalias_bar *b, int bar)
{
	unsigned int dom, bus, dev, fn;

	if (sscanf(s, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) != 4)
		return -1;
	memset(b, 0, sizeof(*b));
	b->domain = dom;
	b->bus = (uint8_t)bus;
	b->devfn = (uint8_t)((dev << 3) | fn);
	b->bar = (uint8_t)bar;
	return 0;
}

static int run_main(void)
{
	struct utsname u;
	int ctl;

	uname(&u);
	kernel_major = atoi(u.release);
	catch_faults();
	if (read_bar(bdf, 2, &bar2_start, &bar2_size)) {
		check(0, "device %s has a BAR2", bdf);
		return failures;
	}
	info("kernel %s, device %s, BAR2 [%#llx, +%#llx)", u.release, bdf, (unsigned long long)bar2_start,
	     (unsigned long long)bar2_size);
	check_node();
	ctl = ctl_open();
	if (!check(ctl >= 0, "root opens %s", CTL))
		return failures;
	check_version(ctl);
	check_refusals(ctl);
	check_aliases(ctl);
	check_contexts(ctl);
	close(ctl);
	check_close_revokes();
	check_limit();
	check_downgrade();
	check_vfio();
	check_stress();
	check_unbind();
	check_removal();
	check_unload();
	return failures;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "run")) {
		bdf = argv[2];
		bdf_b = argc == 4 ? argv[3] : NULL;
		if (parse_bdf(bdf, &bar2, 2) || (bdf_b && parse_bdf(bdf_b, &bar_b0, 0)))
			return 2;
		return run_main() > 100 ? 100 : failures;
	}
	if (argc == 4 && !strcmp(argv[1], "lockdown")) {
		bdf = argv[3];
		return lockdown_main(argv[2]) > 100 ? 100 : failures;
	}
	if (argc == 4 && !strcmp(argv[1], "pattern")) {
		unsigned int seed = (unsigned int)strtoul(argv[2], NULL, 0);
		size_t len = strtoul(argv[3], NULL, 0);

		for (size_t i = 0; i < len; i++)
			putchar(pattern_byte(seed, i));
		return 0;
	}
	fprintf(stderr, "usage: wcalias-check run BDF [BDF_B] | lockdown KO BDF | pattern SEED LENGTH\n");
	return 2;
}
