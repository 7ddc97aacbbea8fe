import Tracing

/// The mark on the context of a request that head sampling left out.
///
/// Such a request runs under a parent whose flags say "not sampled", so the tracer drops
/// every span started beneath it, but only after making it: ids drawn, the context copied,
/// a no-op span allocated, per database query. Code that would start a span, or read the
/// trace id for a log line, checks this mark first and skips the work altogether.
public enum UnsampledTrace {
    private enum Key: ServiceContextKey {
        typealias Value = Bool
        static let nameOverride: String? = "swiftlet.unsampled"
    }

    public static func mark(_ context: inout ServiceContext) {
        context[Key.self] = true
    }

    public static func isMarked(_ context: ServiceContext) -> Bool {
        context[Key.self] == true
    }

    /// Whether the current task runs under an unsampled request.
    public static var isCurrent: Bool {
        ServiceContext.current.map(isMarked) ?? false
    }
}
