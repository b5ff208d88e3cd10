// Turns the JSON that `npm run bench` collected (argv[2], a directory)
// into the Markdown of bench/RESULTS.md (argv[3]) and prints it.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, outFile] = process.argv.slice(2);
const load = (name) => {
  const f = join(dir, name);
  if (!existsSync(f)) return { error: "missing (the step failed; see the log above)" };
  try {
    return JSON.parse(readFileSync(f, "utf8"));
  } catch (e) {
    return { error: `unreadable: ${e.message}` };
  }
};
const meta = load("meta.json");
const size = load("size.json");
const br = load("browser.json");
const cap = load("capacity.json");
const stormOn = load("storm-on.json");
const stormOff = load("storm-off.json");
const cluster = load("cluster.json");

const pct = (xs, q) => {
  const v = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))];
};
const ms = (x) => (x === null || x === undefined ? "—" : x < 10 ? `${x.toFixed(1)} ms` : `${Math.round(x)} ms`);
const kb = (b) => `${(b / 1000).toFixed(1)} kB`;
const x = (r) => (r === null || !Number.isFinite(r) ? "—" : r >= 10 ? `${Math.round(r)}×` : `${r.toFixed(2)}×`);
const n = (v) => Math.round(v).toLocaleString("en-US").replace(/,/g, " ");
const verdict = (ok, how) => (ok ? `met${how ? ` (${how})` : ""}` : `**missed**${how ? ` (${how})` : ""}`);

const lines = [];
const p = (s = "") => lines.push(s);
p("# imlogin benchmarks");
p();
p(`Measured ${meta.date ?? "?"} on ${meta.nproc ?? "?"} × ${meta.cpu ?? "?"}, ${meta.memory ?? "?"} RAM, ${meta.kernel ?? ""}; ` +
  `rustc ${meta.rustc ?? "?"}, node ${meta.node ?? "?"}, Chromium ${br.config?.chromium ?? "?"}. ` +
  `Whole run: ${meta.seconds ?? "?"} s (\`npm run bench\`). Loopback only; every ratio compares two things measured in this run.`);
p();

// ---- summary
const summary = [];
const row = (what, imlogin, other, ratio, goal, status) => summary.push(`| ${what} | ${imlogin} | ${other} | ${ratio} | ${goal} | ${status} |`);
if (!size.error) {
  const im = size.rows.find((r) => r.name === "imlogin");
  const fb = size.rows.find((r) => r.name.startsWith("firebase"));
  row("Size to log in (gzip -9)", kb(im.gzipBytes), `firebase app+auth ${kb(fb.gzipBytes)}`, x(fb.gzipBytes / im.gzipBytes),
    "≤ 40 kB (stretch 30 kB, below firebase)",
    verdict(im.gzipBytes <= 40_000, im.gzipBytes <= 30_000 ? "stretch met too" : `stretch missed by ${kb(im.gzipBytes - 30_000)}`));
}
if (!br.error) {
  const off = br.offline, rs = br.restart;
  const imO = off.map((r) => r.im), ioO = off.map((r) => r.io);
  const i50 = pct(imO, 0.5), o50 = pct(ioO, 0.5), i95 = pct(imO, 0.95), o95 = pct(ioO, 0.95);
  row(`Network back → logged in, p50 (${off.length} rounds)`, ms(i50), `socket.io ${ms(o50)}`, x(o50 / i50),
    "p50 ≤ 50 ms and ≥ 20× faster",
    verdict(i50 <= 50 && o50 / i50 >= 20, i50 > 50 ? `by ${ms(i50 - 50)}` : o50 / i50 < 20 ? `${x(o50 / i50)} < 20×` : ""));
  row("Network back → logged in, p95", ms(i95), `socket.io ${ms(o95)}`, x(o95 / i95), "", "");
  const imR = rs.map((r) => r.im), ioR = rs.map((r) => r.io);
  const r50 = pct(imR, 0.5), s50 = pct(ioR, 0.5), r95 = pct(imR, 0.95), s95 = pct(ioR, 0.95);
  row(`Server restart only → logged in, p50 (${rs.length} rounds)`, ms(r50), `socket.io ${ms(s50)}`, x(s50 / r50), "report", "");
  row("Server restart only → logged in, p95", ms(r95), `socket.io ${ms(s95)}`, x(s95 / r95), "report", "");
  const l50 = pct(br.latency.imlogin, 0.5), f50 = pct(br.latency.raw, 0.5);
  const l95 = pct(br.latency.imlogin, 0.95), f95 = pct(br.latency.raw, 0.95);
  row(`login() → resolved, p50 (${br.latency.imlogin.length} rounds)`, ms(l50), `raw JS floor ${ms(f50)}`, x(l50 / f50), "≤ 1.3× the floor",
    verdict(l50 / f50 <= 1.3, l50 / f50 > 1.3 ? `by ${x(l50 / f50 - 1.3)}` : ""));
  row("login() → resolved, p95", ms(l95), `raw JS floor ${ms(f95)}`, x(l95 / f95), "", "");
}
if (!cap.error) {
  row(`Logins/s, fresh connection + login, one SQLite node (${cap.login.seconds.toFixed(0)} s, ${cap.concurrency} in flight)`,
    `${n(cap.login.perSecond)}/s`, `WebSocket accept+echo ${n(cap.echo.perSecond)}/s`, x(cap.loginToEchoRatio), "≥ 0.6× echo",
    verdict(cap.loginToEchoRatio >= 0.6, cap.loginToEchoRatio < 0.6 ? `by ${x(0.6 - cap.loginToEchoRatio)}` : ""));
  const h = cap.hold;
  row(`Sessions held (ramp to ${n(h.target)})`, `${n(h.held)} in ${h.rampSeconds.toFixed(1)} s`,
    `server RSS ${(h.rssAfterBytes / 1e6).toFixed(0)} MB (${(h.rssPerSessionBytes / 1000).toFixed(1)} kB/session)`, "", `${n(h.target)}`,
    verdict(h.held >= h.target, h.held < h.target ? `by ${n(h.target - h.held)}: fd hard limit ${h.fdLimit ?? "?"} per process` : ""));
}
if (!stormOn.error && !stormOff.error) {
  row(`Reconnect storm, ${n(stormOn.loggedIn)} sessions: all back after restart`, `${(stormOn.allBackAfterUpMs / 1000).toFixed(1)} s (jitter)`,
    `${(stormOff.allBackAfterUpMs / 1000).toFixed(1)} s (no jitter)`, "", "all back, none logged out",
    verdict(stormOn.notBack === 0 && stormOn.endedLoggedOut === 0, `${stormOn.notBack} not back, ${stormOn.endedLoggedOut} logged out`));
  row("Reconnect storm: peak ÷ mean arrivals per 100 ms", x(stormOn.peakToMean), x(stormOff.peakToMean), "", "report", "");
  row("Reconnect storm: peak ÷ mean connection attempts per 100 ms", x(stormOn.attemptPeakToMean), x(stormOff.attemptPeakToMean), "", "report", "");
}
if (!cluster.error) {
  const echo = `accept+echo ${n(cluster.echo.perSecond)}/s`;
  row(`Logins/s, one SQLite node (§6, median of ${cluster.rounds} rounds)`, `${n(cluster.sqliteOneNode.perSecond)}/s`, echo,
    x(cluster.sqliteToEchoRatio), "≥ 0.6× echo",
    verdict(cluster.sqliteToEchoRatio >= 0.6, cluster.sqliteToEchoRatio < 0.6 ? `by ${x(0.6 - cluster.sqliteToEchoRatio)}` : ""));
  row("Logins/s, one PostgreSQL node (same 2 cores)", `${n(cluster.postgresOneNode.perSecond)}/s`, echo,
    x(cluster.postgresOneNodeToEchoRatio), "≥ 0.35× echo",
    verdict(cluster.postgresOneNodeToEchoRatio >= 0.35, cluster.postgresOneNodeToEchoRatio < 0.35 ? `by ${x(0.35 - cluster.postgresOneNodeToEchoRatio)}` : ""));
  row("Logins/s, two PostgreSQL nodes (same 2 cores)", `${n(cluster.postgresTwoNodes.perSecond)}/s`, echo,
    x(cluster.postgresTwoNodesToEchoRatio), "not slower than one node",
    verdict(cluster.twoNodesToOneRatio >= 1, `${x(cluster.twoNodesToOneRatio)} one node's ${n(cluster.postgresOneNode.perSecond)}/s`));
  const k = cluster.kick;
  row(`Kick across nodes → kicked frame, p50 / p95 (${k.crossNodeMs.n} trials)`, `${ms(k.crossNodeMs.p50)} / ${ms(k.crossNodeMs.p95)}`,
    `same node ${ms(k.sameNodeMs.p50)} / ${ms(k.sameNodeMs.p95)}`, x(k.crossNodeMs.p50 / k.sameNodeMs.p50), "report", "");
}
p("| benchmark | imlogin | compared with | ratio | goal | status |");
p("|---|---:|---:|---:|---|---|");
for (const s of summary) p(s);
p();
p("Ratio: compared ÷ imlogin for size and reconnect times (above 1: imlogin smaller or faster); imlogin ÷ floor for login latency; imlogin logins ÷ echo round trips of the same step for throughput (§4, §6).");
p();

// ---- details
p("## 1. Size: what a browser loads to log in");
p();
if (size.error) p(`Failed: ${size.error}`);
else {
  const im = size.rows.find((r) => r.name === "imlogin");
  p("Each bundled the same way: `esbuild --bundle --minify --platform=browser --format=esm`, then `gzip -9`. imlogin: its release package (`npm run build`), the JS entry bundled like the peers plus the `.wasm` it fetches.");
  p();
  p("| library | version | imports | raw | gzip -9 | × imlogin |");
  p("|---|---|---|---:|---:|---:|");
  for (const r of size.rows) p(`| ${r.name} | ${r.version} | ${r.what} | ${kb(r.rawBytes)} | ${kb(r.gzipBytes)} | ${x(r.gzipBytes / im.gzipBytes)} |`);
  p();
  p(`imlogin parts (gzip -9): wasm ${kb(im.parts.wasmGzip)}, JS ${kb(im.parts.jsGzip)}.`);
}
p();
p("## 2. Reconnect after the network returns, and after a server restart");
p();
if (br.error) p(`Failed: ${br.error}`);
else {
  const c = br.config;
  p(`Headless Chromium ${c.chromium}; one page holds a logged-in imlogin session and a connected socket.io-client ${c.socketIo} (both with default settings) against an imlogin-server and a socket.io server on loopback. ` +
    `Offline rounds: \`setOffline(true)\`, stop both servers, wait ${c.downMs / 1000} s, start both, \`setOffline(false)\`; timed from \`setOffline(false)\` to imlogin \`loggedIn\` and socket.io \`connect\`. ` +
    `Restart-only rounds: stop both servers (imlogin-server by SIGTERM, which closes with 1012), wait ${c.downMs / 1000} s, start both; each timed from its own server listening again. ` +
    `${c.lanes} lanes of each kind run at staggered times (own browser context and servers each) so that the ${c.rounds} rounds fit the time budget.`);
  p();
  p("| case | library | p50 | p95 | max | timeouts |");
  p("|---|---|---:|---:|---:|---:|");
  for (const [name, data] of [["network back (offline → online)", br.offline], ["server restart only", br.restart]]) {
    for (const [lib, key] of [["imlogin", "im"], ["socket.io-client", "io"]]) {
      const v = data.map((r) => r[key]);
      p(`| ${name} | ${lib} | ${ms(pct(v, 0.5))} | ${ms(pct(v, 0.95))} | ${ms(pct(v, 1))} | ${v.filter((t) => t === null).length} |`);
    }
  }
  p();
  p("Why they differ: on `online` imlogin connects at once; socket.io-client has no online listener and waits out its backoff (1 s doubling to 5 s, ±50 %). After a restart without a network event both wait out their backoff: imlogin's full jitter (`random(0, min(30 s, 1 s·2ⁿ))`) against socket.io's capped 5 s ± 50 %.");
  p();
  p("## 3. Login latency");
  p();
  p(`\`await im.login(accid, token)\` from \`loggedOut\` (a \`logout()\` between rounds, not timed) against a hand-written floor in the same page: \`new WebSocket\`, send the login frame on open, resolve on \`loginOk\`. ${br.latency.imlogin.length} rounds each, alternating, after 5 warm-up rounds.`);
  p();
  p("| | p50 | p95 | max |");
  p("|---|---:|---:|---:|");
  p(`| imlogin \`login()\` | ${ms(pct(br.latency.imlogin, 0.5))} | ${ms(pct(br.latency.imlogin, 0.95))} | ${ms(pct(br.latency.imlogin, 1))} |`);
  p(`| raw JS floor | ${ms(pct(br.latency.raw, 0.5))} | ${ms(pct(br.latency.raw, 0.95))} | ${ms(pct(br.latency.raw, 1))} |`);
}
p();
p("## 4. Server capacity");
p();
if (cap.error) p(`Failed: ${cap.error}`);
else {
  p(`Release build (profile \`bench-release\`) on loopback, load generator \`bench/loadgen\` on the same 2 cores. Client sockets spread over ${cap.sources} source addresses (127.0.0.2 …). ` +
    `Each attempt: a fresh TCP connection, WebSocket handshake, one frame and its answer, close. Baseline: a bare tokio-tungstenite accept + echo server (same frame).`);
  p();
  p(`Abuse limits: ${meta.abuseLimits ?? "?"}`);
  p();
  const cpu = (r) => (r.serverCpuUsPerOp ? `${Math.round(r.serverCpuUsPerOp)} µs` : "—");
  p("| | per second | ok | failed | server CPU per attempt |");
  p("|---|---:|---:|---:|---:|");
  p(`| WebSocket accept + echo (baseline) | ${n(cap.echo.perSecond)} | ${n(cap.echo.ok)} | ${cap.echo.failed} | ${cpu(cap.echo)} |`);
  p(`| imlogin: connect + login → loginOk | ${n(cap.login.perSecond)} | ${n(cap.login.ok)} | ${cap.login.failed} | ${cpu(cap.login)} |`);
  p();
  const h = cap.hold;
  p(`Held sessions: ${n(h.held)} of ${n(h.target)} (failed ${n(h.failed)}), ramped in ${h.rampSeconds.toFixed(1)} s by ${2} worker processes, 128 logins in flight each. ` +
    `Server RSS ${(h.rssBeforeBytes / 1e6).toFixed(1)} MB before → ${(h.rssAfterBytes / 1e6).toFixed(1)} MB with them held (${(h.rssPerSessionBytes / 1000).toFixed(1)} kB per session). ` +
    `Open-files limit per process: ${h.fdLimit ?? "?"} (the container's hard limit), which caps one server process just below 20 000 sockets.`);
}
p();
p("## 5. Reconnect storm");
p();
if (stormOn.error || stormOff.error) p(`Failed: ${stormOn.error ?? stormOff.error}`);
else {
  p(`Native clients (\`imlogin-native\`: the browser package's own login machine on tokio), default backoff; the server stopped with SIGTERM (every session closed with 1012) and started again on the same port and database. Times from the SIGTERM; arrivals are \`loggedIn\` again.`);
  p();
  p("| | jitter on (default) | jitter off |");
  p("|---|---:|---:|");
  const both = (label, f) => p(`| ${label} | ${f(stormOn)} | ${f(stormOff)} |`);
  both("sessions logged in before", (s) => n(s.loggedIn));
  both("server down → listening again", (s) => `${ms(s.serverDownMs)} → ${ms(s.serverUpMs)}`);
  both("all back (after SIGTERM)", (s) => ms(s.allBackMs));
  both("all back (after listening again)", (s) => ms(s.allBackAfterUpMs));
  both("p50 / p95 back", (s) => `${ms(s.p50BackMs)} / ${ms(s.p95BackMs)}`);
  both("peak arrivals per 100 ms", (s) => n(s.peakPerBucket));
  both("mean arrivals per 100 ms (first to last)", (s) => s.meanPerBucket.toFixed(0));
  both("peak ÷ mean", (s) => x(s.peakToMean));
  both("connection attempts (peak / mean per 100 ms)", (s) => `${n(s.attempts)} (${n(s.attemptPeakPerBucket)} / ${s.attemptMeanPerBucket.toFixed(0)})`);
  both("`reconnecting` events (the drop + each failed attempt)", (s) => n(s.retries));
  both("not back within the deadline", (s) => n(s.notBack));
  both("ended logged out", (s) => n(s.endedLoggedOut));
  p();
  const spark = (b) => {
    const bars = " ▁▂▃▄▅▆▇█";
    const max = Math.max(...b, 1);
    return b.map((v) => bars[Math.min(8, Math.ceil((v / max) * 8))]).join("");
  };
  p("Per 100 ms from the SIGTERM, each row scaled to its own peak (`|` marks the new server listening):");
  p();
  p("```");
  const mark = (b, s) => { const i = Math.floor(s.serverUpMs / 100); return spark(b.slice(0, i)) + "|" + spark(b.slice(i)); };
  p(`arrivals, jitter on  : ${mark(stormOn.buckets, stormOn)}`);
  p(`arrivals, jitter off : ${mark(stormOff.buckets, stormOff)}`);
  p(`attempts, jitter on  : ${mark(stormOn.attemptBuckets, stormOn)}`);
  p(`attempts, jitter off : ${mark(stormOff.attemptBuckets, stormOff)}`);
  p("```");
}
p();
p("## 6. Two nodes on PostgreSQL");
p();
if (cluster.error) p(`Failed: ${cluster.error}`);
else {
  p("`imlogin-loadgen cluster` (docs/deploy.md): the capacity loop (fresh connection + login → loginOk) against one SQLite node, one PostgreSQL node, and two PostgreSQL nodes on one database with the workers split between them, " +
    `each beside the bare accept + echo baseline, in ${cluster.rounds} interleaved rounds of ${n(cluster.echo.seconds / cluster.rounds)} s (each rate the median of its rounds, all listed; each ratio the median of the rounds' ratios, so that a login rate is compared with the echo measured beside it); ` +
    "then kick trials: a session on node A, a manual login from another device on node B, timed from sending that login to the `kicked` frame on A — against the same trial with both on node A, interleaved. " +
    "The load generator, the nodes and PostgreSQL (a throwaway cluster, fsync off) share the 2 cores, so two nodes cannot add a core here. " +
    "Server CPU is the imlogin-server processes' own (user + system) per success; PostgreSQL's processes are not counted in it.");
  p();
  p("| | logins per second | ÷ echo | rounds | ok | failed | server CPU per attempt |");
  p("|---|---:|---:|---|---:|---:|---:|");
  const cpu = (r) => (r.serverCpuUsPerOp ? `${Math.round(r.serverCpuUsPerOp)} µs` : "—");
  for (const [label, r, ratio] of [["WebSocket accept + echo (baseline)", cluster.echo, 1], ["one node, SQLite", cluster.sqliteOneNode, cluster.sqliteToEchoRatio],
    ["one node, PostgreSQL", cluster.postgresOneNode, cluster.postgresOneNodeToEchoRatio], ["two nodes, PostgreSQL", cluster.postgresTwoNodes, cluster.postgresTwoNodesToEchoRatio]])
    p(`| ${label} | ${n(r.perSecond)} | ${x(ratio)} | ${(r.rounds ?? []).map(n).join(", ")} | ${n(r.ok)} | ${r.failed} | ${cpu(r)} |`);
  p();
  const k = cluster.kick;
  p("| kick → `kicked` | p50 | p95 | max | trials |");
  p("|---|---:|---:|---:|---:|");
  p(`| across nodes (login on B) | ${ms(k.crossNodeMs.p50)} | ${ms(k.crossNodeMs.p95)} | ${ms(k.crossNodeMs.max)} | ${k.crossNodeMs.n} |`);
  p(`| same node (baseline) | ${ms(k.sameNodeMs.p50)} | ${ms(k.sameNodeMs.p95)} | ${ms(k.sameNodeMs.max)} | ${k.sameNodeMs.n} |`);
  if (k.sqliteNodeMs) p(`| one SQLite node (no database round trips) | ${ms(k.sqliteNodeMs.p50)} | ${ms(k.sqliteNodeMs.p95)} | ${ms(k.sqliteNodeMs.max)} | ${k.sqliteNodeMs.n} |`);
  p();
  p(`Failed trials: ${k.failed}.`);
}
p();
p("Reproduce: `npm run bench` (installs bench/ dependencies with `npm ci --prefix bench` when needed, builds the package and the `bench-release` binaries, runs everything, writes this file).");

const md = lines.join("\n") + "\n";
writeFileSync(outFile, md);
process.stdout.write(md);
