// Package autoredrive is the hub's automatic second-round retries: a pass
// over the dead-letter queue that sends the transient failures whose next
// round is due back to the main queue, on a slower schedule than the
// attempts' backoff (AUTO_REDRIVE_SECONDS, default 5 min, 30 min, 2 h).
//
// A pass reads the DLQ with short polls, hiding what it reads for as long
// as it may last, joins each message with its event record, and moves a
// message only when its record is FAILED, not permanent, with a round left
// and due. Each round is first recorded on the event with a conditional
// write (store.Store.BeginRound), so two passes never spend the same round
// and never move one event twice; the copy sent back carries the round in
// its redrive attribute ("auto:<n>"), and the processor ends the round with
// the copy's outcome. Everything else the pass read is released at once.
//
// A circuit breaker keeps a round from being spent while a provider's
// dependency is still failing: before moving a provider's due messages the
// pass asks that dependency about the first of them (Breaker); a transient
// failure postpones every round of that provider to a later pass.
//
// The redriver Lambda runs one pass per invocation; `hubctl work` and
// `hubctl dev` run passes periodically (Run).
package autoredrive

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

// DLQ is the dead-letter queue a pass reads (*sqsqueue.Queue).
type DLQ interface {
	Scan(ctx context.Context, limit int, wait, hide time.Duration) ([]sqsqueue.Received, error)
	Release(ctx context.Context, receiptHandles []string) error
	Delete(ctx context.Context, receiptHandles []string) error
}

// Queue is the main queue due messages go back to (*sqsqueue.Queue).
type Queue interface {
	SendBatch(ctx context.Context, msgs []sqsqueue.Outgoing) ([]string, error)
}

// Records are the event records (dynamostore.Store, memstore.Store).
type Records interface {
	// Events returns the records that exist among refs.
	Events(ctx context.Context, refs []store.EventRef) (map[store.EventRef]store.EventRecord, error)
	// BeginRound records round n on the event, or returns
	// store.ErrRoundTaken.
	BeginRound(ctx context.Context, provider, eventKey string, round int, now time.Time) error
}

// Breaker probes a provider's outside dependency before the provider's
// rounds are spent.
type Breaker interface {
	// Probe asks the dependency about the event of one due message. An
	// error says the dependency is still failing (a transient failure):
	// the provider's rounds wait for a later pass. A permanent failure or
	// an answer is nil: the rounds go.
	Probe(ctx context.Context, e envelope.Envelope) error
}

// Defaults of Config.
const (
	// DefaultBudget bounds a pass whose context has no deadline: within
	// the redriver function's timeout at one pass a minute.
	DefaultBudget = 45 * time.Second
	// DefaultMaxMessages bounds the messages one pass reads.
	DefaultMaxMessages = 10_000
	// chunk is how many messages are joined and moved at once: one
	// BatchGetItem reads 100 records.
	chunk = 100
	// probeTimeout bounds one breaker probe.
	probeTimeout = 10 * time.Second
)

// Config wires a Redriver.
type Config struct {
	DLQ      DLQ
	Queue    Queue
	Records  Records
	Schedule Schedule
	// Breakers by provider; a provider without one (stripe: no outside
	// dependency) is never postponed.
	Breakers map[string]Breaker
	Logger   *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Budget bounds a pass whose context has no deadline (default
	// DefaultBudget).
	Budget time.Duration
	// Margin is kept before the deadline to release what the pass holds
	// (default a tenth of the pass's time, at most 3 s).
	Margin time.Duration
	// MaxMessages bounds the messages a pass reads (default
	// DefaultMaxMessages).
	MaxMessages int
}

// Redriver runs passes.
type Redriver struct{ cfg Config }

// New validates cfg and returns a Redriver.
func New(cfg Config) (*Redriver, error) {
	switch {
	case cfg.DLQ == nil:
		return nil, errors.New("autoredrive: a DLQ is required")
	case cfg.Queue == nil:
		return nil, errors.New("autoredrive: a queue is required")
	case cfg.Records == nil:
		return nil, errors.New("autoredrive: a record store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Budget <= 0 {
		cfg.Budget = DefaultBudget
	}
	if cfg.MaxMessages <= 0 {
		cfg.MaxMessages = DefaultMaxMessages
	}
	return &Redriver{cfg: cfg}, nil
}

// Schedule is the rounds the redriver follows.
func (r *Redriver) Schedule() Schedule { return r.cfg.Schedule }

// StopReason says why a pass stopped reading the DLQ.
type StopReason string

// Why a pass ends.
const (
	StopEmpty    StopReason = "empty"    // a receive returned nothing
	StopRepeat   StopReason = "repeat"   // a message came round again: the pass has seen them all
	StopDeadline StopReason = "deadline" // its time ran out: the rest waits for the next pass
	StopLimit    StopReason = "limit"    // it read MaxMessages
	StopError    StopReason = "error"    // the DLQ or the records could not be read
	StopOff      StopReason = "off"      // automatic redrive is off
)

// Summary is what one pass did.
type Summary struct {
	Read int `json:"read"`
	// Moved counts the messages sent back to the queue, each with its
	// round recorded.
	Moved int `json:"moved"`
	// Postponed counts the due messages of providers whose dependency
	// was still failing.
	Postponed int `json:"postponed"`
	// Taken counts the due messages whose round another pass had begun.
	Taken int `json:"taken"`
	// Left counts the messages left in the DLQ, by verdict.
	Left map[Verdict]int `json:"left"`
	// Errors counts the moves that failed (their messages stay).
	Errors  int        `json:"errors"`
	Stopped StopReason `json:"stopped"`
	// NextDueAt is the earliest round due later among the messages read.
	NextDueAt time.Time     `json:"next_due_at,omitzero"`
	Elapsed   time.Duration `json:"elapsed_ns"`
}
