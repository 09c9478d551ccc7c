import EventLog
import Foundation
import LabelerCore

/// A seeded generator of plausible moderation histories covering every event kind, for
/// property-style tests (incremental apply vs rebuild, verify, export/import).
public struct RandomEvents {
    public var rng: SeededRandom
    public var keys: [SigningKey]
    public var did: String
    var keyIndex = 0
    var batches: [(String, [String])] = []
    var images: [UInt64] = []
    public let uris: [String]

    public init(seed: UInt64, subjects: Int = 40) {
        rng = SeededRandom(seed: seed)
        keys = [SigningKey.generate(), SigningKey.generate(), SigningKey.generate()]
        did = "did:web:labeler.example.com"
        uris = (0..<subjects).map { "at://did:plc:artist\($0 % 7)/fm.plyr.track/3k\($0)" } + ["did:plc:account1"]
    }

    public var currentKey: SigningKey { keys[keyIndex] }

    public func identity() -> NewEvent {
        LabelerIdentified(did: did, signingKey: keys[0].publicKey.didKey).event(actor: .system)
    }

    mutating func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
    mutating func chance(_ p: Double) -> Bool { Double(rng.next() % 10_000) / 10_000 < p }

    public mutating func label(uri: String? = nil, val: String? = nil, neg: Bool = false) -> NewEvent {
        let u = uri ?? pick(uris)
        let v = val ?? pick(["copyright-violation", "copyright-violation", "spam", "!warn"])
        let cid: String? = chance(0.2) ? "bafyreiham727jj3i4dqipf4vhtbhq4vgdxbpdqxj6vlppeatvnlekheg6u" : nil
        let l = Label(
            src: did, uri: u, cid: cid, val: v, neg: neg ? true : nil, cts: Datetime.format(micros: 1_700_000_000_000_000 + Int64(rng.next() % 1_000_000_000)),
            exp: chance(0.1) ? "2030-01-01T00:00:00.000Z" : nil
        ).signed(with: currentKey)
        return LabelApplied(label: l).event(actor: .admin())
    }

    /// One random event of any kind (the caller appends it; `noteAppended` learns image ids).
    public mutating func next() -> NewEvent {
        switch rng.next() % 16 {
        case 14:
            return ReportCreated(reasonType: "com.atproto.moderation.defs#reasonSpam", reason: chance(0.5) ? "spam!" : nil,
                                 subject: pick(uris), subjectCid: nil, reportedBy: "did:plc:reporter", client: "127.0.0.1")
                .event(actor: Actor("reporter"))
        case 15:
            return ReportResolved(reportId: rng.next() % 400 + 1, status: pick(ReportResolved.Status.allCases), notes: "ok", resolvedBy: "alice")
                .event(actor: .admin())
        case 0, 1, 2, 3: return label()
        case 4: return label(neg: true)
        case 5:
            return TrackContextAttached(
                uri: pick(uris), trackId: chance(0.5) ? Int64(rng.next() % 1000) : nil,
                trackTitle: chance(0.7) ? "Song <\(rng.next() % 100)>" : nil, artistHandle: chance(0.5) ? "artist.bsky.social" : nil,
                highestScore: chance(0.5) ? Int(rng.next() % 101) : nil,
                matches: chance(0.3) ? [ContextMatch(title: "T", artist: "A", score: 90)] : nil
            ).event(actor: .scanner)
        case 6:
            return FlagResolved(uri: pick(uris), val: "copyright-violation", reason: pick(ResolutionReason.allCases), notes: chance(0.5) ? "n" : nil)
                .event(actor: .admin("alice"))
        case 7:
            let id = "b\(rng.next() % 1_000_000)"
            let us = (0..<Int(1 + rng.next() % 4)).map { _ in pick(uris) }
            batches.append((id, us))
            return ReviewBatchCreated(batchId: id, uris: us, createdBy: "alice").event(actor: .admin())
        case 8:
            guard let (id, us) = batches.isEmpty ? nil : pick(batches) else { return label() }
            return ReviewDecisionRecorded(batchId: id, uri: pick(us), decision: pick(ReviewDecision.allCases)).event(actor: .admin())
        case 9:
            guard let (id, _) = batches.isEmpty ? nil : pick(batches) else { return label() }
            if chance(0.3) { return ReviewBatchAnnounced(batchId: id, destinations: [pick(["standard output", "webhook hooks.example"])]).event(actor: .admin()) }
            return ReviewBatchCompleted(batchId: id).event(actor: .admin())
        case 10:
            return SensitiveImageAdded(imageId: "img\(rng.next() % 50)", url: chance(0.5) ? "https://cdn.example/i.png" : nil, reason: "nsfw", flaggedBy: "claude-auto")
                .event(actor: .admin())
        case 11:
            return SensitiveImageRemoved(id: rng.next() % 400 + 1).event(actor: .admin())
        case 12:
            // Known content now and then (the index is a projection too).
            switch rng.next() % 6 {
            case 0:
                let items = (0..<Int(50 + rng.next() % 200)).map { _ in UInt32(truncatingIfNeeded: rng.next() % 4096) }
                var bytes: [UInt8] = []
                for v in items { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
                return KnownContentAdded(refId: "kc-\(rng.next() % 6)", reason: "operator-confirmed", uri: pick(uris), contentHash: nil, fingerprint: bytes, work: chance(0.5) ? "A - T" : nil)
                    .event(actor: .admin())
            case 1:
                return KnownContentRemoved(refId: "kc-\(rng.next() % 6)", reason: "licensed").event(actor: .admin())
            case 2:
                return KnownContentMatched(
                    source: "scan", uri: pick(uris), contentHash: "bafkreihash\(rng.next() % 5)",
                    match: KnownMatch(refId: "kc-1", uploadOffsetMs: 0, referenceOffsetMs: 0, matchedMs: 30_000, berBasisPoints: 700, verdict: "review")
                ).event(actor: .scanner)
            case 3:
                return KnownMatchReviewed(
                    matchSeq: rng.next() % 400 + 1, uri: pick(uris), contentHash: chance(0.7) ? "bafkreihash\(rng.next() % 5)" : nil, refId: "kc-1",
                    decision: pick(KnownMatchDecision.allCases), notes: chance(0.3) ? "n" : nil
                ).event(actor: .admin("alice"))
            default: break
            }
            let failed = chance(0.3)
            return ScanRecorded(
                scanId: "s\(rng.next())", uri: pick(uris), audioURL: "https://cdn.example/a.mp3", status: failed ? .failed : .ok,
                error: failed ? "AuDD unreachable" : nil, matches: failed ? [] : [ScanMatch(artist: "A", title: "T", score: 80)],
                isFlagged: !failed && chance(0.5), highestScore: 80, estimatedRequests: 20,
                plan: chance(0.5) ? ScanPlanRecord(mode: "balanced", kind: pick(["full", "sampled", "cache-hit"]), reason: "r") : nil,
                fullScanRequests: chance(0.7) ? 20 : nil, contentHash: chance(0.7) ? "bafkreihash\(rng.next() % 5)" : nil,
                cachedFromSeq: chance(0.2) ? 3 : nil
            ).event(actor: .scanner)
        default:
            if chance(0.15) && keyIndex + 1 < keys.count {
                keyIndex += 1
                return SigningKeyRotated(signingKey: keys[keyIndex].publicKey.didKey, previousKey: keys[keyIndex - 1].publicKey.didKey)
                    .event(actor: .system)
            }
            return label()
        }
    }
}

public typealias SeededRandom = SplitMix64
