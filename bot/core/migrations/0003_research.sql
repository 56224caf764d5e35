-- Research: the author's name as last seen (for dossiers read outside Discord, and for members who
-- left); the thread messages removed with `/research remove`, so catching up after a restart does
-- not collect them again; and a full-text index that also knows each contribution's server and
-- episode (a `scope` column of tokens like "g123 e45"), so a search limited to one server or one
-- episode is narrowed inside the index instead of row by row.

ALTER TABLE contributions ADD COLUMN author_name TEXT;

CREATE TABLE removed_messages (
    episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL,
    removed_by INTEGER NOT NULL,
    removed_at INTEGER NOT NULL,
    PRIMARY KEY (episode_id, message_id)
) WITHOUT ROWID;

CREATE INDEX contributions_channel ON contributions (channel_id, message_id) WHERE message_id IS NOT NULL;

DROP TRIGGER contributions_fts_insert;
DROP TRIGGER contributions_fts_delete;
DROP TRIGGER contributions_fts_update;
DROP TABLE contributions_fts;

CREATE VIEW contributions_search AS
    SELECT id, title, body, sources, 'g' || guild_id || ' e' || episode_id AS scope FROM contributions;

CREATE VIRTUAL TABLE contributions_fts USING fts5 (
    title, body, sources, scope,
    content = 'contributions_search', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
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
INSERT INTO contributions_fts (contributions_fts) VALUES ('rebuild');
