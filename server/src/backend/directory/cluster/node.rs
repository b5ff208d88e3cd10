//! A node's background loops: delivering the notices on its channel to its
//! sockets (and the account changes to its cache), removing the sessions
//! that ended in batches, and the heartbeat that keeps it alive in
//! `link_nodes`, retries failed removals and sweeps out the sessions of
//! dead nodes.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::Row;
use tokio::sync::mpsc;

use super::{channel_of, distinct, lock, Ask, Cluster, MAX_ADMISSIONS, MAX_REMOVALS};
use crate::backend::store::ACCOUNT_CHANGES;
use crate::backend::StoreError;

/// Opens the node's listening connection on its own channel and on the
/// account changes.
pub(super) async fn listen(cluster: &Cluster) -> Result<PgListener, StoreError> {
    let mut listener = PgListener::connect_with(&cluster.pool).await?;
    listener
        .listen_all([channel_of(&cluster.node_id).as_str(), ACCOUNT_CHANGES])
        .await?;
    Ok(listener)
}

/// Delivers notices until the task is aborted. A lost connection (the
/// listener reconnects and listens again by itself) may have lost notices:
/// this node's sessions are closed so that they log in again and get a
/// consistent picture.
pub(super) async fn deliver_loop(cluster: Arc<Cluster>, mut listener: PgListener) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                crate::metrics::metrics().notice_received();
                cluster.deliver(notification.channel(), notification.payload())
            }
            Ok(None) => cluster.fence("the LISTEN connection was lost").await,
            Err(e) => {
                tracing::error!(error = %e, "cluster notices: cannot receive");
                cluster.fence("the LISTEN connection failed").await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Every half heartbeat: refreshes this node's `seen_at` (re-registering,
/// and closing its sessions, if the others declared it dead), retries
/// failed removals, and sweeps dead nodes.
pub(super) async fn beat_loop(cluster: Arc<Cluster>) {
    let period = Duration::from_millis((cluster.heartbeat_ms / 2).max(50));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        beat(&cluster).await;
        retry_removals(&cluster).await;
        sweep(&cluster).await;
    }
}

async fn beat(cluster: &Cluster) {
    let refreshed =
        sqlx::query("UPDATE link_nodes SET seen_at = imlogin_now_ms() WHERE node_id = $1")
            .bind(&cluster.node_id)
            .execute(&cluster.pool)
            .await;
    match refreshed {
        Ok(done) if done.rows_affected() > 0 => {}
        Ok(_) => {
            // Swept as dead (a stall longer than 1.5 heartbeats): its rows
            // are gone, so its sockets must log in again.
            if let Err(e) = cluster.register().await {
                tracing::error!(error = %e, "cannot re-register this node");
            }
            cluster
                .fence("this node was declared dead by the cluster")
                .await;
        }
        Err(e) => tracing::error!(error = %e, "cluster heartbeat failed"),
    }
}

async fn retry_removals(cluster: &Cluster) {
    let pending: Vec<(String, String)> = lock(&cluster.pending_removals).drain(..).collect();
    for batch in pending.chunks(MAX_REMOVALS) {
        if cluster.delete_sessions(batch).await.is_err() {
            lock(&cluster.pending_removals).extend(batch.iter().cloned());
        }
    }
}

/// Deletes the sessions that ended (see [`Cluster::remove`]): all that
/// wait at that moment in one transaction; a failed batch is retried on
/// the next beat.
pub(super) async fn removal_loop(
    cluster: Arc<Cluster>,
    mut ended: mpsc::UnboundedReceiver<(String, String)>,
) {
    let mut batch = Vec::with_capacity(MAX_REMOVALS);
    while ended.recv_many(&mut batch, MAX_REMOVALS).await > 0 {
        if cluster.delete_sessions(&batch).await.is_err() {
            lock(&cluster.pending_removals).extend(batch.iter().cloned());
        }
        batch.clear();
    }
}

async fn sweep(cluster: &Cluster) {
    let swept: Result<Vec<String>, sqlx::Error> = sqlx::query_scalar(
        "DELETE FROM link_sessions s USING link_nodes n \
         WHERE s.node_id = n.node_id AND n.seen_at < imlogin_now_ms() - $1 RETURNING s.accid",
    )
    .bind(cluster.expiry_ms())
    .fetch_all(&cluster.pool)
    .await;
    let accids = match swept {
        Ok(accids) => accids,
        Err(e) => {
            tracing::warn!(error = %e, "cluster sweep failed");
            return;
        }
    };
    let dead = sqlx::query(
        "DELETE FROM link_nodes WHERE seen_at < imlogin_now_ms() - $1 RETURNING node_id",
    )
    .bind(cluster.expiry_ms())
    .fetch_all(&cluster.pool)
    .await;
    if let Ok(nodes) = &dead {
        for node in nodes {
            let id: String = node.try_get("node_id").unwrap_or_default();
            tracing::warn!(node_id = %id, "swept a dead link node");
        }
    }
    if !accids.is_empty() {
        tracing::info!(sessions = accids.len(), "swept sessions of dead nodes");
        cluster.tell_accounts(&distinct(accids)).await;
    }
}

/// Admits the logins that wait (see [`Cluster::admit`]): all that wait at
/// that moment in one transaction, and the next batch while the clients of
/// this one are answered.
pub(super) async fn admission_loop(cluster: Arc<Cluster>, mut asked: mpsc::UnboundedReceiver<Ask>) {
    let mut batch = Vec::with_capacity(MAX_ADMISSIONS);
    while asked.recv_many(&mut batch, MAX_ADMISSIONS).await > 0 {
        let answers = cluster.admit_batch(&batch).await;
        for (ask, answer) in batch.drain(..).zip(answers) {
            // A login that went away (its socket closed) needs no answer;
            // its session leaves when its task ends.
            let _ = ask.reply.send(answer);
        }
    }
}
