import LabelerCore

/// A past-tense fact stored in the log. `eventType` is stable forever (never renamed);
/// `version` is the payload schema version the code writes.
public protocol EventPayload: Codable, Sendable {
    static var eventType: String { get }
    static var version: Int { get }
}

extension EventPayload {
    /// The payload as a new event, ready to append.
    public func event(actor: Actor) -> NewEvent {
        // Encoding our own Codable structs cannot fail (no floats anywhere in the catalogue).
        let payload = try! CBOREncoder().encodeValue(self)
        return NewEvent(type: Self.eventType, v: Self.version, actor: actor, payload: payload)
    }
}

/// Who caused an event: an operator, the scanner, the moderation loop, a reporter or the system.
public struct Actor: Sendable, Hashable, Codable, CustomStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { value }

    public static let system = Actor("system")
    public static let scanner = Actor("scanner")
    public static let loop = Actor("loop")
    public static func admin(_ name: String? = nil) -> Actor { Actor(name.map { "admin:\($0)" } ?? "admin") }

    public init(from decoder: any Decoder) throws { value = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}

/// An event before it has a place in the log.
public struct NewEvent: Sendable {
    /// Changing the type or version drops the typed event (the writer decodes the payload again).
    public var type: String { didSet { typed = nil } }
    public var v: Int { didSet { typed = nil } }
    public var actor: Actor
    /// The payload: a CBOR value, or (the hot path of label emission) its canonical bytes along
    /// with the typed event they encode, so the writer neither encodes nor decodes it again.
    var storage: EventEnvelope.Payload
    var typed: LabelerEvent? = nil

    public init(type: String, v: Int, actor: Actor, payload: CBOR) {
        self.type = type
        self.v = v
        self.actor = actor
        self.storage = .value(payload)
    }

    init(type: String, v: Int, actor: Actor, payloadBytes: [UInt8], typed: LabelerEvent) {
        self.type = type
        self.v = v
        self.actor = actor
        self.storage = .bytes(payloadBytes[...])
        self.typed = typed
    }

    public var payload: CBOR {
        get {
            switch storage {
            case .value(let v): v
            case .bytes(let b): (try? CBOR.decode(b)) ?? .null
            }
        }
        set {
            storage = .value(newValue)
            typed = nil
        }
    }
}
