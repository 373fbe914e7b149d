#!/usr/bin/env python3
"""Push benchmark: `tiffin push` of two versions of a root filesystem to `tiffin hub serve` on
loopback. Version B is version A plus a few packages (the trees of flist_pack_bench.py).

  bytes sent for B / bytes of files that changed between A and B   goal <= 1.2
  against the peer without dedup: uploading B whole as a tar.zst (what a tarball upload sends)

Times are medians of --runs pushes of B to a hub that holds A (a fresh hub each run).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flist_pack_bench import TIFFIN, changed_bytes, make_trees, run  # noqa: E402


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    a, b = make_trees()
    work = Path(tempfile.mkdtemp(prefix="tiffin-push-bench-"))
    hub = None
    try:
        for name, tree in (("a", a), ("b", b)):
            run([TIFFIN, "flist", "pack", str(tree), "-o", str(work / f"{name}.fl"), "-s", f"dir://{work}/local", "--no-progress"])
        changed = changed_bytes(a, b)
        run(["bash", "-c", f"tar -C {b} -cf - . | zstd -19 -T0 -q -o {work}/b.tar.zst"])
        tarball = (work / "b.tar.zst").stat().st_size

        sent_b, times_b, times_a, sent_a = [], [], [], []
        for _ in range(args.runs):
            shutil.rmtree(work / "hub", ignore_errors=True)
            port = free_port()
            hub = subprocess.Popen([TIFFIN, "hub", "serve", "--root", str(work / "hub"), "-l", f"127.0.0.1:{port}"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            token = run([TIFFIN, "hub", "token", "--root", str(work / "hub"), "-u", "bench"]).stdout.decode().strip()
            for name, sent, times in (("a", sent_a, times_a), ("b", sent_b, times_b)):
                t = time.perf_counter()
                out = run([TIFFIN, "push", str(work / f"{name}.fl"), f"http://127.0.0.1:{port}/bench/debian:{name}",
                           "--token", token, "--format", "json", "--no-progress"]).stdout
                times.append(time.perf_counter() - t)
                sent.append(json.loads(out)["bytes_sent"])
            hub.kill()
            hub.wait()
            hub = None

        mib = 2**20
        sb = statistics.median(sent_b)
        print(f"\nPUSH to a hub on loopback (median of {args.runs} runs)")
        print(f"  version A (empty hub)  {statistics.median(sent_a) / mib:8.1f} MiB sent in {statistics.median(times_a):.2f}s")
        print(f"  version B (hub has A)  {sb / mib:8.1f} MiB sent in {statistics.median(times_b):.2f}s")
        print(f"  files changed A→B      {changed / mib:8.1f} MiB")
        print(f"  peer: B as tar.zst     {tarball / mib:8.1f} MiB")
        print(f"  ratio: bytes sent / bytes changed {sb / changed:.2f} (goal <= 1.2); "
              f"tar.zst upload / tiffin push {tarball / max(sb, 1):.1f}x more bytes")
    finally:
        if hub:
            hub.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
