package hubstatus

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/store"
)

// Throttled returns r reading the failures and the ages at most once per
// every, and answering with the last ones read in between (the queue
// counts and the redrives are read each time). The live view refreshes
// every few seconds, while the failures are a scan of the events table and
// the ages a CloudWatch GetMetricData call, both billed per read; the
// ages are per minute anyway. The next automatic redrive is still worked
// out at each Read, from the failures kept. A read that fails is not kept:
// the next Read tries again.
func (r Reader) Throttled(every time.Duration) Reader {
	if r.Failures != nil {
		r.Failures = &throttledFailures{src: r.Failures, last: throttle[[]store.EventRecord]{every: every}}
	}
	if r.Ages != nil {
		r.Ages = &throttledAges{src: r.Ages, last: throttle[map[string]time.Duration]{every: every}}
	}
	return r
}

// throttle keeps the last value read, and for which key.
type throttle[T any] struct {
	every time.Duration
	mu    sync.Mutex
	key   string
	at    time.Time
	val   T
}

// get returns the value kept for key if read less than every ago, else
// reads it.
func (t *throttle[T]) get(key string, read func() (T, error)) (T, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.at.IsZero() && t.key == key && time.Since(t.at) < t.every {
		return t.val, nil
	}
	v, err := read()
	if err != nil {
		var zero T
		return zero, err
	}
	t.key, t.at, t.val = key, time.Now(), v
	return v, nil
}

type throttledFailures struct {
	src  Failures
	last throttle[[]store.EventRecord]
}

func (t *throttledFailures) Failures(ctx context.Context, limit int) ([]store.EventRecord, error) {
	return t.last.get(strconv.Itoa(limit), func() ([]store.EventRecord, error) { return t.src.Failures(ctx, limit) })
}

type throttledAges struct {
	src  AgeSource
	last throttle[map[string]time.Duration]
}

func (t *throttledAges) OldestAges(ctx context.Context, queueNames ...string) (map[string]time.Duration, error) {
	return t.last.get(strings.Join(queueNames, "\n"), func() (map[string]time.Duration, error) { return t.src.OldestAges(ctx, queueNames...) })
}
