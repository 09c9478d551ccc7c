import LabelerCore

// Scanning events: what a scan planned, what it sent to the provider, what it was billed and what
// it found. No floats (DAG-CBOR has none): shares and bit-error rates are in basis points.

/// One song AuDD (or another provider) matched. Scores are integers 0–100.
public struct ScanMatch: Codable, Sendable, Equatable {
    public var artist: String
    public var title: String
    public var album: String?
    public var isrc: String?
    public var timecode: String?
    public var offsetMs: Int?
    public var score: Int
    public var songLink: String?
    public init(
        artist: String, title: String, album: String? = nil, isrc: String? = nil, timecode: String? = nil,
        offsetMs: Int? = nil, score: Int, songLink: String? = nil
    ) {
        self.artist = artist
        self.title = title
        self.album = album
        self.isrc = isrc
        self.timecode = timecode
        self.offsetMs = offsetMs
        self.score = score
        self.songLink = songLink
    }
}

/// AuDD enterprise parameters of one call. AuDD splits the audio after `skipFirstSeconds` into
/// 12-s chunks and scans runs of `every` chunks separated by `skip` chunks, at most `limit` chunks;
/// every scanned chunk is one billed request.
public struct AuddParams: Codable, Sendable, Hashable {
    public var skip: Int
    public var every: Int
    public var limit: Int?
    public var skipFirstSeconds: Int
    public init(skip: Int = 0, every: Int = 1, limit: Int? = nil, skipFirstSeconds: Int = 0) {
        self.skip = skip
        self.every = every
        self.limit = limit
        self.skipFirstSeconds = skipFirstSeconds
    }
}

/// One provider call of a scan: its parameters, the requests it was billed, and what came back.
public struct AuddCall: Codable, Sendable, Equatable {
    /// 0 for the first pass; escalation passes count up.
    public var pass: Int
    public var params: AuddParams
    public var billedRequests: Int
    public var matchedChunks: Int
    /// Set when this call failed (an escalation pass may fail after the first pass succeeded).
    public var error: String?
    public init(pass: Int, params: AuddParams, billedRequests: Int, matchedChunks: Int, error: String? = nil) {
        self.pass = pass
        self.params = params
        self.billedRequests = billedRequests
        self.matchedChunks = matchedChunks
        self.error = error
    }
}

/// What the scan-plan policy decided before paying anything, and why.
public struct ScanPlanRecord: Codable, Sendable, Equatable {
    /// `full`, `balanced` or `budget`.
    public var mode: String
    /// `full`, `sampled`, `spot-check`, `cache-hit`, `known-content`, or `none` (v2 and older).
    public var kind: String
    public var reason: String
    public var durationSeconds: Int?
    /// `request` (the caller's `duration_s`) or `probe` (ffprobe on the downloaded audio).
    public var durationSource: String?
    /// The duration tier that chose the parameters (e.g. `≤480s`).
    public var tier: String?
    /// The first pass, and how many further (complementary) passes the policy allows.
    public var params: AuddParams?
    public var maxEscalations: Int
    public init(
        mode: String, kind: String, reason: String, durationSeconds: Int? = nil, durationSource: String? = nil,
        tier: String? = nil, params: AuddParams? = nil, maxEscalations: Int = 0
    ) {
        self.mode = mode
        self.kind = kind
        self.reason = reason
        self.durationSeconds = durationSeconds
        self.durationSource = durationSource
        self.tier = tier
        self.params = params
        self.maxEscalations = maxEscalations
    }
}

/// A segment of an upload matched locally against a known-content reference.
public struct KnownMatch: Codable, Sendable, Equatable {
    public var refId: String
    /// Where in the upload and in the reference the matched span starts, and how long it is (ms).
    public var uploadOffsetMs: Int
    public var referenceOffsetMs: Int
    public var matchedMs: Int
    /// Mean bit-error rate over the matched span, in basis points (0–10000).
    public var berBasisPoints: Int
    /// `flag` (strong: labelled without a provider call) or `review` (borderline: never labels).
    public var verdict: String
    public init(refId: String, uploadOffsetMs: Int, referenceOffsetMs: Int, matchedMs: Int, berBasisPoints: Int, verdict: String) {
        self.refId = refId
        self.uploadOffsetMs = uploadOffsetMs
        self.referenceOffsetMs = referenceOffsetMs
        self.matchedMs = matchedMs
        self.berBasisPoints = berBasisPoints
        self.verdict = verdict
    }
}

/// A copyright scan ran, successfully or not. A failed scan is never a clean one.
///
/// v3 adds the plan, the provider calls with their parameters and billed requests, what a full
/// scan would have cost, the content hash (blob CID) of the bytes scanned, the scan whose verdict
/// a cache hit reused, and local known-content matches. v2 and v1 payloads are upcast.
public struct ScanRecorded: EventPayload, Equatable {
    public static let eventType = "scan.recorded"
    public static let version = 3
    public enum Status: String, Codable, Sendable { case ok, failed }
    public var scanId: String
    public var uri: String?
    public var cid: String?
    public var audioURL: String
    /// `audd`, or `cache` / `known-content` when no provider was called.
    public var provider: String
    public var status: Status
    public var error: String?
    public var matches: [ScanMatch]
    public var isFlagged: Bool
    public var highestScore: Int
    /// The flag policy that decided `isFlagged`, and why.
    public var policy: String?
    public var flagReason: String?
    /// Provider requests billed by this scan (AuDD: one per scanned 12-s chunk).
    public var estimatedRequests: Int
    // v3
    public var plan: ScanPlanRecord?
    public var calls: [AuddCall]?
    /// Requests a full scan of the whole upload would have been billed (nil: duration unknown).
    public var fullScanRequests: Int?
    /// 12-s chunks the provider scanned (sampled scans scan fewer than the upload has).
    public var scannedChunks: Int?
    /// Blob CID (CIDv1, raw, SHA-256) of the audio bytes, the verdict cache's key.
    public var contentHash: String?
    /// Bytes downloaded, when the labeler fetched the audio itself.
    public var downloadedBytes: Int?
    /// The earlier scan whose verdict a cache hit reused.
    public var cachedFromSeq: UInt64?
    public var knownMatches: [KnownMatch]?

    public init(
        scanId: String, uri: String? = nil, cid: String? = nil, audioURL: String, provider: String = "audd",
        status: Status, error: String? = nil, matches: [ScanMatch] = [], isFlagged: Bool = false,
        highestScore: Int = 0, policy: String? = nil, flagReason: String? = nil, estimatedRequests: Int = 0,
        plan: ScanPlanRecord? = nil, calls: [AuddCall]? = nil, fullScanRequests: Int? = nil, scannedChunks: Int? = nil,
        contentHash: String? = nil, downloadedBytes: Int? = nil, cachedFromSeq: UInt64? = nil, knownMatches: [KnownMatch]? = nil
    ) {
        self.scanId = scanId
        self.uri = uri
        self.cid = cid
        self.audioURL = audioURL
        self.provider = provider
        self.status = status
        self.error = error
        self.matches = matches
        self.isFlagged = isFlagged
        self.highestScore = highestScore
        self.policy = policy
        self.flagReason = flagReason
        self.estimatedRequests = estimatedRequests
        self.plan = plan
        self.calls = calls
        self.fullScanRequests = fullScanRequests
        self.scannedChunks = scannedChunks
        self.contentHash = contentHash
        self.downloadedBytes = downloadedBytes
        self.cachedFromSeq = cachedFromSeq
        self.knownMatches = knownMatches
    }
}
