-- An episode's starter message now follows its status: once an episode is recorded or published it
-- thanks the contributors instead of calling for research and volunteers, and while it is shelved it
-- says research is paused (the card's "Needs an author" call goes too). Posts of episodes that were
-- already recorded, published or shelved are brought up to date once, by a `card_sync` job each (the
-- same job every change queues; it also makes the forum's status tags moderated). The jobs are spread
-- 0.2 s apart, five posts a second, far below Discord's rate limits, and none is added for an episode
-- that already has one pending. Times are UTC unix epoch seconds.
INSERT INTO jobs (guild_id, kind, due_at, payload, dedupe_key, state, created_at)
SELECT e.guild_id,
       'card_sync',
       CAST(strftime('%s', 'now') AS REAL) + 0.2 * ROW_NUMBER() OVER (ORDER BY e.id),
       json_object('episode_id', e.id),
       'card:' || e.id,
       'pending',
       CAST(strftime('%s', 'now') AS REAL)
FROM episodes e
WHERE e.status IN ('recorded', 'published', 'shelved')
  AND e.thread_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.dedupe_key = 'card:' || e.id AND j.state = 'pending');
