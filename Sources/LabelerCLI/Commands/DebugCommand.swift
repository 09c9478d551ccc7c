import ArgumentParser
import EventLog
import Foundation
import LabelerCore
import LabelerServer

/// Tools for tests and benchmarks; not part of operating a labeler.
struct DebugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Test and benchmark helpers.", shouldDisplay: false,
        subcommands: [AppendLoad.self, Generate.self, ScanSim.self, VerifyRate.self])

    /// Appends events from many tasks until killed, printing `ack <seq>` for every durable append
    /// (the crash test kills it with SIGKILL and checks that every printed seq survived).
    struct AppendLoad: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "append-load")
        @OptionGroup var data: DataDirOption
        @Option var concurrency = 16
        @Option(help: "Stop after this many events (0 = until killed).") var count = 0

        func run() async throws {
            let log = try EventLog(env: LMDBEnvironment(path: data.dataDir))
            let out = FileHandle.standardOutput
            let lock = NSLock()
            let total = count
            try await withThrowingTaskGroup(of: Void.self) { group in
                for t in 0..<concurrency {
                    group.addTask {
                        var i = 0
                        while total == 0 || i < total / concurrency {
                            let e = TrackContextAttached(uri: "at://did:plc:load/fm.plyr.track/\(t)-\(i)", trackId: Int64(i))
                            let seq = try await log.append(e.event(actor: .system))
                            lock.withLock { out.write(Data("ack \(seq)\n".utf8)) }
                            i += 1
                        }
                    }
                }
                try await group.waitForAll()
            }
            log.close()
        }
    }
}

extension DebugCommand {
    /// Writes a synthetic log (identity + label events over many subjects, some negations and
    /// context) for benchmarks of rebuild, verify, queries and streams.
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "generate")
        @OptionGroup var data: DataDirOption
        @Option var events = 100_000
        @Option(help: "Hex secp256k1 key to sign with (default: a new one, written to signing-key).") var keyHex: String?
        @Option var did = "did:web:labeler.example.com"

        func run() async throws {
            let key = try keyHex.map { try SigningKey(hex: $0) } ?? SigningKey.generate()
            let log = try EventLog(env: LMDBEnvironment(path: data.dataDir))
            defer { log.close() }
            guard log.head == 0 else { throw ValidationError("\(data.dataDir) is not empty") }
            if keyHex == nil { try SecretFile.write(ServerConfig.keyPath(data.dataDir), key.hex) }
            try await log.append(LabelerIdentified(did: did, signingKey: key.publicKey.didKey).event(actor: .system))
            let cts = Datetime.now()
            var n = 1
            let start = Date()
            while n < events {
                let count = min(2000, events - n)
                let base = n
                // Sign in parallel, append as one batch.
                let batch: [NewEvent] = await withTaskGroup(of: [NewEvent].self) { group in
                    let workers = 4
                    for w in 0..<workers {
                        group.addTask {
                            var out: [NewEvent] = []
                            var i = w
                            while i < count {
                                let k = base + i
                                let subject = "at://did:plc:artist\(k % 5000)/fm.plyr.track/3k\(k)"
                                if k % 10 == 7 {
                                    out.append(TrackContextAttached(uri: subject, trackId: Int64(k), trackTitle: "Track \(k)").event(actor: .scanner))
                                } else {
                                    let l = Label(src: did, uri: k % 20 == 3 ? "at://did:plc:artist\((k - 3) % 5000)/fm.plyr.track/3k\(k - 3)" : subject,
                                                  val: k % 3 == 0 ? "spam" : "copyright-violation", neg: k % 20 == 3 ? true : nil, cts: cts)
                                    out.append(LabelApplied(label: l.signed(with: key)).event(actor: .admin()))
                                }
                                i += workers
                            }
                            return out
                        }
                    }
                    var all: [NewEvent] = []
                    for await part in group { all += part }
                    return all
                }
                try await log.append(batch)
                n += count
            }
            print("generated \(n) events in \(String(format: "%.1f", Date().timeIntervalSince(start))) s; head \(log.head)")
            print("the read models are not built: `labeler replay rebuild` or `labeler serve` builds them")
        }
    }
}

extension DebugCommand {
    /// The raw libsecp256k1 verification rate (one 32-byte digest, compact signature) on N threads,
    /// the yardstick of `replay verify`'s labels/s; run it next to a verify to compare under the
    /// same machine load.
    struct VerifyRate: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "verify-rate")
        @Option var threads = ProcessInfo.processInfo.activeProcessorCount
        @Option var seconds = 3.0

        func run() throws {
            let key = SigningKey.generate()
            let digest = SHA256.hash(Array("verify-rate".utf8))
            let signature = key.sign(digest: digest)
            let pub = key.publicKey
            let deadline = Date().addingTimeInterval(seconds)
            let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: threads)
            defer { counts.deallocate() }
            nonisolated(unsafe) let out = counts
            let start = Date()
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                var n = 0
                while true {
                    for _ in 0..<100 { precondition(pub.verify(signature: signature, digest: digest)) }
                    n += 100
                    if Date() >= deadline { break }
                }
                out[t] = n
            }
            let elapsed = Date().timeIntervalSince(start)
            let total = counts.reduce(0, +)
            print(String(format: "raw verify: %d threads, %.0f verifications/s (%.0f per thread)", threads,
                         Double(total) / elapsed, Double(total) / elapsed / Double(threads)))
        }
    }
}
