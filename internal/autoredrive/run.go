package autoredrive

import (
	"context"
	"time"
)

// Run runs a pass every interval (the first at once) until ctx ends: the
// automatic redrive of `hubctl work` and `hubctl dev`. Each pass logs its
// own summary and errors; a pass cut by ctx releases what it held.
func (r *Redriver) Run(ctx context.Context, every time.Duration) {
	for ctx.Err() == nil {
		_, _ = r.Pass(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}
