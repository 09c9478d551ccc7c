import Foundation
import EventLog
import LabelerCore

/// A read model derived from the log. `apply` is a pure function of the event and the model's
/// own tables (it must not read another model's: a rebuild applies models on two threads); it runs inside the writer's transaction, so a projection is never behind or ahead
/// of the log. Bump `version` when the stored shape changes: the model is then rebuilt.
public protocol Projection: AnyObject, Sendable {
    static var name: String { get }
    static var version: Int { get }
    /// Its LMDB databases, all of which a rebuild clears.
    var databases: [MDB_dbi_t] { get }
    /// The tables a rebuild collects in memory and writes sorted by key at the end (see
    /// `LMDBWriteBuffer`); default all. Tables written in seq order (`append: true`) are better
    /// left out: they are appends already, and large.
    var bufferedDatabases: [MDB_dbi_t] { get }
    func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws
    /// A rough weight of its share of a rebuild (default 1), to split rebuilds over two threads.
    var rebuildCost: Int { get }
}

extension Projection {
    public var name: String { Self.name }
    public var version: Int { Self.version }
    public var bufferedDatabases: [MDB_dbi_t] { databases }
    public var rebuildCost: Int { 1 }
}

/// Key encodings shared by the read models. Text parts are joined by 0x00, which no valid URI,
/// DID or label value contains, so prefix scans cannot run into a neighbour.
enum Key {
    /// A subject (AT-URI or DID) as a key, or a key's leading part: as is up to 400 bytes, else
    /// its first 328 bytes, `#sha256:` and the hex SHA-256 of all of it (400 bytes). LMDB keys
    /// hold at most 511 bytes and the syntax allows 8 KB URIs; a shortened key cannot equal a
    /// real one (a real one that long is itself shortened), and keeps the subject's first bytes
    /// so that prefix walks still find it.
    static func subject(_ s: String) -> [UInt8] { subject(Array(s.utf8)) }
    static func subject(_ bytes: [UInt8]) -> [UInt8] { bounded(bytes, max: subjectMax) }

    static let subjectMax = 400
    static let boundTag = Array("#sha256:".utf8)
    /// How much of a subject over `subjectMax` bytes its key keeps.
    static let subjectKeptBytes = subjectMax - boundTag.count - 64

    static func bounded(_ bytes: [UInt8], max: Int) -> [UInt8] {
        guard bytes.count > max else { return bytes }
        return Array(bytes.prefix(max - boundTag.count - 64)) + boundTag + Array(Hex.encode(SHA256.hash(bytes)).utf8)
    }

    /// Whether a subject key is the bounded form of a longer subject (valid subjects hold no `#`).
    static func isBounded(_ key: UnsafeRawBufferPointer) -> Bool {
        key.count == subjectMax && boundTag.withUnsafeBytes { memcmp(key.baseAddress! + subjectKeptBytes, $0.baseAddress!, $0.count) == 0 }
    }

    /// `labels.current`'s key: src 0 uri 0 cid 0 val, with src, uri and cid bounded so that the
    /// whole stays under LMDB's limit (val ≤ 128 bytes). One allocation unless a part is bounded.
    static func currentLabel(src: String, uri: String, cid: String?, val: String) -> [UInt8] {
        let c = cid ?? ""
        var out: [UInt8] = []
        out.reserveCapacity(min(src.utf8.count, 100) + min(uri.utf8.count, 200) + min(c.utf8.count, 72) + val.utf8.count + 3)
        func add(_ part: String, max: Int) {
            if part.utf8.count <= max { out += part.utf8 } else { out += bounded(Array(part.utf8), max: max) }
            out.append(0)
        }
        add(src, max: 100)
        add(uri, max: 200)
        add(c, max: 72)
        out += val.utf8
        return out
    }

    static func join(_ parts: String...) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(parts.reduce(parts.count) { $0 + $1.utf8.count })
        for (i, p) in parts.enumerated() {
            if i > 0 { out.append(0) }
            out.append(contentsOf: p.utf8)
        }
        return out
    }

    static func withSeq(_ prefix: [UInt8], _ seq: UInt64) -> [UInt8] { prefix + [0] + BigEndian.bytes(seq) }

    /// `subject 0 seq` (the subject bounded as `subject` does) in one allocation (the hot keys of rebuilds).
    static func withSeq(_ text: String, _ seq: UInt64) -> [UInt8] {
        if text.utf8.count > subjectMax { return withSeq(subject(text), seq) }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 9)
        out.append(contentsOf: text.utf8)
        out.append(0)
        withUnsafeBytes(of: seq.bigEndian) { out.append(contentsOf: $0) }
        return out
    }

    static func seqSuffix(_ key: UnsafeRawBufferPointer) -> UInt64 {
        BigEndian.uint64(UnsafeRawBufferPointer(rebasing: key[(key.count - 8)...]))
    }
}

/// Codable records stored as DAG-CBOR in projection tables.
enum Record {
    static func encode(_ value: some Encodable) throws -> [UInt8] { try CBOREncoder().encode(value) }
    static func decode<T: Decodable>(_ type: T.Type, _ bytes: UnsafeRawBufferPointer) throws -> T {
        try CBORDecoder().decode(type, from: Array(bytes))
    }
    static func get<T: Decodable>(_ type: T.Type, _ txn: LMDBTransaction, _ db: MDB_dbi_t, _ key: [UInt8]) throws -> T? {
        try txn.get(db, key) { try $0.map { try decode(type, $0) } }
    }
    static func put(_ value: some Encodable, _ txn: LMDBTransaction, _ db: MDB_dbi_t, _ key: [UInt8]) throws {
        try txn.put(db, key, try encode(value))
    }
}
