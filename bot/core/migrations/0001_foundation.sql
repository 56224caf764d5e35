-- Foundation: server settings, episodes, authors, history, contributions (+ full-text index),
-- deadlines, and the scheduler's persisted jobs. All times are UTC unix epoch seconds.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE guild_settings (
    guild_id                 INTEGER PRIMARY KEY,
    research_forum_id        INTEGER,
    review_channel_id        INTEGER,
    announcements_channel_id INTEGER,
    host_role_id             INTEGER,
    timezone                 TEXT    NOT NULL DEFAULT 'UTC',
    reminder_offsets         TEXT    NOT NULL DEFAULT '3d,1d,0',
    digest_day               INTEGER NOT NULL DEFAULT 0 CHECK (digest_day BETWEEN 0 AND 6),
    digest_time              TEXT    NOT NULL DEFAULT '09:00',
    updated_at               INTEGER NOT NULL
);

CREATE TABLE episodes (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id           INTEGER NOT NULL,
    code               TEXT    NOT NULL COLLATE NOCASE,
    title              TEXT    NOT NULL,
    description        TEXT,
    status             TEXT    NOT NULL DEFAULT 'in_research'
                       CHECK (status IN ('in_research', 'writing', 'recorded', 'published', 'shelved')),
    forum_id           INTEGER,
    thread_id          INTEGER,
    starter_message_id INTEGER,
    created_by         INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    thanked_at         INTEGER,
    last_seen_message_id INTEGER
);
CREATE UNIQUE INDEX episodes_guild_code ON episodes (guild_id, code);
CREATE UNIQUE INDEX episodes_thread ON episodes (thread_id) WHERE thread_id IS NOT NULL;
CREATE INDEX episodes_guild_status ON episodes (guild_id, status);

CREATE TABLE episode_authors (
    episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    added_by   INTEGER NOT NULL,
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (episode_id, user_id)
) WITHOUT ROWID;
CREATE INDEX episode_authors_user ON episode_authors (user_id);

-- Everything that happened to an episode: status moves, edits, author changes, deadlines, removals.
CREATE TABLE episode_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    actor_id   INTEGER,
    subject_id INTEGER,
    from_value TEXT,
    to_value   TEXT,
    note       TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX episode_events_episode ON episode_events (episode_id, id);

CREATE TABLE contributions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id            INTEGER NOT NULL,
    episode_id          INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    author_id           INTEGER NOT NULL,
    origin              TEXT    NOT NULL CHECK (origin IN ('thread', 'form', 'menu')),
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
    edited_at           INTEGER
);
CREATE INDEX contributions_episode ON contributions (episode_id, created_at, id);
CREATE INDEX contributions_author ON contributions (guild_id, author_id);
CREATE UNIQUE INDEX contributions_message ON contributions (episode_id, message_id) WHERE message_id IS NOT NULL;
CREATE INDEX contributions_by_message ON contributions (message_id) WHERE message_id IS NOT NULL;

CREATE TABLE contribution_likes (
    contribution_id INTEGER NOT NULL REFERENCES contributions (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL,
    emoji           TEXT    NOT NULL,
    PRIMARY KEY (contribution_id, user_id, emoji)
) WITHOUT ROWID;

CREATE VIRTUAL TABLE contributions_fts USING fts5 (
    title, body, sources,
    content = 'contributions', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER contributions_fts_insert AFTER INSERT ON contributions BEGIN
    INSERT INTO contributions_fts (rowid, title, body, sources) VALUES (new.id, new.title, new.body, new.sources);
END;
CREATE TRIGGER contributions_fts_delete AFTER DELETE ON contributions BEGIN
    INSERT INTO contributions_fts (contributions_fts, rowid, title, body, sources)
    VALUES ('delete', old.id, old.title, old.body, old.sources);
END;
CREATE TRIGGER contributions_fts_update AFTER UPDATE OF title, body, sources ON contributions BEGIN
    INSERT INTO contributions_fts (contributions_fts, rowid, title, body, sources)
    VALUES ('delete', old.id, old.title, old.body, old.sources);
    INSERT INTO contributions_fts (rowid, title, body, sources) VALUES (new.id, new.title, new.body, new.sources);
END;

CREATE TABLE deadlines (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    episode_id  INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    milestone   TEXT    NOT NULL CHECK (milestone IN ('research', 'script', 'recording', 'publish')),
    due_at      INTEGER NOT NULL,
    set_by      INTEGER NOT NULL,
    set_at      INTEGER NOT NULL,
    UNIQUE (episode_id, milestone)
);

-- The one scheduler's persisted jobs. A job is done only after its delivery succeeded.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER,
    kind        TEXT    NOT NULL,
    due_at      REAL    NOT NULL,
    payload     TEXT    NOT NULL DEFAULT '{}',
    dedupe_key  TEXT,
    state       TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'cancelled', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  REAL    NOT NULL,
    finished_at REAL
);
CREATE INDEX jobs_pending_due ON jobs (due_at) WHERE state = 'pending';
CREATE UNIQUE INDEX jobs_pending_dedupe ON jobs (dedupe_key) WHERE state = 'pending' AND dedupe_key IS NOT NULL;
