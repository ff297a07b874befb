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

func TestParse(t *testing.T) {
	t.Parallel()
	p, err := retry.Parse("1, 2,3", "3")
	if err != nil || p.Delay(2) != 2*time.Second || p.MaxAttempts != 3 {
		t.Fatalf("Parse = %+v, %v", p, err)
	}
	p, err = retry.Parse("0.5", "")
	if err != nil || p.Delay(5) != 500*time.Millisecond {
		t.Fatalf("short schedule: %+v %v", p, err)
	}
	for _, bad := range [][2]string{{"10,x", ""}, {"-1", ""}, {"", "0"}, {"", "three"}, {"50000", ""}, {",", ""}} {
		if _, err := retry.Parse(bad[0], bad[1]); err == nil {
			t.Errorf("Parse(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
