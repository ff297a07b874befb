// Package processing is the consumer's core, shared by the processor Lambda
// (package lambdasqs) and the long-running worker (package worker): for one
// queued message it decodes the envelope, runs the provider's job, applies
// the resulting change to the transaction (one conditional write that also
// deduplicates), and decides what becomes of the message: deleted, retried
// after the backoff, or left for SQS's redrive to move to the dead-letter
// queue.
//
// The retry schedule is applied with ChangeMessageVisibility: attempt n
// (the message's ApproximateReceiveCount) that fails hides the message for
// backoff[n-1]. The adapters delete acknowledged messages and report the
// rest as failed.
package processing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/retry"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

// FailureName names the failure record of a message whose body may not
// decode: by its provider and event key attributes, which the intake always
// sets, or, for a message the intake did not write, "unknown" and
// "message:<id>".
func FailureName(provider, eventKey, messageID string) (string, string) {
	if provider == "" || eventKey == "" {
		return "unknown", "message:" + messageID
	}
	return provider, eventKey
}

// DeadlineMargin is kept between a job's deadline and the moment its message
// can come back (the queue's visibility timeout), to record the failure and
// set the backoff before another delivery starts.
const DeadlineMargin = 5 * time.Second

// Message is one delivery of a queued message.
type Message struct {
	ID string
	// ReceiptHandle identifies this delivery to the queue.
	ReceiptHandle string
	Body          []byte
	// Attempt is SQS's ApproximateReceiveCount: 1 on the first delivery.
	Attempt int
	// Attributes are the message attributes (provider, event_key, ...),
	// used to name a message whose body does not decode.
	Attributes map[string]string
}

// Redriven reports whether the message was moved back from the DLQ by the
// hub (its attempt count starts again at 1, but the event has a failure
// record to close).
func (m Message) Redriven() bool { return m.Attributes[envelope.AttrRedrive] != "" }

// Round is the automatic redrive round the message came from (its
// AttrRedrive is "auto:<round>"), 0 for any other message.
func (m Message) Round() int {
	var n int
	if _, err := fmt.Sscanf(m.Attributes[envelope.AttrRedrive], envelope.RedriveAuto+"%d", &n); err != nil || n < 1 {
		return 0
	}
	return n
}

// Visibility changes how long a delivered message stays hidden.
type Visibility interface {
	ChangeVisibility(ctx context.Context, receiptHandle string, hidden time.Duration) error
}

// Decision is what a job concluded about an event.
type Decision struct {
	// Change, when set, is applied to its transaction.
	Change *transaction.Change
	// Binding, when set, is kept before the change applies: the provider's
	// own transaction is tied to the hub's, and a later event that ties it
	// to another is a mismatch.
	Binding *store.Binding
	// Outcome names what happened when there is no change: "ignored" (a
	// type the hub does not handle), "unmatched" (no transaction
	// reference), "mismatch", "livemode_mismatch", "testmode_ignored", ...
	Outcome string
	// Mismatch names the fields that disagreed (Outcome "mismatch").
	Mismatch []string
	// Detail explains the outcome in a sentence, for the record.
	Detail string
	// Note, when set, is added to the Detail of whatever outcome the event
	// is recorded with, this decision's or the one its change comes to
	// (stale, amount_mismatch, ...): what the provider said beyond what the
	// job read (Monetbil: checkPayment's other fields, masked). It is cut
	// to keep the record in one write unit. An applied change is not
	// recorded; its note goes nowhere.
	Note string
	// EventKey, when set, is the key the event is recorded under instead
	// of the envelope's (Monetbil: the status checkPayment confirmed).
	EventKey string
	// TransactionID, when set, is the hub transaction the outcome concerns.
	TransactionID string
}

// Job handles one provider's events. A job only reads (it may ask the
// provider to confirm); every write is the processor's, so concurrent
// deliveries of one event may both run it and only one applies.
type Job interface {
	Decide(ctx context.Context, e envelope.Envelope) (Decision, error)
}

// Action is what becomes of a message.
type Action string

// Actions.
const (
	// Ack: delete the message; the event is done (or was already).
	Ack Action = "ack"
	// Retry: the message was hidden for the backoff; report it failed.
	Retry Action = "retry"
	// DeadLetter: the last attempt failed, or the failure is permanent; the
	// message is left for SQS's redrive to move to the DLQ.
	DeadLetter Action = "dead_letter"
)

// Outcomes of Result that are not a verdict or a job's outcome.
const (
	OutcomeDuplicate = "already_processed"
	OutcomeFailed    = "failed"
)

// Result is the fate of one message.
type Result struct {
	MessageID string
	Action    Action
	// Delay is how long the message was hidden (Retry, DeadLetter).
	Delay   time.Duration
	Outcome string
	Err     error
}

// Config wires a Processor.
type Config struct {
	Store      store.Store
	Visibility Visibility
	Jobs       map[string]Job // by provider name
	Policy     retry.Policy
	// JobTimeout bounds one job (JOB_TIMEOUT_SECONDS); default 55 s.
	JobTimeout time.Duration
	// VisibilityTimeout is the queue's (0: unknown). A job's deadline is
	// kept DeadlineMargin inside it.
	VisibilityTimeout time.Duration
	// RequireExpected: only transactions announced with Expect may change
	// (REQUIRE_EXPECTED_TRANSACTIONS).
	RequireExpected bool
	Logger          *slog.Logger
	Now             func() time.Time
}

// DefaultJobTimeout is the bound on one job when none is configured: the
// default visibility timeout (60 s) less DeadlineMargin.
const DefaultJobTimeout = 60*time.Second - DeadlineMargin

// Processor processes messages.
type Processor struct {
	cfg    Config
	doomed doomed
}

// doomed remembers the permanent failures of this process by message id. A
// permanently failed message is made visible at once and comes back until
// SQS's redrive moves it (MAX_ATTEMPTS receives): each of those receives
// fails fast, without asking the provider again. A redriven copy is a new
// message and runs afresh.
type doomed struct {
	mu sync.Mutex
	m  map[string]error
}

// doomedSize bounds the memory; forgetting only costs a job run.
const doomedSize = 4096

func (d *doomed) get(id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[id]
}

func (d *doomed) put(id string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil || len(d.m) >= doomedSize {
		d.m = map[string]error{}
	}
	d.m[id] = err
}

// New validates cfg and returns a Processor.
func New(cfg Config) (*Processor, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("processing: a store is required")
	case cfg.Visibility == nil:
		return nil, errors.New("processing: a visibility changer is required")
	case len(cfg.Jobs) == 0:
		return nil, errors.New("processing: no jobs")
	}
	if err := cfg.Policy.Validate(); err != nil {
		return nil, err
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Processor{cfg: cfg}, nil
}

// Policy returns the retry policy in force.
func (p *Processor) Policy() retry.Policy { return p.cfg.Policy }

// JobTimeout returns the bound on one job.
func (p *Processor) JobTimeout() time.Duration { return p.cfg.JobTimeout }

// Process handles one message. deadline, when not zero, is a hard bound
// (the Lambda invocation's) on top of the job timeout. Process never panics,
// whatever the input or the job does, and always says what became of the
// message.
func (p *Processor) Process(ctx context.Context, m Message, deadline time.Time) (r Result) {
	a := p.begin(m, deadline)
	defer func() {
		if v := recover(); v != nil {
			r = p.fail(ctx, a, recovered(v))
		}
	}()
	if err := a.decode(); err != nil {
		return p.fail(ctx, a, err)
	}
	if err := p.doomed.get(m.ID); err != nil {
		return p.fail(ctx, a, err)
	}
	d, err := p.decide(ctx, a)
	if err != nil {
		return p.fail(ctx, a, err)
	}
	return p.settle(ctx, a, d)
}

// ProcessBatch processes messages concurrently, at most concurrency at a
// time, and returns their results in order.
func (p *Processor) ProcessBatch(ctx context.Context, msgs []Message, deadline time.Time, concurrency int) []Result {
	results := make([]Result, len(msgs))
	if concurrency < 1 {
		concurrency = 1
	}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i := range msgs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = p.Process(ctx, msgs[i], deadline)
		})
	}
	wg.Wait()
	return results
}
