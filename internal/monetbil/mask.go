package monetbil

import (
	"encoding/json"
	"regexp"
	"strings"
)

// Personal data Monetbil sends about the payer: never logged or stored in
// clear. Names and emails are hidden; phone numbers keep enough to match a
// customer (MaskMSISDN).
var personalFields = map[string]string{
	"msisdn": "phone", "phone": "phone", "phone_number": "phone", "customer_phone": "phone",
	"email": "email", "customer_email": "email",
	"first_name": "name", "last_name": "name", "name": "name", "customer_name": "name", "user": "name",
}

// MaskField returns a field's value as it may be logged or stored.
func MaskField(name, value string) string {
	switch personalFields[strings.ToLower(name)] {
	case "phone":
		return MaskMSISDN(value)
	case "email":
		if _, domain, ok := strings.Cut(value, "@"); ok {
			return "***@" + domain
		}
		return maskAll(value)
	case "name":
		return maskAll(value)
	}
	return value
}

func maskAll(s string) string {
	if s == "" {
		return ""
	}
	return "***"
}

var (
	longDigits = regexp.MustCompile(`\+?\d{9,}`)
	emails     = regexp.MustCompile(`[^\s"'<>@,;:]+@[^\s"'<>@,;:]+`)
)

// maskBody masks an answer before any of it is quoted in an error: the
// personal fields of a JSON answer by name, and in any answer every run of
// 9 or more digits (a phone number) and every email address.
func maskBody(body []byte) []byte {
	var v any
	if json.Unmarshal(body, &v) == nil {
		if masked, err := json.Marshal(maskJSON("", v)); err == nil {
			body = masked
		}
	}
	body = emails.ReplaceAllFunc(body, func(m []byte) []byte { return []byte(MaskField("email", string(m))) })
	return longDigits.ReplaceAllFunc(body, func(m []byte) []byte { return []byte(MaskMSISDN(string(m))) })
}

func maskJSON(name string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = maskJSON(k, e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = maskJSON(name, e)
		}
		return x
	case string:
		return MaskField(name, x)
	}
	if _, personal := personalFields[strings.ToLower(name)]; personal && v != nil {
		return "***"
	}
	return v
}
