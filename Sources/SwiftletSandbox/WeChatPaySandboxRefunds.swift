import Foundation
import SwiftletCore

/// Refunds (§4.8): accepted as PROCESSING, SUCCESS after `refundDelay`, then a
/// REFUND.SUCCESS notify to the refund's `notify_url` (or the order's).
extension WeChatPaySandbox {
    static let maxRefundsPerOrder = 50

    func createRefund(_ call: Call) throws -> Reply {
        let body = try PayRequestBody(call.body)
        let outTradeNo = try body.string("/out_trade_no", required: false, maxLength: 32)
        let transactionID = try body.string("/transaction_id", required: false, maxLength: 32)
        guard outTradeNo != nil || transactionID != nil else {
            throw PayAPIError.param("/out_trade_no", "transaction_id 和 out_trade_no 必须二选一")
        }
        let outRefundNo = try body.requiredString("/out_refund_no", maxLength: 64)
        guard PayRequestBody.isMerchantNumber(outRefundNo, length: 1...64, extra: ["@"]) else {
            throw PayAPIError.param("/out_refund_no", "out_refund_no 须为数字、大小写字母或_-|*@", value: outRefundNo)
        }
        let reason = try body.string("/reason", required: false, maxLength: 80)
        let notifyURL = try body.notifyURL("/notify_url", required: false, maxLength: 256)
        let fundsAccount = try body.string("/funds_account", required: false) ?? "AVAILABLE"
        guard body.value("/amount") != nil else { throw PayAPIError.param("/amount", "缺少必填参数 /amount") }
        let refund = try body.int("/amount/refund") ?? 0
        guard refund >= 1 else { throw PayAPIError.param("/amount/refund", "退款金额必须大于0", value: refund) }
        let total = try body.int("/amount/total") ?? 0
        guard total >= 1 else { throw PayAPIError.param("/amount/total", "原订单金额必须大于0", value: total) }
        let currency = try body.requiredString("/amount/currency")
        guard currency == "CNY" else { throw PayAPIError.param("/amount/currency", "仅支持 CNY", value: currency) }

        let now = self.now
        let (accepted, isNew): (Refund, Bool) = try state.withLock { state in
            let key = outTradeNo ?? transactionID.flatMap { state.transactionIndex[$0] }
            guard let key, let order = state.orders[key],
                  transactionID == nil || order.transactionID == transactionID else {
                throw PayAPIError(.notFound, "RESOURCE_NOT_EXISTS", "订单不存在")
            }
            if let existing = state.refunds[outRefundNo] {
                guard existing.outTradeNo == order.outTradeNo, existing.refund == refund, existing.total == total else {
                    throw PayAPIError.invalidRequest("请求重入时，参数与首次请求时不一致")
                }
                return (existing, false)
            }
            guard order.tradeState == .success || order.tradeState == .refund, let paidTransactionID = order.transactionID else {
                throw PayAPIError.invalidRequest("订单未支付，不能发起退款")
            }
            guard total == order.total else {
                throw PayAPIError.invalidRequest("订单金额与原订单金额不一致")
            }
            guard refund <= order.total - state.refunded(outTradeNo: order.outTradeNo) else {
                throw PayAPIError.invalidRequest("申请退款金额超过订单可退金额")
            }
            guard state.refunds.values.filter({ $0.outTradeNo == order.outTradeNo }).count < Self.maxRefundsPerOrder else {
                throw PayAPIError(.forbidden, "RULE_LIMIT", "同一笔订单部分退款次数不能超过50次")
            }
            let created = Refund(
                refundID: "50" + WeChatPayWire.digits(27), outRefundNo: outRefundNo, outTradeNo: order.outTradeNo,
                transactionID: paidTransactionID, refund: refund, total: total, currency: currency, reason: reason,
                fundsAccount: fundsAccount, notifyURL: notifyURL ?? order.notifyURL, status: .processing,
                createdAt: now, successTime: nil)
            state.refunds[outRefundNo] = created
            return (created, true)
        }
        if isNew {
            scheduleRefundCompletion(outRefundNo: outRefundNo)
        }
        return .json(accepted.json())
    }

    func queryRefund(outRefundNo: String, _ call: Call) throws -> Reply {
        guard let refund = state.withLock({ $0.refunds[outRefundNo] }) else {
            throw PayAPIError(.notFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
        }
        return .json(refund.json())
    }

    private func scheduleRefundCompletion(outRefundNo: String) {
        track {
            do {
                try await Task.sleep(for: self.refundDelay)
            } catch {
                return
            }
            let now = self.now
            let completed: Refund? = self.state.withLock { state in
                guard var refund = state.refunds[outRefundNo], refund.status == .processing else { return nil }
                refund.status = .success
                refund.successTime = now
                state.refunds[outRefundNo] = refund
                state.orders[refund.outTradeNo]?.tradeState = .refund
                return refund
            }
            guard let completed else { return }
            await self.deliver(NotifyEvent(
                eventType: "REFUND.SUCCESS", summary: "退款成功", originalType: "refund", associatedData: "refund",
                resource: WeChatPayWire.serialize(completed.notifyJSON(mchID: self.credentials.mchID)),
                url: completed.notifyURL, outTradeNo: completed.outTradeNo, outRefundNo: outRefundNo))
        }
    }
}
