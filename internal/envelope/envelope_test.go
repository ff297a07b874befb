package envelope_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
)

func sample() envelope.Envelope {
	return envelope.Envelope{
		Version: envelope.Version, Provider: envelope.ProviderStripe, EventKey: "evt_1", EventType: "payment_intent.succeeded",
		TransactionID: "tx_1", ReceivedAt: time.Date(2026, 11, 27, 10, 0, 0, 123, time.UTC),
		Payload: "{\n  \"id\": \"evt_1\", \"note\": \"<&> \\u00e9 é\"\n}",
	}
}

func TestRoundTripKeepsThePayloadByteForByte(t *testing.T) {
	t.Parallel()
	in := sample()
	raw, err := envelope.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"version":1`) || !strings.Contains(string(raw), `<&>`) {
		t.Fatalf("encoded form is not the readable v1 envelope: %s", raw)
	}
	out, err := envelope.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("round trip changed the envelope:\n got %+v\nwant %+v", out, in)
	}
}

func TestDecodeRefusesWhatCanNeverBeProcessed(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"not json":         `not json`,
		"trailing data":    `{"version":1,"provider":"stripe","event_key":"k","payload":"p"} {}`,
		"future version":   `{"version":2,"provider":"stripe","event_key":"k","payload":"p"}`,
		"no version":       `{"provider":"stripe","event_key":"k","payload":"p"}`,
		"unknown provider": `{"version":1,"provider":"paypal","event_key":"k","payload":"p"}`,
		"no key":           `{"version":1,"provider":"monetbil","payload":"p"}`,
		"no payload":       `{"version":1,"provider":"monetbil","event_key":"k"}`,
	} {
		if _, err := envelope.Decode([]byte(body)); !errors.Is(err, envelope.ErrInvalid) {
			t.Errorf("%s: Decode = %v, want ErrInvalid", name, err)
		}
	}
	bad := sample()
	bad.Provider = "Stripe"
	if _, err := envelope.Encode(bad); !errors.Is(err, envelope.ErrInvalid) {
		t.Errorf("Encode accepted provider %q", bad.Provider)
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := envelope.Encode(sample())
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"provider":"monetbil","event_key":"a:b","payload":"x=1","received_at":"bad"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := envelope.Decode(body)
		if err != nil {
			if !errors.Is(err, envelope.ErrInvalid) {
				t.Fatalf("decode error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := envelope.Encode(e)
		if err != nil {
			t.Fatalf("a decoded envelope does not encode: %v", err)
		}
		if e2, err := envelope.Decode(again); err != nil || e2 != e {
			t.Fatalf("re-decode: %v %+v != %+v", err, e2, e)
		}
	})
}
