package main

import (
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/payments-hub/hub/internal/autoredrive"
	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/failedjobs"
)

// filterFlags are the filters `failed list` and `failed retry` take.
type filterFlags struct {
	provider, errorType, since, until, transaction string
}

func (f *filterFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.provider, "provider", "", "only this provider's events: stripe or monetbil")
	fs.StringVar(&f.errorType, "error-type", "", "only these failures: transient, permanent, or an error class as in error_type (e.g. monetbil.CheckError)")
	fs.StringVar(&f.since, "since", "", "only failures at or after this time: RFC 3339, or a duration ago (2h, 30m, 3d)")
	fs.StringVar(&f.until, "until", "", "only failures at or before this time: RFC 3339, or a duration ago")
	fs.StringVar(&f.transaction, "transaction", "", "only the events of this transaction id")
}

// set reports whether any filter was given.
func (f filterFlags) set() bool { return f != filterFlags{} }

// filter validates the flags at now.
func (f filterFlags) filter(now time.Time) (failedjobs.Filter, error) {
	out := failedjobs.Filter{Provider: f.provider, ErrorType: strings.TrimSpace(f.errorType), TransactionID: f.transaction}
	if f.provider != "" && f.provider != envelope.ProviderStripe && f.provider != envelope.ProviderMonetbil {
		return out, usagef("--provider %q: want stripe or monetbil", f.provider)
	}
	var err error
	if out.Since, err = pointInTime("--since", f.since, now); err != nil {
		return out, err
	}
	if out.Until, err = pointInTime("--until", f.until, now); err != nil {
		return out, err
	}
	if !out.Since.IsZero() && !out.Until.IsZero() && out.Until.Before(out.Since) {
		return out, usagef("--until %s is before --since %s", formatTime(out.Until), formatTime(out.Since))
	}
	return out, nil
}

// pointInTime reads an RFC 3339 time, or a duration meaning that long
// before now (Go's units, and d for days).
func pointInTime(flag, v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if days, ok := strings.CutSuffix(v, "d"); ok && err != nil {
		n, nerr := strconv.ParseFloat(days, 64)
		d, err = time.Duration(n*24*float64(time.Hour)), nerr
	}
	if err != nil || d < 0 {
		return time.Time{}, usagef("%s %q: want an RFC 3339 time (2026-11-27T09:00:00Z) or a duration ago (2h, 30m, 3d)", flag, v)
	}
	return now.Add(-d), nil
}

// describeFilter names a filter for a sentence, e.g. "monetbil, transient".
func describeFilter(f failedjobs.Filter) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+v)
		}
	}
	add("provider ", f.Provider)
	add("error type ", f.ErrorType)
	if !f.Since.IsZero() {
		add("since ", formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		add("until ", formatTime(f.Until))
	}
	add("transaction ", f.TransactionID)
	if len(parts) == 0 {
		return "no filter"
	}
	return strings.Join(parts, ", ")
}

// nextRound says when a job's next automatic round is due, for a table.
func nextRound(j failedjobs.FailedJob, now time.Time) string {
	switch {
	case j.NextRound == 0:
		return "-"
	case !j.NextRoundAt.After(now):
		return "due"
	}
	return "in " + j.NextRoundAt.Sub(now).Round(time.Second).String()
}

// roundsOf shows a job's rounds spent out of the schedule's, e.g. "1/3".
func roundsOf(j failedjobs.FailedJob) string {
	return autoredrive.Progress(len(j.Rounds), j.RoundsTotal)
}
