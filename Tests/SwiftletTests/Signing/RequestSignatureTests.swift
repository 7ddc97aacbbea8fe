import Foundation
import SwiftletCore
import Testing

/// The string to sign, the signature and the header checks, without IO; the worked
/// example is the one in docs/security.md ("Signed requests"), computed independently.
@Suite("Request signatures")
struct RequestSignatureTests {
    static let body = #"{"items":[{"skuId":"sku_1","quantity":2}]}"#

    @Test func workedExampleOfTheDocs() throws {
        let bodyHash = RequestSignature.bodySHA256(Array(Self.body.utf8))
        #expect(bodyHash == "e4658855712eeeb98fe9bc55ee95cf305ed98525fa2f12894f752c87b353b9ae")
        let message = RequestSignature.stringToSign(
            method: "post", path: "/api/v1/orders", query: "b=2&a=1&a=0", keyID: "ck_example", timestamp: "1764460800",
            nonce: "n0nce-0123456789ab", bodySHA256: bodyHash)
        #expect(message == "SWIFTLET-HMAC-SHA256\nPOST\n/api/v1/orders\na=0&a=1&b=2\nck_example:1764460800:n0nce-0123456789ab\n" + bodyHash)
        #expect(RequestSignature.signature(message, secret: "cks_examplesecret")
            == "f157c2e0e596321ae5abdca821e6407f74465fc65aed1d186f5d4905f4d959cf")
        let docs = try String(contentsOfFile: RepositoryPaths.root + "/docs/security.md", encoding: .utf8)
        #expect(docs.contains("f157c2e0e596321ae5abdca821e6407f74465fc65aed1d186f5d4905f4d959cf"), "the docs show this example")
    }

    @Test func canonicalQuerySortsRawPairsByNameThenValue() {
        #expect(RequestSignature.canonicalQuery(nil) == "")
        #expect(RequestSignature.canonicalQuery("") == "")
        #expect(RequestSignature.canonicalQuery("b=2&a=1") == "a=1&b=2")
        #expect(RequestSignature.canonicalQuery("a.b=1&a=2") == "a=2&a.b=1", "by name first, not by the whole pair")
        #expect(RequestSignature.canonicalQuery("flag&&x=%E4%B8%AD") == "flag=&x=%E4%B8%AD", "nothing decoded, empty pairs dropped")
        #expect(RequestSignature.canonicalQuery("q=a=b") == "q=a=b", "split at the first =")
    }

    @Test func emptyBodyHashIsTheHashOfNothing() {
        #expect(RequestSignature.bodySHA256([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func comparisonIsExact() {
        let signature = String(repeating: "a", count: 64)
        #expect(RequestSignature.matches(signature, signature))
        #expect(!RequestSignature.matches(signature, String(repeating: "a", count: 63) + "b"))
        #expect(!RequestSignature.matches(signature, String(repeating: "a", count: 63)))
    }

    static func read(_ key: String? = "ck_1", _ timestamp: String? = "1764460800", _ nonce: String? = "abcdefghijklmnop",
                     _ signature: String? = String(repeating: "0", count: 64)) throws(SwiftletError) -> SignedRequestHeaders? {
        try SignedRequestHeaders.read(key: key, timestamp: timestamp, nonce: nonce, signature: signature)
    }

    static func code(_ read: () throws -> SignedRequestHeaders?) -> String? {
        do { _ = try read(); return nil } catch { return (error as? SwiftletError)?.code ?? "\(error)" }
    }

    @Test func headersAreCheckedBeforeAnyLookup() throws {
        #expect(try Self.read(nil, nil, nil, nil) == nil, "no header: an unsigned request")
        #expect(try Self.read()?.keyID == "ck_1")
        #expect(Self.code { try Self.read(nil) } == "signature.missing")
        #expect(Self.code { try Self.read("ck_1", nil) } == "signature.missing")
        #expect(Self.code { try Self.read("ck 1") } == "signature.unknown_key")
        #expect(Self.code { try Self.read("ck_1", "-5") } == "signature.invalid")
        #expect(Self.code { try Self.read("ck_1", "1764460800", "short") } == "signature.invalid")
        #expect(Self.code { try Self.read("ck_1", "1764460800", String(repeating: "n", count: 65)) } == "signature.invalid")
        #expect(Self.code { try Self.read("ck_1", "1764460800", "abcdefghijklmnop", String(repeating: "A", count: 64)) } == "signature.invalid")
    }

    @Test func timestampWindowHoldsBothWays() throws {
        let headers = try #require(try Self.read())
        let at = Date(timeIntervalSince1970: 1_764_460_800)
        #expect(Self.code { try headers.checkFresh(now: at.addingTimeInterval(300), window: 300); return nil } == nil)
        #expect(Self.code { try headers.checkFresh(now: at.addingTimeInterval(-300), window: 300); return nil } == nil)
        #expect(Self.code { try headers.checkFresh(now: at.addingTimeInterval(301), window: 300); return nil } == "signature.expired")
        #expect(Self.code { try headers.checkFresh(now: at.addingTimeInterval(-301), window: 300); return nil } == "signature.expired")
    }

    @Test func previousSecretVerifiesOnlyDuringTheOverlap() {
        let until = Date(timeIntervalSince1970: 1000)
        let secrets = SigningKeySecrets(current: "new", previous: "old", previousValidUntil: until)
        #expect(secrets.verifying(at: until.addingTimeInterval(-1)) == ["new", "old"])
        #expect(secrets.verifying(at: until) == ["new"])
    }
}
