#!/bin/bash
# wcbroker's main job, narrated, on a real Linux kernel: builds wcbroker on
# a fresh Debian 12 machine, boots Debian's kernel under QEMU with two PCI
# devices (an ivshmem whose BAR2 is backed by a file on this host, and one
# without prefetchable BARs), and walks through what wcbroker is for: a
# daemon started with a policy, a device hotplugged to vfio-pci, an
# unprivileged client mapping BAR2 write-combining over D-Bus and writing
# through it (checked against the kernel's own memory-type list, and byte
# for byte in the backing file on this host), denials, a VFIO user claiming
# the BAR, revocation, a broken policy refused, a client killed.
#
# Usage: scripts/demo.sh [KERNEL]     (default 6.1-cloud; or 6.12)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh demo
if [ ! -f build/build.ninja ]; then
    meson setup build --prefix=/usr >/dev/null
fi
ninja -C build >/dev/null

echo "wcbroker demo: booting Debian's ${1:-6.1-cloud} kernel under QEMU (first run downloads it, about 30 MB)."
tests/vm/run-e2e.sh --narrate build "${1:-6.1-cloud}" | sed 's/^[0-9]* passed, [0-9]* failed on .*/\n== Summary: &/'
