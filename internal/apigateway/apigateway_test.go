package apigateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payments-hub/hub/internal/apigateway"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/intake/intaketest"
	"github.com/payments-hub/hub/internal/stripewebhook"
)

// The fixtures were signed with these secrets at this time.
const (
	stripeSecret   = "whsec_fixture_secret"
	monetbilSecret = "monetbil_fixture_secret"
)

var fixtureTime = time.Unix(1764000000, 0).Add(30 * time.Second)

func loadEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

func newService(t *testing.T, q intake.Queue, logs *bytes.Buffer) *intake.Service {
	t.Helper()
	v, err := stripewebhook.NewVerifier([]string{stripeSecret}, 0)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := intake.New(intake.Config{
		Stripe:         v.WithClock(func() time.Time { return fixtureTime }),
		MonetbilSecret: monetbilSecret,
		Queue:          q,
		Logger:         slog.New(slog.NewJSONHandler(logs, nil)),
		Now:            func() time.Time { return fixtureTime },
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestHandlerWithRealEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture    string
		status     int
		body       string // substring of the answer
		enqueued   bool
		provider   string
		eventKey   string
		eventType  string
		txID       string
		headerWant map[string]string
	}{
		{"stripe-payment-intent-succeeded.json", 200, `"event_id":"evt_3QfixtureAbC"`, true, "stripe", "evt_3QfixtureAbC", "payment_intent.succeeded", "tx_fixture_1", map[string]string{"Content-Type": "application/json"}},
		{"stripe-payment-intent-succeeded-base64.json", 200, `"received":true`, true, "stripe", "evt_3QfixtureAbC", "payment_intent.succeeded", "tx_fixture_1", nil},
		{"stripe-tampered.json", 400, `"reason":"signature_mismatch"`, false, "", "", "", "", nil},
		{"stripe-unsigned.json", 400, `"reason":"missing_signature"`, false, "", "", "", "", nil},
		{"monetbil-notification-base64.json", 200, "received", true, "monetbil", "MBfixture001:success", "payment.success", "tx_fixture_2", nil},
		{"monetbil-bad-sign.json", 403, "signature_mismatch", false, "", "", "", "", nil},
		{"unknown-route.json", 404, "not_found", false, "", "", "", "", nil},
		{"wrong-method.json", 405, "method_not_allowed", false, "", "", "", "", map[string]string{"Allow": "POST"}},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			t.Parallel()
			q := &intaketest.Queue{}
			var logs bytes.Buffer
			ev := loadEvent(t, tc.fixture)
			resp, err := apigateway.Handler(newService(t, q, &logs))(context.Background(), ev)
			if err != nil {
				t.Fatalf("handler error: %v", err)
			}
			if resp.StatusCode != tc.status || !strings.Contains(resp.Body, tc.body) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, resp.Body, tc.status, tc.body)
			}
			for k, v := range tc.headerWant {
				if !strings.HasPrefix(resp.Headers[k], v) {
					t.Errorf("header %s = %q, want %q", k, resp.Headers[k], v)
				}
			}
			sent := q.Sent()
			if !tc.enqueued {
				if len(sent) != 0 {
					t.Fatalf("enqueued %d envelopes for a refused request", len(sent))
				}
				return
			}
			if len(sent) != 1 {
				t.Fatalf("enqueued %d envelopes, want 1", len(sent))
			}
			raw := ev.Body
			if ev.IsBase64Encoded {
				b, _ := base64.StdEncoding.DecodeString(ev.Body)
				raw = string(b)
			}
			e := sent[0]
			if e.Payload != raw {
				t.Errorf("payload is not the body as sent:\n got %q\nwant %q", e.Payload, raw)
			}
			if e.Provider != tc.provider || e.EventKey != tc.eventKey || e.EventType != tc.eventType || e.TransactionID != tc.txID || e.Version != 1 || !e.ReceivedAt.Equal(fixtureTime) {
				t.Errorf("envelope = %+v", e)
			}
		})
	}
}

func TestHandlerAnswers503WhenTheQueueRefuses(t *testing.T) {
	t.Parallel()
	q := &intaketest.Queue{Err: errors.New("connection refused")}
	var logs bytes.Buffer
	for _, fixture := range []string{"stripe-payment-intent-succeeded.json", "monetbil-notification-base64.json"} {
		resp, err := apigateway.Handler(newService(t, q, &logs))(context.Background(), loadEvent(t, fixture))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 503 {
			t.Fatalf("%s: status %d, want 503", fixture, resp.StatusCode)
		}
	}
	if !strings.Contains(logs.String(), "connection refused") || !strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Fatalf("the 503 is not logged with its cause: %s", logs.String())
	}
}

func TestHandlerRefusesOversizedBase64Body(t *testing.T) {
	t.Parallel()
	ev := loadEvent(t, "stripe-payment-intent-succeeded.json")
	ev.Body = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("a"), intake.MaxBodyBytes+1))
	ev.IsBase64Encoded = true
	q := &intaketest.Queue{}
	var logs bytes.Buffer
	resp, _ := apigateway.Handler(newService(t, q, &logs))(context.Background(), ev)
	if resp.StatusCode != 413 || len(q.Sent()) != 0 {
		t.Fatalf("status %d, %d enqueued; want 413 and nothing queued", resp.StatusCode, len(q.Sent()))
	}
}

func TestLogsCarryNoSecretSignatureOrPhoneNumber(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	q := &intaketest.Queue{}
	h := apigateway.Handler(newService(t, q, &logs))
	var sigs []string
	for _, fixture := range []string{"stripe-payment-intent-succeeded.json", "stripe-tampered.json", "monetbil-notification-base64.json", "monetbil-bad-sign.json"} {
		ev := loadEvent(t, fixture)
		if s := ev.Headers["stripe-signature"]; s != "" {
			sigs = append(sigs, strings.Split(s, "v1=")[1])
		}
		if _, err := h(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	out := logs.String()
	for _, secret := range append(sigs, stripeSecret, monetbilSecret, "237670000001", "b5a42267") {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	// One line per request, each with provider, key, outcome and latency.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d log lines for 4 requests:\n%s", len(lines), out)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"provider", "event_id", "outcome", "latency_ms", "status", "transaction_id"} {
		if _, ok := first[k]; !ok {
			t.Errorf("log line lacks %s: %s", k, lines[0])
		}
	}
	if !strings.Contains(out, `"msisdn":"237*******01"`) {
		t.Errorf("the Monetbil line does not carry the masked msisdn:\n%s", out)
	}
}
