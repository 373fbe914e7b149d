"""Registry images converted on the hub, end to end, as root: a real registry on loopback
(Debian's Distribution, images built byte by byte and pushed with skopeo), a real
`tiffin hub serve`, and nodes that run the converted flists lazily from the hub.

Covers: PUT /api/flist/<user>/<name> with {"image": …} → 201 with "digest"; a node runs the
flist from the hub and fetches only the blocks it reads; asking again answers at once without
new blocks; a second image on the same base converts only its own layer (the chain cache);
`tiffin hub convert`, `tiffin pull --hub` and `tiffin run --hub`; 401 for a bad token, 404 for
an unknown image, 400 for a bad reference, 502 for a dead registry; tar uploads still work; two
conversions of one name at once leave one good flist, and the hub answers while it converts.
"""
import io
import json
import os
import tarfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import cache_blocks, needs_root, tiffin
from engine import node  # noqa: F401 (fixture)
from ociimage import Layout, busybox_members
from registry import registry  # noqa: F401 (fixture)
from test_hub import Hub

pytestmark = needs_root


@pytest.fixture
def hub(tmp_path):
    h = Hub(tmp_path / "hub").start()
    yield h
    h.stop()


def request(method, url, body=None, token=None, content_type=None, timeout=300):
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def convert(hub, target, image, token, platform=None):
    body = {"image": image}
    if platform:
        body["platform"] = platform
    status, out = request("PUT", f"{hub.url}/api/flist/{target}", json.dumps(body).encode(), token, "application/json")
    return status, json.loads(out)


def hub_blocks(hub):
    return {p.name for p in (Path(hub.root) / "blocks").rglob("*") if p.is_file() and len(p.name) == 64}


def app_layout(tmp_path, marker=b"hello from the hub", big=3 << 20):
    """busybox, a large file nobody reads, and a marker the command prints."""
    lay = Layout(tmp_path / "layout")
    base = lay.layer(busybox_members())
    data = lay.layer([("dir", "data", 0o755), ("file", "data/big", os.urandom(big), 0o644)])
    top = lay.layer([("file", "marker", marker, 0o644)])
    lay.tag(lay.image([base, data, top], {"Cmd": ["cat", "/marker"]}), "latest")
    return lay


def block_ids(fl, path):
    st = json.loads(tiffin("flist", "stat", fl, path, "--format", "json").stdout)
    return [b["id"] for b in st["blocks"]]


def test_convert_run_lazily_and_again_at_once(node, tmp_path, registry, hub):
    ref = registry.push(app_layout(tmp_path).dir, "latest", "team/app:1")
    token = hub.token("alice")
    status, info = convert(hub, "alice/app:1", ref, token)
    assert status == 201, info
    assert info["digest"].startswith("sha256:") and info["converted"] is True
    assert info["flist"] == "alice/app:1" and info["layers"] == 3
    blocks = hub_blocks(hub)
    assert blocks

    # The flist routes to the hub: a fresh node runs it from the hub URL, lazily.
    fl = tmp_path / "app.fl"
    status, data = request("GET", f"{hub.url}/alice/app:1.fl")
    assert status == 200
    fl.write_bytes(data)
    assert hub.url in tiffin("flist", "route", "list", fl).stdout.decode()
    assert node.out("run", "--rm", "--network", "none", f"{hub.url}/alice/app:1") == "hello from the hub"
    entries = {p.name: p.stat().st_size for p in cache_blocks(node.root / "cache")}
    fetched = set(entries) & blocks
    # The rest are files materialised whole for FUSE passthrough: only multi-block files.
    assert all(size > 512 * 1024 for name, size in entries.items() if name not in blocks), entries
    big = set(block_ids(fl, "/data/big"))
    assert big and not big & fetched, "the unread file was fetched"
    assert fetched and fetched <= blocks and len(fetched) < len(blocks)

    # Asked again for the same image: answered from the record, nothing converted.
    start = time.monotonic()
    status, again = convert(hub, "alice/app:1", ref, token)
    elapsed = time.monotonic() - start
    assert status == 201, again
    assert again["converted"] is False and again["digest"] == info["digest"] and again["sha256"] == info["sha256"]
    assert hub_blocks(hub) == blocks
    assert elapsed < 5, elapsed
    status, got = request("GET", f"{hub.url}/api/flist/alice/app:1")
    got = json.loads(got)
    assert got["digest"] == info["digest"] and got["image"] == ref and got["platform"].startswith("linux/")


def test_a_shared_base_is_converted_once(tmp_path, registry, hub):
    lay = Layout(tmp_path / "layout")
    base = lay.layer(busybox_members() + [("file", "data/big", os.urandom(2 << 20), 0o644)])
    one = lay.layer([("file", "marker", b"one", 0o644)])
    two = lay.layer([("file", "marker", b"two", 0o644)])
    lay.tag(lay.image([base, one], {"Cmd": ["cat", "/marker"]}), "one")
    lay.tag(lay.image([base, two], {"Cmd": ["cat", "/marker"]}), "two")
    ref1 = registry.push(lay.dir, "one", "app:one")
    ref2 = registry.push(lay.dir, "two", "other:two")
    token = hub.token("alice")
    status, first = convert(hub, "alice/app:one", ref1, token)
    assert status == 201 and first["layers"] == 2 and first["layers_reused"] == 0, first
    before = hub_blocks(hub)
    status, second = convert(hub, "alice/other:two", ref2, token)
    assert status == 201 and second["layers"] == 2 and second["layers_reused"] == 1, second
    added = hub_blocks(hub) - before
    assert len(added) <= 2, added  # the new marker (and nothing of the 2 MiB base)
    assert second["digest"] != first["digest"]


def test_cli_convert_pull_and_run_with_hub(node, tmp_path, registry, hub):
    ref = registry.push(app_layout(tmp_path, b"via the cli", big=1 << 20).dir, "latest", "team/tool:2")
    token = hub.token("alice")
    out = tiffin("hub", "convert", "--token", token, f"{hub.url}/alice/mytool:v2", ref).stdout.decode().strip()
    assert out == f"{hub.url}/alice/mytool:v2"
    js = json.loads(tiffin("hub", "convert", "--token", token, "--format", "json", f"{hub.url}/alice/mytool:v2", ref).stdout)
    assert js["converted"] is False and js["digest"].startswith("sha256:")

    env = dict(os.environ, TIFFIN_HUB_TOKEN=token)
    # run --hub: named after the reference (alice/tool:2), converted by the hub, run lazily.
    assert node.out("run", "--rm", "--network", "none", "--hub", f"{hub.url}/alice", ref, env=env) == "via the cli"
    status, listing = request("GET", f"{hub.url}/api/flist/alice")
    assert {e["flist"] for e in json.loads(listing)} == {"alice/mytool:v2", "alice/tool:2"}
    images = node.images()
    assert any(i["Source"] == f"{hub.url}/alice/tool:2" for i in images), images
    # pull --hub: found converted, pulled again.
    name = node.out("pull", "--hub", f"{hub.url}/alice/", ref, env=env)
    assert name and name.splitlines()[-1].endswith("tool:2")
    # Without a token the node says what it needs.
    env.pop("TIFFIN_HUB_TOKEN")
    p = node("pull", "--hub", f"{hub.url}/alice", ref, rc=None, env=env)
    assert p.returncode == 2 and b"token" in p.stderr, p.stderr


def test_errors_and_uploads_still_work(tmp_path, registry, hub):
    ref = registry.push(app_layout(tmp_path, big=1024).dir, "latest", "team/app:1")
    token = hub.token("alice")
    status, body = convert(hub, "alice/app:1", ref, "alice.99999999999.bad")
    assert status == 401 and "error" in body
    status, body = convert(hub, "alice/app:1", ref, hub.token("bob"))
    assert status == 403 and "error" in body
    status, body = convert(hub, "alice/app:1", f"{registry.host}/team/nothing:1", token)
    assert status == 404 and "team/nothing" in body["error"], body
    status, body = convert(hub, "alice/app:1", f"{registry.host}/team/app:nosuchtag", token)
    assert status == 404 and "nosuchtag" in body["error"], body
    status, body = convert(hub, "alice/app:1", "Bad Ref!", token)
    assert status == 400 and "error" in body
    status, body = request("PUT", f"{hub.url}/api/flist/alice/app:1", b"{not json", token, "application/json")
    assert status == 400 and "error" in json.loads(body)

    # A tar upload (no JSON content type) is still packed, as before.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("hello")
        info.size = 3
        t.addfile(info, io.BytesIO(b"hi\n"))
    status, body = request("PUT", f"{hub.url}/api/flist/alice/tarred:1", buf.getvalue(), token)
    assert status == 201, body
    status, body = request("PUT", f"{hub.url}/api/flist/alice/tarred:2", buf.getvalue(), token, "application/x-tar")
    assert status == 201, body

    registry.stop()
    status, body = convert(hub, "alice/app:1", ref, token)
    assert status == 502 and "error" in body, body
    p = tiffin("hub", "convert", "--token", token, f"{hub.url}/alice/app:1", ref, rc=None)
    assert p.returncode == 1 and b"502" in p.stderr, p.stderr
    status, listing = request("GET", f"{hub.url}/api/flist/alice")
    assert "alice/app:1" not in {e["flist"] for e in json.loads(listing)}


def test_concurrent_conversions_and_a_responsive_hub(tmp_path, registry, hub):
    ref = registry.push(app_layout(tmp_path, big=24 << 20).dir, "latest", "team/app:1")
    token = hub.token("alice")
    results = []

    def worker(target):
        results.append((target, *convert(hub, target, ref, token)))

    threads = [threading.Thread(target=worker, args=(t,)) for t in ["alice/app:1", "alice/app:1", "alice/copy:1"]]
    for t in threads:
        t.start()
    slowest = 0.0
    while any(t.is_alive() for t in threads):
        start = time.monotonic()
        status, _ = request("GET", f"{hub.url}/api/flist", timeout=30)
        slowest = max(slowest, time.monotonic() - start)
        assert status == 200
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert slowest < 2, f"the hub took {slowest:.2f}s to answer while converting"
    assert len(results) == 3 and all(status == 201 for _, status, _ in results), results
    same = [info for target, _, info in results if target == "alice/app:1"]
    assert same[0]["digest"] == same[1]["digest"]
    # One of the two converted, the other found it (it waited for the lock).
    assert sorted(i["converted"] for i in same) == [False, True]
    status, info = request("GET", f"{hub.url}/api/flist/alice/app:1")
    assert json.loads(info)["sha256"] == same[0]["sha256"] == same[1]["sha256"]
    assert not list((Path(hub.root) / "layers" / "spool").iterdir())
    assert not [p for p in (Path(hub.root) / "layers").iterdir() if p.name.endswith(".tmp")]
