import LabelerCore

extension EventLog {
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
        try env.read { txn in try Self.readRaw(txn: txn, db: eventsDB, from: from, limit: limit) }
    }

    public static func readRaw(txn: LMDBTransaction, db: MDB_dbi_t, from: UInt64, limit: Int) throws -> [(UInt64, [UInt8])] {
        var out: [(UInt64, [UInt8])] = []
        out.reserveCapacity(min(limit, 4096))
        try txn.scan(db, from: BigEndian.bytes(from)) { k, v in
            out.append((BigEndian.uint64(k), Array(v)))
            return out.count < limit
        }
        return out
    }

    /// One event by seq.
    public func event(at seq: UInt64) throws -> StoredEvent? {
        try read(from: seq, limit: 1).first { $0.seq == seq }
    }
}

public typealias MDB_dbi_t = UInt32
