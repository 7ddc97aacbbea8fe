@testable import SwiftletSQLStorage
@testable import SwiftletWeChat
@testable import SwiftletWeChatPay
import Testing

/// The names metrics and spans carry come from code, never from data: bounded sets.
@Suite("Telemetry names")
struct TelemetryNamingTests {
    @Test("a database operation is named after the repository and method that asked")
    func databaseOperationNames() {
        #expect(SQLOperationTelemetry.operationName(
            file: "SwiftletSQLStorage/SQLOrderRepository.swift", function: "createOnce(_:items:now:)") == "order.createOnce")
        #expect(SQLOperationTelemetry.operationName(
            file: "SwiftletSQLStorage/SQLInboxRepository+Retention.swift", function: "prune(before:)") == "inbox.prune")
        #expect(SQLOperationTelemetry.operationName(
            file: "SwiftletSQLStorage/SQLStorageEngine.swift", function: "ping()") == "storageEngine.ping")
    }

    @Test("WeChat and WeChat Pay calls are labelled by API, not by URL")
    func outboundAPINames() {
        #expect(WeChatHTTP.apiName("/sns/jscode2session") == "jscode2session")
        #expect(WeChatHTTP.apiName("/cgi-bin/stable_token") == "stable_token")
        #expect(WeChatHTTP.apiName("/cgi-bin/message/subscribe/send") == "subscribe_send")
        #expect(WeChatPayTransport.apiName(.POST, "/v3/pay/transactions/jsapi") == "jsapi_prepay")
        #expect(WeChatPayTransport.apiName(.GET, "/v3/pay/transactions/out-trade-no/o_123?mchid=1") == "query_order")
        #expect(WeChatPayTransport.apiName(.POST, "/v3/pay/transactions/out-trade-no/o_123/close") == "close_order")
        #expect(WeChatPayTransport.apiName(.POST, "/v3/refund/domestic/refunds") == "refund")
        #expect(WeChatPayTransport.apiName(.GET, "/v3/refund/domestic/refunds/r_1") == "query_refund")
        #expect(WeChatPayTransport.apiName(.GET, "/v3/certificates") == "certificates")
    }

    @Test("WeChat Pay error codes become labels only when they look like codes")
    func payErrorLabels() {
        #expect(WeChatPayError.api(status: 400, code: "ORDERPAID", message: "x").metricsLabel == "ORDERPAID")
        #expect(WeChatPayError.api(status: 400, code: "<script>", message: "x").metricsLabel == "other")
        #expect(WeChatPayError.api(status: 400, code: String(repeating: "A", count: 200), message: "x").metricsLabel == "other")
        #expect(WeChatPayError.signatureInvalid.metricsLabel == "signature")
    }
}
