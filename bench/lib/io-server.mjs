// The socket.io peer of the reconnect benchmarks, as a process of its own
// so that it can be stopped like imlogin-server: SIGTERM closes every
// client gracefully (`io.close()`, every connection ended, exit), SIGKILL
// is a crash.
//   node bench/lib/io-server.mjs HOST PORT   (PORT 0 picks a free one)
// Prints `listening on http://HOST:PORT` once it accepts connections.
// Default settings, plus CORS so that the benchmark page may poll it.
import http from "node:http";
import { Server } from "socket.io";

const [host = "127.0.0.1", port = "0"] = process.argv.slice(2);
const server = http.createServer();
const sockets = new Set();
server.on("connection", (s) => {
  sockets.add(s);
  s.on("close", () => sockets.delete(s));
});
const io = new Server(server, { cors: { origin: "*" } });
server.listen(Number(port), host, () => {
  const a = server.address();
  process.stdout.write(`listening on http://${a.address}:${a.port}\n`);
});
process.on("SIGTERM", () => {
  // Every client told (engine close), then every connection ended, so that
  // the process exits at once instead of waiting for idle keep-alives.
  io.close(() => process.exit(0));
  for (const s of sockets) s.destroy();
});
