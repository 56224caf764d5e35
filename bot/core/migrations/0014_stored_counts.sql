-- Stored research counts. The status card, `/episode info` and `/research credits` read these instead of
-- counting an episode's contributions (which took time in proportion to the episode: 12 and 27 ms for one of
-- 100,000). Triggers on `contributions` keep them exact in the transaction of every write, whichever code
-- makes it (thread messages, forms, Add to research, catching up, the forum import and `/import link`,
-- edits, removals, marks).
--
-- The triggers call two functions that every Archivist connection registers before it migrates
-- (`cogs.research.counting`, see `bot.core.db.SCHEMA_FUNCTIONS`): archivist_citations(body, sources, links),
-- the sources a contribution cites as the dossier's bibliography reads them (a JSON array), and
-- archivist_forum_name(author_name), the name the credits count a forum author by. A connection without them
-- (the sqlite3 shell) can read everything but not write contributions.
--
-- Excluded contributions count on the card (as before) but not in the credits nor in the sources, as in the
-- dossier.

-- Per episode: contributions (excluded ones too), how many of them are marked excluded, and how many rows
-- the three tables below hold for it.
CREATE TABLE episode_stats (
    episode_id      INTEGER PRIMARY KEY REFERENCES episodes (id) ON DELETE CASCADE,
    contributions   INTEGER NOT NULL DEFAULT 0,
    marked_excluded INTEGER NOT NULL DEFAULT 0,
    contributors    INTEGER NOT NULL DEFAULT 0,  -- rows of episode_contributors (the card's contributors)
    credited        INTEGER NOT NULL DEFAULT 0,  -- rows of episode_credits (the people the credits name)
    sources         INTEGER NOT NULL DEFAULT 0   -- rows of episode_sources (distinct sources cited)
);

-- The card's contributors: a member (`who` is the member id), or a forum name not linked to a member
-- (`who` is minus its forum_authors id), with all their contributions and the number of the first (ties).
CREATE TABLE episode_contributors (
    episode_id    INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    who           INTEGER NOT NULL,
    contributions INTEGER NOT NULL,
    first_id      INTEGER NOT NULL,
    PRIMARY KEY (episode_id, who)
) WITHOUT ROWID;
CREATE INDEX episode_contributors_rank ON episode_contributors (episode_id, contributions DESC, first_id);

-- The credits' people: a member ('m<member id>') or a forum name not linked to a member ('f<name>', the name
-- on one line), with their contributions not marked excluded and the first of those (created_at, id):
-- the credits list people by contributions, then by first contribution.
CREATE TABLE episode_credits (
    episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    who        TEXT    NOT NULL,
    credited   INTEGER NOT NULL,
    first_at   INTEGER NOT NULL,
    first_id   INTEGER NOT NULL,
    PRIMARY KEY (episode_id, who)
) WITHOUT ROWID;
CREATE INDEX episode_credits_rank ON episode_credits (episode_id, credited DESC, first_at, first_id);

-- The contributions behind the 'f<name>' rows of episode_credits, so that their first is found again at
-- once when it goes (a member's is found through the contributions_episode_author index below).
CREATE TABLE forum_credit_rows (
    episode_id INTEGER NOT NULL,
    who        TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    id         INTEGER NOT NULL,
    PRIMARY KEY (episode_id, who, created_at, id)
) WITHOUT ROWID;

-- The sources each contribution not marked excluded cites, in the order the bibliography reads them: key
-- research first (`other` 0), then by date; within a contribution in the order written (`idx`).
-- `aliases`: other keys of the same source written on the same line (a URL beside a DOI, a book beside its
-- ISBN), a JSON list, NULL when none: sources so linked are merged in reading order when the credits are read.
CREATE TABLE contribution_citations (
    contribution_id INTEGER NOT NULL,
    idx             INTEGER NOT NULL,
    episode_id      INTEGER NOT NULL,
    key             TEXT    NOT NULL,
    other           INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    ident           TEXT    NOT NULL,
    words           TEXT    NOT NULL,
    link            TEXT,
    aliases         TEXT,
    PRIMARY KEY (contribution_id, idx)
) WITHOUT ROWID;
CREATE INDEX contribution_citations_order
    ON contribution_citations (episode_id, key, other, created_at, contribution_id, idx);
CREATE INDEX contribution_citations_worded
    ON contribution_citations (episode_id, key, other, created_at, contribution_id, idx) WHERE words != '';
CREATE INDEX contribution_citations_aliased ON contribution_citations (episode_id) WHERE aliases IS NOT NULL;

-- Each source an episode cites (by key), with how many contributions cite it and where it is first cited.
CREATE TABLE episode_sources (
    episode_id  INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
    key         TEXT    NOT NULL,
    cites       INTEGER NOT NULL,
    first_other INTEGER NOT NULL,
    first_at    INTEGER NOT NULL,
    first_id    INTEGER NOT NULL,
    first_idx   INTEGER NOT NULL,
    PRIMARY KEY (episode_id, key)
) WITHOUT ROWID;
CREATE INDEX episode_sources_rank
    ON episode_sources (episode_id, cites DESC, first_other, first_at, first_id, first_idx);

-- A member's contributions to an episode in date order (the index of 0005 without the order made finding a
-- member's first contribution sort all of theirs), and who added messages with Add to research: the credits
-- name a member as the dossier does, by the name stored with the first contribution they appear in (as its
-- author, or as the member who added it).
DROP INDEX contributions_episode_author;
CREATE INDEX contributions_episode_author ON contributions (episode_id, author_id, created_at);
CREATE INDEX contributions_added_by ON contributions (episode_id, added_by, created_at) WHERE added_by IS NOT NULL;

-- -- What is there already ------------------------------------------------------------------------------

INSERT INTO contribution_citations (
    contribution_id, idx, episode_id, key, other, created_at, kind, ident, words, link, aliases
)
SELECT c.id, j.key, c.episode_id, json_extract(j.value, '$[0]'), c.mark != 'key', c.created_at,
       json_extract(j.value, '$[1]'), json_extract(j.value, '$[2]'), json_extract(j.value, '$[3]'),
       json_extract(j.value, '$[4]'), json_extract(j.value, '$[5]')
FROM contributions c, json_each(archivist_citations(c.body, c.sources, c.links)) AS j
WHERE c.mark != 'excluded';

INSERT INTO episode_sources (episode_id, key, cites, first_other, first_at, first_id, first_idx)
SELECT episode_id, key, n, other, created_at, contribution_id, idx
FROM (
    SELECT episode_id, key, other, created_at, contribution_id, idx,
           COUNT(*) OVER (PARTITION BY episode_id, key) AS n,
           ROW_NUMBER() OVER (
               PARTITION BY episode_id, key ORDER BY other, created_at, contribution_id, idx
           ) AS place
    FROM contribution_citations
)
WHERE place = 1;

INSERT INTO forum_credit_rows (episode_id, who, created_at, id)
SELECT episode_id, 'f' || archivist_forum_name(author_name), created_at, id
FROM contributions WHERE author_id IS NULL AND mark != 'excluded';

INSERT INTO episode_credits (episode_id, who, credited, first_at, first_id)
SELECT episode_id, who, n, created_at, id
FROM (
    SELECT episode_id, who, created_at, id,
           COUNT(*) OVER (PARTITION BY episode_id, who) AS n,
           ROW_NUMBER() OVER (PARTITION BY episode_id, who ORDER BY created_at, id) AS place
    FROM (
        SELECT episode_id, 'm' || author_id AS who, created_at, id
        FROM contributions WHERE author_id IS NOT NULL AND mark != 'excluded'
        UNION ALL
        SELECT episode_id, who, created_at, id FROM forum_credit_rows
    )
)
WHERE place = 1;

INSERT INTO episode_contributors (episode_id, who, contributions, first_id)
SELECT episode_id, COALESCE(author_id, -forum_author_id), COUNT(*), MIN(id)
FROM contributions GROUP BY episode_id, COALESCE(author_id, -forum_author_id);

INSERT INTO episode_stats (episode_id, contributions, marked_excluded, contributors, credited, sources)
SELECT e.id,
       (SELECT COUNT(*) FROM contributions c WHERE c.episode_id = e.id),
       (SELECT COUNT(*) FROM contributions c WHERE c.episode_id = e.id AND c.mark = 'excluded'),
       (SELECT COUNT(*) FROM episode_contributors x WHERE x.episode_id = e.id),
       (SELECT COUNT(*) FROM episode_credits x WHERE x.episode_id = e.id),
       (SELECT COUNT(*) FROM episode_sources x WHERE x.episode_id = e.id)
FROM episodes e;

-- -- The tables' own row counts -----------------------------------------------------------------------------
-- (episode_stats' row exists: every trigger below that adds rows makes sure of it first.)

CREATE TRIGGER episode_contributors_added AFTER INSERT ON episode_contributors BEGIN
    UPDATE episode_stats SET contributors = contributors + 1 WHERE episode_id = new.episode_id;
END;
CREATE TRIGGER episode_contributors_gone AFTER DELETE ON episode_contributors BEGIN
    UPDATE episode_stats SET contributors = contributors - 1 WHERE episode_id = old.episode_id;
END;
CREATE TRIGGER episode_credits_added AFTER INSERT ON episode_credits BEGIN
    UPDATE episode_stats SET credited = credited + 1 WHERE episode_id = new.episode_id;
END;
CREATE TRIGGER episode_credits_gone AFTER DELETE ON episode_credits BEGIN
    UPDATE episode_stats SET credited = credited - 1 WHERE episode_id = old.episode_id;
END;
CREATE TRIGGER episode_sources_added AFTER INSERT ON episode_sources BEGIN
    UPDATE episode_stats SET sources = sources + 1 WHERE episode_id = new.episode_id;
END;
CREATE TRIGGER episode_sources_gone AFTER DELETE ON episode_sources BEGIN
    UPDATE episode_stats SET sources = sources - 1 WHERE episode_id = old.episode_id;
END;

-- -- A citation added or gone ---------------------------------------------------------------------------------

CREATE TRIGGER contribution_citations_added AFTER INSERT ON contribution_citations BEGIN
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
CREATE TRIGGER contribution_citations_gone AFTER DELETE ON contribution_citations BEGIN
    UPDATE episode_sources SET cites = cites - 1 WHERE episode_id = old.episode_id AND key = old.key;
    DELETE FROM episode_sources WHERE episode_id = old.episode_id AND key = old.key AND cites = 0;
    UPDATE episode_sources SET (first_other, first_at, first_id, first_idx) = (
        SELECT other, created_at, contribution_id, idx FROM contribution_citations
        WHERE episode_id = old.episode_id AND key = old.key
        ORDER BY other, created_at, contribution_id, idx LIMIT 1
    )
    WHERE episode_id = old.episode_id AND key = old.key
      AND (first_other, first_at, first_id, first_idx) = (old.other, old.created_at, old.contribution_id, old.idx);
END;

-- -- A contribution added ---------------------------------------------------------------------------------------

CREATE TRIGGER contributions_counted AFTER INSERT ON contributions BEGIN
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

-- -- A contribution gone ----------------------------------------------------------------------------------------

CREATE TRIGGER contributions_uncounted AFTER DELETE ON contributions BEGIN
    UPDATE episode_stats SET
        contributions = contributions - 1, marked_excluded = marked_excluded - (old.mark = 'excluded')
    WHERE episode_id = old.episode_id;
    UPDATE episode_contributors SET contributions = contributions - 1
    WHERE episode_id = old.episode_id AND who = COALESCE(old.author_id, -old.forum_author_id);
    DELETE FROM episode_contributors
    WHERE episode_id = old.episode_id AND who = COALESCE(old.author_id, -old.forum_author_id) AND contributions = 0;
    UPDATE episode_contributors SET first_id = (
        SELECT MIN(id) FROM contributions INDEXED BY contributions_episode_author
        WHERE episode_id = old.episode_id AND author_id = old.author_id
    )
    WHERE old.author_id IS NOT NULL AND episode_id = old.episode_id AND who = old.author_id AND first_id = old.id;
    UPDATE episode_contributors SET first_id = (
        SELECT MIN(id) FROM contributions INDEXED BY contributions_forum_author
        WHERE forum_author_id = old.forum_author_id AND author_id IS NULL AND episode_id = old.episode_id
    )
    WHERE old.author_id IS NULL AND episode_id = old.episode_id AND who = -old.forum_author_id AND first_id = old.id;
    DELETE FROM forum_credit_rows
    WHERE old.author_id IS NULL AND old.mark != 'excluded' AND episode_id = old.episode_id
      AND who = 'f' || archivist_forum_name(old.author_name) AND created_at = old.created_at AND id = old.id;
    UPDATE episode_credits SET credited = credited - 1
    WHERE old.mark != 'excluded' AND episode_id = old.episode_id
      AND who = CASE WHEN old.author_id IS NOT NULL THEN 'm' || old.author_id
                     ELSE 'f' || archivist_forum_name(old.author_name) END;
    DELETE FROM episode_credits
    WHERE old.mark != 'excluded' AND episode_id = old.episode_id AND credited = 0
      AND who = CASE WHEN old.author_id IS NOT NULL THEN 'm' || old.author_id
                     ELSE 'f' || archivist_forum_name(old.author_name) END;
    UPDATE episode_credits SET (first_at, first_id) = (
        SELECT created_at, id FROM contributions INDEXED BY contributions_episode_author
        WHERE episode_id = old.episode_id AND author_id = old.author_id AND mark != 'excluded'
        ORDER BY created_at, id LIMIT 1
    )
    WHERE old.author_id IS NOT NULL AND episode_id = old.episode_id AND who = 'm' || old.author_id
      AND first_id = old.id;
    UPDATE episode_credits SET (first_at, first_id) = (
        SELECT created_at, id FROM forum_credit_rows WHERE episode_id = old.episode_id AND who = episode_credits.who
        ORDER BY created_at, id LIMIT 1
    )
    WHERE old.author_id IS NULL AND episode_id = old.episode_id AND first_id = old.id
      AND who = 'f' || archivist_forum_name(old.author_name);
    DELETE FROM contribution_citations WHERE contribution_id = old.id;
END;

-- -- A contribution changed: what it counted in goes, then what it counts in now comes -------------------------

CREATE TRIGGER contributions_recounted AFTER UPDATE OF episode_id, mark ON contributions
WHEN old.episode_id IS NOT new.episode_id OR old.mark IS NOT new.mark BEGIN
    UPDATE episode_stats SET
        contributions = contributions - 1, marked_excluded = marked_excluded - (old.mark = 'excluded')
    WHERE episode_id = old.episode_id;
    INSERT INTO episode_stats (episode_id, contributions, marked_excluded)
    VALUES (new.episode_id, 1, new.mark = 'excluded')
    ON CONFLICT (episode_id) DO UPDATE SET
        contributions = contributions + 1, marked_excluded = marked_excluded + (new.mark = 'excluded');
END;

CREATE TRIGGER contributions_contributor_changed AFTER UPDATE OF episode_id, author_id, forum_author_id ON contributions
WHEN old.episode_id IS NOT new.episode_id OR old.author_id IS NOT new.author_id
  OR old.forum_author_id IS NOT new.forum_author_id BEGIN
    UPDATE episode_contributors SET contributions = contributions - 1
    WHERE episode_id = old.episode_id AND who = COALESCE(old.author_id, -old.forum_author_id);
    DELETE FROM episode_contributors
    WHERE episode_id = old.episode_id AND who = COALESCE(old.author_id, -old.forum_author_id) AND contributions = 0;
    UPDATE episode_contributors SET first_id = (
        SELECT MIN(id) FROM contributions INDEXED BY contributions_episode_author
        WHERE episode_id = old.episode_id AND author_id = old.author_id
    )
    WHERE old.author_id IS NOT NULL AND episode_id = old.episode_id AND who = old.author_id AND first_id = old.id;
    UPDATE episode_contributors SET first_id = (
        SELECT MIN(id) FROM contributions INDEXED BY contributions_forum_author
        WHERE forum_author_id = old.forum_author_id AND author_id IS NULL AND episode_id = old.episode_id
    )
    WHERE old.author_id IS NULL AND episode_id = old.episode_id AND who = -old.forum_author_id AND first_id = old.id;
    INSERT OR IGNORE INTO episode_stats (episode_id) VALUES (new.episode_id);
    INSERT INTO episode_contributors (episode_id, who, contributions, first_id)
    VALUES (new.episode_id, COALESCE(new.author_id, -new.forum_author_id), 1, new.id)
    ON CONFLICT (episode_id, who) DO UPDATE SET contributions = contributions + 1, first_id = MIN(first_id, new.id);
END;

CREATE TRIGGER contributions_credit_changed
AFTER UPDATE OF episode_id, author_id, author_name, mark, created_at ON contributions
WHEN old.episode_id IS NOT new.episode_id OR old.author_id IS NOT new.author_id
  OR old.created_at IS NOT new.created_at OR (old.mark = 'excluded') IS NOT (new.mark = 'excluded')
  OR (old.author_id IS NULL AND old.author_name IS NOT new.author_name) BEGIN
    DELETE FROM forum_credit_rows
    WHERE old.author_id IS NULL AND old.mark != 'excluded' AND episode_id = old.episode_id
      AND who = 'f' || archivist_forum_name(old.author_name) AND created_at = old.created_at AND id = old.id;
    UPDATE episode_credits SET credited = credited - 1
    WHERE old.mark != 'excluded' AND episode_id = old.episode_id
      AND who = CASE WHEN old.author_id IS NOT NULL THEN 'm' || old.author_id
                     ELSE 'f' || archivist_forum_name(old.author_name) END;
    DELETE FROM episode_credits
    WHERE old.mark != 'excluded' AND episode_id = old.episode_id AND credited = 0
      AND who = CASE WHEN old.author_id IS NOT NULL THEN 'm' || old.author_id
                     ELSE 'f' || archivist_forum_name(old.author_name) END;
    UPDATE episode_credits SET (first_at, first_id) = (
        SELECT created_at, id FROM contributions INDEXED BY contributions_episode_author
        WHERE episode_id = old.episode_id AND author_id = old.author_id AND mark != 'excluded'
        ORDER BY created_at, id LIMIT 1
    )
    WHERE old.author_id IS NOT NULL AND episode_id = old.episode_id AND who = 'm' || old.author_id
      AND first_id = old.id;
    UPDATE episode_credits SET (first_at, first_id) = (
        SELECT created_at, id FROM forum_credit_rows WHERE episode_id = old.episode_id AND who = episode_credits.who
        ORDER BY created_at, id LIMIT 1
    )
    WHERE old.author_id IS NULL AND episode_id = old.episode_id AND first_id = old.id
      AND who = 'f' || archivist_forum_name(old.author_name);
    INSERT OR IGNORE INTO episode_stats (episode_id) VALUES (new.episode_id);
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
END;

CREATE TRIGGER contributions_citations_changed
AFTER UPDATE OF episode_id, body, sources, links, mark, created_at ON contributions
WHEN old.episode_id IS NOT new.episode_id OR old.body IS NOT new.body OR old.sources IS NOT new.sources
  OR old.links IS NOT new.links OR old.created_at IS NOT new.created_at
  OR (old.mark = 'excluded') IS NOT (new.mark = 'excluded') OR (old.mark = 'key') IS NOT (new.mark = 'key') BEGIN
    DELETE FROM contribution_citations WHERE contribution_id = old.id;
    INSERT OR IGNORE INTO episode_stats (episode_id) VALUES (new.episode_id);
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
