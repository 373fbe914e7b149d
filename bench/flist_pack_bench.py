#!/usr/bin/env python3
"""Pack/unpack benchmark: tiffin against mksquashfs (zstd), tar | zstd -T0 and unsquashfs on the
same real root filesystem, in the same run, printing medians and ratios.

  1. pack throughput and output size        tiffin flist pack  vs  mksquashfs -comp zstd, tar | zstd -T0
  2. dedup: a second tree with a few more packages; store growth / bytes that changed (goal ≤ 1.2)
  3. unpack throughput                      tiffin flist unpack  vs  unsquashfs

With --against OTHER_TIFFIN (a build of another commit), only tiffin's pack is timed: both
binaries in turn, interleaved (the order alternating each round), so that load from elsewhere on
the machine falls on both alike; it prints both medians of wall and CPU time.

The trees are a minimal Debian made once with debootstrap (cached in $TIFFIN_BENCH_CACHE,
default /var/tmp/tiffin-bench); tree B adds a few packages' files (dpkg -x). All runs read a
warm page cache: every tool gets the same conditions.
"""
import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))
CACHE = Path(os.environ.get("TIFFIN_BENCH_CACHE", "/var/tmp/tiffin-bench"))
EXTRA_PACKAGES = ["less", "file", "libmagic1", "libmagic-mgc", "jq", "libjq1", "libonig5", "bc"]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def tree_bytes(path):
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                total += os.lstat(p).st_size
    return total


def dir_bytes(path):
    return sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(path) for f in fs)


def make_trees():
    a, b = CACHE / "debian-a", CACHE / "debian-b"
    if not (CACHE / "a.done").exists():
        shutil.rmtree(a, ignore_errors=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        print("bench: debootstrap --variant=minbase bookworm (once; cached in %s)" % CACHE, flush=True)
        try:
            run(["debootstrap", "--variant=minbase", "bookworm", str(a), "http://deb.debian.org/debian"])
            (CACHE / "a.done").touch()
        except (subprocess.CalledProcessError, FileNotFoundError) as e:
            print("bench: debootstrap failed (%s); using a copy of this machine's /usr instead" % e, flush=True)
            shutil.rmtree(a, ignore_errors=True)
            run(["cp", "-a", "/usr", str(a)])
            (CACHE / "a.done").touch()
    if not (CACHE / "b.done").exists():
        shutil.rmtree(b, ignore_errors=True)
        run(["cp", "-a", str(a), str(b)])
        debs = CACHE / "debs"
        debs.mkdir(exist_ok=True)
        run(["apt-get", "download", *EXTRA_PACKAGES], cwd=debs)
        for deb in sorted(debs.glob("*.deb")):
            run(["dpkg", "-x", str(deb), str(b)])
        (CACHE / "b.done").touch()
    return a, b


def changed_bytes(a, b):
    """Bytes of regular files in b that are new or differ from a."""
    total = 0
    for dirpath, _, files in os.walk(b):
        for f in files:
            pb = os.path.join(dirpath, f)
            if os.path.islink(pb) or not os.path.isfile(pb):
                continue
            pa = os.path.join(a, os.path.relpath(pb, b))
            if not os.path.isfile(pa) or os.path.islink(pa) or os.path.getsize(pa) != os.path.getsize(pb) or \
                    hashlib.sha256(open(pa, "rb").read()).digest() != hashlib.sha256(open(pb, "rb").read()).digest():
                total += os.path.getsize(pb)
    return total


def fresh(*paths):
    """Removes earlier output and syncs, outside the timed region, so that no tool pays for
    the deletion of the previous run's files."""
    for p in paths:
        shutil.rmtree(p, ignore_errors=True)
        if os.path.isfile(p):
            os.unlink(p)
    os.sync()


def timed(fn, prepare, runs):
    times = []
    for _ in range(runs):
        prepare()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def snapshot(root):
    """Type, mode, owner, mtime, size, device, link target and content hash of every entry."""
    out = {}
    for dirpath, dirnames, files in os.walk(root):
        for name in dirnames + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            e = (st.st_mode, st.st_uid, st.st_gid, int(st.st_mtime), st.st_rdev,
                 os.readlink(p) if os.path.islink(p) else None,
                 hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.isfile(p) and not os.path.islink(p) else None)
            out[os.path.relpath(p, root)] = e
    return out


def compare_pack(a, work, binaries, runs):
    """Median wall and CPU seconds of `tiffin flist pack` of tree a, per binary, runs interleaved."""
    size = tree_bytes(a)
    times = {name: ([], []) for name in binaries}

    def pack(binary):
        fresh(work / "store", work / "a.fl")
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        run([binary, "flist", "pack", str(a), "-o", str(work / "a.fl"), "-s", f"dir://{work}/store", "--no-progress"])
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)

    names = list(binaries)
    for name in names:
        pack(binaries[name])  # warm the page cache and the binaries
    for i in range(runs):
        for name in (names if i % 2 == 0 else reversed(names)):
            wall, cpu = pack(binaries[name])
            times[name][0].append(wall)
            times[name][1].append(cpu)
    print(f"\nPACK  {a}  ({size / 2**20:.0f} MiB of file content, median of {runs} interleaved runs, {os.cpu_count()} cores)")
    print(f"  {'tiffin':<40}{'wall s':>8}{'MiB/s':>8}{'CPU s':>8}")
    for name in names:
        wall, cpu = statistics.median(times[name][0]), statistics.median(times[name][1])
        print(f"  {name:<40}{wall:>8.2f}{size / 2**20 / wall:>8.0f}{cpu:>8.2f}")
    first, second = (statistics.median(times[n][0]) for n in names)
    print(f"  {names[1]} packs at {first / second:.2f}x the speed of {names[0]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--against", metavar="OTHER_TIFFIN", help="compare pack with another tiffin binary, interleaved")
    args = ap.parse_args()
    a, b = make_trees()
    if args.against:
        work = Path(tempfile.mkdtemp(prefix="tiffin-bench-"))
        try:
            compare_pack(a, work, {args.against: args.against, TIFFIN: TIFFIN}, args.runs)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    size = tree_bytes(a)
    ncpu = os.cpu_count()
    work = Path(tempfile.mkdtemp(prefix="tiffin-bench-"))
    try:
        results = {}

        def tiffin_pack():
            run([TIFFIN, "flist", "pack", str(a), "-o", str(work / "a.fl"), "-s", f"dir://{work}/store", "--no-progress"])

        def squash_pack():
            run(["mksquashfs", str(a), str(work / "a.sqfs"), "-comp", "zstd", "-noappend", "-quiet", "-no-progress",
                 "-processors", str(ncpu)])

        def tar_zstd_pack():
            run(["bash", "-c", f"tar -C {a} -cf - . | zstd -T0 -q -f -o {work}/a.tar.zst"])

        outputs = {"tiffin": [work / "store", work / "a.fl"], "mksquashfs": [work / "a.sqfs"], "tar|zstd": [work / "a.tar.zst"]}
        for name, fn in [("tiffin", tiffin_pack), ("mksquashfs", squash_pack), ("tar|zstd", tar_zstd_pack)]:
            fresh(*outputs[name])
            fn()  # warm the page cache and the binaries
            results[name] = timed(fn, lambda: fresh(*outputs[name]), args.runs)
        out_size = {
            "tiffin": (work / "a.fl").stat().st_size + dir_bytes(work / "store"),
            "mksquashfs": (work / "a.sqfs").stat().st_size,
            "tar|zstd": (work / "a.tar.zst").stat().st_size,
        }
        print(f"\nPACK  {a}  ({size / 2**20:.0f} MiB of file content, median of {args.runs} runs, {ncpu} cores)")
        print(f"  {'tool':<12}{'seconds':>9}{'MiB/s':>9}{'output MiB':>12}")
        for name, (med, _) in results.items():
            print(f"  {name:<12}{med:>9.2f}{size / 2**20 / med:>9.0f}{out_size[name] / 2**20:>12.1f}")
        t = results["tiffin"][0]
        print(f"  ratio: tiffin is {results['mksquashfs'][0] / t:.2f}x the speed of mksquashfs "
              f"(goal >= 1.0), {results['tar|zstd'][0] / t:.2f}x tar|zstd; "
              f"output {out_size['tiffin'] / out_size['mksquashfs']:.2f}x mksquashfs's size")

        # Dedup: pack A then B into one store; the store grows by what B adds.
        shutil.rmtree(work / "store", ignore_errors=True)
        run([TIFFIN, "flist", "pack", str(a), "-o", str(work / "a.fl"), "-s", f"dir://{work}/store", "--no-progress"])
        before = dir_bytes(work / "store")
        run([TIFFIN, "flist", "pack", str(b), "-o", str(work / "b.fl"), "-s", f"dir://{work}/store", "--no-progress"])
        growth = dir_bytes(work / "store") - before
        changed = changed_bytes(a, b)
        print(f"\nDEDUP  tree B = tree A + {len(EXTRA_PACKAGES)} packages ({', '.join(EXTRA_PACKAGES)})")
        print(f"  changed bytes {changed / 2**20:.2f} MiB, store growth {growth / 2**20:.2f} MiB, "
              f"ratio {growth / changed:.2f} (goal <= 1.2)")

        # Unpack.
        def tiffin_unpack():
            run([TIFFIN, "flist", "unpack", str(work / "a.fl"), str(work / "out-t"), "--no-progress"])

        def unsquash():
            run(["unsquashfs", "-q", "-n", "-d", str(work / "out-s"), "-p", str(ncpu), str(work / "a.sqfs")])

        unpack = {}
        for name, fn, out in [("tiffin", tiffin_unpack, work / "out-t"), ("unsquashfs", unsquash, work / "out-s")]:
            fresh(out)
            fn()
            unpack[name] = timed(fn, lambda: fresh(out), args.runs)
        print(f"\nUNPACK  (median of {args.runs} runs)")
        for name, (med, _) in unpack.items():
            print(f"  {name:<12}{med:>9.2f} s{size / 2**20 / med:>9.0f} MiB/s")
        print(f"  ratio: tiffin is {unpack['unsquashfs'][0] / unpack['tiffin'][0]:.2f}x the speed of unsquashfs")
        same = snapshot(a) == snapshot(work / "out-t")
        print(f"  round trip: the unpacked tree {'equals' if same else 'DIFFERS FROM'} the original "
              "(content, modes, owners, mtimes, devices, links)")
        return 0 if same else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
