-- The demo app server's own data (`--demo-app`). A real app server keeps
-- this in its own database; the demo shares the IM server's file so that
-- it needs no set-up.

-- App users: username + argon2id password hash. `accid` and `im_token` stay
-- NULL until the user first uses IM; the token is kept as the server API
-- returned it, as NIM app servers do, to hand to the user's browser.
CREATE TABLE app_users (
    uid            INTEGER PRIMARY KEY AUTOINCREMENT,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    accid          TEXT UNIQUE,
    im_token       TEXT,
    created_at     INTEGER NOT NULL
);

-- Signed-in browsers: the SHA-256 hex of the session cookie's value.
CREATE TABLE app_sessions (
    session_hash  TEXT PRIMARY KEY NOT NULL,
    uid           INTEGER NOT NULL REFERENCES app_users (uid) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);

CREATE INDEX app_sessions_by_expiry ON app_sessions (expires_at);
