import Foundation

/// A strictly typed JSON value: `true` is never a number and `1.5` never an integer, so
/// the sandbox refuses what WeChat Pay refuses.
enum PayJSON: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([PayJSON])
    case object([String: PayJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([PayJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: PayJSON].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// A plain value for error details (`detail.value`).
    var plain: Any {
        switch self {
        case .null: NSNull()
        case .bool(let value): value
        case .int(let value): value
        case .number(let value): value
        case .string(let value): value
        case .array(let value): value.map(\.plain)
        case .object(let value): value.mapValues(\.plain)
        }
    }
}

/// A request body with field access by JSON Pointer and WeChat-style PARAM_ERROR details.
struct PayRequestBody {
    let root: [String: PayJSON]

    init(_ bytes: [UInt8]) throws {
        guard case .object(let root)? = try? JSONDecoder().decode(PayJSON.self, from: Data(bytes)) else {
            throw PayAPIError(.badRequest, "PARAM_ERROR", "请求体不是合法的JSON对象",
                              detail: ["location": "body", "issue": "body must be a JSON object"])
        }
        self.root = root
    }

    /// Key order and whitespace do not matter: two bodies with the same content compare equal.
    var fingerprint: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(PayJSON.object(root))) ?? Data())
    }

    func value(_ pointer: String) -> PayJSON? {
        var current = PayJSON.object(root)
        for key in pointer.split(separator: "/") {
            guard case .object(let object) = current, let next = object[String(key)] else { return nil }
            current = next
        }
        if case .null = current { return nil }
        return current
    }

    /// A string field; nil only when optional and absent. Enforces `maxLength` (characters)
    /// and WeChat's "no 4-byte UTF-8" rule.
    func string(_ pointer: String, required: Bool = true, maxLength: Int? = nil) throws -> String? {
        guard let value = value(pointer) else {
            if required { throw PayAPIError.param(pointer, "缺少必填参数 \(pointer)") }
            return nil
        }
        guard case .string(let text) = value else {
            throw PayAPIError.param(pointer, "\(pointer) 类型错误，应为 string", value: value.plain)
        }
        if required, text.isEmpty {
            throw PayAPIError.param(pointer, "\(pointer) 不能为空", value: text)
        }
        if let maxLength, text.count > maxLength {
            throw PayAPIError.param(pointer, "\(pointer) 长度超过 \(maxLength)", value: text)
        }
        if text.unicodeScalars.contains(where: { $0.value > 0xFFFF }) {
            throw PayAPIError.param(pointer, "\(pointer) 含有不支持的4字节UTF-8字符", value: text)
        }
        return text
    }

    func requiredString(_ pointer: String, maxLength: Int? = nil) throws -> String {
        try string(pointer, required: true, maxLength: maxLength) ?? ""
    }

    func int(_ pointer: String, required: Bool = true) throws -> Int? {
        guard let value = value(pointer) else {
            if required { throw PayAPIError.param(pointer, "缺少必填参数 \(pointer)") }
            return nil
        }
        guard case .int(let number) = value else {
            throw PayAPIError.param(pointer, "\(pointer) 类型错误，应为 integer", value: value.plain)
        }
        return number
    }

    /// `notify_url`: http(s) with a host and no query string (the sandbox also allows http).
    func notifyURL(_ pointer: String, required: Bool, maxLength: Int) throws -> String? {
        guard let text = try string(pointer, required: required, maxLength: maxLength) else { return nil }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = url.host, !host.isEmpty else {
            throw PayAPIError.param(pointer, "notify_url 格式错误，必须是 http(s) 地址", value: text)
        }
        guard url.percentEncodedQuery == nil, url.fragment == nil else {
            throw PayAPIError.param(pointer, "notify_url 不能携带参数", value: text)
        }
        return text
    }

    /// `out_trade_no`: 6–32 of `[0-9A-Za-z_-|*]`; `out_refund_no` also allows `@`, up to 64.
    static func isMerchantNumber(_ text: String, length: ClosedRange<Int>, extra: Set<Character> = []) -> Bool {
        let allowed = Set("_-|*").union(extra)
        return length.contains(text.count)
            && text.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || allowed.contains($0) }
    }
}
