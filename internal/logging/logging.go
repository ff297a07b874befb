// Package logging builds the hub's slog loggers and the attributes every
// component logs errors with.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// Format selects the handler.
type Format string

// Formats: JSON for machines (Lambda, CI), text for a person at a terminal.
const (
	FormatJSON Format = "json"
	FormatText Format = "text"
)

// NewLambda returns the JSON logger of a Lambda function: without the time
// field, because CloudWatch Logs stamps every line it receives, and every
// byte of a line is billed.
func NewLambda(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}

// New returns a logger writing to w in the given format.
func New(w io.Writer, format Format, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == FormatText {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Err returns the attributes an error is logged with: its message and its
// type, so that alerts can group failures by kind.
func Err(err error) slog.Attr {
	if err == nil {
		return slog.Attr{}
	}
	return slog.Group("", slog.String("error", err.Error()), slog.String("error_type", ErrorType(err)))
}

// ErrorType names the kind of an error: the AWS error code for API errors,
// otherwise the Go type of the innermost error that is not a plain wrapper.
func ErrorType(err error) string {
	if err == nil {
		return ""
	}
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) && coded.ErrorCode() != "" {
		return coded.ErrorCode()
	}
	var typed interface{ ErrorKind() string }
	if errors.As(err, &typed) && typed.ErrorKind() != "" {
		return typed.ErrorKind()
	}
	name := "error"
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch t := fmt.Sprintf("%T", e); t {
		case "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError", "*errors.errorString":
			// Plain wrappers and sentinel strings say nothing about the kind.
		default:
			name = t
		}
	}
	return name
}
