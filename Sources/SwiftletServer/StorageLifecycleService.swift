import ServiceLifecycle
import SwiftletCore

/// Closes the storage engine when the process shuts down.
///
/// Registered before the HTTP server, so the service group (which shuts services down
/// in reverse order) lets in-flight requests finish before the database goes away.
struct StorageLifecycleService: Service {
    let storage: any StorageEngine

    func run() async throws {
        try? await gracefulShutdown()
        try await storage.shutdown()
    }
}
