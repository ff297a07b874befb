package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/payments-hub/hub/internal/provision"
	"github.com/payments-hub/hub/internal/store/dynamostore"
)

// clients are the SDK clients every measurement shares.
type clients struct {
	cfg aws.Config
	sqs *sqs.Client
	ddb *dynamodb.Client
}

// newClients builds clients from the environment `localaws exec` sets. The
// HTTP transport keeps as many idle connections as the highest concurrency
// used here, so that connection churn (the SDK keeps 10 per host by
// default) does not weigh on one side of a comparison more than the other.
func newClients(ctx context.Context) (*clients, error) {
	var opts []func(*config.LoadOptions) error
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion("us-east-1"))
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, err
	}
	return (&clients{cfg: cfg}).fresh(), nil
}

// fresh returns clients with a connection pool of their own, so that one
// measurement starts without the connections another one left behind.
func (c *clients) fresh() *clients {
	cfg := c.cfg.Copy()
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 512, 256
	})
	return &clients{
		cfg: cfg,
		sqs: sqs.NewFromConfig(cfg),
		ddb: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.DisableValidateResponseChecksum = true }),
	}
}

func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// plainQueue creates a queue without a DLQ; remove deletes it.
func (c *clients) plainQueue(ctx context.Context, prefix string) (url string, remove func(), err error) {
	out, err := c.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(uniqueName(prefix)), Attributes: map[string]string{"VisibilityTimeout": "60"}})
	if err != nil {
		return "", nil, fmt.Errorf("create queue: %w", err)
	}
	url = aws.ToString(out.QueueUrl)
	return url, func() { c.deleteQueues(url) }, nil
}

// hubQueues creates a queue and its DLQ as the hub has them (redrive after
// 3 receives) with the given visibility timeout.
func (c *clients) hubQueues(ctx context.Context, prefix string, vt time.Duration) (provision.QueuePair, func(), error) {
	spec := provision.QueueSpec{Name: uniqueName(prefix), DLQName: uniqueName(prefix + "-dlq"), VisibilityTimeout: vt, MaxReceiveCount: 3}
	spec.SetDefaults()
	q, err := provision.Queues(ctx, c.sqs, spec)
	if err != nil {
		return q, nil, fmt.Errorf("create queues: %w", err)
	}
	return q, func() { c.deleteQueues(q.URL, q.DLQURL) }, nil
}

func (c *clients) deleteQueues(urls ...string) {
	for _, u := range urls {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = c.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
		cancel()
	}
}

// hubTables creates the events and transactions tables and a store on them.
func (c *clients) hubTables(ctx context.Context, prefix string) (*dynamostore.Store, [2]string, func(), error) {
	names := [2]string{uniqueName(prefix + "-events"), uniqueName(prefix + "-tx")}
	if err := dynamostore.CreateTables(ctx, c.ddb, names[0], names[1]); err != nil {
		return nil, names, nil, err
	}
	remove := func() {
		for _, n := range names {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = c.ddb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(n)})
			cancel()
		}
	}
	st, err := dynamostore.New(c.ddb, names[0], names[1])
	if err != nil {
		remove()
		return nil, names, nil, err
	}
	return st, names, remove, nil
}

// stopWorker cancels a worker's run and waits for it to return.
func stopWorker(cancel context.CancelFunc, done <-chan error) {
	cancel()
	if err := <-done; err != nil {
		logf("worker: %v", err)
	}
}

// queueCount returns visible + in-flight + delayed messages.
func (c *clients) queueCount(ctx context.Context, url string) (visible, total int, err error) {
	out, err := c.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
	}})
	if err != nil {
		return 0, 0, err
	}
	var n [3]int
	for i, k := range []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible, types.QueueAttributeNameApproximateNumberOfMessagesDelayed} {
		_, _ = fmt.Sscan(out.Attributes[string(k)], &n[i])
	}
	return n[0], n[0] + n[1] + n[2], nil
}

// ---------------------------------------------------------------------------
// Measuring.

// throughput runs op from concurrency goroutines: first for warm (not
// counted), then for window, and returns the operations completed inside the
// window per second, and the errors.
func throughput(ctx context.Context, concurrency int, warm, window time.Duration, op func(ctx context.Context) error) (perSecond float64, done, failed int64) {
	var (
		counting atomic.Bool
		stop     atomic.Bool
		ok, bad  atomic.Int64
		wg       sync.WaitGroup
	)
	for range concurrency {
		wg.Go(func() {
			for !stop.Load() && ctx.Err() == nil {
				err := op(ctx)
				if !counting.Load() || stop.Load() {
					continue
				}
				if err != nil {
					bad.Add(1)
				} else {
					ok.Add(1)
				}
			}
		})
	}
	time.Sleep(warm)
	counting.Store(true)
	start := time.Now()
	time.Sleep(window)
	stop.Store(true)
	elapsed := time.Since(start)
	wg.Wait()
	return float64(ok.Load()) / elapsed.Seconds(), ok.Load(), bad.Load()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentile returns the p-th percentile (nearest rank) of durations.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

func durations(xs []float64) []time.Duration {
	out := make([]time.Duration, len(xs))
	for i, x := range xs {
		out[i] = time.Duration(x)
	}
	return out
}

// runsOf formats each run's value, for the method column.
func runsOf(xs []float64, format string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// ---------------------------------------------------------------------------
// The report.

// row is one measured number with how it was measured.
type row struct{ what, value, method string }

// section is one measurement's rows.
type section struct {
	title string
	intro string
	rows  []row
	notes []string
}

func (s *section) add(what, value, method string) { s.rows = append(s.rows, row{what, value, method}) }
func (s *section) note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

func (s *section) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", s.title)
	if s.intro != "" {
		fmt.Fprintf(&b, "%s\n\n", s.intro)
	}
	if len(s.rows) > 0 {
		b.WriteString("| measure | value | method |\n|---|---:|---|\n")
		for _, r := range s.rows {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", r.what, r.value, strings.ReplaceAll(r.method, "|", "/"))
		}
		b.WriteString("\n")
	}
	for _, n := range s.notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	if len(s.notes) > 0 {
		b.WriteString("\n")
	}
	return b.String()
}
