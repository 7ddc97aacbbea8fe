import Foundation
import Synchronization
@testable import SwiftletCore
@testable import SwiftletHTTP
import Testing

/// The buyer's catalogue cache: what it keeps, for how long, how edits drop it, and that a
/// crowd of misses costs one load.
@Suite("Catalogue cache")
struct CatalogCacheTests {
    final class Loads: Sendable {
        let count = Atomic<Int>(0)
    }

    @Test("an answer is kept for its lifetime and loaded once by concurrent misses")
    func keptAndLoadedOnce() async throws {
        let time = MutableClock(Date(timeIntervalSince1970: 1_800_000_000))
        let cache = CatalogCache(lifetime: 1, clock: time.clock)
        let loads = Loads()
        let key = CatalogCache.Key.page(limit: 20, cursor: nil)
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await cache.answer(key) {
                        loads.count.add(1, ordering: .relaxed)
                        try await Task.sleep(for: .milliseconds(50))
                        return "page-1"
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(answers == Array(repeating: "page-1", count: 50))
        #expect(loads.count.load(ordering: .relaxed) == 1, "50 concurrent misses, one load")
        #expect(cache.cached(key) == "page-1")

        time.advance(1.5)
        #expect(cache.cached(key) == nil, "stock is a snapshot no older than the lifetime")
        #expect(try await cache.answer(key) { "page-2" } == "page-2")
        #expect(loads.count.load(ordering: .relaxed) == 1)
    }

    @Test("an error is passed on and never kept")
    func errorsAreNotKept() async throws {
        let cache = CatalogCache(lifetime: 60, clock: .system)
        let key = CatalogCache.Key.product(ProductID(rawValue: "p_missing"))
        await #expect(throws: SwiftletError.self) {
            try await cache.answer(key) { throw SwiftletError.notFound("catalog.product_not_found", "No such product.") }
        }
        #expect(cache.cached(key) == nil)
    }

    @Test("every admin write drops the whole cache and is announced, also when it fails")
    func adminWritesDropAndAnnounce() async throws {
        try await TestStorage.withStorage(.sqlite) { storage in
            let announced = Mutex<[String]>([])
            let cache = CatalogCache(lifetime: 600, clock: .system, announce: { subject in announced.withLock { $0.append(subject) } })
            let catalog = CatalogService(catalog: storage.catalog, clock: .system, cache: cache)
            let product = try await catalog.create(ProductDraft(
                title: "Tea", description: "", imageURL: nil, onShelf: true,
                skus: [SKUDraft(title: "Tin", priceFen: 1_000, stock: 5)]))
            let page = CatalogCache.Key.page(limit: 20, cursor: nil)
            let detail = CatalogCache.Key.product(product.id)
            func fill() async throws {
                _ = try await cache.answer(page) { "page" }
                _ = try await cache.answer(detail) { "detail" }
                #expect(cache.cached(page) != nil && cache.cached(detail) != nil)
            }
            let sku = try #require(product.skus.first).id
            let writes: [(String, @Sendable () async throws -> Void)] = [
                ("update", { _ = try await catalog.update(product.id, ProductUpdate(title: "Green tea")) }),
                ("add SKU", { _ = try await catalog.addSKU(to: product.id, SKUDraft(title: "Box", priceFen: 2_000, stock: 1)) }),
                ("update SKU", { _ = try await catalog.updateSKU(sku, SKUUpdate(priceFen: 1_200)) }),
                ("adjust stock", { _ = try await catalog.adjustStock(sku, delta: 3) }),
                ("failed update", { _ = try? await catalog.update(ProductID(rawValue: "p_missing"), ProductUpdate(title: "x")) }),
                ("delete", { try await catalog.delete(product.id) }),
            ]
            for (name, write) in writes {
                try await fill()
                let before = announced.withLock { $0.count }
                try await write()
                #expect(cache.cached(page) == nil && cache.cached(detail) == nil, "\(name) drops the cache")
                #expect(announced.withLock { $0.count } == before + 1, "\(name) is announced to the other nodes")
            }
        }
    }

    @Test("an announcement from any node drops everything; while the bus is down nothing is kept")
    func busRules() async throws {
        let cache = CatalogCache(lifetime: 600, clock: .system)
        let key = CatalogCache.Key.page(limit: 20, cursor: nil)
        _ = try await cache.answer(key) { "page" }
        cache.invalidate(announced: "p_elsewhere")
        #expect(cache.cached(key) == nil)

        cache.bypass()
        #expect(try await cache.answer(key) { "page" } == "page")
        #expect(cache.cached(key) == nil, "bypassed: read through, keep nothing")
        cache.resume()
        _ = try await cache.answer(key) { "page" }
        #expect(cache.cached(key) == "page")
    }

    @Test("the lane reads plain limit and cursor values only; the router reads the rest")
    func pageKeys() {
        #expect(CatalogAnswers.pageKey(rawQuery: nil) == .page(limit: 20, cursor: nil))
        #expect(CatalogAnswers.pageKey(rawQuery: "") == .page(limit: 20, cursor: nil))
        #expect(CatalogAnswers.pageKey(rawQuery: "limit=5") == .page(limit: 5, cursor: nil))
        #expect(CatalogAnswers.pageKey(rawQuery: "cursor=MTo_YQ&limit=5") == .page(limit: 5, cursor: "MTo_YQ"))
        for declined in ["limit=0", "limit=101", "limit=x", "limit=", "limit=5&limit=6", "limit=%35", "cursor=a+b",
                         "cursor=a%3D", "other=1", "limit", "limit=5&"] {
            #expect(CatalogAnswers.pageKey(rawQuery: Substring(declined)) == nil, "\(declined)")
        }
    }
}
