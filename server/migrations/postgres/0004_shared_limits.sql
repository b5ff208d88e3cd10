-- Abuse limits shared by every server node on one PostgreSQL database
-- (docs/abuse-limits.md): the server API's Nonce replay window and the
-- token buckets of the login and API rate limits. Times are taken from the
-- database clock, never a node's, so that nodes whose clocks differ agree.

-- A Nonce seen within the replay window. A live row (expires_at > now)
-- refuses the Nonce; an expired row is replaced by the next use.
CREATE TABLE api_nonces (
    nonce      TEXT PRIMARY KEY,
    -- Unix seconds (database clock) after which the Nonce may be used again.
    expires_at BIGINT NOT NULL
);
-- Pruning expired rows scans by expiry.
CREATE INDEX api_nonces_expires_at ON api_nonces (expires_at);

-- One token bucket per key; the key is prefixed by its kind
-- (`acct:` login attempts per account, `ip:` per client IP, `app:` server
-- API calls per AppKey). A missing row is a full bucket.
CREATE TABLE rate_buckets (
    key        TEXT PRIMARY KEY,
    -- Tokens left at updated_at (0 to the capacity, fractional).
    tokens     DOUBLE PRECISION NOT NULL,
    -- Unix milliseconds (database clock) of the last take.
    updated_at BIGINT NOT NULL
);
-- Pruning full buckets (idle for a whole period) scans by age.
CREATE INDEX rate_buckets_updated_at ON rate_buckets (updated_at);
