"""POST /build through `tiffin serve`, as root: the real docker CLI 28 with its classic builder
(DOCKER_BUILDKIT=0) building a multi-step Dockerfile on a local base image, its output lines,
`-q`, an 80 MiB context (past the in-memory body limit), a failing RUN's exit code and message;
docker-compose's `build:`; hostile context tars sent by hand (`..`, an absolute symlink and a
file through it, a Dockerfile that is a symlink out) refused or contained with nothing written
outside; a client that leaves mid-build stops the build; the private context directory is gone
after every request."""
import io
import json
import os
import re
import shutil
import socket
import subprocess
import tarfile
import time

import pytest

from apiserver import DOCKER, Serve
from conftest import needs_root
from engine import node, wait_for  # noqa: F401 (fixtures)
from test_build import base  # noqa: F401 (fixture)

pytestmark = [needs_root, pytest.mark.skipif(not os.path.exists(DOCKER), reason="no docker CLI")]


@pytest.fixture
def serve(node, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_BUILDKIT", "0")
    s = Serve(node, tmp_path / "api" / "d.sock")
    yield s
    s.stop()


def leftovers(node):
    """What a build request may leave in the engine's tmp: nothing once it ended."""
    tmp = node.root / "tmp"
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith(("build-", "api-body-"))) if tmp.exists() else []


def context(tmp_path, dockerfile, files=None):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    for name, content in (files or {}).items():
        (ctx / name).write_text(content)
    return ctx


def test_docker_build_run_and_quiet(serve, node, base, tmp_path):
    ctx = context(tmp_path, """FROM base:1
ARG WHO=nobody
COPY greeting.txt /srv/
RUN echo "built for $WHO" > /srv/made && echo run-output-line
WORKDIR /srv
CMD ["sh", "-c", "cat made greeting.txt"]
""", {"greeting.txt": "hello from the context\n"})
    p = serve.docker("build", "-t", "x:1", "-t", "x:also", "--build-arg", "WHO=api", "--label", "via=api", ctx, timeout=120)
    out = p.stdout.decode()
    assert "Step 1/6 : FROM base:1" in out and "Step 4/6 : RUN echo" in out and "run-output-line" in out, out
    built = re.search(r"^Successfully built ([0-9a-f]{12})$", out, re.M)
    assert built and "Successfully tagged x:1" in out and "Successfully tagged x:also" in out, out
    inspect = json.loads(serve.out("image", "inspect", "x:1"))[0]
    assert inspect["Id"].startswith("sha256:" + built.group(1))
    assert inspect["Config"]["Labels"] == {"via": "api"}
    assert serve.out("run", "--rm", "--network", "none", "x:1").splitlines() == ["built for api", "hello from the context"]
    assert json.loads(serve.out("image", "inspect", "x:also"))[0]["Id"] == inspect["Id"]

    # -q: the image id alone on stdout.
    q = serve.docker("build", "-q", "-t", "x:q", "--build-arg", "WHO=api", ctx, timeout=120)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", q.stdout.decode()), q
    assert q.stdout.decode().strip() == json.loads(serve.out("image", "inspect", "x:q"))[0]["Id"]
    # -f naming a Dockerfile elsewhere in the context, and --target.
    (ctx / "sub").mkdir()
    (ctx / "sub" / "Other").write_text("FROM base:1 AS first\nRUN echo first > /which\nFROM base:1\nRUN echo second > /which\n")
    serve.docker("build", "-f", ctx / "sub" / "Other", "--target", "first", "-t", "x:first", ctx, timeout=120)
    assert serve.out("run", "--rm", "--network", "none", "x:first", "cat", "/which") == "first"
    assert leftovers(node) == []
    assert node.container_ids() == []
    # docker builder prune: the cache's entries go (one RUN each: -q hit the cache, --target
    # built only the first stage), and the images built from them still run.
    pruned = serve.out("builder", "prune", "-f")
    assert "Total reclaimed space" in pruned and len(re.findall(r"^[0-9a-f]{64}$", pruned, re.M)) == 2, pruned
    assert serve.out("run", "--rm", "--network", "none", "x:first", "cat", "/which") == "first"


def test_a_context_beyond_the_in_memory_body_limit(serve, node, base, tmp_path):
    """The context is spooled to a file, not memory: past the 64 MiB every other body gets."""
    ctx = context(tmp_path, "FROM base:1\nCOPY big /big\nCMD [\"sh\", \"-c\", \"wc -c < /big\"]\n")
    with open(ctx / "big", "wb") as f:
        f.truncate(80 << 20)
    serve.docker("build", "-q", "-t", "big:1", ctx, timeout=180)
    assert serve.out("run", "--rm", "--network", "none", "big:1") == str(80 << 20)
    assert leftovers(node) == []


def test_failing_run_gives_its_exit_code(serve, node, base, tmp_path):
    ctx = context(tmp_path, "FROM base:1\nRUN echo before-the-failure && exit 3\nRUN echo never\n")
    p = serve.docker("build", "-t", "bad:1", ctx, rc=3, timeout=120)
    assert "before-the-failure" in p.stdout.decode() and "never" not in p.stdout.decode()
    assert "returned a non-zero code: 3" in p.stderr.decode(), p.stderr
    # Quiet: the build's output comes out on failure, as dockerd sends it.
    p = serve.docker("build", "-q", ctx, rc=3, timeout=120)
    assert "before-the-failure" in p.stderr.decode() and "returned a non-zero code: 3" in p.stderr.decode(), p.stderr
    # A Dockerfile that does not parse, one that is missing: errors before any step.
    (ctx / "Dockerfile").write_text("FROM base:1\nNOSUCH instruction\n")
    p = serve.docker("build", ctx, rc=1, timeout=60)
    assert "NOSUCH" in p.stderr.decode().upper(), p.stderr
    p = serve.docker("build", "-f", ctx / "Missing", ctx, rc=1, timeout=60)
    assert node.container_ids() == [] and leftovers(node) == []
    assert "bad:1" not in node.out("images")


def tar_of(entries):
    """A tar from (name, kind, data) entries: 'file', 'dir', 'symlink' (data: the target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            elif kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                t.addfile(info)
            else:
                info.type, info.linkname = tarfile.SYMTYPE, data
                t.addfile(info)
    return buf.getvalue()


def post_build(sock, body, query="t=hostile:1", timeout=60):
    """POST /build by hand; the status and the body (a stream of JSON lines for a 200)."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(str(sock))
        s.sendall(f"POST /v1.47/build?{query} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\n"
                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    if b"chunked" in head.lower():  # a plain (non-streamed) answer may come chunked
        out, rest2 = b"", rest
        while rest2:
            size, _, rest2 = rest2.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                break
            out, rest2 = out + rest2[:n], rest2[n + 2:]
        rest = out
    return status, rest.decode(errors="replace")


def test_hostile_contexts_are_refused_or_contained(serve, node, base, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    df = b"FROM base:1\nCOPY . /ctx/\n"
    # ".." out of the context: refused before anything is built.
    status, body = post_build(serve.sock, tar_of([("Dockerfile", "file", df), ("../escape", "file", b"x")]))
    assert status == 400 and "'..'" in body, body
    assert not (node.root / "tmp" / "escape").exists() and not (node.root / "escape").exists()
    # An absolute symlink to a host directory and a file through it: resolved in the context,
    # where that directory does not exist: refused, nothing written in the host's.
    status, body = post_build(serve.sock, tar_of([("Dockerfile", "file", df), ("link", "symlink", str(outside)),
                                                  ("link/planted", "file", b"planted")]))
    assert status == 400 and "unpacking the build context" in body, body
    assert list(outside.iterdir()) == [], "wrote through the symlink out of the context"
    # The same when the context has a directory of that path: the file lands in the context's.
    status, body = post_build(serve.sock, tar_of([("Dockerfile", "file", df), (str(outside).lstrip("/") + "/kept", "file", b"k"),
                                                  ("link", "symlink", str(outside)), ("link/planted", "file", b"planted")]))
    assert list(outside.iterdir()) == [], "wrote through the symlink out of the context"
    assert status == 200 and "Successfully built" in body, body
    out = serve.out("run", "--rm", "--network", "none", "hostile:1", "sh", "-c", f"readlink /ctx/link; cat /ctx{outside}/planted")
    assert out.splitlines() == [str(outside), "planted"]
    # A Dockerfile (and a .dockerignore) that are symlinks to the host's files: resolved in the
    # context, where they do not exist.
    status, body = post_build(serve.sock, tar_of([("Dockerfile", "symlink", "/etc/passwd")]))
    assert status == 400 and "Cannot locate specified Dockerfile" in body and "root:" not in body, body
    status, body = post_build(serve.sock, tar_of([("Dockerfile", "file", df), (".dockerignore", "symlink", "/etc/passwd")]))
    assert status == 200 and "Successfully built" in body and "root:x" not in body, body
    # The Dockerfile named out of the context, a device node, a body that is no tar.
    status, body = post_build(serve.sock, tar_of([("Dockerfile", "file", df)]), query="dockerfile=../../etc/passwd")
    assert status == 400 and "must be in the build context" in body, body
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        dev = tarfile.TarInfo("null")
        dev.type, dev.devmajor, dev.devminor = tarfile.CHRTYPE, 1, 3
        t.addfile(dev)
    status, body = post_build(serve.sock, buf.getvalue())
    assert status == 400 and "device node" in body, body
    status, body = post_build(serve.sock, b"this is not a tar" * 100)
    assert status == 400, body
    assert leftovers(node) == [] and node.container_ids() == []


def sleepers(seconds):
    """Processes running `sleep <seconds>` (a value no other test uses)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().split(b"\0")[:2] == [b"sleep", seconds.encode()]:
                    found.append(pid)
        except OSError:
            pass
    return found


def test_a_client_that_leaves_stops_the_build(serve, node, base, tmp_path):
    body = tar_of([("Dockerfile", "file", b"FROM base:1\nRUN echo started-sleeping && sleep 61.5\n")])
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(60)
        s.connect(str(serve.sock))
        s.sendall(f"POST /v1.47/build?t=slow:1 HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        seen = b""
        while b"started-sleeping" not in seen:
            chunk = s.recv(65536)
            assert chunk, seen
            seen += chunk
        wait_for(lambda: sleepers("61.5"), what="the RUN's sleep")
    started = time.time()
    wait_for(lambda: not sleepers("61.5") and leftovers(node) == [], timeout=20, what="the build to stop and clean up")
    assert time.time() - started < 20
    assert "slow:1" not in node.out("images")
    assert node.container_ids() == []


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="no docker-compose")
def test_compose_build(serve, node, base, tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM base:1\nARG FLAVOUR\nRUN echo \"composed $FLAVOUR\" > /made\n"
                                                 "CMD [\"cat\", \"/made\"]\n")
    (tmp_path / "docker-compose.yml").write_text("""version: "3"
services:
  app:
    build:
      context: ./app
      args:
        FLAVOUR: vanilla
    image: composed:1
    network_mode: none
""")
    env = dict(os.environ, DOCKER_HOST=f"unix://{serve.sock}", COMPOSE_DOCKER_CLI_BUILD="0", DOCKER_BUILDKIT="0")
    p = subprocess.run(["docker-compose", "-p", "bld", "build"], cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert p.returncode == 0, f"{p.stdout.decode()}\n{p.stderr.decode()}\nserve: {serve.log()[-2000:]}"
    assert serve.out("run", "--rm", "--network", "none", "composed:1") == "composed vanilla"
    assert leftovers(node) == []
