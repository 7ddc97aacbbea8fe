import Foundation
import Hummingbird
import SwiftletCore
import SwiftletHTTP
import SwiftletTransport

/// A refusal from the sandbox's own (non-WeChat) operations, such as paying an unknown prepay id.
public struct WeChatPaySandboxError: Error, Sendable, Equatable {
    public var status: Int
    public var code: String
    public var message: String

    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }
}

/// Development and test controls (not WeChat's API) and the Swift API tests use.
extension WeChatPaySandbox {
    func registerControl(on group: RouterGroup<SwiftletRequestContext>) {
        // What the user does in WeChat after `wx.requestPayment`. Body: {"prepayId":"…"} or the
        // requestPayment parameters {"timeStamp","nonceStr","package","signType","paySign"}
        // (paySign is then verified like WeChat); optional "notify": false.
        group.post("/pay") { request, _ in
            do {
                let body = try await Self.controlBody(request)
                let prepayID = try self.verifiedPrepayID(body)
                let paid = try self.pay(prepayID: prepayID, notify: body["notify"] as? Bool ?? true)
                return WeChatPayWire.controlResponse(.ok, ["outTradeNo": paid.outTradeNo, "transactionId": paid.transactionID])
            } catch let error as WeChatPaySandboxError {
                return WeChatPayWire.controlResponse(
                    HTTPResponse.Status(code: error.status), ["code": error.code, "message": error.message])
            }
        }
        group.post("/control/advance-clock") { request, _ in
            let body = (try? await Self.controlBody(request)) ?? [:]
            let seconds = (body["seconds"] as? NSNumber)?.doubleValue ?? 0
            self.advanceClock(by: .milliseconds(Int64(seconds * 1000)))
            return WeChatPayWire.controlResponse(.ok, ["offsetSeconds": self.state.withLock { $0.clockOffset }])
        }
        group.get("/control/orders/:out_trade_no") { _, context in
            let outTradeNo = Self.pathParameter(context, "out_trade_no")
            guard let order = self.state.withLock({ $0.orders[outTradeNo] }) else {
                return WeChatPayWire.controlResponse(.notFound, ["code": "ORDER_NOT_EXIST", "message": "订单不存在"])
            }
            var object = order.json()
            object["prepay_id"] = order.prepayID
            object["notify_url"] = order.notifyURL
            return WeChatPayWire.controlResponse(.ok, object)
        }
        group.get("/control/deliveries") { _, _ in
            let list: [[String: Any]] = self.deliveries.map { delivery in
                var item: [String: Any] = [
                    "eventId": delivery.eventID, "eventType": delivery.eventType, "outTradeNo": delivery.outTradeNo,
                    "url": delivery.url, "attempt": delivery.attempt, "acknowledged": delivery.acknowledged,
                    "signatureProbe": delivery.isSignatureProbe, "at": WeChatPayWire.rfc3339(delivery.at),
                ]
                item["outRefundNo"] = delivery.outRefundNo
                item["status"] = delivery.status
                item["error"] = delivery.error
                return item
            }
            return WeChatPayWire.controlResponse(.ok, ["deliveries": list])
        }
    }

    static func controlBody(_ request: Request) async throws -> [String: Any] {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any] else {
            throw WeChatPaySandboxError(status: 400, code: "PARAM_ERROR", message: "body must be a JSON object")
        }
        return object
    }

    /// The prepay id from `prepayId` or `package`; with `paySign`, checks the requestPayment
    /// signature (§4.4) with the merchant public key, as WeChat does before showing the cashier.
    func verifiedPrepayID(_ body: [String: Any]) throws -> String {
        let package = body["package"] as? String
        guard let prepayID = (body["prepayId"] as? String) ?? package.flatMap({ $0.hasPrefix("prepay_id=") ? String($0.dropFirst(10)) : nil }),
              !prepayID.isEmpty else {
            throw WeChatPaySandboxError(status: 400, code: "PARAM_ERROR", message: "prepayId (or package \"prepay_id=…\") is required")
        }
        guard let paySign = body["paySign"] as? String else { return prepayID }
        guard let timeStamp = body["timeStamp"] as? String, let nonceStr = body["nonceStr"] as? String,
              let package, package == "prepay_id=" + prepayID, body["signType"] as? String == "RSA" else {
            throw WeChatPaySandboxError(
                status: 400, code: "PAY_PARAM_ERROR",
                message: "requestPayment:fail timeStamp, nonceStr, package \"prepay_id=…\" and signType \"RSA\" are required (timeStamp is a string)")
        }
        let message = Array("\(credentials.appID)\n\(timeStamp)\n\(nonceStr)\n\(package)\n".utf8)
        guard WeChatPayWire.verify(paySign, message: message, with: keys.merchantPublicKey) else {
            throw WeChatPaySandboxError(status: 400, code: "PAY_SIGN_ERROR", message: "requestPayment:fail 支付验证签名失败")
        }
        return prepayID
    }

    /// The user pays the order behind `prepayID`: it becomes SUCCESS and (unless `notify` is
    /// false) a TRANSACTION.SUCCESS notify goes to its `notify_url`.
    @discardableResult
    public func pay(prepayID: String, notify: Bool = true) throws -> (outTradeNo: String, transactionID: String) {
        let now = self.now
        let order: Order = try state.withLock { state in
            guard let outTradeNo = state.prepayIndex[prepayID], var order = state.orders[outTradeNo] else {
                throw WeChatPaySandboxError(status: 404, code: "PREPAY_NOT_FOUND", message: "prepay_id 不存在")
            }
            switch order.tradeState {
            case .closed:
                throw WeChatPaySandboxError(status: 400, code: "ORDER_CLOSED", message: "订单已关闭")
            case .success, .refund:
                throw WeChatPaySandboxError(status: 400, code: "ORDER_PAID", message: "订单已支付")
            case .notPaid:
                break
            }
            guard now < order.prepayExpiresAt else {
                throw WeChatPaySandboxError(status: 400, code: "PREPAY_EXPIRED", message: "prepay_id 已过期（有效期2小时）")
            }
            guard now < order.payDeadline else {
                throw WeChatPaySandboxError(status: 400, code: "ORDER_EXPIRED", message: "订单已超过支付截止时间 time_expire")
            }
            let transactionID = "4200" + WeChatPayWire.digits(24)
            order.tradeState = .success
            order.transactionID = transactionID
            order.successTime = now
            state.orders[outTradeNo] = order
            state.transactionIndex[transactionID] = outTradeNo
            return order
        }
        if notify {
            send(transactionEvent(order))
        }
        return (order.outTradeNo, order.transactionID ?? "")
    }

    /// Moves the sandbox's business clock (prepay validity, `time_expire`, times in answers).
    /// Signature timestamps keep using the real clock.
    public func advanceClock(by duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        state.withLock { $0.clockOffset += seconds }
    }

    /// The next `kind` request (after authentication) fails with this WeChat error instead.
    public func failNext(_ kind: APIKind, status: Int = 500, code: String = "SYSTEM_ERROR", message: String = "系统繁忙,请稍后重试") {
        let failure = PayAPIError(HTTPResponse.Status(code: status), code, message)
        state.withLock { $0.injectedFailures[kind, default: []].append(failure) }
    }

    /// A snapshot of the order with this `out_trade_no`.
    public func transaction(outTradeNo: String) -> Order? {
        state.withLock { $0.orders[outTradeNo] }
    }

    /// The transaction object (JSON bytes) WeChat would put in the notify resource / query answer.
    public func transactionResource(outTradeNo: String) -> [UInt8]? {
        transaction(outTradeNo: outTradeNo).map { WeChatPayWire.serialize($0.json()) }
    }

    public func refund(outRefundNo: String) -> Refund? {
        state.withLock { $0.refunds[outRefundNo] }
    }

    /// Every notify attempt so far, oldest first.
    public var deliveries: [NotifyDelivery] { state.withLock { $0.deliveries } }

    /// Authenticated API requests received, per API.
    public var apiCalls: APICallCounts { state.withLock { $0.calls } }
}
