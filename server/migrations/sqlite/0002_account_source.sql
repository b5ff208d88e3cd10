-- Where an account came from: 'api' (the server API, the test hooks) or
-- 'console' (test accounts made in /console, the only ones it lists).
ALTER TABLE accounts ADD COLUMN source TEXT NOT NULL DEFAULT 'api';

CREATE INDEX accounts_by_source ON accounts (source, created_at);
