package failedjobs

import (
	"context"
	"fmt"
	"time"
)

// ListOptions shape a listing.
type ListOptions struct {
	// Limit bounds the messages read (0: up to MaxScan).
	Limit int
	// Progress, when set, is called as messages are read and joined.
	Progress func(Progress)
	// Filter selects the jobs listed (the zero Filter: all).
	Filter Filter
}

// Listing is the DLQ as one scan saw it.
type Listing struct {
	// Jobs are the jobs the filter selected among the Read messages.
	Jobs    []FailedJob
	Read    int
	Stopped StopReason
	Elapsed time.Duration
	// Hidden counts the DLQ messages in flight once the listing had
	// released its own: held by another reader, or by a receive whose
	// answer was lost on the way (SQS hides them all the same). They were
	// not listed; -1 when the count could not be read.
	Hidden int64
}

// List reads the DLQ and joins each message with its failure record. It
// leaves the DLQ as it found it, but for the receive counts, which listing
// raises by one. The scan's messages are released before the records are
// read: the join needs only their attributes.
func (s *Service) List(ctx context.Context, o ListOptions) (Listing, error) {
	sc, err := s.scan(ctx, scanOptions{limit: o.Limit, progress: o.Progress})
	rerr := s.release(ctx, sc.msgs)
	if err != nil {
		return Listing{}, err
	}
	if rerr != nil {
		return Listing{}, rerr
	}
	l := Listing{Read: len(sc.msgs), Stopped: sc.stopped, Elapsed: sc.elapsed, Hidden: -1}
	if d, err := s.cfg.DLQ.Depth(ctx); err == nil {
		l.Hidden = d.InFlight
	}
	l.Jobs = filterJobs(s.join(ctx, sc.msgs, func(joined int) {
		if o.Progress != nil {
			o.Progress(Progress{Read: len(sc.msgs), Joined: joined, Elapsed: sc.elapsed})
		}
	}), o.Filter)
	return l, nil
}

// Note explains a listing that did not show the whole DLQ; "" when it
// did.
func (l Listing) Note(budget, hide time.Duration) string {
	note := l.Stopped.Note(l.Read, budget)
	if l.Hidden > 0 {
		hidden := fmt.Sprintf("about %d DLQ messages were in flight when it ended (SQS's count can lag a minute): those hidden by another command, or by a receive whose answer was lost, were not listed and reappear within %s", l.Hidden, hide)
		if note == "" {
			return hidden
		}
		return note + "; " + hidden
	}
	return note
}

// Budget is the time one scan may take.
func (s *Service) Budget() time.Duration { return s.cfg.Budget }

// Hide is how long a scan hides what it reads.
func (s *Service) Hide() time.Duration { return s.cfg.Hide }
