// useImLogin(im): the login state of a LoginManager as React state, through
// useSyncExternalStore, so that every component that calls it re-renders
// when the status, the account or the list of other devices changes.
//
// useSyncExternalStore needs a subscribe function that returns its
// unsubscribe function, and a getSnapshot that returns the same value until
// something changes: `im.on` returns that unsubscribe function, `status` and
// `accid` are strings, and `im.clients` is the same (frozen) array until the
// list changes, so the manager is the store.
import { useCallback, useSyncExternalStore } from "react";
import type { Client, LoginManager, LoginStatus } from "imlogin";

export interface ImLoginState {
  status: LoginStatus;
  /** The account logged in, or being logged in to (lower case). */
  accid: string | undefined;
  /** The account's other live sessions. */
  clients: readonly Client[];
}

// During server-side rendering nothing is logged in (the manager only ever
// exists in the browser).
const NO_CLIENTS: readonly Client[] = Object.freeze([]);

export function useImLogin(im: LoginManager): ImLoginState {
  const subscribe = useCallback(
    (onChange: () => void) => {
      const offStatus = im.on("status", onChange);
      const offClients = im.on("clients", onChange);
      return () => {
        offStatus();
        offClients();
      };
    },
    [im],
  );
  const status = useSyncExternalStore(subscribe, () => im.status, () => "loggedOut" as const);
  const accid = useSyncExternalStore(subscribe, () => im.accid, () => undefined);
  const clients = useSyncExternalStore(subscribe, () => im.clients, () => NO_CLIENTS);
  return { status, accid, clients };
}
