-- Resume tickets of device-bound sessions: the same table as
-- migrations/sqlite/0008, with BIGINT ms times and keys that compare as
-- bytes (as 0006 made the others). Shared by every node, so a ticket
-- issued by one node resumes on any other, and survives restarts.
CREATE TABLE device_tickets (
    ticket_hash   TEXT COLLATE "C" PRIMARY KEY,
    app_key       TEXT COLLATE "C" NOT NULL,
    accid         TEXT COLLATE "C" NOT NULL,
    client_type   TEXT COLLATE "C" NOT NULL,
    device_id     TEXT COLLATE "C" NOT NULL,
    device_key    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL,
    UNIQUE (accid, client_type, device_id, app_key)
);
ALTER TABLE device_tickets SET (fillfactor = 70);
