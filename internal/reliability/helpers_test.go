package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/retry"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/store/dynamostore"
	"github.com/payments-hub/hub/internal/stripewebhook"
	"github.com/payments-hub/hub/internal/worker"
)

// EnvSoak selects the long forms (`make soak`).
const EnvSoak = "HUB_SOAK"

const (
	stripeSecret   = "whsec_reliability"
	monetbilSecret = "monetbil_reliability"
)

// scaled is the seed's schedule (10, 30, 60 s) scaled down to 1, 2, 3 s.
var scaled = retry.Policy{Backoff: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, MaxAttempts: 3}

// size picks the short or the soak form of a count.
func size(short, long int) int {
	if os.Getenv(EnvSoak) == "1" {
		return long
	}
	return short
}

// bound picks the short or the soak form of a wait limit.
func bound(short, long time.Duration) time.Duration {
	if os.Getenv(EnvSoak) == "1" {
		return long
	}
	return short
}

// ---------------------------------------------------------------------------
// Webhooks as the providers send them.

// hook is one provider event: what is posted, and what it must become.
type hook struct {
	provider  string
	eventKey  string
	txID      string
	paymentID string // Monetbil's transaction_id, asked about with checkPayment
	body      string
}

// stripeHook is a payment_intent.succeeded event for its own transaction.
func stripeHook(prefix string, i int) hook {
	id := fmt.Sprintf("evt_%s_%d", prefix, i)
	tx := fmt.Sprintf("tx_%s_s%d", prefix, i)
	body := fmt.Sprintf(`{"id":%q,"object":"event","type":"payment_intent.succeeded","created":%d,"livemode":false,`+
		`"data":{"object":{"id":"pi_%s_%d","object":"payment_intent","amount":%d,"currency":"eur","metadata":{"transaction_id":%q}}}}`,
		id, time.Now().Unix(), prefix, i, 1000+i, tx)
	return hook{provider: envelope.ProviderStripe, eventKey: id, txID: tx, body: body}
}

// monetbilHook is a success notification for its own transaction.
func monetbilHook(prefix string, i int) hook {
	pay := fmt.Sprintf("MB-%s-%d", prefix, i)
	tx := fmt.Sprintf("tx_%s_m%d", prefix, i)
	form := url.Values{
		"service": {"svc_reliability"}, "transaction_id": {pay}, "msisdn": {"237670000001"}, "amount": {strconv.Itoa(500 + i)},
		"status": {"success"}, "payment_ref": {tx}, "currency": {"XAF"},
	}
	form.Set("sign", monetbil.Sign(monetbilSecret, form))
	return hook{provider: envelope.ProviderMonetbil, eventKey: pay + ":success", txID: tx, paymentID: pay, body: form.Encode()}
}

// mixedHooks returns n events, one in four from Monetbil, each confirmed by
// checker (nil: no Monetbil events).
func mixedHooks(prefix string, n int, checker *hubtest.Monetbil) []hook {
	hooks := make([]hook, n)
	for i := range hooks {
		if checker != nil && i%4 == 3 {
			hooks[i] = monetbilHook(prefix, i)
			checker.Set(hooks[i].paymentID, 1, 0, 0)
		} else {
			hooks[i] = stripeHook(prefix, i)
		}
	}
	return hooks
}

// request builds the provider's POST. A Stripe retry carries a fresh
// signature, as Stripe's do.
func (h hook) request(base string) (*http.Request, error) {
	switch h.provider {
	case envelope.ProviderStripe:
		req, err := http.NewRequest(http.MethodPost, base+intake.PathStripe, strings.NewReader(h.body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(h.body), Secret: stripeSecret}).Header)
		return req, nil
	default:
		req, err := http.NewRequest(http.MethodPost, base+intake.PathMonetbil, strings.NewReader(h.body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req, nil
	}
}

// envelope is what the intake would queue for h.
func (h hook) envelope() envelope.Envelope {
	typ := "payment_intent.succeeded"
	if h.provider == envelope.ProviderMonetbil {
		typ = "payment.success"
	}
	return envelope.Envelope{Version: envelope.Version, Provider: h.provider, EventKey: h.eventKey, EventType: typ, TransactionID: h.txID, ReceivedAt: time.Now().UTC(), Payload: h.body}
}

// post sends every hook at the given concurrency and returns each answer's
// status (0 when no answer came).
func post(t testing.TB, client *http.Client, base string, hooks []hook, concurrency int) []int {
	t.Helper()
	status := make([]int, len(hooks))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(concurrency, len(hooks)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(hooks) {
					return
				}
				req, err := hooks[i].request(base)
				if err != nil {
					continue
				}
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status[i] = resp.StatusCode
			}
		})
	}
	wg.Wait()
	return status
}

// httpClient keeps enough idle connections for the concurrency used here.
func httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// newIntake serves the intake over HTTP, enqueueing into q.
func newIntake(t testing.TB, q intake.Queue) *httptest.Server {
	t.Helper()
	v, err := stripewebhook.NewVerifier([]string{stripeSecret}, 0)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := intake.New(intake.Config{Stripe: v, MonetbilSecret: monetbilSecret, Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	return srv
}

// enqueue puts the hooks' envelopes on the queue directly, as the intake
// would, at a concurrency of 16.
func enqueue(t testing.TB, pub enqueuer, hooks []hook) {
	t.Helper()
	errs := make(chan error, len(hooks))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(16, len(hooks)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(hooks) {
					return
				}
				if _, err := pub.Enqueue(context.Background(), hooks[i].envelope()); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("enqueue: %v", err)
	}
}

// enqueuer is the part of sqsqueue.Publisher the tests use.
type enqueuer interface {
	Enqueue(ctx context.Context, e envelope.Envelope) (string, error)
}

// ---------------------------------------------------------------------------
// The consumer: the processing core and the worker, in this process.

// newProcessor builds the processing core as hubctl and the Lambda do, on
// the scaled schedule.
func newProcessor(t testing.TB, st store.Store, vis processing.Visibility, checkPaymentURL string, logs *hubtest.Logs, jobTimeout time.Duration) *processing.Processor {
	t.Helper()
	js := map[string]processing.Job{envelope.ProviderStripe: jobs.Stripe{Mode: jobs.StripeTest, Finder: st}}
	if checkPaymentURL != "" {
		// The job's deadline, not the client's, bounds a confirmation.
		checker, err := monetbil.NewClient(checkPaymentURL, &http.Client{Timeout: 2 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		js[envelope.ProviderMonetbil] = jobs.Monetbil{Checker: checker}
	}
	p, err := processing.New(processing.Config{Store: st, Visibility: vis, Jobs: js, Policy: scaled, JobTimeout: jobTimeout, Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// running is a worker consuming in a goroutine until stopped.
type running struct {
	w      *worker.Worker
	cancel context.CancelFunc
	done   chan error
}

// startWorker runs a worker until the test ends (or stop), logging to logs.
func startWorker(t testing.TB, q worker.Queue, p *processing.Processor, concurrency int, logs *hubtest.Logs) *running {
	t.Helper()
	w, err := worker.New(worker.Config{Queue: q, Processor: p, Concurrency: concurrency, Wait: time.Second, Logger: logs.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *running) stop(t testing.TB) {
	r.cancel()
	select {
	case <-r.done:
		r.done <- nil // a second stop returns at once
	case <-time.After(time.Minute):
		t.Error("worker did not stop within a minute")
	}
}

// ---------------------------------------------------------------------------
// Queues and tables.
//
// Lost receives: aws-sdk-go-v2 retries a request whose answer could not be
// read to the end (net.ErrClosed; aws/aws-sdk-go-v2#2737, retried since
// #2949). Against fauxqs on loopback that happens to about one
// ReceiveMessage in a few hundred whose answer is larger than ~4 KB (a few
// messages). The first attempt's messages are then in flight, delivered to
// nobody, until the visibility timeout runs out, and their receive count has
// gone up by one without an attempt. So these tests use short visibility
// timeouts, and count attempts from what the processor saw, never from
// receive counts. (The processor Lambda is not exposed: the event source
// mapping receives, not the SDK.)

// depth returns a queue's visible, in-flight and delayed message counts.
func depth(ctx context.Context, c *sqs.Client, queueURL string) (visible, inFlight, delayed int, err error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
	}})
	if err != nil {
		return 0, 0, 0, err
	}
	n := func(k types.QueueAttributeName) int { v, _ := strconv.Atoi(out.Attributes[string(k)]); return v }
	return n(types.QueueAttributeNameApproximateNumberOfMessages), n(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible), n(types.QueueAttributeNameApproximateNumberOfMessagesDelayed), nil
}

// waitDrained waits until the queue holds nothing at all: no message
// visible, in flight (received and not deleted, or hidden for a backoff) or
// delayed, twice in a row.
func waitDrained(t testing.TB, c *sqs.Client, queueURL string, timeout time.Duration) {
	t.Helper()
	empty := 0
	hubtest.WaitFor(t, "queue "+provision.QueueNameFromURL(queueURL)+" to drain", timeout, func() bool {
		v, f, d, err := depth(context.Background(), c, queueURL)
		if err == nil && v+f+d == 0 {
			empty++
		} else {
			empty = 0
		}
		return empty >= 2
	})
}

// requireEmpty fails unless the queue holds nothing.
func requireEmpty(t testing.TB, c *sqs.Client, queueURL, what string) {
	t.Helper()
	v, f, d, err := depth(context.Background(), c, queueURL)
	if err != nil {
		t.Fatalf("%s attributes: %v", what, err)
	}
	if v+f+d != 0 {
		t.Fatalf("%s holds %d visible, %d in flight, %d delayed messages; want none", what, v, f, d)
	}
}

// visible returns a queue's visible message count (-1 on error).
func visible(c *sqs.Client, queueURL string) int {
	v, _, _, err := depth(context.Background(), c, queueURL)
	if err != nil {
		return -1
	}
	return v
}

// newQueues creates a queue and its DLQ (redrive after 3 receives) with the
// given visibility timeout, uniquely named and deleted when the test ends.
func newQueues(t testing.TB, c *sqs.Client, vt time.Duration) provision.QueuePair {
	t.Helper()
	q := createQueues(t, c, vt, hubtest.Name("rel-q"), hubtest.Name("rel-dlq"))
	t.Cleanup(func() {
		for _, u := range []string{q.URL, q.DLQURL} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
			cancel()
		}
	})
	return q
}

// createQueues creates the named queue and DLQ. Queues on a test's private
// server are not deleted: they go with the server.
func createQueues(t testing.TB, c *sqs.Client, vt time.Duration, name, dlqName string) provision.QueuePair {
	t.Helper()
	spec := provision.QueueSpec{Name: name, DLQName: dlqName, VisibilityTimeout: vt, MaxReceiveCount: scaled.MaxAttempts}
	spec.SetDefaults()
	q, err := provision.Queues(context.Background(), c, spec)
	if err != nil {
		t.Fatalf("create queues: %v", err)
	}
	return q
}

// tables are one test's event and transaction tables.
type tables struct {
	events, transactions string
	store                *dynamostore.Store
}

// newTables creates uniquely named tables, deleted when the test ends.
func newTables(t testing.TB, c *dynamodb.Client) tables {
	t.Helper()
	tb := createTables(t, c, hubtest.Name("rel-events"), hubtest.Name("rel-tx"))
	t.Cleanup(func() {
		for _, name := range []string{tb.events, tb.transactions} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
			cancel()
		}
	})
	return tb
}

// createTables creates the named tables and a store on them. Tables on a
// test's private server are not deleted: they go with the server.
func createTables(t testing.TB, c *dynamodb.Client, events, transactions string) tables {
	t.Helper()
	tb := tables{events: events, transactions: transactions}
	if err := dynamostore.CreateTables(context.Background(), c, tb.events, tb.transactions); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	var err error
	if tb.store, err = dynamostore.New(c, tb.events, tb.transactions); err != nil {
		t.Fatal(err)
	}
	return tb
}

// scan reads every item of a table: attribute key -> attribute value, for
// two string or number attributes.
func scan(t testing.TB, c *dynamodb.Client, table, key, value string) map[string]string {
	t.Helper()
	out := map[string]string{}
	p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan %s: %v", table, err)
		}
		for _, item := range page.Items {
			out[attr(item[key])] = attr(item[value])
		}
	}
	return out
}

func attr(v ddbtypes.AttributeValue) string {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return v.Value
	case *ddbtypes.AttributeValueMemberN:
		return v.Value
	}
	return ""
}

// requireAppliedOnce checks the tables hold exactly the hooks'
// transactions, each changed once (version 1) to succeeded and remembering
// its event, and that no event record says an event is still failing: none
// lost, none applied twice, nothing else.
func requireAppliedOnce(t testing.TB, c *dynamodb.Client, tb tables, hooks []hook) {
	t.Helper()
	versions := scan(t, c, tb.transactions, "transaction_id", "version")
	statuses := scan(t, c, tb.transactions, "transaction_id", "status")
	lost, twice, wrong, forgotten := 0, 0, 0, 0
	for _, h := range hooks {
		switch v, ok := versions[h.txID]; {
		case !ok:
			lost++
			if lost <= 5 {
				t.Errorf("transaction %s (%s %s) missing", h.txID, h.provider, h.eventKey)
			}
		case v != "1":
			twice++
			t.Errorf("transaction %s (%s %s) at version %s, want 1", h.txID, h.provider, h.eventKey, v)
		case statuses[h.txID] != "succeeded":
			wrong++
			t.Errorf("transaction %s is %s, want succeeded", h.txID, statuses[h.txID])
		default:
			if tx, err := tb.store.Transaction(context.Background(), h.txID); err != nil || !tx.HasEvent(h.eventKey) {
				forgotten++
				t.Errorf("transaction %s does not remember event %s: %+v, %v", h.txID, h.eventKey, tx.Events, err)
			}
		}
	}
	for pk, status := range scan(t, c, tb.events, "pk", "status") {
		if status != "" && status != string(store.Processed) {
			wrong++
			t.Errorf("event record %s is %s: every event is done", pk, status)
		}
	}
	if len(versions) != len(hooks) {
		t.Errorf("the table holds %d transactions, want %d", len(versions), len(hooks))
	}
	if lost+twice+wrong+forgotten > 0 {
		t.Fatalf("of %d events: %d lost, %d applied more than once, %d in a wrong state, %d not remembered", len(hooks), lost, twice, wrong, forgotten)
	}
}

// ---------------------------------------------------------------------------
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

func TestMain(m *testing.M) { os.Exit(hubtest.Main(m)) }

// logLines returns the JSON log lines whose msg is msg and whose
// attributes include key = value.
func logLines(logs *hubtest.Logs, msg, key, value string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, value) {
			continue
		}
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec["msg"] == msg && rec[key] == value {
			out = append(out, rec)
		}
	}
	return out
}
