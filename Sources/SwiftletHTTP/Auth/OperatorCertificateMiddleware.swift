import HTTPTypes
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// With mTLS on, operator routes (`/admin/…`) need a connection that presented a verified
/// client certificate, in addition to their admin key: a stolen key alone is not enough.
///
/// Router-wide and keyed on the path prefix rather than added to each admin group, so an
/// operator route registered anywhere is covered.
public struct OperatorCertificateMiddleware: RouterMiddleware {
    public typealias Context = SwiftletRequestContext
    let prefix: String

    public init(prefix: String = "/admin/") {
        self.prefix = prefix
    }

    public func handle(
        _ request: Request, context: SwiftletRequestContext,
        next: (Request, SwiftletRequestContext) async throws -> Response
    ) async throws -> Response {
        if Self.isOperatorPath(request.uri.path, prefix: prefix),
           request.headers[values: HTTPField.Name(ClientCertificateHeader.name)!].first != ClientCertificateHeader.verified {
            throw SwiftletError(.forbidden, code: "admin.client_certificate_required",
                                message: "Operator routes need a verified client certificate (mTLS).")
        }
        return try await next(request, context)
    }

    /// Decided on path segments as the router matches them (empty segments skipped), so
    /// `//admin/v1/keys`, which the router still routes to the admin handlers, is an
    /// operator path too.
    static func isOperatorPath(_ path: String, prefix: String) -> Bool {
        let wanted = prefix.split(separator: "/", omittingEmptySubsequences: true)
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return segments.count >= wanted.count && zip(segments, wanted).allSatisfy { $0 == $1 }
    }
}
