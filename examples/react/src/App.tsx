import type { LoginError, LoginManager } from "imlogin";
import { useEffect, useState, type FormEvent } from "react";
import { useImLogin } from "./useImLogin";

interface Props {
  im: LoginManager;
  initialAccid: string;
  initialToken: string;
}

export function App({ im, initialAccid, initialToken }: Props) {
  const { status, accid, clients } = useImLogin(im);
  const [error, setError] = useState("");
  // In a real app the accid and token come from your app server once the
  // user signed in to your app; here they are typed (or passed in the URL).
  const [form, setForm] = useState({ accid: initialAccid, token: initialToken });

  const report = (e: unknown) => {
    const { code, message } = e as LoginError;
    setError(`${code}: ${message}`);
  };

  // Resume the session of an earlier visit, if there is one.
  useEffect(() => {
    im.autoLogin().catch(report);
  }, [im]);

  const logIn = (event: FormEvent) => {
    event.preventDefault();
    setError("");
    im.login(form.accid, form.token).catch(report);
  };

  return (
    <main>
      <h1>imlogin — React</h1>
      <p>
        Status: <strong id="status">{status}</strong> {accid && <span>as {accid}</span>}
      </p>
      <form onSubmit={logIn}>
        <label>
          accid <input id="accid" value={form.accid} onChange={(e) => setForm({ ...form, accid: e.target.value })} />
        </label>
        <label>
          token{" "}
          <input id="token" type="password" value={form.token} onChange={(e) => setForm({ ...form, token: e.target.value })} />
        </label>
        <button id="login">Log in</button>
        <button id="logout" type="button" onClick={() => im.logout()}>
          Log out
        </button>
      </form>
      <p role="alert">{error}</p>
      <h2>Other devices</h2>
      <ul>
        {clients.map((c) => (
          <li key={c.clientId}>
            {c.clientType} {c.deviceId} <button onClick={() => im.kickClient(c.clientId).catch(report)}>Kick</button>
          </li>
        ))}
      </ul>
    </main>
  );
}
