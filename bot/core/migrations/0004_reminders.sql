-- Reminders: personal reminders, members' own time zones, and the weekly digests already sent.
-- (Deadlines and the scheduler's jobs live in 0001.) All times are UTC unix epoch seconds.

CREATE TABLE reminders (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id             INTEGER NOT NULL,
    user_id              INTEGER NOT NULL,
    channel_id           INTEGER NOT NULL,
    text                 TEXT    NOT NULL,
    due_at               INTEGER NOT NULL,
    private              INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1)),
    job_id               INTEGER,
    state                TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'delivered', 'cancelled', 'failed')),
    created_at           INTEGER NOT NULL,
    delivered_at         INTEGER,
    delivered_channel_id INTEGER,
    message_id           INTEGER,
    snoozes              INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX reminders_owner ON reminders (guild_id, user_id, state, due_at);
CREATE INDEX reminders_message ON reminders (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX reminders_pending ON reminders (id) WHERE state = 'pending';

CREATE TABLE member_timezones (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    tz         TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

-- One row per server and ISO week (in the server's time zone): a digest is never sent twice.
CREATE TABLE digests_sent (
    guild_id   INTEGER NOT NULL,
    week       TEXT    NOT NULL,
    sent_at    INTEGER NOT NULL,
    channel_id INTEGER,
    message_id INTEGER,
    PRIMARY KEY (guild_id, week)
) WITHOUT ROWID;

CREATE INDEX deadlines_due ON deadlines (due_at);
