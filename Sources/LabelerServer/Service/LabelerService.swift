import EventLog
import Foundation
import LabelerCore
import Logging
import Projections
import Synchronization

/// A label as a client asks for it; everything is validated before anything is signed or written.
public struct LabelRequest: Sendable, Decodable, Equatable {
    public var uri: String
    public var val: String
    public var cid: String?
    public var neg: Bool?
    public var exp: String?

    public init(uri: String, val: String, cid: String? = nil, neg: Bool? = nil, exp: String? = nil) {
        self.uri = uri
        self.val = val
        self.cid = cid
        self.neg = neg
        self.exp = exp
    }
}

/// The labeler's write side and its signed-label serving: one instance per running server.
public final class LabelerService: Sendable {
    public let store: ModerationStore
    public let log: EventLog
    public let did: String
    public let key: SigningKey
    public let logger: Logger
    let resigner: Resigner
    /// Fingerprints of scanned uploads (for known-content references and retro-scans).
    public let fingerprints: FingerprintStore

    /// Opens the data directory and checks (or, on first run, records) the labeler's identity:
    /// the log's first event names the DID and key; a configured key that is not the log's
    /// current key, or another DID, stops start-up.
    public init(config: ServerConfig, logger: Logger = Logger(label: "labeler")) async throws {
        self.logger = logger
        let bar = ProgressLogger(logger: logger)
        let store = try ModerationStore(path: config.dataDir, logger: logger, progress: bar.update)
        self.store = store
        let log = try store.writer()
        self.log = log
        var key = config.signingKey
        let recorded = try store.read { txn in (try store.keys.did(txn), try store.keys.currentKey(txn)) }
        if let recordedDID = recorded.0, let current = recorded.1 {
            if let configured = config.did, configured != recordedDID {
                store.close()
                throw ServerConfig.Error("LABELER_DID is \(configured) but this data directory belongs to \(recordedDID)")
            }
            // A rotation interrupted after its event: `signing-key.next` holds the log's key.
            if !config.signingKeyFromEnvironment {
                do {
                    if let finished = try KeyRotation.finishInterrupted(dataDir: config.dataDir, logKey: current.didKey) {
                        key = finished
                        logger.notice("finished an interrupted key rotation: signing-key.next is now signing-key", metadata: ["key": "\(current.didKey)"])
                    }
                } catch {
                    store.close()
                    throw error
                }
            }
            guard current.didKey == key.publicKey.didKey else {
                store.close()
                throw ServerConfig.Error(
                    "the signing key (\(key.publicKey.didKey)) is not the log's current key (\(current.didKey)); use `labeler keys rotate` to change keys")
            }
            did = recordedDID
        } else {
            guard log.head == 0 else {
                store.close()
                throw ServerConfig.Error("the log has events but no labeler.identified event; it was not written by this labeler")
            }
            did = config.did ?? key.publicKey.didKey
            try await log.append(LabelerIdentified(did: did, signingKey: key.publicKey.didKey).event(actor: .system))
            logger.notice("new labeler identity recorded", metadata: ["did": "\(did)", "key": "\(key.publicKey.didKey)"])
        }
        self.key = key
        resigner = try Resigner(store: store, key: key, did: did, logger: logger)
        fingerprints = try FingerprintStore(env: store.env)
        // Downloads a crash left behind (a live scan's directory is never this old).
        let removed = AudioDownloader.removeStale(
            in: config.scan.downloadDirectory, olderThan: .seconds(config.scan.downloadTimeoutSeconds) + AudioDownloader.staleMargin)
        if removed > 0 { logger.notice("removed stale audio downloads", metadata: ["count": "\(removed)", "dir": "\(config.scan.downloadDirectory)"]) }
    }

    public func close() {
        resigner.close()
        store.close()
    }

    /// Builds and validates the label for a request (no signing yet).
    public func makeLabel(_ r: LabelRequest, cts: String = Datetime.now()) throws(LabelValidationError) -> Label {
        let l = Label(src: did, uri: r.uri, cid: r.cid, val: r.val, neg: r.neg == true ? true : nil, cts: cts, exp: r.exp)
        try l.validateForEmission()
        return l
    }

    /// Validates, signs (off the writer) and appends labels atomically; returns them with seqs
    /// once durable. `extra` events are appended in the same batch (e.g. track context).
    public func emit(_ requests: [LabelRequest], extra: [NewEvent] = [], actor: Actor) async throws -> [(seq: UInt64, label: Label)] {
        let cts = Datetime.now()
        var labels: [Label] = []
        for (i, r) in requests.enumerated() {
            do { labels.append(try makeLabel(r, cts: cts)) } catch {
                throw requests.count == 1 ? error : LabelValidationError(field: "labels[\(i)].\(error.field)", message: error.message)
            }
        }
        let signed = labels.map { $0.signed(with: key) }
        let events = signed.map { LabelApplied(label: $0).event(actor: actor) } + extra
        let seqs = try await log.append(events)
        return Array(zip(seqs.prefix(signed.count), signed))
    }

    /// The label as served: labels signed with an older key are re-signed with the current key
    /// (same `cts`), computed once and kept.
    public func served(seq: UInt64, label: Label, _ txn: LMDBTransaction) throws -> Label {
        try resigner.served(seq: seq, label: label, txn)
    }

    /// Labels with a seq below this were signed by an earlier key and are served re-signed.
    public func currentKeyEpoch(_ txn: LMDBTransaction) throws -> UInt64 {
        try store.keys.currentKey(txn)?.epoch ?? 0
    }

    public func servedBytes(seq: UInt64, bytes: [UInt8], _ txn: LMDBTransaction) throws -> [UInt8] {
        try resigner.servedBytes(seq: seq, bytes: bytes, txn)
    }
}

/// Logs rebuild progress at start-up (a server has no terminal to draw a bar on).
final class ProgressLogger: @unchecked Sendable {
    let logger: Logger
    var lastPercent = -10
    init(logger: Logger) { self.logger = logger }
    func update(_ name: String, _ done: UInt64, _ total: UInt64) {
        let pct = total == 0 ? 100 : Int(done * 100 / total)
        guard pct >= lastPercent + 10 || done == total else { return }
        lastPercent = pct
        logger.notice("rebuilding read models", metadata: ["projections": "\(name)", "progress": "\(pct)%", "seq": "\(done)/\(total)"])
    }
}
