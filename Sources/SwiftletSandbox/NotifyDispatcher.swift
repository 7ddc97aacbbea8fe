import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwiftletCore

/// Sending notifies (§4.5) the way WeChat does: one envelope per event (same `id` and
/// ciphertext on every retry), freshly signed headers per attempt, 5 s to answer, 200 or 204
/// to acknowledge, otherwise a retry after each delay of the schedule. (AsyncHTTPClient keeps
/// retrying a refused connection until the deadline, so an unreachable URL fails after the
/// timeout, like a merchant that does not answer.)
extension WeChatPaySandbox {
    struct NotifyEvent: Sendable {
        var eventID = UUID().uuidString.lowercased()
        var eventType: String
        var summary: String
        var originalType: String
        var associatedData: String
        /// The plaintext resource (JSON), encrypted into the envelope.
        var resource: [UInt8]
        var url: String
        var outTradeNo: String
        var outRefundNo: String?
    }

    /// A genuine notify as WeChat would POST it: the envelope with `resource` (plaintext JSON
    /// bytes) encrypted under the APIv3 key, and the signed `Wechatpay-*` headers. Tests
    /// tamper with the result to check the merchant refuses it.
    public func signedNotification(
        eventType: String, resource: [UInt8], originalType: String, associatedData: String,
        summary: String? = nil, eventID: String = UUID().uuidString.lowercased()
    ) throws -> (headers: [(String, String)], body: [UInt8]) {
        let event = NotifyEvent(
            eventID: eventID, eventType: eventType,
            summary: summary ?? (eventType.hasPrefix("REFUND.") ? "退款成功" : "支付成功"),
            originalType: originalType, associatedData: associatedData, resource: resource, url: "", outTradeNo: "")
        let body = try envelope(event)
        return (notifyHeaders(body: body), body)
    }

    func envelope(_ event: NotifyEvent) throws -> [UInt8] {
        let nonce = WeChatPayWire.alphanumeric(12)
        let ciphertext = try WeChatPayWire.encrypt(
            event.resource, apiV3Key: credentials.apiV3Key, nonce: nonce, associatedData: event.associatedData)
        return WeChatPayWire.serialize([
            "id": event.eventID, "create_time": WeChatPayWire.rfc3339(now), "resource_type": "encrypt-resource",
            "event_type": event.eventType, "summary": event.summary,
            "resource": [
                "original_type": event.originalType, "algorithm": "AEAD_AES_256_GCM", "ciphertext": ciphertext,
                "associated_data": event.associatedData, "nonce": nonce,
            ],
        ] as [String: Any])
    }

    /// `signature` replaces the genuine one (signature probes).
    func notifyHeaders(body: [UInt8], signature: String? = nil) -> [(String, String)] {
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let nonce = WeChatPayWire.alphanumeric(32)
        let genuine = (try? WeChatPayWire.sign(
            WeChatPayWire.responseMessage(timestamp: timestamp, nonce: nonce, body: body), with: keys.platformPrivateKey)) ?? ""
        return [
            ("Content-Type", "application/json"),
            ("User-Agent", "Mozilla/4.0"),
            ("Wechatpay-Timestamp", timestamp),
            ("Wechatpay-Nonce", nonce),
            ("Wechatpay-Signature", signature ?? genuine),
            ("Wechatpay-Serial", notifySerial()),
            ("Wechatpay-Signature-Type", WeChatPayWire.authorizationScheme),
        ]
    }

    /// Sends `event` in the background (tracked: `shutdown()` cancels it).
    func send(_ event: NotifyEvent) {
        track { await self.deliver(event) }
    }

    /// Delivers `event`, retrying per `notifyRetrySchedule` until acknowledged or out of retries.
    func deliver(_ event: NotifyEvent) async {
        let body: [UInt8]
        do {
            body = try envelope(event)
        } catch {
            return
        }
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            let headers = notifyHeaders(body: body)
            let (status, failure) = await post(event.url, headers: headers, body: body)
            let acknowledged = status == 200 || status == 204
            record(event, attempt: attempt, status: status, error: failure, acknowledged: acknowledged, probe: false,
                   headers: headers)
            guard !acknowledged, attempt <= notifyRetrySchedule.count else { return }
            do {
                try await Task.sleep(for: notifyRetrySchedule[attempt - 1])
            } catch {
                return
            }
        }
    }

    /// Sends the order's TRANSACTION.SUCCESS notify once with a deliberately wrong
    /// `WECHATPAY/SIGNTEST/` signature, as WeChat does to check merchants really verify. The
    /// merchant must refuse it (not 200/204); no retries. Nil for an unpaid or unknown order.
    public func sendSignatureProbe(outTradeNo: String) async -> NotifyDelivery? {
        guard let order = state.withLock({ $0.orders[outTradeNo] }), order.transactionID != nil,
              let body = try? envelope(transactionEvent(order)) else { return nil }
        let probe = "WECHATPAY/SIGNTEST/" + Data(RandomID.randomBytes(192)).base64EncodedString()
        let headers = notifyHeaders(body: body, signature: probe)
        let (status, failure) = await post(order.notifyURL, headers: headers, body: body)
        return record(transactionEvent(order), attempt: 1, status: status, error: failure,
                      acknowledged: status == 200 || status == 204, probe: true, headers: headers)
    }

    func transactionEvent(_ order: Order) -> NotifyEvent {
        NotifyEvent(
            eventType: "TRANSACTION.SUCCESS", summary: "支付成功", originalType: "transaction", associatedData: "transaction",
            resource: WeChatPayWire.serialize(order.json()), url: order.notifyURL, outTradeNo: order.outTradeNo)
    }

    @discardableResult
    private func record(
        _ event: NotifyEvent, attempt: Int, status: Int?, error: String?, acknowledged: Bool, probe: Bool,
        headers: [(String, String)]
    ) -> NotifyDelivery {
        let delivery = NotifyDelivery(
            eventID: event.eventID, eventType: event.eventType, outTradeNo: event.outTradeNo, outRefundNo: event.outRefundNo,
            url: event.url, attempt: attempt, status: status, error: error, acknowledged: acknowledged,
            isSignatureProbe: probe, serial: headers.first { $0.0 == "Wechatpay-Serial" }?.1 ?? "", at: Date())
        state.withLock { $0.deliveries.append(delivery) }
        return delivery
    }

    private func post(_ url: String, headers: [(String, String)], body: [UInt8]) async -> (Int?, String?) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = HTTPHeaders(headers)
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let timeout = notifyTimeout.components
            let response = try await httpClient.execute(
                request, timeout: .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000))
            _ = try? await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), nil)
        } catch {
            return (nil, String(describing: error))
        }
    }

    // MARK: - Background work

    /// Runs `operation` as a tracked task; refused after `shutdown()`.
    func track(_ operation: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            guard !state.isShutDown else { return }
            let id = state.nextTaskID
            state.nextTaskID += 1
            state.tasks[id] = Task {
                await operation()
                _ = self.state.withLock { $0.tasks.removeValue(forKey: id) }
            }
        }
    }

    /// Waits until no notify or refund completion is in flight (including retries).
    public func waitUntilIdle() async {
        while true {
            let tasks = state.withLock { Array($0.tasks.values) }
            if tasks.isEmpty { return }
            for task in tasks { await task.value }
        }
    }

    /// Cancels pending notifies, retries and refund completions, and refuses new ones.
    public func shutdown() async {
        let tasks = state.withLock { state in
            state.isShutDown = true
            return Array(state.tasks.values)
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }
}
