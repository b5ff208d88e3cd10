//! The demo app server's storage: app users (username + password hash),
//! their uid → accid mapping and IM token, and signed-in browser sessions.

use core::fmt;

use super::StoreFuture;
use crate::secret::Secret;

/// A user of the demo app, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct AppUser {
    /// The app's own user id.
    pub uid: i64,
    /// The sign-in name, lower case.
    pub username: String,
    /// The argon2id PHC string of the password.
    pub password_hash: String,
    /// The IM account made on the user's first IM use: `(accid, token)`.
    pub im: Option<(String, Secret)>,
}

impl fmt::Debug for AppUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppUser")
            .field("uid", &self.uid)
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("accid", &self.im.as_ref().map(|(a, _)| a))
            .finish()
    }
}

/// The demo app server's data. Implementations must be safe to call
/// concurrently; every method is one atomic operation.
pub trait AppUserStore: Send + Sync {
    /// Creates a user; `Ok(None)` when the username is taken, else its uid.
    fn create_user<'a>(
        &'a self,
        username: &'a str,
        password_hash: &'a str,
        now_ms: u64,
    ) -> StoreFuture<'a, Option<i64>>;

    /// The user with this (lower-case) username, if any.
    fn user_by_name<'a>(&'a self, username: &'a str) -> StoreFuture<'a, Option<AppUser>>;

    /// Records the user's IM account; `Ok(false)` when the user already has
    /// one (a concurrent first use won) or does not exist.
    fn set_im_account<'a>(
        &'a self,
        uid: i64,
        accid: &'a str,
        token: &'a str,
    ) -> StoreFuture<'a, bool>;

    /// Stores a browser session (the hash of its cookie value) until
    /// `expires_ms`, and drops expired ones.
    fn create_session<'a>(
        &'a self,
        session_hash: &'a str,
        uid: i64,
        now_ms: u64,
        expires_ms: u64,
    ) -> StoreFuture<'a, ()>;

    /// The user a live (unexpired) session belongs to.
    fn session_user<'a>(
        &'a self,
        session_hash: &'a str,
        now_ms: u64,
    ) -> StoreFuture<'a, Option<AppUser>>;

    /// Ends a session (sign-out); a missing one is no error.
    fn delete_session<'a>(&'a self, session_hash: &'a str) -> StoreFuture<'a, ()>;
}
