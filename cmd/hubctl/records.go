package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/store"
)

func init() {
	register(command{name: "transactions", summary: "show a transaction's state: transactions get ID [--json]", run: runTransactions})
	register(command{name: "events", summary: "show an event's record: events get PROVIDER KEY [--json]", run: runEvents})
}

func openStore(ctx context.Context, c *cli) (store.Store, error) {
	a, err := app.LoadAWS(ctx, "hubctl records")
	if err != nil {
		return nil, err
	}
	return app.Store(a, config.LoadTables(c.getenv))
}

func runTransactions(ctx context.Context, c *cli, args []string) error {
	f := newFlags(c, "transactions", `
Usage: hubctl transactions get ID [--json]

Shows the stored transaction: its status (pending, succeeded, failed,
cancelled, refunded, partially_refunded), amount, and the last event applied.
Exits 1 when there is no such transaction.

Example:
  hubctl transactions get tx_1001 --json
`)
	asJSON := f.Bool("json", false, "print JSON")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "get" {
		return usagef("want: transactions get ID")
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	tx, err := st.Transaction(ctx, pos[1])
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no transaction %q in table %s", pos[1], config.LoadTables(c.getenv).Transactions)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(c.stdout, tx)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("transaction_id", tx.ID)
	row("status", tx.Status)
	row("provider", tx.Provider)
	if tx.Amount != 0 {
		row("amount", fmt.Sprintf("%d %s", tx.Amount, tx.Currency))
	}
	if tx.Expected != nil {
		row("expected", fmt.Sprintf("%d %s", tx.Expected.Amount, tx.Expected.Currency))
	}
	row("last_event", tx.LastEventKey)
	row("last_event_at", formatTime(tx.LastEventAt))
	for i, e := range tx.Events {
		label := ""
		if i == 0 {
			label = "events"
		}
		row(label, fmt.Sprintf("%s  %s", e.Key, formatTime(e.At)))
	}
	if !tx.Stripe.IsZero() {
		row("stripe", fmt.Sprintf("payment_intent=%s checkout_session=%s charge=%s", orDash(tx.Stripe.PaymentIntent), orDash(tx.Stripe.CheckoutSession), orDash(tx.Stripe.Charge)))
	}
	row("updated_at", formatTime(tx.UpdatedAt))
	row("changes", tx.Version)
	return tw.Flush()
}

func runEvents(ctx context.Context, c *cli, args []string) error {
	f := newFlags(c, "events", `
Usage: hubctl events get PROVIDER KEY [--transaction ID] [--json]

Shows what the hub knows of one provider event: status (PROCESSED, FAILED,
FORGOTTEN), attempts, outcome, the fields that disagreed (a mismatch) and the
last error. An event applied at its first attempt has no record of its own:
its transaction remembers it (one write per event). The hub finds that
transaction through a Monetbil payment's binding; for a Stripe event, give it
with --transaction. PROVIDER is stripe or
monetbil; KEY is the Stripe event id (evt_...) or the Monetbil key
(<transaction_id>:<status>). Exits 1 when there is no such record.

Example:
  hubctl events get stripe evt_1Q2w3E4r5T6y
`)
	asJSON := f.Bool("json", false, "print JSON")
	txID := f.String("transaction", "", "the transaction the event concerns (finds a Stripe event applied at its first attempt)")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 3 || pos[0] != "get" {
		return usagef("want: events get PROVIDER KEY")
	}
	if pos[1] != "stripe" && pos[1] != "monetbil" {
		return usagef("provider %q: want stripe or monetbil", pos[1])
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	rec, err := store.Lookup(ctx, st, pos[1], pos[2], *txID)
	if errors.Is(err, store.ErrNotFound) {
		hint := ""
		if *txID == "" && pos[1] == "stripe" {
			hint = " (an event applied at its first attempt is remembered by its transaction: add --transaction ID)"
		}
		return fmt.Errorf("no %s event %q in table %s or its transaction%s", pos[1], pos[2], config.LoadTables(c.getenv).Events, hint)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(c.stdout, rec)
	}
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
	row("updated_at", formatTime(rec.UpdatedAt))
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
