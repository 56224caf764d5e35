"""Uploaded topic files: one topic JSON, a .zip of them (the sample folder zipped as it is), and
everything else refused with a sentence: other files, partial topics, zip bombs, too many topics."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from bot.errors import InvalidInput
from cogs.forum_import.archive import read_upload
from cogs.forum_import.discourse import NotATopic, parse_topic
from tests.forum_import.server import SAMPLE, sample_topic


def _zip(files: dict[str, bytes | str], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def _sample_files() -> dict[str, bytes | str]:
    return {str(p.relative_to(SAMPLE)): p.read_bytes() for p in SAMPLE.rglob("*.json")}


def test_one_topic_file():
    data = json.dumps(sample_topic(4711)).encode()
    (topic,) = read_upload("4711.json", data)
    assert parse_topic(topic).authors == ("Spartacus", "Indy")


def test_one_topic_file_with_a_byte_order_mark():
    data = "\ufeff".encode() + json.dumps(sample_topic(4711)).encode()
    assert read_upload("4711.json", data)[0]["id"] == 4711


def test_the_sample_folder_zipped_as_it_is():
    topics = read_upload("old-forum.zip", _zip(_sample_files()))
    assert [t["id"] for t in topics] == [4711, 4712]  # the category listing passed over
    long = parse_topic(topics[1])
    assert len(long.posts) == 24 and long.skipped == ((9, "small action"), (13, "whisper"), (17, "deleted"))


def test_zip_in_folders_with_mac_leftovers():
    files = {
        "export/topics/4711.json": json.dumps(sample_topic(4711)),
        "__MACOSX/export/topics/._4711.json": b"\x00\x05\x16\x07junk",
        "export/.DS_Store": b"\x00junk",
        "export/readme.txt": "Veles's research, saved from the old forum",
    }
    assert [t["id"] for t in read_upload("export.zip", _zip(files))] == [4711]


def test_file_that_is_not_json():
    with pytest.raises(NotATopic, match=r"`notes.json` isn't a Discourse topic export: it isn't JSON"):
        read_upload("notes.json", b"Krupskaya, not Krupska")
    with pytest.raises(NotATopic, match="it isn't text"):
        read_upload("photo.json", b"\xff\xd8\xff\xe0 JFIF")


def test_json_that_is_not_a_topic():
    with pytest.raises(NotATopic, match=r"`user\.json`: This isn't a Discourse topic"):
        read_upload("user.json", b'{"user": {"username": "Veles"}}')
    with pytest.raises(NotATopic, match="category's list of topics"):
        read_upload("5.json", (SAMPLE / "c" / "episode-research" / "5.json").read_bytes())


def test_the_first_page_of_a_long_topic_alone_is_refused():
    with pytest.raises(NotATopic, match=r"`4712.json`: Topic 4712 is incomplete: 5 of its 25 posts"):
        read_upload("4712.json", (SAMPLE / "t" / "4712.json").read_bytes())


def test_zip_with_a_bad_file_names_it():
    files = {**_sample_files(), "t/4713.json": "{not json"}
    with pytest.raises(NotATopic, match=r"`t/4713.json` in `old.zip` isn't a Discourse topic export"):
        read_upload("old.zip", _zip(files))


def test_zip_with_posts_but_not_their_topic():
    files = {"t/4712/posts.json": (SAMPLE / "t" / "4712" / "posts.json").read_bytes()}
    with pytest.raises(NotATopic, match=r"posts of topic 4712, but `old.zip` has no `4712.json`"):
        read_upload("old.zip", _zip(files))


def test_zip_without_topics():
    with pytest.raises(NotATopic, match="holds no Discourse topic export"):
        read_upload("empty.zip", _zip({"notes.txt": "nothing"}))
    with pytest.raises(NotATopic, match="holds no Discourse topic export"):
        read_upload("empty.zip", _zip({}))


def test_damaged_zip():
    data = _zip(_sample_files())
    with pytest.raises(InvalidInput, match=r"readable \.zip"):
        read_upload("old.zip", data[:200])


def test_zip_bomb_is_refused_by_its_declared_size():
    bomb = _zip({"t/4711.json": b" " * (3 * 2**20)})  # a few KiB packed, 3 MiB unpacked
    assert len(bomb) < 2**16
    with pytest.raises(InvalidInput, match="unpacks to more than 2 MiB"):
        read_upload("bomb.zip", bomb, max_bytes=2 * 2**20)


def test_zip_bomb_lying_about_its_size_is_stopped_while_reading():
    bomb = bytearray(_zip({"t/4711.json": b" " * (3 * 2**20)}))
    # Rewrite the declared sizes (local header and central directory) to claim 100 bytes.
    real = (3 * 2**20).to_bytes(4, "little")
    bomb = bomb.replace(real, (100).to_bytes(4, "little"))
    # zipfile reads no more than the declared size, and the checksum then fails.
    with pytest.raises(InvalidInput, match=r"`t/4711\.json` in `bomb\.zip` can't be unpacked"):
        read_upload("bomb.zip", bytes(bomb), max_bytes=2 * 2**20)


def test_too_many_topics():
    files = {f"t/{n}.json": json.dumps({**sample_topic(4711), "id": n}) for n in range(1, 5)}
    assert len(read_upload("many.zip", _zip(files), max_topics=4)) == 4
    with pytest.raises(InvalidInput, match="more than 3 topics"):
        read_upload("many.zip", _zip(files), max_topics=3)


def test_too_large_and_empty_uploads():
    with pytest.raises(InvalidInput, match="larger than 1 MiB"):
        read_upload("4711.json", b" " * (2**20 + 1), max_bytes=2**20)
    with pytest.raises(InvalidInput, match="is empty"):
        read_upload("4711.json", b"")
