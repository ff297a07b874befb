// Package hubtest sets up, for integration tests, the hub's real resources
// on the local servers (a queue with its DLQ and redrive policy, the
// DynamoDB tables, uniquely named per test) and a stand-in for Monetbil's
// checkPayment endpoint that the test controls.
package hubtest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/payments-hub/hub/internal/awstest"
	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/store/dynamostore"
)

// Stack is one test's queue, DLQ and tables.
type Stack struct {
	SQS                            *sqs.Client
	DynamoDB                       *dynamodb.Client
	Queues                         provision.QueuePair
	EventsTable, TransactionsTable string
	Store                          *dynamostore.Store
}

// Options tune a Stack.
type Options struct {
	// VisibilityTimeout of the main queue (default 60 s, production's).
	VisibilityTimeout time.Duration
	// MaxReceiveCount (default 3).
	MaxReceiveCount int
}

// NewStack creates the resources, removed when the test ends.
func NewStack(t testing.TB, o Options) *Stack {
	t.Helper()
	ctx := context.Background()
	s := &Stack{SQS: awstest.SQS(t), DynamoDB: awstest.DynamoDB(t)}
	spec := provision.QueueSpec{Name: awstest.Name("hub-q"), DLQName: awstest.Name("hub-dlq"), VisibilityTimeout: o.VisibilityTimeout, MaxReceiveCount: o.MaxReceiveCount}
	spec.SetDefaults()
	q, err := provision.Queues(ctx, s.SQS, spec)
	if err != nil {
		t.Fatalf("create queues: %v", err)
	}
	s.Queues = q
	t.Cleanup(func() {
		for _, u := range []string{q.URL, q.DLQURL} {
			_, _ = s.SQS.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		}
	})
	s.EventsTable, s.TransactionsTable = awstest.Name("hub-events"), awstest.Name("hub-tx")
	if err := dynamostore.CreateTables(ctx, s.DynamoDB, s.EventsTable, s.TransactionsTable); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	t.Cleanup(func() {
		for _, name := range []string{s.EventsTable, s.TransactionsTable} {
			_, _ = s.DynamoDB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	if s.Store, err = dynamostore.New(s.DynamoDB, s.EventsTable, s.TransactionsTable); err != nil {
		t.Fatal(err)
	}
	return s
}

// Env returns the environment variables that point the functions and
// hubctl at this stack.
func (s *Stack) Env() []string {
	return []string{
		"QUEUE_URL=" + s.Queues.URL, "DLQ_URL=" + s.Queues.DLQURL,
		"EVENTS_TABLE=" + s.EventsTable, "TRANSACTIONS_TABLE=" + s.TransactionsTable,
		// The tests' Stripe events are test-mode events, as Stripe's own
		// test events are.
		"STRIPE_MODE=test",
	}
}

// Monetbil is a stand-in for checkPayment: it answers each payment id with
// the status set for it, after failing the number of times asked.
type Monetbil struct {
	*httptest.Server
	mu       sync.Mutex
	status   map[string]int
	fail     map[string]int
	delay    map[string]time.Duration
	calls    map[string][]time.Time
	requests int
}

// NewMonetbil starts the stand-in, stopped when the test ends.
func NewMonetbil(t testing.TB) *Monetbil {
	m := &Monetbil{status: map[string]int{}, fail: map[string]int{}, delay: map[string]time.Duration{}, calls: map[string][]time.Time{}}
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.Close)
	return m
}

// Set makes paymentID confirm with code (1 success, 0 failed, -1
// cancelled, 7/8/9 the same in test mode) after failing fails times with
// HTTP 500 (-1: always), each answer taking delay.
func (m *Monetbil) Set(paymentID string, code, fails int, delay time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status[paymentID], m.fail[paymentID], m.delay[paymentID] = code, fails, delay
}

// Requests counts the checkPayment requests received.
func (m *Monetbil) Requests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.requests
}

// Calls returns when paymentID was asked about.
func (m *Monetbil) Calls(paymentID string) []time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Time(nil), m.calls[paymentID]...)
}

func (m *Monetbil) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/payment/v1/checkPayment" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get("paymentId")
	m.mu.Lock()
	m.requests++
	m.calls[id] = append(m.calls[id], time.Now())
	code, known := m.status[id]
	fails, delay := m.fail[id], m.delay[id]
	if fails > 0 {
		m.fail[id] = fails - 1
	}
	m.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case fails != 0:
		http.Error(w, `{"error":"temporarily unavailable"}`, http.StatusInternalServerError)
	case !known:
		http.Error(w, `{"error":"unknown payment"}`, http.StatusNotFound)
	default:
		w.Header().Set("Content-Type", "application/json")
		testmode := code >= 7
		fmt.Fprintf(w, `{"transaction":{"status":%d,"testmode":%t}}`, code, testmode)
	}
}

// Logs is a concurrency-safe log sink with a JSON handler.
type Logs struct {
	mu  sync.Mutex
	buf strings.Builder
}

// Write implements io.Writer.
func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns what was logged.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger returns a debug-level JSON logger writing to l.
func (l *Logs) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Count counts log lines containing every one of subs.
func (l *Logs) Count(subs ...string) int {
	n := 0
	for _, line := range strings.Split(l.String(), "\n") {
		ok := line != ""
		for _, s := range subs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			n++
		}
	}
	return n
}
