"""The file itself: appends bytes, rotates by size, syncs to disk. Blocking; the exporter calls it from a thread."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import BinaryIO

from processor.exporters.file.config import RotationConfig


class JsonLinesFile:
    def __init__(self, path: Path, rotation: RotationConfig | None) -> None:
        self.path = path
        self.rotation = rotation
        self._file: BinaryIO | None = None
        self._size = 0

    def open(self) -> None:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
            self._size = self._file.tell()

    def write(self, data: bytes) -> None:
        self.open()
        if self.rotation and self._size and self._size + len(data) > self.rotation.max_megabytes * 2**20:
            self._rotate()
        self._file.write(data)
        self._file.flush()  # to the OS, so a reader sees whole lines; fsync waits for close
        self._size += len(data)

    def close(self) -> None:
        if self._file is not None:
            file, self._file = self._file, None
            file.flush()
            os.fsync(file.fileno())
            file.close()

    def _rotate(self) -> None:
        """Moves the full file aside with a timestamp in its name, as the Collector's file exporter does."""
        self.close()
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime())
        millis = int(time.time() * 1000) % 1000
        target = self.path.with_name(f"{self.path.stem}-{stamp}.{millis:03d}{self.path.suffix}")
        counter = 1
        while target.exists():  # two rotations within one millisecond
            target = target.with_name(f"{self.path.stem}-{stamp}.{millis:03d}-{counter}{self.path.suffix}")
            counter += 1
        self.path.rename(target)
        self._drop_old_backups()
        self.open()

    def backups(self) -> list[Path]:
        """Rotated files, oldest first."""
        found = self.path.parent.glob(f"{self.path.stem}-*{self.path.suffix}")
        return sorted((p for p in found if p != self.path), key=lambda p: (p.stat().st_mtime_ns, p.name))

    def _drop_old_backups(self) -> None:
        keep = self.rotation.max_backups if self.rotation else 0
        if keep:
            for old in self.backups()[:-keep]:
                old.unlink(missing_ok=True)
