// Package functions holds one folder per deployed Lambda (ingest, processor,
// redriver), each a short main.go that only wires. The tests in this folder
// build the real bootstrap binaries and run them under the AWS Lambda
// Runtime Interface Emulator, so that what is tested is what is deployed.
package functions
