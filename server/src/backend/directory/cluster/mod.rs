//! The live-session directory of several link nodes sharing one
//! PostgreSQL database (docs/deploy.md).
//!
//! Every logged-in session is a row of `link_sessions` naming the node that
//! holds its socket. A change to an account's sessions (admission, logout,
//! kick, block, token change) is one transaction holding the account's
//! advisory lock, so the session policy and the device rule see and change
//! one consistent picture whichever node a login reaches; the rules and
//! what they tell whom are [`crate::sessions::policy`]'s, as on one node.
//! What the holding nodes must tell their sockets (`kicked`, `clients`) is
//! sent with `NOTIFY` on each node's own channel inside that transaction:
//! PostgreSQL delivers it on commit, in commit order, so every session
//! receives its frames in the order the changes happened (even the ones for
//! sessions on the deciding node go through PostgreSQL, for that order).
//!
//! Round trips are what a login pays for here, so each change is as few as
//! it can be: `BEGIN` and the lock in one, the account's sessions (with
//! the check that the account is still what the login was checked
//! against) in one, every write and notice of the change in one statement,
//! `COMMIT`. Sessions that end by disconnecting leave in batches.
//!
//! Liveness: each node refreshes its `link_nodes.seen_at` every half
//! heartbeat; a node silent for 1.5 heartbeats is dead, its sessions drop
//! out of every list and policy decision at once, and the next sweep (any
//! node, every half heartbeat) deletes them and tells the account's other
//! sessions: a crashed node's sessions are gone within 2 heartbeats.

mod node;
pub mod notice;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use imlogin_protocol::{ClientType, ClientsChange, KickReason, LoginMode, ServerFrame};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, Row, Transaction};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use self::notice::{Notice, MAX_PAYLOAD};
use crate::backend::cache::AccountCache;
use crate::backend::StoreError;
use crate::sessions::policy::{self, Change};
use crate::sessions::{
    Admission, AdmitError, Admitted, Control, ControlTx, SessionInfo, Unavailable,
};

/// The first key of the advisory lock that every change of an account's
/// sessions holds; the second is [`account_key`].
const SESSION_LOCK_CLASS: i32 = 0x1d_12;

/// The most removals one transaction carries.
const MAX_REMOVALS: usize = 256;

/// The most admissions one transaction carries.
const MAX_ADMISSIONS: usize = 64;

/// One live session as the directory holds it.
#[derive(Debug, Clone)]
struct Held {
    node_id: String,
    info: SessionInfo,
}

impl policy::Held for Held {
    fn info(&self) -> &SessionInfo {
        &self.info
    }
}

/// An admission waiting for its batch.
struct Ask {
    accid: String,
    token_hash: String,
    /// A resume's ticket, which must still exist when it is admitted.
    ticket_hash: Option<String>,
    known_device: bool,
    /// The new session, should it be admitted.
    info: SessionInfo,
    reply: oneshot::Sender<Result<Admitted, AdmitError>>,
}

impl Ask {
    fn request(&self) -> policy::Request<'_> {
        policy::Request {
            client_type: self.info.client_type,
            device_id: &self.info.device_id,
            mode: self.info.mode,
            force: self.info.force,
            known_device: self.known_device,
        }
    }
}

/// An account as an admission batch sees it.
struct Account {
    token_hash: String,
    blocked: bool,
    live: Vec<Held>,
}

/// This node's view of the shared directory. See the module docs.
pub struct Cluster {
    pool: PgPool,
    node_id: String,
    link_urls: Vec<String>,
    heartbeat_ms: u64,
    max_sessions: usize,
    next_id: AtomicU64,
    /// The sessions whose sockets this node holds: clientId → (accid,
    /// socket task).
    local: Mutex<HashMap<String, (String, ControlTx)>>,
    /// Logins waiting to be admitted (batched: see
    /// [`node::admission_loop`]).
    admissions: mpsc::UnboundedSender<Ask>,
    /// Sessions of this node that ended on their own, to be deleted and
    /// told (batched: see [`node::removal_loop`]).
    removals: mpsc::UnboundedSender<(String, String)>,
    /// Removals that failed on the database, retried every beat.
    pending_removals: Mutex<Vec<(String, String)>>,
    /// The accounts cache of this node, emptied of what other nodes change.
    cache: Arc<AccountCache>,
    rotation: AtomicUsize,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl core::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Cluster")
            .field("node_id", &self.node_id)
            .field("link_urls", &self.link_urls)
            .field("local", &self.live_here())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn unavailable(what: &'static str) -> impl Fn(sqlx::Error) -> Unavailable {
    move |e| {
        tracing::error!(error = %e, "cluster directory: {what} failed");
        crate::metrics::metrics().database_error();
        Unavailable
    }
}

fn parse_mode(s: &str) -> LoginMode {
    if s == LoginMode::Auto.as_str() {
        LoginMode::Auto
    } else {
        LoginMode::Manual
    }
}

/// The live sessions (those of live nodes) that `$filter` picks, with the
/// columns [`held_from_row`] reads; `$2` is the liveness window in ms.
macro_rules! live_sessions_where {
    ($filter:literal) => {
        concat!(
            "SELECT s.accid, s.client_id, s.node_id, s.client_type, s.device_id, \
                    s.custom_tag, s.mode, s.forced, s.login_at, s.seq \
             FROM link_sessions s JOIN link_nodes n ON n.node_id = s.node_id \
             WHERE n.seen_at >= imlogin_now_ms() - $2 AND ",
            $filter
        )
    };
}

fn held_from_row(row: &PgRow) -> Result<(String, Held), sqlx::Error> {
    let client_type: String = row.try_get("client_type")?;
    let client_type = ClientType::parse(&client_type).ok_or_else(|| {
        sqlx::Error::Decode(format!("unknown client_type {client_type:?} in link_sessions").into())
    })?;
    let mode: String = row.try_get("mode")?;
    let login_at: i64 = row.try_get("login_at")?;
    Ok((
        row.try_get("accid")?,
        Held {
            node_id: row.try_get("node_id")?,
            info: SessionInfo {
                client_id: row.try_get("client_id")?,
                client_type,
                device_id: row.try_get("device_id")?,
                custom_tag: row.try_get("custom_tag")?,
                login_at: u64::try_from(login_at).unwrap_or(0),
                mode: parse_mode(&mode),
                force: row.try_get("forced")?,
            },
        },
    ))
}

fn channel_of(node_id: &str) -> String {
    format!("imlogin_node_{node_id}")
}

/// The second key of an account's session lock: FNV-1a of the accid, the
/// same on every node.
fn account_key(accid: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in accid.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    i32::from_ne_bytes(h.to_ne_bytes())
}

/// `BEGIN` and the session locks of `accids` as one simple query: the keys
/// are numbers computed here, never text from a request, and they are
/// taken in one order on every node so that two changes never deadlock.
fn begin_and_lock<'a>(accids: impl IntoIterator<Item = &'a str>) -> AssertSqlSafe<String> {
    let mut keys: Vec<i32> = accids.into_iter().map(account_key).collect();
    keys.sort_unstable();
    keys.dedup();
    let locks: Vec<String> = keys
        .iter()
        .map(|k| format!("pg_advisory_xact_lock({SESSION_LOCK_CLASS}, {k})"))
        .collect();
    AssertSqlSafe(format!("BEGIN; SELECT {}", locks.join(", ")))
}

/// Notices queued inside a transaction: (channel, payload).
#[derive(Debug, Default)]
struct Outbox(Vec<(String, String)>);

impl Outbox {
    fn push(&mut self, node_id: &str, notice: &Notice) {
        self.0.push((channel_of(node_id), notice.encode()));
    }

    /// Queues what `change` tells each session of account `accid`;
    /// returns the sessions that stay.
    fn change(&mut self, accid: &str, change: Change<Held>) -> Vec<Held> {
        change.deliver(|held, control| {
            let to = held.info.client_id.clone();
            match control {
                Control::Kicked(frame) => self.push(&held.node_id, &Notice::Kicked { to, frame }),
                Control::Send(frame) => {
                    let payload = Notice::Send {
                        to: to.clone(),
                        frame: frame.clone(),
                    }
                    .encode();
                    match frame {
                        ServerFrame::Clients { change, .. } if payload.len() > MAX_PAYLOAD => {
                            let accid = accid.to_owned();
                            self.push(&held.node_id, &Notice::Refresh { to, accid, change });
                        }
                        _ => self.0.push((channel_of(&held.node_id), payload)),
                    }
                }
                Control::Close(_) | Control::Restart(_) => {}
            }
        })
    }

    /// The channels and payloads, counted as sent: they are queued on a
    /// transaction about to commit.
    fn unzip(self) -> (Vec<String>, Vec<String>) {
        crate::metrics::metrics().notices_sent(self.0.len());
        self.0.into_iter().unzip()
    }

    /// Queues the notices on the transaction: delivered on commit.
    async fn send(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.0.is_empty() {
            return Ok(());
        }
        let (channels, payloads) = self.unzip();
        sqlx::query("SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS t(c, p)")
            .bind(channels)
            .bind(payloads)
            .execute(conn)
            .await?;
        Ok(())
    }
}

impl Cluster {
    /// Registers this node (a fresh random id) with its public link URLs,
    /// starts listening on its channel and on the account changes (which
    /// empty `cache`), and starts the heartbeat, the sweep of dead nodes
    /// (every half of `heartbeat_ms`) and the removal of ended sessions.
    ///
    /// # Errors
    /// The database cannot be reached or the node not registered.
    pub(crate) async fn join(
        pool: PgPool,
        cache: Arc<AccountCache>,
        link_urls: Vec<String>,
        heartbeat_ms: u64,
        max_sessions: usize,
    ) -> Result<Arc<Cluster>, StoreError> {
        let node_id = crate::secret::random_hex(8)
            .map_err(|e| StoreError::msg(format!("no randomness for the node id: {e}")))?;
        let (removals, removed) = mpsc::unbounded_channel();
        let (admissions, asked) = mpsc::unbounded_channel();
        let cluster = Arc::new(Cluster {
            pool,
            node_id,
            link_urls,
            heartbeat_ms: heartbeat_ms.max(100),
            max_sessions: max_sessions.max(1),
            next_id: AtomicU64::new(0),
            local: Mutex::new(HashMap::new()),
            admissions,
            removals,
            pending_removals: Mutex::new(Vec::new()),
            cache,
            rotation: AtomicUsize::new(0),
            tasks: Mutex::new(Vec::new()),
        });
        let listener = node::listen(&cluster).await?;
        cluster.register().await?;
        let tasks = vec![
            tokio::spawn(node::deliver_loop(Arc::clone(&cluster), listener)),
            tokio::spawn(node::beat_loop(Arc::clone(&cluster))),
            tokio::spawn(node::removal_loop(Arc::clone(&cluster), removed)),
            tokio::spawn(node::admission_loop(Arc::clone(&cluster), asked)),
        ];
        *lock(&cluster.tasks) = tasks;
        tracing::info!(node_id = %cluster.node_id, links = ?cluster.link_urls, "joined the cluster");
        Ok(cluster)
    }

    /// This node's id (the prefix of its clientIds).
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// How long a node may stay silent before it counts as dead, in ms.
    fn expiry_ms(&self) -> i64 {
        i64::try_from(self.heartbeat_ms.saturating_mul(3) / 2).unwrap_or(i64::MAX)
    }

    async fn register(&self) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO link_nodes (node_id, link_urls, started_at, seen_at) \
             VALUES ($1, $2, imlogin_now_ms(), imlogin_now_ms()) \
             ON CONFLICT (node_id) DO UPDATE SET seen_at = EXCLUDED.seen_at",
        )
        .bind(&self.node_id)
        .bind(&self.link_urls)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Begins a transaction holding the session locks of `accids` until it
    /// ends: every change to an account's sessions runs in one.
    async fn begin_locked<'a>(
        &self,
        accids: impl IntoIterator<Item = &'a str>,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin_with(begin_and_lock(accids)).await
    }

    /// The live sessions (those of live nodes) of `accids`, oldest first.
    async fn live_sessions(
        &self,
        conn: &mut PgConnection,
        accids: &[&str],
    ) -> Result<Vec<(String, Held)>, sqlx::Error> {
        let rows = sqlx::query(concat!(
            live_sessions_where!("s.accid = ANY($1)"),
            " ORDER BY s.seq"
        ))
        .bind(accids)
        .bind(self.expiry_ms())
        .fetch_all(conn)
        .await?;
        rows.iter().map(held_from_row).collect()
    }

    /// A transaction holding the account's lock, and its live sessions.
    async fn locked_sessions(
        &self,
        accid: &str,
    ) -> Result<(Transaction<'static, Postgres>, Vec<Held>), sqlx::Error> {
        let mut tx = self.begin_locked([accid]).await?;
        let rows = self.live_sessions(&mut tx, &[accid]).await?;
        Ok((tx, rows.into_iter().map(|(_, h)| h).collect()))
    }

    /// Admits a login that passed the credential checks (the rules of
    /// [`policy::decide`] and [`policy::admit`]), in a batch with every
    /// admission waiting at that moment (see [`node::admission_loop`]): in
    /// one transaction holding the accounts' locks, each account is checked
    /// again (a token change or block since the checks →
    /// [`AdmitError::Stale`]), the policy decided over the sessions of every
    /// live node (and of the admissions before it in the batch), the ended
    /// sessions deleted and told, the new ones inserted.
    pub async fn admit(&self, a: Admission<'_>) -> Result<Admitted, AdmitError> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let client_id = format!("{}-{n}", self.node_id);
        // Known locally before the commit, so that no notice for it can
        // arrive before its socket is reachable.
        lock(&self.local).insert(client_id.clone(), (a.accid.to_owned(), a.tx.clone()));
        let (reply, answer) = oneshot::channel();
        let ask = Ask {
            accid: a.accid.to_owned(),
            token_hash: a.token_hash.to_owned(),
            ticket_hash: a.ticket_hash.map(str::to_owned),
            known_device: a.known_device,
            info: a.info(client_id.clone()),
            reply,
        };
        let result = match self.admissions.send(ask) {
            Ok(()) => answer.await.unwrap_or(Err(AdmitError::Unavailable)),
            Err(_) => Err(AdmitError::Unavailable),
        };
        if let Err(e) = result {
            lock(&self.local).remove(&client_id);
            if e == AdmitError::Unavailable {
                // A failed commit may still have happened: make sure the
                // row goes (a no-op if it never existed).
                lock(&self.pending_removals).push((a.accid.to_owned(), client_id));
            }
        }
        result
    }

    /// Decides and writes a batch of admissions in one transaction; the
    /// answers in the order asked (all [`AdmitError::Unavailable`] when the
    /// database fails).
    async fn admit_batch(&self, asks: &[Ask]) -> Vec<Result<Admitted, AdmitError>> {
        match self.try_admit_batch(asks).await {
            Ok(answers) => answers,
            Err(Unavailable) => vec![Err(AdmitError::Unavailable); asks.len()],
        }
    }

    async fn try_admit_batch(
        &self,
        asks: &[Ask],
    ) -> Result<Vec<Result<Admitted, AdmitError>>, Unavailable> {
        let failed = unavailable("admission");
        let mut accids: Vec<&str> = asks.iter().map(|a| a.accid.as_str()).collect();
        accids.sort_unstable();
        accids.dedup();
        let mut tx = self
            .begin_locked(accids.iter().copied())
            .await
            .map_err(&failed)?;
        // Each account as it is now, with its sessions (one row per
        // session, or one with NULL sessions).
        let rows = sqlx::query(concat!(
            "SELECT a.accid AS account, a.token_hash, a.blocked, s.* FROM accounts a LEFT JOIN (",
            live_sessions_where!("s.accid = ANY($1)"),
            ") s ON s.accid = a.accid WHERE a.accid = ANY($1) ORDER BY a.accid, s.seq"
        ))
        .bind(&accids)
        .bind(self.expiry_ms())
        .fetch_all(&mut *tx)
        .await
        .map_err(&failed)?;
        let mut accounts: HashMap<String, Account> = HashMap::new();
        for row in &rows {
            let accid: String = row.try_get("account").map_err(&failed)?;
            let account = match accounts.entry(accid) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(Account {
                    token_hash: row.try_get("token_hash").map_err(&failed)?,
                    blocked: row.try_get("blocked").map_err(&failed)?,
                    live: Vec::new(),
                }),
            };
            if row
                .try_get::<Option<String>, _>("client_id")
                .map_err(&failed)?
                .is_some()
            {
                account.live.push(held_from_row(row).map_err(&failed)?.1);
            }
        }

        // The resumes' tickets that still exist: one revoked since its
        // check (on any node) makes the resume stale, and its re-check
        // answers 419. The revocation deletes the ticket before it kicks
        // the device's sessions under the account's lock, so a resume
        // admitted just before the delete is kicked, and one admitted
        // after it is refused here.
        let resumed: Vec<&str> = asks
            .iter()
            .filter_map(|a| a.ticket_hash.as_deref())
            .collect();
        let live_tickets: std::collections::HashSet<String> = if resumed.is_empty() {
            std::collections::HashSet::new()
        } else {
            sqlx::query_scalar("SELECT ticket_hash FROM device_tickets WHERE ticket_hash = ANY($1)")
                .bind(&resumed)
                .fetch_all(&mut *tx)
                .await
                .map_err(&failed)?
                .into_iter()
                .collect()
        };

        let mut answers = Vec::with_capacity(asks.len());
        let mut outbox = Outbox::default();
        let mut ended = Vec::new();
        let mut new: Vec<(&str, &SessionInfo)> = Vec::new();
        for ask in asks {
            let account = accounts
                .get_mut(&ask.accid)
                .filter(|a| a.token_hash == ask.token_hash && !a.blocked);
            let ticket_gone = ask
                .ticket_hash
                .as_ref()
                .is_some_and(|t| !live_tickets.contains(t));
            let (Some(account), false) = (account, ticket_gone) else {
                answers.push(Err(AdmitError::Stale));
                continue;
            };
            let plan = match policy::decide(&account.live, &ask.request(), self.max_sessions) {
                Ok(plan) => plan,
                Err(e) => {
                    answers.push(Err(e));
                    continue;
                }
            };
            let held = Held {
                node_id: self.node_id.clone(),
                info: ask.info.clone(),
            };
            let live = std::mem::take(&mut account.live);
            let admit = policy::admit(live, held, &plan, ask.info.client_type);
            for id in admit.change.ended() {
                // Admitted earlier in this batch: never inserted, only told.
                match new.iter().position(|(_, info)| info.client_id == id) {
                    Some(i) => {
                        new.remove(i);
                    }
                    None => ended.push(id),
                }
            }
            account.live = outbox.change(&ask.accid, admit.change);
            new.push((&ask.accid, &ask.info));
            answers.push(Ok(Admitted {
                client_id: ask.info.client_id.clone(),
                others: admit.others,
                kicked_devices: admit.kicked_devices,
            }));
        }
        let (channels, payloads) = outbox.unzip();
        sqlx::query(
            "WITH gone AS (DELETE FROM link_sessions WHERE client_id = ANY($1)), \
             new AS (INSERT INTO link_sessions \
               (client_id, accid, node_id, client_type, device_id, custom_tag, mode, forced, login_at) \
               SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                 $7::text[], $8::text[], $9::bool[], $10::bigint[])) \
             SELECT pg_notify(c, p) FROM unnest($11::text[], $12::text[]) AS t(c, p)",
        )
        .bind(&ended)
        .bind(new.iter().map(|(_, i)| i.client_id.as_str()).collect::<Vec<_>>())
        .bind(new.iter().map(|(a, _)| *a).collect::<Vec<_>>())
        .bind(vec![self.node_id.as_str(); new.len()])
        .bind(new.iter().map(|(_, i)| i.client_type.as_str()).collect::<Vec<_>>())
        .bind(new.iter().map(|(_, i)| i.device_id.as_str()).collect::<Vec<_>>())
        .bind(new.iter().map(|(_, i)| i.custom_tag.as_deref()).collect::<Vec<_>>())
        .bind(new.iter().map(|(_, i)| i.mode.as_str()).collect::<Vec<_>>())
        .bind(new.iter().map(|(_, i)| i.force).collect::<Vec<_>>())
        .bind(
            new.iter()
                .map(|(_, i)| i64::try_from(i.login_at).unwrap_or(i64::MAX))
                .collect::<Vec<_>>(),
        )
        .bind(channels)
        .bind(payloads)
        .execute(&mut *tx)
        .await
        .map_err(&failed)?;
        tx.commit().await.map_err(&failed)?;
        Ok(answers)
    }

    /// A session of this node ended (logout, disconnect): it leaves the
    /// directory in the background, in a batch with the others that ended
    /// meanwhile, and the accounts' other sessions are told; a database
    /// failure is retried on every beat.
    pub fn remove(&self, accid: &str, client_id: &str) {
        if lock(&self.local).remove(client_id).is_none() {
            // Kicked (its row is gone already) or never admitted.
            return;
        }
        if self
            .removals
            .send((accid.to_owned(), client_id.to_owned()))
            .is_err()
        {
            // The node is leaving: `leave` deletes what it still holds.
        }
    }

    /// Deletes these sessions of this node and tells their accounts' other
    /// sessions, in one transaction.
    async fn delete_sessions(&self, ended: &[(String, String)]) -> Result<(), Unavailable> {
        let failed = unavailable("removal");
        let accids: Vec<&str> = ended.iter().map(|(a, _)| a.as_str()).collect();
        let ids: Vec<&str> = ended.iter().map(|(_, c)| c.as_str()).collect();
        let mut tx = self
            .begin_locked(accids.iter().copied())
            .await
            .map_err(&failed)?;
        // The statement's snapshot still shows the deleted rows: they are
        // left out by id.
        let rows = sqlx::query(concat!(
            "WITH gone AS (DELETE FROM link_sessions WHERE node_id = $3 AND client_id = ANY($4)) ",
            live_sessions_where!("s.accid = ANY($1) AND NOT s.client_id = ANY($4)"),
            " ORDER BY s.seq"
        ))
        .bind(&accids)
        .bind(self.expiry_ms())
        .bind(&self.node_id)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(&failed)?;
        let mut by_account: HashMap<String, Vec<Held>> = HashMap::new();
        for row in &rows {
            let (accid, held) = held_from_row(row).map_err(&failed)?;
            by_account.entry(accid).or_default().push(held);
        }
        let mut outbox = Outbox::default();
        for (accid, live) in by_account {
            outbox.change(&accid, policy::left(live));
        }
        outbox.send(&mut tx).await.map_err(&failed)?;
        tx.commit().await.map_err(&failed)?;
        Ok(())
    }

    /// Sends every live session of `accids` its account's current list (the
    /// accounts lost sessions without a transaction of their own: a dead
    /// node swept, this node leaving or fencing).
    async fn tell_accounts(&self, accids: &[String]) {
        if accids.is_empty() {
            return;
        }
        let told: Result<(), sqlx::Error> = async {
            let accids: Vec<&str> = accids.iter().map(String::as_str).collect();
            let mut tx = self.begin_locked(accids.iter().copied()).await?;
            let mut by_account: HashMap<String, Vec<Held>> = HashMap::new();
            for (accid, held) in self.live_sessions(&mut tx, &accids).await? {
                by_account.entry(accid).or_default().push(held);
            }
            let mut outbox = Outbox::default();
            for (accid, live) in by_account {
                outbox.change(&accid, policy::left(live));
            }
            outbox.send(&mut tx).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = told {
            tracing::warn!(error = %e, "cannot tell accounts their sessions changed");
        }
    }

    /// `kick{clientId}` from `caller` (see [`policy::kick_by_client`]), on
    /// whichever node the target lives. `Ok(None)` → 404.
    pub async fn kick_by_client(
        &self,
        accid: &str,
        caller: &str,
        target: &str,
    ) -> Result<Option<(ClientType, String)>, Unavailable> {
        let failed = unavailable("kick");
        let (mut tx, live) = self.locked_sessions(accid).await.map_err(&failed)?;
        let Ok(change) = policy::kick_by_client(live, caller, target) else {
            return Ok(None);
        };
        let device = change
            .kicked
            .first()
            .map(|(h, _)| (h.info.client_type, h.info.device_id.clone()));
        self.apply(&mut tx, accid, change).await.map_err(&failed)?;
        tx.commit().await.map_err(&failed)?;
        Ok(device)
    }

    /// Ends every session of the account, on every node, with
    /// `kicked{reason}`; returns how many.
    pub async fn kick_account(
        &self,
        accid: &str,
        reason: KickReason,
    ) -> Result<usize, Unavailable> {
        let failed = unavailable("account kick");
        let (mut tx, live) = self.locked_sessions(accid).await.map_err(&failed)?;
        let n = live.len();
        self.apply(&mut tx, accid, policy::kick_all(live, reason))
            .await
            .map_err(&failed)?;
        tx.commit().await.map_err(&failed)?;
        Ok(n)
    }

    /// Ends the account's sessions on the devices `ends` picks, on every
    /// node, with `kicked{reason}`; the others are told. Returns the ended
    /// sessions' devices.
    pub async fn kick_devices(
        &self,
        accid: &str,
        ends: &(dyn Fn(&SessionInfo) -> bool + Sync),
        reason: KickReason,
    ) -> Result<Vec<(ClientType, String)>, Unavailable> {
        let failed = unavailable("device kick");
        let (mut tx, live) = self.locked_sessions(accid).await.map_err(&failed)?;
        let change = policy::kick_devices(live, ends, reason);
        let devices = change.kicked_devices();
        self.apply(&mut tx, accid, change).await.map_err(&failed)?;
        tx.commit().await.map_err(&failed)?;
        Ok(devices)
    }

    /// Deletes the sessions `change` ended and queues its notices, in one
    /// statement.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        accid: &str,
        change: Change<Held>,
    ) -> Result<(), sqlx::Error> {
        let ended = change.ended();
        let mut outbox = Outbox::default();
        outbox.change(accid, change);
        let (channels, payloads) = outbox.unzip();
        sqlx::query(
            "WITH gone AS (DELETE FROM link_sessions WHERE client_id = ANY($1)) \
             SELECT pg_notify(c, p) FROM unnest($2::text[], $3::text[]) AS t(c, p)",
        )
        .bind(&ended)
        .bind(channels)
        .bind(payloads)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// The live sessions of one account (or of all), oldest first, on
    /// every live node.
    pub async fn snapshot(
        &self,
        accid: Option<&str>,
    ) -> Result<Vec<(String, SessionInfo)>, Unavailable> {
        let failed = unavailable("session list");
        let rows = sqlx::query(concat!(
            live_sessions_where!("($1::text IS NULL OR s.accid = $1)"),
            " ORDER BY s.seq"
        ))
        .bind(accid)
        .bind(self.expiry_ms())
        .fetch_all(&self.pool)
        .await
        .map_err(&failed)?;
        rows.iter()
            .map(|row| held_from_row(row).map(|(a, h)| (a, h.info)))
            .collect::<Result<_, _>>()
            .map_err(failed)
    }

    /// The link URLs of every live node, rotated by one on every call so
    /// that new clients spread across the nodes.
    pub async fn live_links(&self) -> Result<Vec<String>, Unavailable> {
        let rows = sqlx::query(
            "SELECT link_urls FROM link_nodes WHERE seen_at >= imlogin_now_ms() - $1 \
             ORDER BY started_at, node_id",
        )
        .bind(self.expiry_ms())
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable("node list"))?;
        let mut links = Vec::new();
        for row in &rows {
            let urls: Vec<String> = row.try_get("link_urls").map_err(unavailable("node list"))?;
            links.extend(urls);
        }
        if !links.is_empty() {
            let by = self.rotation.fetch_add(1, Ordering::Relaxed) % links.len();
            links.rotate_left(by);
        }
        Ok(links)
    }

    /// Takes this node's link URLs out of `link_nodes`, so that no
    /// node's `/lbs` announces it any more, and counts the other live
    /// nodes that announce links (0 when the database cannot be read).
    pub async fn drain(&self) -> usize {
        let drained = sqlx::query("UPDATE link_nodes SET link_urls = '{}' WHERE node_id = $1")
            .bind(&self.node_id)
            .execute(&self.pool)
            .await;
        if let Err(e) = drained {
            tracing::error!(error = %e, "cannot leave the /lbs list: it keeps this node until it leaves");
        }
        let others: Result<i64, sqlx::Error> = sqlx::query_scalar(
            "SELECT count(*) FROM link_nodes WHERE node_id <> $1 \
             AND seen_at >= imlogin_now_ms() - $2 AND cardinality(link_urls) > 0",
        )
        .bind(&self.node_id)
        .bind(self.expiry_ms())
        .fetch_one(&self.pool)
        .await;
        match others {
            Ok(n) => usize::try_from(n).unwrap_or(0),
            Err(e) => {
                tracing::error!(error = %e, "cannot count the other live nodes");
                0
            }
        }
    }

    /// The number of sessions whose sockets this node holds.
    pub fn live_here(&self) -> usize {
        lock(&self.local).len()
    }

    /// Leaves the cluster on shutdown: stops the background tasks and
    /// deletes this node and whatever sessions it still holds, telling
    /// their accounts' other sessions.
    pub async fn leave(&self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        let accids: Result<Vec<String>, sqlx::Error> =
            sqlx::query_scalar("DELETE FROM link_sessions WHERE node_id = $1 RETURNING accid")
                .bind(&self.node_id)
                .fetch_all(&self.pool)
                .await;
        let deleted = sqlx::query("DELETE FROM link_nodes WHERE node_id = $1")
            .bind(&self.node_id)
            .execute(&self.pool)
            .await;
        match (accids, deleted) {
            (Ok(accids), Ok(_)) => {
                self.tell_accounts(&distinct(accids)).await;
                tracing::info!(node_id = %self.node_id, "left the cluster");
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot leave the cluster: the other nodes will expire this one");
            }
        }
    }

    /// Delivers one notice to the socket it names, if this node holds it,
    /// or drops an account another node changed from the cache.
    fn deliver(self: &Arc<Self>, channel: &str, payload: &str) {
        if channel == crate::backend::store::ACCOUNT_CHANGES {
            self.cache.invalidate(payload);
            return;
        }
        let Some(notice) = Notice::decode(payload) else {
            tracing::warn!("unreadable cluster notice ignored");
            return;
        };
        match notice {
            Notice::Send { to, frame } => {
                if let Some((_, tx)) = lock(&self.local).get(&to) {
                    let _ = tx.send(Control::Send(frame));
                }
            }
            Notice::Kicked { to, frame } => {
                if let Some((_, tx)) = lock(&self.local).remove(&to) {
                    let _ = tx.send(Control::Kicked(frame));
                }
            }
            Notice::Refresh { to, accid, change } => {
                let cluster = Arc::clone(self);
                tokio::spawn(async move { cluster.refresh(&to, &accid, change).await });
            }
        }
    }

    async fn refresh(&self, to: &str, accid: &str, change: ClientsChange) {
        let Ok(list) = self.snapshot(Some(accid)).await else {
            return;
        };
        let clients = list
            .iter()
            .filter(|(_, s)| s.client_id != to)
            .map(|(_, s)| s.as_client())
            .collect();
        if let Some((_, tx)) = lock(&self.local).get(to) {
            let _ = tx.send(Control::Send(ServerFrame::Clients { change, clients }));
        }
    }

    /// Closes every socket this node holds with 1012 (service restart), so
    /// that their clients log in again, and deletes their rows: used when
    /// this node may have missed notices (its listening connection
    /// dropped) or was declared dead by the others (its rows are gone).
    /// The accounts cache may have missed changes too: it starts over.
    async fn fence(&self, why: &str) {
        self.cache.clear();
        let held: Vec<(String, (String, ControlTx))> = lock(&self.local).drain().collect();
        tracing::warn!(
            sessions = held.len(),
            "{why}: closing this node's sessions so that they log in again"
        );
        let mut ended = Vec::with_capacity(held.len());
        for (id, (accid, tx)) in held {
            let _ = tx.send(Control::Close(imlogin_protocol::close::SERVICE_RESTART));
            ended.push((accid, id));
        }
        for batch in ended.chunks(MAX_REMOVALS) {
            if self.delete_sessions(batch).await.is_err() {
                tracing::error!("cannot delete fenced sessions; retried on the next beat");
                lock(&self.pending_removals).extend(batch.iter().cloned());
            }
        }
    }
}

/// `accids` once each.
fn distinct(mut accids: Vec<String>) -> Vec<String> {
    accids.sort_unstable();
    accids.dedup();
    accids
}
