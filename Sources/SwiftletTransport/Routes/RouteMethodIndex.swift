import HTTPTypes

/// Which methods each registered path accepts, so a request whose path exists but whose
/// method does not gets 405 with an `Allow` header instead of the router's 404; and which
/// route template a path falls under, for the seam (known before the router runs, so
/// guards can key on it).
///
/// Looked up on every routed request, so the routes are kept as a tree of segments: a
/// lookup walks the path's segments once (a dictionary step per literal segment) instead
/// of comparing the path with every route.
public struct RouteMethodIndex: Sendable {
    struct Entry: Sendable {
        let template: String
        /// Literal segments, for "most specific wins".
        let literals: Int
        var methods: Set<HTTPRequest.Method>
    }

    /// One position in the tree: where each kind of next segment leads, and the routes
    /// that end here or match anything from here (`**`).
    struct Node: Sendable {
        var literal: [Substring: Int] = [:]
        var parameter: Int?
        var endingHere: [Int] = []
        var anythingFromHere: [Int] = []
    }

    private var entries: [Entry] = []
    private var nodes: [Node] = [Node()]

    public init(routes: [(method: HTTPRequest.Method, path: String)]) {
        var byPath: [String: Int] = [:]
        for route in routes {
            if let index = byPath[route.path] {
                entries[index].methods.insert(route.method)
                continue
            }
            let index = entries.count
            byPath[route.path] = index
            let segments = Self.split(route.path)
            entries.append(Entry(template: route.path, literals: segments.count { !Self.isParameter($0) && $0 != "**" },
                                 methods: [route.method]))
            insert(segments, entry: index)
        }
    }

    private mutating func insert(_ segments: [Substring], entry: Int) {
        var node = 0
        for segment in segments {
            if segment == "**" {
                nodes[node].anythingFromHere.append(entry)
                return
            }
            let next: Int? = Self.isParameter(segment) ? nodes[node].parameter : nodes[node].literal[segment]
            let child = next ?? nodes.count
            if next == nil {
                nodes.append(Node())
                if Self.isParameter(segment) { nodes[node].parameter = child } else { nodes[node].literal[segment] = child }
            }
            node = child
        }
        nodes[node].endingHere.append(entry)
    }

    /// Every route `path` falls under, as entry indices.
    private func matching(_ path: String) -> [Int] {
        let segments = Self.split(path)
        var found: [Int] = []
        func walk(_ node: Int, _ position: Int) {
            let here = nodes[node]
            found += here.anythingFromHere
            guard position < segments.count else {
                found += here.endingHere
                return
            }
            if let literal = here.literal[segments[position]] { walk(literal, position + 1) }
            if let parameter = here.parameter { walk(parameter, position + 1) }
        }
        walk(0, 0)
        return found
    }

    /// The methods allowed on `path`, or empty if no route has this path.
    public func allowedMethods(for path: String) -> Set<HTTPRequest.Method> {
        matching(path).reduce(into: []) { $0.formUnion(entries[$1].methods) }
    }

    /// The template of the route `path` falls under: the most specific one (most literal
    /// segments) when several match, e.g. `/orders/mine` before `/orders/{id}`; among
    /// equally specific ones, the first registered.
    public func template(for path: String) -> String? {
        var best: Int?
        for index in matching(path) {
            guard let current = best else {
                best = index
                continue
            }
            let (candidate, chosen) = (entries[index], entries[current])
            if candidate.literals > chosen.literals || (candidate.literals == chosen.literals && index < current) {
                best = index
            }
        }
        return best.map { entries[$0].template }
    }

    static func isParameter(_ segment: Substring) -> Bool {
        segment.hasPrefix(":") || segment.hasPrefix("{") || segment == "*"
    }

    static func split(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }
}
