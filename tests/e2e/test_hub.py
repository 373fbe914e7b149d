"""The hub end to end: `tiffin hub serve` as a real server, `tiffin push`/`pull`, and a container-
like program chrooted into a lazy mount of an flist served by the hub, while the hub dies, comes
back, and serves a corrupted block."""
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import TIFFIN, Server, cache_blocks, free_port, mounted, needs_root, tiffin
from rootfs import build_rootfs

pytestmark = needs_root


class Hub(Server):
    """A `tiffin hub serve` on a fixed loopback port, so it can be killed and started again."""

    def __init__(self, root):
        port = free_port()
        super().__init__([TIFFIN, "hub", "serve", "--root", root, "-l", f"127.0.0.1:{port}"], port)
        self.root, self.url = root, f"http://127.0.0.1:{port}"

    def token(self, user):
        return tiffin("hub", "token", "--root", self.root, "-u", user).stdout.decode().strip()

    def block_file(self, block_id):
        return Path(self.root) / "blocks" / block_id[:2] / block_id


@pytest.fixture
def hub(tmp_path):
    h = Hub(tmp_path / "hub").start()
    yield h
    h.stop()


def http(method, url, body=None, token=None):
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.fixture
def pushed(tmp_path, hub):
    """A busybox rootfs packed locally, pushed to the hub and pulled back as a node would."""
    src = build_rootfs(tmp_path / "rootfs")
    (src / "usr/share/doc/later").write_bytes(os.urandom(700 * 1024))
    (src / "usr/share/doc/corrupt-me").write_bytes(os.urandom(600 * 1024))
    tiffin("flist", "pack", src, "-o", tmp_path / "local.fl", "-s", f"dir://{tmp_path}/local-store")
    out = tiffin("push", tmp_path / "local.fl", f"{hub.url}/alice/busybox:1.0", "--token", hub.token("alice"),
                 "--format", "json")
    stats = json.loads(out.stdout)
    assert stats["blocks_sent"] == stats["blocks"] > 0
    tiffin("pull", f"{hub.url}/alice/busybox:1.0", "-o", tmp_path / "node.fl")
    return src, tmp_path / "node.fl"


def block_ids(fl, path):
    st = json.loads(tiffin("flist", "stat", fl, path, "--format", "json").stdout)
    return [b["id"] for b in st["blocks"]]


def timed_read(path):
    start = time.monotonic()
    try:
        data = Path(path).read_bytes()
        return data, None, time.monotonic() - start
    except OSError as e:
        return None, e, time.monotonic() - start


def test_push_pull_and_the_hub_cli(tmp_path, pushed, hub):
    src, node_fl = pushed
    routes = tiffin("flist", "route", "list", node_fl).stdout.decode()
    assert hub.url in routes and "local-store" not in routes
    # A second push of the same content sends nothing.
    again = json.loads(tiffin("push", tmp_path / "local.fl", f"{hub.url}/alice/busybox", "--token", hub.token("alice"),
                              "--format", "json").stdout)
    assert again["blocks_sent"] == 0 and again["bytes_sent"] == 0
    listing = tiffin("hub", "ls", f"{hub.url}/alice").stdout.decode()
    assert "alice/busybox:1.0" in listing and "alice/busybox:latest" in listing
    assert tiffin("hub", "ls", hub.url).stdout.decode().split() == ["alice"]

    # Links and deletes need the owner's token; a link is followed on download.
    bob = hub.token("bob")
    tiffin("hub", "link", f"{hub.url}/bob/bb", "alice/busybox:1.0", "--token", bob)
    assert http("GET", f"{hub.url}/bob/bb.fl")[1] == node_fl.read_bytes()
    status, body = http("GET", f"{hub.url}/alice/busybox:1.0.fl.md5")
    assert status == 200 and len(body.strip()) == 32
    r = tiffin("hub", "rm", f"{hub.url}/alice/busybox", "--token", bob, rc=2)
    assert b"cannot write to alice" in r.stderr
    tiffin("hub", "rm", f"{hub.url}/alice/busybox", "--token", hub.token("alice"))
    assert http("GET", f"{hub.url}/alice/busybox.fl")[0] == 404
    # Errors are clear and leave nothing behind.
    r = tiffin("push", tmp_path / "local.fl", f"{hub.url}/alice/x", "--token", "alice.1.00", rc=2)
    assert b"invalid token" in r.stderr
    r = tiffin("pull", f"{hub.url}/alice/nothing", "-o", tmp_path / "nothing.fl", rc=2)
    assert not (tmp_path / "nothing.fl").exists()
    tiffin("push", tmp_path / "local.fl", "http://127.0.0.1:1/alice/x", "--token", bob, rc=1)

    # A tarball uploaded to the hub comes back as an flist whose blocks the hub serves.
    tar = tmp_path / "rootfs.tar.gz"
    subprocess.run(["tar", "-C", src, "-czf", tar, "etc"], check=True)
    status, body = http("PUT", f"{hub.url}/api/flist/bob/etc", tar.read_bytes(), bob)
    assert status == 201, body
    tiffin("pull", f"{hub.url}/bob/etc", "-o", tmp_path / "etc.fl")
    assert tiffin("flist", "cat", tmp_path / "etc.fl", "/etc/hostname").stdout == b"tiffin\n"


def test_program_in_a_lazy_mount_survives_hub_restart_and_refuses_corruption(tmp_path, pushed, hub, mounts):
    src, node_fl = pushed
    mnt, cache = tmp_path / "mnt", tmp_path / "cache"
    mounts(node_fl, mnt, "--cache", cache, "--cache-size", 1, "--timeout", 1500)

    # A program runs chrooted into the mount; only what it reads is fetched.
    r = subprocess.run(["chroot", mnt, "/bin/sh", "-c", "cat /etc/hostname; /bin/busybox ls /usr/share/doc | /bin/busybox wc -l"],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [b"tiffin", b"5"]
    later = block_ids(node_fl, "/usr/share/doc/later")
    assert not any((cache / b[:2] / b).exists() for b in later), "unread blocks were fetched"

    # The hub dies: an uncached read fails fast with EIO, cached data still reads.
    hub.stop()
    data, err, took = timed_read(mnt / "usr/share/doc/later")
    assert err is not None and err.errno == 5, f"wanted EIO, got {err!r}"
    assert took < 6, f"the read took {took:.1f}s to fail"
    assert (mnt / "etc/hostname").read_bytes() == b"tiffin\n"

    # The hub comes back: the same read works without remounting, and so does the program.
    hub.start()
    data, err, _ = timed_read(mnt / "usr/share/doc/later")
    assert err is None and data == (src / "usr/share/doc/later").read_bytes()
    r = subprocess.run(["chroot", mnt, "/bin/sh", "-c", "/bin/busybox wc -c < /usr/share/doc/later"], capture_output=True, timeout=60)
    assert r.stdout.strip() == str(700 * 1024).encode()

    # A block the hub corrupted is refused and never cached.
    bad = block_ids(node_fl, "/usr/share/doc/corrupt-me")[0]
    blob = bytearray(hub.block_file(bad).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    hub.block_file(bad).write_bytes(bytes(blob))
    data, err, _ = timed_read(mnt / "usr/share/doc/corrupt-me")
    assert err is not None and err.errno == 5
    assert not (cache / bad[:2] / bad).exists()

    # Reading more than the bound keeps the cache within it (1 MiB).
    (mnt / "usr/share/doc/big").read_bytes()
    (mnt / "bin/busybox").read_bytes()
    assert sum(p.stat().st_size for p in cache_blocks(cache)) <= 1 << 20


def test_prefetch_profile_fills_the_cache_at_mount(tmp_path, pushed, hub):
    _, node_fl = pushed
    profile = tmp_path / "busybox.profile"
    r = tiffin("flist", "profile", node_fl, "-o", profile, "--cache", tmp_path / "cache1", "--chroot", "--",
               "/bin/sh", "-c", "cat /etc/hostname /usr/share/doc/later | /bin/busybox wc -c")
    lines = profile.read_text().splitlines()
    assert lines[0] == "# tiffin prefetch profile v1"
    recorded = set(lines[1:])
    assert set(block_ids(node_fl, "/usr/share/doc/later")) <= recorded
    assert not set(block_ids(node_fl, "/usr/share/doc/big")) & recorded, "unread files are not in the profile"
    assert not mounted(tmp_path / "mnt")

    # A fresh node mounting with the profile has those blocks before anything reads them.
    mnt, cache = tmp_path / "mnt", tmp_path / "cache2"
    mnt.mkdir()
    tiffin("flist", "mount", node_fl, mnt, "--cache", cache, "--prefetch", profile, "--daemon")
    try:
        deadline = time.time() + 20
        while {p.name for p in cache_blocks(cache)} < recorded:
            assert time.time() < deadline, "prefetch did not complete"
            time.sleep(0.1)
        assert not set(block_ids(node_fl, "/usr/share/doc/big")) & {p.name for p in cache_blocks(cache)}
    finally:
        tiffin("flist", "umount", mnt)
    # A profile that is not one is refused before anything is mounted.
    (tmp_path / "junk").write_text("hello\n")
    r = tiffin("flist", "mount", node_fl, mnt, "--prefetch", tmp_path / "junk", "--daemon", rc=2)
    assert b"not a tiffin prefetch profile" in r.stderr
    assert not mounted(mnt)


def test_profiles_embedded_learnt_by_the_hub_and_pulled(tmp_path, pushed, hub):
    _, node_fl = pushed
    inspect = lambda fl: json.loads(tiffin("flist", "inspect", fl, "--format", "json").stdout)
    assert inspect(node_fl)["profile_blocks"] == 0
    later = block_ids(node_fl, "/usr/share/doc/later")
    # Recorded straight into the flist: its own table, signatures and all else untouched.
    embedded = tmp_path / "embedded.fl"
    embedded.write_bytes(node_fl.read_bytes())
    tiffin("flist", "profile", embedded, "--embed", "--cache", tmp_path / "cache", "--chroot", "--",
           "/bin/sh", "-c", "cat /usr/share/doc/later | /bin/busybox wc -c")
    assert inspect(embedded)["profile_blocks"] >= len(later)

    # A node reports what it read (any user's token); the next pull carries the hub's merge.
    url = f"{hub.url}/api/flist/alice/busybox:1.0/profile"
    assert http("POST", url, json.dumps(later).encode())[0] == 401
    status, body = http("POST", url, json.dumps(later + ["00" * 32]).encode(), hub.token("bob"))
    assert status == 200 and json.loads(body)["accepted"] == len(later), body
    status, body = http("GET", url)
    assert status == 200 and body.decode().split()[-len(later):] == later
    tiffin("pull", f"{hub.url}/alice/busybox:1.0", "-o", tmp_path / "fresh.fl")
    assert inspect(tmp_path / "fresh.fl")["profile_blocks"] == len(later)


def test_a_mount_teaches_the_hub_and_the_next_node_prefetches(tmp_path, pushed, hub):
    """No hand-made step: a node's mount with --share-profile reports the blocks read in its first
    seconds, the hub merges them, a later pull carries the profile, and that node's mount fetches
    those blocks before anything reads them."""
    _, node_fl = pushed
    later, hostname = block_ids(node_fl, "/usr/share/doc/later"), block_ids(node_fl, "/etc/hostname")
    url = f"{hub.url}/api/flist/alice/busybox:1.0/profile"
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    tiffin("flist", "mount", node_fl, mnt, "--cache", tmp_path / "cache1", "--daemon", "--log-file", tmp_path / "m1.log",
           "--share-profile", f"{hub.url}/alice/busybox:1.0", "--token", hub.token("bob"), "--learn-seconds", 3)
    try:
        assert len((mnt / "usr/share/doc/later").read_bytes()) == 700 * 1024
        deadline = time.time() + 15
        while http("GET", url)[0] != 200:  # reported when the window closes, the mount still up
            assert time.time() < deadline, (tmp_path / "m1.log").read_text()
            time.sleep(0.1)
        assert (mnt / "etc/hostname").read_bytes() == b"tiffin\n"  # after the window: not learnt
    finally:
        tiffin("flist", "umount", mnt)
    time.sleep(0.5)
    assert "error" not in (tmp_path / "m1.log").read_text()  # the learning mount ends cleanly
    learnt = [w for w in http("GET", url)[1].decode().split() if len(w) == 64]
    assert learnt == later, "the blocks read in the window, in order, and nothing after it"
    assert not set(hostname) & set(learnt)

    tiffin("pull", f"{hub.url}/alice/busybox:1.0", "-o", tmp_path / "fresh.fl")
    cache2 = tmp_path / "cache2"
    tiffin("flist", "mount", tmp_path / "fresh.fl", mnt, "--cache", cache2, "--daemon", "--log-file", tmp_path / "m2.log")
    try:
        deadline = time.time() + 15
        while not set(later) <= {p.name for p in cache_blocks(cache2)}:  # nothing read them
            assert time.time() < deadline, (tmp_path / "m2.log").read_text()
            time.sleep(0.1)
    finally:
        tiffin("flist", "umount", mnt)
    assert "prefetching the 2 blocks of the flist's profile" in (tmp_path / "m2.log").read_text()


def test_writable_root_with_a_size_limit(tmp_path, pushed):
    _, node_fl = pushed
    mnt, layer, pools = tmp_path / "mnt", tmp_path / "layer", tmp_path / "pools"
    mnt.mkdir()
    args = [node_fl, mnt, "--cache", tmp_path / "cache", "--rw", layer, "--size", 16, "--disk-type", "hdd",
            "--pools", pools, "--daemon"]
    tiffin("flist", "mount", *args)
    try:
        assert (mnt / "etc/hostname").read_bytes() == b"tiffin\n"
        (mnt / "etc/hostname").write_text("changed\n")
        (mnt / "new").write_text("new file\n")
        assert (layer / "rw/upper/new").read_text() == "new file\n"
        assert len(list((pools / "hdd").glob("*.img"))) == 1 and not (pools / "ssd").exists()
        with pytest.raises(OSError) as e:
            with open(mnt / "fill", "wb") as f:
                for _ in range(32):
                    f.write(b"\0" * (1 << 20))
                f.flush()
                os.fsync(f.fileno())
        assert e.value.errno == 28  # ENOSPC
    finally:
        tiffin("flist", "umount", mnt)
    assert not mounted(mnt) and not mounted(layer / "lower") and not mounted(layer / "rw")
    time.sleep(0.2)
    assert str(layer) not in subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout

    # The layer is the container's data: a new mount finds the writes again.
    tiffin("flist", "mount", *args)
    try:
        assert (mnt / "etc/hostname").read_text() == "changed\n"
        assert (mnt / "new").read_text() == "new file\n"
    finally:
        tiffin("flist", "umount", mnt)

    # kill -9 of the mount process: umount still cleans every layer.
    tiffin("flist", "mount", *args)
    pid = int(subprocess.run(["pgrep", "-f", f"flist mount {node_fl} {mnt}"], capture_output=True, text=True).stdout.split()[0])
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    tiffin("flist", "umount", mnt)
    assert not mounted(mnt) and not mounted(layer / "lower") and not mounted(layer / "rw")

    # Bad input is refused before anything is made.
    r = tiffin("flist", "mount", node_fl, mnt, "--rw", tmp_path / "l2", "--size", 16, "--disk-type", "floppy", rc=2)
    assert b"neither ssd nor hdd" in r.stderr
    tiffin("flist", "mount", node_fl, mnt, "--size", 16, rc=2)
    assert not (tmp_path / "l2").exists()
