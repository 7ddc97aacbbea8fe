import HTTPTypes

/// Which methods each registered path accepts, so a request whose path exists but whose
/// method does not gets 405 with an `Allow` header instead of the router's 404; and which
/// route template a path falls under, for the seam (known before the router runs, so
/// guards can key on it).
public struct RouteMethodIndex: Sendable {
    struct Entry: Sendable {
        let template: String
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
                entries.append(Entry(template: route.path, segments: Self.split(route.path), methods: [route.method]))
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

    /// The template of the route `path` falls under: the most specific one (most literal
    /// segments) when several match, e.g. `/orders/mine` before `/orders/{id}`.
    public func template(for path: String) -> String? {
        let segments = Self.split(path)
        var best: (template: String, literals: Int)?
        for entry in entries where Self.matches(entry.segments, segments) {
            let literals = entry.segments.count { !Self.isParameter($0) && $0 != "**" }
            if best == nil || literals > best!.literals {
                best = (entry.template, literals)
            }
        }
        return best?.template
    }

    static func isParameter(_ segment: Substring) -> Bool {
        segment.hasPrefix(":") || segment.hasPrefix("{") || segment == "*"
    }

    static func split(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    static func matches(_ pattern: [Substring], _ path: [Substring]) -> Bool {
        var index = 0
        for (position, segment) in pattern.enumerated() {
            if segment == "**" { return true }
            guard index < path.count else { return false }
            if !Self.isParameter(segment), segment != path[index] { return false }
            index += 1
            if position == pattern.count - 1 { return index == path.count }
        }
        return pattern.isEmpty && path.isEmpty
    }
}
