import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SwiftletCore
import SwiftletTransport

/// `POST /api/v1/pay/wechat/notify`: WeChat Pay's payment and refund notifications.
///
/// WeChat's rules, not ours, shape the answers: 204 once the notification is verified
/// and recorded; a 4xx with `{"code":"FAIL","message":…}` when it cannot be verified or
/// decrypted (nothing is changed); a 5xx with the same body when we could not record it,
/// so WeChat delivers it again. The signature is checked over the raw bytes received.
public struct PaymentNotifyRoute: Sendable {
    public static let path = "/api/v1/pay/wechat/notify"
    let verifier: any PaymentNotificationVerifier
    let payments: PaymentService
    let logger: Logger
    /// Told each notification's kind (`payment`, `refund`) and whether it was `accepted`
    /// or `rejected` (not verified, or not recorded): the metrics counter.
    let counted: @Sendable (_ kind: String, _ outcome: String) -> Void

    public init(verifier: any PaymentNotificationVerifier, payments: PaymentService, logger: Logger,
                counted: @escaping @Sendable (_ kind: String, _ outcome: String) -> Void = { _, _ in }) {
        self.verifier = verifier
        self.payments = payments
        self.logger = logger
        self.counted = counted
    }

    /// The kind a notification claims in its plaintext `event_type` (`REFUND.…` or a
    /// payment), read without trusting it: only to label a rejection.
    static func claimedKind(_ body: [UInt8]) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let type = object["event_type"] as? String else { return "payment" }
        return type.hasPrefix("REFUND.") ? "refund" : "payment"
    }

    public func register(on router: Router<SwiftletRequestContext>) {
        router.post(RouterPath(Self.path)) { request, context -> Response in
            let buffer = try await request.body.collect(upTo: min(context.maxUploadSize, 64 * 1024))
            let body = Array(buffer.readableBytesView)
            let headers = request.headers
            let notification: PaymentNotification
            do {
                notification = try await verifier.verify(header: { name in HTTPField.Name(name).flatMap { headers[$0] } }, body: body)
            } catch let error as SwiftletError {
                // `reason` tells clock skew (pay.notify_stale_timestamp), a missing platform key
                // (pay.notify_unknown_serial), forgery (pay.notify_signature_invalid) and a
                // wrong APIv3 key (pay.notify_undecryptable) apart.
                logger.warning("payment notification rejected", metadata: [
                    "reason": .string(error.code), "requestId": .string(context.requestID),
                ])
                counted(Self.claimedKind(body), "rejected")
                return Self.fail(error.kind == .unauthenticated ? .unauthorized : .badRequest, error.message)
            }
            let kind: String
            switch notification {
            case .transaction: kind = "payment"
            case .refund: kind = "refund"
            }
            do {
                try await payments.handle(notification)
            } catch {
                logger.error("payment notification could not be recorded; WeChat will retry", metadata: [
                    "error": .string(ErrorLog.describe(error)), "requestId": .string(context.requestID),
                ])
                counted(kind, "rejected")
                return Self.fail(.internalServerError, "temporarily unable to process")
            }
            counted(kind, "accepted")
            return Response(status: .noContent)
        }
    }

    static func fail(_ status: HTTPResponse.Status, _ message: String) -> Response {
        var body = "{\"code\":\"FAIL\",\"message\":"
        JSONText.appendString(message, to: &body)
        body.append("}")
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
