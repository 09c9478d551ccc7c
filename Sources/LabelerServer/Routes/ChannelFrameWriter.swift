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
            if let encoder = try? channel.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self) {
                // Framed here and written below the frame encoder, skipping the handlers above it
                // (per-frame pipeline work was most of a 1,000-subscriber fan-out's CPU). A small
                // page (live labels) is copied into one buffer: one write. A large one (backfill)
                // keeps its payloads' storage, often shared by many subscribers: a header buffer
                // and the payload per frame, so a thousand stuck subscribers hold no copies.
                let total = payloads.reduce(0) { $0 + $1.readableBytes }
                if total <= Self.copyLimit {
                    encoder.write(NIOAny(Self.framed(payloads, channel.allocator)), promise: promise)
                } else {
                    for (i, payload) in payloads.enumerated() {
                        var header = channel.allocator.buffer(capacity: 10)
                        Self.writeHeader(payload.readableBytes, into: &header)
                        encoder.write(NIOAny(header), promise: nil)
                        encoder.write(NIOAny(payload), promise: i == payloads.count - 1 ? promise : nil)
                    }
                }
            } else {
                for (i, payload) in payloads.enumerated() {
                    let frame = WebSocketFrame(fin: true, opcode: .binary, data: payload)
                    channel.write(frame, promise: i == payloads.count - 1 ? promise : nil)
                }
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

    /// Unmasked, unfragmented binary WebSocket frames (RFC 6455 §5.2: a server never masks), one
    /// after another.
    static func framed(_ payloads: [ByteBuffer], _ allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: payloads.reduce(0) { $0 + $1.readableBytes + 10 })
        for p in payloads {
            writeHeader(p.readableBytes, into: &out)
            out.writeImmutableBuffer(p)
        }
        return out
    }

    /// Pages up to this many payload bytes are copied into one buffer.
    static let copyLimit = 16 * 1024

    static func writeHeader(_ n: Int, into out: inout ByteBuffer) {
        out.writeInteger(UInt8(0x82))  // FIN, opcode 2 (binary)
        if n < 126 {
            out.writeInteger(UInt8(n))
        } else if n <= Int(UInt16.max) {
            out.writeInteger(UInt8(126))
            out.writeInteger(UInt16(n))
        } else {
            out.writeInteger(UInt8(127))
            out.writeInteger(UInt64(n))
        }
    }
}
