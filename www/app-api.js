// The demo app server's API (/app/*): JSON in, {"code":200,...} or
// {"code":N,"desc"} out; the session is an HttpOnly cookie the page never
// sees.

import { appErrorText } from "./words.js";

/** An app server error with a message in words. */
export class AppError extends Error {
  constructor(code, desc) {
    super(appErrorText(code, desc));
    this.name = "AppError";
    this.code = code;
  }
}

async function call(method, path, body) {
  let json;
  try {
    const res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    json = await res.json();
  } catch {
    throw new AppError(0, "");
  }
  if (json.code !== 200) throw new AppError(json.code, json.desc);
  return json;
}

/** `{ appKey }`. */
export const config = () => call("GET", "/app/config");

/** The signed-in user `{ username, accid }`, or null. */
export async function me() {
  try {
    return (await call("GET", "/app/me")).user;
  } catch (e) {
    if (e.code === 403) return null;
    throw e;
  }
}

/** Signs in (`mode` "login") or registers (`mode` "register"). */
export async function signIn(mode, username, password) {
  return (await call("POST", `/app/${mode}`, { username, password })).user;
}

export const signOut = () => call("POST", "/app/logout");

/** `{ accid, token }`, created by the app server on first use. */
export const imCredentials = () => call("POST", "/app/im");
