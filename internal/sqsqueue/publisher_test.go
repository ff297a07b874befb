package sqsqueue_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/intake"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/sqsqueue"
	"github.com/payments-hub/hub/internal/stripewebhook"
)

const (
	stripeSecret   = "whsec_integration"
	monetbilSecret = "mb_integration"
)

func intakeServer(t *testing.T, client *sqs.Client, queueURL string) *httptest.Server {
	t.Helper()
	pub, err := sqsqueue.NewPublisher(client, queueURL)
	if err != nil {
		t.Fatal(err)
	}
	v, err := stripewebhook.NewVerifier([]string{stripeSecret}, 0)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := intake.New(intake.Config{Stripe: v, MonetbilSecret: monetbilSecret, Queue: pub, EnqueueTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	return srv
}

func createQueue(t *testing.T, client *sqs.Client) string {
	t.Helper()
	out, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(hubtest.Name("intake"))})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		_, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	})
	return url
}

func post(t *testing.T, u string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func receiveAll(t *testing.T, client *sqs.Client, queueURL string, want int) []types.Message {
	t.Helper()
	var got []types.Message
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		got = append(got, out.Messages...)
	}
	if len(got) != want {
		t.Fatalf("received %d messages, want %d", len(got), want)
	}
	return got
}

func TestVerifiedWebhooksArriveInTheQueueExactlyAsSent(t *testing.T) {
	client := hubtest.SQS(t)
	queueURL := createQueue(t, client)
	srv := intakeServer(t, client, queueURL)

	stripeBody := []byte("{\n  \"id\": \"evt_integration_1\",\n  \"object\": \"event\",\n  \"type\": \"payment_intent.succeeded\",\n  \"created\": 1764000000,\n  \"data\": {\"object\": {\"id\": \"pi_1\", \"metadata\": {\"transaction_id\": \"tx_int_1\"}, \"description\": \"caf\u00e9 <&>\"}}\n}")
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: stripeBody, Secret: stripeSecret}).Header
	if code, body := post(t, srv.URL+intake.PathStripe, stripeBody, map[string]string{"Stripe-Signature": sig, "Content-Type": "application/json"}); code != 200 {
		t.Fatalf("Stripe: %d %s", code, body)
	}
	form := url.Values{"transaction_id": {"MBint1"}, "status": {"success"}, "payment_ref": {"tx_int_2"}, "msisdn": {"237670000001"}, "message": {"OK & paid"}}
	form.Set("sign", monetbil.Sign(monetbilSecret, form))
	monetbilBody := []byte(form.Encode())
	if code, body := post(t, srv.URL+intake.PathMonetbil, monetbilBody, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); code != 200 || body != "received" {
		t.Fatalf("Monetbil: %d %s", code, body)
	}

	want := map[string]struct {
		payload []byte
		typ     string
		txID    string
	}{
		"evt_integration_1": {stripeBody, "payment_intent.succeeded", "tx_int_1"},
		"MBint1:success":    {monetbilBody, "payment.success", "tx_int_2"},
	}
	for _, m := range receiveAll(t, client, queueURL, 2) {
		e, err := envelope.Decode([]byte(aws.ToString(m.Body)))
		if err != nil {
			t.Fatalf("queued body is not an envelope: %v", err)
		}
		w, ok := want[e.EventKey]
		if !ok {
			t.Fatalf("unexpected event key %q", e.EventKey)
		}
		if e.Payload != string(w.payload) {
			t.Errorf("%s: payload changed in the queue:\n got %q\nwant %q", e.EventKey, e.Payload, w.payload)
		}
		attrs := map[string]string{}
		for k, v := range m.MessageAttributes {
			attrs[k] = aws.ToString(v.StringValue)
		}
		wantAttrs := map[string]string{"provider": e.Provider, "event_type": w.typ, "event_key": e.EventKey, "transaction_id": w.txID}
		for k, v := range wantAttrs {
			if attrs[k] != v {
				t.Errorf("%s: attribute %s = %q, want %q (all: %v)", e.EventKey, k, attrs[k], v, attrs)
			}
		}
	}
}

func TestQueueThatDoesNotExistGives503(t *testing.T) {
	client := hubtest.SQS(t)
	real := createQueue(t, client)
	missing := real[:strings.LastIndex(real, "/")+1] + hubtest.Name("no-such-queue")
	srv := intakeServer(t, client, missing)
	assert503(t, srv)
}

func TestStoppedServerGives503(t *testing.T) {
	hubtest.Require(t, hubtest.EnvSQS)
	// A port that was just closed is a stopped server: connections are
	// refused. (The reliability suite stops the real server mid-run.)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	client := sqs.NewFromConfig(hubtest.Config(t), func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.RetryMaxAttempts = 2
	})
	srv := intakeServer(t, client, endpoint+"/000000000000/payments-hub-events")
	assert503(t, srv)
}

func assert503(t *testing.T, srv *httptest.Server) {
	t.Helper()
	body := []byte(`{"id":"evt_503","object":"event","type":"payment_intent.succeeded","created":1,"data":{"object":{}}}`)
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: stripeSecret}).Header
	if code, resp := post(t, srv.URL+intake.PathStripe, body, map[string]string{"Stripe-Signature": sig}); code != 503 {
		t.Fatalf("Stripe: %d %s, want 503", code, resp)
	}
	form := url.Values{"transaction_id": {"MB503"}, "status": {"success"}}
	form.Set("sign", monetbil.Sign(monetbilSecret, form))
	if code, resp := post(t, srv.URL+intake.PathMonetbil, []byte(form.Encode()), nil); code != 503 {
		t.Fatalf("Monetbil: %d %s, want 503", code, resp)
	}
}

func TestAnEventLargerThanTheQueueTakesIs413Not503(t *testing.T) {
	client := hubtest.SQS(t)
	queueURL := createQueue(t, client)
	pub, err := sqsqueue.NewPublisher(client, queueURL)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := stripewebhook.NewVerifier([]string{stripeSecret}, 0)
	svc, err := intake.New(intake.Config{Stripe: v, MonetbilSecret: monetbilSecret, Queue: pub.WithMaxBytes(4096)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	// Under the intake's 1 MiB limit, but its envelope is over the queue's.
	body := []byte(`{"id":"evt_big","object":"event","type":"payment_intent.succeeded","created":1,"data":{"object":{"description":"` + strings.Repeat(`\"`, 3000) + `"}}}`)
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: stripeSecret}).Header
	if code, resp := post(t, srv.URL+intake.PathStripe, body, map[string]string{"Stripe-Signature": sig}); code != 413 {
		t.Fatalf("status %d %s, want 413", code, resp)
	}
}
