"""Writing a file so that no reader, in this process or another, ever sees half of it.

One way for every file another process may read while it is rewritten (a report, a multirun's
job record, a journal's delivery state, a labelling session's answers): the content goes to a
hidden partial file beside the target, which is then renamed over it. A rename within a folder is
atomic on POSIX, so a reader finds the old content or the new. The partial file's name carries
the process and thread, so two writers of the same file never write into one partial file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: Path, data: str | bytes, *, durable: bool = False) -> Path:
    """Replace ``path``'s content with ``data`` (text is written as UTF-8, newlines as given).

    Args:
        path: the file to write; its folder is created when missing.
        data: the whole new content.
        durable: flush the content to the disk before the rename, so that it survives a power
            cut too (a person's answers); a crash of the writer alone never leaves half a file.

    Returns:
        ``path``.
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
