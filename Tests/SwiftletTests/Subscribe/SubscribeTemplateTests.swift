import Foundation
import SwiftletCore
import Testing

/// Filling templates from event payloads and fitting values to WeChat's field limits.
@Suite("Subscribe message templates")
struct SubscribeTemplateTests {
    nonisolated(unsafe) static let payload: [String: Any] = [
        "orderId": "o_abc", "outTradeNo": "SL77ZXYYK596", "totalFen": 1990, "paidAt": "2027-01-15T08:03:12.418Z",
        "title": "Yunnan Pu'er Tea, aged raw, pressed cake of 357 grams",
    ]

    @Test("placeholders, yuan and China time")
    func fillsPlaceholders() throws {
        let template = SubscribeTemplate(
            event: "order.paid", templateId: "TPL", page: "pages/order/detail?id={orderId}",
            data: ["character_string1": "{outTradeNo}", "amount2": "{totalFen|yuan}", "time3": "{paidAt|time}",
                   "date4": "{paidAt|date}", "thing5": "Paid: {title}"])
        let fields = try template.render(payload: Self.payload).get()
        let values = Dictionary(uniqueKeysWithValues: fields.map { ($0.key, $0.value) })
        #expect(values["character_string1"] == "SL77ZXYYK596")
        #expect(values["amount2"] == "19.90")
        #expect(values["time3"] == "2027-01-15 16:03", "UTC 08:03 is 16:03 in China")
        #expect(values["date4"] == "2027-01-15")
        #expect(values["thing5"] == "Paid: Yunnan Pu'er T", "thing is cut to 20 characters")
        #expect(fields.map(\.key) == fields.map(\.key).sorted())
        #expect(template.renderPage(payload: Self.payload) == "pages/order/detail?id=o_abc")
    }

    @Test("values that cannot be fitted are refused, naming the field")
    func refusesUnfittable() {
        let empty = SubscribeTemplate(event: "order.paid", templateId: "T", data: ["thing1": "{missing}"])
        #expect(throws: SubscribeRenderError.self) { try empty.render(payload: Self.payload).get() }
        if case .failure(let error) = empty.render(payload: Self.payload) {
            #expect(error.field == "thing1" && error.reason == "empty")
        }
        let notNumber = SubscribeTemplate(event: "order.paid", templateId: "T", data: ["number1": "{orderId}"])
        #expect(throws: SubscribeRenderError.self) { try notNumber.render(payload: Self.payload).get() }
        let notAmount = SubscribeTemplate(event: "order.paid", templateId: "T", data: ["amount1": "19.999"])
        #expect(throws: SubscribeRenderError.self) { try notAmount.render(payload: Self.payload).get() }
    }

    @Test("each kind's limit")
    func kinds() throws {
        #expect(SubscribeFieldKind(key: "thing12") == .thing)
        #expect(SubscribeFieldKind(key: "character_string3") == .characterString)
        #expect(try SubscribeFieldKind.characterString.fit("SL 77 订单 #9").get() == "SL77#9")
        #expect(try SubscribeFieldKind.characterString.fit(String(repeating: "a", count: 40)).get().count == 32)
        #expect(try SubscribeFieldKind.name.fit("诸葛孔明卧龙先生南阳布衣躬耕").get() == "诸葛孔明卧龙先生南阳")
        #expect(try SubscribeFieldKind.name.fit("Alexander Hamilton Jr. III").get().count == 20)
        #expect(try SubscribeFieldKind.phrase.fit("已发货，请注意查收").get() == "已发货，请")
        #expect(try SubscribeFieldKind.number.fit("-12.5").get() == "-12.5")
        #expect((try? SubscribeFieldKind.number.fit("12a").get()) == nil)
        #expect(try SubscribeFieldKind.amount.fit("¥19.90").get() == "¥19.90")
        #expect(try SubscribeFieldKind.amount.fit("19元").get() == "19元")
        #expect(try SubscribeFieldKind.phoneNumber.fit("+86 138-0013-8000").get() == "+86 138-0013-8000")
        #expect((try? SubscribeFieldKind.thing.fit("   ").get()) == nil)
    }
}
