import EventLog
import Foundation
import LabelerCore
import Projections
import Synchronization

/// Turns confirmed violations into known-content references and re-checks the stored catalogue
/// against a new reference (a local "legacy scan": no provider request).
struct KnownContentService: Sendable {
    let service: LabelerService
    let thresholds: KnownContentThresholds

    static let labelValue = ScanPipeline.labelValue

    /// How a known-content reference shows as a match in a flag's evidence.
    static let evidenceArtist = "Known content"
    static func evidenceTitle(work: String?, refId: String) -> String { work ?? "reference \(refId)" }

    /// One reference per distinct audio: the id derives from the blob CID.
    static func refId(contentHash: String) -> String { "kc-" + String(contentHash.suffix(16)) }

    /// The reference event for a subject's last scanned audio, if its fingerprint is stored.
    func reference(uri: String, reason: String, work: String?) throws -> KnownContentAdded? {
        let store = service.store
        guard let hash = try store.read({ try store.verdicts.contentHash(uri: uri, $0) }),
            let items = try service.fingerprints.fingerprint(contentHash: hash), !items.isEmpty
        else { return nil }
        return KnownContentAdded(
            refId: Self.refId(contentHash: hash), reason: reason, uri: uri, contentHash: hash, fingerprint: Chromaprint.bytes(items),
            work: try work ?? self.work(uri: uri))
    }

    /// "artist - title" of the song the flag's context names first, for the evidence.
    func work(uri: String) throws -> String? {
        let store = service.store
        guard let m = try store.read({ try store.flags.record(uri: uri, $0) })?.context?.matches?.first else { return nil }
        return "\(m.artist) - \(m.title)"
    }

    struct RetroScan: Sendable {
        var checked = 0
        var matched: [(uri: String?, contentHash: String, match: KnownMatch)] = []
        var labelled: [String] = []
    }

    /// Matches a new reference against every stored fingerprint (except its own bytes): strong
    /// matches label their subjects (unless already flagged), borderline ones are recorded for
    /// review; every finding is a `known-content.matched` event.
    func retroScan(_ ref: KnownContentAdded) async throws -> RetroScan {
        let items = Chromaprint.items(ref.fingerprint)
        let postings = FingerprintMatcher.postings(of: items)
        var result = RetroScan()
        try service.fingerprints.forEach { hash, stored, uris in
            guard hash != ref.contentHash else { return }
            result.checked += 1
            let candidates = FingerprintMatcher.vote(query: stored, minVotes: thresholds.minVotes) { k in
                (postings[k] ?? []).map { (ref: 0, pos: $0) }
            }
            guard let c = candidates.first,
                let m = KnownContentProjection.judge(query: stored, reference: items, candidate: c, thresholds)?.with(refId: ref.refId)
            else { return }
            let subjects = uris.filter { $0 != ref.uri }
            if subjects.isEmpty { result.matched.append((nil, hash, m)) }
            for u in subjects { result.matched.append((u, hash, m)) }
        }
        guard !result.matched.isEmpty else { return result }

        // Sign the labels first (off the writer), decide inside the write whom to label.
        var labels: [String: Label] = [:]
        for f in result.matched where f.match.verdict == "flag" {
            guard let u = f.uri, labels[u] == nil else { continue }
            labels[u] = try service.makeLabel(LabelRequest(uri: u, val: Self.labelValue)).signed(with: service.key)
        }
        let flags = service.store.flags
        let found = result.matched
        let signed = labels
        let work = ref.work
        let labelled = Mutex<[String]>([])
        try await service.log.append(deciding: { txn in
            labelled.withLock { $0 = [] }  // `decide` may run again (see `append(deciding:)`)
            var events: [NewEvent] = []
            var done = Set<String>()
            for f in found {
                events.append(KnownContentMatched(source: "retro-scan", uri: f.uri, contentHash: f.contentHash, match: f.match).event(actor: .scanner))
                guard f.match.verdict == "flag", let u = f.uri, let label = signed[u], !done.contains(u) else { continue }
                done.insert(u)
                if let existing = try flags.record(uri: u, txn), existing.isFlag { continue }
                events.append(LabelApplied(label: label).event(actor: .scanner))
                events.append(
                    TrackContextAttached(
                        uri: u, highestScore: f.match.score,
                        matches: [ContextMatch(title: Self.evidenceTitle(work: work, refId: f.match.refId), artist: Self.evidenceArtist, score: f.match.score)])
                        .event(actor: .scanner))
                labelled.withLock { $0.append(u) }
            }
            return events
        })
        result.labelled = labelled.withLock { $0 }
        service.logger.notice(
            "known-content retro-scan", metadata: ["ref": "\(ref.refId)", "checked": "\(result.checked)", "matched": "\(result.matched.count)", "labelled": "\(result.labelled.count)"])
        return result
    }
}

extension KnownMatch {
    /// A 0–100 score for display: 100 at BER 0, 0 at BER 0.5 (chance).
    var score: Int { max(0, min(100, 100 - berBasisPoints / 50)) }

    func with(refId: String) -> KnownMatch {
        var m = self
        m.refId = refId
        return m
    }
}
