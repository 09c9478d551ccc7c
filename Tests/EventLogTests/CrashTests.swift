import Foundation
import LabelerTestSupport
import Testing

@testable import EventLog

/// A child process appends under load and is killed with SIGKILL; every append it saw
/// acknowledged must survive, with contiguous seqs and an intact hash chain.
struct CrashTests {
    @Test(arguments: [1, 2, 3])
    func acknowledgedAppendsSurviveSIGKILL(round: Int) async throws {
        let dir = TempDir()
        let binary = productsDirectory().appendingPathComponent("labeler")
        try #require(FileManager.default.fileExists(atPath: binary.path), "build the labeler first: \(binary.path)")

        var acknowledged: Set<UInt64> = []
        for _ in 0..<2 {  // two crashes into the same directory
            let process = Process()
            process.executableURL = binary
            process.arguments = ["debug", "append-load", "--data-dir", dir.path, "--concurrency", "32"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            // Let it run for a random while, then kill it mid-flight.
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...500) + round * 50))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            for line in output.split(separator: "\n") where line.hasPrefix("ack ") {
                if let seq = UInt64(line.dropFirst(4)) { acknowledged.insert(seq) }
            }
        }
        #expect(acknowledged.count > 100, "the child acknowledged too few appends to mean anything")

        let log = try EventLog(env: LMDBEnvironment(path: dir.path))
        defer { log.close() }
        let head = log.head
        #expect(acknowledged.max()! <= head)
        #expect(try log.reader.checkChain() == head)  // 1...head, no gap, chain intact
        let seqs = try log.readRaw(from: 1, limit: Int(head) + 10).map(\.0)
        #expect(seqs == Array(1...head))
        #expect(acknowledged.isSubset(of: Set(seqs)))
    }
}
