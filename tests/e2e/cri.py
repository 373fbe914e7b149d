"""Kubernetes' view of a container runtime, for the tests: a private containerd with its CRI
plugin (what kubelet talks to), driven over the CRI gRPC API as kubelet would, with tiffin-oci
as an OCI runtime of containerd's runc v2 shim (runtime handler "tiffin") beside runc.

Everything lives in a temp dir of the test's own: containerd's root, state, sockets, the shims'
runtime root, the CNI config and IPAM data, the pods' network namespaces and logs. Pods get a
cgroup parent, a CNI bridge and a /24 of their own. Images come from a Distribution registry on
loopback (pushed with skopeo from layouts made by ociimage.py): nothing is ever fetched from
outside the machine, the pause image included.

    reg = Registry(tmp / "registry"); images = push_images(reg, tmp / "layouts")
    ctd = Containerd(Path(tempfile.mkdtemp(...)), images.pause)   # or snapshotter="tiffin", extra_toml=...
    cri = ctd.client()
    cri.pull(images.app)
    pod = cri.run_pod("web", runtime_handler="tiffin")
    cid = cri.run_container(pod, "srv", images.app, ["httpd", "-f", "-p", "8080", "-h", "/www"])
    cri.exec_sync(cid, ["cat", "/www/index.html"])
    ...
    ctd.close()          # removes pods, stops containerd, cleans; ctd.leftovers() says what stayed
"""
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import TIFFIN, tiffin
from ociimage import Layout
from oci import OCI, _processes_running, kill_processes_in_cgroup, processes_running

PROTO_DIR = Path(__file__).resolve().parent / "cri"
_stubs = None


def stubs():
    """The generated runtime.v1 modules (api_pb2, api_pb2_grpc), made once per test process in a
    temp dir with grpc_tools.protoc: generated code is never committed."""
    global _stubs
    if _stubs is None:
        from grpc_tools import protoc
        out = tempfile.mkdtemp(prefix="tiffin-cri-stubs-")
        rc = protoc.main(["protoc", f"-I{PROTO_DIR}", f"--python_out={out}", f"--grpc_python_out={out}",
                          str(PROTO_DIR / "api.proto")])
        if rc != 0:
            raise RuntimeError(f"protoc failed ({rc}) on {PROTO_DIR / 'api.proto'}")
        sys.path.insert(0, out)
        import api_pb2
        import api_pb2_grpc
        sys.path.remove(out)
        shutil.rmtree(out, ignore_errors=True)  # the modules are loaded: the files are not needed
        _stubs = (api_pb2, api_pb2_grpc)
    return _stubs


# Images -------------------------------------------------------------------------------------

# The pause process: sleeps until told to stop, and stops at once on TERM (kubelet's pause does
# too; containerd itself stops a sandbox with KILL).
PAUSE_ENTRYPOINT = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]
APP_INDEX = b"hello from a tiffin pod\n"


def busybox_tree(applets):
    members = [("dir", "bin", 0o755), ("dir", "etc", 0o755), ("dir", "tmp", 0o1777), ("dir", "root", 0o700),
               ("file", "bin/busybox", Path("/bin/busybox").read_bytes(), 0o755),
               ("file", "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n", 0o644),
               ("file", "etc/group", b"root:x:0:\nuser:x:1000:\n", 0o644)]
    members += [("symlink", "bin/" + a, "busybox") for a in applets]
    return members


def all_applets():
    out = subprocess.run(["/bin/busybox", "--list"], capture_output=True, check=True, text=True).stdout.split()
    return [a for a in out if a not in ("busybox",) and "/" not in a]


@dataclass
class Images:
    pause: str
    app: str


def push_images(registry, tmp: Path) -> Images:
    """A pause image (busybox sh and sleep) and an app image (all of busybox's applets, a web
    root /www with index.html = APP_INDEX), pushed to `registry`; returns their references."""
    layout = Layout(tmp)
    pause_layer = layout.layer(busybox_tree(["sh", "sleep"]))
    pause = layout.image([pause_layer], {"Entrypoint": PAUSE_ENTRYPOINT, "Env": ["PATH=/bin"], "WorkingDir": "/"})
    layout.tag(pause, "pause")
    www = layout.layer([("dir", "www", 0o755), ("file", "www/index.html", APP_INDEX, 0o644)])
    app = layout.image([layout.layer(busybox_tree(all_applets())), www],
                       {"Cmd": ["sh"], "Env": ["PATH=/bin", "APP_IMAGE=1"], "WorkingDir": "/"})
    layout.tag(app, "app")
    return Images(pause=registry.push(layout.dir, "pause", "tiffin-cri/pause:3.9"),
                  app=registry.push(layout.dir, "app", "tiffin-cri/app:1"))


# containerd ---------------------------------------------------------------------------------

CRI = 'plugins."io.containerd.grpc.v1.cri"'


def cni_conflist(name, bridge, subnet, data_dir):
    """A bridge network with host-local IPAM of the test's own. No gateway and no masquerade: the
    bridge plugin would otherwise turn on the host's ip_forward and add NAT rules, and the tests
    talk only inside the pod or between pods on the bridge. (containerd adds the loopback
    network itself, from the loopback plugin in bin_dir.)"""
    return json.dumps({
        "cniVersion": "0.4.0", "name": name,
        "plugins": [{"type": "bridge", "bridge": bridge, "isGateway": False, "ipMasq": False,
                     "ipam": {"type": "host-local", "ranges": [[{"subnet": subnet}]], "dataDir": str(data_dir)}}],
    }, indent=1)


class Containerd:
    """A private containerd with CRI in `d` (a short path: containerd's sockets live there).

    snapshotter: the CRI plugin's snapshotter ("overlayfs"; "tiffin" with a proxy plugin given in
    extra_toml, e.g. '[proxy_plugins.tiffin]\\n  type = "snapshot"\\n  address = "/x/snap.sock"').
    runtimes: handler name -> BinaryName of the runc v2 shim (None: runc)."""

    def __init__(self, d: Path, sandbox_image: str, snapshotter="overlayfs", extra_toml="",
                 runtimes=None, registry_hosts=(), command_prefix=()):
        self.dir = Path(d)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sandbox_image = sandbox_image
        self.snapshotter = snapshotter
        self.command_prefix = list(command_prefix)  # e.g. nsenter --net=…: a benchmark's shaped network
        self.sock = self.dir / "ctd.sock"
        self.root = self.dir / "root"
        self.state = self.dir / "state"
        self.runc_root = self.dir / "runc"  # the shims' --root for runc / tiffin-oci: <runc_root>/k8s.io/<id>
        self.log_dir = self.dir / "logs"
        tag = uuid.uuid4().hex[:8]
        self.cgroup_parent = f"/tiffin-cri-e2e-{tag}"
        self.bridge = f"tfcri{tag[:8]}"
        self.subnet_prefix = f"10.241.{random.randint(1, 254)}"
        self.subnet = f"{self.subnet_prefix}.0/24"
        self.runtimes = {"runc": None, "tiffin": OCI, **(runtimes or {})}
        hosts = {sandbox_image.split("/", 1)[0], *registry_hosts}
        self.ip_forward = Path("/proc/sys/net/ipv4/ip_forward").read_text()
        self._write_config(hosts, extra_toml)
        self.proc = None
        self.logf = None
        self.start()

    def _write_config(self, hosts, extra_toml):
        cni = self.dir / "cni"
        cni.mkdir(exist_ok=True)
        (cni / "10-tiffin-cri.conflist").write_text(
            cni_conflist(f"tfcri-{self.bridge}", self.bridge, self.subnet, self.dir / "ipam"))
        lines = [
            "version = 2",
            f'root = "{self.root}"',
            f'state = "{self.state}"',
            # Snapshotters this machine cannot use only add noise to the log.
            'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",'
            ' "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]',
            "[grpc]", f'  address = "{self.sock}"',
            "[ttrpc]", f'  address = "{self.dir / "ttrpc.sock"}"',
            "[debug]", '  level = "debug"',
            '[plugins."io.containerd.internal.v1.opt"]', f'  path = "{self.dir / "opt"}"',
            f"[{CRI}]",
            f'  sandbox_image = "{self.sandbox_image}"',
            '  stream_server_address = "127.0.0.1"', '  stream_server_port = "0"',
            # Pods' network namespaces under our state dir, not /var/run/netns.
            "  netns_mounts_under_state_dir = true",
            "  enable_selinux = false",
            # containerd gives sandboxes oom_score_adj -998; lowering it needs CAP_SYS_RESOURCE, which
            # these machines lack (runc fails as tiffin-oci does): clamp it to containerd's own.
            "  restrict_oom_score_adj = true",
            f"[{CRI}.containerd]",
            f'  snapshotter = "{self.snapshotter}"',
            '  default_runtime_name = "runc"',
            # Image references reach the snapshotter as labels (remote/lazy snapshotters need them).
            "  disable_snapshot_annotations = false",
        ]
        for name, binary in self.runtimes.items():
            lines += [f"[{CRI}.containerd.runtimes.{name}]", '  runtime_type = "io.containerd.runc.v2"',
                      f"[{CRI}.containerd.runtimes.{name}.options]", f'  Root = "{self.runc_root}"',
                      "  SystemdCgroup = false"]
            if binary:
                lines.append(f'  BinaryName = "{binary}"')
        lines += [f"[{CRI}.cni]", '  bin_dir = "/usr/lib/cni"', f'  conf_dir = "{cni}"', "  max_conf_num = 1"]
        for host in sorted(hosts):
            lines += [f'[{CRI}.registry.mirrors."{host}"]', f'  endpoint = ["http://{host}"]']
        (self.dir / "config.toml").write_text("\n".join(lines) + "\n" + extra_toml + "\n")

    # --- the daemon

    def start(self, timeout=30):
        self.logf = open(self.dir / "containerd.log", "ab")
        self.proc = subprocess.Popen(self.command_prefix + ["containerd", "--config", str(self.dir / "config.toml")],
                                     stdout=self.logf, stderr=self.logf, start_new_session=True)
        deadline = time.time() + timeout
        while not self.sock.exists():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"containerd did not start:\n{self.log_tail()}")
            time.sleep(0.05)
        while True:  # the socket is up before the CRI service answers
            c = self.client()  # a new channel each time: a refused one backs off for seconds
            try:
                c.version()
                break
            except Exception:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"containerd's CRI did not answer:\n{self.log_tail()}")
                time.sleep(0.1)
            finally:
                c.close()
        return self

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.logf:
            self.logf.close()
            self.logf = None

    def restart(self):
        """SIGTERM, wait, start again with the same config: the shims and containers stay."""
        self.stop()
        self.start()

    def log_tail(self, lines=60):
        try:
            return "\n".join((self.dir / "containerd.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def client(self):
        return CriClient(self)

    # --- what is left, and removing it

    def shims(self):
        """Live shims of this containerd (their command line names its socket)."""
        return [p for p in _processes_running(str(self.sock)) if "containerd-shim" in p[1]]

    def cgroups(self):
        """Directories under the pods' cgroup parent, in every hierarchy (the parent included)."""
        rel = self.cgroup_parent.lstrip("/")
        root = Path("/sys/fs/cgroup")
        # v1 controllers and named hierarchies, the unified one of a hybrid host, or (pure v2)
        # the root itself; cpu and cpuacct are links to one hierarchy, hence realpath.
        bases = {os.path.realpath(b) for b in [root / rel, *(h / rel for h in root.iterdir())]}
        out = []
        for base in map(Path, bases):
            if base.is_dir():
                out += [str(base)] + [str(p) for p in base.rglob("*") if p.is_dir()]
        return sorted(set(out))

    def leftovers(self, cgroup_parent_too=True):
        """What the pods left: mounts under the dir (netns, shm, rootfs), processes in the pods'
        cgroups or naming the dir (shims, containers; not containerd itself), runtime state dirs,
        cgroups, netns files. Empty ({}) when nothing is left.
        `cgroup_parent_too`: count the (empty) parent itself, which containerd never removes."""
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
                  if line.split()[4].startswith(str(self.dir) + "/")]
        daemon = self.proc.pid if self.proc and self.proc.poll() is None else None
        procs = [p[1] for p in _processes_running(str(self.dir)) if p[0] != daemon]
        procs += [f"pid {pid} in {self.cgroup_parent}" for pid in pids_in_cgroup(self.cgroup_parent)]
        # <runc_root>/<namespace>/<id>; tiffin-oci's .seccomp-cache beside the ids is a cache.
        state = sorted(str(c) for ns in (self.runc_root.iterdir() if self.runc_root.exists() else [])
                       for c in ns.iterdir() if not c.name.startswith("."))
        cgroups = [c for c in self.cgroups() if cgroup_parent_too or not c.endswith(self.cgroup_parent)]
        netns = sorted(str(p) for p in self.state.glob("io.containerd.grpc.v1.cri/netns/*"))
        return {k: v for k, v in {"mounts": mounts, "processes": procs, "runtime_state": state,
                                  "cgroups": cgroups, "netns": netns}.items() if v}

    def remove_pods(self):
        """StopPodSandbox and RemovePodSandbox of every pod, as kubelet does when pods go."""
        if not self.proc or self.proc.poll() is not None:
            return []
        errors = []
        c = self.client()
        try:
            for pod in c.list_pods():
                for call in (c.stop_pod, c.remove_pod):
                    try:
                        call(pod.id)
                    except Exception as e:  # keep going: teardown removes what is left by force
                        errors.append(f"{call.__name__} {pod.id}: {e}")
        finally:
            c.close()
        return errors

    def close(self):
        """Removes the pods, stops containerd, kills leftover shims and containers, unmounts
        everything under the dir, removes the cgroups, the bridge and the dir. Returns what had
        to be removed by force (empty when the pods went cleanly)."""
        forced = {}
        errors = self.remove_pods()
        if errors:
            forced["pod_removal_errors"] = errors
        self.stop()
        left = self.leftovers(cgroup_parent_too=False)
        if left:
            forced.update(left)
        for pid, _ in self.shims():
            _kill(pid)
        kill_processes_in_cgroup(self.cgroup_parent + "/")
        processes_running(str(self.dir), settle=3)
        for m in sorted(left.get("mounts", []), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        for c in sorted(self.cgroups(), key=len, reverse=True):
            try:
                os.rmdir(c)
            except OSError as e:
                forced.setdefault("cgroup_rmdir_errors", []).append(f"{c}: {e}")
        if Path(f"/sys/class/net/{self.bridge}").exists():
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        for f in Path("/var/lib/cni/results").glob(f"tfcri-{self.bridge}-*"):
            f.unlink(missing_ok=True)
        if Path("/proc/sys/net/ipv4/ip_forward").read_text() != self.ip_forward:
            Path("/proc/sys/net/ipv4/ip_forward").write_text(self.ip_forward)
            forced["ip_forward"] = ["changed"]
        still = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
                 if line.split()[4].startswith(str(self.dir) + "/")]
        if still:
            forced["mounts_after_umount"] = still
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return forced


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def pids_in_cgroup(parent):
    """Pids whose cgroup (any hierarchy) lies under `parent`."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            text = Path(f"/proc/{pid}/cgroup").read_text()
        except OSError:
            continue
        if any(line.split(":", 2)[2].startswith(parent + "/") or line.split(":", 2)[2] == parent
               for line in text.splitlines()):
            out.append(int(pid))
    return out


# The CRI client -----------------------------------------------------------------------------

class CriClient:
    """CRI runtime.v1 over containerd's socket, with the calls kubelet makes in the order it
    makes them. Pods are made with the Containerd's cgroup parent and log dir; containers run
    with the runtime of their pod (its runtime_handler)."""

    def __init__(self, ctd: Containerd):
        import grpc
        self.pb, pb_grpc = stubs()
        self.ctd = ctd
        self.channel = grpc.insecure_channel(f"unix://{ctd.sock}")
        self.rt = pb_grpc.RuntimeServiceStub(self.channel)
        self.img = pb_grpc.ImageServiceStub(self.channel)
        self.configs = {}  # pod id -> its PodSandboxConfig (CreateContainer sends it again)

    def close(self):
        self.channel.close()

    # --- images

    def version(self):
        return self.rt.Version(self.pb.VersionRequest(version="v1"), timeout=5)

    def pull(self, ref, timeout=120):
        return self.img.PullImage(self.pb.PullImageRequest(image=self.pb.ImageSpec(image=ref)), timeout=timeout).image_ref

    def image_status(self, ref):
        return self.img.ImageStatus(self.pb.ImageStatusRequest(image=self.pb.ImageSpec(image=ref)), timeout=30).image

    def ensure_image(self, ref):
        """kubelet's IfNotPresent: ImageStatus, and PullImage when the store lacks the image."""
        if not self.image_status(ref).id:
            self.pull(ref)

    def list_images(self):
        return list(self.img.ListImages(self.pb.ListImagesRequest(), timeout=30).images)

    def remove_image(self, ref):
        self.img.RemoveImage(self.pb.RemoveImageRequest(image=self.pb.ImageSpec(image=ref)), timeout=60)

    # --- pods

    def pod_config(self, name, namespace="tiffin-e2e", hostname=None, labels=None, sysctls=None, privileged=False,
                   network=None, pid=None, ipc=None):
        """network, pid, ipc: NamespaceMode values (default POD, CONTAINER, POD as kubelet asks)."""
        pb = self.pb
        uid = uuid.uuid4().hex
        log_dir = self.ctd.log_dir / f"{namespace}_{name}_{uid}"
        log_dir.mkdir(parents=True, exist_ok=True)
        ns = pb.NamespaceOption(network=pb.POD if network is None else network,
                                pid=pb.CONTAINER if pid is None else pid, ipc=pb.POD if ipc is None else ipc)
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace=namespace, attempt=0),
            # kubelet names no hostname for a hostNetwork pod: it keeps the node's (no uts namespace)
            hostname="" if network == pb.NODE else hostname or name, log_directory=str(log_dir), labels=labels or {},
            dns_config=pb.DNSConfig(servers=["127.0.0.1"]),  # never the host's resolver
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=self.ctd.cgroup_parent, sysctls=sysctls or {},
                security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns, privileged=privileged)))

    def run_pod(self, name, runtime_handler="tiffin", timeout=120, **kw):
        config = self.pod_config(name, **kw)
        pod = self.rt.RunPodSandbox(self.pb.RunPodSandboxRequest(config=config, runtime_handler=runtime_handler),
                                    timeout=timeout).pod_sandbox_id
        self.configs[pod] = config
        return pod

    def pod_status(self, pod, verbose=False):
        return self.rt.PodSandboxStatus(self.pb.PodSandboxStatusRequest(pod_sandbox_id=pod, verbose=verbose), timeout=30)

    def pod_ip(self, pod):
        return self.pod_status(pod).status.network.ip

    def pod_pid(self, pod):
        """The sandbox (pause) process's host pid, from containerd's verbose info."""
        return json.loads(self.pod_status(pod, verbose=True).info["info"])["pid"]

    def list_pods(self):
        return list(self.rt.ListPodSandbox(self.pb.ListPodSandboxRequest(), timeout=30).items)

    def stop_pod(self, pod, timeout=120):
        self.rt.StopPodSandbox(self.pb.StopPodSandboxRequest(pod_sandbox_id=pod), timeout=timeout)

    def remove_pod(self, pod, timeout=120):
        self.rt.RemovePodSandbox(self.pb.RemovePodSandboxRequest(pod_sandbox_id=pod), timeout=timeout)
        self.configs.pop(pod, None)

    # --- containers

    def create_container(self, pod, name, image, command=(), args=(), env=None, mounts=(), tty=False, linux=None,
                         resources=None):
        """resources: LinuxContainerResources fields (cpu_shares=…, memory_limit_in_bytes=…)."""
        pb = self.pb
        self.ensure_image(image)
        config = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name, attempt=0), image=pb.ImageSpec(image=image),
            command=list(command), args=list(args), envs=[pb.KeyValue(key=k, value=v) for k, v in (env or {}).items()],
            mounts=list(mounts), log_path=f"{name}/0.log", tty=tty,
            linux=linux or pb.LinuxContainerConfig(
                resources=pb.LinuxContainerResources(**(resources or {})),
                security_context=pb.LinuxContainerSecurityContext(
                    namespace_options=pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD))))
        return self.rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=pod, config=config,
                                                                 sandbox_config=self.configs[pod]),
                                       timeout=120).container_id

    def start_container(self, cid, timeout=60):
        self.rt.StartContainer(self.pb.StartContainerRequest(container_id=cid), timeout=timeout)

    def run_container(self, pod, name, image, command=(), args=(), **kw):
        cid = self.create_container(pod, name, image, command, args, **kw)
        self.start_container(cid)
        return cid

    def stop_container(self, cid, grace=10):
        self.rt.StopContainer(self.pb.StopContainerRequest(container_id=cid, timeout=grace), timeout=grace + 60)

    def remove_container(self, cid):
        self.rt.RemoveContainer(self.pb.RemoveContainerRequest(container_id=cid), timeout=60)

    def list_containers(self, pod=None):
        f = self.pb.ContainerFilter(pod_sandbox_id=pod or "")
        return list(self.rt.ListContainers(self.pb.ListContainersRequest(filter=f), timeout=30).containers)

    def container_status(self, cid, verbose=False):
        return self.rt.ContainerStatus(self.pb.ContainerStatusRequest(container_id=cid, verbose=verbose), timeout=30)

    def container_pid(self, cid):
        return json.loads(self.container_status(cid, verbose=True).info["info"])["pid"]

    def wait_exited(self, cid, timeout=30):
        deadline = time.time() + timeout
        while True:
            st = self.container_status(cid).status
            if st.state == self.pb.CONTAINER_EXITED or time.time() > deadline:
                return st
            time.sleep(0.05)

    def update_resources(self, cid, **linux):
        """UpdateContainerResources with LinuxContainerResources fields (memory_limit_in_bytes=…)."""
        self.rt.UpdateContainerResources(self.pb.UpdateContainerResourcesRequest(
            container_id=cid, linux=self.pb.LinuxContainerResources(**linux)), timeout=60)

    def exec_sync(self, cid, cmd, timeout=30):
        return self.rt.ExecSync(self.pb.ExecSyncRequest(container_id=cid, cmd=list(cmd), timeout=timeout),
                                timeout=timeout + 30)

    def stats(self, cid):
        return self.rt.ContainerStats(self.pb.ContainerStatsRequest(container_id=cid), timeout=30).stats

    def log(self, pod, name):
        """The container's CRI log (lines "<time> <stream> <P|F> <text>") as (stream, text) pairs."""
        path = Path(self.configs[pod].log_directory) / name / "0.log"
        out = []
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            parts = line.split(" ", 3)
            if len(parts) == 4:
                out.append((parts[1], parts[3]))
        return out


# tiffin-snapshotter ---------------------------------------------------------------------------

BIN = Path(TIFFIN).parent
SNAPSHOTTER = os.environ.get("TIFFIN_SNAPSHOTTER_BIN", str(BIN / "tiffin-snapshotter"))


class Snapshotter:
    """A tiffin-snapshotter with its socket and root in a short temp dir, images from hub user
    alice's flists on `hub_url`. `command_prefix`: e.g. nsenter --net=… (a benchmark's node)."""

    def __init__(self, hub_url, token, *extra, command_prefix=(), log_level="debug"):
        self.dir = Path(tempfile.mkdtemp(prefix="tfsn-", dir="/tmp"))
        self.sock, self.root = self.dir / "sn.sock", self.dir / "root"
        token_file = self.dir / "token"
        token_file.write_text(token + "\n")
        token_file.chmod(0o600)
        self.argv = [*command_prefix, SNAPSHOTTER, "--address", str(self.sock), "--root", str(self.root), "--hub", hub_url,
                     "--hub-user", "alice", "--hub-token-file", str(token_file), "--tiffin", str(BIN / "tiffin-full"),
                     "--log-level", log_level, *extra]
        self.proc = None
        try:
            self.start()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def start(self):
        self.log = open(self.dir / "snapshotter.log", "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while not self.sock.exists():
            assert self.proc.poll() is None and time.time() < deadline, self.log_text()
            time.sleep(0.02)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(20)
        self.log.close()

    def restart(self):
        self.stop()
        self.start()

    def log_text(self):
        return (self.dir / "snapshotter.log").read_text(errors="replace")[-6000:]

    def toml(self):
        return f'[proxy_plugins]\n  [proxy_plugins.tiffin]\n    type = "snapshot"\n    address = "{self.sock}"\n'

    def lazy_mounts(self):
        return [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
                if line.split()[4].startswith(str(self.root) + "/")]

    def snapshots(self):
        db = sqlite3.connect(f"file:{self.root / 'metadata.db'}?mode=ro", uri=True)
        try:
            return [r[0] for r in db.execute("SELECT name FROM snapshots")]
        finally:
            db.close()

    def close(self):
        """Stops it and unmounts what images containerd still had (a failed test's)."""
        self.stop()
        for m in self.lazy_mounts():
            tiffin("flist", "umount", m, rc=None)
        shutil.rmtree(self.dir, ignore_errors=True)


# Fixtures (import them into a test module: `from cri import cri_images, containerd_factory`) -------


@pytest.fixture(scope="module")
def cri_images(tmp_path_factory):
    """The pause and app images in a registry on loopback, for a module's tests: Images(pause, app)."""
    from registry import Registry
    reg = Registry(tmp_path_factory.mktemp("cri-registry"))
    try:
        yield push_images(reg, tmp_path_factory.mktemp("cri-layouts"))
    finally:
        reg.stop()


@pytest.fixture
def containerd_factory(cri_images):
    """start(snapshotter="overlayfs", extra_toml="", runtimes=None) -> a started Containerd whose
    sandbox image is cri_images.pause. Afterwards every one is closed, and the test fails if any
    pod could not be removed cleanly or left mounts, processes, cgroups or runtime state."""
    from oci import become_subreaper, reap, stop_being_subreaper
    become_subreaper()  # the shims' daemons are reparented to us: reap them (until teardown)
    started = []

    def start(**kw):
        d = Path(tempfile.mkdtemp(prefix="tfcri-", dir="/tmp"))  # short: containerd's sockets live there
        try:
            ctd = Containerd(d, cri_images.pause, **kw)
        except BaseException:
            log = (d / "containerd.log").read_text(errors="replace") if (d / "containerd.log").exists() else ""
            shutil.rmtree(d, ignore_errors=True)
            raise RuntimeError(f"containerd in {d} failed to start:\n{log[-4000:]}")
        started.append(ctd)
        return ctd

    yield start
    problems = {}
    for ctd in started:
        forced = ctd.close()
        if forced:
            problems[str(ctd.dir)] = forced
            print(ctd.log_tail(200))
    reap()
    stop_being_subreaper()
    assert not problems, f"what removing the pods left (removed by force): {problems}"


@pytest.fixture
def containerd(containerd_factory):
    """A private containerd with CRI, the overlayfs snapshotter and handlers "runc" and "tiffin"."""
    return containerd_factory()
