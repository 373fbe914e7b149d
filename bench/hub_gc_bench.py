#!/usr/bin/env python3
"""`tiffin hub gc` on a hub of --blocks blocks (default 100,000), half of them named by real
flists (packed from trees of small unique files, over --flists users), the other half garbage
(small stand-in files under their ids: the collector never reads a block's content, only its
name and mtime).

Times, median of --runs, warm page cache:
  dry run   `tiffin hub gc --dry-run --grace 0` (mark + the walk of every block, deletes nothing)
  real      `tiffin hub gc --grace 0`, the garbage re-made before each run

The real run's time is mostly the filesystem's unlinks: "floor" times a plain os.unlink loop
over as many synced files, and the dry run shows what the collector itself costs. Setup takes under a minute. No root, no network.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))


def run(*args):
    return subprocess.run([TIFFIN, *map(str, args)], check=True, capture_output=True)


def make_garbage(root, n, seed):
    """`n` stand-in blocks under random ids, an hour and a half old."""
    blocks = root / "blocks"
    past = time.time() - 5400
    rnd = os.urandom(32 * n)
    paths = []
    for i in range(n):
        hexid = rnd[32 * i:32 * i + 32].hex()
        d = blocks / hexid[:2]
        d.mkdir(exist_ok=True)
        p = d / hexid
        p.write_bytes(b"garbage %d %d" % (seed, i))
        os.utime(p, (past, past))
        paths.append(p)
    # On disk before the collection is timed, as a hub's old blocks are: unlinking a file whose
    # data is still dirty in the page cache is cheaper, and a writeback running meanwhile would
    # be timed with it.
    os.sync()
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blocks", type=int, default=100_000)
    ap.add_argument("--flists", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    live = args.blocks // 2
    with tempfile.TemporaryDirectory(prefix="tiffin-gc-bench-") as tmp:
        tmp = Path(tmp)
        root = tmp / "hub"
        (root / "blocks").mkdir(parents=True)
        t0 = time.monotonic()
        per = live // args.flists
        for f in range(args.flists):
            src = tmp / f"src{f}"
            src.mkdir()
            for i in range(per if f < args.flists - 1 else live - per * (args.flists - 1)):
                sub = src / f"d{i // 1000}"
                sub.mkdir(exist_ok=True)
                (sub / f"f{i}").write_bytes(b"flist %d file %d\n" % (f, i))
            user = root / "flists" / f"user{f}"
            user.mkdir(parents=True)
            run("flist", "pack", src, "-o", user / "tree:1.fl", "-s", f"dir://{root}/blocks", "--no-progress")
        marked_blocks = sum(1 for _ in (root / "blocks").glob("*/*"))
        make_garbage(root, args.blocks - marked_blocks, 0)
        total = sum(1 for _ in (root / "blocks").glob("*/*"))
        print(f"setup: {total} blocks ({marked_blocks} named by {args.flists} flists) in {time.monotonic() - t0:.1f}s")

        def gc(*extra):
            t = time.monotonic()
            out = run("hub", "gc", "--root", root, "--grace", "0", "--json", *extra)
            return time.monotonic() - t, json.loads(out.stdout)

        dry = []
        for _ in range(args.runs):
            secs, report = gc("--dry-run")
            dry.append(secs)
        print(f"dry run:  median {statistics.median(dry):.2f}s of {args.runs} "
              f"(marked {report['blocks_marked']}, scanned {report['blocks_scanned']}, would free {report['blocks_freed']})")
        real = []
        for r in range(args.runs):
            if r:
                make_garbage(root, args.blocks - marked_blocks, r)
            secs, report = gc()
            real.append(secs)
            assert report["blocks_freed"] == args.blocks - marked_blocks, report
            left = sum(1 for _ in (root / "blocks").glob("*/*"))
            assert left == marked_blocks, (left, marked_blocks)
        print(f"real gc:  median {statistics.median(real):.2f}s of {args.runs} "
              f"(freed {report['blocks_freed']} blocks, {report['bytes_freed']} bytes each run)")
        # The filesystem's floor: the same number of synced files unlinked by a plain loop.
        paths = make_garbage(root, args.blocks - marked_blocks, 99)
        t = time.monotonic()
        for p in paths:
            os.unlink(p)
        floor = time.monotonic() - t
        print(f"floor:    {floor:.2f}s to unlink {len(paths)} synced files in a plain loop")
        print(json.dumps({"blocks": total, "marked": marked_blocks, "dry_run_s": statistics.median(dry),
                          "real_s": statistics.median(real), "unlink_floor_s": floor}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
