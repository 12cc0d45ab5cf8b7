/* sd-fixture: libsystemd test double for the systemd-mode self-test (systemd-smoke.sh).
 * Nothing of wcbroker's; it only does what the harness must prove works in the guest.
 *
 *   sd-fixture bus NAME
 *       Connect to the system bus, serve org.wcvm.Fixture1.Ping() -> s on /org/wcvm/Fixture1,
 *       then request NAME, and serve until killed.  Run by a Type=dbus unit that D-Bus
 *       activation starts through SystemdService=.
 *   sd-fixture journal MESSAGE [FIELD=VALUE]...
 *       Log one journal entry with sd_journal_sendv(): MESSAGE plus the given fields, the way
 *       a daemon writes structured log records.
 *
 * Built dynamically against libsystemd (Debian ships no libsystemd.a):
 * wcvm_helper_dyn scenarios/sd-fixture -lsystemd, then build-initramfs.sh --bin.
 * Exit: 0 ok, 1 failure, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

#define FIXTURE_PATH "/org/wcvm/Fixture1"
#define FIXTURE_IFACE "org.wcvm.Fixture1"

static int on_ping(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
    char text[160];
    uid_t caller = (uid_t)-1;
    sd_bus_creds *creds = NULL;

    (void)userdata;
    (void)error;
    if (sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID, &creds) >= 0) {
        (void)sd_bus_creds_get_euid(creds, &caller);
        sd_bus_creds_unref(creds);
    }
    snprintf(text, sizeof text, "pong from pid %ld uid %ld to uid %ld", (long)getpid(),
             (long)getuid(), (long)caller);
    return sd_bus_reply_method_return(msg, "s", text);
}

static const sd_bus_vtable fixture_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Ping", "", "s", on_ping, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

static int serve(const char *name)
{
    sd_bus *bus = NULL;
    int r;

    r = sd_bus_open_system(&bus);
    if (r < 0) {
        fprintf(stderr, "sd-fixture: cannot connect to the system bus: %s\n", strerror(-r));
        return 1;
    }
    /* The object first, the name last: a caller queued by activation must find the method. */
    r = sd_bus_add_object_vtable(bus, NULL, FIXTURE_PATH, FIXTURE_IFACE, fixture_vtable, NULL);
    if (r < 0) {
        fprintf(stderr, "sd-fixture: cannot export %s: %s\n", FIXTURE_PATH, strerror(-r));
        return 1;
    }
    r = sd_bus_request_name(bus, name, 0);
    if (r < 0) {
        fprintf(stderr, "sd-fixture: cannot own %s: %s\n", name, strerror(-r));
        return 1;
    }
    printf("sd-fixture: owns %s as pid %ld\n", name, (long)getpid());
    fflush(stdout);
    for (;;) {
        r = sd_bus_process(bus, NULL);
        if (r < 0) {
            fprintf(stderr, "sd-fixture: bus processing failed: %s\n", strerror(-r));
            return 1;
        }
        if (r > 0)
            continue;
        r = sd_bus_wait(bus, UINT64_MAX);
        if (r < 0 && r != -EINTR) {
            fprintf(stderr, "sd-fixture: waiting on the bus failed: %s\n", strerror(-r));
            return 1;
        }
    }
}

static int journal(int argc, char **argv)
{
    /* MESSAGE=, SYSLOG_IDENTIFIER= and one entry per FIELD=VALUE argument. */
    struct iovec *iov = calloc((size_t)argc + 2, sizeof *iov);
    char *message = NULL;
    int n = 0, r;

    if (!iov || asprintf(&message, "MESSAGE=%s", argv[0]) < 0) {
        fprintf(stderr, "sd-fixture: out of memory\n");
        return 1;
    }
    iov[n].iov_base = message;
    iov[n++].iov_len = strlen(message);
    iov[n].iov_base = (char *)"SYSLOG_IDENTIFIER=sd-fixture";
    iov[n++].iov_len = strlen("SYSLOG_IDENTIFIER=sd-fixture");
    for (int i = 1; i < argc; i++) {
        if (!strchr(argv[i], '=')) {
            fprintf(stderr, "sd-fixture: journal fields are FIELD=VALUE, got '%s'\n", argv[i]);
            return 2;
        }
        iov[n].iov_base = argv[i];
        iov[n++].iov_len = strlen(argv[i]);
    }
    r = sd_journal_sendv(iov, n);
    if (r < 0) {
        fprintf(stderr, "sd-fixture: sd_journal_sendv: %s\n", strerror(-r));
        return 1;
    }
    free(message);
    free(iov);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "bus") == 0)
        return serve(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "journal") == 0)
        return journal(argc - 2, argv + 2);
    fprintf(stderr, "usage: sd-fixture bus NAME | sd-fixture journal MESSAGE [FIELD=VALUE]...\n");
    return 2;
}
