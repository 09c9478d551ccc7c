extension LoopRunner {
    /// 1. Pending flags, oldest first, without those already waiting in a review batch, capped by `--limit`.
    func fetch(_ run: inout RunState) async -> [PendingFlag]? {
        observe(.step(1, "pending flags"))
        var flags: [PendingFlag]
        do { flags = try await labeler.pendingFlags() } catch {
            run.fail(error.description, exitCode: LoopExit.labelerUnavailable)
            return nil
        }
        run.report.pending = flags.count
        observe(.line(.info, uri: nil, "\(flags.count) pending"))
        // Another deployment's flags: its track API, not ours, can say whether the track exists.
        let env = settings.env
        let foreign = flags.filter { LoopEnvironment.of(uri: $0.uri) != env }
        if !foreign.isEmpty {
            flags.removeAll { LoopEnvironment.of(uri: $0.uri) != env }
            run.report.skipped = foreign.map { f in
                let other = LoopEnvironment.of(uri: f.uri)?.rawValue ?? "not a plyr.fm record"
                return .init(uri: f.uri, reason: "other environment (\(other))")
            }
            let byEnv = Dictionary(grouping: foreign) { LoopEnvironment.of(uri: $0.uri)?.rawValue ?? "not plyr.fm" }
                .map { "\($0.value.count) \($0.key)" }.sorted()
            observe(.line(.info, uri: nil, "\(foreign.count) of another environment skipped (\(byEnv.joined(separator: ", "))): "
                + "this run is --env \(env.rawValue)"))
        }
        // Triaged by an earlier run and not reviewed yet: a human already has the link.
        let waiting = flags.filter { $0.reviewBatch != nil }
        if !waiting.isEmpty {
            flags.removeAll { $0.reviewBatch != nil }
            run.report.awaitingReview = waiting.count
            let batches = Set(waiting.compactMap(\.reviewBatch)).sorted()
            run.waitingBatches = batches
            observe(.line(.info, uri: nil, "\(waiting.count) already waiting in review batch\(batches.count == 1 ? "" : "es") "
                + batches.map(labeler.link(batchId:)).joined(separator: ", ") + ": not processed again"))
        }
        if let limit = settings.limit, flags.count > limit {
            flags = Array(flags.prefix(limit))
            observe(.line(.info, uri: nil, "processing the oldest \(flags.count) (--limit)"))
        }
        run.report.flags = flags.map { FlagOutcome(uri: $0.uri, trackId: $0.trackId) }
        return flags
    }

    /// 2. Asks the track API about every flag with a track id; resolves the 404s as
    /// `content_deleted` unless the guard doubts them. Answers the flags left to analyze.
    func resolveDeleted(_ flags: [PendingFlag], _ run: inout RunState) async -> [PendingFlag] {
        observe(.step(2, "deleted tracks (\(settings.trackAPI))"))
        var checks: [String: TrackCheck] = [:]
        var failuresInARow = 0
        for flag in flags {
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
            checks[flag.uri] = check
            run.update(flag.uri) { $0.track = check }
            let mark: LoopEvent.Mark = switch check {
            case .deleted: .deleted
            case .exists, .noTrackId: .ok
            default: .kept
            }
            observe(.line(mark, uri: flag.uri, (flag.trackId.map { "track \($0): " } ?? "") + check.summary))
        }
        let deleted = flags.filter { checks[$0.uri] == .deleted }
        guard !deleted.isEmpty else { return flags }
        guard DeletionGuard.trust(Array(checks.values)) else {
            run.warn("the track API answered 404 for every one of the \(deleted.count) tracks it was asked about: "
                + "the URL is probably wrong (check --track-api / TRACK_API_URL); none resolved as deleted")
            return flags
        }
        for flag in deleted {
            let notes = "moderation loop: track \(flag.trackId!) no longer exists (\(settings.trackAPI) answered 404)"
            await resolve(flag.uri, "content_deleted", notes, &run)
        }
        return flags.filter { checks[$0.uri] != .deleted }
    }

    /// 3. Each analyzer in turn gets the flags the ones before left undecided; what none decides
    /// goes to a human.
    func analyze(_ flags: [PendingFlag], _ run: inout RunState) async -> [String: Verdict] {
        observe(.step(3, "analysis (\(analyzerNames.joined(separator: ", then ")))"))
        var undecided = flags
        var verdicts: [String: Verdict] = [:]
        for analyzer in analyzers where !undecided.isEmpty {
            let (vs, warnings) = await analyzer.analyze(undecided)
            for w in warnings { run.warn(w) }
            let asked = Set(undecided.map(\.uri))
            for v in vs where asked.contains(v.uri) && verdicts[v.uri] == nil { verdicts[v.uri] = v }
            undecided.removeAll { verdicts[$0.uri] != nil }
        }
        let why = analyzers.count == 1
            ? "no rule is certain, and no LLM analyzer is configured (ANTHROPIC_API_KEY)" : "no analyzer was certain"
        for flag in undecided {
            verdicts[flag.uri] = Verdict(uri: flag.uri, category: .needsHuman, reason: why, analyzer: analyzers.last?.name ?? "none")
        }
        for flag in flags {
            let v = verdicts[flag.uri]!
            run.update(flag.uri) { $0.verdict = v }
            let mark: LoopEvent.Mark = switch v.category {
            case .falsePositive: .falsePositive
            case .violation: .violation
            case .needsHuman: .needsHuman
            }
            observe(.line(mark, uri: flag.uri, "\(v.category.rawValue) (\(v.analyzer)): \(v.reason)"))
        }
        return verdicts
    }

    /// 4. Resolves false positives with the analyzer's resolution reason; the notes say who and why.
    func resolveFalsePositives(_ flags: [PendingFlag], _ verdicts: [String: Verdict], _ run: inout RunState) async {
        observe(.step(4, "false positives"))
        if flags.isEmpty { observe(.line(.info, uri: nil, "none")) }
        for flag in flags {
            let v = verdicts[flag.uri]!
            await resolve(flag.uri, v.resolution!, "moderation loop (\(v.analyzer)): \(v.reason)", &run)
        }
    }

    /// 5. One review batch of violations and unsure flags, and its link to every notifier.
    func review(_ uris: [String], _ verdicts: [String: Verdict], _ run: inout RunState) async {
        observe(.step(5, "review batch"))
        guard !uris.isEmpty else {
            observe(.line(.info, uri: nil, "nothing needs review"))
            return
        }
        if settings.dryRun {
            for u in uris { run.update(u) { $0.action = .wouldBatch } }
            observe(.line(.batch, uri: nil,
                "would create a review batch of \(uris.count) flag(s) and notify \(notifierDestinations.joined(separator: " and "))"))
            return
        }
        let batch: LabelerAPI.Batch
        do { batch = try await createBatch(uris) } catch where error.status == 409 {
            // Another run of the loop batched every one of them meanwhile: its batch, its notice.
            for u in uris { run.update(u) { $0.action = .batchedElsewhere } }
            observe(.warning("all \(uris.count) flag(s) were put in a review batch by another run meanwhile: nothing to batch or notify (\(error.description))"))
            return
        } catch {
            for u in uris { run.update(u) { $0.action = .failed; $0.error = error.description } }
            run.fail(error.description)
            return
        }
        let link = labeler.link(batch)
        run.report.batch = batch
        run.report.batchURL = link
        let elsewhere = Set(batch.skipped ?? [])
        let inBatch = Set(batch.uris ?? uris).subtracting(elsewhere)
        for u in uris {
            let included = inBatch.contains(u)
            run.update(u) {
                $0.action = included ? .batched : elsewhere.contains(u) ? .batchedElsewhere : .failed
                if !included && !elsewhere.contains(u) { $0.error = "no longer pending when the batch was created" }
            }
        }
        if !elsewhere.isEmpty {
            observe(.warning("\(elsewhere.count) flag(s) were put in a review batch by another run meanwhile: left out of this one"))
        }
        observe(.line(.batch, uri: nil, "batch \(batch.id): \(batch.flagCount) flag(s) → \(link)"))
        let violations = uris.filter { inBatch.contains($0) && verdicts[$0]?.category == .violation }.count
        let notice = ReviewNotice(
            env: settings.env, batchId: batch.id, url: link, flagCount: batch.flagCount, violations: violations,
            needsHuman: batch.flagCount - violations)
        await announce(notice, &run)
    }

    /// Sends a batch's notice to every notifier, then tells the labeler where it arrived; a batch
    /// with no delivered notice stays unannounced, and a later run sends it again.
    func announce(_ notice: ReviewNotice, _ run: inout RunState) async {
        var delivered: [String] = []
        for notifier in notifiers {
            do {
                try await notifier.send(notice)
                delivered.append(notifier.destination)
                run.report.notifications.append(
                    .init(destination: notifier.destination, text: notice.text, delivered: true, resent: notice.resent))
                observe(.line(.notified, uri: nil, "notified \(notifier.destination)" + (notice.resent ? " (sent again)" : "")))
            } catch {
                run.report.notifications.append(
                    .init(destination: notifier.destination, text: notice.text, delivered: false, error: error.description, resent: notice.resent))
                run.fail("notification failed: \(error.description)." + (notice.resent ? "" : " The next run sends its notice again.")
                    + " The review batch exists: \(notice.url)")
            }
        }
        guard !delivered.isEmpty else { return }
        do { try await labeler.announced(batchId: notice.batchId, destinations: delivered) } catch {
            run.warn("the notice of batch \(notice.batchId) arrived, but the labeler did not record it (\(error.description)): a later run may send it again")
        }
    }

    /// Batches this loop made earlier whose notice never arrived (the PDS or webhook was down):
    /// their link is sent again, so no batch waits unseen.
    func announceAgain(_ run: inout RunState) async {
        for id in run.waitingBatches {
            let info: LabelerAPI.BatchInfo
            do { info = try await labeler.batch(id) } catch {
                run.warn("could not read review batch \(id): \(error.description)")
                continue
            }
            guard info.createdBy == Self.createdBy, info.status == "pending", info.announcedAt == nil, info.undecided > 0 else { continue }
            let link = labeler.link(batchId: id)
            if settings.dryRun {
                observe(.line(.batch, uri: nil, "would send again the notice of batch \(id) (\(info.undecided) waiting), which never arrived: \(link)"))
                continue
            }
            observe(.line(.batch, uri: nil, "batch \(id) (\(info.undecided) waiting) was never announced: sending its link again"))
            let notice = ReviewNotice(
                env: settings.env, batchId: id, url: link, flagCount: info.undecided, violations: 0, needsHuman: info.undecided, resent: true)
            await announce(notice, &run)
        }
    }

    /// Resolves one flag (or, in a dry run, says it would).
    func resolve(_ uri: String, _ reason: String, _ notes: String, _ run: inout RunState) async {
        run.update(uri) { $0.resolution = reason }
        if settings.dryRun {
            run.update(uri) { $0.action = .wouldResolve }
            observe(.line(.resolved, uri: uri, "would resolve as \(reason)"))
            return
        }
        do {
            try await labeler.resolve(uri: uri, reason: reason, notes: notes)
            run.update(uri) { $0.action = .resolved }
            observe(.line(.resolved, uri: uri, "resolved as \(reason)"))
        } catch {
            run.update(uri) { $0.action = .failed; $0.error = error.description }
            run.fail(error.description)
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
