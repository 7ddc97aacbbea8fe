import Foundation
import Hummingbird
import SwiftletCore

/// Wire types for `/admin/v1/signing-keys`. The secret appears only in the answers to
/// creation and rotation, never in a list.
struct SigningKeyCreateRequest: Decodable {
    let name: String
}

struct SigningKeyDTO: ResponseEncodable {
    let id: String
    let name: String
    let createdAt: String
    let rotatedAt: String?
    let previousSecretValidUntil: String?
    let revokedAt: String?

    init(_ key: SigningKey) {
        id = key.id
        name = key.name
        createdAt = RFC3339.string(key.createdAt)
        rotatedAt = key.rotatedAt.map(RFC3339.string)
        previousSecretValidUntil = key.previousSecretValidUntil.map(RFC3339.string)
        revokedAt = key.revokedAt.map(RFC3339.string)
    }
}

struct SigningKeyListDTO: ResponseEncodable {
    let items: [SigningKeyDTO]
}

struct IssuedSigningKeyDTO: ResponseEncodable {
    let key: SigningKeyDTO
    let secret: String

    init(_ issued: IssuedSigningKey) {
        key = SigningKeyDTO(issued.key)
        secret = issued.secret
    }
}
