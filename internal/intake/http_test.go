package intake_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/intake/intaketest"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/stripewebhook"
)

const (
	stripeSecret   = "whsec_http_test"
	monetbilSecret = "mb_http_test"
)

func server(t *testing.T, q *intaketest.Queue) *httptest.Server {
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

func post(t *testing.T, url, contentType string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHTTPHandler(t *testing.T) {
	t.Parallel()
	q := &intaketest.Queue{}
	srv := server(t, q)

	event := []byte(`{"id":"evt_http_1","object":"event","type":"charge.refunded","created":1,"data":{"object":{"id":"ch_1","metadata":{"transaction_id":"tx_9"}}}}`)
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: event, Secret: stripeSecret, Timestamp: time.Now()}).Header
	if code, body := post(t, srv.URL+intake.PathStripe, "application/json", event, map[string]string{"Stripe-Signature": sig}); code != 200 || !strings.Contains(body, "evt_http_1") {
		t.Fatalf("signed Stripe event: %d %s", code, body)
	}
	notStripe := []byte(`{"hello":"world"}`)
	sig = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: notStripe, Secret: stripeSecret, Timestamp: time.Now()}).Header
	if code, body := post(t, srv.URL+intake.PathStripe, "application/json", notStripe, map[string]string{"Stripe-Signature": sig}); code != 400 || !strings.Contains(body, "not_a_stripe_event") {
		t.Fatalf("signed non-event: %d %s", code, body)
	}

	form := url.Values{"transaction_id": {"MB9"}, "status": {"failed"}, "payment_ref": {"tx_9"}}
	form.Set("sign", monetbil.Sign(monetbilSecret, form))
	if code, body := post(t, srv.URL+intake.PathMonetbil, "application/x-www-form-urlencoded", []byte(form.Encode()), nil); code != 200 || body != "received" {
		t.Fatalf("signed Monetbil form: %d %q", code, body)
	}
	noTx := url.Values{"status": {"failed"}}
	noTx.Set("sign", monetbil.Sign(monetbilSecret, noTx))
	if code, body := post(t, srv.URL+intake.PathMonetbil, "application/x-www-form-urlencoded", []byte(noTx.Encode()), nil); code != 400 || body != "missing_transaction_id" {
		t.Fatalf("Monetbil form without transaction_id: %d %q", code, body)
	}
	if code, _ := post(t, srv.URL+intake.PathMonetbil, "application/x-www-form-urlencoded", []byte("a=%zz"), nil); code != 400 {
		t.Fatalf("unparseable Monetbil form: %d, want 400", code)
	}
	if code, _ := post(t, srv.URL+intake.PathMonetbil, "application/x-www-form-urlencoded", []byte("transaction_id=MB1&status=success"), nil); code != 403 {
		t.Fatalf("unsigned Monetbil form: %d, want 403", code)
	}

	big := bytes.Repeat([]byte("x"), intake.MaxBodyBytes+1)
	for _, path := range []string{intake.PathStripe, intake.PathMonetbil} {
		if code, _ := post(t, srv.URL+path, "application/json", big, nil); code != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s with %d bytes: %d, want 413", path, len(big), code)
		}
	}
	if code, _ := post(t, srv.URL+"/webhooks", "application/json", nil, nil); code != 404 {
		t.Fatalf("unknown route: %d, want 404", code)
	}
	resp, err := http.Get(srv.URL + intake.PathMonetbil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Fatalf("GET: %d Allow=%q, want 405 Allow=POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if n := len(q.Sent()); n != 2 {
		t.Fatalf("%d envelopes queued, want exactly the 2 accepted ones", n)
	}
}
