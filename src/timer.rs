//! The login machine's timers: one enum, one fixed table. Drivers never see
//! them: the machine shows only its earliest deadline
//! ([`LoginMachine::poll_timeout`](crate::LoginMachine::poll_timeout)).

/// A timer the login machine arms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Timer {
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
    const ALL: [Timer; 5] = [
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
}

/// The deadline of every armed timer, in the driver's ms clock.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TimerTable {
    deadlines: [Option<f64>; 5],
}

impl TimerTable {
    /// Arms `timer` for `at`, replacing any earlier deadline.
    pub(crate) fn set(&mut self, timer: Timer, at: f64) {
        self.deadlines[timer.index()] = Some(at);
    }

    /// Disarms `timer`; returns whether it was armed.
    pub(crate) fn stop(&mut self, timer: Timer) -> bool {
        self.deadlines[timer.index()].take().is_some()
    }

    /// The armed timer with the earliest deadline, and when.
    pub(crate) fn next_timeout(&self) -> Option<(Timer, f64)> {
        Timer::ALL
            .iter()
            .filter_map(|&t| self.deadlines[t.index()].map(|at| (t, at)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }
}
