package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-mock/embedded"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/intake/intaketest"
	"github.com/payments-hub/hub/internal/jobs"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/processing"
	"github.com/payments-hub/hub/internal/retry"
	"github.com/payments-hub/hub/internal/store"
	"github.com/payments-hub/hub/internal/store/memstore"
	"github.com/payments-hub/hub/internal/stripewebhook"
	"github.com/payments-hub/hub/internal/transaction"
	"github.com/payments-hub/hub/internal/webhooktest"
)

const (
	stripeSecret   = "whsec_jobs_test"
	monetbilSecret = "mb_jobs_test"
)

// checkPayment answers like Monetbil's checkPayment with the transaction
// object set for each payment id.
type checkPayment struct {
	mu      sync.Mutex
	answers map[string]map[string]any
}

func (c *checkPayment) set(paymentID string, fields map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answers[paymentID] = fields
}

func (c *checkPayment) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	c.mu.Lock()
	fields, ok := c.answers[r.PostForm.Get("paymentId")]
	c.mu.Unlock()
	if !ok {
		http.Error(w, `{"error":"unknown payment"}`, http.StatusNotFound)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"transaction": fields})
}

// rig is the hub in one process: the real intake, the real processor and
// jobs, a real checkPayment client against a stand-in server, and the
// in-memory store.
type rig struct {
	t        *testing.T
	store    *memstore.Store
	queue    *intaketest.Queue
	intake   *intake.Service
	proc     *processing.Processor
	monetbil *checkPayment
	logs     *bytes.Buffer
	mu       sync.Mutex
	now      time.Time
}

type rigOptions struct {
	live            bool
	requireExpected bool
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	r := &rig{t: t, store: memstore.New(0), queue: &intaketest.Queue{}, monetbil: &checkPayment{answers: map[string]map[string]any{}},
		logs: &bytes.Buffer{}, now: time.Now().UTC()}
	srv := httptest.NewServer(r.monetbil)
	t.Cleanup(srv.Close)
	client, err := monetbil.NewClient(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	v, err := stripewebhook.NewVerifier([]string{stripeSecret}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.intake, err = intake.New(intake.Config{Stripe: v, MonetbilSecret: monetbilSecret, Queue: r.queue, Now: r.clock}); err != nil {
		t.Fatal(err)
	}
	mode := jobs.StripeTest
	if o.live {
		mode = jobs.StripeLive
	}
	r.proc, err = processing.New(processing.Config{
		Store: r.store, Visibility: noVisibility{}, Policy: retry.Default(), RequireExpected: o.requireExpected, Now: r.clock,
		Jobs: map[string]processing.Job{
			"stripe":   jobs.Stripe{Mode: mode, Finder: r.store},
			"monetbil": jobs.Monetbil{Checker: client},
		},
		Logger: slog.New(slog.NewJSONHandler(&lockedWriter{mu: &r.mu, w: r.logs}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) clock() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now }
func (r *rig) tick(d time.Duration) {
	r.mu.Lock()
	r.now = r.now.Add(d)
	r.mu.Unlock()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type noVisibility struct{}

func (noVisibility) ChangeVisibility(context.Context, string, time.Duration) error { return nil }

// deliver posts a webhook to the intake and, when it is accepted, processes
// what was queued; it returns the intake's status and the processing result.
func (r *rig) deliver(path string, body []byte, header http.Header) (int, processing.Result) {
	r.t.Helper()
	before := len(r.queue.Sent())
	resp := r.intake.Handle(context.Background(), intake.Request{Method: http.MethodPost, Path: path, Header: header, Body: body})
	sent := r.queue.Sent()
	if len(sent) == before {
		return resp.Status, processing.Result{}
	}
	body, err := envelope.Encode(sent[len(sent)-1])
	if err != nil {
		r.t.Fatal(err)
	}
	m := processing.Message{ID: fmt.Sprintf("m%d", len(sent)), ReceiptHandle: "rh", Attempt: 1, Body: body}
	return resp.Status, r.proc.Process(context.Background(), m, time.Time{})
}

func (r *rig) monetbilForm(form url.Values) (int, processing.Result) {
	r.t.Helper()
	return r.deliver(intake.PathMonetbil, []byte(form.Encode()), nil)
}

func (r *rig) transaction(id string) (transaction.Transaction, bool) {
	tx, err := r.store.Transaction(context.Background(), id)
	return tx, err == nil
}

func (r *rig) event(provider, key string) store.EventRecord {
	rec, _ := r.store.Event(context.Background(), provider, key)
	return rec
}

func (r *rig) logLines(msg string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// genuine is a signed notification as Monetbil sends it.
func genuine(t *testing.T, txID, paymentID, status string, amount int64) url.Values {
	t.Helper()
	form, err := webhooktest.BuildMonetbil(webhooktest.Monetbil{TransactionID: txID, PaymentID: paymentID, Status: status, Amount: amount, Secret: monetbilSecret})
	if err != nil {
		t.Fatal(err)
	}
	return form
}

// stripeFixture returns data.object of Stripe's own fixture of a resource
// (stripe-mock's fixtures3.json), so that tests see the fields, and the
// nulls, real events carry.
func stripeFixture(t *testing.T, resource string) map[string]any {
	t.Helper()
	var fixtures struct {
		Resources map[string]map[string]any `json:"resources"`
	}
	if err := json.Unmarshal(embedded.OpenAPIFixtures, &fixtures); err != nil {
		t.Fatal(err)
	}
	obj, ok := fixtures.Resources[resource]
	if !ok {
		t.Fatalf("no fixture for %s", resource)
	}
	return obj
}

// stripeEvent wraps object in a signed event of type typ.
func stripeEvent(t *testing.T, id, typ string, created time.Time, livemode bool, object map[string]any) ([]byte, http.Header) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "created": created.Unix(), "livemode": livemode,
		"api_version": "2025-10-29.clover", "pending_webhooks": 1, "data": map[string]any{"object": object}})
	if err != nil {
		t.Fatal(err)
	}
	return body, http.Header{"Stripe-Signature": {webhooktest.SignStripe(body, stripeSecret)}}
}
