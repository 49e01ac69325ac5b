#!/usr/bin/env python3
"""Reads a safetensors file with the standard library only (json, struct, zlib) and prints it.

Usage: read_safetensors.py FILE

Checks the layout (header length, JSON header, data tiled exactly) and, for a keel file, every CRC-32 in
__metadata__["crc32"]. Prints, for a keel file, "config <json>" and "checksums verified <n>", then one line
per tensor in storage order: "<name> <dtype> [d0, d1] v0 v1 ...". Exits 1 with a message on any problem.
"""
import json
import struct
import sys
import zlib

FORMATS = {"F32": ("<f", 4), "F64": ("<d", 8), "I64": ("<q", 8), "BOOL": ("<B", 1)}


def fail(message):
    print("read_safetensors.py: " + message, file=sys.stderr)
    sys.exit(1)


def main(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        fail("truncated")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if 8 + header_len > len(blob):
        fail("header length beyond the file")
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = blob[8 + header_len:]
    metadata = header.pop("__metadata__", {})

    entries = sorted(header.items(), key=lambda item: item[1]["data_offsets"])
    expected = 0
    for name, info in entries:
        begin, end = info["data_offsets"]
        code, size = FORMATS[info["dtype"]]
        count = 1
        for d in info["shape"]:
            count *= d
        if begin != expected or end - begin != count * size:
            fail("tensor %s: bad data_offsets %s" % (name, info["data_offsets"]))
        expected = end
    if expected != len(data):
        fail("the tensors do not tile the data")

    if metadata.get("format") == "keel":
        checksums = json.loads(metadata["crc32"])
        config = metadata["config"]
        if checksums.pop("__config__") != zlib.crc32(config.encode("utf-8")):
            fail("config checksum mismatch")
        for name, info in entries:
            begin, end = info["data_offsets"]
            described = "%s[%s]" % (info["dtype"], ",".join(str(d) for d in info["shape"]))
            if checksums.pop(name) != zlib.crc32(data[begin:end], zlib.crc32(described.encode("ascii"))):
                fail("tensor %s: checksum mismatch" % name)
        for key in list(checksums):
            if key.startswith("__metadata__/"):
                if checksums.pop(key) != zlib.crc32(metadata[key[len("__metadata__/"):]].encode("utf-8")):
                    fail("metadata %s: checksum mismatch" % key)
        if checksums:
            fail("checksums for absent items: %s" % sorted(checksums))
        print("config " + config)
        print("checksums verified %d" % (len(entries) + 1))

    for name, info in entries:
        begin, end = info["data_offsets"]
        code, size = FORMATS[info["dtype"]]
        values = [struct.unpack(code, data[i:i + size])[0] for i in range(begin, end, size)]
        shape = "[" + ", ".join(str(d) for d in info["shape"]) + "]"
        print(" ".join([name, info["dtype"], shape] + [repr(v) for v in values]))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail("usage: read_safetensors.py FILE")
    main(sys.argv[1])
