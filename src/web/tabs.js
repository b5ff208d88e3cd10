// Cross-tab plumbing for `tabs: "shared"`: leader election with the Web
// Locks API and string messages over a BroadcastChannel. The Rust side
// (tabs.rs) decides what the roles do; this file only talks to the browser.

export function tabsSupported() {
  return typeof BroadcastChannel === "function" &&
    typeof navigator === "object" && navigator !== null &&
    typeof navigator.locks === "object" && navigator.locks !== null &&
    typeof navigator.locks.request === "function";
}

export class TabLink {
  // onLeader(): this manager holds the lock (at once, or on takeover).
  // onFollower(): another manager held it when this one asked.
  // onMessage(text): a message another manager posted.
  constructor(name, onLeader, onFollower, onMessage) {
    this.closed = false;
    this.release = null;
    this.channel = new BroadcastChannel(name + ":tabs");
    this.channel.onmessage = (e) => {
      if (!this.closed && typeof e.data === "string") onMessage(e.data);
    };
    const lockName = name + ":leader";
    const hold = () => new Promise((resolve) => { this.release = resolve; });
    const lead = () => {
      if (this.closed) return undefined;
      onLeader();
      return hold();
    };
    navigator.locks.request(lockName, { ifAvailable: true }, (lock) => {
      if (this.closed) return undefined;
      if (lock) return lead();
      onFollower();
      // Queue for the lock: granted when the leader's tab closes or crashes.
      navigator.locks.request(lockName, lead).catch(() => {});
      return undefined;
    }).catch(() => {});
  }

  post(text) {
    if (!this.closed) this.channel.postMessage(text);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.channel.onmessage = null;
    this.channel.close();
    // Releasing the lock hands leadership to the next manager in line; a
    // request still queued is granted later and returns at once.
    if (this.release) this.release();
  }
}
