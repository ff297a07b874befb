package failedjobs

import (
	"strings"
	"time"
)

// Filter selects failed jobs by what their message and failure record say;
// the zero Filter selects every job.
type Filter struct {
	Provider string
	// ErrorType is "transient" (a recorded failure that is not
	// permanent), "permanent", or an error class as recorded in
	// error_type (e.g. *monetbil.CheckError; case and the leading "*" or
	// package name may be left out).
	ErrorType string
	// Since and Until bound the failure time (inclusive); a job without a
	// failure record has none and matches neither.
	Since, Until  time.Time
	TransactionID string
}

// Error types with a meaning of their own.
const (
	ErrorTransient = "transient"
	ErrorPermanent = "permanent"
)

// IsZero reports whether f selects every job.
func (f Filter) IsZero() bool { return f == Filter{} }

// Match reports whether j is selected.
func (f Filter) Match(j FailedJob) bool {
	switch {
	case f.Provider != "" && j.Provider != f.Provider:
		return false
	case f.TransactionID != "" && j.TransactionID != f.TransactionID:
		return false
	case !f.Since.IsZero() && (j.FailedAt.IsZero() || j.FailedAt.Before(f.Since)):
		return false
	case !f.Until.IsZero() && (j.FailedAt.IsZero() || j.FailedAt.After(f.Until)):
		return false
	}
	return f.matchErrorType(j)
}

func (f Filter) matchErrorType(j FailedJob) bool {
	recorded := j.ErrorType != "" || j.Permanent
	switch strings.ToLower(f.ErrorType) {
	case "":
		return true
	case ErrorTransient:
		return recorded && !j.Permanent
	case ErrorPermanent:
		return j.Permanent
	}
	return sameClass(j.ErrorType, f.ErrorType)
}

// sameClass compares an error class as recorded ("*monetbil.CheckError")
// with one an operator typed ("monetbil.CheckError", "checkerror").
func sameClass(recorded, asked string) bool {
	r, a := strings.ToLower(strings.TrimPrefix(recorded, "*")), strings.ToLower(strings.TrimPrefix(asked, "*"))
	if r == "" || a == "" {
		return false
	}
	if r == a {
		return true
	}
	_, short, found := strings.Cut(r, ".")
	return found && short == a
}

// filterJobs keeps the jobs f selects.
func filterJobs(jobs []FailedJob, f Filter) []FailedJob {
	if f.IsZero() {
		return jobs
	}
	out := []FailedJob{}
	for _, j := range jobs {
		if f.Match(j) {
			out = append(out, j)
		}
	}
	return out
}
