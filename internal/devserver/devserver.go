// Package devserver is `hubctl dev`: the whole pipeline on one machine. It
// creates the queue, the DLQ and the tables with the production settings
// when missing, serves the intake on the API Gateway routes, runs the worker,
// and, unless MONETBIL_API_URL names one, serves a local sandbox of
// Monetbil's checkPayment. It works against the no-Docker local servers
// (`make run`) and against LocalStack (AWS_ENDPOINT_URL).
package devserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/logging"
	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/sandbox"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/stripewebhook"
	"github.com/payments-hub/hub/internal/worker"
)

// Config configures a dev run.
type Config struct {
	Addr        string // default 127.0.0.1:8080
	EnvFile     string // where the environment for other terminals is written (0600); "" to skip
	Concurrency int    // worker concurrency, default 2
	Getenv      func(string) string
	Logger      *slog.Logger
	// Out receives the start-up banner.
	Out io.Writer
	// Ready, when set, is called once everything is serving.
	Ready func(baseURL string)
}

// Run runs until ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 2
	}
	getenv := cfg.Getenv
	log := cfg.Logger
	if getenv("AWS_ENDPOINT_URL") == "" && (getenv("AWS_ENDPOINT_URL_SQS") == "" || getenv("AWS_ENDPOINT_URL_DYNAMODB") == "") {
		return errors.New("hubctl dev runs against local servers or LocalStack, not AWS: run it with `make run`, or set AWS_ENDPOINT_URL (LocalStack) or AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_DYNAMODB")
	}
	policy, err := config.RetryPolicy(getenv)
	if err != nil {
		return err
	}

	// Listen first: a taken port is the likeliest failure, say it at once.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --addr)", cfg.Addr, err)
	}
	defer ln.Close()
	base := "http://" + ln.Addr().String()

	a, err := app.LoadAWS(ctx, "hubctl dev")
	if err != nil {
		return err
	}
	env, err := provision.Setup(ctx, a.SQS, a.DynamoDB, config.LoadNames(getenv), policy.MaxAttempts)
	if err != nil {
		return fmt.Errorf("create the queue, DLQ and tables: %w", err)
	}

	stripeSecret := orRandom(getenv(config.EnvStripeSecret), "whsec_dev_")
	monetbilSecret := orRandom(getenv(config.EnvMonetbilSecret), "monetbil_dev_")
	stripeSecrets, err := config.SplitSecrets(stripeSecret)
	if err != nil {
		return err
	}
	verifier, err := stripewebhook.NewVerifier(stripeSecrets, 0)
	if err != nil {
		return err
	}
	pub, err := sqsqueue.NewPublisher(a.SQS, env.QueueURL)
	if err != nil {
		return err
	}
	svc, err := intake.New(intake.Config{Stripe: verifier, MonetbilSecret: monetbilSecret, Queue: pub, Logger: log.With("component", "intake")})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/webhooks/", svc)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	monetbilURL := getenv(config.EnvMonetbilAPIURL)
	sandboxNote := ""
	if monetbilURL == "" {
		sb := sandbox.New(log.With("component", "monetbil-sandbox"))
		mux.Handle(sandbox.Prefix+"/", http.StripPrefix(sandbox.Prefix, sb))
		monetbilURL = base + sandbox.Prefix
		sandboxNote = " (LOCAL SANDBOX: confirms what `hubctl send monetbil` asks for; set MONETBIL_API_URL to use another)"
	}

	overlay := map[string]string{
		config.EnvQueueURL: env.QueueURL, config.EnvDLQURL: env.DLQURL, config.EnvEventsTable: env.Tables.Events,
		config.EnvTransactionsTable: env.Tables.Transactions, config.EnvMonetbilAPIURL: monetbilURL,
	}
	if getenv(config.EnvStripeMode) == "" {
		// Events from `hubctl send` and the Stripe CLI are test-mode events.
		overlay[config.EnvStripeMode] = "test"
	}
	pcfg, err := config.LoadProcessor(func(k string) string {
		if v, ok := overlay[k]; ok {
			return v
		}
		return getenv(k)
	})
	if err != nil {
		return err
	}
	proc, consumer, err := app.Processor(ctx, a, pcfg, log.With("component", "worker"))
	if err != nil {
		return err
	}
	w, err := worker.New(worker.Config{Queue: consumer, Processor: proc, Concurrency: cfg.Concurrency, Logger: log.With("component", "worker")})
	if err != nil {
		return err
	}

	lines := envLines(getenv, env, stripeSecret, monetbilSecret, base)
	if cfg.EnvFile != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.EnvFile), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(cfg.EnvFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", cfg.EnvFile, err)
		}
	}
	printBanner(cfg.Out, base, monetbilURL+sandboxNote, pcfg, env, cfg, lines)

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("intake server: %w", err)
		}
	}()
	workCtx, stopWork := context.WithCancel(ctx)
	go func() {
		defer wg.Done()
		if err := w.Run(workCtx); err != nil {
			errs <- err
		}
	}()
	if cfg.Ready != nil {
		cfg.Ready(base)
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	log.Info("stopping: no new webhooks, letting running jobs finish")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	stopWork()
	wg.Wait()
	st := w.Stats()
	log.Info("stopped", "received", st.Received, "acked", st.Acked, "retried", st.Retried, "dead_lettered", st.DeadLettered, "released", st.Released)
	return runErr
}

// envLines is what other terminals need to reach this run with hubctl.
func envLines(getenv func(string) string, env provision.Env, stripeSecret, monetbilSecret, base string) []string {
	var lines []string
	add := func(k, v string) {
		if v != "" {
			lines = append(lines, fmt.Sprintf("export %s=%s", k, v))
		}
	}
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_REGION"} {
		add(k, getenv(k))
	}
	// Local servers and LocalStack take any key: never copy real ones into a file.
	add("AWS_ACCESS_KEY_ID", "test")
	add("AWS_SECRET_ACCESS_KEY", "test")
	add(config.EnvQueueURL, env.QueueURL)
	add(config.EnvDLQURL, env.DLQURL)
	add(config.EnvEventsTable, env.Tables.Events)
	add(config.EnvTransactionsTable, env.Tables.Transactions)
	add(config.EnvStripeSecret, stripeSecret)
	add(config.EnvMonetbilSecret, monetbilSecret)
	add("HUB_URL", base)
	if exe, err := os.Executable(); err == nil {
		lines = append(lines, fmt.Sprintf("export PATH=%q", filepath.Dir(exe)+":$PATH"))
	}
	return lines
}

func printBanner(out io.Writer, base, monetbil string, p config.Processor, env provision.Env, cfg Config, lines []string) {
	if out == nil {
		return
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "\nPayments Hub running locally\n\n")
	fmt.Fprintf(b, "  Stripe webhooks    POST %s%s\n", base, intake.PathStripe)
	fmt.Fprintf(b, "  Monetbil callbacks POST %s%s\n", base, intake.PathMonetbil)
	fmt.Fprintf(b, "  checkPayment       %s\n", monetbil)
	fmt.Fprintf(b, "  queue              %s\n  DLQ (failed_jobs)  %s\n", p.QueueURL, env.DLQURL)
	fmt.Fprintf(b, "  retry schedule     %s (worker concurrency %d)\n", p.Policy, cfg.Concurrency)
	if len(env.Created) > 0 {
		fmt.Fprintf(b, "  (created the queue, DLQ and tables)\n")
	}
	fmt.Fprintf(b, "\nIn another terminal, for hubctl:\n\n")
	if cfg.EnvFile != "" {
		fmt.Fprintf(b, "  source %s\n\n", cfg.EnvFile)
	} else {
		for _, l := range lines {
			fmt.Fprintf(b, "  %s\n", l)
		}
		fmt.Fprintln(b)
	}
	fmt.Fprintf(b, "Then try:\n\n  hubctl send stripe payment_intent.succeeded --transaction tx_1001\n  hubctl transactions get tx_1001\n\nCtrl-C stops.\n\n")
	_, _ = io.WriteString(out, b.String())
}

func orRandom(v, prefix string) string {
	if v != "" {
		return v
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Logger returns the dev run's logger: text for a person at a terminal,
// JSON otherwise, unless format says ("text", "json", "auto").
func Logger(out *os.File, format string, level slog.Level) (*slog.Logger, error) {
	switch format {
	case "text":
		return logging.New(out, logging.FormatText, level), nil
	case "json":
		return logging.New(out, logging.FormatJSON, level), nil
	case "", "auto":
		if fi, err := out.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return logging.New(out, logging.FormatText, level), nil
		}
		return logging.New(out, logging.FormatJSON, level), nil
	}
	return nil, fmt.Errorf("--log-format %q: want auto, text or json", format)
}
