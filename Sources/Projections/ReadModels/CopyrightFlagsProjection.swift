import EventLog
import LabelerCore

/// Display context for a flagged track, merged from every context event (absent fields keep
/// earlier values).
public struct TrackContext: Codable, Sendable, Equatable {
    public var trackId: Int64?
    public var trackTitle: String?
    public var artistHandle: String?
    public var artistDid: String?
    public var highestScore: Int?
    public var matches: [ContextMatch]?
}

public struct FlagResolution: Codable, Sendable, Equatable {
    public var reason: ResolutionReason?
    public var notes: String?
    public var actor: String
    public var at: String
    public var seq: UInt64
}

public struct FlagConfirmation: Codable, Sendable, Equatable {
    public var batchId: String
    public var actor: String
    public var at: String
    public var seq: UInt64
}

/// A subject's copyright-flag state.
public struct FlagRecord: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case pending, confirmed, resolved }

    public var uri: String
    /// Seq and `cts` of the positive copyright label that opened the current flag.
    public var labelSeq: UInt64?
    public var flaggedAt: String?
    public var context: TrackContext?
    public var resolution: FlagResolution?
    public var confirmation: FlagConfirmation?
    public var deferrals: Int = 0

    public var isFlag: Bool { labelSeq != nil }

    public init(uri: String) { self.uri = uri }

    /// Canonical DAG-CBOR written by hand (this record is updated for every copyright label, so
    /// the generic encoder would dominate rebuilds). Keys in canonical order.
    func encoded() throws -> [UInt8] {
        var w = CBORWriter(capacity: 96 + uri.utf8.count)
        let count = 2 + (context != nil ? 1 : 0) + (labelSeq != nil ? 1 : 0) + (flaggedAt != nil ? 1 : 0)
            + (resolution != nil ? 1 : 0) + (confirmation != nil ? 1 : 0)
        w.writeMapHeader(count)
        w.writeText("uri"); w.writeText(uri)
        if let context { w.writeText("context"); w.write(try CBOREncoder().encodeValue(context)) }
        if let labelSeq { w.writeText("labelSeq"); w.writeUnsigned(labelSeq) }
        w.writeText("deferrals"); w.writeInt(deferrals)
        if let flaggedAt { w.writeText("flaggedAt"); w.writeText(flaggedAt) }
        if let resolution { w.writeText("resolution"); w.write(try CBOREncoder().encodeValue(resolution)) }
        if let confirmation { w.writeText("confirmation"); w.write(try CBOREncoder().encodeValue(confirmation)) }
        return w.bytes
    }

    init(bytes: UnsafeRawBufferPointer) throws {
        var r = CBORReader(Array(bytes))
        let n = try r.readMapHeader()
        var uri: String? = nil
        var record = FlagRecord(uri: "")
        var previous: String? = nil
        for _ in 0..<n {
            let key = try r.readKey(after: previous)
            previous = key
            switch key {
            case "uri": uri = try r.readText()
            case "labelSeq": record.labelSeq = UInt64(try r.readInt())
            case "deferrals": record.deferrals = try r.readInt()
            case "flaggedAt": record.flaggedAt = try r.readText()
            case "context": record.context = try CBORDecoder().decode(TrackContext.self, from: r.readValue())
            case "resolution": record.resolution = try CBORDecoder().decode(FlagResolution.self, from: r.readValue())
            case "confirmation": record.confirmation = try CBORDecoder().decode(FlagConfirmation.self, from: r.readValue())
            default: try r.skipValue()
            }
        }
        guard let uri else { throw CBORError(.missingField, at: 0, "flag record without uri") }
        record.uri = uri
        self = record
    }
    public var state: State {
        if resolution != nil { return .resolved }
        if confirmation != nil { return .confirmed }
        return .pending
    }
}

/// Copyright flags: per subject, the active copyright-violation label with its track context,
/// resolution and review outcome; listed newest flag first.
public final class CopyrightFlagsProjection: Projection, @unchecked Sendable {
    public static let name = "copyright-flags"
    /// v2: subjects over 400 bytes keyed by `Key.subject`.
    public static let version = 2
    public static let labelValue = "copyright-violation"
    let byURI: MDB_dbi_t
    let order: MDB_dbi_t  // labelSeq -> uri
    public var databases: [MDB_dbi_t] { [byURI, order] }
    public var bufferedDatabases: [MDB_dbi_t] { [byURI] }

    public init(env: LMDBEnvironment) throws {
        byURI = try env.database("flags.byuri")
        order = try env.database("flags.order")
    }

    public func record(uri: String, _ txn: LMDBTransaction) throws -> FlagRecord? {
        try txn.get(byURI, Key.subject(uri)) { try $0.map { try FlagRecord(bytes: $0) } }
    }

    func update(_ uri: String, _ txn: LMDBTransaction, _ change: (inout FlagRecord) -> Void) throws {
        let key = Key.subject(uri)
        var r = try txn.get(byURI, key) { try $0.map { try FlagRecord(bytes: $0) } } ?? FlagRecord(uri: uri)
        let oldSeq = r.labelSeq
        change(&r)
        if oldSeq != r.labelSeq {
            if let oldSeq { try txn.delete(order, BigEndian.bytes(oldSeq)) }
            if let s = r.labelSeq { try txn.put(order, BigEndian.bytes(s), key) }
        }
        try txn.put(byURI, key, r.encoded())
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        var at: String { event.envelope.recordedAtString }
        let actor = event.envelope.actor
        switch decoded {
        case .labelApplied(let e) where e.label.val == Self.labelValue:
            let l = e.label
            if l.isNegation {
                // A negation resolves the flag; its reason arrives with a flag.resolved event if any.
                try update(l.uri, txn) { r in
                    guard r.isFlag, r.resolution == nil else { return }
                    r.resolution = FlagResolution(reason: nil, notes: nil, actor: actor, at: at, seq: event.seq)
                }
            } else {
                try update(l.uri, txn) { r in
                    if r.isFlag && r.resolution == nil { return }  // already an open flag: keep its seq
                    r.labelSeq = event.seq
                    r.flaggedAt = l.cts
                    r.resolution = nil
                    r.confirmation = nil
                    r.deferrals = 0
                }
            }
        case .trackContextAttached(let e):
            try update(e.uri, txn) { r in
                var c = r.context ?? TrackContext()
                if let v = e.trackId { c.trackId = v }
                if let v = e.trackTitle { c.trackTitle = v }
                if let v = e.artistHandle { c.artistHandle = v }
                if let v = e.artistDid { c.artistDid = v }
                if let v = e.highestScore { c.highestScore = v }
                if let v = e.matches { c.matches = v }
                r.context = c
            }
        case .flagResolved(let e) where e.val == Self.labelValue:
            try update(e.uri, txn) { r in
                r.resolution = FlagResolution(reason: e.reason, notes: e.notes, actor: actor, at: at, seq: event.seq)
            }
        case .reviewDecisionRecorded(let e):
            try update(e.uri, txn) { r in
                switch e.decision {
                case .confirm:
                    r.confirmation = FlagConfirmation(batchId: e.batchId, actor: actor, at: at, seq: event.seq)
                case .defer: r.deferrals += 1
                case .clear: break  // the clear's negation and resolution are events of their own
                }
            }
        default: break
        }
    }

    /// Flags, newest first, optionally only in some states.
    public func list(states: Set<FlagRecord.State>?, limit: Int = 10_000, _ txn: LMDBTransaction) throws -> [FlagRecord] {
        var out: [FlagRecord] = []
        var uris: [[UInt8]] = []
        try txn.scan(order, reverse: true) { _, v in
            uris.append(Array(v))
            return true
        }
        for u in uris {
            guard let r = try txn.get(byURI, u, { try $0.map { try FlagRecord(bytes: $0) } }) else { continue }
            if let states, !states.contains(r.state) { continue }
            out.append(r)
            if out.count >= limit { break }
        }
        return out
    }

    public func counts(_ txn: LMDBTransaction) throws -> [FlagRecord.State: Int] {
        var c: [FlagRecord.State: Int] = [:]
        for r in try list(states: nil, limit: Int.max, txn) { c[r.state, default: 0] += 1 }
        return c
    }
}
