// Command bench measures the Payments Hub against the local servers
// (fauxqs, DynamoDB Local) and prints a Markdown report: every number with
// the method that produced it, medians of several runs, and ratios against a
// baseline measured in the same run.
//
//	P1 intake: webhooks/s through the intake's HTTP handler ÷ bare SendMessage
//	P2 consumer: messages/s through the worker ÷ bare receive + DeleteMessageBatch
//	P3 end to end: webhooks/s from HTTP to an applied transaction, p50/p99
//	   latency, ÷ DynamoDB Local's conditional PutItem/s ÷ 1 write per event
//	P4 Lambda: bootstrap sizes (arm64, amd64) and init durations under the
//	   Runtime Interface Emulator, beside a minimal aws-lambda-go handler
//	P5 retry timing: observed redelivery gaps vs the scaled schedule
//
// Run it inside the local servers, from the repository root:
//
//	go run ./infra/localaws exec -- go run ./infra/bench [-quick] [-only P1,P3]
//
// (`make bench` does this.) It reads AWS_ENDPOINT_URL_SQS and
// AWS_ENDPOINT_URL_DYNAMODB from the environment.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// options are the sizes of the measurements.
type options struct {
	runs          int
	warm, window  time.Duration
	p1Concurrency []int
	p2Messages    int
	p2Concurrency []int

	workerConcurrency int
	e2eWebhooks       int
	e2eWarmup         int
	e2eConcurrency    int
	lightWebhooks     int
	lightRate         float64

	rie         string
	coldStarts  int
	warmInvokes int
	retryEvents int
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// settings are the command line's choices beyond options.
type settings struct {
	quick bool
	want  func(measurement string) bool
	out   string
}

// parseFlags reads the command line; it exits 2 on a bad one, or when
// the local servers' endpoints are not set.
func parseFlags() (options, settings) {
	quick := flag.Bool("quick", false, "one run of each, shorter windows and fewer messages (about a minute)")
	runs := flag.Int("runs", 3, "runs per measurement (the median is reported)")
	only := flag.String("only", "", "comma-separated measurements to run, e.g. P1,P3 (default: all)")
	rie := flag.String("rie", "", "path of aws-lambda-rie (default: $HUB_RIE, .tools/bin/aws-lambda-rie, PATH)")
	out := flag.String("out", "", "also write the report to this file")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./infra/localaws exec -- go run ./infra/bench [flags]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	o := options{
		runs: *runs, warm: 300 * time.Millisecond, window: 2 * time.Second, p1Concurrency: []int{1, 8, 32},
		p2Messages: 10000, p2Concurrency: []int{2, 10},
		workerConcurrency: 20, e2eWebhooks: 3000, e2eWarmup: 500, e2eConcurrency: 32, lightWebhooks: 200, lightRate: 50,
		rie: *rie, coldStarts: 3, warmInvokes: 10, retryEvents: 10,
	}
	if *quick {
		o.runs, o.warm, o.window = 1, 200*time.Millisecond, time.Second
		o.p2Messages, o.e2eWebhooks, o.e2eWarmup, o.lightWebhooks, o.coldStarts, o.warmInvokes, o.retryEvents = 3000, 1000, 200, 100, 1, 5, 4
	}
	if o.runs < 1 {
		fmt.Fprintln(os.Stderr, "bench: -runs must be at least 1")
		os.Exit(2)
	}
	selected := map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		if p = strings.ToUpper(strings.TrimSpace(p)); p != "" {
			selected[p] = true
		}
	}
	want := func(p string) bool { return len(selected) == 0 || selected[p] }
	for _, v := range []string{"AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB"} {
		if os.Getenv(v) == "" && os.Getenv("AWS_ENDPOINT_URL") == "" && (want("P1") || want("P2") || want("P3") || want("P4") || want("P5")) {
			fmt.Fprintf(os.Stderr, "bench: %s is not set: run it inside the local servers:\n  go run ./infra/localaws exec -- go run ./infra/bench\n", v)
			os.Exit(2)
		}
	}
	return o, settings{quick: *quick, want: want, out: *out}
}

func main() {
	o, set := parseFlags()
	want := set.want
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := newClients(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}

	began := time.Now()
	var report strings.Builder
	fmt.Fprintf(&report, "## infra/bench, %s\n\n", began.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&report, "%s\n\n", machine())
	mode := fmt.Sprintf("runs %d, windows %s after %s warm-up", o.runs, o.window, o.warm)
	if set.quick {
		mode = "-quick: " + mode
	}
	fmt.Fprintf(&report, "Settings: %s. SQS: fauxqs at %s; DynamoDB: DynamoDB Local (in memory) at %s.\n\n", mode, os.Getenv("AWS_ENDPOINT_URL_SQS"), os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))

	failed := false
	run := func(name string, f func() (*section, error)) {
		if !want(name) {
			return
		}
		logf("%s ...", name)
		t := time.Now()
		s, err := f()
		if s != nil {
			if err != nil {
				s.note("**FAILED**: %v", err)
			}
			report.WriteString(s.markdown())
		}
		if err != nil {
			failed = true
			logf("%s failed: %v", name, err)
		}
		logf("%s done in %s", name, time.Since(t).Round(time.Second))
	}
	run("P1", func() (*section, error) { return p1(ctx, c.fresh(), o) })
	run("P2", func() (*section, error) { return p2(ctx, c.fresh(), o) })
	run("P3", func() (*section, error) { s, _, err := p3(ctx, c.fresh(), o); return s, err })
	run("P4", func() (*section, error) { s, _, err := p4(ctx, c.fresh(), o); return s, err })
	run("P5", func() (*section, error) { return p5(ctx, c.fresh(), o) })
	fmt.Fprintf(&report, "Total time: %s.\n", time.Since(began).Round(time.Second))

	fmt.Print(report.String())
	if set.out != "" {
		if err := os.WriteFile(set.out, []byte(report.String()), 0o644); err != nil {
			logf("write %s: %v", set.out, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// machine describes where the numbers come from.
func machine() string {
	cpu, mem := "unknown CPU", "unknown memory"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == "MemTotal" {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				mem = fmt.Sprintf("%.1f GiB", kb/1024/1024)
				break
			}
		}
		f.Close()
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load average at start " + strings.Join(strings.Fields(string(b))[:3], " ")
	}
	gover := runtime.Version()
	if b, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		gover = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("Machine: %d CPUs (%s), %s memory, %s/%s, %s%s.", runtime.NumCPU(), cpu, mem, runtime.GOOS, runtime.GOARCH, gover, load)
}
