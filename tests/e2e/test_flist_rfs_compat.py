"""rfs compatibility the rest of the way: the blocks tiffin packs are rfs's blocks, flists rfs
writes with a block-less file open (listed, checked, mounted, unpacked), and edits of an rfs
flist change only the rows they concern."""
import errno
import json
import os
import shutil
import sqlite3

import pytest

from conftest import FIXTURES, needs_root, tiffin


def test_packed_blocks_are_rfs_blocks(tmp_path):
    """Files of the fixtures' images whose content is known, packed by tiffin, give the very
    block ids rfs wrote (rfs compresses with the snap crate; libsnappy gives other bytes)."""
    checked = 0
    for content in sorted((FIXTURES / "content").iterdir()):
        fl = tmp_path / (content.name + ".fl")
        tiffin("flist", "pack", content, "-o", fl, "-s", f"dir://{tmp_path}/store", "--no-progress")
        for f in (p for p in content.rglob("*") if p.is_file()):
            path = "/" + str(f.relative_to(content))
            ours = json.loads(tiffin("flist", "stat", fl, path, "--format", "json").stdout)["blocks"]
            theirs = json.loads(tiffin("flist", "stat", FIXTURES / (content.name + ".fl"), path, "--format", "json").stdout)["blocks"]
            assert ours == theirs, path
            checked += 1
    assert checked >= 27


@pytest.fixture
def damaged(tmp_path):
    """A packed tree in which /etc/apk/world lost its block rows, as an rfs upload that failed
    leaves it; /etc/apk/arch is intact."""
    src = tmp_path / "src"
    (src / "etc/apk").mkdir(parents=True)
    (src / "etc/apk/world").write_text("alpine-baselayout\nalpine-keys\nalpine-release\napk-tools\nbusybox\nlibc-utils\n")
    (src / "etc/apk/arch").write_text("x86_64\n")
    fl = tmp_path / "d.fl"
    tiffin("flist", "pack", src, "-o", fl, "-s", f"dir://{tmp_path}/store", "--no-progress")
    with sqlite3.connect(fl) as db:
        db.execute("DELETE FROM block WHERE ino = (SELECT ino FROM inode WHERE name = 'world')")
    return fl


def test_a_blockless_file_is_listed_checked_and_unpacked_empty(tmp_path, damaged):
    listing = tiffin("flist", "ls", "-l", damaged, "/etc/apk").stdout.decode()
    assert " 74 " in listing and "world" in listing, listing

    r = tiffin("flist", "check", damaged, rc=1)
    assert b"damaged file /etc/apk/world: 74 bytes, 0 blocks" in r.stdout, r.stdout
    report = json.loads(tiffin("flist", "check", damaged, "--format", "json", rc=1).stdout)
    assert (report["damaged"], report["missing"], report["corrupt"]) == (1, 0, 0)
    r = tiffin("flist", "cat", damaged, "/etc/apk/world", rc=1)
    assert b"damaged file /etc/apk/world" in r.stderr and r.stdout == b""

    r = tiffin("flist", "unpack", damaged, tmp_path / "strict", "--strict", "--no-progress", rc=2)
    assert b"damaged file /etc/apk/world: 74 bytes, 0 blocks" in r.stderr, r.stderr
    assert not (tmp_path / "strict").exists(), "--strict refuses before writing anything"

    r = tiffin("flist", "unpack", damaged, tmp_path / "out", "--no-progress")
    assert b"damaged file /etc/apk/world: 74 bytes, 0 blocks; unpacked empty" in r.stderr, r.stderr
    assert (tmp_path / "out/etc/apk/world").read_bytes() == b""
    assert (tmp_path / "out/etc/apk/arch").read_bytes() == b"x86_64\n"


@needs_root
def test_a_blockless_file_reads_as_eio_through_the_mount(tmp_path, damaged, mounts):
    mnt = tmp_path / "mnt"
    mounts(damaged, mnt, "--cache", tmp_path / "cache")
    assert os.stat(mnt / "etc/apk/world").st_size == 74
    assert sorted(os.listdir(mnt / "etc/apk")) == ["arch", "world"]
    with pytest.raises(OSError) as e:
        (mnt / "etc/apk/world").read_bytes()
    assert e.value.errno == errno.EIO
    assert (mnt / "etc/apk/arch").read_bytes() == b"x86_64\n", "the rest of the flist reads"


def rows(fl):
    """Every row of every table (rowids included) and the schema."""
    with sqlite3.connect(f"file:{fl}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        out = {"schema": db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()}
        for t in tables:
            out[t] = db.execute(f'SELECT rowid, * FROM "{t}" ORDER BY rowid').fetchall()
    return out


def test_edits_of_an_rfs_flist_change_only_their_rows(tmp_path):
    fl = tmp_path / "alpine.fl"
    shutil.copy(FIXTURES / "alpine-latest.fl", fl)
    os.chmod(fl, 0o644)
    original = rows(fl)
    assert not any(t.startswith("tiffin_") for t in original)

    tiffin("flist", "tag", "set", fl, "version=3.21", "author=me")
    after = rows(fl)
    assert {k: v for k, v in after.items() if k != "tag"} == {k: v for k, v in original.items() if k != "tag"}
    assert sorted(r[1:] for r in after["tag"]) == [("author", "me"), ("version", "3.21")]
    tiffin("flist", "tag", "rm", fl, "version", "author")
    assert rows(fl) == original, "set then removed: every row as rfs wrote it"

    tiffin("flist", "route", "add", fl, "http://127.0.0.1:1/blocks")
    after = rows(fl)
    assert {k: v for k, v in after.items() if k != "route"} == {k: v for k, v in original.items() if k != "route"}
    assert after["route"][:1] == original["route"] and len(after["route"]) == 2
    tiffin("flist", "route", "rm", fl, "http://127.0.0.1:1/blocks")
    assert rows(fl) == original

    tiffin("flist", "keygen", tmp_path / "key")
    tiffin("flist", "sign", fl, "--key", tmp_path / "key")
    after = rows(fl)
    assert len(after.pop("tiffin_signature")) == 1
    schema = after.pop("schema")
    assert [s for s in schema if "tiffin_signature" not in s[1]] == original["schema"]
    assert after == {k: v for k, v in original.items() if k != "schema"}, "signing adds one table and one row"
    tiffin("flist", "verify", fl, "--key", tmp_path / "key.pub")
