"""The ``.npy`` members of an ``.npz`` as read-only views of one memory map.

``numpy.savez`` stores each array uncompressed (``ZIP_STORED``), so its bytes
sit verbatim in the file after the member's zip local header and ``.npy``
header. Mapping them instead of reading them means no copy at load time and
one copy per machine: every process that maps the file shares the OS page
cache's pages.

An array is only useful mapped if its data is aligned to its item size:
numpy copies the whole of an unaligned array in ``searchsorted`` and runs
mat-vecs on one without BLAS. ``savez`` places members wherever the previous
one ended, so :func:`write_aligned` writes the same ``.npz`` (``numpy.load``
reads it unchanged) with each member's data at a multiple of
:data:`ALIGNMENT`, padding the local header's extra field as ``zipalign``
does. :func:`map_arrays` maps what it can and copies the rest.
"""

import mmap
import struct
import zipfile

import numpy as np

from .atomic import atomic_path
from .errors import BadInput

ALIGNMENT = 64  # bytes; numpy pads .npy headers to 64 too
LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # zip local file header, 30 bytes
ZIP64_EXTRA = 20  # bytes zipfile appends to a local header written with force_zip64
PAD_EXTRA_ID = 0xD935  # the extra-field id zipalign uses for padding
HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def map_arrays(path):
    """Every array of the ``.npz`` at ``path``: ``{key: read-only ndarray}``.

    Stored members whose data is aligned are views of one shared read-only
    memory map (the map lives as long as any of them); compressed or
    unaligned members are loaded into private memory. Raises
    :class:`BadInput` for a file that is not a readable ``.npz``.
    """
    try:
        with open(path, "rb") as f, zipfile.ZipFile(f) as zf:
            members = [i for i in zf.infolist() if i.filename.endswith(".npy")]
            buffer = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            arrays, fallback = {}, []
            for info in members:
                view = _view(buffer, f, info)
                if view is None:
                    fallback.append(info.filename)
                else:
                    arrays[info.filename[:-4]] = view
        if fallback:
            with np.load(path, allow_pickle=False) as z:
                arrays.update({name[:-4]: _read_only(z[name[:-4]]) for name in fallback})
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, struct.error) as e:
        raise BadInput(f"{path}: cannot map model arrays: {e}") from None
    return arrays


def _view(buffer, f, info):
    """The member as an ndarray over ``buffer``, or None when it must be read instead."""
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    header = LOCAL_HEADER.unpack_from(buffer, info.header_offset)
    if header[0] != b"PK\x03\x04":
        raise ValueError(f"bad local header for {info.filename}")
    f.seek(info.header_offset + LOCAL_HEADER.size + header[-2] + header[-1])
    read_header = HEADER_READERS.get(np.lib.format.read_magic(f))
    if read_header is None:
        return None
    shape, fortran_order, dtype = read_header(f)
    if dtype.hasobject:
        raise ValueError(f"{info.filename} holds Python objects")
    offset = f.tell()
    if offset % dtype.alignment:
        return None
    order = "F" if fortran_order else "C"
    return np.ndarray(shape, dtype=dtype, buffer=buffer, offset=offset, order=order)


def _read_only(array):
    array.flags.writeable = False
    return array


def write_aligned(path, arrays):
    """Write ``arrays`` (``{key: array}``) to ``path`` as an ``.npz``, atomically.

    Same members as ``numpy.savez(path, **arrays)`` (``key.npy``, stored, no
    pickles), but each array's data starts at a multiple of :data:`ALIGNMENT`
    bytes from the start of the file, so :func:`map_arrays` maps all of them.
    """
    with atomic_path(path, suffix=".npz") as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for key, value in arrays.items():
                array = np.asanyarray(value)
                info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED
                info.extra = _padding(zf.fp.tell() + LOCAL_HEADER.size + len(info.filename))
                with zf.open(info, "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, array, allow_pickle=False)


def _padding(header_end):
    """An extra field that moves ``header_end`` (bytes, before extras) to a multiple of
    :data:`ALIGNMENT`; the ``.npy`` header that follows is a multiple of 64 itself."""
    size = -(header_end + ZIP64_EXTRA) % ALIGNMENT
    if size == 0:
        return b""
    if size < 4:  # an extra field needs 4 bytes of id and length
        size += ALIGNMENT
    return struct.pack("<HH", PAD_EXTRA_ID, size - 4) + b"\0" * (size - 4)
