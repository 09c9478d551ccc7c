import LabelerCore

/// Read access to the log, usable without being its writer (audits, exports, other processes).
public struct EventLogReader: Sendable {
    public let env: LMDBEnvironment
    public let eventsDB: MDB_dbi_t
    /// The log's end as its writer last committed it: seq and hash of the last event. Without
    /// it nothing would anchor the end of the hash chain: the last events could be cut off, or
    /// the very last one altered, and the rest would still check.
    public let tipDB: MDB_dbi_t
    static let tipKey: [UInt8] = Array("tip".utf8)

    public init(env: LMDBEnvironment) throws {
        self.env = env
        eventsDB = try env.database("events")
        tipDB = try env.database("events.tip")
    }

    /// Records `seq` and the hash of its stored bytes as the log's end (in the committing transaction).
    public func recordTip(seq: UInt64, hash: [UInt8], _ txn: LMDBTransaction) throws {
        try txn.put(tipDB, Self.tipKey, BigEndian.bytes(seq) + hash)
    }

    /// The recorded end, if any (logs written before it existed have none until their next commit).
    public func tip(_ txn: LMDBTransaction) throws -> (seq: UInt64, hash: [UInt8])? {
        try txn.get(tipDB, Self.tipKey) { v in
            guard let v, v.count == 40 else { return nil }
            return (BigEndian.uint64(UnsafeRawBufferPointer(rebasing: v[0..<8])), Array(v[8...]))
        }
    }

    /// Why the stored end of the log (`head`, and the hash of its last event) is not the end its
    /// writer recorded, or nil when it is (or none is recorded).
    public func endFault(head: UInt64, lastHash: [UInt8], _ txn: LMDBTransaction) throws -> (seq: UInt64, reason: String)? {
        guard let tip = try tip(txn) else { return nil }
        if tip.seq > head {
            return (head + 1, "the log ends at seq \(head) but its writer last committed seq \(tip.seq): events \(head + 1)...\(tip.seq) are missing (truncated)")
        }
        if tip.seq < head {
            return (tip.seq + 1, "events \(tip.seq + 1)...\(head) were not written by the labeler's writer (its last commit ended at seq \(tip.seq))")
        }
        if tip.hash != lastHash { return (head, "event \(head) is not the event its writer committed (hash differs: altered)") }
        return nil
    }

    /// `endFault` for the log as stored now; reads the last event.
    public func endFault(_ txn: LMDBTransaction) throws -> (seq: UInt64, reason: String)? {
        guard let last = try txn.last(eventsDB) else {
            return try tip(txn).map { (1, "the log is empty but its writer last committed seq \($0.seq): every event is missing") }
        }
        return try endFault(head: BigEndian.uint64(last.key), lastHash: SHA256.hash(last.value), txn)
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
    public var reader: EventLogReader { EventLogReader(env: env, eventsDB: eventsDB, tipDB: tipDB) }
    public func read(from: UInt64, limit: Int) throws -> [StoredEvent] { try reader.read(from: from, limit: limit) }
    public func readRaw(from: UInt64, limit: Int) throws -> [(UInt64, [UInt8])] {
        try reader.readRaw(from: from, limit: limit)
    }
    public func event(at seq: UInt64) throws -> StoredEvent? { try reader.event(at: seq) }
}

extension EventLogReader {
    init(env: LMDBEnvironment, eventsDB: MDB_dbi_t, tipDB: MDB_dbi_t) {
        self.env = env
        self.eventsDB = eventsDB
        self.tipDB = tipDB
    }
}

public typealias MDB_dbi_t = UInt32
