-- Curating research, and the emoji that count as likes.

-- `/research mark`: `key` research comes first in the dossier; `excluded` is left out of the Markdown
-- and HTML dossier (kept, with its mark, in JSON and CSV); `normal` is everything else.
ALTER TABLE contributions ADD COLUMN mark TEXT NOT NULL DEFAULT 'normal'
    CHECK (mark IN ('normal', 'key', 'excluded'));

-- `/config research likes`: the server's like emoji, space-separated as the admin gave them (unicode
-- emoji, custom emoji as `<:name:id>` / `<a:name:id>`); NULL is the default set (👍 ❤️ ⭐ 🔥 and the
-- research forum's default reaction). Every reaction stays stored in contribution_likes, whatever its
-- emoji: likes are the reactions whose emoji is in the set, counted when read, so changing the set
-- recounts the reactions already there.
ALTER TABLE guild_settings ADD COLUMN like_emoji TEXT;
