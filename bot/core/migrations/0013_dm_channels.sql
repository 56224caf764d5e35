-- The DM channel the bot has with each member, remembered so that a DM costs one request (the message)
-- instead of three (look the user up, open the DM, send). A member's DM channel with the bot never
-- changes while both exist; when Discord says a remembered one is unknown (404, code 10003) it is
-- forgotten and opened again. `remembered_at`: when it was opened (UTC unix epoch seconds).
CREATE TABLE dm_channels (
    user_id       INTEGER PRIMARY KEY,
    channel_id    INTEGER NOT NULL,
    remembered_at REAL    NOT NULL
);
