import Foundation
import JWTKit
import SwiftletCore
import Synchronization

/// A key that signs or verifies access tokens.
public enum AccessTokenKey: Sendable {
    /// HMAC-SHA256 with a secret of at least 32 bytes.
    case hs256(kid: String, secret: [UInt8])
    /// ECDSA P-256. Verifiers elsewhere can use the public half from `/.well-known/jwks.json`.
    case es256(kid: String, privateKey: ES256PrivateKey)
    /// Verification only (a retired ES256 key whose tokens may still be alive).
    case es256Public(kid: String, publicKey: ES256PublicKey)

    public var kid: String {
        switch self {
        case .hs256(let kid, _), .es256(let kid, _), .es256Public(let kid, _): kid
        }
    }

    var algorithm: String {
        switch self {
        case .hs256: "HS256"
        case .es256, .es256Public: "ES256"
        }
    }
}

/// JWT access tokens on jwt-kit, with every check `AccessTokenCodec` promises.
///
/// Security choices: each `kid` is bound to one algorithm and the header's `alg` must
/// match it before any signature work (so `alg: none` and algorithm confusion fail
/// early, with `auth.token_invalid`); retired keys verify but never sign; time claims
/// are checked against the injected clock with a small leeway.
public struct JWTAccessTokenCodec: AccessTokenCodec {
    struct Payload: JWTPayload {
        let sub: SubjectClaim
        let sid: String
        let jti: IDClaim
        let iat: IssuedAtClaim
        let exp: ExpirationClaim
        let nbf: NotBeforeClaim?
        let iss: IssuerClaim
        let aud: AudienceClaim

        /// Time and audience checks happen in `verify(_:now:)` with the injected clock.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    struct Header: Decodable {
        let alg: String?
        let kid: String?
    }

    private let keys: JWTKeyCollection
    private let signingKid: String
    private let algorithmByKid: [String: String]
    private let publicKeys: [(kid: String, key: ES256PublicKey)]
    private let headerCache = HeaderCache()
    private let verifiedTokens: VerifiedTokenCache
    public let issuer: String
    public let audience: String
    public let leeway: TimeInterval

    /// - Parameters:
    ///   - signing: the key new tokens are signed with.
    ///   - retired: keys whose tokens are still accepted (rotation).
    ///   - verifiedCacheMaxBytes: the byte budget of the verified-token cache (at most
    ///     50,000 tokens as well).
    public init(signing: AccessTokenKey, retired: [AccessTokenKey] = [], issuer: String, audience: String,
                leeway: TimeInterval = 30, verifiedCacheMaxBytes: Int = 32 << 20) async throws {
        let keys = JWTKeyCollection()
        var algorithmByKid: [String: String] = [:]
        var publicKeys: [(String, ES256PublicKey)] = []
        for key in [signing] + retired {
            guard algorithmByKid[key.kid] == nil else {
                throw SwiftletError.invalid("config.duplicate_kid", "Two access-token keys share the kid '\(key.kid)'.")
            }
            algorithmByKid[key.kid] = key.algorithm
            switch key {
            case .hs256(let kid, let secret):
                guard secret.count >= 32 else {
                    throw SwiftletError.invalid("config.weak_secret", "HS256 secrets must be at least 32 bytes (kid '\(kid)').")
                }
                await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: JWKIdentifier(string: kid))
            case .es256(let kid, let privateKey):
                await keys.add(ecdsa: privateKey, kid: JWKIdentifier(string: kid))
                publicKeys.append((kid, privateKey.publicKey))
            case .es256Public(let kid, let publicKey):
                await keys.add(ecdsa: publicKey, kid: JWKIdentifier(string: kid))
                publicKeys.append((kid, publicKey))
            }
        }
        if case .es256Public = signing {
            throw SwiftletError.invalid("config.public_key_cannot_sign", "The signing key must be a private key.")
        }
        self.keys = keys
        self.verifiedTokens = VerifiedTokenCache(maxBytes: verifiedCacheMaxBytes)
        self.signingKid = signing.kid
        self.algorithmByKid = algorithmByKid
        self.publicKeys = publicKeys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
    }

    public func sign(_ claims: AccessTokenClaims) async throws -> String {
        let payload = Payload(
            sub: SubjectClaim(value: claims.userID.rawValue), sid: claims.sessionID.rawValue,
            jti: IDClaim(value: claims.tokenID), iat: IssuedAtClaim(value: claims.issuedAt),
            exp: ExpirationClaim(value: claims.expiresAt), nbf: nil,
            iss: IssuerClaim(value: issuer), aud: AudienceClaim(value: audience))
        return try await keys.sign(payload, kid: JWKIdentifier(string: signingKid))
    }

    public func verify(_ token: String, now: Date) async throws -> AccessTokenClaims {
        // A token whose signature, issuer and audience were already checked is the same
        // token byte for byte: only the time claims can have changed their verdict.
        if let cached = verifiedTokens.entries.withLock({ $0[token] }) {
            try checkTime(cached, now: now)
            return cached.claims
        }
        guard token.utf8.count <= 4096, let dot = token.utf8.firstIndex(of: UInt8(ascii: ".")),
              acceptedKid(headerSegment: token[..<dot]) != nil
        else {
            throw AuthErrors.tokenInvalid
        }
        let payload: Payload
        do {
            payload = try await keys.verify(token, as: Payload.self)
        } catch {
            throw AuthErrors.tokenInvalid
        }
        let verified = VerifiedToken(
            claims: AccessTokenClaims(
                userID: UserID(rawValue: payload.sub.value), sessionID: SessionID(rawValue: payload.sid),
                tokenID: payload.jti.value, issuedAt: payload.iat.value, expiresAt: payload.exp.value),
            notBefore: payload.nbf?.value)
        try checkTime(verified, now: now)
        guard payload.iss.value == issuer else { throw AuthErrors.wrongIssuer }
        guard payload.aud.value.contains(audience) else { throw AuthErrors.wrongAudience }
        verifiedTokens.entries.withLock { cache in
            // Bounded in entries and bytes: a flood of distinct valid tokens costs a cache
            // reset, not memory.
            cache.insert(verified, for: token, cost: verified.approximateByteCount + token.utf8.count)
        }
        return verified.claims
    }

    public func cachedClaims(_ token: String, now: Date) -> AccessTokenClaims? {
        guard let cached = verifiedTokens.entries.withLock({ $0[token] }), (try? checkTime(cached, now: now)) != nil else {
            return nil
        }
        return cached.claims
    }

    /// Approximate bytes of the verified tokens held; never more than the budget.
    public var verifiedTokenCacheByteCount: Int { verifiedTokens.entries.withLock { $0.byteCount } }

    private func checkTime(_ token: VerifiedToken, now: Date) throws {
        if now.timeIntervalSince(token.claims.expiresAt) > leeway { throw AuthErrors.tokenExpired }
        if let notBefore = token.notBefore, notBefore.timeIntervalSince(now) > leeway { throw AuthErrors.tokenNotYetValid }
        if token.claims.issuedAt.timeIntervalSince(now) > leeway { throw AuthErrors.tokenNotYetValid }
    }

    /// The public keys as a JWKS document (empty for HS256-only setups, whose secret is
    /// never published).
    public func jwks() -> String {
        let entries = publicKeys.compactMap { entry -> String? in
            guard let parameters = entry.key.parameters else { return nil }
            return #"{"kty":"EC","crv":"P-256","use":"sig","alg":"ES256","kid":"\#(entry.kid)","x":"\#(parameters.x)","y":"\#(parameters.y)"}"#
        }
        return #"{"keys":["# + entries.joined(separator: ",") + "]}"
    }

    /// The `kid` of a header we accept, remembering recent header segments: tokens we
    /// issue share a handful of distinct headers, so the common case is a dictionary
    /// hit instead of base64 + JSON decoding on every request.
    func acceptedKid(headerSegment: Substring) -> String? {
        let key = String(headerSegment)
        if let kid = headerCache.entries.withLock({ $0[key] }) { return kid }
        guard let bytes = Base64URL.decode(headerSegment),
              let header = try? JSONDecoder().decode(Header.self, from: Data(bytes)),
              let kid = header.kid, let expected = algorithmByKid[kid], header.alg == expected
        else {
            return nil
        }
        headerCache.entries.withLock { cache in
            if cache.count >= 64 { cache.removeAll() }
            cache[key] = kid
        }
        return kid
    }
}

/// Header segments already checked, shared by copies of the codec.
final class HeaderCache: Sendable {
    let entries = Mutex<[String: String]>([:])
}

struct VerifiedToken: Sendable {
    let claims: AccessTokenClaims
    let notBefore: Date?

    var approximateByteCount: Int {
        BoundedCache<String, VerifiedToken>.entryOverhead + claims.userID.rawValue.utf8.count
            + claims.sessionID.rawValue.utf8.count + claims.tokenID.utf8.count
    }
}

/// Tokens whose signature, issuer and audience passed, shared by copies of the codec.
final class VerifiedTokenCache: Sendable {
    let entries: Mutex<BoundedCache<String, VerifiedToken>>

    init(maxBytes: Int) {
        entries = Mutex(BoundedCache(capacity: 50_000, maxBytes: maxBytes))
    }
}
