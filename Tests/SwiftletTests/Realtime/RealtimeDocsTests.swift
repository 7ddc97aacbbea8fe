import Foundation
import SwiftletRealtime
import Testing

/// docs/realtime.md is what mini-program developers code their reconnect policy against:
/// its close-code table must name every code the server sends, with the same reconnect
/// advice as `RealtimeClose.reconnects`, and no code the server does not send.
@Suite("Realtime docs")
struct RealtimeDocsTests {
    struct Row: Equatable {
        let code: UInt16
        let reconnect: String
    }

    static func document() throws -> String {
        try String(contentsOfFile: RepositoryPaths.root + "/docs/realtime.md", encoding: .utf8)
    }

    /// Table rows whose first cell is a code in backticks: "| `4000` | name | meaning | yes |".
    static func closeCodeRows(_ document: String) -> [Row] {
        document.split(separator: "\n").compactMap { line -> Row? in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            // A leading and a trailing empty cell around code, name, meaning, reconnect.
            guard cells.count == 6, cells[1].count == 6, cells[1].hasPrefix("`"), cells[1].hasSuffix("`"),
                  let code = UInt16(cells[1].dropFirst().dropLast()) else { return nil }
            return Row(code: code, reconnect: cells[4])
        }
    }

    @Test("the close-code table has one row per RealtimeClose case, with its reconnect advice")
    func closeCodeTableMatchesTheCode() throws {
        let rows = Self.closeCodeRows(try Self.document())
        for close in RealtimeClose.allCases {
            let matching = rows.filter { $0.code == close.code }
            #expect(matching.count == 1, "`\(close.code)` (\(close)) should have exactly one row, has \(matching.count)")
            if let row = matching.first {
                #expect(row.reconnect == (close.reconnects ? "yes" : "no"),
                        "`\(close.code)` (\(close)): reconnect column says \(row.reconnect)")
            }
        }
        let known = Set(RealtimeClose.allCases.map(\.code))
        let unknown = rows.map(\.code).filter { (4000...4999).contains($0) && !known.contains($0) }
        #expect(unknown.isEmpty, "close codes the server never sends: \(unknown)")
    }

    @Test("every 4xxx code the document names in backticks is one the server sends")
    func noStaleCodesInProse() throws {
        let document = try Self.document()
        let known = Set(RealtimeClose.allCases.map(\.code))
        let pattern = try Regex("`(4[0-9]{3})`")
        let named = document.matches(of: pattern).compactMap { UInt16(String($0.output[1].substring ?? "")) }
        #expect(!named.isEmpty)
        #expect(Set(named).subtracting(known).isEmpty, "unknown close codes: \(Set(named).subtracting(known).sorted())")
    }
}
