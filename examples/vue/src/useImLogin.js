// useImLogin(im): the login state of a LoginManager as Vue refs, kept up to
// date from the manager's events, and its commands. Call it in setup();
// the listeners are removed when the component's scope ends.
import { onScopeDispose, readonly, ref, shallowRef } from "vue";

export function useImLogin(im) {
  const status = ref(im.status);
  const accid = ref(im.accid);
  // A new array on every change: shallowRef is enough.
  const clients = shallowRef(im.clients);
  const error = shallowRef(null);

  const onStatus = (next) => {
    status.value = next;
    accid.value = im.accid;
  };
  const onClients = (list) => {
    clients.value = list;
  };
  const onFailed = (e) => {
    error.value = e;
  };
  im.on("status", onStatus);
  im.on("clients", onClients);
  im.on("loginFailed", onFailed);
  onScopeDispose(() => {
    im.off("status", onStatus);
    im.off("clients", onClients);
    im.off("loginFailed", onFailed);
  });

  // Rejections also reach `error` through loginFailed; swallow them here so
  // that a template's @click needs no catch.
  const quietly = (promise) => promise.catch((e) => (error.value = e));
  return {
    status: readonly(status),
    accid: readonly(accid),
    clients: readonly(clients),
    error: readonly(error),
    login: (id, token, options) => {
      error.value = null;
      return quietly(im.login(id, token, options));
    },
    autoLogin: () => quietly(im.autoLogin()),
    logout: () => im.logout(),
    kickClient: (clientId) => quietly(im.kickClient(clientId)),
  };
}
