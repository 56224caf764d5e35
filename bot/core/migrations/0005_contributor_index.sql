-- Who contributed to an episode, and how much: the credits, the status card and the thank-you group an
-- episode's contributions by member. Without this index each member's latest name was found by sorting
-- the whole episode again (22 s for 10,000 contributions by 5,000 members; 25 ms with it).
CREATE INDEX contributions_episode_author ON contributions (episode_id, author_id);
