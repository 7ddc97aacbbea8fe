package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

type app struct {
	store              store
	tokens             *verifier
	unpaidTimeout      time.Duration
	maxQuantityPerItem int
}

func (a *app) fail(w http.ResponseWriter, err error) {
	var failure *apiError
	if !errors.As(err, &failure) {
		log.Printf("internal error: %v", err)
		failure = &apiError{500, "internal", "Something went wrong on our side."}
	}
	id := requestID()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Request-Id", id)
	w.WriteHeader(failure.status)
	w.Write(failure.body(id))
}

func (a *app) send(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Request-Id", requestID())
	w.WriteHeader(status)
	w.Write(body)
}

// products answers the first page of GET /api/v1/products: on-shelf, not deleted, newest
// first, 20 a page, SKUs by position, with the next page's cursor.
func (a *app) products(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "", http.StatusMethodNotAllowed)
		return
	}
	const limit = 20
	var body []byte
	err := a.store.read(r.Context(), func(q querier) error {
		rows, err := q.query(r.Context(), `SELECT id, title, description, image_url, on_shelf, created_at, updated_at
			FROM products WHERE deleted_at IS NULL AND on_shelf = $1 ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(limit+1), true)
		if err != nil {
			return err
		}
		products := make([]product, 0, limit+1)
		for rows.Next() {
			var p product
			if err := rows.Scan(&p.id, &p.title, &p.description, &p.imageURL, &p.onShelf, &p.createdAt, &p.updatedAt); err != nil {
				rows.Close()
				return err
			}
			products = append(products, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var next *string
		if len(products) > limit {
			products = products[:limit]
			last := products[limit-1]
			cursor := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.createdAt, 10) + ":" + last.id))
			next = &cursor
		}
		if len(products) > 0 {
			ids := make([]interface{}, len(products))
			index := make(map[string]int, len(products))
			for i, p := range products {
				ids[i] = p.id
				index[p.id] = i
			}
			rows, err := q.query(r.Context(), `SELECT id, product_id, title, price_fen, stock FROM skus
				WHERE product_id IN (`+placeholders(1, len(ids))+`) ORDER BY product_id, position`, ids...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var s sku
				var productID string
				if err := rows.Scan(&s.id, &productID, &s.title, &s.priceFen, &s.stock); err != nil {
					rows.Close()
					return err
				}
				products[index[productID]].skus = append(products[index[productID]].skus, s)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		out := newJSON().open().array("items")
		for _, p := range products {
			p.write(out.element())
		}
		out.endArray().optStr("nextCursor", next).close()
		body = out.buffer
		return nil
	})
	if err != nil {
		a.fail(w, err)
		return
	}
	a.send(w, http.StatusOK, body)
}

type sku struct {
	id, title       string
	priceFen, stock int64
}

type product struct {
	id, title, description string
	imageURL               *string
	onShelf                bool
	createdAt, updatedAt   int64
	skus                   []sku
}

func (p product) write(w *jsonWriter) {
	w.open().str("id", p.id).str("title", p.title).str("description", p.description).optStr("imageUrl", p.imageURL).
		boolean("onShelf", p.onShelf)
	if len(p.skus) > 0 {
		lowest := p.skus[0].priceFen
		for _, s := range p.skus {
			if s.priceFen < lowest {
				lowest = s.priceFen
			}
		}
		w.num("priceFen", lowest)
	}
	w.array("skus")
	for _, s := range p.skus {
		w.element().open().str("id", s.id).str("title", s.title).num("priceFen", s.priceFen).num("stock", s.stock).close()
	}
	w.endArray().time("createdAt", p.createdAt).time("updatedAt", p.updatedAt).close()
}

// placeholders gives "$first, …" for count parameters.
func placeholders(first, count int) string {
	var b strings.Builder
	for i := 0; i < count; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(first + i))
	}
	return b.String()
}

type orderRequest struct {
	Items *[]struct {
		SkuID    *string `json:"skuId"`
		Quantity *int64  `json:"quantity"`
	} `json:"items"`
}

// orders is POST /api/v1/orders: token, body, validation, then OrderService.create's work.
func (a *app) orders(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "", http.StatusMethodNotAllowed)
		return
	}
	token, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		a.fail(w, errTokenMissing)
		return
	}
	userID, failure := a.tokens.verify(token, time.Now())
	if failure != nil {
		a.fail(w, failure)
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		a.fail(w, err)
		return
	}
	var request orderRequest
	if err := json.Unmarshal(raw, &request); err != nil {
		a.fail(w, invalid("request.malformed_json", "The request body is not valid JSON."))
		return
	}
	if request.Items == nil {
		a.fail(w, invalid("request.missing_field", "Field 'items' is required."))
		return
	}
	lines := make([]line, 0, len(*request.Items))
	for i, item := range *request.Items {
		if item.SkuID == nil {
			a.fail(w, invalid("request.missing_field", "Field 'items["+strconv.Itoa(i)+"].skuId' is required."))
			return
		}
		if item.Quantity == nil {
			a.fail(w, invalid("request.missing_field", "Field 'items["+strconv.Itoa(i)+"].quantity' is required."))
			return
		}
		lines = append(lines, line{skuID: *item.SkuID, quantity: *item.Quantity})
	}
	result, err := a.create(r.Context(), userID, lines, r.Header.Values("Idempotency-Key"))
	if err != nil {
		a.fail(w, err)
		return
	}
	if result.replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		a.send(w, http.StatusOK, result.order.json())
		return
	}
	w.Header().Set("Location", "/api/v1/orders/"+result.order.id)
	a.send(w, http.StatusCreated, result.order.json())
}

type line struct {
	skuID    string
	quantity int64
}

const maxAmountFen = 100_000_000

func isIdentifier(text string) bool {
	if len(text) < 1 || len(text) > 64 {
		return false
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validate applies CommerceValidation.idempotencyKey and .lines in Swiftlet's order.
func (a *app) validate(keys []string, lines []line) (string, *apiError) {
	if len(keys) == 0 || keys[0] == "" {
		return "", invalid("order.idempotency_key_required", "Send an Idempotency-Key header (1–64 visible ASCII characters) so a retried request cannot create a second order.")
	}
	key := strings.Join(keys, ", ")
	if len(key) > 64 {
		return "", invalid("order.invalid_idempotency_key", "The Idempotency-Key must be 1–64 visible ASCII characters.")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7E {
			return "", invalid("order.invalid_idempotency_key", "The Idempotency-Key must be 1–64 visible ASCII characters.")
		}
	}
	if len(lines) < 1 || len(lines) > 50 {
		return "", invalid("order.invalid_items", "An order has 1 to 50 items.")
	}
	seen := make(map[string]bool, len(lines))
	for _, l := range lines {
		if !isIdentifier(l.skuID) {
			return "", invalid("order.invalid_sku", "Each item needs a skuId (letters, digits, _ and -).")
		}
		if l.quantity < 1 || l.quantity > int64(a.maxQuantityPerItem) {
			return "", invalid("order.invalid_quantity", "Each quantity must be 1 to "+strconv.Itoa(a.maxQuantityPerItem)+".")
		}
		if seen[l.skuID] {
			return "", invalid("order.duplicate_item", "SKU "+l.skuID+" appears twice; send one line with the total quantity.")
		}
		seen[l.skuID] = true
	}
	return key, nil
}

func randomBase32() string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	var bytes [16]byte
	if _, err := rand.Read(bytes[:]); err != nil {
		panic(err)
	}
	output := make([]byte, 0, 26)
	var buffer uint32
	bits := 0
	for _, b := range bytes {
		buffer = buffer<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			output = append(output, alphabet[(buffer>>(bits-5))&31])
			bits -= 5
		}
	}
	if bits > 0 {
		output = append(output, alphabet[(buffer<<(5-bits))&31])
	}
	return string(output)
}

type orderItem struct {
	skuID, productID, title string
	unitPriceFen, quantity  int64
}

type order struct {
	id, userID, outTradeNo, status              string
	items                                       []orderItem
	totalFen, refundedFen, expiresAt            int64
	paidAt, cancelledAt, shippedAt, completedAt *int64
	cancelReason, trackingNumber                *string
	createdAt, updatedAt                        int64
}

// json is OrderDTO for the buyer.
func (o *order) json() []byte {
	w := newJSON().open().str("id", o.id).str("outTradeNo", o.outTradeNo).str("status", o.status).array("items")
	for _, item := range o.items {
		w.element().open().str("skuId", item.skuID).str("productId", item.productID).str("title", item.title).
			num("unitPriceFen", item.unitPriceFen).num("quantity", item.quantity).num("subtotalFen", item.unitPriceFen*item.quantity).close()
	}
	w.endArray().num("totalFen", o.totalFen).num("refundedFen", o.refundedFen).time("expiresAt", o.expiresAt).
		optTime("paidAt", o.paidAt).optTime("cancelledAt", o.cancelledAt).optStr("cancelReason", o.cancelReason).
		optTime("shippedAt", o.shippedAt).optStr("trackingNumber", o.trackingNumber).optTime("completedAt", o.completedAt).
		time("createdAt", o.createdAt).time("updatedAt", o.updatedAt)
	return w.close().buffer
}

// event is OrderDomainEvents' order.created payload, fields in its order.
func (o *order) createdEvent() string {
	w := newJSON().open().num("version", 1).str("orderId", o.id).str("outTradeNo", o.outTradeNo).str("userId", o.userID).
		str("status", o.status).num("totalFen", o.totalFen).num("refundedFen", o.refundedFen).
		time("createdAt", o.createdAt).time("expiresAt", o.expiresAt).close()
	return string(w.buffer)
}

type creation struct {
	order    *order
	replayed bool
}

type snapshot struct {
	productID, title, productTitle string
	priceFen, stock                int64
	onShelf                        bool
}

func outOfStock(s snapshot) *apiError {
	return conflict("order.out_of_stock", "Not enough stock for "+s.productTitle+" "+s.title+".")
}

// create is OrderService.create + SQLOrderRepository.create: a replay check, then one
// transaction (SKUs read, stock taken in SKU order, order, items, timeout job, outbox
// event), and on any failure a second replay check (a concurrent request with the same
// key may have won).
func (a *app) create(ctx context.Context, userID string, lines []line, keys []string) (*creation, error) {
	key, failure := a.validate(keys, lines)
	if failure != nil {
		return nil, failure
	}
	sorted := append([]line(nil), lines...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].skuID < sorted[j].skuID })
	parts := make([]string, len(sorted))
	for i, l := range sorted {
		parts[i] = l.skuID + "x" + strconv.FormatInt(l.quantity, 10)
	}
	digest := sha256.Sum256([]byte(strings.Join(parts, ",")))
	requestHash := hex.EncodeToString(digest[:])

	if replay, err := a.replay(ctx, userID, key, requestHash); replay != nil || err != nil {
		return replay, err
	}
	created, err := a.createOnce(ctx, userID, key, requestHash, lines, sorted)
	if err != nil {
		if replay, replayErr := a.replay(ctx, userID, key, requestHash); replay != nil || replayErr != nil {
			return replay, replayErr
		}
		return nil, err
	}
	return &creation{order: created}, nil
}

func (a *app) replay(ctx context.Context, userID, key, requestHash string) (*creation, error) {
	var result *creation
	err := a.store.read(ctx, func(q querier) error {
		rows, err := q.query(ctx, "SELECT id, request_hash FROM orders WHERE user_id = $1 AND idempotency_key = $2", userID, key)
		if err != nil {
			return err
		}
		var id, hash string
		found := rows.Next()
		if found {
			err = rows.Scan(&id, &hash)
		}
		rows.Close()
		if err != nil {
			return err
		}
		if err := rows.Err(); err != nil || !found {
			return err
		}
		if hash != requestHash {
			return conflict("order.idempotency_conflict", "This Idempotency-Key was already used for a different order.")
		}
		existing, err := findOrder(ctx, q, id)
		if existing != nil {
			result = &creation{order: existing, replayed: true}
		}
		return err
	})
	return result, err
}

func findOrder(ctx context.Context, q querier, id string) (*order, error) {
	rows, err := q.query(ctx, `SELECT id, user_id, out_trade_no, status, total_fen, refunded_fen, expires_at, paid_at,
		cancelled_at, cancel_reason, shipped_at, tracking_number, completed_at, created_at, updated_at FROM orders WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	var o order
	found := rows.Next()
	if found {
		err = rows.Scan(&o.id, &o.userID, &o.outTradeNo, &o.status, &o.totalFen, &o.refundedFen, &o.expiresAt, &o.paidAt,
			&o.cancelledAt, &o.cancelReason, &o.shippedAt, &o.trackingNumber, &o.completedAt, &o.createdAt, &o.updatedAt)
	}
	rows.Close()
	if err != nil || !found {
		return nil, err
	}
	rows, err = q.query(ctx, `SELECT order_id, sku_id, product_id, title, unit_price_fen, quantity FROM order_items
		WHERE order_id IN ($1) ORDER BY order_id, line`, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var item orderItem
		var orderID string
		if err := rows.Scan(&orderID, &item.skuID, &item.productID, &item.title, &item.unitPriceFen, &item.quantity); err != nil {
			rows.Close()
			return nil, err
		}
		o.items = append(o.items, item)
	}
	rows.Close()
	return &o, rows.Err()
}

func (a *app) createOnce(ctx context.Context, userID, key, requestHash string, lines, sorted []line) (*order, error) {
	var created *order
	err := a.store.write(ctx, func(q querier) error {
		ids := make([]interface{}, len(lines))
		for i, l := range lines {
			ids[i] = l.skuID
		}
		rows, err := q.query(ctx, `SELECT s.id, s.product_id, s.title, s.price_fen, s.stock, p.title AS product_title,
			p.on_shelf AS on_shelf, p.deleted_at AS deleted_at
			FROM skus s JOIN products p ON p.id = s.product_id
			WHERE s.id IN (`+placeholders(1, len(ids))+`)`, ids...)
		if err != nil {
			return err
		}
		snapshots := make(map[string]snapshot, len(lines))
		for rows.Next() {
			var id string
			var s snapshot
			var deletedAt *int64
			if err := rows.Scan(&id, &s.productID, &s.title, &s.priceFen, &s.stock, &s.productTitle, &s.onShelf, &deletedAt); err != nil {
				rows.Close()
				return err
			}
			s.onShelf = s.onShelf && deletedAt == nil
			snapshots[id] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}

		now := time.Now().UnixMilli()
		o := &order{id: "o_" + randomBase32(), userID: userID, outTradeNo: "SL" + strings.ToUpper(randomBase32()),
			status: "pending_payment", expiresAt: now + a.unpaidTimeout.Milliseconds(), createdAt: now, updatedAt: now}
		for _, l := range lines {
			s, ok := snapshots[l.skuID]
			if !ok {
				return invalid("order.unknown_sku", "SKU "+l.skuID+" does not exist.")
			}
			if !s.onShelf {
				return conflict("order.off_shelf", s.productTitle+" is not on sale.")
			}
			if s.stock < l.quantity {
				return outOfStock(s)
			}
			o.items = append(o.items, orderItem{skuID: l.skuID, productID: s.productID, title: s.productTitle + " " + s.title,
				unitPriceFen: s.priceFen, quantity: l.quantity})
			o.totalFen += s.priceFen * l.quantity
		}
		if o.totalFen > maxAmountFen {
			return invalid("order.total_too_large", "The order total exceeds "+strconv.Itoa(maxAmountFen)+" fen.")
		}
		// Fixed lock order (by SKU id) so two multi-item orders cannot deadlock.
		for _, l := range sorted {
			rows, err := q.query(ctx, "UPDATE skus SET stock = stock - $1 WHERE id = $2 AND stock >= $3 RETURNING id",
				l.quantity, l.skuID, l.quantity)
			if err != nil {
				return err
			}
			taken := rows.Next()
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if !taken {
				return outOfStock(snapshots[l.skuID])
			}
		}
		if err := q.exec(ctx, `INSERT INTO orders (id, user_id, out_trade_no, status, total_fen, refunded_fen, expires_at, stock_held,
				idempotency_key, request_hash, version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			o.id, o.userID, o.outTradeNo, o.status, o.totalFen, o.refundedFen, o.expiresAt, true, key, requestHash, 0,
			o.createdAt, o.updatedAt); err != nil {
			return err
		}
		for i, item := range o.items {
			if err := q.exec(ctx, `INSERT INTO order_items (order_id, line, sku_id, product_id, title, unit_price_fen, quantity)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, o.id, i, item.skuID, item.productID, item.title, item.unitPriceFen, item.quantity); err != nil {
				return err
			}
		}
		if err := q.exec(ctx, `INSERT INTO jobs (id, kind, job_key, payload, status, run_at, attempts, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8) ON CONFLICT (kind, job_key) DO NOTHING`,
			"j_"+randomBase32(), "order.payment_timeout", o.id, o.id, o.expiresAt, 0, o.createdAt, o.createdAt); err != nil {
			return err
		}
		rows, err = q.query(ctx, `INSERT INTO event_outbox_head (id, last_position) VALUES (1, $1)
			ON CONFLICT (id) DO UPDATE SET last_position = event_outbox_head.last_position + excluded.last_position
			RETURNING last_position`, int64(1))
		if err != nil {
			return err
		}
		var head int64
		if rows.Next() {
			err = rows.Scan(&head)
		}
		rows.Close()
		if err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := q.exec(ctx, `INSERT INTO event_outbox (position, id, type, version, aggregate_type, aggregate_id, payload, occurred_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			head, "evt_"+randomBase32(), "order.created", 1, "order", o.id, o.createdEvent(), o.createdAt); err != nil {
			return err
		}
		created = o
		return nil
	})
	return created, err
}
