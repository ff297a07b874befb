package envelope_test

import (
	"strings"
	"testing"
	"time"

	"github.com/payments-hub/hub/internal/envelope"
)

// benchEnvelope carries a 3 KB Stripe event, about the size of a real
// payment_intent.succeeded, with the newlines and quotes JSON must escape.
func benchEnvelope() envelope.Envelope {
	payload := "{\n  \"id\": \"evt_3QbenchA1b2C3d4E5f6G7h8\",\n  \"object\": \"event\",\n  \"type\": \"payment_intent.succeeded\",\n  \"data\": {\n    \"object\": {\n" +
		strings.Repeat("      \"field\": \"a value of typical length, with \\\"quotes\\\" & <html>\",\n", 40) +
		"      \"metadata\": {\"transaction_id\": \"tx_42\"}\n    }\n  }\n}"
	return envelope.Envelope{
		Version: envelope.Version, Provider: envelope.ProviderStripe, EventKey: "evt_3QbenchA1b2C3d4E5f6G7h8", EventType: "payment_intent.succeeded",
		TransactionID: "tx_42", ReceivedAt: time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC), Payload: payload,
	}
}

// BenchmarkEncode measures what the intake does per accepted webhook
// before SendMessage.
func BenchmarkEncode(b *testing.B) {
	e := benchEnvelope()
	b.SetBytes(int64(len(e.Payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := envelope.Encode(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode measures what the processor does first per message.
func BenchmarkDecode(b *testing.B) {
	raw, err := envelope.Encode(benchEnvelope())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := envelope.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}
