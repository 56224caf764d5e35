-- Importing the old Discourse forum (`/import …`). Topics become episodes, posts become contributions
-- with origin `forum`, credited to their forum name until an admin links it to a member.
-- All times are UTC unix epoch seconds.

-- A forum name (a Discourse username) seen by an import, per server and forum (`forum`: the forum's
-- address as the importer names it). `member_id`: the member it is linked to (automatically when the
-- username equals a member's username, any case; otherwise with `/import link`), NULL until then.
CREATE TABLE forum_authors (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    forum      TEXT    NOT NULL,
    username   TEXT    NOT NULL COLLATE NOCASE,
    name       TEXT,
    member_id  INTEGER,
    linked_by  INTEGER,
    linked_at  INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (guild_id, forum, username)
);
CREATE INDEX forum_authors_name ON forum_authors (guild_id, username);

-- Contributions: the author may be a forum name not (yet) a member (`author_id` NULL, `forum_author_id`
-- set; linking fills `author_id`, the forum name stays for the record), `origin` may be `forum`, a
-- forum post's likes are kept as a count (`forum_likes`, added to the likes of reactions wherever
-- likes are counted), and an imported reply knows the contribution it answers (`reply_to_id`; no
-- foreign key: a reply to a contribution removed later reads as a reply to something not recorded).
--
-- SQLite relaxes NOT NULL and changes a CHECK only by rebuilding the table. Rows keep their ids, so
-- the full-text index (whose content is the `contributions_search` view, see 0003) stays valid as it
-- is: its triggers and view are dropped and made again around the rebuild, and the likes are moved
-- aside while the old table is dropped (dropping it would otherwise delete them by cascade).
DROP TRIGGER contributions_fts_insert;
DROP TRIGGER contributions_fts_delete;
DROP TRIGGER contributions_fts_update;
DROP VIEW contributions_search;

CREATE TABLE contributions_rebuilt (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id            INTEGER NOT NULL,
    episode_id          INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    author_id           INTEGER,
    origin              TEXT    NOT NULL CHECK (origin IN ('thread', 'form', 'menu', 'forum')),
    title               TEXT,
    body                TEXT    NOT NULL DEFAULT '',
    sources             TEXT,
    attachments         TEXT    NOT NULL DEFAULT '[]',  -- JSON list of {"filename", "url"}
    links               TEXT    NOT NULL DEFAULT '[]',  -- JSON list of URLs found in the text
    channel_id          INTEGER,
    message_id          INTEGER,
    jump_url            TEXT,
    reply_to_message_id INTEGER,
    added_by            INTEGER,
    created_at          INTEGER NOT NULL,
    edited_at           INTEGER,
    author_name         TEXT,
    mark                TEXT    NOT NULL DEFAULT 'normal' CHECK (mark IN ('normal', 'key', 'excluded')),
    forum_author_id     INTEGER REFERENCES forum_authors (id),
    forum_likes         INTEGER NOT NULL DEFAULT 0 CHECK (forum_likes >= 0),
    reply_to_id         INTEGER,
    CHECK (author_id IS NOT NULL OR forum_author_id IS NOT NULL)
);
INSERT INTO contributions_rebuilt (
    id, guild_id, episode_id, author_id, origin, title, body, sources, attachments, links, channel_id,
    message_id, jump_url, reply_to_message_id, added_by, created_at, edited_at, author_name, mark
)
SELECT
    id, guild_id, episode_id, author_id, origin, title, body, sources, attachments, links, channel_id,
    message_id, jump_url, reply_to_message_id, added_by, created_at, edited_at, author_name, mark
FROM contributions;
-- Numbers of removed contributions are never given out again: the counter moves over as it was.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'contributions_rebuilt', seq FROM sqlite_sequence WHERE name = 'contributions'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'contributions_rebuilt');
UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'contributions'))
WHERE name = 'contributions_rebuilt' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'contributions');

CREATE TABLE contribution_likes_kept AS SELECT contribution_id, user_id, emoji FROM contribution_likes;
DROP TABLE contribution_likes;
DROP TABLE contributions;
ALTER TABLE contributions_rebuilt RENAME TO contributions;

CREATE TABLE contribution_likes (
    contribution_id INTEGER NOT NULL REFERENCES contributions (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL,
    emoji           TEXT    NOT NULL,
    PRIMARY KEY (contribution_id, user_id, emoji)
) WITHOUT ROWID;
INSERT INTO contribution_likes (contribution_id, user_id, emoji)
SELECT contribution_id, user_id, emoji FROM contribution_likes_kept;
DROP TABLE contribution_likes_kept;

CREATE INDEX contributions_episode ON contributions (episode_id, created_at, id);
CREATE INDEX contributions_author ON contributions (guild_id, author_id);
CREATE UNIQUE INDEX contributions_message ON contributions (episode_id, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX contributions_by_message ON contributions (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX contributions_channel ON contributions (channel_id, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX contributions_episode_author ON contributions (episode_id, author_id);
CREATE INDEX contributions_forum_author ON contributions (forum_author_id) WHERE forum_author_id IS NOT NULL;

CREATE VIEW contributions_search AS
    SELECT id, title, body, sources, 'g' || guild_id || ' e' || episode_id AS scope FROM contributions;
CREATE TRIGGER contributions_fts_insert AFTER INSERT ON contributions BEGIN
    INSERT INTO contributions_fts (rowid, title, body, sources, scope)
    VALUES (new.id, new.title, new.body, new.sources, 'g' || new.guild_id || ' e' || new.episode_id);
END;
CREATE TRIGGER contributions_fts_delete AFTER DELETE ON contributions BEGIN
    INSERT INTO contributions_fts (contributions_fts, rowid, title, body, sources, scope)
    VALUES ('delete', old.id, old.title, old.body, old.sources, 'g' || old.guild_id || ' e' || old.episode_id);
END;
CREATE TRIGGER contributions_fts_update AFTER UPDATE OF title, body, sources ON contributions BEGIN
    INSERT INTO contributions_fts (contributions_fts, rowid, title, body, sources, scope)
    VALUES ('delete', old.id, old.title, old.body, old.sources, 'g' || old.guild_id || ' e' || old.episode_id);
    INSERT INTO contributions_fts (rowid, title, body, sources, scope)
    VALUES (new.id, new.title, new.body, new.sources, 'g' || new.guild_id || ' e' || new.episode_id);
END;

-- Each forum post an import has seen, by its key on the forum: a re-run updates the contribution
-- instead of adding another. `contribution_id` becomes NULL when the contribution is removed with
-- `/research remove`: a re-run then leaves the post out rather than bringing it back.
CREATE TABLE forum_posts (
    guild_id        INTEGER NOT NULL,
    forum           TEXT    NOT NULL,
    post_id         INTEGER NOT NULL,
    topic_id        INTEGER NOT NULL,
    post_number     INTEGER NOT NULL,
    contribution_id INTEGER UNIQUE REFERENCES contributions (id) ON DELETE SET NULL,
    imported_at     INTEGER NOT NULL,
    PRIMARY KEY (guild_id, forum, post_id)
) WITHOUT ROWID;
CREATE INDEX forum_posts_topic ON forum_posts (guild_id, forum, topic_id, post_number);

-- Each forum topic an import turned into an episode (one episode per topic). `fingerprint`: the
-- episode as the topic's first post described it at the last import (title, status, authors,
-- description); a re-run changes the episode only when the topic changed.
CREATE TABLE forum_topics (
    guild_id    INTEGER NOT NULL,
    forum       TEXT    NOT NULL,
    topic_id    INTEGER NOT NULL,
    episode_id  INTEGER NOT NULL UNIQUE REFERENCES episodes (id) ON DELETE CASCADE,
    url         TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    imported_by INTEGER NOT NULL,
    imported_at INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, forum, topic_id)
) WITHOUT ROWID;

-- Authors named in a topic's `Author:` line. A linked name's member is an author in `episode_authors`
-- (added when it was linked); these rows stay as the record of where the authorship came from, and
-- reads show only the names still waiting for a link.
CREATE TABLE episode_forum_authors (
    episode_id      INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    forum_author_id INTEGER NOT NULL REFERENCES forum_authors (id),
    added_at        INTEGER NOT NULL,
    PRIMARY KEY (episode_id, forum_author_id)
) WITHOUT ROWID;
CREATE INDEX episode_forum_authors_author ON episode_forum_authors (forum_author_id);
