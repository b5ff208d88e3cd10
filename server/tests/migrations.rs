//! Databases made by earlier releases open, keep their data and end with
//! the current migration history (server/migrations/README.md): a SQLite
//! file migrated by the first releases (versions 1–3, the same files), and
//! a PostgreSQL database whose first history numbered its migrations
//! differently (1 = SQLite's 1–3 in one file, 2 shared limits, 3 cluster),
//! with or without its last migration.

mod common;

use std::borrow::Cow;
use std::time::Duration;

use imlogin_server::backend::{AccountSource, Backend, NodeSettings};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Connection, SqlSafeStr};

const BUSY: Duration = Duration::from_secs(5);

/// SHA-384 of the released SQLite migrations: a released file is never
/// edited (sqlx would refuse every database it already migrated).
const RELEASED_SQLITE: [(i64, &str); 3] = [
    (1, "f6a37992efef5160e8c6763a4c8a57ed235552e2f56b061dba950d547e6c5ac43675cdc17f0ed808a580ae2c4d08fd1d"),
    (2, "cf569593defa6e960ada6e05c37e9153b7ea5bb115d98a900a5f1d7a8cac19ef255921df2c4318ec7842d07600bfa44d"),
    (3, "671fb8dbe710e3e67234b212036056767745302537130d96912632859237267139702c48d5bcda167e36f1a7d01076da"),
];

/// The first PostgreSQL history, as the first releases applied it.
fn legacy_postgres(with_cluster: bool) -> Migrator {
    let mut files = vec![
        (
            1,
            "init",
            include_str!("fixtures/legacy_postgres_0001_init.sql"),
        ),
        (
            2,
            "shared limits",
            include_str!("../migrations/postgres/0004_shared_limits.sql"),
        ),
    ];
    if with_cluster {
        files.push((
            3,
            "cluster",
            include_str!("../migrations/postgres/0005_cluster.sql"),
        ));
    }
    migrator(files)
}

/// The first SQLite history, as the first releases applied it.
fn legacy_sqlite() -> Migrator {
    migrator(vec![
        (
            1,
            "init",
            include_str!("../migrations/sqlite/0001_init.sql"),
        ),
        (
            2,
            "account source",
            include_str!("../migrations/sqlite/0002_account_source.sql"),
        ),
        (
            3,
            "demo app",
            include_str!("../migrations/sqlite/0003_demo_app.sql"),
        ),
    ])
}

fn migrator(files: Vec<(i64, &'static str, &'static str)>) -> Migrator {
    Migrator::with_migrations(
        files
            .into_iter()
            .map(|(version, desc, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(desc),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn settings() -> NodeSettings {
    NodeSettings {
        link_urls: vec!["ws://127.0.0.1:1/link".to_owned()],
        heartbeat_ms: 30_000,
        max_sessions: 1,
    }
}

/// What the old release stored, in statements both backends run.
const OLD_DATA: &str = "\
INSERT INTO accounts (accid, token_hash, name, created_at, updated_at) VALUES ('amy', 'h', 'Amy', 1, 1);
INSERT INTO accounts (accid, token_hash, name, created_at, updated_at) VALUES ('Zed', 'h', '', 1, 1);
INSERT INTO daily_logins (day, accid) VALUES ('2024-05-01', 'amy');
INSERT INTO last_devices (accid, client_type, device_id, login_at) VALUES ('amy', 'web', 'd1', 1);
INSERT INTO apps (app_key, app_secret, created_at) VALUES ('k', 's', 1);";

/// Opens `url` as the server does and checks the old data and the history.
async fn opens_with_old_data(url: &str, versions: &[i64]) {
    let backend = Backend::open(url, BUSY, settings())
        .await
        .expect("an old database opens");
    let store = &backend.store;
    let amy = store.account("amy", true).await.unwrap().expect("kept");
    assert_eq!((amy.name.as_str(), amy.blocked), ("Amy", false));
    assert_eq!(store.daily_active("2024-05-01").await.unwrap(), 1);
    assert!(store
        .is_known_device("amy", imlogin_protocol::ClientType::Web, "d1")
        .await
        .unwrap());
    assert_eq!(
        store.app_credentials().await.unwrap(),
        Some(("k".to_owned(), "s".to_owned()))
    );
    let api = store.list_accounts(AccountSource::Api, 10).await.unwrap();
    let ids: Vec<_> = api.iter().map(|a| a.accid.as_str()).collect();
    assert_eq!(ids, ["Zed", "amy"], "byte order on both backends");
    let applied: Vec<i64> = match backend.is_shared() {
        true => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
        false => {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&mut c)
                .await
                .unwrap()
        }
    };
    assert_eq!(applied, versions);
}

#[test]
fn released_sqlite_migrations_are_unchanged() {
    let released = legacy_sqlite();
    for (version, sum) in RELEASED_SQLITE {
        let m = released.iter().find(|m| m.version == version).unwrap();
        assert_eq!(hex(&m.checksum), sum, "version {version} was edited");
    }
    let current: Vec<_> = imlogin_server::backend::SQLITE_MIGRATIONS
        .iter()
        .map(|m| (m.version, hex(&m.checksum)))
        .collect();
    for (version, sum) in RELEASED_SQLITE {
        assert!(
            current.contains(&(version, sum.to_owned())),
            "the server embeds released version {version} as released"
        );
    }
}

#[tokio::test]
async fn a_sqlite_file_from_the_first_releases_opens_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_sqlite_url(dir.path());
    {
        let mut c = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        legacy_sqlite().run(&mut c).await.unwrap();
        sqlx::raw_sql(OLD_DATA).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }
    opens_with_old_data(&url, &[1, 2, 3, 8]).await;
    // And again: nothing left to do.
    opens_with_old_data(&url, &[1, 2, 3, 8]).await;
}

async fn postgres_from_the_first_releases(with_cluster: bool) {
    let Some(url) = common::pg_database_url_or_skip().await else {
        return;
    };
    {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        legacy_postgres(with_cluster).run(&mut c).await.unwrap();
        sqlx::raw_sql(OLD_DATA).execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }
    opens_with_old_data(&url, &[1, 2, 3, 4, 5, 6, 7, 8]).await;
    opens_with_old_data(&url, &[1, 2, 3, 4, 5, 6, 7, 8]).await;
}

#[tokio::test]
async fn a_postgres_database_from_the_first_releases_opens_renumbered() {
    postgres_from_the_first_releases(true).await;
}

#[tokio::test]
async fn a_postgres_database_from_before_the_cluster_opens_renumbered() {
    postgres_from_the_first_releases(false).await;
}
