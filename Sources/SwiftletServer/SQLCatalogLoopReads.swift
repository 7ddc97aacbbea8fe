import NIOCore
import SwiftletCore
import SwiftletHTTP
import SwiftletSQLStorage

/// The HTTP layer's catalogue reads on an event loop, served by the SQL repository for an
/// engine that reads there (`SQLLoopReader`: PostgreSQL with read connections).
struct SQLCatalogLoopReads: CatalogLoopReads {
    let repository: SQLCatalogRepository

    /// Loop reads for `storage`, or nil when its engine, as configured, has none (the
    /// catalogue's routes then leave those reads to the router).
    static func of(_ storage: any StorageEngine) -> SQLCatalogLoopReads? {
        guard let reader = storage as? any SQLLoopReader, reader.readsOnLoop else { return nil }
        return SQLCatalogLoopReads(repository: SQLCatalogRepository(executor: reader))
    }

    func page(limit: Int, cursor: String?, on eventLoop: any EventLoop) -> EventLoopFuture<Page<Product>>? {
        repository.pageOnLoop(limit: limit, cursor: cursor, on: eventLoop)
    }

    func product(_ id: ProductID, on eventLoop: any EventLoop) -> EventLoopFuture<Product?>? {
        repository.productOnLoop(id, on: eventLoop)
    }
}
