package main

import (
	"strconv"
	"sync/atomic"
	"time"
)

// jsonWriter writes JSON as Swift's JSONEncoder does for Swiftlet's DTOs: nil optionals
// left out, '/' escaped as "\/", non-ASCII written as UTF-8, no HTML escaping.
type jsonWriter struct {
	buffer []byte
	first  bool
}

func newJSON() *jsonWriter { return &jsonWriter{buffer: make([]byte, 0, 1024)} }

func (w *jsonWriter) open() *jsonWriter  { w.buffer = append(w.buffer, '{'); w.first = true; return w }
func (w *jsonWriter) close() *jsonWriter { w.buffer = append(w.buffer, '}'); w.first = false; return w }

func (w *jsonWriter) key(name string) *jsonWriter {
	if !w.first {
		w.buffer = append(w.buffer, ',')
	}
	w.first = false
	w.buffer = append(w.buffer, '"')
	w.buffer = append(w.buffer, name...)
	w.buffer = append(w.buffer, '"', ':')
	return w
}

func (w *jsonWriter) str(name, value string) *jsonWriter {
	w.key(name)
	w.buffer = appendJSONString(w.buffer, value)
	return w
}

func (w *jsonWriter) optStr(name string, value *string) *jsonWriter {
	if value != nil {
		w.str(name, *value)
	}
	return w
}

func (w *jsonWriter) num(name string, value int64) *jsonWriter {
	w.key(name)
	w.buffer = strconv.AppendInt(w.buffer, value, 10)
	return w
}

func (w *jsonWriter) boolean(name string, value bool) *jsonWriter {
	w.key(name)
	w.buffer = strconv.AppendBool(w.buffer, value)
	return w
}

func (w *jsonWriter) time(name string, milliseconds int64) *jsonWriter {
	return w.str(name, rfc3339(milliseconds))
}

func (w *jsonWriter) optTime(name string, milliseconds *int64) *jsonWriter {
	if milliseconds != nil {
		w.time(name, *milliseconds)
	}
	return w
}

// array starts "name":[ ; elements call element() before each one.
func (w *jsonWriter) array(name string) *jsonWriter {
	w.key(name)
	w.buffer = append(w.buffer, '[')
	w.first = true
	return w
}

func (w *jsonWriter) element() *jsonWriter {
	if !w.first {
		w.buffer = append(w.buffer, ',')
	}
	w.first = true
	return w
}

func (w *jsonWriter) endArray() *jsonWriter {
	w.buffer = append(w.buffer, ']')
	w.first = false
	return w
}

const hexDigits = "0123456789abcdef"

func appendJSONString(buffer []byte, text string) []byte {
	buffer = append(buffer, '"')
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch c {
		case '"':
			buffer = append(buffer, '\\', '"')
		case '\\':
			buffer = append(buffer, '\\', '\\')
		case '/':
			buffer = append(buffer, '\\', '/')
		case '\n':
			buffer = append(buffer, '\\', 'n')
		case '\r':
			buffer = append(buffer, '\\', 'r')
		case '\t':
			buffer = append(buffer, '\\', 't')
		case '\b':
			buffer = append(buffer, '\\', 'b')
		case '\f':
			buffer = append(buffer, '\\', 'f')
		default:
			if c < 0x20 {
				buffer = append(buffer, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			} else {
				buffer = append(buffer, c)
			}
		}
	}
	return append(buffer, '"')
}

// rfc3339 formats Unix milliseconds as Swiftlet's RFC3339.string does: UTC, always
// three fractional digits, "Z".
func rfc3339(milliseconds int64) string {
	return time.UnixMilli(milliseconds).UTC().Format("2006-01-02T15:04:05.000Z")
}

// apiError is Swiftlet's error body: {"error":{"code","message","requestId"}}.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code }

var (
	errTokenMissing     = &apiError{401, "auth.token_missing", "An access token is required (Authorization: Bearer …)."}
	errTokenInvalid     = &apiError{401, "auth.token_invalid", "The access token is malformed or its signature is not valid."}
	errTokenExpired     = &apiError{401, "auth.token_expired", "The access token has expired; refresh it."}
	errTokenNotYetValid = &apiError{401, "auth.token_not_yet_valid", "The access token is not valid yet."}
	errTokenAudience    = &apiError{401, "auth.token_audience", "The access token was issued for another audience."}
	errTokenIssuer      = &apiError{401, "auth.token_issuer", "The access token was issued by another issuer."}
)

func invalid(code, message string) *apiError  { return &apiError{400, code, message} }
func conflict(code, message string) *apiError { return &apiError{409, code, message} }

var requestCounter atomic.Uint64

func requestID() string { return "peer-" + strconv.FormatUint(requestCounter.Add(1), 36) }

func (e *apiError) body(id string) []byte {
	w := newJSON().open().key("error").open()
	w.str("code", e.code).str("message", e.message).str("requestId", id)
	return w.close().close().buffer
}
