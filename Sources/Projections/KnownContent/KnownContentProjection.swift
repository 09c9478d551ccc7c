import EventLog
import LabelerCore

/// A reference of the known-content index.
public struct KnownReference: Codable, Sendable, Equatable {
    public var refId: String
    /// Dense number used in postings (the order references were added).
    public var num: Int
    public var reason: String
    public var uri: String?
    public var contentHash: String?
    public var work: String?
    public var items: Int
    public var addedSeq: UInt64
    public var addedAt: String
    public var removed: Bool = false
    public var removedReason: String?
}

/// A known-content match recorded in the log (review queue and retro-scan findings).
public struct KnownMatchRecord: Codable, Sendable, Equatable {
    public var seq: UInt64
    public var at: String
    public var source: String
    public var uri: String?
    public var contentHash: String?
    public var match: KnownMatch
}

/// An operator's judgement of a borderline match.
public struct KnownMatchReviewRecord: Codable, Sendable, Equatable {
    public var seq: UInt64
    public var at: String
    public var actor: String
    public var decision: KnownMatchDecision
    public var notes: String?
}

/// The known-content index, rebuilt from `known-content.added/removed` events alone (their
/// fingerprints are in the log):
/// - `known.refs` refId → reference; `known.nums` number → refId; `known.prints` refId → items;
/// - `known.index`: the top 24 bits of an item (3 bytes, big-endian) → postings, packed
///   (reference number, position) pairs of little-endian UInt32s;
/// - `known.matches`: seq → a `known-content.matched` event (what waits for review);
/// - `known.reviews`: a match's seq → an operator's judgement of it (v2).
public final class KnownContentProjection: Projection, @unchecked Sendable {
    public static let name = "known-content"
    public static let version = 2
    let refs: MDB_dbi_t
    let nums: MDB_dbi_t
    let prints: MDB_dbi_t
    let index: MDB_dbi_t
    let matches: MDB_dbi_t
    let reviews: MDB_dbi_t
    public var databases: [MDB_dbi_t] { [refs, nums, prints, index, matches, reviews] }
    /// Written straight to LMDB during rebuilds (its apply counts or scans its own tables, which
    /// the rebuild write buffer does not serve).
    public var bufferedDatabases: [MDB_dbi_t] { [] }

    public init(env: LMDBEnvironment) throws {
        refs = try env.database("known.refs")
        nums = try env.database("known.nums")
        prints = try env.database("known.prints")
        index = try env.database("known.index")
        matches = try env.database("known.matches")
        reviews = try env.database("known.reviews")
    }

    public func apply(_ event: StoredEvent, _ decoded: LabelerEvent, in txn: LMDBTransaction) throws {
        switch decoded {
        case .knownContentAdded(let e):
            if var existing = try reference(e.refId, txn) {
                // The same audio again (re-confirmed after removal): back in force; its postings are still indexed.
                if existing.removed {
                    existing.removed = false
                    existing.removedReason = nil
                    try Record.put(existing, txn, refs, Array(e.refId.utf8))
                }
                return
            }
            let items = Chromaprint.items(e.fingerprint)
            let num = try txn.count(nums)
            let r = KnownReference(
                refId: e.refId, num: num, reason: e.reason, uri: e.uri, contentHash: e.contentHash, work: e.work, items: items.count,
                addedSeq: event.seq, addedAt: event.envelope.recordedAtString)
            try Record.put(r, txn, refs, Array(e.refId.utf8))
            try txn.put(nums, Self.numKey(UInt32(num)), Array(e.refId.utf8))
            try txn.put(prints, Array(e.refId.utf8), e.fingerprint)
            try add(num: UInt32(num), items: items, txn)
        case .knownContentRemoved(let e):
            guard var r = try reference(e.refId, txn) else { return }
            r.removed = true
            r.removedReason = e.reason
            try Record.put(r, txn, refs, Array(e.refId.utf8))
        case .knownContentMatched(let e):
            let m = KnownMatchRecord(seq: event.seq, at: event.envelope.recordedAtString, source: e.source, uri: e.uri, contentHash: e.contentHash, match: e.match)
            try Record.put(m, txn, matches, BigEndian.bytes(event.seq))
        case .knownMatchReviewed(let e):
            let r = KnownMatchReviewRecord(
                seq: event.seq, at: event.envelope.recordedAtString, actor: event.envelope.actor, decision: e.decision, notes: e.notes)
            try Record.put(r, txn, reviews, BigEndian.bytes(e.matchSeq))
        default: break
        }
    }

    static func numKey(_ n: UInt32) -> [UInt8] { withUnsafeBytes(of: n.bigEndian) { Array($0) } }
    static func indexKey(_ k: UInt32) -> [UInt8] { [UInt8(k >> 16 & 0xFF), UInt8(k >> 8 & 0xFF), UInt8(k & 0xFF)] }

    /// Appends a reference's postings to the index, one read-modify-write per distinct key.
    public func add(num: UInt32, items: [UInt32], _ txn: LMDBTransaction) throws {
        for (k, positions) in FingerprintMatcher.postings(of: items) {
            let key = Self.indexKey(k)
            var value = try txn.getBytes(index, key) ?? []
            value.reserveCapacity(value.count + positions.count * 8)
            for p in positions {
                withUnsafeBytes(of: num.littleEndian) { value.append(contentsOf: $0) }
                withUnsafeBytes(of: p.littleEndian) { value.append(contentsOf: $0) }
            }
            try txn.put(index, key, value)
        }
    }

    public func reference(_ refId: String, _ txn: LMDBTransaction) throws -> KnownReference? {
        try Record.get(KnownReference.self, txn, refs, Array(refId.utf8))
    }

    public func fingerprint(_ refId: String, _ txn: LMDBTransaction) throws -> [UInt32]? {
        try txn.get(prints, Array(refId.utf8)) { $0.map { Chromaprint.items($0) } }
    }

    public func references(_ txn: LMDBTransaction) throws -> [KnownReference] {
        var out: [KnownReference] = []
        try txn.scan(nums) { _, v in
            if let r = try reference(String(decoding: v, as: UTF8.self), txn) { out.append(r) }
            return true
        }
        return out
    }

    /// The match recorded at `seq`, if any.
    public func recordedMatch(seq: UInt64, _ txn: LMDBTransaction) throws -> KnownMatchRecord? {
        try Record.get(KnownMatchRecord.self, txn, matches, BigEndian.bytes(seq))
    }

    /// An operator's judgement of the match recorded at `seq`, if any.
    public func review(ofMatch seq: UInt64, _ txn: LMDBTransaction) throws -> KnownMatchReviewRecord? {
        try Record.get(KnownMatchReviewRecord.self, txn, reviews, BigEndian.bytes(seq))
    }

    /// Recorded matches, newest first.
    public func recordedMatches(limit: Int, _ txn: LMDBTransaction) throws -> [KnownMatchRecord] {
        var out: [KnownMatchRecord] = []
        try txn.scan(matches, reverse: true) { _, v in
            out.append(try Record.decode(KnownMatchRecord.self, v))
            return out.count < limit
        }
        return out
    }

    /// Matches `query` (an upload's items) against every reference still in force: strong
    /// (`flag`) when ≥ `minMatchSeconds` match with every window at a BER ≤ `flagBER`; `review`
    /// at ≤ `reviewBER`, or for a shorter excerpt (`excerptSeconds` windows, `excerptVotes` votes).
    /// Longest match first.
    public func match(_ query: [UInt32], _ t: KnownContentThresholds, _ txn: LMDBTransaction) throws -> [KnownMatch] {
        let candidates = try FingerprintMatcher.vote(query: query, minVotes: t.minVotes) { k in
            try txn.get(index, Self.indexKey(k)) { v -> [(ref: UInt32, pos: UInt32)] in
                guard let v else { return [] }
                var out: [(ref: UInt32, pos: UInt32)] = []
                out.reserveCapacity(v.count / 8)
                var i = 0
                while i + 8 <= v.count {
                    let ref = v.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian
                    let pos = v.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self).littleEndian
                    out.append((ref, pos))
                    i += 8
                }
                return out
            }
        }
        var out: [KnownMatch] = []
        // The 10 best candidates among references still in force (removed ones keep their
        // postings and must not crowd out a live one).
        var judged = 0
        for c in candidates where judged < 10 {
            guard let refId = try txn.get(nums, Self.numKey(c.ref), { $0.map { String(decoding: $0, as: UTF8.self) } }),
                let ref = try reference(refId, txn), !ref.removed, let items = try fingerprint(refId, txn)
            else { continue }
            judged += 1
            if let m = Self.judge(query: query, reference: items, candidate: c, t) { out.append(m.with(refId: refId)) }
        }
        return out.sorted { $0.matchedMs != $1.matchedMs ? $0.matchedMs > $1.matchedMs : $0.refId < $1.refId }
    }

    /// Verifies one candidate alignment and grades it (refId left empty): `flag` when every
    /// `minMatchSeconds` window of a segment has a BER ≤ `flagBER` (the segment's edges, where a
    /// splice blurs the chroma, are left out), else `review` at ≤ `reviewBER`.
    public static func judge(query: [UInt32], reference: [UInt32], candidate c: AlignmentCandidate, _ t: KnownContentThresholds) -> KnownMatch? {
        let window = Chromaprint.items(forSeconds: t.minMatchSeconds)
        func known(_ m: SegmentMatch, _ verdict: String) -> KnownMatch {
            KnownMatch(
                refId: "", uploadOffsetMs: Chromaprint.milliseconds(items: m.queryStart), referenceOffsetMs: Chromaprint.milliseconds(items: m.refStart),
                matchedMs: Chromaprint.milliseconds(items: m.length), berBasisPoints: Int((m.ber * 10_000).rounded()), verdict: verdict)
        }
        if let m = FingerprintMatcher.verify(query: query, reference: reference, offset: c.offset, window: window, maxBER: t.flagBER) {
            return known(m, "flag")
        }
        if let m = FingerprintMatcher.verify(query: query, reference: reference, offset: c.offset, window: window, maxBER: t.reviewBER) {
            return known(m, "review")
        }
        let excerpt = Chromaprint.items(forSeconds: t.excerptSeconds)
        if c.votes >= t.excerptVotes,
            let m = FingerprintMatcher.verify(query: query, reference: reference, offset: c.offset, window: excerpt, maxBER: t.reviewBER)
        {
            return known(m, "review")
        }
        return nil
    }
}

extension KnownMatch {
    func with(refId: String) -> KnownMatch {
        var m = self
        m.refId = refId
        return m
    }
}
