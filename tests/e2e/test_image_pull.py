"""Images from a real registry (Debian's Distribution on loopback), end to end, as root: pushed
with skopeo, pulled and converted by tiffin, run.

Covers: pull and run of host:port/repo:tag (plain http on loopback, docker's rule); `run` pulls
what is missing, `--pull never` refuses, `--pull always` fetches anew; pulls by digest;
`images --digests` and `image inspect`'s RepoDigests; a manifest list resolved to the host's
platform; a registry behind htpasswd: refused without or with wrong credentials, pulled after
`tiffin login` (credentials stored 0600), refused again after `logout`; a blob whose bytes the
registry changed is refused (digest mismatch) and leaves no image; an unknown tag and a dead
registry give clear errors.
"""
import json
import os
import stat
import subprocess

import pytest

from conftest import TIFFIN, needs_root
from engine import Node, node, run_in_pty  # noqa: F401 (fixture)
from ociimage import Layout, busybox_members
from registry import Registry, registry  # noqa: F401 (fixture)

pytestmark = needs_root


@pytest.fixture
def auth_registry(tmp_path):
    r = Registry(tmp_path / "auth-registry", users={"alice": "s3cret"})
    yield r
    r.stop()


def busybox_layout(tmp_path, marker=b"one"):
    lay = Layout(tmp_path / ("layout-" + marker.decode()))
    base = lay.layer(busybox_members())
    top = lay.layer([("file", "marker", marker, 0o644)])
    lay.tag(lay.image([base, top], {"Cmd": ["cat", "/marker"]}), "latest")
    return lay


def images(node):
    return node.images()


def digests_of(img):
    return [d.split("@", 1)[1] for d in img["RepoDigests"]]


def test_pull_run_and_policies(node, tmp_path, registry):
    ref = registry.push(busybox_layout(tmp_path).dir, "latest", "team/bb:1")
    # run pulls what the store lacks; --pull never does not.
    node("run", "--rm", "--pull", "never", "--network", "none", ref, rc=125)
    assert node.out("run", "--rm", "--network", "none", ref) == "one"
    [img] = images(node)
    [digest] = digests_of(img)
    assert img["RepoTags"] == [ref] and digest.startswith("sha256:")
    assert img["Source"] == f"{registry.host}/team/bb:1@{digest}"
    assert digest in node.out("images", "--digests")
    assert img["RepoDigests"] == [f"{registry.host}/team/bb@{digest}"]
    assert json.loads(node.out("image", "inspect", ref)) == [img]
    # A new push under the same tag: `run` uses what it has, --pull always fetches it.
    registry.push(busybox_layout(tmp_path, b"two").dir, "latest", "team/bb:1")
    assert node.out("run", "--rm", "--network", "none", ref) == "one"
    assert node.out("run", "--rm", "--pull", "always", "--network", "none", ref) == "two"
    # By digest (docker://, the transport prefix, accepted).
    out = node.out("pull", "-q", f"docker://{registry.host}/team/bb@{digest}")
    pulled = [i for i in images(node) if digest in digests_of(i)]
    assert pulled and out in (pulled[0]["Id"].removeprefix("sha256:"), *pulled[0]["RepoTags"])
    # The converted layer chains are a cache: system prune -a empties it.
    assert list((node.root / "layers").glob("*.fl"))
    assert "Deleted converted layer chains" in node.out("system", "prune", "-a")
    assert not list((node.root / "layers").glob("*.fl")) and images(node) == []


def test_pull_draws_a_line_per_layer_on_a_terminal_only(node, tmp_path, registry):
    ref = registry.push(busybox_layout(tmp_path).dir, "latest", "team/bb:1")
    argv = [TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "pull", ref]
    code, out = run_in_pty(argv)
    text = out.decode(errors="replace")
    assert code == 0, text
    manifest = json.loads(subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                                         check=True, capture_output=True).stdout)
    short = [layer["digest"][7:19] for layer in manifest["layers"]]
    for s in short:
        assert f"{s}: Downloading" in text and f"{s}: Pull complete" in text, text
    # The same base under a new top layer: the base is there already.
    ref2 = registry.push(busybox_layout(tmp_path, b"two").dir, "latest", "team/bb:2")
    code, out = run_in_pty(argv[:-1] + [ref2])
    assert code == 0 and f"{short[0]}: Already exists" in out.decode(errors="replace"), out
    # Not a terminal: nothing but the result.
    ref3 = registry.push(busybox_layout(tmp_path, b"three").dir, "latest", "team/bb:3")
    p = node("pull", ref3)
    assert b"Downloading" not in p.stderr and b"\033[" not in p.stderr, p.stderr


def test_manifest_list_picks_the_host(node, tmp_path, registry):
    lay = Layout(tmp_path / "multi")
    base = lay.layer(busybox_members())
    manifests = [lay.image([base, lay.layer([("file", "arch", arch.encode(), 0o644)])], {"Cmd": ["cat", "/arch"]}, arch=arch)
                 for arch in ["arm64", "amd64"]]
    lay.tag(lay.index_of(manifests), "latest")
    ref = registry.push(lay.dir, "latest", "multi:latest")
    host = {"x86_64": "amd64", "aarch64": "arm64"}[os.uname().machine]
    node("pull", "-q", ref)
    assert node.out("run", "--rm", "--network", "none", ref) == host


def test_auth_login_logout(node, tmp_path, auth_registry, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), DOCKER_CONFIG=str(home / ".docker"))
    env.pop("REGISTRY_AUTH_FILE", None)
    env.pop("XDG_RUNTIME_DIR", None)
    ref = auth_registry.push(busybox_layout(tmp_path).dir, "latest", "private/bb:1", user="alice")
    p = node("pull", "-q", ref, rc=None, env=env)
    assert p.returncode != 0 and (b"authentication" in p.stderr or b"denied" in p.stderr.lower()), p.stderr
    p = node("login", "-u", "alice", "-p", "wrong", auth_registry.host, rc=None, env=env)
    assert p.returncode != 0
    assert not (home / ".docker/config.json").exists() or "auths" not in (home / ".docker/config.json").read_text() or \
        auth_registry.host not in (home / ".docker/config.json").read_text()
    node("login", "-u", "alice", "-p", "s3cret", auth_registry.host, env=env)
    cfg = home / ".docker/config.json"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert auth_registry.host in json.loads(cfg.read_text())["auths"]
    assert b"s3cret" not in cfg.read_bytes()  # base64, as docker keeps it (never the plain text)
    assert node.out("run", "--rm", "--network", "none", ref, env=env) == "one"
    node("logout", auth_registry.host, env=env)
    assert node("pull", "-q", ref, rc=None, env=env).returncode != 0


def test_tampered_blob_unknown_tag_dead_registry(node, tmp_path, registry):
    lay = busybox_layout(tmp_path)
    ref = registry.push(lay.dir, "latest", "bad/bb:1")
    manifest = json.loads((lay.dir / "blobs/sha256" / lay.entries[0]["digest"][7:]).read_text())
    top = manifest["layers"][-1]["digest"]
    # skopeo pushes the layer as it is in the layout: same digest in the registry.
    path = registry.blob_path(top)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    p = node("pull", "-q", ref, rc=None)
    assert p.returncode != 0 and b"digest" in p.stderr and top.encode() in p.stderr, p.stderr
    assert images(node) == []
    assert not any((node.root / "layers" / "spool").iterdir())
    p = node("pull", "-q", f"{registry.host}/bad/bb:nosuchtag", rc=None)
    assert p.returncode == 2 and b"nosuchtag" in p.stderr, p.stderr
    registry.stop()
    p = node("pull", "-q", ref, rc=None, timeout=120)
    assert p.returncode != 0 and p.stderr, p.stderr
    assert images(node) == []


@pytest.mark.parametrize("zstd", [False, True])
def test_push_then_pull_elsewhere(node, tmp_path, registry, zstd):
    ref = registry.push(busybox_layout(tmp_path).dir, "latest", "src/bb:1")
    node("pull", "-q", ref)
    dest = f"{registry.host}/pushed/bb:{'z' if zstd else 'g'}"
    digest = node.out("push", ref, dest, *(["--zstd"] if zstd else []))
    assert digest.startswith("sha256:")
    p = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{dest}"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["Digest"] == digest
    # Pushed again: nothing new to upload, the same manifest.
    assert node.out("push", ref, dest, *(["--zstd"] if zstd else [])) == digest
    # To another repository of the same registry: the layer is mounted from the first, not sent.
    other = f"{registry.host}/other/bb:1"
    assert node.out("push", ref, other, *(["--zstd"] if zstd else [])) == digest
    log = (registry.dir / "registry.log").read_text()
    mounts = [line for line in log.splitlines() if "mount=sha256" in line and "from=pushed%2Fbb" in line
              and "http.response.status=201" in line]
    assert mounts, log[-3000:]
    n2 = Node(tmp_path / "n2")
    try:
        assert n2.out("run", "--rm", "--network", "none", dest) == "one"
    finally:
        n2.teardown()
