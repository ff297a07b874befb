// Package logging builds the hub's slog loggers and the attributes every
// component logs errors with.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Format selects the handler.
type Format string

// Formats: JSON for machines (Lambda, CI), text for a person at a terminal.
const (
	FormatJSON Format = "json"
	FormatText Format = "text"
)

// ParseLevel reads LOG_LEVEL-style values (debug, info, warn, error).
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if strings.TrimSpace(s) == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return slog.LevelInfo, fmt.Errorf("LOG_LEVEL %q is not one of debug, info, warn, error", s)
	}
	return l, nil
}

// New returns a logger writing to w in the given format.
func New(w io.Writer, format Format, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == FormatText {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// FromEnv returns a JSON logger on stdout at LOG_LEVEL (the Lambdas').
func FromEnv() *slog.Logger { return JSON(os.Stdout, os.Getenv) }

// JSON returns a JSON logger on w at getenv("LOG_LEVEL"). An invalid level
// is reported on the returned logger and info is used, so that a typo in a
// configuration never silences it.
func JSON(w io.Writer, getenv func(string) string) *slog.Logger {
	level, err := ParseLevel(getenv("LOG_LEVEL"))
	log := New(w, FormatJSON, level)
	if err != nil {
		log.Warn("invalid LOG_LEVEL, using info", Err(err))
	}
	return log
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
