package stripewebhook_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/payments-hub/hub/internal/stripewebhook"
)

const (
	secret    = "whsec_test_current"
	oldSecret = "whsec_test_previous"
	payload   = `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1764000000,"livemode":false,"data":{"object":{"id":"pi_1","object":"payment_intent","amount":1500,"currency":"eur","metadata":{"transaction_id":"tx_42"}}}}`
)

var now = time.Unix(1764000000, 0)

func sign(t *testing.T, body, secret string, at time.Time) string {
	t.Helper()
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret, Timestamp: at}).Header
}

func verifier(t *testing.T, secrets ...string) *stripewebhook.Verifier {
	t.Helper()
	v, err := stripewebhook.NewVerifier(secrets, 0)
	if err != nil {
		t.Fatal(err)
	}
	return v.WithClock(func() time.Time { return now })
}

func TestVerify(t *testing.T) {
	t.Parallel()
	rolled := sign(t, payload, oldSecret, now)
	rolled += ",v1=" + strings.TrimPrefix(strings.Split(sign(t, payload, secret, now), ",")[1], "v1=")

	tests := []struct {
		name    string
		secrets []string
		body    string
		header  string
		want    stripewebhook.Reason // "" means accepted
	}{
		{"valid", []string{secret}, payload, sign(t, payload, secret, now), ""},
		{"valid at the edge of the window", []string{secret}, payload, sign(t, payload, secret, now.Add(-300*time.Second)), ""},
		{"tampered body", []string{secret}, strings.Replace(payload, "1500", "9999", 1), sign(t, payload, secret, now), stripewebhook.ReasonBadSignature},
		{"wrong secret", []string{"whsec_other"}, payload, sign(t, payload, secret, now), stripewebhook.ReasonBadSignature},
		{"rolled: old secret configured second", []string{"whsec_new_unused", secret}, payload, sign(t, payload, secret, now), ""},
		{"rolled: header carries two v1", []string{secret}, payload, rolled, ""},
		{"rolled: header carries two v1, old secret only", []string{oldSecret}, payload, rolled, ""},
		{"old timestamp", []string{secret}, payload, sign(t, payload, secret, now.Add(-301*time.Second)), stripewebhook.ReasonTooOld},
		{"future timestamp", []string{secret}, payload, sign(t, payload, secret, now.Add(301*time.Second)), stripewebhook.ReasonInFuture},
		{"missing header", []string{secret}, payload, "", stripewebhook.ReasonMissingSignature},
		{"garbage header", []string{secret}, payload, "garbage", stripewebhook.ReasonInvalidHeader},
		{"no timestamp", []string{secret}, payload, "v1=abcdef", stripewebhook.ReasonInvalidHeader},
		{"two timestamps", []string{secret}, payload, fmt.Sprintf("t=%d,t=%d,v1=00", now.Unix(), now.Unix()), stripewebhook.ReasonInvalidHeader},
		{"non-numeric timestamp", []string{secret}, payload, "t=yesterday,v1=00", stripewebhook.ReasonInvalidHeader},
		{"no v1 signature", []string{secret}, payload, fmt.Sprintf("t=%d,v0=abc", now.Unix()), stripewebhook.ReasonBadSignature},
		{"non-hex v1", []string{secret}, payload, fmt.Sprintf("t=%d,v1=zz", now.Unix()), stripewebhook.ReasonBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := verifier(t, tc.secrets...).Verify([]byte(tc.body), tc.header)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v, want accepted", err)
				}
				return
			}
			var se *stripewebhook.Error
			if !errors.As(err, &se) {
				t.Fatalf("Verify: %v, want *stripewebhook.Error with reason %s", err, tc.want)
			}
			if se.Reason != tc.want {
				t.Fatalf("reason = %s, want %s (%v)", se.Reason, tc.want, err)
			}
		})
	}
}

func TestNewVerifierRefusesEmptySecrets(t *testing.T) {
	t.Parallel()
	for _, secrets := range [][]string{nil, {""}, {"whsec_a", " "}} {
		if _, err := stripewebhook.NewVerifier(secrets, 0); err == nil {
			t.Errorf("NewVerifier(%q) accepted", secrets)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	ev, err := stripewebhook.Parse([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	want := stripewebhook.Event{ID: "evt_1", Type: "payment_intent.succeeded", Created: now.UTC(),
		Object: stripewebhook.Object{ID: "pi_1", Object: "payment_intent", TransactionID: "tx_42", PaymentIntent: "pi_1", Amount: 1500, Currency: "eur"}}
	if ev != want {
		t.Fatalf("Parse = %+v\nwant %+v", ev, want)
	}

	session := `{"id":"evt_2","object":"event","type":"checkout.session.completed","created":1,"livemode":true,"data":{"object":{"id":"cs_1","object":"checkout.session","client_reference_id":"tx_7","amount_total":200,"payment_status":"paid"}}}`
	ev, err = stripewebhook.Parse([]byte(session))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Object.TransactionID != "tx_7" || ev.Object.Amount != 200 || !ev.Livemode || ev.Object.PaymentStatus != "paid" {
		t.Fatalf("client_reference_id session parsed as %+v", ev)
	}

	for _, bad := range []string{``, `[]`, `{"object":"charge","id":"ch_1","type":"x"}`, `{"object":"event","id":"1","type":"x"}`, `{"object":"event","id":"evt_1"}`, `{"object":"event","id":"evt_1","type":"x","data":"no"}`} {
		_, err := stripewebhook.Parse([]byte(bad))
		var se *stripewebhook.Error
		if !errors.As(err, &se) || se.Reason != stripewebhook.ReasonNotAnEvent {
			t.Errorf("Parse(%q) = %v, want not_a_stripe_event", bad, err)
		}
	}
}

// FuzzVerify checks that no header or body makes Verify panic, that only a
// correctly signed body is accepted, and that a correctly signed body always
// is.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(payload), fmt.Sprintf("t=%d,v1=00", now.Unix()))
	f.Add([]byte("{}"), "t=1,v1=zz,v0=1")
	f.Add([]byte(""), ",,,=")
	f.Add([]byte("x"), "t=-5,v1=")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		v := verifier(t, secret)
		if err := v.Verify(body, header); err == nil {
			// Only a header carrying the body's HMAC at the header's own
			// timestamp may pass (hex in any case).
			ts, terr := stripewebhook.Timestamp(header)
			if terr != nil {
				t.Fatalf("accepted header %q whose timestamp does not parse: %v", header, terr)
			}
			want := hex.EncodeToString(webhook.ComputeSignature(ts, body, secret))
			if !strings.Contains(strings.ToLower(header), want) {
				t.Fatalf("accepted header %q without the body's signature", header)
			}
		}
		if err := v.Verify(body, sign(t, string(body), secret, now)); err != nil {
			t.Fatalf("correctly signed body refused: %v", err)
		}
	})
}
