"""Binary fuse filters (8-bit fingerprints) over 64-bit keys, sharded by the keys' top bits.

The C functions of pyfusefilter are called directly through its cffi module: its Python classes
hash ``str(item)`` with xxhash (and break with xxhash 4), while our keys, the first 8 bytes of a
SHA-1, are already uniformly distributed 64-bit integers and can go to the filter as they are.

A filter answers "certainly absent" or "maybe present" (false positives about 0.39%) in about
9.04 bits per key. One filter's construction needs all its keys in one contiguous array plus about
24 bytes per key of scratch space, and the library counts keys in 32 bits, so a corpus of two
billion keys is split into shards by the keys' top bits; each shard is built, stored and loaded on
its own, and a lookup picks its shard with one shift.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from pyfusefilter._xorfilter import ffi, lib

from shopshield.core.errors import InstanceFault

# Keys per shard the build aims at: big enough that a shard reaches the filter's asymptotic 9.04
# bits per key (below about a million keys the segments' rounding costs more), small enough that
# building one takes a few hundred MB of scratch space.
TARGET_SHARD_KEYS: Final = 1 << 23
MAX_SHARD_BITS: Final = 16
# The library's serialized header: Seed (8 bytes), then Size, SegmentLength, SegmentCount,
# SegmentCountLength and ArrayLength (4 bytes each, little-endian), then the fingerprints.
_HEADER_BYTES: Final = 28
_ARRAY_LENGTH_AT: Final = 24
_SIZE_AT: Final = 8

Keys = npt.NDArray[np.uint64]


class FilterError(InstanceFault):
    """A filter could not be built, or a stored one is damaged."""


def shard_bits_for(count: int) -> int:
    """How many top key bits choose the shard for a corpus of ``count`` keys."""
    if count <= TARGET_SHARD_KEYS:
        return 0
    return min(MAX_SHARD_BITS, math.ceil(math.log2(count / TARGET_SHARD_KEYS)))


def build_shard(keys: Keys) -> bytes:
    """A serialized binary fuse filter over ``keys`` (distinct uint64 values, any order)."""
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    size = len(keys)
    if size >= 1 << 32:
        raise FilterError(f"{size:,} keys do not fit one shard (the library counts in 32 bits)")
    handle = ffi.new("binary_fuse8_t *")
    if not lib.binary_fuse8_allocate(size, handle):
        raise FilterError(f"cannot allocate a filter for {size:,} keys")
    try:
        # cffi releases the GIL around the call, so shards can be built on several threads.
        if size and not lib.binary_fuse8_populate(ffi.cast("uint64_t *", ffi.from_buffer(keys)), size, handle):
            raise FilterError(f"the filter over {size:,} keys could not be constructed (duplicate keys?)")
        out = bytearray(lib.binary_fuse8_serialization_bytes(handle))
        lib.binary_fuse8_serialize(handle, ffi.from_buffer(out))
        return bytes(out)
    finally:
        lib.binary_fuse8_free(handle)


def build_shards(
    key_source: Callable[[int], Keys],
    shards: int,
    write: Callable[[int, bytes], None],
    *,
    threads: int | None = None,
    done: Callable[[int], None] | None = None,
) -> None:
    """Build ``shards`` filters, shard ``i`` over ``key_source(i)``, and hand each to ``write``.

    Several shards are built at once (the C code runs without the GIL); at most ``threads`` shards'
    keys and scratch space are in memory together.
    """
    workers = max(1, min(threads or (os.cpu_count() or 1), shards, 4))

    def one(shard: int) -> int:
        write(shard, build_shard(key_source(shard)))
        return shard

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fuse") as pool:
        for finished in pool.map(one, range(shards)):
            if done is not None:
                done(finished)


class ShardedFilter:
    """Loaded filter shards; ``maybe_contains(key)`` is the whole lookup.

    The loaded structs own their fingerprints (the library's deserialization copies them into
    memory it allocated), so files may be replaced or deleted once loaded; ``close`` frees them.
    """

    __slots__ = ("_contain", "_handles", "_shift", "bits", "keys")

    def __init__(self, handles: Sequence[Any], bits: int) -> None:
        if len(handles) != 1 << bits:
            raise FilterError(f"{len(handles)} shards for {bits} shard bits")
        self._handles: list[Any] = list(handles)
        self._shift = 64 - bits
        self._contain = lib.binary_fuse8_contain
        self.bits = bits
        self.keys = sum(int(h.Size) for h in self._handles)

    @classmethod
    def load(cls, paths: Sequence[Path], bits: int) -> ShardedFilter:
        handles = []
        try:
            for path in paths:
                handles.append(_load_shard(path))
        except BaseException:
            for handle in handles:
                lib.binary_fuse8_free(handle)
            raise
        return cls(handles, bits)

    def maybe_contains(self, key: int) -> bool:
        return bool(self._contain(key, self._handles[key >> self._shift]))

    def contains_many(self, keys: Keys) -> npt.NDArray[np.bool_]:
        """The filter's answer for each key (a loop over the C call; for tests and measurements)."""
        contain, handles, shift = self._contain, self._handles, self._shift
        return np.fromiter((contain(k, handles[k >> shift]) for k in keys.tolist()), dtype=np.bool_, count=len(keys))

    def size_in_bytes(self) -> int:
        return sum(int(lib.binary_fuse8_size_in_bytes(h)) for h in self._handles)

    def handles(self) -> list[Any]:
        """The shards' structs, by shard number (valid until ``close``)."""
        return self._handles

    def raw(self) -> tuple[Any, Any]:
        """The C function and shard 0's struct, to time the bare C call beside ours."""
        return self._contain, self._handles[0]

    def close(self) -> None:
        handles, self._handles = self._handles, []
        for handle in handles:
            lib.binary_fuse8_free(handle)


def _load_shard(path: Path) -> Any:
    data = np.fromfile(path, dtype=np.uint8)
    # The library's deserializer trusts the header's length: check it against the file first, so a
    # truncated or foreign file is refused instead of read past its end.
    if len(data) < _HEADER_BYTES:
        raise FilterError(f"filter shard {path.name} is truncated")
    header = data[:_HEADER_BYTES].tobytes()
    array_length = int.from_bytes(header[_ARRAY_LENGTH_AT : _ARRAY_LENGTH_AT + 4], "little")
    if len(data) != _HEADER_BYTES + array_length:
        raise FilterError(
            f"filter shard {path.name} has {len(data)} bytes, its header says {_HEADER_BYTES + array_length}"
        )
    handle = ffi.new("binary_fuse8_t *")
    if not lib.binary_fuse8_deserialize(handle, ffi.from_buffer(data)):
        raise FilterError(f"filter shard {path.name} cannot be read")
    return handle


def stored_keys(blob: bytes) -> int:
    """The number of keys a serialized shard was built over (from its header)."""
    return int.from_bytes(blob[_SIZE_AT : _SIZE_AT + 4], "little")
