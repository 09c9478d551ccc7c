import ArgumentParser
import EventLog
import Foundation
import LabelerCore

/// Tools for tests and benchmarks; not part of operating a labeler.
struct DebugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Test and benchmark helpers.", shouldDisplay: false,
        subcommands: [AppendLoad.self])

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
