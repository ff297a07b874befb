package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stripe/stripe-go/v85/webhook"

	"github.com/payments-hub/hub/internal/envelope"
	"github.com/payments-hub/hub/internal/hubtest"
	"github.com/payments-hub/hub/internal/monetbil"
	"github.com/payments-hub/hub/internal/sqsqueue"
)

// The emulator's internal runtime API always binds 127.0.0.1:9001, so only one
// emulator runs at a time: these tests are never parallel.

const envRIE = "HUB_RIE"

// rieBinary finds aws-lambda-rie: $HUB_RIE, .tools/bin (where `make tools`
// installs it), or PATH.
func rieBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(envRIE); p != "" {
		return p
	}
	if p, err := filepath.Abs("../.tools/bin/aws-lambda-rie"); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	msg := "aws-lambda-rie not found: run `make test` (it installs it into .tools/bin) or set HUB_RIE"
	if os.Getenv(hubtest.EnvRequire) != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// buildBootstrap builds a function as `make build` does, for the host
// architecture so that the emulator can run it, plus the iamrecord tag: with
// HUB_IAM_RECORD_DIR set (make test) the bootstrap records the AWS calls it
// makes, which infra/iamcheck holds to Terraform's action sets. Without the
// variable the recorder does nothing.
func buildBootstrap(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc,iamrecord", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

type emulator struct {
	url string
	log *bytes.Buffer
}

// waitForRuntimeAPIPort waits until no other emulator (a `make bench` run,
// say) holds 127.0.0.1:9001, which every emulator binds.
func waitForRuntimeAPIPort(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		l, err := net.Listen("tcp", "127.0.0.1:9001")
		if err == nil {
			l.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("127.0.0.1:9001, the emulator's runtime API port, stayed busy: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func startEmulator(t *testing.T, bootstrap string, env []string) *emulator {
	t.Helper()
	rie := rieBinary(t)
	waitForRuntimeAPIPort(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var log bytes.Buffer
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, bootstrap)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // only the group we started
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("emulator output:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator did not listen on %s: %s", addr, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &emulator{url: "http://" + addr + "/2015-03-31/functions/function/invocations", log: &log}
}

func (e *emulator) invoke(t *testing.T, payload any, out any) {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(e.url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("invoke: %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("invoke answer %s: %v", body, err)
	}
}

func apiEvent(t *testing.T, fixture, path, body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("../internal/apigateway/testdata", fixture))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev.RawPath, ev.RequestContext.HTTP.Path, ev.RouteKey = path, path, "POST "+path
	ev.Body, ev.IsBase64Encoded = body, false
	for k, v := range headers {
		ev.Headers[k] = v
	}
	return ev
}

func TestIngestBootstrapUnderTheEmulator(t *testing.T) {
	client := hubtest.SQS(t)
	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(hubtest.Name("rie-ingest"))})
	if err != nil {
		t.Fatal(err)
	}
	queueURL := aws.ToString(q.QueueUrl)
	const stripeSecret, monetbilSecret = "whsec_rie", "mb_rie"

	// As on AWS, the secrets come from SSM by parameter name.
	ssmURL := parameterStore(t, map[string]string{"/rie/stripe": stripeSecret, "/rie/monetbil": monetbilSecret})
	emu := startEmulator(t, buildBootstrap(t, "./ingest"), []string{
		"QUEUE_URL=" + queueURL,
		"STRIPE_WEBHOOK_SECRET_PARAM=/rie/stripe",
		"MONETBIL_SERVICE_SECRET_PARAM=/rie/monetbil",
		"AWS_ENDPOINT_URL_SSM=" + ssmURL,
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
	})

	body := fmt.Sprintf(`{"id":"evt_rie_%d","object":"event","type":"payment_intent.succeeded","created":%d,"data":{"object":{"id":"pi_1","metadata":{"transaction_id":"tx_rie"}}}}`, time.Now().UnixNano(), time.Now().Unix())
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: stripeSecret}).Header
	var resp events.APIGatewayV2HTTPResponse

	emu.invoke(t, apiEvent(t, "stripe-payment-intent-succeeded.json", "/webhooks/stripe", body, map[string]string{"stripe-signature": sig}), &resp)
	if resp.StatusCode != 200 {
		t.Fatalf("signed Stripe event: %d %s", resp.StatusCode, resp.Body)
	}
	emu.invoke(t, apiEvent(t, "stripe-payment-intent-succeeded.json", "/webhooks/stripe", strings.Replace(body, "tx_rie", "tx_evil", 1), map[string]string{"stripe-signature": sig}), &resp)
	if resp.StatusCode != 400 {
		t.Fatalf("tampered Stripe event: %d %s, want 400", resp.StatusCode, resp.Body)
	}

	form := url.Values{"transaction_id": {"MBrie"}, "status": {"success"}, "payment_ref": {"tx_rie_mb"}}
	form.Set("sign", monetbil.Sign(monetbilSecret, form))
	mh := map[string]string{"content-type": "application/x-www-form-urlencoded"}
	emu.invoke(t, apiEvent(t, "monetbil-notification-base64.json", "/webhooks/monetbil", form.Encode(), mh), &resp)
	if resp.StatusCode != 200 || resp.Body != "received" {
		t.Fatalf("signed Monetbil form: %d %q", resp.StatusCode, resp.Body)
	}
	form.Set("sign", strings.Repeat("a", 32))
	emu.invoke(t, apiEvent(t, "monetbil-notification-base64.json", "/webhooks/monetbil", form.Encode(), mh), &resp)
	if resp.StatusCode != 403 {
		t.Fatalf("bad Monetbil sign: %d %q, want 403", resp.StatusCode, resp.Body)
	}

	// Exactly the two accepted events are in the queue, as sent.
	got := map[string]string{}
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			e, err := envelope.Decode([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatal(err)
			}
			got[e.EventKey] = e.Payload
		}
	}
	if len(got) != 2 || !strings.HasPrefix(got["MBrie:success"], "payment_ref=tx_rie_mb") {
		t.Fatalf("queue holds %v", got)
	}
	for k, p := range got {
		if strings.HasPrefix(k, "evt_rie_") && p != body {
			t.Fatalf("Stripe payload changed: %q", p)
		}
	}
}

// parameterStore serves SSM's GetParameters for the given SecureStrings on a
// loopback port. No local SSM server exists; this one answers only the call
// the ingest makes, and refuses it without decryption, which would hand the
// function ciphertext on AWS.
func parameterStore(t *testing.T, params map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Names          []string
			WithDecryption bool
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameters" || json.NewDecoder(r.Body).Decode(&in) != nil || !in.WithDecryption {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"ValidationException","message":"want GetParameters with WithDecryption, got %s"}`, r.Header.Get("X-Amz-Target"))
			return
		}
		type param struct{ Name, Type, Value string }
		out := struct {
			Parameters        []param
			InvalidParameters []string
		}{Parameters: []param{}, InvalidParameters: []string{}}
		for _, n := range in.Names {
			if v, ok := params[n]; ok {
				out.Parameters = append(out.Parameters, param{n, "SecureString", v})
			} else {
				out.InvalidParameters = append(out.InvalidParameters, n)
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestProcessorBootstrapUnderTheEmulator(t *testing.T) {
	s := hubtest.NewStack(t, hubtest.Options{})
	ctx := context.Background()
	pub, err := sqsqueue.NewPublisher(s.SQS, s.Queues.URL)
	if err != nil {
		t.Fatal(err)
	}
	payload := `{"id":"evt_rie_proc","object":"event","type":"payment_intent.succeeded","created":1764237600,"data":{"object":{"id":"pi_1","metadata":{"transaction_id":"tx_rie_proc"}}}}`
	if _, err := pub.Enqueue(ctx, envelope.Envelope{Version: 1, Provider: "stripe", EventKey: "evt_rie_proc", EventType: "payment_intent.succeeded", TransactionID: "tx_rie_proc", ReceivedAt: time.Now().UTC(), Payload: payload}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.Queues.URL), MessageBody: aws.String("garbage")}); err != nil {
		t.Fatal(err)
	}
	// Receive as the event source mapping does, and hand the batch over.
	var ev events.SQSEvent
	for len(ev.Records) < 2 {
		out, err := s.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.Queues.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			AttributeNames:              []types.QueueAttributeName{"All"}, //nolint:staticcheck // local servers read the old field
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			ev.Records = append(ev.Records, events.SQSMessage{
				MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
				Attributes: m.Attributes, EventSource: "aws:sqs", EventSourceARN: s.Queues.ARN, AWSRegion: "us-east-1",
			})
		}
	}
	garbage := ""
	for _, r := range ev.Records {
		if r.Body == "garbage" {
			garbage = r.MessageId
		}
	}

	emu := startEmulator(t, buildBootstrap(t, "./processor"), append(s.Env(),
		"BACKOFF_SECONDS=1,2,3", "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30"))
	var resp events.SQSEventResponse
	emu.invoke(t, ev, &resp)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != garbage {
		t.Fatalf("batchItemFailures = %+v, want exactly the garbage message %s", resp.BatchItemFailures, garbage)
	}
	tx, err := s.Store.Transaction(ctx, "tx_rie_proc")
	if err != nil || tx.Status != "succeeded" {
		t.Fatalf("transaction %+v %v", tx, err)
	}
	rec, err := s.Store.Event(ctx, "unknown", "message:"+garbage)
	if err != nil || !rec.Permanent {
		t.Fatalf("failure record of the garbage message: %+v %v", rec, err)
	}
}
