import Foundation
@testable import SwiftletWebhooks
import Testing

/// The Standard Webhooks test vector, as published with the spec's reference libraries
/// (standard-webhooks/standard-webhooks, `libraries/*/` tests) and Svix's: a signature
/// reproduced byte for byte is what says receivers' libraries accept ours; a round trip
/// through our own verifier would pass with the delimiter or the key decoding wrong.
enum StandardWebhooksVector {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let timestamp: Int64 = 1_614_265_330
    static let body = Array(#"{"test": 2432232314}"#.utf8)
    static let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    static var now: Date { Date(timeIntervalSince1970: TimeInterval(timestamp)) }
}

@Suite("Standard Webhooks signing")
struct StandardWebhookSignerTests {
    typealias Vector = StandardWebhooksVector

    @Test func theSpecificationTestVectorReproducesExactly() throws {
        let signer = StandardWebhookSigner(secret: try WebhookSecret(parsing: Vector.secret))
        #expect(signer.signature(id: Vector.id, timestamp: Vector.timestamp, body: Vector.body) == Vector.signature)
        #expect(signer.signature(id: Vector.id, timestamp: Vector.timestamp, body: Data(Vector.body)) == Vector.signature)
    }

    @Test func headersAreTheThreeOfTheSpecInOrder() throws {
        let signer = StandardWebhookSigner(secret: try WebhookSecret(parsing: Vector.secret))
        let headers = signer.headers(id: Vector.id, timestamp: Vector.timestamp, body: Vector.body)
        #expect(headers.fields.map(\.name) == ["webhook-id", "webhook-timestamp", "webhook-signature"])
        #expect(headers.fields.map(\.value) == [Vector.id, "1614265330", Vector.signature])
    }

    @Test func rotationSendsOneSignaturePerSecretNewestFirst() throws {
        let old = try WebhookSecret(parsing: Vector.secret)
        let new = WebhookSecret.generate()
        let both = StandardWebhookSigner(secrets: [new, old])
        let value = both.signature(id: Vector.id, timestamp: Vector.timestamp, body: Vector.body)
        let parts = value.split(separator: " ").map(String.init)
        #expect(parts.count == 2)
        #expect(parts[0] == StandardWebhookSigner.signature(secret: new, id: Vector.id, timestamp: Vector.timestamp, body: Vector.body))
        #expect(parts[1] == Vector.signature)
    }

    @Test func everySignedPartChangesTheSignature() throws {
        let signer = StandardWebhookSigner(secret: try WebhookSecret(parsing: Vector.secret))
        let variants = [
            signer.signature(id: Vector.id + "x", timestamp: Vector.timestamp, body: Vector.body),
            signer.signature(id: Vector.id, timestamp: Vector.timestamp + 1, body: Vector.body),
            signer.signature(id: Vector.id, timestamp: Vector.timestamp, body: Vector.body + [0x20]),
            StandardWebhookSigner(secret: .generate()).signature(id: Vector.id, timestamp: Vector.timestamp, body: Vector.body),
        ]
        #expect(Set(variants + [Vector.signature]).count == 5)
        #expect(variants.allSatisfy { $0.hasPrefix("v1,") && Data(base64Encoded: String($0.dropFirst(3)))?.count == 32 })
    }

    @Test func theTimestampIsWholeSecondsRoundedDown() {
        #expect(StandardWebhookHeaders.timestamp(for: Date(timeIntervalSince1970: 1_614_265_330.999)) == 1_614_265_330)
        #expect(StandardWebhookHeaders.timestamp(for: Date(timeIntervalSince1970: 1_614_265_330)) == 1_614_265_330)
    }
}

@Suite("Standard Webhooks verification")
struct StandardWebhookVerifierTests {
    typealias Vector = StandardWebhooksVector

    func verifier(tolerance: Int64 = StandardWebhookVerifier.defaultTolerance) throws -> StandardWebhookVerifier {
        StandardWebhookVerifier(secret: try WebhookSecret(parsing: Vector.secret), tolerance: tolerance)
    }

    func verify(
        _ verifier: StandardWebhookVerifier, id: String = Vector.id, timestamp: String = "1614265330",
        signature: String = Vector.signature, body: [UInt8] = Vector.body, now: Date = Vector.now
    ) -> StandardWebhookVerificationError? {
        do {
            try verifier.verify(id: id, timestamp: timestamp, signature: signature, body: body, now: now)
            return nil
        } catch {
            return error
        }
    }

    @Test func theSpecificationTestVectorVerifies() throws {
        #expect(verify(try verifier()) == nil)
        let headers = [("Webhook-Id", Vector.id), ("WEBHOOK-TIMESTAMP", "1614265330"), ("webhook-signature", Vector.signature)]
        try verifier().verify(headers: headers, body: Vector.body, now: Vector.now)
    }

    @Test func anyChangeToWhatWasSignedIsRefused() throws {
        let verifier = try verifier()
        #expect(verify(verifier, id: "msg_other") == .noMatchingSignature)
        #expect(verify(verifier, timestamp: "1614265331") == .noMatchingSignature)
        #expect(verify(verifier, body: Array(#"{"test": 2432232315}"#.utf8)) == .noMatchingSignature)
        #expect(verify(verifier, body: Array(#"{"test":2432232314}"#.utf8)) == .noMatchingSignature, "re-encoded JSON")
        #expect(verify(verifier, signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=") == .noMatchingSignature)
        #expect(verify(verifier, signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O") == .noMatchingSignature, "truncated")
        let other = StandardWebhookVerifier(secret: .generate())
        #expect(verify(other) == .noMatchingSignature)
    }

    @Test func theToleranceIsFiveMinutesEitherWayInclusive() throws {
        let verifier = try verifier()
        #expect(verifier.tolerance == 300)
        let signed = Vector.now
        #expect(verify(verifier, now: signed.addingTimeInterval(300)) == nil)
        #expect(verify(verifier, now: signed.addingTimeInterval(300.9)) == nil, "the clock is read in whole seconds")
        #expect(verify(verifier, now: signed.addingTimeInterval(301)) == .timestampTooOld)
        #expect(verify(verifier, now: signed.addingTimeInterval(-300)) == nil)
        #expect(verify(verifier, now: signed.addingTimeInterval(-301)) == .timestampTooNew)
        #expect(verify(verifier, now: signed.addingTimeInterval(86_400)) == .timestampTooOld)

        let strict = try self.verifier(tolerance: 10)
        #expect(verify(strict, now: signed.addingTimeInterval(10)) == nil)
        #expect(verify(strict, now: signed.addingTimeInterval(11)) == .timestampTooOld)
    }

    /// A stale delivery with a bad signature is reported as stale: the window is checked
    /// before any hashing.
    @Test func theWindowIsCheckedBeforeTheSignature() throws {
        #expect(verify(try verifier(), signature: "v1,AAAA", now: Vector.now.addingTimeInterval(3600)) == .timestampTooOld)
    }

    @Test func anyOfSeveralSignaturesMayMatchAndOtherVersionsAreSkipped() throws {
        let verifier = try verifier()
        let forged = "v1,bm9wZQ=="
        #expect(verify(verifier, signature: "\(forged) \(Vector.signature)") == nil)
        #expect(verify(verifier, signature: "\(Vector.signature) \(forged)") == nil)
        #expect(verify(verifier, signature: "v1a,\(Vector.signature.dropFirst(3)) \(Vector.signature)") == nil)
        #expect(verify(verifier, signature: "garbage v1,!!! \(Vector.signature)") == nil)
        #expect(verify(verifier, signature: "v1a,\(Vector.signature.dropFirst(3))") == .noMatchingSignature, "v1a is Ed25519, not HMAC")
        #expect(verify(verifier, signature: "V1,\(Vector.signature.dropFirst(3))") == .noMatchingSignature)
        #expect(verify(verifier, signature: String(Vector.signature.dropFirst(3))) == .noMatchingSignature, "no version")
    }

    @Test func aReceiverWithEitherSecretAcceptsARotatingSender() throws {
        let old = try WebhookSecret(parsing: Vector.secret)
        let new = WebhookSecret.generate()
        let sender = StandardWebhookSigner(secrets: [new, old])
        let signature = sender.signature(id: Vector.id, timestamp: Vector.timestamp, body: Vector.body)
        for receiver in [[old], [new], [new, old], [.generate(), old]] {
            #expect(verify(StandardWebhookVerifier(secrets: receiver), signature: signature) == nil)
        }
        // And a receiver holding both accepts a sender that has already dropped the old one.
        let newOnly = StandardWebhookSigner(secret: new).signature(id: Vector.id, timestamp: Vector.timestamp, body: Vector.body)
        #expect(verify(StandardWebhookVerifier(secrets: [old, new]), signature: newOnly) == nil)
        #expect(verify(StandardWebhookVerifier(secrets: [old]), signature: newOnly) == .noMatchingSignature)
    }

    @Test func missingOrMalformedHeadersAreNamed() throws {
        let verifier = try verifier()
        #expect(verify(verifier, id: "") == .missingHeader("webhook-id"))
        #expect(verify(verifier, timestamp: "") == .missingHeader("webhook-timestamp"))
        #expect(verify(verifier, signature: "") == .missingHeader("webhook-signature"))
        for bad in ["1614265330.0", "+1614265330", "-1", "1.6e9", " 1614265330", "0x60380d32", "99999999999999999999"] {
            #expect(verify(verifier, timestamp: bad) == .invalidTimestamp, "\(bad)")
        }
        #expect(throws: StandardWebhookVerificationError.missingHeader("webhook-signature")) {
            try verifier.verify(headers: [("webhook-id", Vector.id), ("webhook-timestamp", "1614265330")], body: Vector.body, now: Vector.now)
        }
    }

    @Test func constantTimeComparisonComparesWholeValues() {
        #expect(StandardWebhookVerifier.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!StandardWebhookVerifier.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!StandardWebhookVerifier.constantTimeEqual([9, 2, 3], [1, 2, 3]))
        #expect(!StandardWebhookVerifier.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(StandardWebhookVerifier.constantTimeEqual([], []))
    }
}
