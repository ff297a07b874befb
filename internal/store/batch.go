package store

// EventRef names one event record: the provider and the provider's event
// key, the record's key in every store.
type EventRef struct {
	Provider string
	EventKey string
}
