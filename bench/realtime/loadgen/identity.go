package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// identity is one benchmark user: its id (the recipient address of a DM) and a bearer token.
type identity struct {
	id    string
	token string
}

// identities makes n users: minted HS256 JWTs for the peers, sandbox WeChat logins for
// Swiftlet (64 at a time, before anything is measured).
func identities(cfg config, n int, label string) ([]identity, error) {
	if cfg.auth == "swiftlet" {
		return swiftletLogins(cfg, n, label)
	}
	secret := []byte(cfg.secret)
	if len(secret) < 32 {
		return nil, fmt.Errorf("BENCH_JWT_SECRET must be at least 32 bytes")
	}
	out := make([]identity, n)
	exp := time.Now().Add(2 * time.Hour).Unix()
	for i := range out {
		id := fmt.Sprintf("%s-%s-%d", cfg.run, label, i)
		out[i] = identity{id: id, token: mintJWT(secret, id, exp)}
	}
	return out, nil
}

func mintJWT(secret []byte, sub string, exp int64) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims := enc.EncodeToString([]byte(`{"sub":` + strconv.Quote(sub) + `,"iat":` + strconv.FormatInt(time.Now().Unix(), 10) +
		`,"exp":` + strconv.FormatInt(exp, 10) + `}`))
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(header + "." + claims))
	return header + "." + claims + "." + enc.EncodeToString(mac.Sum(nil))
}

// swiftletLogins logs n sandbox users in through POST /api/v1/auth/wechat/login. The
// sandbox's codes are `<name>:<nonce>`, one user per name.
func swiftletLogins(cfg config, n int, label string) ([]identity, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.loginConcurrency}}
	out := make([]identity, n)
	var next, done int64 = -1, 0
	var failure atomic.Value
	var wg sync.WaitGroup
	started := time.Now()
	for w := 0; w < cfg.loginConcurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for failure.Load() == nil {
				i := int(atomic.AddInt64(&next, 1))
				if i >= n {
					return
				}
				var err error
				for attempt := 0; attempt < 3; attempt++ {
					if out[i], err = login(client, cfg.base, fmt.Sprintf("%s-%s-%d:%d", cfg.run, label, i, attempt)); err == nil {
						break
					}
					time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
				}
				if err != nil {
					failure.Store(err)
					return
				}
				if d := atomic.AddInt64(&done, 1); d%5000 == 0 {
					progress("logged in %d/%d users (%.0f/s)", d, n, float64(d)/time.Since(started).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := failure.Load().(error); ok {
		return nil, fmt.Errorf("swiftlet login: %w", err)
	}
	progress("logged in %d users in %.1f s", n, time.Since(started).Seconds())
	return out, nil
}

func login(client *http.Client, base, code string) (identity, error) {
	body, _ := json.Marshal(map[string]string{"code": code, "device": "bench"})
	response, err := client.Post(base+"/api/v1/auth/wechat/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return identity{}, err
	}
	defer response.Body.Close()
	var tokens struct {
		AccessToken string `json:"accessToken"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if response.StatusCode != http.StatusOK && response.StatusCode != http.StatusCreated {
		return identity{}, fmt.Errorf("login answered %d", response.StatusCode)
	}
	if err := json.NewDecoder(response.Body).Decode(&tokens); err != nil || tokens.AccessToken == "" || tokens.User.ID == "" {
		return identity{}, fmt.Errorf("login answer without accessToken and user.id")
	}
	return identity{id: tokens.User.ID, token: tokens.AccessToken}, nil
}
