package provision_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/provision"
)

// servers are the SQS servers every integration test runs against.
var servers = []struct {
	name   string
	client func(testing.TB) *sqs.Client
}{
	{"fauxqs", hubtest.SQS},                // AWS_ENDPOINT_URL_SQS
	{"local-aws-sqs", hubtest.MoveTaskSQS}, // HUB_MOVE_TASK_SQS_ENDPOINT
}

// forEachServer runs test as a parallel subtest per server.
func forEachServer(t *testing.T, test func(t *testing.T, api *sqs.Client)) {
	t.Helper()
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			test(t, s.client(t))
		})
	}
}

// newSpec returns a spec with unique names whose queues are deleted when
// the test ends.
func newSpec(t *testing.T, api *sqs.Client) provision.QueueSpec {
	t.Helper()
	spec := provision.QueueSpec{Name: hubtest.Name("hub"), DLQName: hubtest.Name("hub-dlq")}
	spec.SetDefaults()
	t.Cleanup(func() {
		for _, name := range []string{spec.Name, spec.DLQName} {
			out, err := api.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
			if err == nil {
				_, _ = api.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
			}
		}
	})
	return spec
}

func mustQueues(t *testing.T, api *sqs.Client, spec provision.QueueSpec) provision.QueuePair {
	t.Helper()
	q, err := provision.Queues(context.Background(), api, spec)
	if err != nil {
		t.Fatalf("Queues: %v", err)
	}
	return q
}

func attributes(t *testing.T, api *sqs.Client, url string) map[string]string {
	t.Helper()
	out, err := api.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes(%s): %v", url, err)
	}
	return out.Attributes
}

func TestQueuesCreatesProductionSettings(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, api *sqs.Client) {
		spec := newSpec(t, api)
		q := mustQueues(t, api, spec)

		if want := []string{spec.DLQName, spec.Name}; !slices.Equal(q.Created, want) {
			t.Errorf("Created = %q, want %q", q.Created, want)
		}
		if provision.QueueNameFromURL(q.URL) != spec.Name || provision.QueueNameFromURL(q.DLQURL) != spec.DLQName {
			t.Errorf("URLs %s, %s do not name %s, %s", q.URL, q.DLQURL, spec.Name, spec.DLQName)
		}
		if !strings.HasSuffix(q.ARN, ":"+spec.Name) || !strings.HasSuffix(q.DLQARN, ":"+spec.DLQName) {
			t.Errorf("ARNs %s, %s do not name %s, %s", q.ARN, q.DLQARN, spec.Name, spec.DLQName)
		}

		src := attributes(t, api, q.URL)
		for name, want := range map[string]string{
			"QueueArn":                      q.ARN,
			"VisibilityTimeout":             "60",
			"MessageRetentionPeriod":        "345600",
			"MaximumMessageSize":            "1048576",
			"ReceiveMessageWaitTimeSeconds": "20",
			"SqsManagedSseEnabled":          "true",
		} {
			if src[name] != want {
				t.Errorf("source %s = %q, want %q", name, src[name], want)
			}
		}
		arn, n, err := provision.ParseRedrivePolicy(src["RedrivePolicy"])
		if err != nil || arn != q.DLQARN || n != 3 {
			t.Errorf("RedrivePolicy %s parses to %q, %d, %v; want %q, 3", src["RedrivePolicy"], arn, n, err, q.DLQARN)
		}
		// maxReceiveCount travels as a JSON number, the form AWS returns.
		var raw map[string]any
		if err := json.Unmarshal([]byte(src["RedrivePolicy"]), &raw); err != nil {
			t.Fatal(err)
		}
		if _, ok := raw["maxReceiveCount"].(float64); !ok {
			t.Errorf("RedrivePolicy maxReceiveCount is %T, want a JSON number", raw["maxReceiveCount"])
		}

		dlq := attributes(t, api, q.DLQURL)
		for name, want := range map[string]string{
			"QueueArn":               q.DLQARN,
			"MessageRetentionPeriod": "1209600",
			"SqsManagedSseEnabled":   "true",
		} {
			if dlq[name] != want {
				t.Errorf("DLQ %s = %q, want %q", name, dlq[name], want)
			}
		}
		var allow struct {
			RedrivePermission string   `json:"redrivePermission"`
			SourceQueueArns   []string `json:"sourceQueueArns"`
		}
		if err := json.Unmarshal([]byte(dlq["RedriveAllowPolicy"]), &allow); err != nil {
			t.Fatalf("DLQ RedriveAllowPolicy %q: %v", dlq["RedriveAllowPolicy"], err)
		}
		if allow.RedrivePermission != "byQueue" || !slices.Equal(allow.SourceQueueArns, []string{q.ARN}) {
			t.Errorf("DLQ RedriveAllowPolicy = %s, want byQueue [%s]", dlq["RedriveAllowPolicy"], q.ARN)
		}
	})
}

func TestQueuesTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, api *sqs.Client) {
		spec := newSpec(t, api)
		first := mustQueues(t, api, spec)
		before := [2]map[string]string{attributes(t, api, first.URL), attributes(t, api, first.DLQURL)}

		second := mustQueues(t, api, spec)
		if len(second.Created) != 0 {
			t.Errorf("second call Created = %q, want none", second.Created)
		}
		second.Created = first.Created
		if !equalPairs(first, second) {
			t.Errorf("second call = %+v, want %+v", second, first)
		}
		after := [2]map[string]string{attributes(t, api, first.URL), attributes(t, api, first.DLQURL)}
		for i := range before {
			if !maps.Equal(before[i], after[i]) {
				t.Errorf("attributes changed:\nbefore %v\nafter  %v", before[i], after[i])
			}
		}
	})
}

func equalPairs(a, b provision.QueuePair) bool {
	return a.URL == b.URL && a.ARN == b.ARN && a.DLQURL == b.DLQURL && a.DLQARN == b.DLQARN && slices.Equal(a.Created, b.Created)
}

func TestQueuesReportsDriftWithoutChangingTheQueue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		modify    func(*provision.QueueSpec)
		queue     func(provision.QueueSpec) string
		attribute string
		want, got string
	}{
		{"visibility timeout", func(s *provision.QueueSpec) { s.VisibilityTimeout = 30 * time.Second },
			func(s provision.QueueSpec) string { return s.Name }, "VisibilityTimeout", "30", "60"},
		{"retention", func(s *provision.QueueSpec) { s.Retention = 24 * time.Hour },
			func(s provision.QueueSpec) string { return s.Name }, "MessageRetentionPeriod", "86400", "345600"},
		{"max receive count", func(s *provision.QueueSpec) { s.MaxReceiveCount = 5 },
			func(s provision.QueueSpec) string { return s.Name }, "RedrivePolicy", `"maxReceiveCount":5`, `"maxReceiveCount":3`},
		{"DLQ retention", func(s *provision.QueueSpec) { s.DLQRetention = 7 * 24 * time.Hour },
			func(s provision.QueueSpec) string { return s.DLQName }, "MessageRetentionPeriod", "604800", "1209600"},
	}
	forEachServer(t, func(t *testing.T, api *sqs.Client) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				spec := newSpec(t, api)
				q := mustQueues(t, api, spec)
				before := [2]map[string]string{attributes(t, api, q.URL), attributes(t, api, q.DLQURL)}

				changed := spec
				tt.modify(&changed)
				_, err := provision.Queues(context.Background(), api, changed)
				var drift *provision.DriftError
				if !errors.As(err, &drift) {
					t.Fatalf("Queues = %v, want a *DriftError", err)
				}
				t.Log(err)
				if drift.Queue != tt.queue(spec) || drift.Attribute != tt.attribute || drift.Created || drift.Missing {
					t.Errorf("DriftError = %+v, want queue %s, attribute %s", drift, tt.queue(spec), tt.attribute)
				}
				for _, s := range []string{tt.queue(spec), tt.attribute, tt.want, tt.got} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				after := [2]map[string]string{attributes(t, api, q.URL), attributes(t, api, q.DLQURL)}
				for i := range before {
					if !maps.Equal(before[i], after[i]) {
						t.Errorf("attributes changed:\nbefore %v\nafter  %v", before[i], after[i])
					}
				}
			})
		}
	})
}

func TestQueuesRedriveAllowPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy func(q provision.QueuePair) string
		ok     bool
	}{
		{"allowAll admits the source", func(provision.QueuePair) string { return `{"redrivePermission":"allowAll"}` }, true},
		{"byQueue listing other queues too", func(q provision.QueuePair) string {
			return `{"redrivePermission":"byQueue","sourceQueueArns":["` + q.DLQARN + `-other","` + q.ARN + `"]}`
		}, true},
		{"denyAll is drift", func(provision.QueuePair) string { return `{"redrivePermission":"denyAll"}` }, false},
		{"byQueue without the source is drift", func(q provision.QueuePair) string {
			return `{"redrivePermission":"byQueue","sourceQueueArns":["` + q.ARN + `-other"]}`
		}, false},
	}
	forEachServer(t, func(t *testing.T, api *sqs.Client) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				spec := newSpec(t, api)
				q := mustQueues(t, api, spec)
				if _, err := api.SetQueueAttributes(context.Background(), &sqs.SetQueueAttributesInput{
					QueueUrl: aws.String(q.DLQURL), Attributes: map[string]string{"RedriveAllowPolicy": tt.policy(q)},
				}); err != nil {
					t.Fatal(err)
				}
				_, err := provision.Queues(context.Background(), api, spec)
				if tt.ok {
					if err != nil {
						t.Fatalf("Queues: %v", err)
					}
				} else {
					var drift *provision.DriftError
					if !errors.As(err, &drift) || drift.Attribute != "RedriveAllowPolicy" || drift.Queue != spec.DLQName {
						t.Fatalf("Queues = %v, want a RedriveAllowPolicy *DriftError on %s", err, spec.DLQName)
					}
				}
				if got := attributes(t, api, q.DLQURL)["RedriveAllowPolicy"]; got != tt.policy(q) {
					t.Errorf("RedriveAllowPolicy changed to %s", got)
				}
			})
		}
	})
}

// Queues made by another tool that wrote maxReceiveCount as a string are
// the same queues: no drift.
func TestQueuesAcceptsStringMaxReceiveCount(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, api *sqs.Client) {
		ctx := context.Background()
		spec := newSpec(t, api)
		dlq, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(spec.DLQName), Attributes: map[string]string{
			"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true",
		}})
		if err != nil {
			t.Fatal(err)
		}
		dlqARN := attributes(t, api, aws.ToString(dlq.QueueUrl))["QueueArn"]
		policy := `{"deadLetterTargetArn":"` + dlqARN + `","maxReceiveCount":"3"}`
		if _, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(spec.Name), Attributes: map[string]string{
			"VisibilityTimeout": "60", "MessageRetentionPeriod": "345600", "MaximumMessageSize": "1048576",
			"ReceiveMessageWaitTimeSeconds": "20", "SqsManagedSseEnabled": "true", "RedrivePolicy": policy,
		}}); err != nil {
			t.Fatal(err)
		}

		q := mustQueues(t, api, spec)
		if len(q.Created) != 0 {
			t.Errorf("Created = %q, want none", q.Created)
		}
		got := attributes(t, api, q.URL)["RedrivePolicy"]
		if got != policy {
			t.Errorf("RedrivePolicy = %s, want it left as %s", got, policy)
		}
		if _, n, err := provision.ParseRedrivePolicy(got); err != nil || n != 3 {
			t.Errorf("ParseRedrivePolicy(%s) = %d, %v; want 3", got, n, err)
		}
	})
}

// The redrive policy really dead-letters: three receives deliver the
// message, and it is in the DLQ instead of a fourth delivery.
//
// Each receive hides the message for 1 s and the next one long-polls until
// it is back. Two shortcuts do not work: the SDK leaves a receive's
// VisibilityTimeout of 0 out of the request (the queue's 60 s applies), and
// local-aws-sqs counts a ChangeMessageVisibility as one more receive.
func TestQueuesRedrivePolicyDeadLetters(t *testing.T) {
	t.Parallel()
	forEachServer(t, func(t *testing.T, api *sqs.Client) {
		ctx := context.Background()
		spec := newSpec(t, api)
		q := mustQueues(t, api, spec)
		if _, err := api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("evt_dead")}); err != nil {
			t.Fatal(err)
		}
		for attempt := 1; attempt <= spec.MaxReceiveCount; attempt++ {
			m, ok := receiveOne(t, api, q.URL)
			if !ok {
				t.Fatalf("receive %d: no message", attempt)
			}
			if got := m.Attributes["ApproximateReceiveCount"]; got != strconv.Itoa(attempt) {
				t.Fatalf("receive %d: ApproximateReceiveCount = %q", attempt, got)
			}
		}
		if m, ok := receiveOne(t, api, q.URL); ok {
			t.Fatalf("receive %d delivered %q (count %s), want it dead-lettered", spec.MaxReceiveCount+1, aws.ToString(m.Body), m.Attributes["ApproximateReceiveCount"])
		}
		m, ok := receiveOne(t, api, q.DLQURL)
		if !ok || aws.ToString(m.Body) != "evt_dead" {
			t.Fatalf("DLQ message = %q, %v; want evt_dead", aws.ToString(m.Body), ok)
		}
	})
}

// receiveOne receives at most one message, hiding it for 1 s, and waits up
// to 3 s for one to be visible. WaitTimeSeconds must be set: the queue's
// default is a 20 s long poll.
func receiveOne(t *testing.T, api *sqs.Client, url string) (types.Message, bool) {
	t.Helper()
	out, err := api.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         1,
		VisibilityTimeout:           1,
		WaitTimeSeconds:             3,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		// local-aws-sqs reads system attributes from the older field only.
		AttributeNames: []types.QueueAttributeName{"ApproximateReceiveCount"}, //nolint:staticcheck // see above
	})
	if err != nil {
		t.Fatalf("ReceiveMessage(%s): %v", url, err)
	}
	if len(out.Messages) == 0 {
		return types.Message{}, false
	}
	return out.Messages[0], true
}
