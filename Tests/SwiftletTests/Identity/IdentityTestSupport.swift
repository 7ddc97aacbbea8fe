import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

struct TokensBody: Decodable {
    let accessToken: String
    let refreshToken: String
    let expiresIn: Int
    let tokenType: String
    let user: UserBody?
}

struct UserBody: Decodable {
    let id: String
    let openid: String
    let unionid: String?
    let nickname: String?
    let avatarUrl: String?
    let phone: String?
}

struct SessionsBody: Decodable {
    struct Item: Decodable {
        let id: String
        let device: String?
        let current: Bool
    }
    let sessions: [Item]
}

/// One HTTP exchange's outcome, with the error code when there is one.
struct Reply {
    let status: HTTPResponse.Status
    let body: String

    var errorCode: String? {
        struct Envelope: Decodable {
            struct Detail: Decodable { let code: String }
            let error: Detail
        }
        return (try? JSONDecoder().decode(Envelope.self, from: Data(body.utf8)))?.error.code
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(body.utf8))
    }
}

extension TestClientProtocol {
    func call(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, bearer: String? = nil) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { response in
            Reply(status: response.status, body: String(buffer: response.body))
        }
    }

    func login(_ code: String, device: String? = nil) async throws -> TokensBody {
        let deviceField = device.map { #","device":"\#($0)""# } ?? ""
        let reply = try await call(.post, "/api/v1/auth/wechat/login", json: #"{"code":"\#(code)"\#(deviceField)}"#)
        guard reply.status == .ok else { throw TestSetupError("login failed: \(reply.status) \(reply.body)") }
        return try reply.decode(TokensBody.self)
    }

    func refresh(_ refreshToken: String) async throws -> Reply {
        try await call(.post, "/api/v1/auth/refresh", json: #"{"refreshToken":"\#(refreshToken)"}"#)
    }
}
