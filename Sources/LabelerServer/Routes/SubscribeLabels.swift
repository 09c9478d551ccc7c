import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import LabelerCore
import Logging
import NIOCore
import Projections
import ServiceLifecycle
import Synchronization

/// `GET /xrpc/com.atproto.label.subscribeLabels` (WebSocket). Each subscriber is a cursor over
/// the label-stream table: it reads pages after its last seq straight from LMDB, sends them, and
/// when it has caught up waits on the log's head signal. The log is the buffer: a slow reader
/// holds one page at most and never blocks anyone, and backfill→live cannot gap or duplicate
/// because both are the same read of `seq > last`.
struct SubscribeLabelsRoute {
    let service: LabelerService
    let metrics: ServerMetrics
    let backfills: AsyncSemaphore
    let drainTimeout: TimeAmount
    let sendBufferBytes: Int?
    let frames = SharedFrames()
    let pageSize = 256
    let firstPageSize = 16

    static let path = "/xrpc/com.atproto.label.subscribeLabels"

    /// Whether an upgrade request's path (with its query) is this endpoint.
    static func matches(_ pathAndQuery: String) -> Bool {
        pathAndQuery == path || pathAndQuery.hasPrefix(path + "?")
    }

    /// The `cursor` parameter: nil when absent; a 400 when it is not a non-negative integer.
    static func cursor(_ query: some Sequence<(key: Substring, value: Substring)>) throws -> UInt64? {
        var cursor: UInt64? = nil
        for (k, v) in query where k == "cursor" {
            guard cursor == nil else { throw XRPCError.invalidRequest("cursor given more than once") }
            guard let c = UInt64(v), c < (1 << 53) else {
                throw XRPCError.invalidRequest("cursor must be an integer from 0 to 2^53 - 1 (a seq)")
            }
            cursor = c
        }
        return cursor
    }

    /// A GET without `Upgrade: websocket` (a WebSocket upgrade never reaches the router).
    static func refusePlainGet(_ request: Request) throws -> Response {
        _ = try cursor(request.uri.queryParameters.map { (key: $0.key, value: $0.value) })
        throw XRPCError(.upgradeRequired, "InvalidRequest", "subscribeLabels is a WebSocket endpoint: send an Upgrade: websocket request")
    }

    /// Runs one subscription. A bad cursor cannot be a JSON answer once upgraded, so it is an
    /// error frame and a close.
    func run(
        _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, path: String, channel: any Channel,
        logger: Logger
    ) async throws {
        let requested: UInt64?
        do { requested = try Self.cursor(URI(path).queryParameters.map { (key: $0.key, value: $0.value) }) } catch let e as XRPCError {
            try await outbound.write(.binary(ByteBuffer(bytes: Frame.error(name: e.name, message: e.message).encoded())))
            try await outbound.close(.policyViolation, reason: e.name)
            return
        }
        let log = service.log
        if let c = requested, c > log.head {
            try await outbound.write(.binary(ByteBuffer(bytes: Frame.error(name: "FutureCursor", message: "Cursor in the future.").encoded())))
            try await outbound.close(.policyViolation, reason: "FutureCursor")
            return
        }
        // No cursor: live only, from the head as it is now. Counted from here on, so a subscriber
        // in the count hears every label appended after it was counted.
        let start = requested ?? log.head
        metrics.countRequest(route: "/xrpc/com.atproto.label.subscribeLabels", status: 101)
        metrics.subscribers.add(1, ordering: .relaxed)
        defer { metrics.subscribers.subtract(1, ordering: .relaxed) }
        let stopping = StopFlag()
        if let size = sendBufferBytes {
            try? await channel.setOption(ChannelOptions.socketOption(.so_sndbuf), value: SocketOptionValue(size)).get()
        }
        let writer = ChannelFrameWriter(channel: channel, drainTimeout: drainTimeout)
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    // Client frames are ignored; the loop ends when the client goes away.
                    for try await _ in inbound {}
                }
                group.addTask {
                    do {
                        try await self.send(from: start, writer, stopping: stopping)
                    } catch is ChannelFrameWriter.SlowConsumer {
                        metrics.slowConsumersClosed.add(1, ordering: .relaxed)
                        logger.info("closed a subscriber that stopped reading", metadata: ["cursor": "\(start)"])
                        return
                    }
                    // Shutting down: say so, so the client closes and the reader above ends.
                    try? await outbound.close(.goingAway, reason: "labeler shutting down")
                }
                try await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            stopping.set()
            log.headSignal.shutdown()
        }
    }

    /// Sends every label with seq > `after`, a page at a time, then follows the head until
    /// cancelled. Reading and framing a backfill page takes a permit (so many replays at once share
    /// the CPU fairly); waiting for the client to take the page does not.
    func send(from after: UInt64, _ writer: ChannelFrameWriter, stopping: StopFlag) async throws {
        let log = service.log
        let store = service.store
        var last = after
        var backfilling = false
        // Slow start: a connection earns bigger pages by taking the ones it got, so a client that
        // connects with cursor=0 and never reads costs one small page, not a large one.
        var limit = firstPageSize
        defer { if backfilling { metrics.backfilling.subtract(1, ordering: .relaxed) } }
        while !Task.isCancelled && !log.headSignal.isShutDown && !stopping.isSet {
            let head = log.head  // everything ≤ head is committed and visible to the read below
            let bulk = head > last + UInt64(limit)
            if bulk != backfilling {
                backfilling = bulk
                metrics.backfilling.add(bulk ? 1 : -1, ordering: .relaxed)
            }
            if bulk { try await backfills.acquire() }
            let page: [(UInt64, ByteBuffer)]
            do {
                defer { if bulk { backfills.release() } }
                page = try store.read { txn in
                    var out: [(UInt64, ByteBuffer)] = []
                    try store.stream.forEach(after: last, limit: limit, txn) { seq, bytes in
                        if !bulk, let shared = frames.frame(seq) { return out.append((seq, shared)) }
                        let signed = try service.servedBytes(seq: seq, bytes: Array(bytes), txn)
                        let frame = ByteBuffer(bytes: Frame.encodeLabels(seq: Int64(seq), signedLabels: [signed]))
                        if !bulk { frames.remember(seq, frame) }
                        out.append((seq, frame))
                    }
                    return out
                }
            }
            try await writer.write(page.map(\.1))
            if let end = page.last?.0 { last = end }
            metrics.framesSent.add(page.count, ordering: .relaxed)
            let full = page.count == limit
            limit = min(limit * 2, pageSize)
            if !full {
                last = max(last, head)
                _ = await log.headSignal.wait(forHeadAbove: last)
            }
        }
    }
}

/// A counting semaphore for tasks (caps concurrent backfills).
final class AsyncSemaphore: Sendable {
    private struct State {
        var permits: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    init(permits: Int) { state = Mutex(State(permits: permits)) }

    func acquire() async throws {
        try Task.checkCancellation()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.permits > 0 {
                    s.permits -= 1
                    return true
                }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.permits += 1
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// Set once, read from any task.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { flag.load(ordering: .sequentiallyConsistent) }
}
