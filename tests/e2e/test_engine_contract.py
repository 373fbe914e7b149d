"""The engine↔shim contract end to end, as root: typed errors turned into docker's exit codes,
a --rm container taken down by its own shim, a container whose shim was killed, concurrent
starts, pause/stop through the shim, a shim abandoned by its launcher, and one shim per
container."""
import os
import signal
import subprocess
import time

import pytest

from conftest import TIFFIN, needs_root
from engine import image, node, processes_with, wait_for  # noqa: F401 (fixtures)

pytestmark = needs_root


def shim_pid(node, cid):
    with open(node.run_root / "c" / cid / "shim.pid") as f:
        return int(f.read().split()[0])


def test_exit_codes_come_from_error_kinds(node, image):
    p = node("run", "--rm", image, "no-such-program", rc=127)
    assert b"executable file not found" in p.stderr
    node("run", "--rm", image, "/etc", rc=126)
    # A user that is not in the image's passwd is the engine's failure, not the program's.
    p = node("run", "--rm", "-u", "nobody", image, "true", rc=125)
    assert b"unable to find user nobody" in p.stderr
    node("run", "-d", "--name", "box", image, "sleep", "1000")
    # Numbers are parsed, never thrown: a bad user is an error message and docker's 125.
    p = node("exec", "-u", "0:abc", "box", "true", rc=125)
    assert b"unable to find group abc" in p.stderr
    node("exec", "box", "no-such-program", rc=127)
    assert node("exec", "-u", "root", "box", "id", "-u").stdout == b"0\n"
    # The failed start is recorded with its reason.
    cid = node.out("create", "--name", "broken", image, "no-such-program")
    node("start", "broken", rc=127)
    state = node.inspect(cid)["State"]
    assert state["Status"] == "created" and "executable file not found" in state["Error"]


def test_a_detached_rm_container_is_taken_down_by_its_shim(node, image):
    cid = node.out("run", "-d", "--rm", image, "sh", "-c", "sleep 0.3")
    cdir = node.root / "containers" / cid
    assert cdir.exists()
    # No CLI runs meanwhile: the shim itself unmounts and removes what the engine listed.
    wait_for(lambda: not cdir.exists(), timeout=15, what="the shim to remove the container")
    assert not [m for m in open("/proc/self/mountinfo").read().splitlines() if cid in m]
    assert not (node.run_root / "runtime" / cid).exists()
    assert not (node.run_root / "netns" / cid).exists()
    assert not node.cgroup_dirs(cid)
    assert cid not in node.out("ps", "-a", "-q", "--no-trunc")


def test_a_container_whose_shim_was_killed_is_still_stopped_and_removed(node, image):
    cid = node.out("run", "-d", image, "sh", "-c", "trap 'exit 0' TERM; touch /tmp/trapped; while :; do sleep 0.1; done")
    wait_for(lambda: node("exec", cid, "cat", "/tmp/trapped", rc=None).returncode == 0, what="the trap")
    os.kill(shim_pid(node, cid), signal.SIGKILL)
    wait_for(lambda: node.inspect(cid)["State"]["Running"] is True, what="the state to still say running")
    start = time.monotonic()
    node("stop", "-t", "10", cid)
    assert time.monotonic() - start < 8, "the TERM reached the program through the runtime"
    state = node.inspect(cid)["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 128 + signal.SIGTERM
    assert not node.cgroup_dirs(cid)
    # And one killed under a running container is removed by rm -f.
    cid2 = node.out("run", "-d", image, "sleep", "1000")
    os.kill(shim_pid(node, cid2), signal.SIGKILL)
    node("rm", "-f", cid2)
    assert not node.cgroup_dirs(cid2)
    wait_for(lambda: not processes_with(f"/tiffin/{cid2}", in_cgroup=True), what="its processes to go")


def test_concurrent_starts_run_the_container_once(node, image):
    cid = node.out("create", "--name", "once", image, "sleep", "1000")
    starts = [subprocess.Popen([TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "start", "once"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(4)]
    codes = [p.wait(timeout=60) for p in starts]
    assert codes == [0] * 4, "starting a running container is no error (docker's rule)"
    assert node.inspect(cid)["State"]["Status"] == "running"
    inits = [p for p in processes_with(f"/tiffin/{cid}", in_cgroup=True)]
    assert len(inits) == 1, f"one program, not {len(inits)}"
    node("rm", "-f", cid)


def test_pause_stop_and_wait_go_through_the_shim(node, image):
    cid = node.out("run", "-d", image, "sh", "-c", "trap 'exit 7' TERM; touch /tmp/trapped; while :; do sleep 0.1; done")
    # (A pid 1 ignores a TERM it has no handler for: pause only once the trap is set.)
    wait_for(lambda: node("exec", cid, "cat", "/tmp/trapped", rc=None).returncode == 0, what="the trap")
    node("pause", cid)
    assert node.inspect(cid)["State"]["Status"] == "paused"
    node("pause", cid, rc=2)  # already paused
    waiter = subprocess.Popen([TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "wait", cid],
                              stdout=subprocess.PIPE)
    time.sleep(0.2)
    assert waiter.poll() is None, "wait returns when the container stops, not before"
    node("stop", cid)  # a paused container is thawed to receive its signal
    assert waiter.communicate(timeout=30)[0] == b"7\n"
    state = node.inspect(cid)["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 7
    node("kill", cid, rc=2)  # not running
    node("start", cid)
    node("kill", "-s", "TERM", cid)
    assert node.out("wait", cid) == "7"


def test_a_shim_abandoned_before_start_goes_away(node, image):
    """The launcher dies between launching the shim and asking for Start: the shim exits, and the
    container is still a created one that starts later."""
    cid = node.out("create", image, "echo", "later")
    conf = node.root / "containers" / cid / "shim.conf"
    run = node.run_root / "c" / cid
    run.mkdir(parents=True, exist_ok=True)
    shim = os.path.join(os.path.dirname(TIFFIN), "tiffin-shim")
    # Write a config the way the engine does (start once to get it), then launch by hand.
    node("start", cid)
    node("wait", cid)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 3)
        os.execv(shim, [shim, str(conf)])
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    os.close(w)
    assert os.read(r, 64)[:1] == bytes([69]), "Done: it listens"
    os.close(r)  # the launcher is gone
    wait_for(lambda: not os.path.exists(run / "shim.pid") or not _locked(run / "shim.pid"), what="the shim to exit")
    assert node.out("start", "-a", cid) == "later"


def _locked(path):
    import fcntl
    with open(path) as f:
        try:
            fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except OSError:
            return True


def test_one_shim_per_container(node, image):
    cid = node.out("run", "-d", image, "sleep", "1000")
    shim = os.path.join(os.path.dirname(TIFFIN), "tiffin-shim")
    p = subprocess.run([shim, str(node.root / "containers" / cid / "shim.conf")], capture_output=True)
    assert p.returncode != 0 and b"has a shim already" in p.stderr
    assert node.inspect(cid)["State"]["Running"] is True
    node("rm", "-f", cid)
