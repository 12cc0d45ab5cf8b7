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
#include <dlfcn.h>
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

/*
 * In one process with the shim: its entry points against the C library's
 * own (dlsym on libc.so.6), on the kernel's cheapest answers, alternating
 * in blocks (and which goes first) so that both see the same machine. Prints ns per call, shim
 * then libc, for each of the four calls.
 */
static int compare_in_process(long iterations)
{
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    if (libc == NULL)
        fail("dlopen libc.so.6");
    void *(*libc_mmap)(void *, size_t, int, int, int, off_t);
    int (*libc_munmap)(void *, size_t);
    int (*libc_ioctl)(int, unsigned long, ...);
    int (*libc_close)(int);
    *(void **)&libc_mmap = dlsym(libc, "mmap");
    *(void **)&libc_munmap = dlsym(libc, "munmap");
    *(void **)&libc_ioctl = dlsym(libc, "ioctl");
    *(void **)&libc_close = dlsym(libc, "close");
    if (libc_mmap == NULL || libc_munmap == NULL || libc_ioctl == NULL || libc_close == NULL || libc_mmap == mmap)
        fail("the C library's own functions (is the shim preloaded?)");
    int memfd = memfd_create("bench", 0);
    int pipes[2];
    char *area = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memfd < 0 || pipe(pipes) != 0 || area == MAP_FAILED || munmap(area + 4096, 4096) != 0)
        fail("setup");
    enum { block = 10000 };
    double total[4][2] = {{0}};
    for (long done = 0; done < iterations; done += block) {
        for (int turn = 0; turn < 2; turn++) {
            const int which = (int)((done / block + turn) % 2); /* who goes first changes every block */
            double start = now_ns();
            for (int i = 0; i < block; i++)
                (void)(which ? libc_mmap : mmap)(NULL, 0, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
            total[0][which] += now_ns() - start;
            start = now_ns();
            for (int i = 0; i < block; i++)
                (void)(which ? libc_munmap : munmap)(area + 4096, 4096);
            total[1][which] += now_ns() - start;
            start = now_ns();
            for (int i = 0; i < block; i++) {
                int n = 0;
                (void)(which ? libc_ioctl : ioctl)(pipes[0], FIONREAD, &n);
            }
            total[2][which] += now_ns() - start;
            start = now_ns();
            for (int i = 0; i < block; i++)
                (void)(which ? libc_close : close)(-1);
            total[3][which] += now_ns() - start;
        }
    }
    const long calls = (iterations + block - 1) / block * block;
    for (int op = 0; op < 4; op++)
        printf("%.1f %.1f\n", total[op][0] / (double)calls, total[op][1] / (double)calls);
    return 0;
}

/* Runs a measuring child, with the shim when `shim` is not NULL. */
static void run_child(const char *self, const char *mode, const char *shim, long iterations, double *out, int count)
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
        char number[32];
        snprintf(number, sizeof(number), "%ld", iterations);
        execl(self, self, mode, number, (char *)NULL);
        _exit(127);
    }
    close(channel[1]);
    FILE *in = fdopen(channel[0], "r");
    for (int i = 0; i < count; i++) {
        if (fscanf(in, "%lf", &out[i]) != 1)
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
    if (argc == 3 && strcmp(argv[1], "--in-process") == 0)
        return compare_in_process(atol(argv[2]));
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
        run_child("/proc/self/exe", "--measure", NULL, iterations, a, operations);
        run_child("/proc/self/exe", "--measure", shim, iterations, b, operations);
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

    static const char *const direct_names[4] = {"mmap memfd, length 0 (EINVAL)", "munmap of an unmapped page",
        "ioctl FIONREAD", "close(-1) (EBADF)"};
    double pairs[rounds][8];
    for (int round = 0; round < rounds; round++)
        run_child("/proc/self/exe", "--in-process", shim, iterations, pairs[round], 8);
    printf("\nIn one process with the shim, its entry points against the C library's own, alternating in\n"
           "blocks of 10,000 calls; medians of %d runs, ns per call\n\n", rounds);
    printf("| call | through the shim | libc directly | shim's cost |\n|---|---:|---:|---:|\n");
    for (int op = 0; op < 4; op++) {
        double through[rounds], direct[rounds], cost[rounds];
        for (int round = 0; round < rounds; round++) {
            through[round] = pairs[round][2 * op];
            direct[round] = pairs[round][2 * op + 1];
            cost[round] = through[round] - direct[round];
        }
        qsort(through, rounds, sizeof(double), by_value);
        qsort(direct, rounds, sizeof(double), by_value);
        qsort(cost, rounds, sizeof(double), by_value);
        printf("| %s | %.1f | %.1f | %+.1f |\n", direct_names[op], through[rounds / 2], direct[rounds / 2],
            cost[rounds / 2]);
    }
    return 0;
}
