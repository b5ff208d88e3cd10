-- Resume tickets of device-bound sessions (docs/protocol.md, "Device-bound
-- sessions"): one per app, account, clientType and device, bound to the
-- device's P-256 public key (`device_key`, base64url of the uncompressed
-- point). The ticket itself is never stored: `ticket_hash` is its SHA-256
-- hex, as for tokens. A revoked ticket is deleted; an expired one is
-- refused (its `last_used_at` is older than the server's ticket TTL) and
-- deleted when its account binds again.
CREATE TABLE device_tickets (
    ticket_hash   TEXT PRIMARY KEY NOT NULL,
    app_key       TEXT NOT NULL,
    accid         TEXT NOT NULL,
    client_type   TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    device_key    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    UNIQUE (accid, client_type, device_id, app_key)
);
