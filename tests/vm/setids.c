/*
 * setids: run a command with exactly the given uid, gid and supplementary groups.
 *
 *   setids UID GID[,SUPP...] -- CMD [ARG...]
 *
 * Exists because Debian's busybox has no setuidgid and its setpriv lacks --reuid.  Numeric ids
 * only: a static binary cannot use NSS, and tests should not depend on name lookup anyway.
 * Supplementary groups are exactly SUPP... (none if only GID is given), as a D-Bus client
 * started by a login session would have them set explicitly; the bus daemon records them.
 * Open file descriptors are inherited on purpose: "opened by root, used by an unprivileged
 * process" is how the broker hands out BAR fds.
 * Exit: 125 usage/id change failed, 126/127 exec failed, else the command's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_GROUPS 64

static int parse_id(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return (errno || end == s || *end || *out > 0xfffffffeUL) ? -1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: setids UID GID[,SUPP...] -- CMD [ARG...]\n");
	exit(125);
}

int main(int argc, char **argv)
{
	gid_t groups[MAX_GROUPS];
	size_t ngroups = 0;
	unsigned long uid, gid, v;
	char *list, *tok, *save;

	if (argc < 5 || strcmp(argv[3], "--") != 0)
		usage();
	if (parse_id(argv[1], &uid))
		usage();

	list = argv[2];
	tok = strtok_r(list, ",", &save);
	if (!tok || parse_id(tok, &gid))
		usage();
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (ngroups == MAX_GROUPS || parse_id(tok, &v))
			usage();
		groups[ngroups++] = (gid_t)v;
	}

	/* Order matters: groups and gid while still privileged, uid last. */
	if (setgroups(ngroups, groups) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		perror("setids: changing ids");
		return 125;
	}
	execvp(argv[4], &argv[4]);
	fprintf(stderr, "setids: exec %s: %s\n", argv[4], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
