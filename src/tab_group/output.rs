//! What the tab group core asks its driver to do, and tells its app.

use crate::{Event, LoginError, Output};

use super::message::{GroupMessage, TabId};

/// This tab's number for one of its app's calls; [`TabOutput::Settle`]
/// carries it back. Numbers only grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

/// This tab's part in its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// On its own: `tabs: "perTab"`, or Web Locks refused or silent (the
    /// fall-back). Its machine connects for this tab alone.
    Solo,
    /// Waiting for the lock's first answer; calls wait.
    Electing,
    /// Another tab holds the lock: this one shows that tab's state and
    /// sends it its app's calls. It takes over when the lock comes to it.
    Follower,
    /// Holds the lock and the group's only connection; carries out every
    /// tab's calls. Right after taking over from another leader it first
    /// gathers what the group knows (see
    /// [`TabConfig::takeover_grace_ms`](super::TabConfig::takeover_grace_ms)).
    Leader,
    /// [`close`](super::TabGroup::close)d: ignores everything.
    Closed,
}

impl Role {
    /// A short name for logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Solo => "solo",
            Role::Electing => "electing",
            Role::Follower => "follower",
            Role::Leader => "leader",
            Role::Closed => "closed",
        }
    }
}

/// A console warning, each given at most once per tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Warning {
    /// The Web Locks request was refused or never answered, and no leader
    /// was heard: this tab falls back to working on its own, as with
    /// `tabs: "perTab"`.
    PerTabFallback,
    /// This tab's place in the queue for the lock was refused: it follows
    /// the leader but cannot take over from it.
    CannotTakeOver,
}

impl Warning {
    /// The console text.
    pub const fn message(self) -> &'static str {
        match self {
            Warning::PerTabFallback => {
                "imlogin: Web Locks are unavailable here (refused or no answer); \
                 this tab connects on its own, as with tabs: \"perTab\""
            }
            Warning::CannotTakeOver => {
                "imlogin: this tab could not queue for the Web Lock; it follows \
                 the leader tab but cannot take over from it"
            }
        }
    }
}

/// Something worth a line in a debug log (`debug: true`); nothing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// This tab's role changed.
    Role(Role),
    /// This tab, as leader (or on its own), carried out a call. Each call
    /// of the group is carried out at most once.
    CarriedOut {
        /// The calling tab.
        caller: TabId,
        /// The caller's number for the call.
        id: u64,
        /// The call's JS name.
        call: &'static str,
    },
    /// Having taken over, this tab carries on the group's session.
    Resumed {
        /// Its accid.
        accid: String,
    },
}

/// An action for the driver, polled with
/// [`TabGroup::poll_output`](super::TabGroup::poll_output).
#[derive(Debug, Clone, PartialEq)]
pub enum TabOutput {
    /// Carry out this login-machine action (`Connect`, `FetchToken`,
    /// `Send`, `Close`, `Persist` or `ClearPersisted`; never `Emit` or
    /// `Settle`, which come as [`TabOutput::Emit`] and
    /// [`TabOutput::Settle`]).
    Machine(Output),
    /// Post this message to the group's other tabs.
    Post(GroupMessage),
    /// Tell this tab's app (call its listeners, outside any borrow).
    Emit(Event),
    /// Settle the promise of this tab's call: `Ok(value)` resolves it
    /// (`value` is what `autoLogin` resolves with; the other calls resolve
    /// with nothing), `Err` rejects it.
    Settle(CallId, Result<bool, LoginError>),
    /// Write this warning to the console.
    Warn(Warning),
    /// For debug logs only.
    Note(Note),
}
