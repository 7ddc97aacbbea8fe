package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// verifyToken checks an HS256 JWT's signature and expiry with the standard library and
// returns its subject: the same work Swiftlet does for every authenticated request.
func verifyToken(token string, secret []byte, now time.Time) (string, error) {
	first := strings.IndexByte(token, '.')
	last := strings.LastIndexByte(token, '.')
	if first <= 0 || last <= first {
		return "", errors.New("malformed token")
	}
	signature, err := base64.RawURLEncoding.DecodeString(token[last+1:])
	if err != nil {
		return "", errors.New("malformed signature")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(token[:last]))
	if !hmac.Equal(mac.Sum(nil), signature) {
		return "", errors.New("bad signature")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if raw, err := base64.RawURLEncoding.DecodeString(token[:first]); err != nil || json.Unmarshal(raw, &header) != nil || header.Alg != "HS256" {
		return "", errors.New("bad header")
	}
	var claims struct {
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}
	raw, err := base64.RawURLEncoding.DecodeString(token[first+1 : last])
	if err != nil || json.Unmarshal(raw, &claims) != nil || claims.Sub == "" {
		return "", errors.New("bad claims")
	}
	if claims.Exp <= now.Unix() {
		return "", errors.New("expired")
	}
	return claims.Sub, nil
}

// bearer returns the token of an `Authorization: Bearer …` header, or "".
func bearer(header string) string {
	const prefix = "Bearer "
	if len(header) > len(prefix) && strings.EqualFold(header[:len(prefix)], prefix) {
		return header[len(prefix):]
	}
	return ""
}
