// Package webhooktest builds realistic, correctly signed Stripe events and
// Monetbil notifications, as the providers send them, for `hubctl send`, the
// local run and the tests. Stripe payloads are signed with stripe-go's own
// test signer.
package webhooktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/payments-hub/hub/internal/monetbil"
)

// StaleBy is how old --stale makes a signature: past Stripe's 300 s window.
const StaleBy = 10 * time.Minute

// Stripe describes a Stripe event to build.
type Stripe struct {
	Type          string // e.g. payment_intent.succeeded
	TransactionID string // metadata.transaction_id (client_reference_id for Checkout)
	Amount        int64  // minor units; default 2500
	Currency      string // default eur
	Secret        string // the endpoint's whsec_ secret
	// Stale signs with a timestamp older than Stripe's tolerance.
	Stale bool
	// BadSignature corrupts the signature.
	BadSignature bool
	Now          time.Time
}

// StripeEvent is a built and signed event.
type StripeEvent struct {
	ID     string
	Body   []byte
	Header string // the Stripe-Signature header
}

// BuildStripe returns a signed event of o.Type whose data.object looks like
// what Stripe sends for that type.
func BuildStripe(o Stripe) (StripeEvent, error) {
	if !strings.Contains(o.Type, ".") {
		return StripeEvent{}, fmt.Errorf("event type %q: want a Stripe type such as payment_intent.succeeded", o.Type)
	}
	if o.Secret == "" {
		return StripeEvent{}, fmt.Errorf("no signing secret: set STRIPE_WEBHOOK_SECRET")
	}
	if o.Amount == 0 {
		o.Amount = 2500
	}
	if o.Currency == "" {
		o.Currency = "eur"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	id := "evt_" + random(12)
	object := stripeObject(o)
	event := map[string]any{
		"id": id, "object": "event", "api_version": "2025-10-29.clover", "created": o.Now.Unix(),
		"data": map[string]any{"object": object}, "livemode": false, "pending_webhooks": 1,
		"request": map[string]any{"id": "req_" + random(7), "idempotency_key": nil}, "type": o.Type,
	}
	body, err := json.MarshalIndent(event, "", "  ")
	if err != nil {
		return StripeEvent{}, err
	}
	at := o.Now
	if o.Stale {
		at = at.Add(-StaleBy)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: o.Secret, Timestamp: at})
	header := signed.Header
	if o.BadSignature {
		// Flip the last hex digit: same shape, wrong HMAC.
		last := header[len(header)-1]
		flipped := byte('0')
		if last == '0' {
			flipped = '1'
		}
		header = header[:len(header)-1] + string(flipped)
	}
	return StripeEvent{ID: id, Body: body, Header: header}, nil
}

// SignStripe signs any body as Stripe would, now, and returns the
// Stripe-Signature header.
func SignStripe(body []byte, secret string) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: time.Now()}).Header
}

func stripeObject(o Stripe) map[string]any {
	meta := map[string]any{}
	if o.TransactionID != "" {
		meta["transaction_id"] = o.TransactionID
	}
	kind, action, _ := strings.Cut(o.Type, ".")
	switch kind {
	case "charge":
		refunded := action == "refunded"
		obj := map[string]any{"id": "ch_" + random(12), "object": "charge", "amount": o.Amount, "currency": o.Currency,
			"payment_intent": "pi_" + random(12), "metadata": meta, "paid": true, "status": "succeeded"}
		if refunded {
			obj["amount_refunded"], obj["refunded"] = o.Amount, true
		}
		return obj
	case "checkout":
		status := map[string]string{"session.completed": "paid", "session.async_payment_succeeded": "paid", "session.async_payment_failed": "unpaid", "session.expired": "unpaid"}[action]
		if status == "" {
			status = "unpaid"
		}
		return map[string]any{"id": "cs_test_" + random(16), "object": "checkout.session", "amount_total": o.Amount, "currency": o.Currency,
			"client_reference_id": o.TransactionID, "metadata": meta, "mode": "payment", "payment_status": status, "payment_intent": "pi_" + random(12)}
	default:
		status := map[string]string{"succeeded": "succeeded", "payment_failed": "requires_payment_method", "canceled": "canceled", "processing": "processing"}[action]
		obj := map[string]any{"id": "pi_" + random(12), "object": "payment_intent", "amount": o.Amount, "amount_received": 0,
			"currency": o.Currency, "metadata": meta, "status": status}
		if action == "succeeded" {
			obj["amount_received"] = o.Amount
		}
		if action == "payment_failed" {
			obj["last_payment_error"] = map[string]any{"code": "card_declined", "message": "Your card was declined."}
		}
		return obj
	}
}

// Monetbil describes a Monetbil notification to build.
type Monetbil struct {
	TransactionID string // the hub's transaction id (payment_ref)
	Status        string // success, failed or cancelled
	PaymentID     string // Monetbil's transaction_id; default random
	Amount        int64  // default 500
	Currency      string // default XAF
	Secret        string // the service secret
	BadSignature  bool
}

// BuildMonetbil returns the form Monetbil posts, signed.
func BuildMonetbil(o Monetbil) (url.Values, error) {
	switch o.Status {
	case "success", "failed", "cancelled":
	default:
		return nil, fmt.Errorf("status %q: want success, failed or cancelled", o.Status)
	}
	if o.Secret == "" {
		return nil, fmt.Errorf("no service secret: set MONETBIL_SERVICE_SECRET")
	}
	if o.PaymentID == "" {
		o.PaymentID = "MB" + strings.ToUpper(random(10))
	}
	if o.Amount == 0 {
		o.Amount = 500
	}
	if o.Currency == "" {
		o.Currency = "XAF"
	}
	messages := map[string]string{"success": "Payment successful", "failed": "Payment failed", "cancelled": "Payment cancelled"}
	form := url.Values{
		"service": {"local-dev-service"}, "transaction_id": {o.PaymentID}, "transaction_uuid": {uuid()},
		"msisdn": {"237670000000"}, "amount": {strconv.FormatInt(o.Amount, 10)}, "fee": {"0"}, "status": {o.Status},
		"message": {messages[o.Status]}, "country_name": {"Cameroon"}, "country_iso": {"CM"}, "country_code": {"237"},
		"mccmnc": {"62401"}, "mobile_operator_name": {"MTN"}, "currency": {o.Currency}, "user": {"local-dev"},
		"item_ref": {"order-" + random(4)}, "payment_ref": {o.TransactionID}, "first_name": {"Ada"}, "last_name": {"Lovelace"},
		"email": {"ada@example.com"},
	}
	form.Set("sign", monetbil.Sign(o.Secret, form))
	if o.BadSignature {
		form.Set("sign", strings.Repeat("0", 32))
	}
	return form, nil
}

// Response is a provider's view of one delivery.
type Response struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// Post delivers a webhook and returns the answer.
func Post(ctx context.Context, client *http.Client, target, contentType string, body []byte, header http.Header) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return Response{}, err
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("post %s: %w", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Response{}, fmt.Errorf("read the answer of %s: %w", target, err)
	}
	return Response{Status: resp.StatusCode, Body: string(b)}, nil
}

func random(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
