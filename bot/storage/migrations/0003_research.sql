-- Research: the author's name as last seen (for dossiers read outside Discord, and for members who
-- left), and the thread messages removed from the record with `/research remove`, so catching up
-- after a restart does not collect them again.

ALTER TABLE contributions ADD COLUMN author_name TEXT;

CREATE TABLE removed_messages (
    episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL,
    removed_by INTEGER NOT NULL,
    removed_at INTEGER NOT NULL,
    PRIMARY KEY (episode_id, message_id)
) WITHOUT ROWID;

CREATE INDEX contributions_channel ON contributions (channel_id, message_id) WHERE message_id IS NOT NULL;
