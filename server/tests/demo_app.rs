//! The demo app server (`--demo-app`, `/app/*`): password accounts,
//! HttpOnly sessions, and IM accounts created on first use through the
//! signed server API.

mod common;

use common::{TestServer, DEADLINE};
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

/// A browser-like client of `/app/*` that keeps the session cookie.
struct AppClient<'a> {
    server: &'a TestServer,
    cookie: Option<String>,
}

impl<'a> AppClient<'a> {
    fn new(server: &'a TestServer) -> Self {
        AppClient {
            server,
            cookie: None,
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> (Value, Option<String>) {
        let req = match &self.cookie {
            Some(c) => req.header(COOKIE, format!("imlogin_demo={c}")),
            None => req,
        };
        let resp = tokio::time::timeout(DEADLINE, req.send())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resp.status(), 200, "NIM-style: HTTP 200, code in the body");
        let set_cookie = resp
            .headers()
            .get(SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_owned());
        if let Some(sc) = &set_cookie {
            let value = sc
                .strip_prefix("imlogin_demo=")
                .unwrap()
                .split(';')
                .next()
                .unwrap();
            self.cookie = (!value.is_empty()).then(|| value.to_owned());
        }
        (resp.json().await.unwrap(), set_cookie)
    }

    async fn post(&mut self, path: &str, body: Value) -> Value {
        let req = self
            .server
            .http
            .post(format!("{}{path}", self.server.base))
            .json(&body);
        self.send(req).await.0
    }

    async fn get(&mut self, path: &str) -> Value {
        let req = self.server.http.get(format!("{}{path}", self.server.base));
        self.send(req).await.0
    }

    async fn register(&mut self, username: &str) -> Value {
        self.post(
            "/app/register",
            json!({ "username": username, "password": PASSWORD }),
        )
        .await
    }
}

async fn demo_server() -> TestServer {
    TestServer::start(&["--demo-app"]).await
}

#[tokio::test]
async fn register_signs_in_with_an_http_only_strict_cookie() {
    let s = demo_server().await;
    let mut app = AppClient::new(&s);
    let req = s
        .http
        .post(format!("{}/app/register", s.base))
        .json(&json!({
            "username": "Alice", "password": PASSWORD
        }));
    let (v, set_cookie) = app.send(req).await;
    assert_eq!(
        v,
        json!({ "code": 200, "user": { "username": "alice", "accid": null } })
    );
    let set_cookie = set_cookie.expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/app"] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    let v = app.get("/app/me").await;
    assert_eq!(v["user"]["username"], "alice");

    let v = app.post("/app/logout", json!({})).await;
    assert_eq!(v["code"], 200);
    assert!(app.cookie.is_none(), "logout clears the cookie");
    let v = app.get("/app/me").await;
    assert_eq!(v, json!({ "code": 403, "desc": "not signed in" }));
}

#[tokio::test]
async fn sign_in_checks_the_password_without_telling_which_part_was_wrong() {
    let s = demo_server().await;
    AppClient::new(&s).register("bob").await;
    let mut app = AppClient::new(&s);
    let wrong = app
        .post(
            "/app/login",
            json!({ "username": "bob", "password": "not the password" }),
        )
        .await;
    let unknown = app
        .post(
            "/app/login",
            json!({ "username": "nobody", "password": PASSWORD }),
        )
        .await;
    assert_eq!(
        wrong,
        json!({ "code": 302, "desc": "wrong username or password" })
    );
    assert_eq!(unknown, wrong);
    assert!(app.cookie.is_none());
    let ok = app
        .post(
            "/app/login",
            json!({ "username": "BOB", "password": PASSWORD }),
        )
        .await;
    assert_eq!(ok["code"], 200, "{ok}");
    assert!(app.cookie.is_some());
}

#[tokio::test]
async fn bad_usernames_short_passwords_and_taken_names_get_414() {
    let s = demo_server().await;
    let mut app = AppClient::new(&s);
    assert_eq!(app.register("carol").await["code"], 200);
    for (username, password) in [("x", PASSWORD), ("has space", PASSWORD), ("dave", "short")] {
        let v = app
            .post(
                "/app/register",
                json!({ "username": username, "password": password }),
            )
            .await;
        assert_eq!(v["code"], 414, "{username}: {v}");
    }
    let v = AppClient::new(&s).register("CAROL").await;
    assert_eq!(v, json!({ "code": 414, "desc": "already registered" }));
    let v = app
        .post("/app/register", json!({ "username": "erin" }))
        .await;
    assert_eq!(v["code"], 414, "missing password: {v}");
}

#[tokio::test]
async fn app_bodies_must_be_json_so_cross_site_forms_cannot_post() {
    let s = demo_server().await;
    let mut app = AppClient::new(&s);
    let req = s
        .http
        .post(format!("{}/app/register", s.base))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("username=frank&password={PASSWORD}"));
    let (v, cookie) = app.send(req).await;
    assert_eq!(v["code"], 414, "{v}");
    assert!(cookie.is_none());
}

#[tokio::test]
async fn first_im_use_creates_a_random_accid_through_the_server_api_and_it_logs_in() {
    let s = demo_server().await;
    let mut app = AppClient::new(&s);
    app.register("grace").await;
    assert_eq!(app.get("/app/me").await["user"]["accid"], Value::Null);

    let first = app.post("/app/im", json!({})).await;
    assert_eq!(first["code"], 200, "{first}");
    let accid = first["accid"].as_str().unwrap().to_owned();
    let token = first["token"].as_str().unwrap().to_owned();
    assert!(!accid.contains("grace"), "{accid}");
    assert_eq!(token.len(), 32);
    // Kept, as a NIM app server keeps it: the same credentials next time.
    assert_eq!(app.post("/app/im", json!({})).await, first);
    assert_eq!(app.get("/app/me").await["user"]["accid"], accid.as_str());

    // A real IM account: the link accepts it, and the server API knows it.
    s.login_ok(&accid, &token, "dev-grace", "manual").await;
    let dup = s
        .api("/nimserver/user/create.action", &[("accid", &accid)])
        .await;
    assert_eq!(dup["desc"], "already registered");
}

#[tokio::test]
async fn each_user_gets_their_own_accid_and_only_signed_in_users_get_one() {
    let s = demo_server().await;
    let mut a = AppClient::new(&s);
    let mut b = AppClient::new(&s);
    a.register("heidi").await;
    b.register("ivan").await;
    let ia = a.post("/app/im", json!({})).await;
    let ib = b.post("/app/im", json!({})).await;
    assert_ne!(ia["accid"], ib["accid"]);
    let v = AppClient::new(&s).post("/app/im", json!({})).await;
    assert_eq!(v, json!({ "code": 403, "desc": "not signed in" }));
}

#[tokio::test]
async fn app_routes_are_absent_without_the_flag() {
    let s = TestServer::start(&[]).await;
    let resp = s
        .http
        .get(format!("{}/app/config", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}
