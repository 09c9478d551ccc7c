import EventLog
import LabelerCore

/// The latest label per (src, uri, cid, val), negations included, findable in seq order overall,
/// by exact URI and by URI prefix. Each entry moves to its newest seq when superseded.
public final class CurrentLabelsProjection: Projection, @unchecked Sendable {
    public static let name = "labels"
    public static let version = 2
    let current: MDB_dbi_t  // src 0 uri 0 cid 0 val -> seq
    let bySeq: MDB_dbi_t  // seq -> () for current labels, in seq order
    let byURI: MDB_dbi_t  // uri 0 seq -> ()
    /// The label-stream table holds every label's signed bytes by seq; queries read them there
    /// instead of storing them twice.
    let stream: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [current, bySeq, byURI] }
    public var bufferedDatabases: [MDB_dbi_t] { [current, byURI] }

    public init(env: LMDBEnvironment) throws {
        current = try env.database("labels.current")
        bySeq = try env.database("labels.byseq")
        byURI = try env.database("labels.byuri")
        stream = try env.database("stream")
    }

    func labelBytes(_ seq: [UInt8], _ txn: LMDBTransaction) throws -> [UInt8]? { try txn.getBytes(stream, seq) }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        guard case .labelApplied(let e) = decoded else { return }
        let l = e.label
        let k = Key.join(l.src, l.uri, l.cid ?? "", l.val)
        if let oldSeq = try txn.get(current, k, { $0.map { BigEndian.uint64($0) } }) {
            try txn.delete(bySeq, BigEndian.bytes(oldSeq))
            try txn.delete(byURI, Key.withSeq(l.uri, oldSeq))
        }
        let seq = BigEndian.bytes(event.seq)
        try txn.put(current, k, seq)
        try txn.put(bySeq, seq, [], append: true)
        try txn.put(byURI, Key.withSeq(l.uri, event.seq), [])
    }

    public enum Pattern: Sendable, Hashable {
        case all
        case exact(String)
        case prefix(String)
    }

    /// Labels with seq > `after` matching any pattern (and, if given, one of `sources`), in seq
    /// order, at most `limit`; `more` is true when later matches may exist.
    public func query(
        _ txn: LMDBTransaction, patterns: [Pattern], sources: Set<String>?, after: UInt64, limit: Int,
        prefixScanCap: Int = 50_000
    ) throws -> (labels: [(seq: UInt64, label: Label)], more: Bool) {
        var seqs: [UInt64] = []
        var scanAll = patterns.contains(.all)
        if !scanAll {
            var set = Set<UInt64>()
            outer: for p in patterns {
                switch p {
                case .all: break
                case .exact(let uri):
                    let prefix = Array(uri.utf8) + [0]
                    try txn.scan(byURI, from: Key.withSeq(Array(uri.utf8), after + 1)) { k, _ in
                        guard k.starts(with: prefix), k.count == prefix.count + 8 else { return false }
                        set.insert(Key.seqSuffix(k))
                        return true
                    }
                case .prefix(let p):
                    let prefix = Array(p.utf8)
                    var seen = 0
                    try txn.scan(byURI, from: prefix) { k, _ in
                        guard k.starts(with: prefix) else { return false }
                        seen += 1
                        let s = Key.seqSuffix(k)
                        if s > after { set.insert(s) }
                        return seen < prefixScanCap
                    }
                    if seen >= prefixScanCap {  // a very broad prefix: walk in seq order instead
                        scanAll = true
                        break outer
                    }
                }
            }
            seqs = set.sorted()
        }
        var out: [(UInt64, Label)] = []
        if scanAll {
            let matchers = patterns
            var more = false
            try txn.scan(bySeq, from: BigEndian.bytes(after + 1)) { k, _ in
                guard let bytes = try labelBytes(Array(k), txn) else { return true }
                let label = try Label(dagCBOR: bytes)
                guard Self.matches(label, matchers), sources.map({ $0.contains(label.src) }) ?? true else { return true }
                if out.count == limit {
                    more = true
                    return false
                }
                out.append((BigEndian.uint64(k), label))
                return true
            }
            return (out, more)
        }
        for (i, s) in seqs.enumerated() {
            guard let bytes = try labelBytes(BigEndian.bytes(s), txn) else { continue }
            let label = try Label(dagCBOR: bytes)
            guard sources.map({ $0.contains(label.src) }) ?? true else { continue }
            out.append((s, label))
            if out.count == limit { return (out, i < seqs.count - 1) }
        }
        return (out, false)
    }

    static func matches(_ l: Label, _ patterns: [Pattern]) -> Bool {
        patterns.contains { p in
            switch p {
            case .all: true
            case .exact(let u): l.uri == u
            case .prefix(let p): l.uri.hasPrefix(p)
            }
        }
    }

    /// The current label for a key, if any.
    public func label(src: String, uri: String, cid: String?, val: String, _ txn: LMDBTransaction) throws -> (UInt64, Label)? {
        guard let seq = try txn.getBytes(current, Key.join(src, uri, cid ?? "", val)),
            let bytes = try labelBytes(seq, txn)
        else { return nil }
        return (BigEndian.uint64(seq), try Label(dagCBOR: bytes))
    }

    /// Every current label on one URI.
    public func labels(uri: String, _ txn: LMDBTransaction) throws -> [(UInt64, Label)] {
        try query(txn, patterns: [.exact(uri)], sources: nil, after: 0, limit: Int.max).labels
    }

    public func count(_ txn: LMDBTransaction) throws -> Int { try txn.count(bySeq) }
}
