import Foundation
import Hummingbird
import SwiftletCore

/// Decoding of JSON request bodies with errors a client can act on: which field is
/// missing or has the wrong type, rather than a generic 400.
public enum JSONBodyDecoding {
    static let decoder = JSONDecoder()

    public static func describe(_ error: DecodingError) -> SwiftletError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return .invalid("request.malformed_json", "The request body is not valid JSON.")
        case .dataCorrupted(let context):
            return .invalid("request.invalid_field", "Field '\(path(context.codingPath))' has an invalid value.")
        case .keyNotFound(let key, let context):
            return .invalid("request.missing_field", "Field '\(path(context.codingPath + [key]))' is required.")
        case .typeMismatch(let type, let context):
            let field = context.codingPath.isEmpty ? "The request body" : "Field '\(path(context.codingPath))'"
            return .invalid("request.invalid_type", "\(field) must be \(describe(type)).")
        case .valueNotFound(let type, let context):
            return .invalid("request.invalid_type", "Field '\(path(context.codingPath))' must be \(describe(type)), not null.")
        @unknown default:
            return .invalid("request.invalid_body", "The request body could not be read.")
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue }
            .joined(separator: ".")
            .replacingOccurrences(of: ".[", with: "[")
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }
}

extension Request {
    /// Reads the body (up to the context's limit) and decodes it as JSON.
    public func decodeJSON<T: Decodable>(_ type: T.Type, context: SwiftletRequestContext) async throws -> T {
        let buffer = try await body.collect(upTo: context.maxUploadSize)
        guard buffer.readableBytes > 0 else {
            throw SwiftletError.invalid("request.empty_body", "A JSON request body is required.")
        }
        do {
            return try JSONBodyDecoding.decoder.decode(T.self, from: buffer)
        } catch let error as DecodingError {
            throw JSONBodyDecoding.describe(error)
        }
    }
}
