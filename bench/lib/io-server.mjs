// The socket.io peer of the reconnect benchmarks, as a process of its own
// so that it can be stopped like imlogin-server: SIGTERM closes every
// client gracefully (`io.close()`, then exit), SIGKILL is a crash.
//   node bench/lib/io-server.mjs HOST PORT   (PORT 0 picks a free one)
// Prints `listening on http://HOST:PORT` once it accepts connections.
// Default settings, plus CORS so that the benchmark page may poll it.
import http from "node:http";
import { Server } from "socket.io";

const [host = "127.0.0.1", port = "0"] = process.argv.slice(2);
const server = http.createServer();
const io = new Server(server, { cors: { origin: "*" } });
server.listen(Number(port), host, () => {
  const a = server.address();
  process.stdout.write(`listening on http://${a.address}:${a.port}\n`);
});
process.on("SIGTERM", () => {
  // Exit even if a client keeps a connection open past the close.
  setTimeout(() => process.exit(0), 5_000).unref();
  io.close(() => process.exit(0));
});
