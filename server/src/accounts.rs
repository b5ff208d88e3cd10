//! IM accounts as a service: what the server API, the console and the test
//! hooks do to an account (create, new token, block), and what a link
//! login reads and records (credentials, the device rule's records, the
//! resume tickets of device-bound sessions). A change that must end live
//! sessions ends them here, on every node, so that each caller gets the
//! same behaviour.

use std::sync::Arc;

use imlogin_protocol::limits::{check_token, normalize_accid};
use imlogin_protocol::{ClientType, KickReason, LoginCode};

use crate::backend::{
    Account, AccountSource, AccountSummary, DeviceWrite, Directory, Journal, Store, StoreError,
    Ticket, TicketSummary,
};
use crate::clock::{now_ms, Clock};
use crate::error::ApiError;
use crate::secret::{generate_token, hash_token, token_matches, Secret};

/// The longest account name, in characters.
pub const NAME_MAX: usize = 64;

/// A newly created account, as returned to its creator.
#[derive(Debug)]
pub struct Created {
    /// The account id, lower case.
    pub accid: String,
    /// Its token (generated unless one was given).
    pub token: Secret,
    /// Its display name.
    pub name: String,
}

impl Created {
    /// The answer of `create.action` and the console:
    /// `{"code":200,"info":{"accid","token","name"}}`.
    pub fn answer(&self) -> serde_json::Value {
        serde_json::json!({
            "code": 200,
            "info": { "accid": self.accid, "token": self.token.expose(), "name": self.name }
        })
    }
}

/// The accounts service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Accounts(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Store,
    journal: Journal,
    directory: Directory,
    tickets: TicketSettings,
}

/// The resume tickets' settings (docs/protocol.md, "Device-bound
/// sessions").
#[derive(Debug)]
pub struct TicketSettings {
    /// The AppKey tickets are issued under.
    pub app_key: String,
    /// How long a ticket lives after it was issued or last used, in ms.
    pub ttl_ms: u64,
    /// The clock of the tickets' times and of a resume's `ts` window.
    pub clock: Clock,
}

impl TicketSettings {
    /// Settings with a TTL of `ttl_days` and the wall clock.
    pub fn new(app_key: impl Into<String>, ttl_days: u32) -> Self {
        TicketSettings {
            app_key: app_key.into(),
            ttl_ms: u64::from(ttl_days) * 86_400_000,
            clock: Clock::default(),
        }
    }

    /// Tickets last used before this (ms since the epoch) have expired at
    /// `now_ms`.
    pub fn live_since(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.ttl_ms)
    }
}

/// A fresh 128-bit token.
///
/// # Errors
/// [`ApiError::Internal`] when the operating system has no randomness.
pub fn new_token() -> Result<Secret, ApiError> {
    generate_token().map_err(|e| ApiError::Internal(format!("no randomness: {e}")))
}

/// Why a login's credentials were refused.
fn verdict(account: Option<Arc<Account>>, token: &str) -> Result<Arc<Account>, LoginCode> {
    let account = account.ok_or(LoginCode::TokenMismatch)?;
    if !token_matches(token, &account.token_hash) {
        return Err(LoginCode::TokenMismatch);
    }
    if account.blocked {
        return Err(LoginCode::Blocked);
    }
    Ok(account)
}

impl Accounts {
    /// The service over `store` and `journal`, ending sessions through
    /// `directory`, issuing resume tickets as `tickets` says.
    pub fn new(
        store: Store,
        journal: Journal,
        directory: Directory,
        tickets: TicketSettings,
    ) -> Self {
        Accounts(Arc::new(Inner {
            store,
            journal,
            directory,
            tickets,
        }))
    }

    /// The resume tickets' settings and clock.
    pub fn tickets(&self) -> &TicketSettings {
        &self.0.tickets
    }

    /// The store (for the demo app's own tables and the stats).
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// Creates an account: `accid` is normalized, `token` (if given)
    /// checked, otherwise generated.
    ///
    /// # Errors
    /// 414 for a bad parameter or a taken accid; 500 on storage.
    pub async fn create(
        &self,
        accid: &str,
        token: Option<&str>,
        name: Option<&str>,
        source: AccountSource,
    ) -> Result<Created, ApiError> {
        let accid = normalize_accid(accid)?;
        let token = match token {
            Some(t) => {
                check_token(t)?;
                Secret::new(t)
            }
            None => new_token()?,
        };
        let name = name.unwrap_or("");
        if name.chars().count() > NAME_MAX {
            return Err(ApiError::BadParam("parameter name is too long".to_owned()));
        }
        let created = self
            .0
            .store
            .create_account(&accid, &hash_token(token.expose()), name, source, now_ms())
            .await?;
        if !created {
            return Err(ApiError::AlreadyRegistered);
        }
        tracing::info!(accid, source = source.as_str(), "account created");
        Ok(Created {
            accid,
            token,
            name: name.to_owned(),
        })
    }

    /// The newest `limit` accounts created from `source`.
    ///
    /// # Errors
    /// 500 on storage.
    pub async fn list(
        &self,
        source: AccountSource,
        limit: u32,
    ) -> Result<Vec<AccountSummary>, ApiError> {
        Ok(self.0.store.list_accounts(source, limit).await?)
    }

    /// Stores a new token and kicks the account's live sessions
    /// (`tokenChanged`), so that only the new token logs in from now on;
    /// the account's devices are forgotten and its resume tickets revoked.
    ///
    /// # Errors
    /// 414 for an unknown account; 500 on storage or the shared directory.
    pub async fn replace_token(&self, accid: &str, token: &Secret) -> Result<(), ApiError> {
        if !self
            .0
            .store
            .set_token(accid, &hash_token(token.expose()), now_ms())
            .await?
        {
            return Err(ApiError::NotRegistered);
        }
        let n = self
            .end_every_session(accid, KickReason::TokenChanged)
            .await?;
        tracing::info!(accid, kicked = n, "token changed");
        Ok(())
    }

    /// Blocks or unblocks an account; blocking revokes its resume tickets,
    /// and with `needkick` kicks its live sessions at once (`blocked`) and
    /// forgets its devices.
    ///
    /// # Errors
    /// 414 for an unknown account; 500 on storage or the shared directory.
    pub async fn set_blocked(
        &self,
        accid: &str,
        blocked: bool,
        needkick: bool,
    ) -> Result<(), ApiError> {
        if !self.0.store.set_blocked(accid, blocked, now_ms()).await? {
            return Err(ApiError::NotRegistered);
        }
        if blocked && needkick {
            let n = self.end_every_session(accid, KickReason::Blocked).await?;
            tracing::info!(accid, kicked = n, "account blocked");
        } else {
            self.0.directory.bump_epoch(accid);
            if blocked {
                self.0
                    .journal
                    .write(vec![DeviceWrite::RevokeTickets {
                        accid: accid.to_owned(),
                    }])
                    .await?;
            }
            tracing::info!(accid, blocked, "account block state set");
        }
        Ok(())
    }

    /// The account's live resume tickets, oldest first
    /// (`listDeviceTickets.action`).
    ///
    /// # Errors
    /// 414 for an unknown account; 500 on storage.
    pub async fn list_tickets(&self, accid: &str) -> Result<Vec<TicketSummary>, ApiError> {
        let store = &self.0.store;
        if store.account(accid, true).await?.is_none() {
            return Err(ApiError::NotRegistered);
        }
        let settings = &self.0.tickets;
        let live_since = settings.live_since(settings.clock.now_ms());
        Ok(store
            .list_tickets(&settings.app_key, accid, live_since)
            .await?)
    }

    /// Revokes the account's resume tickets — of `device_id`, or all —
    /// ends the live sessions of the revoked devices (and of `device_id`)
    /// with `kicked{reason:"revoked"}` and forgets those devices
    /// (`revokeDeviceTicket.action`). Returns how many unexpired tickets
    /// were revoked.
    ///
    /// # Errors
    /// 414 for an unknown account; 500 on storage or the shared directory.
    pub async fn revoke_tickets(
        &self,
        accid: &str,
        device_id: Option<&str>,
    ) -> Result<usize, ApiError> {
        let Inner {
            store,
            journal,
            directory,
            tickets,
        } = &*self.0;
        if store.account(accid, true).await?.is_none() {
            return Err(ApiError::NotRegistered);
        }
        let live_since = tickets.live_since(tickets.clock.now_ms());
        let revoked = store
            .revoke_tickets(&tickets.app_key, accid, device_id, live_since)
            .await?;
        let ends = |s: &crate::sessions::SessionInfo| {
            device_id == Some(s.device_id.as_str())
                || revoked
                    .iter()
                    .any(|(t, d)| *t == s.client_type && *d == s.device_id)
        };
        let ended = directory
            .kick_devices(accid, &ends, KickReason::Revoked)
            .await?;
        let mut forget = revoked.clone();
        for device in &ended {
            if !forget.contains(device) {
                forget.push(device.clone());
            }
        }
        if !forget.is_empty() {
            journal
                .write(vec![DeviceWrite::Forget {
                    accid: accid.to_owned(),
                    devices: Some(forget),
                }])
                .await?;
        }
        tracing::info!(
            accid,
            revoked = revoked.len(),
            kicked = ended.len(),
            "resume tickets revoked"
        );
        Ok(revoked.len())
    }

    /// Ends every live session of the account with `kicked{reason}`, on
    /// every node, and forgets all its devices so that none can resume
    /// with an auto login; returns how many sessions were ended.
    async fn end_every_session(&self, accid: &str, reason: KickReason) -> Result<usize, ApiError> {
        let n = self.0.directory.kick_account(accid, reason).await?;
        self.0
            .journal
            .write(vec![DeviceWrite::Forget {
                accid: accid.to_owned(),
                devices: None,
            }])
            .await?;
        Ok(n)
    }

    /// The number of distinct accounts that logged in on `day`.
    ///
    /// # Errors
    /// 500 on storage.
    pub async fn daily_active(&self, day: &str) -> Result<u64, ApiError> {
        Ok(self.0.store.daily_active(day).await?)
    }

    /// A login's credentials: the account if `token` is its token and it
    /// is not blocked. The cached account may only let a login through
    /// (the admission checks it again); a refusal is always confirmed from
    /// the database, so that a change another node made a moment ago never
    /// refuses a right token. `fresh` skips the cache.
    ///
    /// # Errors
    /// The login's code: 302, 422, or 500 on storage.
    pub async fn credentials(
        &self,
        accid: &str,
        token: &str,
        fresh: bool,
    ) -> Result<Arc<Account>, LoginCode> {
        let store = &self.0.store;
        if !fresh {
            let cached = store.account(accid, false).await.map_err(store_failed)?;
            if let Ok(account) = verdict(cached, token) {
                return Ok(account);
            }
        }
        verdict(
            store.account(accid, true).await.map_err(store_failed)?,
            token,
        )
    }

    /// The account a resume resumes: it must exist (else 419: no ticket can
    /// be valid for it) and not be blocked (422). As for
    /// [`Accounts::credentials`], a refusal is confirmed from the database.
    ///
    /// # Errors
    /// The login's code: 419, 422, or 500 on storage.
    pub async fn resumed_account(
        &self,
        accid: &str,
        fresh: bool,
    ) -> Result<Arc<Account>, LoginCode> {
        let store = &self.0.store;
        let verdict = |account: Option<Arc<Account>>| match account {
            None => Err(LoginCode::DeviceBindingRefused),
            Some(a) if a.blocked => Err(LoginCode::Blocked),
            Some(a) => Ok(a),
        };
        if !fresh {
            let cached = store.account(accid, false).await.map_err(store_failed)?;
            if let Ok(account) = verdict(cached) {
                return Ok(account);
            }
        }
        verdict(store.account(accid, true).await.map_err(store_failed)?)
    }

    /// The stored resume ticket whose hash is `ticket_hash`, if any.
    ///
    /// # Errors
    /// 500 on storage.
    pub async fn ticket(&self, ticket_hash: &str) -> Result<Option<Ticket>, LoginCode> {
        self.0.store.ticket(ticket_hash).await.map_err(store_failed)
    }

    /// Whether the device rule's record knows `device_id` (see
    /// [`Store::is_known_device`]).
    ///
    /// # Errors
    /// 500 on storage.
    pub async fn is_known_device(
        &self,
        accid: &str,
        client_type: ClientType,
        device_id: &str,
    ) -> Result<bool, LoginCode> {
        self.0
            .store
            .is_known_device(accid, client_type, device_id)
            .await
            .map_err(store_failed)
    }

    /// Writes the device records (see [`Journal::write`]), in order, and
    /// waits for their commit.
    ///
    /// # Errors
    /// The commit failed.
    pub async fn record(&self, writes: Vec<DeviceWrite>) -> Result<(), StoreError> {
        self.0.journal.write(writes).await
    }

    /// Forgets devices whose sessions a logout or kick ended. A failure is
    /// logged only: the session is already gone, and at worst the device
    /// may resume later as if it had lost its network.
    pub async fn forget(&self, accid: &str, devices: Vec<(ClientType, String)>) {
        let forget = DeviceWrite::Forget {
            accid: accid.to_owned(),
            devices: Some(devices),
        };
        if let Err(e) = self.record(vec![forget]).await {
            tracing::error!(error = %e, "cannot forget ended devices");
        }
    }
}

fn store_failed(e: StoreError) -> LoginCode {
    tracing::error!(error = %e, "login failed on storage");
    LoginCode::ServerError
}
