#!/usr/bin/env python3
"""Dockerfile builds: tiffin build against docker build (dockerd 20.10, the legacy builder,
DOCKER_BUILDKIT=0) and buildah (bud --layers, overlay storage, runc: chroot isolation has no
--network none, crun refuses the hybrid cgroups), in the same run,
over the same local base image (the debootstrap'd Debian tree cold_start_bench.py caches in
$TIFFIN_BENCH_CACHE when it is there, else a busybox tree).

Timed (medians of --runs):
  cold       a 5-step Dockerfile (COPY app, RUN, RUN, ENV, CMD) with empty build caches
  edit       the rebuild after one copied file changed (COPY and both RUNs again)
  nochange   the rebuild with nothing changed (everything from the cache)
  stages     a 3-stage Dockerfile whose first two stages are independent, each RUN ~1 s of
             `sleep 1` and a small write: what building them at once saves (tiffin builds
             independent stages at once; docker's legacy builder one after another; buildah
             with --jobs 1 and --jobs 2)
Reported: the bytes each cache holds after cold + edit + nochange (tiffin builder du; docker
system df; and for all three how much their store grew over the base image on disk).
Every RUN has --network none. Needs root; nothing leaves loopback (dockerd pulls nothing).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from dockerd import Docker  # noqa: E402

TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))
CACHE = Path(os.environ.get("TIFFIN_BENCH_CACHE", "/var/tmp/tiffin-bench"))

DOCKERFILE = """FROM base:1
COPY app /app
RUN mkdir -p /out && cp -r /app /out/ && echo built > /out/stamp
RUN for i in $(seq 1 500); do echo "line $i"; done > /out/list && wc -l /out/list
ENV APP_MODE=bench
CMD ["cat", "/out/stamp"]
"""
STAGES = """FROM base:1 AS one
RUN sleep 1 && echo one > /one
FROM base:1 AS two
RUN sleep 1 && echo two > /two
FROM base:1
COPY --from=one /one /one
COPY --from=two /two /two
"""


def run(cmd, env=None, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, env=env, **kw)
    if p.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} exited {p.returncode}: "
                         f"{p.stdout.decode(errors='replace')[-1500:]}{p.stderr.decode(errors='replace')[-1500:]}")
    return p


def timed(cmd, env=None):
    t = time.perf_counter()
    run(cmd, env)
    return time.perf_counter() - t


def du(path):
    """Bytes on disk under path (one file system: no mounts)."""
    p = subprocess.run(["du", "-s", "-B1", "-x", str(path)], capture_output=True, text=True)
    return int(p.stdout.split()[0]) if p.returncode == 0 and p.stdout else 0


def base_tree(tmp):
    debian = CACHE / "debian-python"
    if (debian / "bin").exists():
        return debian, "Debian bookworm minbase + python3 (cached debootstrap)"
    root = tmp / "busybox"
    (root / "bin").mkdir(parents=True)
    for d in ["etc", "tmp", "root", "proc", "sys", "dev"]:
        (root / d).mkdir()
    shutil.copy2("/bin/busybox", root / "bin/busybox")
    run(["/bin/busybox", "--install", "-s", root / "bin"])
    for link in (root / "bin").iterdir():
        if link.is_symlink():
            link.unlink()
            link.symlink_to("busybox")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    return root, "busybox"


def make_context(tmp):
    ctx = tmp / "ctx"
    (ctx / "app").mkdir(parents=True)
    for i in range(40):
        (ctx / f"app/f{i:02}.txt").write_bytes(os.urandom(16384).hex().encode())  # 40 files of 32 KiB
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    stages = tmp / "stages"
    stages.mkdir()
    (stages / "Dockerfile").write_text(STAGES)
    return ctx, stages


def edit(ctx, n):
    (ctx / "app/f07.txt").write_text(f"edited {n} {time.time()}\n")


# ---- the three builders, behind one shape: setup(base), build(ctx, tag), clear(), cache_text(), store_bytes(), stop()

class Tiffin:
    name = "tiffin"

    def __init__(self, tmp):
        self.dir = Path(tempfile.mkdtemp(prefix="tfb-", dir="/var/tmp"))
        self.run_root = Path(tempfile.mkdtemp(prefix="tfr-", dir="/tmp"))

    def cli(self, *args):
        return [TIFFIN, "--root", self.dir / "root", "--run-root", self.run_root, "--dns-upstream", "127.0.0.1:9", *args]

    def setup(self, tree):
        run(self.cli("import", tree, "base:1", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "--cmd", "sh"))

    def build(self, ctx, tag, jobs=None):
        return timed(self.cli("build", "-q", "--network", "none", "-t", tag, ctx))

    def clear(self, *tags):
        for t in tags:
            subprocess.run(self.cli("rmi", t), capture_output=True)
        run(self.cli("builder", "prune", "-f"))

    def cache_text(self):
        out = run(self.cli("builder", "du")).stdout.decode()
        return " ".join(out.split())

    def store_bytes(self):
        return du(self.dir)

    def stop(self):
        subprocess.run(self.cli("system", "prune", "-af"), capture_output=True)
        for root in (self.run_root, self.dir):
            mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines() if str(root) in line]
            for mp in sorted(mounts, key=len, reverse=True):
                subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(self.run_root, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class DockerBuild:
    name = "docker"

    def __init__(self, tmp):
        self.d = Docker(tmp)
        self.env = dict(os.environ, DOCKER_BUILDKIT="0")
        if not self.d.start():
            self.d.stop()
            raise SystemExit("bench: dockerd did not start")

    def cli(self, *args):
        return self.d.cli(*map(str, args))

    def setup(self, tree):
        tar = Path(tempfile.mkdtemp(dir="/var/tmp")) / "base.tar"
        try:
            run(["tar", "--numeric-owner", "--xattrs", "-C", tree, "-cf", tar, "."])
            run(self.cli("import", "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         "--change", 'CMD ["sh"]', tar, "base:1"))
        finally:
            shutil.rmtree(tar.parent)

    def build(self, ctx, tag, jobs=None):
        return timed(self.cli("build", "-q", "--network", "none", "-t", tag, ctx), self.env)

    def clear(self, *tags):
        # The legacy builder's cache is the intermediate images under a tag: removing the tag
        # removes them.
        for t in tags:
            subprocess.run(self.cli("rmi", "-f", t), capture_output=True)
        subprocess.run(self.cli("image", "prune", "-f"), capture_output=True)
        subprocess.run(self.cli("builder", "prune", "-af"), capture_output=True)

    def cache_text(self):
        out = run(self.cli("system", "df")).stdout.decode().splitlines()
        return " | ".join(" ".join(line.split()) for line in out[1:])

    def store_bytes(self):
        return du(f"{self.d.dir}/data")

    def stop(self):
        self.d.stop()


class Buildah:
    name = "buildah"

    def __init__(self, tmp):
        if not shutil.which("buildah"):
            raise RuntimeError("no buildah (apt-get install buildah)")
        self.dir = Path(tempfile.mkdtemp(prefix="bh-", dir="/var/tmp"))
        self.base = ["buildah", "--root", self.dir / "root", "--runroot", self.dir / "runroot", "--storage-driver", "overlay"]
        # No registry is ever asked: a short name is local or nothing.
        (self.dir / "registries.conf").write_text("unqualified-search-registries = []\n")
        self.env = dict(os.environ, CONTAINERS_REGISTRIES_CONF=str(self.dir / "registries.conf"))

    def cli(self, *args):
        return [*self.base, *map(str, args)]

    def setup(self, tree):
        c = run(self.cli("from", "scratch"), self.env).stdout.decode().strip()
        run(self.cli("copy", c, tree, "/"), self.env)
        run(self.cli("config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "--cmd", "sh", c), self.env)
        run(self.cli("commit", "-q", c, "base:1"), self.env)
        run(self.cli("rm", c), self.env)

    def build(self, ctx, tag, jobs=1):
        return timed(self.cli("bud", "-q", "--layers", "--isolation", "oci", "--runtime", "runc", "--pull=never",
                              "--network", "none",
                              "--jobs", jobs or 1, "-t", tag, ctx), self.env)

    def clear(self, *tags):
        for t in tags:
            subprocess.run(self.cli("rmi", "-f", t), capture_output=True, env=self.env)
        subprocess.run(self.cli("rmi", "--prune"), capture_output=True, env=self.env)

    def cache_text(self):
        out = run(self.cli("images", "-a"), self.env).stdout.decode().splitlines()
        return f"{len(out) - 1} images (with intermediate ones)"

    def store_bytes(self):
        return du(self.dir / "root")

    def stop(self):
        subprocess.run(self.cli("rm", "-a"), capture_output=True, env=self.env)
        subprocess.run(self.cli("rmi", "-af"), capture_output=True, env=self.env)
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines() if str(self.dir) in line]
        for mp in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def med(xs):
    return statistics.median(xs)


def human(n):
    for unit in ["B", "KiB", "MiB", "GiB"]:
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def bench_one(b, ctx, stages, runs):
    res = {k: [] for k in ["cold", "edit", "nochange", "stages", "stages-j2"]}
    grown = []
    for i in range(runs):
        b.clear("bench:1")
        before = b.store_bytes()
        res["cold"].append(b.build(ctx, "bench:1"))
        edit(ctx, i)
        res["edit"].append(b.build(ctx, "bench:1"))
        res["nochange"].append(b.build(ctx, "bench:1"))
        grown.append(b.store_bytes() - before)
        cache = b.cache_text()
        b.clear("bench:1", "stages:1")
        res["stages"].append(b.build(stages, "stages:1"))
        if isinstance(b, Buildah):
            b.clear("stages:1")
            res["stages-j2"].append(b.build(stages, "stages:1", jobs=2))
        b.clear("stages:1")
    return res, med(grown), cache


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip", action="append", default=[], choices=["docker", "buildah"])
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: needs root")
    tmp = Path(tempfile.mkdtemp(prefix="buildbench-", dir="/var/tmp"))
    builders = []
    try:
        tree, what = base_tree(tmp)
        ctx, stages = make_context(tmp)
        print(f"bench: base image {what}, {human(du(tree))}; {args.runs} runs each; context 40 files, 1.3 MB", flush=True)
        kinds = [Tiffin] + ([DockerBuild] if "docker" not in args.skip and shutil.which("dockerd") else []) \
            + ([Buildah] if "buildah" not in args.skip and shutil.which("buildah") else [])
        results = {}
        for kind in kinds:  # one builder at a time: the machine is shared
            b = kind(tmp)
            builders.append(b)
            t = time.perf_counter()
            b.setup(tree)
            print(f"bench: {b.name}: base imported in {time.perf_counter() - t:.1f}s", flush=True)
            results[b.name] = bench_one(b, ctx, stages, args.runs)
            b.stop()
            builders.remove(b)
        rows = [("cold 5-step build", "cold"), ("rebuild, one file edited", "edit"), ("rebuild, no change", "nochange"),
                ("3 stages, 2 independent x 1 s", "stages")]
        names = list(results)
        print(f"\n{'median seconds':32}" + "".join(f"{n:>10}" for n in names) + "".join(f"{'tiffin/' + n:>16}" for n in names[1:]))
        for label, key in rows:
            line = f"{label:32}" + "".join(f"{med(results[n][0][key]):>10.2f}" for n in names)
            line += "".join(f"{med(results['tiffin'][0][key]) / med(results[n][0][key]):>15.2f}x" for n in names[1:])
            print(line)
        if "buildah" in results and results["buildah"][0]["stages-j2"]:
            print(f"{'  buildah --jobs 2 (parallel)':32}" + " " * 10 * (names.index("buildah"))
                  + f"{med(results['buildah'][0]['stages-j2']):>10.2f}"
                  + f"{'':>16}" * (names.index("buildah") - 1)
                  + f"{med(results['tiffin'][0]['stages']) / med(results['buildah'][0]['stages-j2']):>15.2f}x")
        print(f"\n{'store growth, cold+edit+nochange':32}" + "".join(f"{human(results[n][1]):>10}" for n in names))
        for n in names:
            print(f"cache as {n} reports it: {results[n][2]}")
    finally:
        for b in builders:
            b.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
