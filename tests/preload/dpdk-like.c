/*
 * Maps BARs as DPDK's pci_vfio_mmap_bar() does, for the preload tests:
 * VFIO_GROUP_GET_DEVICE_FD (with a VF token after the name, as DPDK may
 * pass), VFIO_DEVICE_GET_REGION_INFO per BAR, a PROT_NONE reservation,
 * then mmap(reservation, size, RW, MAP_SHARED|MAP_FIXED, device fd,
 * region offset). Then it follows commands on stdin:
 *
 *   peek          one line per BAR: "BARn first=C middle=C last=C"
 *   unmap         munmap every BAR: "unmapped"
 *   reuse PATH    dup2 PATH over the device fd (a close the shim cannot
 *                 see), then map the last BAR's offset of it as before:
 *                 "reused first=C"
 *   fork          a child maps nothing and exits (running destructors):
 *                 "forked STATUS"
 *   quit          exit(0)
 *
 * With DPDK_LIKE_NOREPLACE=1 it maps with MAP_FIXED_NOREPLACE over its
 * own reservation instead, which the kernel refuses (EEXIST), and says so
 * if it got a mapping anywhere else.
 *
 * usage: dpdk-like GROUP DEVICE-NAME BAR...
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

struct bar {
    unsigned index;
    unsigned char *address;
    size_t size;
    off_t offset;
};

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: dpdk-like GROUP DEVICE-NAME BAR...\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int group = open(argv[1], O_RDWR | O_CLOEXEC);
    if (group < 0) {
        perror(argv[1]);
        return 1;
    }
    char name[128];
    snprintf(name, sizeof(name), "%s vf_token=2ab74924-c335-45f4-9b16-8569e5b08258", argv[2]);
    int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, name);
    if (device < 0) {
        perror("VFIO_GROUP_GET_DEVICE_FD");
        return 1;
    }
    const char *noreplace = getenv("DPDK_LIKE_NOREPLACE");
    const int fixed = noreplace != NULL && strcmp(noreplace, "1") == 0 ? MAP_FIXED_NOREPLACE : MAP_FIXED;
    struct bar bars[6];
    int count = 0;
    for (int i = 3; i < argc && count < 6; i++) {
        struct vfio_region_info info = {.argsz = sizeof(info), .index = (unsigned)atoi(argv[i])};
        if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &info) != 0 || info.size == 0) {
            printf("BAR%u: no region info\n", info.index);
            return 1;
        }
        void *reservation = mmap(NULL, info.size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        void *mapped = mmap(reservation, info.size, PROT_READ | PROT_WRITE, MAP_SHARED | fixed, device,
            (off_t)info.offset);
        if (mapped == MAP_FAILED) {
            printf("BAR%u: mmap failed: %s\n", info.index, strerror(errno));
            munmap(reservation, info.size);
            continue;
        }
        if (mapped != reservation) {
            printf("BAR%u: mapped at %p, not at %p as asked\n", info.index, mapped, reservation);
            munmap(mapped, info.size);
            munmap(reservation, info.size);
            continue;
        }
        bars[count].index = info.index;
        bars[count].address = mapped;
        bars[count].size = info.size;
        bars[count].offset = (off_t)info.offset;
        count++;
    }
    printf("mapped %d\n", count);

    char line[64];
    while (fgets(line, sizeof(line), stdin) != NULL) {
        if (strncmp(line, "peek", 4) == 0) {
            for (int i = 0; i < count; i++) {
                const struct bar *b = &bars[i];
                printf("BAR%u first=%c middle=%c last=%c\n", b->index, b->address[0], b->address[b->size / 2],
                    b->address[b->size - 1]);
            }
            printf("peeked\n");
        } else if (strncmp(line, "unmap", 5) == 0) {
            for (int i = 0; i < count; i++)
                munmap(bars[i].address, bars[i].size);
            count = 0;
            printf("unmapped\n");
        } else if (strncmp(line, "reuse ", 6) == 0 && count > 0) {
            line[strcspn(line, "\n")] = '\0';
            int other = open(line + 6, O_RDWR | O_CLOEXEC);
            if (other < 0 || dup2(other, device) < 0) {
                printf("reuse: %s\n", strerror(errno));
                continue;
            }
            close(other);
            const struct bar *b = &bars[count - 1];
            unsigned char *mapped = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, device, b->offset);
            if (mapped == MAP_FAILED) {
                printf("reuse: mmap failed: %s\n", strerror(errno));
                continue;
            }
            printf("reused first=%c\n", mapped[0]);
            munmap(mapped, b->size);
        } else if (strncmp(line, "fork", 4) == 0) {
            pid_t child = fork();
            if (child == 0)
                exit(0);
            int status = 0;
            waitpid(child, &status, 0);
            printf("forked %d\n", status);
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        }
    }
    return 0;
}
