"""The persistent sending queue: an append-only log of records, in numbered segment files.

A frame is `length (u32) | crc32 (u32) | record`, big-endian. `append` writes a batch's frames and
fsyncs before it returns, so a record is on disk before it is acknowledged upstream. A segment is
deleted once every record in it is acknowledged by the broker; the segment being written is reused
(truncated) when it has nothing left to send. On `open`, every record still on disk is read back to
be sent again (at-least-once). A torn last frame (a crash mid-write) or a bad checksum ends the
reading of that segment; what follows is ignored, with a warning.

`record_type` is what the exporter queues (kafka's OutgoingRecord, otlp's QueuedRequest): anything with
`to_bytes()`, `from_bytes(data)` and a `segment` attribute.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import struct
import zlib
from pathlib import Path

_FRAME = struct.Struct(">II")
_SUFFIX = ".seg"


class DiskLogError(RuntimeError):
    pass


class DiskLog:
    def __init__(self, directory: Path, *, log: logging.Logger, segment_bytes: int = 16 << 20,
                 record_type: type) -> None:
        self.directory = directory
        self.record_type = record_type
        self.segment_bytes = segment_bytes
        self.log = log
        self._outstanding: dict[int, int] = {}  # segment -> records not yet acknowledged
        self._active = 0
        self._file = None
        self._written = 0
        self._lock_fd: int | None = None
        self._write_lock = asyncio.Lock()

    def open(self) -> list:
        """Lock the directory and return the records a previous run left unacknowledged."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.directory / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise DiskLogError(f"queue directory {self.directory} is in use by another exporter or process") from None
        recovered: list = []
        segments = sorted(int(p.stem) for p in self.directory.glob(f"*{_SUFFIX}") if p.stem.isdigit())
        for segment in segments:
            records = self._read(segment)
            for record in records:
                record.segment = segment
            recovered += records
            if records:
                self._outstanding[segment] = len(records)
            else:
                self._path(segment).unlink()
        self._active = (segments[-1] + 1) if segments else 1
        self._open_active()
        return recovered

    async def append(self, records: list) -> None:
        """Write `records` durably (fsync) and note their segment on each."""
        frames = []
        for record in records:
            payload = record.to_bytes()
            frames += [_FRAME.pack(len(payload), zlib.crc32(payload)), payload]
        data = b"".join(frames)
        async with self._write_lock:
            if self._outstanding.get(self._active, 0) == 0 and self._written > 0:
                self._file.truncate(0)  # everything in it was acknowledged: start it over
                self._written = 0
            elif self._written >= self.segment_bytes:
                self._file.close()
                self._active += 1
                self._open_active()
            segment = self._active
            self._outstanding[segment] = self._outstanding.get(segment, 0) + len(records)
            try:
                await asyncio.to_thread(self._write, data)
            except BaseException:
                self._outstanding[segment] -= len(records)
                raise
            self._written += len(data)
        for record in records:
            record.segment = segment

    def release(self, segment: int) -> None:
        """One record of `segment` is done with (acknowledged, or failed for good)."""
        left = self._outstanding.get(segment, 0) - 1
        self._outstanding[segment] = left
        if left <= 0 and segment != self._active:
            del self._outstanding[segment]
            self._path(segment).unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            if self._outstanding.get(self._active, 0) <= 0:
                self._path(self._active).unlink(missing_ok=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())

    def _open_active(self) -> None:
        self._file = open(self._path(self._active), "ab")  # noqa: SIM115 - held open across appends
        self._written = 0
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the new file's name durable too
        finally:
            os.close(dir_fd)

    def _read(self, segment: int) -> list:
        data = self._path(segment).read_bytes()
        records: list = []
        at = 0
        while at < len(data):
            if at + _FRAME.size > len(data):
                break
            length, checksum = _FRAME.unpack_from(data, at)
            payload = data[at + _FRAME.size:at + _FRAME.size + length]
            if len(payload) < length or zlib.crc32(payload) != checksum:
                break
            try:
                records.append(self.record_type.from_bytes(payload))
            except (ValueError, IndexError, struct.error, UnicodeDecodeError) as exc:
                self.log.warning("queue segment %s: skipping an unreadable record: %s", segment, exc)
            at += _FRAME.size + length
        if at < len(data):
            self.log.warning("queue segment %s: ignoring %d bytes after the last whole record (torn write)",
                             self._path(segment), len(data) - at)
        return records

    def _path(self, segment: int) -> Path:
        return self.directory / f"{segment:012d}{_SUFFIX}"
