package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/retry"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/worker"
)

// applied records when each event was processed, from the processor's
// "processed" log line, and counts the bytes of JSON log written.
type applied struct {
	mu    sync.Mutex
	at    map[string]time.Time
	bytes atomic.Int64
	lines atomic.Int64
}

func (a *applied) Write(p []byte) (int, error) {
	a.bytes.Add(int64(len(p)))
	a.lines.Add(1)
	return len(p), nil
}

func (a *applied) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}

// appliedHandler passes every record to a JSON handler (the log as Lambda
// would ingest it, counted by applied) and notes the time of each
// "processed" record's event_id.
type appliedHandler struct {
	slog.Handler
	a       *applied
	eventID string
}

func (h appliedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	for _, at := range attrs {
		if at.Key == "event_id" {
			h.eventID = at.Value.String()
		}
	}
	h.Handler = h.Handler.WithAttrs(attrs)
	return h
}

func (h appliedHandler) WithGroup(name string) slog.Handler {
	h.Handler = h.Handler.WithGroup(name)
	return h
}

func (h appliedHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "processed" && h.eventID != "" {
		now := time.Now()
		h.a.mu.Lock()
		h.a.at[h.eventID] = now
		h.a.mu.Unlock()
	}
	return h.Handler.Handle(ctx, r)
}

// countingWriter counts the bytes and lines of a log.
type countingWriter struct{ bytes, lines atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.bytes.Add(int64(len(p)))
	w.lines.Add(1)
	return len(p), nil
}

// e2eRun is one end-to-end measurement.
type e2eRun struct {
	rate              float64 // webhooks/s from the first request to the last applied
	p50, p99          time.Duration
	intakeLogBytes    float64 // per webhook
	processorLogBytes float64 // per event
	intakeLogLines    float64
	processorLogLines float64
}

// endToEnd sends n Stripe webhooks over HTTP through the intake, SQS, the
// worker and DynamoDB, at the given concurrency (closed loop), or, with
// perSecond > 0, one every 1/perSecond (open loop), and times each from its
// request to its "processed" line.
func endToEnd(ctx context.Context, c *clients, o options, n, concurrency int, perSecond float64) (e2eRun, error) {
	q, removeQ, err := c.hubQueues(ctx, "bench-p3", 60*time.Second)
	if err != nil {
		return e2eRun{}, err
	}
	defer removeQ()
	st, _, removeT, err := c.hubTables(ctx, "bench-p3")
	if err != nil {
		return e2eRun{}, err
	}
	defer removeT()

	intakeLog := &countingWriter{}
	srv, err := newIntake(c, q.URL, slog.New(slog.NewJSONHandler(intakeLog, nil)))
	if err != nil {
		return e2eRun{}, err
	}
	defer srv.Close()
	a := &applied{at: map[string]time.Time{}}
	stop, err := startWorker(ctx, c, q.URL, processing.Config{Store: st, Jobs: map[string]processing.Job{envelope.ProviderStripe: jobs.Stripe{Mode: jobs.StripeTest}},
		Policy: retry.Default(), JobTimeout: 20 * time.Second, Logger: slog.New(appliedHandler{Handler: slog.NewJSONHandler(a, nil), a: a})}, o.workerConcurrency)
	if err != nil {
		return e2eRun{}, err
	}
	defer stop()

	start := time.Now()
	sent, err := sendWebhooks(ctx, srv.URL, n, concurrency, perSecond)
	if err != nil {
		return e2eRun{}, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for a.count() < n {
		if time.Now().After(deadline) {
			return e2eRun{}, fmt.Errorf("%d of %d events applied after 5 minutes", a.count(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	var last time.Time
	lat := make([]time.Duration, 0, n)
	a.mu.Lock()
	for i := range n {
		t := a.at["evt_p3_"+strconv.Itoa(i)]
		lat = append(lat, t.Sub(sent[i]))
		if t.After(last) {
			last = t
		}
	}
	a.mu.Unlock()
	return e2eRun{
		rate: float64(n) / last.Sub(start).Seconds(), p50: percentile(lat, 50), p99: percentile(lat, 99),
		intakeLogBytes: float64(intakeLog.bytes.Load()) / float64(n), intakeLogLines: float64(intakeLog.lines.Load()) / float64(n),
		processorLogBytes: float64(a.bytes.Load()) / float64(n), processorLogLines: float64(a.lines.Load()) / float64(n),
	}, nil
}

// startWorker runs internal/worker with the processing core configured by
// cfg (its Visibility set to the queue) on the queue at queueURL, until the
// returned stop is called.
func startWorker(ctx context.Context, c *clients, queueURL string, cfg processing.Config, concurrency int) (stop func(), err error) {
	consumer, err := sqsqueue.NewConsumer(c.sqs, queueURL)
	if err != nil {
		return nil, err
	}
	cfg.Visibility = consumer
	p, err := processing.New(cfg)
	if err != nil {
		return nil, err
	}
	w, err := worker.New(worker.Config{Queue: consumer, Processor: p, Concurrency: concurrency, Wait: time.Second, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	return func() { stopWorker(cancel, done) }, nil
}

// sendWebhooks POSTs webhooks evt_p3_0 .. evt_p3_<n-1> to the intake at url,
// closed loop at the given concurrency or, with perSecond > 0, open loop,
// and returns when each was sent. Every one must be accepted.
func sendWebhooks(ctx context.Context, url string, n, concurrency int, perSecond float64) ([]time.Time, error) {
	client := loadClient(max(concurrency, 8))
	sent := make([]time.Time, n)
	var next, failed atomic.Int64
	send := func(i int) {
		id := "evt_p3_" + strconv.Itoa(i)
		req, err := stripeRequest(url, stripeEvent(id, "tx_p3_"+strconv.Itoa(i)))
		if err != nil {
			failed.Add(1)
			return
		}
		sent[i] = time.Now()
		resp, err := client.Do(req.WithContext(ctx))
		if err != nil {
			failed.Add(1)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			failed.Add(1)
		}
	}
	var wg sync.WaitGroup
	if perSecond > 0 {
		tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
		for i := range n {
			<-tick.C
			wg.Go(func() { send(i) })
		}
		tick.Stop()
	} else {
		for range concurrency {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					send(i)
				}
			})
		}
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return nil, fmt.Errorf("%d of %d webhooks were not accepted", f, n)
	}
	return sent, nil
}

func msOf(ns []float64) []float64 {
	out := make([]float64, len(ns))
	for i, x := range ns {
		out[i] = x / float64(time.Millisecond)
	}
	return out
}

// putLimit measures DynamoDB Local's conditional PutItem/s (one write each,
// an item of the event record's size) at the given concurrency.
func putLimit(ctx context.Context, c *clients, o options, concurrency int) (float64, error) {
	_, names, remove, err := c.hubTables(ctx, "bench-p3-put")
	if err != nil {
		return 0, err
	}
	defer remove()
	var seq atomic.Int64
	r, _, failed := throughput(ctx, concurrency, o.warm, o.window, func(ctx context.Context) error {
		n := seq.Add(1)
		_, err := c.ddb.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:           aws.String(names[0]),
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
			Item: map[string]ddbtypes.AttributeValue{
				"pk":             &ddbtypes.AttributeValueMemberS{Value: "stripe#evt_put_" + strconv.FormatInt(n, 10)},
				"status":         &ddbtypes.AttributeValueMemberS{Value: "PROCESSED"},
				"event_type":     &ddbtypes.AttributeValueMemberS{Value: "payment_intent.succeeded"},
				"transaction_id": &ddbtypes.AttributeValueMemberS{Value: "tx_put_" + strconv.FormatInt(n, 10)},
				"message_id":     &ddbtypes.AttributeValueMemberS{Value: "0b3c9f4e-1d2a-4b5c-8e7f-0123456789ab"},
				"outcome":        &ddbtypes.AttributeValueMemberS{Value: "applied"},
				"attempts":       &ddbtypes.AttributeValueMemberN{Value: "1"},
				"updated_at":     &ddbtypes.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339Nano)},
			},
		})
		return err
	})
	if failed > 0 {
		return 0, fmt.Errorf("%d PutItems failed", failed)
	}
	return r, nil
}

// p3 measures webhooks/s from HTTP to an applied transaction, its latency,
// and compares it with what DynamoDB Local's writes allow.
func p3(ctx context.Context, c *clients, o options) (*section, []e2eRun, error) {
	s := &section{title: "P3 end to end: HTTP to an applied transaction in DynamoDB Local"}
	s.intro = fmt.Sprintf("Stripe payment_intent.succeeded webhooks, each for its own transaction, POSTed to the intake (httptest) → fauxqs → "+
		"internal/worker (concurrency %d, as 2 processor Lambdas × BATCH_CONCURRENCY 10) → DynamoDB Local. "+
		"An event is applied when the processor logs \"processed\" (after its one write). Latency: from just before the HTTP request to that line. "+
		"A first run of %d webhooks warms the servers up and is not counted. Value: median of %d runs.", o.workerConcurrency, o.e2eWarmup, o.runs)
	// DynamoDB Local is a JVM: a first, discarded run lets its JIT warm up,
	// so that the runs measure the steady state.
	if _, err := endToEnd(ctx, c, o, o.e2eWarmup, o.e2eConcurrency, 0); err != nil {
		return s, nil, fmt.Errorf("warm-up run: %w", err)
	}
	var rates, p50s, p99s, lp50s, lp99s, limits []float64
	var all []e2eRun
	for run := range o.runs {
		r, err := endToEnd(ctx, c, o, o.e2eWebhooks, o.e2eConcurrency, 0)
		if err != nil {
			return s, all, fmt.Errorf("saturated run: %w", err)
		}
		all = append(all, r)
		rates, p50s, p99s = append(rates, r.rate), append(p50s, float64(r.p50)), append(p99s, float64(r.p99))
		logf("P3 run %d: %.0f webhooks/s end to end, p50 %s, p99 %s", run+1, r.rate, r.p50, r.p99)
		light, err := endToEnd(ctx, c, o, o.lightWebhooks, 0, o.lightRate)
		if err != nil {
			return s, all, fmt.Errorf("light run: %w", err)
		}
		lp50s, lp99s = append(lp50s, float64(light.p50)), append(lp99s, float64(light.p99))
		logf("P3 run %d at %.0f/s: p50 %s, p99 %s", run+1, o.lightRate, light.p50, light.p99)
		limit, err := putLimit(ctx, c, o, 32)
		if err != nil {
			return s, all, err
		}
		limits = append(limits, limit)
		logf("P3 run %d: DynamoDB Local %.0f conditional PutItem/s", run+1, limit)
	}
	rate, limit := median(rates), median(limits)
	s.add("end to end, saturated", fmt.Sprintf("%.0f webhooks/s", rate),
		fmt.Sprintf("%d webhooks, closed loop at concurrency %d; from the first request to the last applied event; runs %s", o.e2eWebhooks, o.e2eConcurrency, runsOf(rates, "%.0f")))
	s.add("latency p50 / p99, saturated", ms(time.Duration(median(p50s)))+" / "+ms(time.Duration(median(p99s))),
		"same runs; includes the queueing of a backlog the consumer has not caught up with; p50 runs "+runsOf(msOf(p50s), "%.0f ms"))
	s.add(fmt.Sprintf("latency p50 / p99 at %.0f webhooks/s", o.lightRate), ms(time.Duration(median(lp50s)))+" / "+ms(time.Duration(median(lp99s))),
		fmt.Sprintf("%d webhooks, open loop (one request every %s), below saturation; p50 runs %s", o.lightWebhooks, time.Duration(float64(time.Second)/o.lightRate), runsOf(msOf(lp50s), "%.1f ms")))
	s.add("DynamoDB Local conditional PutItem/s", fmt.Sprintf("%.0f writes/s", limit),
		"PutItem with attribute_not_exists(pk) of a ~300-byte item, concurrency 32, same client; runs "+runsOf(limits, "%.0f"))
	s.add("limit: writes/s ÷ 1 write per event", fmt.Sprintf("%.0f events/s", limit),
		"an applied event is 1 conditional UpdateItem and no read (internal/store/store.go); here each webhook is a new payment, so that write also adds the payment-intent index entry")
	s.add("end to end / limit", fmt.Sprintf("%.2f", rate/limit), "median end to end ÷ limit")
	var ib, pb, il, pl []float64
	for _, r := range all {
		ib, pb, il, pl = append(ib, r.intakeLogBytes), append(pb, r.processorLogBytes), append(il, r.intakeLogLines), append(pl, r.processorLogLines)
	}
	s.add("JSON log per webhook, intake", fmt.Sprintf("%.0f bytes (%.1f lines)", median(ib), median(il)), "bytes the intake's JSON handler (LOG_LEVEL info) wrote, ÷ webhooks")
	s.add("JSON log per event, processor", fmt.Sprintf("%.0f bytes (%.1f lines)", median(pb), median(pl)), "bytes the processor's JSON handler (LOG_LEVEL info) wrote, ÷ events")
	return s, all, nil
}
