import Foundation
import NIOCore
import SwiftletCore
import SwiftletTransport
import Synchronization

/// Verifies signed requests (`RequestSignature`) on the routes configured for it, through
/// the one seam: timestamp within the window, key known and active, signature over the
/// raw body compared in constant time, and the nonce used once — stored in the cluster
/// state (Redis `SET NX` with expiry when shared), so a replay inside the window is
/// refused on every node.
///
/// A route is `required` (unsigned requests refused), `optional` (unsigned requests
/// pass; a signed one must verify) or `off`. When the nonce store or the key store cannot
/// answer, signed requests are refused with 503 `signature.unavailable`: replay protection
/// is never silently dropped.
public final class RequestSigningGuard: RequestGuard {
    public enum Requirement: String, Sendable, CaseIterable {
        case required, optional, off
    }

    /// `pattern` is a route template (`/api/v1/orders/{id}`), or a prefix of templates
    /// ending in `*` (`/api/v1/orders*`). The first rule that matches decides.
    public struct Rule: Sendable, Equatable {
        public let pattern: String
        public let requirement: Requirement

        public init(pattern: String, requirement: Requirement) {
            self.pattern = pattern
            self.requirement = requirement
        }

        func matches(_ route: String) -> Bool {
            pattern.hasSuffix("*") ? route.hasPrefix(pattern.dropLast()) : route == pattern
        }
    }

    let rules: [Rule]
    let window: TimeInterval
    let keys: SigningKeyCache
    let nonces: any ClusterState
    let clock: SwiftletClock
    /// Decisions per route template (a bounded set: templates come from the routes).
    private let decided = Mutex<[String: Requirement]>([:])

    public init(rules: [Rule], window: TimeInterval, keys: SigningKeyCache, nonces: any ClusterState, clock: SwiftletClock) {
        self.rules = rules
        self.window = window
        self.keys = keys
        self.nonces = nonces
        self.clock = clock
    }

    public func requirement(route: String) -> Requirement {
        if let known = decided.withLock({ $0[route] }) { return known }
        let requirement = route == RequestStart.unmatchedRoute ? .off : rules.first { $0.matches(route) }?.requirement ?? .off
        decided.withLock { $0[route] = requirement }
        return requirement
    }

    public func admits(route: String) -> Bool { requirement(route: route) != .off }
    public func needsBody(route: String) -> Bool { true }
    public func end(_ request: RequestStart, _ outcome: RequestOutcome) {}

    public func admit(_ request: RequestStart, body: ByteBuffer?) async -> SwiftletError? {
        do {
            guard let signed = try SignedRequestHeaders.read(
                key: request.headers.first(RequestSignature.keyHeader),
                timestamp: request.headers.first(RequestSignature.timestampHeader),
                nonce: request.headers.first(RequestSignature.nonceHeader),
                signature: request.headers.first(RequestSignature.signatureHeader)) else {
                return requirement(route: request.route) == .required
                    ? SignatureFailure.missing("Sign it as docs/security.md (\"Signed requests\") describes.") : nil
            }
            let now = clock.now
            try signed.checkFresh(now: now, window: window)
            guard let secrets = try await keys.secrets(id: signed.keyID) else { return SignatureFailure.unknownKey }
            let message = RequestSignature.stringToSign(
                method: request.method.rawValue, path: request.path, query: request.query.map { Substring($0) },
                keyID: signed.keyID, timestamp: signed.timestamp, nonce: signed.nonce,
                bodySHA256: RequestSignature.bodySHA256(body.map { Array($0.readableBytesView) } ?? []))
            let verified = secrets.verifying(at: now).reduce(false) { found, secret in
                // Every candidate is computed and compared, so timing does not tell which matched.
                RequestSignature.matches(signed.signature, RequestSignature.signature(message, secret: secret)) || found
            }
            guard verified else { return SignatureFailure.invalid() }
            // Kept for twice the window: a timestamp accepted now stays acceptable for up to
            // `window` more seconds, and the first use may have come `window` seconds early.
            let fresh = try await nonces.setIfAbsent(
                "signing:nonce:\(signed.keyID):\(signed.nonce)", to: "1", expiresIn: 2 * window)
            return fresh ? nil : SignatureFailure.replayed
        } catch let refusal as SwiftletError {
            return refusal
        } catch {
            return SwiftletError(.unavailable, code: "signature.unavailable",
                                 message: "Signed requests cannot be checked right now; retry shortly.", retryAfterSeconds: 1)
        }
    }
}
