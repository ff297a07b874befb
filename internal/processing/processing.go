// Package processing is the consumer's core, shared by the processor Lambda
// (package lambdasqs) and the long-running worker (package worker): for one
// queued message it decodes the envelope, claims the event, runs the
// provider's job, applies the resulting change to the transaction, and
// decides what becomes of the message: deleted, retried after the backoff,
// or left for SQS's redrive to move to the dead-letter queue.
//
// The retry schedule is applied with ChangeMessageVisibility: attempt n
// (the message's ApproximateReceiveCount) that fails hides the message for
// backoff[n-1]. The adapters delete acknowledged messages and report the
// rest as failed.
package processing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/logging"
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

// leaseMargin is how long a claim outlives its job's deadline.
const leaseMargin = 2 * time.Second

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

// Visibility changes how long a delivered message stays hidden.
type Visibility interface {
	ChangeVisibility(ctx context.Context, receiptHandle string, hidden time.Duration) error
}

// Decision is what a job concluded about an event.
type Decision struct {
	// Change, when set, is applied to its transaction.
	Change *transaction.Change
	// Outcome names what happened when there is no change: "ignored" (a
	// type the hub does not handle), "unmatched" (no transaction
	// reference), "testmode_ignored", ...
	Outcome string
}

// Job handles one provider's events.
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
	// JobTimeout bounds one job (JOB_TIMEOUT_SECONDS); default 60 s.
	JobTimeout time.Duration
	// VisibilityTimeout is the queue's (0: unknown). A job's claim must end
	// before its message can be redelivered, or a crashed attempt's
	// redelivery would find the event busy and waste an attempt: the job's
	// deadline is kept VisibilityTimeout - leaseMargin - 1 s from its start.
	VisibilityTimeout time.Duration
	Logger            *slog.Logger
	Now               func() time.Time
}

// Processor processes messages.
type Processor struct {
	cfg Config
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
		cfg.JobTimeout = 60 * time.Second
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

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string     { return e.err.Error() }
func (e *permanentError) Unwrap() error     { return e.err }
func (e *permanentError) ErrorKind() string { return "permanent: " + logging.ErrorType(e.err) }

// Permanent marks err as a failure that retrying cannot fix: the message goes
// to the DLQ without waiting for the backoff.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent, or is an
// envelope that can never be decoded.
func IsPermanent(err error) bool {
	var pe *permanentError
	return errors.As(err, &pe) || errors.Is(err, envelope.ErrInvalid)
}

// Process handles one message. deadline, when not zero, is a hard bound
// (the Lambda invocation's) on top of the job timeout. Process never panics
// on bad input and always says what became of the message.
func (p *Processor) Process(ctx context.Context, m Message, deadline time.Time) Result {
	attempt := max(m.Attempt, 1)
	log := p.cfg.Logger.With(slog.String("message_id", m.ID), slog.Int("attempt", attempt))

	env, err := envelope.Decode(m.Body)
	if err != nil {
		// Name the failure after the message's attributes, which the
		// intake always sets, so `hubctl failed list` can still show it.
		provider, key := FailureName(m.Attributes[envelope.AttrProvider], m.Attributes[envelope.AttrEventKey], m.ID)
		return p.fail(ctx, log, m, attempt, env, provider, key, "", Permanent(err))
	}
	log = log.With(slog.String("provider", env.Provider), slog.String(keyAttr(env.Provider), env.EventKey),
		slog.String("event_type", env.EventType), slog.String("transaction_id", env.TransactionID))

	job, ok := p.cfg.Jobs[env.Provider]
	if !ok {
		return p.fail(ctx, log, m, attempt, env, env.Provider, env.EventKey, "", Permanent(fmt.Errorf("no job for provider %q", env.Provider)))
	}

	now := p.cfg.Now()
	jobDeadline := now.Add(p.cfg.JobTimeout)
	if !deadline.IsZero() && deadline.Before(jobDeadline) {
		jobDeadline = deadline
	}
	if vt := p.cfg.VisibilityTimeout; vt > leaseMargin+2*time.Second {
		if bound := now.Add(vt - leaseMargin - time.Second); bound.Before(jobDeadline) {
			jobDeadline = bound
		}
	}
	token := newToken()
	// The claim outlives the job by a small margin for the writes after it.
	// Should a write still come late, Complete reports ErrLeaseLost and the
	// change, safe to repeat, is finished by the attempt that took over.
	res, rec, err := p.cfg.Store.Claim(ctx, store.Claim{
		Provider: env.Provider, EventKey: env.EventKey, EventType: env.EventType, TransactionID: env.TransactionID,
		MessageID: m.ID, Token: token, Now: now, LeaseUntil: jobDeadline.Add(leaseMargin),
	})
	if err != nil {
		return p.fail(ctx, log, m, attempt, env, env.Provider, env.EventKey, "", fmt.Errorf("claim event: %w", err))
	}
	switch res {
	case store.AlreadyProcessed:
		log.Info("already processed", slog.String("status", string(rec.Status)), slog.String("outcome", rec.Outcome))
		return Result{MessageID: m.ID, Action: Ack, Outcome: "already_processed"}
	case store.Busy:
		// Another attempt holds the event: never apply in parallel. Come
		// back once its claim has run out; by then it is PROCESSED (and
		// this delivery is acknowledged) or its claim expired.
		// Whole seconds, rounded up: back no earlier than the claim's end.
		wait := max(rec.LeaseUntil.Sub(now), 0).Truncate(time.Second) + time.Second
		wait = min(wait, max(p.cfg.Policy.Delay(attempt), time.Second))
		p.hide(ctx, log, m, wait)
		log.Info("in progress in another attempt; retrying later", slog.Duration("retry_in", wait))
		return Result{MessageID: m.ID, Action: Retry, Delay: wait, Outcome: "busy"}
	}

	if rec.DLQMessageID == m.ID && rec.Permanent {
		// This very message already failed for good; it is only waiting
		// for the redrive to move it. Fail fast without running the job
		// again. (A redriven copy has a new message id and runs afresh.)
		return p.fail(ctx, log, m, attempt, env, env.Provider, env.EventKey, token, Permanent(errors.New(rec.LastError)))
	}

	jobCtx, cancel := context.WithDeadline(ctx, jobDeadline)
	outcome, status, err := p.run(jobCtx, job, env, now)
	cancel()
	if err != nil {
		return p.fail(ctx, log, m, attempt, env, env.Provider, env.EventKey, token, err)
	}
	if err := p.cfg.Store.Complete(ctx, env.Provider, env.EventKey, token, outcome, p.cfg.Now()); err != nil {
		if errors.Is(err, store.ErrLeaseLost) {
			// Our claim ran out and another attempt took the event. The
			// change above is safe to repeat, so the other attempt finishes
			// the job; this delivery is done.
			log.Warn("claim expired before completion; another attempt finishes the event", logging.Err(err))
			return Result{MessageID: m.ID, Action: Ack, Outcome: outcome}
		}
		return p.fail(ctx, log, m, attempt, env, env.Provider, env.EventKey, token, fmt.Errorf("complete event: %w", err))
	}
	log.Info("processed", slog.String("outcome", outcome), slog.String("status", status))
	return Result{MessageID: m.ID, Action: Ack, Outcome: outcome}
}

// run executes the job and applies its change.
func (p *Processor) run(ctx context.Context, job Job, env envelope.Envelope, now time.Time) (outcome, status string, err error) {
	d, err := job.Decide(ctx, env)
	if err != nil {
		return "", "", err
	}
	if d.Change == nil {
		if d.Outcome == "" {
			d.Outcome = "ignored"
		}
		return d.Outcome, "", nil
	}
	verdict, tx, err := p.cfg.Store.Apply(ctx, *d.Change, now)
	if err != nil {
		return "", "", fmt.Errorf("apply %s to transaction %s: %w", d.Change.Status, d.Change.TransactionID, err)
	}
	return string(verdict), string(tx.Status), nil
}

// fail records a failed attempt and hides the message for the backoff, or,
// for a permanent failure or the last attempt, leaves it for the redrive.
func (p *Processor) fail(ctx context.Context, log *slog.Logger, m Message, attempt int, env envelope.Envelope, provider, key, token string, err error) Result {
	permanent := IsPermanent(err)
	last := permanent || p.cfg.Policy.IsLast(attempt)
	delay := p.cfg.Policy.Delay(attempt)
	action := Retry
	if permanent {
		// Visible at once: each receive fails fast until the receive count
		// passes maxReceiveCount and SQS moves it to the DLQ.
		delay, action = 0, DeadLetter
	} else if last {
		action = DeadLetter
	}
	ferr := p.cfg.Store.Fail(ctx, store.Failure{
		Provider: provider, EventKey: key, EventType: env.EventType, TransactionID: env.TransactionID,
		MessageID: m.ID, Token: token, Attempt: attempt, Error: truncate(err.Error(), maxStoredError), ErrorType: logging.ErrorType(err),
		Permanent: permanent, DeadLettered: last, Now: p.cfg.Now(),
	})
	if ferr != nil && !errors.Is(ferr, store.ErrLeaseLost) {
		log.Error("could not record the failure", slog.String("record_error", ferr.Error()), slog.String("record_error_type", logging.ErrorType(ferr)))
	}
	p.hide(ctx, log, m, delay)
	attrs := []any{logging.Err(err), slog.Bool("permanent", permanent), slog.Duration("retry_in", delay)}
	if last {
		log.Error("job failed; the event is going to the DLQ", attrs...)
	} else {
		log.Error("job failed; will retry", attrs...)
	}
	return Result{MessageID: m.ID, Action: action, Delay: delay, Outcome: "failed", Err: err}
}

func (p *Processor) hide(ctx context.Context, log *slog.Logger, m Message, d time.Duration) {
	if m.ReceiptHandle == "" {
		return
	}
	// Use a fresh bound: the job's context may have run out, and the
	// backoff must still be set.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.cfg.Visibility.ChangeVisibility(ctx, m.ReceiptHandle, d); err != nil {
		// The message then comes back when the queue's visibility timeout
		// runs out: later than the schedule, never lost.
		log.Warn("could not set the message's visibility", logging.Err(err), slog.Duration("wanted", d))
	}
}

// maxStoredError keeps an event record under 1 KB, one write unit.
const maxStoredError = 600

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func keyAttr(provider string) string {
	if provider == envelope.ProviderStripe {
		return "event_id"
	}
	return "event_key"
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
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
