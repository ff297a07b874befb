package failedjobs

import (
	"context"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/autoredrive"
	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

// readBatch is how many records one Records.Events call asks for:
// DynamoDB's BatchGetItem takes 100 keys.
const readBatch = 100

// describe names a message by its attributes alone.
func describe(m sqsqueue.Received) FailedJob {
	j := FailedJob{
		MessageID: m.ID, Provider: m.Attributes[envelope.AttrProvider], EventKey: m.Attributes[envelope.AttrEventKey],
		EventType: m.Attributes[envelope.AttrEventType], TransactionID: m.Attributes[envelope.AttrTransactionID],
		ReceiveCount: m.ReceiveCount, EnqueuedAt: m.SentAt,
	}
	// The name the processor records a failure under, also for a message
	// whose attributes are missing.
	j.Provider, j.EventKey = processing.FailureName(j.Provider, j.EventKey, j.MessageID)
	return j
}

// redriven is the copy of m to send back to the source queue, marked so
// that the processor closes the event's failure record when it succeeds.
func redriven(m sqsqueue.Received) sqsqueue.Outgoing {
	return m.Redriven(envelope.RedriveManual)
}

func refOf(j FailedJob) store.EventRef {
	return store.EventRef{Provider: j.Provider, EventKey: j.EventKey}
}

// join describes msgs and joins them with their failure records, read in
// batches of readBatch, ReadConcurrency batches at a time. A batch that
// cannot be read marks its jobs "unreadable" rather than failing the list.
func (s *Service) join(ctx context.Context, msgs []sqsqueue.Received, progress func(joined int)) []FailedJob {
	jobs := make([]FailedJob, len(msgs))
	var refs []store.EventRef
	seen := map[store.EventRef]bool{}
	for i, m := range msgs {
		jobs[i] = describe(m)
		if r := refOf(jobs[i]); !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	var (
		mu      sync.Mutex
		records = make(map[store.EventRef]store.EventRecord, len(refs))
		failed  = map[store.EventRef]string{}
		joined  int
		wg      sync.WaitGroup
		slots   = make(chan struct{}, s.cfg.ReadConcurrency)
	)
	for start := 0; start < len(refs); start += readBatch {
		chunk := refs[start:min(start+readBatch, len(refs))]
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			got, err := s.cfg.Records.Events(ctx, chunk)
			mu.Lock()
			defer mu.Unlock()
			for _, r := range chunk {
				if err != nil {
					failed[r] = err.Error()
				} else if rec, ok := got[r]; ok {
					records[r] = rec
				}
			}
			joined += len(chunk)
			if progress != nil {
				progress(joined)
			}
		})
	}
	wg.Wait()
	now := s.cfg.Now()
	for i := range jobs {
		fill(&jobs[i], records, failed)
		s.planRounds(&jobs[i], records, now)
	}
	return jobs
}

// planRounds shows a job's automatic rounds and when the next is due.
func (s *Service) planRounds(j *FailedJob, records map[store.EventRef]store.EventRecord, now time.Time) {
	rec, found := records[refOf(*j)]
	j.Rounds, j.RoundsTotal = rec.Rounds, len(s.cfg.Rounds)
	if j.Rounds == nil {
		j.Rounds = []store.Round{}
	}
	if j.Record == "unreadable" {
		return
	}
	if p := s.cfg.Rounds.Plan(rec, found, now); p.Verdict == autoredrive.Due || p.Verdict == autoredrive.NotDue {
		j.NextRound, j.NextRoundAt = p.Round, p.DueAt
	}
}

// fill completes a job with what its record says.
func fill(j *FailedJob, records map[store.EventRef]store.EventRecord, failed map[store.EventRef]string) {
	r := refOf(*j)
	if msg, bad := failed[r]; bad {
		j.Record, j.Error = "unreadable", "failure record unreadable: "+msg
		return
	}
	rec, ok := records[r]
	if !ok {
		j.Record, j.Error = "missing", "no failure record (the event may have been forgotten or never processed)"
		return
	}
	j.Record = string(rec.Status)
	j.Attempts, j.FailedAt, j.Error, j.ErrorType, j.Permanent = rec.Attempts, rec.LastFailedAt, rec.LastError, rec.ErrorType, rec.Permanent
	if j.EventType == "" {
		j.EventType = rec.EventType
	}
	if j.TransactionID == "" {
		j.TransactionID = rec.TransactionID
	}
}
