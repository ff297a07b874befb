package main

import (
	"log/slog"

	"github.com/payments-hub/hub/internal/logging"
)

// newLogger returns the JSON logger commands log with, at LOG_LEVEL.
func newLogger(c *cli) *slog.Logger {
	level, err := logging.ParseLevel(c.getenv("LOG_LEVEL"))
	log := logging.New(c.stdout, logging.FormatJSON, level)
	if err != nil {
		log.Warn("invalid LOG_LEVEL, using info", logging.Err(err))
	}
	return log
}
