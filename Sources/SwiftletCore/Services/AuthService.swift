import Foundation

/// Lifetimes of the credentials a login hands out.
public struct AuthPolicy: Sendable, Equatable {
    /// Access tokens are short: revocation is enforced in memory, but a short life bounds
    /// the damage of a leak even on a node that missed a revocation.
    public var accessTokenLifetime: TimeInterval
    public var refreshTokenLifetime: TimeInterval
    /// A refresh token presented again this soon after its rotation, while its successor
    /// is still current, gets that rotation's pair instead of revoking the session: a
    /// client's parallel requests each refreshing with the same token are not a theft.
    public var refreshReuseGrace: TimeInterval

    public init(accessTokenLifetime: TimeInterval = 900, refreshTokenLifetime: TimeInterval = 30 * 86_400,
                refreshReuseGrace: TimeInterval = 10) {
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
        self.refreshReuseGrace = refreshReuseGrace
    }
}

public struct IssuedTokens: Sendable, Equatable {
    public let accessToken: String
    public let refreshToken: String
    /// Seconds until the access token expires.
    public let expiresIn: Int
    public let sessionID: SessionID
}

/// Login, token refresh with rotation and theft detection, logout and device sessions.
public struct AuthService: Sendable {
    let users: any UserRepository
    let sessions: any SessionRepository
    let wechat: any WeChatIdentityProvider
    let tokens: any AccessTokenCodec
    let revocations: RevocationList
    let clock: SwiftletClock
    let policy: AuthPolicy
    /// Tells the other nodes about this node's revocations; nil on a node that shares
    /// nothing (a test of the service alone).
    let revocationFeed: RevocationFeed?

    public init(users: any UserRepository, sessions: any SessionRepository, wechat: any WeChatIdentityProvider,
                tokens: any AccessTokenCodec, revocations: RevocationList, clock: SwiftletClock, policy: AuthPolicy,
                revocationFeed: RevocationFeed? = nil) {
        self.revocationFeed = revocationFeed
        self.users = users
        self.sessions = sessions
        self.wechat = wechat
        self.tokens = tokens
        self.revocations = revocations
        self.clock = clock
        self.policy = policy
    }

    static let refreshTokenPrefix = "rt_"

    /// WeChat login: resolves the code first and writes nothing unless WeChat accepted it.
    public func login(code: String, device: String?) async throws -> (user: User, tokens: IssuedTokens) {
        try Validation.loginCode(code)
        let identity = try await wechat.identity(forLoginCode: code)
        let user = try await users.findOrCreate(openid: identity.openid, unionid: identity.unionid).user
        let now = clock.now
        let session = Session(
            id: .generate(), userID: user.id, device: try Validation.device(device), createdAt: now,
            lastUsedAt: now, expiresAt: now.addingTimeInterval(policy.refreshTokenLifetime))
        let refreshToken = SecretToken.generate(prefix: Self.refreshTokenPrefix)
        try await sessions.create(session, refreshTokenHash: SecretToken.hash(refreshToken))
        return (user, try await issue(for: session, refreshToken: refreshToken, tokenID: RandomID.base32(byteCount: 16), issuedAt: now, now: now))
    }

    /// Trades a refresh token for a new pair. The presented token stops working; showing
    /// it again later revokes the whole session (someone else has a copy). Within
    /// `refreshReuseGrace` of its rotation, and only while its successor is still current,
    /// it yields the same successor pair again (see `RefreshSuccession`).
    public func refresh(refreshToken: String) async throws -> IssuedTokens {
        guard refreshToken.hasPrefix(Self.refreshTokenPrefix), refreshToken.utf8.count <= 128 else {
            throw AuthErrors.refreshInvalid
        }
        let now = clock.now
        let succession = RefreshSuccession(presented: refreshToken)
        let next = SecretToken.generate(prefix: Self.refreshTokenPrefix)
        let outcome = try await sessions.rotate(RefreshRotation(
            presentedHash: SecretToken.hash(refreshToken), successorHash: SecretToken.hash(next),
            sealedSuccessor: try succession.seal(next), newExpiresAt: now.addingTimeInterval(policy.refreshTokenLifetime),
            now: now, reuseGrace: policy.refreshReuseGrace, revocationExpiresAt: revocationHorizon(now)))
        switch outcome {
        case .rotated(let session):
            return try await issue(for: session, refreshToken: next, tokenID: succession.accessTokenID, issuedAt: now, now: now)
        case .repeated(let session, let sealedSuccessor, let rotatedAt):
            // Only a box sealed for this very token opens, so a mismatch cannot be a repeat.
            guard let successor = succession.open(sealedSuccessor) else { throw AuthErrors.refreshInvalid }
            return try await issue(for: session, refreshToken: successor, tokenID: succession.accessTokenID, issuedAt: rotatedAt, now: now)
        case .unknownToken:
            throw AuthErrors.refreshInvalid
        case .expired:
            throw AuthErrors.refreshExpired
        case .sessionRevoked:
            throw AuthErrors.sessionRevoked
        case .reuseDetected(let sessionID):
            revoked(Revocation(kind: .session, value: sessionID.rawValue, expiresAt: revocationHorizon(now)))
            throw AuthErrors.refreshReused
        }
    }

    /// Verifies a bearer token and checks it against the in-memory revocation list.
    /// `authenticate` answered from memory: the principal of an already verified,
    /// unrevoked, unexpired token; nil whenever `authenticate` must decide (including
    /// every failure, so the error comes from one place).
    public func cachedPrincipal(bearer token: String) -> Principal? {
        let now = clock.now
        guard let claims = tokens.cachedClaims(token, now: now),
              !revocations.isRevoked(tokenID: claims.tokenID, sessionID: claims.sessionID, now: now)
        else { return nil }
        return Principal(claims: claims)
    }

    public func authenticate(bearer token: String) async throws -> Principal {
        let now = clock.now
        let claims = try await tokens.verify(token, now: now)
        if revocations.isRevoked(tokenID: claims.tokenID, sessionID: claims.sessionID, now: now) {
            throw AuthErrors.tokenRevoked
        }
        return Principal(claims: claims)
    }

    /// Ends the caller's session: its refresh token and every access token it issued
    /// (including the one making this call) stop working immediately.
    public func logout(_ principal: Principal) async throws {
        try await endSession(principal.sessionID, of: principal.userID, reason: .logout)
        let revocation = Revocation(kind: .token, value: principal.tokenID, expiresAt: principal.expiresAt)
        try await sessions.recordRevocation(revocation)
        revoked(revocation)
    }

    public func activeSessions(of principal: Principal) async throws -> [Session] {
        try await sessions.activeSessions(of: principal.userID, now: clock.now)
    }

    /// Ends one of the caller's own sessions (another device, or this one).
    public func revokeSession(_ id: SessionID, by principal: Principal) async throws {
        try await endSession(id, of: principal.userID, reason: .revokedByUser)
    }

    /// Reloads persisted revocations into memory (at start).
    public func loadRevocations() async throws -> Int {
        let active = try await sessions.activeRevocations(now: clock.now)
        revocations.load(active)
        return active.count
    }

    private func endSession(_ id: SessionID, of userID: UserID, reason: SessionRevocationReason) async throws {
        let now = clock.now
        let horizon = revocationHorizon(now)
        guard try await sessions.revoke(id, of: userID, reason: reason, now: now, revocationExpiresAt: horizon) else {
            throw SwiftletError.notFound("auth.session_not_found", "No such session.")
        }
        revoked(Revocation(kind: .session, value: id.rawValue, expiresAt: horizon))
    }

    /// A revocation already stored in the database takes effect here at once and is
    /// announced to the other nodes.
    private func revoked(_ revocation: Revocation) {
        revocations.add(revocation)
        revocationFeed?.announce(revocation)
    }

    /// A session revoked now can have access tokens alive until at most this instant.
    private func revocationHorizon(_ now: Date) -> Date {
        now.addingTimeInterval(policy.accessTokenLifetime + 120)
    }

    /// Signs the access token of a pair issued at `issuedAt` (earlier than `now` when a
    /// rotation is repeated, so `expiresIn` counts the seconds already gone).
    private func issue(for session: Session, refreshToken: String, tokenID: String, issuedAt: Date, now: Date) async throws -> IssuedTokens {
        // JWT NumericDate: whole seconds, as most verifiers expect.
        let issuedAt = Date(timeIntervalSince1970: issuedAt.timeIntervalSince1970.rounded(.down))
        let claims = AccessTokenClaims(
            userID: session.userID, sessionID: session.id, tokenID: tokenID,
            issuedAt: issuedAt, expiresAt: issuedAt.addingTimeInterval(policy.accessTokenLifetime))
        return IssuedTokens(
            accessToken: try await tokens.sign(claims), refreshToken: refreshToken,
            expiresIn: Int(policy.accessTokenLifetime - max(0, now.timeIntervalSince(issuedAt).rounded(.down))), sessionID: session.id)
    }
}

/// The `auth.*` errors, in one place so codes stay stable.
public enum AuthErrors {
    public static let tokenMissing = SwiftletError(.unauthenticated, code: "auth.token_missing", message: "An access token is required (Authorization: Bearer …).")
    public static let tokenInvalid = SwiftletError(.unauthenticated, code: "auth.token_invalid", message: "The access token is malformed or its signature is not valid.")
    public static let tokenExpired = SwiftletError(.unauthenticated, code: "auth.token_expired", message: "The access token has expired; refresh it.")
    public static let tokenNotYetValid = SwiftletError(.unauthenticated, code: "auth.token_not_yet_valid", message: "The access token is not valid yet.")
    public static let tokenRevoked = SwiftletError(.unauthenticated, code: "auth.token_revoked", message: "The access token has been revoked.")
    public static let wrongAudience = SwiftletError(.unauthenticated, code: "auth.token_audience", message: "The access token was issued for another audience.")
    public static let wrongIssuer = SwiftletError(.unauthenticated, code: "auth.token_issuer", message: "The access token was issued by another issuer.")
    public static let refreshInvalid = SwiftletError(.unauthenticated, code: "auth.refresh_invalid", message: "The refresh token is not valid.")
    public static let refreshExpired = SwiftletError(.unauthenticated, code: "auth.refresh_expired", message: "The refresh token has expired; log in again.")
    public static let refreshReused = SwiftletError(.unauthenticated, code: "auth.refresh_reused", message: "This refresh token was already used; the session has been revoked. Log in again.")
    public static let sessionRevoked = SwiftletError(.unauthenticated, code: "auth.session_revoked", message: "The session has ended; log in again.")
}
