// Package reliability holds the hub's reliability suite: tests, against real
// local servers (fauxqs for SQS, DynamoDB Local), of the promises the hub
// makes about money. Each test asserts exact counts, never timings; a time
// limit in a test only bounds how long it waits for a count.
//
//   - R1 (TestR1): one event delivered 100 times at once is applied once:
//     one state change, 99 "already processed" deliveries.
//   - R2 (TestR2): `hubctl work` killed with SIGKILL in the middle of N
//     events and restarted: every event applied once, nothing left in the
//     queue or the DLQ.
//   - R3 (TestR3): a poison event is tried exactly 3 times on the scaled
//     schedule, lands in the DLQ with its error recorded, and one command
//     (`hubctl failed retry --all`) brings it back to be applied once.
//   - R4 (TestR4): with SQS stopped, the intake answers 503 to every webhook,
//     never 2xx; after SQS is back, the providers' retries are applied once.
//   - R5 (TestR5): DynamoDB stopped while events are being processed: the
//     attempts fail, are retried on schedule and end in the DLQ; after the
//     restart and a redrive each is applied once.
//   - R6 (TestR6): N webhooks at concurrency 64 over HTTP through the whole
//     pipeline: N applied, none lost, none applied twice.
//
// The short forms run in every `go test` (and so in `make test`, which fails
// when they skip). HUB_SOAK=1 (`make soak`) runs the long forms: more events,
// more deliveries, more webhooks.
//
// The local servers keep their state in memory, so a stopped server loses
// it. The outage tests are built around that, and each says in its comment
// what it proves and what it cannot: R4 drains the queue before stopping SQS
// and counts only the deliveries made during and after the outage; R5 stops
// DynamoDB while every event is claimed but none applied, and checks the
// state after the restart only.
//
// The package has no code of its own: only this documentation and the tests.
package reliability
