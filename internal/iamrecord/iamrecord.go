// Package iamrecord records the AWS operations a process performs as the IAM
// actions they need and the kind of resource each one targets ("queue",
// "dlq", "events-table", ...). No local AWS server enforces IAM, so the tests
// run the real binaries with this recorder (build tag iamrecord, see
// internal/app/boot) and infra/iamcheck holds the recordings against the
// committed action sets that Terraform's policies are tested against.
package iamrecord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/payments-hub/hub/internal/config"
)

// EnvDir names the directory the recordings go to; unset, nothing is recorded.
const EnvDir = "HUB_IAM_RECORD_DIR"

// Record is one line of a recording: a component performed Action on a
// resource of kind Resource.
type Record struct {
	Component string `json:"component"`
	Action    string `json:"action"`
	Resource  string `json:"resource"`
}

// Kinds of resources. Names are matched against the process's own
// configuration first (QUEUE_URL, DLQ_URL, EVENTS_TABLE, ...), then against
// the default names the stack uses.
const (
	KindQueue             = "queue"
	KindDLQ               = "dlq"
	KindEventsTable       = "events-table"
	KindTransactionsTable = "transactions-table"
	KindAny               = "*" // operations without resource-level permissions (ListQueues, GetMetricData)
	kindIndexSep          = "/index/"
	kindUnknownPrefix     = "unknown:"
)

// KindSSMParameter is the kind of the SSM parameter named by the environment
// variable env (STRIPE_WEBHOOK_SECRET_PARAM -> "ssm-parameter:STRIPE_WEBHOOK_SECRET_PARAM").
func KindSSMParameter(env string) string { return "ssm-parameter:" + env }

// KindIndex is the kind of a table's secondary index.
func KindIndex(tableKind, index string) string { return tableKind + kindIndexSep + index }

// IsUnknown reports whether a kind names a resource the recorder could not
// classify.
func IsUnknown(kind string) bool { return strings.HasPrefix(kind, kindUnknownPrefix) }

// ssmParamEnvs are the variables whose values are SSM parameter names.
var ssmParamEnvs = []string{config.EnvStripeSecretParam, config.EnvMonetbilSecretParam}

// Recorder appends each distinct record of one process to its own file.
type Recorder struct {
	component string
	getenv    func(string) string
	path      string

	mu   sync.Mutex
	seen map[Record]bool
	err  error
}

// New returns a recorder writing under dir, or nil when dir is empty.
func New(dir, component string, getenv func(string) string) *Recorder {
	if dir == "" {
		return nil
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := fmt.Sprintf("%d-%s.jsonl", os.Getpid(), hex.EncodeToString(b))
	return &Recorder{component: component, getenv: getenv, path: filepath.Join(dir, name), seen: map[Record]bool{}}
}

// Middleware returns the SDK stack option that records every operation
// before it is sent (retries are not counted twice: Initialize runs once per
// call), whether or not AWS would then accept it.
func (r *Recorder) Middleware() func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("IAMRecord",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				r.Observe(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), in.Parameters)
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	}
}

// Observe records one operation with its input.
func (r *Recorder) Observe(serviceID, operation string, input any) {
	for _, rec := range Records(r.component, serviceID, operation, input, r.getenv) {
		r.write(rec)
	}
}

// Err returns the first error met writing the recording.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// write appends at once, line by line: Lambda emulators and tests end
// processes with SIGKILL, so nothing may wait for an exit.
func (r *Recorder) write(rec Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[rec] || r.err != nil {
		return
	}
	r.seen[rec] = true
	line, _ := json.Marshal(rec)
	f, err := os.OpenFile(r.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		r.err = err
		fmt.Fprintf(os.Stderr, "iamrecord: %v\n", err)
		return
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		r.err = err
		fmt.Fprintf(os.Stderr, "iamrecord: %v\n", err)
	}
}

// Records returns what one operation needs from IAM: an action per resource
// it touches. Batch and transaction APIs are authorised per item action
// (SendMessageBatch as sqs:SendMessage, TransactWriteItems as PutItem,
// UpdateItem, ... on each table), as the services' IAM references say.
func Records(component, serviceID, operation string, input any, getenv func(string) string) []Record {
	prefix := servicePrefix(serviceID)
	c := classifier{getenv: getenv}
	var out []Record
	add := func(op, kind string) {
		out = append(out, Record{Component: component, Action: prefix + ":" + op, Resource: kind})
	}
	v := reflect.Indirect(reflect.ValueOf(input))
	switch prefix {
	case "sqs":
		sqsRecords(c, operation, v, add)
	case "dynamodb":
		dynamoDBRecords(c, operation, v, add)
	case "ssm":
		ssmRecords(c, operation, v, add)
	default:
		add(operation, KindAny)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Action+out[i].Resource < out[j].Action+out[j].Resource })
	return out
}

func sqsRecords(c classifier, operation string, v reflect.Value, add func(op, kind string)) {
	op := strings.TrimSuffix(operation, "Batch") // SendMessageBatch -> SendMessage, ...
	switch {
	case str(v, "QueueUrl") != "":
		add(op, c.queue(str(v, "QueueUrl")))
	case str(v, "SourceArn") != "": // message move tasks are authorised on their source
		add(op, c.queue(str(v, "SourceArn")))
	case str(v, "QueueName") != "":
		add(op, c.queue(str(v, "QueueName")))
	case operation == "CancelMessageMoveTask":
		// The handle is opaque; the hub only ever moves messages out of its DLQ.
		add(op, KindDLQ)
	default:
		add(op, KindAny)
	}
}

func dynamoDBRecords(c classifier, operation string, v reflect.Value, add func(op, kind string)) {
	switch operation {
	case "TransactWriteItems":
		for _, item := range field(v, "TransactItems") {
			for name, action := range map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"} {
				if t := str(reflect.Indirect(fieldValue(item, name)), "TableName"); t != "" {
					add(action, c.table(t))
				}
			}
		}
	case "TransactGetItems":
		for _, item := range field(v, "TransactItems") {
			if t := str(reflect.Indirect(fieldValue(item, "Get")), "TableName"); t != "" {
				add("GetItem", c.table(t))
			}
		}
	case "BatchGetItem", "BatchWriteItem":
		for _, t := range mapKeys(v, "RequestItems") {
			add(operation, c.table(t))
		}
	default:
		kind := KindAny
		if t := str(v, "TableName"); t != "" {
			kind = c.table(t)
			if idx := str(v, "IndexName"); idx != "" {
				kind = KindIndex(kind, idx)
			}
		}
		add(operation, kind)
	}
}

func ssmRecords(c classifier, operation string, v reflect.Value, add func(op, kind string)) {
	names := strs(v, "Names")
	if n := str(v, "Name"); n != "" {
		names = append(names, n)
	}
	if len(names) == 0 {
		add(operation, KindAny)
	}
	for _, n := range names {
		add(operation, c.parameter(n))
	}
}

// servicePrefix maps an SDK service ID to its IAM service prefix.
func servicePrefix(serviceID string) string {
	switch serviceID {
	case "CloudWatch":
		return "cloudwatch"
	case "CloudWatch Logs":
		return "logs"
	case "EventBridge":
		return "events"
	}
	return strings.ToLower(strings.ReplaceAll(serviceID, " ", ""))
}

type classifier struct{ getenv func(string) string }

// lastSegment is a queue's name from its URL or ARN, or a table's name from its ARN.
func lastSegment(s string) string {
	s = strings.TrimRight(s, "/")
	if i := strings.LastIndexAny(s, "/:"); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (c classifier) queue(ref string) string {
	name := lastSegment(ref)
	switch name {
	case lastSegment(c.getenv(config.EnvQueueURL)):
		return KindQueue
	case lastSegment(c.getenv(config.EnvDLQURL)):
		return KindDLQ
	}
	switch {
	case strings.HasSuffix(name, "-failed-jobs") || strings.Contains(name, "dlq"):
		return KindDLQ
	case strings.HasSuffix(name, "-events"):
		return KindQueue
	}
	return kindUnknownPrefix + "queue " + name
}

func (c classifier) table(ref string) string {
	name := lastSegment(ref)
	events, txs := c.getenv(config.EnvEventsTable), c.getenv(config.EnvTransactionsTable)
	switch {
	case name == events || (events == "" && name == config.DefaultEventsTable):
		return KindEventsTable
	case name == txs || (txs == "" && name == config.DefaultTransactionsTable):
		return KindTransactionsTable
	}
	return kindUnknownPrefix + "table " + name
}

func (c classifier) parameter(name string) string {
	for _, env := range ssmParamEnvs {
		if v := strings.TrimSpace(c.getenv(env)); v != "" && v == name {
			return KindSSMParameter(env)
		}
	}
	return kindUnknownPrefix + "parameter " + name
}

// Reflection keeps the recorder independent of each service's input types:
// the SDK names these fields the same in every service.
func fieldValue(v reflect.Value, name string) reflect.Value {
	v = reflect.Indirect(v)
	if v.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.FieldByName(name)
}

func str(v reflect.Value, name string) string {
	f := fieldValue(v, name)
	if !f.IsValid() {
		return ""
	}
	f = reflect.Indirect(f)
	if f.Kind() != reflect.String {
		return ""
	}
	return f.String()
}

func strs(v reflect.Value, name string) []string {
	f := fieldValue(v, name)
	if !f.IsValid() || f.Kind() != reflect.Slice {
		return nil
	}
	var out []string
	for i := 0; i < f.Len(); i++ {
		if e := reflect.Indirect(f.Index(i)); e.Kind() == reflect.String {
			out = append(out, e.String())
		}
	}
	return out
}

func field(v reflect.Value, name string) []reflect.Value {
	f := fieldValue(v, name)
	if !f.IsValid() || f.Kind() != reflect.Slice {
		return nil
	}
	out := make([]reflect.Value, f.Len())
	for i := range out {
		out[i] = f.Index(i)
	}
	return out
}

func mapKeys(v reflect.Value, name string) []string {
	f := fieldValue(v, name)
	if !f.IsValid() || f.Kind() != reflect.Map {
		return nil
	}
	var out []string
	for _, k := range f.MapKeys() {
		if k.Kind() == reflect.String {
			out = append(out, k.String())
		}
	}
	sort.Strings(out)
	return out
}

// ReadDir reads every recording under dir.
func ReadDir(dir string) ([]Record, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if line == "" {
				continue
			}
			var r Record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}
