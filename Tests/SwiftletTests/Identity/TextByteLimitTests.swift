import Foundation
import SwiftletCore
import Testing

@Suite("Text fields are bounded in bytes")
struct TextByteLimitTests {
    /// `count` base letters, each carrying `marks` combining acute accents: `count`
    /// characters to a reader, `count × (1 + 2 × marks)` bytes of UTF-8.
    static func stacked(_ count: Int, marks: Int) -> String {
        String(repeating: "a" + String(repeating: "\u{0301}", count: marks), count: count)
    }

    @Test("a nickname of 64 characters stacked with combining marks is refused with 400", arguments: EngineKind.available)
    func stackedNicknameIsRefused(kind: EngineKind) async throws {
        try await TestApp.withLiveApp(kind) { client in
            let token = try await client.login("zalgo:1").accessToken
            let nickname = Self.stacked(64, marks: 100)
            #expect(nickname.count == 64 && nickname.utf8.count > 12_000)
            let reply = try await client.call(.patch, "/api/v1/me", json: #"{"nickname":"\#(nickname)"}"#, bearer: token)
            #expect(reply.status == .badRequest)
            #expect(reply.errorCode == "profile.invalid_nickname")
            #expect(reply.body.contains("256 bytes"), "the message states the byte limit")
            let wide = String(repeating: "吉", count: 64)
            let accepted = try await client.call(.patch, "/api/v1/me", json: #"{"nickname":"\#(wide)"}"#, bearer: token)
            #expect(accepted.status == .ok, "64 CJK characters (192 bytes) stay within the limit")
        }
    }

    /// Each field: the largest text of plain characters passes, the same number of
    /// characters carrying combining marks is refused with the field's code.
    @Test func everyTextFieldHasAByteLimit() throws {
        let cases: [(code: String, characters: Int, check: (String) throws -> Void)] = [
            ("profile.invalid_nickname", 64, { _ = try Validation.nickname($0) }),
            ("auth.invalid_device", 128, { _ = try Validation.device($0) }),
            ("catalog.invalid_title", 120, { _ = try CommerceValidation.title($0) }),
            ("catalog.invalid_sku_title", 120, { _ = try CommerceValidation.title($0, field: "sku_title") }),
            ("catalog.invalid_description", 4000, { _ = try CommerceValidation.description($0) }),
            ("order.invalid_tracking_number", 64, { _ = try CommerceValidation.trackingNumber($0) }),
        ]
        for field in cases {
            // Four bytes a character is allowed: emoji fill the limit exactly.
            try field.check(String(repeating: "😀", count: field.characters))
            let stacked = Self.stacked(field.characters, marks: 2)
            #expect(stacked.count == field.characters)
            do {
                try field.check(stacked)
                Issue.record("\(field.code): \(stacked.utf8.count) bytes accepted")
            } catch let error as SwiftletError {
                #expect(error.code == field.code)
                #expect(error.kind == .invalidInput)
                #expect(error.message.contains("\(Validation.maxBytes(field.characters)) bytes"))
            }
        }
    }

    @Test func theByteRuleItself() {
        #expect(Validation.fits("abc", characters: 1...3))
        #expect(!Validation.fits("", characters: 1...3))
        #expect(!Validation.fits("abcd", characters: 1...3))
        #expect(Validation.fits("a\u{0301}", characters: 1...1), "3 bytes within 4")
        #expect(!Validation.fits("a\u{0301}\u{0301}", characters: 1...1), "5 bytes over 4")
    }
}
