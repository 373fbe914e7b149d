"""Flakes (tiffin flake, tiffin-pilot): host commands that run in a container or a microVM with
the caller's arguments, stdin, stdout, stderr, terminal, signals and exit code. Registered from a
busybox image and from a base + layer merge, called through their symlinks; resume flakes run in
one kept container; flake-pilot's own YAML written by hand works; bad YAML and missing images fail
clearly before anything runs; remove leaves no symlink, YAML, container or mount. The microVM
flakes boot qemu's emulation (TCG) where /dev/kvm is not backed by VT-x/AMD-V (these CI hosts'
is PVM, which boots no stock kernel), KVM elsewhere; TIFFIN_VM_ACCEL=kvm|tcg forces one."""
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from conftest import SANITIZED, TIFFIN, needs_root, release_only
from engine import image, node, wait_for  # noqa: F401 (fixtures)
from oci import busybox_rootfs

PILOT = str(Path(TIFFIN).parent / "tiffin-pilot")
VM_ACCEL = os.environ.get("TIFFIN_VM_ACCEL", "")  # "": the pilot chooses (tcg where KVM is not VT-x/AMD-V)

pytestmark = [needs_root]
# A resume flake's pid 1 is tiffin-pilot itself, bound into the image: the static release binary
# runs in any image, a sanitizer build's (dynamic, libasan) in none.
static_pilot_only = pytest.mark.skipif(SANITIZED, reason="the resume agent is the static release tiffin-pilot, run inside the image")


class Flakes:
    """A flakes directory and a bin directory of this test's own, on the test's node."""

    def __init__(self, node, tmp: Path):
        self.node = node
        self.dir = tmp / "flakes"
        self.bin = tmp / "bin"
        self.bin.mkdir()
        self.env = dict(os.environ, TIFFIN_FLAKES_DIR=str(self.dir))

    def register(self, name, *args, rc=0):
        return self.node("flake", "register", "--app", self.bin / name, *args, rc=rc, env=self.env, timeout=120)

    def call(self, name, *args, input=None, cwd=None, timeout=60, env=None):
        return subprocess.run([str(self.bin / name), *args], input=input, capture_output=True, cwd=cwd, timeout=timeout,
                              env=dict(self.env, **(env or {})))

    def flake(self, *args, rc=0):
        return self.node("flake", *args, rc=rc, env=self.env)


@pytest.fixture
def flakes(node, tmp_path):
    f = Flakes(node, tmp_path)
    yield f
    # Whatever a test registered goes, and with it its containers.
    for yaml in sorted(f.dir.glob("*.yaml")) if f.dir.exists() else []:
        f.flake("remove", "--app", f.bin / yaml.stem, rc=None)


def assert_contract(flakes, name):
    """Arguments with spaces and quotes, stdin piped, stdout and stderr apart, the exit code."""
    p = flakes.call(name, "sh", "-c", 'printf "[%s]" "$@"; echo; cat; echo to-stderr >&2; exit 42', "sh",
                    "two words", "it's", 'say "hi"', "", "$HOME", input=b"piped line\n")
    assert p.returncode == 42, p.stderr.decode()
    assert p.stdout == b"[two words][it's][say \"hi\"][][$HOME]\npiped line\n"
    assert p.stderr == b"to-stderr\n"


def test_container_flake_passes_arguments_stdio_exit_code_and_working_directory(node, image, flakes, tmp_path):
    flakes.register("bb", "--image", image, "--target", "/bin/busybox")
    assert os.readlink(flakes.bin / "bb") == PILOT
    assert_contract(flakes, "bb")
    # The caller's directory is visible at its own path, and the app starts there.
    work = tmp_path / "work dir"
    work.mkdir()
    (work / "data.txt").write_text("from the host\n")
    p = flakes.call("bb", "sh", "-c", "pwd; cat data.txt; echo made > out.txt", cwd=work)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout.decode() == f"{work}\nfrom the host\n"
    assert (work / "out.txt").read_text() == "made\n"
    # A program that is not there: 127, as a shell says.
    assert flakes.call("bb", "no-such-applet").returncode == 127
    # Each call was a container of its own, removed when it ended.
    assert node.container_ids() == []
    listed = json.loads(flakes.flake("list", "--format", "json").stdout)
    assert [(f["name"], f["engine"], f["image"], f["target"]) for f in listed] == [("bb", "container", image, "/bin/busybox")]
    assert "target_app_path: /bin/busybox" in flakes.flake("info", "bb").stdout.decode()


def test_merged_base_and_layer_with_includes(node, image, flakes, tmp_path):
    extra = tmp_path / "srv" / "extra"
    layer = tmp_path / "layer"
    (layer / "opt" / "app").mkdir(parents=True)
    (layer / "opt" / "app" / "run").write_text(f'#!/bin/sh\necho "app $*"; cat /etc/app.conf {extra}/note; exit 7\n')
    os.chmod(layer / "opt" / "app" / "run", 0o755)
    node("import", layer, "applayer")
    blocks_before = sorted(p.name for p in (node.root / "blocks").rglob("*") if p.is_file())
    inc = tmp_path / "inc"
    (inc / "etc").mkdir(parents=True)
    (inc / "etc" / "app.conf").write_text("conf from the tar\n")
    subprocess.run(["tar", "-C", inc, "-cf", tmp_path / "conf.tar", "."], check=True)
    extra.mkdir(parents=True)
    (extra / "note").write_text("a copied file\n")
    # busybox's /bin/sh runs a script of the layer: both layers are there.
    flakes.register("app", "--image", "applayer", "--base", image, "--target", "/opt/app/run",
                    "--include", tmp_path / "conf.tar", "--include", extra / "note")
    p = flakes.call("app", "x y")
    assert (p.returncode, p.stdout) == (7, b"app x y\nconf from the tar\na copied file\n"), p.stderr.decode()
    # The merge wrote a new flist over the blocks that were there: not one block more.
    assert sorted(p.name for p in (node.root / "blocks").rglob("*") if p.is_file()) == blocks_before
    merged = [i for i in node.images() if "flake-app:latest" in i["RepoTags"]]
    assert len(merged) == 1
    # Includes went into that call's container only: the images are as they were.
    p = node("run", "--rm", image, "cat", "/etc/app.conf", rc=1)
    assert b"No such file" in p.stdout + p.stderr
    assert node.container_ids() == []


@static_pilot_only
def test_resume_keeps_one_container_and_runs_each_call_in_it(node, image, flakes):
    flakes.register("rb", "--image", image, "--target", "/bin/busybox", "--resume")
    assert_contract(flakes, "rb")
    ids = node.container_ids()
    assert len(ids) == 1 and node.inspect(ids[0])["Name"].startswith("/flake-rb-")
    assert node.inspect(ids[0])["Config"]["Labels"]["org.tiffin.flake"] == "rb"
    p = flakes.call("rb", "sh", "-c", "echo kept > /tmp/state; echo $$")
    assert p.returncode == 0
    p = flakes.call("rb", "cat", "/tmp/state")
    assert (p.returncode, p.stdout) == (0, b"kept\n")
    assert node.container_ids() == ids, "the same container served every call"
    # The app runs inside it: its pid namespace, its root.
    assert flakes.call("rb", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '").stdout == b"/.tiffin/tiffin-pilot agent "
    # @NAME: another instance, another container; %options are the pilot's.
    p = flakes.call("rb", "@second", "%silent", "cat", "/tmp/state")
    assert p.returncode == 1
    assert len(node.container_ids()) == 2
    # A stopped container (a reboot, a killed agent) is made anew on the next call.
    node("stop", "-t", "1", ids[0])
    assert flakes.call("rb", "echo", "again").stdout == b"again\n"
    assert flakes.call("rb", "missing-applet").returncode == 127
    # Callers that find no agent at once make one container between them.
    node("rm", "-f", *node.container_ids())
    procs = [subprocess.Popen([flakes.bin / "rb", "echo", f"call {i}"], stdout=subprocess.PIPE, env=flakes.env) for i in range(4)]
    assert sorted(p.communicate(timeout=60)[0] for p in procs) == [f"call {i}\n".encode() for i in range(4)]
    assert all(p.returncode == 0 for p in procs)
    assert len(node.container_ids()) == 1
    flakes.flake("remove", "--app", flakes.bin / "rb")
    assert node.container_ids() == []
    assert not (flakes.bin / "rb").exists() and not (flakes.dir / "rb.yaml").exists()


def pty_session(argv, env, steps, rows=24, cols=80, timeout=30):
    """Runs argv on a new terminal; each step is (text to wait for, action) where action is bytes to
    type or a (rows, cols) resize. Returns (exit code, output)."""
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execve(argv[0], argv, env)
    out = b""
    deadline = time.time() + timeout
    steps = list(steps)
    while time.time() < deadline:
        if steps and steps[0][0].encode() in out:
            _, action = steps.pop(0)
            if isinstance(action, bytes):
                os.write(fd, action)
            else:
                fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", action[0], action[1], 0, 0))
                os.write(fd, b"\n")
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


@pytest.mark.parametrize("mode", ["once", pytest.param("resume", marks=static_pilot_only)])
def test_terminal_size_resize_and_ctrl_c(node, image, flakes, mode):
    flakes.register("tt", "--image", image, "--target", "/bin/busybox", *(["--resume"] if mode == "resume" else []))
    script = ('[ -t 0 ] && [ -t 1 ] && echo on-a-tty; echo "size $(stty size)"; read line; echo "size $(stty size)"; '
              'trap "echo got-ctrl-c; exit 9" INT; echo waiting; while :; do sleep 0.1; done')
    code, out = pty_session([str(flakes.bin / "tt"), "sh", "-c", script], flakes.env,
                            [("size 24 80", (40, 132)), ("size 40 132", b""), ("waiting", b"\x03")])
    assert "on-a-tty" in out and "size 24 80" in out and "size 40 132" in out, out
    assert "got-ctrl-c" in out, out
    assert code == 9, out
    # A program with no handler of its own stops at Ctrl-C too (no pid 1 that ignores it).
    code, out = pty_session([str(flakes.bin / "tt"), "sh", "-c", "echo sleeping; exec sleep 100"], flakes.env,
                            [("sleeping", b"\x03")])
    assert code == 130, out


@static_pilot_only
def test_resume_runs_apps_as_the_registered_user(node, image, flakes, tmp_path):
    flakes.register("ru", "--image", image, "--target", "/bin/busybox", "--resume", "--user", "1000")
    p = flakes.call("ru", "sh", "-c", "busybox id -u; busybox id -g; busybox yes | busybox head -n 1")
    assert (p.returncode, p.stdout, p.stderr) == (0, b"1000\n1000\n" + b"y\n", b""), p.stderr
    # Ctrl-C through a pipe (no terminal) stops an app with no handler of its own.
    proc = subprocess.Popen([flakes.bin / "ru", "sleep", "100"], env=flakes.env)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(20) == 130


def test_flake_pilots_own_yaml_written_by_hand(node, image, flakes):
    """A registration as podman-pilot(8) documents it: no tiffin section, engine options in
    runtime.podman, a drop-in in NAME.d that changes the target."""
    flakes.dir.mkdir()
    (flakes.dir / "hand.yaml").write_text(f"""container:
  name: {image}
  target_app_path: /bin/false
  host_app_path: {flakes.bin / 'hand'}
  runtime:
    runas: root
    resume: false
    attach: false
    podman:
      - --rm
      - -ti
      - -e FLAKE_SETTING=from yaml
""")
    (flakes.dir / "hand.d").mkdir()
    (flakes.dir / "hand.d" / "target.yaml").write_text("container:\n  target_app_path: /bin/busybox\n")
    os.symlink(PILOT, flakes.bin / "hand")
    env = {"TIFFIN_ROOT": str(node.root), "TIFFIN_RUN_ROOT": str(node.run_root)}
    p = flakes.call("hand", "sh", "-c", 'echo "$FLAKE_SETTING"; [ -t 1 ] || echo no-tty', env=env)
    assert (p.returncode, p.stdout) == (0, b"from yaml\nno-tty\n"), p.stderr.decode()
    assert [f["name"] for f in json.loads(flakes.flake("list", "--format", "json").stdout)] == ["hand"]


def test_bad_yaml_and_missing_images_fail_before_anything_runs(node, image, flakes):
    flakes.dir.mkdir()
    os.symlink(PILOT, flakes.bin / "broken")
    (flakes.dir / "broken.yaml").write_text("container:\n  name: [unclosed\n")
    p = flakes.call("broken", "echo", "hi")
    assert p.returncode == 2 and p.stdout == b""
    assert p.stderr.decode().startswith("tiffin-pilot: broken: ") and "broken.yaml:" in p.stderr.decode(), p.stderr
    (flakes.dir / "broken.yaml").write_text("container:\n  name: busybox\n")
    assert b"host_app_path is missing" in flakes.call("broken").stderr
    # A registration whose image is gone: the engine's clear error, nothing fetched or run.
    os.symlink(PILOT, flakes.bin / "gone")
    (flakes.dir / "gone.yaml").write_text(f"container:\n  name: no-such-image\n  host_app_path: {flakes.bin / 'gone'}\n")
    p = flakes.call("gone", "echo", "hi", env={"TIFFIN_ROOT": str(node.root), "TIFFIN_RUN_ROOT": str(node.run_root)})
    assert p.returncode == 125 and p.stdout == b"" and b"no-such-image" in p.stderr, p.stderr
    # No flake of that name at all.
    os.symlink(PILOT, flakes.bin / "unregistered")
    p = flakes.call("unregistered")
    assert p.returncode == 127 and b"no flake unregistered" in p.stderr
    assert node.container_ids() == []
    # Registering a missing image fails and leaves no symlink and no YAML.
    p = flakes.register("nothing", "--image", "no-such-image", rc=None)
    assert p.returncode != 0 and b"no-such-image" in p.stderr
    assert not os.path.lexists(flakes.bin / "nothing") and not (flakes.dir / "nothing.yaml").exists()
    # An app that exists and is not a flake is not replaced.
    (flakes.bin / "real").write_text("#!/bin/sh\n")
    p = flakes.register("real", "--image", image, rc=None)
    assert p.returncode != 0 and b"is not a flake" in p.stderr
    assert (flakes.bin / "real").read_text() == "#!/bin/sh\n"


def test_attach_flake_restarts_its_container(node, image, flakes):
    flakes.register("at", "--image", image, "--target", "/bin/busybox", "--attach")
    assert flakes.call("at", "sh", "-c", "echo first; exit 3").returncode == 3
    ids = node.container_ids()
    assert len(ids) == 1 and node.inspect(ids[0])["Name"].startswith("/flake-at-")
    # Not running: started again (with its first command), attached.
    p = flakes.call("at", "ignored")
    assert (p.returncode, p.stdout) == (3, b"first\n")
    assert node.container_ids() == ids


@release_only  # the microVM's init must be the static release binary: the guest has no libraries
def test_vm_flake_same_contract(node, image, flakes):
    if not os.path.exists("/dev/kvm") and VM_ACCEL == "kvm":
        pytest.skip("no /dev/kvm")
    if not list(Path("/boot").glob("vmlinuz-*")):
        pytest.skip("no kernel in /boot (apt-get install linux-image-amd64)")
    flakes.register("vbb", "--vm", *(["--accel", VM_ACCEL] if VM_ACCEL else []), "--image", image, "--target", "/bin/busybox", "--memory", "256")
    p = flakes.call("vbb", "sh", "-c", 'printf "[%s]" "$@"; echo; cat; echo to-stderr >&2; exit 42', "sh",
                    "two words", "it's", 'say "hi"', input=b"piped line\n", timeout=180)
    assert p.returncode == 42, p.stderr.decode()
    assert p.stdout == b"[two words][it's][say \"hi\"]\npiped line\n"
    assert p.stderr == b"to-stderr\n"
    p = flakes.call("vbb", "no-such-applet", timeout=180)
    assert p.returncode == 127
    # Each call's root was a container of its own, gone with the call; no qemu is left.
    assert node.container_ids() == []
    assert subprocess.run(["pgrep", "-f", "tiffin-vm-vbb"], capture_output=True).returncode == 1
    flakes.flake("remove", "--app", flakes.bin / "vbb")
    assert not os.path.lexists(flakes.bin / "vbb")
