"""The inspection and editing verbs, on rfs-made fixtures and on packed trees."""
import json
import os
import sqlite3
import shutil

from conftest import FIXTURES, tiffin


def test_ls_stat_tree_on_rfs_fixture():
    fl = FIXTURES / "alpine-latest.fl"
    names = tiffin("flist", "ls", fl).stdout.decode().split()
    with sqlite3.connect(f"file:{fl}?mode=ro", uri=True) as db:
        expected = sorted(r[0] for r in db.execute("SELECT name FROM inode WHERE parent = 1"))
        arch = db.execute("SELECT ino, size, mode, uid, gid, mtime FROM inode WHERE name = 'arch'").fetchone()
        total = db.execute("SELECT count(*) FROM inode").fetchone()[0]
    assert names == expected
    st = json.loads(tiffin("flist", "stat", fl, "/etc/apk/arch", "--format", "json").stdout)
    assert (st["ino"], st["size"], st["mode"], st["uid"], st["gid"], st["mtime"]) == arch
    assert st["blocks"] == [{"id": "6af06e0392d98cef5aa55f253ab64ba1367cb9c61775b766539197e45fe1981f",
                             "key": "0c7ff1f16cc321473b8017f8d1450115dde7e4899c1a35ca27f095ca75aad631"}]
    listing = json.loads(tiffin("flist", "ls", "-R", fl, "--format", "json").stdout)
    assert len(listing) == total - 1
    tree = tiffin("flist", "tree", fl).stdout.decode()
    assert "hwclock -> /bin/busybox" in tree
    long = tiffin("flist", "ls", "-l", fl, "/sbin").stdout.decode()
    assert "lrwxrwxrwx" in long and "-> /bin/busybox" in long


def test_pack_matches_rfs_block_for_known_content(tmp_path):
    src = tmp_path / "src" / "etc" / "apk"
    src.mkdir(parents=True)
    (src / "arch").write_text("x86_64\n")
    tiffin("flist", "pack", tmp_path / "src", "-o", tmp_path / "a.fl", "-s", f"dir://{tmp_path}/store")
    ours = json.loads(tiffin("flist", "stat", tmp_path / "a.fl", "/etc/apk/arch", "--format", "json").stdout)
    theirs = json.loads(tiffin("flist", "stat", FIXTURES / "alpine-latest.fl", "/etc/apk/arch", "--format", "json").stdout)
    assert ours["blocks"] == theirs["blocks"]
    assert tiffin("flist", "cat", tmp_path / "a.fl", "/etc/apk/arch").stdout == b"x86_64\n"


def test_tags_routes_signatures(tmp_path):
    fl = tmp_path / "a.fl"
    shutil.copy(FIXTURES / "hello-world-latest.fl", fl)
    os.chmod(fl, 0o644)
    tiffin("flist", "tag", "set", fl, "version=1.0", "author=tiffin")
    assert tiffin("flist", "tag", "list", fl).stdout.decode().splitlines() == ["author=tiffin", "version=1.0"]
    tiffin("flist", "tag", "rm", fl, "author")
    tiffin("flist", "tag", "rm", fl, "nope", rc=2)
    tiffin("flist", "route", "add", fl, "00-7f=zdb://user:secret@127.0.0.1:9900/ns")
    routes = tiffin("flist", "route", "list", fl).stdout.decode()
    assert "zdb://user@127.0.0.1:9900/ns" in routes and "secret" not in routes
    assert b"secret" not in fl.read_bytes(), "passwords are never written into flists"
    tiffin("flist", "route", "rm", fl, "dir:///tmp/store0")
    assert "store0" not in tiffin("flist", "route", "list", fl).stdout.decode()

    pub = tiffin("flist", "keygen", tmp_path / "key").stdout.decode().strip()
    tiffin("flist", "verify", fl, rc=1)  # not signed yet
    tiffin("flist", "sign", fl, "--key", tmp_path / "key")
    assert pub in tiffin("flist", "verify", fl, "--key", tmp_path / "key.pub").stdout.decode()
    tiffin("flist", "verify", fl, "--key", pub)
    tiffin("flist", "tag", "set", fl, "version=2.0")
    r = tiffin("flist", "verify", fl, rc=1)
    assert b"INVALID" in r.stdout
    # The tree itself is still readable by rfs's schema: the rfs tables are untouched in shape.
    with sqlite3.connect(fl) as db:
        assert db.execute("SELECT count(*) FROM inode").fetchone()[0] == 15


def test_check_finds_missing_and_corrupt_blocks(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(4):
        (src / f"f{i}").write_bytes(os.urandom(100000 + i))
    tiffin("flist", "pack", src, "-o", tmp_path / "a.fl", "-s", f"dir://{tmp_path}/store")
    tiffin("flist", "check", tmp_path / "a.fl")
    blocks = sorted(p for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert len(blocks) == 4
    data = bytearray(blocks[0].read_bytes())
    data[10] ^= 0xFF
    blocks[0].write_bytes(bytes(data))
    blocks[1].unlink()
    r = tiffin("flist", "check", tmp_path / "a.fl", "--format", "json", rc=1)
    report = json.loads(r.stdout)
    assert (report["blocks"], report["missing"], report["corrupt"]) == (4, 1, 1)
    assert any("/f" in p for p in report["problems"])
    # cat of the corrupted file fails rather than printing forged bytes.
    bad = [p for p in report["problems"] if p.startswith("corrupt")][0].split(" of ")[1].split(":")[0]
    r = tiffin("flist", "cat", tmp_path / "a.fl", bad, rc=1)
    assert r.stdout == b""


def test_diff_and_merge_layers(tmp_path):
    base, top = tmp_path / "base", tmp_path / "top"
    (base / "etc").mkdir(parents=True)
    (base / "etc" / "keep").write_text("keep")
    (base / "etc" / "gone").write_text("gone")
    (base / "etc" / "change").write_text("old")
    (top / "etc").mkdir(parents=True)
    (top / "etc" / ".wh.gone").write_text("")
    (top / "etc" / "change").write_text("new")
    (top / "etc" / "added").write_text("added")
    store = f"dir://{tmp_path}/store"
    tiffin("flist", "pack", base, "-o", tmp_path / "base.fl", "-s", store)
    tiffin("flist", "pack", top, "-o", tmp_path / "top.fl", "-s", store)
    tiffin("flist", "merge", "-o", tmp_path / "m.fl", tmp_path / "base.fl", tmp_path / "top.fl")
    tiffin("flist", "unpack", tmp_path / "m.fl", tmp_path / "out")
    assert sorted(os.listdir(tmp_path / "out" / "etc")) == ["added", "change", "keep"]
    assert (tmp_path / "out" / "etc" / "change").read_text() == "new"
    changes = json.loads(tiffin("flist", "diff", tmp_path / "base.fl", tmp_path / "m.fl", "--format", "json", rc=1).stdout)
    kinds = {c["path"]: c["kind"] for c in changes if c["path"] != "/" and c["path"] != "/etc"}
    assert kinds == {"/etc/added": "A", "/etc/gone": "D", "/etc/change": "C"}
    tiffin("flist", "merge", "--first-wins", "-o", tmp_path / "f.fl", tmp_path / "base.fl", tmp_path / "top.fl")
    assert tiffin("flist", "cat", tmp_path / "f.fl", "/etc/change").stdout == b"old"


def test_image_config(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / ".startup.toml").write_text('[startup.entry]\nname = "core.system"\n[startup.entry.args]\nname = "/bin/app"\nargs = ["-v"]\ndir = "/srv"\n')
    tiffin("flist", "pack", src, "-o", tmp_path / "hub.fl", "-s", f"dir://{tmp_path}/store")
    cfg = json.loads(tiffin("flist", "config", tmp_path / "hub.fl").stdout)
    assert cfg["entrypoint"] == ["/bin/app", "-v"] and cfg["workdir"] == "/srv"
    tiffin("flist", "pack", src, "-o", tmp_path / "own.fl", "-s", f"dir://{tmp_path}/store",
           "--entrypoint", "/bin/sh", "--cmd", "-c", "--cmd", "echo hi", "--env", "A=1", "--workdir", "/", "--port", "80/tcp")
    cfg = json.loads(tiffin("flist", "config", tmp_path / "own.fl").stdout)
    assert cfg["entrypoint"] == ["/bin/sh"] and cfg["cmd"] == ["-c", "echo hi"] and cfg["env"] == ["A=1"]
    tiffin("flist", "pack", src, "-o", tmp_path / "bad.fl", "-s", f"dir://{tmp_path}/store", "--env", "NOEQUALS", rc=2)
