import HummingbirdCore
import Logging
import NIOCore

/// Bounds a connection's first request head, before any HTTP parsing: Hummingbird's upgrade
/// pipeline adds its idle handler only once a first request is parsed, so a client that sends
/// part of its headers and stops (slowloris) was held forever, and headers over the decoder's
/// limit got no answer at all. Until the first `CRLF CRLF`, the connection is closed after
/// `deadline`, and over `maxBytes` it is answered 431 and closed. Then this handler leaves the
/// pipeline: later requests are the idle handler's (the bytes pass through untouched).
final class FirstRequestDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let deadline: TimeAmount
    let maxBytes: Int
    private var seen = 0
    private var tail: [UInt8] = []  // the last bytes read, for a CRLF CRLF split across reads
    private var timer: Scheduled<Void>?
    private var done = false

    init(deadline: TimeAmount, maxBytes: Int) {
        self.deadline = deadline
        self.maxBytes = maxBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let ctx = NIOLoopBound(context, eventLoop: loop)
        timer = loop.scheduleTask(in: deadline) { [weak self] in
            guard let self, !self.done else { return }
            self.done = true
            ctx.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return context.fireChannelRead(data) }
        let buffer = unwrapInboundIn(data)
        let bytes = tail + buffer.readableBytesView
        if let end = Self.headEnd(bytes) {
            if seen + end - tail.count > maxBytes { return refuse(context) }
            finish()
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        seen += buffer.readableBytes
        if seen > maxBytes { return refuse(context) }
        tail = Array(bytes.suffix(3))
        context.fireChannelRead(data)
    }

    /// The index just past the first `CRLF CRLF` in `bytes`, if any.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    private func finish() {
        done = true
        timer?.cancel()
        tail = []
    }

    private func refuse(_ context: ChannelHandlerContext) {
        finish()
        let body = #"{"error":"RequestHeaderFieldsTooLarge","message":"the request's head is over \#(maxBytes) bytes"}"#
        var out = context.channel.allocator.buffer(capacity: 160 + body.utf8.count)
        out.writeString(
            "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
                + body)
        context.writeAndFlush(NIOAny(out)).whenComplete { _ in context.close(promise: nil) }
    }
}

/// A child channel that puts `FirstRequestDeadline` in front of another's pipeline.
struct FirstRequestDeadlineChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner
    let deadline: TimeAmount
    let maxBytes: Int

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(FirstRequestDeadline(deadline: deadline, maxBytes: maxBytes), position: .first)
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async { await inner.handle(value: value, logger: logger) }
}
