import NIOCore
import NIOWebSocket

/// Writes a page of binary frames straight to a WebSocket connection's channel: one event-loop
/// hop and one flush per page (NIO gathers the frames into a few `writev`s), then waits until the
/// kernel has taken the last frame. A subscriber therefore holds at most one page in memory, and
/// a connection that stops reading is closed once a page has waited `drainTimeout` (the client can
/// reconnect with its cursor: the log is the buffer, not the server's heap).
struct ChannelFrameWriter: Sendable {
    let channel: any Channel
    let drainTimeout: TimeAmount

    struct SlowConsumer: Error {}

    func write(_ payloads: [ByteBuffer]) async throws {
        guard !payloads.isEmpty else { return }
        let channel = self.channel
        let timeout = drainTimeout
        let timedOut = StopFlag()
        let written: EventLoopFuture<Void> = channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: Void.self)
            for (i, payload) in payloads.enumerated() {
                let frame = WebSocketFrame(fin: true, opcode: .binary, data: payload)
                channel.write(frame, promise: i == payloads.count - 1 ? promise : nil)
            }
            // On the event loop, a write the socket takes at once completes inside flush().
            let taken = StopFlag()
            promise.futureResult.whenComplete { _ in taken.set() }
            channel.flush()
            guard !taken.isSet else { return promise.futureResult }
            // A client that does not read fills the socket; the write then never completes.
            // Closing fails the pending writes, which ends the subscriber.
            let timer = channel.eventLoop.scheduleTask(in: timeout) {
                timedOut.set()
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            return promise.futureResult
        }
        do {
            try await written.get()
        } catch {
            throw timedOut.isSet ? SlowConsumer() : error
        }
    }
}
