package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/autoredrive"
	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/store"
)

func newEventsCmd(c *cli) *cobra.Command {
	var asJSON bool
	var txID string
	get := &cobra.Command{
		Use:   "get PROVIDER KEY",
		Short: "show what the hub knows of one provider event",
		Long: `Shows what the hub knows of one provider event: status (PROCESSED, FAILED,
FORGOTTEN), attempts, outcome, the fields that disagreed (a mismatch) and the
last error. An event applied at its first attempt has no record of its own:
its transaction remembers it (one write per event). The hub finds that
transaction through a Monetbil payment's binding; for a Stripe event, give it
with --transaction. PROVIDER is stripe or monetbil; KEY is the Stripe event id
(evt_...) or the Monetbil key (<transaction_id>:<status>). The automatic
redrive rounds of a failed event are listed with their outcome, and the next
one with when it is due. Exits 1 when there is no such record.`,
		Example: `  hubctl events get stripe evt_1Q2w3E4r5T6y --transaction tx_1001
  hubctl events get monetbil MB1234:success --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := wantArgs(2, "events get PROVIDER KEY")(cmd, args); err != nil {
				return err
			}
			if args[0] != envelope.ProviderStripe && args[0] != envelope.ProviderMonetbil {
				return usagef("provider %q: want stripe or monetbil", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return getEvent(cmd, c, args[0], args[1], txID, asJSON)
		},
	}
	get.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	get.Flags().StringVar(&txID, "transaction", "", "the transaction the event concerns (finds a Stripe event applied at its first attempt)")
	return group(&cobra.Command{
		Use:     "events",
		Short:   "show an event's record: events get PROVIDER KEY [--transaction ID] [--json]",
		Example: "  hubctl events get stripe evt_1Q2w3E4r5T6y --transaction tx_1001",
	}, get)
}

// getEvent shows what the hub knows of one event, with its next automatic
// redrive round.
func getEvent(cmd *cobra.Command, c *cli, provider, key, txID string, asJSON bool) error {
	schedule, err := c.env.AutoRedrive()
	if err != nil {
		return usagef("%v", err)
	}
	st, err := openStore(cmd.Context(), c, cmd.CommandPath())
	if err != nil {
		return err
	}
	rec, err := store.Lookup(cmd.Context(), st, provider, key, txID)
	if errors.Is(err, store.ErrNotFound) {
		hint := ""
		if txID == "" && provider == envelope.ProviderStripe {
			hint = " (an event applied at its first attempt is remembered by its transaction: add --transaction ID)"
		}
		return fmt.Errorf("no %s event %q in table %s or its transaction%s", provider, key, c.env.Tables().Events, hint)
	}
	if err != nil {
		return err
	}
	ev := eventView{EventRecord: rec}
	if p := autoredrive.Schedule(schedule).Plan(rec, true, time.Now()); p.Verdict == autoredrive.Due || p.Verdict == autoredrive.NotDue {
		ev.NextRound, ev.NextRoundAt = p.Round, p.DueAt
	}
	if asJSON {
		return writeJSON(c.stdout, ev)
	}
	return printEvent(c, ev, len(schedule))
}

// eventView is an event's record with its next automatic redrive round.
type eventView struct {
	store.EventRecord
	NextRound   int       `json:"next_round,omitempty"`
	NextRoundAt time.Time `json:"next_round_at,omitzero"`
}

func printEvent(c *cli, ev eventView, rounds int) error {
	rec := ev.EventRecord
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("provider", rec.Provider)
	row("event_key", rec.EventKey)
	row("event_type", rec.EventType)
	row("transaction_id", rec.TransactionID)
	row("status", rec.Status)
	row("attempts", rec.Attempts)
	row("outcome", rec.Outcome)
	if len(rec.Mismatch) > 0 {
		row("mismatch", strings.Join(rec.Mismatch, ", "))
	}
	if rec.Detail != "" {
		row("detail", rec.Detail)
	}
	if rec.LastError != "" {
		row("last_error", rec.LastError)
		row("error_type", rec.ErrorType)
		row("permanent", rec.Permanent)
		row("first_failed_at", formatTime(rec.FirstFailedAt))
		row("last_failed_at", formatTime(rec.LastFailedAt))
	}
	if len(rec.Rounds) > 0 || ev.NextRound > 0 {
		row("rounds", fmt.Sprintf("%d of %d automatic redrive rounds", len(rec.Rounds), rounds))
	}
	for _, r := range rec.Rounds {
		row(fmt.Sprintf("round %d", r.Round), fmt.Sprintf("%s  %s", formatTime(r.At), r.Outcome))
	}
	if ev.NextRound > 0 {
		row("next_round", fmt.Sprintf("%d, due %s", ev.NextRound, formatTime(ev.NextRoundAt)))
	}
	row("updated_at", formatTime(rec.UpdatedAt))
	return tw.Flush()
}
