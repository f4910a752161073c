"""Files written whole or not at all: `write_atomically` (checkpoints) and `write_text_atomically` (grades,
studies, student notebooks). A module of its own, below `paths` and `checkpoint`, which both use it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path, write, binary: bool = False) -> None:
    """Call `write(handle)` on a temporary file beside `path`, then rename it over `path`: a crash or a
    full disk during the write leaves any previous file untouched and no half-written file behind. The
    file gets the usual permissions (0666 less the umask), not mkstemp's private 0600."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_text_atomically(path, text: str) -> None:
    """A text file written whole or not at all (`write_atomically`)."""
    write_atomically(path, lambda handle: handle.write(text))


__all__ = ["write_atomically", "write_text_atomically"]
