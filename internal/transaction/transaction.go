// Package transaction is the hub's payment state machine. It decides, from a
// transaction's current state and an incoming change, whether the change is
// applied. It knows nothing of storage or providers: the stores encode the
// same rules in their conditional writes (see Rule), and the conformance
// suite in store/storetest holds both to this package.
package transaction

import (
	"fmt"
	"slices"
	"strings"
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

// moves lists, for each status, the statuses it may move to. A payment can
// fail and then succeed (the customer retries with another method), and a
// success the provider confirmed wins over pending, failed and cancelled
// whatever the order its events arrive in: the money was collected. A
// succeeded payment never becomes failed or pending again, and a refund is
// final.
var moves = map[Status][]Status{
	Pending:           {Succeeded, Failed, Cancelled},
	Failed:            {Pending, Succeeded, Cancelled},
	Cancelled:         {Succeeded},
	Succeeded:         {Refunded, PartiallyRefunded},
	PartiallyRefunded: {PartiallyRefunded, Refunded},
	Refunded:          {},
}

// CanMove reports whether a transaction in from may move to to.
func CanMove(from, to Status) bool { return slices.Contains(moves[from], to) }

// Rule is what a change to one status requires of the transaction it
// applies to. A change applies when the transaction's status is in
// Unordered, or is in Ordered and the change is not older than the last
// applied event (nor than the history's floor, see Transaction.Floor).
type Rule struct {
	Ordered   []Status
	Unordered []Status
}

// statuses are the statuses in the order rules list them.
var statuses = []Status{Pending, Succeeded, Failed, Cancelled, Refunded, PartiallyRefunded}

// RuleFor returns the rule for changes to status to, from moves: the
// statuses that may move to it. A change to the status the transaction
// already has applies too (in time order): it is recorded and changes
// nothing else but the amounts and references.
//
// A confirmed success wins over every status that may move to succeeded
// (pending, failed, cancelled) in any order: an attempt's success whose
// confirmation waited out its backoff, or sat in the DLQ, can arrive after
// a later attempt's failure. Only a success after a success is ordered.
func RuleFor(to Status) Rule {
	var r Rule
	for _, s := range statuses {
		switch {
		case s == to:
			r.Ordered = append(r.Ordered, s)
		case !CanMove(s, to):
		case to == Succeeded:
			r.Unordered = append(r.Unordered, s)
		default:
			r.Ordered = append(r.Ordered, s)
		}
	}
	return r
}

// HistorySize bounds the event keys a transaction remembers. Each key costs
// item size, and DynamoDB bills a write per KB of item: eight keep a
// transaction's item under 1 KB. Older keys are forgotten behind a floor
// (Transaction.Floor); see remember for the one case that keeps more.
const HistorySize = 8

// AppliedEvent is one event a transaction remembers having applied.
type AppliedEvent struct {
	Key string    `json:"key"`
	At  time.Time `json:"at"`
}

// StripeRefs are the Stripe objects a transaction was paid through, so that
// a later event that lacks the hub's transaction id (a refund of a charge
// Checkout created) is matched through them.
type StripeRefs struct {
	PaymentIntent   string `json:"payment_intent,omitempty"`
	CheckoutSession string `json:"checkout_session,omitempty"`
	Charge          string `json:"charge,omitempty"`
}

// IsZero reports whether no reference is set.
func (r StripeRefs) IsZero() bool { return r == StripeRefs{} }

// Expectation is what the application that created a payment told the hub
// to expect of it.
type Expectation struct {
	Amount int64 `json:"amount"`
	// Currency is stored upper-case (Expect normalises it).
	Currency string `json:"currency"`
}

// Matches reports whether a confirmed amount and currency are the expected
// ones. Currencies compare case-insensitively (Stripe writes "eur",
// Monetbil "XAF").
func (e Expectation) Matches(amount int64, currency string) bool {
	return e.Amount == amount && strings.EqualFold(e.Currency, currency)
}

// Transaction is the stored state of one hub transaction.
type Transaction struct {
	ID       string `json:"transaction_id"`
	Status   Status `json:"status"`
	Provider string `json:"provider"`
	Amount   int64  `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`
	// Expected is set when the application announced the payment
	// (`hubctl transactions expect`); a success for another amount or
	// currency is then refused as an amount mismatch.
	Expected     *Expectation `json:"expected,omitempty"`
	LastEventKey string       `json:"last_event_key,omitempty"`
	// LastEventAt is when the provider says the latest applied event
	// happened; an event older than it is stale (but a confirmed success
	// wins, see RuleFor).
	LastEventAt time.Time `json:"last_event_at,omitzero"`
	// Events are the most recent applied events, oldest first, at most
	// HistorySize: a delivery of one of them again is a duplicate.
	Events []AppliedEvent `json:"events,omitempty"`
	// Floor is the newest time among the events that no longer fit in
	// Events. An event no newer than the floor is stale: it may be one of
	// those forgotten keys.
	Floor     time.Time  `json:"floor,omitzero"`
	Stripe    StripeRefs `json:"stripe,omitzero"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	// Version counts applied changes; stores use it for optimistic
	// concurrency where a change cannot be one conditional write.
	Version int64 `json:"version"`
}

// HasEvent reports whether the transaction remembers applying key.
func (t Transaction) HasEvent(key string) bool {
	return slices.ContainsFunc(t.Events, func(e AppliedEvent) bool { return e.Key == key })
}

// Change is what one provider event asks of a transaction.
type Change struct {
	TransactionID string
	Status        Status
	Provider      string
	EventKey      string
	// EventAt is when the provider says the change happened (Stripe's
	// created, Monetbil's own time when checkPayment gives one, else when
	// the webhook arrived); it orders events that arrive out of order.
	EventAt  time.Time
	Amount   int64
	Currency string
	Stripe   StripeRefs
	// MustExist: the hub only applies events to transactions it was told
	// to expect (REQUIRE_EXPECTED_TRANSACTIONS); others are
	// UnknownTransaction and create nothing.
	MustExist bool
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
	case c.EventAt.IsZero():
		return fmt.Errorf("transaction: change %s without an event time", c.EventKey)
	}
	return nil
}

// Verdict says what becomes of a change.
type Verdict string

// Verdicts.
const (
	// Applied: the change moved the transaction (or created it).
	Applied Verdict = "applied"
	// Unchanged: the transaction already had this status; the event is
	// remembered, and its amount and references recorded.
	Unchanged Verdict = "unchanged"
	// AlreadyApplied: the transaction remembers this very event; a
	// redelivery changes nothing.
	AlreadyApplied Verdict = "already_applied"
	// Stale: the event is older than the last applied one; not applied.
	Stale Verdict = "stale"
	// Refused: the state machine does not allow the move (succeeded ->
	// failed, refunded -> succeeded, ...); not applied.
	Refused Verdict = "refused"
	// AmountMismatch: a success for an expected transaction with another
	// amount or currency; not applied.
	AmountMismatch Verdict = "amount_mismatch"
	// UnknownTransaction: the transaction does not exist and the change
	// may not create it (Change.MustExist); nothing is created.
	UnknownTransaction Verdict = "unknown_transaction"
)

// Changed reports whether the verdict wrote the transaction.
func (v Verdict) Changed() bool { return v == Applied || v == Unchanged }

// Decide returns what to do with c given the current transaction (nil when
// none exists yet) and, when the change applies, the new state.
func Decide(current *Transaction, c Change, now time.Time) (Verdict, Transaction) {
	if current == nil {
		if c.MustExist {
			return UnknownTransaction, Transaction{}
		}
		t := Transaction{ID: c.TransactionID, Provider: c.Provider, CreatedAt: now}
		return Applied, apply(t, c, now)
	}
	t := *current
	if t.HasEvent(c.EventKey) {
		return AlreadyApplied, t
	}
	rule := RuleFor(c.Status)
	if !slices.Contains(rule.Unordered, t.Status) {
		if t.older(c.EventAt) {
			return Stale, t
		}
		if !slices.Contains(rule.Ordered, t.Status) {
			return Refused, t
		}
	}
	if c.Status == Succeeded && t.Expected != nil && !t.Expected.Matches(c.Amount, c.Currency) {
		return AmountMismatch, t
	}
	verdict := Applied
	if t.Status == c.Status && c.Status != PartiallyRefunded {
		verdict = Unchanged
	}
	return verdict, apply(t, c, now)
}

// older reports whether an event at at comes before what t has applied:
// before its last event, or not after its history's floor.
func (t Transaction) older(at time.Time) bool {
	return at.Before(t.LastEventAt) || (!t.Floor.IsZero() && !at.After(t.Floor))
}

// apply returns t changed by c. LastEventAt becomes the change's time even
// when it is older (a late success): after a success only refunds apply,
// and they always come later.
func apply(t Transaction, c Change, now time.Time) Transaction {
	t.Status = c.Status
	if t.Provider == "" {
		t.Provider = c.Provider
	}
	t.LastEventKey = c.EventKey
	t.LastEventAt = c.EventAt
	if c.Amount != 0 {
		t.Amount = c.Amount
	}
	if c.Currency != "" {
		t.Currency = c.Currency
	}
	t.Stripe = keepRefs(t.Stripe, c.Stripe)
	t.Events, t.Floor = remember(t.Events, t.Floor, AppliedEvent{Key: c.EventKey, At: c.EventAt})
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	t.UpdatedAt = now
	t.Version++
	return t
}

// keepRefs fills the references t lacks; a reference, once set, stays.
func keepRefs(have, got StripeRefs) StripeRefs {
	if have.PaymentIntent == "" {
		have.PaymentIntent = got.PaymentIntent
	}
	if have.CheckoutSession == "" {
		have.CheckoutSession = got.CheckoutSession
	}
	if have.Charge == "" {
		have.Charge = got.Charge
	}
	return have
}

// remember appends e to the history. A full history forgets its oldest
// events down to half, and raises the floor to the newest time it forgot.
// It only forgets events older than e: a legitimate event of the same time
// must never fall below the floor, so a burst of events in one second may
// grow the history past HistorySize until a later second comes.
func remember(events []AppliedEvent, floor time.Time, e AppliedEvent) ([]AppliedEvent, time.Time) {
	if len(events) < HistorySize {
		return append(slices.Clone(events), e), floor
	}
	excess := len(events) - HistorySize/2
	kept := make([]AppliedEvent, 0, len(events)+1)
	for _, old := range events {
		if excess > 0 && old.At.Before(e.At) {
			if old.At.After(floor) {
				floor = old.At
			}
			excess--
			continue
		}
		kept = append(kept, old)
	}
	return append(kept, e), floor
}

// NeedsTrim reports whether applying one more event to t forgets some of
// its history: stores that append in place (DynamoDB's list_append) cannot
// do that in the same write.
func (t Transaction) NeedsTrim() bool { return len(t.Events) >= HistorySize }

// Expect returns the pending transaction the application announced, or, for
// an existing one, the transaction with its expectation added. It refuses to
// change an expectation already recorded.
func Expect(current *Transaction, id, provider string, e Expectation, now time.Time) (Transaction, error) {
	// Stored in one case so that a store's conditional write can compare it
	// (see Expectation.Currency's use by the stores).
	e.Currency = strings.ToUpper(strings.TrimSpace(e.Currency))
	if current == nil {
		return Transaction{ID: id, Status: Pending, Provider: provider, Expected: &e, CreatedAt: now, UpdatedAt: now, Version: 1}, nil
	}
	t := *current
	if t.Expected != nil {
		if *t.Expected == e {
			return t, nil
		}
		return t, fmt.Errorf("transaction %s already expects %d %s", id, t.Expected.Amount, t.Expected.Currency)
	}
	if t.Provider != "" && provider != "" && t.Provider != provider {
		return t, fmt.Errorf("transaction %s is a %s transaction, not %s", id, t.Provider, provider)
	}
	t.Expected = &e
	t.UpdatedAt = now
	t.Version++
	return t, nil
}
