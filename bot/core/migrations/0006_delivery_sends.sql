-- Every message the scheduler's deliveries post (deadline reminders, digest pages, personal reminders) is
-- recorded before it is sent ("unknown": intent, with the nonce Discord deduplicates on, the same for
-- every attempt at the same items) and after
-- Discord accepted it ("sent", with the message id). A retry of something whose last send is still
-- "unknown" looks for it among the channel's recent messages before sending again. "absent": checked,
-- not there (or refused by Discord). All times are UTC unix epoch seconds.

CREATE TABLE sends (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    nonce       TEXT    NOT NULL,
    channel_id  INTEGER NOT NULL,
    fingerprint TEXT    NOT NULL,
    created_at  REAL    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'unknown' CHECK (state IN ('unknown', 'sent', 'absent')),
    message_id  INTEGER,
    resolved_at REAL
);
CREATE INDEX sends_resolved ON sends (resolved_at) WHERE state != 'unknown';

-- What one send carries: `job:<id>` (a deadline reminder), `reminder:<id>:<due_at>` (a personal
-- reminder, one delivery per due time), `digest:<guild>:<week>:<page>`.
CREATE TABLE send_items (
    item    TEXT    NOT NULL,
    send_id INTEGER NOT NULL REFERENCES sends (id) ON DELETE CASCADE,
    PRIMARY KEY (item, send_id)
) WITHOUT ROWID;
CREATE INDEX send_items_send ON send_items (send_id);
