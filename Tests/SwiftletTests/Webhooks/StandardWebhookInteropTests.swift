import Foundation
import SwiftletWebhooks
import Testing

/// Swiftlet's signatures checked by code that is not Swiftlet's, both ways: Python's own
/// `hmac` following the spec (always), and the spec's reference library `standardwebhooks`
/// from PyPI (when installed; scripts/test.sh installs it, and under `CI=true` it must be
/// there). The body has non-ASCII text and a newline, so an encoding slip would show.
@Suite("Standard Webhooks against Python")
struct StandardWebhookInteropTests {
    static let body = Array(#"{"type":"order.paid","data":{"orderId":"o_1","note":"已支付 ✓\n"}}"#.utf8)

    static var python: String? { ExternalTool.path("python3") }

    static var referenceLibraryInstalled: Bool {
        guard let python else { return false }
        return (try? ExternalTool.probe(python, ["-c", "import standardwebhooks"]).status) == 0
    }

    static var referenceLibraryEnabled: Bool {
        if ExternalTool.isCI || referenceLibraryInstalled { return true }
        FileHandle.standardError.write(Data("note: the Python package standardwebhooks is not installed; the reference-library checks not run (use scripts/test.sh)\n".utf8))
        return false
    }

    /// Runs `script` with `input` as JSON on standard input; returns its trimmed output.
    static func runPython(_ script: String, _ input: [String: String]) async throws -> String {
        let python = try ExternalTool.require("python3")
        let json = String(decoding: try JSONSerialization.data(withJSONObject: input, options: [.sortedKeys]), as: UTF8.self)
        let result = try await ExternalTool.run(python, ["-c", script], input: json)
        #expect(result.status == 0, "python3 failed: \(result.text)")
        return result.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The receiving side in a few lines of standard Python, as docs/events.md will show it.
    static let hmacVerify = """
        import base64, hashlib, hmac, json, sys
        d = json.load(sys.stdin)
        key = base64.b64decode(d["secret"].removeprefix("whsec_"))
        signed = f"{d['id']}.{d['timestamp']}.".encode() + d["body"].encode()
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        ok = any(hmac.compare_digest(s[3:], expected) for s in d["signature"].split(" ") if s.startswith("v1,"))
        print("ok" if ok else "mismatch")
        """

    static let hmacSign = """
        import base64, hashlib, hmac, json, sys
        d = json.load(sys.stdin)
        key = base64.b64decode(d["secret"].removeprefix("whsec_"))
        signed = f"{d['id']}.{d['timestamp']}.".encode() + d["body"].encode()
        print("v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode())
        """

    static let libraryVerify = """
        import json, sys
        from standardwebhooks import Webhook
        d = json.load(sys.stdin)
        headers = {"webhook-id": d["id"], "webhook-timestamp": d["timestamp"], "webhook-signature": d["signature"]}
        payload = Webhook(d["secret"]).verify(d["body"].encode(), headers)
        print("ok" if payload["data"]["note"] == "已支付 ✓\\n" else "wrong payload")
        """

    static let librarySign = """
        import json, sys
        from datetime import datetime, timezone
        from standardwebhooks import Webhook
        d = json.load(sys.stdin)
        when = datetime.fromtimestamp(int(d["timestamp"]), tz=timezone.utc)
        print(Webhook(d["secret"]).sign(d["id"], when, d["body"]))
        """

    func input(secret: WebhookSecret, id: String, timestamp: Int64, signature: String? = nil) -> [String: String] {
        var values = ["secret": secret.unredacted, "id": id, "timestamp": String(timestamp), "body": String(decoding: Self.body, as: UTF8.self)]
        values["signature"] = signature
        return values
    }

    @Test(.enabled(if: ExternalTool.enabled("python3")))
    func pythonHMACVerifiesWhatSwiftSignsWithEitherSecretOfARotation() async throws {
        let old = WebhookSecret.generate()
        let new = WebhookSecret.generate()
        let signature = StandardWebhookSigner(secrets: [new, old]).signature(id: "msg_interop1", timestamp: 1_700_000_000, body: Self.body)
        for receiver in [old, new] {
            #expect(try await Self.runPython(Self.hmacVerify, input(secret: receiver, id: "msg_interop1", timestamp: 1_700_000_000, signature: signature)) == "ok")
        }
        #expect(try await Self.runPython(Self.hmacVerify, input(secret: .generate(), id: "msg_interop1", timestamp: 1_700_000_000, signature: signature)) == "mismatch")
    }

    @Test(.enabled(if: ExternalTool.enabled("python3")))
    func swiftVerifiesWhatPythonHMACSigns() async throws {
        let secret = WebhookSecret.generate()
        let signature = try await Self.runPython(Self.hmacSign, input(secret: secret, id: "msg_interop2", timestamp: 1_700_000_000))
        #expect(signature.hasPrefix("v1,"))
        let verifier = StandardWebhookVerifier(secret: secret)
        try verifier.verify(id: "msg_interop2", timestamp: "1700000000", signature: signature, body: Self.body,
                            now: Date(timeIntervalSince1970: 1_700_000_100))
        #expect(signature == StandardWebhookSigner(secret: secret).signature(id: "msg_interop2", timestamp: 1_700_000_000, body: Self.body))
    }

    /// The library checks the timestamp against its own clock, so this signs now.
    @Test(.enabled(if: referenceLibraryEnabled))
    func theReferenceLibraryVerifiesWhatSwiftSignsWithEitherSecretOfARotation() async throws {
        try #require(Self.referenceLibraryInstalled, "python3 -m pip install standardwebhooks (scripts/test.sh does)")
        let old = WebhookSecret.generate()
        let new = WebhookSecret.generate()
        let now = StandardWebhookHeaders.timestamp(for: Date())
        let headers = StandardWebhookSigner(secrets: [new, old]).headers(id: "msg_interop3", timestamp: now, body: Self.body)
        for receiver in [old, new] {
            #expect(try await Self.runPython(Self.libraryVerify, input(secret: receiver, id: headers.id, timestamp: headers.timestamp, signature: headers.signature)) == "ok")
        }
    }

    @Test(.enabled(if: referenceLibraryEnabled))
    func swiftVerifiesWhatTheReferenceLibrarySigns() async throws {
        try #require(Self.referenceLibraryInstalled, "python3 -m pip install standardwebhooks (scripts/test.sh does)")
        let secret = WebhookSecret.generate()
        let signature = try await Self.runPython(Self.librarySign, input(secret: secret, id: "msg_interop4", timestamp: 1_700_000_000))
        try StandardWebhookVerifier(secret: secret).verify(
            id: "msg_interop4", timestamp: "1700000000", signature: signature, body: Self.body,
            now: Date(timeIntervalSince1970: 1_700_000_000)
        )
    }

    @Test(.enabled(if: referenceLibraryEnabled))
    func theReferenceLibraryReproducesTheSpecificationVector() async throws {
        try #require(Self.referenceLibraryInstalled, "python3 -m pip install standardwebhooks (scripts/test.sh does)")
        let script = """
            from datetime import datetime, timezone
            from standardwebhooks import Webhook
            when = datetime.fromtimestamp(\(StandardWebhooksVector.timestamp), tz=timezone.utc)
            print(Webhook("\(StandardWebhooksVector.secret)").sign("\(StandardWebhooksVector.id)", when, '{"test": 2432232314}'))
            """
        #expect(try await Self.runPython(script, [:]) == StandardWebhooksVector.signature)
    }
}
