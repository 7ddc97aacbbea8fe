/// WeChat Pay as the order logic needs it. The composition root adapts the WeChat Pay
/// client to this; tests and the sandbox use the same adapter over real HTTP.
public protocol PaymentGateway: Sendable {
    /// Creates (or, with identical parameters, re-fetches) the prepay order.
    func prepay(_ request: PrepayRequest) async throws -> String
    func paymentParameters(prepayID: String) throws -> PaymentParameters
    /// The payment as WeChat sees it; `.notPaid` when WeChat does not know the order.
    func query(outTradeNo: String) async throws -> GatewayTransaction
    func close(outTradeNo: String) async throws -> CloseOutcome
    func refund(_ request: GatewayRefundRequest) async throws -> GatewayRefund
    func queryRefund(_ id: RefundID) async throws -> GatewayRefund
}

/// Verifies and decrypts a notification exactly as received (headers and raw body).
public protocol PaymentNotificationVerifier: Sendable {
    func verify(header: @Sendable (String) -> String?, body: [UInt8]) async throws -> PaymentNotification
}
