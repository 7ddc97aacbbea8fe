import HTTPTypes

/// Which methods each registered path accepts, so a request whose path exists but whose
/// method does not gets 405 with an `Allow` header instead of the router's 404.
public struct RouteMethodIndex: Sendable {
    struct Entry: Sendable {
        let segments: [Substring]
        var methods: Set<HTTPRequest.Method>
    }

    private var entries: [Entry] = []

    public init(routes: [(method: HTTPRequest.Method, path: String)]) {
        var byPath: [String: Int] = [:]
        for route in routes {
            if let index = byPath[route.path] {
                entries[index].methods.insert(route.method)
            } else {
                byPath[route.path] = entries.count
                entries.append(Entry(segments: Self.split(route.path), methods: [route.method]))
            }
        }
    }

    /// The methods allowed on `path`, or empty if no route has this path.
    public func allowedMethods(for path: String) -> Set<HTTPRequest.Method> {
        let segments = Self.split(path)
        var allowed: Set<HTTPRequest.Method> = []
        for entry in entries where Self.matches(entry.segments, segments) {
            allowed.formUnion(entry.methods)
        }
        return allowed
    }

    static func split(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    static func matches(_ pattern: [Substring], _ path: [Substring]) -> Bool {
        var index = 0
        for (position, segment) in pattern.enumerated() {
            if segment == "**" { return true }
            guard index < path.count else { return false }
            let isParameter = segment.hasPrefix(":") || segment.hasPrefix("{") || segment == "*"
            if !isParameter, segment != path[index] { return false }
            index += 1
            if position == pattern.count - 1 { return index == path.count }
        }
        return pattern.isEmpty && path.isEmpty
    }
}
