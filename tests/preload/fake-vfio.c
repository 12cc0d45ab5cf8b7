/*
 * A stand-in for the kernel's VFIO ioctls, preloaded *after* the shim
 * (LD_PRELOAD=libwcbroker-preload.so:libfake-vfio.so), so the shim's
 * dlsym(RTLD_NEXT, "ioctl") reaches it as it would reach the C library:
 * the shim itself has no test hook. No VFIO device exists on a build host.
 *
 *   FAKE_VFIO_GROUP   a file the program opens as its "group"
 *   FAKE_VFIO_DEVICE  a file returned as the "device fd" by
 *                     VFIO_GROUP_GET_DEVICE_FD on that group
 *   FAKE_VFIO_BARS    "INDEX:OFFSET:SIZE,..." region info, hex offsets
 *                     chosen unlike vfio-pci's (index << 40) on purpose
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int device_fds[64];
static int device_fd_count;

static int same_file(int fd, const char *path)
{
    struct stat a, b;
    return path != NULL && fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int is_device_fd(int fd)
{
    for (int i = 0; i < device_fd_count; i++) {
        if (device_fds[i] == fd)
            return same_file(fd, getenv("FAKE_VFIO_DEVICE"));
    }
    return 0;
}

static int region_info(struct vfio_region_info *info)
{
    const char *bars = getenv("FAKE_VFIO_BARS");
    if (bars == NULL || info->argsz < sizeof(*info)) {
        errno = EINVAL;
        return -1;
    }
    info->flags = 0;
    info->offset = 0;
    info->size = 0;
    info->cap_offset = 0;
    for (const char *at = bars; at != NULL && *at != '\0';) {
        char *end = NULL;
        unsigned long index = strtoul(at, &end, 10);
        unsigned long long offset = strtoull(end + 1, &end, 16);
        unsigned long long size = strtoull(end + 1, &end, 16);
        if (index == info->index) {
            info->offset = offset;
            info->size = size;
            info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP;
        }
        at = *end == ',' ? end + 1 : NULL;
    }
    if (info->index > VFIO_PCI_CONFIG_REGION_INDEX) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int ioctl(int fd, unsigned long request, ...)
{
    va_list arguments;
    va_start(arguments, request);
    void *argument = va_arg(arguments, void *);
    va_end(arguments);

    if (request == VFIO_GROUP_GET_DEVICE_FD && same_file(fd, getenv("FAKE_VFIO_GROUP"))) {
        int device = open(getenv("FAKE_VFIO_DEVICE"), O_RDWR | O_CLOEXEC);
        if (device >= 0 && device_fd_count < 64)
            device_fds[device_fd_count++] = device;
        return device;
    }
    if (request == VFIO_DEVICE_GET_REGION_INFO && is_device_fd(fd))
        return region_info(argument);
    int (*next)(int, unsigned long, ...);
    *(void **)&next = dlsym(RTLD_NEXT, "ioctl"); /* POSIX's way round ISO C's object/function pointer split */
    return next(fd, request, argument);
}
