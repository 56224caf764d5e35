"""Reading an uploaded topic JSON, or a .zip of them, safely into topic dicts."""

from __future__ import annotations


def read_upload(
    filename: str, data: bytes, *, max_topics: int = 5000, max_bytes: int = 200 * 2**20
) -> list[dict]:
    """The topics in the upload: one `/t/{id}.json` file or a .zip of such files."""
    raise NotImplementedError
