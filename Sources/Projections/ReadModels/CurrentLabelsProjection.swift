import EventLog
import Foundation
import LabelerCore

/// The latest label per (src, uri, cid, val), negations included, findable in seq order overall,
/// by exact URI and by URI prefix. Each entry moves to its newest seq when superseded.
public final class CurrentLabelsProjection: Projection, @unchecked Sendable {
    public static let name = "labels"
    /// v3: `labels.byseq` holds each current label's JSON form, so queries copy ready bytes.
    /// v5: `labels.byprefix` answers a prefix ending at a `/` of the URI in seq order, with the JSON.
    /// v6: keys of subjects over 400 bytes (and uri parts over 200 in `labels.current`) are bounded (`Key.subject`).
    public static let version = 6
    let current: MDB_dbi_t  // src 0 uri 0 cid 0 val -> seq
    let bySeq: MDB_dbi_t  // seq -> the label's JSON (as signed), for current labels, in seq order
    let byURI: MDB_dbi_t  // uri 0 seq -> ()
    /// `p 0 seq -> the label's JSON` for each path prefix `p` of the URI (`boundaryPrefixes`): the
    /// usual patterns `at://did/*` and `at://did/collection/*` read their page as one range of
    /// ready bytes, in seq order (no walk over every label of the account, no sort, no lookups).
    let byPrefix: MDB_dbi_t
    /// The label-stream table holds every label's signed bytes by seq; queries read them there
    /// instead of storing them twice.
    let stream: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [current, bySeq, byURI, byPrefix] }
    /// All buffered in a rebuild, so it runs on the rebuild's second thread: `labels.byseq` is
    /// written in seq order anyway, and its JSON is held once with the `labels.byprefix` copies.
    public var bufferedDatabases: [MDB_dbi_t] { databases }
    /// Most of a rebuild of a label-heavy log (five table writes per label, the JSON rendered).
    public var rebuildCost: Int { 6 }

    public init(env: LMDBEnvironment) throws {
        current = try env.database("labels.current")
        bySeq = try env.database("labels.byseq")
        byURI = try env.database("labels.byuri")
        byPrefix = try env.database("labels.byprefix")
        stream = try env.database("stream")
    }

    func labelBytes(_ seq: [UInt8], _ txn: LMDBTransaction) throws -> [UInt8]? { try txn.getBytes(stream, seq) }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        guard case .labelApplied(let e) = decoded else { return }
        let l = e.label
        let k = Key.currentLabel(src: l.src, uri: l.uri, cid: l.cid, val: l.val)
        let full = Array(l.uri.utf8)
        let uri = Key.subject(full)
        let prefixes = Self.boundaryPrefixes(full).map { Key.subject(Array(full[..<$0])) }
        if let oldSeq = try txn.get(current, k, { $0.map { BigEndian.uint64($0) } }) {
            try txn.delete(bySeq, BigEndian.bytes(oldSeq))
            try txn.delete(byURI, Key.withSeq(uri, oldSeq))
            for p in prefixes { try txn.delete(byPrefix, Key.withSeq(p, oldSeq)) }
        }
        let seq = BigEndian.bytes(event.seq)
        try txn.put(current, k, seq)
        var json: [UInt8] = []
        json.reserveCapacity(384)
        l.writeJSON(into: &json)
        try txn.put(bySeq, seq, json, append: true)
        try txn.put(byURI, Key.withSeq(uri, event.seq), [])
        for p in prefixes { try txn.put(byPrefix, Key.withSeq(p, event.seq), json) }
    }

    /// The ends (exclusive) of the URI's indexed prefixes: each `/` after the scheme's `://` (or
    /// every `/` if there is none), at most `maxPrefixes` of them. `at://did:plc:x/fm.plyr.track/3k`
    /// gives `at://did:plc:x/` and `at://did:plc:x/fm.plyr.track/`.
    static let maxPrefixes = 3
    static func boundaryPrefixes(_ uri: [UInt8]) -> [Int] {
        var start = 0
        if uri.count >= 3, let i = (0..<(uri.count - 2)).first(where: { uri[$0] == 0x3A && uri[$0 + 1] == 0x2F && uri[$0 + 2] == 0x2F }) {
            start = i + 3
        }
        var ends: [Int] = []
        var i = start
        while i < uri.count && ends.count < maxPrefixes {
            if uri[i] == 0x2F { ends.append(i + 1) }
            i += 1
        }
        return ends
    }

    /// Whether `prefix` (a pattern without its `*`) is one `labels.byprefix` holds.
    static func isIndexedPrefix(_ prefix: [UInt8]) -> Bool {
        boundaryPrefixes(prefix + [0x78]).last == prefix.count
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
        var out: [(UInt64, Label)] = []
        guard let seqs = try candidateSeqs(txn, patterns: patterns, after: after, take: Int.max, prefixScanCap: prefixScanCap) else {
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

    /// What `query` returns without a `sources` filter, as each label's stored JSON (the form it
    /// was signed in), with no decoding: `body(seq, json)` for each in seq order; returns `more`.
    /// Nil when a pattern needs the decoded labels (a prefix so broad it is matched on a walk in
    /// seq order): use `query` then.
    public func queryJSON(
        _ txn: LMDBTransaction, patterns: [Pattern], after: UInt64, limit: Int, prefixScanCap: Int = 50_000,
        _ body: (UInt64, UnsafeRawBufferPointer) throws -> Void
    ) throws -> Bool? {
        if patterns.count == 1, case .prefix(let p) = patterns[0], Self.isIndexedPrefix(Array(p.utf8)) {
            return try rangeJSON(txn, byPrefix, Key.subject(p), after: after, limit: limit, body)
        }
        let take = limit == Int.max ? limit : limit + 1
        guard let seqs = try candidateSeqs(txn, patterns: patterns, after: after, take: take, prefixScanCap: prefixScanCap) else {
            guard patterns.contains(.all) else { return nil }
            var n = 0
            var more = false
            try txn.scan(bySeq, from: BigEndian.bytes(after + 1)) { k, v in
                if n == limit {
                    more = true
                    return false
                }
                try body(BigEndian.uint64(Array(k)), v)
                n += 1
                return true
            }
            return more
        }
        var n = 0
        for (i, s) in seqs.enumerated() {
            let found = try txn.get(bySeq, BigEndian.bytes(s)) { v -> Bool in
                guard let v else { return false }
                try body(s, v)
                return true
            }
            if found { n += 1 }
            if n == limit { return i < seqs.count - 1 }
        }
        return false
    }

    /// The values of `key 0 seq` entries with seq > `after`, in seq order, at most `limit`; returns
    /// whether there are more.
    func rangeJSON(
        _ txn: LMDBTransaction, _ db: MDB_dbi_t, _ key: [UInt8], after: UInt64, limit: Int,
        _ body: (UInt64, UnsafeRawBufferPointer) throws -> Void
    ) throws -> Bool {
        let head = key + [0]
        var n = 0
        var more = false
        try txn.scan(db, from: Key.withSeq(key, after + 1)) { k, v in
            guard k.count == head.count + 8, Self.hasPrefix(k, head) else { return false }
            if n == limit {
                more = true
                return false
            }
            try body(Key.seqSuffix(k), v)
            n += 1
            return true
        }
        return more
    }

    /// The seqs (> `after`, sorted) of current labels matching the patterns through the URI
    /// indexes: all of them, or at least the first `take` when there are more (an exact URI or an
    /// indexed prefix is read in seq order and stops there); nil when a pattern is `*` or a prefix
    /// too broad to collect (the caller walks in seq order).
    func candidateSeqs(_ txn: LMDBTransaction, patterns: [Pattern], after: UInt64, take: Int, prefixScanCap: Int) throws -> [UInt64]? {
        if patterns.contains(.all) { return nil }
        // One pattern yields each (uri, seq) entry once; several may overlap and are deduplicated.
        var seqs: [UInt64] = []
        /// Up to `take` seqs > `after` of `key 0 seq` entries of `db`, in seq order.
        func seqOrdered(_ db: MDB_dbi_t, _ key: [UInt8]) throws {
            _ = try rangeJSON(txn, db, key, after: after, limit: take) { seq, _ in seqs.append(seq) }
        }
        for p in patterns {
            switch p {
            case .all: return nil
            case .exact(let uri): try seqOrdered(byURI, Key.subject(uri))
            case .prefix(let p) where Self.isIndexedPrefix(Array(p.utf8)): try seqOrdered(byPrefix, Key.subject(p))
            case .prefix(let p):
                // Keys of URIs over 400 bytes hold only their first 328 bytes (`Key.subject`): the
                // walk starts from at most that much, and such a key is checked against the
                // label's real URI.
                let prefix = Array(p.utf8)
                let walk = Array(prefix.prefix(Key.subjectKeptBytes))
                var seen = 0
                try txn.scan(byURI, from: walk) { k, _ in
                    guard Self.hasPrefix(k, walk) else { return false }
                    seen += 1
                    let s = Key.seqSuffix(k)
                    guard s > after else { return seen < prefixScanCap }
                    let subject = UnsafeRawBufferPointer(rebasing: k[..<(k.count - 9)])
                    if Key.isBounded(subject) {
                        if let bytes = try labelBytes(BigEndian.bytes(s), txn), try Label(dagCBOR: bytes).uri.hasPrefix(p) { seqs.append(s) }
                    } else if Self.hasPrefix(k, prefix) {
                        seqs.append(s)
                    }
                    return seen < prefixScanCap
                }
                if seen >= prefixScanCap { return nil }  // a very broad prefix: walk in seq order instead
            }
        }
        seqs.sort()
        if patterns.count > 1 {
            var unique: [UInt64] = []
            unique.reserveCapacity(seqs.count)
            for s in seqs where unique.last != s { unique.append(s) }
            return unique
        }
        return seqs
    }

    @inline(__always)
    static func hasPrefix(_ key: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        key.count >= prefix.count && prefix.withUnsafeBytes { memcmp(key.baseAddress!, $0.baseAddress!, prefix.count) == 0 }
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
        guard let seq = try txn.getBytes(current, Key.currentLabel(src: src, uri: uri, cid: cid, val: val)),
            let bytes = try labelBytes(seq, txn)
        else { return nil }
        return (BigEndian.uint64(seq), try Label(dagCBOR: bytes))
    }

    /// Every current label on one URI.
    public func labels(uri: String, _ txn: LMDBTransaction) throws -> [(UInt64, Label)] {
        try query(txn, patterns: [.exact(uri)], sources: nil, after: 0, limit: Int.max).labels
    }

    public func count(_ txn: LMDBTransaction) throws -> Int { try txn.count(bySeq) }

    /// Every current label (the latest per src, uri, cid, val; negations included) whose value is
    /// one of `values`, in key order: the value is read from the `labels.current` key, so only the
    /// matching labels are decoded.
    public func forEachCurrent(values: Set<String>, _ txn: LMDBTransaction, _ body: (UInt64, Label) throws -> Void) throws {
        try txn.scan(current) { k, v in
            // src 0 uri 0 cid 0 val: no part holds a 0x00, so the value follows the last one.
            guard let sep = k.lastIndex(of: 0) else { return true }
            let val = String(decoding: UnsafeRawBufferPointer(rebasing: k[(sep + 1)...]), as: UTF8.self)
            guard values.contains(val), v.count == 8 else { return true }
            let seq = BigEndian.uint64(v)
            guard let bytes = try labelBytes(BigEndian.bytes(seq), txn) else { return true }
            try body(seq, try Label(dagCBOR: bytes))
            return true
        }
    }
}
