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
        var report = LoopReport(
            env: settings.env, dryRun: settings.dryRun, serviceURL: settings.serviceURL, trackAPI: settings.trackAPI,
            analyzers: analyzers.map(\.name), notifiers: notifiers.map(\.destination))
        let dry = settings.dryRun
        func warn(_ w: String) {
            report.warnings.append(w)
            observe(.warning(w))
        }
        func fail(_ e: String) {
            report.errors.append(e)
            report.exitCode = max(report.exitCode, LoopExit.actionFailed)
            observe(.line(.failed, uri: nil, e))
        }

        // 1. Pending flags.
        observe(.step(1, "pending flags"))
        var flags: [PendingFlag]
        do { flags = try await labeler.pendingFlags() } catch {
            report.errors.append(error.description)
            report.exitCode = LoopExit.labelerUnavailable
            observe(.line(.failed, uri: nil, error.description))
            return report
        }
        report.pending = flags.count
        observe(.line(.info, uri: nil, "\(flags.count) pending"))
        // Flags already waiting in an unreviewed batch were triaged by an earlier run: a human has the link.
        let waiting = flags.filter { $0.reviewBatch != nil }
        if !waiting.isEmpty {
            flags.removeAll { $0.reviewBatch != nil }
            report.awaitingReview = waiting.count
            let batches = Set(waiting.compactMap(\.reviewBatch)).sorted()
            observe(.line(.info, uri: nil, "\(waiting.count) already waiting in review batch\(batches.count == 1 ? "" : "es") "
                + batches.joined(separator: ", ") + ": not processed again"))
        }
        if let limit = settings.limit, flags.count > limit {
            flags = Array(flags.prefix(limit))
            observe(.line(.info, uri: nil, "processing the oldest \(flags.count) (--limit)"))
        }
        report.flags = flags.map { FlagOutcome(uri: $0.uri, trackId: $0.trackId) }
        guard !flags.isEmpty else { return report }
        func index(_ uri: String) -> Int { report.flags.firstIndex { $0.uri == uri }! }

        // 2. Deleted tracks.
        observe(.step(2, "deleted tracks (\(settings.trackAPI))"))
        var failuresInARow = 0
        for (i, flag) in flags.enumerated() {
            let check: TrackCheck
            if let id = flag.trackId {
                if failuresInARow >= TrackAPI.giveUpAfter {
                    check = .skipped("not checked: the track API failed \(TrackAPI.giveUpAfter) times in a row")
                } else {
                    check = await tracks.check(trackId: id)
                    if case .unreachable = check { failuresInARow += 1 } else { failuresInARow = 0 }
                }
            } else {
                check = .noTrackId
            }
            report.flags[i].track = check
            let mark: LoopEvent.Mark = switch check {
            case .deleted: .deleted
            case .exists, .noTrackId: .ok
            default: .kept
            }
            observe(.line(mark, uri: flag.uri, (flag.trackId.map { "track \($0): " } ?? "") + check.summary))
        }
        let checks = report.flags.compactMap(\.track)
        var remaining = flags
        if checks.contains(.deleted) {
            if DeletionGuard.trust(checks) {
                for flag in flags where report.flags[index(flag.uri)].track == .deleted {
                    remaining.removeAll { $0.uri == flag.uri }
                    let notes = "moderation loop: track \(flag.trackId!) no longer exists (\(settings.trackAPI) answered 404)"
                    if let e = await resolve(flag.uri, "content_deleted", notes, &report) { fail(e) }
                }
            } else {
                warn("the track API answered 404 for every one of the \(checks.filter(\.isDeleted).count) tracks it was asked about: "
                    + "the URL is probably wrong (check --track-api / TRACK_API_URL); none resolved as deleted")
            }
        }

        // 3. Analysis.
        observe(.step(3, "analysis (\(analyzers.map(\.name).joined(separator: ", then ")))"))
        var undecided = remaining
        var verdicts: [String: Verdict] = [:]
        for analyzer in analyzers where !undecided.isEmpty {
            let (vs, warnings) = await analyzer.analyze(undecided)
            for w in warnings { warn(w) }
            let asked = Set(undecided.map(\.uri))
            for v in vs where asked.contains(v.uri) && verdicts[v.uri] == nil { verdicts[v.uri] = v }
            undecided.removeAll { verdicts[$0.uri] != nil }
        }
        let why = analyzers.count == 1
            ? "no rule is certain, and no LLM analyzer is configured (ANTHROPIC_API_KEY)" : "no analyzer was certain"
        for flag in undecided {
            verdicts[flag.uri] = Verdict(uri: flag.uri, category: .needsHuman, reason: why, analyzer: analyzers.last?.name ?? "none")
        }
        for flag in remaining {
            let v = verdicts[flag.uri]!
            report.flags[index(flag.uri)].verdict = v
            let mark: LoopEvent.Mark = switch v.category {
            case .falsePositive: .falsePositive
            case .violation: .violation
            case .needsHuman: .needsHuman
            }
            observe(.line(mark, uri: flag.uri, "\(v.category.rawValue) (\(v.analyzer)): \(v.reason)"))
        }

        // 4. False positives.
        let cleared = remaining.filter { verdicts[$0.uri]!.category == .falsePositive }
        observe(.step(4, "false positives"))
        if cleared.isEmpty { observe(.line(.info, uri: nil, "none")) }
        for flag in cleared {
            let v = verdicts[flag.uri]!
            if let e = await resolve(flag.uri, v.resolution!, "moderation loop (\(v.analyzer)): \(v.reason)", &report) { fail(e) }
        }

        // 5. Review batch and notification.
        observe(.step(5, "review batch"))
        let review = remaining.filter { verdicts[$0.uri]!.category != .falsePositive }.map(\.uri)
        guard !review.isEmpty else {
            observe(.line(.info, uri: nil, "nothing needs review"))
            return report
        }
        let destinations = notifiers.map(\.destination).joined(separator: " and ")
        if dry {
            for u in review { report.flags[index(u)].action = .wouldBatch }
            observe(.line(.batch, uri: nil, "would create a review batch of \(review.count) flag(s) and notify \(destinations)"))
            return report
        }
        let batch: LabelerAPI.Batch
        do {
            batch = try await createBatch(review)
        } catch {
            for u in review { report.flags[index(u)].action = .failed; report.flags[index(u)].error = error.description }
            fail(error.description)
            return report
        }
        let link = labeler.link(batch)
        report.batch = batch
        report.batchURL = link
        let inBatch = Set(batch.uris ?? review)
        for u in review {
            report.flags[index(u)].action = inBatch.contains(u) ? .batched : .failed
            if !inBatch.contains(u) { report.flags[index(u)].error = "no longer pending when the batch was created" }
        }
        observe(.line(.batch, uri: nil, "batch \(batch.id): \(batch.flagCount) flag(s) → \(link)"))
        let violations = review.filter { inBatch.contains($0) && verdicts[$0]!.category == .violation }.count
        let notice = ReviewNotice(
            env: settings.env, batchId: batch.id, url: link, flagCount: batch.flagCount, violations: violations,
            needsHuman: batch.flagCount - violations)
        for notifier in notifiers {
            do {
                try await notifier.send(notice)
                report.notifications.append(.init(destination: notifier.destination, text: notice.text, delivered: true))
                observe(.line(.notified, uri: nil, "notified \(notifier.destination)"))
            } catch {
                report.notifications.append(.init(destination: notifier.destination, text: notice.text, delivered: false, error: error.description))
                fail("notification failed: \(error.description). The review batch exists: \(link)")
            }
        }
        return report
    }

    /// Resolves one flag (or says it would); answers the error, if any.
    func resolve(_ uri: String, _ reason: String, _ notes: String, _ report: inout LoopReport) async -> String? {
        let i = report.flags.firstIndex { $0.uri == uri }!
        report.flags[i].resolution = reason
        if settings.dryRun {
            report.flags[i].action = .wouldResolve
            observe(.line(.resolved, uri: uri, "would resolve as \(reason)"))
            return nil
        }
        do {
            try await labeler.resolve(uri: uri, reason: reason, notes: notes)
            report.flags[i].action = .resolved
            observe(.line(.resolved, uri: uri, "resolved as \(reason)"))
            return nil
        } catch {
            report.flags[i].action = .failed
            report.flags[i].error = error.description
            return error.description
        }
    }

    /// A flag resolved by someone else since step 1 makes the labeler refuse the whole batch:
    /// then the pending list is read again and the batch made of what is still pending.
    func createBatch(_ uris: [String]) async throws(LabelerAPI.Failure) -> LabelerAPI.Batch {
        do {
            var b = try await labeler.createBatch(uris: uris, createdBy: Self.createdBy)
            b.uris = uris
            return b
        } catch where error.status == 400 {
            let still = Set(try await labeler.pendingFlags().map(\.uri))
            let open = uris.filter(still.contains)
            guard !open.isEmpty, open.count < uris.count else { throw error }
            observe(.warning("\(uris.count - open.count) flag(s) were resolved by someone else meanwhile; batching the other \(open.count)"))
            var b = try await labeler.createBatch(uris: open, createdBy: Self.createdBy)
            b.uris = open
            return b
        }
    }
}

import AsyncHTTPClient
