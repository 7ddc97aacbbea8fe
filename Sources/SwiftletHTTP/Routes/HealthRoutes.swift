import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Liveness and readiness for load balancers and orchestrators.
///
/// `live` answers while the process can serve HTTP at all; `ready` also proves the
/// database answers, so a node that lost its database is taken out of rotation
/// instead of failing every request.
public struct HealthRoutes: Sendable {
    struct Status: ResponseEncodable {
        let status: String
        let checks: [String: String]?
    }

    let readiness: @Sendable () async throws -> Void
    let engineName: String

    public init(engineName: String, readiness: @escaping @Sendable () async throws -> Void) {
        self.engineName = engineName
        self.readiness = readiness
    }

    public func register(on routes: SwiftletRoutes) {
        routes.get("/health/live", always: { _ in Self.live() })
        routes.routes.get("/health/ready") { _, _ in
            do {
                try await readiness()
            } catch {
                throw SwiftletError.unavailable("health.database_unavailable", "The \(engineName) database is not answering.")
            }
            return Status(status: "ok", checks: ["database": engineName])
        }
    }

    static func live() -> InlineResponse {
        var object = JSONObjectWriter()
        object.field("status", "ok")
        return .json(object.finish())
    }
}
