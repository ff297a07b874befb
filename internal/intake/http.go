package intake

import (
	"errors"
	"io"
	"net/http"
)

// ServeHTTP serves the intake as a plain net/http handler with the same
// routes and answers as the API Gateway Lambda.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		req.BodyTooLarge = true
	case err != nil:
		http.Error(w, "could not read the request body", http.StatusBadRequest)
		return
	}
	req.Body = body
	resp := s.Handle(r.Context(), req)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}
