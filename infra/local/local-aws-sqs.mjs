// Starts local-aws-sqs (an SQS emulator that implements StartMessageMoveTask,
// ListMessageMoveTasks and CancelMessageMoveTask) on a loopback address. The package has no CLI.
//
// createSqsServer's `hostname` is both the listen address and the host in the queue URLs it
// returns, so 127.0.0.1 gives loopback-only binding and URLs that resolve.
//
// Environment:
//   LOCAL_AWS_SQS_PORT  port to listen on (required; choose a free one)
//   LOCAL_AWS_SQS_HOST  bind address / queue URL host, default 127.0.0.1
//   AWS_REGION          region in queue ARNs (read by local-aws-sqs itself), default us-east-1
import { createSqsServer } from "local-aws-sqs";

const port = Number.parseInt(process.env.LOCAL_AWS_SQS_PORT ?? "", 10);
if (!Number.isInteger(port) || port <= 0) {
  console.error("local-aws-sqs.mjs: LOCAL_AWS_SQS_PORT must be set to a port number");
  process.exit(2);
}
const hostname = process.env.LOCAL_AWS_SQS_HOST || "127.0.0.1";

// createSqsServer's promise never settles when listen fails (the error is emitted on the
// server instead), so a bind error would otherwise surface only as an uncaught exception.
process.on("uncaughtException", (err) => {
  console.error(`local-aws-sqs.mjs: ${err.stack ?? err}`);
  process.exit(1);
});

const server = await createSqsServer({
  port,
  hostname,
  // Same account id as fauxqs and LocalStack, so ARNs built by tests match on every server.
  accountId: "000000000000",
  // AWS makes you wait 60 s before re-creating a deleted queue's name; tests that reset
  // their queues must not hit that.
  emulateQueueCreationLifecycle: false,
});
console.log(`local-aws-sqs listening on http://${hostname}:${port} (pid ${process.pid}, node ${process.version})`);

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    // Keep-alive connections can hold close() open; do not let them delay shutdown.
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
