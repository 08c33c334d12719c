"""Artifact arrays memory-mapped: equal to numpy.load's, shared views, copies only when needed."""

import mmap
import zipfile

import numpy as np
import pytest

from training.core.artifact_mmap import ALIGNMENT, map_arrays, write_aligned
from training.core.errors import BadInput

ARRAYS = {
    "item_factors": np.arange(7 * 3, dtype=np.float32).reshape(7, 3) / 7,
    "mids": np.array(["a", "bb", "ccc"]),
    "names": np.array(["Ünïcode ☃", "", "x" * 40]),
    "like_counts": np.arange(3, dtype=np.int64),
    "empty": np.zeros(0, dtype=np.int32),
    "fortran": np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
    "meta": np.array('{"format": 1}'),
}


def _mapped(array):
    return isinstance(array.base, mmap.mmap)


@pytest.mark.parametrize("writer", ["savez", "aligned", "compressed"])
def test_mapped_arrays_equal_numpy_load(tmp_path, writer):
    path = str(tmp_path / "a.npz")
    {"savez": np.savez, "compressed": np.savez_compressed}.get(
        writer, lambda p, **a: write_aligned(p, a)
    )(path, **ARRAYS)
    mapped = map_arrays(path)
    with np.load(path, allow_pickle=False) as z:
        assert sorted(mapped) == sorted(z.files)
        for key in z.files:
            assert mapped[key].dtype == z[key].dtype and np.array_equal(mapped[key], z[key])
    assert all(not a.flags.writeable and a.flags.aligned for a in mapped.values())
    if writer == "compressed":
        assert not any(_mapped(a) for a in mapped.values())


def test_the_aligned_writer_maps_every_member_at_a_64_byte_boundary(tmp_path):
    path = str(tmp_path / "a.npz")
    write_aligned(path, ARRAYS)
    mapped = map_arrays(path)
    assert all(_mapped(a) for a in mapped.values())
    with zipfile.ZipFile(path) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    base = np.frombuffer(mapped["mids"].base, dtype=np.uint8)
    for array in mapped.values():
        offset = array.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        assert offset % ALIGNMENT == 0


def test_savez_members_that_land_unaligned_are_copied_not_mapped(tmp_path):
    """np.savez puts item_factors' float32 data at an odd offset: mapped, numpy would copy
    the whole array in every searchsorted and run mat-vecs without BLAS."""
    path = str(tmp_path / "a.npz")
    np.savez(path, **ARRAYS)
    assert not _mapped(map_arrays(path)["item_factors"])


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04broken"])
def test_a_file_that_is_not_an_npz_is_bad_input_naming_it(tmp_path, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(BadInput, match="bad.npz"):
        map_arrays(str(path))
