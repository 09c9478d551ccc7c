import Foundation
import LabelerTestSupport
import Testing

/// The real `labeler loop` executable: exit codes, what it prints, and where.
struct LoopBinaryTests {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `labeler loop ARGS` with only `environment` (and PATH) set, waiting off the
    /// cooperative pool (the labeler it talks to runs in this process).
    static func loop(_ args: [String], environment: [String: String]) async throws -> Result {
        let binary = productsDirectory().appendingPathComponent("labeler")
        try #require(FileManager.default.fileExists(atPath: binary.path), "build the labeler first: \(binary.path)")
        let dir = TempDir()
        let out = URL(fileURLWithPath: dir.path + "/out"), err = URL(fileURLWithPath: dir.path + "/err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = ["loop"] + args
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { a, _ in a }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        let status: Int32 = try await withCheckedThrowingContinuation { c in
            process.terminationHandler = { c.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { c.resume(throwing: error) }
        }
        return Result(
            status: status, stdout: try String(contentsOf: out, encoding: .utf8), stderr: try String(contentsOf: err, encoding: .utf8))
    }

    @Test func missingSettingsAreOneLineAndNothingRuns() async throws {
        let r = try await Self.loop(["--env", "dev"], environment: ["NOTIFY_BOT_HANDLE": "bot.test"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(lines.first?.hasPrefix("labeler loop: missing MODERATION_AUTH_TOKEN, NOTIFY_BOT_PASSWORD") == true, "\(r.stderr)")
    }

    @Test func pdsDownExitsNonZeroNamingTheBatchThatExists() async throws {
        try await LabelerFixture.run { l in
            try await l.flag(trackURI(3), trackId: 3, title: "t")
            try await FakeServer.run(trackAPI()) { tracks in
                let env = FakePDS.environment.merging(["MODERATION_AUTH_TOKEN": l.token, "NOTIFY_PDS_URL": refusingURL]) { $1 }
                let r = try await Self.loop(
                    ["--env", "dev", "--service-url", l.url, "--track-api", tracks.url, "--timeout", "5"], environment: env)
                #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
                let line = try #require(r.stderr.split(separator: "\n").first { $0.contains("review batch exists") })
                let link = try #require(line.components(separatedBy: "The review batch exists: ").last)
                #expect(line.contains("createSession") && line.contains("connection refused"))
                let id = try #require(link.components(separatedBy: "/admin/review/").last)
                #expect(link == "\(l.url)/admin/review/\(id)")
                #expect(try await l.batchURIs(id) == [trackURI(3)])
                #expect(r.stdout.contains("1. pending flags") && r.stdout.contains("summary") && r.stdout.contains("NOT notified"))
            }
        }
    }

    @Test func jsonPrintsOneDocumentAndTheStdoutNotice() async throws {
        try await LabelerFixture.run { l in
            try await l.flag(trackURI(1), trackId: 1, title: "t1")
            try await l.flag(trackURI(2), trackId: 2, title: "t2")
            try await FakeServer.run(trackAPI(deleted: [1])) { tracks in
                let r = try await Self.loop(
                    ["--env", "dev", "--service-url", l.url, "--track-api", tracks.url, "--json"],
                    environment: ["MODERATION_AUTH_TOKEN": l.token])
                #expect(r.status == 0, "\(r.stderr)")
                let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r.stdout)")
                #expect(doc["exit_code"] as? Int == 0 && doc["dry_run"] as? Bool == false && doc["pending"] as? Int == 2)
                let flags = doc["flags"] as! [[String: Any]]
                #expect(flags.map { $0["action"] as? String } == ["resolved", "batched"])
                #expect(flags[0]["resolution"] as? String == "content_deleted")
                let batch = try #require(doc["batch"] as? [String: Any])
                let note = try #require((doc["notifications"] as? [[String: Any]])?.first)
                #expect(note["destination"] as? String == "standard output" && note["delivered"] as? Bool == true)
                #expect((note["text"] as? String)?.hasSuffix(batch["url"] as! String) == true)
            }
        }
    }

    @Test func aLabelerThatCannotBeReachedIsExitThree() async throws {
        let r = try await Self.loop(["--service-url", refusingURL, "--track-api", refusingURL], environment: ["MODERATION_AUTH_TOKEN": "k"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("listing pending flags: the labeler at \(refusingURL) is unreachable"), "\(r.stderr)")
    }
}
