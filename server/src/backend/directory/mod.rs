//! Where the live sessions are kept: in this process ([`Registry`], one
//! node with SQLite) or in PostgreSQL shared by several nodes
//! ([`Cluster`]). The handlers call this and never ask which. The
//! cluster's futures are boxed: their database state would otherwise be
//! inlined into every link socket's task, idle or not (the memory per held
//! session doubled before they were).

pub mod cluster;
pub mod local;

use std::sync::Arc;

use imlogin_protocol::{ClientType, KickReason};

pub use self::cluster::Cluster;
pub use self::local::Registry;
use crate::sessions::{Admission, AdmitError, Admitted, SessionInfo, Unavailable};

/// The live-session directory of this server. See the module docs. Cheap
/// to clone.
#[derive(Debug, Clone)]
pub enum Directory {
    /// One node: everything in memory.
    Local(Arc<Registry>),
    /// Several nodes sharing PostgreSQL.
    Cluster(Arc<Cluster>),
}

impl Directory {
    /// The account's epoch for a login about to be checked (in a cluster
    /// the admission re-reads the account instead: always 0).
    pub fn epoch(&self, accid: &str) -> u64 {
        match self {
            Directory::Local(r) => r.epoch(accid),
            Directory::Cluster(_) => 0,
        }
    }

    /// Marks the account's credentials or block state as changed, so that
    /// a login checked against the old state is checked again (in a
    /// cluster the admission's re-read of the account does that).
    pub fn bump_epoch(&self, accid: &str) {
        if let Directory::Local(r) = self {
            r.bump_epoch(accid);
        }
    }

    /// Applies the device rule and the session policy and registers the
    /// session (see [`Registry::admit`]).
    ///
    /// # Errors
    /// As [`Registry::admit`], and [`AdmitError::Unavailable`] when the
    /// shared directory cannot be reached.
    pub async fn admit(&self, a: Admission<'_>) -> Result<Admitted, AdmitError> {
        match self {
            Directory::Local(r) => r.admit(a),
            Directory::Cluster(c) => Box::pin(c.admit(a)).await,
        }
    }

    /// A session ended (logout, disconnect); the account's other sessions
    /// are told. In a cluster the shared row goes in the background.
    pub fn remove(&self, accid: &str, client_id: &str) {
        match self {
            Directory::Local(r) => {
                r.remove(accid, client_id);
            }
            Directory::Cluster(c) => c.remove(accid, client_id),
        }
    }

    /// `kick{clientId}` (see [`Registry::kick_by_client`]): `Ok(None)` →
    /// 404; the kicked session's device otherwise.
    ///
    /// # Errors
    /// The shared directory cannot be reached (→ 500).
    pub async fn kick_by_client(
        &self,
        accid: &str,
        caller: &str,
        target: &str,
    ) -> Result<Option<(ClientType, String)>, Unavailable> {
        match self {
            Directory::Local(r) => Ok(r.kick_by_client(accid, caller, target)),
            Directory::Cluster(c) => Box::pin(c.kick_by_client(accid, caller, target)).await,
        }
    }

    /// Ends every live session of the account with `kicked{reason}` (and,
    /// locally, bumps its epoch); returns how many.
    ///
    /// # Errors
    /// The shared directory cannot be reached.
    pub async fn kick_account(
        &self,
        accid: &str,
        reason: KickReason,
    ) -> Result<usize, Unavailable> {
        match self {
            Directory::Local(r) => Ok(r.kick_account(accid, reason)),
            Directory::Cluster(c) => Box::pin(c.kick_account(accid, reason)).await,
        }
    }

    /// Ends the account's sessions on the devices `ends` picks with
    /// `kicked{reason}`, on every node; returns their devices.
    ///
    /// # Errors
    /// The shared directory cannot be reached.
    pub async fn kick_devices(
        &self,
        accid: &str,
        ends: &(dyn Fn(&SessionInfo) -> bool + Sync),
        reason: KickReason,
    ) -> Result<Vec<(ClientType, String)>, Unavailable> {
        match self {
            Directory::Local(r) => Ok(r.kick_devices(accid, ends, reason)),
            Directory::Cluster(c) => Box::pin(c.kick_devices(accid, ends, reason)).await,
        }
    }

    /// The live sessions of one account (or of all), oldest first.
    ///
    /// # Errors
    /// The shared directory cannot be reached.
    pub async fn snapshot(
        &self,
        accid: Option<&str>,
    ) -> Result<Vec<(String, SessionInfo)>, Unavailable> {
        match self {
            Directory::Local(r) => Ok(r.snapshot(accid)),
            Directory::Cluster(c) => Box::pin(c.snapshot(accid)).await,
        }
    }

    /// This node's id in a cluster (the prefix of the clientIds it
    /// assigns); `None` for a single node.
    pub fn node_id(&self) -> Option<&str> {
        match self {
            Directory::Local(_) => None,
            Directory::Cluster(c) => Some(c.node_id()),
        }
    }

    /// The number of live sessions whose sockets this server holds.
    pub fn live_here(&self) -> usize {
        match self {
            Directory::Local(r) => r.live_count(),
            Directory::Cluster(c) => c.live_here(),
        }
    }

    /// The link URLs `/lbs` hands out: this server's own (`own`), or in a
    /// cluster those of every live node, rotated per call (falling back to
    /// `own` when the database cannot be read).
    pub async fn link_urls(&self, own: &[String]) -> Vec<String> {
        match self {
            Directory::Local(_) => own.to_vec(),
            Directory::Cluster(c) => match c.live_links().await {
                Ok(links) if !links.is_empty() => links,
                _ => own.to_vec(),
            },
        }
    }

    /// Leaves the cluster on shutdown (nothing to do for one node).
    pub async fn leave(&self) {
        if let Directory::Cluster(c) = self {
            c.leave().await;
        }
    }
}
