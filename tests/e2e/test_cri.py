"""tiffin-oci under containerd's CRI, as Kubernetes drives it: kubelet's calls over the CRI API to
a private containerd (cri.py) whose runc v2 shim runs tiffin-oci for the runtime handler
"tiffin". The first test runs with runc too, to show the harness itself is right."""
import json
import os
import time
from pathlib import Path

import grpc
import pytest

from conftest import needs_root, release_only
from oci import processes_running
from cri import APP_INDEX, containerd, containerd_factory, cri_images  # noqa: F401 (fixtures)

pytestmark = needs_root

PORT = 8080  # inside the pod's own network namespace: no clash with anything on the host


def serve_and_fetch(cri, pod, image):
    """A web server and a client in one pod; the client fetches from 127.0.0.1 once at start,
    then sleeps. Returns (server id, client id)."""
    srv = cri.run_container(pod, "srv", image, ["httpd", "-f", "-p", str(PORT), "-h", "/www"])
    fetch = f"until wget -q -O - http://127.0.0.1:{PORT}/index.html; do sleep 0.1; done; exec sleep 100000"
    cli = cri.run_container(pod, "cli", image, ["sh", "-c", fetch])
    return srv, cli


def wait_log(cri, pod, name, want, timeout=20):
    deadline = time.time() + timeout
    while (log := cri.log(pod, name)) != want and time.time() < deadline:
        time.sleep(0.05)
    return log


def fetch(cri, cid):
    return cri.exec_sync(cid, ["wget", "-q", "-O", "-", f"http://127.0.0.1:{PORT}/index.html"])


def runtime_of(ctd, cid):
    """Which OCI runtime keeps the container's state under the shim's --root: runc's state.json
    has init_process_pid, tiffin-oci's has the bundle and the rootfs."""
    state = json.loads((ctd.runc_root / "k8s.io" / cid / "state.json").read_text())
    return "runc" if "init_process_pid" in state else "tiffin" if {"bundle", "rootfs"} <= state.keys() else "?"


def ns(pid, kind):
    return os.readlink(f"/proc/{pid}/ns/{kind}")


@pytest.mark.parametrize("handler", ["tiffin", pytest.param("runc", marks=release_only)])
def test_pod_containers_share_the_pods_network(containerd, cri_images, handler):
    cri = containerd.client()
    pod = cri.run_pod("web", runtime_handler=handler)
    assert cri.pod_status(pod).status.runtime_handler == handler
    ip = cri.pod_ip(pod)
    assert ip.startswith(containerd.subnet_prefix + "."), ip
    srv, cli = serve_and_fetch(cri, pod, cri_images.app)
    assert {runtime_of(containerd, c) for c in (pod, srv, cli)} == {handler}

    # The client reached the server over the pod's loopback: the bytes, in the client's CRI log.
    assert wait_log(cri, pod, "cli", [("stdout", APP_INDEX.decode().strip())]) == [("stdout", APP_INDEX.decode().strip())]
    # Both see the pod's address on eth0, and the pod's hostname (its uts namespace).
    for cid in (srv, cli):
        r = cri.exec_sync(cid, ["ip", "-4", "-o", "addr", "show", "eth0"])
        assert r.exit_code == 0 and f"inet {ip}/24" in r.stdout.decode(), r
        assert cri.exec_sync(cid, ["hostname"]).stdout == b"web\n"
    # From the host: the pause process's net, uts and ipc namespaces, each container's own pid one.
    pause, pids = cri.pod_pid(pod), [cri.container_pid(c) for c in (srv, cli)]
    for kind in ("net", "uts", "ipc"):
        assert {ns(p, kind) for p in pids} == {ns(pause, kind)}, kind
    assert len({ns(p, "pid") for p in [pause, *pids]}) == 3

    cri.stop_pod(pod)
    assert {c.state for c in cri.list_containers(pod)} == {cri.pb.CONTAINER_EXITED}
    cri.remove_pod(pod)
    assert cri.list_pods() == [] and cri.list_containers() == []
    assert containerd.leftovers(cgroup_parent_too=False) == {}


def test_exec_sync_stats_and_exit_codes(containerd, cri_images):
    cri = containerd.client()
    pod = cri.run_pod("tools")
    busy = "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exec sleep 100000"
    cid = cri.run_container(pod, "busy", cri_images.app, ["sh", "-c", busy], env={"GREETING": "hi"})

    r = cri.exec_sync(cid, ["sh", "-c", "echo out $GREETING $APP_IMAGE; echo err >&2; exit 3"])
    assert (r.stdout, r.stderr, r.exit_code) == (b"out hi 1\n", b"err\n", 3)
    r = cri.exec_sync(cid, ["cat", "/www/index.html"])
    assert (r.stdout, r.stderr, r.exit_code) == (APP_INDEX, b"", 0)
    with pytest.raises(grpc.RpcError) as e:  # as with runc: the exec itself fails, no exit code
        cri.exec_sync(cid, ["no-such-program"])
    assert "no-such-program" in e.value.details()

    # Stats come from the container's cgroup, which the shim finds through the init's pid.
    deadline = time.time() + 10
    while (s := cri.stats(cid)).cpu.usage_core_nano_seconds.value == 0 and time.time() < deadline:
        time.sleep(0.1)
    assert s.attributes.id == cid
    assert s.cpu.usage_core_nano_seconds.value > 0
    assert s.memory.usage_bytes.value > 0 and s.memory.working_set_bytes.value > 0

    for name, script, code, reason in [("ok", "exit 0", 0, "Completed"), ("fails", "echo bye >&2; exit 7", 7, "Error")]:
        c = cri.run_container(pod, name, cri_images.app, ["sh", "-c", script])
        st = cri.wait_exited(c)
        assert (st.state, st.exit_code, st.reason) == (cri.pb.CONTAINER_EXITED, code, reason)
        # (Not finished_at >= started_at: containerd stamps the start once `start` returns, and
        # an exit at once can be reaped before that, with runc as well.)
        assert st.finished_at > st.created_at and st.started_at > st.created_at
    assert cri.log(pod, "fails") == [("stderr", "bye")]

    # A stop sends the image's stop signal (TERM): sleep as pid 1 ignores it, KILL follows the grace.
    start = time.monotonic()
    cri.stop_container(cid, grace=1)
    assert time.monotonic() - start < 15
    st = cri.container_status(cid).status
    assert (st.state, st.exit_code) == (cri.pb.CONTAINER_EXITED, 137)
    cri.remove_container(cid)
    assert cid not in {c.id for c in cri.list_containers(pod)}


def test_containers_survive_a_containerd_restart(containerd, cri_images):
    cri = containerd.client()
    pod = cri.run_pod("web")
    srv, cli = serve_and_fetch(cri, pod, cri_images.app)
    assert fetch(cri, cli).stdout == APP_INDEX
    pids = {c: cri.container_pid(c) for c in (srv, cli)}
    pause = cri.pod_pid(pod)
    cri.close()

    containerd.restart()
    cri = containerd.client()
    (p,) = cri.list_pods()
    assert (p.id, p.state) == (pod, cri.pb.SANDBOX_READY)
    assert {c.id: c.state for c in cri.list_containers(pod)} == {srv: cri.pb.CONTAINER_RUNNING, cli: cri.pb.CONTAINER_RUNNING}
    assert {c: cri.container_pid(c) for c in (srv, cli)} == pids and cri.pod_pid(pod) == pause
    assert all(os.path.exists(f"/proc/{p}") for p in [pause, *pids.values()])
    assert fetch(cri, cli).stdout == APP_INDEX
    assert cri.stats(srv).memory.usage_bytes.value > 0

    cri.stop_pod(pod)
    cri.remove_pod(pod)
    assert cri.list_pods() == [] and cri.list_containers() == []
    assert not any(os.path.exists(f"/proc/{p}") for p in [pause, *pids.values()])
    assert containerd.leftovers(cgroup_parent_too=False) == {}


def test_nothing_left_after_the_pod_goes(containerd, cri_images):
    cri = containerd.client()
    pod = cri.run_pod("web")
    srv, cli = serve_and_fetch(cri, pod, cri_images.app)
    done = cri.run_container(pod, "done", cri_images.app, ["true"])
    assert cri.wait_exited(done).exit_code == 0
    assert fetch(cri, cli).exit_code == 0  # an exec, whose process state the runtime also keeps

    # While the pod runs, the places the check below looks at hold this pod: the runtime's state
    # (the shim's --root), the containers' cgroups under the pod's parent, mounts, the netns.
    # An exited container's state is gone already: containerd deletes its task when it exits.
    state = {p.name for p in (containerd.runc_root / "k8s.io").iterdir()}
    assert state == {pod, srv, cli}, state
    cgroups = containerd.cgroups()
    for cid in (pod, srv, cli):
        assert any(c.endswith(f"{containerd.cgroup_parent}/{cid}") for c in cgroups), (cid, cgroups)
    left = containerd.leftovers()
    assert left["mounts"] and left["netns"] and left["processes"]

    cri.stop_pod(pod)
    cri.remove_pod(pod)
    assert containerd.leftovers(cgroup_parent_too=False) == {}


def cgroup_file(ctd, cid, v1, v2):
    """A control file of the container's cgroup: v1 (controller, file) where the controller is
    mounted as v1 (hybrid hosts), else the unified file."""
    base = Path("/sys/fs/cgroup")
    if (base / v1[0]).is_dir():
        return (base / v1[0] / ctd.cgroup_parent.lstrip("/") / cid / v1[1]).read_text().strip()
    return (base / ctd.cgroup_parent.lstrip("/") / cid / v2).read_text().strip()


def limits(ctd, cid):
    mem = cgroup_file(ctd, cid, ("memory", "memory.limit_in_bytes"), "memory.max")
    quota = cgroup_file(ctd, cid, ("cpu", "cpu.cfs_quota_us"), "cpu.max").split()[0]
    return int(mem), int(quota)


@pytest.mark.parametrize("handler", ["tiffin", pytest.param("runc", marks=release_only)])
def test_resources_tty_and_exec_timeout(containerd, cri_images, handler):
    cri = containerd.client()
    pod = cri.run_pod("res", runtime_handler=handler)
    # kubelet's resources for a container with limits: CFS quota, shares, memory.
    cid = cri.run_container(pod, "app", cri_images.app, ["sleep", "100000"],
                            resources=dict(cpu_period=100000, cpu_quota=50000, cpu_shares=256, memory_limit_in_bytes=64 << 20))
    assert limits(containerd, cid) == (64 << 20, 50000)
    # An in-place resize: containerd hands the shim the whole new resources, `update --resources -`.
    cri.update_resources(cid, cpu_period=100000, cpu_quota=20000, cpu_shares=512, memory_limit_in_bytes=128 << 20)
    assert limits(containerd, cid) == (128 << 20, 20000)
    assert cri.exec_sync(cid, ["true"]).exit_code == 0  # still running, still reachable

    # A terminal: the runtime hands the pty master to the shim over --console-socket.
    term = cri.run_container(pod, "term", cri_images.app, ["sh", "-c", "tty; exec sleep 100000"], tty=True)
    deadline = time.time() + 10
    while not (log := cri.log(pod, "term")) and time.time() < deadline:
        time.sleep(0.05)
    assert [(stream, text.rstrip("\r")) for stream, text in log] == [("stdout", "/dev/pts/0")]
    assert cri.container_status(term).status.state == cri.pb.CONTAINER_RUNNING

    # A probe's timeout: containerd kills the exec'd process and reports the deadline.
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        cri.exec_sync(cid, ["sleep", "31"], timeout=1)
    assert time.monotonic() - start < 10
    assert "timeout" in e.value.details() or e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e.value
    assert processes_running("sleep 31") == []

    cri.stop_pod(pod)
    cri.remove_pod(pod)
    assert containerd.leftovers(cgroup_parent_too=False) == {}


@pytest.mark.parametrize("handler", ["tiffin", pytest.param("runc", marks=release_only)])
def test_security_contexts_volumes_and_sysctls(containerd, cri_images, handler, tmp_path):
    cri = containerd.client()
    pb = cri.pb
    # A restricted container as Pod Security "restricted" asks: a user, no capabilities, no new
    # privileges, the runtime's default seccomp profile, a read-only root; volumes of the host.
    pod = cri.run_pod("sec", runtime_handler=handler, sysctls={"kernel.shm_rmid_forced": "1"})
    data, conf = tmp_path / "data", tmp_path / "conf"
    data.mkdir()
    conf.mkdir()
    (conf / "settings").write_text("from the host\n")
    os.chown(data, 1000, 1000)
    restricted = pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
        namespace_options=pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD),
        run_as_user=pb.Int64Value(value=1000), run_as_group=pb.Int64Value(value=1000), supplemental_groups=[2000],
        readonly_rootfs=True, no_new_privs=True, capabilities=pb.Capability(drop_capabilities=["ALL"]),
        seccomp=pb.SecurityProfile(profile_type=pb.SecurityProfile.RuntimeDefault)))
    mounts = [pb.Mount(container_path="/data", host_path=str(data)),
              pb.Mount(container_path="/conf", host_path=str(conf), readonly=True)]
    cid = cri.run_container(pod, "restricted", cri_images.app, ["sleep", "100000"], linux=restricted, mounts=mounts)

    def sh(script, c=cid):
        r = cri.exec_sync(c, ["sh", "-c", script])
        return r.exit_code, (r.stdout.decode().strip() if r.exit_code == 0 else r.stdout.decode() + r.stderr.decode())

    assert sh("id -u; id -g; id -G") == (0, "1000\n1000\n1000 2000")
    status = dict(line.split(": ") for line in sh("grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status | "
                                                  "tr -s '\\t' ' '")[1].splitlines())
    assert status == {"CapEff": "0000000000000000", "CapBnd": "0000000000000000", "NoNewPrivs": "1", "Seccomp": "2"}
    assert sh("touch /rootfs-write")[0] != 0
    assert sh("echo from the pod > /data/out && cat /conf/settings") == (0, "from the host")
    assert (data / "out").read_text() == "from the pod\n" and (data / "out").stat().st_uid == 1000
    assert sh("touch /conf/x")[0] != 0
    assert sh("cat /proc/sys/kernel/shm_rmid_forced") == (0, "1")  # the pod's sysctl, in its ipc namespace

    # A privileged container (kube-proxy, CNI daemons): every capability, the host's devices; it
    # may mount and change its pod's network namespace. (containerd 1.6 keeps /sys read-only.)
    priv_pod = cri.run_pod("priv", runtime_handler=handler, privileged=True)
    priv = pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
        privileged=True, namespace_options=pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD)))
    pid = cri.run_container(priv_pod, "priv", cri_images.app, ["sleep", "100000"], linux=priv)
    assert sh("grep CapEff /proc/self/status", pid)[1].split()[1] == open("/proc/self/status").read().split(
        "CapEff:\t")[1].split()[0]
    assert sh("test -c /dev/null && test -c /dev/kvm && ls /dev | wc -l", pid)[0] == 0
    assert sh("ip addr add 192.0.2.1/32 dev lo && mkdir /tmp/m && mount -t tmpfs t /tmp/m",
              pid) == (0, "")

    for p in (pod, priv_pod):
        cri.stop_pod(p)
        cri.remove_pod(p)
    assert containerd.leftovers(cgroup_parent_too=False) == {}


def container_ns(pb, network=None, pid=None, ipc=None, target=""):
    return pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
        namespace_options=pb.NamespaceOption(network=pb.POD if network is None else network,
                                             pid=pb.CONTAINER if pid is None else pid,
                                             ipc=pb.POD if ipc is None else ipc, target_id=target)))


@pytest.mark.parametrize("handler", ["tiffin", pytest.param("runc", marks=release_only)])
def test_namespace_modes_and_oom(containerd, cri_images, handler):
    cri = containerd.client()
    pb = cri.pb
    app = cri_images.app
    # shareProcessNamespace: every container joins the pause process's pid namespace by path.
    shared = cri.run_pod("shared", runtime_handler=handler, pid=pb.POD)
    a = cri.run_container(shared, "a", app, ["sleep", "100001"], linux=container_ns(pb, pid=pb.POD))
    b = cri.run_container(shared, "b", app, ["sleep", "100002"], linux=container_ns(pb, pid=pb.POD))
    pause = cri.pod_pid(shared)
    assert {ns(cri.container_pid(c), "pid") for c in (a, b)} == {ns(pause, "pid")}
    seen = cri.exec_sync(b, ["ps", "-o", "pid,args"]).stdout.decode()
    assert "sleep 100001" in seen and "sleep 100002" in seen and "trap" in seen, seen  # trap: the pause's sh
    # An ephemeral (debug) container targets another container's pid namespace.
    pod = cri.run_pod("target", runtime_handler=handler)
    main = cri.run_container(pod, "main", app, ["sleep", "100003"])
    dbg = cri.run_container(pod, "debug", app, ["sleep", "100004"], linux=container_ns(pb, pid=pb.TARGET, target=main))
    assert ns(cri.container_pid(dbg), "pid") == ns(cri.container_pid(main), "pid")
    assert "sleep 100003" in cri.exec_sync(dbg, ["ps", "-o", "args"]).stdout.decode()

    # hostNetwork, hostPID, hostIPC: no namespaces of the pod's own for those (and no CNI).
    host = cri.run_pod("host", runtime_handler=handler, network=pb.NODE, pid=pb.NODE, ipc=pb.NODE)
    h = cri.run_container(host, "h", app, ["sleep", "100005"], linux=container_ns(pb, pb.NODE, pb.NODE, pb.NODE))
    hp = cri.container_pid(h)
    for kind in ("net", "pid", "ipc"):
        assert ns(hp, kind) == ns(os.getpid(), kind), kind
    assert ns(hp, "mnt") != ns(os.getpid(), "mnt")
    assert cri.exec_sync(h, ["sh", "-c", f"test -d /proc/{os.getpid()}"]).exit_code == 0  # sees the host's pids

    # A container over its memory limit is killed by the kernel; the shim reports the OOM.
    hog = cri.run_container(pod, "hog", app, ["tail", "/dev/zero"], resources=dict(memory_limit_in_bytes=32 << 20))
    st = cri.wait_exited(hog, timeout=60)
    assert (st.state, st.exit_code, st.reason) == (pb.CONTAINER_EXITED, 137, "OOMKilled")

    for p in (shared, pod, host):
        cri.stop_pod(p)
        cri.remove_pod(p)
    assert processes_running("sleep 10000") == []
    assert containerd.leftovers(cgroup_parent_too=False) == {}


@pytest.mark.parametrize("handler", ["tiffin", pytest.param("runc", marks=release_only)])
def test_pods_made_and_removed_at_once(containerd, cri_images, handler):
    """kubelet starts and stops pods in parallel (a node's restart, a rollout): the shims then run
    the runtime concurrently on one --root, and its cgroup parent and seccomp cache."""
    from concurrent.futures import ThreadPoolExecutor
    cri = containerd.client()
    cri.pull(cri_images.app)
    pb = cri.pb
    restricted = pb.LinuxContainerConfig(
        resources=pb.LinuxContainerResources(cpu_shares=128, memory_limit_in_bytes=64 << 20),
        security_context=pb.LinuxContainerSecurityContext(
            namespace_options=pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD),
            seccomp=pb.SecurityProfile(profile_type=pb.SecurityProfile.RuntimeDefault)))

    def up(i):
        pod = cri.run_pod(f"p{i}", runtime_handler=handler)
        cid = cri.run_container(pod, "c", cri_images.app, ["sleep", "100000"], linux=restricted)
        return pod, [cri.exec_sync(cid, ["echo", str(i)]).stdout for _ in range(3)]

    def down(pod):
        cri.stop_pod(pod)
        cri.remove_pod(pod)

    with ThreadPoolExecutor(6) as pool:
        made = list(pool.map(up, range(6)))
        assert [out for _, out in made] == [[f"{i}\n".encode()] * 3 for i in range(6)]
        assert len({cri.pod_ip(pod) for pod, _ in made}) == 6
        list(pool.map(down, [pod for pod, _ in made]))
    assert cri.list_pods() == []
    assert containerd.leftovers(cgroup_parent_too=False) == {}
