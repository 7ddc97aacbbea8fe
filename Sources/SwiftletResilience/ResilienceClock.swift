/// The primitives in this module are value types that take the current time as an
/// argument (`ContinuousClock.Instant`) instead of reading a clock, so tests drive them
/// through any sequence of instants without sleeping, and callers share one time source.
public typealias ResilienceInstant = ContinuousClock.Instant
