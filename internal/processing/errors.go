package processing

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/payments-hub/hub/internal/logging"
)

// permanent is implemented by errors that say whether retrying can fix
// them: an envelope that does not decode (envelope.ErrInvalid), a 4xx from
// checkPayment (monetbil.CheckError), an error marked with Permanent, a job
// that panicked. It is the one convention: the processor asks errors.As,
// and no package translates another's errors.
type permanent interface{ Permanent() bool }

// IsPermanent reports whether err, or an error it wraps, says retrying
// cannot fix it.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p) && p.Permanent()
}

// permanentError marks a failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string     { return e.err.Error() }
func (e *permanentError) Unwrap() error     { return e.err }
func (e *permanentError) Permanent() bool   { return true }
func (e *permanentError) ErrorKind() string { return "permanent: " + logging.ErrorType(e.err) }

// Permanent marks err as a failure that retrying cannot fix: the message goes
// to the DLQ without waiting for the backoff.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// PanicError is a job that panicked: a bug, which no retry fixes. The
// processor records it as a permanent failure and logs the stack.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string     { return fmt.Sprintf("panic: %v", e.Value) }
func (e *PanicError) Permanent() bool   { return true }
func (e *PanicError) ErrorKind() string { return "panic" }

func recovered(v any) *PanicError { return &PanicError{Value: v, Stack: debug.Stack()} }
