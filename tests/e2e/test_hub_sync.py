"""Two hubs as replicas: `tiffin hub sync A --root B --public-url B` copies A's flists, links and
blocks into B, and a lazy mount whose flist routes to both keeps reading when either hub dies.
Also prints the figures asked for in the issue: sync throughput for ~1000 blocks and how long
reads stall while the mount fails over (run with -s to see them)."""
import hashlib
import json
import os
import signal
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import TIFFIN, Server, cache_blocks, free_port, needs_root, tiffin

pytestmark = needs_root

FILES = 1000  # one block each: an flist of ~1000 blocks
FILE_SIZE = 8 * 1024


class Hub(Server):
    """`tiffin hub serve` on a fixed loopback port, so it can be killed and started again."""

    def __init__(self, root):
        port = free_port()
        self.root, self.url = Path(root), f"http://127.0.0.1:{port}"
        super().__init__([TIFFIN, "hub", "serve", "--root", str(root), "-l", f"127.0.0.1:{port}", "--public-url", self.url], port)

    def token(self, user):
        return tiffin("hub", "token", "--root", self.root, "-u", user).stdout.decode().strip()

    def blocks(self):
        """Block file → its sha256, relative to the root's blocks/."""
        base = self.root / "blocks"
        return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest() for p in base.rglob("*") if p.is_file()}


@pytest.fixture
def hubs(tmp_path):
    a, b = Hub(tmp_path / "a"), Hub(tmp_path / "b")
    try:
        yield a.start(), b.start()
    finally:
        a.stop()
        b.stop()


@pytest.fixture
def source(tmp_path, hubs):
    """FILES files of random bytes, packed locally and pushed to hub A as alice/many:1."""
    a, _ = hubs
    src = tmp_path / "src"
    src.mkdir()
    for i in range(FILES):
        (src / f"f{i:04}").write_bytes(os.urandom(FILE_SIZE))
    tiffin("flist", "pack", src, "-o", tmp_path / "local.fl", "-s", f"dir://{tmp_path}/local-store")
    tiffin("push", tmp_path / "local.fl", f"{a.url}/alice/many:1", "--token", a.token("alice"))
    return src


def sync(a, b, *args):
    out = tiffin("hub", "sync", a.url, "--root", b.root, "--public-url", b.url, "--format", "json", *args)
    return json.loads(out.stdout)


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_sync_copies_keeps_in_step_and_follows_links_and_deletes(tmp_path, hubs, source):
    a, b = hubs
    first = sync(a, b)
    assert first["failures"] == [] and first["flists_copied"] == 1
    assert first["blocks_fetched"] == len(a.blocks()) >= FILES
    mib = first["bytes_fetched"] / (1 << 20)
    print(f"\nsync of {first['blocks_fetched']} blocks ({mib:.1f} MiB) in {first['seconds']:.2f}s: "
          f"{first['blocks_fetched'] / first['seconds']:.0f} blocks/s, {mib / first['seconds']:.1f} MiB/s")
    # The replica holds the very same block files, and serves a copy that routes to both hubs.
    assert b.blocks() == a.blocks()
    tiffin("pull", f"{b.url}/alice/many:1", "-o", tmp_path / "b.fl")
    routes = tiffin("flist", "route", "list", tmp_path / "b.fl").stdout.decode().split()
    assert routes == [f"00-ff={a.url}", f"00-ff={b.url}"]
    assert tiffin("flist", "cat", tmp_path / "b.fl", "/f0007").stdout == (source / "f0007").read_bytes()

    # A second round fetches nothing, not even the flist.
    again = sync(a, b)
    assert (again["flists_copied"], again["flists_unchanged"], again["blocks_fetched"], again["flist_bytes"]) == (0, 1, 0, 0)

    # A link follows; so does a second flist, and its removal only with --delete.
    token = a.token("alice")
    tiffin("hub", "link", f"{a.url}/alice/many:latest", "alice/many:1", "--token", token)
    (tmp_path / "small").mkdir()
    (tmp_path / "small/x").write_text("x\n")
    tiffin("flist", "pack", tmp_path / "small", "-o", tmp_path / "small.fl", "-s", f"dir://{tmp_path}/local-store")
    tiffin("push", tmp_path / "small.fl", f"{a.url}/alice/gone:1", "--token", token)
    third = sync(a, b)
    assert (third["links_made"], third["flists_copied"], third["blocks_fetched"]) == (1, 1, 1)
    info = json.loads(urllib.request.urlopen(f"{b.url}/api/flist/alice/many:latest", timeout=10).read())
    assert info["type"] == "symlink" and info["target"] == "alice/many:1"

    tiffin("hub", "rm", f"{a.url}/alice/gone:1", "--token", token)
    kept = sync(a, b)
    assert kept["flists_removed"] == 0 and http_status(f"{b.url}/alice/gone:1.fl") == 200
    removed = sync(a, b, "--delete")
    assert removed["flists_removed"] == 1 and http_status(f"{b.url}/alice/gone:1.fl") == 404
    assert http_status(f"{b.url}/alice/many:latest.fl") == 200


def timed_reads(mnt, src, names):
    """Reads each file once; asserts its content; returns the seconds each read took."""
    took = []
    for name in names:
        start = time.monotonic()
        data = (mnt / name).read_bytes()
        took.append(time.monotonic() - start)
        assert data == (src / name).read_bytes(), f"{name}: wrong content"
    return took


def describe(took):
    return f"{len(took)} reads: median {statistics.median(took) * 1000:.1f} ms, max {max(took) * 1000:.0f} ms, " \
           f"total {sum(took):.2f}s"


def test_a_lazy_mount_routed_to_both_hubs_survives_the_loss_of_either(tmp_path, hubs, source, mounts):
    a, b = hubs
    assert sync(a, b)["flists_copied"] == 1
    # The node pulls from the replica; the copy's routes name both hubs.
    tiffin("pull", f"{b.url}/alice/many:1", "-o", tmp_path / "node.fl")
    mnt, cache = tmp_path / "mnt", tmp_path / "cache"
    mounts(tmp_path / "node.fl", mnt, "--cache", cache, "--timeout", 2000)
    names = sorted(p.name for p in source.iterdir())

    both = timed_reads(mnt, source, names[:300])
    print(f"\nboth hubs up: {describe(both)}")
    cached = len(cache_blocks(cache))

    # A dies mid-read (SIGKILL: no goodbye): the rest reads from B, each block over the network.
    a.stop()
    only_b = timed_reads(mnt, source, names[300:600])
    print(f"hub A killed: {describe(only_b)}")
    assert len(cache_blocks(cache)) >= cached + 300, "the reads after the kill did not fetch blocks"
    assert max(only_b) < 3, "a read stalled beyond the bound"

    # The reverse: A back, B killed.
    a.start()
    b.stop()
    only_a = timed_reads(mnt, source, names[600:900])
    print(f"hub B killed, A back: {describe(only_a)}")
    assert max(only_a) < 3, "a read stalled beyond the bound"


def test_interval_keeps_the_replica_in_step_until_sigterm(tmp_path, hubs):
    a, b = hubs
    p = subprocess.Popen([TIFFIN, "hub", "sync", a.url, "--root", str(b.root), "--public-url", b.url, "--interval", "1",
                          "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        (tmp_path / "small").mkdir()
        (tmp_path / "small/x").write_text("x\n")
        tiffin("flist", "pack", tmp_path / "small", "-o", tmp_path / "small.fl", "-s", f"dir://{tmp_path}/local-store")
        tiffin("push", tmp_path / "small.fl", f"{a.url}/alice/later:1", "--token", a.token("alice"))
        deadline = time.monotonic() + 15
        while http_status(f"{b.url}/alice/later:1.fl") != 200:
            assert p.poll() is None, p.stderr.read().decode()
            assert time.monotonic() < deadline, "the next round did not copy the new flist"
            time.sleep(0.1)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=10)
        assert p.returncode == 0, err.decode()
        rounds = [json.loads(line) for line in out.decode().splitlines()]
        assert len(rounds) >= 2 and all(r["failures"] == [] for r in rounds)
        assert sum(r["flists_copied"] for r in rounds) == 1
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
