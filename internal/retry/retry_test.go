package retry_test

import (
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/retry"
)

func TestDefaultIsTheSeedSchedule(t *testing.T) {
	t.Parallel()
	p := retry.Default()
	want := []time.Duration{10 * time.Second, 30 * time.Second, 60 * time.Second, 60 * time.Second}
	for i, w := range want {
		if got := p.Delay(i + 1); got != w {
			t.Errorf("Delay(%d) = %s, want %s", i+1, got, w)
		}
	}
	if p.IsLast(2) || !p.IsLast(3) {
		t.Error("attempt 3 of 3 must be the last")
	}
	if got := p.String(); got != "attempt 1 at once, attempt 2 +10s, attempt 3 +30s, DLQ +1m0s" {
		t.Errorf("String() = %q", got)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, bad := range []retry.Policy{
		{Backoff: []time.Duration{time.Second}, MaxAttempts: 0},
		{MaxAttempts: 3},
		{Backoff: []time.Duration{13 * time.Hour}, MaxAttempts: 3},
	} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) accepted", bad)
		}
	}
}
