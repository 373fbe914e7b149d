#!/usr/bin/env python3
"""Read throughput through tiffin's lazy mount, against the same file on ext4 and through
squashfuse on a squashfs of the same tree, in one run (medians of --runs, ratios printed).

  warm: the file was read once already (page cache kept across opens)   goal >= 0.9x native
  cold: page cache dropped, tiffin's block cache empty, blocks from `tiffin hub serve` on
        loopback, against squashfuse reading its image from local disk

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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size-mib", type=int, default=256)
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
        for _ in range(args.runs):
            mnt, p = tiffin_mount(work / "cache")
            drop_caches()
            cold["tiffin (hub, loopback)"].append(read_all(mnt / "big.bin"))
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
        print(f"  ratio warm: tiffin/ext4 {w['tiffin'] / w['ext4']:.2f} (goal >= 0.9), tiffin/squashfuse {w['tiffin'] / w['squashfuse']:.2f}")
        print(f"  ratio cold: tiffin from a hub on loopback / squashfuse from local disk "
              f"{c['tiffin (hub, loopback)'] / c['squashfuse (local disk)']:.2f}")
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
