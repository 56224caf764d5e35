-- A page of contributions written whole. Catching up stores the messages posted while the bot was away a page
-- (up to 100) at a time, in one transaction. Row by row, the triggers cost most of that time: the full-text
-- index wrote a segment of its own for every row (SQLite, 3.40 here, writes the index's pending rows out
-- whenever a statement begins, and each row of a page was one), which it then had to merge; and the stored
-- counts of 0014 were updated once per row.
--
-- The page's writer (`cogs.research.batch_store`) now switches the three insert triggers below off, inside
-- its own transaction, with a row in `page_write_open`; inserts the page; adds the page's rows to the
-- full-text index in one statement and its counts grouped per episode, author and source; and deletes the
-- row before anything else is written. No other transaction ever sees the row (it is written and deleted in
-- one), so every other write keeps its per-row triggers; a failing page rolls back whole, the row with it.
--
-- Nothing is recounted. One index changes: `contributions_author` (server, member) put each new contribution
-- next to its author's others, so a page of messages by many members changed as many parts of the index
-- (half of what a page wrote to disk at a million contributions); nothing looks contributions up by server
-- and member, and what looks them up by server (`/research search` checks whether the database holds other
-- servers) needs the server only: `contributions_guild` appends a page in one place. Building it takes a
-- few seconds at a million contributions, in the upgrade transaction.

CREATE TABLE page_write_open (
    open INTEGER PRIMARY KEY CHECK (open = 1)
);

DROP INDEX contributions_author;
CREATE INDEX contributions_guild ON contributions (guild_id);

DROP TRIGGER contributions_fts_insert;
DROP TRIGGER contributions_counted;
DROP TRIGGER contribution_citations_added;

CREATE TRIGGER contributions_fts_insert AFTER INSERT ON contributions
WHEN NOT EXISTS (SELECT 1 FROM page_write_open) BEGIN
    INSERT INTO contributions_fts (rowid, title, body, sources, scope)
    VALUES (new.id, new.title, new.body, new.sources, 'g' || new.guild_id || ' e' || new.episode_id);
END;

CREATE TRIGGER contributions_counted AFTER INSERT ON contributions
WHEN NOT EXISTS (SELECT 1 FROM page_write_open) BEGIN
    INSERT INTO episode_stats (episode_id, contributions, marked_excluded)
    VALUES (new.episode_id, 1, new.mark = 'excluded')
    ON CONFLICT (episode_id) DO UPDATE SET
        contributions = contributions + 1, marked_excluded = marked_excluded + (new.mark = 'excluded');
    INSERT INTO episode_contributors (episode_id, who, contributions, first_id)
    VALUES (new.episode_id, COALESCE(new.author_id, -new.forum_author_id), 1, new.id)
    ON CONFLICT (episode_id, who) DO UPDATE SET contributions = contributions + 1, first_id = MIN(first_id, new.id);
    INSERT INTO forum_credit_rows (episode_id, who, created_at, id)
    SELECT new.episode_id, 'f' || archivist_forum_name(new.author_name), new.created_at, new.id
    WHERE new.author_id IS NULL AND new.mark != 'excluded';
    INSERT INTO episode_credits (episode_id, who, credited, first_at, first_id)
    SELECT new.episode_id,
           CASE WHEN new.author_id IS NOT NULL THEN 'm' || new.author_id
                ELSE 'f' || archivist_forum_name(new.author_name) END,
           1, new.created_at, new.id
    WHERE new.mark != 'excluded'
    ON CONFLICT (episode_id, who) DO UPDATE SET
        credited = credited + 1,
        first_at = CASE WHEN (new.created_at, new.id) < (first_at, first_id) THEN new.created_at ELSE first_at END,
        first_id = CASE WHEN (new.created_at, new.id) < (first_at, first_id) THEN new.id ELSE first_id END;
    INSERT INTO contribution_citations (
        contribution_id, idx, episode_id, key, other, created_at, kind, ident, words, link, aliases
    )
    SELECT new.id, j.key, new.episode_id, json_extract(j.value, '$[0]'), new.mark != 'key', new.created_at,
           json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]'), json_extract(j.value, '$[3]'),
           json_extract(j.value, '$[4]'), json_extract(j.value, '$[5]')
    FROM json_each(
        CASE WHEN new.mark != 'excluded' THEN archivist_citations(new.body, new.sources, new.links) ELSE '[]' END
    ) AS j;
END;

CREATE TRIGGER contribution_citations_added AFTER INSERT ON contribution_citations
WHEN NOT EXISTS (SELECT 1 FROM page_write_open) BEGIN
    INSERT INTO episode_sources (episode_id, key, cites, first_other, first_at, first_id, first_idx)
    VALUES (new.episode_id, new.key, 1, new.other, new.created_at, new.contribution_id, new.idx)
    ON CONFLICT (episode_id, key) DO UPDATE SET
        cites = cites + 1,
        first_other = CASE WHEN (new.other, new.created_at, new.contribution_id, new.idx)
            < (first_other, first_at, first_id, first_idx) THEN new.other ELSE first_other END,
        first_at = CASE WHEN (new.other, new.created_at, new.contribution_id, new.idx)
            < (first_other, first_at, first_id, first_idx) THEN new.created_at ELSE first_at END,
        first_id = CASE WHEN (new.other, new.created_at, new.contribution_id, new.idx)
            < (first_other, first_at, first_id, first_idx) THEN new.contribution_id ELSE first_id END,
        first_idx = CASE WHEN (new.other, new.created_at, new.contribution_id, new.idx)
            < (first_other, first_at, first_id, first_idx) THEN new.idx ELSE first_idx END;
END;
