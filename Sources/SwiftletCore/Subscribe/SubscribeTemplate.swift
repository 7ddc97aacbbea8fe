import Foundation

/// An operator's mapping of a domain event to a WeChat subscribe-message template
/// (`subscribe.templates`): which template, which page the message opens, and how each
/// of the template's fields is filled from the event.
///
/// Field values are text with `{name}` placeholders read from the event's payload
/// (`{orderId}`, `{outTradeNo}`), optionally through a format: `{totalFen|yuan}` gives
/// `19.90`, `{paidAt|time}` gives `2027-01-15 16:03` and `{paidAt|date}` `2027-01-15`
/// (China time, as WeChat shows them). Placeholders may also appear in `page`.
public struct SubscribeTemplate: Sendable, Equatable, Codable {
    /// The domain event type that triggers it (`order.shipped`).
    public var event: String
    public var templateId: String
    /// The mini-program page opened on tap (`pages/order/detail?id={orderId}`); none: no jump.
    public var page: String?
    /// The template's fields in WeChat's names (`thing1`, `amount2`, …) and their values.
    public var data: [String: String]
    /// Also send when the user has a live realtime connection (who then got the event in
    /// the app already). Default false: subscribe messages are for users who are away.
    public var whenOnline: Bool?

    public init(event: String, templateId: String, page: String? = nil, data: [String: String], whenOnline: Bool? = nil) {
        self.event = event
        self.templateId = templateId
        self.page = page
        self.data = data
        self.whenOnline = whenOnline
    }

    /// The key a send is stored under: event type and template (one template can serve
    /// several events).
    public var key: String { event + "|" + templateId }

    /// The template's fields filled from `payload`, fitted to WeChat's limits, in key
    /// order; or why a field cannot be sent (a dead letter: WeChat would refuse it with 47003).
    public func render(payload: [String: Any]) -> Result<[(key: String, value: String)], SubscribeRenderError> {
        var fields: [(key: String, value: String)] = []
        for key in data.keys.sorted() {
            let text = Self.fill(data[key] ?? "", payload: payload)
            switch SubscribeFieldKind(key: key).fit(text) {
            case .success(let value): fields.append((key, value))
            case .failure(let rejection): return .failure(SubscribeRenderError(field: key, reason: rejection.reason))
            }
        }
        return .success(fields)
    }

    /// The page with its placeholders filled, if any.
    public func renderPage(payload: [String: Any]) -> String? {
        page.map { Self.fill($0, payload: payload) }
    }

    static func fill(_ text: String, payload: [String: Any]) -> String {
        var output = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            output += rest[..<open]
            let spec = rest[rest.index(after: open)..<close].split(separator: "|", maxSplits: 1).map(String.init)
            output += Self.value(spec.first ?? "", format: spec.count > 1 ? spec[1] : nil, payload: payload)
            rest = rest[rest.index(after: close)...]
        }
        return output + rest
    }

    static let chinaTime = TimeZone(identifier: "Asia/Shanghai") ?? TimeZone(secondsFromGMT: 8 * 3600)!

    static func value(_ name: String, format: String?, payload: [String: Any]) -> String {
        guard let raw = payload[name] else { return "" }
        switch format {
        case "yuan":
            guard let fen = (raw as? NSNumber)?.int64Value else { return "" }
            let sign = fen < 0 ? "-" : ""
            let magnitude = fen.magnitude
            return "\(sign)\(magnitude / 100).\(magnitude % 100 < 10 ? "0" : "")\(magnitude % 100)"
        case "time", "date":
            guard let text = raw as? String, let date = RFC3339.date(text) else { return "" }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = chinaTime
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
            func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
            let day = "\(parts.year ?? 0)-\(two(parts.month))-\(two(parts.day))"
            return format == "date" ? day : "\(day) \(two(parts.hour)):\(two(parts.minute))"
        default:
            if let text = raw as? String { return text }
            if let number = raw as? NSNumber { return number.stringValue }
            return ""
        }
    }

}

/// Why a template field cannot be sent.
public struct SubscribeRenderError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public var description: String { "data.\(field): \(reason)" }
}
