// Package failedjobs is what operators do with events that failed for good:
// the dead-letter queue (DLQ) joined with the failure records the processor
// wrote, listed, retried one by one or all at once (a DLQ redrive, as the
// AWS console's "Start DLQ redrive"), forgotten, or flushed.
//
// SQS has no browse API. Listing the DLQ, or finding one message in it,
// means receiving its messages: each receive hides the message and raises
// its ApproximateReceiveCount. A scan hides what it reads for Config.Hide,
// reads each message once (a message seen again means the scan has come
// round; it stops there), stops at Config.Budget, and makes every message it
// did not act on visible again at once.
package failedjobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/payments-hub/hub/internal/autoredrive"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

// DLQ is what the failed jobs need from the dead-letter queue
// (*sqsqueue.Queue).
type DLQ interface {
	URL() string
	Scan(ctx context.Context, limit int, wait, hide time.Duration) ([]sqsqueue.Received, error)
	Release(ctx context.Context, receiptHandles []string) error
	Delete(ctx context.Context, receiptHandles []string) error
	Purge(ctx context.Context) error
	// Depth counts the messages; after a scan, those in flight are hidden
	// from it (another reader, or a receive whose answer was lost).
	Depth(ctx context.Context) (sqsqueue.Depth, error)
	StartMoveTask(ctx context.Context, rate int) (sqsqueue.MoveTask, error)
	MoveTasks(ctx context.Context) ([]sqsqueue.MoveTask, error)
	CancelMoveTask(ctx context.Context, handle string) (int64, error)
}

// SourceQueue is the queue failed events are retried on (*sqsqueue.Queue).
type SourceQueue interface {
	Send(ctx context.Context, m sqsqueue.Outgoing) (string, error)
	SendBatch(ctx context.Context, msgs []sqsqueue.Outgoing) ([]string, error)
}

// Records are the failure records (dynamostore.Store, memstore.Store).
type Records interface {
	// Events returns the records that exist among refs; missing ones are
	// absent from the map.
	Events(ctx context.Context, refs []store.EventRef) (map[store.EventRef]store.EventRecord, error)
	Forget(ctx context.Context, provider, eventKey string, now time.Time) error
}

// MoveTask is a DLQ redrive.
type MoveTask = sqsqueue.MoveTask

// Errors callers tell apart.
var (
	ErrNotInDLQ             = errors.New("not in the DLQ")
	ErrMoveTasksUnsupported = sqsqueue.ErrMoveTasksUnsupported
	ErrPurgeInProgress      = sqsqueue.ErrPurgeInProgress
)

// Defaults of Config.
const (
	// DefaultHide is how long a scan hides what it reads. It outlasts
	// DefaultBudget so that no message comes back during a scan; every
	// message not acted on is released at the end, so the hide only matters
	// when hubctl is killed mid-scan.
	DefaultHide = 5 * time.Minute
	// DefaultBudget bounds one scan: long enough for 10,000 messages over
	// a slow link (1,000 receives).
	DefaultBudget = 4 * time.Minute
	// MaxScan bounds the messages one scan reads.
	MaxScan = 100_000
)

// Config wires a Service.
type Config struct {
	DLQ     DLQ
	Source  SourceQueue
	Records Records
	Logger  *slog.Logger
	// Wait is the long-polling wait of a scan's receives (default 1 s): a
	// scan ends at the first empty receive.
	Wait time.Duration
	// Hide and Budget: see DefaultHide and DefaultBudget.
	Hide, Budget time.Duration
	// ReadConcurrency bounds the batch reads of failure records running at
	// once (default 4).
	ReadConcurrency int
	// Rounds is the automatic redrive's schedule, to show each job's
	// rounds and when the next is due (empty: automatic redrive off).
	Rounds autoredrive.Schedule
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service operates the failed jobs.
type Service struct{ cfg Config }

// New validates cfg and returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.DLQ == nil:
		return nil, errors.New("failedjobs: a DLQ is required")
	case cfg.Source == nil:
		return nil, errors.New("failedjobs: a source queue is required")
	case cfg.Records == nil:
		return nil, errors.New("failedjobs: a record store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Wait <= 0 {
		cfg.Wait = time.Second
	}
	if cfg.Hide <= 0 {
		cfg.Hide = DefaultHide
	}
	if cfg.Budget <= 0 {
		cfg.Budget = DefaultBudget
	}
	if cfg.ReadConcurrency < 1 {
		cfg.ReadConcurrency = 4
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}, nil
}

// FailedJob is one DLQ message joined with its failure record.
type FailedJob struct {
	MessageID     string `json:"message_id"`
	Provider      string `json:"provider"`
	EventKey      string `json:"event_key"`
	EventType     string `json:"event_type,omitempty"`
	TransactionID string `json:"transaction_id,omitempty"`
	// Attempts is the processing attempts the failure record counts.
	Attempts int `json:"attempts"`
	// ReceiveCount is the message's ApproximateReceiveCount, listing
	// included.
	ReceiveCount int       `json:"receive_count"`
	FailedAt     time.Time `json:"failed_at,omitzero"`
	EnqueuedAt   time.Time `json:"enqueued_at,omitzero"`
	Error        string    `json:"error"`
	ErrorType    string    `json:"error_type,omitempty"`
	Permanent    bool      `json:"permanent"`
	// Record says whether a failure record was found: its status,
	// "missing" or "unreadable".
	Record string `json:"record"`
	// Rounds are the automatic redrives so far, out of RoundsTotal.
	Rounds      []store.Round `json:"rounds"`
	RoundsTotal int           `json:"rounds_total"`
	// NextRound is the next automatic round and NextRoundAt when it is
	// due (a time past: at the next pass, unless the provider's dependency
	// still fails); 0 and zero when none will come (permanent, forgotten,
	// every round spent, automatic redrive off, no failure record).
	NextRound   int       `json:"next_round,omitempty"`
	NextRoundAt time.Time `json:"next_round_at,omitzero"`
}

// Outcome of one message in Retry or Forget.
type Outcome struct {
	MessageID string `json:"message_id"`
	Provider  string `json:"provider,omitempty"`
	EventKey  string `json:"event_key,omitempty"`
	// NewMessageID is the id of the copy on the source queue (Retry).
	NewMessageID string `json:"new_message_id,omitempty"`
	// Deleted counts the DLQ messages of the event that Forget deleted:
	// the one asked for and its copies.
	Deleted int    `json:"deleted,omitempty"`
	Result  string `json:"result"`
	Error   string `json:"error,omitempty"`
}
