package memstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/payments-hub/hub/internal/store"
)

// Events returns the records of refs that exist and have not expired,
// keyed by ref, with the semantics of dynamostore's batch read.
func (s *Store) Events(ctx context.Context, refs []store.EventRef) (map[store.EventRef]store.EventRecord, error) {
	out := make(map[store.EventRef]store.EventRecord, len(refs))
	for _, r := range refs {
		if _, err := store.RecordKey(r.Provider, r.EventKey); err != nil {
			return nil, fmt.Errorf("memstore: events: %w", err)
		}
		rec, err := s.Event(ctx, r.Provider, r.EventKey)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			out[r] = rec
		}
	}
	return out, nil
}
