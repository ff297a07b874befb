package monetbil_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/monetbil"
)

const paymentID = "MB123-abc+/="

// checkPaymentServer answers like Monetbil's checkPayment: it checks the
// request on the server side, then writes status and body.
func checkPaymentServer(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func checkRequest(t *testing.T, r *http.Request) {
	t.Helper()
	if r.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", r.Method)
	}
	if r.URL.Path != "/payment/v1/checkPayment" {
		t.Errorf("path = %s, want /payment/v1/checkPayment", r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q, want application/x-www-form-urlencoded", ct)
	}
	if err := r.ParseForm(); err != nil {
		t.Errorf("parse form: %v", err)
		return
	}
	if got := r.PostForm["paymentId"]; len(got) != 1 || got[0] != paymentID {
		t.Errorf("form paymentId = %q, want [%q]", got, paymentID)
	}
	if len(r.PostForm) != 1 {
		t.Errorf("form = %v, want only paymentId", r.PostForm)
	}
	if len(r.URL.Query()) != 0 {
		t.Errorf("query = %q, want none", r.URL.RawQuery)
	}
}

func newClient(t *testing.T, baseURL string, hc *http.Client) *monetbil.Client {
	t.Helper()
	c, err := monetbil.NewClient(baseURL, hc)
	if err != nil {
		t.Fatalf("NewClient(%q): %v", baseURL, err)
	}
	return c
}

func TestCheckPaymentFinalStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want monetbil.Payment
	}{
		{"1 success", `{"transaction":{"status":1,"testmode":0}}`, monetbil.Payment{Status: monetbil.PaymentSuccess, Code: 1}},
		{"0 failed", `{"transaction":{"status":0}}`, monetbil.Payment{Status: monetbil.PaymentFailed, Code: 0}},
		{"-1 cancelled", `{"transaction":{"status":-1}}`, monetbil.Payment{Status: monetbil.PaymentCancelled, Code: -1}},
		{"7 success in test mode", `{"transaction":{"status":7,"testmode":1}}`, monetbil.Payment{Status: monetbil.PaymentSuccess, TestMode: true, Code: 7}},
		{"8 failed in test mode", `{"transaction":{"status":8}}`, monetbil.Payment{Status: monetbil.PaymentFailed, TestMode: true, Code: 8}},
		{"9 cancelled in test mode", `{"transaction":{"status":9,"testmode":true}}`, monetbil.Payment{Status: monetbil.PaymentCancelled, TestMode: true, Code: 9}},
		{"string status", `{"transaction":{"status":"1"}}`, monetbil.Payment{Status: monetbil.PaymentSuccess, Code: 1}},
		{"negative string status with spaces", `{"transaction":{"status":" -1 "}}`, monetbil.Payment{Status: monetbil.PaymentCancelled, Code: -1}},
		{"string test status", `{"transaction":{"status":"8","testmode":"1"}}`, monetbil.Payment{Status: monetbil.PaymentFailed, TestMode: true, Code: 8}},
		{"integral float status", `{"transaction":{"status":1.0}}`, monetbil.Payment{Status: monetbil.PaymentSuccess, Code: 1}},
		{"testmode true with a live code", `{"transaction":{"status":1,"testmode":true}}`, monetbil.Payment{Status: monetbil.PaymentSuccess, TestMode: true, Code: 1}},
		{"testmode string true", `{"transaction":{"status":0,"testmode":"true"}}`, monetbil.Payment{Status: monetbil.PaymentFailed, TestMode: true, Code: 0}},
		{"testmode string 0", `{"transaction":{"status":0,"testmode":"0"}}`, monetbil.Payment{Status: monetbil.PaymentFailed, Code: 0}},
		{"testmode false", `{"transaction":{"status":1,"testmode":false}}`, monetbil.Payment{Status: monetbil.PaymentSuccess, Code: 1}},
		{"testmode null", `{"transaction":{"status":1,"testmode":null}}`, monetbil.Payment{Status: monetbil.PaymentSuccess, Code: 1}},
		{"testmode odd value is ignored", `{"transaction":{"status":1,"testmode":{"x":1}}}`, monetbil.Payment{Status: monetbil.PaymentSuccess, Code: 1}},
		{"code says test even if testmode says no", `{"transaction":{"status":7,"testmode":0}}`, monetbil.Payment{Status: monetbil.PaymentSuccess, TestMode: true, Code: 7}},
		{"extra fields are kept, not refused", `{"transaction":{"status":1,"amount":"500","msisdn":"237670000001","new_field":{"x":1}},"success":true}`, monetbil.Payment{Status: monetbil.PaymentSuccess, Code: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := checkPaymentServer(t, http.StatusOK, tt.body)
			got, err := newClient(t, srv.URL, srv.Client()).CheckPayment(context.Background(), paymentID)
			if err != nil {
				t.Fatalf("CheckPayment: %v", err)
			}
			if got.Status != tt.want.Status || got.TestMode != tt.want.TestMode || got.Code != tt.want.Code {
				t.Fatalf("CheckPayment = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckPaymentErrors(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name   string
		status int
		body   string
		want   error  // ErrTransient or ErrPermanent
		inMsg  string // must appear in the error message
		hidden string // must not appear in the error message
	}{
		{"500", http.StatusInternalServerError, `{"error":"boom"}`, monetbil.ErrTransient, "HTTP 500", ""},
		{"502", http.StatusBadGateway, `bad gateway`, monetbil.ErrTransient, "HTTP 502", ""},
		{"503", http.StatusServiceUnavailable, ``, monetbil.ErrTransient, "HTTP 503", ""},
		{"429", http.StatusTooManyRequests, `slow down`, monetbil.ErrTransient, "HTTP 429", ""},
		{"408", http.StatusRequestTimeout, ``, monetbil.ErrTransient, "HTTP 408", ""},
		{"404", http.StatusNotFound, `not found`, monetbil.ErrPermanent, "HTTP 404", ""},
		{"400", http.StatusBadRequest, `{"message":"paymentId required"}`, monetbil.ErrPermanent, "paymentId required", ""},
		{"401", http.StatusUnauthorized, ``, monetbil.ErrPermanent, "HTTP 401", ""},
		{"403", http.StatusForbidden, ``, monetbil.ErrPermanent, "HTTP 403", ""},
		{"garbage body", http.StatusOK, `<html>maintenance</html>`, monetbil.ErrTransient, "maintenance", ""},
		{"empty body", http.StatusOK, ``, monetbil.ErrTransient, "not the expected JSON", ""},
		{"unknown status 3", http.StatusOK, `{"transaction":{"status":3}}`, monetbil.ErrTransient, "status 3 is not a final status", ""},
		{"pending status word", http.StatusOK, `{"transaction":{"status":"pending"}}`, monetbil.ErrTransient, "not an integer", ""},
		{"missing status", http.StatusOK, `{"transaction":{"testmode":1}}`, monetbil.ErrTransient, `no "status"`, ""},
		{"null status", http.StatusOK, `{"transaction":{"status":null}}`, monetbil.ErrTransient, `no "status"`, ""},
		{"missing transaction", http.StatusOK, `{"success":false,"message":"unknown payment"}`, monetbil.ErrTransient, `no "transaction"`, ""},
		{"null transaction", http.StatusOK, `{"transaction":null}`, monetbil.ErrTransient, `no "transaction"`, ""},
		{"transaction of the wrong type", http.StatusOK, `{"transaction":"done"}`, monetbil.ErrTransient, "not the expected JSON", ""},
		{"long body is truncated in the message", http.StatusInternalServerError, "start" + long + "TAIL", monetbil.ErrTransient, "start", "TAIL"},
		{"body over 1 MiB", http.StatusOK, `{"transaction":{"status":1},"pad":"` + strings.Repeat("p", 1<<20) + `"}`, monetbil.ErrTransient, "larger than", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := checkPaymentServer(t, tt.status, tt.body)
			_, err := newClient(t, srv.URL, srv.Client()).CheckPayment(context.Background(), paymentID)
			assertClass(t, err, tt.want)
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, tt.inMsg) {
				t.Errorf("error %q does not contain %q", msg, tt.inMsg)
			}
			if tt.hidden != "" && strings.Contains(msg, tt.hidden) {
				t.Errorf("error message holds %q, past the excerpt", tt.hidden)
			}
			if len(msg) > 600 {
				t.Errorf("error message is %d bytes, want a short excerpt", len(msg))
			}
			var ce *monetbil.CheckError
			if !errors.As(err, &ce) || ce.StatusCode != tt.status {
				t.Errorf("errors.As CheckError = %+v, want StatusCode %d", ce, tt.status)
			}
		})
	}
}

// assertClass checks that err wraps want and not the other class.
func assertClass(t *testing.T, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", want)
	}
	other := monetbil.ErrPermanent
	if errors.Is(want, monetbil.ErrPermanent) {
		other = monetbil.ErrTransient
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want it to wrap %v", err, want)
	}
	if errors.Is(err, other) {
		t.Fatalf("err = %v wraps both classes", err)
	}
}

func TestCheckPaymentTransportFailures(t *testing.T) {
	t.Parallel()

	// A port that was free a moment ago: connecting is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	l.Close()

	// A server slower than any deadline below; it gives up with the client.
	slow := func(t *testing.T) string {
		return serve(t, func(w http.ResponseWriter, r *http.Request) {
			checkRequest(t, r)
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}).URL
	}

	tests := []struct {
		name    string
		baseURL func(t *testing.T) string
		client  *http.Client
		ctx     func(t *testing.T) context.Context
		wantIs  error // beyond ErrTransient
	}{
		{
			name:    "connection refused",
			baseURL: func(*testing.T) string { return closedURL },
			ctx:     func(*testing.T) context.Context { return context.Background() },
		},
		{
			name:    "answer slower than the context deadline",
			baseURL: slow,
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			wantIs: context.DeadlineExceeded,
		},
		{
			name:    "answer slower than the client timeout",
			baseURL: slow,
			client:  &http.Client{Timeout: 100 * time.Millisecond},
			ctx:     func(*testing.T) context.Context { return context.Background() },
		},
		{
			name:    "context cancelled before the call",
			baseURL: slow,
			ctx: func(*testing.T) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			wantIs: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, tt.baseURL(t), tt.client)
			start := time.Now()
			_, err := c.CheckPayment(tt.ctx(t), paymentID)
			assertClass(t, err, monetbil.ErrTransient)
			t.Log(err)
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want it to wrap %v", err, tt.wantIs)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("CheckPayment took %v", d)
			}
		})
	}
}

func TestCheckPaymentEmptyIDIsPermanentAndSendsNothing(t *testing.T) {
	t.Parallel()
	srv := serve(t, func(http.ResponseWriter, *http.Request) {
		t.Error("request sent for an empty payment id")
	})
	_, err := newClient(t, srv.URL, srv.Client()).CheckPayment(context.Background(), "  ")
	assertClass(t, err, monetbil.ErrPermanent)
}

func TestCheckPaymentKeepsBasePathPrefix(t *testing.T) {
	t.Parallel()
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/monetbil/payment/v1/checkPayment" {
			t.Errorf("path = %s", r.URL.Path)
		}
		_, _ = w.Write([]byte(`{"transaction":{"status":1}}`))
	})
	got, err := newClient(t, srv.URL+"/monetbil/", srv.Client()).CheckPayment(context.Background(), paymentID)
	if err != nil || got.Status != monetbil.PaymentSuccess {
		t.Fatalf("CheckPayment = %+v, %v", got, err)
	}
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		ok  bool
	}{
		{monetbil.DefaultAPIURL, true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080/prefix/", true},
		{"http://[::1]:8080", true},
		{"http://api.monetbil.com", false},
		{"http://10.0.0.5:8080", false},
		{"", false},
		{"api.monetbil.com", false},
		{"/payment/v1", false},
		{"ftp://api.monetbil.com", false},
		{"https://", false},
		{"https://api.monetbil.com/?x=1", false},
		{"https://api.monetbil.com/#frag", false},
		{"http://[::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			c, err := monetbil.NewClient(tt.url, nil)
			if tt.ok && (err != nil || c == nil) {
				t.Fatalf("NewClient(%q) = %v, %v; want a client", tt.url, c, err)
			}
			if !tt.ok && err == nil {
				t.Fatalf("NewClient(%q) succeeded, want an error", tt.url)
			}
		})
	}
}

// TestCheckPaymentReadsThePaymentsFields: the answer's own fields are the
// truth the job checks a notification against; other fields are kept,
// masked.
func TestCheckPaymentReadsThePaymentsFields(t *testing.T) {
	t.Parallel()
	srv := checkPaymentServer(t, http.StatusOK, `{"transaction":{"status":1,"testmode":0,"transaction_id":"MB123-abc+/=",
		"payment_ref":"tx_42","item_ref":"order-7","amount":"5000.00","currency":"XAF","date":"2026-11-27 10:00:05",
		"msisdn":"237670000001","email":"ada@example.com","first_name":"Ada","operator":"MTN","fee":25}}`)
	got, err := newClient(t, srv.URL, srv.Client()).CheckPayment(context.Background(), paymentID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TransactionID != paymentID || got.PaymentRef != "tx_42" || got.ItemRef != "order-7" || !got.HasAmount || got.Amount != 5000 ||
		got.Currency != "XAF" || !got.At.Equal(time.Date(2026, 11, 27, 10, 0, 5, 0, time.UTC)) {
		t.Errorf("payment %+v", got)
	}
	want := map[string]string{"msisdn": "237*******01", "email": "***@example.com", "first_name": "***", "operator": "MTN", "fee": "25"}
	for k, v := range want {
		if got.Other[k] != v {
			t.Errorf("Other[%s] = %q, want %q", k, got.Other[k], v)
		}
	}
	if _, err := newClient(t, checkPaymentServer(t, http.StatusOK, `{"transaction":{"status":1,"amount":"5 000"}}`).URL, nil).CheckPayment(context.Background(), paymentID); err == nil {
		t.Error("an amount that is not a number was accepted")
	}
	bare, err := newClient(t, checkPaymentServer(t, http.StatusOK, `{"transaction":{"status":0}}`).URL, nil).CheckPayment(context.Background(), paymentID)
	if err != nil || bare.HasAmount || bare.PaymentRef != "" || !bare.At.IsZero() {
		t.Errorf("an answer with the status only: %+v, %v", bare, err)
	}
}

// TestCheckPaymentRefusesRedirects: an answer about money comes from the
// configured host or not at all; a redirect is a permanent failure and the
// other host is never asked.
func TestCheckPaymentRefusesRedirects(t *testing.T) {
	t.Parallel()
	elsewhere := serve(t, func(w http.ResponseWriter, _ *http.Request) {
		t.Error("the client followed the redirect")
		_, _ = w.Write([]byte(`{"transaction":{"status":1}}`))
	})
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/payment/v1/checkPayment", http.StatusTemporaryRedirect)
	})
	for _, hc := range []*http.Client{nil, srv.Client(), {}} {
		_, err := newClient(t, srv.URL, hc).CheckPayment(context.Background(), paymentID)
		assertClass(t, err, monetbil.ErrPermanent)
		if !strings.Contains(err.Error(), "redirect") {
			t.Errorf("error %q does not say redirect", err)
		}
	}
}

// TestCheckPaymentMasksPersonalDataInErrors: what an error quotes of an
// answer holds no phone number, email or name in clear.
func TestCheckPaymentMasksPersonalDataInErrors(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`{"error":"boom","transaction":{"msisdn":"237670000001","email":"ada@example.com","first_name":"Ada","last_name":"Lovelace"}}`,
		`<html>payment of 237670000001 by ada@example.com failed</html>`,
	} {
		srv := checkPaymentServer(t, http.StatusInternalServerError, body)
		_, err := newClient(t, srv.URL, srv.Client()).CheckPayment(context.Background(), paymentID)
		if err == nil {
			t.Fatal("no error")
		}
		for _, secret := range []string{"670000001", "ada@", "Ada", "Lovelace"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q holds %q", err, secret)
			}
		}
	}
}
