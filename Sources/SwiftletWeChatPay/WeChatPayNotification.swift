import Foundation

/// A verified, decrypted notify from WeChat Pay.
///
/// Payment notifies carry a transaction, refund notifies a refund; the case is chosen by
/// `resource.original_type`, falling back to the `event_type` prefix. `eventID` is WeChat's
/// notify id: the same notify can arrive several times, so processing must be idempotent.
public enum WeChatPayNotification: Sendable, Equatable {
    case transaction(eventID: String, eventType: String, WeChatPayTransaction)
    case refund(eventID: String, eventType: String, WeChatPayRefund)

    public var eventID: String {
        switch self {
        case .transaction(let id, _, _), .refund(let id, _, _): id
        }
    }

    public var eventType: String {
        switch self {
        case .transaction(_, let type, _), .refund(_, let type, _): type
        }
    }

    struct Envelope: Decodable {
        let id: String
        let event_type: String
        let resource_type: String?
        let resource: WeChatPayEncryptedResource
    }

    /// Decrypts and decodes a notify body. Call only after its signature verified:
    /// an unverified body must never reach the decryptor.
    public static func decrypt(verifiedBody body: [UInt8], apiV3Key: String) throws -> WeChatPayNotification {
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: Data(body))
        } catch {
            throw WeChatPayError.malformedNotification("body is not a notify envelope")
        }
        guard envelope.resource.algorithm == WeChatPayEncryptedResource.algorithm else {
            throw WeChatPayError.malformedNotification("unsupported algorithm \(envelope.resource.algorithm)")
        }
        let plaintext = Data(try envelope.resource.decrypt(apiV3Key: apiV3Key))
        let kind = envelope.resource.original_type?.lowercased() ?? ""
        let eventType = envelope.event_type.uppercased()
        do {
            if kind == "transaction" || (kind.isEmpty && eventType.hasPrefix("TRANSACTION.")) {
                let transaction = try JSONDecoder().decode(WeChatPayTransaction.self, from: plaintext)
                return .transaction(eventID: envelope.id, eventType: envelope.event_type, transaction)
            }
            if kind == "refund" || (kind.isEmpty && eventType.hasPrefix("REFUND.")) {
                let refund = try JSONDecoder().decode(WeChatPayRefund.self, from: plaintext)
                return .refund(eventID: envelope.id, eventType: envelope.event_type, refund)
            }
        } catch {
            throw WeChatPayError.malformedNotification("\(kind.isEmpty ? eventType : kind) resource lacks required fields")
        }
        throw WeChatPayError.malformedNotification("unsupported notify type \(envelope.event_type)")
    }
}
