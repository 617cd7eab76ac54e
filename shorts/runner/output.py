"""A bounded capture of a worker's stdout/stderr: a flood keeps its head and its tail."""

from __future__ import annotations

from pathlib import Path


class BoundedLog:
    """Keeps the first ``head`` bytes and the last ``tail`` bytes of a stream, counts the rest.

    The beginning of a log says what the short set out to do; the end says how it died. The middle
    of a flood is what can be dropped.
    """

    def __init__(self, head: int = 512 * 1024, tail: int = 512 * 1024) -> None:
        self.head_limit = head
        self.tail_limit = tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        """Add a chunk, dropping the oldest middle bytes once both ends are full."""
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        del self.tail[: max(0, len(self.tail) - self.tail_limit)]

    @property
    def tail_size(self) -> int:
        return len(self.tail)

    @property
    def omitted(self) -> int:
        """Bytes of the middle that were not kept."""
        return self.total - len(self.head) - len(self.tail)

    def write(self, path: Path) -> None:
        """Write head, a marker naming how much was dropped, and tail."""
        with path.open("wb") as handle:
            handle.write(self.head)
            if self.omitted > 0:
                handle.write(f"\n[... {self.omitted} bytes omitted by shorts ...]\n".encode())
            handle.write(self.tail)
