#!/usr/bin/env bash
# tiffin's main job: install, build, pack a real root filesystem into an flist, serve it from a
# hub, and run containers from the hub URL on a "node" (only the blocks they read are fetched);
# then the same by hand: a lazy mount, a writable root; then unpack it and compare with the
# original — content, owners, modes, xattrs and links.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG" >/dev/null
ninja -C build tiffin tiffin-full tiffin-shim tiffin-oci tiffin-dns >/dev/null
tiffin=build/apps/tiffin

work="$(mktemp -d /tmp/tiffin-demo.XXXXXX)"
hub_pid=""
cleanup() {
  if [ -d "$work/engine" ]; then
    for c in $(node ps -a -q 2>/dev/null); do node rm -f "$c" >/dev/null 2>&1 || true; done
    node system prune -a >/dev/null 2>&1 || true
    node network rm tiffin >/dev/null 2>&1 || true  # the default network: its bridge and rules
  fi
  # The node's resolver lives until its directory has been empty for a while; not that long here.
  [ -f "$work/run/dns/resolver.pid" ] && kill "$(head -n1 "$work/run/dns/resolver.pid")" 2>/dev/null || true
  for m in "$work/node/app" "$work/node/lazy"; do mountpoint -q "$m" 2>/dev/null && $tiffin flist umount "$m"; done
  [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

node() { $tiffin --root "$work/engine" --run-root "$work/run" "$@"; }

say "a root filesystem: busybox-static with its applets, plus this machine's /etc"
mkdir -p "$work/rootfs/bin" "$work/rootfs/dev" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/"
for applet in $("$work/rootfs/bin/busybox" --list); do [ "$applet" = busybox ] || ln -sf busybox "$work/rootfs/bin/$applet"; done
cp -a /etc "$work/rootfs/etc"
chmod 1777 "$work/rootfs/tmp"
if [ "$(id -u)" = 0 ]; then mknod -m 666 "$work/rootfs/dev/null" c 1 3; fi
du -sh --apparent-size "$work/rootfs" | sed 's/^/   size: /'

say "pack it into an flist (blocks go to a dir:// store)"
$tiffin flist pack "$work/rootfs" -o "$work/rootfs.fl" -s "dir://$work/store" --tag version=1 --entrypoint /bin/sh
ls -l "$work/rootfs.fl" | awk '{print "   flist: " $5 " bytes"}'
du -sh "$work/store" | sed 's/^/   store: /'

say "check: fetch and verify every block"
$tiffin flist check "$work/rootfs.fl"

say "list it"
$tiffin flist ls -l "$work/rootfs.fl" / | head -n 8
echo "   /etc/debian_version read through the store: $($tiffin flist cat "$work/rootfs.fl" /etc/debian_version)"

say "pack it again: every block is already in the store"
$tiffin flist pack "$work/rootfs" -o "$work/again.fl" -s "dir://$work/store"

say "serve it: tiffin hub serve on loopback, push (blocks the hub lacks, then the flist)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$tiffin hub serve --root "$work/hub" -l "127.0.0.1:$port" 2>/dev/null &
hub_pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api/flist" >/dev/null && break; sleep 0.1; done
token=$($tiffin hub token --root "$work/hub" -u demo)
$tiffin push "$work/rootfs.fl" "http://127.0.0.1:$port/demo/rootfs:1" --token "$token"
$tiffin hub ls "http://127.0.0.1:$port/demo"

if [ "$(id -u)" = 0 ]; then
  say "on a node: pull the flist alone, mount it lazily, run a program in it"
  mkdir -p "$work/node/lazy"
  $tiffin pull "http://127.0.0.1:$port/demo/rootfs:1" -o "$work/node/rootfs.fl"
  $tiffin flist mount "$work/node/rootfs.fl" "$work/node/lazy" --cache "$work/node/cache" --daemon
  chroot "$work/node/lazy" /bin/sh -c 'echo "   hello from $(uname -s) in a lazy mount; /etc/hostname: $(cat /etc/hostname)"'
  fetched=$(find "$work/node/cache" -type f -name '????????????????????????????????????????????????????????????????' | wc -l)
  total=$(find "$work/hub/blocks" -type f | wc -l)
  echo "   blocks fetched from the hub: $fetched of $total"
  $tiffin flist umount "$work/node/lazy"

  say "containers, lazily from the hub URL: tiffin run pulls the flist (not the blocks), mounts it"
  url="http://127.0.0.1:$port/demo/rootfs:1"
  before=$(find "$work/hub/blocks" -type f | wc -l)
  node run --rm --hostname demo "$url" -c 'echo "   hello from container $(hostname), pid $$, as $(id -un); network: $(ls /sys/class/net)"'
  fetched=$(find "$work/engine/cache" -type f -name '????????????????????????????????????????????????????????????????' | wc -l)
  echo "   blocks the node fetched from the hub: $fetched of $before"
  node images
  node run -d --name web --memory 64m "$url" -c 'while true; do echo "tick $(date +%T)"; sleep 1; done' >/dev/null
  node exec web sh -c 'echo "   exec in web: $(cat /etc/hostname) sees $(ps | wc -l) lines of ps"'
  sleep 1.5
  node ps
  node logs --tail 2 web | sed 's/^/   logs: /'
  node stats --no-stream web
  node stop -t 1 web >/dev/null && node rm web >/dev/null && echo "   web stopped and removed"

  say "a writable root: overlayfs over the lazy mount, writes limited to 16 MiB"
  mkdir -p "$work/node/app"
  $tiffin flist mount "$work/node/rootfs.fl" "$work/node/app" --cache "$work/node/cache" --daemon \
    --rw "$work/node/layer" --size 16 --pools "$work/node/pools"
  chroot "$work/node/app" /bin/sh -c 'echo written > /tmp/note; cat /tmp/note | sed "s/^/   \/tmp\/note: /"
    yes 0123456789 | head -c 67108864 > /tmp/fill || echo "   writing 64 MiB stopped at $(du -m /tmp/fill | cut -f1) MiB: no space left in the 16 MiB layer"' 2>/dev/null || true
  $tiffin flist umount "$work/node/app"
fi

say "unpack it and compare with the original"
$tiffin flist unpack "$work/rootfs.fl" "$work/out"
diff -r --no-dereference "$work/rootfs" "$work/out" && echo "   content: identical"
# Times are compared in whole seconds: the flist format (rfs's schema) stores seconds.
meta() { (cd "$1" && find . -exec stat -c '%n %A %u:%g %Y %s %N' {} + | sort); }
if diff <(meta "$work/rootfs") <(meta "$work/out") >/dev/null; then echo "   metadata: identical (modes, owners, times, links)"; else
  echo "   metadata differs:"; diff <(meta "$work/rootfs") <(meta "$work/out") | head; exit 1; fi
