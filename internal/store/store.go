// Package store defines what the processor and the operator CLI keep in
// DynamoDB: one item per hub transaction (its state and the keys of the
// events applied to it), and an events table of what happened to events
// that did not simply apply (failures, outcomes that change no transaction,
// Monetbil bindings). The DynamoDB implementation is in store/dynamostore, an
// in-memory one for unit tests in store/memstore, and both pass the
// conformance suite in store/storetest.
//
// Writes per event, the main cost lever (DynamoDB on-demand bills each):
//
//   - applied (or unchanged): 1 conditional write to the transaction, which
//     both checks that the event is new and applies it. No read, no
//     separate idempotency record, no claim.
//   - duplicate: the failed condition of that write (billed as 1 write); the
//     transaction as it is comes back with the failure, so no read follows.
//   - stale, refused, amount mismatch, unknown transaction: the failed
//     condition and 1 write recording the verdict in the events table.
//   - an event that changes no transaction (ignored type, unmatched,
//     mismatch, ...): 1 write recording its outcome.
//   - a Monetbil event: 1 more write, binding its Monetbil transaction to
//     the hub's (see Bind).
//   - a failed attempt: 1 write, its failure record; and 1 more when a later
//     attempt succeeds, closing it (Resolve).
//
// Crash safety needs no claim: the change and the memory of the event are
// one write, so a crash before it leaves nothing, and a crash after it is
// repaired by the next delivery, which finds the event already applied.
// Concurrent deliveries of one event may both run its job (a read-only
// confirmation); only one write can apply it.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payments-hub/hub/internal/transaction"
)

// EventStatus is an event record's state.
type EventStatus string

// Event statuses.
const (
	// Processed: the event is done; its outcome is recorded (an outcome
	// that changed no transaction, or a failure closed by a later success).
	Processed EventStatus = "PROCESSED"
	// Failed: the last attempt failed; the message is being retried or
	// sits in the DLQ.
	Failed EventStatus = "FAILED"
	// Forgotten: an operator dropped the event from the DLQ
	// (`hubctl failed forget`). A new delivery may still process it.
	Forgotten EventStatus = "FORGOTTEN"
)

// EventRecord is the events table's record of one provider event, keyed by
// provider and event key (never by SQS message id: a redriven message is a
// new message). An event applied at its first attempt has no record: the
// transaction it changed remembers it (transaction.Transaction.Events).
type EventRecord struct {
	Provider      string      `json:"provider"`
	EventKey      string      `json:"event_key"`
	EventType     string      `json:"event_type,omitempty"`
	TransactionID string      `json:"transaction_id,omitempty"`
	Status        EventStatus `json:"status"`
	// Attempts is the number of attempts recorded, over every delivery.
	Attempts int `json:"attempts"`
	// MessageID is the SQS message id of the latest recorded attempt.
	MessageID string `json:"message_id,omitempty"`
	// Outcome says what processing did: applied, unchanged, stale,
	// refused, ignored, unmatched, mismatch, amount_mismatch,
	// livemode_mismatch, unknown_transaction, testmode_ignored, ...
	Outcome string `json:"outcome,omitempty"`
	// Mismatch names the fields that disagreed (outcome mismatch).
	Mismatch []string `json:"mismatch,omitempty"`
	// Detail explains the outcome in a sentence.
	Detail      string    `json:"detail,omitempty"`
	ProcessedAt time.Time `json:"processed_at,omitzero"`
	// Failure history, kept after a later success for the record.
	LastError    string `json:"last_error,omitempty"`
	ErrorType    string `json:"error_type,omitempty"`
	Permanent    bool   `json:"permanent,omitempty"`
	DeadLettered bool   `json:"dead_lettered,omitempty"`
	// DLQMessageID is the SQS message id of the delivery whose failure sent
	// the event to the DLQ.
	DLQMessageID  string    `json:"dlq_message_id,omitempty"`
	FirstFailedAt time.Time `json:"first_failed_at,omitzero"`
	LastFailedAt  time.Time `json:"last_failed_at,omitzero"`
	ForgottenAt   time.Time `json:"forgotten_at,omitzero"`
	// Rounds are the automatic redrives of the event out of the DLQ, in
	// order (AUTO_REDRIVE_SECONDS).
	Rounds    []Round   `json:"rounds,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	// ExpiresAt is when the record may be deleted (DynamoDB TTL); zero
	// while the event is FAILED.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// RecordKey is an event record's key: provider and event key joined by "#".
func RecordKey(provider, eventKey string) (string, error) {
	switch {
	case provider == "":
		return "", errors.New("no provider")
	case strings.Contains(provider, "#"):
		// "#" separates the two parts of the key; a provider holding one
		// could name another provider's event.
		return "", fmt.Errorf("provider %q contains '#'", provider)
	case eventKey == "":
		return "", errors.New("no event key")
	}
	return provider + "#" + eventKey, nil
}

// BindingKey is the events table key of a Monetbil binding. "binding" is no
// provider, so it never collides with an event record.
func BindingKey(provider, providerTransactionID string) (string, error) {
	if providerTransactionID == "" {
		return "", errors.New("no provider transaction id")
	}
	return RecordKey("binding", provider+"#"+providerTransactionID)
}

// Expired reports whether the record's retention has run out, at the
// granularity DynamoDB's TTL stores it (seconds). TTL deletes late, so an
// expired record counts as absent.
func (r EventRecord) Expired(now time.Time) bool {
	return !r.ExpiresAt.IsZero() && r.ExpiresAt.Unix() < now.Unix()
}

// Round is one automatic redrive of an event out of the DLQ.
type Round struct {
	Round int       `json:"round" dynamodbav:"round"`
	At    time.Time `json:"at" dynamodbav:"at"`
	// Outcome: RoundRedriven when the event was moved back, then what the
	// redriven attempts did: RoundApplied (or the outcome recorded) or
	// RoundFailed (back in the DLQ).
	Outcome string `json:"outcome" dynamodbav:"outcome"`
}

// Round outcomes.
const (
	RoundRedriven = "redriven"
	RoundFailed   = "failed"
)

// Outcome records what became of an event that changed no transaction.
type Outcome struct {
	Provider      string
	EventKey      string
	EventType     string
	TransactionID string
	MessageID     string
	Outcome       string
	Mismatch      []string
	Detail        string
	// Round is the automatic redrive the event came from (0: none): it
	// ends with this outcome.
	Round int
	Now   time.Time
}

// Failure records a failed attempt.
type Failure struct {
	Provider      string
	EventKey      string
	EventType     string
	TransactionID string
	MessageID     string
	Attempt       int
	Error         string
	ErrorType     string
	Permanent     bool
	// DeadLettered: this was the last attempt; SQS moves the message to
	// the DLQ next.
	DeadLettered bool
	// Round is the automatic redrive the message came from (0: none); a
	// dead-lettered failure ends it as RoundFailed.
	Round int
	Now   time.Time
}

// Binding ties a provider's own transaction (Monetbil's transaction_id) to
// the hub transaction it pays. The first confirmed binding is kept.
type Binding struct {
	Provider              string
	ProviderTransactionID string
	TransactionID         string
	Now                   time.Time
}

// Errors.
var (
	// ErrNotFound: no such record.
	ErrNotFound = errors.New("not found")
	// ErrBoundElsewhere: the provider's transaction is already bound to
	// another hub transaction.
	ErrBoundElsewhere = errors.New("bound to another transaction")
	// ErrAmbiguous: more than one transaction matches.
	ErrAmbiguous = errors.New("more than one transaction matches")
	// ErrAlreadyProcessed: Fail found the event PROCESSED; the failed
	// attempt was a redelivery of an event already done.
	ErrAlreadyProcessed = errors.New("event already processed")
	// ErrRoundTaken: BeginRound found the event not in the state the round
	// expects.
	ErrRoundTaken = errors.New("redrive round not available")
)

// Store is what processing and the operator CLI need from storage.
type Store interface {
	// Apply applies a change to its transaction with the state machine in
	// package transaction, in one conditional write that also remembers
	// the event. It returns the verdict and the transaction as stored after
	// the call (for a verdict that changed nothing, as it is).
	Apply(ctx context.Context, c transaction.Change, now time.Time) (transaction.Verdict, transaction.Transaction, error)
	// Transaction returns a transaction; ErrNotFound when missing.
	Transaction(ctx context.Context, id string) (transaction.Transaction, error)
	// TransactionByStripePaymentIntent returns the id of the transaction
	// paid through a Stripe payment intent; ErrNotFound when none is,
	// ErrAmbiguous when several are.
	TransactionByStripePaymentIntent(ctx context.Context, paymentIntent string) (string, error)
	// Expect records a pending transaction with the amount and currency
	// the application expects, or adds the expectation to an existing
	// transaction that has none. The same expectation again changes
	// nothing; a different one is an error.
	Expect(ctx context.Context, id, provider string, e transaction.Expectation, now time.Time) (transaction.Transaction, error)

	// Bind keeps the first binding of a provider transaction. It returns
	// nil when the binding is new (created true) or the same, and
	// ErrBoundElsewhere, with the bound transaction id, when it names
	// another transaction.
	Bind(ctx context.Context, b Binding) (boundTo string, created bool, err error)
	// Unbind drops a binding this event created when its change did not
	// apply (the payment did not pay that transaction), so that the
	// genuine notification can still bind it. A binding to another
	// transaction is left alone.
	Unbind(ctx context.Context, b Binding) error
	// Bound returns the hub transaction a provider transaction is bound
	// to; ErrNotFound when it is not bound.
	Bound(ctx context.Context, provider, providerTransactionID string) (string, error)

	// Record records the outcome of an event that changed no transaction:
	// status PROCESSED, with its expiry. It keeps the failure history of
	// an earlier attempt.
	Record(ctx context.Context, o Outcome) error
	// Fail records a failed attempt: status FAILED, the error, attempts,
	// first (kept) and last failure time, and DLQMessageID when dead
	// lettered. It does not overwrite a PROCESSED record (the event was
	// done; this was a redelivery): that failure is only logged.
	Fail(ctx context.Context, f Failure) error
	// Resolve closes the failure record of an event a later attempt
	// applied: PROCESSED with the outcome, one more attempt, and, for an
	// automatic redrive (round > 0), the round's outcome. Without a FAILED
	// record it changes nothing and returns nil.
	Resolve(ctx context.Context, provider, eventKey, outcome string, round int, now time.Time) error
	// BeginRound records that an automatic redrive moves the event out of
	// the DLQ: round must be the next one (len(Rounds)+1), the event FAILED
	// and not permanent. ErrRoundTaken otherwise (another redriver took it,
	// or the event changed).
	BeginRound(ctx context.Context, provider, eventKey string, round int, now time.Time) error
	// Event returns an event record; ErrNotFound when missing.
	Event(ctx context.Context, provider, eventKey string) (EventRecord, error)
	// Failures returns up to limit FAILED event records, the most recent
	// failure first. In DynamoDB this scans the events table (read units
	// in proportion to its size): for operators' occasional use, never on
	// the processing path.
	Failures(ctx context.Context, limit int) ([]EventRecord, error)
	// Forget marks a FAILED event FORGOTTEN (hubctl failed forget).
	Forget(ctx context.Context, provider, eventKey string, now time.Time) error
}

// Lookup returns what the hub knows of an event: its record in the events
// table, or, for an event applied at its first attempt (which has none), a
// record made from the transaction that remembers it. The transaction is
// transactionID when given, else the one the record names, else, for a
// Monetbil key ("<id>:<status>"), the one its payment is bound to.
// ErrNotFound when neither knows the event.
func Lookup(ctx context.Context, s Store, provider, eventKey, transactionID string) (EventRecord, error) {
	rec, err := s.Event(ctx, provider, eventKey)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return EventRecord{}, err
	}
	if found && rec.Status == Processed {
		return rec, nil
	}
	if transactionID == "" {
		transactionID = rec.TransactionID
	}
	if transactionID == "" && provider == "monetbil" {
		id, _, _ := strings.Cut(eventKey, ":")
		transactionID, err = s.Bound(ctx, provider, id)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return EventRecord{}, err
		}
	}
	if transactionID != "" {
		tx, err := s.Transaction(ctx, transactionID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return EventRecord{}, err
		}
		if err == nil && tx.HasEvent(eventKey) {
			// Applied: the transaction's write is the record. A failure
			// record that says otherwise was left by an attempt before a
			// redrive the hub did not make (the console's).
			rec.Provider, rec.EventKey, rec.TransactionID = provider, eventKey, tx.ID
			rec.Status, rec.Outcome = Processed, "applied"
			rec.Detail = fmt.Sprintf("remembered by transaction %s (now %s)", tx.ID, tx.Status)
			return rec, nil
		}
	}
	if found {
		return rec, nil
	}
	return EventRecord{}, fmt.Errorf("no record of %s event %s: %w", provider, eventKey, ErrNotFound)
}
