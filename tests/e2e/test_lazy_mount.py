"""The lazy mount: content is fetched only when read, through the verified cache, from an
http store (Python's http.server on loopback stands in for a hub until tiffin has its own)."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import TIFFIN, Server, cache_blocks, free_port, mounted, needs_root, serving, snapshot, tiffin
from rootfs import build_rootfs

pytestmark = needs_root


@pytest.fixture
def served_rootfs(tmp_path, http_server):
    src = build_rootfs(tmp_path / "rootfs")
    tiffin("flist", "pack", src, "-o", tmp_path / "r.fl", "-s", f"dir://{tmp_path}/store")
    server = http_server(tmp_path / "store")
    tiffin("flist", "route", "add", "--replace", tmp_path / "r.fl", f"http://127.0.0.1:{server.port}")
    return src, tmp_path / "r.fl", server


def test_reads_lazily_and_runs_a_program(tmp_path, served_rootfs, mounts):
    src, fl, _ = served_rootfs
    mnt, cache = tmp_path / "mnt", tmp_path / "cache"
    mounts(fl, mnt, "--cache", cache)
    assert sorted(os.listdir(mnt)) == sorted(os.listdir(src))
    assert cache_blocks(cache) == [], "listing and stat fetch no content"
    r = subprocess.run(["chroot", str(mnt), "/bin/sh", "-c", "cat /etc/hostname"], capture_output=True)
    assert r.returncode == 0 and r.stdout == b"tiffin\n", r.stderr
    fetched = len(cache_blocks(cache))
    busybox_blocks = -(-os.path.getsize(src / "bin/busybox") // (512 * 1024))
    assert 1 < fetched <= busybox_blocks + 1, "only busybox and /etc/hostname were read"
    # Everything reads back exactly, hard links included (one inode, all its names).
    assert snapshot(mnt) == snapshot(src)
    with pytest.raises(OSError):
        open(mnt / "etc/new", "w")
    # statfs: one inode per flist entry, read-only.
    entries = json.loads(tiffin("flist", "ls", "-R", "--format", "json", fl).stdout)
    st = os.statvfs(mnt)
    assert st.f_files == len(entries) + 1 and st.f_flag & os.ST_RDONLY
    # readdir and stat agree on inode numbers, also for hard links.
    for entry in os.scandir(mnt / "etc"):
        assert entry.inode() == os.lstat(entry.path).st_ino, entry.path


def test_dead_store_fails_fast_and_recovers(tmp_path, served_rootfs, mounts):
    src, fl, server = served_rootfs
    mnt = tmp_path / "mnt"
    mounts(fl, mnt, "--cache", tmp_path / "cache", "--timeout", 1000)
    assert (mnt / "etc/hostname").read_bytes() == b"tiffin\n"  # now cached
    server.stop()
    start = time.time()
    with pytest.raises(OSError) as e:
        (mnt / "usr/share/doc/big").read_bytes()
    assert e.value.errno == 5  # EIO
    assert time.time() - start < 4, "an unreachable store fails the read within the timeout"
    assert (mnt / "etc/hostname").read_bytes() == b"tiffin\n", "cached data still reads"
    server.start()
    assert (mnt / "usr/share/doc/big").read_bytes() == (src / "usr/share/doc/big").read_bytes()


def test_corrupt_block_is_refused_and_not_cached(tmp_path, served_rootfs, mounts):
    src, fl, _ = served_rootfs
    # Corrupt every block on the server: whatever is read, the mount must refuse it.
    for b in (p for p in (tmp_path / "store").rglob("*") if p.is_file()):
        data = bytearray(b.read_bytes())
        data[len(data) // 2] ^= 0x55
        b.write_bytes(bytes(data))
    mnt, cache = tmp_path / "mnt", tmp_path / "cache"
    mounts(fl, mnt, "--cache", cache)
    with pytest.raises(OSError) as e:
        (mnt / "etc/passwd").read_bytes()
    assert e.value.errno == 5
    assert cache_blocks(cache) == []


def test_sigterm_unmounts_and_umount_cleans_after_kill9(tmp_path, served_rootfs, mounts):
    _, fl, _ = served_rootfs
    mnt = tmp_path / "mnt"
    p = mounts(fl, mnt, "--cache", tmp_path / "cache")
    p.send_signal(signal.SIGTERM)
    p.wait(5)
    assert not mounted(mnt)
    p = mounts(fl, mnt, "--cache", tmp_path / "cache")
    p.kill()
    p.wait()
    assert mounted(mnt)
    with pytest.raises(OSError):
        os.listdir(mnt)  # ENOTCONN: the dead mount
    tiffin("flist", "umount", mnt)
    assert not mounted(mnt)
    # A new mount over a dead one cleans it up by itself.
    p = mounts(fl, mnt, "--cache", tmp_path / "cache")
    p.kill()
    p.wait()
    mounts(fl, mnt, "--cache", tmp_path / "cache")
    assert (mnt / "etc/hostname").read_bytes() == b"tiffin\n"


def test_cache_respects_its_bound(tmp_path, served_rootfs, mounts):
    src, fl, _ = served_rootfs
    mnt, cache = tmp_path / "mnt", tmp_path / "cache"
    mounts(fl, mnt, "--cache", cache, "--cache-size", 1)
    assert (mnt / "usr/share/doc/big").read_bytes() == (src / "usr/share/doc/big").read_bytes()  # ~1.5 MiB
    assert sum(p.stat().st_size for p in cache_blocks(cache)) <= 1 << 20


def test_daemon_mode_returns_once_mounted(tmp_path, served_rootfs):
    _, fl, _ = served_rootfs
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        tiffin("flist", "mount", fl, mnt, "--cache", tmp_path / "cache", "--daemon")
        assert mounted(mnt)
        assert (mnt / "etc/hostname").read_bytes() == b"tiffin\n"
    finally:
        tiffin("flist", "umount", mnt, rc=None)
    assert not mounted(mnt)
