// Package devserver is `hubctl dev`: the whole pipeline on one machine. It
// creates the queue, the DLQ and the tables with the production settings
// when missing, serves the intake on the API Gateway routes, runs the worker,
// and, unless MONETBIL_API_URL names one, serves a local sandbox of
// Monetbil's checkPayment. It works against the no-Docker local servers
// (`make run`) and against LocalStack (AWS_ENDPOINT_URL).
package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/payments-hub/hub/internal/app"
	"github.com/payments-hub/hub/internal/config"
	"github.com/payments-hub/hub/internal/flowmetrics"
	"github.com/payments-hub/hub/internal/logging"
	"github.com/payments-hub/hub/internal/provision"
)

// Config configures a dev run.
type Config struct {
	Addr        string // default 127.0.0.1:8080
	EnvFile     string // where the environment for other terminals is written (0600); "" to skip
	Concurrency int    // worker concurrency, default 2
	// RedriveEvery is the time between two automatic redrive passes
	// (default 30 s); AUTO_REDRIVE_SECONDS=off turns them off.
	RedriveEvery time.Duration
	// Env is the environment read once by the caller.
	Env    config.Hubctl
	Logger *slog.Logger
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
	if cfg.RedriveEvery <= 0 {
		cfg.RedriveEvery = 30 * time.Second
	}
	if err := cfg.Env.RequireLocal(); err != nil {
		return err
	}
	policy, err := cfg.Env.Policy()
	if err != nil {
		return err
	}
	sink := flowmetrics.NewSink(nil)
	cfg.Logger = sink.Logger(cfg.Logger)
	// Listen first: a taken port is the likeliest failure, say it at once.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --addr)", cfg.Addr, err)
	}
	defer ln.Close()
	a, err := app.LoadAWS(ctx, "hubctl dev")
	if err != nil {
		return err
	}
	env, err := provision.Setup(ctx, a.SQS, a.DynamoDB, cfg.Env.Names, policy.MaxAttempts)
	if err != nil {
		return fmt.Errorf("create the queue, DLQ and tables: %w", err)
	}
	p, err := assemble(ctx, cfg, a, env, "http://"+ln.Addr().String())
	if err != nil {
		return err
	}
	p.mux.Handle("GET /metrics", sink)
	if err := p.writeEnvFile(cfg.EnvFile); err != nil {
		return err
	}
	p.printBanner(cfg)
	return serve(ctx, cfg, ln, p)
}

// serve runs the intake and the worker until ctx ends or one fails, then
// stops both: no new webhooks, running jobs let finish.
func serve(ctx context.Context, cfg Config, ln net.Listener, p *pipeline) error {
	srv := &http.Server{Handler: p.mux, ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("intake server: %w", err)
		}
	})
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	wg.Go(func() {
		if err := p.worker.Run(workCtx); err != nil {
			errs <- err
		}
	})
	if p.redriver != nil {
		wg.Go(func() { p.redriver.Run(workCtx, cfg.RedriveEvery) })
	}
	if cfg.Ready != nil {
		cfg.Ready(p.base)
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	log := cfg.Logger
	log.Info("stopping: no new webhooks, letting running jobs finish")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	stopWork()
	wg.Wait()
	st := p.worker.Stats()
	log.Info("stopped", "received", st.Received, "acked", st.Acked, "retried", st.Retried, "dead_lettered", st.DeadLettered, "released", st.Released)
	return runErr
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
