import Foundation
import HTTPTypes
import HummingbirdTesting
@testable import SwiftletCore
@testable import SwiftletServer
import Testing

/// A client inventing paths and methods cannot grow the metrics: 10,000 of them add no
/// series. Run on its own (scripts/test.sh): 10,000 requests beside the parallel suites
/// would push their real-time bounds over.
@Suite("Metrics cardinality")
struct MetricsCardinalityTests {
    /// Methods HTTP/1 parsers accept that no route uses: all count as `_OTHER`.
    static let methods: [HTTPRequest.Method] = [.get, .post, HTTPRequest.Method("PURGE")!, HTTPRequest.Method("PROPFIND")!,
                                               HTTPRequest.Method("LOCK")!]

    @Test("10,000 requests to random unknown paths and methods add no series")
    func unknownPathsAddNoSeries() async throws {
        try await MetricsEndpointTests.withMetrics { client, key in
            for method in Self.methods {
                _ = try await client.execute(uri: "/nothing-here", method: method, headers: [:], body: nil) { _ in }
            }
            // Scraped twice: the first scrape's own request is a series of the second.
            _ = try await MetricsEndpointTests.scrape(client, key: key)
            let before = try await MetricsEndpointTests.scrape(client, key: key)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in 0..<1_250 {
                            let path = "/\(RandomID.base32(byteCount: 6))/\(worker)-\(index)?q=\(index)"
                            let method = Self.methods[index % Self.methods.count]
                            _ = try await client.execute(uri: path, method: method, headers: [:], body: nil) { _ in }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let after = try await MetricsEndpointTests.scrape(client, key: key)
            func series(_ exposition: String) -> Set<Substring> {
                Set(exposition.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.prefix { $0 != " " } })
            }
            let added = series(after).subtracting(series(before))
            #expect(added.isEmpty, "new series: \(added.prefix(5))")
            let unmatched = MetricsEndpointTests.sample(after, #"http_server_request_duration_seconds_count{http_request_method="GET",http_route="(unmatched)",http_response_status_code="404",error_type="",url_scheme="http"}"#)
            #expect(unmatched == Double(1 + 8 * 250))
            let other = MetricsEndpointTests.sample(after, #"http_server_request_duration_seconds_count{http_request_method="_OTHER",http_route="(unmatched)",http_response_status_code="404",error_type="",url_scheme="http"}"#)
            #expect(other == Double(3 + 8 * 750))
        }
    }
}
