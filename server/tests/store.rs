//! The store's contract, method by method, on the backend the run uses
//! (SQLite, or PostgreSQL with `IMLOGIN_TEST_BACKEND=postgres`): the one
//! SQL implementation must answer alike on both. Device records are
//! written through the journal, as the server writes them.

mod common;

use std::time::Duration;

use imlogin_protocol::ClientType;
use imlogin_server::backend::{
    AccountSource, Backend, DeviceWrite, Journal, LoginRecord, NodeSettings, Store,
};

const BUSY: Duration = Duration::from_secs(5);

fn settings() -> NodeSettings {
    NodeSettings {
        link_urls: vec!["ws://127.0.0.1:1/link".to_owned()],
        heartbeat_ms: 30_000,
        max_sessions: 1,
    }
}

async fn open() -> (Store, Journal, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = common::fresh_database_url(dir.path()).await;
    let backend = Backend::open(&url, BUSY, settings())
        .await
        .expect("the backend opens");
    assert_eq!(backend.is_shared(), url.starts_with("postgres"));
    (backend.store, backend.journal, dir)
}

fn login(accid: &str, client_type: ClientType, device: &str, at_ms: u64, day: &str) -> DeviceWrite {
    DeviceWrite::Login(LoginRecord {
        accid: accid.to_owned(),
        client_type,
        device_id: device.to_owned(),
        at_ms,
        day: day.to_owned(),
    })
}

fn forget(accid: &str, devices: Option<&[(ClientType, &str)]>) -> DeviceWrite {
    DeviceWrite::Forget {
        accid: accid.to_owned(),
        devices: devices.map(|list| list.iter().map(|(t, d)| (*t, (*d).to_owned())).collect()),
    }
}

#[tokio::test]
async fn accounts_create_once_list_newest_first_and_update() {
    let (s, _, _dir) = open().await;
    assert!(s
        .create_account("amy", "h1", "Amy", AccountSource::Console, 10)
        .await
        .unwrap());
    assert!(
        !s.create_account("amy", "h2", "", AccountSource::Api, 11)
            .await
            .unwrap(),
        "a taken accid is refused, not an error"
    );
    s.create_account("bob", "h", "", AccountSource::Console, 20)
        .await
        .unwrap();
    s.create_account("BIG", "h", "", AccountSource::Console, 20)
        .await
        .unwrap();
    s.create_account("api", "h", "", AccountSource::Api, 30)
        .await
        .unwrap();
    let list = s.list_accounts(AccountSource::Console, 10).await.unwrap();
    let ids: Vec<_> = list.iter().map(|a| a.accid.as_str()).collect();
    assert_eq!(ids, ["BIG", "bob", "amy"], "newest first, then byte order");
    assert_eq!(list[2].created_at, 10);
    assert_eq!(list[2].name, "Amy");
    assert_eq!(
        s.list_accounts(AccountSource::Console, 1)
            .await
            .unwrap()
            .len(),
        1
    );

    let a = s.account("amy", false).await.unwrap().unwrap();
    assert_eq!((a.token_hash.as_str(), a.blocked), ("h1", false));
    assert!(s.account("nobody", false).await.unwrap().is_none());
    assert!(s.set_token("amy", "h9", 40).await.unwrap());
    assert!(!s.set_token("nobody", "h9", 40).await.unwrap());
    assert!(s.set_blocked("amy", true, 41).await.unwrap());
    assert!(!s.set_blocked("nobody", true, 41).await.unwrap());
    let a = s.account("amy", false).await.unwrap().unwrap();
    assert_eq!(
        (a.token_hash.as_str(), a.blocked),
        ("h9", true),
        "a change leaves the cache"
    );
    assert!(s.list_accounts(AccountSource::Console, 10).await.unwrap()[2].blocked);
}

#[tokio::test]
async fn devices_are_recorded_capped_and_forgotten() {
    let (s, j, _dir) = open().await;
    let web = ClientType::Web;
    let day = "2024-05-01";
    assert!(!s.is_known_device("amy", web, "d0").await.unwrap());
    for i in 0..20u64 {
        j.write(vec![login("amy", web, &format!("d{i}"), 1_000 + i, day)])
            .await
            .unwrap();
    }
    // The 16 most recent stay resumable; older ones are dropped.
    assert!(!s.is_known_device("amy", web, "d3").await.unwrap());
    assert!(s.is_known_device("amy", web, "d4").await.unwrap());
    assert!(s.is_known_device("amy", web, "d19").await.unwrap());
    assert!(!s
        .is_known_device("amy", ClientType::Pc, "d19")
        .await
        .unwrap());
    // A repeat login refreshes a device instead of adding one.
    // Both in one transaction, in order.
    j.write(vec![
        login("amy", web, "d4", 2_000, day),
        login("amy", web, "d20", 2_001, day),
    ])
    .await
    .unwrap();
    assert!(s.is_known_device("amy", web, "d4").await.unwrap());
    assert!(!s.is_known_device("amy", web, "d5").await.unwrap());

    // The last device passes even when forgotten as resumable elsewhere.
    j.write(vec![forget("amy", Some(&[(web, "d4")]))])
        .await
        .unwrap();
    assert!(!s.is_known_device("amy", web, "d4").await.unwrap());
    assert!(s.is_known_device("amy", web, "d20").await.unwrap());
    j.write(vec![forget("amy", Some(&[(web, "d20")]))])
        .await
        .unwrap();
    assert!(!s.is_known_device("amy", web, "d20").await.unwrap());
    assert!(s.is_known_device("amy", web, "d19").await.unwrap());

    j.write(vec![
        login("amy", ClientType::Pc, "p", 3_000, day),
        login("bob", web, "b", 3_000, day),
        forget("amy", None),
    ])
    .await
    .unwrap();
    assert!(!s.is_known_device("amy", web, "d19").await.unwrap());
    assert!(!s.is_known_device("amy", ClientType::Pc, "p").await.unwrap());
    assert!(s.is_known_device("bob", web, "b").await.unwrap());

    assert_eq!(s.daily_active(day).await.unwrap(), 2);
    assert_eq!(s.daily_active("2024-05-02").await.unwrap(), 0);
}

#[tokio::test]
async fn concurrent_logins_and_logouts_of_one_account_all_succeed() {
    let (s, j, _dir) = open().await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40u64 {
        let j = j.clone();
        set.spawn(async move {
            let device = format!("d{}", i % 5);
            let write = if i % 3 == 0 {
                forget("amy", Some(&[(ClientType::Web, &device)]))
            } else {
                login("amy", ClientType::Web, &device, i, "2024-05-01")
            };
            j.write(vec![write]).await
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().expect("no deadlock, no conflict");
    }
    assert_eq!(s.daily_active("2024-05-01").await.unwrap(), 1);
}

#[tokio::test]
async fn app_credentials_and_demo_app_users() {
    let (s, _, _dir) = open().await;
    assert!(s.app_credentials().await.unwrap().is_none());
    s.save_app_credentials("k", "secret", 5).await.unwrap();
    assert_eq!(
        s.app_credentials().await.unwrap(),
        Some(("k".to_owned(), "secret".to_owned()))
    );

    let uid = s.create_user("ann", "phc", 1).await.unwrap().expect("new");
    assert!(s.create_user("ann", "other", 2).await.unwrap().is_none());
    let other = s.create_user("ben", "phc", 3).await.unwrap().unwrap();
    assert_ne!(uid, other);
    let u = s.user_by_name("ann").await.unwrap().unwrap();
    assert_eq!((u.uid, u.password_hash.as_str()), (uid, "phc"));
    assert!(u.im.is_none());
    assert!(s.user_by_name("nobody").await.unwrap().is_none());
    assert!(s.set_im_account(uid, "im1", "tok").await.unwrap());
    assert!(
        !s.set_im_account(uid, "im2", "tok2").await.unwrap(),
        "the first IM account stays"
    );
    assert!(!s.set_im_account(9_999, "im3", "t").await.unwrap());
    let u = s.user_by_name("ann").await.unwrap().unwrap();
    let (accid, token) = u.im.unwrap();
    assert_eq!((accid.as_str(), token.expose()), ("im1", "tok"));

    s.create_session("s1", uid, 100, 200).await.unwrap();
    assert_eq!(s.session_user("s1", 150).await.unwrap().unwrap().uid, uid);
    assert!(
        s.session_user("s1", 200).await.unwrap().is_none(),
        "expired"
    );
    assert!(s.session_user("nope", 150).await.unwrap().is_none());
    // A new session sweeps expired ones.
    s.create_session("s2", other, 300, 400).await.unwrap();
    assert!(s.session_user("s1", 150).await.unwrap().is_none());
    s.delete_session("s2").await.unwrap();
    s.delete_session("s2").await.unwrap();
    assert!(s.session_user("s2", 350).await.unwrap().is_none());
}

#[tokio::test]
async fn bad_urls_are_clear_errors() {
    let e = Backend::open("mysql://x/y", BUSY, settings())
        .await
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(
        msg.contains("sqlite") && msg.contains("postgres"),
        "names both schemes: {msg}"
    );
    // Nothing listens on port 1: refused at once, named without secrets.
    let e = Backend::open("postgres://u:hunter2@127.0.0.1:1/db", BUSY, settings())
        .await
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(msg.contains("127.0.0.1:1/db"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
}
