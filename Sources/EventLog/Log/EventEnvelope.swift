import LabelerCore

/// An event as stored: its place in the log, when and by whom it was recorded, its payload, and
/// the SHA-256 of the previous event's stored bytes (all zeros for seq 1), forming a hash chain.
public struct EventEnvelope: Sendable, Equatable {
    public var seq: UInt64
    /// Microseconds since the Unix epoch.
    public var recordedAt: Int64
    public var type: String
    public var v: Int
    public var actor: String
    public var payload: CBOR
    public var prev: [UInt8]

    public init(seq: UInt64, recordedAt: Int64, type: String, v: Int, actor: String, payload: CBOR, prev: [UInt8]) {
        self.seq = seq
        self.recordedAt = recordedAt
        self.type = type
        self.v = v
        self.actor = actor
        self.payload = payload
        self.prev = prev
    }

    public static let genesisPrev = [UInt8](repeating: 0, count: 32)

    /// Canonical DAG-CBOR; keys in canonical order: v, at, seq, prev, type, actor, payload.
    public func encoded() -> [UInt8] {
        var w = CBORWriter(capacity: 256)
        w.writeMapHeader(7)
        w.writeText("v"); w.writeInt(v)
        w.writeText("at"); w.writeInt(Int(recordedAt))
        w.writeText("seq"); w.writeUnsigned(seq)
        w.writeText("prev"); w.writeBytes(prev)
        w.writeText("type"); w.writeText(type)
        w.writeText("actor"); w.writeText(actor)
        w.writeText("payload"); w.write(payload)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(CBORError) -> EventEnvelope {
        let value = try CBOR.decode(bytes)
        guard case .map(let m) = value, m.count == 7 else { throw CBORError(.wrongType, at: 0, "envelope must be a 7-key map") }
        guard let v = m["v"]?.int, let at = m["at"]?.int, let seq = m["seq"]?.uint64, let prev = m["prev"]?.byteArray,
            prev.count == 32, let type = m["type"]?.string, let actor = m["actor"]?.string, let payload = m["payload"]
        else { throw CBORError(.missingField, at: 0, "envelope fields v, at, seq, prev, type, actor, payload") }
        return EventEnvelope(
            seq: seq, recordedAt: Int64(at), type: type, v: v, actor: actor, payload: payload, prev: prev)
    }

    public var recordedAtString: String { Datetime.format(micros: recordedAt) }

    public func decodeEvent() throws -> LabelerEvent { try LabelerEvent.decode(self) }
}

/// An event read from the log: its decoded envelope and the exact stored bytes.
public struct StoredEvent: Sendable {
    public let envelope: EventEnvelope
    public let bytes: [UInt8]
    public var seq: UInt64 { envelope.seq }

    public init(envelope: EventEnvelope, bytes: [UInt8]) {
        self.envelope = envelope
        self.bytes = bytes
    }

    /// SHA-256 of the stored bytes: the next event's `prev`.
    public var hash: [UInt8] { SHA256.hash(bytes) }
}
