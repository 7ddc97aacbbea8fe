import Foundation
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Wire types for identity routes. Domain types never go on the wire directly, so
/// internal fields (session keys, hashes) cannot leak by accident.
struct LoginRequest: Decodable {
    let code: String
    let device: String?
}

struct RefreshRequest: Decodable {
    let refreshToken: String
}

struct PhoneRequest: Decodable {
    let code: String
}

struct ProfilePatch: Decodable {
    let nickname: String?
    let avatarUrl: String?
}

struct UserDTO: ResponseEncodable {
    let id: String
    let openid: String
    let unionid: String?
    let nickname: String?
    let avatarUrl: String?
    let phone: String?
    let createdAt: String
    let updatedAt: String

    init(_ user: User) {
        id = user.id.rawValue
        openid = user.openid
        unionid = user.unionid
        nickname = user.nickname
        avatarUrl = user.avatarURL
        phone = user.phone
        createdAt = RFC3339.string(user.createdAt)
        updatedAt = RFC3339.string(user.updatedAt)
    }

    /// The same object `JSONEncoder` gives, written by hand for `GET /me`.
    func jsonObject() -> String {
        var object = JSONObjectWriter()
        object.field("id", id)
        object.field("openid", openid)
        object.field("unionid", unionid)
        object.field("nickname", nickname)
        object.field("avatarUrl", avatarUrl)
        object.field("phone", phone)
        object.field("createdAt", createdAt)
        object.field("updatedAt", updatedAt)
        return object.finish()
    }
}

struct TokensDTO: ResponseEncodable {
    let accessToken: String
    let refreshToken: String
    let expiresIn: Int
    let tokenType = "Bearer"
    let user: UserDTO?

    init(_ tokens: IssuedTokens, user: User? = nil) {
        accessToken = tokens.accessToken
        refreshToken = tokens.refreshToken
        expiresIn = tokens.expiresIn
        self.user = user.map(UserDTO.init)
    }
}

struct SessionDTO: Encodable {
    let id: String
    let device: String?
    let createdAt: String
    let lastUsedAt: String
    let expiresAt: String
    let current: Bool

    init(_ session: Session, current: SessionID) {
        id = session.id.rawValue
        device = session.device
        createdAt = RFC3339.string(session.createdAt)
        lastUsedAt = RFC3339.string(session.lastUsedAt)
        expiresAt = RFC3339.string(session.expiresAt)
        self.current = session.id == current
    }
}

struct SessionListDTO: ResponseEncodable {
    let sessions: [SessionDTO]
}

struct AdminKeyDTO: Encodable {
    let id: String
    let name: String
    let createdAt: String
    let lastUsedAt: String?
    let revoked: Bool

    init(_ key: AdminKey) {
        id = key.id
        name = key.name
        createdAt = RFC3339.string(key.createdAt)
        lastUsedAt = key.lastUsedAt.map(RFC3339.string)
        revoked = key.revokedAt != nil
    }
}

struct AdminKeyListDTO: ResponseEncodable {
    let keys: [AdminKeyDTO]
}

