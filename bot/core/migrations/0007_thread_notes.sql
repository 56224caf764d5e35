-- Notes the bot posts in an episode's thread ("moved to Writing", "is now an author", …), kept until
-- Discord has taken them: each is retried by a `thread_note` job until it is posted, and the id of the
-- message that carries it is recorded, so a retry never posts it twice. `attempted_at` marks a note
-- whose post may have reached Discord (the answer was lost): before posting again the bot looks for it
-- among the thread's recent messages. Times are UTC unix epoch seconds.
CREATE TABLE thread_notes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    episode_id   INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    content      TEXT    NOT NULL,
    ping         TEXT    NOT NULL DEFAULT '[]',
    created_at   INTEGER NOT NULL,
    attempted_at INTEGER,
    message_id   INTEGER
);
CREATE INDEX thread_notes_episode ON thread_notes (episode_id);

-- A decided author request's member is told exactly once (by DM, else in the thread): `told_at` is set
-- when that happened, `told_by_dm` says how, and `tell_attempted_at` marks a DM that may have arrived
-- without the bot knowing (it looks for it in the DM channel before sending again).
ALTER TABLE author_requests ADD COLUMN told_at INTEGER;
ALTER TABLE author_requests ADD COLUMN told_by_dm INTEGER;
ALTER TABLE author_requests ADD COLUMN tell_attempted_at INTEGER;

-- A forum post about to be created for a new episode: kept until the episode that owns the post is
-- saved (in the same transaction) or the post is known not to exist, so a bot stopped in between finds
-- and removes the orphaned post at its next start.
CREATE TABLE post_intents (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id   INTEGER NOT NULL,
    forum_id   INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
