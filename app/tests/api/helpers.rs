use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::web;
use awc::Client;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use urna::Settings;
use urna::state::AppState;

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "a long test password";
pub const VOTER_SECRET: &str = "test-voter-secret";

/// Runs a scenario as two tests, one per backend: `name::sqlite`, `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $scenario:path) => {
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                $scenario($crate::helpers::spawn_app($crate::helpers::Backend::Sqlite, |_| {}).await).await
            }
            #[actix_web::test]
            async fn postgres() {
                $scenario($crate::helpers::spawn_app($crate::helpers::Backend::Postgres, |_| {}).await).await
            }
        }
    };
    ($name:ident, $scenario:path, $tweak:expr) => {
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                $scenario($crate::helpers::spawn_app($crate::helpers::Backend::Sqlite, $tweak).await).await
            }
            #[actix_web::test]
            async fn postgres() {
                $scenario($crate::helpers::spawn_app($crate::helpers::Backend::Postgres, $tweak).await).await
            }
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the test databases are made: `URNA_TEST_PG_URL`, default the local
/// server as user postgres.
pub fn pg_base_url() -> String {
    std::env::var("URNA_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub enum DbGuard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { base: String, name: String },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Postgres { base, name } = self {
            let (base, name) = (base.clone(), name.clone());
            // Drop is not async: drop the database from a thread of its own.
            let _ = std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    if let Ok(db) = Database::connect(base).await {
                        let _ = db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub addr: String,
    pub state: web::Data<AppState>,
    pub client: Client,
    pub admin_cookie: String,
    pub csrf: String,
    /// The first-run setup link this instance printed, if it did.
    pub setup_path: Option<String>,
    db_url: String,
    _db: std::rc::Rc<DbGuard>,
}

/// A JSON answer: status, headers of interest, body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub retry_after: Option<String>,
    pub set_cookie: Vec<String>,
    pub body: Value,
}

pub async fn spawn_app(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let (url, guard) = fresh_database(backend).await;
    let app = start_instance(&url, std::rc::Rc::new(guard), tweak).await;
    let hash = urna::admin::hash_password(ADMIN_PASSWORD).unwrap();
    urna::db::mutation::create_admin(&app.state.db, ADMIN, &hash, "admin").await.unwrap();
    app.logged_in().await
}

/// An instance on a fresh database where no admin exists yet (a first run).
pub async fn spawn_app_without_admin(backend: Backend) -> TestApp {
    let (url, guard) = fresh_database(backend).await;
    start_instance(&url, std::rc::Rc::new(guard), |_| {}).await
}

/// Several instances on one fresh Postgres database and one Redis, each its
/// own shard, with a key prefix of their own.
pub async fn spawn_cluster(n: usize, redis_url: &str, tweak: impl Fn(&mut Settings)) -> Vec<TestApp> {
    let (url, guard) = fresh_database(Backend::Postgres).await;
    let guard = std::rc::Rc::new(guard);
    let prefix = format!("urna-test-{}", hex::encode(urna::keys::random_bytes::<6>()));
    let mut apps = Vec::new();
    for i in 0..n {
        let app = start_instance(&url, guard.clone(), |s| {
            s.instance_id = format!("node-{i}");
            s.redis_url = Some(redis_url.to_owned());
            s.redis_prefix = prefix.clone();
            tweak(s);
        })
        .await;
        if i == 0 {
            let hash = urna::admin::hash_password(ADMIN_PASSWORD).unwrap();
            urna::db::mutation::create_admin(&app.state.db, ADMIN, &hash, "admin").await.unwrap();
        }
        apps.push(app);
    }
    // One login; the session lives in the database, so every instance knows it.
    let first = apps.remove(0).logged_in().await;
    for a in &mut apps {
        a.admin_cookie = first.admin_cookie.clone();
        a.csrf = first.csrf.clone();
    }
    apps.insert(0, first);
    apps
}

/// The shared Redis of the test machine.
pub fn redis_url() -> String {
    std::env::var("URNA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub async fn fresh_database(backend: Backend) -> (String, DbGuard) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/urna.db?mode=rwc", dir.path().display());
            (url, DbGuard::Sqlite(dir))
        }
        Backend::Postgres => {
            let base = pg_base_url();
            let name = format!("urna_test_{}", hex::encode(urna::keys::random_bytes::<6>()));
            let db = Database::connect(base.clone()).await.expect("Postgres must be reachable at URNA_TEST_PG_URL");
            db.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
            let url = match base.rfind('/') {
                Some(i) => format!("{}/{name}", &base[..i]),
                None => panic!("URNA_TEST_PG_URL needs a database path"),
            };
            (url, DbGuard::Postgres { base, name })
        }
    }
}

async fn start_instance(url: &str, guard: std::rc::Rc<DbGuard>, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings::for_tests(url);
    tweak(&mut settings);
    let app = urna::Application::build(settings).await.expect("app builds");
    let addr = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    let setup_path = app.setup_path().map(str::to_owned);
    actix_web::rt::spawn(app.run_until_stopped());
    let client =
        Client::builder().timeout(Duration::from_secs(60)).connector(awc::Connector::new().limit(1000)).finish();
    TestApp {
        addr,
        state,
        client,
        admin_cookie: String::new(),
        csrf: String::new(),
        setup_path,
        db_url: url.to_owned(),
        _db: guard,
    }
}

async fn answer(
    mut res: awc::ClientResponse<
        impl futures_util::Stream<Item = Result<bytes::Bytes, awc::error::PayloadError>> + Unpin,
    >,
) -> Answer {
    let header = |name: &str| res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    let set_cookie = res
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
        .collect();
    let bytes = res.body().limit(4 << 20).await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Answer { status: res.status(), content_type, retry_after, set_cookie, body }
}

impl TestApp {
    /// A new instance on this one's database, with this one's admin session:
    /// what a restart sees (it reads every counter anew).
    pub async fn another_instance(&self, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let mut app = start_instance(&self.db_url, self._db.clone(), tweak).await;
        app.admin_cookie = self.admin_cookie.clone();
        app.csrf = self.csrf.clone();
        app
    }

    async fn logged_in(mut self) -> Self {
        let (cookie, csrf) = self.login(ADMIN, ADMIN_PASSWORD).await;
        self.admin_cookie = cookie;
        self.csrf = csrf;
        self
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.addr, path)
    }

    pub async fn login(&self, user: &str, password: &str) -> (String, String) {
        let a = self.post("/api/admin/login", &json!({ "username": user, "password": password }), &[]).await;
        assert_eq!(a.status, StatusCode::OK, "login failed: {:?}", a.body);
        let cookie = a
            .set_cookie
            .iter()
            .find(|c| c.starts_with("urna_session=") || c.starts_with("__Host-urna_session="))
            .unwrap()
            .clone();
        (cookie, a.body["csrf_token"].as_str().unwrap().to_owned())
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = self.client.get(self.url(path));
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        answer(req.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
        let mut req = self.client.post(self.url(path));
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        answer(req.send_json(body).await.unwrap()).await
    }

    /// A GET whose body is not JSON (pages, CSV, SVG): status, content type
    /// and the body as text.
    pub async fn get_text(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, String, String) {
        let mut req = self.client.get(self.url(path));
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = req.send().await.unwrap();
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let body = res.body().limit(4 << 20).await.unwrap();
        (res.status(), ct, String::from_utf8_lossy(&body).into_owned())
    }

    /// Sends a raw body with a chosen content type.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<bytes::Bytes>) -> Answer {
        let req = self.client.post(self.url(path)).insert_header(("content-type", content_type));
        answer(req.send_body(body.into()).await.unwrap()).await
    }

    fn admin_headers(&self) -> [(&str, &str); 2] {
        [("cookie", self.admin_cookie.as_str()), ("x-csrf-token", self.csrf.as_str())]
    }

    pub async fn admin_get(&self, path: &str) -> Answer {
        self.get(path, &self.admin_headers()[..1]).await
    }

    /// An admin POST whose answer is not JSON (CSV, HTML): status, content
    /// type and body as text.
    pub async fn admin_post_text(&self, path: &str, body: &Value) -> (StatusCode, String, String) {
        let mut req = self.client.post(self.url(path));
        for (k, v) in self.admin_headers() {
            req = req.insert_header((k, v));
        }
        let mut res = req.send_json(body).await.unwrap();
        let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let bytes = res.body().limit(16 << 20).await.unwrap();
        (res.status(), ct, String::from_utf8_lossy(&bytes).into_owned())
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> Answer {
        self.post(path, body, &self.admin_headers()).await
    }

    pub async fn admin_patch(&self, path: &str, body: &Value) -> Answer {
        let mut req = self.client.patch(self.url(path));
        for (k, v) in self.admin_headers() {
            req = req.insert_header((k, v));
        }
        answer(req.send_json(body).await.unwrap()).await
    }

    pub async fn admin_delete(&self, path: &str) -> Answer {
        let mut req = self.client.delete(self.url(path));
        for (k, v) in self.admin_headers() {
            req = req.insert_header((k, v));
        }
        answer(req.send().await.unwrap()).await
    }

    /// Creates a poll through the API; returns its JSON.
    pub async fn create_poll(&self, body: Value) -> Value {
        let a = self.admin_post("/api/admin/polls", &body).await;
        assert_eq!(a.status, StatusCode::CREATED, "create failed: {:?}", a.body);
        a.body
    }

    /// Creates and opens a poll with options A, B, C and the given extra fields.
    pub async fn open_poll(&self, slug: &str, extra: Value) -> Value {
        let mut body = json!({
            "slug": slug,
            "title": format!("Poll {slug}"),
            "options": [{"label": "A"}, {"label": "B"}, {"label": "C"}],
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let poll = self.create_poll(body).await;
        let id = poll["id"].as_i64().unwrap();
        let a = self.admin_post(&format!("/api/admin/polls/{id}/open"), &json!({})).await;
        assert_eq!(a.status, StatusCode::OK, "open failed: {:?}", a.body);
        a.body
    }

    pub async fn vote(&self, slug: &str, body: Value, headers: &[(&str, &str)]) -> Answer {
        self.post(&format!("/api/polls/{slug}/votes"), &body, headers).await
    }

    pub async fn results(&self, slug: &str) -> Value {
        let a = self.get(&format!("/api/polls/{slug}/results"), &[]).await;
        assert_eq!(a.status, StatusCode::OK, "results failed: {:?}", a.body);
        a.body
    }

    /// Sum of the counter rows in the database, per option id.
    pub async fn db_counts(&self, poll_id: i64) -> std::collections::BTreeMap<i64, i64> {
        let mut m = std::collections::BTreeMap::new();
        for row in urna::db::query::counters_of_poll(&self.state.db, poll_id).await.unwrap() {
            *m.entry(row.option_id).or_insert(0) += row.votes;
        }
        m
    }
}

/// Option ids of a poll JSON, in order.
pub fn option_ids(poll: &Value) -> Vec<i64> {
    poll["options"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect()
}

/// A problem+json answer with this status and code.
pub fn assert_problem(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status.as_u16(), status, "expected {status} {code}, got {:?}", a.body);
    assert_eq!(a.content_type, "application/problem+json", "body: {:?}", a.body);
    assert_eq!(a.body["code"], code, "body: {:?}", a.body);
    assert_eq!(a.body["status"], status);
    assert!(a.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

pub fn voter_token(voter: &str) -> String {
    let exp = chrono::Utc::now().timestamp() + 3600;
    urna::vote::mint_token(&secrecy::SecretString::from(VOTER_SECRET), voter, exp)
}

/// Waits until `check` holds, asking every 50 ms, and fails the test naming
/// `what` if it still does not after `within`: the one way tests wait.
pub async fn eventually<F: Future<Output = bool>>(within: Duration, what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "{what} did not happen within {within:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}
