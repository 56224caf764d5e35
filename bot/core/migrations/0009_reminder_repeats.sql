-- Reminders that repeat, edits, and reminders set in a DM with the bot. Existing rows stay as they were:
-- one-off reminders of a server. All times are UTC unix epoch seconds.

-- `repeat`: how a reminder repeats (bot.core.recurrence.Repeat.code: `daily`, `weekly`, `monthly`,
-- `days:3`), NULL for a one-off. A repeating reminder is one row that stays pending; each delivery moves
-- its `due_at` to the next occurrence of the wall time `repeat_anchor` (naive ISO, e.g.
-- `2026-01-02T09:00:00`) in the zone `repeat_zone`, in the transaction that records the delivery.
ALTER TABLE reminders ADD COLUMN repeat TEXT;
ALTER TABLE reminders ADD COLUMN repeat_anchor TEXT;
ALTER TABLE reminders ADD COLUMN repeat_zone TEXT;
-- `revision`: counts edits (an edit writes only over the revision it read).
ALTER TABLE reminders ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
-- `sending_due`: the due time whose delivery has begun (set in one write with reading what is sent;
-- cleared when the delivery is recorded). An edit is refused while it is set: what is being sent is
-- what the member set.
ALTER TABLE reminders ADD COLUMN sending_due INTEGER;

-- A guild_id of 0 is a reminder set in a DM with the bot (its channel is that DM). Members' zones with
-- guild_id 0 are their zones for DMs.

-- Each delivered occurrence of a repeating reminder: the message that carried it (for Snooze and Show
-- reminder), and the one-off copy a Snooze made of it (one per occurrence).
CREATE TABLE reminder_occurrences (
    reminder_id  INTEGER NOT NULL REFERENCES reminders (id) ON DELETE CASCADE,
    due_at       INTEGER NOT NULL,
    channel_id   INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    delivered_at INTEGER NOT NULL,
    snooze_id    INTEGER REFERENCES reminders (id),
    PRIMARY KEY (reminder_id, due_at)
) WITHOUT ROWID;
CREATE INDEX reminder_occurrences_message ON reminder_occurrences (message_id);
