import CoreMetrics

/// What the flash-sale gate (Redis) tells operators: how each buyer of a flash-sale SKU was
/// answered by the gate, and how each reconciliation round went for each SKU. A repair
/// outside a crash or an admin's stock change points at a node that cannot reach Redis;
/// `unreachable` counts buyers who went to the database alone. The counters are made
/// once, since a sale counts thousands of buyers a second.
public struct FlashSaleTelemetry: Sendable {
    /// The gate's answer to one buyer, as the `outcome` label.
    public enum Reservation: String, CaseIterable, Sendable {
        case reserved
        case soldOut = "sold_out"
        case alreadyHeld = "already_held"
        case notLoaded = "not_loaded"
        case unreachable
        /// A reservation whose order was not persisted, handed back.
        case givenBack = "given_back"
    }

    /// One SKU's reconciliation, as the `outcome` label.
    public enum Reconciliation: String, CaseIterable, Sendable {
        case loaded, agreed, repaired, busy
        /// The round failed (Redis or the database unreachable).
        case failed
    }

    private let reservations: [Reservation: Counter]
    private let reconciliations: [Reconciliation: Counter]

    public init(factory: (any MetricsFactory)?) {
        guard let factory else {
            reservations = [:]
            reconciliations = [:]
            return
        }
        reservations = Dictionary(uniqueKeysWithValues: Reservation.allCases.map { outcome in
            (outcome, Counter(label: "swiftlet_flash_sale_reservations_total", dimensions: [("outcome", outcome.rawValue)],
                              factory: factory))
        })
        reconciliations = Dictionary(uniqueKeysWithValues: Reconciliation.allCases.map { outcome in
            (outcome, Counter(label: "swiftlet_flash_sale_reconciliations_total", dimensions: [("outcome", outcome.rawValue)],
                              factory: factory))
        })
    }

    public static let off = FlashSaleTelemetry(factory: nil)

    func count(_ outcome: Reservation) {
        reservations[outcome]?.increment()
    }

    func count(_ outcome: Reconciliation) {
        reconciliations[outcome]?.increment()
    }

    func count(_ reservation: FlashSaleReservation) {
        let outcome: Reservation = switch reservation {
        case .reserved: .reserved
        case .soldOut: .soldOut
        case .alreadyHeld: .alreadyHeld
        case .notLoaded: .notLoaded
        }
        count(outcome)
    }

    func count(_ repair: FlashSaleRepair) {
        let outcome: Reconciliation = switch repair {
        case .loaded: .loaded
        case .agreed: .agreed
        case .repaired: .repaired
        case .busy: .busy
        }
        count(outcome)
    }
}
