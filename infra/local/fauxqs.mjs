// Starts fauxqs (SQS emulator) on a loopback address only.
//
// fauxqs's own CLI (dist/cli.js -> startFauxqs) always listens on 0.0.0.0: FAUXQS_HOST only
// changes the host written into queue URLs, not the bind address. buildApp() is fauxqs's
// documented programmatic entry point and returns the same Fastify app the CLI serves, so we
// listen on it ourselves. Persistence, init files and message spies (startFauxqs extras) are
// not needed for tests.
//
// Needs Node >= 22.5 (fauxqs imports node:sqlite). Environment:
//   FAUXQS_PORT         port to listen on (required; choose a free one)
//   FAUXQS_LISTEN_HOST  bind address, default 127.0.0.1
//   FAUXQS_LOGGER       "true" for Fastify request logs, default off
import { buildApp } from "fauxqs";

const port = Number.parseInt(process.env.FAUXQS_PORT ?? "", 10);
if (!Number.isInteger(port) || port <= 0) {
  console.error("fauxqs.mjs: FAUXQS_PORT must be set to a port number");
  process.exit(2);
}
const host = process.env.FAUXQS_LISTEN_HOST || "127.0.0.1";

const app = buildApp({ logger: process.env.FAUXQS_LOGGER === "true" });
try {
  const address = await app.listen({ port, host });
  console.log(`fauxqs listening on ${address} (pid ${process.pid}, node ${process.version})`);
} catch (err) {
  console.error(`fauxqs.mjs: cannot listen on ${host}:${port}: ${err.message}`);
  process.exit(1);
}

// Close the listener on SIGTERM/SIGINT so the port is released before the process exits.
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    app.close().finally(() => process.exit(0));
  });
}
