// Command scalemodel is a capacity model of the deployed pipeline: API Gateway's throttles,
// the ingest's concurrency, SQS with its visibility timeout, maxReceiveCount and backoff, the
// event source mapping's scaling, the processor's reserved concurrency and DynamoDB on demand,
// each rule from its AWS page (cited where it is applied, in model.go). It runs the Terraform
// defaults and the settings docs/SCALE.md proposes against steady traffic, bursts and a replay,
// and prints a table; with -out it also writes the table and one SVG chart per scenario there.
//
//	go run ./infra/scalemodel [-out build/scale-model]
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Scenario is one traffic shape against one set of settings.
type Scenario struct {
	Name     string
	Settings Settings
	Traffic  Traffic
}

// Scaled returns the settings docs/SCALE.md gives for a sustained rate.
func Scaled(rate float64) Settings {
	s := Defaults()
	switch {
	case rate <= 1000:
	case rate <= 2000:
		s.APIRate, s.APIBurst = 3000, 6000
		s.MaxConcurrency, s.Reserved = 120, 120
		s.AccountConcurrency = 1000
	default:
		// Quotas raised first: API 15,000/s, Lambda 3,000 concurrent; tables warmed.
		s.APIRate, s.APIBurst = 15000, 30000
		s.AccountAPIRate, s.AccountAPIBurst = 15000, 7500
		s.MaxConcurrency, s.Reserved = 600, 600
		s.AccountConcurrency = 3000
		s.TableWrites = 40000
	}
	return s
}

// Scenarios are the runs `make scale-model` prints.
func Scenarios() []Scenario {
	d := Defaults()
	return []Scenario{
		{"defaults, 500/s for 10 min", d, Steady("steady 500/s", 500, 600)},
		{"defaults, 500/s with 1,000/s for 2 min", d, Burst("burst", 500, 1000, 120, 120, 600)},
		{"defaults, 2,000/s for 2 min", d, Steady("steady 2,000/s", 2000, 120)},
		{"SCALE.md 2,000/s, 2,000/s for 10 min", Scaled(2000), Steady("steady 2,000/s", 2000, 600)},
		{"SCALE.md 10,000/s, 10,000/s for 10 min", Scaled(10000), Steady("steady 10,000/s", 10000, 600)},
		{"defaults, replay of 1,000,000 queued", d, Traffic{Name: "replay", Queued: 1000000}},
		{"defaults, 500/s, checkPayment down for 30 % of events", withFailing(d, 0.3), Steady("failing", 500, 120)},
		{"reserved 10 < maximum_concurrency 40, 500/s", withReserved(d, 10), Steady("throttling", 500, 120)},
	}
}

func withFailing(s Settings, f float64) Settings { s.FailingFraction = f; return s }
func withReserved(s Settings, n int) Settings    { s.Reserved = n; return s }

func (sc Scenario) bill(r Result) Bill {
	return Price(Units{
		APIRequests: float64(r.Accepted), IngestInvocations: float64(r.Accepted),
		SQSRequests:          float64(r.Accepted + r.Receives + r.Deletes + r.VisibilityChanges),
		ProcessorInvocations: float64(r.Invocations), ProcessorSeconds: sc.Settings.BatchSeconds,
		WriteUnits: r.WriteUnits, Events: float64(r.Attempts),
	})
}

func main() {
	out := flag.String("out", "", "directory to write scale-model.md and the SVG charts into")
	flag.Parse()
	var b strings.Builder
	writeTable(&b, Scenarios(), *out)
	fmt.Print(b.String())
	if *out == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(*out, "scale-model.md"), []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("\nwritten: %s\n", filepath.Join(*out, "scale-model.md"))
}

func writeTable(w io.Writer, scs []Scenario, svgDir string) {
	fmt.Fprintln(w, "| scenario | offered | accepted | throttled 429 | ingest throttled | max depth | oldest (s) | drain (s) | DLQ | wasted receives | cost | $/M accepted |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for i, sc := range scs {
		r := Run(sc.Settings, sc.Traffic)
		bill := sc.bill(r)
		n := max(r.Accepted, sc.Traffic.Queued)
		drain := "never"
		if !math.IsInf(r.DrainSeconds, 1) {
			drain = fmt.Sprintf("%.0f", r.DrainSeconds)
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %.0f | %s | %d | %d | $%.2f | $%.2f |\n", sc.Name, r.Offered, r.Accepted,
			r.Throttled429, r.IngestThrottled, r.MaxDepth, r.MaxAge, drain, r.DLQ, r.WastedReceives, bill.Total(), bill.Total()/float64(max(n, 1))*1e6)
		if svgDir != "" {
			path := filepath.Join(svgDir, fmt.Sprintf("scenario-%d.svg", i+1))
			if err := os.MkdirAll(svgDir, 0o755); err == nil {
				_ = os.WriteFile(path, []byte(SVG(sc.Name, r)), 0o644)
			}
		}
	}
}
