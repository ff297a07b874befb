// Package store defines what the processor and the operator CLI keep in
// DynamoDB: one event record per provider event (idempotency, outcome and
// failure history) and one record per hub transaction (its state). The
// DynamoDB implementation is in store/dynamostore, an in-memory one for
// unit tests in store/memstore, and both pass the conformance suite in
// store/storetest.
//
// Writes per processed event, the main cost lever: Claim (1 write), the
// transaction change (1 write, none when nothing changes), Complete (1 write).
// No TransactWriteItems (which bills 2 write units per item): the order of
// writes is instead safe to repeat. A crash after the transaction write and
// before Complete leaves the claim to expire; the next attempt re-applies the
// same change, which the transaction's last_event_key turns into
// AlreadyApplied, and then completes.
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
	// InProgress: an attempt holds the event until LeaseUntil.
	InProgress EventStatus = "IN_PROGRESS"
	// Processed: done; later deliveries are acknowledged as duplicates.
	Processed EventStatus = "PROCESSED"
	// Failed: the last attempt failed; the next delivery may claim it.
	Failed EventStatus = "FAILED"
	// Forgotten: an operator dropped the event from the DLQ
	// (`hubctl failed forget`). A new delivery may still claim it.
	Forgotten EventStatus = "FORGOTTEN"
)

// EventRecord is the stored record of one provider event, keyed by
// provider and event key (never by SQS message id: a redriven message is a
// new message).
type EventRecord struct {
	Provider      string      `json:"provider"`
	EventKey      string      `json:"event_key"`
	EventType     string      `json:"event_type,omitempty"`
	TransactionID string      `json:"transaction_id,omitempty"`
	Status        EventStatus `json:"status"`
	// Attempts is the number of attempts made, over every delivery.
	Attempts int `json:"attempts"`
	// MessageID is the SQS message id of the latest attempt.
	MessageID string `json:"message_id,omitempty"`
	// Token identifies the attempt holding the claim.
	Token      string    `json:"-"`
	LeaseUntil time.Time `json:"lease_until,omitempty"`
	// Outcome says what processing did: applied, already_applied,
	// unchanged, stale, refused, ignored, unmatched, ...
	Outcome     string    `json:"outcome,omitempty"`
	ProcessedAt time.Time `json:"processed_at,omitempty"`
	// Failure history, kept after a later success for the record.
	LastError    string `json:"last_error,omitempty"`
	ErrorType    string `json:"error_type,omitempty"`
	Permanent    bool   `json:"permanent,omitempty"`
	DeadLettered bool   `json:"dead_lettered,omitempty"`
	// DLQMessageID is the SQS message id of the delivery whose failure sent
	// the event to the DLQ. Claim leaves it alone, so a later receive of
	// that same message (a permanent failure waiting for the redrive) is
	// recognised and failed fast, while a redriven copy (a new message id)
	// runs the job afresh.
	DLQMessageID  string    `json:"dlq_message_id,omitempty"`
	FirstFailedAt time.Time `json:"first_failed_at,omitempty"`
	LastFailedAt  time.Time `json:"last_failed_at,omitempty"`
	ForgottenAt   time.Time `json:"forgotten_at,omitempty"`
	UpdatedAt     time.Time `json:"updated_at"`
	// ExpiresAt is when the record may be deleted (DynamoDB TTL); zero while
	// the event is not settled.
	ExpiresAt time.Time `json:"expires_at,omitempty"`
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

// Expired reports whether the record's retention has run out, at the
// granularity DynamoDB's TTL stores it (seconds). TTL deletes late, so an
// expired record counts as absent.
func (r EventRecord) Expired(now time.Time) bool {
	return !r.ExpiresAt.IsZero() && r.ExpiresAt.Unix() < now.Unix()
}

// Claim is one attempt's request to hold an event.
type Claim struct {
	Provider      string
	EventKey      string
	EventType     string
	TransactionID string
	MessageID     string
	// Token is unique per attempt; Complete and Fail only succeed for the
	// token holding the claim.
	Token      string
	Now        time.Time
	LeaseUntil time.Time
}

// ClaimResult says whether the attempt may proceed.
type ClaimResult string

// Claim results.
const (
	// Claimed: proceed; the record is IN_PROGRESS with the caller's token.
	Claimed ClaimResult = "claimed"
	// AlreadyProcessed: acknowledge the delivery, do nothing.
	AlreadyProcessed ClaimResult = "already_processed"
	// Busy: another attempt holds an unexpired claim; retry later.
	Busy ClaimResult = "busy"
)

// Failure records a failed attempt.
type Failure struct {
	Provider      string
	EventKey      string
	EventType     string
	TransactionID string
	MessageID     string
	// Token of the failing attempt; empty when the failure happened before
	// any claim (an envelope that does not decode, a busy event).
	Token     string
	Attempt   int
	Error     string
	ErrorType string
	Permanent bool
	// DeadLettered: this was the last attempt; SQS moves the message to
	// the DLQ next.
	DeadLettered bool
	Now          time.Time
}

// Errors.
var (
	// ErrNotFound: no such record.
	ErrNotFound = errors.New("not found")
	// ErrLeaseLost: the caller's claim expired and another attempt took the
	// event; the caller must not report success for it.
	ErrLeaseLost = errors.New("claim lost to another attempt")
)

// Store is what processing needs from storage.
type Store interface {
	// Claim holds the event for one attempt. It creates the record when
	// missing and takes it when FAILED, FORGOTTEN, or IN_PROGRESS with an
	// expired lease; a PROCESSED record gives AlreadyProcessed and an
	// unexpired IN_PROGRESS one Busy. The returned record is the stored one
	// after the call (for Busy and AlreadyProcessed, the holder's).
	Claim(ctx context.Context, c Claim) (ClaimResult, EventRecord, error)
	// Complete marks a claimed event PROCESSED with its outcome, and sets
	// its expiry to now + retention. ErrLeaseLost when token does not hold
	// the claim.
	Complete(ctx context.Context, provider, eventKey, token, outcome string, now time.Time) error
	// Fail records a failed attempt: status FAILED, the error, attempts,
	// first (kept) and last failure time. With a Token it releases only the
	// caller's claim (ErrLeaseLost otherwise); without one it records the
	// failure unless the event is PROCESSED or another attempt holds a live
	// claim (ErrLeaseLost then). A dead-lettered failure sets DLQMessageID.
	Fail(ctx context.Context, f Failure) error
	// Event returns an event record; ErrNotFound when missing.
	Event(ctx context.Context, provider, eventKey string) (EventRecord, error)
	// Failures returns up to limit FAILED event records, the most recent
	// failure first. In DynamoDB this scans the events table (read units
	// in proportion to its size): for operators' occasional use, never on
	// the processing path.
	Failures(ctx context.Context, limit int) ([]EventRecord, error)
	// Forget marks a FAILED event FORGOTTEN (hubctl failed forget).
	Forget(ctx context.Context, provider, eventKey string, now time.Time) error

	// Apply applies a change to its transaction with the state machine in
	// package transaction, with a conditional write so that concurrent
	// changes never overwrite each other. It returns the verdict and the
	// transaction as stored after the call.
	Apply(ctx context.Context, c transaction.Change, now time.Time) (transaction.Verdict, transaction.Transaction, error)
	// Transaction returns a transaction; ErrNotFound when missing.
	Transaction(ctx context.Context, id string) (transaction.Transaction, error)
}
