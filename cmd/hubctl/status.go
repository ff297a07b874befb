package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/spf13/cobra"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/flowmetrics"
	"github.com/payments-hub/hub/internal/hubstatus"
	"github.com/payments-hub/hub/internal/sqsqueue"
)

// statusOptions are `status`'s flags.
type statusOptions struct {
	asJSON, watch bool
	interval      time.Duration
	failures      int
}

func newStatusCmd(c *cli) *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "queue and DLQ depth, oldest message, redrives, last failures; --watch: the live view",
		Long: `Shows, for the queue and the DLQ, the messages visible, in flight and delayed,
the age of the oldest message (from CloudWatch; unknown on local servers), the
DLQ redrives running, the last failures recorded by the processor and the
next automatic redrive round among them. Reading the counts changes nothing.
The last failures come from a scan of the events table (read units in
proportion to its size): --failures 0 skips it.

--watch is a live view, redrawn in place every --interval until q or Ctrl-C:
per provider, the events processed, failed, retried and duplicated per minute
over the last 15 minutes, webhooks accepted and rejected, the time from
receipt to applied (p50, p99), then the queues, the next automatic redrive
and the last failures. On AWS the flow comes from the CloudWatch metrics the
hub emits (namespace PaymentsHub); on local servers from the metrics that
'hubctl dev' serves on HUB_URL/metrics, or 'hubctl work --metrics-addr' on
HUB_METRICS_URL. On AWS the flow, the oldest messages' ages and the last
failures, billed per read, are read once a minute.`,
		Example: `  hubctl status
  hubctl status --watch --interval 5s
  HUB_METRICS_URL=http://127.0.0.1:9091/metrics hubctl status --watch
  hubctl status --json --failures 0`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.interval < time.Second {
				return usagef("--interval must be at least 1s")
			}
			if err := c.env.RequireQueues(); err != nil {
				return usagef("%v", err)
			}
			r, flow, err := statusReader(cmd.Context(), c, cmd.CommandPath())
			if err != nil {
				return err
			}
			if o.watch {
				if !c.env.Endpoints.Local() {
					// Each read of the failures (a scan of the events
					// table) and of the ages (CloudWatch) is billed on
					// AWS: the view reads them as often as the flow.
					r = r.Throttled(billedEvery)
				}
				return watch(cmd.Context(), c, r, flow, o)
			}
			return showStatus(cmd.Context(), c, r, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.asJSON, "json", false, "print JSON")
	f.BoolVar(&o.watch, "watch", false, "refresh until interrupted")
	f.DurationVar(&o.interval, "interval", 5*time.Second, "refresh interval with --watch")
	f.IntVar(&o.failures, "failures", 5, "how many of the last failures to show")
	return cmd
}

// flowSource is where the live view reads the flow, and its name.
type flowSource struct {
	flowmetrics.Source
	name string
	// hint says how to make the flow readable, added to the note when it
	// cannot be read (empty: nothing to suggest).
	hint string
}

// billedEvery is how often the live view reads on AWS what is billed per
// read: the flow and the ages (CloudWatch, per minute anyway) and the
// last failures (a scan of the events table).
const billedEvery = time.Minute

// statusReader wires the status and the flow: CloudWatch on AWS, the local
// metrics sink on local servers.
func statusReader(ctx context.Context, c *cli, label string) (hubstatus.Reader, flowSource, error) {
	rounds, err := c.env.AutoRedrive()
	if err != nil {
		return hubstatus.Reader{}, flowSource{}, usagef("%v", err)
	}
	a, err := app.LoadAWS(ctx, label)
	if err != nil {
		return hubstatus.Reader{}, flowSource{}, err
	}
	st, err := app.Store(a, c.env.Tables())
	if err != nil {
		return hubstatus.Reader{}, flowSource{}, err
	}
	queue, err := sqsqueue.NewQueue(a.SQS, c.env.QueueURL)
	if err != nil {
		return hubstatus.Reader{}, flowSource{}, err
	}
	dlq, err := sqsqueue.NewQueue(a.SQS, c.env.DLQURL)
	if err != nil {
		return hubstatus.Reader{}, flowSource{}, err
	}
	r := hubstatus.Reader{Queue: queue, DLQ: dlq, Redrives: dlq, Failures: st, Rounds: rounds}
	flow := flowSource{Source: flowmetrics.Remote{URL: c.env.MetricsURL}, name: "local, " + c.env.MetricsURL,
		hint: "run hubctl dev, or hubctl work --metrics-addr with HUB_METRICS_URL"}
	if c.env.Endpoints.CloudWatchAvailable() {
		cw := cloudwatch.NewFromConfig(a.Config)
		r.Ages = hubstatus.CloudWatchAges{Client: cw}
		if !c.env.Endpoints.Local() {
			flow = flowSource{Source: &flowmetrics.Throttled{Source: flowmetrics.CloudWatch{Client: cw}, Every: billedEvery}, name: "CloudWatch, once a minute"}
		}
	}
	return r, flow, nil
}

func showStatus(ctx context.Context, c *cli, r hubstatus.Reader, o statusOptions) error {
	st, err := r.Read(ctx, o.failures)
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(c.stdout, st)
	}
	printStatus(c, st)
	return nil
}

func printStatus(c *cli, st hubstatus.Status) {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tVISIBLE\tIN FLIGHT\tDELAYED\tOLDEST")
	for _, q := range []hubstatus.QueueStatus{st.Queue, st.DLQ} {
		age := q.OldestAgeNote
		if q.OldestAgeSeconds != nil {
			age = (time.Duration(*q.OldestAgeSeconds) * time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", q.Name, q.Visible, q.InFlight, q.Delayed, age)
	}
	_ = tw.Flush()
	switch {
	case st.MovesNote != "":
		fmt.Fprintf(c.stdout, "\nRedrives: %s\n", st.MovesNote)
	case len(st.ActiveMoves) == 0:
		fmt.Fprintln(c.stdout, "\nRedrives: none running")
	default:
		for _, m := range st.ActiveMoves {
			fmt.Fprintf(c.stdout, "\nRedrive %s: moved %d / %s\n", m.Handle, m.Moved, toMove(m))
		}
	}
	if st.FailuresNote == "" && (st.NextRedrive != nil || st.AutoRedrive == "off") {
		fmt.Fprintf(c.stdout, "\n%s\n", nextRedriveLine(st, st.CollectedAt))
	}
	if st.FailuresNote != "" {
		fmt.Fprintf(c.stdout, "\nLast failures: %s\n", st.FailuresNote)
	} else if len(st.LastFailures) > 0 {
		fmt.Fprintln(c.stdout, "\nLast failures:")
		tw = tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
		for _, r := range st.LastFailures {
			fmt.Fprintf(tw, "  %s\t%s %s\t%d attempts\t%s\n", formatTime(r.LastFailedAt), r.Provider, r.EventKey, r.Attempts, oneLine(r.LastError, 80))
		}
		_ = tw.Flush()
	}
	fmt.Fprintf(c.stdout, "\nas of %s\n", st.CollectedAt.Format(time.RFC3339))
}
