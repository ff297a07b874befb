package devserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/autoredrive"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/sandbox"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/stripewebhook"
	"github.com/payments-hub/hub/internal/worker"
)

// pipeline is one dev run's parts, assembled.
type pipeline struct {
	base   string
	mux    *http.ServeMux
	worker *worker.Worker
	// redriver is the automatic redrive; nil when it is off.
	redriver    *autoredrive.Redriver
	processor   config.Processor
	env         provision.Env
	monetbilURL string
	sandboxNote string
	// envLines is the environment other terminals need.
	envLines []string
}

// assemble builds the intake (with the sandbox when no checkPayment URL is
// set) and the worker on the resources setup made.
func assemble(ctx context.Context, cfg Config, a app.AWS, env provision.Env, base string) (*pipeline, error) {
	log := cfg.Logger
	p := &pipeline{base: base, env: env, mux: http.NewServeMux(), monetbilURL: cfg.Env.MonetbilAPIURL}
	stripeSecret, monetbilSecret := cfg.Env.DevSecrets()
	stripeSecret, monetbilSecret = orRandom(stripeSecret, "whsec_dev_"), orRandom(monetbilSecret, "monetbil_dev_")
	svc, err := newIntake(a, env.QueueURL, stripeSecret, monetbilSecret, log)
	if err != nil {
		return nil, err
	}
	p.mux.Handle("/webhooks/", svc)
	p.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	if p.monetbilURL == "" {
		sb := sandbox.New(log.With("component", "monetbil-sandbox"))
		p.mux.Handle(sandbox.Prefix+"/", http.StripPrefix(sandbox.Prefix, sb))
		p.monetbilURL = base + sandbox.Prefix
		p.sandboxNote = " (LOCAL SANDBOX: confirms what `hubctl send monetbil` asks for; set MONETBIL_API_URL to use another)"
	}
	resources := config.DevResources{
		QueueURL: env.QueueURL, DLQURL: env.DLQURL, EventsTable: env.Tables.Events, TransactionsTable: env.Tables.Transactions, MonetbilAPIURL: p.monetbilURL,
	}
	p.processor, err = cfg.Env.DevProcessor(resources)
	if err != nil {
		return nil, err
	}
	if p.redriver, err = newRedriver(ctx, cfg, resources); err != nil {
		return nil, err
	}
	proc, consumer, err := app.Processor(ctx, a, p.processor, log.With("component", "worker"))
	if err != nil {
		return nil, err
	}
	p.worker, err = worker.New(worker.Config{Queue: consumer, Processor: proc, Concurrency: cfg.Concurrency, Logger: log.With("component", "worker")})
	if err != nil {
		return nil, err
	}
	p.envLines = envLines(cfg.Env.Endpoints, env, stripeSecret, monetbilSecret, base)
	return p, nil
}

// newRedriver builds the automatic redrive on the run's resources, with its
// AWS configuration labelled "redriver" as the function's; nil when
// AUTO_REDRIVE_SECONDS is off.
func newRedriver(ctx context.Context, cfg Config, r config.DevResources) (*autoredrive.Redriver, error) {
	rc, err := cfg.Env.DevRedriver(r)
	if err != nil || len(rc.Schedule) == 0 {
		return nil, err
	}
	a, err := app.LoadAWS(ctx, "redriver")
	if err != nil {
		return nil, err
	}
	return app.Redriver(a, rc, cfg.Logger.With("component", "redriver"))
}

// newIntake verifies with the run's secrets and enqueues on queueURL.
func newIntake(a app.AWS, queueURL, stripeSecret, monetbilSecret string, log *slog.Logger) (*intake.Service, error) {
	stripeSecrets, err := config.SplitSecrets(stripeSecret)
	if err != nil {
		return nil, err
	}
	verifier, err := stripewebhook.NewVerifier(stripeSecrets, 0)
	if err != nil {
		return nil, err
	}
	pub, err := sqsqueue.NewPublisher(a.SQS, queueURL)
	if err != nil {
		return nil, err
	}
	return intake.New(intake.Config{Stripe: verifier, MonetbilSecret: monetbilSecret, Queue: pub, Logger: log.With("component", "intake")})
}

// envLines is what other terminals need to reach this run with hubctl.
func envLines(ep config.Endpoints, env provision.Env, stripeSecret, monetbilSecret, base string) []string {
	var lines []string
	add := func(k, v string) {
		if v != "" {
			lines = append(lines, fmt.Sprintf("export %s=%s", k, v))
		}
	}
	add(config.EnvEndpointURL, ep.AWS)
	add(config.EnvEndpointURLSQS, ep.SQS)
	add(config.EnvEndpointURLDynamoDB, ep.DynamoDB)
	add(config.EnvRegion, ep.Region)
	// Local servers and LocalStack take any key: never copy real ones into a file.
	add("AWS_ACCESS_KEY_ID", "test")
	add("AWS_SECRET_ACCESS_KEY", "test")
	add(config.EnvQueueURL, env.QueueURL)
	add(config.EnvDLQURL, env.DLQURL)
	add(config.EnvEventsTable, env.Tables.Events)
	add(config.EnvTransactionsTable, env.Tables.Transactions)
	add(config.EnvStripeSecret, stripeSecret)
	add(config.EnvMonetbilSecret, monetbilSecret)
	add(config.EnvHubURL, base)
	if exe, err := os.Executable(); err == nil {
		lines = append(lines, fmt.Sprintf("export PATH=%q", filepath.Dir(exe)+":$PATH"))
	}
	return lines
}

// writeEnvFile writes the environment for other terminals (0600: it holds
// the run's webhook secrets); path "" skips it.
func (p *pipeline) writeEnvFile(path string) error {
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(strings.Join(p.envLines, "\n")+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func (p *pipeline) printBanner(cfg Config) {
	if cfg.Out == nil {
		return
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "\nPayments Hub running locally\n\n")
	fmt.Fprintf(b, "  Stripe webhooks    POST %s%s\n", p.base, intake.PathStripe)
	fmt.Fprintf(b, "  Monetbil callbacks POST %s%s\n", p.base, intake.PathMonetbil)
	fmt.Fprintf(b, "  checkPayment       %s%s\n", p.monetbilURL, p.sandboxNote)
	fmt.Fprintf(b, "  queue              %s\n  DLQ (failed_jobs)  %s\n", p.processor.QueueURL, p.env.DLQURL)
	fmt.Fprintf(b, "  retry schedule     %s (worker concurrency %d)\n", p.processor.Policy, cfg.Concurrency)
	fmt.Fprintf(b, "  automatic redrive  %s\n", p.redriveLine(cfg))
	fmt.Fprintf(b, "  live metrics       %s/metrics (hubctl status --watch)\n", p.base)
	if len(p.env.Created) > 0 {
		fmt.Fprintf(b, "  (created the queue, DLQ and tables)\n")
	}
	fmt.Fprintf(b, "\nIn another terminal, for hubctl:\n\n")
	if cfg.EnvFile != "" {
		fmt.Fprintf(b, "  source %s\n\n", cfg.EnvFile)
	} else {
		for _, l := range p.envLines {
			fmt.Fprintf(b, "  %s\n", l)
		}
		fmt.Fprintln(b)
	}
	fmt.Fprintf(b, "Then try:\n\n  hubctl send stripe payment_intent.succeeded --transaction tx_1001\n  hubctl transactions get tx_1001\n\nCtrl-C stops.\n\n")
	_, _ = io.WriteString(cfg.Out, b.String())
}

// redriveLine describes the automatic redrive for the banner.
func (p *pipeline) redriveLine(cfg Config) string {
	if p.redriver == nil {
		return "off (AUTO_REDRIVE_SECONDS=off)"
	}
	return fmt.Sprintf("rounds after %s in the DLQ (a pass every %s)", p.redriver.Schedule(), cfg.RedriveEvery)
}

func orRandom(v, prefix string) string {
	if v != "" {
		return v
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
