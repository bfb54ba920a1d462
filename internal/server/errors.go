package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// sentence makes an error text a sentence: capital first, full stop last.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// apiError is every error answer: {"error": code, "message": sentence, ...}.
type apiError struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
	Header  http.Header
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func fail(status int, code, message string) *apiError {
	return &apiError{Status: status, Code: code, Message: message}
}

// storeUnavailable is the answer whenever Redis does not: 503 with a
// Retry-After, which Zendesk (and any sensible client) retries.
func storeUnavailable(message string) *apiError {
	e := fail(http.StatusServiceUnavailable, "store_unavailable", message)
	e.Header = http.Header{"Retry-After": {"5"}}
	return e
}

func (e *apiError) with(k string, v any) *apiError {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[k] = v
	return e
}

// routerCodes names the router's own errors in the same shape as ours.
var routerCodes = map[int][2]string{
	http.StatusNotFound:              {"not_found", "There is nothing at this path; see the README for the bridge's routes."},
	http.StatusMethodNotAllowed:      {"method_not_allowed", "This path does not take that method."},
	http.StatusRequestEntityTooLarge: {"body_too_large", "The request body is too large."},
	http.StatusUnsupportedMediaType:  {"unsupported_media_type", "Send JSON."},
}

// errorHandler replaces Echo's {"message": ...} with the bridge's shape.
func (s *server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code, msg := "error", http.StatusText(he.Code)
			if rc, ok := routerCodes[he.Code]; ok {
				code, msg = rc[0], rc[1]
			}
			ae = &apiError{Status: he.Code, Code: code, Message: msg}
		} else {
			ae = fail(http.StatusInternalServerError, "internal_error", "The bridge failed unexpectedly; the error is in its log.")
			s.Log.Error().Err(err).Str("method", c.Request().Method).Str("path", c.Request().URL.Path).Msg("request failed unexpectedly")
		}
	}
	body := map[string]any{}
	for k, v := range ae.Details {
		body[k] = v
	}
	body["error"], body["message"] = ae.Code, ae.Message
	for k, vs := range ae.Header {
		for _, v := range vs {
			c.Response().Header().Add(k, v)
		}
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(ae.Status)
		return
	}
	_ = c.JSON(ae.Status, body)
}
