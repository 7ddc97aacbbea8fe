import CryptoExtras
import Foundation
import HummingbirdTesting
import SwiftletCore
import SwiftletSandbox
import Testing

/// Refund notifies are checked like payment notifies: a correctly signed one settles a
/// refund only when it matches that refund and its order exactly; a refused one is logged
/// with the reason it was refused.
@Suite("Refund notify checks")
struct RefundNotifyCheckTests {
    /// A correctly signed REFUND.SUCCESS for `refundID` of `order`, as WeChat would send
    /// it, after `edit` (the mismatch under test) has changed its resource.
    static func refundNotify(_ app: CommerceHarness, order: OrderBody, refundID: String, amountFen: Int,
                             edit: (inout [String: Any]) -> Void = { _ in }) throws -> (headers: [(String, String)], body: [UInt8]) {
        let transaction = try #require(app.sandbox.transactionResource(outTradeNo: order.outTradeNo))
        let paid = try #require(try JSONSerialization.jsonObject(with: Data(transaction)) as? [String: Any])
        var object: [String: Any] = [
            "mchid": try #require(paid["mchid"] as? String), "transaction_id": try #require(paid["transaction_id"] as? String),
            "out_trade_no": order.outTradeNo, "refund_id": "50300000000000000000000000001", "out_refund_no": refundID,
            "refund_status": "SUCCESS", "success_time": "2026-01-01T10:00:00+08:00", "user_received_account": "支付用户零钱",
            "amount": ["total": order.totalFen, "refund": amountFen, "payer_total": order.totalFen, "payer_refund": amountFen],
        ]
        edit(&object)
        return try app.sandbox.signedNotification(
            eventType: "REFUND.SUCCESS", resource: Array(try JSONSerialization.data(withJSONObject: object)),
            originalType: "refund", associatedData: "refund")
    }

    @Test("a refund notify whose merchant, out_trade_no, amount or total differs changes nothing", arguments: EngineKind.available)
    func mismatchesChangeNothing(_ kind: EngineKind) async throws {
        let logs = LogRecorder()
        try await CommerceHarness.run(kind, runsJobWorker: false, logger: logs.logger) { app in
            let (productID, order) = try await RefundTests.paidOrder(app, priceFen: 3000, stock: 4)
            let (_, otherSKU) = try await app.product(priceFen: 3000, stock: 1)
            let other = try await app.orderAndPrepay(buyer: "oscar", sku: otherSKU).order
            // WeChat busy: the refund is accepted here and stays open for its follow-up.
            app.sandbox.failNext(.refund)
            let started = try await app.admin(.post, "/admin/v1/orders/\(order.id)/refunds", json: #"{"amountFen":3000}"#)
            #expect(started.status == .created, "\(started.body)")
            let refund = try started.decode(RefundTests.RefundResult.self).refund
            #expect(refund.status == "processing")
            #expect(try await app.stock(of: productID) == 3)

            let mismatches: [(String, (inout [String: Any]) -> Void)] = [
                ("merchant_mismatch", { $0["mchid"] = "1234567890" }),
                ("out_trade_no_mismatch", { $0["out_trade_no"] = other.outTradeNo }),
                ("amount_mismatch", { $0["amount"] = ["total": 3000, "refund": 2999, "payer_total": 3000, "payer_refund": 2999] }),
                ("total_mismatch", { $0["amount"] = ["total": 3001, "refund": 3000, "payer_total": 3001, "payer_refund": 3000] }),
            ]
            for (reason, edit) in mismatches {
                let notify = try Self.refundNotify(app, order: order, refundID: refund.id, amountFen: 3000, edit: edit)
                #expect(try await app.deliver(headers: notify.headers, body: notify.body).status == .noContent,
                        "\(reason): acknowledged, since WeChat delivering it again cannot change the facts")
            }

            let detail = try await app.admin(.get, "/admin/v1/orders/\(order.id)").decode(AdminOrderBody.self)
            #expect(detail.refunds.map(\.status) == ["processing"], "the refund stays open for the follow-up query")
            #expect(detail.order.status == "refunding" && detail.order.refundedFen == 0)
            #expect(try await app.stock(of: productID) == 3, "no units back on sale")
            #expect(detail.ledger.filter { $0.kind == "refund_notify" }.map(\.outcome) == mismatches.map(\.0))
            #expect(try await app.order(other.id).status == "pending_payment")

            let rejected = logs.logged.filter { $0.message == "refund notify rejected, refund left open for the follow-up query" }
            #expect(rejected.map(\.level) == Array(repeating: .error, count: 4))
            #expect(rejected.map { $0.metadata["reason"] } == mismatches.map(\.0))
            #expect(rejected.allSatisfy {
                Set($0.metadata.keys) == ["reason", "refundId", "orderId", "eventId", "notifiedAmountFen", "refundAmountFen",
                                          "notifiedTotalFen", "orderTotalFen"]
            }, "ids and amounts only, nothing personal")

            // The genuine notify still settles it: the checks refuse only what does not match.
            let genuine = try Self.refundNotify(app, order: order, refundID: refund.id, amountFen: 3000)
            #expect(try await app.deliver(headers: genuine.headers, body: genuine.body).status == .noContent)
            #expect(try await app.order(order.id).status == "refunded")
            #expect(try await app.stock(of: productID) == 4)
        }
    }

    @Test("a rejected notify is logged with why: stale timestamp, unknown serial, bad signature, undecryptable",
          arguments: EngineKind.available)
    func rejectionReasonsAreLogged(_ kind: EngineKind) async throws {
        let logs = LogRecorder()
        try await CommerceHarness.run(kind, logger: logs.logger) { app in
            let genuine = try app.sandbox.signedNotification(
                eventType: "REFUND.SUCCESS", resource: Array(#"{"out_refund_no":"R1","refund_status":"SUCCESS"}"#.utf8),
                originalType: "refund", associatedData: "refund")
            func header(_ name: String, _ value: String) -> [(String, String)] {
                genuine.headers.map { $0.0.lowercased() == name.lowercased() ? ($0.0, value) : $0 }
            }
            let signature = try #require(genuine.headers.first { $0.0 == "Wechatpay-Signature" }?.1)
            let forged = String(signature.reversed())
            let corrupt = try Self.signedWithCorruptCiphertext(app, genuine)
            let attempts: [(String, [(String, String)], [UInt8])] = [
                ("pay.notify_stale_timestamp", header("Wechatpay-Timestamp", String(Int(Date().timeIntervalSince1970) - 600)), genuine.body),
                ("pay.notify_unknown_serial", header("Wechatpay-Serial", "PUB_KEY_ID_0000000000000000000000000000000"), genuine.body),
                ("pay.notify_signature_invalid", header("Wechatpay-Signature", forged), genuine.body),
                ("pay.notify_undecryptable", corrupt.headers, corrupt.body),
                ("pay.notify_unsigned", [], genuine.body),
            ]
            for (reason, headers, body) in attempts {
                let before = logs.logged.count
                let reply = try await app.deliver(headers: headers, body: body)
                #expect((400..<500).contains(reply.status.code), "\(reason): \(reply.status)")
                #expect(!reply.body.contains(reason), "the sender is not told which check failed")
                let lines = logs.logged.dropFirst(before).filter { $0.message == "payment notification rejected" }
                #expect(lines.map { $0.metadata["reason"] } == [reason])
            }
        }
    }

    /// A notify whose resource ciphertext is damaged, then signed with the platform key
    /// again: it verifies, and only the decryption can refuse it.
    static func signedWithCorruptCiphertext(_ app: CommerceHarness, _ genuine: (headers: [(String, String)], body: [UInt8]))
        throws -> (headers: [(String, String)], body: [UInt8]) {
        var envelope = try #require(try JSONSerialization.jsonObject(with: Data(genuine.body)) as? [String: Any])
        var resource = try #require(envelope["resource"] as? [String: Any])
        let encoded = try #require(resource["ciphertext"] as? String)
        var ciphertext = try #require(Data(base64Encoded: encoded))
        ciphertext[0] ^= 0x01
        resource["ciphertext"] = ciphertext.base64EncodedString()
        envelope["resource"] = resource
        let corrupted = Array(try JSONSerialization.data(withJSONObject: envelope))
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: app.sandbox.credentials.platformPrivateKeyPEM)
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let nonce = RandomID.base32(byteCount: 16)
        let message = Array("\(timestamp)\n\(nonce)\n".utf8) + corrupted + [0x0A]
        let signature = try key.signature(for: message, padding: .insecurePKCS1v1_5).rawRepresentation.base64EncodedString()
        let serial = try #require(genuine.headers.first { $0.0 == "Wechatpay-Serial" }?.1)
        return ([("Wechatpay-Timestamp", timestamp), ("Wechatpay-Nonce", nonce), ("Wechatpay-Signature", signature),
                 ("Wechatpay-Serial", serial), ("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")], corrupted)
    }
}
