package main

import (
	"context"
	"errors"
	"time"

	"github.com/payments-hub/hub/internal/flowmetrics"
	"github.com/payments-hub/hub/internal/hubstatus"
)

// watchJSON is one refresh of `status --watch --json`.
type watchJSON struct {
	hubstatus.Status
	Flow     *flowmetrics.Snapshot `json:"flow"`
	FlowNote string                `json:"flow_note,omitempty"`
}

// watch is the live view: it redraws the status and the flow every
// interval, in place, until q, Ctrl-C or SIGTERM, and leaves the terminal
// as it found it (exit 0). A refresh that fails after the first is shown,
// and the next one tried.
func watch(ctx context.Context, c *cli, r hubstatus.Reader, flow flowSource, o statusOptions) error {
	scr := &screen{out: c.stdout, restore: func() {}}
	if !o.asJSON {
		scr = openScreen(c)
	}
	defer scr.close()
	quit := scr.quit()
	var last frame
	for n := 0; ; n++ {
		f, stopped, err := refresh(ctx, quit, r, flow, o)
		switch {
		case stopped:
			return nil
		case err != nil && n == 0:
			return err
		case err != nil:
			f = last
			f.refreshNote = err.Error()
		}
		last = f
		if o.asJSON {
			if err := writeJSON(c.stdout, watchJSON{Status: f.st, Flow: f.flow, FlowNote: f.flowNote}); err != nil {
				return err
			}
		} else {
			scr.draw(f.lines())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-quit:
			return nil
		case <-time.After(o.interval):
		}
	}
}

// refresh reads one frame, bounded in time, and gives up at once when the
// view is quit (stopped).
func refresh(ctx context.Context, quit <-chan struct{}, r hubstatus.Reader, flow flowSource, o statusOptions) (f frame, stopped bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, max(2*o.interval, 15*time.Second))
	defer cancel()
	type result struct {
		f   frame
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := readFrame(ctx, r, flow, o)
		done <- result{f, err}
	}()
	select {
	case <-quit:
		return frame{}, true, nil
	case res := <-done:
		return res.f, errors.Is(ctx.Err(), context.Canceled), res.err
	}
}

// readFrame reads one refresh: the status is required, the flow is shown
// as unavailable when it cannot be read.
func readFrame(ctx context.Context, r hubstatus.Reader, flow flowSource, o statusOptions) (frame, error) {
	st, err := r.Read(ctx, o.failures)
	if err != nil {
		return frame{}, err
	}
	f := frame{st: st, source: flow.name, interval: o.interval}
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	snap, err := flow.Read(fctx)
	if err != nil {
		f.flowNote = err.Error()
		if ctx.Err() == nil && flow.hint != "" {
			f.flowNote += "; " + flow.hint
		}
		return f, nil
	}
	f.flow = &snap
	return f, nil
}
