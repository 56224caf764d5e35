"""Reading an uploaded topic JSON, or a .zip of them, safely into topic dicts."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import PurePosixPath

from bot.errors import InvalidInput
from cogs.forum_import.discourse import NotATopic, parse_topic

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP = b"PK\x05\x06"


def read_upload(
    filename: str, data: bytes, *, max_topics: int = 5000, max_bytes: int = 200 * 2**20
) -> list[dict]:
    """The topics in the upload, in topic id order: one topic as `/t/{id}.json?include_raw=true`
    serves it, or a .zip of such files (in any folders).

    In a .zip, a topic's `/t/{id}/posts.json` (the posts past the first 20) is merged into the
    topic, and category listings (`/c/….json`) are passed over; anything else refuses the whole
    upload with a sentence naming the file. Every topic returned parses (`parse_topic`), so an
    import can't stop half-way on a bad file. Sizes are checked before and while reading: a .zip
    may not unpack to more than `max_bytes`, nor hold more than `max_topics` topics."""
    name = PurePosixPath(filename.replace("\\", "/")).name or "the file"
    if not data:
        raise InvalidInput(f"`{name}` is empty.")
    if len(data) > max_bytes:
        raise InvalidInput(f"`{name}` is larger than {_mib(max_bytes)}; split it into smaller .zip files.")
    if data.startswith((ZIP_MAGIC, EMPTY_ZIP)):
        return _read_zip(name, data, max_topics=max_topics, max_bytes=max_bytes)
    topic = _topic_json(f"`{name}`", data)
    if isinstance(topic, dict) and "topic_list" in topic:
        raise NotATopic(
            f"`{name}` isn't a Discourse topic export: it is a category's list of topics. Import the "
            "category with `/import discourse`, or upload each topic's `/t/{id}.json?include_raw=true`."
        )
    _check(f"`{name}`", topic)
    return [topic]


def _read_zip(name: str, data: bytes, *, max_topics: int, max_bytes: int) -> list[dict]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise InvalidInput(f"`{name}` isn't a readable .zip file.") from None
    files = [e for e in entries if not e.is_dir() and _wanted(e.filename)]
    if len(files) > 2 * max_topics:
        raise InvalidInput(f"`{name}` holds {len(files)} JSON files; at most {max_topics} topics per upload.")
    declared = sum(e.file_size for e in files)
    if declared > max_bytes:
        raise InvalidInput(
            f"`{name}` unpacks to more than {_mib(max_bytes)}; split it into smaller .zip files."
        )
    topics: dict[int, dict] = {}
    extra: dict[int, tuple[str, list]] = {}
    budget = max_bytes
    for entry in files:
        body = _unpack(archive, entry, name, budget)
        budget -= len(body)
        label = f"`{entry.filename[:120]}` in `{name}`"
        doc = _topic_json(label, body)
        if isinstance(doc, dict) and "topic_list" in doc:
            continue  # a category listing saved alongside its topics
        if _is_posts_page(doc):
            topic_id = doc["id"]
            pages = extra.setdefault(topic_id, (label, []))
            pages[1].extend(doc["post_stream"]["posts"])
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), int):
            raise NotATopic(f"{label} isn't a Discourse topic export: it has no topic `id`.")
        if doc["id"] in topics:
            _merge(topics[doc["id"]], doc["post_stream"]["posts"] if _has_posts(doc) else [])
        else:
            topics[doc["id"]] = doc
        if len(topics) > max_topics:
            raise InvalidInput(
                f"`{name}` holds more than {max_topics} topics; split it into smaller uploads."
            )
    for topic_id, (label, posts) in extra.items():
        if topic_id not in topics:
            raise NotATopic(
                f"{label} holds posts of topic {topic_id}, but `{name}` has no `{topic_id}.json` for the "
                "topic itself."
            )
        _merge(topics[topic_id], posts)
    if not topics:
        raise NotATopic(
            f"`{name}` holds no Discourse topic export: put each topic's `/t/{{id}}.json?include_raw=true` "
            "in it as a .json file."
        )
    result = [topics[t] for t in sorted(topics)]
    for topic in result:
        _check(f"Topic {topic['id']} in `{name}`", topic)
    return result


def _wanted(path: str) -> bool:
    """JSON files, wherever they are in the .zip, except macOS metadata and hidden files."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if not parts or parts[0] == "__MACOSX" or parts[-1].startswith("."):
        return False
    return parts[-1].lower().endswith(".json")


def _unpack(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, name: str, budget: int) -> bytes:
    """The entry's bytes, never more than `budget` whatever its header claims (zip bombs)."""
    try:
        with archive.open(entry) as stream:
            body = stream.read(budget + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError, OSError, EOFError):
        raise InvalidInput(
            f"`{entry.filename[:120]}` in `{name}` can't be unpacked (damaged, encrypted or compressed "
            "in a way the bot can't read)."
        ) from None
    if len(body) > budget:
        raise InvalidInput(f"`{name}` unpacks to more than it says; the bot stopped reading it.")
    return body


def _topic_json(label: str, data: bytes) -> object:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotATopic(
            f"{label} isn't a Discourse topic export: it isn't text. Upload the topic's "
            "`/t/{id}.json?include_raw=true` (or a .zip of such files)."
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotATopic(
            f"{label} isn't a Discourse topic export: it isn't JSON ({exc.msg}, line {exc.lineno}). "
            "Upload the topic's `/t/{id}.json?include_raw=true` (or a .zip of such files)."
        ) from None


def _has_posts(doc: dict) -> bool:
    stream = doc.get("post_stream")
    return isinstance(stream, dict) and isinstance(stream.get("posts"), list)


def _is_posts_page(doc: object) -> bool:
    """`/t/{id}/posts.json`: posts of a topic, without the topic's title."""
    return isinstance(doc, dict) and isinstance(doc.get("id"), int) and _has_posts(doc) and "title" not in doc


def _merge(topic: dict, posts: list) -> None:
    if not _has_posts(topic):
        return
    have = {p.get("id") for p in topic["post_stream"]["posts"] if isinstance(p, dict)}
    for post in posts:
        if isinstance(post, dict) and post.get("id") not in have:
            topic["post_stream"]["posts"].append(post)
            have.add(post.get("id"))


def _check(label: str, topic: object) -> None:
    try:
        parse_topic(topic, base_url=None)  # type: ignore[arg-type]
    except NotATopic as exc:
        raise NotATopic(f"{label}: {exc.message}") from None


def _mib(size: int) -> str:
    return f"{size / 2**20:g} MiB"
