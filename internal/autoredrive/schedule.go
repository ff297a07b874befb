package autoredrive

import (
	"fmt"
	"time"

	"github.com/payments-hub/hub/internal/store"
)

// Schedule is the automatic redrive rounds (AUTO_REDRIVE_SECONDS): round n
// is due Schedule[n-1] after the event last reached the DLQ. Empty: no
// automatic redrive.
type Schedule []time.Duration

// Verdict is what a pass does with one DLQ message, from its event record.
type Verdict string

// Verdicts. Only Due moves a message; the others leave it in the DLQ.
const (
	Due       Verdict = "due"
	NotDue    Verdict = "not_due"    // its next round is later
	Permanent Verdict = "permanent"  // retrying cannot help: never redriven automatically
	Forgotten Verdict = "forgotten"  // an operator dropped the event
	Exhausted Verdict = "exhausted"  // every round was spent
	NoRecord  Verdict = "no_record"  // nothing says the event failed: left to an operator
	NotFailed Verdict = "not_failed" // the record says the event is done (a duplicate was applied)
	Off       Verdict = "off"        // automatic redrive is off
)

// Plan is the next automatic round of one event.
type Plan struct {
	Verdict Verdict
	// Round is the next round (1-based) and DueAt when it is due; both
	// are set for Due and NotDue only.
	Round int
	DueAt time.Time
}

// Plan says what becomes of the event whose record is rec (found false:
// no record) at now. The next round is due its delay after the later of
// the record's last failure and the start of its last round: a copy of
// the event cannot have reached the DLQ again before its round began.
func (s Schedule) Plan(rec store.EventRecord, found bool, now time.Time) Plan {
	switch {
	case len(s) == 0:
		return Plan{Verdict: Off}
	case !found:
		return Plan{Verdict: NoRecord}
	case rec.Status == store.Forgotten:
		return Plan{Verdict: Forgotten}
	case rec.Status != store.Failed:
		return Plan{Verdict: NotFailed}
	case rec.Permanent:
		return Plan{Verdict: Permanent}
	case len(rec.Rounds) >= len(s):
		return Plan{Verdict: Exhausted}
	}
	base := rec.LastFailedAt
	if n := len(rec.Rounds); n > 0 && rec.Rounds[n-1].At.After(base) {
		base = rec.Rounds[n-1].At
	}
	p := Plan{Verdict: NotDue, Round: len(rec.Rounds) + 1}
	p.DueAt = base.Add(s[p.Round-1])
	if !now.Before(p.DueAt) {
		p.Verdict = Due
	}
	return p
}

// Progress shows an event's rounds spent out of a schedule's total, e.g.
// "1/3", or "off" for a schedule of none (automatic redrive off).
func Progress(spent, total int) string {
	if total == 0 {
		return "off"
	}
	return fmt.Sprintf("%d/%d", spent, total)
}

// String shows the schedule, e.g. "5m0s, 30m0s, 2h0m0s" or "off".
func (s Schedule) String() string {
	if len(s) == 0 {
		return "off"
	}
	out := ""
	for i, d := range s {
		if i > 0 {
			out += ", "
		}
		out += d.String()
	}
	return out
}
