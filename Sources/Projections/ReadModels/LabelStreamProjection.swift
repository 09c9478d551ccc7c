import EventLog
import LabelerCore

/// Every label event in seq order with its signed DAG-CBOR, so subscribers backfill by reading
/// this table in pages without decoding other events.
public final class LabelStreamProjection: Projection, @unchecked Sendable {
    public static let name = "label-stream"
    public static let version = 1
    let stream: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [stream] }
    public var bufferedDatabases: [MDB_dbi_t] { [] }

    public init(env: LMDBEnvironment) throws {
        stream = try env.database("stream")
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        guard case .labelApplied(let e) = decoded else { return }
        try txn.put(stream, BigEndian.bytes(event.seq), e.label.signedBytes(), append: true)
    }

    /// Up to `limit` (seq, signed label bytes) with seq > `after`.
    public func page(after: UInt64, limit: Int, _ txn: LMDBTransaction) throws -> [(seq: UInt64, bytes: [UInt8])] {
        var out: [(UInt64, [UInt8])] = []
        try forEach(after: after, limit: limit, txn) { out.append(($0, Array($1))) }
        return out
    }

    /// The same walk without copying: `body(seq, bytes)` sees bytes that are valid only during
    /// the call (a subscriber that already holds a label's frame never copies its bytes).
    public func forEach(
        after: UInt64, limit: Int, _ txn: LMDBTransaction, _ body: (UInt64, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var n = 0
        try txn.scan(stream, from: BigEndian.bytes(after + 1)) { k, v in
            try body(BigEndian.uint64(k), v)
            n += 1
            return n < limit
        }
    }

    /// The signed DAG-CBOR of the label appended at `seq`.
    public func bytes(seq: UInt64, _ txn: LMDBTransaction) throws -> [UInt8]? { try txn.getBytes(stream, BigEndian.bytes(seq)) }

    public func count(_ txn: LMDBTransaction) throws -> Int { try txn.count(stream) }

    /// Seq of the newest label event (0 if none).
    public func lastSeq(_ txn: LMDBTransaction) throws -> UInt64 {
        try txn.last(stream).map { BigEndian.uint64($0.key) } ?? 0
    }
}
