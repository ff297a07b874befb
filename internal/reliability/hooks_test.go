package reliability_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/stripewebhook"
)

// Webhooks as the providers send them.

// hook is one provider event: what is posted, and what it must become.
type hook struct {
	provider  string
	eventKey  string
	txID      string
	paymentID string // Monetbil's transaction_id, asked about with checkPayment
	body      string
}

// stripeHook is a payment_intent.succeeded event for its own transaction.
func stripeHook(prefix string, i int) hook {
	id := fmt.Sprintf("evt_%s_%d", prefix, i)
	tx := fmt.Sprintf("tx_%s_s%d", prefix, i)
	body := fmt.Sprintf(`{"id":%q,"object":"event","type":"payment_intent.succeeded","created":%d,"livemode":false,`+
		`"data":{"object":{"id":"pi_%s_%d","object":"payment_intent","amount":%d,"currency":"eur","metadata":{"transaction_id":%q}}}}`,
		id, time.Now().Unix(), prefix, i, 1000+i, tx)
	return hook{provider: envelope.ProviderStripe, eventKey: id, txID: tx, body: body}
}

// monetbilHook is a success notification for its own transaction.
func monetbilHook(prefix string, i int) hook {
	pay := fmt.Sprintf("MB-%s-%d", prefix, i)
	tx := fmt.Sprintf("tx_%s_m%d", prefix, i)
	form := url.Values{
		"service": {"svc_reliability"}, "transaction_id": {pay}, "msisdn": {"237670000001"}, "amount": {strconv.Itoa(500 + i)},
		"status": {"success"}, "payment_ref": {tx}, "currency": {"XAF"},
	}
	form.Set("sign", monetbil.Sign(monetbilSecret, form))
	return hook{provider: envelope.ProviderMonetbil, eventKey: pay + ":success", txID: tx, paymentID: pay, body: form.Encode()}
}

// mixedHooks returns n events, one in four from Monetbil, each confirmed by
// checker (nil: no Monetbil events).
func mixedHooks(prefix string, n int, checker *hubtest.Monetbil) []hook {
	hooks := make([]hook, n)
	for i := range hooks {
		if checker != nil && i%4 == 3 {
			hooks[i] = monetbilHook(prefix, i)
			checker.Set(hooks[i].paymentID, 1, 0, 0)
		} else {
			hooks[i] = stripeHook(prefix, i)
		}
	}
	return hooks
}

// request builds the provider's POST. A Stripe retry carries a fresh
// signature, as Stripe's do.
func (h hook) request(base string) (*http.Request, error) {
	switch h.provider {
	case envelope.ProviderStripe:
		req, err := http.NewRequest(http.MethodPost, base+intake.PathStripe, strings.NewReader(h.body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(h.body), Secret: stripeSecret}).Header)
		return req, nil
	default:
		req, err := http.NewRequest(http.MethodPost, base+intake.PathMonetbil, strings.NewReader(h.body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req, nil
	}
}

// envelope is what the intake would queue for h.
func (h hook) envelope() envelope.Envelope {
	typ := "payment_intent.succeeded"
	if h.provider == envelope.ProviderMonetbil {
		typ = "payment.success"
	}
	return envelope.Envelope{Version: envelope.Version, Provider: h.provider, EventKey: h.eventKey, EventType: typ, TransactionID: h.txID, ReceivedAt: time.Now().UTC(), Payload: h.body}
}

// post sends every hook at the given concurrency and returns each answer's
// status (0 when no answer came).
func post(t testing.TB, client *http.Client, base string, hooks []hook, concurrency int) []int {
	t.Helper()
	status := make([]int, len(hooks))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(concurrency, len(hooks)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(hooks) {
					return
				}
				req, err := hooks[i].request(base)
				if err != nil {
					continue
				}
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				status[i] = resp.StatusCode
			}
		})
	}
	wg.Wait()
	return status
}

// httpClient keeps enough idle connections for the concurrency used here.
func httpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// newIntake serves the intake over HTTP, enqueueing into q.
func newIntake(t testing.TB, q intake.Queue) *httptest.Server {
	t.Helper()
	v, err := stripewebhook.NewVerifier([]string{stripeSecret}, 0)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := intake.New(intake.Config{Stripe: v, MonetbilSecret: monetbilSecret, Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	return srv
}

// enqueue puts the hooks' envelopes on the queue directly, as the intake
// would, at a concurrency of 16.
func enqueue(t testing.TB, pub enqueuer, hooks []hook) {
	t.Helper()
	errs := make(chan error, len(hooks))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(16, len(hooks)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(hooks) {
					return
				}
				if _, err := pub.Enqueue(context.Background(), hooks[i].envelope()); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("enqueue: %v", err)
	}
}

// enqueuer is the part of sqsqueue.Publisher the tests use.
type enqueuer interface {
	Enqueue(ctx context.Context, e envelope.Envelope) (string, error)
}
