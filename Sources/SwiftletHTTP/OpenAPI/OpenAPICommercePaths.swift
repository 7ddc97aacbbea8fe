import SwiftletCore
import SwiftletTransport

/// Operations of the catalogue, orders and WeChat Pay notifications
/// (`CatalogRoutes`, `OrderRoutes`, `PaymentNotifyRoute`).
enum OpenAPICommercePaths {
    typealias Op = OpenAPIOperation
    static let ref = OpenAPISchemas.ref

    static func query(_ name: String, _ schema: OpenAPIJSON, _ description: String) -> OpenAPIJSON {
        ["name": .string(name), "in": "query", "required": false, "description": .string(description), "schema": schema]
    }

    static let paging: [OpenAPIJSON] = [
        query("limit", OpenAPISchemas.integer(minimum: 1, maximum: 100), "Page size, default 20."),
        query("cursor", OpenAPISchemas.string(), "The `nextCursor` of the previous page."),
    ]
    static let statusFilter = query(
        "status", ["type": "string", "enum": .array(OrderStatus.allCases.map { .string($0.rawValue) })], "Only orders in this status.")

    static let idempotencyKey: OpenAPIJSON = [
        "name": "Idempotency-Key", "in": "header", "required": true,
        "description": "Chosen by the client, 1–64 visible ASCII characters. A retry with the same key and items returns the first order (200, `Idempotent-Replayed: true`); other items are a conflict.",
        "schema": ["type": "string", "pattern": "^[\\x21-\\x7E]{1,64}$"],
    ]

    static let skuInput = ["catalog.invalid_sku_title", "catalog.invalid_price", "catalog.invalid_stock"]
    static let productInput = ["catalog.invalid_title", "catalog.invalid_description", "catalog.invalid_image_url"]
    static let orderMissing: [Int: [String]] = [404: ["order.not_found"]]

    static let operations: [OpenAPIOperation] = catalogue + buyerOrders + adminOrders + [notify]

    static let catalogue: [OpenAPIOperation] = [
        Op(method: "get", path: "/api/v1/products", operationID: "listProducts", summary: "Products on sale, newest first.",
           tag: "catalogue", parameters: paging, responses: [(200, Op.json("A page of products.", ref("ProductPage")))],
           errors: [400: ErrorCodes.paging]),
        Op(method: "get", path: "/api/v1/products/{id}", operationID: "getProduct", summary: "One product on sale.",
           tag: "catalogue", responses: [(200, Op.json("The product.", ref("Product")))], errors: [404: ["catalog.product_not_found"]]),

        Op(method: "get", path: "/admin/v1/products", operationID: "adminListProducts", summary: "All products, off shelf too.",
           tag: "admin catalogue", security: .adminKey, parameters: paging,
           responses: [(200, Op.json("A page of products.", ref("ProductPage")))], errors: [400: ErrorCodes.paging]),
        Op(method: "post", path: "/admin/v1/products", operationID: "adminCreateProduct", summary: "Create a product with its SKUs.",
           tag: "admin catalogue", security: .adminKey, body: ref("ProductCreateRequest"),
           responses: [(201, Op.json("Created.", ref("Product")))],
           errors: [400: ["catalog.invalid_skus"] + productInput + skuInput]),
        Op(method: "get", path: "/admin/v1/products/{id}", operationID: "adminGetProduct", summary: "One product, off shelf too.",
           tag: "admin catalogue", security: .adminKey,
           responses: [(200, Op.json("The product.", ref("Product")))], errors: [404: ["catalog.product_not_found"]]),
        Op(method: "patch", path: "/admin/v1/products/{id}", operationID: "adminUpdateProduct", summary: "Change a product.",
           tag: "admin catalogue", security: .adminKey, body: ref("ProductPatch"),
           responses: [(200, Op.json("The product.", ref("Product")))],
           errors: [400: productInput, 404: ["catalog.product_not_found"]]),
        Op(method: "delete", path: "/admin/v1/products/{id}", operationID: "adminDeleteProduct",
           summary: "Delete a product (soft: orders keep their lines).", tag: "admin catalogue", security: .adminKey,
           responses: [(204, Op.empty("Deleted."))], errors: [404: ["catalog.product_not_found"]]),
        Op(method: "post", path: "/admin/v1/products/{id}/skus", operationID: "adminAddSKU", summary: "Add a SKU to a product.",
           tag: "admin catalogue", security: .adminKey, body: ref("SKUDraft"),
           responses: [(201, Op.json("The product with the new SKU.", ref("Product")))],
           errors: [400: skuInput, 404: ["catalog.product_not_found"]]),
        Op(method: "patch", path: "/admin/v1/skus/{id}", operationID: "adminUpdateSKU", summary: "Change a SKU (stock is set, not adjusted).",
           tag: "admin catalogue", security: .adminKey, body: ref("SKUPatch"),
           responses: [(200, Op.json("The SKU.", ref("SKU")))],
           errors: [400: skuInput, 404: ["catalog.sku_not_found"]]),
        Op(method: "post", path: "/admin/v1/skus/{id}/stock", operationID: "adminAdjustStock", summary: "Add or take away stock atomically.",
           tag: "admin catalogue", security: .adminKey, body: ref("StockAdjustment"),
           responses: [(200, Op.json("The SKU.", ref("SKU")))],
           errors: [400: ["catalog.invalid_stock_delta"], 404: ["catalog.sku_not_found"], 409: ["catalog.stock_negative"]]),
    ]

    static let buyerOrders: [OpenAPIOperation] = [
        Op(method: "post", path: "/api/v1/orders", operationID: "createOrder",
           summary: "Place an order; its stock is reserved until it is paid or closed.", tag: "orders", security: .bearer,
           parameters: [idempotencyKey], body: ref("OrderCreateRequest"),
           responses: [
               (201, Op.json("Created.", ref("Order"), headers: [("Location", [
                   "description": "The order's URL.", "required": true, "schema": ["type": "string", "pattern": "^/api/v1/orders/"],
               ])])),
               (200, Op.json("A retry of an order already placed with this key.", ref("Order"), headers: [("Idempotent-Replayed", [
                   "required": true, "schema": ["type": "string", "const": "true"],
               ])])),
           ],
           errors: [400: ["order.idempotency_key_required", "order.invalid_idempotency_key", "order.invalid_items", "order.invalid_sku",
                          "order.invalid_quantity", "order.duplicate_item", "order.unknown_sku", "order.total_too_large",
                          "order.flash_sale_one_unit"],
                    409: ["order.off_shelf", "order.out_of_stock", "order.idempotency_conflict", "order.sold_out",
                          "order.flash_sale_limit"]]),
        Op(method: "get", path: "/api/v1/orders", operationID: "listOrders", summary: "The caller's orders, newest first.",
           tag: "orders", security: .bearer, parameters: [statusFilter] + paging,
           responses: [(200, Op.json("A page of orders.", ref("OrderPage")))],
           errors: [400: ["request.invalid_status"] + ErrorCodes.paging]),
        Op(method: "get", path: "/api/v1/orders/{id}", operationID: "getOrder", summary: "One of the caller's orders.", tag: "orders",
           security: .bearer, responses: [(200, Op.json("The order.", ref("Order")))], errors: orderMissing),
        Op(method: "post", path: "/api/v1/orders/{id}/cancel", operationID: "cancelOrder",
           summary: "Cancel an unpaid order (WeChat Pay is asked first: a payment that just arrived wins).", tag: "orders",
           security: .bearer, responses: [(200, Op.json("The cancelled order.", ref("Order")))],
           errors: [404: ["order.not_found"], 409: ["order.invalid_transition", "order.payment_in_progress"] + ErrorCodes.payRefused,
                    503: ["order.busy"] + ErrorCodes.payUnavailable, 504: ["wechatpay.timeout"]]),
        Op(method: "post", path: "/api/v1/orders/{id}/pay", operationID: "payOrder",
           summary: "Start (or resume) paying: the parameters for `wx.requestPayment`.", tag: "orders", security: .bearer,
           responses: [(200, Op.json("The order and its payment parameters.", ref("Payment")))],
           errors: [404: ["order.not_found"], 409: ["order.payment_expired", "order.already_paid", "order.invalid_transition"] + ErrorCodes.payRefused,
                    503: ["order.busy"] + ErrorCodes.payUnavailable, 504: ["wechatpay.timeout"]]),
        Op(method: "post", path: "/api/v1/orders/{id}/confirm-receipt", operationID: "confirmReceipt",
           summary: "The buyer confirms a shipped order arrived.", tag: "orders", security: .bearer,
           responses: [(200, Op.json("The completed order.", ref("Order")))],
           errors: [404: ["order.not_found"], 409: ["order.invalid_transition"], 503: ["order.busy"]]),
    ]

    static let adminOrders: [OpenAPIOperation] = [
        Op(method: "get", path: "/admin/v1/orders", operationID: "adminListOrders", summary: "Search orders.", tag: "admin orders",
           security: .adminKey,
           parameters: [
               query("userId", OpenAPISchemas.identifier, "Only this user's orders."),
               statusFilter,
               query("outTradeNo", OpenAPISchemas.identifier, "The order with this merchant order number."),
           ] + paging,
           responses: [(200, Op.json("A page of orders.", ref("OrderPage")))],
           errors: [400: ["request.invalid_userId", "request.invalid_outTradeNo", "request.invalid_status"] + ErrorCodes.paging]),
        Op(method: "get", path: "/admin/v1/orders/{id}", operationID: "adminGetOrder", summary: "An order with its refunds and payment ledger.",
           tag: "admin orders", security: .adminKey,
           responses: [(200, Op.json("The order.", ref("AdminOrderDetail")))], errors: orderMissing),
        Op(method: "post", path: "/admin/v1/orders/{id}/ship", operationID: "adminShipOrder", summary: "Mark a paid order shipped.",
           tag: "admin orders", security: .adminKey, body: ref("ShipRequest"), bodyOptional: true,
           responses: [(200, Op.json("The shipped order.", ref("Order")))],
           errors: [400: ["order.invalid_tracking_number"], 404: ["order.not_found"], 409: ["order.invalid_transition"], 503: ["order.busy"]]),
        Op(method: "post", path: "/admin/v1/orders/{id}/complete", operationID: "adminCompleteOrder", summary: "Complete a shipped order.",
           tag: "admin orders", security: .adminKey,
           responses: [(200, Op.json("The completed order.", ref("Order")))],
           errors: [404: ["order.not_found"], 409: ["order.invalid_transition"], 503: ["order.busy"]]),
        Op(method: "post", path: "/admin/v1/orders/{id}/cancel", operationID: "adminCancelOrder", summary: "Cancel an unpaid order.",
           tag: "admin orders", security: .adminKey,
           responses: [(200, Op.json("The cancelled order.", ref("Order")))],
           errors: [404: ["order.not_found"], 409: ["order.invalid_transition", "order.payment_in_progress"] + ErrorCodes.payRefused,
                    503: ["order.busy"] + ErrorCodes.payUnavailable, 504: ["wechatpay.timeout"]]),
        Op(method: "post", path: "/admin/v1/orders/{id}/refunds", operationID: "adminRefundOrder",
           summary: "Refund a paid order, fully or in part.", tag: "admin orders", security: .adminKey,
           body: ref("RefundRequest"), bodyOptional: true,
           responses: [(201, Op.json("The refund as WeChat Pay answered it (it may still be processing).", ref("RefundResult")))],
           errors: [400: ["refund.invalid_reason", "refund.invalid_amount"], 404: ["order.not_found"],
                    409: ["refund.in_progress", "refund.exceeds_paid", "order.invalid_transition"] + ErrorCodes.payRefused,
                    503: ["order.busy", "pay.not_configured"]]),
    ]

    static func wechatPayHeader(_ name: String, _ description: String) -> OpenAPIJSON {
        ["name": .string(name), "in": "header", "required": true, "description": .string(description), "schema": ["type": "string"]]
    }

    static func notifyFailure(_ description: String) -> OpenAPIJSON {
        [
            "description": .string(description),
            "headers": ["X-Request-Id": OpenAPIOperation.requestIDHeader],
            "content": ["application/json": ["schema": ref("NotifyFailure")]],
        ]
    }

    /// WeChat's rules shape these answers, not ours (see `PaymentNotifyRoute`).
    static let notify = Op(
        method: "post", path: PaymentNotifyRoute.path, operationID: "wechatPayNotify",
        summary: "WeChat Pay's payment and refund notifications.", tag: "wechat pay",
        parameters: [
            wechatPayHeader("Wechatpay-Timestamp", "Unix seconds; more than 5 minutes off is refused."),
            wechatPayHeader("Wechatpay-Nonce", "The signature's nonce."),
            wechatPayHeader("Wechatpay-Signature", "Base64 RSA-SHA256 over timestamp, nonce and the raw body."),
            wechatPayHeader("Wechatpay-Serial", "The platform certificate serial or public key id that signed it."),
        ],
        body: ref("WeChatPayNotification"), rawBody: true, usesStorage: false,
        responses: [
            (204, Op.empty("Verified and recorded.")),
            (400, notifyFailure("Signed correctly but could not be decrypted or read; nothing changed.")),
            (401, notifyFailure("Unsigned, badly signed, outside the time window or signed by an unknown key; nothing changed.")),
            (500, notifyFailure("Verified but could not be recorded; WeChat Pay delivers it again.")),
        ],
        notes: "Failures use WeChat Pay's `{\"code\":\"FAIL\",\"message\":…}` body, which its retry schedule expects; a body over 64 KiB is answered 413 with the usual error body.")
}
