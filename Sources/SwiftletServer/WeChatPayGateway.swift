import Foundation
import SwiftletCore
import SwiftletWeChatPay

/// Adapts the WeChat Pay client to the core's payment ports and maps its errors to
/// `SwiftletError`s. The same adapter serves real WeChat Pay and the sandbox.
struct WeChatPayGateway: PaymentGateway, PaymentNotificationVerifier {
    let client: WeChatPayClient
    let notifyURL: @Sendable () -> String

    func prepay(_ request: PrepayRequest) async throws -> String {
        try await mapped {
            try await client.jsapiPrepay(JSAPIPrepayRequest(
                description: request.description, outTradeNo: request.outTradeNo, amountTotal: request.amountFen,
                payerOpenID: request.payerOpenID, notifyURL: notifyURL(), timeExpire: request.expiresAt))
        }
    }

    func paymentParameters(prepayID: String) throws -> PaymentParameters {
        let parameters = try mappedSync { try client.requestPaymentParameters(prepayID: prepayID) }
        return PaymentParameters(timeStamp: parameters.timeStamp, nonceStr: parameters.nonceStr, package: parameters.package,
                                 signType: parameters.signType, paySign: parameters.paySign)
    }

    func query(outTradeNo: String) async throws -> GatewayTransaction {
        do {
            return Self.transaction(try await client.queryTransaction(outTradeNo: outTradeNo))
        } catch WeChatPayError.orderNotFound {
            return GatewayTransaction(outTradeNo: outTradeNo, transactionID: nil, state: .notPaid, rawState: "ORDER_NOT_EXIST",
                                      amountFen: nil, appID: nil, mchID: nil)
        } catch {
            throw Self.map(error)
        }
    }

    func close(outTradeNo: String) async throws -> CloseOutcome {
        do {
            try await client.closeTransaction(outTradeNo: outTradeNo)
            return .closed
        } catch WeChatPayError.api(_, let code, _) where code == "ORDER_PAID" || code == "ORDERPAID" {
            return .alreadyPaid
        } catch WeChatPayError.api(_, let code, _) where code == "ORDER_CLOSED" {
            return .closed
        } catch {
            throw Self.map(error)
        }
    }

    func refund(_ request: GatewayRefundRequest) async throws -> GatewayRefund {
        let answer = try await mapped {
            try await client.refund(WeChatPayRefundRequest(
                outTradeNo: request.outTradeNo, outRefundNo: request.refundID.rawValue, reason: request.reason,
                refundAmount: request.amountFen, totalAmount: request.totalFen, notifyURL: notifyURL()))
        }
        return Self.refund(answer)
    }

    func queryRefund(_ id: RefundID) async throws -> GatewayRefund {
        do {
            return Self.refund(try await client.queryRefund(outRefundNo: id.rawValue))
        } catch WeChatPayError.api(404, _, _), WeChatPayError.orderNotFound {
            throw SwiftletError.notFound("wechatpay.refund_not_found", "WeChat Pay has no such refund.")
        } catch {
            throw Self.map(error)
        }
    }

    func verify(header: @Sendable (String) -> String?, body: [UInt8]) async throws -> PaymentNotification {
        guard let headers = WeChatPayNotifyHeaders(lookup: header) else {
            throw SwiftletError(.unauthenticated, code: "pay.notify_unsigned", message: "Wechatpay-* signature headers are missing.")
        }
        do {
            switch try await client.parseNotification(headers: headers, body: body) {
            case .transaction(let id, let type, let transaction):
                return .transaction(eventID: id, eventType: type, Self.transaction(transaction))
            case .refund(let id, let type, let refund):
                return .refund(eventID: id, eventType: type, Self.refund(refund))
            }
        } catch let error as WeChatPayError {
            throw Self.notifyRejection(error)
        }
    }

    /// One code per reason a notify is refused, so the log tells clock skew (stale
    /// timestamp), a missing platform key (unknown serial) and forgery (bad signature)
    /// apart; the answer to the sender stays generic.
    static func notifyRejection(_ error: WeChatPayError) -> SwiftletError {
        let unverified = "signature verification failed"
        switch error {
        case .timestampOutOfWindow:
            return SwiftletError(.unauthenticated, code: "pay.notify_stale_timestamp", message: unverified)
        case .unknownSerial:
            return SwiftletError(.unauthenticated, code: "pay.notify_unknown_serial", message: unverified)
        case .signatureInvalid:
            return SwiftletError(.unauthenticated, code: "pay.notify_signature_invalid", message: unverified)
        case .decryptionFailed:
            return SwiftletError.invalid("pay.notify_undecryptable", "the notification could not be decrypted or read")
        default:
            return SwiftletError.invalid("pay.notify_malformed", "the notification could not be decrypted or read")
        }
    }

    // MARK: Mapping

    static func transaction(_ transaction: WeChatPayTransaction) -> GatewayTransaction {
        let state: PaymentState = switch transaction.tradeState {
        case "SUCCESS": .paid
        case "REFUND": .refunded
        case "NOTPAY": .notPaid
        case "CLOSED": .closed
        case "PAYERROR", "REVOKED": .failed
        // USERPAYING, ACCEPT, and anything new: never close on a state we do not know.
        default: .inProgress
        }
        return GatewayTransaction(
            outTradeNo: transaction.outTradeNo, transactionID: transaction.transactionID, state: state,
            rawState: transaction.tradeState, amountFen: transaction.amountTotal, appID: transaction.appID,
            mchID: transaction.mchID, payerOpenID: transaction.payerOpenID)
    }

    static func refund(_ refund: WeChatPayRefund) -> GatewayRefund {
        let status: RefundStatus = switch refund.status {
        case "SUCCESS": .succeeded
        case "CLOSED": .closed
        case "ABNORMAL": .abnormal
        default: .processing
        }
        return GatewayRefund(refundID: RefundID(rawValue: refund.outRefundNo), outTradeNo: refund.outTradeNo,
                             gatewayRefundID: refund.refundID, status: status, rawStatus: refund.status, amountFen: refund.refundAmount,
                             mchID: refund.mchID, totalFen: refund.totalAmount)
    }

    private func mapped<T>(_ call: () async throws -> T) async throws -> T {
        do { return try await call() } catch { throw Self.map(error) }
    }

    private func mappedSync<T>(_ call: () throws -> T) throws -> T {
        do { return try call() } catch { throw Self.map(error) }
    }

    static func map(_ error: any Error) -> any Error {
        guard let error = error as? WeChatPayError else { return error }
        switch error {
        case .timeout:
            return SwiftletError(.timeout, code: "wechatpay.timeout", message: "WeChat Pay did not answer in time; try again.")
        case .transport:
            return SwiftletError.unavailable("wechatpay.unreachable", "WeChat Pay cannot be reached; try again.")
        case .api(let status, let code, _) where status == 429 || status >= 500:
            return SwiftletError.unavailable("wechatpay.busy", "WeChat Pay is busy (\(code)); try again.")
        case .throttled:
            // Refused locally by the client's breaker while WeChat Pay fails: the same 503
            // and code as WeChat Pay's own "busy", without waiting for it.
            return SwiftletError.unavailable("wechatpay.busy", "WeChat Pay is busy; try again.")
        case .api(_, let code, let message):
            return SwiftletError.conflict("wechatpay.rejected", "WeChat Pay refused the request: \(code) \(message)")
        case .orderNotFound:
            return SwiftletError.conflict("wechatpay.order_not_found", "WeChat Pay does not know this order.")
        case .invalidConfiguration:
            return SwiftletError.unavailable("pay.not_configured", "WeChat Pay is misconfigured on this server.")
        case .signatureInvalid, .timestampOutOfWindow, .unknownSerial, .decryptionFailed, .malformedNotification, .badResponse:
            return SwiftletError.unavailable("wechatpay.bad_response", "WeChat Pay's answer could not be verified; try again.")
        }
    }
}
