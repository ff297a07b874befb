package failedjobs

import (
	"context"
	"time"
)

// ListOptions shape a listing.
type ListOptions struct {
	// Limit bounds the messages read (0: up to MaxScan).
	Limit int
	// Progress, when set, is called as messages are read and joined.
	Progress func(Progress)
}

// Listing is the DLQ as one scan saw it.
type Listing struct {
	Jobs    []FailedJob
	Stopped StopReason
	Elapsed time.Duration
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
	jobs := s.join(ctx, sc.msgs, func(joined int) {
		if o.Progress != nil {
			o.Progress(Progress{Read: len(sc.msgs), Joined: joined, Elapsed: sc.elapsed})
		}
	})
	return Listing{Jobs: jobs, Stopped: sc.stopped, Elapsed: sc.elapsed}, nil
}

// Note explains a listing that did not read the whole DLQ; "" when it did.
func (l Listing) Note(budget time.Duration) string { return l.Stopped.Note(len(l.Jobs), budget) }

// Budget is the time one scan may take.
func (s *Service) Budget() time.Duration { return s.cfg.Budget }
