"""tiffin build end to end, as root: Dockerfiles written here (every instruction, multi-stage,
ARG scoping, .dockerignore, whiteouts, heredocs, ONBUILD), RUN steps as real containers of the
engine, the layer cache (hits, misses after one edited file, --no-cache, builder prune), and
failures that leave no container, mount or image behind."""
import hashlib
import json
import os
import signal
import subprocess
import tarfile
from pathlib import Path

import pytest

from buildbase import base_rootfs
from conftest import TIFFIN, needs_root
from engine import node  # noqa: F401 (fixtures)

pytestmark = needs_root


@pytest.fixture
def base(node, tmp_path):
    """A local base image: busybox with all its applets, a passwd and a group."""
    root = base_rootfs(tmp_path / "base-rootfs")
    node("import", root, "base:1", "--env", "PATH=/bin", "--cmd", "sh")
    return "base:1"


def build(node, ctx, *flags, rc=0):
    p = node("build", *flags, ctx, rc=rc, timeout=120)
    return p.stdout.decode().strip(), p.stderr.decode()


def context(tmp_path, dockerfile, files=None, name="ctx"):
    ctx = tmp_path / name
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    for path, content in (files or {}).items():
        (ctx / path).parent.mkdir(parents=True, exist_ok=True)
        (ctx / path).write_bytes(content if isinstance(content, bytes) else content.encode())
    return ctx


def config(node, ref):
    return json.loads(node.out("image", "inspect", ref))[0]["Config"]


def test_every_instruction(node, base, tmp_path):
    payload = tmp_path / "payload"
    (payload / "lib").mkdir(parents=True)
    (payload / "lib/data.txt").write_text("from the tar\n")
    with tarfile.open(tmp_path / "payload.tgz", "w:gz") as t:
        t.add(payload / "lib", arcname="lib")
    ctx = context(tmp_path, r"""# syntax=docker/dockerfile:1
ARG BASE=base:1
FROM ${BASE} AS main
MAINTAINER someone@example.test
ARG GREETING=hello
ENV APP=/srv/app \
    MODE="production mode"
ENV LEGACY value with spaces
LABEL org.example.name="demo" org.example.greeting=$GREETING
WORKDIR $APP
WORKDIR sub
COPY --chown=user:staff --chmod=0640 app.conf ./
COPY [ "run.sh", "/usr/local/bin/" ]
ADD payload.tgz /opt/
COPY <<EOF /etc/motd
greeting: ${GREETING}
EOF
RUN echo "$GREETING from $(pwd) in $MODE" > /greeting && chmod 755 /usr/local/bin/run.sh
RUN ["/bin/sh", "-c", "echo exec form > /exec"]
RUN <<SCRIPT
echo heredoc one > /heredoc
echo "$GREETING" >> /heredoc
SCRIPT
SHELL ["/bin/sh", "-e", "-c"]
RUN test "$LEGACY" = "value with spaces" && echo shell-changed > /shell
USER user
EXPOSE 8080 53/udp 9000-9001
VOLUME /data /cache
VOLUME ["/json"]
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=5s --retries=2 CMD cat /greeting
ONBUILD RUN echo triggered > /onbuild
ENTRYPOINT ["/usr/local/bin/run.sh"]
CMD ["default-arg"]
""", {"app.conf": "key=value\n", "run.sh": "#!/bin/sh\necho run.sh \"$@\"\n",
      "payload.tgz": (tmp_path / "payload.tgz").read_bytes()})
    image_id, err = build(node, ctx, "-t", "demo:1", "-t", "demo:latest", "--build-arg", "GREETING=hi")
    assert image_id.startswith("sha256:")
    assert "Successfully tagged demo:1" in err and ": FROM ${BASE} AS main" in err

    c = config(node, "demo:1")
    assert c["Entrypoint"] == ["/usr/local/bin/run.sh"] and c["Cmd"] == ["default-arg"]
    assert {"APP=/srv/app", "MODE=production mode", "LEGACY=value with spaces", "PATH=/bin"} <= set(c["Env"])
    assert not any(e.startswith("GREETING=") for e in c["Env"]), "a build ARG is not the image's environment"
    assert c["WorkingDir"] == "/srv/app/sub" and c["User"] == "user"
    assert c["Labels"] == {"org.example.name": "demo", "org.example.greeting": "hi"}
    assert set(c["ExposedPorts"]) == {"8080/tcp", "53/udp", "9000/tcp", "9001/tcp"}
    assert set(c["Volumes"]) == {"/data", "/cache", "/json"}
    assert c["StopSignal"] == "SIGQUIT"
    h = c["Healthcheck"]
    assert (h["Test"], h["Interval"], h["Timeout"], h["Retries"]) == (["CMD-SHELL", "cat /greeting"], 30 * 10**9, 5 * 10**9, 2)
    assert c["OnBuild"] == ["RUN echo triggered > /onbuild"]
    assert json.loads(node.out("image", "inspect", "demo:latest"))[0]["Id"] == image_id

    assert node.out("run", "--rm", "demo:1") == "run.sh default-arg"
    files = node.out("run", "--rm", "--entrypoint", "sh", "demo:1", "-c",
                     "cat /greeting /exec /heredoc /shell /opt/lib/data.txt /etc/motd; stat -c '%a %U:%G' app.conf; "
                     "stat -c %a /usr/local/bin/run.sh; test -e /opt/payload.tgz || echo no-tar-copy; test -e /onbuild || echo no-trigger")
    assert files.splitlines() == ["hi from /srv/app/sub in production mode", "exec form", "heredoc one", "hi", "shell-changed",
                                  "from the tar", "greeting: hi", "640 user:staff", "755", "no-tar-copy", "no-trigger"]


def test_multi_stage_copy_from_target_and_unneeded_stages(node, base, tmp_path):
    ctx = context(tmp_path, """FROM base:1 AS builder
RUN mkdir -p /out && echo compiled > /out/app.bin && echo build-only > /out/junk
FROM base:1 AS broken
RUN echo this stage is never needed; exit 3
FROM base:1
COPY --from=builder /out/app.bin /usr/bin/
COPY --from=0 /out/junk /tmp/
""")
    _, err = build(node, ctx, "-t", "multi:1")
    assert "never needed" not in err
    assert node.out("run", "--rm", "multi:1", "cat", "/usr/bin/app.bin", "/tmp/junk").splitlines() == ["compiled", "build-only"]
    assert node.out("run", "--rm", "multi:1", "sh", "-c", "test -e /out || echo no-out") == "no-out"
    # --target builds the stage asked for and what it needs.
    build(node, ctx, "--target", "builder", "-t", "multi:builder")
    assert node.out("run", "--rm", "multi:builder", "cat", "/out/app.bin") == "compiled"
    _, err = build(node, ctx, "--target", "broken", rc=1)
    assert "returned a non-zero code: 3" in err
    assert b"could not be found" in node("build", "--target", "nosuch", ctx, rc=2).stderr


def test_arg_scoping(node, base, tmp_path):
    ctx = context(tmp_path, """ARG VERSION=1
ARG ONLY_FROM=base:1
FROM $ONLY_FROM AS first
RUN echo "[$VERSION][$ONLY_FROM]" > /before
ARG VERSION
RUN echo "[$VERSION]" > /after
ARG LOCAL=default
ENV FROM_ENV=$LOCAL
FROM base:1 AS second
RUN echo "[$LOCAL]" > /other
FROM first
COPY --from=second /other /other
""")
    build(node, ctx, "-t", "args:1", "--build-arg", "VERSION=2")
    out = node.out("run", "--rm", "args:1", "cat", "/before", "/after", "/other").splitlines()
    # A meta ARG is seen in FROM only; redeclared in the stage it has its value; a stage's ARG stays in it.
    assert out == ["[][]", "[2]", "[]"]
    assert "FROM_ENV=default" in config(node, "args:1")["Env"]
    build(node, ctx, "-t", "args:2", "--build-arg", "LOCAL=given")
    assert "FROM_ENV=given" in config(node, "args:2")["Env"]


def test_dockerignore_and_whiteouts(node, base, tmp_path):
    ctx = context(tmp_path, """FROM base:1
COPY . /ctx/
RUN rm /etc/group && rm -r /ctx/keep && mkdir /ctx/keep && echo new > /ctx/keep/fresh
RUN rm /ctx/app.py
""", {"app.py": "x", "keep/old": "old", "secret.key": "s", "logs/a.log": "a", "logs/important.log": "i",
      "node_modules/pkg/index.js": "j", ".dockerignore": "*.key\nlogs/*.log\n!logs/important.log\nnode_modules\n"})
    build(node, ctx, "-t", "ign:1")
    listing = node.out("run", "--rm", "ign:1", "find", "/ctx", "/etc").splitlines()
    assert "/ctx/secret.key" not in listing and "/ctx/logs/a.log" not in listing
    assert "/ctx/logs/important.log" in listing and "/ctx/Dockerfile" in listing
    assert not any(p.startswith("/ctx/node_modules") for p in listing)
    # Deleted in a later RUN: gone; a directory made again holds only what is new.
    assert "/etc/group" not in listing and "/ctx/app.py" not in listing
    assert "/ctx/keep/old" not in listing and "/ctx/keep/fresh" in listing
    # COPY of an ignored file is an error that names it.
    bad = context(tmp_path, "FROM base:1\nCOPY secret.key /\n", {"secret.key": "s", ".dockerignore": "*.key\n"}, name="bad")
    _, err = build(node, bad, rc=2)
    assert "secret.key" in err and "dockerignore" in err


def test_consecutive_runs_stand_on_each_others_changes(node, base, tmp_path):
    """RUNs in a row stand on the upper directories of the ones before them (no image between):
    each sees what they made, deleted and replaced — past an ENV, across a COPY (which starts
    anew from an image), and past the chain's cut at 16."""
    lines = ["FROM base:1", "RUN mkdir /made /dir && echo 0 > /made/0 && touch /made/0.tmp /dir/0"]
    for i in range(1, 21):
        if i == 5:
            lines.append("ENV STEP=five")
        if i == 10:
            lines.append("COPY extra.txt /made/")
        lines.append(f"RUN test -f /made/{i - 1}.tmp && rm /made/{i - 1}.tmp && echo {i} > /made/{i} && touch /made/{i}.tmp"
                     f" && rm -r /dir && mkdir /dir && touch /dir/{i}")
    lines.append('RUN test "$STEP" = five && cat /made/extra.txt > /made/seen')
    ctx = context(tmp_path, "\n".join(lines) + "\n", {"extra.txt": "copied"})
    build(node, ctx, "-t", "chain:1")
    made = sorted(node.out("run", "--rm", "chain:1", "ls", "/made").split())
    assert made == sorted([str(i) for i in range(21)] + ["20.tmp", "extra.txt", "seen"]), made
    assert node.out("run", "--rm", "chain:1", "ls", "/dir") == "20"
    assert node.out("run", "--rm", "chain:1", "cat", "/made/seen") == "copied"
    assert list((node.root / "build-steps").iterdir()) == [], "the steps' directories go with the build"


def test_failing_run_leaves_nothing_behind(node, base, tmp_path):
    images = node.out("images", "-q")
    ctx = context(tmp_path, "FROM base:1\nRUN echo partial > /x\nRUN echo the output; echo to stderr >&2; exit 42\n")
    _, err = build(node, ctx, "-t", "fails:1", rc=1)
    assert "the output" in err and "to stderr" in err
    assert "returned a non-zero code: 42" in err and "Dockerfile:3" in err
    assert node.container_ids() == []
    assert node.out("images", "-q") == images, "no intermediate or partial image stays"
    # Only the base image may still be mounted (the engine keeps an image's mount for reuse).
    base_id = json.loads(node.out("image", "inspect", base))[0]["Id"].split(":")[-1]
    mounted = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines() if str(node.run_root) in line]
    assert all(m.endswith(base_id) for m in mounted), mounted
    # A Dockerfile the parser refuses: its line and column, exit 2.
    bad = context(tmp_path, "FROM base:1\nRUN true\nFROBNICATE x\n", name="bad")
    assert "Dockerfile:3:1" in build(node, bad, rc=2)[1]
    missing = context(tmp_path, "FROM no-such-image:1\n", name="missing")
    assert "no such image: no-such-image:1" in build(node, missing, rc=2)[1]


def test_cache_hits_misses_no_cache_and_prune(node, base, tmp_path):
    ctx = context(tmp_path, """FROM base:1
RUN echo one > /one
COPY a.txt /a.txt
RUN cat /a.txt > /copied
COPY b.txt /b.txt
RUN cat /b.txt > /copied-b
""", {"a.txt": "a1", "b.txt": "b1"})
    first, err = build(node, ctx, "-t", "cache:1")
    assert err.count("Using cache") == 0 and err.count("Running in") == 3
    again, err = build(node, ctx, "-t", "cache:1")
    assert err.count("Using cache") == 3 and "Running in" not in err
    assert again == first, "the same inputs give the same image"
    # Touching a file without changing it still hits; editing b.txt reruns only what follows its COPY.
    os.utime(ctx / "a.txt", (1, 1))
    (ctx / "b.txt").write_text("b2")
    _, err = build(node, ctx, "-t", "cache:2")
    assert err.count("Using cache") == 2 and err.count("Running in") == 1
    assert node.out("run", "--rm", "cache:2", "cat", "/copied-b") == "b2"
    _, err = build(node, ctx, "--no-cache", "-t", "cache:3")
    assert err.count("Running in") == 3
    du = node.out("builder", "du")
    assert "Entries: 4" in du
    assert "Deleted build cache objects: 4" in node.out("builder", "prune", "-f")
    assert "Entries: 0" in node.out("builder", "du")
    _, err = build(node, ctx, "-t", "cache:4")
    assert err.count("Running in") == 3
    assert node.out("run", "--rm", "cache:4", "cat", "/copied") == "a1"


def block_files(node):
    return {p.name for p in (node.root / "blocks").rglob("*") if p.is_file() and not p.name.startswith(".")}


def test_prunes_free_the_blocks_nothing_names_and_only_those(node, base, tmp_path):
    before = block_files(node)
    payload = os.urandom(3 << 20)
    ctx = context(tmp_path, """FROM base:1
COPY big.bin /big.bin
RUN cat /big.bin /big.bin > /twice.bin
""", {"big.bin": payload})
    build(node, ctx, "-t", "blocks:1")
    built = block_files(node) - before
    assert len(built) >= 2, "the COPY and the RUN stored blocks of their own"
    # The image still names them: pruning the cache frees nothing it reads.
    assert "Deleted build cache objects: 1" in node.out("builder", "prune", "-f")  # the RUN
    image = json.loads(node.out("image", "inspect", "blocks:1"))[0]["Id"].removeprefix("sha256:")
    node("flist", "check", "--no-progress", "-s", f"dir://{node.root}/blocks", node.root / "images" / f"{image}.fl")
    sums = node.out("run", "--rm", "blocks:1", "sh", "-c", "md5sum /big.bin /twice.bin | cut -d' ' -f1")
    assert sums.split() == [hashlib.md5(payload).hexdigest(), hashlib.md5(payload * 2).hexdigest()]
    # Gone from every flist: gone from the disk, the base's blocks all still there.
    node("rmi", "blocks:1")
    out = node.out("system", "prune", "-f")
    assert "Total reclaimed space" in out and "Total reclaimed space: 0 B" not in out, out
    assert block_files(node) == before


def test_onbuild_triggers_run_in_the_child(node, base, tmp_path):
    parent = context(tmp_path, "FROM base:1\nONBUILD COPY hello.txt /hello\nONBUILD RUN cat /hello > /seen\n", name="parent")
    build(node, parent, "-t", "parent:1")
    child = context(tmp_path, "FROM parent:1\nRUN cat /seen\n", {"hello.txt": "from the child's context"}, name="child")
    _, err = build(node, child, "-t", "child:1")
    assert "from the child's context" in err
    assert config(node, "child:1")["OnBuild"] is None, "triggers do not pass to grandchildren"


def test_interrupt_during_run_removes_the_step_container(node, base, tmp_path):
    images = node.out("images", "-q")
    ctx = context(tmp_path, "FROM base:1\nRUN echo started; sleep 60\n")
    p = subprocess.Popen([TIFFIN, "--root", node.root, "--run-root", node.run_root, "--dns-upstream", node.dns_upstream, "build", ctx],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        seen = b""
        while not seen.endswith(b"\nstarted\n"):  # the RUN's output, not its step line
            line = p.stderr.readline()
            assert line, f"the build ended early: {seen.decode()}"
            seen += line
        assert len(node.container_ids()) == 1
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=30) != 0
        assert b"interrupted" in p.stderr.read()
    finally:
        p.kill()
        p.wait()
    assert node.container_ids() == []
    assert node.out("images", "-q") == images


def python_base(node, tmp_path):
    """A local base image with the host's python3 (its binary, libraries and standard library)."""
    import shutil
    import sys
    root = tmp_path / "py-rootfs"
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev", "usr/bin", "usr/lib"]:
        (root / d).mkdir(parents=True, exist_ok=True)
    python = Path(os.path.realpath("/usr/bin/python3"))
    shutil.copy2(python, root / "usr/bin" / python.name)
    (root / "usr/bin/python3").symlink_to(python.name)
    shutil.copy2("/bin/busybox", root / "bin/busybox")
    (root / "bin/sh").symlink_to("busybox")
    libs = subprocess.run(["ldd", str(python)], capture_output=True, text=True, check=True).stdout
    for line in libs.splitlines():
        path = line.split("=>")[-1].split("(")[0].strip()
        if path.startswith("/"):
            dest = root / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
    stdlib = Path(f"/usr/lib/python{sys.version_info.major}.{sys.version_info.minor}")
    shutil.copytree(stdlib, root / "usr/lib" / stdlib.name, symlinks=True,
                    ignore=shutil.ignore_patterns("test", "__pycache__", "site-packages", "dist-packages", "idlelib", "tkinter"))
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\napp:x:1000:\n")
    node("import", root, "pybase:1", "--env", "PATH=/usr/bin:/bin")
    return "pybase:1"


def test_python_web_app_builds_and_serves(node, tmp_path):
    from conftest import free_port, wait_port
    python_base(node, tmp_path)
    ctx = context(tmp_path, """FROM pybase:1
WORKDIR /app
COPY requirements.txt .
RUN python3 -c "import json, http.server; print('dependencies', open('requirements.txt').read().split())"
COPY app.py .
RUN python3 -m py_compile app.py && python3 -c "import os; os.chown('/app', 1000, 1000)"
ENV PORT=8000 GREETING="hello from tiffin build"
USER app
EXPOSE 8000
CMD ["python3", "app.py"]
""", {"requirements.txt": "json\nhttp.server\n", "app.py": """import http.server, os

class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (os.environ["GREETING"] + " as uid " + str(os.getuid()) + "\\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Hello).serve_forever()
"""})
    _, err = build(node, ctx, "-t", "webapp:1")
    assert "dependencies ['json', 'http.server']" in err
    port = free_port()
    node("run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:8000", "webapp:1")
    try:
        wait_port(port)
        body = subprocess.run(["curl", "-s", "--max-time", "5", f"http://127.0.0.1:{port}/"], capture_output=True, text=True).stdout
        assert body == "hello from tiffin build as uid 1000\n"
    finally:
        node("rm", "-f", "web")


def test_independent_stages_build_at_the_same_time(node, base, tmp_path):
    # Stage a waits for the word that only stage b sends: built one after the other, a would
    # wait out its 30 s and fail. (On the host's network anything may connect to the port; a
    # connection that is not b's sends no "hello", and a listens again.)
    from conftest import free_port
    ctx = context(tmp_path, """FROM base:1 AS a
ARG PORT
RUN timeout 30 sh -c 'until grep -qx hello /got 2>/dev/null; do nc -l -p $PORT > /got; done'
FROM base:1 AS b
ARG PORT
RUN for i in $(seq 1 300); do echo hello | nc 127.0.0.1 $PORT && exit 0; sleep 0.1; done; exit 1
FROM base:1
COPY --from=a /got /got
COPY --from=b /etc/passwd /from-b
""")
    build(node, ctx, "--network", "host", "--build-arg", f"PORT={free_port()}", "-t", "parallel:1")
    assert node.out("run", "--rm", "parallel:1", "cat", "/got") == "hello"
