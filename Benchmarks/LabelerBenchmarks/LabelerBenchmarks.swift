// Foundation benchmarks (issue 2): label signing and verification, raw libsecp256k1 for
// comparison, DAG-CBOR encode/decode, and durable append throughput into the event log.
//
// Run from the repository root with `make bench`
// (= `cd Benchmarks && swift package --disable-sandbox benchmark`).

import Benchmark
// CSecp256k1 is a system-library target of the root package, not a product: SwiftPM still hands
// its module map to every module that (transitively) depends on LabelerCore, so it can be imported
// here for the raw baseline. If that ever stops working, `SigningKey.sign(digest:)` /
// `PublicKey.verify(signature:digest:)` (also benchmarked below) are the thin-wrapper baseline.
import CSecp256k1
import EventLog
import Foundation
import LabelerCore

// MARK: - Fixtures

/// A fixed test key (never used anywhere real).
let benchKey = try! SigningKey(curve: .secp256k1, hex: "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4716ee1b9b8ca6ab")

/// A typical label as the labeler emits it: ver 1, a did:plc source, an AT-URI subject with a
/// record CID, a short value and a millisecond timestamp.
let typicalLabel = Label(
    ver: 1,
    src: "did:plc:ar7c4by46qjdydhdevvrndac",
    uri: "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/fm.plyr.track/3lbrr4ukqcs2k",
    cid: "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
    val: "copyright-violation",
    cts: "2026-11-20T06:30:00.000Z")

let benchPublicKey = benchKey.publicKey
let signedTypicalLabel = typicalLabel.signed(with: benchKey)
let signedTypicalLabelBytes = signedTypicalLabel.signedBytes()

/// A generic payload-like map: the shape of a `track.context-attached` event (nested array of maps).
let genericMap: CBOR = [
    "uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/fm.plyr.track/3lbrr4ukqcs2k",
    "trackId": 48213,
    "trackTitle": "Midnight Drive (extended mix)",
    "artistHandle": "someartist.bsky.social",
    "artistDid": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
    "highestScore": 92,
    "matches": [
        ["title": "Midnight Drive", "artist": "Original Artist", "score": 92],
        ["title": "Midnight Drive (Radio Edit)", "artist": "Original Artist", "score": 88],
        ["title": "Night Driving", "artist": "Someone Else", "score": 41],
    ],
    "flags": [true, false, .null],
    "blob": .bytes(Array(repeating: 0xab, count: 32)),
]
let genericMapBytes = genericMap.encoded()

/// A 32-byte digest to sign "raw".
let rawDigest = SHA256.hash(Array("labeler benchmark digest".utf8))

/// Raw libsecp256k1 state, made the same way LabelerCore makes its own (SECP256K1_CONTEXT_NONE,
/// randomized), so the baseline measures only the library calls.
final class RawSecp256k1: @unchecked Sendable {
    let ctx: OpaquePointer
    let secret: [UInt8]
    var pubkey = secp256k1_pubkey()
    let compactSig: [UInt8]
    /// Scratch space reused by every iteration, so the raw benchmarks allocate nothing.
    let sigScratch = UnsafeMutablePointer<secp256k1_ecdsa_signature>.allocate(capacity: 1)
    let outScratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
    let pubScratch = UnsafeMutablePointer<secp256k1_pubkey>.allocate(capacity: 1)

    init(secretHex: String) {
        let ctx = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE))!
        let seed = secureRandomBytes(32)
        _ = seed.withUnsafeBufferPointer { secp256k1_context_randomize(ctx, $0.baseAddress!) }
        self.ctx = ctx
        var s = [UInt8]()
        var i = secretHex.startIndex
        while i < secretHex.endIndex {
            let j = secretHex.index(i, offsetBy: 2)
            s.append(UInt8(secretHex[i..<j], radix: 16)!)
            i = j
        }
        secret = s
        precondition(secp256k1_ec_pubkey_create(ctx, &pubkey, secret) == 1)
        var sig = secp256k1_ecdsa_signature()
        precondition(secp256k1_ecdsa_sign(ctx, &sig, rawDigest, secret, nil, nil) == 1)
        var out = [UInt8](repeating: 0, count: 64)
        _ = secp256k1_ecdsa_signature_serialize_compact(ctx, &out, &sig)
        compactSig = out
        pubScratch.initialize(to: pubkey)
    }
}

let raw = RawSecp256k1(secretHex: "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4716ee1b9b8ca6ab")

/// A temporary event log on the real disk (the temp directory here is on the root ext4 volume,
/// so every commit is a real fsync), created before and removed after each append benchmark.
final class AppendFixture: @unchecked Sendable {
    let dir: URL
    let log: EventLog
    /// A label.applied event with a pre-signed label: signing is not the writer's work.
    let event: NewEvent

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("labeler-bench-\(UUID().uuidString)")
        log = try EventLog(env: LMDBEnvironment(path: dir.path))
        event = LabelApplied(label: signedTypicalLabel).event(actor: .system)
    }

    func close() {
        log.close()
        try? FileManager.default.removeItem(at: dir)
    }
}

/// Runs `appenders` concurrent tasks, each appending `perAppender` events one at a time
/// (`try await log.append(event)`), and returns when every append is durable.
func runAppenders(_ f: AppendFixture, appenders: Int, perAppender: Int) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<appenders {
            group.addTask {
                for _ in 0..<perAppender { try await f.log.append(f.event) }
            }
        }
        try await group.waitForAll()
    }
}

// MARK: - Metrics

let eventsPerSecond = BenchmarkMetric.custom("events/s", polarity: .prefersLarger, useScalingFactor: false)
let eventsPerCommit = BenchmarkMetric.custom("events/commit (x100)", polarity: .prefersLarger, useScalingFactor: false)
let commitsPerSecond = BenchmarkMetric.custom("commits/s", polarity: .prefersLarger, useScalingFactor: false)

let baseMetrics: [BenchmarkMetric] = [.throughput, .wallClock, .mallocCountTotal]

/// Crypto: one operation per iteration (tens of microseconds each, so timer overhead is noise).
var cryptoConfig: Benchmark.Configuration {
    .init(
        metrics: baseMetrics, timeUnits: .nanoseconds, units: [.throughput: .count],
        warmupIterations: 50, scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 100_000)
}

/// CBOR: 1,000 operations per iteration (sub-microsecond each), reported per operation.
var cborConfig: Benchmark.Configuration {
    .init(
        metrics: baseMetrics, timeUnits: .nanoseconds, units: [.throughput: .count],
        warmupIterations: 5, scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 10_000)
}

/// Appends: one iteration = `appenders` x `perAppender` durable appends, so `.throughput` there
/// counts iterations per second; the custom `events/s` metric is the figure to read.
func appendConfig(appenders: Int) -> Benchmark.Configuration {
    .init(
        metrics: baseMetrics + [eventsPerSecond, commitsPerSecond, eventsPerCommit],
        tags: ["appenders": "\(appenders)"],
        timeUnits: .milliseconds,
        units: [.throughput: .count, eventsPerSecond: .count, commitsPerSecond: .count, eventsPerCommit: .count],
        warmupIterations: 1, scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 1_000)
}

// MARK: - Benchmarks

let benchmarks: @Sendable () -> Void = {
    // The wrapper and the raw calls must produce the same deterministic (RFC 6979) signature.
    precondition(benchKey.sign(digest: rawDigest) == raw.compactSig)
    precondition(signedTypicalLabel.verify(with: benchPublicKey))

    // 1. Label signing (secp256k1): DAG-CBOR of the unsigned label, SHA-256, RFC 6979 low-S sign.
    Benchmark("label sign (secp256k1)", configuration: cryptoConfig) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(typicalLabel.signed(with: benchKey))
        }
    }

    // 2. Label verification (secp256k1): re-encode, SHA-256, verify against the cached parsed key.
    Benchmark("label verify (secp256k1)", configuration: cryptoConfig) { benchmark in
        let pub = benchPublicKey
        for _ in benchmark.scaledIterations {
            precondition(signedTypicalLabel.verify(with: pub))
        }
    }

    // 3a. Raw libsecp256k1 on a 32-byte digest: secp256k1_ecdsa_sign + serialize_compact.
    // (The closure body runs once per measured iteration, so everything it needs is prepared
    // beforehand in globals; only the library calls are inside the measurement.)
    Benchmark("raw libsecp256k1 sign (digest)", configuration: cryptoConfig) { benchmark in
        let r = raw
        rawDigest.withUnsafeBufferPointer { digest in
            r.secret.withUnsafeBufferPointer { secret in
                for _ in benchmark.scaledIterations {
                    let ok = secp256k1_ecdsa_sign(r.ctx, r.sigScratch, digest.baseAddress!, secret.baseAddress!, nil, nil)
                    _ = secp256k1_ecdsa_signature_serialize_compact(r.ctx, r.outScratch, r.sigScratch)
                    blackHole(ok)
                }
            }
        }
    }

    // 3b. Raw libsecp256k1 verify: parse_compact + secp256k1_ecdsa_verify on a parsed key.
    Benchmark("raw libsecp256k1 verify (digest)", configuration: cryptoConfig) { benchmark in
        let r = raw
        rawDigest.withUnsafeBufferPointer { digest in
            r.compactSig.withUnsafeBufferPointer { sig in
                for _ in benchmark.scaledIterations {
                    _ = secp256k1_ecdsa_signature_parse_compact(r.ctx, r.sigScratch, sig.baseAddress!)
                    precondition(secp256k1_ecdsa_verify(r.ctx, r.sigScratch, digest.baseAddress!, r.pubScratch) == 1)
                }
            }
        }
    }

    // 3c. The thin Swift wrappers over the same calls.
    Benchmark("SigningKey.sign(digest:)", configuration: cryptoConfig) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(benchKey.sign(digest: rawDigest))
        }
    }

    Benchmark("PublicKey.verify(signature:digest:)", configuration: cryptoConfig) { benchmark in
        let pub = benchPublicKey
        let sig = raw.compactSig  // the same deterministic signature SigningKey.sign(digest:) makes
        for _ in benchmark.scaledIterations {
            precondition(pub.verify(signature: sig, digest: rawDigest))
        }
    }

    // 4. DAG-CBOR.
    Benchmark("CBOR encode label (signedBytes)", configuration: cborConfig) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(signedTypicalLabel.signedBytes())
        }
    }

    Benchmark("CBOR encode generic map (CBOR.encoded)", configuration: cborConfig) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(genericMap.encoded())
        }
    }

    Benchmark("CBOR decode label (CBOR.decode + Label(cbor:))", configuration: cborConfig) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try! Label(cbor: CBOR.decode(signedTypicalLabelBytes)))
        }
    }

    Benchmark("CBOR decode generic map (CBOR.decode)", configuration: cborConfig) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try! CBOR.decode(genericMapBytes))
        }
    }

    // 5. Durable appends into the event log (group commit, fsync per commit).
    for (appenders, perAppender) in [(1, 1_000), (64, 160)] {
        let holder = FixtureHolder()
        Benchmark(
            "EventLog durable append",
            configuration: appendConfig(appenders: appenders)
        ) { benchmark in
            let f = holder.fixture!
            let before = f.log.stats
            let start = ContinuousClock.now
            benchmark.startMeasurement()
            do {
                try await runAppenders(f, appenders: appenders, perAppender: perAppender)
            } catch {
                benchmark.error("append failed: \(error)")
                return
            }
            benchmark.stopMeasurement()
            let elapsed = start.duration(to: .now)
            let after = f.log.stats
            let events = after.events - before.events
            let commits = after.commits - before.commits
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            benchmark.measurement(eventsPerSecond, Int((Double(events) / seconds).rounded()))
            benchmark.measurement(commitsPerSecond, Int((Double(commits) / seconds).rounded()))
            benchmark.measurement(eventsPerCommit, commits > 0 ? Int((Double(events) * 100 / Double(commits)).rounded()) : 0)
        } setup: {
            holder.fixture = try AppendFixture()
        } teardown: {
            if let f = holder.fixture {
                let s = f.log.stats
                let avg = s.commits > 0 ? Double(s.events) / Double(s.commits) : 0
                // Whole-run totals (warm-up included), on stderr so they show in `make bench` output.
                FileHandle.standardError.write(Data(
                    ("EventLog stats, \(appenders) appender(s): \(s.events) events in \(s.commits) commits, "
                        + "average batch \(String(format: "%.2f", avg)) events/commit, largest \(s.largestBatch), "
                        + "failed commits \(s.failedCommits)\n").utf8))
                f.close()
            }
            holder.fixture = nil
        }
    }
}

final class FixtureHolder: @unchecked Sendable {
    var fixture: AppendFixture?
}
