// Package retry is the hub's retry policy: 3 attempts with a backoff of 10,
// 30, 60 s by default. Attempt n that fails waits Delay(n) before attempt
// n+1, and after MaxAttempts the event goes to the dead-letter queue.
package retry

import (
	"fmt"
	"strings"
	"time"
)

// MaxDelay is SQS's limit on a message's visibility timeout.
const MaxDelay = 12 * time.Hour

// Policy is a backoff schedule and an attempt limit.
type Policy struct {
	Backoff     []time.Duration
	MaxAttempts int
}

// Default is the hub's policy: 3 attempts, 10 s then 30 s between them,
// and 60 s before the last failure reaches the DLQ.
func Default() Policy {
	return Policy{Backoff: []time.Duration{10 * time.Second, 30 * time.Second, 60 * time.Second}, MaxAttempts: 3}
}

// Validate checks the policy.
func (p Policy) Validate() error {
	if p.MaxAttempts < 1 || p.MaxAttempts > 1000 {
		return fmt.Errorf("max attempts %d must be between 1 and 1000 (it must equal the queue's maxReceiveCount)", p.MaxAttempts)
	}
	if len(p.Backoff) == 0 {
		return fmt.Errorf("the backoff schedule is empty: give at least one delay, e.g. 10,30,60")
	}
	for _, d := range p.Backoff {
		if d > MaxDelay {
			return fmt.Errorf("backoff %s exceeds SQS's 12 h visibility limit", d)
		}
	}
	return nil
}

// Delay is how long a message stays hidden after attempt n (1-based)
// fails: backoff[n-1], or the last entry when the schedule is shorter.
func (p Policy) Delay(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	if attempt > len(p.Backoff) {
		return p.Backoff[len(p.Backoff)-1]
	}
	return p.Backoff[attempt-1]
}

// IsLast reports whether attempt n is the last one: when it fails, SQS's
// redrive moves the message to the DLQ on its next receive.
func (p Policy) IsLast(attempt int) bool { return attempt >= p.MaxAttempts }

// String renders the schedule as people read it: "0s, +10s, +30s, +60s to the DLQ".
func (p Policy) String() string {
	parts := []string{"attempt 1 at once"}
	for n := 1; n < p.MaxAttempts; n++ {
		parts = append(parts, fmt.Sprintf("attempt %d +%s", n+1, p.Delay(n)))
	}
	parts = append(parts, fmt.Sprintf("DLQ +%s", p.Delay(p.MaxAttempts)))
	return strings.Join(parts, ", ")
}
