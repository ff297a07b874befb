package main

import (
	"math"
)

// Settings are the Terraform settings and measured quantities the model
// runs on. Defaults() mirrors terraform/variables.tf.
type Settings struct {
	APIRate, APIBurst float64 // the $default stage's throttle (api_throttling_rate_limit, _burst_limit)

	// Account quotas, defaults per region.
	AccountAPIRate, AccountAPIBurst float64
	AccountConcurrency              int

	IngestSeconds  float64 // one ingest invocation on AWS
	IngestReserved int     // ingest_reserved_concurrency, -1 unreserved

	BatchSize      int
	Window         float64 // maximum_batching_window_in_seconds
	MaxConcurrency int     // the mapping's maximum_concurrency
	Reserved       int     // the processor's reserved concurrency
	BatchSeconds   float64 // one processor invocation on a full batch

	VisibilityTimeout float64
	MaxReceive        int
	Backoff           []float64

	WritesPerEvent float64 // DynamoDB write units per applied event
	TableWrites    float64 // write units/s the tables serve at once (on demand, new table: 4,000)

	// FailingFraction of events fail on every attempt (a dependency down).
	FailingFraction float64
}

// Defaults returns the Terraform defaults with the per-batch time assumed
// from BENCHMARKS.md P4 (terraform/main.tf, batch_seconds_assumed).
func Defaults() Settings {
	return Settings{
		APIRate: 1000, APIBurst: 2000,
		// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html:
		// 10,000 requests/s per account and region, burst 5,000.
		AccountAPIRate: 10000, AccountAPIBurst: 5000,
		// https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html: 1,000 concurrent
		// executions per account and region by default.
		AccountConcurrency: 1000,
		IngestSeconds:      0.02, IngestReserved: -1,
		BatchSize: 10, Window: 10, MaxConcurrency: 40, Reserved: 40, BatchSeconds: 0.25,
		VisibilityTimeout: 60, MaxReceive: 3, Backoff: []float64{10, 30, 60},
		// internal/store after the redesign (cost.go).
		WritesPerEvent: WritesPerEvent(stripeShare),
		// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html:
		// a new on-demand table serves up to 4,000 writes/s at once; beyond, it doubles its
		// previous peak within 30 minutes.
		TableWrites: 4000,
	}
}

// Traffic is a shape of offered webhooks.
type Traffic struct {
	Name     string
	Rate     func(t float64) float64 // offered webhooks/s at time t
	Duration float64                 // seconds of offered traffic
	Queued   int                     // messages already in the queue at t=0 (a replay, a redrive)
}

// Steady offers rate/s for d seconds.
func Steady(name string, rate, d float64) Traffic {
	return Traffic{Name: name, Rate: func(float64) float64 { return rate }, Duration: d}
}

// Burst offers base/s, and peak/s from start for length seconds.
func Burst(name string, base, peak, start, length, d float64) Traffic {
	return Traffic{Name: name, Duration: d, Rate: func(t float64) float64 {
		if t >= start && t < start+length {
			return peak
		}
		return base
	}}
}

// Point is the state at one second.
type Point struct {
	T                   float64
	Offered, Throttled  float64 // per second
	Depth               int     // visible + in flight
	OldestAge           float64 // seconds
	ProcessorConcurrent int
}

// Result is what one run predicts.
type Result struct {
	Offered, Accepted, Throttled429, IngestThrottled int
	Processed, DLQ                                   int
	Receives, Attempts, WastedReceives               int // WastedReceives: a receive that spends an attempt without running the job
	Invocations, Deletes, VisibilityChanges          int
	WriteUnits                                       float64
	MaxDepth                                         int
	MaxAge                                           float64
	DrainSeconds                                     float64 // after the traffic ends, until nothing is left but the DLQ
	Series                                           []Point
}

type cohort struct {
	n         int
	enq       float64
	rc        int     // receives so far
	visibleAt float64 // when hidden: the time it reappears
	failing   bool
}

type invocation struct {
	end  float64
	msgs []cohort
}

const dt = 0.05

// Run simulates the pipeline second by second in steps of dt.
func Run(s Settings, tr Traffic) Result {
	m := &sim{s: s, tr: tr, apiTokens: s.APIBurst, acctTokens: s.AccountAPIBurst, windowOpen: -1,
		// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html: the mapping
		// starts with 5 concurrent batches, adds up to 300 concurrent invocations a minute while
		// messages wait, up to 1,250 (or maximum_concurrency).
		limit: float64(min(s.MaxConcurrency, 1250))}
	m.esmLimit = math.Min(5, m.limit)
	if tr.Queued > 0 {
		m.enqueue(tr.Queued, 0)
	}
	maxT := tr.Duration + 4*3600
	for step := 0; ; step++ {
		t := float64(step) * dt
		if t < tr.Duration {
			m.offer(t)
		}
		m.reveal(t)
		m.finish(t)
		m.poll(t)
		depth := m.sample(step, t)
		if t >= tr.Duration && depth == 0 {
			m.r.DrainSeconds = math.Max(0, t-tr.Duration)
			return m.r
		}
		if t > maxT {
			m.r.DrainSeconds = math.Inf(1)
			return m.r
		}
	}
}

// sim is the state of one run.
type sim struct {
	s  Settings
	tr Traffic
	r  Result

	apiTokens, acctTokens float64
	visible, hidden       []cohort
	running               []invocation
	offeredAcc, failAcc   float64
	limit, esmLimit       float64
	windowOpen            float64
	waiting               int     // visible messages a poller holds while its window fills
	tableWrites           float64 // this second's
	sec                   Point
}

// enqueue adds n accepted messages; a deterministic share of them fails,
// so that counts are exact.
func (m *sim) enqueue(n int, t float64) {
	m.failAcc += float64(n) * m.s.FailingFraction
	f := int(m.failAcc)
	m.failAcc -= float64(f)
	if n-f > 0 {
		m.visible = append(m.visible, cohort{n: n - f, enq: t})
	}
	if f > 0 {
		m.visible = append(m.visible, cohort{n: f, enq: t, failing: true})
	}
}

// offer: 1. offered webhooks through the stage and account throttles (token
// buckets: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html);
// 2. the ingest's concurrency: rate x duration (Little's law) against its cap
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).
func (m *sim) offer(t float64) {
	s := m.s
	m.offeredAcc += m.tr.Rate(t) * dt
	n := int(m.offeredAcc)
	m.offeredAcc -= float64(n)
	m.apiTokens = math.Min(s.APIBurst, m.apiTokens+s.APIRate*dt)
	m.acctTokens = math.Min(s.AccountAPIBurst, m.acctTokens+s.AccountAPIRate*dt)
	ok := int(math.Min(float64(n), math.Min(m.apiTokens, m.acctTokens)))
	m.apiTokens -= float64(ok)
	m.acctTokens -= float64(ok)
	m.r.Offered += n
	m.r.Throttled429 += n - ok
	m.sec.Offered += float64(n)
	m.sec.Throttled += float64(n - ok)
	capIngest := float64(s.AccountConcurrency - s.Reserved)
	if s.IngestReserved >= 0 {
		capIngest = float64(s.IngestReserved)
	}
	if maxPerStep := int(capIngest / s.IngestSeconds * dt); ok > maxPerStep {
		m.r.IngestThrottled += ok - maxPerStep
		ok = maxPerStep
	}
	m.r.Accepted += ok
	if ok > 0 {
		m.enqueue(ok, t)
	}
}

// reveal: 3. hidden messages come back when their visibility timeout or
// backoff ends
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html).
func (m *sim) reveal(t float64) {
	keep := m.hidden[:0]
	for _, c := range m.hidden {
		if c.visibleAt <= t {
			m.visible = append(m.visible, c)
		} else {
			keep = append(keep, c)
		}
	}
	m.hidden = keep
}

// finish: 4. finished invocations: successes deleted
// (ReportBatchItemFailures), failures hidden for their backoff with
// ChangeMessageVisibility
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
func (m *sim) finish(t float64) {
	s := m.s
	stillRunning := m.running[:0]
	for _, inv := range m.running {
		if inv.end > t {
			stillRunning = append(stillRunning, inv)
			continue
		}
		for _, c := range inv.msgs {
			writes := float64(c.n) * s.WritesPerEvent
			// Writes beyond what the table serves this second are throttled: the job fails
			// (transient) and retries on the backoff schedule.
			if c.failing || m.tableWrites+writes > s.TableWrites {
				c.visibleAt = t + s.Backoff[min(c.rc, len(s.Backoff))-1]
				m.hidden = append(m.hidden, c)
				m.r.VisibilityChanges += c.n
				m.r.WriteUnits += float64(c.n) // the failure record
				m.tableWrites += float64(c.n)
				continue
			}
			m.tableWrites += writes
			m.r.WriteUnits += writes
			m.r.Processed += c.n
		}
		m.r.Deletes++
	}
	m.running = stillRunning
}

// poll: 5. the mapping's pollers receive batches while slots are free.
func (m *sim) poll(t float64) {
	s := m.s
	if vis := count(m.visible); vis > 0 {
		if m.esmLimit < m.limit {
			m.esmLimit = math.Min(m.limit, m.esmLimit+300.0/60*dt)
		}
		if m.windowOpen < 0 {
			m.windowOpen = t
		}
	}
	for len(m.running) < int(m.esmLimit) && count(m.visible) > 0 {
		if count(m.visible) < s.BatchSize && t-m.windowOpen < s.Window && t < m.tr.Duration+s.Window {
			// A poller holds what it has while the window fills; a long-polling receive
			// returns as soon as a message arrives, so each arrival meanwhile is a receive.
			if n := count(m.visible); n > m.waiting {
				m.r.Receives++
				m.waiting = n
			}
			return
		}
		batch := take(&m.visible, s.BatchSize)
		m.windowOpen = -1
		if m.waiting == 0 {
			m.r.Receives++
		}
		m.waiting = 0
		m.deliver(t, batch)
	}
}

// deliver hands a received batch to an invocation. A message whose receive
// count would exceed maxReceiveCount goes to the DLQ instead of being
// delivered
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
func (m *sim) deliver(t float64, batch []cohort) {
	s := m.s
	var deliver []cohort
	for _, c := range batch {
		if c.rc >= s.MaxReceive {
			m.r.DLQ += c.n
			continue
		}
		c.rc++
		m.r.Attempts += c.n
		deliver = append(deliver, c)
	}
	if len(deliver) == 0 {
		return
	}
	m.r.Invocations++
	// Reserved concurrency below the mapping's concurrency throttles the invocation: the
	// receive has already counted, and the batch comes back after the visibility timeout
	// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
	if len(m.running) >= s.Reserved {
		for _, c := range deliver {
			c.visibleAt = t + s.VisibilityTimeout
			m.hidden = append(m.hidden, c)
			m.r.WastedReceives += c.n
		}
		return
	}
	m.running = append(m.running, invocation{end: t + s.BatchSeconds, msgs: deliver})
}

// sample records the queue's depth and oldest age, and each second's point
// of the series; it returns the depth.
func (m *sim) sample(step int, t float64) int {
	depth := count(m.visible) + count(m.hidden)
	for _, inv := range m.running {
		depth += count(inv.msgs)
	}
	age := 0.0
	for _, cs := range [][]cohort{m.visible, m.hidden} {
		for _, c := range cs {
			age = math.Max(age, t-c.enq)
		}
	}
	m.r.MaxDepth = max(m.r.MaxDepth, depth)
	m.r.MaxAge = math.Max(m.r.MaxAge, age)
	if (step+1)%int(1/dt) == 0 {
		m.sec.T, m.sec.Depth, m.sec.OldestAge, m.sec.ProcessorConcurrent = t, depth, age, len(m.running)
		m.r.Series = append(m.r.Series, m.sec)
		m.sec = Point{}
		m.tableWrites = 0 // per-second capacity
	}
	return depth
}

func count(cs []cohort) int {
	n := 0
	for _, c := range cs {
		n += c.n
	}
	return n
}

// take removes up to n messages from the front of q.
func take(q *[]cohort, n int) []cohort {
	var out []cohort
	for n > 0 && len(*q) > 0 {
		c := &(*q)[0]
		k := min(n, c.n)
		part := *c
		part.n = k
		out = append(out, part)
		c.n -= k
		n -= k
		if c.n == 0 {
			*q = (*q)[1:]
		}
	}
	return out
}
