import Foundation
import SwiftletCore

/// The body of a delivery: the event as docs/events.md describes it, its stored payload
/// embedded as is (it is JSON already), so every attempt of a message sends the same bytes.
enum WebhookBody {
    static func bytes(_ stored: StoredDomainEvent) -> [UInt8] {
        let event = stored.event
        var text = "{\"id\":"
        JSONText.appendString(event.id.rawValue, to: &text)
        text += ",\"type\":"
        JSONText.appendString(event.type, to: &text)
        text += ",\"version\":\(event.version),\"aggregateType\":"
        JSONText.appendString(event.aggregateType, to: &text)
        text += ",\"aggregateId\":"
        JSONText.appendString(event.aggregateID, to: &text)
        text += ",\"occurredAt\":\"\(RFC3339.string(event.occurredAt))\",\"position\":\(stored.position),\"payload\":"
        text += event.payload
        text += "}"
        return Array(text.utf8)
    }
}
