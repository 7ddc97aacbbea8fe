import Foundation
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Operator routes for request-signing keys under `/admin/v1` (behind admin keys):
/// create (the secret shown once), list, rotate with overlap, revoke.
public struct SigningKeyRoutes: Sendable {
    let keys: SigningKeyService

    public init(keys: SigningKeyService) {
        self.keys = keys
    }

    public func register(admin: RouterGroup<SwiftletRequestContext>) {
        admin.post("/signing-keys") { request, context -> EditedResponse<IssuedSigningKeyDTO> in
            let body = try await request.decodeJSON(SigningKeyCreateRequest.self, context: context)
            let issued = try await keys.create(name: body.name)
            return EditedResponse(status: .created, headers: [.location: "/admin/v1/signing-keys/\(issued.key.id)"],
                                  response: IssuedSigningKeyDTO(issued))
        }
        admin.get("/signing-keys") { _, _ -> SigningKeyListDTO in
            SigningKeyListDTO(items: try await keys.list().map(SigningKeyDTO.init))
        }
        admin.post("/signing-keys/{id}/rotate") { _, context -> IssuedSigningKeyDTO in
            IssuedSigningKeyDTO(try await keys.rotate(id: try context.parameters.require("id")))
        }
        admin.delete("/signing-keys/{id}") { _, context -> HTTPResponse.Status in
            try await keys.revoke(id: try context.parameters.require("id"))
            return .noContent
        }
    }
}
