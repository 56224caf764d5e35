-- Author requests ("intent to write"): a member asks to write an episode; a host approves or declines.
-- At most one pending request per member and episode. Times are UTC unix epoch seconds.

CREATE TABLE author_requests (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id          INTEGER NOT NULL,
    episode_id        INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    user_id           INTEGER NOT NULL,
    pitch             TEXT,
    status            TEXT    NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'approved', 'declined', 'withdrawn')),
    created_at        INTEGER NOT NULL,
    decided_by        INTEGER,
    decided_at        INTEGER,
    reason            TEXT,
    review_channel_id INTEGER,
    review_message_id INTEGER
);
CREATE UNIQUE INDEX author_requests_one_pending ON author_requests (episode_id, user_id) WHERE status = 'pending';
CREATE INDEX author_requests_guild_status ON author_requests (guild_id, status, created_at);
CREATE INDEX author_requests_episode ON author_requests (episode_id, status);
