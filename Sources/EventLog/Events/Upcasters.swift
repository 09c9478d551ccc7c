import LabelerCore

struct UpcasterKey: Hashable {
    let type: String
    let from: Int
}

/// Upcasters turn a payload stored under an older schema version into the next version's shape.
/// They are keyed by (type, stored version) and chained until the current version is reached.
public enum Upcasters {
    typealias Upcaster = @Sendable (CBOR, EventEnvelope) throws -> CBOR

    static let all: [UpcasterKey: Upcaster] = [
        UpcasterKey(type: ScanRecorded.eventType, from: 1): scanRecordedV1toV2,
        UpcasterKey(type: ScanRecorded.eventType, from: 2): scanRecordedV2toV3,
    ]

    /// `scan.recorded` v2 scans sent no sampling parameters: every chunk was scanned, so what was
    /// billed is what a full scan costs, and the plan is a full scan (none for a failed scan).
    @Sendable static func scanRecordedV2toV3(_ p: CBOR, _ envelope: EventEnvelope) throws -> CBOR {
        guard case .map(var m) = p else { throw EventLogError.corruptEvent(envelope.seq, "scan.recorded v2 is not a map") }
        let ok = m["status"] == .text("ok")
        let billed = m["estimatedRequests"] ?? .unsigned(0)
        m["plan"] = .map([
            "mode": .text("full"), "kind": .text(ok ? "full" : "none"),
            "reason": .text("recorded before scan plans (scan.recorded v2): every chunk scanned"),
            "maxEscalations": .unsigned(0),
        ])
        if ok {
            m["fullScanRequests"] = billed
            m["scannedChunks"] = billed
        }
        return .map(m)
    }

    /// `scan.recorded` v1 is the shape the original service's `/scan` answered with
    /// (`audio_url`, `matches`, `is_flagged`, `highest_score`), as imported from its history:
    /// no status (it could not record failures), AuDD as provider, no cost.
    @Sendable static func scanRecordedV1toV2(_ p: CBOR, _ envelope: EventEnvelope) throws -> CBOR {
        guard case .map(let old) = p else { throw EventLogError.corruptEvent(envelope.seq, "scan.recorded v1 is not a map") }
        var new: [String: CBOR] = [
            "scanId": .text("v1-\(envelope.seq)"),
            "audioURL": old["audio_url"] ?? .text(""),
            "provider": .text("audd"),
            "status": .text("ok"),
            "isFlagged": old["is_flagged"] ?? .bool(false),
            "highestScore": old["highest_score"] ?? .unsigned(0),
            "estimatedRequests": .unsigned(0),
            "policy": .text("original-service"),
        ]
        if let uri = old["uri"] { new["uri"] = uri }
        var matches: [CBOR] = []
        for m in old["matches"]?.arrayValue ?? [] {
            var nm: [String: CBOR] = [
                "artist": m["artist"] ?? .text("Unknown"), "title": m["title"] ?? .text("Unknown"),
                "score": m["score"] ?? .unsigned(0),
            ]
            for (from, to) in [("album", "album"), ("isrc", "isrc"), ("timecode", "timecode"), ("offset_ms", "offsetMs")] {
                if let v = m[from], v != .null { nm[to] = v }
            }
            matches.append(.map(nm))
        }
        new["matches"] = .array(matches)
        return .map(new)
    }
}
