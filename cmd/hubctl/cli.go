package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/config"
)

// cli carries what every command reads from and writes to.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	env            config.Hubctl
	// terminal says stderr is a terminal: progress lines are shown there.
	terminal bool
	// interactive says a person answers on stdin (a terminal): commands
	// may ask before acting.
	interactive bool
	// scanHide is how long a read of the DLQ hides what it reads
	// (failed --hide).
	scanHide time.Duration
	// started is set once a command's flags and arguments were accepted:
	// an error before that is a usage error.
	started bool
}

// usageError makes hubctl exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// errHelpShown: the usage was printed in place of an error (hubctl with no
// command); exit 2 without another word.
var errHelpShown = errors.New("help shown")

// run runs one command line and returns the exit code.
func run(ctx context.Context, c *cli, args []string) int {
	root := newRoot(c)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelpShown):
		return 2
	case errors.As(err, &ue) || !c.started:
		fmt.Fprintf(c.stderr, "%s: %s\nRun '%s --help' for usage.\n", cmd.CommandPath(), err, cmd.CommandPath())
		return 2
	default:
		fmt.Fprintf(c.stderr, "%s: %s\n", cmd.CommandPath(), err)
		return 1
	}
}

// noArgs refuses positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

// wantArgs accepts exactly n positional arguments, or says what it wants.
func wantArgs(n int, want string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("want: %s", want)
		}
		return nil
	}
}

// group is a command that only holds subcommands: run bare, it is a usage
// error naming them; with an unknown one, it suggests the closest.
func group(cmd *cobra.Command, subs ...*cobra.Command) *cobra.Command {
	cmd.AddCommand(subs...)
	cmd.Args = cobra.ArbitraryArgs
	cmd.SuggestionsMinimumDistance = 2
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var names []string
		for _, s := range cmd.Commands() {
			if s.IsAvailableCommand() {
				names = append(names, s.Name())
			}
		}
		if len(args) == 0 {
			return usagef("want a subcommand: %s", joinOr(names))
		}
		msg := fmt.Sprintf("unknown subcommand %q: want %s", args[0], joinOr(names))
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", s[0])
		}
		return usagef("%s", msg)
	}
	return cmd
}

func joinOr(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	out := ""
	for i, n := range names[:len(names)-1] {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out + " or " + names[len(names)-1]
}
