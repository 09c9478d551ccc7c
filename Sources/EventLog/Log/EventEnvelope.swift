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
    public var prev: [UInt8]
    /// The payload as decoded DAG-CBOR, or (for envelopes read from the log) its stored bytes,
    /// decoded on demand so that hot readers can decode straight into typed values.
    enum Payload: Sendable, Equatable {
        case value(CBOR)
        case bytes(ArraySlice<UInt8>)
    }
    var storage: Payload

    public init(seq: UInt64, recordedAt: Int64, type: String, v: Int, actor: String, payload: CBOR, prev: [UInt8]) {
        self.seq = seq
        self.recordedAt = recordedAt
        self.type = type
        self.v = v
        self.actor = actor
        self.storage = .value(payload)
        self.prev = prev
    }

    init(seq: UInt64, recordedAt: Int64, type: String, v: Int, actor: String, storage: Payload, prev: [UInt8]) {
        self.seq = seq
        self.recordedAt = recordedAt
        self.type = type
        self.v = v
        self.actor = actor
        self.storage = storage
        self.prev = prev
    }

    public static let genesisPrev = [UInt8](repeating: 0, count: 32)

    /// The payload, strictly decoded (throws on malformed stored bytes).
    public func decodedPayload() throws(CBORError) -> CBOR {
        switch storage {
        case .value(let v): return v
        case .bytes(let b): return try CBOR.decode(b)
        }
    }

    /// The payload value; set it to replace the payload.
    public var payload: CBOR {
        get { (try? decodedPayload()) ?? .null }
        set { storage = .value(newValue) }
    }

    /// The payload's stored bytes when read from the log (nil for a constructed envelope).
    var payloadBytes: ArraySlice<UInt8>? {
        if case .bytes(let b) = storage { return b }
        return nil
    }

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
        w.writeText("payload")
        switch storage {
        case .value(let p): w.write(p)
        case .bytes(let b): w.writeRaw(b)
        }
        return w.bytes
    }

    static let keys = ["v", "at", "seq", "prev", "type", "actor", "payload"]

    /// Decodes the envelope strictly (exactly these seven keys, in canonical order, nothing after);
    /// the payload's structure is checked here and its contents when it is decoded.
    public static func decode(_ bytes: [UInt8]) throws(CBORError) -> EventEnvelope {
        var r = CBORReader(bytes)
        guard try r.readMapHeader() == 7 else { throw CBORError(.wrongType, at: 0, "envelope must be a 7-key map") }
        var previous: String? = nil
        func key(_ expected: String) throws(CBORError) {
            let at = r.offset
            let k = try r.readKey(after: previous)
            guard k == expected else { throw CBORError(.missingField, at: at, "envelope key \(expected) expected, found \(k)") }
            previous = k
        }
        try key("v")
        let v = try r.readInt()
        try key("at")
        let at = try r.readInt()
        try key("seq")
        let seqAt = r.offset
        let seqInt = try r.readInt()
        guard seqInt >= 0 else { throw CBORError(.integerOutOfRange, at: seqAt) }
        try key("prev")
        let prevAt = r.offset
        let prev = try r.readBytes()
        guard prev.count == 32 else { throw CBORError(.wrongType, at: prevAt, "prev must be 32 bytes") }
        try key("type")
        let type = try r.readText()
        try key("actor")
        let actor = try r.readText()
        try key("payload")
        let start = r.offset
        try r.skipValue()
        guard r.isAtEnd else { throw CBORError(.trailingBytes, at: r.offset) }
        var e = EventEnvelope(seq: UInt64(seqInt), recordedAt: Int64(at), type: type, v: v, actor: actor, payload: .null, prev: prev)
        e.storage = .bytes(bytes[start..<r.offset])
        return e
    }

    public var recordedAtString: String { Datetime.format(micros: recordedAt) }

    public func decodeEvent() throws -> LabelerEvent { try LabelerEvent.decode(self) }

    public static func == (a: EventEnvelope, b: EventEnvelope) -> Bool { a.encoded() == b.encoded() }
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
