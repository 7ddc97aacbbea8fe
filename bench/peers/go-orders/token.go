package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// verifier checks HS256 access tokens as Swiftlet's JWTAccessTokenCodec does: the header's
// kid and alg, the signature, iss, aud, and exp/iat with a leeway. Like Swiftlet it keeps
// tokens already verified (bounded; reset when full), so a repeated token costs a lookup
// and the time checks.
type verifier struct {
	secret                []byte
	kid, issuer, audience string
	leeway                time.Duration
	mutex                 sync.RWMutex
	verified              map[string]claims
}

type claims struct {
	Sub string          `json:"sub"`
	Sid string          `json:"sid"`
	Jti string          `json:"jti"`
	Iat float64         `json:"iat"`
	Exp float64         `json:"exp"`
	Nbf *float64        `json:"nbf"`
	Iss string          `json:"iss"`
	Aud json.RawMessage `json:"aud"`
}

func newVerifier(secret []byte, kid, issuer, audience string, leeway time.Duration) *verifier {
	return &verifier{secret: secret, kid: kid, issuer: issuer, audience: audience, leeway: leeway, verified: map[string]claims{}}
}

// bearer extracts the token of an "Authorization: Bearer …" header, scheme case-insensitive.
func bearer(header string) (string, bool) {
	if len(header) <= 7 || !strings.EqualFold(header[:6], "bearer") || header[6] != ' ' {
		return "", false
	}
	token := strings.Trim(header[7:], " \t")
	return token, token != ""
}

func (v *verifier) verify(token string, now time.Time) (string, *apiError) {
	v.mutex.RLock()
	cached, ok := v.verified[token]
	v.mutex.RUnlock()
	if ok {
		if failure := v.checkTime(cached, now); failure != nil {
			return "", failure
		}
		return cached.Sub, nil
	}
	if len(token) > 4096 {
		return "", errTokenInvalid
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errTokenInvalid
	}
	headerBytes, err := base64.RawURLEncoding.DecodeString(parts[0])
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err != nil || json.Unmarshal(headerBytes, &header) != nil || header.Kid != v.kid || header.Alg != "HS256" {
		return "", errTokenInvalid
	}
	signature, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", errTokenInvalid
	}
	mac := hmac.New(sha256.New, v.secret)
	mac.Write([]byte(token[:len(parts[0])+1+len(parts[1])]))
	if !hmac.Equal(signature, mac.Sum(nil)) {
		return "", errTokenInvalid
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c claims
	if err != nil || json.Unmarshal(payload, &c) != nil || c.Sub == "" || c.Exp == 0 {
		return "", errTokenInvalid
	}
	if failure := v.checkTime(c, now); failure != nil {
		return "", failure
	}
	if c.Iss != v.issuer {
		return "", errTokenIssuer
	}
	if !v.audienceMatches(c.Aud) {
		return "", errTokenAudience
	}
	v.mutex.Lock()
	if len(v.verified) >= 50000 {
		v.verified = map[string]claims{}
	}
	v.verified[token] = c
	v.mutex.Unlock()
	return c.Sub, nil
}

func (v *verifier) audienceMatches(raw json.RawMessage) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == v.audience
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, audience := range many {
			if audience == v.audience {
				return true
			}
		}
	}
	return false
}

func (v *verifier) checkTime(c claims, now time.Time) *apiError {
	seconds := float64(now.UnixNano()) / 1e9
	leeway := v.leeway.Seconds()
	if seconds-c.Exp > leeway {
		return errTokenExpired
	}
	if c.Nbf != nil && *c.Nbf-seconds > leeway {
		return errTokenNotYetValid
	}
	if c.Iat-seconds > leeway {
		return errTokenNotYetValid
	}
	return nil
}
