/*
 * A libwcbroker client for the integration tests, in C on purpose: it proves
 * the library is usable from C. Prints key=value lines the tests read.
 *
 *   test-client map DEVICE BAR OFFSET LENGTH wc|uc [--read N] [--write TEXT]
 *                   [--hold] [--verified] [--kernel-enforced] [--label TEXT] [--fixed]
 *   test-client churn DEVICE BAR OFFSET LENGTH wc|uc COUNT
 *   test-client grants DEVICE BAR
 *
 * --fixed maps at an address the client reserved first (PROT_NONE), as
 * DPDK does, and says whether the mapping landed there.
 *
 * The bus is $DBUS_SYSTEM_BUS_ADDRESS. Exit status 0, or 1 after an
 * "error=ENAME code=N message=..." line.
 */

#include "wcbroker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int report_error(int code, char *message)
{
    printf("error=%s code=%d message=%s\n", strerrorname_np(-code), -code, message != NULL ? message : "");
    free(message);
    return 1;
}

static void on_revoked(wcbroker_mapping *mapping, const char *reason, void *userdata)
{
    (void)mapping;
    *(int *)userdata = 1;
    printf("revoked=%s\n", reason);
    fflush(stdout);
}

static int list_grants(const char *device, unsigned bar)
{
    wcbroker_session *session = NULL;
    char *error = NULL;
    int r = wcbroker_session_open(&session, &error);
    if (r < 0)
        return report_error(r, error);
    struct wcbroker_grant *grants = NULL;
    size_t count = 0;
    r = wcbroker_list_grants(session, device, bar, &grants, &count, &error);
    if (r < 0)
        return report_error(r, error);
    printf("grants=%zu\n", count);
    for (size_t i = 0; i < count; ++i) {
        printf("grant offset=0x%llx length=0x%llx access=%s\n", (unsigned long long)grants[i].offset,
            (unsigned long long)grants[i].length, grants[i].access == WCBROKER_WRITE_COMBINE ? "wc" : "uc");
    }
    free(grants);
    wcbroker_session_close(session);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "grants") == 0)
        return list_grants(argv[2], (unsigned)strtoul(argv[3], NULL, 0));
    if (argc < 7) {
        fprintf(stderr, "usage: test-client map|churn DEVICE BAR OFFSET LENGTH wc|uc ...\n");
        return 2;
    }
    struct wcbroker_map_request request = WCBROKER_MAP_REQUEST_INIT;
    request.device = argv[2];
    request.bar = (unsigned)strtoul(argv[3], NULL, 0);
    request.offset = strtoull(argv[4], NULL, 0);
    request.length = strtoull(argv[5], NULL, 0);
    request.access = strcmp(argv[6], "uc") == 0 ? WCBROKER_UNCACHED : WCBROKER_WRITE_COMBINE;

    wcbroker_session *session = NULL;
    char *error = NULL;
    int r = wcbroker_session_open(&session, &error);
    if (r < 0)
        return report_error(r, error);

    if (strcmp(argv[1], "churn") == 0) {
        const long count = argc > 7 ? strtol(argv[7], NULL, 0) : 1;
        for (long i = 0; i < count; ++i) {
            wcbroker_mapping *mapping = NULL;
            r = wcbroker_map(session, &request, &mapping, &error);
            if (r < 0) {
                printf("iteration=%ld\n", i);
                return report_error(r, error);
            }
            r = wcbroker_unmap(mapping);
            if (r < 0)
                return report_error(r, strdup("release failed"));
        }
        printf("churned=%ld\n", count);
        wcbroker_session_close(session);
        return 0;
    }

    long read_bytes = 0;
    const char *write_text = NULL;
    int hold = 0;
    for (int i = 7; i < argc; ++i) {
        if (strcmp(argv[i], "--read") == 0 && i + 1 < argc)
            read_bytes = strtol(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--write") == 0 && i + 1 < argc)
            write_text = argv[++i];
        else if (strcmp(argv[i], "--hold") == 0)
            hold = 1;
        else if (strcmp(argv[i], "--verified") == 0)
            request.require_verified_wc = 1;
        else if (strcmp(argv[i], "--kernel-enforced") == 0)
            request.require_kernel_enforced_range = 1;
        else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
            request.label = argv[++i];
        else if (strcmp(argv[i], "--fixed") == 0) {
            /* A reservation one page larger, to map into its second page. */
            char *reserved = mmap(NULL, request.length + 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (reserved == MAP_FAILED)
                return report_error(-errno, strdup("reservation failed"));
            request.address = reserved + 4096;
        }
    }

    wcbroker_mapping *mapping = NULL;
    r = wcbroker_map(session, &request, &mapping, &error);
    if (r < 0)
        return report_error(r, error);
    printf("lease=%s memtype=%s mechanism=%s enforcement=%s length=%zu fd=%s fd_offset=%llu\n",
        wcbroker_mapping_lease(mapping), wcbroker_mapping_memtype(mapping), wcbroker_mapping_mechanism(mapping),
        wcbroker_mapping_range_enforcement(mapping), wcbroker_mapping_length(mapping),
        fcntl(wcbroker_mapping_fd(mapping), F_GETFD) >= 0 ? "open" : "closed",
        (unsigned long long)wcbroker_mapping_fd_offset(mapping));
    if (request.address != NULL)
        printf("fixed=%s\n", wcbroker_mapping_address(mapping) == request.address ? "yes" : "no");
    const unsigned char *bytes = wcbroker_mapping_address(mapping);
    if (read_bytes > 0) {
        printf("read=");
        for (long i = 0; i < read_bytes && (size_t)i < wcbroker_mapping_length(mapping); ++i)
            printf("%02x", bytes[i]);
        printf("\n");
    }
    if (write_text != NULL) {
        memcpy(wcbroker_mapping_address(mapping), write_text, strlen(write_text));
        wcbroker_wc_barrier();
        printf("wrote=%zu\n", strlen(write_text));
    }
    if (hold) {
        int revoked = 0;
        wcbroker_session_on_revoked(session, on_revoked, &revoked);
        printf("holding\n");
        while (!revoked) {
            struct pollfd fds[2] = {{wcbroker_session_fd(session), POLLIN, 0}, {0, POLLIN, 0}};
            if (poll(fds, 2, -1) < 0 && errno != EINTR)
                break;
            if (fds[1].revents != 0) {
                char c;
                if (read(0, &c, 1) <= 0)
                    break; /* the test closed our stdin: let go */
            }
            if (wcbroker_session_process(session) < 0)
                break;
        }
    }
    r = wcbroker_unmap(mapping);
    printf("released=%d\n", r);
    wcbroker_session_close(session);
    return 0;
}
