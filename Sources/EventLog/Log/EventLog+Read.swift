import LabelerCore

/// Read access to the log, usable without being its writer (audits, exports, other processes).
public struct EventLogReader: Sendable {
    public let env: LMDBEnvironment
    public let eventsDB: MDB_dbi_t

    public init(env: LMDBEnvironment) throws {
        self.env = env
        eventsDB = try env.database("events")
    }

    /// The last stored seq, read from the database (0 for an empty log).
    public func storedHead() throws -> UInt64 {
        try env.read { txn in try txn.last(eventsDB).map { BigEndian.uint64($0.key) } ?? 0 }
    }

    /// Up to `limit` events with seq ≥ `from`, in order, copied out of the map.
    public func read(from: UInt64, limit: Int) throws -> [StoredEvent] {
        try readRaw(from: from, limit: limit).map { seq, bytes in
            do { return StoredEvent(envelope: try EventEnvelope.decode(bytes), bytes: bytes) } catch {
                throw EventLogError.corruptEvent(seq, "\(error)")
            }
        }
    }

    /// Up to `limit` (seq, stored bytes) pairs with seq ≥ `from`, without decoding.
    public func readRaw(from: UInt64, limit: Int) throws -> [(UInt64, [UInt8])] {
        try env.read { txn in try readRaw(txn: txn, from: from, limit: limit) }
    }

    public func readRaw(txn: LMDBTransaction, from: UInt64, limit: Int) throws -> [(UInt64, [UInt8])] {
        var out: [(UInt64, [UInt8])] = []
        out.reserveCapacity(min(limit, 4096))
        try txn.scan(eventsDB, from: BigEndian.bytes(from)) { k, v in
            out.append((BigEndian.uint64(k), Array(v)))
            return out.count < limit
        }
        return out
    }

    /// One event by seq.
    public func event(at seq: UInt64) throws -> StoredEvent? {
        try read(from: seq, limit: 1).first { $0.seq == seq }
    }

    /// Visits every event from `from` in pages, in order, decoding envelopes.
    public func forEach(from: UInt64 = 1, pageSize: Int = 10_000, _ body: (StoredEvent) throws -> Void) throws {
        var next = from
        while true {
            let page = try read(from: next, limit: pageSize)
            for e in page { try body(e) }
            guard let last = page.last, page.count == pageSize else { return }
            next = last.seq + 1
        }
    }
}

extension EventLog {
    public var reader: EventLogReader { EventLogReader(env: env, eventsDB: eventsDB) }
    public func read(from: UInt64, limit: Int) throws -> [StoredEvent] { try reader.read(from: from, limit: limit) }
    public func readRaw(from: UInt64, limit: Int) throws -> [(UInt64, [UInt8])] {
        try reader.readRaw(from: from, limit: limit)
    }
    public func event(at seq: UInt64) throws -> StoredEvent? { try reader.event(at: seq) }
}

extension EventLogReader {
    init(env: LMDBEnvironment, eventsDB: MDB_dbi_t) {
        self.env = env
        self.eventsDB = eventsDB
    }
}

public typealias MDB_dbi_t = UInt32
