-- What every login writes, made cheaper (server/src/backend/buckets.rs).
--
-- The abuse buckets are taken in place: no index covers updated_at any
-- more (the prune, once per thousand takes, scans instead) and pages keep
-- room, so a take updates its row without touching an index; the rows of
-- the device rule's records keep room too.
DROP INDEX rate_buckets_updated_at;
ALTER TABLE rate_buckets SET (fillfactor = 50);
ALTER TABLE last_devices SET (fillfactor = 70);
ALTER TABLE resumable_devices SET (fillfactor = 70);

-- What lives only as long as the nodes' memory does is written without
-- WAL: the live sessions, the nodes and the abuse buckets. A database
-- crash (or a failover: unlogged tables are not replicated) empties them,
-- which the nodes survive as they survive losing their LISTEN connection:
-- each closes its sockets with 1012 and registers again, and the clients
-- log in again; the buckets start full. The login records, the accounts
-- and the Nonce window stay logged.
ALTER TABLE link_sessions SET UNLOGGED;
ALTER TABLE link_nodes SET UNLOGGED;
ALTER TABLE rate_buckets SET UNLOGGED;

-- Takes from the abuse limits' token buckets in one call, so that the
-- takes of every login waiting on a node travel in one round trip
-- (docs/abuse-limits.md). For each i, in order: one token from bucket
-- keys[i] (capacity caps[i], refilled at rates[i] tokens per ms), unless
-- needs[i] names an earlier take of the call that found its bucket empty.
-- taken says whether a token was taken; remaining, for a take that was
-- refused, how many tokens the bucket holds now (for retryAfterMs). Times
-- are the database clock's, as for every shared limit.
CREATE FUNCTION imlogin_take_tokens(keys TEXT[], caps DOUBLE PRECISION[],
                                    rates DOUBLE PRECISION[], needs INT[])
RETURNS TABLE (taken BOOLEAN, remaining DOUBLE PRECISION)
LANGUAGE plpgsql AS $$
DECLARE
    took BOOLEAN[] := '{}';
    now_ms BIGINT;
BEGIN
    -- Every bucket of the call is locked, in one order, before any is
    -- taken from, so that two nodes' calls never deadlock; an advisory lock
    -- (first key: the buckets' class) writes nothing. Then every bucket
    -- exists (a new one full).
    PERFORM pg_advisory_xact_lock(7443, h)
    FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(keys) AS k ORDER BY h) AS l;
    INSERT INTO rate_buckets AS b (key, tokens, updated_at)
    SELECT DISTINCT ON (k) k, c, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint
    FROM unnest(keys, caps) AS t(k, c) ORDER BY k
    ON CONFLICT (key) DO NOTHING;
    FOR i IN 1 .. cardinality(keys) LOOP
        IF needs[i] > 0 AND NOT took[needs[i]] THEN
            took := took || false;
            taken := false;
            remaining := NULL;
            RETURN NEXT;
            CONTINUE;
        END IF;
        now_ms := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
        -- greatest(): a take whose clock reading was overtaken by another's
        -- never refills backwards nor moves the bucket's time back.
        UPDATE rate_buckets AS b
        SET tokens = least(b.tokens + greatest(now_ms - b.updated_at, 0) * rates[i], caps[i]) - 1,
            updated_at = greatest(now_ms, b.updated_at)
        WHERE b.key = keys[i]
          AND least(b.tokens + greatest(now_ms - b.updated_at, 0) * rates[i], caps[i]) >= 1;
        IF FOUND THEN
            took := took || true;
            taken := true;
            remaining := NULL;
        ELSE
            took := took || false;
            taken := false;
            SELECT least(b.tokens + greatest(now_ms - b.updated_at, 0) * rates[i], caps[i])
            INTO remaining FROM rate_buckets AS b WHERE b.key = keys[i];
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
