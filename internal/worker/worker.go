// Package worker is the long-running consumer behind `hubctl work`: it
// long-polls the queue, runs up to Concurrency jobs at once through the
// processing core, deletes finished messages in batches, and on shutdown
// stops receiving, lets running jobs finish within their timeout, and makes
// the messages it had not started visible again.
package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/logging"
	"github.com/payments-hub/hub/internal/processing"
)

// Queue is what the worker needs from the queue (sqsqueue.Consumer).
type Queue interface {
	Receive(ctx context.Context, limit int, wait time.Duration) ([]processing.Message, error)
	Delete(ctx context.Context, receiptHandles []string) error
	Release(ctx context.Context, receiptHandles []string) error
}

// Config configures a Worker.
type Config struct {
	Queue     Queue
	Processor *processing.Processor
	// Concurrency is how many jobs run at once (default 2).
	Concurrency int
	// Wait is the long-polling wait (default 20 s, SQS's maximum).
	Wait time.Duration
	// MaxTime stops the worker after this long (0: run until stopped).
	MaxTime time.Duration
	// Once processes what one receive returns, then stops.
	Once bool
	// ShutdownGrace is how long a receive in flight at shutdown is let
	// finish (default 2 s): cancelling it would lose what SQS had already
	// picked for it, hidden for the visibility timeout with its receive
	// count raised. What it returns is released at once.
	ShutdownGrace time.Duration
	Logger        *slog.Logger
}

// Stats counts what a run did.
type Stats struct {
	Received, Acked, Retried, DeadLettered, Released int
}

// Worker consumes a queue.
type Worker struct {
	cfg Config
	mu  sync.Mutex
	st  Stats
}

// New validates cfg and returns a Worker.
func New(cfg Config) (*Worker, error) {
	if cfg.Queue == nil || cfg.Processor == nil {
		return nil, errors.New("worker: a queue and a processor are required")
	}
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 2
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 20 * time.Second
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{cfg: cfg}, nil
}

// Stats returns the counts so far.
func (w *Worker) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

func (w *Worker) count(f func(*Stats)) {
	w.mu.Lock()
	f(&w.st)
	w.mu.Unlock()
}

// Run consumes until ctx is cancelled (SIGTERM, SIGINT), MaxTime passes, or,
// with Once, one receive has been processed. Running jobs are not cancelled
// by ctx: each finishes within the job timeout.
func (w *Worker) Run(ctx context.Context) error {
	if w.cfg.MaxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.cfg.MaxTime)
		defer cancel()
	}
	// Jobs and the final deletes run on a context that shutdown does not
	// cancel: a job that started is let finish.
	work := context.WithoutCancel(ctx)

	acks := make(chan string, 100)
	deleterDone := make(chan struct{})
	go func() {
		defer close(deleterDone)
		w.deleteLoop(work, acks)
	}()

	r := &run{ctx: ctx, work: work, acks: acks, slots: make(chan struct{}, w.cfg.Concurrency)}
	var pollErr error
	backoff := time.Second
	for ctx.Err() == nil {
		// Receive only what can start now, so that nothing received waits
		// behind a slow job while its visibility timeout runs.
		free := w.cfg.Concurrency - len(r.slots)
		if free == 0 {
			select {
			case r.slots <- struct{}{}:
				<-r.slots
			case <-ctx.Done():
			}
			continue
		}
		msgs, err := w.receive(ctx, min(free, 10))
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			w.cfg.Logger.Error("receive failed; retrying", logging.Err(err), slog.Duration("retry_in", backoff))
			pollErr = err
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff, pollErr = time.Second, nil
		w.start(r, msgs)
		if w.cfg.Once {
			break
		}
	}
	r.running.Wait()
	close(acks)
	<-deleterDone
	if w.cfg.Once && pollErr != nil {
		return pollErr
	}
	return nil
}

// run is one Run's shared state.
type run struct {
	ctx, work context.Context
	acks      chan string
	slots     chan struct{}
	running   sync.WaitGroup
}

// start runs each message's job as a slot frees up. Once shutdown has
// begun, it starts nothing more and releases the rest at once.
func (w *Worker) start(r *run, msgs []processing.Message) {
	w.count(func(s *Stats) { s.Received += len(msgs) })
	for i, m := range msgs {
		if r.ctx.Err() == nil {
			select {
			case r.slots <- struct{}{}:
			case <-r.ctx.Done():
			}
		}
		if r.ctx.Err() != nil {
			w.release(r.work, msgs[i:])
			return
		}
		r.running.Add(1)
		go func() {
			defer func() { <-r.slots; r.running.Done() }()
			w.finish(m, w.cfg.Processor.Process(r.work, m, time.Time{}), r.acks)
		}()
	}
}

// receive long-polls on a context shutdown does not cancel at once: when
// ctx ends mid-poll, the receive gets ShutdownGrace more to return what SQS
// picked for it, and the caller releases that.
func (w *Worker) receive(ctx context.Context, limit int) ([]processing.Message, error) {
	pollCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	type result struct {
		msgs []processing.Message
		err  error
	}
	done := make(chan result, 1)
	go func() {
		msgs, err := w.cfg.Queue.Receive(pollCtx, limit, w.cfg.Wait)
		done <- result{msgs, err}
	}()
	select {
	case r := <-done:
		return r.msgs, r.err
	case <-ctx.Done():
	}
	grace := time.NewTimer(w.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case r := <-done:
		return r.msgs, r.err
	case <-grace.C:
		cancel()
		r := <-done
		return r.msgs, r.err
	}
}

func (w *Worker) finish(m processing.Message, r processing.Result, acks chan<- string) {
	switch r.Action {
	case processing.Ack:
		w.count(func(s *Stats) { s.Acked++ })
		acks <- m.ReceiptHandle
	case processing.Retry:
		w.count(func(s *Stats) { s.Retried++ })
	case processing.DeadLetter:
		w.count(func(s *Stats) { s.DeadLettered++ })
	}
}

// release makes messages the worker will not start visible again at once.
func (w *Worker) release(ctx context.Context, msgs []processing.Message) {
	if len(msgs) == 0 {
		return
	}
	handles := make([]string, len(msgs))
	for i, m := range msgs {
		handles[i] = m.ReceiptHandle
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.cfg.Queue.Release(ctx, handles); err != nil {
		// They come back when their visibility timeout runs out instead.
		w.cfg.Logger.Warn("could not release unstarted messages", logging.Err(err), slog.Int("messages", len(msgs)))
		return
	}
	w.count(func(s *Stats) { s.Released += len(msgs) })
	w.cfg.Logger.Info("released unstarted messages", slog.Int("messages", len(msgs)))
}

// deleteLoop deletes acknowledged messages in batches of up to 10, flushing
// at least every 200 ms.
func (w *Worker) deleteLoop(ctx context.Context, acks <-chan string) {
	var pending []string
	flush := func() {
		if len(pending) == 0 {
			return
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := w.cfg.Queue.Delete(dctx, pending); err != nil {
			// Undeleted messages come back after their visibility timeout
			// and are acknowledged as already processed: never applied twice.
			w.cfg.Logger.Warn("delete failed; the messages will be redelivered and deduplicated", logging.Err(err), slog.Int("messages", len(pending)))
		}
		pending = pending[:0]
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case h, ok := <-acks:
			if !ok {
				flush()
				return
			}
			pending = append(pending, h)
			if len(pending) == 10 {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}
