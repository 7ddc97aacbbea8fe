import NIOCore
import SwiftletCore

/// The buyer's catalogue read as futures on an event loop, where the engine can
/// (PostgreSQL's read connections, `SQLCatalogRepository.pageOnLoop`).
///
/// With the catalogue cache off or bypassed, every buyer's read goes to the database.
/// Through the router such a read crosses from the event loop into a task, waits for a
/// pooled connection, hops to that connection's event loop and back: for a page of a few
/// dozen rows those crossings cost about as much CPU as the page. With these reads the
/// inline lane answers the request itself and waits for the rows on the event loop.
public protocol CatalogLoopReads: Sendable {
    /// The buyer's page (limit validated), or nil when the engine cannot read on a loop now.
    func page(limit: Int, cursor: String?, on eventLoop: any EventLoop) -> EventLoopFuture<Page<Product>>?
    /// A product on the shelf (nil in the future when there is none), or nil as above.
    func product(_ id: ProductID, on eventLoop: any EventLoop) -> EventLoopFuture<Product?>?
}
