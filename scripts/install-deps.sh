#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of tiffin from Debian.
# Idempotent: when everything is already present it prints nothing and exits 0.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang clang-format libclang-rt-14-dev
  # libraries (docs/DESIGN.md §4)
  libsqlite3-dev libsodium-dev libssl-dev libsnappy-dev libzstd-dev zlib1g-dev libfuse3-dev fuse3
  libcurl4-openssl-dev libboost-dev nlohmann-json3-dev libcli11-dev libyaml-cpp-dev
  libspdlog-dev libfmt-dev libseccomp-dev libcap-dev libnftables-dev libmnl-dev libarchive-dev
  libhiredis-dev libtomlplusplus-dev libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing: libFuzzer comes with clang 16 (see fuzz/CMakeLists.txt)
  clang-16 libclang-rt-16-dev llvm-16
  # test peers and tools
  redis-server python3 python3-pytest attr squashfs-tools squashfuse zstd busybox-static tini
  debootstrap time tar xz-utils e2fsprogs util-linux openssl curl procps iproute2 bc
  # registry tests (tests/e2e/test_registry_client.py): Distribution's registry, images made
  # offline by umoci and pushed by skopeo
  docker-registry skopeo umoci
  # DNS queries in the resolver's tests (dig)
  bind9-dnsutils
  # OCI runtime peers and clients (issue 4): runc and crun to compare with, podman (with conmon)
  # and containerd (ctr) to drive tiffin-oci
  runc crun podman conmon containerd
  # the network benchmark (issue 14): iperf3 for throughput, wrk for connections/s; nginx as the
  # hub benchmark's peer serving the same block files (issue 23)
  iperf3 wrk nginx-light
  # the Prometheus client's own text parser, to read the hub's /metrics as a scraper does
  python3-prometheus-client
  # nft, to look at tiffin's table in tests (tiffin itself goes through libnftables)
  nftables
  # a Zero-OS node in a local VM (tiffin node vm): qemu, the kernel it boots, modprobe for its
  # modules' dependencies; dropbear for the zos CLI's sshenable test
  qemu-system-x86 linux-image-amd64 kmod dropbear-bin openssh-client
  # Zero-OS private networks (issue 18): WireGuard in userspace where the kernel has no module,
  # wg for the benchmark's bare-WireGuard baseline, radvd as the tests' IPv6 router
  wireguard-go wireguard-tools radvd
  # the engine's benchmark peer (issue 5): dockerd, started by bench/engine_bench.py itself
  docker.io
  # the build benchmark's second peer (bench/build_bench.py): buildah bud --layers
  buildah
  # OCI images (issue 15): a real registry (Distribution), skopeo to push and convert archives,
  # umoci to unpack layouts as the reference for conversion
  docker-registry skopeo umoci
  # the Engine API (issue 16): the Docker SDK for Python and docker-compose 1.29 as clients of
  # tiffin serve, systemd-socket-activate for its socket activation (the docker CLI comes with
  # docker.io)
  python3-docker docker-compose systemd
  # coreX (issue 19): its page is tested in a real browser (Chromium, driven by puppeteer-core
  # from npm); the screenshots are checked with PIL; shellinabox is the benchmark's peer
  chromium python3-pil shellinabox
  # containerd's CRI (issue 24): tiffin-snapshotter serves containerd's snapshots gRPC API
  # (libgrpc++, protobuf and its compilers); the tests drive the CRI API as kubelet does from
  # Python stubs generated at test time, and give pods networks with the CNI plugins
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc python3-grpcio
  python3-grpc-tools containernetworking-plugins
  # the snapshot filter's ~= is Go's regexp syntax, matched in linear time by RE2
  libre2-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

# coreX's page (web/: xterm.js and its fit addon, embedded into tiffin-corex at build time;
# puppeteer-core for the browser tests), from npm with the machine's Node.js, at the versions
# package-lock.json pins. Quiet when up to date. (bench/corex_bench.py installs its peer wetty.)
npm_ci() {
  local dir="$1" stamp="$1/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    echo "install-deps: npm ci in $dir" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
npm_ci "$ROOT/web"

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# redis-server's package starts a system instance; tests start their own on loopback ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q redis-server 2>/dev/null; then
  $SUDO systemctl stop redis-server || true
fi
# nginx's package may start a system instance on port 80; the hub benchmark starts its own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q nginx 2>/dev/null; then
  $SUDO systemctl stop nginx || true
fi
# shellinabox's package may start a system instance on port 4200; the benchmark starts its own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q shellinabox 2>/dev/null; then
  $SUDO systemctl stop shellinabox || true
fi
