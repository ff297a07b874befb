// Package transaction is the hub's payment state machine. It decides, from a
// transaction's current state and an incoming change, whether the change is
// applied. It knows nothing of storage or providers.
package transaction

import (
	"fmt"
	"time"
)

// Status is a transaction's state. The strings are part of the hub's
// contract (stored, logged, printed by hubctl).
type Status string

// Statuses.
const (
	Pending           Status = "pending"
	Succeeded         Status = "succeeded"
	Failed            Status = "failed"
	Cancelled         Status = "cancelled"
	Refunded          Status = "refunded"
	PartiallyRefunded Status = "partially_refunded"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case Pending, Succeeded, Failed, Cancelled, Refunded, PartiallyRefunded:
		return true
	}
	return false
}

// allowed lists, for each status, the statuses it may move to. A payment can
// fail and then succeed (the customer retries with another method), but a
// succeeded payment never becomes failed or pending again, and a refund is
// final.
var allowed = map[Status][]Status{
	Pending:           {Succeeded, Failed, Cancelled},
	Failed:            {Pending, Succeeded, Cancelled},
	Succeeded:         {Refunded, PartiallyRefunded},
	PartiallyRefunded: {PartiallyRefunded, Refunded},
	Cancelled:         {},
	Refunded:          {},
}

// CanMove reports whether a transaction in from may move to to.
func CanMove(from, to Status) bool {
	for _, s := range allowed[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Transaction is the stored state of one hub transaction.
type Transaction struct {
	ID           string    `json:"transaction_id"`
	Status       Status    `json:"status"`
	Provider     string    `json:"provider"`
	Amount       int64     `json:"amount,omitempty"`
	Currency     string    `json:"currency,omitempty"`
	LastEventKey string    `json:"last_event_key"`
	LastEventAt  time.Time `json:"last_event_at"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// Version counts applied changes; stores use it for optimistic
	// concurrency.
	Version int64 `json:"version"`
}

// Change is what one provider event asks of a transaction.
type Change struct {
	TransactionID string
	Status        Status
	Provider      string
	EventKey      string
	// EventAt is when the provider says the change happened (Stripe's
	// created); it orders events that arrive out of order.
	EventAt  time.Time
	Amount   int64
	Currency string
}

// Validate checks a change before it reaches a store.
func (c Change) Validate() error {
	switch {
	case c.TransactionID == "":
		return fmt.Errorf("transaction: change without a transaction id")
	case !c.Status.Valid():
		return fmt.Errorf("transaction: unknown status %q", c.Status)
	case c.EventKey == "":
		return fmt.Errorf("transaction: change without an event key")
	}
	return nil
}

// Verdict says what becomes of a change.
type Verdict string

// Verdicts.
const (
	// Applied: the change moved the transaction (or created it).
	Applied Verdict = "applied"
	// AlreadyApplied: this very event was the last one applied; repeating
	// it changes nothing (the write order of the processor relies on this).
	AlreadyApplied Verdict = "already_applied"
	// Unchanged: the transaction already has this status; recorded only.
	Unchanged Verdict = "unchanged"
	// Stale: the event is older than the last applied one; recorded only.
	Stale Verdict = "stale"
	// Refused: the state machine does not allow the move (succeeded ->
	// failed, refunded -> succeeded, ...); recorded only.
	Refused Verdict = "refused"
)

// Decide returns what to do with c given the current transaction (nil when
// none exists yet) and, when the change applies, the new state.
func Decide(current *Transaction, c Change, now time.Time) (Verdict, Transaction) {
	if current == nil {
		return Applied, Transaction{
			ID: c.TransactionID, Status: c.Status, Provider: c.Provider, Amount: c.Amount, Currency: c.Currency,
			LastEventKey: c.EventKey, LastEventAt: c.EventAt, CreatedAt: now, UpdatedAt: now, Version: 1,
		}
	}
	t := *current
	switch {
	case t.LastEventKey == c.EventKey:
		return AlreadyApplied, t
	case !c.EventAt.IsZero() && !t.LastEventAt.IsZero() && c.EventAt.Before(t.LastEventAt):
		return Stale, t
	case t.Status == c.Status && c.Status != PartiallyRefunded:
		return Unchanged, t
	case !CanMove(t.Status, c.Status):
		return Refused, t
	}
	t.Status = c.Status
	t.LastEventKey = c.EventKey
	if c.EventAt.After(t.LastEventAt) {
		t.LastEventAt = c.EventAt
	}
	if c.Amount != 0 {
		t.Amount = c.Amount
	}
	if c.Currency != "" {
		t.Currency = c.Currency
	}
	t.UpdatedAt = now
	t.Version++
	return Applied, t
}
