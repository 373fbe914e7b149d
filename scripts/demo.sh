#!/usr/bin/env bash
# tiffin's main job at this stage: install, build, then pack a real root filesystem into an
# flist with a content-addressed block store, check every block, list it, unpack it again
# and compare the result with the original — content, owners, modes, xattrs and links.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build tiffin >/dev/null
tiffin=build/apps/tiffin

work="$(mktemp -d /tmp/tiffin-demo.XXXXXX)"
trap 'rm -rf "$work"' EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "a root filesystem: busybox-static with its applets, plus this machine's /etc"
mkdir -p "$work/rootfs/bin" "$work/rootfs/dev" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/"
for applet in $("$work/rootfs/bin/busybox" --list); do ln -sf busybox "$work/rootfs/bin/$applet"; done
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

say "unpack it and compare with the original"
$tiffin flist unpack "$work/rootfs.fl" "$work/out"
diff -r --no-dereference "$work/rootfs" "$work/out" && echo "   content: identical"
# Times are compared in whole seconds: the flist format (rfs's schema) stores seconds.
meta() { (cd "$1" && find . -exec stat -c '%n %A %u:%g %Y %s %N' {} + | sort); }
if diff <(meta "$work/rootfs") <(meta "$work/out") >/dev/null; then echo "   metadata: identical (modes, owners, times, links)"; else
  echo "   metadata differs:"; diff <(meta "$work/rootfs") <(meta "$work/out") | head; exit 1; fi
