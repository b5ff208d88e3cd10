//! The live-session directory of several link nodes sharing one
//! PostgreSQL database (docs/deploy.md).
//!
//! Every logged-in session is a row of `link_sessions` naming the node that
//! holds its socket. A change to an account's sessions (admission, logout,
//! kick, block, token change) is one transaction holding the account's
//! advisory lock, so the session policy and the device rule see and change
//! one consistent picture whichever node a login reaches. What the holding
//! nodes must tell their sockets (`kicked`, `clients`) is sent with
//! `NOTIFY` on each node's own channel inside that transaction: PostgreSQL
//! delivers it on commit, in commit order, so every session receives its
//! frames in the order the changes happened (even the ones for sessions on
//! the deciding node go through PostgreSQL, for that order).
//!
//! Liveness: each node refreshes its `link_nodes.seen_at` every half
//! heartbeat; a node silent for 1.5 heartbeats is dead, its sessions drop
//! out of every list and policy decision at once, and the next sweep (any
//! node, every half heartbeat) deletes them and tells the account's other
//! sessions: a crashed node's sessions are gone within 2 heartbeats.

mod node;
pub mod notice;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use imlogin_protocol::{ClientType, ClientsChange, KickReason, LoginMode, ServerFrame};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};
use tokio::task::JoinHandle;

use self::notice::{Notice, MAX_PAYLOAD};
use super::policy::decide;
use super::registry::{Admission, AdmitError, Admitted, Control, ControlTx, SessionInfo};
use crate::store::StoreError;

/// A database failure while changing or reading the directory; logged
/// where it happens, answered as a retryable 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

/// One live session as the directory holds it.
#[derive(Debug, Clone)]
struct Held {
    node_id: String,
    info: SessionInfo,
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
    /// Removals that failed on the database, retried every beat.
    pending_removals: Mutex<Vec<(String, String)>>,
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

/// Notices queued inside a transaction: (channel, payload).
#[derive(Debug, Default)]
struct Outbox(Vec<(String, String)>);

impl Outbox {
    fn push(&mut self, node_id: &str, notice: &Notice) {
        self.0.push((channel_of(node_id), notice.encode()));
    }

    fn kicked(&mut self, held: &Held, reason: KickReason, client_type: Option<ClientType>) {
        let frame = ServerFrame::Kicked {
            reason,
            client_type,
        };
        let to = held.info.client_id.clone();
        self.push(&held.node_id, &Notice::Kicked { to, frame });
    }

    /// Each of `live` (but `skip`) gets the others after `change`.
    fn clients(&mut self, accid: &str, live: &[Held], change: ClientsChange, skip: Option<&str>) {
        for h in live {
            let to = h.info.client_id.clone();
            if skip == Some(to.as_str()) {
                continue;
            }
            let clients = live
                .iter()
                .filter(|o| o.info.client_id != to)
                .map(|o| o.info.as_client())
                .collect();
            let frame = ServerFrame::Clients { change, clients };
            let payload = Notice::Send {
                to: to.clone(),
                frame,
            }
            .encode();
            if payload.len() <= MAX_PAYLOAD {
                self.0.push((channel_of(&h.node_id), payload));
            } else {
                let accid = accid.to_owned();
                self.push(&h.node_id, &Notice::Refresh { to, accid, change });
            }
        }
    }

    /// Queues the notices on the transaction: delivered on commit.
    async fn send(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.0.is_empty() {
            return Ok(());
        }
        let (channels, payloads): (Vec<String>, Vec<String>) = self.0.into_iter().unzip();
        sqlx::query("SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS t(c, p)")
            .bind(channels)
            .bind(payloads)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// The accids of rows deleted `RETURNING accid`, once each.
fn accids_of(rows: &[PgRow]) -> HashSet<String> {
    rows.iter()
        .filter_map(|r| r.try_get("accid").ok())
        .collect()
}

impl Cluster {
    /// Registers this node (a fresh random id) with its public link URLs,
    /// starts listening on its channel, and starts the heartbeat and the
    /// sweep of dead nodes, every half of `heartbeat_ms`.
    ///
    /// # Errors
    /// The database cannot be reached or the node not registered.
    pub async fn join(
        pool: PgPool,
        link_urls: Vec<String>,
        heartbeat_ms: u64,
        max_sessions: usize,
    ) -> Result<Arc<Cluster>, StoreError> {
        let node_id = crate::secret::random_hex(8)
            .map_err(|e| StoreError(format!("no randomness for the node id: {e}").into()))?;
        let cluster = Arc::new(Cluster {
            pool,
            node_id,
            link_urls,
            heartbeat_ms: heartbeat_ms.max(100),
            max_sessions: max_sessions.max(1),
            next_id: AtomicU64::new(0),
            local: Mutex::new(HashMap::new()),
            pending_removals: Mutex::new(Vec::new()),
            rotation: AtomicUsize::new(0),
            tasks: Mutex::new(Vec::new()),
        });
        let listener = node::listen(&cluster).await?;
        cluster.register().await?;
        let tasks = vec![
            tokio::spawn(node::deliver_loop(Arc::clone(&cluster), listener)),
            tokio::spawn(node::beat_loop(Arc::clone(&cluster))),
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

    /// Begins a transaction holding the account's advisory lock until it
    /// ends: every change to an account's sessions runs in one.
    async fn begin_locked(
        &self,
        accid: &str,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 20260917))")
            .bind(accid)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// Queues for each live session of the account its list of the others
    /// after `change` (sessions vanished: a logout, a disconnect, a dead
    /// node).
    async fn tell_list(&self, conn: &mut PgConnection, accid: &str) -> Result<(), sqlx::Error> {
        let live = self.account_sessions(&mut *conn, accid).await?;
        let mut outbox = Outbox::default();
        outbox.clients(accid, &live, ClientsChange::Logout, None);
        outbox.send(conn).await
    }

    /// The account's live sessions (those of live nodes), oldest first.
    async fn live_sessions(
        &self,
        conn: &mut PgConnection,
        accid: Option<&str>,
    ) -> Result<Vec<(String, Held)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT s.accid, s.client_id, s.node_id, s.client_type, s.device_id, \
                    s.custom_tag, s.mode, s.forced, s.login_at \
             FROM link_sessions s JOIN link_nodes n ON n.node_id = s.node_id \
             WHERE ($1::text IS NULL OR s.accid = $1) AND n.seen_at >= imlogin_now_ms() - $2 \
             ORDER BY s.seq",
        )
        .bind(accid)
        .bind(self.expiry_ms())
        .fetch_all(conn)
        .await?;
        rows.iter().map(held_from_row).collect()
    }

    async fn account_sessions(
        &self,
        conn: &mut PgConnection,
        accid: &str,
    ) -> Result<Vec<Held>, sqlx::Error> {
        let rows = self.live_sessions(conn, Some(accid)).await?;
        Ok(rows.into_iter().map(|(_, h)| h).collect())
    }

    /// Admits a login that passed the credential checks (see
    /// [`super::registry::Registry::admit`] for the rules): in one
    /// transaction holding the account's lock, the account is re-read (a
    /// token change or block since the checks → [`AdmitError::Stale`]), the
    /// policy decided over the sessions of every live node, the ended
    /// sessions deleted and told, the new one inserted.
    pub async fn admit(&self, a: Admission<'_>) -> Result<Admitted, AdmitError> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let client_id = format!("{}-{n}", self.node_id);
        // Known locally before the commit, so that no notice for it can
        // arrive before its socket is reachable.
        lock(&self.local).insert(client_id.clone(), (a.accid.to_owned(), a.tx.clone()));
        let result = self.try_admit(&a, &client_id).await;
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

    async fn try_admit(&self, a: &Admission<'_>, client_id: &str) -> Result<Admitted, AdmitError> {
        let failed = unavailable("admission");
        let mut tx = self.begin_locked(a.accid).await.map_err(&failed)?;
        let conn = &mut *tx;
        let account =
            sqlx::query("SELECT token_hash, blocked FROM accounts WHERE accid = $1 FOR SHARE")
                .bind(a.accid)
                .fetch_optional(&mut *conn)
                .await
                .map_err(&failed)?;
        let current = match account {
            Some(row) => {
                let hash: String = row.try_get("token_hash").map_err(&failed)?;
                let blocked: bool = row.try_get("blocked").map_err(&failed)?;
                hash == a.token_hash && !blocked
            }
            None => false,
        };
        if !current {
            return Err(AdmitError::Stale);
        }
        let live = self
            .account_sessions(conn, a.accid)
            .await
            .map_err(&failed)?;
        let infos: Vec<SessionInfo> = live.iter().map(|h| h.info.clone()).collect();
        let plan = decide(&infos, &a.request(), self.max_sessions)?;

        let mut outbox = Outbox::default();
        let mut ended = Vec::new();
        let mut kicked_devices = Vec::new();
        let mut remaining = Vec::new();
        for h in live {
            let id = &h.info.client_id;
            let reason = if plan.same_device.contains(id) {
                KickReason::SameDevice
            } else if plan.exclusive.contains(id) {
                kicked_devices.push((h.info.client_type, h.info.device_id.clone()));
                KickReason::Exclusive
            } else {
                remaining.push(h);
                continue;
            };
            outbox.kicked(&h, reason, Some(a.client_type));
            ended.push(h.info.client_id);
        }
        if !ended.is_empty() {
            sqlx::query("DELETE FROM link_sessions WHERE client_id = ANY($1)")
                .bind(&ended)
                .execute(&mut *conn)
                .await
                .map_err(&failed)?;
        }
        let info = SessionInfo {
            client_id: client_id.to_owned(),
            client_type: a.client_type,
            device_id: a.device_id.to_owned(),
            custom_tag: a.custom_tag.map(str::to_owned),
            login_at: a.now_ms,
            mode: a.mode,
            force: a.force,
        };
        sqlx::query(
            "INSERT INTO link_sessions \
               (client_id, accid, node_id, client_type, device_id, custom_tag, mode, forced, login_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(client_id)
        .bind(a.accid)
        .bind(&self.node_id)
        .bind(a.client_type.as_str())
        .bind(a.device_id)
        .bind(a.custom_tag)
        .bind(a.mode.as_str())
        .bind(a.force)
        .bind(i64::try_from(a.now_ms).unwrap_or(i64::MAX))
        .execute(&mut *conn)
        .await
        .map_err(&failed)?;
        let others = remaining.iter().map(|h| h.info.as_client()).collect();
        remaining.push(Held {
            node_id: self.node_id.clone(),
            info,
        });
        outbox.clients(a.accid, &remaining, ClientsChange::Login, Some(client_id));
        outbox.send(conn).await.map_err(&failed)?;
        tx.commit().await.map_err(&failed)?;
        Ok(Admitted {
            client_id: client_id.to_owned(),
            others,
            kicked_devices,
        })
    }

    /// A session of this node ended (logout, disconnect): it leaves the
    /// directory in the background and the account's other sessions are
    /// told; a database failure is retried on every beat.
    pub fn remove(self: &Arc<Self>, accid: &str, client_id: &str) {
        if lock(&self.local).remove(client_id).is_none() {
            // Kicked (its row is gone already) or never admitted.
            return;
        }
        let (cluster, accid, client_id) =
            (Arc::clone(self), accid.to_owned(), client_id.to_owned());
        tokio::spawn(async move {
            if cluster.delete_session(&accid, &client_id).await.is_err() {
                lock(&cluster.pending_removals).push((accid, client_id));
            }
        });
    }

    async fn delete_session(&self, accid: &str, client_id: &str) -> Result<bool, Unavailable> {
        let failed = unavailable("removal");
        let mut tx = self.begin_locked(accid).await.map_err(&failed)?;
        let conn = &mut *tx;
        let deleted =
            sqlx::query("DELETE FROM link_sessions WHERE client_id = $1 AND node_id = $2")
                .bind(client_id)
                .bind(&self.node_id)
                .execute(&mut *conn)
                .await
                .map_err(&failed)?
                .rows_affected()
                > 0;
        if deleted {
            self.tell_list(conn, accid).await.map_err(&failed)?;
        }
        tx.commit().await.map_err(&failed)?;
        Ok(deleted)
    }

    /// `kick{clientId}` from `caller` (see
    /// [`super::registry::Registry::kick_by_client`]), on whichever node
    /// the target lives. `Ok(None)` → 404.
    pub async fn kick_by_client(
        &self,
        accid: &str,
        caller: &str,
        target: &str,
    ) -> Result<Option<(ClientType, String)>, Unavailable> {
        if caller == target {
            return Ok(None);
        }
        let failed = unavailable("kick");
        let mut tx = self.begin_locked(accid).await.map_err(&failed)?;
        let conn = &mut *tx;
        let mut live = self.account_sessions(conn, accid).await.map_err(&failed)?;
        let Some(caller_type) = live
            .iter()
            .find(|h| h.info.client_id == caller)
            .map(|h| h.info.client_type)
        else {
            return Ok(None);
        };
        let Some(pos) = live.iter().position(|h| h.info.client_id == target) else {
            return Ok(None);
        };
        let gone = live.remove(pos);
        sqlx::query("DELETE FROM link_sessions WHERE client_id = $1")
            .bind(target)
            .execute(&mut *conn)
            .await
            .map_err(&failed)?;
        let mut outbox = Outbox::default();
        outbox.kicked(&gone, KickReason::ByClient, Some(caller_type));
        outbox.clients(accid, &live, ClientsChange::Logout, None);
        outbox.send(conn).await.map_err(&failed)?;
        tx.commit().await.map_err(&failed)?;
        Ok(Some((gone.info.client_type, gone.info.device_id)))
    }

    /// Ends every session of the account, on every node, with
    /// `kicked{reason}`; returns how many.
    pub async fn kick_account(
        &self,
        accid: &str,
        reason: KickReason,
    ) -> Result<usize, Unavailable> {
        let failed = unavailable("account kick");
        let mut tx = self.begin_locked(accid).await.map_err(&failed)?;
        let conn = &mut *tx;
        let live = self.account_sessions(conn, accid).await.map_err(&failed)?;
        sqlx::query("DELETE FROM link_sessions WHERE accid = $1")
            .bind(accid)
            .execute(&mut *conn)
            .await
            .map_err(&failed)?;
        let mut outbox = Outbox::default();
        for h in &live {
            outbox.kicked(h, reason, None);
        }
        outbox.send(conn).await.map_err(&failed)?;
        tx.commit().await.map_err(&failed)?;
        Ok(live.len())
    }

    /// The live sessions of one account (or of all), oldest first, on
    /// every live node.
    pub async fn snapshot(
        &self,
        accid: Option<&str>,
    ) -> Result<Vec<(String, SessionInfo)>, Unavailable> {
        let failed = unavailable("session list");
        let mut conn = self.pool.acquire().await.map_err(&failed)?;
        let rows = self
            .live_sessions(&mut conn, accid)
            .await
            .map_err(&failed)?;
        Ok(rows.into_iter().map(|(a, h)| (a, h.info)).collect())
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
        let accids = sqlx::query("DELETE FROM link_sessions WHERE node_id = $1 RETURNING accid")
            .bind(&self.node_id)
            .fetch_all(&self.pool)
            .await;
        let deleted = sqlx::query("DELETE FROM link_nodes WHERE node_id = $1")
            .bind(&self.node_id)
            .execute(&self.pool)
            .await;
        match (accids, deleted) {
            (Ok(rows), Ok(_)) => {
                self.tell_accounts_of(&rows).await;
                tracing::info!(node_id = %self.node_id, "left the cluster");
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot leave the cluster: the other nodes will expire this one");
            }
        }
    }

    /// Sends every live session of the accounts of `deleted` (rows deleted
    /// `RETURNING accid`, without a transaction of their own) its
    /// account's current list.
    async fn tell_accounts_of(&self, deleted: &[PgRow]) {
        for accid in accids_of(deleted) {
            let told: Result<(), sqlx::Error> = async {
                let mut tx = self.begin_locked(&accid).await?;
                self.tell_list(&mut tx, &accid).await?;
                tx.commit().await
            }
            .await;
            if let Err(e) = told {
                tracing::warn!(error = %e, "cannot tell an account its sessions changed");
            }
        }
    }

    /// Delivers one notice to the socket it names, if this node holds it.
    fn deliver(self: &Arc<Self>, payload: &str) {
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
    async fn fence(&self, why: &str) {
        let held: Vec<(String, (String, ControlTx))> = lock(&self.local).drain().collect();
        tracing::warn!(
            sessions = held.len(),
            "{why}: closing this node's sessions so that they log in again"
        );
        let mut ids = Vec::with_capacity(held.len());
        let mut accids = Vec::with_capacity(held.len());
        for (id, (accid, tx)) in held {
            let _ = tx.send(Control::Close(imlogin_protocol::close::SERVICE_RESTART));
            ids.push(id);
            accids.push(accid);
        }
        let deleted = sqlx::query(
            "DELETE FROM link_sessions WHERE node_id = $1 AND client_id = ANY($2) RETURNING accid",
        )
        .bind(&self.node_id)
        .bind(&ids)
        .fetch_all(&self.pool)
        .await;
        match deleted {
            Ok(rows) => self.tell_accounts_of(&rows).await,
            Err(e) => {
                tracing::error!(error = %e, "cannot delete fenced sessions; retried on the next beat");
                let mut pending = lock(&self.pending_removals);
                pending.extend(accids.into_iter().zip(ids));
            }
        }
    }
}

impl From<Unavailable> for AdmitError {
    fn from(_: Unavailable) -> Self {
        AdmitError::Unavailable
    }
}
