//! The accounts a login needs, kept in memory so that a login does not
//! read the database: filled on a miss, dropped when the account's token or
//! block state changes (on this node at once; on the other nodes of a
//! cluster when the change's `NOTIFY` arrives).
//!
//! A fill races with a change: a login that read the old row could store
//! it after the change dropped it. Every drop moves a generation on, and a
//! fill is refused when the generation moved since its read began.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::store::Account;

/// The most accounts kept; past it the cache starts over (a miss costs one
/// read, so nothing cleverer is needed).
const CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
struct Inner {
    accounts: HashMap<String, Arc<Account>>,
    generation: u64,
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct AccountCache {
    inner: Mutex<Inner>,
}

/// What a read must show to fill the cache: the generation when it began.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl AccountCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached account, if any.
    pub fn get(&self, accid: &str) -> Option<Arc<Account>> {
        self.lock().accounts.get(accid).cloned()
    }

    /// Taken before reading an account from the database.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.lock().generation)
    }

    /// Keeps `account` (read after `ticket` was taken) unless an account
    /// changed meanwhile; returns it either way.
    pub fn fill(&self, ticket: Ticket, account: Account) -> Arc<Account> {
        let account = Arc::new(account);
        let mut inner = self.lock();
        if inner.generation == ticket.0 {
            if inner.accounts.len() >= CAPACITY {
                inner.accounts.clear();
            }
            inner
                .accounts
                .insert(account.accid.clone(), Arc::clone(&account));
        }
        account
    }

    /// Drops one account (its token or block state changed).
    pub fn invalidate(&self, accid: &str) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.accounts.remove(accid);
    }

    /// Drops every account (changes may have been missed).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.accounts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(hash: &str) -> Account {
        Account {
            accid: "a".into(),
            token_hash: hash.into(),
            name: String::new(),
            blocked: false,
        }
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let cache = AccountCache::default();
        let stale = cache.ticket();
        cache.invalidate("a");
        cache.fill(stale, account("old"));
        assert!(cache.get("a").is_none());
        let fresh = cache.ticket();
        cache.fill(fresh, account("new"));
        assert_eq!(cache.get("a").unwrap().token_hash, "new");
        cache.clear();
        assert!(cache.get("a").is_none());
    }
}
