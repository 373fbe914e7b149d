"""tiffin-snapshotter under containerd's CRI: images pulled through it are served lazily from
their flists on a tiffin hub (converted there on first use), as Kubernetes would pull and run
them: kubelet's CRI calls (cri.py) to a private containerd whose snapshotter is the proxy plugin
"tiffin" and whose runtime handler "tiffin" is tiffin-oci.

Covers: a pull moves no layer into containerd's content store and unpacks nothing; a pod runs
from the image with only the blocks it reads fetched from the hub (counted); restarting the
snapshotter and containerd while the pod runs keeps it running and removable; a node teaches
the hub what a start reads and the next node prefetches it; removing the
pods and images leaves no mounts, snapshots, lazy mounts or processes; images the hub does not
serve are unpacked as usual; an image another tool made (buildah, docker's v2s2 manifest) runs
lazily too.
"""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import cache_blocks, needs_root, tiffin
from cri import Snapshotter, containerd_factory, cri_images  # noqa: F401 (fixtures)
from ociimage import Layout, busybox_members
from registry import Registry
from test_hub import Hub

pytestmark = needs_root

MARKER = b"served lazily from the hub"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A registry holding team/lazy:1, busybox + 4 MiB nobody reads + a marker in three layers,
    and team/base:1, its first two layers: (registry, reference of lazy:1)."""
    reg = Registry(tmp_path_factory.mktemp("sn-registry"))
    lay = Layout(tmp_path_factory.mktemp("sn-layout") / "layout")
    base = lay.layer(busybox_members())
    data = lay.layer([("dir", "data", 0o755), ("file", "data/big", os.urandom(4 << 20), 0o644)])
    top = lay.layer([("file", "marker", MARKER, 0o644)])
    lay.tag(lay.image([base, data, top], {"Cmd": ["cat", "/marker"], "Env": ["PATH=/bin"]}), "latest")
    lay.tag(lay.image([base, data], {"Cmd": ["ls", "/"], "Env": ["PATH=/bin"]}), "base")
    reg.push(lay.dir, "base", "team/base:1")
    try:
        yield reg, reg.push(lay.dir, "latest", "team/lazy:1")
    finally:
        reg.stop()


@pytest.fixture
def hub(tmp_path):
    h = Hub(tmp_path / "hub").start()
    yield h
    h.stop()


@pytest.fixture
def node(hub, app, containerd_factory):
    """(snapshotter, containerd) with images served from `hub`; afterwards nothing may be left."""
    started = []

    def start(*extra, hub_url=None):
        sn = Snapshotter(hub_url or hub.url, hub.token("alice"), *extra)
        started.append(sn)
        ctd = containerd_factory(snapshotter="tiffin", extra_toml=sn.toml(), registry_hosts=(app[0].host,))
        return sn, ctd

    yield start
    for sn in started:
        sn.close()


def hub_blocks(hub):
    return {p.name for p in (Path(hub.root) / "blocks").rglob("*") if p.is_file() and len(p.name) == 64}


def content_blobs(ctd):
    return {p.name for p in (ctd.root / "io.containerd.content.v1.content/blobs/sha256").glob("*")}


def block_ids(fl, path):
    st = json.loads(tiffin("flist", "stat", fl, path, "--format", "json").stdout)
    return {b["id"] for b in st["blocks"]}


def output(cri, pod, name):
    return "\n".join(text for _, text in cri.log(pod, name))


def wait_for(pred, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while not (v := pred()):
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return v


def http_get(url):
    """The body of a 200 answer, "" for a 404."""
    out = subprocess.run(["curl", "-s", "-w", "\\n%{http_code}", url], capture_output=True, check=True).stdout.decode()
    body, _, code = out.rpartition("\n")
    assert code in ("200", "404"), out
    return body if code == "200" else ""


def manifest_of(reg, ref):
    name, tag = ref.split("/", 1)[1].rsplit(":", 1)
    out = subprocess.run(["curl", "-sf", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                          f"http://{reg.host}/v2/{name}/manifests/{tag}"], capture_output=True, check=True)
    return json.loads(out.stdout)


def remove_everything(cri, ctd, sn, pod, image):
    """What kubelet does when the pod and then its image go; afterwards nothing may be left:
    no snapshots, lazy mounts or flists in the snapshotter, nothing of the pod in containerd."""
    cri.stop_pod(pod)
    cri.remove_pod(pod)
    cri.remove_image(image)
    cri.remove_image(ctd.sandbox_image)
    wait_for(lambda: not sn.snapshots(), what=f"snapshots to go: {sn.snapshots()}\n{sn.log_text()}")
    wait_for(lambda: not sn.lazy_mounts(), what="the lazy mounts to go")
    assert not list((sn.root / "flists").iterdir())  # no flist, name, temp file or journal
    assert not any((sn.root / "snapshots").iterdir())
    assert ctd.leftovers(cgroup_parent_too=False) == {}


def test_pulled_image_runs_lazily_with_only_what_it_reads(node, hub, app):
    reg, ref = app
    sn, ctd = node()
    cri = ctd.client()
    cri.pull(ref)

    # containerd fetched the manifest and config, never a layer, and unpacked nothing.
    layers = {l["digest"].split(":")[1] for l in manifest_of(reg, ref)["layers"]}
    assert not layers & content_blobs(ctd), "containerd downloaded layers the snapshotter serves"
    assert not any((sn.root / "snapshots").iterdir()), "a layer was unpacked"
    flists = list((sn.root / "flists").glob("*.fl"))
    assert len(flists) == 1, flists  # the app (the pause image comes with the first pod)
    blocks = hub_blocks(hub)
    assert blocks

    pod = cri.run_pod("lazy")
    cid = cri.run_container(pod, "app", ref)
    assert cri.wait_exited(cid).exit_code == 0
    assert output(cri, pod, "app") == MARKER.decode()
    fetched = {p.name for p in cache_blocks(sn.root / "cache")} & blocks
    big = block_ids(flists[0], "/data/big")
    assert fetched and big and not big & fetched, "the unread file was fetched"
    assert len(fetched) < len(blocks)
    print(f"fetched {len(fetched)} of {len(blocks)} blocks on the hub")

    # A second container of the image reads through the same mount, which is still there.
    cid2 = cri.run_container(pod, "again", ref, ["sh", "-c", "md5sum /data/big | cut -c1-32"])
    assert cri.wait_exited(cid2).exit_code == 0
    assert len(output(cri, pod, "again").strip()) == 32
    assert big <= {p.name for p in cache_blocks(sn.root / "cache")}

    # Gone from Kubernetes' side: containerd removes the snapshots, the snapshotter its mounts.
    remove_everything(cri, ctd, sn, pod, ref)


def test_a_node_teaches_the_hub_what_a_start_reads_and_the_next_node_prefetches_it(node, hub, app):
    """The first node's mount reports the blocks its pod read (the snapshotter has a token); the
    hub merges them into the flist's profile; a second node's copy of the flist carries it, and
    its mount fetches those blocks (the marker's among them) before anything reads them, and
    never the file nobody read."""
    reg, ref = app
    sn, ctd = node(hub_url=hub.url + "/")  # as a user may write it: the reports still reach the hub
    cri = ctd.client()
    cri.pull(ref)
    [name_file] = (sn.root / "flists").glob("*.name")
    name = name_file.read_text()
    [fl] = (sn.root / "flists").glob("*.fl")
    marker, big = block_ids(fl, "/marker"), block_ids(fl, "/data/big")
    assert marker and big
    pod = cri.run_pod("teacher")
    cid = cri.run_container(pod, "app", ref)
    assert cri.wait_exited(cid).exit_code == 0
    assert output(cri, pod, "app") == MARKER.decode()
    remove_everything(cri, ctd, sn, pod, ref)  # the mount goes, and reports as it ends

    url = f"{hub.url}/api/flist/{name}/profile"
    learnt = wait_for(lambda: [w for w in http_get(url).split() if len(w) == 64], what=f"the hub to learn {url}")
    assert marker <= set(learnt) and not big & set(learnt), learnt

    sn2, ctd2 = node()
    cri2 = ctd2.client()
    cri2.pull(ref)
    [fl2] = (sn2.root / "flists").glob("*.fl")
    assert json.loads(tiffin("flist", "inspect", fl2, "--format", "json").stdout)["profile_blocks"] == len(learnt)
    pod2 = cri2.run_pod("learner")
    cid2 = cri2.run_container(pod2, "idle", ref, ["sleep", "100000"])  # never reads /marker
    wait_for(lambda: marker <= {p.name for p in cache_blocks(sn2.root / "cache")}, what="the profile's blocks to be prefetched")
    assert not big & {p.name for p in cache_blocks(sn2.root / "cache")}
    [mount_log] = [p for p in (sn2.root / "logs").glob("*.log") if p.stem == fl2.stem]
    assert f"prefetching the {len(learnt)} blocks of the flist's profile" in mount_log.read_text()
    assert cri2.exec_sync(cid2, ["cat", "/marker"]).stdout == MARKER
    cri2.stop_container(cid2, grace=1)
    remove_everything(cri2, ctd2, sn2, pod2, ref)


def test_restarts_of_snapshotter_and_containerd_keep_the_pod(node, app):
    reg, ref = app
    sn, ctd = node()
    cri = ctd.client()
    pod = cri.run_pod("restart")
    cid = cri.run_container(pod, "app", ref, ["sleep", "100000"])
    pid = cri.container_pid(cid)

    # What a snapshotter killed mid-pull leaves: a temp file, its journal, a name with no flist.
    flists = sn.root / "flists"
    kept = sorted(p.name for p in flists.iterdir())
    debris = ["0123.fl.pull.99999", "0123.fl.pull.99999-journal", "0123.name"]
    for name in debris:
        (flists / name).write_text("left by a crash")
    sn.restart()
    assert sorted(p.name for p in flists.iterdir()) == kept, "the restart keeps the flists and their names, nothing else"
    ctd.restart()  # the client's channel reconnects
    assert cri.container_pid(cid) == pid
    # Files never read before the restart come through the lazy mount, which outlived both.
    got = cri.exec_sync(cid, ["cat", "/marker"])
    assert (got.exit_code, got.stdout) == (0, MARKER)
    # And the restarted snapshotter still prepares containers on the image.
    cid2 = cri.run_container(pod, "after", ref, ["sh", "-c", "wc -c < /data/big"])
    assert cri.wait_exited(cid2).exit_code == 0
    assert output(cri, pod, "after").strip() == str(4 << 20)
    remove_everything(cri, ctd, sn, pod, ref)


def test_images_the_hub_does_not_serve_are_unpacked(node, app):
    reg, ref = app
    sn, ctd = node("--only-existing")  # never converts: the hub has nothing
    cri = ctd.client()
    cri.pull(ref)
    assert not list((sn.root / "flists").glob("*.fl"))
    assert any((sn.root / "snapshots").iterdir())
    pod = cri.run_pod("plain")
    cid = cri.run_container(pod, "app", ref)
    assert cri.wait_exited(cid).exit_code == 0
    assert output(cri, pod, "app") == MARKER.decode()
    remove_everything(cri, ctd, sn, pod, ref)


def test_an_image_that_is_a_prefix_of_another_runs_its_own_tree(node, app):
    """team/base:1 is team/lazy:1's first two layers: pulled after lazy:1, containerd finds all its
    layers there already (lazy:1's lower layers). Its containers get the hub's chain of those two
    layers, not lazy:1's whole tree."""
    reg, ref = app
    base_ref = f"{reg.host}/team/base:1"
    sn, ctd = node()
    cri = ctd.client()
    cri.pull(ref)
    cri.pull(base_ref)
    assert len(list((sn.root / "flists").glob("*.fl"))) == 1  # only lazy:1's: base:1 needed no flist
    pod = cri.run_pod("prefix")
    cid = cri.run_container(pod, "base", base_ref, ["sh", "-c", "ls /; wc -c < /data/big"])
    assert cri.wait_exited(cid).exit_code == 0
    out = output(cri, pod, "base").split()
    assert "marker" not in out and "data" in out and str(4 << 20) in out, out
    assert any(p.name.startswith("chain-") for p in (sn.root / "flists").glob("*.fl"))
    cid2 = cri.run_container(pod, "lazy", ref)
    assert cri.wait_exited(cid2).exit_code == 0
    assert output(cri, pod, "lazy") == MARKER.decode()
    cri.remove_image(base_ref)
    remove_everything(cri, ctd, sn, pod, ref)


@pytest.fixture
def buildah_image(tmp_path, app):
    """An image made and pushed by another tool: buildah (from scratch, busybox copied in, docker's
    v2s2 manifest as its push writes it) in the test registry; its reference."""
    reg, _ = app
    tree = tmp_path / "tree"
    (tree / "bin").mkdir(parents=True)
    shutil.copy2("/bin/busybox", tree / "bin" / "busybox")
    for applet in ("sh", "cat"):
        os.symlink("busybox", tree / "bin" / applet)
    (tree / "m").write_bytes(b"made by buildah")
    (tmp_path / "registries.conf").write_text("unqualified-search-registries = []\n")
    env = dict(os.environ, CONTAINERS_REGISTRIES_CONF=str(tmp_path / "registries.conf"))
    base = ["buildah", "--root", str(tmp_path / "bh"), "--runroot", str(tmp_path / "bh-run"), "--storage-driver", "vfs"]

    def buildah(*args):
        return subprocess.run(base + list(args), env=env, check=True, capture_output=True).stdout.decode().strip()

    c = buildah("from", "scratch")
    buildah("copy", c, str(tree), "/")
    buildah("config", "--cmd", '["cat", "/m"]', "--env", "PATH=/bin", c)
    buildah("commit", "-q", c, "bh:1")
    buildah("rm", c)
    ref = f"{reg.host}/team/buildah:1"
    buildah("push", "--tls-verify=false", "--format", "docker", "bh:1", f"docker://{ref}")
    return ref


def test_an_image_buildah_built_and_pushed_runs_lazily(node, app, buildah_image):
    sn, ctd = node()
    cri = ctd.client()
    cri.pull(buildah_image)
    assert list((sn.root / "flists").glob("*.fl")), "not served lazily"
    assert not any((sn.root / "snapshots").iterdir()), "a layer was unpacked"
    pod = cri.run_pod("buildah")
    cid = cri.run_container(pod, "app", buildah_image)
    assert cri.wait_exited(cid).exit_code == 0
    assert output(cri, pod, "app") == "made by buildah"
    remove_everything(cri, ctd, sn, pod, buildah_image)
