package main

// Prices: AWS list prices for us-east-1, as docs/COST.md states them.
const (
	priceAPIPerM       = 1.00         // HTTP API, per million requests
	priceLambdaReqPerM = 0.20         // per million invocations
	priceLambdaGBs     = 0.0000133334 // arm64, per GB-second
	priceSQSPerM       = 0.40         // per million requests
	priceWRUPerM       = 0.625        // DynamoDB on demand, per million write units
	priceLogsPerGB     = 0.50         // CloudWatch Logs ingestion, Standard class
	ingestGB           = 0.125        // 128 MB
	processorGB        = 0.25         // 256 MB
	logBytesPerWebhook = 406 + 26     // the ingest's accepted line with its EMF block, measured with ids of Stripe's length, no time field (CloudWatch stamps it) + CloudWatch's per-event overhead
	logBytesPerEvent   = 521 + 26     // the processor's applied line with its EMF block, measured likewise + overhead
	accessLogBytes     = 427          // API Gateway access log line, when api_access_log is on
	duplicateFraction  = 0.02         // deliveries that repeat an event
	failedOnceFraction = 0.01         // events whose first attempt fails
	stripeShare        = 0.7          // of events; the rest Monetbil
	stripeEventsPerTxn = 3.0          // webhooks per Stripe payment: one index write per payment
	ingestSecondsOnAWS = 0.02
)

// WritesPerEvent after the store redesign: Stripe 1 write (+ the index entry of its
// payment's first event), Monetbil 2 (its binding: when checkPayment does not name the
// payment's payment_ref, which Monetbil's documented answer does not; 1 when it does).
func WritesPerEvent(stripe float64) float64 {
	return stripe*(1+1/stripeEventsPerTxn) + (1-stripe)*2
}

// Bill is a cost broken down by service, in dollars.
type Bill struct {
	API, Ingest, SQS, Processor, DynamoDB, Logs float64
}

// Total is the sum.
func (b Bill) Total() float64 { return b.API + b.Ingest + b.SQS + b.Processor + b.DynamoDB + b.Logs }

// Units are what a run (or a million webhooks) consumes.
type Units struct {
	APIRequests, IngestInvocations, SQSRequests, ProcessorInvocations float64
	ProcessorSeconds, WriteUnits, Events                              float64
	FunctionURL, AccessLog                                            bool
}

// Price turns units into dollars.
func Price(u Units) Bill {
	var b Bill
	if !u.FunctionURL {
		b.API = u.APIRequests * priceAPIPerM / 1e6
	}
	b.Ingest = u.IngestInvocations*priceLambdaReqPerM/1e6 + u.IngestInvocations*ingestSecondsOnAWS*ingestGB*priceLambdaGBs
	b.SQS = u.SQSRequests * priceSQSPerM / 1e6
	b.Processor = u.ProcessorInvocations*priceLambdaReqPerM/1e6 + u.ProcessorInvocations*u.ProcessorSeconds*processorGB*priceLambdaGBs
	b.DynamoDB = u.WriteUnits * priceWRUPerM / 1e6
	logBytes := u.IngestInvocations*logBytesPerWebhook + u.Events*logBytesPerEvent
	if u.AccessLog && !u.FunctionURL {
		logBytes += u.APIRequests * accessLogBytes
	}
	b.Logs = logBytes / 1e9 * priceLogsPerGB
	return b
}

// PerMillion is docs/COST.md's P6 for one million events: the busy-hours shape (batches fill
// to batch_size) or a trickle (rate webhooks/s, batches of what one window gathers).
func PerMillion(s Settings, busy bool, rate float64, functionURL, accessLog bool) (Bill, Units) {
	const m = 1e6
	deliveries := m * (1 + duplicateFraction)
	attempts := deliveries + m*failedOnceFraction
	var perBatch, receives, batchSeconds float64
	if busy {
		perBatch = float64(s.BatchSize)
		receives = attempts / perBatch
		batchSeconds = 0.04 // ten Stripe events at once, one write each (terraform/main.tf)
	} else {
		// A long-polling receive returns each message as it arrives; the window gathers
		// rate x window of them (at least one) into an invocation.
		perBatch = max(1, min(float64(s.BatchSize), rate*s.Window))
		receives = attempts
		batchSeconds = 0.02
	}
	invocations := attempts / perBatch
	u := Units{
		APIRequests: deliveries, IngestInvocations: deliveries,
		// SendMessage per delivery, the mapping's receives and DeleteMessageBatch per batch,
		// ChangeMessageVisibility per failed attempt.
		SQSRequests:          deliveries + receives + invocations + m*failedOnceFraction,
		ProcessorInvocations: invocations, ProcessorSeconds: batchSeconds,
		// Applied events, a duplicate's failed condition, a failed attempt's record.
		WriteUnits:  m*WritesPerEvent(stripeShare) + m*duplicateFraction + m*failedOnceFraction,
		Events:      attempts,
		FunctionURL: functionURL, AccessLog: accessLog,
	}
	return Price(u), u
}
