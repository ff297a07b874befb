package storetest_test

import (
	"testing"

	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/store/memstore"
	"github.com/payments-hub/hub/internal/store/storetest"
)

func TestMemstore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return memstore.New(storetest.Retention)
	})
}
