import Foundation
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Thin handlers for login, sessions and the user's own profile: decode, call one
/// service method, encode.
public struct IdentityRoutes: Sendable {
    let auth: AuthService
    let profile: ProfileService

    public init(auth: AuthService, profile: ProfileService) {
        self.auth = auth
        self.profile = profile
    }

    public func register(on routes: SwiftletRoutes) {
        let identity = routes.group("/api/v1")
        let api = identity.routes
        api.post("/auth/wechat/login") { request, context -> TokensDTO in
            let body = try await request.decodeJSON(LoginRequest.self, context: context)
            let result = try await auth.login(code: body.code, device: body.device)
            return TokensDTO(result.tokens, user: result.user)
        }
        api.post("/auth/refresh") { request, context -> TokensDTO in
            let body = try await request.decodeJSON(RefreshRequest.self, context: context)
            return TokensDTO(try await auth.refresh(refreshToken: body.refreshToken))
        }

        let signedIn = identity.requiringBearer(BearerAuthentication(auth: auth))
        let authenticated = signedIn.routes
        let rendered = RenderedUsers()
        authenticated.post("/auth/logout") { _, context -> HTTPResponse.Status in
            try await auth.logout(try context.requirePrincipal())
            return .noContent
        }
        authenticated.get("/auth/sessions") { _, context -> SessionListDTO in
            let principal = try context.requirePrincipal()
            let sessions = try await auth.activeSessions(of: principal)
            return SessionListDTO(sessions: sessions.map { SessionDTO($0, current: principal.sessionID) })
        }
        authenticated.delete("/auth/sessions/{id}") { _, context -> HTTPResponse.Status in
            let id = try context.parameters.require("id")
            try await auth.revokeSession(SessionID(rawValue: id), by: try context.requirePrincipal())
            return .noContent
        }
        // The hottest authenticated read: answered from memory (inline, on the lane) when
        // the token was verified before and the user row is cached.
        signedIn.get("/me", authenticated: { [profile] _, principal in
            profile.cachedMe(principal).map { .json(rendered.json(for: $0)) }
        }, otherwise: { [profile] _, context in
            InlineResponse.json(rendered.json(for: try await profile.me(try context.requirePrincipal()))).response
        })
        authenticated.patch("/me") { request, context -> UserDTO in
            let body = try await request.decodeJSON(ProfilePatch.self, context: context)
            return UserDTO(try await profile.update(try context.requirePrincipal(), nickname: body.nickname, avatarURL: body.avatarUrl))
        }
        authenticated.post("/me/phone") { request, context -> UserDTO in
            let body = try await request.decodeJSON(PhoneRequest.self, context: context)
            return UserDTO(try await profile.bindPhone(try context.requirePrincipal(), code: body.code))
        }
    }
}

/// Operator routes under `/admin/v1`, behind admin keys.
public struct AdminRoutes: Sendable {
    let storage: any StorageEngine
    let clock: SwiftletClock

    public init(storage: any StorageEngine, clock: SwiftletClock) {
        self.storage = storage
        self.clock = clock
    }

    public func register(on router: Router<SwiftletRequestContext>) {
        let admin = router.group("/admin/v1").add(middleware: AdminKeyMiddleware(keys: storage.adminKeys, clock: clock))
        admin.get("/keys") { _, _ -> AdminKeyListDTO in
            AdminKeyListDTO(keys: try await storage.adminKeys.list().map(AdminKeyDTO.init))
        }
        admin.get("/users/{id}") { _, context -> UserDTO in
            let id = try context.parameters.require("id")
            guard let user = try await storage.users.find(id: UserID(rawValue: id)) else {
                throw SwiftletError.notFound("user.not_found", "No user with this id.")
            }
            return UserDTO(user)
        }
    }
}

/// Publishes the access-token verification keys (ES256 only; HS256 secrets stay private).
public struct JWKSRoute: Sendable {
    let document: String

    public init(document: String) {
        self.document = document
    }

    public func register(on router: Router<SwiftletRequestContext>) {
        let document = self.document
        router.get("/.well-known/jwks.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: document)))
        }
    }
}
