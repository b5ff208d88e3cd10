// The browser side of `tabs: "shared"`: the Web Lock that elects the
// leader, and the BroadcastChannel that carries the group's messages (as
// structured clones). What the tabs do with them is the tab-group core's
// business (imlogin-core's tab_group); this file only talks to the
// browser, and reports every answer of the lock — a refusal included.

export function groupSupported() {
  return typeof BroadcastChannel === "function" &&
    typeof navigator === "object" && navigator !== null &&
    typeof navigator.locks === "object" && navigator.locks !== null &&
    typeof navigator.locks.request === "function";
}

export class GroupLink {
  // name: the group's name (app key and message version).
  // onLock(answer): "granted" (this manager holds the lock: at once, or on
  //   taking over), "held" (another manager holds it; this one now queues
  //   for it) or "failed" (the request was refused or failed: a sandboxed
  //   frame, an opaque origin, a browser that throws).
  // onMessage(data): a message another manager of the group posted.
  constructor(name, onLock, onMessage) {
    this.closed = false;
    this.release = null;
    this.abort = typeof AbortController === "function" ? new AbortController() : null;
    this.channel = new BroadcastChannel(name + ":tabs");
    this.channel.onmessage = (e) => {
      if (!this.closed) onMessage(e.data);
    };
    const lockName = name + ":leader";
    const report = (answer) => {
      if (!this.closed) onLock(answer);
    };
    const failed = () => report("failed");
    const lead = () => {
      if (this.closed) return undefined;
      onLock("granted");
      // Held until close() (or the page goes away): then the browser
      // grants it to the next manager in line.
      return new Promise((resolve) => { this.release = resolve; });
    };
    const queue = () => {
      const options = this.abort ? { signal: this.abort.signal } : {};
      navigator.locks.request(lockName, options, lead).catch(failed);
    };
    try {
      navigator.locks.request(lockName, { ifAvailable: true }, (lock) => {
        if (this.closed) return undefined;
        if (lock) return lead();
        report("held");
        try {
          queue();
        } catch {
          failed();
        }
        return undefined;
      }).catch(failed);
    } catch {
      // A request that throws at once is reported after this constructor
      // returns, like any other answer.
      queueMicrotask(failed);
    }
  }

  post(data) {
    if (!this.closed) this.channel.postMessage(data);
  }

  // Gives the lock back (the next manager in line gets it) when this
  // manager no longer wants it: it was granted after this one fell back to
  // working on its own.
  letGo() {
    if (this.release) this.release();
    this.release = null;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.channel.onmessage = null;
    this.channel.close();
    // Leaves the queue, or hands the lock to the next manager in line.
    if (this.abort) this.abort.abort();
    if (this.release) this.release();
  }
}
