import AsyncHTTPClient
import Foundation
import ModerationLoop
import Synchronization

/// Runs the loop in-process against the given services, capturing what it prints.
struct LoopRun {
    let report: LoopReport
    let output: [String]
    var text: String { output.joined(separator: "\n") }

    static func run(
        labeler: LabelerFixture, tracks: String, environment: [String: String] = [:], dryRun: Bool = false, limit: Int? = nil,
        token: String? = nil, env runEnv: LoopEnvironment = .dev, serviceURL: String? = nil
    ) async throws -> LoopRun {
        var env = environment
        env["MODERATION_AUTH_TOKEN"] = token ?? labeler.token
        let settings = try LoopSettings.resolve(
            environment: env, env: runEnv, serviceURL: serviceURL ?? labeler.url, trackAPI: tracks, dryRun: dryRun, limit: limit,
            timeouts: .init(all: .seconds(5)))
        let lines = Mutex<[String]>([])
        let write: @Sendable (String) -> Void = { s in lines.withLock { $0.append(s) } }
        let text = TextReporter(color: false, write: write)
        let client = HTTPClient.forLoop()
        let runner = LoopRunner(settings: settings, client: client, stdout: write, observe: text.observer)
        text.header(runner)
        let report = await runner.run()
        text.summary(report)
        try await client.shutdown()
        return LoopRun(report: report, output: lines.withLock { $0 })
    }

    func flag(_ uri: String) -> FlagOutcome { report.flags.first { $0.uri == uri }! }
}

/// A track of the dev deployment (the harness runs `--env dev`).
func trackURI(_ n: Int) -> String { trackURI(n, collection: "fm.plyr.dev.track") }

/// `fm.plyr.track` is production, `fm.plyr.stg.track` staging, `fm.plyr.dev.track` dev.
func trackURI(_ n: Int, collection: String) -> String { "at://did:plc:uploader\(n)/\(collection)/3kloop\(n)" }
