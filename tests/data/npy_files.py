#!/usr/bin/env python3
"""NumPy .npy / .npz files built and read with Python's standard library only (struct, zipfile, ast), as
numpy.lib.format lays them out, so keel's reader and writer are checked against an independent
implementation.

  npy_files.py write DIR   writes the fixtures listed in FIXTURES into DIR
  npy_files.py dump FILE   prints a .npy or .npz file as JSON: {name: {descr, fortran_order, shape,
                           values (in file order), compress_type}} (name "" for a .npy file)
"""
import ast
import json
import struct
import sys
import zipfile
from pathlib import Path

MAGIC = b"\x93NUMPY"
FORMATS = {"f4": "f", "f8": "d", "i1": "b", "i2": "h", "i4": "i", "i8": "q", "u1": "B", "u2": "H",
           "u4": "I", "u8": "Q", "b1": "?"}


def npy_bytes(descr, shape, values, fortran=False, version=(1, 0)):
    """values are given in row-major (C) order; a Fortran-order file stores them column-major."""
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", repr(tuple(shape)))
    length_size = 2 if version[0] == 1 else 4
    prefix = len(MAGIC) + 2 + length_size
    header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
    if fortran:
        values = to_column_major(values, shape)
    order = "<" if descr[0] in "<|" else ">"
    data = struct.pack(order + "%d%s" % (len(values), FORMATS[descr[1:]]), *values)
    return (MAGIC + bytes(version) + struct.pack("<H" if length_size == 2 else "<I", len(header))
            + header.encode("latin1") + data)


def to_column_major(values, shape):
    count = len(values)
    out = [None] * count
    for flat in range(count):  # row-major index -> multi-index -> column-major position
        rest, index = flat, []
        for dim in reversed(shape):
            index.append(rest % dim)
            rest //= dim
        index.reverse()
        pos, stride = 0, 1
        for i, dim in zip(index, shape):
            pos += i * stride
            stride *= dim
        out[pos] = values[flat]
    return out


# name -> (descr, shape, row-major values, fortran_order, version)
FIXTURES = {
    "f4_2x3.npy": ("<f4", (2, 3), [0.5, -1.25, 3.0, 4.5, 1e-3, -7.0], False, (1, 0)),
    "f8_4.npy": ("<f8", (4,), [1.0 / 3, -2.5, 1e300, 0.0], False, (1, 0)),
    "i4_3.npy": ("<i4", (3,), [-2147483648, 0, 2147483647], False, (1, 0)),
    "i8_2x2.npy": ("<i8", (2, 2), [-(2 ** 63), 1, 2, 2 ** 63 - 1], False, (1, 0)),
    "u1_5.npy": ("|u1", (5,), [0, 1, 127, 128, 255], False, (1, 0)),
    "b1_2x2.npy": ("|b1", (2, 2), [True, False, False, True], False, (1, 0)),
    "big_endian_i2_3.npy": (">i2", (3,), [-300, 1, 258], False, (1, 0)),
    "big_endian_f8_2.npy": (">f8", (2,), [1.5, -0.25], False, (1, 0)),
    "fortran_f8_2x3x2.npy": ("<f8", (2, 3, 2), [float(i) for i in range(12)], True, (1, 0)),
    "scalar_f4.npy": ("<f4", (), [2.5], False, (1, 0)),
    "empty_0x3.npy": ("<f4", (0, 3), [], False, (1, 0)),
    "version2_i8_3.npy": ("<i8", (3,), [7, 8, 9], False, (2, 0)),
}


def write(directory):
    d = Path(directory)
    for name, (descr, shape, values, fortran, version) in FIXTURES.items():
        (d / name).write_bytes(npy_bytes(descr, shape, values, fortran, version))
    arrays = [("x", npy_bytes("<f4", (2, 2), [1.0, 2.0, 3.0, 4.0])), ("labels", npy_bytes("<i8", (2,), [3, 1])),
              ("mask", npy_bytes("|b1", (2,), [False, True]))]
    # numpy.savez: stored entries written through ZipFile.open(..., force_zip64=True).
    with zipfile.ZipFile(d / "savez.npz", "w", zipfile.ZIP_STORED) as z:
        for name, data in arrays:
            with z.open(name + ".npy", "w", force_zip64=True) as f:
                f.write(data)
    # numpy.savez_compressed: deflated entries.
    with zipfile.ZipFile(d / "savez_compressed.npz", "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in arrays:
            with z.open(name + ".npy", "w", force_zip64=True) as f:
                f.write(data)
    with zipfile.ZipFile(d / "not_npy_entry.npz", "w") as z:
        z.writestr("x.npy", arrays[0][1])
        z.writestr("readme.txt", b"hello")


def parse_npy(data):
    assert data[:6] == MAGIC, "bad magic"
    major = data[6]
    length_size = 2 if major == 1 else 4
    (length,) = struct.unpack("<H" if length_size == 2 else "<I", data[8:8 + length_size])
    start = 8 + length_size
    assert (start + length) % 64 == 0, "data not 64-byte aligned"
    header = ast.literal_eval(data[start:start + length].decode("latin1"))
    assert sorted(header) == ["descr", "fortran_order", "shape"], header
    count = 1
    for dim in header["shape"]:
        count *= dim
    descr = header["descr"]
    fmt = ("<" if descr[0] in "<|" else ">") + "%d%s" % (count, FORMATS[descr[1:]])
    body = data[start + length:]
    assert len(body) == struct.calcsize(fmt), "data size %d != %d" % (len(body), struct.calcsize(fmt))
    values = list(struct.unpack(fmt, body))
    return {"descr": descr, "fortran_order": header["fortran_order"], "shape": list(header["shape"]),
            "values": values}


def dump(path):
    p = Path(path)
    if p.suffix == ".npz":
        out = {}
        with zipfile.ZipFile(p) as z:
            assert z.testzip() is None, "CRC mismatch"
            for info in z.infolist():
                entry = parse_npy(z.read(info))
                entry["compress_type"] = info.compress_type
                out[info.filename] = entry
        return out
    return {"": parse_npy(p.read_bytes())}


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        print(json.dumps(dump(sys.argv[2])))
