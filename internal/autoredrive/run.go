package autoredrive

import (
	"context"
	"time"
)

// Run runs a pass every interval (the first at once) until ctx ends: the
// automatic redrive of `hubctl work` and `hubctl dev`. A pass may last the
// interval (at least 5 s, at most Config.Budget), so that what a lost
// receive hides comes back soon. Each pass logs its own summary and errors;
// a pass cut by ctx releases what it held.
func (r *Redriver) Run(ctx context.Context, every time.Duration) {
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, min(max(every, 5*time.Second), r.cfg.Budget))
		_, _ = r.Pass(pctx)
		cancel()
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}
