package autoredrive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/logging"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

// pass is one pass's state.
type pass struct {
	r         *Redriver
	ctx       context.Context
	start     time.Time
	workUntil time.Time
	hide      time.Duration
	// held are the messages read and not moved, by id, with their latest
	// receipt handle: released at the end.
	held  map[string]sqsqueue.Received
	order []string
	// probed holds each provider's breaker verdict once asked (nil:
	// closed).
	probed map[string]error
	sum    Summary
	errs   []error
}

// Pass runs one pass within ctx's deadline (or Config.Budget): it moves
// the due messages it can and leaves the rest to the next pass. The error
// is non-nil when the DLQ or the records could not be read or a move
// failed; the summary says what was done all the same.
func (r *Redriver) Pass(ctx context.Context) (Summary, error) {
	p, cancel := r.begin(ctx)
	defer cancel()
	if len(r.cfg.Schedule) == 0 {
		p.sum.Stopped = StopOff
	}
	for p.sum.Stopped == "" {
		msgs := p.read()
		if len(msgs) > 0 {
			p.handle(msgs)
		}
	}
	p.releaseHeld()
	p.sum.Elapsed = time.Since(p.start)
	p.report()
	return p.sum, errors.Join(p.errs...)
}

// begin sets the pass's deadline, the time it works until (a margin
// before, to release what it holds) and the hide of its receives (at least
// as long as the pass may last).
func (r *Redriver) begin(ctx context.Context) (*pass, context.CancelFunc) {
	start := time.Now()
	deadline, ok := ctx.Deadline()
	if !ok || deadline.Sub(start) > r.cfg.Budget {
		deadline = start.Add(r.cfg.Budget)
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	total := deadline.Sub(start)
	margin := r.cfg.Margin
	if margin <= 0 {
		margin = min(total/10, 3*time.Second)
	}
	p := &pass{
		r: r, ctx: ctx, start: start, workUntil: deadline.Add(-margin),
		hide: (total + time.Second).Round(time.Second), held: map[string]sqsqueue.Received{},
		probed: map[string]error{}, sum: Summary{Left: map[Verdict]int{}},
	}
	return p, cancel
}

// timeLeft reports whether the pass may start more work.
func (p *pass) timeLeft() bool { return p.ctx.Err() == nil && time.Now().Before(p.workUntil) }

// read receives up to a chunk of messages it has not seen, with short
// polls, and sets sum.Stopped when the DLQ is read to the end, comes
// round, or the pass's time or limit runs out.
func (p *pass) read() []sqsqueue.Received {
	var out []sqsqueue.Received
	for len(out) < chunk {
		switch {
		case !p.timeLeft():
			p.sum.Stopped = StopDeadline
			return out
		case p.sum.Read >= p.r.cfg.MaxMessages:
			p.sum.Stopped = StopLimit
			return out
		}
		got, err := p.r.cfg.DLQ.Scan(p.ctx, min(10, p.r.cfg.MaxMessages-p.sum.Read), 0, p.hide)
		if err != nil {
			p.stopOn(fmt.Errorf("receive from the DLQ: %w", err))
			return out
		}
		if len(got) == 0 {
			p.sum.Stopped = StopEmpty
			return out
		}
		if p.takeNew(got, &out) {
			p.sum.Stopped = StopRepeat
			return out
		}
	}
	return out
}

// stopOn ends the pass on err, which is no error when the pass's own time
// ran out (a deadline, a worker shutting down).
func (p *pass) stopOn(err error) {
	if p.ctx.Err() != nil {
		p.sum.Stopped = StopDeadline
		return
	}
	p.sum.Stopped = StopError
	p.errs = append(p.errs, err)
}

// takeNew holds what a receive returned, adds the new messages to out, and
// reports whether some came round again.
func (p *pass) takeNew(got []sqsqueue.Received, out *[]sqsqueue.Received) (repeated bool) {
	for _, m := range got {
		_, seen := p.held[m.ID]
		p.held[m.ID] = m // only the latest receipt handle is sure to work
		if seen {
			repeated = true
			continue
		}
		p.order = append(p.order, m.ID)
		p.sum.Read++
		*out = append(*out, m)
	}
	return repeated
}

// due is a message whose round n is due.
type due struct {
	m        sqsqueue.Received
	provider string
	key      string
	round    int
}

// handle joins msgs with their records and moves the due ones, provider by
// provider, unless the provider's breaker is open.
func (p *pass) handle(msgs []sqsqueue.Received) {
	recs, err := p.records(msgs)
	if err != nil {
		p.stopOn(err)
		return
	}
	now := p.r.cfg.Now()
	byProvider := map[string][]due{}
	var providers []string
	for _, m := range msgs {
		provider, key := name(m)
		rec, found := recs[store.EventRef{Provider: provider, EventKey: key}]
		plan := p.r.cfg.Schedule.Plan(rec, found, now)
		if plan.Verdict != Due {
			p.leave(plan)
			continue
		}
		if _, ok := byProvider[provider]; !ok {
			providers = append(providers, provider)
		}
		// The latest receipt handle: the message may have come round.
		byProvider[provider] = append(byProvider[provider], due{m: p.held[m.ID], provider: provider, key: key, round: plan.Round})
	}
	for _, provider := range providers {
		ds := byProvider[provider]
		if p.breakerOpen(provider, ds[0].m) {
			p.sum.Postponed += len(ds)
			continue
		}
		p.move(ds)
	}
}

// leave counts a message left in the DLQ and notes when its round is due.
func (p *pass) leave(plan Plan) {
	p.sum.Left[plan.Verdict]++
	if plan.Verdict == NotDue && (p.sum.NextDueAt.IsZero() || plan.DueAt.Before(p.sum.NextDueAt)) {
		p.sum.NextDueAt = plan.DueAt
	}
}

// name is the event a message holds, as its record is keyed.
func name(m sqsqueue.Received) (provider, key string) {
	return processing.FailureName(m.Attributes[envelope.AttrProvider], m.Attributes[envelope.AttrEventKey], m.ID)
}

// records reads the records of msgs' events in one batch.
func (p *pass) records(msgs []sqsqueue.Received) (map[store.EventRef]store.EventRecord, error) {
	seen := map[store.EventRef]bool{}
	var refs []store.EventRef
	for _, m := range msgs {
		provider, key := name(m)
		if r := (store.EventRef{Provider: provider, EventKey: key}); !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}
	recs, err := p.r.cfg.Records.Events(p.ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("read the event records: %w", err)
	}
	return recs, nil
}

// breakerOpen probes provider's dependency once per pass, with the first
// due message, and reports whether its rounds must wait.
func (p *pass) breakerOpen(provider string, m sqsqueue.Received) bool {
	if err, asked := p.probed[provider]; asked {
		return err != nil
	}
	b, ok := p.r.cfg.Breakers[provider]
	if !ok {
		return false
	}
	env, err := envelope.Decode([]byte(m.Body))
	if err != nil {
		// Nothing to ask about: the processor will say what it is.
		p.probed[provider] = nil
		return false
	}
	ctx, cancel := context.WithTimeout(p.ctx, probeTimeout)
	defer cancel()
	err = b.Probe(ctx, env)
	p.probed[provider] = err
	if err != nil {
		p.r.cfg.Logger.Warn("automatic redrive postponed: the provider's dependency is still failing; its rounds wait for a later pass",
			slog.String("provider", provider), slog.String("probe_event_key", env.EventKey), logging.Err(err))
	}
	return err != nil
}

// releaseHeld makes every message the pass read and did not move visible
// again at once, even after the pass's deadline.
func (p *pass) releaseHeld() {
	if len(p.held) == 0 {
		return
	}
	handles := make([]string, 0, len(p.held))
	for _, id := range p.order {
		if m, ok := p.held[id]; ok {
			handles = append(handles, m.ReceiptHandle)
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), 10*time.Second)
	defer cancel()
	if err := p.r.cfg.DLQ.Release(ctx, handles); err != nil {
		// They reappear when the pass's hide runs out.
		p.r.cfg.Logger.Warn("could not release the DLQ messages the pass read", slog.Int("messages", len(handles)),
			slog.Duration("visible_again_in", p.hide), logging.Err(err))
	}
}

// report logs the pass's summary line.
func (p *pass) report() {
	attrs := []slog.Attr{
		slog.Int("read", p.sum.Read), slog.Int("moved", p.sum.Moved), slog.Int("postponed", p.sum.Postponed),
		slog.Int("taken", p.sum.Taken), slog.Int("errors", p.sum.Errors), slog.String("stopped", string(p.sum.Stopped)),
		slog.Int64("elapsed_ms", p.sum.Elapsed.Milliseconds()),
	}
	for v, n := range p.sum.Left {
		attrs = append(attrs, slog.Int("left_"+string(v), n))
	}
	if !p.sum.NextDueAt.IsZero() {
		attrs = append(attrs, slog.Time("next_due_at", p.sum.NextDueAt.UTC()))
	}
	level := slog.LevelInfo
	if len(p.errs) > 0 {
		level = slog.LevelError
		attrs = append(attrs, logging.Err(errors.Join(p.errs...)))
	} else if p.sum.Read == 0 {
		level = slog.LevelDebug // an empty DLQ every minute is not news
	}
	p.r.cfg.Logger.LogAttrs(context.WithoutCancel(p.ctx), level, "automatic redrive pass", attrs...)
}
