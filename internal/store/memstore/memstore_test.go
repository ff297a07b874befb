package memstore_test

import (
	"testing"

	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/store/memstore"
	"github.com/payments-hub/hub/internal/store/storetest"
)

// TestConformance holds the in-memory store to the suite every store
// passes, so that the domain's unit tests see DynamoDB's semantics.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return memstore.New(storetest.Retention)
	})
}
