package autoredrive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/logging"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/store"
)

// move begins each message's round, sends the copies of those whose round
// it won to the queue, and deletes the originals from the DLQ. A message
// leaves the pass's hold only once its copy is queued.
func (p *pass) move(ds []due) {
	var begun []due
	for _, d := range ds {
		if !p.timeLeft() {
			break // left held: the next pass
		}
		err := p.r.cfg.Records.BeginRound(p.ctx, d.provider, d.key, d.round, p.r.cfg.Now())
		switch {
		case errors.Is(err, store.ErrRoundTaken):
			// Another pass took it (a copy of the event, or the same
			// message seen by two passes), or the event changed.
			p.sum.Taken++
		case err != nil:
			p.moveFailed(d, fmt.Errorf("record round %d: %w", d.round, err), "the message stays in the DLQ")
		default:
			begun = append(begun, d)
		}
	}
	if len(begun) == 0 {
		return
	}
	copies := make([]sqsqueue.Outgoing, len(begun))
	for i, d := range begun {
		copies[i] = redriven(d.m, d.round)
	}
	// Rounds are begun: the copies must go even if the deadline is near.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), 10*time.Second)
	defer cancel()
	ids, err := p.r.cfg.Queue.SendBatch(ctx, copies)
	var sent []due
	for i, d := range begun {
		if i < len(ids) && ids[i] != "" {
			sent = append(sent, d)
			p.moved(d, ids[i])
			continue
		}
		cause := err
		if cause == nil {
			cause = errors.New("SQS refused the entry")
		}
		// The round is recorded as begun: the next one will move it.
		p.moveFailed(d, fmt.Errorf("send to the queue: %w", cause), fmt.Sprintf("round %d is counted and the message stays in the DLQ", d.round))
	}
	p.deleteMoved(sent)
}

// redriven is the copy of m that goes back to the queue for round n: the
// same body and attributes, marked with its round so that the processor
// ends it.
func redriven(m sqsqueue.Received, round int) sqsqueue.Outgoing {
	return m.Redriven(envelope.RedriveAuto + strconv.Itoa(round))
}

// moved logs one moved message; it is no longer the pass's to release.
func (p *pass) moved(d due, newID string) {
	delete(p.held, d.m.ID)
	p.sum.Moved++
	p.r.cfg.Logger.Info("automatic redrive: moved back to the queue",
		slog.String("provider", d.provider), slog.String("event_key", d.key), slog.Int("round", d.round),
		slog.Int("rounds", len(p.r.cfg.Schedule)), slog.String("message_id", d.m.ID), slog.String("new_message_id", newID))
}

func (p *pass) moveFailed(d due, err error, consequence string) {
	p.sum.Errors++
	p.errs = append(p.errs, fmt.Errorf("%s %s: %w", d.provider, d.key, err))
	p.r.cfg.Logger.Error("automatic redrive: could not move a message; "+consequence,
		slog.String("provider", d.provider), slog.String("event_key", d.key), slog.Int("round", d.round),
		slog.String("message_id", d.m.ID), logging.Err(err))
}

// deleteMoved deletes the originals of the copies queued. One that cannot
// be deleted reappears in the DLQ after the pass's hide; its event's round
// is already begun, so no pass moves it again before the next round.
func (p *pass) deleteMoved(sent []due) {
	if len(sent) == 0 {
		return
	}
	handles := make([]string, len(sent))
	for i, d := range sent {
		handles[i] = d.m.ReceiptHandle
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), 10*time.Second)
	defer cancel()
	if err := p.r.cfg.DLQ.Delete(ctx, handles); err != nil {
		p.r.cfg.Logger.Warn("automatic redrive: moved messages not deleted from the DLQ; their copies are queued and a second delivery is deduplicated",
			slog.Int("messages", len(sent)), logging.Err(err))
	}
}
