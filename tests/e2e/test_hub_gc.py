"""`tiffin hub gc` end to end, on loopback: a real `tiffin hub serve` keeps serving while the
collector runs in its own process against the same root; what it keeps is counted on disk."""
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from conftest import TIFFIN, Server, free_port, needs_root, release_only, tiffin

pytestmark = needs_root


class Hub(Server):
    def __init__(self, root):
        port = free_port()
        super().__init__([TIFFIN, "hub", "serve", "--root", root, "-l", f"127.0.0.1:{port}"], port)
        self.root, self.url = Path(root), f"http://127.0.0.1:{port}"

    def token(self, user):
        return tiffin("hub", "token", "--root", self.root, "-u", user).stdout.decode().strip()

    def blocks(self):
        return {p.name for p in (self.root / "blocks").glob("*/*") if not p.name.startswith(".")}

    def gc(self, *args, rc=0):
        p = tiffin("hub", "gc", "--root", self.root, "--json", *args, rc=rc)
        return json.loads(p.stdout) if rc == 0 else p


@pytest.fixture
def hub(tmp_path):
    h = Hub(tmp_path / "hub").start()
    yield h
    h.stop()


def flist_ids(fl):
    with sqlite3.connect(f"file:{fl}?mode=ro", uri=True) as db:
        return {row[0].hex() for row in db.execute("SELECT DISTINCT id FROM block")}


def pack(tmp_path, name, files):
    src = tmp_path / f"src-{name}"
    src.mkdir()
    for rel, data in files.items():
        (src / rel).write_bytes(data)
    fl = tmp_path / f"{name}.fl"
    tiffin("flist", "pack", src, "-o", fl, "-s", f"dir://{tmp_path}/local-store")
    return fl


def push(hub, fl, ref, user="alice"):
    out = tiffin("push", fl, f"{hub.url}/{ref}", "--token", hub.token(user), "--format", "json")
    return json.loads(out.stdout)


def age_blocks(hub, seconds):
    past = time.time() - seconds
    for p in (hub.root / "blocks").glob("*/*"):
        try:
            os.utime(p, (past, past))
        except FileNotFoundError:
            pass  # a collection running meanwhile freed it


def test_gc_after_delete_keeps_the_shared_and_the_others_blocks(tmp_path, hub):
    shared = {"shared-1": os.urandom(300 * 1024), "shared-2": os.urandom(5000)}
    a = pack(tmp_path, "a", {**shared, "a-only": os.urandom(200 * 1024), "a-small": b"alice\n"})
    b = pack(tmp_path, "b", {**shared, "b-only": os.urandom(150 * 1024)})
    push(hub, a, "alice/a:1")
    push(hub, b, "bob/b:1", user="bob")
    ids_a, ids_b = flist_ids(a), flist_ids(b)
    assert ids_a & ids_b and ids_a - ids_b
    assert hub.blocks() == ids_a | ids_b

    # Nothing is garbage yet: a dry run and a real run agree on that.
    assert hub.gc("--grace", "0", "--dry-run")["blocks_freed"] == 0
    assert hub.gc("--grace", "0")["blocks_freed"] == 0

    tiffin("hub", "rm", f"{hub.url}/alice/a:1", "--token", hub.token("alice"))
    dry = hub.gc("--grace", "0", "--dry-run")
    assert dry["blocks_freed"] == len(ids_a - ids_b) and hub.blocks() == ids_a | ids_b
    # Blocks are an hour old by default before they go.
    assert hub.gc()["blocks_freed"] == 0
    report = hub.gc("--grace", "0")
    assert report["blocks_freed"] == len(ids_a - ids_b) and report["bytes_freed"] > 200 * 1024
    assert report["flists_scanned"] == 1 and report["blocks_marked"] == len(ids_b)
    assert hub.blocks() == ids_b

    # The hub, still serving, serves the other flist whole.
    tiffin("pull", f"{hub.url}/bob/b:1", "-o", tmp_path / "node.fl")
    for name in ("shared-1", "shared-2", "b-only"):
        assert tiffin("flist", "cat", tmp_path / "node.fl", f"/{name}").stdout == (tmp_path / "src-b" / name).read_bytes()


# (the sanitizers take the racy case: no grace)
@pytest.mark.parametrize("grace", [pytest.param("60", marks=release_only), "0"])
def test_a_push_racing_a_gc_loop_completes(tmp_path, hub, grace):
    files = {f"f{i:03}": os.urandom(4096 + i) for i in range(120)}
    fl = pack(tmp_path, "c", files)
    ids = flist_ids(fl)
    stop, runs, errors = threading.Event(), [], []

    def loop():
        while not stop.is_set():
            p = tiffin("hub", "gc", "--root", hub.root, "--grace", grace, "--json", rc=None)
            (runs if p.returncode == 0 else errors).append(p)
            time.sleep(0.02)

    collector = threading.Thread(target=loop)
    collector.start()
    pushes, deadline = 0, time.monotonic() + 60
    try:
        # Each round pushes onto old blocks no flist names (the last round's, deleted and
        # back-dated): what the push finds present is just what a collection wants to free.
        while (pushes < 5 or len(runs) < 10) and time.monotonic() < deadline:
            push(hub, fl, f"alice/new:{pushes}")
            # Whatever the collector did, the flist the hub took names only blocks it holds.
            assert ids <= hub.blocks()
            tiffin("hub", "rm", f"{hub.url}/alice/new:{pushes}", "--token", hub.token("alice"))
            age_blocks(hub, 7200)
            pushes += 1
        push(hub, fl, "alice/final")
    finally:
        stop.set()
        collector.join()
    assert not errors, errors[0].stderr.decode()
    assert pushes >= 5 and len(runs) >= 10
    # With a grace period, the collector freed the old blocks only between rounds, never under a
    # push; without one it also raced them, and the pushes that lost uploaded again.
    assert sum(json.loads(p.stdout)["blocks_freed"] for p in runs) > 0
    tiffin("pull", f"{hub.url}/alice/final", "-o", tmp_path / "node.fl")
    assert tiffin("flist", "cat", tmp_path / "node.fl", "/f007").stdout == files["f007"]
    assert hub.gc("--grace", "0")["blocks_freed"] == 0
    assert hub.blocks() == ids


def test_gc_with_an_unreadable_flist_fails_and_frees_nothing(tmp_path, hub):
    a = pack(tmp_path, "a", {"x": os.urandom(100 * 1024)})
    b = pack(tmp_path, "b", {"y": os.urandom(100 * 1024)})
    push(hub, a, "alice/a:1")
    push(hub, b, "alice/b:1")
    tiffin("hub", "rm", f"{hub.url}/alice/a:1", "--token", hub.token("alice"))
    before = hub.blocks()
    (hub.root / "flists" / "carol").mkdir()
    (hub.root / "flists" / "carol" / "bad:1.fl").write_bytes(b"SQLite format 3\0" + os.urandom(4000))
    p = tiffin("hub", "gc", "--root", hub.root, "--grace", "0", rc=None)
    assert p.returncode != 0
    assert b"carol/bad:1.fl" in p.stderr and b"nothing was freed" in p.stderr, p.stderr
    assert hub.blocks() == before
    # Once the file is dealt with, the collection goes ahead.
    (hub.root / "flists" / "carol" / "bad:1.fl").unlink()
    assert hub.gc("--grace", "0")["blocks_freed"] == len(flist_ids(a) - flist_ids(b))
