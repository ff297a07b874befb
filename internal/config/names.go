package config

import "strings"

// Names are the resources `hubctl setup` and `hubctl dev` create, from the
// same variables the functions read.
type Names struct {
	QueueName, DLQName string
	Tables             Tables
}

// LoadNames reads QUEUE_URL or QUEUE_NAME, DLQ_URL or DLQ_NAME, and the
// table variables, with the documented defaults. A queue URL names its
// queue by its last path element.
func LoadNames(getenv Getenv) Names {
	n := Names{
		QueueName: orDefault(getenv(EnvQueueName), DefaultQueueName),
		DLQName:   orDefault(getenv(EnvDLQName), DefaultDLQName),
		Tables:    LoadTables(getenv),
	}
	if u := strings.TrimSpace(getenv(EnvQueueURL)); u != "" {
		n.QueueName = lastElement(u)
	}
	if u := strings.TrimSpace(getenv(EnvDLQURL)); u != "" {
		n.DLQName = lastElement(u)
	}
	return n
}

func lastElement(u string) string {
	u = strings.TrimRight(u, "/")
	return u[strings.LastIndex(u, "/")+1:]
}
