"""pack → check → unpack gives back exactly what was packed: content, owners, modes, xattrs,
times, symlinks, hard links, devices and fifos."""
import json
import os
import subprocess

from conftest import SANITIZED, TIFFIN, needs_root, snapshot, tiffin
from rootfs import build_rootfs, make_tar


@needs_root
def test_rootfs_round_trip_is_exact(tmp_path):
    src = build_rootfs(tmp_path / "rootfs")
    p = tiffin("flist", "pack", src, "-o", tmp_path / "r.fl", "-s", f"dir://{tmp_path}/store")
    assert b"skipped socket" in p.stderr
    assert b"packed" in p.stderr and b"\r" not in p.stderr, "no progress bar when stderr is not a terminal"
    tiffin("flist", "check", tmp_path / "r.fl")
    tiffin("flist", "unpack", tmp_path / "r.fl", tmp_path / "out")
    before, before_links = snapshot(src)
    after, after_links = snapshot(tmp_path / "out")
    assert "/var/log/sock" not in before and "/var/log/sock" not in after
    assert after == before
    assert after_links == before_links
    assert len(after_links) == 1 and len(after_links[0]) == 3


@needs_root
def test_real_host_tree_round_trip(tmp_path):
    """A real tree of this machine: /etc and (the volume, in the release build) /usr/bin
    (setuid binaries, many symlinks)."""
    for tree in ["/etc"] if SANITIZED else ["/etc", "/usr/bin"]:
        name = tree.strip("/").replace("/", "-")
        tiffin("flist", "pack", tree, "-o", tmp_path / f"{name}.fl", "-s", f"dir://{tmp_path}/store")
        tiffin("flist", "check", tmp_path / f"{name}.fl", "--format", "json")
        tiffin("flist", "unpack", tmp_path / f"{name}.fl", tmp_path / name)
        assert snapshot(tmp_path / name) == snapshot(tree)


@needs_root
def test_tar_variants_pack_to_the_same_tree(tmp_path):
    src = build_rootfs(tmp_path / "rootfs")
    store = f"dir://{tmp_path}/store"
    tiffin("flist", "pack", src, "-o", tmp_path / "dir.fl", "-s", store)
    for comp in ["", "gz", "zst", "xz"]:
        tar = make_tar(src, tmp_path / f"r.tar.{comp}", comp)
        tiffin("flist", "pack", tar, "-o", tmp_path / f"{comp}.fl", "-s", store)
        p = tiffin("flist", "diff", tmp_path / "dir.fl", tmp_path / f"{comp}.fl", rc=None)
        assert p.returncode == 0, f"tar.{comp} differs from the directory: {p.stdout.decode()}"
    # A tar on stdin.
    with open(tmp_path / "r.tar.gz", "rb") as f:
        p = subprocess.run([TIFFIN, "flist", "pack", "-", "-o", tmp_path / "stdin.fl", "-s", store],
                           stdin=f, capture_output=True)
    assert p.returncode == 0, p.stderr
    tiffin("flist", "diff", tmp_path / "dir.fl", tmp_path / "stdin.fl")
    tiffin("flist", "unpack", tmp_path / "stdin.fl", tmp_path / "out")
    assert snapshot(tmp_path / "out")[0]["/bin/busybox"] == snapshot(src)[0]["/bin/busybox"]


def test_repacking_sends_no_blocks(tmp_path):
    src = build_rootfs(tmp_path / "rootfs", with_privileged=os.geteuid() == 0)
    store = f"dir://{tmp_path}/store"
    tiffin("flist", "pack", src, "-o", tmp_path / "a.fl", "-s", store)
    p = tiffin("flist", "pack", src, "-o", tmp_path / "b.fl", "-s", store)
    assert b"(0 new, 0 B sent)" in p.stderr, p.stderr


def test_sharded_and_replicated_stores(tmp_path):
    src = build_rootfs(tmp_path / "rootfs", with_privileged=os.geteuid() == 0)
    specs = [f"00-7f=dir://{tmp_path}/low", f"80-ff=dir://{tmp_path}/high", f"dir://{tmp_path}/replica"]
    tiffin("flist", "pack", src, "-o", tmp_path / "a.fl", *sum([["-s", s] for s in specs], []))
    routes = json.loads(tiffin("flist", "route", "list", tmp_path / "a.fl", "--format", "json").stdout)
    assert [(r["start"], r["end"]) for r in routes] == [(0, 127), (128, 255), (0, 255)]
    low = {f for _, _, fs in os.walk(tmp_path / "low") for f in fs}
    high = {f for _, _, fs in os.walk(tmp_path / "high") for f in fs}
    replica = {f for _, _, fs in os.walk(tmp_path / "replica") for f in fs}
    assert low and high and not (low & high)
    assert all(int(f[:2], 16) < 0x80 for f in low)
    assert replica == low | high
    # Losing a shard's replica still reads: the full replica covers it.
    subprocess.run(["rm", "-rf", str(tmp_path / "low")], check=True)
    tiffin("flist", "check", tmp_path / "a.fl")
