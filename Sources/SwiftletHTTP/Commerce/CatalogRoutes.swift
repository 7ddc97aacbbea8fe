import Foundation
import Hummingbird
import SwiftletCore
import SwiftletTransport

/// Public catalogue (`/api/v1/products`) and its admin side (`/admin/v1/products`).
///
/// The buyer's reads are answered from `CatalogCache` when it holds them — inline, on the
/// event loop, like `/json` — and otherwise loaded once for every concurrent miss,
/// rendered and kept. Admin reads always go to the database.
public struct CatalogRoutes: Sendable {
    let catalog: CatalogService

    public init(catalog: CatalogService) {
        self.catalog = catalog
    }

    public func register(on routes: SwiftletRoutes, admin: RouterGroup<SwiftletRequestContext>) {
        let api = routes.group("/api/v1")
        let catalog = catalog
        let cache = catalog.cache
        api.get("/products", answer: { request in
            CatalogAnswers.pageKey(rawQuery: request.query).flatMap { cache.cached($0) }.map(InlineResponse.json)
        }, otherwise: { request, _ in
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
        }, otherwise: { _, context in
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
}
