"""zdb:// against a real redis-server and http:// against a real HTTP server, both on loopback."""
import os

from conftest import snapshot, tiffin
from rootfs import build_rootfs


def test_pack_check_unpack_through_zdb(tmp_path, redis):
    src = build_rootfs(tmp_path / "rootfs", with_privileged=os.geteuid() == 0)
    url = f"zdb://127.0.0.1:{redis.port}"
    tiffin("flist", "pack", src, "-o", tmp_path / "z.fl", "-s", url)
    tiffin("flist", "check", tmp_path / "z.fl")
    tiffin("flist", "unpack", tmp_path / "z.fl", tmp_path / "out")
    assert snapshot(tmp_path / "out") == snapshot(src)
    # The server goes away: a clear error, then it works again once it is back.
    redis.stop()
    r = tiffin("flist", "check", tmp_path / "z.fl", rc=1)
    assert b"unreachable" in r.stdout


def test_unpack_from_http_store(tmp_path, http_server):
    src = build_rootfs(tmp_path / "rootfs", with_privileged=os.geteuid() == 0)
    tiffin("flist", "pack", src, "-o", tmp_path / "h.fl", "-s", f"dir://{tmp_path}/store")
    server = http_server(tmp_path / "store")
    tiffin("flist", "route", "add", "--replace", tmp_path / "h.fl", f"http://127.0.0.1:{server.port}")
    tiffin("flist", "check", tmp_path / "h.fl")
    tiffin("flist", "unpack", tmp_path / "h.fl", tmp_path / "out")
    assert snapshot(tmp_path / "out") == snapshot(src)
    assert tiffin("flist", "cat", tmp_path / "h.fl", "/etc/hostname").stdout == b"tiffin\n"
