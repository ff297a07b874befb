package main

import (
	"log/slog"

	"github.com/payments-hub/hub/internal/app"
)

// newLogger returns the JSON logger commands log with, at LOG_LEVEL.
func newLogger(c *cli) *slog.Logger { return app.Logger(c.stdout, c.getenv) }
