"""Zip archives are checked member by member before anything is extracted."""

from __future__ import annotations

import random
import stat
import zipfile
from pathlib import Path

import pytest

from minemap import UnsafeInputError, UploadError
from minemap.io import read_upload
from minemap.io._safety import inspect_zip
from minemap.settings import DEFAULT_LIMITS, Limits


def make_zip(path: Path, members: dict[str, bytes], **infos: zipfile.ZipInfo) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for info in infos.values():
            zf.writestr(info, b"/etc/passwd")
    return path


SHP_SET = {"a.shp": b"\x00\x00\x27\x0a" + b"\x00" * 96, "a.shx": b"x", "a.dbf": b"x"}


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../../evil.shp", "climbs out of the archive"),
        ("data/../../evil.shp", "climbs out of the archive"),
        ("..\\evil.shp", "climbs out of the archive"),
        ("/tmp/evil.shp", "absolute path"),
        ("C:/Windows/evil.shp", "absolute path"),
    ],
)
def test_traversal_and_absolute_paths_refused(tmp_path, member, message):
    archive = make_zip(tmp_path / "x.zip", {**SHP_SET, member: b"boom"})
    with pytest.raises(UnsafeInputError, match=message):
        read_upload(archive)
    assert not (tmp_path.parent / "evil.shp").exists()
    assert not Path("/tmp/evil.shp").exists()


def test_symlink_member_refused(tmp_path):
    link = zipfile.ZipInfo("a.prj")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = make_zip(tmp_path / "x.zip", SHP_SET, link=link)
    with pytest.raises(UnsafeInputError, match="symbolic link"):
        read_upload(archive)


@pytest.mark.parametrize("inner", ["inner.zip", "data/more.kmz", "x.tar.gz", "y.7z"])
def test_nested_archive_refused(tmp_path, inner):
    archive = make_zip(tmp_path / "x.zip", {**SHP_SET, inner: b"PK\x03\x04"})
    with pytest.raises(UnsafeInputError, match="another archive"):
        read_upload(archive)


def test_zip_bomb_ratio_refused_with_limit_named(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", {**SHP_SET, "a.dbf": b"\x00" * (20 * 1024 * 1024)})
    assert archive.stat().st_size < 200_000
    with pytest.raises(UnsafeInputError, match="max_compression_ratio=100"):
        read_upload(archive)


def test_uncompressed_total_limit(tmp_path):
    data = random.Random(7).randbytes(2 * 1024 * 1024)  # incompressible
    archive = make_zip(tmp_path / "big.zip", {**SHP_SET, "a.dbf": data})
    limits = Limits(max_uncompressed_bytes=1024 * 1024)
    with pytest.raises(UnsafeInputError, match="max_uncompressed_bytes=1,048,576"):
        read_upload(archive, limits=limits)


def test_too_many_members(tmp_path):
    members = {f"f{i}.txt": b"x" for i in range(DEFAULT_LIMITS.max_zip_members + 1)}
    with pytest.raises(UnsafeInputError, match="max_zip_members=64"):
        read_upload(make_zip(tmp_path / "many.zip", members))


def test_duplicate_member_refused(tmp_path):
    archive = tmp_path / "dup.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.shp", b"1")
        zf.writestr("A.SHP", b"2")
    with pytest.raises(UnsafeInputError, match="appears twice"):
        read_upload(archive)


def test_damaged_zip(tmp_path):
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    with pytest.raises(UploadError, match="damaged zip"):
        read_upload(path)


def test_inspect_zip_lists_regular_members(tmp_path):
    archive = make_zip(tmp_path / "ok.zip", {"dir/a.shp": b"123", "dir/a.dbf": b"45"})
    members = inspect_zip(archive, file="ok.zip", limits=DEFAULT_LIMITS)
    assert [(m.name, m.file_size, m.suffix, m.stem) for m in members] == [
        ("dir/a.shp", 3, ".shp", "a"),
        ("dir/a.dbf", 2, ".dbf", "a"),
    ]


def test_private_temp_dirs_removed_after_success_and_refusal(tmp_path, monkeypatch):
    import tempfile

    import geopandas as gpd
    import shapely

    private = tmp_path / "private-tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    src = tmp_path / "src"
    src.mkdir()
    gpd.GeoDataFrame(geometry=[shapely.Point(30, 50)], crs=4326).to_file(src / "a b.shp")
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        for part in src.iterdir():
            zf.write(part, f"folder with spaces/{part.name}")
    seen: list[list[str]] = []

    def snapshot(done: int, total: int) -> None:
        seen.extend(sorted(q.name for q in d.iterdir()) for d in private.iterdir())

    assert len(read_upload(good, progress=snapshot).frame) == 1
    # while reading, the members lived under fixed names in a private directory
    assert ["layer.cpg", "layer.dbf", "layer.prj", "layer.shp", "layer.shx"] in seen
    bomb = make_zip(tmp_path / "bomb.zip", {**SHP_SET, "a.dbf": b"\x00" * (20 * 1024 * 1024)})
    with pytest.raises(UnsafeInputError):
        read_upload(bomb)
    assert list(private.iterdir()) == []
