// useImLogin(im): the login state of a LoginManager as React state, through
// useSyncExternalStore, so that every component that calls it re-renders
// when the status, the account or the list of other devices changes.
//
// useSyncExternalStore needs getSnapshot() to return the same object until
// something changes. `im.clients` returns a new array on every read, so the
// store below keeps its own snapshot and replaces it only when the manager
// emits `status` or `clients`.
import { useSyncExternalStore } from "react";
import type { Client, LoginManager, LoginStatus } from "imlogin";

export interface ImLoginState {
  status: LoginStatus;
  /** The account logged in, or being logged in to (lower case). */
  accid: string | undefined;
  /** The account's other live sessions. */
  clients: Client[];
}

interface Store {
  subscribe(onChange: () => void): () => void;
  getSnapshot(): ImLoginState;
}

const SERVER_SNAPSHOT: ImLoginState = { status: "loggedOut", accid: undefined, clients: [] };
const stores = new WeakMap<LoginManager, Store>();

function read(im: LoginManager): ImLoginState {
  return { status: im.status, accid: im.accid, clients: im.clients };
}

function storeFor(im: LoginManager): Store {
  let store = stores.get(im);
  if (store) return store;
  let snapshot = read(im);
  const listeners = new Set<() => void>();
  const update = () => {
    snapshot = read(im);
    for (const listener of listeners) listener();
  };
  store = {
    subscribe(onChange) {
      if (listeners.size === 0) {
        im.on("status", update);
        im.on("clients", update);
        snapshot = read(im);
      }
      listeners.add(onChange);
      return () => {
        listeners.delete(onChange);
        if (listeners.size === 0) {
          im.off("status", update);
          im.off("clients", update);
        }
      };
    },
    getSnapshot: () => snapshot,
  };
  stores.set(im, store);
  return store;
}

export function useImLogin(im: LoginManager): ImLoginState {
  const store = storeFor(im);
  // The server snapshot: during server-side rendering nothing is logged in
  // (the manager only ever exists in the browser).
  return useSyncExternalStore(store.subscribe, store.getSnapshot, () => SERVER_SNAPSHOT);
}
