#!/bin/bash
# A tour of the policy engine, offline: builds wcbroker, checks the
# example policies, and asks the policy engine what it would decide for
# the example devices, and why. No daemon, no devices needed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh build
if [ ! -f build/build.ninja ]; then
    meson setup build --prefix=/usr >/dev/null
fi
ninja -C build >/dev/null

ctl=build/cli/wcbrokerctl
examples=docs/examples

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {
    printf '$ %s\n' "$*"
    "$@" || printf '(exit status %d)\n' "$?"
}

say "1. Validate the example policies (ENA LLQ, mlx5 BlueFlame, NVMe CMB)"
for policy in "$examples"/*.toml; do
    run "$ctl" check-policy "$policy"
done

say "2. A broken policy is refused with file:line:col and what would be valid"
broken=$(mktemp -d)
trap 'rm -rf "$broken"' EXIT
cat >"$broken/policy.toml" <<'TOML'
version = 1
[[rule]]
name = "oops"
device = { vendor = "0x1d0f" }
bar = 7
ranges = [ { offset = 0x1001, length = "2MB" } ]
access = "wc"
users = [1000]
TOML
run "$ctl" check-policy --policy-dir "$broken"

say "3. ENA: uid 1000 may map BAR 2 write-combining; uid 1001 may not"
ena=$examples/ena-llq.toml
run "$ctl" explain --policy "$ena" --device-facts "$examples/devices/ena.toml" --uid 1000 --gid 1000 --bar 2 --access wc
run "$ctl" explain --policy "$ena" --device-facts "$examples/devices/ena.toml" --uid 1001 --gid 1001 --bar 2 --access wc

say "4. mlx5: one BAR, write-combining BlueFlame pages and uncached control pages"
mlx5=$examples/mlx5-blueflame.toml
facts="$examples/devices/connectx.toml"
run "$ctl" explain --policy "$mlx5" --device-facts "$facts" --uid 1000 --gid 2000 --unit dpdk-fwd.service \
    --bar 0 --offset 1MiB --length 64KiB --access wc
run "$ctl" explain --policy "$mlx5" --device-facts "$facts" --uid 1000 --gid 2000 --unit dpdk-fwd.service \
    --bar 0 --offset 0 --length 4KiB --access wc
run "$ctl" explain --policy "$mlx5" --device-facts "$facts" --uid 1000 --gid 2000 --bar 0 --offset 0 --length 4KiB --access uc

say "5. NVMe CMB: only the SPDK target's cgroup, and only verified write-combining"
nvme=$examples/nvme-cmb.toml
run "$ctl" explain --policy "$nvme" --device-facts "$examples/devices/nvme.toml" --uid 1001 --gid 1001 \
    --cgroup /system.slice/spdk-tgt.service --bar 2 --length 2MiB --access wc --json

say "Done: the policy engine above is what wcbrokerd consults for every request."
