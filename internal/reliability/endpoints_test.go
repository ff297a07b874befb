package reliability_test

import (
	"context"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/payments-hub/hub/internal/hubtest"
)

// Servers that move: a local server restarted by a test comes back on
// another port. The clients keep their configuration and follow it, as they
// would follow DNS to a replaced host.

type movingEndpoint struct{ u atomic.Pointer[url.URL] }

func (m *movingEndpoint) set(t testing.TB, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	m.u.Store(u)
}

type sqsResolver struct{ *movingEndpoint }

func (r sqsResolver) ResolveEndpoint(context.Context, sqs.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: *r.u.Load()}, nil
}

type dynamoResolver struct{ *movingEndpoint }

func (r dynamoResolver) ResolveEndpoint(context.Context, dynamodb.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: *r.u.Load()}, nil
}

// sqsAt returns an SQS client that follows ep (default SDK retries).
func sqsAt(t testing.TB, ep *movingEndpoint) *sqs.Client {
	return sqs.NewFromConfig(hubtest.Config(t), func(o *sqs.Options) { o.EndpointResolverV2 = sqsResolver{ep} })
}

// dynamoAt returns a DynamoDB client that follows ep (default SDK retries).
func dynamoAt(t testing.TB, ep *movingEndpoint) *dynamodb.Client {
	return dynamodb.NewFromConfig(hubtest.Config(t), func(o *dynamodb.Options) {
		o.EndpointResolverV2 = dynamoResolver{ep}
		o.DisableValidateResponseChecksum = true // DynamoDB Local sends no CRC32 (aws-sdk-go-v2#3545)
	})
}
