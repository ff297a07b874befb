// Package memstore is an in-memory store.Store for unit tests of the
// processing domain. It has the semantics of store/dynamostore, down to the
// precision the DynamoDB store keeps (event times in milliseconds, expiry in
// seconds, times in UTC), and passes the same conformance suite
// (store/storetest). Records live only as long as the Store.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/transaction"
)

// Store keeps records in maps behind one mutex. It is safe for concurrent
// use.
type Store struct {
	retention time.Duration

	mu           sync.Mutex
	events       map[string]store.EventRecord
	bindings     map[string]binding
	transactions map[string]transaction.Transaction
}

type binding struct {
	transactionID string
	expiresAt     time.Time
}

var _ store.Store = (*Store)(nil)

// DefaultRetention is the retention New uses when given none, as the
// DynamoDB store's default.
const DefaultRetention = 30 * 24 * time.Hour

// New returns an empty store that keeps PROCESSED and FORGOTTEN records for
// retention (DefaultRetention when not positive). A record past it reads as
// absent, as in DynamoDB, whose TTL deletes it eventually.
func New(retention time.Duration) *Store {
	if retention <= 0 {
		retention = DefaultRetention
	}
	return &Store{
		retention:    retention,
		events:       map[string]store.EventRecord{},
		bindings:     map[string]binding{},
		transactions: map[string]transaction.Transaction{},
	}
}

// The precision of the DynamoDB store: event times in unix milliseconds,
// expiry in unix seconds, other times in UTC.
func ms(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}
func sec(t time.Time) time.Time { return time.Unix(t.Unix(), 0).UTC() }

// lookup returns the record for pk, treating an expired one as absent.
func (s *Store) lookup(pk string, now time.Time) (store.EventRecord, bool) {
	rec, ok := s.events[pk]
	if !ok || rec.Expired(now) {
		return store.EventRecord{}, false
	}
	return rec, true
}

// setOptional keeps what is stored when a delivery lacks the detail.
func setOptional(field *string, value string) {
	if value != "" {
		*field = value
	}
}

// Apply implements store.Store.
func (s *Store) Apply(_ context.Context, c transaction.Change, now time.Time) (transaction.Verdict, transaction.Transaction, error) {
	if err := c.Validate(); err != nil {
		return "", transaction.Transaction{}, fmt.Errorf("memstore: apply: %w", err)
	}
	c.EventAt = ms(c.EventAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	var current *transaction.Transaction
	if t, ok := s.transactions[c.TransactionID]; ok {
		current = &t
	}
	verdict, next := transaction.Decide(current, c, now.UTC())
	if !verdict.Changed() {
		return verdict, next, nil
	}
	s.transactions[c.TransactionID] = next
	return verdict, next, nil
}

// Transaction implements store.Store.
func (s *Store) Transaction(_ context.Context, id string) (transaction.Transaction, error) {
	if id == "" {
		return transaction.Transaction{}, errors.New("memstore: transaction: no id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.transactions[id]
	if !ok {
		return transaction.Transaction{}, fmt.Errorf("memstore: transaction %s: %w", id, store.ErrNotFound)
	}
	return t, nil
}

// TransactionByStripePaymentIntent implements store.Store.
func (s *Store) TransactionByStripePaymentIntent(_ context.Context, pi string) (string, error) {
	if pi == "" {
		return "", errors.New("memstore: transaction by payment intent: no payment intent")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []string
	for id, t := range s.transactions {
		if t.Stripe.PaymentIntent == pi {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("memstore: transaction by payment intent %s: %w", pi, store.ErrNotFound)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("memstore: transaction by payment intent %s: %w", pi, store.ErrAmbiguous)
}

// Expect implements store.Store.
func (s *Store) Expect(_ context.Context, id, provider string, e transaction.Expectation, now time.Time) (transaction.Transaction, error) {
	if id == "" {
		return transaction.Transaction{}, errors.New("memstore: expect: no transaction id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var current *transaction.Transaction
	if t, ok := s.transactions[id]; ok {
		current = &t
	}
	next, err := transaction.Expect(current, id, provider, e, now.UTC())
	if err != nil {
		return next, fmt.Errorf("memstore: expect: %w", err)
	}
	s.transactions[id] = next
	return next, nil
}

// Bind implements store.Store.
func (s *Store) Bind(_ context.Context, b store.Binding) (string, bool, error) {
	pk, err := store.BindingKey(b.Provider, b.ProviderTransactionID)
	if err == nil && b.TransactionID == "" {
		err = errors.New("no transaction id")
	}
	if err != nil {
		return "", false, fmt.Errorf("memstore: bind: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	have, ok := s.bindings[pk]
	live := ok && have.expiresAt.Unix() >= b.Now.Unix()
	if live && have.transactionID != b.TransactionID {
		return have.transactionID, false, fmt.Errorf("memstore: bind %s: %w", pk, store.ErrBoundElsewhere)
	}
	s.bindings[pk] = binding{transactionID: b.TransactionID, expiresAt: sec(b.Now.Add(s.retention))}
	return b.TransactionID, !live, nil
}

// Unbind implements store.Store.
func (s *Store) Unbind(_ context.Context, b store.Binding) error {
	pk, err := store.BindingKey(b.Provider, b.ProviderTransactionID)
	if err != nil {
		return fmt.Errorf("memstore: unbind: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if have, ok := s.bindings[pk]; ok && have.transactionID == b.TransactionID {
		delete(s.bindings, pk)
	}
	return nil
}

// Bound implements store.Store.
func (s *Store) Bound(_ context.Context, provider, providerTransactionID string) (string, error) {
	pk, err := store.BindingKey(provider, providerTransactionID)
	if err != nil {
		return "", fmt.Errorf("memstore: bound: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if have, ok := s.bindings[pk]; ok && have.expiresAt.Unix() >= time.Now().Unix() {
		return have.transactionID, nil
	}
	return "", fmt.Errorf("memstore: bound %s: %w", pk, store.ErrNotFound)
}

// Record implements store.Store.
func (s *Store) Record(_ context.Context, o store.Outcome) error {
	pk, err := store.RecordKey(o.Provider, o.EventKey)
	if err == nil && (o.Now.IsZero() || o.Outcome == "") {
		err = errors.New("no time or no outcome")
	}
	if err != nil {
		return fmt.Errorf("memstore: record: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, _ := s.lookup(pk, o.Now)
	now := o.Now.UTC()
	rec.Provider, rec.EventKey = o.Provider, o.EventKey
	setOptional(&rec.EventType, o.EventType)
	setOptional(&rec.TransactionID, o.TransactionID)
	setOptional(&rec.MessageID, o.MessageID)
	rec.Status = store.Processed
	rec.Outcome = o.Outcome
	rec.Mismatch = slices.Clone(o.Mismatch)
	rec.Detail = o.Detail
	rec.Attempts++
	rec.ProcessedAt, rec.UpdatedAt = now, now
	rec.ExpiresAt = sec(now.Add(s.retention))
	endRound(&rec, o.Round, o.Outcome)
	s.events[pk] = rec
	return nil
}

// Fail implements store.Store.
func (s *Store) Fail(_ context.Context, f store.Failure) error {
	pk, err := store.RecordKey(f.Provider, f.EventKey)
	if err == nil && f.Now.IsZero() {
		err = errors.New("no time")
	}
	if err != nil {
		return fmt.Errorf("memstore: fail: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, exists := s.lookup(pk, f.Now)
	if exists && rec.Status == store.Processed {
		return fmt.Errorf("memstore: fail %s: %w", pk, store.ErrAlreadyProcessed)
	}
	now := f.Now.UTC()
	rec.Status = store.Failed
	rec.Attempts++
	rec.LastError, rec.ErrorType = f.Error, f.ErrorType
	rec.Permanent, rec.DeadLettered = f.Permanent, f.DeadLettered
	if f.DeadLettered && f.MessageID != "" {
		rec.DLQMessageID = f.MessageID
	}
	rec.Provider, rec.EventKey = f.Provider, f.EventKey
	setOptional(&rec.MessageID, f.MessageID)
	setOptional(&rec.EventType, f.EventType)
	setOptional(&rec.TransactionID, f.TransactionID)
	rec.LastFailedAt = now
	if rec.FirstFailedAt.IsZero() {
		rec.FirstFailedAt = now
	}
	rec.UpdatedAt = now
	rec.ExpiresAt = time.Time{}
	if f.DeadLettered {
		endRound(&rec, f.Round, store.RoundFailed)
	}
	s.events[pk] = rec
	return nil
}

// endRound sets the outcome of round n, when the record has it.
func endRound(rec *store.EventRecord, n int, outcome string) {
	if n >= 1 && n <= len(rec.Rounds) {
		rounds := slices.Clone(rec.Rounds)
		rounds[n-1].Outcome = outcome
		rec.Rounds = rounds
	}
}

// BeginRound implements store.Store.
func (s *Store) BeginRound(_ context.Context, provider, eventKey string, round int, now time.Time) error {
	pk, err := store.RecordKey(provider, eventKey)
	if err != nil {
		return fmt.Errorf("memstore: begin round: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.lookup(pk, now)
	if !ok || rec.Status != store.Failed || rec.Permanent || len(rec.Rounds) != round-1 {
		return fmt.Errorf("memstore: begin round %d of %s: %w", round, pk, store.ErrRoundTaken)
	}
	rec.Rounds = append(slices.Clone(rec.Rounds), store.Round{Round: round, At: now.UTC(), Outcome: store.RoundRedriven})
	rec.UpdatedAt = now.UTC()
	s.events[pk] = rec
	return nil
}

// Resolve implements store.Store.
func (s *Store) Resolve(_ context.Context, provider, eventKey, outcome string, round int, now time.Time) error {
	pk, err := store.RecordKey(provider, eventKey)
	if err != nil {
		return fmt.Errorf("memstore: resolve: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.lookup(pk, now)
	if !ok || rec.Status != store.Failed {
		return nil
	}
	rec.Status = store.Processed
	rec.Outcome = outcome
	rec.Attempts++
	rec.ProcessedAt, rec.UpdatedAt = now.UTC(), now.UTC()
	rec.ExpiresAt = sec(now.Add(s.retention))
	endRound(&rec, round, outcome)
	s.events[pk] = rec
	return nil
}

// Event implements store.Store.
func (s *Store) Event(_ context.Context, provider, eventKey string) (store.EventRecord, error) {
	pk, err := store.RecordKey(provider, eventKey)
	if err != nil {
		return store.EventRecord{}, fmt.Errorf("memstore: event: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.lookup(pk, time.Now())
	if !ok {
		return store.EventRecord{}, fmt.Errorf("memstore: event %s: %w", pk, store.ErrNotFound)
	}
	return rec, nil
}

// Failures implements store.Store.
func (s *Store) Failures(_ context.Context, limit int) ([]store.EventRecord, error) {
	if limit <= 0 {
		limit = 20
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.EventRecord
	for pk := range s.events {
		if rec, ok := s.lookup(pk, time.Now()); ok && rec.Status == store.Failed {
			out = append(out, rec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastFailedAt.After(out[j].LastFailedAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Forget implements store.Store.
func (s *Store) Forget(_ context.Context, provider, eventKey string, now time.Time) error {
	pk, err := store.RecordKey(provider, eventKey)
	if err != nil {
		return fmt.Errorf("memstore: forget: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.lookup(pk, now)
	switch {
	case !ok:
		return fmt.Errorf("memstore: forget %s: %w", pk, store.ErrNotFound)
	case rec.Status != store.Failed:
		return fmt.Errorf("memstore: forget %s: the event is %s, not %s", pk, rec.Status, store.Failed)
	}
	rec.Status = store.Forgotten
	rec.ForgottenAt = now.UTC()
	rec.UpdatedAt = now.UTC()
	rec.ExpiresAt = sec(now.Add(s.retention))
	s.events[pk] = rec
	return nil
}
