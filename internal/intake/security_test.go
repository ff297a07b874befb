package intake_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/intake/intaketest"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/stripewebhook"
	"github.com/payments-hub/hub/internal/webhooktest"
)

// logged builds a service that logs to buf.
func logged(t *testing.T, q *intaketest.Queue, buf *bytes.Buffer) *intake.Service {
	t.Helper()
	v, err := stripewebhook.NewVerifier([]string{stripeSecret}, 0)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := intake.New(intake.Config{Stripe: v, MonetbilSecret: monetbilSecret, Queue: q, Logger: slog.New(slog.NewJSONHandler(buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestJunkMakesOneShortLogLine: strings an outsider chose (field names,
// header values, ids) are cut before they reach a log line, so a 1 MB body
// of junk is one short line, not a 1 MB one.
func TestJunkMakesOneShortLogLine(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("A", 1<<20-100)
	requests := []intake.Request{
		{Method: http.MethodPost, Path: intake.PathMonetbil, Body: []byte(huge + "=1&" + huge[:10] + "=2&" + huge + "=3")},
		{Method: http.MethodPost, Path: intake.PathStripe, Header: http.Header{"Stripe-Signature": {"t=" + huge[:8000] + ",v1=00"}}, Body: []byte(`{}`)},
	}
	body := []byte(`{"id":"evt_` + huge + `","object":"event","type":"x"}`)
	ev := webhooktest.SignStripe(body, stripeSecret)
	requests = append(requests, intake.Request{Method: http.MethodPost, Path: intake.PathStripe, Header: http.Header{"Stripe-Signature": {ev}}, Body: body})
	objectJunk := []byte(`{"id":"evt_1","object":"` + huge + `","type":"x"}`)
	requests = append(requests, intake.Request{Method: http.MethodPost, Path: intake.PathStripe, Header: http.Header{"Stripe-Signature": {webhooktest.SignStripe(objectJunk, stripeSecret)}}, Body: objectJunk})
	for i, req := range requests {
		var buf bytes.Buffer
		q := &intaketest.Queue{}
		resp := logged(t, q, &buf).Handle(context.Background(), req)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 1 || len(lines[0]) > 2048 {
			t.Errorf("request %d (answer %d): %d log lines, the first %d bytes; want one line under 2 KB", i, resp.Status, len(lines), len(lines[0]))
		}
	}
}

// TestRejectionsAreCounted: every webhook line carries its metric: accepted
// by provider, rejected by provider and reason (a wrong secret shows as a
// provider's webhooks all rejected with signature_mismatch).
func TestRejectionsAreCounted(t *testing.T) {
	t.Parallel()
	form, err := webhooktest.BuildMonetbil(webhooktest.Monetbil{TransactionID: "tx_1", Status: "success", Secret: monetbilSecret})
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := webhooktest.BuildMonetbil(webhooktest.Monetbil{TransactionID: "tx_1", Status: "success", Secret: "another secret"})
	for _, tc := range []struct {
		body   string
		metric string
		reason string
	}{
		{form.Encode(), intake.MetricAccepted, ""},
		{bad.Encode(), intake.MetricRejected, "signature_mismatch"},
		{"transaction_id=1&transaction_id=2", intake.MetricRejected, "duplicate_field"},
	} {
		var buf bytes.Buffer
		logged(t, &intaketest.Queue{}, &buf).Handle(context.Background(), intake.Request{Method: http.MethodPost, Path: intake.PathMonetbil, Body: []byte(tc.body)})
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		aws, _ := line["_aws"].(map[string]any)
		if aws == nil || line[tc.metric] != 1.0 || line["provider"] != "monetbil" || (tc.reason != "" && line["reason"] != tc.reason) {
			t.Errorf("line %v: want %s=1 for monetbil (reason %q) in EMF", line, tc.metric, tc.reason)
		}
	}
}

// TestMonetbilLengthExtensionIsRefused: md5(secret || data) lets anyone who
// saw one signed notification append data and compute a valid sign. The
// appended bytes must start with md5's padding (0x80, zeros, the length),
// which is not UTF-8: the intake refuses the body before anything else.
func TestMonetbilLengthExtensionIsRefused(t *testing.T) {
	t.Parallel()
	genuine, err := webhooktest.BuildMonetbil(webhooktest.Monetbil{TransactionID: "tx_21", PaymentID: "MB1", Status: "success", Secret: monetbilSecret})
	if err != nil {
		t.Fatal(err)
	}
	forged := extend(t, genuine, len(monetbilSecret), "zz", "tx_2")
	// The attack is real against the signature alone...
	if err := monetbil.Verify(monetbilSecret, forged); err != nil {
		t.Fatalf("the length extension does not verify, so this test proves nothing: %v", err)
	}
	// ...and refused by the intake.
	q := &intaketest.Queue{}
	var buf bytes.Buffer
	resp := logged(t, q, &buf).Handle(context.Background(), intake.Request{Method: http.MethodPost, Path: intake.PathMonetbil, Body: []byte(forged.Encode())})
	if resp.Status != http.StatusBadRequest || len(q.Sent()) != 0 {
		t.Fatalf("answer %d, %d enqueued; want 400 and nothing queued", resp.Status, len(q.Sent()))
	}
}

// extend forges a notification by md5 length extension: the last field in
// key order gets md5's padding appended, and a field named key (sorting
// after every other) is added with value, with a sign computed from the
// genuine sign alone (the secret's length is assumed known: the worst case).
func extend(t *testing.T, form url.Values, secretLen int, key, value string) url.Values {
	t.Helper()
	keys := make([]string, 0, len(form))
	data := ""
	for k := range form {
		if k != "sign" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		data += form.Get(k)
	}
	if key <= keys[len(keys)-1] {
		t.Fatalf("the added field %q must sort after %q", key, keys[len(keys)-1])
	}
	n := secretLen + len(data)
	pad := []byte{0x80}
	for (n+len(pad))%64 != 56 {
		pad = append(pad, 0)
	}
	pad = binary.LittleEndian.AppendUint64(pad, uint64(n)*8)

	// An md5 state resumed from the genuine sign, as crypto/md5 marshals it.
	sum, err := hex.DecodeString(form.Get("sign"))
	if err != nil {
		t.Fatal(err)
	}
	state := []byte("md5\x01")
	for i := 0; i < 4; i++ {
		state = binary.BigEndian.AppendUint32(state, binary.LittleEndian.Uint32(sum[4*i:]))
	}
	state = append(state, make([]byte, 64)...)
	state = binary.BigEndian.AppendUint64(state, uint64(n+len(pad)))
	h := md5.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	h.Write([]byte(value))

	forged := url.Values{}
	for k, v := range form {
		forged[k] = v
	}
	last := keys[len(keys)-1]
	forged.Set(last, form.Get(last)+string(pad))
	forged.Set(key, value)
	forged.Set("sign", hex.EncodeToString(h.Sum(nil)))
	return forged
}
