"""File checksums: xxh64 (the ASC MHL preferred hash), xxh128, md5, sha1, streamed in 8 MiB reads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from posthouse.core.errors import UsageError

__all__ = ["ALGORITHMS", "Hasher", "hash_file", "new_hasher"]

ALGORITHMS = ("xxh64", "xxh128", "md5", "sha1")
CHUNK = 8 << 20


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


def new_hasher(algorithm: str) -> Hasher:
    """A fresh hasher for one of :data:`ALGORITHMS`."""
    import xxhash

    if algorithm == "xxh64":
        h: Hasher = xxhash.xxh64()
    elif algorithm == "xxh128":
        h = xxhash.xxh3_128()
    elif algorithm in ("md5", "sha1"):
        h = hashlib.new(algorithm)
    else:
        raise UsageError(f"unknown hash algorithm '{algorithm}'", hint=f"use one of {', '.join(ALGORITHMS)}")
    return h


def hash_file(path: str | Path, algorithms: Iterable[str] = ("xxh64",)) -> dict[str, str]:
    """Hash a file with one read for all ``algorithms``; returns ``{algorithm: hexdigest}``."""
    hashers = {a: new_hasher(a) for a in algorithms}
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            for h in hashers.values():
                h.update(chunk)
    return {a: h.hexdigest() for a, h in hashers.items()}
