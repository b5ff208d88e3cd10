-- imlogin schema v1 on PostgreSQL: the same tables as migrations/sqlite/0001,
-- with BIGINT ms times and a BOOLEAN flag. Tokens are stored as SHA-256 hex,
-- never in clear.
CREATE TABLE accounts (
    accid       TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    blocked     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Per account and clientType: the deviceId of the last successful login
-- (the device rule for auto logins).
CREATE TABLE last_devices (
    accid        TEXT NOT NULL,
    client_type  TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    login_at     BIGINT NOT NULL,
    PRIMARY KEY (accid, client_type)
);

-- Per account and clientType: devices whose session ended without a logout
-- or a kick (network loss, server restart), so that they may resume with an
-- auto login. A logout or a kick removes the device.
CREATE TABLE resumable_devices (
    accid        TEXT NOT NULL,
    client_type  TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    login_at     BIGINT NOT NULL,
    PRIMARY KEY (accid, client_type, device_id)
);

-- One row per account and UTC day with at least one successful login (DAU).
CREATE TABLE daily_logins (
    day    TEXT NOT NULL,
    accid  TEXT NOT NULL,
    PRIMARY KEY (day, accid)
);

-- The generated demo AppKey/AppSecret (when none is configured).
CREATE TABLE apps (
    app_key     TEXT PRIMARY KEY,
    app_secret  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
