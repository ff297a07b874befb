// Package apigateway adapts API Gateway HTTP API (payload format 2.0) events
// to the intake service. It only translates: routing, verification and
// enqueueing live in package intake.
package apigateway

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/payments-hub/hub/internal/intake"
)

// Handler returns the Lambda handler for svc.
func Handler(svc *intake.Service) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		resp := svc.Handle(ctx, Request(ev))
		return Response(resp), nil
	}
}

// Request converts an API Gateway v2 event. A base64-encoded body is decoded
// first: the signature covers the bytes the provider sent, not their
// encoding.
func Request(ev events.APIGatewayV2HTTPRequest) intake.Request {
	h := http.Header{}
	for k, v := range ev.Headers {
		// API Gateway joins repeated headers with commas; keep them as sent.
		h.Set(k, v)
	}
	req := intake.Request{
		Method: ev.RequestContext.HTTP.Method,
		Path:   ev.RawPath,
		Header: h,
	}
	if req.Path == "" {
		req.Path = ev.RequestContext.HTTP.Path
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			// A body API Gateway encoded cannot be undecodable; treat it as
			// a body that cannot verify rather than failing the invocation.
			decoded = []byte(ev.Body)
		}
		body = decoded
	}
	if len(body) > intake.MaxBodyBytes {
		req.BodyTooLarge = true
		body = nil
	}
	req.Body = body
	return req
}

// Response converts an intake response.
func Response(r intake.Response) events.APIGatewayV2HTTPResponse {
	out := events.APIGatewayV2HTTPResponse{StatusCode: r.Status, Body: string(r.Body)}
	if len(r.Header) > 0 {
		out.Headers = make(map[string]string, len(r.Header))
		for k, v := range r.Header {
			out.Headers[k] = strings.Join(v, ", ")
		}
	}
	return out
}
