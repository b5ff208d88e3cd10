-- Keys compare as bytes, as SQLite's BINARY collation does, whatever the
-- database's locale: the account list and the first stored app
-- credentials come out in the same order on both backends, from the same
-- SQL.
ALTER TABLE accounts ALTER COLUMN accid TYPE TEXT COLLATE "C";
ALTER TABLE apps ALTER COLUMN app_key TYPE TEXT COLLATE "C";
