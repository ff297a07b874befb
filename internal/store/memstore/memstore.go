// Package memstore is an in-memory store.Store for unit tests of the
// processing domain. It has the semantics of store/dynamostore, down to the
// precision the DynamoDB store keeps (leases in milliseconds, expiry in
// seconds, times in UTC), and passes the same conformance suite
// (store/storetest). Records live only as long as the Store.
package memstore

import (
	"context"
	"errors"
	"fmt"
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
	transactions map[string]transaction.Transaction
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
		transactions: map[string]transaction.Transaction{},
	}
}

// The precision of the DynamoDB store: leases in unix milliseconds, expiry
// in unix seconds, other times in UTC.
func ms(t time.Time) time.Time  { return time.UnixMilli(t.UnixMilli()).UTC() }
func sec(t time.Time) time.Time { return time.Unix(t.Unix(), 0).UTC() }

// lookup returns the record for pk, treating an expired one as absent.
func (s *Store) lookup(pk string, now time.Time) (store.EventRecord, bool) {
	rec, ok := s.events[pk]
	if !ok || rec.Expired(now) {
		return store.EventRecord{}, false
	}
	return rec, true
}

// Claim implements store.Store.
func (s *Store) Claim(_ context.Context, c store.Claim) (store.ClaimResult, store.EventRecord, error) {
	pk, err := store.RecordKey(c.Provider, c.EventKey)
	if err == nil {
		err = validateClaim(c)
	}
	if err != nil {
		return "", store.EventRecord{}, fmt.Errorf("memstore: claim: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Like DynamoDB's UpdateItem, a claim updates the stored record in
	// place, expired or not: its history stays.
	rec, exists := s.events[pk]
	if exists && !rec.Expired(c.Now) {
		switch {
		case rec.Status == store.Processed:
			return store.AlreadyProcessed, rec, nil
		case rec.Status == store.InProgress && rec.Token == c.Token:
			return store.Claimed, rec, nil // a retried claim (see dynamostore)
		case rec.Status == store.InProgress && rec.LeaseUntil.UnixMilli() >= c.Now.UnixMilli():
			return store.Busy, rec, nil
		}
	}
	rec.Status = store.InProgress
	rec.Token = c.Token
	rec.LeaseUntil = ms(c.LeaseUntil)
	rec.Provider = c.Provider
	rec.EventKey = c.EventKey
	rec.UpdatedAt = c.Now.UTC()
	rec.Attempts++
	setOptional(&rec.MessageID, c.MessageID)
	setOptional(&rec.EventType, c.EventType)
	setOptional(&rec.TransactionID, c.TransactionID)
	rec.ExpiresAt = time.Time{}
	s.events[pk] = rec
	return store.Claimed, rec, nil
}

func validateClaim(c store.Claim) error {
	switch {
	case c.Token == "":
		return errors.New("no token")
	case c.Now.IsZero():
		return errors.New("no time")
	case !c.LeaseUntil.After(c.Now):
		return fmt.Errorf("lease until %s is not after now %s", c.LeaseUntil, c.Now)
	}
	return nil
}

// setOptional keeps what is stored when a delivery lacks the detail.
func setOptional(field *string, value string) {
	if value != "" {
		*field = value
	}
}

// Complete implements store.Store.
func (s *Store) Complete(_ context.Context, provider, eventKey, token, outcome string, now time.Time) error {
	pk, err := store.RecordKey(provider, eventKey)
	if err != nil {
		return fmt.Errorf("memstore: complete: %w", err)
	}
	if token == "" {
		return fmt.Errorf("memstore: complete %s: no token: %w", pk, store.ErrLeaseLost)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.events[pk]
	if !ok || rec.Status != store.InProgress || rec.Token != token {
		return fmt.Errorf("memstore: complete %s: %w", pk, store.ErrLeaseLost)
	}
	rec.Status = store.Processed
	rec.Outcome = outcome
	rec.ProcessedAt = now.UTC()
	rec.UpdatedAt = now.UTC()
	rec.ExpiresAt = sec(now.Add(s.retention))
	rec.Token = ""
	rec.LeaseUntil = time.Time{}
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
	rec, exists := s.events[pk]
	if f.Token != "" {
		if !exists || rec.Status != store.InProgress || rec.Token != f.Token {
			return fmt.Errorf("memstore: fail %s: %w", pk, store.ErrLeaseLost)
		}
	} else {
		live := rec.Status == store.InProgress && !rec.LeaseUntil.Before(f.Now.Truncate(time.Millisecond))
		if exists && (rec.Status == store.Processed || live) && !rec.Expired(f.Now) {
			return fmt.Errorf("memstore: fail %s: %w", pk, store.ErrLeaseLost)
		}
		rec.Attempts++
	}
	now := f.Now.UTC()
	rec.Status = store.Failed
	rec.LastError = f.Error
	rec.ErrorType = f.ErrorType
	rec.Permanent = f.Permanent
	rec.DeadLettered = f.DeadLettered
	if f.DeadLettered && f.MessageID != "" {
		rec.DLQMessageID = f.MessageID
	}
	rec.Provider = f.Provider
	rec.EventKey = f.EventKey
	setOptional(&rec.MessageID, f.MessageID)
	setOptional(&rec.EventType, f.EventType)
	setOptional(&rec.TransactionID, f.TransactionID)
	rec.LastFailedAt = now
	if rec.FirstFailedAt.IsZero() {
		rec.FirstFailedAt = now
	}
	rec.UpdatedAt = now
	rec.Token = ""
	rec.LeaseUntil = time.Time{}
	rec.ExpiresAt = time.Time{}
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

// Apply implements store.Store.
func (s *Store) Apply(_ context.Context, c transaction.Change, now time.Time) (transaction.Verdict, transaction.Transaction, error) {
	if err := c.Validate(); err != nil {
		return "", transaction.Transaction{}, fmt.Errorf("memstore: apply: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var current *transaction.Transaction
	if t, ok := s.transactions[c.TransactionID]; ok {
		current = &t
	}
	verdict, next := transaction.Decide(current, c, now)
	if verdict != transaction.Applied {
		return verdict, next, nil
	}
	next.LastEventAt = next.LastEventAt.UTC()
	next.CreatedAt = next.CreatedAt.UTC()
	next.UpdatedAt = next.UpdatedAt.UTC()
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
