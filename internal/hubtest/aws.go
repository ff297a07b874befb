// Package hubtest is the hub's test support: clients for the real local SQS
// and DynamoDB servers that `make test` starts (infra/localaws), or for
// LocalStack when AWS_ENDPOINT_URL points there; the hub's resources on them
// (a queue with its DLQ and redrive policy, the tables), uniquely named per
// test; a stand-in for Monetbil's checkPayment; a log sink; and hubctl,
// built once per test binary and run as a process.
//
// Under a plain `go test` with no endpoint set, integration tests skip and
// say how to run them. `make test` sets HUB_REQUIRE_INTEGRATION=1, which turns
// every such skip into a failure, so that a skipped test is never counted as
// passed there.
package hubtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Endpoint variables the tests read.
const (
	EnvSQS      = "AWS_ENDPOINT_URL_SQS"
	EnvDynamoDB = "AWS_ENDPOINT_URL_DYNAMODB"
	// EnvMoveTaskSQS names an SQS server that implements
	// StartMessageMoveTask (local-aws-sqs), for the redrive tests.
	EnvMoveTaskSQS = "HUB_MOVE_TASK_SQS_ENDPOINT"
	// EnvRequire makes a missing server a failure instead of a skip.
	EnvRequire = "HUB_REQUIRE_INTEGRATION"
)

// Require skips (or, under `make test`, fails) the test unless every named
// variable is set, and returns their values.
func Require(t testing.TB, vars ...string) []string {
	t.Helper()
	var missing []string
	vals := make([]string, len(vars))
	for i, v := range vars {
		vals[i] = os.Getenv(v)
		if vals[i] == "" && os.Getenv("AWS_ENDPOINT_URL") != "" && v != EnvMoveTaskSQS {
			vals[i] = os.Getenv("AWS_ENDPOINT_URL")
		}
		if vals[i] == "" {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		msg := "integration test needs " + strings.Join(missing, ", ") + ": run `make test` (it starts local servers), or set them yourself, e.g. `go run ./infra/localaws exec -- go test ./...`"
		if os.Getenv(EnvRequire) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return vals
}

// Config returns an AWS configuration from the environment, with test
// credentials and region when none are set (local servers accept any).
func Config(t testing.TB) aws.Config {
	t.Helper()
	var opts []func(*config.LoadOptions) error
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion("us-east-1"))
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	return cfg
}

// SQS returns a client for the SQS server the environment names.
func SQS(t testing.TB) *sqs.Client {
	t.Helper()
	Require(t, EnvSQS)
	return sqs.NewFromConfig(Config(t))
}

// MoveTaskSQS returns a client for the SQS server that implements message
// move tasks.
func MoveTaskSQS(t testing.TB) *sqs.Client {
	t.Helper()
	ep := Require(t, EnvMoveTaskSQS)[0]
	return sqs.NewFromConfig(Config(t), func(o *sqs.Options) { o.BaseEndpoint = aws.String(ep) })
}

// DynamoDB returns a client for the DynamoDB server the environment names.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	Require(t, EnvDynamoDB)
	return dynamodb.NewFromConfig(Config(t), func(o *dynamodb.Options) {
		// DynamoDB Local omits the CRC32 header the SDK checks (aws-sdk-go-v2#3545).
		o.DisableValidateResponseChecksum = true
	})
}

// Name returns a unique resource name with the given prefix, so that tests
// sharing one server never see each other's queues or tables.
func Name(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}
