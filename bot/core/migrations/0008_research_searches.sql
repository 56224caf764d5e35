-- The searches members ran with /research search, so that the Previous / Next buttons under the results
-- (whose custom ids are too short to carry a query of up to 200 characters) carry only this id and keep
-- working after a restart. One row per distinct query of a server or episode (episode_id 0: the whole
-- server).
CREATE TABLE research_searches (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    episode_id INTEGER NOT NULL DEFAULT 0,
    query TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (guild_id, episode_id, query)
);
