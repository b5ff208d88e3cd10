//! The resume tickets of device-bound sessions (docs/protocol.md,
//! "Device-bound sessions"), in table `device_tickets` of either database
//! (`server/migrations/*/0008_device_tickets.sql`): read by a resume,
//! listed and revoked by the server API. Issuing a ticket, refreshing one
//! and revoking them as part of a logout, a kick, a token change or a block
//! are device writes: they go through the [`super::journal::Journal`], in
//! order with the login records, with the SQL of this file.
//!
//! Only a ticket's SHA-256 hash is stored; a revoked ticket is deleted; an
//! expired one (unused for longer than the TTL) is refused on read and
//! deleted when its account binds a device again.

use core::fmt;

use imlogin_protocol::ClientType;
use sqlx::FromRow;

use super::db::on_pool;
use super::store::{to_i64, Store};
use super::StoreError;

/// A stored ticket, as a resume checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The AppKey it was issued under.
    pub app_key: String,
    /// The account, lower case.
    pub accid: String,
    /// The device kind of the binding login.
    pub client_type: Option<ClientType>,
    /// The device of the binding login.
    pub device_id: String,
    /// The bound public key (base64url of the uncompressed point).
    pub device_key: String,
    /// When it was issued, ms since the Unix epoch.
    pub created_at: u64,
    /// When it was issued or last resumed with, ms since the Unix epoch.
    pub last_used_at: u64,
}

#[derive(FromRow)]
struct TicketRow {
    app_key: String,
    accid: String,
    client_type: String,
    device_id: String,
    device_key: String,
    created_at: i64,
    last_used_at: i64,
}

/// One row of `listDeviceTickets.action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketSummary {
    /// The bound device.
    pub device_id: String,
    /// Its device kind (the wire name).
    pub client_type: String,
    /// When the ticket was issued, ms since the Unix epoch.
    pub created_at: u64,
    /// When it was issued or last resumed with, ms since the Unix epoch.
    pub last_used_at: u64,
}

#[derive(FromRow)]
struct SummaryRow {
    device_id: String,
    client_type: String,
    created_at: i64,
    last_used_at: i64,
}

/// A new ticket to store (a device write): replaces the device's earlier
/// ticket, and drops the account's expired ones.
#[derive(Clone, PartialEq, Eq)]
pub struct TicketRecord {
    /// SHA-256 hex of the ticket.
    pub ticket_hash: String,
    /// The AppKey of the binding login.
    pub app_key: String,
    /// The account, lower case.
    pub accid: String,
    /// The device kind.
    pub client_type: ClientType,
    /// The device.
    pub device_id: String,
    /// The public key to bind (base64url of the uncompressed point).
    pub device_key: String,
    /// Now, ms since the Unix epoch.
    pub at_ms: u64,
    /// Tickets of the account last used before this are expired.
    pub expired_before_ms: u64,
}

impl fmt::Debug for TicketRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketRecord")
            .field("ticket_hash", &"<redacted>")
            .field("app_key", &self.app_key)
            .field("accid", &self.accid)
            .field("client_type", &self.client_type)
            .field("device_id", &self.device_id)
            .field("at_ms", &self.at_ms)
            .finish_non_exhaustive()
    }
}

/// Stores a ticket (`$1` hash, `$2` appKey, `$3` accid, `$4` clientType,
/// `$5` deviceId, `$6` key, `$7` now) over the device's earlier one, and
/// deletes the account's tickets unused since `$8` — the device's own row
/// excepted, so that on PostgreSQL (one snapshot, see [`super::db::Db::one_trip`])
/// no row is written twice.
pub(crate) const BIND_TICKET: [&str; 2] = [
    "DELETE FROM device_tickets WHERE accid = $3 AND last_used_at < $8 \
     AND NOT (client_type = $4 AND device_id = $5 AND app_key = $2)",
    "INSERT INTO device_tickets (ticket_hash, app_key, accid, client_type, device_id, \
       device_key, created_at, last_used_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
     ON CONFLICT (accid, client_type, device_id, app_key) DO UPDATE SET \
       ticket_hash = excluded.ticket_hash, device_key = excluded.device_key, \
       created_at = excluded.created_at, last_used_at = excluded.last_used_at",
];

/// A resume used ticket `$1` at `$2`: its lifetime starts again.
pub(crate) const TOUCH_TICKET: &str =
    "UPDATE device_tickets SET last_used_at = $2 WHERE ticket_hash = $1 AND last_used_at < $2";

/// Revokes every ticket of account `$1`.
pub(crate) const REVOKE_ACCOUNT_TICKETS: &str = "DELETE FROM device_tickets WHERE accid = $1";

/// Revokes the ticket of one device (`$1` accid, `$2` clientType, `$3`
/// deviceId).
pub(crate) const REVOKE_DEVICE_TICKET: &str =
    "DELETE FROM device_tickets WHERE accid = $1 AND client_type = $2 AND device_id = $3";

impl From<TicketRow> for Ticket {
    fn from(r: TicketRow) -> Self {
        Ticket {
            app_key: r.app_key,
            accid: r.accid,
            client_type: ClientType::parse(&r.client_type),
            device_id: r.device_id,
            device_key: r.device_key,
            created_at: u64::try_from(r.created_at).unwrap_or(0),
            last_used_at: u64::try_from(r.last_used_at).unwrap_or(0),
        }
    }
}

impl Store {
    /// The stored ticket whose hash is `ticket_hash`, if any (expired or
    /// not: the caller knows the TTL).
    ///
    /// # Errors
    /// The database fails.
    pub async fn ticket(&self, ticket_hash: &str) -> Result<Option<Ticket>, StoreError> {
        let row: Option<TicketRow> = on_pool!(&self.db, pool => sqlx::query_as(
            "SELECT app_key, accid, client_type, device_id, device_key, created_at, last_used_at \
             FROM device_tickets WHERE ticket_hash = $1",
        )
        .bind(ticket_hash)
        .fetch_optional(pool)
        .await?);
        Ok(row.map(Ticket::from))
    }

    /// The account's tickets under `app_key` used at or after
    /// `live_since_ms` (the unexpired ones), oldest first.
    ///
    /// # Errors
    /// The database fails.
    pub async fn list_tickets(
        &self,
        app_key: &str,
        accid: &str,
        live_since_ms: u64,
    ) -> Result<Vec<TicketSummary>, StoreError> {
        let rows: Vec<SummaryRow> = on_pool!(&self.db, pool => sqlx::query_as(
            "SELECT device_id, client_type, created_at, last_used_at FROM device_tickets \
             WHERE accid = $1 AND app_key = $2 AND last_used_at >= $3 \
             ORDER BY created_at, device_id, client_type",
        )
        .bind(accid)
        .bind(app_key)
        .bind(to_i64(live_since_ms))
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|r| TicketSummary {
                device_id: r.device_id,
                client_type: r.client_type,
                created_at: u64::try_from(r.created_at).unwrap_or(0),
                last_used_at: u64::try_from(r.last_used_at).unwrap_or(0),
            })
            .collect())
    }

    /// Revokes (deletes) the account's tickets under `app_key` — those of
    /// `device_id` (any clientType), or all — and returns the devices
    /// whose unexpired (used at or after `live_since_ms`) tickets were
    /// revoked.
    ///
    /// # Errors
    /// The database fails.
    pub async fn revoke_tickets(
        &self,
        app_key: &str,
        accid: &str,
        device_id: Option<&str>,
        live_since_ms: u64,
    ) -> Result<Vec<(ClientType, String)>, StoreError> {
        let rows: Vec<(String, String, i64)> = on_pool!(&self.db, pool => sqlx::query_as(
            "DELETE FROM device_tickets WHERE accid = $1 AND app_key = $2 \
             AND (CAST($3 AS TEXT) IS NULL OR device_id = $3) \
             RETURNING client_type, device_id, last_used_at",
        )
        .bind(accid)
        .bind(app_key)
        .bind(device_id)
        .fetch_all(pool)
        .await?);
        let live_since = to_i64(live_since_ms);
        Ok(rows
            .into_iter()
            .filter(|(_, _, used)| *used >= live_since)
            .filter_map(|(t, d, _)| ClientType::parse(&t).map(|t| (t, d)))
            .collect())
    }
}
