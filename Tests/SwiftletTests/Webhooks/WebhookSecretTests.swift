import Foundation
import SwiftletWebhooks
import Testing

@Suite("Webhook secrets")
struct WebhookSecretTests {
    @Test func generatedSecretsAreThirtyTwoRandomBytesInBase64() throws {
        let secret = WebhookSecret.generate()
        let text = secret.unredacted
        #expect(text.hasPrefix("whsec_"))
        let key = try #require(Data(base64Encoded: String(text.dropFirst(6))))
        #expect(key.count == 32)
        #expect(secret.byteCount == 32)
        #expect(text.count == 6 + 44)

        // No two alike, and no byte value left out: a constant or a weak source would show.
        let many = (0..<200).map { _ in WebhookSecret.generate().unredacted }
        #expect(Set(many).count == many.count)
        let bytes = many.flatMap { Data(base64Encoded: String($0.dropFirst(6)))! }
        #expect(Set(bytes).count > 240, "6,400 random bytes should cover almost every value")
    }

    @Test func parsingKeepsTheTextExactly() throws {
        for text in ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", WebhookSecret.generate().unredacted] {
            let secret = try WebhookSecret(parsing: text)
            #expect(secret.unredacted == text)
        }
        #expect(try WebhookSecret(parsing: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").byteCount == 24)
    }

    @Test func missingPaddingIsAcceptedAsTheReferenceLibrariesDo() throws {
        let padded = WebhookSecret.generate().unredacted
        #expect(padded.hasSuffix("="))
        let secret = try WebhookSecret(parsing: String(padded.prefix { $0 != "=" }))
        #expect(secret.unredacted == padded)
    }

    @Test func everythingElseIsRefusedWithItsReason() {
        let key24 = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let cases: [(String, WebhookSecretError)] = [
            (key24, .missingPrefix),
            ("WHSEC_" + key24, .missingPrefix),
            ("whsk_" + key24, .missingPrefix),
            (" whsec_" + key24, .missingPrefix),
            ("whsec_", .empty),
            ("whsec_" + key24 + " ", .notBase64),
            ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS-", .notBase64),
            ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS_", .notBase64),
            ("whsec_MfKQ9r8GKYqrTwjU=PD8ILPZIo2LaLaSw", .notBase64),
            ("whsec_" + key24 + "===", .notBase64),
            ("whsec_" + key24 + "A", .notBase64),
            ("whsec_" + Data(repeating: 7, count: 23).base64EncodedString(), .wrongLength(23)),
            ("whsec_" + Data(repeating: 7, count: 65).base64EncodedString(), .wrongLength(65)),
        ]
        for (text, expected) in cases {
            #expect(throws: expected, "\(text)") { try WebhookSecret(parsing: text) }
        }
        #expect(throws: Never.self) { try WebhookSecret(parsing: "whsec_" + Data(repeating: 7, count: 64).base64EncodedString()) }
    }

    /// However a secret reaches a log line (interpolation, `String(describing:)`,
    /// `String(reflecting:)`, `dump`, an array of them), the key is not in it.
    @Test func noTextFormOtherThanUnredactedShowsTheKey() {
        let secret = WebhookSecret.generate()
        let key = String(secret.unredacted.dropFirst(6))
        var dumped = ""
        dump(secret, to: &dumped)
        var dumpedList = ""
        dump([secret], to: &dumpedList)
        let forms = [
            "\(secret)", String(describing: secret), String(reflecting: secret), dumped, dumpedList,
            "\([secret])", String(reflecting: [secret]), "\(Optional(secret) as Any)",
        ]
        for form in forms {
            #expect(!form.contains(key), "\(form)")
            #expect(!form.contains(String(key.prefix(8))), "\(form)")
            #expect(form.contains("whsec_…"), "\(form)")
        }
    }

    @Test func parseErrorsNeverRepeatTheText() {
        let almost = "whsec_" + Data(repeating: 42, count: 20).base64EncodedString()
        do {
            _ = try WebhookSecret(parsing: almost)
            Issue.record("a 20-byte key was accepted")
        } catch {
            #expect(!"\(error)".contains(String(almost.dropFirst(6))))
            #expect("\(error)" == "a webhook secret's key is 24 to 64 bytes, not 20")
        }
    }
}
