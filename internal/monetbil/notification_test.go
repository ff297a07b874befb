package monetbil_test

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/payments-hub/hub/internal/monetbil"
)

const secret = "monetbil_test_secret"

func notification() url.Values {
	return url.Values{
		"service":        {"svc_1"},
		"transaction_id": {"MB123"},
		"msisdn":         {"237670000001"},
		"amount":         {"500"},
		"status":         {"success"},
		"payment_ref":    {"tx_42"},
		"currency":       {"XAF"},
	}
}

func signed(f url.Values) url.Values {
	f.Set("sign", monetbil.Sign(secret, f))
	return f
}

func TestSignMatchesDocumentedConstruction(t *testing.T) {
	t.Parallel()
	// md5(secret + values ordered by field name): amount, currency, msisdn,
	// payment_ref, service, status, transaction_id.
	sum := md5.Sum([]byte(secret + "500" + "XAF" + "237670000001" + "tx_42" + "svc_1" + "success" + "MB123"))
	if got, want := monetbil.Sign(secret, notification()), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		form func() url.Values
		want monetbil.Reason // "" means accepted
	}{
		{"valid", func() url.Values { return signed(notification()) }, ""},
		{"field order of the body does not matter", func() url.Values {
			f, err := monetbil.ParseForm("status=success&amount=500&transaction_id=MB123&currency=XAF&payment_ref=tx_42&service=svc_1&msisdn=237670000001&sign=" + monetbil.Sign(secret, notification()))
			if err != nil {
				t.Fatal(err)
			}
			return f
		}, ""},
		{"extra fields take part", func() url.Values {
			f := notification()
			f.Set("first_name", "Ada")
			return signed(f)
		}, ""},
		{"an extra field added after signing is refused", func() url.Values {
			f := signed(notification())
			f.Set("first_name", "Mallory")
			return f
		}, monetbil.ReasonBadSignature},
		{"upper-case hex", func() url.Values {
			f := signed(notification())
			f.Set("sign", strings.ToUpper(f.Get("sign")))
			return f
		}, ""},
		{"missing sign", notification, monetbil.ReasonMissingSignature},
		{"empty sign", func() url.Values { f := notification(); f.Set("sign", ""); return f }, monetbil.ReasonMissingSignature},
		{"tampered amount", func() url.Values { f := signed(notification()); f.Set("amount", "5"); return f }, monetbil.ReasonBadSignature},
		{"magic hash is not loosely equal", func() url.Values { f := notification(); f.Set("sign", "0e462097431906509019562988736854"); return f }, monetbil.ReasonBadSignature},
		{"wrong secret", func() url.Values {
			f := notification()
			f.Set("sign", monetbil.Sign("other", f))
			return f
		}, monetbil.ReasonBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := monetbil.Verify(secret, tc.form())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v, want accepted", err)
				}
				return
			}
			var me *monetbil.Error
			if !errors.As(err, &me) || me.Reason != tc.want {
				t.Fatalf("Verify = %v, want reason %s", err, tc.want)
			}
			if !me.IsAuth() {
				t.Fatalf("reason %s must be answered 403", me.Reason)
			}
		})
	}
}

func TestParseForm(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]monetbil.Reason{
		"a=%zz":             monetbil.ReasonUnparseable,
		"a=1&a=2":           monetbil.ReasonDuplicateField,
		"transaction_id=1;": monetbil.ReasonUnparseable,
	} {
		_, err := monetbil.ParseForm(body)
		var me *monetbil.Error
		if !errors.As(err, &me) || me.Reason != want {
			t.Errorf("ParseForm(%q) = %v, want %s", body, err, want)
		}
		if me != nil && me.IsAuth() {
			t.Errorf("ParseForm(%q): a shape error must not be answered 403", body)
		}
	}
}

func TestParseNotification(t *testing.T) {
	t.Parallel()
	n, err := monetbil.ParseNotification(notification())
	if err != nil {
		t.Fatal(err)
	}
	if n.EventKey() != "MB123:success" || n.PaymentRef != "tx_42" || n.EventType() != "payment.success" {
		t.Fatalf("parsed %+v key %s", n, n.EventKey())
	}
	f := notification()
	f.Del("status")
	if n, _ := monetbil.ParseNotification(f); n.EventKey() != "MB123:none" {
		t.Fatalf("key without status = %q", n.EventKey())
	}
	f.Del("transaction_id")
	_, err = monetbil.ParseNotification(f)
	var me *monetbil.Error
	if !errors.As(err, &me) || me.Reason != monetbil.ReasonMissingTransaction {
		t.Fatalf("no transaction_id: %v", err)
	}
}

func TestMaskMSISDN(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"237670000001": "237*******01", "12345": "*****", "": "", "+237612": "+23**12"} {
		if got := monetbil.MaskMSISDN(in); got != want {
			t.Errorf("MaskMSISDN(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzVerifyForm checks that no body makes parsing or verification panic,
// and that a body verifies only when its sign is the one Sign computes.
func FuzzVerifyForm(f *testing.F) {
	f.Add("transaction_id=MB1&status=success&sign=abc")
	f.Add("a=%zz&sign=")
	f.Add("sign=0e1&sign=0e2")
	f.Add(signed(notification()).Encode())
	f.Fuzz(func(t *testing.T, body string) {
		form, err := monetbil.ParseForm(body)
		if err != nil {
			return
		}
		if monetbil.Verify(secret, form) == nil && !strings.EqualFold(strings.TrimSpace(form.Get("sign")), monetbil.Sign(secret, form)) {
			t.Fatalf("accepted %q with a sign that is not its signature", body)
		}
		if _, err := monetbil.ParseNotification(form); err == nil && form.Get("transaction_id") == "" {
			t.Fatalf("accepted %q without a transaction_id", body)
		}
		form.Set("sign", monetbil.Sign(secret, form))
		if err := monetbil.Verify(secret, form); err != nil {
			t.Fatalf("correctly signed form refused: %v", err)
		}
	})
}
