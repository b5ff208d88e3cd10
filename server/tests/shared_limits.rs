//! The abuse limits shared in PostgreSQL (issue 9, docs/abuse-limits.md):
//! the Nonce replay window and the token buckets seen by two nodes, each
//! with its own pool on one database.
//!
//! Needs `IMLOGIN_TEST_PG_ADMIN_URL`, a PostgreSQL URL with the right to
//! create databases (e.g. `postgres://postgres@127.0.0.1:55432/postgres`):
//! every test creates a fresh database, opens a backend on it per node
//! (which migrates it) and drops it at the end. Without it the tests are
//! skipped, except under `CI`, where they fail.

mod common;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use imlogin_server::backend::{buckets, nonces, Backend, Limit, NodeSettings};
use imlogin_server::rate::{RateGate, Refused};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor, PgPool};

/// A fresh database, and a pool of the test's own on it (to look at and
/// change the tables behind the nodes' backs).
struct TestDb {
    admin: PgPool,
    name: String,
    url: String,
    pool: PgPool,
}

/// Takes one token for `key` from `limit`.
async fn take(limit: &Limit<String>, key: &str) -> Result<(), Refused> {
    limit.take(&key.to_owned(), Instant::now()).await
}

impl TestDb {
    /// `None` (after saying so) when no PostgreSQL is configured outside CI.
    async fn create() -> Option<TestDb> {
        let url = common::pg_database_url_or_skip().await?;
        let options = PgConnectOptions::from_str(&url).expect("a database URL");
        let name = options
            .get_database()
            .expect("the URL names its database")
            .to_owned();
        let admin_url = std::env::var(common::PG_ADMIN_VAR).expect("set, as the database was made");
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&admin_url)
            .await
            .expect("connect to IMLOGIN_TEST_PG_ADMIN_URL");
        let db = TestDb {
            admin,
            name,
            pool: PgPoolOptions::new()
                .max_connections(2)
                .connect_with(options)
                .await
                .expect("connect to the test database"),
            url,
        };
        // The schema, before the test's own statements need it.
        drop(db.node().await);
        Some(db)
    }

    /// A new, independent backend on the database: one server node.
    async fn node(&self) -> Backend {
        let settings = NodeSettings {
            link_urls: vec!["ws://127.0.0.1:1/link".to_owned()],
            heartbeat_ms: 30_000,
            max_sessions: 1,
        };
        Backend::open(&self.url, Duration::from_secs(5), settings)
            .await
            .expect("a backend on the test database")
    }

    async fn drop_db(self) {
        self.pool.close().await;
        let drop = format!("DROP DATABASE \"{}\" WITH (FORCE)", self.name);
        sqlx::raw_sql(AssertSqlSafe(drop))
            .execute(&self.admin)
            .await
            .expect("drop the test database");
    }
}

#[tokio::test]
async fn a_nonce_used_on_one_node_is_refused_on_another() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (node_a, node_b) = (db.node().await, db.node().await);
    let (a, b) = (&node_a.nonces, &node_b.nonces);
    // The shared window ignores `now` (the database's clock counts).
    assert!(a.check_and_insert("n1", 0).await.unwrap(), "fresh on A");
    assert!(!b.check_and_insert("n1", 0).await.unwrap(), "replay on B");
    assert!(!a.check_and_insert("n1", 0).await.unwrap(), "replay on A");
    assert!(b.check_and_insert("n2", 0).await.unwrap(), "another nonce");
    db.drop_db().await;
}

#[tokio::test]
async fn an_expired_nonce_is_accepted_again() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (node_a, node_b) = (db.node().await, db.node().await);
    let (a, b) = (&node_a.nonces, &node_b.nonces);
    assert!(a.check_and_insert("n", 0).await.unwrap());
    // 600 s pass for this row: it expires now, by the database clock.
    sqlx::query(
        "UPDATE api_nonces SET expires_at = floor(extract(epoch FROM clock_timestamp()))::bigint",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    assert!(b.check_and_insert("n", 0).await.unwrap(), "expired: fresh");
    assert!(!a.check_and_insert("n", 0).await.unwrap(), "live again");
    let (expires, now): (i64, i64) = sqlx::query_as(
        "SELECT expires_at, floor(extract(epoch FROM clock_timestamp()))::bigint \
         FROM api_nonces WHERE nonce = 'n'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(
        (599..=601).contains(&(expires - now)),
        "the replaced row lives 600 s: {expires} - {now}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_bucket_lets_exactly_capacity_through_across_nodes() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (node_a, node_b) = (db.node().await, db.node().await);
    let period = Duration::from_secs(60);
    let a = node_a.limit("ip:", 5, period);
    let b = node_b.limit("ip:", 5, period);
    for i in 0..5 {
        let node = if i % 2 == 0 { &a } else { &b };
        take(node, "10.0.0.1").await.expect("within capacity");
    }
    for node in [&a, &b] {
        match take(node, "10.0.0.1").await {
            Err(Refused::RetryAfter(wait)) => {
                // One token per 12 s, barely refilled since.
                assert!(
                    wait > Duration::from_secs(11) && wait <= period,
                    "retry after {wait:?}"
                );
            }
            other => panic!("the sixth take must be refused: {other:?}"),
        }
    }
    take(&b, "10.0.0.2").await.expect("keys are independent");
    let other_kind = node_a.limit("acct:", 5, period);
    take(&other_kind, "10.0.0.1")
        .await
        .expect("kinds are independent");
    db.drop_db().await;
}

#[tokio::test]
async fn concurrent_takes_never_exceed_capacity() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (node_a, node_b) = (db.node().await, db.node().await);
    // A long period: the bucket does not refill during the test.
    let period = Duration::from_secs(3600);
    let capacity = 20;
    let nodes = [
        Arc::new(node_a.limit("app:", capacity, period)),
        Arc::new(node_b.limit("app:", capacity, period)),
    ];
    let mut tasks = Vec::new();
    for i in 0..200 {
        let node = Arc::clone(&nodes[i % 2]);
        tasks.push(tokio::spawn(async move { take(&node, "key").await }));
    }
    let (mut passed, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => passed += 1,
            Err(Refused::RetryAfter(_)) => refused += 1,
            Err(Refused::Store(e)) => panic!("database error: {e}"),
        }
    }
    assert_eq!(passed, capacity, "exactly the capacity passes");
    assert_eq!(refused, 200 - capacity);
    db.drop_db().await;
}

#[tokio::test]
async fn the_rate_gate_shares_login_and_api_limits_across_nodes() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let (node_a, node_b) = (db.node().await, db.node().await);
    let config = <imlogin_server::Config as clap::Parser>::parse_from([
        "imlogin-server",
        "--login-rate-per-account",
        "2",
        "--api-rate-per-app-key",
        "1",
    ]);
    let a = RateGate::new(&config, &node_a);
    let b = RateGate::new(&config, &node_b);
    let now = std::time::Instant::now();
    let ip = Some("192.0.2.7".parse().unwrap());
    a.check_login(ip, 1, Some("alice"), now).await.unwrap();
    b.check_login(ip, 1, Some("alice"), now).await.unwrap();
    assert!(matches!(
        a.check_login(ip, 1, Some("alice"), now).await,
        Err(Refused::RetryAfter(_))
    ));
    b.check_login(ip, 1, Some("bob"), now).await.unwrap();
    a.check_api("appkey", now).await.unwrap();
    assert!(matches!(
        b.check_api("appkey", now).await,
        Err(Refused::RetryAfter(_))
    ));
    db.drop_db().await;
}

#[tokio::test]
async fn a_database_failure_is_an_error_not_a_pass() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let node = db.node().await;
    let buckets = node.limit("ip:", 5, Duration::from_secs(60));
    db.pool
        .execute("DROP TABLE api_nonces, rate_buckets")
        .await
        .unwrap();
    assert!(node.nonces.check_and_insert("n", 0).await.is_err());
    assert!(matches!(take(&buckets, "k").await, Err(Refused::Store(_))));
    db.drop_db().await;
}

/// Polls `count_sql` until it answers 0 (a background prune is done).
async fn wait_for_zero(pool: &PgPool, count_sql: &'static str) {
    for _ in 0..100 {
        let (n,): (i64,) = sqlx::query_as(count_sql).fetch_one(pool).await.unwrap();
        if n == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not pruned: {count_sql}");
}

#[tokio::test]
async fn idle_rows_are_pruned_and_live_ones_kept() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let node = db.node().await;
    let pool = &db.pool;
    // Expired nonces and full (idle for a period) buckets, of this kind and
    // another.
    pool.execute(
        "INSERT INTO api_nonces SELECT 'old' || i, 0 FROM generate_series(1, 50) i;
         INSERT INTO rate_buckets SELECT 'ip:old' || i, 0, 0 FROM generate_series(1, 50) i;
         INSERT INTO rate_buckets VALUES ('acct:old', 0, 0);",
    )
    .await
    .unwrap();
    for i in 0..nonces::PRUNE_EVERY {
        assert!(node
            .nonces
            .check_and_insert(&format!("new{i}"), 0)
            .await
            .unwrap());
    }
    wait_for_zero(
        pool,
        "SELECT count(*) FROM api_nonces WHERE nonce LIKE 'old%'",
    )
    .await;
    let ip_buckets = node.limit("ip:", 1, Duration::from_secs(60));
    for i in 0..buckets::PRUNE_EVERY {
        take(&ip_buckets, &format!("new{i}")).await.unwrap();
    }
    wait_for_zero(
        pool,
        "SELECT count(*) FROM rate_buckets WHERE key LIKE 'ip:old%'",
    )
    .await;
    let (live_nonces,): (i64,) = sqlx::query_as("SELECT count(*) FROM api_nonces")
        .fetch_one(pool)
        .await
        .unwrap();
    let (kept,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM rate_buckets WHERE key NOT LIKE 'ip:old%'")
            .fetch_one(pool)
            .await
            .unwrap();
    let expected_nonces = i64::try_from(nonces::PRUNE_EVERY).unwrap();
    assert_eq!(live_nonces, expected_nonces, "live nonces are kept");
    // The fresh buckets, and the other kind's idle one (pruned by its own
    // kind's buckets).
    let expected_buckets = i64::try_from(buckets::PRUNE_EVERY).unwrap() + 1;
    assert_eq!(kept, expected_buckets, "live buckets are kept");
    db.drop_db().await;
}
