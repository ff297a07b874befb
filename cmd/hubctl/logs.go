package main

import (
	"log/slog"

	"github.com/payments-hub/hub/internal/logging"
)

// newLogger returns the JSON logger commands log with, at LOG_LEVEL.
func newLogger(c *cli) *slog.Logger { return logging.JSON(c.stdout, c.getenv) }
