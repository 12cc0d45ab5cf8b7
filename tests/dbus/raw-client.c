/*
 * A client that misbehaves on purpose, for the fault tests: it talks sd-bus
 * directly so it can stop at points libwcbroker never would.
 *
 *   raw-client abandon DEVICE BAR OFFSET LENGTH wc|uc
 *       asks Explain first (so the daemon knows the connection's
 *       credentials), then sends Acquire and exits without waiting for the
 *       reply: the lease is granted to a client that is already gone.
 *   raw-client take-fd DEVICE BAR OFFSET LENGTH wc|uc
 *       acquires, prints "lease=PATH", and exits without mapping the fd or
 *       releasing the lease.
 *
 *   raw-client signal DESTINATION PATH INTERFACE MEMBER SIGNATURE [ARG...]
 *       sends one signal, unicast to DESTINATION ("-": broadcast), with
 *       arguments of the basic types s o u i t b; prints "sent", then
 *       "bus-error=NAME" for each error the bus sent back about it.
 *   raw-client flood COUNT LENGTH
 *       sends COUNT Acquire requests whose device is LENGTH bytes of 'x',
 *       each waiting for its (refusing) reply; prints "refused=N".
 *   raw-client listen SECONDS
 *       subscribes to every org.wcbroker.Lease1 signal, prints "listening",
 *       then "signal=PATH MEMBER" for each one it receives, for SECONDS.
 *
 * The bus is $DBUS_SYSTEM_BUS_ADDRESS. Exit status 0, or 1 after an
 * "error=..." line.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>

#define BROKER "org.wcbroker.Broker1"
#define BROKER_PATH "/org/wcbroker/Broker1"

static int fail(const char *what, int r, const sd_bus_error *error)
{
    printf("error=%s code=%d message=%s\n", what, -r, error != NULL && error->message != NULL ? error->message : "");
    return 1;
}

static int print_bus_error(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    (void)userdata;
    (void)ret_error;
    if (sd_bus_message_is_method_error(m, NULL))
        printf("bus-error=%s\n", sd_bus_message_get_error(m)->name);
    return 0;
}

static int print_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
    (void)userdata;
    (void)ret_error;
    printf("signal=%s %s\n", sd_bus_message_get_path(m), sd_bus_message_get_member(m));
    return 0;
}

static int append_argument(sd_bus_message *m, char type, const char *text)
{
    switch (type) {
    case 's':
    case 'o':
        return sd_bus_message_append_basic(m, type, text);
    case 'u': {
        uint32_t v = (uint32_t)strtoul(text, NULL, 0);
        return sd_bus_message_append_basic(m, type, &v);
    }
    case 'i': {
        int32_t v = (int32_t)strtol(text, NULL, 0);
        return sd_bus_message_append_basic(m, type, &v);
    }
    case 't': {
        uint64_t v = strtoull(text, NULL, 0);
        return sd_bus_message_append_basic(m, type, &v);
    }
    case 'b': {
        int v = strcmp(text, "true") == 0;
        return sd_bus_message_append_basic(m, type, &v);
    }
    default:
        return -EINVAL;
    }
}

static int send_signal(sd_bus *bus, int argc, char **argv)
{
    if (argc < 7 || (int)strlen(argv[6]) != argc - 7) {
        fprintf(stderr, "usage: raw-client signal DESTINATION PATH INTERFACE MEMBER SIGNATURE [ARG...]\n");
        return 2;
    }
    sd_bus_slot *filter = NULL;
    int r = sd_bus_add_filter(bus, &filter, print_bus_error, NULL);
    sd_bus_message *m = NULL;
    if (r >= 0)
        r = sd_bus_message_new_signal(bus, &m, argv[3], argv[4], argv[5]);
    if (r >= 0 && strcmp(argv[2], "-") != 0)
        r = sd_bus_message_set_destination(m, argv[2]);
    for (int i = 7; r >= 0 && i < argc; ++i)
        r = append_argument(m, argv[6][i - 7], argv[i]);
    if (r >= 0)
        r = sd_bus_send(bus, m, NULL);
    if (r < 0)
        return fail("signal", r, NULL);
    printf("sent\n");
    /* A round trip to the bus: whatever it answers about the signal comes first. */
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId",
        &error, &reply, "");
    if (r < 0)
        return fail("ping", r, &error);
    while (sd_bus_process(bus, NULL) > 0) {
    }
    printf("done\n");
    return 0;
}

static int flood(sd_bus *bus, long count, size_t length)
{
    char *device = malloc(length + 1);
    if (device == NULL)
        return fail("malloc", ENOMEM, NULL);
    memset(device, 'x', length);
    device[length] = '\0';
    long refused = 0;
    for (long i = 0; i < count; ++i) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(bus, BROKER, BROKER_PATH, BROKER, "Acquire", &error, &reply, "suttsa{sv}", device,
            2, (uint64_t)0, (uint64_t)4096, "write-combine", 0);
        if (r < 0)
            ++refused;
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
    }
    free(device);
    printf("refused=%ld\n", refused);
    return 0;
}

static int listen_for(sd_bus *bus, long seconds)
{
    int r = sd_bus_add_match(bus, NULL, "type='signal',interface='org.wcbroker.Lease1'", print_signal, NULL);
    if (r < 0)
        return fail("match", r, NULL);
    printf("listening\n");
    uint64_t now = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        now = (uint64_t)(t.tv_sec - start.tv_sec) * 1000000 + (uint64_t)((t.tv_nsec - start.tv_nsec) / 1000);
        if (now >= (uint64_t)seconds * 1000000)
            break;
        r = sd_bus_process(bus, NULL);
        if (r < 0)
            return fail("process", r, NULL);
        if (r == 0)
            sd_bus_wait(bus, (uint64_t)seconds * 1000000 - now);
    }
    printf("done\n");
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && (strcmp(argv[1], "signal") == 0 || strcmp(argv[1], "flood") == 0 || strcmp(argv[1], "listen") == 0)) {
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0)
            return fail("connect", r, NULL);
        if (strcmp(argv[1], "signal") == 0)
            return send_signal(bus, argc, argv);
        if (strcmp(argv[1], "flood") == 0 && argc == 4)
            return flood(bus, strtol(argv[2], NULL, 0), (size_t)strtoul(argv[3], NULL, 0));
        if (strcmp(argv[1], "listen") == 0 && argc == 3)
            return listen_for(bus, strtol(argv[2], NULL, 0));
        fprintf(stderr, "raw-client: bad arguments for %s\n", argv[1]);
        return 2;
    }
    if (argc != 7) {
        fprintf(stderr, "usage: raw-client abandon|take-fd DEVICE BAR OFFSET LENGTH wc|uc\n");
        return 2;
    }
    const char *device = argv[2];
    const uint32_t bar = (uint32_t)strtoul(argv[3], NULL, 0);
    const uint64_t offset = strtoull(argv[4], NULL, 0);
    const uint64_t length = strtoull(argv[5], NULL, 0);
    const char *access = strcmp(argv[6], "uc") == 0 ? "uncached" : "write-combine";

    sd_bus *bus = NULL;
    int r = sd_bus_open_system(&bus);
    if (r < 0)
        return fail("connect", r, NULL);

    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    if (strcmp(argv[1], "abandon") == 0) {
        r = sd_bus_call_method(bus, BROKER, BROKER_PATH, BROKER, "Explain", &error, &reply, "sutts", device, bar,
            offset, length, access);
        if (r < 0)
            return fail("explain", r, &error);
        sd_bus_message_unref(reply);
        sd_bus_message *call = NULL;
        r = sd_bus_message_new_method_call(bus, &call, BROKER, BROKER_PATH, BROKER, "Acquire");
        if (r >= 0)
            r = sd_bus_message_append(call, "sutts", device, bar, offset, length, access);
        if (r >= 0)
            r = sd_bus_message_append(call, "a{sv}", 0);
        if (r >= 0)
            r = sd_bus_send(bus, call, NULL);
        if (r >= 0)
            r = sd_bus_flush(bus);
        if (r < 0)
            return fail("send", r, NULL);
        printf("sent\n");
        /* Gone before the reply: no close, no wait, the kernel hangs up. */
        _exit(0);
    }
    if (strcmp(argv[1], "take-fd") == 0) {
        r = sd_bus_call_method(bus, BROKER, BROKER_PATH, BROKER, "Acquire", &error, &reply, "suttsa{sv}", device,
            bar, offset, length, access, 0);
        if (r < 0)
            return fail("acquire", r, &error);
        const char *lease = NULL;
        int fd = -1;
        r = sd_bus_message_read(reply, "oh", &lease, &fd);
        if (r < 0)
            return fail("reply", r, NULL);
        printf("lease=%s\n", lease);
        /* The fd is never mapped; the process exits holding it. */
        _exit(0);
    }
    fprintf(stderr, "raw-client: unknown mode %s\n", argv[1]);
    return 2;
}
