import ArgumentParser
import AsyncHTTPClient
import Foundation
import ModerationLoop

extension LoopEnvironment: ExpressibleByArgument {}

/// `labeler loop`: one pass of automated triage over a running labeler's admin API.
struct LoopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loop",
        abstract: "Triage pending copyright flags: resolve deleted tracks and false positives, batch the rest for review.",
        discussion: """
            Steps: 1. fetch pending flags; 2. flags whose track the track API answers 404 for are resolved as \
            content_deleted (any other answer keeps the flag); 3. the rules, then Claude when ANTHROPIC_API_KEY is set, \
            classify the rest as FALSE_POSITIVE, VIOLATION or NEEDS_HUMAN; 4. false positives are resolved; \
            5. violations and unsure flags go into one review batch, whose link is sent by Bluesky DM, webhook or \
            standard output.

            Environment: MODERATION_AUTH_TOKEN (required), MODERATION_SERVICE_URL, TRACK_API_URL, ANTHROPIC_API_KEY, \
            ANTHROPIC_MODEL (default \(LoopSettings.defaultModel)), ANTHROPIC_BASE_URL, NOTIFY_BOT_HANDLE, \
            NOTIFY_BOT_PASSWORD, NOTIFY_RECIPIENT_HANDLE, NOTIFY_PDS_URL (default \(LoopSettings.defaultPDS)), \
            NOTIFY_WEBHOOK_URL. Flags win over the environment, which wins over the --env defaults: \
            dev = \(LoopEnvironment.dev.defaultServiceURL) + \(LoopEnvironment.dev.defaultTrackAPI); \
            staging = \(LoopEnvironment.staging.defaultServiceURL) + \(LoopEnvironment.staging.defaultTrackAPI); \
            prod = \(LoopEnvironment.prod.defaultServiceURL) + \(LoopEnvironment.prod.defaultTrackAPI).

            Exit codes: 0 done; 1 an action failed (a resolve, the batch or the notification; the message says \
            which, and names the batch if it exists); 2 missing or invalid settings, nothing ran; 3 the labeler \
            could not be read, nothing changed.
            """)

    @Flag(help: "Read and analyze only: resolve nothing, create no batch, send nothing; say what would be done.")
    var dryRun = false
    @Option(help: "Process at most this many pending flags.") var limit: Int?
    @Option(help: "dev, staging or prod: picks the default URLs and the notification tag.") var env: LoopEnvironment = .prod
    @Option(name: .customLong("service-url"), help: "The labeler (default: MODERATION_SERVICE_URL, else the --env default).")
    var serviceURL: String?
    @Option(name: .customLong("track-api"), help: "The plyr.fm API asked for /tracks/{id} (default: TRACK_API_URL, else the --env default).")
    var trackAPI: String?
    @Option(help: "Seconds any one outside request may take (default: labeler 30, tracks 10, notify 15, Anthropic 120).")
    var timeout: Int?
    @Flag(help: "Print one JSON document describing the run instead of the step-by-step text.") var json = false

    func run() async throws {
        let settings: LoopSettings
        do {
            if let t = timeout, t < 1 { throw SettingsError(missing: [], invalid: ["--timeout must be at least 1 second"]) }
            settings = try LoopSettings.resolve(
                environment: ProcessInfo.processInfo.environment, env: env, serviceURL: serviceURL, trackAPI: trackAPI,
                dryRun: dryRun, limit: limit, timeouts: timeout.map { .init(all: .seconds($0)) } ?? .init())
        } catch {
            printErr("labeler loop: \(error)")
            throw ExitCode(LoopExit.settings)
        }

        // In --json mode stdout carries the document alone (the notice is in it).
        let out: @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
        let quiet: @Sendable (String) -> Void = { _ in }
        let notice: @Sendable (String) -> Void = { out("   " + $0.replacingOccurrences(of: "\n", with: "\n   ")) }
        let color = !json && isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        let text = TextReporter(color: color, write: json ? quiet : out)
        let client = HTTPClient.forLoop()
        let runner = LoopRunner(settings: settings, client: client, stdout: json ? quiet : notice, observe: text.observer)
        text.header(runner)
        let report = await runner.run()
        try? await client.shutdown()

        if json { out(report.json()) } else { text.summary(report) }
        for e in report.errors { printErr("labeler loop: \(e)") }
        if report.exitCode != LoopExit.ok { throw ExitCode(report.exitCode) }
    }
}
