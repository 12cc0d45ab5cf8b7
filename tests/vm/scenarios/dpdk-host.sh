#!/usr/bin/env bash
# Host side of the testpmd proof (run-vm.sh --host-check, issue 14): the
# frames testpmd sent reached QEMU. QEMU's filter-dump wrote every frame
# the NIC sent to $WCVM_PCAP (run-vm.sh --virtio-net); the guest
# printed "WCVM-DPDK-TX run=NAME packets=N" for each testpmd run, and the
# dump must hold exactly their sum (nothing else sends on that NIC).
set -euo pipefail
: "${WCVM_PCAP:?run me from run-vm.sh --virtio-net PCAP --host-check}" "${WCVM_CONSOLE_LOG:?}"

sent=$(sed -n 's/^WCVM-DPDK-TX run=[^ ]* packets=\([0-9]*\).*/\1/p' "$WCVM_CONSOLE_LOG" | awk '{ n += $1 } END { print n + 0 }')
runs=$(grep -c '^WCVM-DPDK-TX ' "$WCVM_CONSOLE_LOG" || true)
if [[ ! -s $WCVM_PCAP ]]; then
    echo "FAIL: host: QEMU wrote the NIC's frames to $(basename "$WCVM_PCAP") (missing or empty)"
    exit 0
fi
# Classic pcap: a 24-byte file header, then per frame a 16-byte header
# whose third word is the captured length. Both byte orders.
frames=$(python3 - "$WCVM_PCAP" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
magic = data[:4]
order = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
offset, frames = 24, 0
while offset + 16 <= len(data):
    captured = struct.unpack(order + "I", data[offset + 8:offset + 12])[0]
    offset += 16 + captured
    frames += 1
print(frames)
PY
)
echo "host: $frames frames in the dump, $sent packets reported sent by $runs testpmd runs"
if [[ $frames -gt 0 ]]; then
    echo "PASS: host: QEMU saw the NIC send frames ($frames in the dump)"
else
    echo "FAIL: host: QEMU saw the NIC send frames (the dump is empty)"
fi
if [[ $frames == "$sent" ]]; then
    echo "PASS: host: the dump holds exactly the $sent frames testpmd's TX-packets counted ($runs runs)"
else
    echo "FAIL: host: the dump holds exactly the frames testpmd's TX-packets counted ($frames dumped, $sent counted)"
fi
