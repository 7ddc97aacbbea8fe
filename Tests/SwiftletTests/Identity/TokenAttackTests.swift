import Foundation
import HTTPTypes
import HummingbirdTesting
import JWTKit
import SwiftletConfig
import SwiftletCore
import SwiftletServer
import SwiftletTokens
import Testing

/// Every way to present a bad token gets a 401 with its own code.
@Suite("Access token attacks")
struct TokenAttackTests {
    static var secret: [UInt8] {
        get throws {
            let text = try String(contentsOfFile: TestApp.secretsDirectory + "/secrets/jwt-hs256.secret", encoding: .utf8)
            return Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        }
    }

    static func base64URL(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func claims(_ login: TokensBody, issuedAt: Date = Date(), lifetime: TimeInterval = 900) throws -> AccessTokenClaims {
        let parts = login.accessToken.split(separator: ".")
        var payload = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while payload.count % 4 != 0 { payload += "=" }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(base64Encoded: payload)!) as? [String: Any])
        return AccessTokenClaims(
            userID: UserID(rawValue: object["sub"] as! String), sessionID: SessionID(rawValue: object["sid"] as! String),
            tokenID: "forged-\(UUID())", issuedAt: issuedAt, expiresAt: issuedAt.addingTimeInterval(lifetime))
    }

    @Test func tamperedTokensAreInvalid() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            let login = try await client.login("mallory:1")
            let parts = login.accessToken.split(separator: ".").map(String.init)

            // Payload swapped for another user's, signature kept.
            let forgedPayload = Self.base64URL(#"{"sub":"u_someoneelse","sid":"s_x","jti":"j","iat":1,"exp":9999999999,"iss":"swiftlet","aud":"swiftlet-miniprogram"}"#)
            let forged = [parts[0], forgedPayload, parts[2]].joined(separator: ".")
            #expect(try await client.call(.get, "/api/v1/me", bearer: forged).errorCode == "auth.token_invalid")

            // alg: none, no signature.
            let none = Self.base64URL(#"{"alg":"none","typ":"JWT","kid":"k1"}"#) + "." + parts[1] + "."
            #expect(try await client.call(.get, "/api/v1/me", bearer: none).errorCode == "auth.token_invalid")

            // Header claims another algorithm for our kid.
            let hs512 = Self.base64URL(#"{"alg":"HS512","typ":"JWT","kid":"k1"}"#) + "." + parts[1] + "." + parts[2]
            #expect(try await client.call(.get, "/api/v1/me", bearer: hs512).errorCode == "auth.token_invalid")

            // Unknown kid, garbage, missing.
            let unknownKid = Self.base64URL(#"{"alg":"HS256","typ":"JWT","kid":"zz"}"#) + "." + parts[1] + "." + parts[2]
            #expect(try await client.call(.get, "/api/v1/me", bearer: unknownKid).errorCode == "auth.token_invalid")
            #expect(try await client.call(.get, "/api/v1/me", bearer: "garbage").errorCode == "auth.token_invalid")
            #expect(try await client.call(.get, "/api/v1/me").errorCode == "auth.token_missing")
            let basic = try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Basic YTpi"]) { $0.status }
            #expect(basic == .unauthorized)
            #expect(try await client.call(.get, "/api/v1/me", bearer: login.accessToken).status == .ok, "the real token still works")
        }
    }

    @Test func wrongKeyAudienceIssuerAndTime() async throws {
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            let login = try await client.login("mallory:2")
            let secret = try Self.secret
            let claims = try Self.claims(login)

            let otherKey = try await JWTAccessTokenCodec(
                signing: .hs256(kid: "k1", secret: Array(repeating: 7, count: 32)), issuer: "swiftlet", audience: "swiftlet-miniprogram")
            #expect(try await client.call(.get, "/api/v1/me", bearer: try await otherKey.sign(claims)).errorCode == "auth.token_invalid")

            let otherAudience = try await JWTAccessTokenCodec(signing: .hs256(kid: "k1", secret: secret), issuer: "swiftlet", audience: "admin-console")
            #expect(try await client.call(.get, "/api/v1/me", bearer: try await otherAudience.sign(claims)).errorCode == "auth.token_audience")

            let otherIssuer = try await JWTAccessTokenCodec(signing: .hs256(kid: "k1", secret: secret), issuer: "evil", audience: "swiftlet-miniprogram")
            #expect(try await client.call(.get, "/api/v1/me", bearer: try await otherIssuer.sign(claims)).errorCode == "auth.token_issuer")

            let ours = try await JWTAccessTokenCodec(signing: .hs256(kid: "k1", secret: secret), issuer: "swiftlet", audience: "swiftlet-miniprogram")
            let expired = try Self.claims(login, issuedAt: Date().addingTimeInterval(-3600), lifetime: 900)
            #expect(try await client.call(.get, "/api/v1/me", bearer: try await ours.sign(expired)).errorCode == "auth.token_expired")
            let future = try Self.claims(login, issuedAt: Date().addingTimeInterval(3600))
            #expect(try await client.call(.get, "/api/v1/me", bearer: try await ours.sign(future)).errorCode == "auth.token_not_yet_valid")
            // Within the leeway, a token that just expired is still accepted.
            let justExpired = try Self.claims(login, issuedAt: Date().addingTimeInterval(-910), lifetime: 900)
            #expect(try await client.call(.get, "/api/v1/me", bearer: try await ours.sign(justExpired)).status == .ok)
        }
    }

    @Test("access tokens expire with the (injected) clock")
    func expiryFollowsTheClock() async throws {
        let clock = MutableClock(Date())
        var customization = TestRoutes.customization
        customization.clock = clock.clock
        try await TestStorage.withStorage(.sqlite, clock: clock.clock) { storage in
            let app = try await TestApp.application(storage: storage, customization: customization)
            try await app.test(.live) { (client: any TestClientProtocol) async throws in
                let login = try await client.login("ivy:1")
                clock.advance(600)
                #expect(try await client.call(.get, "/api/v1/me", bearer: login.accessToken).status == .ok)
                clock.advance(400)
                #expect(try await client.call(.get, "/api/v1/me", bearer: login.accessToken).errorCode == "auth.token_expired")
                let refreshed = try await client.refresh(login.refreshToken)
                #expect(refreshed.status == .ok, "the refresh token outlives the access token")
                clock.advance(31 * 86_400)
                let tokens = try refreshed.decode(TokensBody.self)
                #expect(try await client.refresh(tokens.refreshToken).errorCode == "auth.refresh_expired")
            }
        }
    }

    @Test("ES256: tokens verify, JWKS publishes the key, HS256 confusion fails")
    func es256AndConfusion() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = TestApp.config {
            $0.auth.jwtAlgorithm = .es256
            $0.dataDirectory = directory.path
        }
        try await TestApp.withLiveApp(config: config) { (client: any TestClientProtocol) async throws in
            let login = try await client.login("jack:1")
            #expect(try await client.call(.get, "/api/v1/me", bearer: login.accessToken).status == .ok)
            let jwks = try await client.call(.get, "/.well-known/jwks.json")
            #expect(jwks.status == .ok)
            #expect(jwks.body.contains(#""kid":"k1""#) && jwks.body.contains(#""crv":"P-256""#))

            // Algorithm confusion: HS256 signed with the public key as the HMAC secret.
            let pem = try String(contentsOfFile: directory.path + "/secrets/jwt-es256.pem", encoding: .utf8)
            let publicPEM = try ES256PrivateKey(pem: pem).publicKey.pemRepresentation
            let confused = try await JWTAccessTokenCodec(
                signing: .hs256(kid: "k1", secret: Array(publicPEM.utf8)), issuer: "swiftlet", audience: "swiftlet-miniprogram")
            let token = try await confused.sign(try Self.claims(login))
            #expect(try await client.call(.get, "/api/v1/me", bearer: token).errorCode == "auth.token_invalid")
        }
    }

    @Test("a rotated-out HS256 key still verifies; tokens are signed with the new one")
    func keyRotation() async throws {
        let oldSecret = String(repeating: "o", count: 40)
        let newSecret = String(repeating: "n", count: 40)
        let old = try await JWTAccessTokenCodec(signing: .hs256(kid: "k0", secret: Array(oldSecret.utf8)), issuer: "swiftlet", audience: "swiftlet-miniprogram")
        let config = TestApp.config {
            $0.auth.jwtSecret = newSecret
            $0.auth.jwtKeyID = "k1"
            $0.auth.jwtRetiredSecrets = [.init(kid: "k0", secret: oldSecret)]
        }
        try await TestApp.withLiveApp(config: config) { (client: any TestClientProtocol) async throws in
            let login = try await client.login("kate:1")
            var header = String(login.accessToken.split(separator: ".")[0])
            while header.count % 4 != 0 { header += "=" }
            let headerJSON = String(decoding: Data(base64Encoded: header) ?? Data(), as: UTF8.self)
            #expect(headerJSON.contains(#""kid":"k1""#), "new tokens are signed with the current key")
            let oldToken = try await old.sign(try Self.claims(login))
            #expect(try await client.call(.get, "/api/v1/me", bearer: oldToken).status == .ok)
            #expect(try await client.call(.get, "/api/v1/me", bearer: login.accessToken).status == .ok)
        }
    }
}
