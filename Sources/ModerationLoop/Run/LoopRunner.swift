import AsyncHTTPClient

/// One pass of the moderation loop:
/// 1. fetch pending flags (`--limit` caps how many are processed);
/// 2. resolve flags whose track the track API answers 404 for as `content_deleted`;
/// 3. classify the rest: the rules, then the LLM (when configured) for what the rules left;
/// 4. resolve false positives (the rule's reason, else `fingerprint_noise`; notes carry why);
/// 5. put violations and unsure flags into one review batch and send its link.
/// A dry run does steps 1–3 (reads only) and says what 2, 4 and 5 would do.
public struct LoopRunner: Sendable {
    public let settings: LoopSettings
    let labeler: LabelerAPI
    let tracks: TrackAPI
    let analyzers: [any Analyzer]
    let notifiers: [any Notifier]
    let observe: LoopObserver
    public static let createdBy = "moderation-loop"

    public var analyzerNames: [String] { analyzers.map(\.name) }
    public var notifierDestinations: [String] { notifiers.map(\.destination) }

    public init(
        settings: LoopSettings, labeler: LabelerAPI, tracks: TrackAPI, analyzers: [any Analyzer], notifiers: [any Notifier],
        observe: @escaping LoopObserver
    ) {
        self.settings = settings
        self.labeler = labeler
        self.tracks = tracks
        self.analyzers = analyzers
        self.notifiers = notifiers
        self.observe = observe
    }

    /// The runner the settings describe: rules first, Claude when `ANTHROPIC_API_KEY` is set;
    /// a Bluesky DM and/or a webhook, else `stdout`.
    public init(settings: LoopSettings, client: HTTPClient, stdout: @escaping @Sendable (String) -> Void, observe: @escaping LoopObserver) {
        let t = settings.timeouts
        var analyzers: [any Analyzer] = [RuleAnalyzer()]
        if let a = settings.anthropic { analyzers.append(AnthropicAnalyzer(settings: a, http: HTTPExchange(client: client, timeout: t.anthropic))) }
        var notifiers: [any Notifier] = []
        if let b = settings.bluesky { notifiers.append(BlueskyDMNotifier(settings: b, http: HTTPExchange(client: client, timeout: t.notify))) }
        if let w = settings.webhookURL { notifiers.append(WebhookNotifier(url: w, http: HTTPExchange(client: client, timeout: t.notify))) }
        if notifiers.isEmpty { notifiers.append(StdoutNotifier(write: stdout)) }
        self.init(
            settings: settings,
            labeler: LabelerAPI(baseURL: settings.serviceURL, token: settings.authToken, http: HTTPExchange(client: client, timeout: t.labeler)),
            tracks: TrackAPI(baseURL: settings.trackAPI, http: HTTPExchange(client: client, timeout: t.tracks)),
            analyzers: analyzers, notifiers: notifiers, observe: observe)
    }

    public func run() async -> LoopReport {
        var run = RunState(
            report: LoopReport(
                env: settings.env, dryRun: settings.dryRun, serviceURL: settings.serviceURL, trackAPI: settings.trackAPI,
                analyzers: analyzerNames, notifiers: notifierDestinations),
            observe: observe)
        guard let flags = await fetch(&run) else { return run.report }
        await announceAgain(&run)
        guard !flags.isEmpty else { return run.report }
        let remaining = await resolveDeleted(flags, &run)
        let verdicts = await analyze(remaining, &run)
        await resolveFalsePositives(remaining.filter { verdicts[$0.uri]!.category == .falsePositive }, verdicts, &run)
        await review(remaining.filter { verdicts[$0.uri]!.category != .falsePositive }.map(\.uri), verdicts, &run)
        return run.report
    }
}

/// The report as the steps fill it in, and how they tell the observer.
struct RunState {
    var report: LoopReport
    let observe: LoopObserver
    /// Pending batches some pending flags wait in (step 1).
    var waitingBatches: [String] = []

    mutating func warn(_ w: String) {
        report.warnings.append(w)
        observe(.warning(w))
    }

    mutating func fail(_ e: String, exitCode: Int32 = LoopExit.actionFailed) {
        report.errors.append(e)
        report.exitCode = max(report.exitCode, exitCode)
        observe(.line(.failed, uri: nil, e))
    }

    mutating func update(_ uri: String, _ change: (inout FlagOutcome) -> Void) {
        if let i = report.flags.firstIndex(where: { $0.uri == uri }) { change(&report.flags[i]) }
    }
}
