//! The machine's timers: one enum, one fixed table.

/// A timer the login machine arms; the driver fires it at its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// When a manual login that never succeeded gives up (408).
    LoginTimeout,
    /// When one connection attempt (open + login handshake) is given up.
    ConnectTimeout,
    /// When to make the next connection attempt after a backoff delay.
    Reconnect,
    /// When to send the next heartbeat `ping`.
    Heartbeat,
    /// When a missing `pong` means the connection is dead.
    PongTimeout,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Timer; 5] = [
        Timer::LoginTimeout,
        Timer::ConnectTimeout,
        Timer::Reconnect,
        Timer::Heartbeat,
        Timer::PongTimeout,
    ];

    const fn index(self) -> usize {
        match self {
            Timer::LoginTimeout => 0,
            Timer::ConnectTimeout => 1,
            Timer::Reconnect => 2,
            Timer::Heartbeat => 3,
            Timer::PongTimeout => 4,
        }
    }

    /// A short name for logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Timer::LoginTimeout => "loginTimeout",
            Timer::ConnectTimeout => "connectTimeout",
            Timer::Reconnect => "reconnect",
            Timer::Heartbeat => "heartbeat",
            Timer::PongTimeout => "pongTimeout",
        }
    }
}

/// The deadline of every armed timer, in the driver's ms clock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimerTable {
    deadlines: [Option<f64>; 5],
}

impl TimerTable {
    /// Arms `timer` for `at`, replacing any earlier deadline.
    pub fn set(&mut self, timer: Timer, at: f64) {
        self.deadlines[timer.index()] = Some(at);
    }

    /// Disarms `timer`; returns whether it was armed.
    pub fn stop(&mut self, timer: Timer) -> bool {
        self.deadlines[timer.index()].take().is_some()
    }

    /// The deadline of `timer`, if armed.
    pub fn get(&self, timer: Timer) -> Option<f64> {
        self.deadlines[timer.index()]
    }

    /// The armed timer with the earliest deadline.
    pub fn next_timeout(&self) -> Option<(Timer, f64)> {
        Timer::ALL
            .iter()
            .filter_map(|&t| self.get(t).map(|at| (t, at)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Whether no timer is armed.
    pub fn is_idle(&self) -> bool {
        self.deadlines.iter().all(Option::is_none)
    }
}
