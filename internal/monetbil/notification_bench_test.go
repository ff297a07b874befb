package monetbil_test

import (
	"net/url"
	"testing"

	"github.com/payments-hub/hub/internal/monetbil"
)

// benchBody is a notification with every field the official handlers
// receive, signed: what the intake parses and verifies per Monetbil webhook.
func benchBody() string {
	form := url.Values{
		"service": {"svc_0123456789abcdef"}, "transaction_id": {"MB20261127100000123456"}, "transaction_uuid": {"6f1c2d3e-4a5b-4c6d-8e9f-0123456789ab"},
		"msisdn": {"237670000001"}, "amount": {"5000"}, "fee": {"75"}, "status": {"success"}, "message": {"Payment successful"},
		"country_name": {"Cameroon"}, "country_iso": {"CM"}, "country_code": {"237"}, "mccmnc": {"62401"},
		"mobile_operator_name": {"MTN Mobile Money"}, "currency": {"XAF"}, "user": {"user_42"}, "item_ref": {"order_42"},
		"payment_ref": {"tx_42"}, "first_name": {"Jane"}, "last_name": {"Doe"}, "email": {"jane@example.com"},
	}
	form.Set("sign", monetbil.Sign("monetbil_bench_secret", form))
	return form.Encode()
}

// BenchmarkVerifyForm measures the intake's Monetbil path up to the
// envelope: parse the form, check the md5 sign in constant time, read the
// notification's fields.
func BenchmarkVerifyForm(b *testing.B) {
	body := benchBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		form, err := monetbil.ParseForm(body)
		if err != nil {
			b.Fatal(err)
		}
		if err := monetbil.Verify("monetbil_bench_secret", form); err != nil {
			b.Fatal(err)
		}
		if _, err := monetbil.ParseNotification(form); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign measures the signature alone (md5 over the secret and the
// values ordered by field name).
func BenchmarkSign(b *testing.B) {
	form, err := monetbil.ParseForm(benchBody())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = monetbil.Sign("monetbil_bench_secret", form)
	}
}
