"""One `/research export` under way, seen from the event loop: its size estimate, then its files written
by a worker thread (cogs.research.export_stream) into a temporary folder, so the loop never holds the
dossier nor waits on it. A refusal says which format would work."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bot.errors import InvalidInput
from cogs.research import export_stream
from cogs.research.export_stream import Estimate, ExportFile, Overflow, Source

FORMAT_NAMES = {"markdown": "Markdown", "html": "HTML", "json": "JSON", "csv": "CSV"}
SUGGESTED_PARTS = 100  # a refusal suggests only formats that would come in at most this many files


@dataclass
class Export:
    """An export of `source` in `fmt` for a server taking files up to `limit` bytes."""

    source: Source
    fmt: str
    limit: int
    folder: Path
    release: Callable[[], Awaitable[None]]  # the snapshot and the export's turn, once its files are written

    @property
    def estimate(self) -> Estimate:
        return export_stream.estimate(self.source.sizes, self.fmt, self.limit)

    async def files(self) -> list[ExportFile]:
        """The files to upload, in order: one, or parts each within the limit. The estimate decides
        whether parts are written beside the one file from the start; when it was wrong, the dossier is
        written again in parts."""
        try:
            try:
                # Near the limit (an estimate is about right), parts are written beside the one file.
                return await self._write(split=self.estimate.size > self.limit * 9 // 10)
            except Overflow:
                return await self._write(split=True)
        except InvalidInput as exc:
            raise InvalidInput(self._refusal()) from exc
        finally:
            await self.release()

    async def _write(self, *, split: bool) -> list[ExportFile]:
        worker = asyncio.ensure_future(
            asyncio.to_thread(
                export_stream.write, self.source, self.fmt, self.limit, self.folder, split=split
            )
        )
        try:
            return await asyncio.shield(worker)
        except asyncio.CancelledError:
            # The bot is stopping: the worker stops at its next rows, before its folder is removed.
            self.source.stop.set()
            with contextlib.suppress(BaseException):
                await worker
            raise

    def _refusal(self) -> str:
        what = FORMAT_NAMES[self.fmt]
        mb = f"{self.limit / 1_000_000:.1f}".rstrip("0").rstrip(".")
        estimates = {fmt: export_stream.estimate(self.source.sizes, fmt, self.limit) for fmt in FORMAT_NAMES}
        others = [
            f"`format:{fmt}`"
            for fmt, e in sorted(estimates.items(), key=lambda item: item[1].parts)
            if fmt != self.fmt and e.splittable and e.parts <= SUGGESTED_PARTS
        ]
        text = (
            f"The {what} dossier of `{self.source.header.code}` can't be split into files within this "
            f"server's upload limit ({mb} MB): "
            + (
                "its contents list alone is larger than that. "
                if self.fmt in ("markdown", "html")
                else "its bibliography and credits alone are larger than that. "
                if self.fmt == "json"
                else "even one of its rows can't fit. "
            )
        )
        if others:
            return text + f"Try {' or '.join(others)}, which would come in parts that fit."
        return text + "Ask an admin for a backup of the database (`archivist backup`) instead."


__all__ = ["FORMAT_NAMES", "Estimate", "Export", "ExportFile"]
