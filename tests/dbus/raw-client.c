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
 * The bus is $DBUS_SYSTEM_BUS_ADDRESS. Exit status 0, or 1 after an
 * "error=..." line.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#define BROKER "org.wcbroker.Broker1"
#define BROKER_PATH "/org/wcbroker/Broker1"

static int fail(const char *what, int r, const sd_bus_error *error)
{
    printf("error=%s code=%d message=%s\n", what, -r, error != NULL && error->message != NULL ? error->message : "");
    return 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
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
