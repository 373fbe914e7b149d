#!/usr/bin/env python3
"""Read throughput through tiffin's lazy mount, against the same file on ext4 and through
squashfuse on a squashfs of the same tree, in one run (medians of --runs, ratios printed).

  warm:  the file was read once already (its content local: with kernel FUSE passthrough tiffin's
         reads then bypass the mount process)                     goal >= 0.95x ext4
  cold:  page cache dropped, tiffin's block cache empty, blocks from `tiffin hub serve` on
         loopback, against squashfuse reading its image from local disk; with the CPU seconds
         the mount process spent per GiB               goal >= 1 GiB/s
  start: a container's start on a ~260 MB image whose blocks are all in the node cache:
         `chroot MNT python3 -c pass` (what the lazy mount adds to `run --rm`), with passthrough
         and with --no-passthrough (opens then never reach the mount), medians of --start-runs;
         needs the Debian tree bench/cold_start_bench.py caches in $TIFFIN_BENCH_CACHE

Needs root (mounts, drop_caches).
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw)


def drop_caches():
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3")


def settle():
    """Lets the writeback of a cold run (tiffin's block cache files) finish before a warm read,
    so that every warm read meets a quiet machine."""
    os.sync()
    time.sleep(1)


def warm_read(path):
    """Steady state: the best of three reads of a file that is in the page cache (the first
    reads after a cold one still move pages between LRU lists), the same for every reader."""
    return min(read_all(path) for _ in range(3))


def read_all(path):
    t = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while f.read(1 << 20):
            pass
    return time.perf_counter() - t


def wait_mounted(path, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(l.split()[1] == str(path) for l in open("/proc/mounts")):
            return
        time.sleep(0.05)
    raise TimeoutError(path)


def wait_materialised(cache, size, timeout=30):
    """Waits until the mount has materialised the whole file in its cache (it does so once all
    blocks are local, after the file is closed): from then on opens are passthrough opens."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(p.is_file() and len(p.name) == 64 and p.stat().st_size == size for p in Path(cache).rglob("*")):
            return
        time.sleep(0.1)
    print(f"bench: the file was not materialised within {timeout}s (no passthrough?)")


def cpu_seconds(pid):
    """User + system CPU seconds of a process (and its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_bench(work, runs):
    tree = Path(os.environ.get("TIFFIN_BENCH_CACHE", "/var/tmp/tiffin-bench")) / "debian-python"
    if not tree.exists():
        print(f"start: skipped ({tree} missing: run bench/cold_start_bench.py once)")
        return
    fl = work / "debian.fl"
    run([TIFFIN, "flist", "pack", str(tree), "-o", str(fl), "-s", f"dir://{work}/debian-store", "--no-progress"])
    cache = work / "debian-cache"
    times = {}
    for name, extra in (("passthrough", []), ("no passthrough", ["--no-passthrough"])):
        mnt = work / "mnt-start"
        mnt.mkdir(exist_ok=True)
        samples = []
        for i in range(runs + 2):
            p = subprocess.Popen([TIFFIN, "flist", "mount", str(fl), str(mnt), "--cache", str(cache), *extra])
            wait_mounted(mnt)
            t = time.perf_counter()
            run(["chroot", str(mnt), "/usr/bin/python3", "-c", "pass"])
            if i >= 2:  # the first runs fill the block cache and materialise files
                samples.append(time.perf_counter() - t)
            subprocess.run(["umount", str(mnt)], capture_output=True)
            p.wait(10)
        times[name] = statistics.median(samples)
    print(f"\nSTART python3 -c pass on a {tree_size(tree) / 2**20:.0f} MiB image, blocks cached (median of {runs}; page cache warm)")
    for name, t in times.items():
        print(f"  {name:<16}{t * 1000:>8.1f} ms")
    print(f"  ratio passthrough / no passthrough {times['passthrough'] / times['no passthrough']:.2f} (goal <= 1)")


def tree_size(path):
    return sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(path) for f in fs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--start-runs", type=int, default=15)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tiffin-mount-bench-"))
    procs, mounts = [], []
    try:
        src = work / "tree"
        src.mkdir()
        big = src / "big.bin"
        with open(big, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        size = big.stat().st_size
        # Packed straight into the hub's block directory; the hub serves it over http.
        run([TIFFIN, "flist", "pack", str(src), "-o", str(work / "t.fl"), "-s", f"dir://{work}/hub/blocks", "--no-progress"])
        run(["mksquashfs", str(src), str(work / "t.sqfs"), "-comp", "zstd", "-noappend", "-quiet", "-no-progress"])
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        procs.append(subprocess.Popen([TIFFIN, "hub", "serve", "--root", str(work / "hub"), "-l", f"127.0.0.1:{port}"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)
        run([TIFFIN, "flist", "route", "add", "--replace", str(work / "t.fl"), f"http://127.0.0.1:{port}"])

        def tiffin_mount(cache):
            mnt = work / "mnt-t"
            mnt.mkdir(exist_ok=True)
            shutil.rmtree(cache, ignore_errors=True)
            p = subprocess.Popen([TIFFIN, "flist", "mount", str(work / "t.fl"), str(mnt), "--cache", str(cache)])
            procs.append(p)
            mounts.append(mnt)
            wait_mounted(mnt)
            return mnt, p

        def squash_mount():
            mnt = work / "mnt-s"
            mnt.mkdir(exist_ok=True)
            run(["squashfuse", str(work / "t.sqfs"), str(mnt)])
            mounts.append(mnt)
            wait_mounted(mnt)
            return mnt

        def unmount(mnt, p=None):
            subprocess.run(["umount", str(mnt)], capture_output=True)
            if p:
                p.wait(10)
            mounts.remove(mnt)

        cold = {"tiffin (hub, loopback)": [], "squashfuse (local disk)": []}
        warm = {"ext4": [], "tiffin": [], "squashfuse": []}
        cpu_per_gib = []
        for _ in range(args.runs):
            mnt, p = tiffin_mount(work / "cache")
            drop_caches()
            cpu = cpu_seconds(p.pid)
            cold["tiffin (hub, loopback)"].append(read_all(mnt / "big.bin"))
            cpu_per_gib.append((cpu_seconds(p.pid) - cpu) / (size / 2**30))
            wait_materialised(work / "cache", size)
            settle()
            warm["tiffin"].append(warm_read(mnt / "big.bin"))
            unmount(mnt, p)
            mnt = squash_mount()
            drop_caches()
            cold["squashfuse (local disk)"].append(read_all(mnt / "big.bin"))
            settle()
            warm["squashfuse"].append(warm_read(mnt / "big.bin"))
            unmount(mnt)
            read_all(big)
            settle()
            warm["ext4"].append(warm_read(big))

        mib = size / 2**20
        print(f"\nREAD {mib:.0f} MiB file (median of {args.runs} runs)")
        for title, table in (("warm", warm), ("cold", cold)):
            for name, times in table.items():
                print(f"  {title:<5} {name:<26}{mib / statistics.median(times):>8.0f} MiB/s")
        w = {k: mib / statistics.median(v) for k, v in warm.items()}
        c = {k: mib / statistics.median(v) for k, v in cold.items()}
        print(f"  ratio warm: tiffin/ext4 {w['tiffin'] / w['ext4']:.2f} (goal >= 0.95), tiffin/squashfuse {w['tiffin'] / w['squashfuse']:.2f}")
        print(f"  ratio cold: tiffin from a hub on loopback / squashfuse from local disk "
              f"{c['tiffin (hub, loopback)'] / c['squashfuse (local disk)']:.2f}; the mount process's CPU "
              f"{statistics.median(cpu_per_gib):.2f} s per GiB decoded (the hub's not counted)")
        if args.start_runs:
            start_bench(work, args.start_runs)
    finally:
        for m in list(mounts):
            subprocess.run(["umount", "-l", str(m)], capture_output=True)
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
