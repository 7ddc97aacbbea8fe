/// Whether a verified refund notify describes exactly the refund it names.
///
/// A valid signature proves only that WeChat Pay (or whoever holds the platform key) sent
/// the notify, not that it is about this refund: a confused or compromised upstream can
/// sign a `REFUND.SUCCESS` for another merchant, another order or another amount. So, like
/// a payment notify, a refund notify settles nothing unless every figure matches what we
/// asked for; the follow-up query job then settles the refund from WeChat's own record.
/// A notify must state every field (WeChat's refund notifies always do); a missing one is
/// a mismatch, never a pass.
public enum RefundNotifyMismatch: String, Sendable, Equatable, CaseIterable {
    case merchant = "merchant_mismatch"
    case outTradeNo = "out_trade_no_mismatch"
    case amount = "amount_mismatch"
    case total = "total_mismatch"

    /// The first mismatch between `notified` and the refund and order it names, or nil
    /// when it matches exactly.
    public static func check(_ notified: GatewayRefund, refund: Refund, order: Order, mchID: String) -> RefundNotifyMismatch? {
        if notified.mchID != mchID { return .merchant }
        if notified.outTradeNo != order.outTradeNo.rawValue { return .outTradeNo }
        if notified.amountFen != refund.amountFen { return .amount }
        if notified.totalFen != order.totalFen { return .total }
        return nil
    }
}
