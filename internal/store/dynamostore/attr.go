package dynamostore

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Every attribute name in an expression is written as #name and aliased,
// so that no attribute ever collides with one of DynamoDB's several hundred
// reserved words (status, token, ...). namesIn builds the alias map from the
// expressions themselves: DynamoDB refuses an alias that no expression uses.
var aliasPattern = regexp.MustCompile(`#[a-z_]+`)

func namesIn(exprs ...string) map[string]string {
	names := map[string]string{}
	for _, e := range exprs {
		for _, alias := range aliasPattern.FindAllString(e, -1) {
			names[alias] = alias[1:]
		}
	}
	return names
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func boolean(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }

// timestamp is how times are stored: RFC 3339 with nanoseconds, in UTC, so
// that the strings also sort in time order.
func timestamp(t time.Time) types.AttributeValue {
	return str(t.UTC().Format(time.RFC3339Nano))
}

// reader decodes an item's attributes, remembering the first error so that
// a decoder reads like a list of fields. A missing attribute is the zero
// value; an attribute of the wrong type or an unparsable one is an error.
type reader struct {
	item map[string]types.AttributeValue
	err  error
}

func (r *reader) fail(name string, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("attribute %s: %s", name, fmt.Sprintf(format, args...))
	}
}

func (r *reader) str(name string) string {
	v, ok := r.item[name]
	if !ok {
		return ""
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		r.fail(name, "want a string, got %T", v)
		return ""
	}
	return s.Value
}

func (r *reader) num(name string) int64 {
	v, ok := r.item[name]
	if !ok {
		return 0
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		r.fail(name, "want a number, got %T", v)
		return 0
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		r.fail(name, "want an integer, got %q", n.Value)
		return 0
	}
	return i
}

func (r *reader) boolean(name string) bool {
	v, ok := r.item[name]
	if !ok {
		return false
	}
	b, ok := v.(*types.AttributeValueMemberBOOL)
	if !ok {
		r.fail(name, "want a boolean, got %T", v)
		return false
	}
	return b.Value
}

func (r *reader) time(name string) time.Time {
	s := r.str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		r.fail(name, "want an RFC 3339 time, got %q", s)
		return time.Time{}
	}
	return t.UTC()
}

func (r *reader) unixMilli(name string) time.Time {
	if _, ok := r.item[name]; !ok {
		return time.Time{}
	}
	return time.UnixMilli(r.num(name)).UTC()
}

func (r *reader) unixSeconds(name string) time.Time {
	if _, ok := r.item[name]; !ok {
		return time.Time{}
	}
	return time.Unix(r.num(name), 0).UTC()
}
