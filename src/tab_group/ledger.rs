//! Which calls the group has carried out: for each calling tab, the highest
//! call number. A tab's calls reach the leader in the order it made them
//! (a channel delivers one sender's messages in order) and leaders carry
//! them out in that order, so one number per tab is enough.

use super::message::CallRef;

/// How many calling tabs are remembered; the least recently seen go first
/// (a tab long gone has nothing left to send again).
const CAPACITY: usize = 64;

/// The carried-out calls, one entry per calling tab, most recent last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ledger {
    entries: Vec<CallRef>,
}

impl Ledger {
    /// Whether `call` (or a later call of its tab) was carried out.
    pub(crate) fn covers(&self, call: &CallRef) -> bool {
        self.entries
            .iter()
            .any(|e| e.tab == call.tab && e.id >= call.id)
    }

    /// Records that `call` was carried out.
    pub(crate) fn record(&mut self, call: &CallRef) {
        let id = match self.entries.iter().position(|e| e.tab == call.tab) {
            Some(i) => self.entries.remove(i).id.max(call.id),
            None => call.id,
        };
        self.entries.push(CallRef {
            tab: call.tab.clone(),
            id,
        });
        if self.entries.len() > CAPACITY {
            self.entries.remove(0);
        }
    }

    /// Takes in what another leader recorded.
    pub(crate) fn merge(&mut self, entries: &[CallRef]) {
        for e in entries {
            if !self.covers(e) {
                self.record(e);
            }
        }
    }

    /// The entries, for publication.
    pub(crate) fn entries(&self) -> &[CallRef] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tab_group::TabId;

    fn call(tab: &str, id: u64) -> CallRef {
        CallRef {
            tab: TabId(tab.into()),
            id,
        }
    }

    #[test]
    fn covers_every_call_up_to_the_highest_recorded() {
        let mut l = Ledger::default();
        l.record(&call("a", 3));
        assert!(l.covers(&call("a", 1)) && l.covers(&call("a", 3)));
        assert!(!l.covers(&call("a", 4)) && !l.covers(&call("b", 1)));
        l.merge(&[call("a", 2), call("b", 5)]);
        assert!(l.covers(&call("a", 3)) && l.covers(&call("b", 5)));
        assert!(!l.covers(&call("a", 4)));
    }

    #[test]
    fn forgets_the_least_recent_tab_beyond_its_capacity() {
        let mut l = Ledger::default();
        for i in 0..=CAPACITY {
            l.record(&call(&i.to_string(), 1));
        }
        assert!(!l.covers(&call("0", 1)));
        assert!(l.covers(&call(&CAPACITY.to_string(), 1)));
        assert_eq!(l.entries().len(), CAPACITY);
    }
}
