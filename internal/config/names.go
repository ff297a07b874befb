package config

import (
	"net/url"
	"strings"
)

// Names are the resources `hubctl setup` and `hubctl dev` create, from the
// same variables the functions read.
type Names struct {
	QueueName, DLQName string
	Tables             Tables
}

// LoadNames reads QUEUE_URL or QUEUE_NAME, DLQ_URL or DLQ_NAME, and the
// table variables, with the documented defaults. A queue URL names its
// queue by its last path element (QueueNameFromURL).
func LoadNames(getenv Getenv) Names {
	n := Names{
		QueueName: orDefault(getenv(EnvQueueName), DefaultQueueName),
		DLQName:   orDefault(getenv(EnvDLQName), DefaultDLQName),
		Tables:    LoadTables(getenv),
	}
	if u := strings.TrimSpace(getenv(EnvQueueURL)); u != "" {
		n.QueueName = QueueNameFromURL(u)
	}
	if u := strings.TrimSpace(getenv(EnvDLQURL)); u != "" {
		n.DLQName = QueueNameFromURL(u)
	}
	return n
}

// QueueNameFromURL returns the queue name at the end of a queue URL
// ("https://sqs.eu-west-1.amazonaws.com/123456789012/hub" gives "hub"). It
// also takes a queue ARN, or a bare name, and returns "" when there is none.
func QueueNameFromURL(u string) string {
	s := strings.TrimSpace(u)
	if strings.HasPrefix(s, "arn:") {
		return s[strings.LastIndex(s, ":")+1:]
	}
	if parsed, err := url.Parse(s); err == nil && parsed.Host != "" {
		s = parsed.Path
	}
	s = strings.TrimRight(s, "/")
	return s[strings.LastIndex(s, "/")+1:]
}
