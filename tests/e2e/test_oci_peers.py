"""Real clients driving tiffin-oci: podman (through conmon) and containerd's `ctr` (through its
runc shim), both told to use tiffin-oci instead of runc. Images are made offline from a busybox
rootfs; podman uses the vfs driver and no network so it mounts and links nothing of its own."""
import glob
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from conftest import needs_root
from oci import OCI, busybox_rootfs, kill_processes_in_cgroup, processes_running

pytestmark = needs_root


def rootfs_tar(tmp: Path) -> Path:
    root = busybox_rootfs(tmp / "rootfs")
    out = tmp / "rootfs.tar"
    with tarfile.open(out, "w") as t:
        t.add(root, arcname=".")
    return out


def mounts_under(path):
    return [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(path) in line.split()[4]]


@pytest.fixture
def podman(tmp_path):
    conf = tmp_path / "containers.conf"
    # What podman needs on these machines (README): limits root can set here, cgroupfs, file events.
    conf.write_text(f"""[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "tiffin"
cgroup_manager = "cgroupfs"
events_logger = "file"
[engine.runtimes]
tiffin = ["{OCI}"]
""")
    env = dict(os.environ, CONTAINERS_CONF=str(conf))
    runroot = Path(tempfile.mkdtemp(prefix="tpm-", dir="/tmp"))  # podman wants it under 50 characters
    base = ["podman", "--root", str(tmp_path / "root"), "--runroot", str(runroot), "--tmpdir",
            str(tmp_path / "tmp"), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"]

    def run(*args, rc=0, timeout=120):
        p = subprocess.run([*base, *map(str, args)], capture_output=True, env=env, timeout=timeout)
        if rc is not None:
            assert p.returncode == rc, f"podman {args} exited {p.returncode}, wanted {rc}\n{p.stdout.decode()}\n{p.stderr.decode()}"
        return p

    # podman parks conmon and containers under libpod_parent and never removes it.
    libpod_cgroups_before = glob.glob("/sys/fs/cgroup/*/libpod_parent")
    try:
        run("import", rootfs_tar(tmp_path), "localhost/tiffin-busybox:1")
        yield run
    finally:
        run("rm", "--all", "--force", rc=None)
        leftovers = mounts_under(tmp_path) + mounts_under(runroot)
        for m in leftovers:
            subprocess.run(["umount", "-l", m])
        shutil.rmtree(runroot, ignore_errors=True)
        for d in set(glob.glob("/sys/fs/cgroup/*/libpod_parent")) - set(libpod_cgroups_before):
            subprocess.run(["find", d, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"], capture_output=True)
        assert leftovers == []


def test_podman_run_exec_stop_and_exit_codes(podman):
    img = "localhost/tiffin-busybox:1"
    p = podman("run", "--rm", "--network", "none", img, "sh", "-c", "echo hello; id -u; exit 0")
    assert p.stdout.decode().split() == ["hello", "0"]
    assert podman("run", "--rm", "--network", "none", img, "sh", "-c", "exit 7", rc=7)
    p = podman("run", "--rm", "--network", "none", img, "no-such-program", rc=127)
    assert "executable file not found" in p.stderr.decode()
    podman("run", "-d", "--name", "c1", "--network", "none", img, "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done")
    p = podman("exec", "c1", "sh", "-c", "echo in-exec; exit 3", rc=3)
    assert p.stdout == b"in-exec\n"
    p = podman("exec", "-t", "c1", "tty")
    assert p.stdout.decode().strip().startswith("/dev/pts/")
    assert podman("inspect", "--format", "{{.State.Status}}", "c1").stdout.decode().strip() == "running"
    start = time.monotonic()
    podman("stop", "--time", "10", "c1")
    assert time.monotonic() - start < 8  # the TERM reached the program: no wait for the KILL
    assert podman("inspect", "--format", "{{.State.ExitCode}}", "c1").stdout.decode().strip() == "0"
    podman("rm", "c1")
    assert processes_running("while :; do sleep") == []


def oci_archive(tmp: Path, name: str) -> Path:
    """An OCI image archive (layout in a tar) holding the busybox rootfs as one layer."""
    raw = rootfs_tar(tmp).read_bytes()
    layer = gzip.compress(raw, mtime=0)
    blobs = {}

    def blob(data, media):
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media, "digest": f"sha256:{digest}", "size": len(data)}

    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(raw).hexdigest()}"]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": blob(config, "application/vnd.oci.image.config.v1+json"),
                           "layers": [blob(layer, "application/vnd.oci.image.layer.v1.tar+gzip")]}).encode()
    desc = blob(manifest, "application/vnd.oci.image.manifest.v1+json")
    desc["annotations"] = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": "1"}
    files = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
             "index.json": json.dumps({"schemaVersion": 2, "manifests": [desc]}).encode()}
    files.update({f"blobs/sha256/{d}": data for d, data in blobs.items()})
    out = tmp / "image.tar"
    with tarfile.open(out, "w") as t:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return out


@pytest.fixture
def ctr(tmp_path):
    d = tmp_path / "ctd"
    d.mkdir()
    (d / "config.toml").write_text(f"""version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{d}/ctd.sock"
[ttrpc]
  address = "{d}/ttrpc.sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_cgroup = true
""")
    log = open(d / "containerd.log", "wb")
    daemon = subprocess.Popen(["containerd", "--config", str(d / "config.toml")], stdout=log, stderr=log)
    deadline = time.time() + 20
    while not (d / "ctd.sock").exists() and time.time() < deadline:
        time.sleep(0.05)

    def run(*args, rc=0, timeout=120):
        p = subprocess.run(["ctr", "--address", str(d / "ctd.sock"), "--namespace", "tiffin-e2e", *map(str, args)],
                           capture_output=True, timeout=timeout)
        if rc is not None:
            assert p.returncode == rc, f"ctr {args} exited {p.returncode}, wanted {rc}\n{p.stdout.decode()}\n{p.stderr.decode()}"
        return p

    try:
        run("images", "import", "--snapshotter", "native", oci_archive(tmp_path, "localhost/tiffin-busybox:1"))
        yield run
    finally:
        for task in run("tasks", "list", "--quiet", rc=None).stdout.decode().split():
            run("tasks", "kill", "--signal", "KILL", task, rc=None)
            run("tasks", "delete", "--force", task, rc=None)
        for c in run("containers", "list", "--quiet", rc=None).stdout.decode().split():
            run("containers", "delete", c, rc=None)
        kill_processes_in_cgroup("/tiffin-e2e/")  # ctr's cgroups are /<namespace>/<id>
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(20)
        log.close()
        for m in mounts_under(tmp_path):
            subprocess.run(["umount", "-l", m])
        assert mounts_under(tmp_path) == []
        assert processes_running(str(d)) == []


def test_containerd_ctr_run_exec_kill(ctr):
    img = "localhost/tiffin-busybox:1"
    args = ["--snapshotter", "native", "--runc-binary", OCI]
    p = ctr("run", "--rm", *args, img, "t1", "sh", "-c", "echo hello from containerd; exit 5", rc=5)
    assert p.stdout == b"hello from containerd\n"
    ctr("run", "-d", *args, img, "t2", "sleep", "60")
    assert "RUNNING" in ctr("tasks", "list").stdout.decode()
    # Checked through the container's root rather than ctr's stdout, which ctr can cut short when
    # the process exits at once (its exit can overtake the output copy).
    ctr("tasks", "exec", "--exec-id", "e1", "t2", "sh", "-c", "echo in-exec > /tmp/exec-out; exit 4", rc=4)
    init = int(ctr("tasks", "list").stdout.decode().split()[4])
    assert Path(f"/proc/{init}/root/tmp/exec-out").read_text() == "in-exec\n"
    assert len(ctr("tasks", "ps", "t2").stdout.decode().splitlines()) == 2
    ctr("tasks", "pause", "t2")
    assert "PAUSED" in ctr("tasks", "list").stdout.decode()
    ctr("tasks", "resume", "t2")
    ctr("tasks", "kill", "--signal", "KILL", "t2")
    deadline = time.time() + 10
    while "STOPPED" not in ctr("tasks", "list").stdout.decode() and time.time() < deadline:
        time.sleep(0.05)
    assert "STOPPED" in ctr("tasks", "list").stdout.decode()
    ctr("tasks", "delete", "t2")
    ctr("containers", "delete", "t2")
    assert processes_running("sleep 60") == []
