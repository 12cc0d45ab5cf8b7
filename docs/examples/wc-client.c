/*
 * A complete libwcbroker client: map a BAR range write-combining, push a
 * burst of descriptor-sized stores through it, fence, and watch for
 * revocation. Build: cc wc-client.c $(pkg-config --cflags --libs wcbroker)
 *
 * Usage: wc-client DEVICE BAR OFFSET LENGTH
 */
#include <wcbroker.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_revoked(wcbroker_mapping *mapping, const char *reason, void *userdata)
{
    (void)mapping;
    fprintf(stderr, "lease revoked: %s\n", reason);
    *(int *)userdata = 1; /* stop touching the mapping; unmap it below */
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s DEVICE BAR OFFSET LENGTH\n", argv[0]);
        return 2;
    }
    struct wcbroker_map_request request = WCBROKER_MAP_REQUEST_INIT;
    request.device = argv[1];
    request.bar = (unsigned)strtoul(argv[2], NULL, 0);
    request.offset = strtoull(argv[3], NULL, 0);
    request.length = strtoull(argv[4], NULL, 0);
    request.access = WCBROKER_WRITE_COMBINE;
    request.label = "wc-client example";

    wcbroker_session *session = NULL;
    wcbroker_mapping *mapping = NULL;
    char *error = NULL;
    int r = wcbroker_session_open(&session, &error);
    if (r == 0)
        r = wcbroker_map(session, &request, &mapping, &error);
    if (r < 0) {
        fprintf(stderr, "wc-client: %s (%s)\n", error, strerror(-r));
        free(error);
        wcbroker_session_close(session);
        return 1;
    }
    /* Honesty first: the kernel may not have given us write-combining. */
    printf("mapped %zu bytes at %p, memory type %s\n", wcbroker_mapping_length(mapping),
        wcbroker_mapping_address(mapping), wcbroker_mapping_memtype(mapping));
    if (strcmp(wcbroker_mapping_memtype(mapping), "write-combining") != 0)
        printf("note: running without verified write-combining\n");

    int revoked = 0;
    wcbroker_session_on_revoked(session, on_revoked, &revoked);

    /* A burst of 64-byte "descriptors", as an LLQ-style driver would push.
     * Whole cache lines written in order let the CPU merge them into full
     * write-combining buffers. */
    volatile uint64_t *ring = wcbroker_mapping_address(mapping);
    const size_t words = wcbroker_mapping_length(mapping) / sizeof(uint64_t);
    for (size_t i = 0; i < words && i < 64 * 8; ++i)
        ring[i] = 0x5743000000000000ull | i; /* "WC" + index */
    /* WC stores may sit in write-combining buffers and be reordered: fence
     * before telling the device (a doorbell write) that they are there. */
    wcbroker_wc_barrier();
    printf("wrote %zu descriptors and fenced\n", (words < 512 ? words : 512) / 8);

    /* A real driver polls this fd from its event loop. */
    struct pollfd fd = {wcbroker_session_fd(session), POLLIN, 0};
    if (poll(&fd, 1, 100) > 0)
        wcbroker_session_process(session);
    if (revoked)
        printf("the lease was revoked while we ran\n");

    r = wcbroker_unmap(mapping);
    wcbroker_session_close(session);
    return r < 0 ? 1 : 0;
}
