package failedjobs

import (
	"context"
	"fmt"
	"time"

	"github.com/payments-hub/hub/internal/sqsqueue"
)

// StopReason says why a scan of the DLQ ended.
type StopReason string

// Why a scan ends. Only StopEmpty means every visible message was read.
const (
	StopEmpty  StopReason = "empty"  // a receive returned nothing: the DLQ was read to the end
	StopRepeat StopReason = "repeat" // a message came round again: the scan has seen them all once
	StopLimit  StopReason = "limit"  // the caller's limit was reached
	StopBudget StopReason = "budget" // Config.Budget ran out
	StopFound  StopReason = "found"  // every message asked for was found
)

// Progress reports a long operation as it runs.
type Progress struct {
	Read    int           `json:"read"`
	Joined  int           `json:"joined"`
	Moved   int           `json:"moved"`
	Elapsed time.Duration `json:"elapsed"`
}

// scanOptions shape one scan.
type scanOptions struct {
	limit int
	// found is called once per message read; true stops the scan.
	found    func(m sqsqueue.Received) bool
	progress func(Progress)
}

// scanned is what a scan read, each message once with its latest receipt
// handle. The caller must release what it does not delete.
type scanned struct {
	msgs    []sqsqueue.Received
	stopped StopReason
	elapsed time.Duration
}

// scan reads the DLQ until one of the StopReasons.
func (s *Service) scan(ctx context.Context, o scanOptions) (sc scanned, err error) {
	limit := o.limit
	if limit <= 0 || limit > MaxScan {
		limit = MaxScan
	}
	start := time.Now()
	index := map[string]int{}
	defer func() { sc.elapsed = time.Since(start) }()
	for {
		switch {
		case len(sc.msgs) >= limit:
			sc.stopped = StopLimit
			return sc, nil
		case time.Since(start) >= s.cfg.Budget:
			sc.stopped = StopBudget
			return sc, nil
		}
		got, err := s.cfg.DLQ.Scan(ctx, min(10, limit-len(sc.msgs)), s.cfg.Wait, s.cfg.Hide)
		if err != nil {
			return sc, fmt.Errorf("receive from the DLQ: %w", err)
		}
		if len(got) == 0 {
			sc.stopped = StopEmpty
			return sc, nil
		}
		repeated, done := false, false
		for _, m := range got {
			if i, seen := index[m.ID]; seen {
				// Only the latest receipt handle is sure to work.
				sc.msgs[i].ReceiptHandle, sc.msgs[i].ReceiveCount = m.ReceiptHandle, m.ReceiveCount
				repeated = true
				continue
			}
			index[m.ID] = len(sc.msgs)
			sc.msgs = append(sc.msgs, m)
			if o.found != nil && o.found(m) {
				done = true
			}
		}
		if o.progress != nil {
			o.progress(Progress{Read: len(sc.msgs), Elapsed: time.Since(start)})
		}
		switch {
		case done:
			sc.stopped = StopFound
			return sc, nil
		case repeated:
			sc.stopped = StopRepeat
			return sc, nil
		}
	}
}

// release makes msgs visible again at once, even after Ctrl-C.
func (s *Service) release(ctx context.Context, msgs []sqsqueue.Received) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := s.cfg.DLQ.Release(context.WithoutCancel(ctx), handles(msgs)); err != nil {
		return fmt.Errorf("could not make %d read messages visible again (they reappear within %s): %w", len(msgs), s.cfg.Hide, err)
	}
	return nil
}

// releaseOrWarn releases msgs on a path that already has its own outcome;
// a failure only delays their return, so it is logged.
func (s *Service) releaseOrWarn(ctx context.Context, msgs []sqsqueue.Received) {
	if err := s.release(ctx, msgs); err != nil {
		s.cfg.Logger.Warn("release DLQ messages", "messages", len(msgs), "error", err.Error())
	}
}

func handles(msgs []sqsqueue.Received) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ReceiptHandle
	}
	return out
}

// Note explains a scan that did not read the DLQ to the end, for the
// person running it; "" when it did.
func (r StopReason) Note(read int, budget time.Duration) string {
	switch r {
	case StopRepeat:
		return fmt.Sprintf("stopped after %d messages when messages came round again; more may be hidden by another reader", read)
	case StopBudget:
		return fmt.Sprintf("stopped after %d messages at the time budget of %s: more remain in the DLQ", read, budget)
	case StopLimit:
		return fmt.Sprintf("stopped at the limit of %d messages: more may remain in the DLQ", read)
	}
	return ""
}
