/*
 * What the preload shim costs calls that have nothing to do with BARs:
 * anonymous and file mmap+munmap, a MAP_FIXED remap, ioctl, dup+close.
 * The same loop runs in child processes without and with the shim in
 * LD_PRELOAD, alternating, and the medians and minimums are compared (on a
 * shared machine the minimum is the least disturbed; docs/performance.md).
 *
 * usage: bench-preload-mmap [--quick] [SHIM]   (default: the build's shim)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { operations = 7, rounds = 9 };
static const char *const names[operations] = {"mmap+munmap anonymous 4 KiB", "mmap+munmap memfd 4 KiB shared",
    "mmap MAP_FIXED anonymous over a page", "ioctl FIONREAD", "dup+close",
    /* The kernel's cheapest answers: what the shim adds shows most here. */
    "mmap memfd, length 0 (EINVAL)", "munmap of an unmapped page"};

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void fail(const char *what)
{
    perror(what);
    exit(1);
}

/* One pass of every operation; prints ns per call, one per line. */
static int measure(long iterations)
{
    int memfd = memfd_create("bench", 0);
    int pipes[2];
    if (memfd < 0 || ftruncate(memfd, 4096) != 0 || pipe(pipes) != 0)
        fail("setup");
    char *area = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED)
        fail("mmap");
    for (int op = 0; op < operations; op++) {
        const double start = now_ns();
        for (long i = 0; i < iterations; i++) {
            switch (op) {
            case 0: {
                void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED || munmap(p, 4096) != 0)
                    fail("anonymous");
                break;
            }
            case 1: {
                void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
                if (p == MAP_FAILED || munmap(p, 4096) != 0)
                    fail("memfd");
                break;
            }
            case 2:
                if (mmap(area + 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
                    == MAP_FAILED)
                    fail("fixed");
                break;
            case 3: {
                int n = 0;
                if (ioctl(pipes[0], FIONREAD, &n) != 0)
                    fail("ioctl");
                break;
            }
            case 4:
                if (close(dup(memfd)) != 0)
                    fail("dup+close");
                break;
            case 5:
                if (mmap(NULL, 0, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0) != MAP_FAILED)
                    fail("length 0");
                break;
            default:
                if (munmap(area + 4096, 4096) != 0)
                    fail("munmap");
                break;
            }
        }
        printf("%.1f\n", (now_ns() - start) / (double)iterations);
    }
    return 0;
}

/* Runs a measuring child, with the shim when `shim` is not NULL. */
static void run_child(const char *self, const char *shim, long iterations, double out[operations])
{
    int channel[2];
    if (pipe(channel) != 0)
        fail("pipe");
    pid_t child = fork();
    if (child == 0) {
        dup2(channel[1], 1);
        if (shim != NULL)
            setenv("LD_PRELOAD", shim, 1);
        else
            unsetenv("LD_PRELOAD");
        char count[32];
        snprintf(count, sizeof(count), "%ld", iterations);
        execl(self, self, "--measure", count, (char *)NULL);
        _exit(127);
    }
    close(channel[1]);
    FILE *in = fdopen(channel[0], "r");
    for (int op = 0; op < operations; op++) {
        if (fscanf(in, "%lf", &out[op]) != 1)
            fail("reading a child's figures");
    }
    fclose(in);
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("a measuring child failed");
}

static int by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--measure") == 0)
        return measure(atol(argv[2]));
    long iterations = 200000;
    const char *shim = PRELOAD_PATH;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            iterations = 20000;
        else
            shim = argv[i];
    }
    if (access(shim, R_OK) != 0)
        fail(shim);
    double plain[operations][rounds], shimmed[operations][rounds];
    for (int round = 0; round < rounds; round++) {
        double a[operations], b[operations];
        run_child("/proc/self/exe", NULL, iterations, a);
        run_child("/proc/self/exe", shim, iterations, b);
        for (int op = 0; op < operations; op++) {
            plain[op][round] = a[op];
            shimmed[op][round] = b[op];
        }
    }
    printf("%d rounds of %ld calls each, alternating; ns per call\n\n", rounds, iterations);
    printf("| call | median without | median with | ratio | min without | min with | ratio |\n"
           "|---|---:|---:|---:|---:|---:|---:|\n");
    for (int op = 0; op < operations; op++) {
        qsort(plain[op], rounds, sizeof(double), by_value);
        qsort(shimmed[op], rounds, sizeof(double), by_value);
        const double p = plain[op][rounds / 2], s = shimmed[op][rounds / 2];
        const double pm = plain[op][0], sm = shimmed[op][0];
        printf("| %s | %.0f | %.0f | %.3f | %.0f | %.0f | %.3f |\n", names[op], p, s, s / p, pm, sm, sm / pm);
    }
    return 0;
}
