//! The tab group's guarantees under random interleavings (proptest) of tab
//! opens, closes and crashes, message delays, calls from any tab, network
//! changes and server kicks, on simulated tabs (`tests/tab_sim`).
//!
//! After every step (every message, lock answer, socket event and wake-up
//! inside a step too):
//! - at most one tab holds or opens a connection;
//! - every call of every tab is carried out at most once, and settled at
//!   most once;
//! - every change of what a tab shows came with a `status` (and `clients`)
//!   event;
//! - once no message is on its way (and the leader is not taking over),
//!   every follower shows the leader's status, accid and clients.
//!
//! At each `Settle` step (online, then two minutes of virtual time):
//! - every call of every open tab has settled exactly once;
//! - there is one leader and the others follow it;
//! - when the last call carried out that starts or ends a session was a
//!   logout, every tab is logged out and nothing is connected;
//! - a group that was logged in at the previous `Settle`, and since then
//!   only lost tabs (crashes, closes — its leader included), went offline
//!   and online or had messages delayed, is logged in again as the same
//!   account, without any call: whatever the persistence.
//!
//! Without working Web Locks (refused, or silent) every call still settles
//! and each tab warns once.
#![cfg(not(target_arch = "wasm32"))]

mod tab_sim;

use std::collections::HashSet;

use imlogin::tab_group::{Role, TabId};
use imlogin::Status;
use proptest::prelude::*;
use tab_sim::*;

/// One thing that can happen to the browser profile.
#[derive(Debug, Clone)]
enum Step {
    Open,
    /// Close the n-th open tab (modulo the count).
    Close(usize),
    /// Crash the n-th open tab.
    Crash(usize),
    /// Close the leader's tab.
    CloseLeader,
    /// Crash the leader's tab.
    CrashLeader,
    /// The race behind double calls: the n-th open tab calls, the leader
    /// gets it (or not) and vanishes a few ms later, its answers on the way.
    CallThenLeaderGoes {
        tab: usize,
        kind: CallKind,
        after_ms: u32,
        crash: bool,
    },
    /// The n-th open tab's app calls.
    Call(usize, CallKind),
    /// Time passes (messages are delivered meanwhile, in random order).
    Advance(u32),
    Offline,
    Online,
    /// The server ends the session.
    ServerKick,
    /// Wait for everything to be done with, and check.
    Settle,
}

fn call_kind() -> impl Strategy<Value = CallKind> {
    prop_oneof![
        3 => prop::sample::select(vec!["alice", "bob"]).prop_map(CallKind::Login),
        3 => Just(CallKind::AutoLogin),
        1 => prop::sample::select(vec!["alice", "bob"]).prop_map(CallKind::AutoLoginWith),
        2 => Just(CallKind::Logout),
        1 => Just(CallKind::Kick),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Open),
        1 => any::<usize>().prop_map(Step::Close),
        1 => any::<usize>().prop_map(Step::Crash),
        2 => Just(Step::CloseLeader),
        4 => Just(Step::CrashLeader),
        3 => (any::<usize>(), call_kind(), 0u32..80, any::<bool>()).prop_map(
            |(tab, kind, after_ms, crash)| Step::CallThenLeaderGoes { tab, kind, after_ms, crash }
        ),
        10 => (any::<usize>(), call_kind()).prop_map(|(i, k)| Step::Call(i, k)),
        8 => prop_oneof![3 => 0u32..60, 2 => 0u32..400, 1 => 0u32..5_000].prop_map(Step::Advance),
        1 => Just(Step::Offline),
        1 => Just(Step::Online),
        1 => Just(Step::ServerKick),
        2 => Just(Step::Settle),
    ]
}

/// What happens to a group that nobody asks anything: tabs come and go
/// (its leader too), the network comes and goes, messages take their time.
fn quiet_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => Just(Step::Open),
        1 => any::<usize>().prop_map(Step::Close),
        1 => any::<usize>().prop_map(Step::Crash),
        2 => Just(Step::CloseLeader),
        3 => Just(Step::CrashLeader),
        4 => prop_oneof![3 => 0u32..60, 2 => 0u32..400, 1 => 0u32..5_000].prop_map(Step::Advance),
        1 => Just(Step::Offline),
        1 => Just(Step::Online),
    ]
}

/// Anything at all, then (after a `Settle`) only what a group that nobody
/// asks anything goes through, then `Settle` again: the second `Settle`
/// checks that whatever session the first one found survived.
fn episodes() -> impl Strategy<Value = Vec<Step>> {
    let episode = (
        prop::collection::vec(step(), 0..16),
        prop::collection::vec(quiet_step(), 1..8),
    );
    prop::collection::vec(episode, 1..5).prop_map(|episodes| {
        let mut steps = Vec::new();
        for (busy, quiet) in episodes {
            steps.extend(busy);
            steps.push(Step::Settle);
            steps.extend(quiet);
            steps.push(Step::Settle);
        }
        steps
    })
}

fn persistence() -> impl Strategy<Value = Persistence> {
    prop::sample::select(vec![
        Persistence::Local,
        Persistence::Session,
        Persistence::None,
    ])
}

/// The world and the books the properties are checked against.
struct World {
    sim: Sim,
    /// The session the group had at the last `Settle`, if logged in.
    session: Option<String>,
    /// Whether, since then, something may have changed the session on
    /// purpose (a call that starts or ends one, a kick), or every tab that
    /// knew of it is gone (a tab that opens later and never heard from a
    /// leader cannot carry it on).
    disturbed: bool,
    /// The tabs that have shown that session.
    knowers: HashSet<TabId>,
}

impl World {
    fn nth_open(&self, n: usize) -> Option<usize> {
        let open = self.sim.open_tabs();
        (!open.is_empty()).then(|| open[n % open.len()])
    }

    fn call(&mut self, n: usize, kind: &CallKind) {
        if let Some(i) = self.nth_open(n) {
            let saved = self.sim.saved(i).is_some();
            if !matches!(kind, CallKind::Kick) && (saved || *kind != CallKind::AutoLogin) {
                self.disturbed = true;
            }
            self.sim.call(i, kind.clone());
        }
    }

    fn apply(&mut self, step: &Step) -> Result<(), TestCaseError> {
        match step {
            Step::Open => {
                self.sim.open();
            }
            Step::Close(n) => {
                if let Some(i) = self.nth_open(*n) {
                    self.sim.close(i);
                }
            }
            Step::Crash(n) => {
                if let Some(i) = self.nth_open(*n) {
                    self.sim.crash(i);
                }
            }
            Step::CloseLeader => {
                if let Some(i) = self.sim.leader() {
                    self.sim.close(i);
                }
            }
            Step::CrashLeader => {
                if let Some(i) = self.sim.leader() {
                    self.sim.crash(i);
                }
            }
            Step::Call(n, kind) => self.call(*n, kind),
            Step::CallThenLeaderGoes {
                tab,
                kind,
                after_ms,
                crash,
            } => {
                self.call(*tab, kind);
                self.sim.advance(f64::from(*after_ms));
                if let Some(i) = self.sim.leader() {
                    if *crash {
                        self.sim.crash(i);
                    } else {
                        self.sim.close(i);
                    }
                }
            }
            Step::Advance(ms) => self.sim.advance(f64::from(*ms)),
            Step::Offline => self.sim.set_online(false),
            Step::Online => self.sim.set_online(true),
            Step::ServerKick => {
                self.disturbed = true;
                self.sim.server_kicks();
            }
            Step::Settle => {
                self.sim.settle();
                self.check_settled()?;
            }
        }
        if let Some(accid) = &self.session {
            for i in self.sim.open_tabs() {
                let tab = self.sim.tab(i).unwrap();
                if tab.core.accid() == Some(accid.as_str()) {
                    self.knowers.insert(tab.name.clone());
                }
            }
            let open: HashSet<TabId> = self
                .sim
                .open_tabs()
                .into_iter()
                .map(|i| self.sim.tab(i).unwrap().name.clone())
                .collect();
            if open.is_disjoint(&self.knowers) {
                self.disturbed = true;
            }
        }
        prop_assert!(
            self.sim.violations.is_empty(),
            "after {:?}: {:#?}",
            step,
            self.sim.violations
        );
        Ok(())
    }

    fn check_settled(&mut self) -> Result<(), TestCaseError> {
        let sim = &self.sim;
        let unsettled = sim.unsettled_calls();
        prop_assert!(unsettled.is_empty(), "unsettled: {:?}", unsettled);
        let open = sim.open_tabs();
        if sim.locks == Locks::Working && !open.is_empty() {
            let leader = sim.leader();
            prop_assert!(leader.is_some(), "no single leader: {:?}", sim.views());
            let leader = sim.tab(leader.unwrap()).unwrap();
            prop_assert!(!leader.core.is_taking_over());
            for &i in &open {
                let role = sim.tab(i).unwrap().core.role();
                prop_assert!(
                    matches!(role, Role::Leader | Role::Follower),
                    "{:?}",
                    sim.views()
                );
            }
            if sim.last_session_call() == Some(Effect::Ends) {
                for (name, _, status, accid) in sim.views() {
                    prop_assert!(
                        status == Status::LoggedOut && accid.is_none(),
                        "{} still shows {:?}/{:?} after a logout: {:?}",
                        name,
                        status,
                        accid,
                        sim.views()
                    );
                }
                for &i in &open {
                    prop_assert!(sim.tab(i).unwrap().core.machine().connection().is_none());
                }
            }
            if let (Some(accid), false) = (&self.session, self.disturbed) {
                for (name, _, status, shown) in sim.views() {
                    prop_assert!(
                        status == Status::LoggedIn && shown.as_deref() == Some(accid.as_str()),
                        "the group was logged in as {} and lost it: {} shows {:?}/{:?}; {:?}; refusals {:?}",
                        accid,
                        name,
                        status,
                        shown,
                        sim.views(),
                        sim.server.refusals
                    );
                }
            }
            self.session = (leader.core.status() == Status::LoggedIn)
                .then(|| leader.core.accid().map(str::to_owned))
                .flatten();
        } else {
            for &i in &open {
                let tab = sim.tab(i).unwrap();
                prop_assert_eq!(tab.core.role(), Role::Solo);
                prop_assert_eq!(tab.warnings.len(), 1);
            }
            self.session = None;
        }
        self.disturbed = false;
        self.knowers = open
            .iter()
            .map(|&i| sim.tab(i).unwrap().name.clone())
            .collect();
        Ok(())
    }
}

fn run(
    seed: u64,
    persistence: Persistence,
    locks: Locks,
    tabs: usize,
    steps: &[Step],
) -> Result<(), TestCaseError> {
    let mut world = World {
        sim: Sim::new(seed, persistence, locks),
        session: None,
        disturbed: true,
        knowers: HashSet::new(),
    };
    for _ in 0..tabs {
        world.sim.open();
    }
    for step in steps {
        world.apply(step)?;
    }
    world.apply(&Step::Settle)
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(96)
}

proptest! {
    // PROPTEST_CASES=5000 runs a longer search.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn shared_tabs_keep_their_guarantees_under_random_interleavings(
        seed in any::<u64>(),
        persistence in persistence(),
        tabs in 1usize..4,
        steps in episodes(),
    ) {
        run(seed, persistence, Locks::Working, tabs, &steps)?;
    }

    #[test]
    fn without_web_locks_every_tab_works_alone_and_every_call_settles(
        seed in any::<u64>(),
        persistence in persistence(),
        silent in any::<bool>(),
        steps in prop::collection::vec(step(), 1..30),
    ) {
        let locks = if silent { Locks::Silent } else { Locks::Refusing };
        run(seed, persistence, locks, 2, &steps)?;
    }
}
