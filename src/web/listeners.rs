//! The app's event listeners (`on`, `once`, `off` and the unsubscribe
//! functions they return).

use js_sys::Function;

/// One registration.
struct Listener {
    id: u64,
    name: &'static str,
    function: Function,
    /// Removed as it is called the first time (`once`).
    once: bool,
}

/// The registered listeners, in the order they were added.
#[derive(Default)]
pub struct Listeners {
    list: Vec<Listener>,
    next_id: u64,
}

impl Listeners {
    /// Registers `function` for `name`, once or until removed, and returns
    /// the registration's id. Like `addEventListener`, a function already
    /// registered for `name` is not added again: its registration's id is
    /// returned.
    pub fn add(&mut self, name: &'static str, function: Function, once: bool) -> u64 {
        if let Some(l) = self
            .list
            .iter()
            .find(|l| l.name == name && l.function == function)
        {
            return l.id;
        }
        self.next_id += 1;
        self.list.push(Listener {
            id: self.next_id,
            name,
            function,
            once,
        });
        self.next_id
    }

    /// Removes `function` from `name` (`off`).
    pub fn remove(&mut self, name: &'static str, function: &Function) {
        self.list
            .retain(|l| !(l.name == name && l.function == *function));
    }

    /// Removes the registration `id` (an unsubscribe function; a second
    /// call finds nothing).
    pub fn remove_id(&mut self, id: u64) {
        self.list.retain(|l| l.id != id);
    }

    /// The functions to call for an event `name`; `once` ones are removed.
    pub fn take_calls(&mut self, name: &str) -> Vec<Function> {
        let calls = self
            .list
            .iter()
            .filter(|l| l.name == name)
            .map(|l| l.function.clone())
            .collect();
        self.list.retain(|l| !(l.name == name && l.once));
        calls
    }
}
