"""Writing a file so that no reader, in this process or another, ever sees half of it.

The content goes to a hidden partial file beside the target (named by process and thread, so two
writers never share one), then is renamed over it: atomic within a folder on POSIX.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: Path, data: str | bytes, *, durable: bool = False) -> Path:
    """Replace ``path``'s content with ``data`` (text as UTF-8), creating its folder; ``path``.

    ``durable``: flush to the disk before the rename, so the content survives a power cut too (a
    person's answers); a crash of the writer alone never leaves half a file anyway.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    content = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with partial.open("wb") as handle:
            handle.write(content)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path
