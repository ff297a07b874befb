package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/payments-hub/hub/internal/envelope"
)

// bootstrap is one function built for one architecture.
type bootstrap struct {
	name, arch string
	path       string
	size       int64
	zipSize    int64
}

// buildBootstrap builds pkg as the Makefile's build target does.
func buildBootstrap(ctx context.Context, root, dir, name, pkg, arch string) (bootstrap, error) {
	out := filepath.Join(dir, name+"-"+arch, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return bootstrap{}, fmt.Errorf("build %s for %s: %w\n%s", pkg, arch, err, b)
	}
	fi, err := os.Stat(out)
	if err != nil {
		return bootstrap{}, err
	}
	z, err := zipSize(out)
	if err != nil {
		return bootstrap{}, err
	}
	return bootstrap{name: name, arch: arch, path: out, size: fi.Size(), zipSize: z}, nil
}

// zipSize is the size of the deployment zip (`zip -q -X`, deflate).
func zipSize(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bootstrap", Method: zip.Deflate})
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(data); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(buf.Len()), nil
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// rieFinder locates aws-lambda-rie: the flag, $HUB_RIE, .tools/bin, PATH.
func rieFinder(root, flagValue string) (string, error) {
	for _, p := range []string{flagValue, os.Getenv("HUB_RIE"), filepath.Join(root, ".tools", "bin", "aws-lambda-rie")} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	return "", errors.New("aws-lambda-rie not found: run `make tools`, or pass -rie PATH")
}

// emulator is one aws-lambda-rie process running one bootstrap.
type emulator struct {
	cmd     *exec.Cmd
	url     string
	mu      sync.Mutex
	out     bytes.Buffer
	started time.Time
}

func (e *emulator) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.out.Write(p)
}

func (e *emulator) output() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.out.String()
}

// startEmulator runs the bootstrap under the emulator. Its runtime API
// always binds 127.0.0.1:9001, so only one runs at a time.
func startEmulator(rie, bootstrapPath string, env []string) (*emulator, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	e := &emulator{url: "http://" + addr + "/2015-03-31/functions/function/invocations"}
	e.cmd = exec.Command(rie, "--runtime-interface-emulator-address", addr, bootstrapPath)
	e.cmd.Dir = filepath.Dir(bootstrapPath)
	e.cmd.Env = append(os.Environ(), env...)
	e.cmd.Stdout, e.cmd.Stderr = e, e
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	e.started = time.Now()
	if err := e.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			return e, nil
		}
		if time.Now().After(deadline) {
			e.stop()
			return nil, fmt.Errorf("emulator did not listen on %s (is 127.0.0.1:9001 taken by another emulator?): %s", addr, e.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the emulator's process group, which this program started.
func (e *emulator) stop() {
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	_ = e.cmd.Wait()
}

func (e *emulator) invoke(payload []byte) ([]byte, error) {
	resp, err := http.Post(e.url, "application/json", bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke: HTTP %d: %s", resp.StatusCode, body)
	}
	return body, nil
}

var (
	initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	reportLine = regexp.MustCompile(`REPORT RequestId: \S+\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms`)
)

// coldStart is one cold start under the emulator.
type coldStart struct {
	initMs       float64       // the emulator's INIT REPORT, -1 when absent
	firstInvoke  time.Duration // from the emulator's start to the first answer
	warmDuration []float64     // REPORT Duration of the warm invocations, ms
}

// measureColdStart starts the emulator, invokes payload once cold and warm
// times more, and reads the emulator's reports.
func measureColdStart(rie, path string, env []string, payload func(i int) []byte, check func([]byte) error, warm int) (coldStart, error) {
	e, err := startEmulator(rie, path, env)
	if err != nil {
		return coldStart{}, err
	}
	defer e.stop()
	var cs coldStart
	for i := range warm + 1 {
		out, err := e.invoke(payload(i))
		if err == nil && check != nil {
			err = check(out)
		}
		if err != nil {
			return cs, fmt.Errorf("%w\nemulator output:\n%s", err, tail(e.output(), 2000))
		}
		if i == 0 {
			cs.firstInvoke = time.Since(e.started)
		}
	}
	// The REPORT line of the last invocation comes just after its answer.
	deadline := time.Now().Add(2 * time.Second)
	for len(reportLine.FindAllStringSubmatch(e.output(), -1)) < warm+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	log := e.output()
	cs.initMs = -1
	if m := initReport.FindStringSubmatch(log); m != nil {
		cs.initMs, _ = strconv.ParseFloat(m[1], 64)
	}
	for i, m := range reportLine.FindAllStringSubmatch(log, -1) {
		if i == 0 {
			continue // the cold invocation
		}
		d, _ := strconv.ParseFloat(m[1], 64)
		cs.warmDuration = append(cs.warmDuration, d)
	}
	return cs, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// p4 reports each bootstrap's size and, for the host's architecture, its
// init duration and warm invocation duration under the emulator.
func p4(ctx context.Context, c *clients, o options) (*section, map[string]float64, error) {
	s := &section{title: "P4 Lambda: bootstrap size and init duration"}
	s.intro = "Built as `make build` does: CGO_ENABLED=0 GOOS=linux -tags lambda.norpc -trimpath -ldflags='-s -w'; the zip is the bootstrap deflated alone, as `zip -q -X` makes it. " +
		"Baseline: infra/bench/minimal, an aws-lambda-go SQS handler that does nothing, built the same way."
	measured := map[string]float64{}
	root, err := moduleRoot()
	if err != nil {
		return s, measured, err
	}
	dir, err := os.MkdirTemp("", "bench-p4")
	if err != nil {
		return s, measured, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	funcs := []struct{ name, pkg string }{{"ingest", "./functions/ingest"}, {"processor", "./functions/processor"}, {"minimal (baseline)", "./infra/bench/minimal"}}
	built := map[string]bootstrap{}
	for _, f := range funcs {
		for _, arch := range []string{"arm64", "amd64"} {
			b, err := buildBootstrap(ctx, root, dir, strings.Fields(f.name)[0], f.pkg, arch)
			if err != nil {
				return s, measured, err
			}
			built[f.name+"/"+arch] = b
			s.add(fmt.Sprintf("%s, linux/%s", f.name, arch), fmt.Sprintf("%s (zip %s)", mb(b.size), mb(b.zipSize)), "bytes of the bootstrap (and of its zip)")
		}
	}
	if runtime.GOARCH != "amd64" || runtime.GOOS != "linux" {
		s.note("init durations skipped: the emulator runs the host's architecture and this host is %s/%s, not linux/amd64", runtime.GOOS, runtime.GOARCH)
		return s, measured, nil
	}
	rie, err := rieFinder(root, o.rie)
	if err != nil {
		s.note("init durations skipped: %v", err)
		return s, measured, nil
	}

	// What the functions need at start-up: the processor checks the queue's
	// redrive policy (one GetQueueAttributes); the ingest reads its secrets
	// from the environment here (from SSM on AWS: one more call).
	q, removeQ, err := c.hubQueues(ctx, "bench-p4", 60*time.Second)
	if err != nil {
		return s, measured, err
	}
	defer removeQ()
	_, tables, removeT, err := c.hubTables(ctx, "bench-p4")
	if err != nil {
		return s, measured, err
	}
	defer removeT()
	common := []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=30", "LOG_LEVEL=info"}
	for _, k := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if os.Getenv(k) == "" {
			common = append(common, k+"="+map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}[k])
		}
	}
	ingestEnv := append([]string{"QUEUE_URL=" + q.URL, "STRIPE_WEBHOOK_SECRET=" + benchStripeSecret, "MONETBIL_SERVICE_SECRET=" + benchMonetbilSecret}, common...)
	processorEnv := append([]string{"QUEUE_URL=" + q.URL, "EVENTS_TABLE=" + tables[0], "TRANSACTIONS_TABLE=" + tables[1], "JOB_TIMEOUT_SECONDS=20"}, common...)

	var seq int
	ingestPayload := func(int) []byte {
		seq++
		id := fmt.Sprintf("evt_p4_%d_%d", time.Now().UnixNano(), seq)
		body := stripeEvent(id, "tx_"+id)
		var ev events.APIGatewayV2HTTPRequest
		ev.Version, ev.RouteKey, ev.RawPath = "2.0", "POST /webhooks/stripe", "/webhooks/stripe"
		ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = http.MethodPost, "/webhooks/stripe"
		ev.Headers = map[string]string{"content-type": "application/json",
			"stripe-signature": webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: benchStripeSecret}).Header}
		ev.Body = body
		b, _ := json.Marshal(ev)
		return b
	}
	ingestCheck := func(out []byte) error {
		var r events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &r); err != nil || r.StatusCode != http.StatusOK {
			return fmt.Errorf("ingest answered %s", out)
		}
		return nil
	}
	// A batch of 10 distinct events, as the event source mapping delivers.
	processorPayload := func(i int) []byte {
		var ev events.SQSEvent
		for j := range 10 {
			seq++
			id := fmt.Sprintf("evt_p4_%d_%d", time.Now().UnixNano(), seq)
			body, _ := envelope.Encode(envelope.Envelope{Version: 1, Provider: envelope.ProviderStripe, EventKey: id, EventType: "payment_intent.succeeded",
				TransactionID: "tx_" + id, ReceivedAt: time.Now().UTC(), Payload: stripeEvent(id, "tx_"+id)})
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("msg-%d-%d", i, j), ReceiptHandle: "rh", Body: string(body),
				Attributes: map[string]string{"ApproximateReceiveCount": "1"}, EventSource: "aws:sqs", EventSourceARN: q.ARN, AWSRegion: "us-east-1"})
		}
		b, _ := json.Marshal(ev)
		return b
	}
	batchCheck := func(out []byte) error {
		var r events.SQSEventResponse
		if err := json.Unmarshal(out, &r); err != nil || len(r.BatchItemFailures) != 0 {
			return fmt.Errorf("processor answered %s", out)
		}
		return nil
	}
	emptyBatch := func(int) []byte { return []byte(`{"Records":[]}`) }

	targets := []struct {
		name    string
		env     []string
		payload func(int) []byte
		check   func([]byte) error
		warmFor string
	}{
		{"ingest", ingestEnv, ingestPayload, ingestCheck, "one signed Stripe webhook (verify, envelope, SendMessage to fauxqs)"},
		{"processor", processorEnv, processorPayload, batchCheck, "a batch of 10 new Stripe events (10 × one conditional write on DynamoDB Local, 10 at once)"},
		{"minimal (baseline)", nil, emptyBatch, nil, "an empty SQS batch"},
	}
	for _, tg := range targets {
		var inits, firsts, warms []float64
		for run := range o.coldStarts {
			cs, err := measureColdStart(rie, built[tg.name+"/amd64"].path, tg.env, tg.payload, tg.check, o.warmInvokes)
			if err != nil {
				return s, measured, fmt.Errorf("%s under the emulator: %w", tg.name, err)
			}
			if cs.initMs >= 0 {
				inits = append(inits, cs.initMs)
			}
			firsts = append(firsts, float64(cs.firstInvoke))
			warms = append(warms, median(cs.warmDuration))
			logf("P4 %s cold start %d: INIT REPORT %.1f ms, first answer after %s, warm invocation %.1f ms", tg.name, run+1, cs.initMs, cs.firstInvoke.Round(time.Millisecond), median(cs.warmDuration))
		}
		if len(inits) > 0 {
			s.add(tg.name+" init duration, linux/amd64", fmt.Sprintf("%.1f ms", median(inits)),
				fmt.Sprintf("the emulator's INIT REPORT (durationMs) of %d cold starts, median; runs %s", o.coldStarts, runsOf(inits, "%.1f")))
		} else {
			s.add(tg.name+" time to first answer, linux/amd64", ms(time.Duration(median(firsts))),
				"the emulator printed no INIT REPORT: time from the emulator's start to the first successful invocation's answer")
		}
		w := median(warms)
		measured[tg.name] = w
		s.add(tg.name+" warm invocation, linux/amd64", fmt.Sprintf("%.1f ms", w),
			fmt.Sprintf("the emulator's REPORT Duration, median of %d warm invocations per cold start; each: %s", o.warmInvokes, tg.warmFor))
	}
	s.note("Init durations are this machine's (x86-64, local servers on loopback), not Lambda's arm64 at 128/256 MB, which has a fraction of a vCPU: read them as ratios to the baseline.")
	s.note("The ingest's init on AWS also reads two SSM parameters (one call each, cold start only); the processor's init reads the queue's attributes here too (GetQueueAttributes).")
	return s, measured, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run infra/bench from inside the module (go run ./infra/bench)")
	}
	return filepath.Dir(mod), nil
}
