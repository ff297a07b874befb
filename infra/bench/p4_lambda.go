package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/provision"
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
	built, err := p4Sizes(ctx, s, root, dir)
	if err != nil {
		return s, measured, err
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
	for _, tg := range p4Targets(q, tables) {
		w, err := p4Measure(s, o, rie, built[tg.name+"/amd64"].path, tg)
		if err != nil {
			return s, measured, err
		}
		measured[tg.name] = w
	}
	s.note("Init durations are this machine's (x86-64, local servers on loopback), not Lambda's arm64 at 128/256 MB, which has a fraction of a vCPU: read them as ratios to the baseline.")
	s.note("The ingest's init on AWS also reads its two SSM parameters (one GetParameters call, cold start only); the processor's init reads the queue's attributes here too (GetQueueAttributes).")
	return s, measured, nil
}

// p4Sizes builds each function's bootstrap for both architectures and
// reports their sizes; it returns them by "name/arch".
func p4Sizes(ctx context.Context, s *section, root, dir string) (map[string]bootstrap, error) {
	funcs := []struct{ name, pkg string }{{"ingest", "./functions/ingest"}, {"processor", "./functions/processor"}, {"minimal (baseline)", "./infra/bench/minimal"}}
	built := map[string]bootstrap{}
	for _, f := range funcs {
		for _, arch := range []string{"arm64", "amd64"} {
			b, err := buildBootstrap(ctx, root, dir, strings.Fields(f.name)[0], f.pkg, arch)
			if err != nil {
				return nil, err
			}
			built[f.name+"/"+arch] = b
			s.add(fmt.Sprintf("%s, linux/%s", f.name, arch), fmt.Sprintf("%s (zip %s)", mb(b.size), mb(b.zipSize)), "bytes of the bootstrap (and of its zip)")
		}
	}
	return built, nil
}

// p4Target is one function measured under the emulator: its environment,
// the invocation it is given and how its answer is checked.
type p4Target struct {
	name    string
	env     []string
	payload func(int) []byte
	check   func([]byte) error
	warmFor string
}

// p4Targets are the ingest, the processor and the baseline, set up against
// queue q and the tables.
func p4Targets(q provision.QueuePair, tables [2]string) []p4Target {
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
	return []p4Target{
		{"ingest", ingestEnv, ingestPayload, ingestCheck, "one signed Stripe webhook (verify, envelope, SendMessage to fauxqs)"},
		{"processor", processorEnv, processorPayload, batchCheck, "a batch of 10 new Stripe events (10 × one conditional write on DynamoDB Local, 10 at once)"},
		{"minimal (baseline)", nil, emptyBatch, nil, "an empty SQS batch"},
	}
}

// p4Measure cold-starts target tg's bootstrap o.coldStarts times, reports
// its init and warm invocation durations and returns the warm median (ms).
func p4Measure(s *section, o options, rie, bootstrapPath string, tg p4Target) (float64, error) {
	var inits, firsts, warms []float64
	for run := range o.coldStarts {
		cs, err := measureColdStart(rie, bootstrapPath, tg.env, tg.payload, tg.check, o.warmInvokes)
		if err != nil {
			return 0, fmt.Errorf("%s under the emulator: %w", tg.name, err)
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
	s.add(tg.name+" warm invocation, linux/amd64", fmt.Sprintf("%.1f ms", w),
		fmt.Sprintf("the emulator's REPORT Duration, median of %d warm invocations per cold start; each: %s", o.warmInvokes, tg.warmFor))
	return w, nil
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
