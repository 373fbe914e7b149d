"""OCI images from archives, end to end, as root: layouts built byte by byte (ociimage.py) and
converted by real peers (skopeo into docker archives), loaded with `tiffin load` and run.

Covers: an oci-archive and a docker-archive of busybox run; whiteouts, opaque directories, hard
links across layers, setuid bits and xattrs give the tree `umoci unpack` gives; gzip, zstd and
plain layers; an index picks the host's platform or --platform's; the image config (Entrypoint,
Cmd, Env, WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal) reaches the image and
`run`; a second image on the same base converts only its own layer; hostile and broken input
(digest mismatches, a truncated layer, '..', a symlink-then-write escape, an unknown media
type) is refused with a clear error and leaves no image and no temporary files.
"""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import needs_root
from engine import Node, node  # noqa: F401 (fixture)
from ociimage import Layout, busybox_members, describe_tree, tar_bytes

pytestmark = needs_root


def images(node):
    return node.images()


def image_id(img):
    """An image's id without docker's "sha256:" (the name of its flist)."""
    return img["Id"].removeprefix("sha256:")


def flist_of(node, name):
    for img in images(node):
        if name in img["RepoTags"]:
            return node.root / "images" / (image_id(img) + ".fl")
    raise AssertionError(f"no image {name}: {images(node)}")


def busybox_layout(tmp, how="gzip", config=None):
    lay = Layout(tmp / "layout")
    base = lay.layer(busybox_members(), how)
    m = lay.image([base], config or {"Cmd": ["sh"]})
    lay.tag(m, "latest")
    return lay


def no_leftovers(node):
    tmp = node.root / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir()), list(tmp.iterdir())
    spool = node.root / "layers" / "spool"
    assert not spool.exists() or not any(spool.iterdir()), list(spool.iterdir())
    assert not list((node.root / "images").glob(".*")) if (node.root / "images").exists() else True


def test_oci_archive_loads_and_runs(node, tmp_path):
    lay = busybox_layout(tmp_path, config={"Cmd": ["sh", "-c", "echo from-cmd"], "Env": ["A=1", "PATH=/bin"],
                                            "WorkingDir": "/tmp", "User": "1000:1000",
                                            "ExposedPorts": {"8080/tcp": {}}, "Volumes": {"/data": {}},
                                            "Labels": {"org.example": "yes"}, "StopSignal": "SIGQUIT"})
    archive = lay.archive(tmp_path / "bb.tar")
    out = node.out("load", "-i", archive)
    assert "Loaded image" in out
    # skopeo and umoci name the image by its tag alone: the image is untagged, by id.
    ids = [i["Id"] for i in images(node)]
    assert len(ids) == 1
    node("tag", ids[0], "bb:1")
    assert node.out("run", "--rm", "--network", "none", "bb:1") == "from-cmd"
    assert node.out("run", "--rm", "--network", "none", "bb:1", "sh", "-c", "echo $A; pwd; id -u") == "1\n/tmp\n1000"
    cfg = json.loads(node.out("image", "inspect", "bb:1"))[0]["Config"]
    assert cfg["ExposedPorts"] == {"8080/tcp": {}} and cfg["Volumes"] == {"/data": {}}
    assert cfg["Labels"] == {"org.example": "yes"} and cfg["StopSignal"] == "SIGQUIT"
    no_leftovers(node)


def test_docker_archive_made_by_skopeo(node, tmp_path):
    lay = busybox_layout(tmp_path)
    archive = tmp_path / "docker.tar"
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{lay.dir}:latest", f"docker-archive:{archive}:example.com/team/bb:2"],
                   check=True, capture_output=True)
    out = node.out("load", "-i", archive)
    assert "Loaded image: example.com/team/bb:2" in out
    assert node.out("run", "--rm", "--network", "none", "example.com/team/bb:2", "echo", "ok") == "ok"
    # From stdin, as `docker save x | tiffin load`.
    node("rmi", "example.com/team/bb:2")
    with open(archive, "rb") as f:
        out = node("load", input=f.read()).stdout.decode()
    assert "Loaded image: example.com/team/bb:2" in out


def layered(tmp_path, how="gzip"):
    """Three layers exercising every rule of the layer format (the same content whatever `how`)."""
    lay = Layout(tmp_path / f"layout-{how}")
    l1 = lay.layer(busybox_members() + [
        ("dir", "data", 0o755), ("file", "data/keep", b"keep", 0o644), ("file", "data/gone", b"gone", 0o644),
        ("dir", "opaque", 0o755), ("file", "opaque/old1", b"1", 0o644), ("dir", "opaque/sub", 0o755),
        ("file", "opaque/sub/old2", b"2", 0o644),
        ("file", "data/shared", b"shared content", 0o644), ("hardlink", "data/shared-link", "data/shared"),
        ("file", "data/suid", b"#!/bin/sh\n", 0o4755), ("file", "data/sgid", b"#!/bin/sh\n", 0o2711),
        ("file", "data/x", b"xattrs", 0o640, {"user.color": "blue", "user.size": "big"}),
        ("dir", "wholedir", 0o755), ("file", "wholedir/f", b"f", 0o644),
    ], how)
    l2 = lay.layer([
        ("whiteout", "data/gone"), ("whiteout", "wholedir"),
        ("opaque", "opaque"), ("file", "opaque/new", b"new", 0o600), ("dir", "opaque/sub", 0o700),
        ("file", "opaque/sub/new2", b"n2", 0o644),
        # A hard link, in this layer, to a file of the layer below.
        ("hardlink", "data/link-to-lower", "data/keep"),
        ("file", "data/replaced", b"v1", 0o644),
    ], how)
    l3 = lay.layer([
        ("file", "data/replaced", b"v2 longer", 0o644), ("symlink", "data/ln", "../etc/passwd"),
        ("dir", "wholedir", 0o750), ("file", "wholedir/again", b"a", 0o644),
    ], how)
    m = lay.image([l1, l2, l3], {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["ls /data"]})
    lay.tag(m, "v1")
    return lay


@pytest.mark.parametrize("how", ["gzip", "zstd", "none"])
def test_layers_give_what_umoci_unpacks(node, tmp_path, how):
    lay = layered(tmp_path, how)
    node("load", "-i", lay.dir)
    [img] = images(node)
    node("tag", img["Id"], "layered")
    ours = tmp_path / "ours"
    subprocess.run([node.full(), "flist", "unpack", flist_of(node, "layered:latest"), ours], check=True, capture_output=True)
    bundle = tmp_path / "bundle"
    # umoci 0.4 reads no zstd layers: it unpacks the same layers gzipped.
    reference = lay if how != "zstd" else layered(tmp_path, "gzip")
    subprocess.run(["umoci", "unpack", "--image", f"{reference.dir}:v1", bundle], check=True, capture_output=True)
    theirs, their_links = describe_tree(bundle / "rootfs")
    mine, my_links = describe_tree(ours)
    for path in set(theirs) | set(mine):
        assert mine.get(path) == theirs.get(path), path
    assert my_links == their_links
    assert "/data/gone" not in mine and "/wholedir/f" not in mine and "/opaque/old1" not in mine
    assert "/opaque/sub/old2" not in mine and mine["/opaque/sub/new2"]
    assert node.out("run", "--rm", "--network", "none", "layered").split() == sorted(
        ["keep", "ln", "link-to-lower", "replaced", "sgid", "shared", "shared-link", "suid", "x"])


def test_index_picks_the_platform(node, tmp_path):
    lay = Layout(tmp_path / "layout")
    base = lay.layer(busybox_members())
    manifests = []
    for arch, variant in [("arm64", "v8"), ("amd64", None), ("arm", "v7")]:
        marker = lay.layer([("file", "arch", f"{arch}{variant or ''}\n".encode(), 0o644)])
        manifests.append(lay.image([base, marker], {"Cmd": ["cat", "/arch"]}, arch=arch, variant=variant))
    lay.tag(lay.index_of(manifests), "multi")
    host = {"x86_64": "amd64", "aarch64": "arm64v8"}[os.uname().machine]
    node("load", "-i", lay.dir)
    [img] = images(node)
    node("tag", img["Id"], "multi:host")
    assert node.out("run", "--rm", "--network", "none", "multi:host") == host
    # Another platform's tree is converted (not run: its programs are for another machine).
    n2 = Node(tmp_path / "n2")
    try:
        n2("load", "--platform", "linux/arm/v7", "-i", lay.dir)
        [img2] = images(n2)
        out = subprocess.run([n2.full(), "flist", "cat", n2.root / "images" / (image_id(img2) + ".fl"), "/arch"],
                             capture_output=True, check=True).stdout
        assert out == b"armv7\n"
        assert n2("load", "--platform", "linux/s390x", "-i", lay.dir, rc=2).stderr.count(b"s390x") >= 1
    finally:
        n2.teardown()


def test_second_image_converts_only_its_own_layers(node, tmp_path):
    lay = Layout(tmp_path / "layout")
    big = os.urandom(3 << 20)
    base = lay.layer(busybox_members() + [("file", "big", big, 0o644)])
    mid = lay.layer([("file", "mid", os.urandom(1 << 20), 0o644)])
    lay.tag(lay.image([base, mid, lay.layer([("file", "app", b"one", 0o644)])]), "one")
    lay.tag(lay.image([base, mid, lay.layer([("file", "app", b"two", 0o644)])]), "two")
    p = node("load", "-i", lay.dir)
    err = p.stderr.decode()
    assert "3 layers (0 already converted)" in err and "3 layers (2 already converted)" in err, err
    for img in images(node):
        assert img["Size"] > len(big)


def hostile(tmp_path, members=None, blob=None, media_type=None, digest_of=None):
    lay = Layout(tmp_path / "bad")
    layer = lay.layer(members or [("file", "ok", b"ok", 0o644)])
    d, diff = layer
    if blob is not None:
        path = lay.dir / "blobs/sha256" / d["digest"][7:]
        path.write_bytes(blob(path.read_bytes()))
    if media_type:
        d = dict(d, mediaType=media_type)
    lay.tag(lay.image([(d, diff)]), "bad")
    return lay


def dotdot_member():
    import tarfile
    info = tarfile.TarInfo("../../escape")
    info.size = 3
    return [("raw", info, b"bad")]


@pytest.mark.parametrize("case,expect", [
    ("digest", "digest"),
    ("truncated", "layer"),
    ("dotdot", ".."),
    ("symlink_escape", "not a directory"),
    ("media_type", "media type"),
    ("absolute_link", None),
])
def test_bad_images_are_refused_and_leave_nothing(node, tmp_path, case, expect):
    if case == "digest":
        # The same length, one bit changed.
        lay = hostile(tmp_path, blob=lambda data: data[:-1] + bytes([data[-1] ^ 1]))
    elif case == "truncated":
        lay = Layout(tmp_path / "bad")
        d, diff = lay.layer(busybox_members())
        path = lay.dir / "blobs/sha256" / d["digest"][7:]
        data = path.read_bytes()[: d["size"] // 2]
        path.unlink()
        d = dict(d, digest=lay.blob(data), size=len(data))  # a consistent digest: the tar itself is cut
        lay.tag(lay.image([(d, diff)]), "bad")
    elif case == "dotdot":
        lay = hostile(tmp_path, members=dotdot_member())
    elif case == "symlink_escape":
        lay = hostile(tmp_path, members=[("symlink", "evil", "/etc"), ("file", "evil/passwd", b"owned", 0o644)])
    elif case == "media_type":
        lay = hostile(tmp_path, media_type="application/vnd.example.unknown")
    else:
        # A symlink to an absolute path is fine inside an image: it resolves in the container.
        lay = hostile(tmp_path, members=[("symlink", "abs", "/etc/passwd")])
    p = node("load", "-i", lay.dir, rc=None)
    if expect is None:
        assert p.returncode == 0, p.stderr
        return
    assert p.returncode != 0
    assert expect in p.stderr.decode(), p.stderr
    assert images(node) == []
    no_leftovers(node)
    assert not Path("/etc/passwd").read_text().startswith("owned")


def test_archive_with_escaping_names_is_refused(node, tmp_path):
    import tarfile
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w") as t:
        info = tarfile.TarInfo("../outside")
        info.size = 1
        import io
        t.addfile(info, io.BytesIO(b"x"))
    p = node("load", "-i", bad, rc=None)
    assert p.returncode != 0 and b".." in p.stderr
    assert not (tmp_path / "outside").exists() and not (node.root / "outside").exists()
    no_leftovers(node)
    # Not an archive at all.
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\x00garbage" * 100)
    assert node("load", "-i", junk, rc=None).returncode != 0
    assert node("load", "-i", tmp_path / "missing.tar", rc=None).returncode != 0
    no_leftovers(node)


def test_save_load_round_trip_and_peers_read_it(node, tmp_path):
    lay = layered(tmp_path)
    node("load", "-i", lay.dir)
    [img] = images(node)
    node("tag", img["Id"], "example.com/team/layered:v1")
    archive = tmp_path / "saved.tar"
    node("save", "-o", archive, "example.com/team/layered:v1")
    # skopeo reads it as an OCI archive and as a docker archive.
    for transport in ("oci-archive", "docker-archive"):
        p = subprocess.run(["skopeo", "inspect", "--config", f"{transport}:{archive}"], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)["config"]["Entrypoint"] == ["/bin/sh", "-c"]
    # umoci unpacks the same tree tiffin had.
    layout = tmp_path / "saved-layout"
    layout.mkdir()
    subprocess.run(["tar", "-C", layout, "-xf", archive], check=True)
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:v1", bundle], check=True, capture_output=True)
    ours = tmp_path / "ours"
    subprocess.run([node.full(), "flist", "unpack", flist_of(node, "example.com/team/layered:v1"), ours], check=True, capture_output=True)
    assert describe_tree(bundle / "rootfs") == describe_tree(ours)
    # A fresh node loads it back and runs it.
    n2 = Node(tmp_path / "n2")
    try:
        assert "Loaded image: example.com/team/layered:v1" in n2.out("load", "-i", archive)
        assert n2.out("run", "--rm", "--network", "none", "example.com/team/layered:v1").split()[0] == "keep"
    finally:
        n2.teardown()
    assert node("save", "nosuch:image", "-o", tmp_path / "x.tar", rc=None).returncode == 2
    assert not (tmp_path / "x.tar").exists()
    no_leftovers(node)


def test_stop_uses_the_image_stop_signal(node, tmp_path):
    lay = busybox_layout(tmp_path, config={"StopSignal": "SIGUSR1", "Cmd": [
        "sh", "-c", "trap 'echo got-usr1; exit 7' USR1; echo ready; while true; do sleep 0.1; done"]})
    node("load", "-i", lay.dir)
    [img] = images(node)
    cid = node.out("run", "-d", "--network", "none", img["Id"])
    deadline = time.time() + 10
    while "ready" not in node.out("logs", cid) and time.time() < deadline:
        time.sleep(0.05)
    node("stop", "-t", "5", cid)
    assert "got-usr1" in node.out("logs", cid)
    assert node.inspect(cid)["State"]["ExitCode"] == 7
    # --stop-signal overrides the image's: TERM is not trapped, so the shell dies of it.
    cid = node.out("run", "-d", "--network", "none", "--stop-signal", "TERM", img["Id"])
    node("stop", "-t", "5", cid)
    assert "got-usr1" not in node.out("logs", cid)
    node("rm", cid)
