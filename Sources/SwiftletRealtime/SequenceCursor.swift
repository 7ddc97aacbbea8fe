/// One client's position in one gapless sequence (a user's inbox, a room's messages), and
/// the rule that makes resume exact.
///
/// `delivered` is the last number sent. A live item is sent only if it is exactly the
/// next one; one already sent is dropped; one further ahead means something in between
/// was missed (not yet heard, or lost on the bus), and the cursor asks for a read after
/// `delivered` instead. Items arriving while a read is under way only raise `known`, and
/// reads repeat until `delivered` reaches it. Numbers have no holes and a number is
/// visible only once every smaller one is, so each item is sent once, in order, whatever
/// the timing of live items and reads.
///
/// Catch-up respects the socket: a page is sent only while the connection's outbound
/// queue is under half its bound; the rest waits (`paused`) until the socket drains, and
/// the read goes on from `delivered`. Only live traffic that outruns a client can reach
/// the bound and close it as a slow consumer; a long catch-up never does.
struct SequenceCursor<Item: Sendable>: Sendable {
    enum Step: Sendable {
        case send(Item)
        /// The position could not be continued exactly; delivery goes on from `oldest`.
        case reset(oldest: Int64, requested: Int64)
        case fetch(after: Int64)
        case caughtUp
    }

    /// A page of the sequence as storage returned it.
    struct Page {
        var items: [Item]
        var head: Int64
        var oldest: Int64
        /// The requested position cannot be continued exactly (too old, unknown, another epoch).
        var isReset: Bool
    }

    let number: @Sendable (Item) -> Int64
    let size: @Sendable (Item) -> Int
    private(set) var delivered: Int64
    private(set) var known: Int64 = 0
    private(set) var fetching = false
    private(set) var paused = false
    private(set) var caughtUp = false
    /// Something raised `known` while a read was under way: the read may have missed it
    /// (it was stored after the read's snapshot), so one more read is due.
    private var heardDuringRead = false

    init(after position: Int64, number: @escaping @Sendable (Item) -> Int64, size: @escaping @Sendable (Item) -> Int) {
        self.delivered = max(0, position)
        self.number = number
        self.size = size
    }

    /// The first read (after the welcome or the join).
    mutating func start() -> [Step] {
        fetching = true
        return [.fetch(after: delivered)]
    }

    /// Items just stored (in order).
    mutating func live(_ items: [Item]) -> [Step] {
        var steps: [Step] = []
        for item in items {
            let seq = number(item)
            known = max(known, seq)
            if fetching { heardDuringRead = true }
            if fetching || paused || seq <= delivered { continue }
            if seq == delivered + 1 {
                delivered = seq
                steps.append(.send(item))
            } else {
                fetching = true
                steps.append(.fetch(after: delivered))
                break
            }
        }
        return steps
    }

    /// The sequence reached `seq` somewhere (another node, a re-check).
    mutating func headMoved(to seq: Int64) -> [Step] {
        known = max(known, seq)
        if fetching { heardDuringRead = true }
        guard !fetching, !paused, known > delivered else { return [] }
        fetching = true
        return [.fetch(after: delivered)]
    }

    /// The answer to `.fetch`, with the bytes waiting in the outbound queue and its bound.
    mutating func fetched(_ page: Page, queuedBytes: Int, maxQueuedBytes: Int) -> [Step] {
        fetching = false
        let heard = heardDuringRead
        heardDuringRead = false
        var steps: [Step] = []
        if page.isReset {
            let requested = delivered
            delivered = page.oldest - 1
            known = max(page.head, delivered)
            steps.append(.reset(oldest: page.oldest, requested: requested))
            // The page was read from the old position: unless it starts at the oldest
            // item kept (or nothing is kept), read again from there.
            let startsAtOldest = page.items.first.map(number) == page.oldest
            if !startsAtOldest, page.head >= page.oldest {
                fetching = true
                return steps + [.fetch(after: delivered)]
            }
        }
        let before = delivered
        var queued = queuedBytes
        for item in page.items where number(item) == delivered + 1 {
            if queued > maxQueuedBytes / 2 {
                paused = true
                break
            }
            delivered = number(item)
            queued += size(item)
            steps.append(.send(item))
        }
        known = max(known, page.head)
        if paused { return steps }
        // Read on while pages bring something, or when something was heard during this
        // read (it may have been stored after the read's snapshot). A page that brings
        // nothing new with nothing heard ends the catch-up even if `known` says more (an
        // item announced but no longer kept); the next live item starts a new read.
        if delivered < known, delivered > before || heard {
            fetching = true
            steps.append(.fetch(after: delivered))
        } else if !caughtUp {
            caughtUp = true
            steps.append(.caughtUp)
        }
        return steps
    }

    /// The outbound queue drained after a paused catch-up.
    mutating func drained() -> [Step] {
        guard paused else { return [] }
        paused = false
        guard delivered < known else {
            guard !caughtUp else { return [] }
            caughtUp = true
            return [.caughtUp]
        }
        fetching = true
        return [.fetch(after: delivered)]
    }
}
