//! Group commit of the device rule's records: every login record (last
//! device, resumable device, daily login), every "forget these devices"
//! and every resume ticket issued, refreshed or revoked
//! ([`super::tickets`]) goes through one queue per node, and one writer task commits all that
//! waits at that moment in one transaction, in the order submitted. A
//! caller's `write` returns once its transaction has committed — a login
//! is answered `loginOk` only then — so a batch costs one commit however
//! many logins it carries, and nothing is acknowledged that a killed
//! process could lose.
//!
//! The order matters and is kept: a device kicked right after its login
//! was recorded is forgotten after that record, never before it.

use imlogin_protocol::ClientType;
use tokio::sync::{mpsc, oneshot};

use super::db::{built, on_pool, DeviceWrites};
use super::store::{to_i64, Store};
use super::tickets::TicketRecord;
use super::StoreError;

/// The most submissions one transaction carries.
pub const MAX_BATCH: usize = 512;

/// How many writes may wait for the writer before `write` itself waits.
const QUEUE: usize = 4 * MAX_BATCH;

/// A successful login, as the device rule and the daily count record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRecord {
    /// The account.
    pub accid: String,
    /// The session's device kind.
    pub client_type: ClientType,
    /// The session's device.
    pub device_id: String,
    /// When, in ms since the Unix epoch.
    pub at_ms: u64,
    /// The UTC day of `at_ms`, `YYYY-MM-DD`.
    pub day: String,
}

/// One write to the device records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceWrite {
    /// A successful login: the last device for (accid, clientType), the
    /// device as resumable, and the account's presence on its day.
    Login(LoginRecord),
    /// Devices whose sessions a logout or a kick ended, so that they cannot
    /// resume with an auto login (nor with their resume tickets, which are
    /// revoked); `None` forgets every device of the account (token change,
    /// block).
    Forget {
        /// The account.
        accid: String,
        /// The devices, or all of them.
        devices: Option<Vec<(ClientType, String)>>,
    },
    /// A binding login's new resume ticket.
    BindTicket(TicketRecord),
    /// A resume used a ticket: its lifetime starts again.
    TouchTicket {
        /// The ticket's account (for the write's lock).
        accid: String,
        /// SHA-256 hex of the ticket.
        ticket_hash: String,
        /// When, in ms since the Unix epoch.
        at_ms: u64,
    },
    /// Revokes every resume ticket of the account, devices remembered
    /// (a block without `needkick`).
    RevokeTickets {
        /// The account.
        accid: String,
    },
}

impl DeviceWrite {
    fn accid(&self) -> &str {
        match self {
            DeviceWrite::Login(r) => &r.accid,
            DeviceWrite::BindTicket(r) => &r.accid,
            DeviceWrite::Forget { accid, .. }
            | DeviceWrite::TouchTicket { accid, .. }
            | DeviceWrite::RevokeTickets { accid } => accid,
        }
    }

    /// Whether the write touches only the resume tickets of a device that
    /// a login run records: it may be written after the run's login
    /// records (see [`next_run`]).
    fn is_ticket_of_login(&self) -> bool {
        matches!(
            self,
            DeviceWrite::BindTicket(_) | DeviceWrite::TouchTicket { .. }
        )
    }
}

/// Writes submitted together (a login's record and the devices it kicked),
/// and who waits for their commit.
struct Entry {
    writes: Vec<DeviceWrite>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue of device writes and its writer task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Journal {
    queue: mpsc::Sender<Entry>,
}

impl Journal {
    /// Starts the writer task on `store`. It ends when the last clone of
    /// the journal is dropped, after committing what was queued.
    pub(crate) fn start(store: Store) -> Journal {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, rx));
        Journal { queue }
    }

    /// Queues `writes` (in order, together) and waits until the
    /// transaction carrying them has committed.
    ///
    /// # Errors
    /// That transaction failed (the database is locked, unreachable or
    /// refused a statement); nothing of it was written.
    pub async fn write(&self, writes: Vec<DeviceWrite>) -> Result<(), StoreError> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Entry { writes, done })
            .await
            .map_err(|_| StoreError::msg("the device journal has stopped"))?;
        committed
            .await
            .map_err(|_| StoreError::msg("the device journal has stopped"))?
    }
}

impl core::fmt::Debug for Entry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.writes.fmt(f)
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Entry>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let result = commit(&store, &batch).await.map_err(StoreError::from);
        if let Err(e) = &result {
            tracing::error!(error = %e, submissions = batch.len(), "device records not written");
        }
        for entry in batch.drain(..) {
            // A caller that went away (its socket closed) needs no answer.
            let _ = entry.done.send(result.clone());
        }
    }
}

/// Writes `batch` in one transaction, in order: each run of logins of
/// different accounts (or clientTypes) in one trip, then the run's ticket
/// writes, each forget or revocation in one.
async fn commit(store: &Store, batch: &[Entry]) -> Result<(), sqlx::Error> {
    let writes: Vec<&DeviceWrite> = batch.iter().flat_map(|e| &e.writes).collect();
    let accids: Vec<&str> = writes.iter().map(|w| w.accid()).collect();
    let sql = &store.devices;
    on_pool!(&store.db, pool => {
        let mut tx = pool.begin_devices(&accids).await?;
        let mut rest = &writes[..];
        while let Some(write) = rest.first() {
            match write {
                DeviceWrite::Login(_) | DeviceWrite::BindTicket(_) | DeviceWrite::TouchTicket { .. } => {
                    let run = next_run(rest);
                    if !run.logins.is_empty() {
                        pool.record_logins(&mut tx, &sql.record_logins, &run.logins).await?;
                    }
                    for ticket in &run.tickets {
                        match ticket {
                            DeviceWrite::BindTicket(r) => {
                                sqlx::query(built(&sql.bind_ticket))
                                    .bind(&r.ticket_hash)
                                    .bind(&r.app_key)
                                    .bind(&r.accid)
                                    .bind(r.client_type.as_str())
                                    .bind(&r.device_id)
                                    .bind(&r.device_key)
                                    .bind(to_i64(r.at_ms))
                                    .bind(to_i64(r.expired_before_ms))
                                    .execute(&mut *tx)
                                    .await?;
                            }
                            DeviceWrite::TouchTicket { ticket_hash, at_ms, .. } => {
                                sqlx::query(built(&sql.touch_ticket))
                                    .bind(ticket_hash)
                                    .bind(to_i64(*at_ms))
                                    .execute(&mut *tx)
                                    .await?;
                            }
                            _ => {}
                        }
                    }
                    rest = &rest[run.taken..];
                    continue;
                }
                DeviceWrite::Forget { accid, devices: None } => {
                    sqlx::query(built(&sql.forget_account))
                        .bind(accid)
                        .execute(&mut *tx)
                        .await?;
                }
                DeviceWrite::Forget { accid, devices: Some(list) } => {
                    for (client_type, device_id) in list {
                        sqlx::query(built(&sql.forget_device))
                            .bind(accid)
                            .bind(client_type.as_str())
                            .bind(device_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                DeviceWrite::RevokeTickets { accid } => {
                    sqlx::query(built(&sql.revoke_account_tickets))
                        .bind(accid)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            rest = &rest[1..];
        }
        tx.commit().await
    })
}

/// The writes at the start of a batch that are written together: logins
/// recorded in one trip, and the ticket writes among them, written after.
struct Run<'a> {
    /// The logins, no two of one account and clientType.
    logins: Vec<&'a LoginRecord>,
    /// The ticket writes, in order.
    tickets: Vec<&'a DeviceWrite>,
    /// How many writes of the batch the run took.
    taken: usize,
}

/// The writes at the start of `writes` that can be written together: up
/// to the first forget or revocation, or the first login of an account and
/// clientType already in the run (its record must follow the earlier
/// one's). The tickets issued and refreshed among them may be written after
/// the run's login records: they touch only the tickets' table, which no
/// login record does, and keep their own order.
fn next_run<'a>(writes: &[&'a DeviceWrite]) -> Run<'a> {
    let mut run = Run {
        logins: Vec::new(),
        tickets: Vec::new(),
        taken: 0,
    };
    for write in writes {
        match write {
            DeviceWrite::Login(r) => {
                if run
                    .logins
                    .iter()
                    .any(|o| o.accid == r.accid && o.client_type == r.client_type)
                {
                    break;
                }
                run.logins.push(r);
            }
            w if w.is_ticket_of_login() => run.tickets.push(w),
            _ => break,
        }
        run.taken += 1;
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(accid: &str, client_type: ClientType) -> DeviceWrite {
        DeviceWrite::Login(LoginRecord {
            accid: accid.to_owned(),
            client_type,
            device_id: "d".to_owned(),
            at_ms: 1,
            day: "2024-05-01".to_owned(),
        })
    }

    #[test]
    fn a_run_stops_at_a_repeated_account_and_type_or_a_forget() {
        let writes = [
            login("a", ClientType::Web),
            login("a", ClientType::Pc),
            login("b", ClientType::Web),
            login("a", ClientType::Web),
        ];
        let refs: Vec<&DeviceWrite> = writes.iter().collect();
        assert_eq!(next_run(&refs).logins.len(), 3);
        let forget = DeviceWrite::Forget {
            accid: "a".to_owned(),
            devices: None,
        };
        let refs = [&writes[0], &forget, &writes[1]];
        assert_eq!(next_run(&refs).logins.len(), 1);
        assert_eq!(next_run(&refs[1..]).taken, 0);
    }

    #[test]
    fn ticket_writes_ride_in_the_run_of_their_logins_until_a_revocation() {
        let touch = |accid: &str| DeviceWrite::TouchTicket {
            accid: accid.to_owned(),
            ticket_hash: "h".to_owned(),
            at_ms: 1,
        };
        let revoke = DeviceWrite::RevokeTickets {
            accid: "a".to_owned(),
        };
        let writes = [
            login("a", ClientType::Web),
            touch("a"),
            login("b", ClientType::Web),
            touch("b"),
            revoke,
            login("c", ClientType::Web),
        ];
        let refs: Vec<&DeviceWrite> = writes.iter().collect();
        let first = next_run(&refs);
        assert_eq!(
            (first.logins.len(), first.tickets.len(), first.taken),
            (2, 2, 4)
        );
        assert_eq!(
            next_run(&refs[4..]).taken,
            0,
            "a revocation is written on its own"
        );
    }
}
