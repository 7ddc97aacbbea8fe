import Foundation
import Hummingbird
import NIOCore
import SwiftletCore
import SwiftletTransport

/// Public catalogue (`/api/v1/products`) and its admin side (`/admin/v1/products`).
///
/// The buyer's reads are answered from `CatalogCache` when it holds them — inline, on the
/// event loop, like `/json` — and otherwise loaded once for every concurrent miss,
/// rendered and kept. With the cache off or bypassed, and an engine that reads on the
/// event loop (`CatalogLoopReads`), the inline lane answers them too, from the database.
/// Admin reads always go to the database.
public struct CatalogRoutes: Sendable {
    let catalog: CatalogService
    let loopReads: (any CatalogLoopReads)?

    public init(catalog: CatalogService, loopReads: (any CatalogLoopReads)? = nil) {
        self.catalog = catalog
        self.loopReads = loopReads
    }

    public func register(on routes: SwiftletRoutes, admin: RouterGroup<SwiftletRequestContext>) {
        let api = routes.group("/api/v1")
        let catalog = catalog
        let cache = catalog.cache
        api.get("/products", answer: { request in
            CatalogAnswers.pageKey(rawQuery: request.query).flatMap { cache.cached($0) }.map(InlineResponse.json)
        }, onLoop: loopReads.map { Self.pageOnLoop($0, catalog: catalog) }, otherwise: { request, _ in
            let query = request.uri.queryParameters
            let limit = try CommerceValidation.pageLimit(try PagingQuery.limit(query))
            let cursor = query.get("cursor")
            let body = try await cache.answer(.page(limit: limit, cursor: cursor)) {
                CatalogJSON.page(try await catalog.browse(limit: limit, cursor: cursor))
            }
            return InlineResponse.json(body).response
        })
        api.get("/products/{id}", answer: { request in
            request.parameter.flatMap { cache.cached(.product(ProductID(rawValue: String($0)))) }.map(InlineResponse.json)
        }, onLoop: loopReads.map { Self.productOnLoop($0, catalog: catalog) }, otherwise: { _, context in
            let id = ProductID(rawValue: try context.parameters.require("id"))
            let body = try await cache.answer(.product(id)) { CatalogJSON.product(try await catalog.product(id)) }
            return InlineResponse.json(body).response
        })

        admin.get("/products") { request, _ -> PageDTO<ProductDTO> in
            let query = request.uri.queryParameters
            return PageDTO(try await catalog.adminList(limit: try PagingQuery.limit(query), cursor: query.get("cursor")), ProductDTO.init)
        }
        admin.post("/products") { request, context -> EditedResponse<ProductDTO> in
            let body = try await request.decodeJSON(ProductCreateRequest.self, context: context)
            let product = try await catalog.create(ProductDraft(
                title: body.title, description: body.description ?? "", imageURL: body.imageUrl,
                onShelf: body.onShelf ?? true, skus: body.skus.map(\.draft)))
            return EditedResponse(status: .created, response: ProductDTO(product))
        }
        admin.get("/products/{id}") { _, context -> ProductDTO in
            ProductDTO(try await catalog.adminProduct(ProductID(rawValue: try context.parameters.require("id"))))
        }
        admin.patch("/products/{id}") { request, context -> ProductDTO in
            let body = try await request.decodeJSON(ProductPatchRequest.self, context: context)
            return ProductDTO(try await catalog.update(
                ProductID(rawValue: try context.parameters.require("id")),
                ProductUpdate(title: body.title, description: body.description, imageURL: body.imageUrl, onShelf: body.onShelf)))
        }
        admin.delete("/products/{id}") { _, context -> HTTPResponse.Status in
            try await catalog.delete(ProductID(rawValue: try context.parameters.require("id")))
            return .noContent
        }
        admin.post("/products/{id}/skus") { request, context -> EditedResponse<ProductDTO> in
            let body = try await request.decodeJSON(SKUDraftRequest.self, context: context)
            let product = try await catalog.addSKU(to: ProductID(rawValue: try context.parameters.require("id")), body.draft)
            return EditedResponse(status: .created, response: ProductDTO(product))
        }
        admin.patch("/skus/{id}") { request, context -> SKUDTO in
            let body = try await request.decodeJSON(SKUPatchRequest.self, context: context)
            return SKUDTO(try await catalog.updateSKU(
                SKUID(rawValue: try context.parameters.require("id")),
                SKUUpdate(title: body.title, priceFen: body.priceFen, stock: body.stock, flashSale: body.flashSale)))
        }
        admin.post("/skus/{id}/stock") { request, context -> SKUDTO in
            let body = try await request.decodeJSON(StockAdjustmentRequest.self, context: context)
            return SKUDTO(try await catalog.adjustStock(SKUID(rawValue: try context.parameters.require("id")), delta: body.delta))
        }
    }

    /// The buyer's page read on the event loop while the cache loads every read; the query
    /// forms the lane does not read (escapes, other parameters) go to the router.
    static func pageOnLoop(_ reads: any CatalogLoopReads, catalog: CatalogService) -> InlineDeferredHandler {
        { request in
            guard catalog.cache.loadsEveryRead, case .page(let limit, let cursor)? = CatalogAnswers.pageKey(rawQuery: request.query)
            else { return nil }
            return { eventLoop in
                let page: EventLoopFuture<Page<Product>> = reads.page(limit: limit, cursor: cursor, on: eventLoop)
                    ?? eventLoop.makeFutureWithTask { try await catalog.browse(limit: limit, cursor: cursor) }
                return page.map { InlineResponse.json(CatalogJSON.page($0)) }
            }
        }
    }

    /// A product's detail read on the event loop while the cache loads every read.
    static func productOnLoop(_ reads: any CatalogLoopReads, catalog: CatalogService) -> InlineDeferredHandler {
        { request in
            guard catalog.cache.loadsEveryRead, let parameter = request.parameter else { return nil }
            let id = ProductID(rawValue: String(parameter))
            return { eventLoop in
                guard let product = reads.product(id, on: eventLoop) else {
                    return eventLoop.makeFutureWithTask { InlineResponse.json(CatalogJSON.product(try await catalog.product(id))) }
                }
                return product.flatMapThrowing { product in
                    guard let product else { throw CatalogService.productNotFound }
                    return InlineResponse.json(CatalogJSON.product(product))
                }
            }
        }
    }
}
