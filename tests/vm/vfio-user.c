/*
 * A minimal VFIO user, as a DPDK process would be: opens a PCI device
 * through its IOMMU group and maps one BAR through the VFIO device fd, which
 * makes vfio-pci claim that BAR (kernel-facts.md 3). Prints "mapped", then
 * holds everything open until its standard input closes, then "closed".
 *
 * Usage: vfio-user BDF BAR
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int die(const char *what)
{
    printf("vfio-user: %s: %s\n", what, strerror(errno));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: vfio-user BDF BAR\n");
        return 2;
    }
    const char *bdf = argv[1];
    const unsigned bar = (unsigned)strtoul(argv[2], NULL, 0);

    char path[PATH_MAX], link[PATH_MAX];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/iommu_group", bdf);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0)
        return die("iommu_group");
    link[n] = '\0';
    const char *group_number = strrchr(link, '/') + 1;

    int container = open("/dev/vfio/vfio", O_RDWR);
    if (container < 0)
        return die("open /dev/vfio/vfio");
    if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
        return die("VFIO API version");
    snprintf(path, sizeof path, "/dev/vfio/%s", group_number);
    int group = open(path, O_RDWR);
    if (group < 0)
        return die(path);
    struct vfio_group_status status = {.argsz = sizeof status};
    if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0 || !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
        return die("group not viable");
    if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
        return die("VFIO_GROUP_SET_CONTAINER");
    if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 && ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
        return die("VFIO_SET_IOMMU");
    int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
    if (device < 0)
        return die("VFIO_GROUP_GET_DEVICE_FD");

    /* Region offsets are not ABI: ask for this one. */
    struct vfio_region_info region = {.argsz = sizeof region, .index = bar};
    if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &region) < 0)
        return die("VFIO_DEVICE_GET_REGION_INFO");
    if (!(region.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
        /* A small BAR may not be mappable: a read through the device fd
         * uses it the same way (vfio-pci claims it on first use on 6.x). */
        unsigned int word = 0;
        if (pread(device, &word, sizeof word, (off_t)region.offset) != (ssize_t)sizeof word)
            return die("pread");
        printf("mapped BAR %u (%llu bytes): read through VFIO, not mmappable, first word 0x%08x\n", bar,
               (unsigned long long)region.size, word);
        fflush(stdout);
        char c;
        while (read(0, &c, 1) > 0) {
        }
        close(device);
        close(group);
        close(container);
        printf("closed\n");
        return 0;
    }
    volatile unsigned char *bytes =
        mmap(NULL, region.size, PROT_READ | PROT_WRITE, MAP_SHARED, device, (off_t)region.offset);
    if (bytes == MAP_FAILED)
        return die("mmap");
    unsigned char first = bytes[0]; /* touching it is what a driver does next */
    printf("mapped BAR %u (%llu bytes) through VFIO, first byte 0x%02x\n", bar, (unsigned long long)region.size, first);
    fflush(stdout);

    char c;
    while (read(0, &c, 1) > 0) {
    }
    munmap((void *)bytes, region.size);
    close(device);
    close(group);
    close(container);
    printf("closed\n");
    return 0;
}
