import NIOCore
import SQLKit
import SwiftletCore

/// The buyer's catalogue reads as futures on an event loop, for engines that read there
/// (`SQLLoopReader`): the same statements, values and errors as `list` and `find`, measured
/// under the same operation names (this file's name gives `catalog`).
extension SQLCatalogRepository {
    /// The buyer's catalogue page (`list(includeOffShelf: false, …)`) as a future on
    /// `eventLoop`, or nil when the engine has no loop reads. A bad cursor fails it with the
    /// same error `list` throws.
    public func pageOnLoop(limit: Int, cursor: String?, on eventLoop: any EventLoop) -> EventLoopFuture<Page<Product>>? {
        guard let reader = executor as? any SQLLoopReader else { return nil }
        let after: KeysetCursor?
        do {
            after = try KeysetCursor.decode(cursor)
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        let (query, shape) = Self.listQuery(includeOffShelf: false, limit: limit, after: after)
        guard let shape else { return nil }
        return reader.loopValues(shape, query, on: eventLoop, function: "list(includeOffShelf:limit:cursor:)", file: #fileID)?
            .flatMapThrowing { try Self.page(Self.products($0), limit: limit) }
    }

    /// A product on the shelf (`find(_:includeOffShelf: false)`) as a future on `eventLoop`,
    /// or nil when the engine has no loop reads.
    public func productOnLoop(_ id: ProductID, on eventLoop: any EventLoop) -> EventLoopFuture<Product?>? {
        guard let reader = executor as? any SQLLoopReader else { return nil }
        return reader.loopValues(.catalogueProduct, Self.findQuery(id), on: eventLoop,
                                 function: "find(_:includeOffShelf:)", file: #fileID)?
            .flatMapThrowing { try Self.products($0).first.flatMap { $0.onShelf ? $0 : nil } }
    }
}
