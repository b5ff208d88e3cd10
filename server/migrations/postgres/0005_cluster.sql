-- Scale-out: the link nodes sharing this database and the live sessions
-- they hold (docs/deploy.md). Times are ms since the Unix epoch on the
-- database's clock, so that nodes with skewed clocks agree on liveness.

-- Now, in ms since the Unix epoch, on the database's clock.
CREATE FUNCTION imlogin_now_ms() RETURNS BIGINT
    LANGUAGE sql VOLATILE
    AS $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

-- One row per running link node; `seen_at` is its last heartbeat. A node
-- whose heartbeat is older than 1.5 heartbeat intervals is dead: its
-- sessions leave every list at once, and the next sweep deletes them.
CREATE TABLE link_nodes (
    node_id     TEXT PRIMARY KEY,
    link_urls   TEXT[] NOT NULL,
    started_at  BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL
);

-- Every logged-in session of every node; `seq` orders an account's
-- sessions oldest first (the session policy kicks the oldest).
CREATE TABLE link_sessions (
    client_id    TEXT PRIMARY KEY,
    seq          BIGSERIAL NOT NULL,
    accid        TEXT NOT NULL,
    node_id      TEXT NOT NULL REFERENCES link_nodes (node_id) ON DELETE CASCADE,
    client_type  TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    custom_tag   TEXT,
    mode         TEXT NOT NULL,
    forced       BOOLEAN NOT NULL,
    login_at     BIGINT NOT NULL
);

CREATE INDEX link_sessions_by_account ON link_sessions (accid, seq);
CREATE INDEX link_sessions_by_node ON link_sessions (node_id);
