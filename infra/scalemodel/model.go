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
	var r Result
	apiTokens, acctTokens := s.APIBurst, s.AccountAPIBurst
	var visible, hidden []cohort
	var running []invocation
	var offeredAcc float64
	failAcc := 0.0
	enqueue := func(n int, t float64) {
		// Which of these fail: a deterministic share, so that counts are exact.
		failAcc += float64(n) * s.FailingFraction
		f := int(failAcc)
		failAcc -= float64(f)
		if n-f > 0 {
			visible = append(visible, cohort{n: n - f, enq: t})
		}
		if f > 0 {
			visible = append(visible, cohort{n: f, enq: t, failing: true})
		}
	}
	if tr.Queued > 0 {
		enqueue(tr.Queued, 0)
	}
	// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html: the mapping starts
	// with 5 concurrent batches, adds up to 300 concurrent invocations a minute while messages
	// wait, up to 1,250 (or maximum_concurrency).
	limit := float64(min(s.MaxConcurrency, 1250))
	esmLimit := math.Min(5, limit)
	windowOpen := -1.0
	waiting := 0 // visible messages a poller holds while its window fills
	tableWrites := 0.0
	var sec Point
	maxT := tr.Duration + 4*3600
	for step := 0; ; step++ {
		t := float64(step) * dt
		// 1. Offered webhooks through the stage and account throttles (token buckets:
		// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html).
		if t < tr.Duration {
			rate := tr.Rate(t)
			offeredAcc += rate * dt
			n := int(offeredAcc)
			offeredAcc -= float64(n)
			apiTokens = math.Min(s.APIBurst, apiTokens+s.APIRate*dt)
			acctTokens = math.Min(s.AccountAPIBurst, acctTokens+s.AccountAPIRate*dt)
			ok := int(math.Min(float64(n), math.Min(apiTokens, acctTokens)))
			apiTokens -= float64(ok)
			acctTokens -= float64(ok)
			r.Offered += n
			r.Throttled429 += n - ok
			sec.Offered += float64(n)
			sec.Throttled += float64(n - ok)
			// 2. The ingest's concurrency: rate x duration (Little's law) against its cap
			// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).
			capIngest := float64(s.AccountConcurrency - s.Reserved)
			if s.IngestReserved >= 0 {
				capIngest = float64(s.IngestReserved)
			}
			maxPerStep := int(capIngest / s.IngestSeconds * dt)
			if ok > maxPerStep {
				r.IngestThrottled += ok - maxPerStep
				ok = maxPerStep
			}
			r.Accepted += ok
			if ok > 0 {
				enqueue(ok, t)
			}
		}
		// 3. Hidden messages come back when their visibility timeout or backoff ends
		// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html).
		keep := hidden[:0]
		for _, c := range hidden {
			if c.visibleAt <= t {
				visible = append(visible, c)
			} else {
				keep = append(keep, c)
			}
		}
		hidden = keep
		// 4. Finished invocations: successes deleted (ReportBatchItemFailures), failures hidden
		// for their backoff with ChangeMessageVisibility
		// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
		stillRunning := running[:0]
		for _, inv := range running {
			if inv.end > t {
				stillRunning = append(stillRunning, inv)
				continue
			}
			for _, c := range inv.msgs {
				writes := float64(c.n) * s.WritesPerEvent
				// Writes beyond what the table serves this second are throttled: the job fails
				// (transient) and retries on the backoff schedule.
				throttled := c.failing || tableWrites+writes > s.TableWrites
				if throttled {
					b := s.Backoff[min(c.rc, len(s.Backoff))-1]
					c.visibleAt = t + b
					hidden = append(hidden, c)
					r.VisibilityChanges += c.n
					r.WriteUnits += float64(c.n) // the failure record
					tableWrites += float64(c.n)
					continue
				}
				tableWrites += writes
				r.WriteUnits += writes
				r.Processed += c.n
			}
			r.Deletes++
		}
		running = stillRunning
		// 5. The mapping's pollers receive batches while slots are free.
		vis := count(visible)
		if vis > 0 && esmLimit < limit {
			esmLimit = math.Min(limit, esmLimit+300.0/60*dt)
		}
		if vis > 0 && windowOpen < 0 {
			windowOpen = t
		}
		for len(running) < int(esmLimit) && count(visible) > 0 {
			if count(visible) < s.BatchSize && t-windowOpen < s.Window && t < tr.Duration+s.Window {
				// A poller holds what it has while the window fills; a long-polling receive
				// returns as soon as a message arrives, so each arrival meanwhile is a receive.
				if n := count(visible); n > waiting {
					r.Receives++
					waiting = n
				}
				break
			}
			batch := take(&visible, s.BatchSize)
			windowOpen = -1
			if waiting == 0 {
				r.Receives++
			}
			waiting = 0
			var deliver []cohort
			for _, c := range batch {
				// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html:
				// a message whose receive count would exceed maxReceiveCount goes to the DLQ
				// instead of being delivered.
				if c.rc >= s.MaxReceive {
					r.DLQ += c.n
					continue
				}
				c.rc++
				r.Attempts += c.n
				deliver = append(deliver, c)
			}
			if len(deliver) == 0 {
				continue
			}
			r.Invocations++
			// Reserved concurrency below the mapping's concurrency throttles the invocation: the
			// receive has already counted, and the batch comes back after the visibility timeout
			// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
			if len(running) >= s.Reserved {
				for _, c := range deliver {
					c.visibleAt = t + s.VisibilityTimeout
					hidden = append(hidden, c)
					r.WastedReceives += c.n
				}
				continue
			}
			running = append(running, invocation{end: t + s.BatchSeconds, msgs: deliver})
		}
		depth := count(visible) + count(hidden)
		for _, inv := range running {
			depth += count(inv.msgs)
		}
		age := 0.0
		for _, cs := range [][]cohort{visible, hidden} {
			for _, c := range cs {
				age = math.Max(age, t-c.enq)
			}
		}
		r.MaxDepth = max(r.MaxDepth, depth)
		r.MaxAge = math.Max(r.MaxAge, age)
		if (step+1)%int(1/dt) == 0 {
			sec.T, sec.Depth, sec.OldestAge, sec.ProcessorConcurrent = t, depth, age, len(running)
			r.Series = append(r.Series, sec)
			sec = Point{}
			tableWrites = 0 // per-second capacity
		}
		if t >= tr.Duration && depth == 0 {
			r.DrainSeconds = math.Max(0, t-tr.Duration)
			return r
		}
		if t > maxT {
			r.DrainSeconds = math.Inf(1)
			return r
		}
	}
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
