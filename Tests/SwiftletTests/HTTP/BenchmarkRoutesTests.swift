import HummingbirdTesting
import Testing

@Suite("Benchmark endpoints")
struct BenchmarkRoutesTests {
    @Test func mountedOnlyWhenConfigured() async throws {
        try await TestApp.withLiveApp(config: TestApp.config { $0.benchEndpoints = true }) { (client: any TestClientProtocol) async throws in
            let plaintext = try await client.call(.get, "/plaintext")
            #expect(plaintext.body == "Hello, World!")
            #expect(try await client.call(.get, "/json").body == #"{"message":"Hello, World!"}"#)
            let user = try await client.call(.get, "/user/42")
            #expect(user.body.contains(#""id":42"#) && user.body.contains(#""name":"user-42""#))
            let bad = try await client.call(.get, "/user/abc")
            #expect(bad.status == .badRequest)
            #expect(bad.errorCode == "request.invalid_parameter")
        }
        try await TestApp.withLiveApp { (client: any TestClientProtocol) async throws in
            #expect(try await client.call(.get, "/json").status == .notFound)
        }
    }
}
