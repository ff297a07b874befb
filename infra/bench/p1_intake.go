package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/stripewebhook"
)

const (
	benchStripeSecret   = "whsec_bench"
	benchMonetbilSecret = "monetbil_bench"
)

// stripeEvent returns a payment_intent.succeeded event of about 1.3 KB (a
// real one carries more fields; the size barely matters next to the round
// trips) for its own transaction.
func stripeEvent(id, tx string) string {
	return fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2025-10-29.clover","created":%d,"livemode":false,"pending_webhooks":1,`+
		`"request":{"id":"req_bench","idempotency_key":"2f0c8f3e-5b1d-4d0e-9a3b-0123456789ab"},"type":"payment_intent.succeeded",`+
		`"data":{"object":{"id":"pi_%s","object":"payment_intent","amount":1500,"amount_received":1500,"capture_method":"automatic_async",`+
		`"client_secret":"pi_bench_secret_XyZ0123456789abcdef","confirmation_method":"automatic","created":%d,"currency":"eur",`+
		`"customer":"cus_Rbench0123456789","description":"Order 42","latest_charge":"ch_bench0123456789","livemode":false,`+
		`"metadata":{"transaction_id":%q,"order_id":"ord_42"},"payment_method":"pm_bench0123456789",`+
		`"payment_method_options":{"card":{"installments":null,"mandate_options":null,"network":null,"request_three_d_secure":"automatic"}},`+
		`"payment_method_types":["card"],"receipt_email":"buyer@example.com","status":"succeeded","statement_descriptor":null,`+
		`"shipping":null,"review":null,"processing":null,"next_action":null,"last_payment_error":null,"canceled_at":null}}}`,
		id, time.Now().Unix(), id, time.Now().Unix(), tx)
}

// stripeRequest signs and builds the POST Stripe would send.
func stripeRequest(base, body string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, base+intake.PathStripe, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: benchStripeSecret}).Header)
	return req, nil
}

// newIntake serves the intake over HTTP on the queue at url.
func newIntake(c *clients, url string, log *slog.Logger) (*httptest.Server, error) {
	v, err := stripewebhook.NewVerifier([]string{benchStripeSecret}, 0)
	if err != nil {
		return nil, err
	}
	pub, err := sqsqueue.NewPublisher(c.sqs, url)
	if err != nil {
		return nil, err
	}
	svc, err := intake.New(intake.Config{Stripe: v, MonetbilSecret: benchMonetbilSecret, Queue: pub, Logger: log})
	if err != nil {
		return nil, err
	}
	return httptest.NewServer(svc), nil
}

func loadClient(concurrency int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 2*concurrency+16, 2*concurrency+16
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// p1 compares webhooks/s through the intake's HTTP handler with a bare
// SendMessage loop, at several concurrencies, on the same server.
func p1(ctx context.Context, c *clients, o options) (*section, error) {
	s := &section{title: "P1 intake: webhooks/s through the intake vs bare SendMessage (fauxqs)"}
	s.intro = fmt.Sprintf("Each run: %s warm-up, then a %s window, closed loop (each client sends its next request when the previous one is answered); "+
		"a fresh queue per measurement; the intake and the bare loop alternate which goes first; one discarded second of SendMessage first warms fauxqs up. Value: median of %d runs. "+
		"The load generator, the intake and fauxqs share this machine's CPUs.", o.warm, o.window, o.runs)
	var seq atomic.Int64
	// fauxqs runs on Node: a first, discarded second of SendMessage lets its
	// JIT warm up before anything is measured.
	if url, remove, err := c.plainQueue(ctx, "bench-p1-warm"); err == nil {
		in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(stripeEvent("evt_warm", "tx_warm"))}
		throughput(ctx, 8, 0, time.Second, func(ctx context.Context) error { _, err := c.sqs.SendMessage(ctx, in); return err })
		remove()
	}
	for _, conc := range o.p1Concurrency {
		var hub, bare []float64
		for run := range o.runs {
			measureHub := func() error {
				url, remove, err := c.plainQueue(ctx, "bench-p1")
				if err != nil {
					return err
				}
				defer remove()
				srv, err := newIntake(c, url, slog.New(slog.NewJSONHandler(io.Discard, nil)))
				if err != nil {
					return err
				}
				defer srv.Close()
				client := loadClient(conc)
				r, _, failed := throughput(ctx, conc, o.warm, o.window, func(ctx context.Context) error {
					n := seq.Add(1)
					req, err := stripeRequest(srv.URL, stripeEvent(fmt.Sprintf("evt_p1_%d", n), fmt.Sprintf("tx_p1_%d", n)))
					if err != nil {
						return err
					}
					resp, err := client.Do(req.WithContext(ctx))
					if err != nil {
						return err
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						return fmt.Errorf("status %d", resp.StatusCode)
					}
					return nil
				})
				if failed > 0 {
					return fmt.Errorf("intake at concurrency %d: %d requests failed", conc, failed)
				}
				hub = append(hub, r)
				return nil
			}
			measureBare := func() error {
				url, remove, err := c.plainQueue(ctx, "bench-p1-bare")
				if err != nil {
					return err
				}
				defer remove()
				// The same message the intake sends: the envelope of an event
				// of the same size, with the same attributes.
				e := envelope.Envelope{Version: envelope.Version, Provider: envelope.ProviderStripe, EventKey: "evt_p1_bare", EventType: "payment_intent.succeeded",
					TransactionID: "tx_p1_bare", ReceivedAt: time.Now().UTC(), Payload: stripeEvent("evt_p1_bare", "tx_p1_bare")}
				body, err := envelope.Encode(e)
				if err != nil {
					return err
				}
				in := &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(string(body)), MessageAttributes: sqsqueue.Attributes(e)}
				r, _, failed := throughput(ctx, conc, o.warm, o.window, func(ctx context.Context) error {
					_, err := c.sqs.SendMessage(ctx, in)
					return err
				})
				if failed > 0 {
					return fmt.Errorf("bare SendMessage at concurrency %d: %d calls failed", conc, failed)
				}
				bare = append(bare, r)
				return nil
			}
			first, second := measureHub, measureBare
			if run%2 == 1 {
				first, second = measureBare, measureHub
			}
			if err := first(); err != nil {
				return s, err
			}
			if err := second(); err != nil {
				return s, err
			}
			logf("P1 concurrency %d run %d: intake %.0f/s, bare %.0f/s", conc, run+1, hub[len(hub)-1], bare[len(bare)-1])
		}
		mh, mb := median(hub), median(bare)
		s.add(fmt.Sprintf("intake, concurrency %d", conc), fmt.Sprintf("%.0f webhooks/s", mh),
			fmt.Sprintf("POST /webhooks/stripe over HTTP (httptest server, keep-alive client): Stripe-Signature check, parse, envelope, SendMessage; runs %s", runsOf(hub, "%.0f")))
		s.add(fmt.Sprintf("bare SendMessage, concurrency %d", conc), fmt.Sprintf("%.0f messages/s", mb),
			fmt.Sprintf("SendMessage of the same envelope and attributes, same client settings; runs %s", runsOf(bare, "%.0f")))
		s.add(fmt.Sprintf("ratio, concurrency %d", conc), fmt.Sprintf("%.2f", mh/mb), "median intake / median bare")
	}
	return s, nil
}
