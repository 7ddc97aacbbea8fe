import Foundation
@testable import SwiftletServer
import Testing

/// The sharded request counts: what threads record apart adds up exactly at a scrape, in
/// the exposition format Prometheus and the alert rules read.
@Suite("HTTP request table")
struct HTTPRequestTableTests {
    static func exposition(_ table: HTTPRequestTable) -> String {
        var buffer: [UInt8] = []
        table.emit(into: &buffer, durationHelp: "Durations.", activeHelp: "Active.")
        return String(decoding: buffer, as: UTF8.self)
    }

    @Test("buckets are cumulative, the sum is in seconds, unknown methods are _OTHER, 5xx carry their error type")
    func exposition() {
        let table = HTTPRequestTable(bucketSeconds: [0.005, 0.5, 1], scheme: "http")
        let get = HTTPRequestTable.methodIndex("GET")
        for nanoseconds: Int64 in [1_000_000, 5_000_000, 200_000_000, 2_000_000_000] {
            table.begin(method: get)
            table.end(method: get, route: "/api/v1/products/{id}", status: 200, nanoseconds: nanoseconds)
        }
        let other = HTTPRequestTable.methodIndex("PROPFIND")
        table.begin(method: other)
        table.end(method: other, route: "(unmatched)", status: 503, nanoseconds: 1)
        table.begin(method: get)  // still in flight

        let text = Self.exposition(table)
        let labels = #"http_request_method="GET",http_route="/api/v1/products/{id}",http_response_status_code="200",error_type="",url_scheme="http""#
        #expect(text.contains("# HELP http_server_request_duration_seconds Durations.\n# TYPE http_server_request_duration_seconds histogram\n"))
        #expect(text.contains("http_server_request_duration_seconds_bucket{\(labels),le=\"0.005\"} 2\n"), "5 ms is in the 5 ms bucket")
        #expect(text.contains("http_server_request_duration_seconds_bucket{\(labels),le=\"0.5\"} 3\n"))
        #expect(text.contains("http_server_request_duration_seconds_bucket{\(labels),le=\"1.0\"} 3\n"))
        #expect(text.contains("http_server_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} 4\n"))
        #expect(text.contains("http_server_request_duration_seconds_sum{\(labels)} 2.206\n"))
        #expect(text.contains("http_server_request_duration_seconds_count{\(labels)} 4\n"))
        #expect(text.contains(#"http_server_request_duration_seconds_count{http_request_method="_OTHER",http_route="(unmatched)",http_response_status_code="503",error_type="503",url_scheme="http"} 1"#))
        #expect(text.contains("# TYPE http_server_active_requests gauge\n"))
        #expect(text.contains(#"http_server_active_requests{http_request_method="GET",url_scheme="http"} 1"#))
        #expect(text.contains(#"http_server_active_requests{http_request_method="_OTHER",url_scheme="http"} 0"#))
    }

    @Test("requests recorded on many threads at once add up exactly")
    func threadsAddUp() async {
        let table = HTTPRequestTable(bucketSeconds: [0.005, 0.5], scheme: "https")
        let threads = 24, perThread = 2_000
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<threads {
                group.addTask {
                    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                        Thread {
                            let method = HTTPRequestTable.methodIndex(index.isMultiple(of: 2) ? "GET" : "POST")
                            for _ in 0..<perThread {
                                table.begin(method: method)
                                table.end(method: method, route: "/r", status: 201, nanoseconds: 1_000)
                            }
                            done.resume()
                        }.start()
                    }
                }
            }
        }
        let text = Self.exposition(table)
        for method in ["GET", "POST"] {
            let series = #"http_server_request_duration_seconds_count{http_request_method="\#(method)",http_route="/r",http_response_status_code="201",error_type="",url_scheme="https"}"#
            #expect(MetricsEndpointTests.sample(text, series) == Double(threads / 2 * perThread))
            #expect(MetricsEndpointTests.sample(text, #"http_server_active_requests{http_request_method="\#(method)",url_scheme="https"}"#) == 0)
        }
    }

    @Test("label values are escaped")
    func escaping() {
        #expect(HTTPRequestTable.labels([("a", #"x"y\z"#), ("b", "1\n2")]) == #"a="x\"y\\z",b="1\n2""#)
    }
}
