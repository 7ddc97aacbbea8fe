import NIOCore
import NIOEmbedded
import NIOSSL
@testable import SwiftletPostgres
import Testing

/// The guard in front of PostgresNIO's handler, without IO: read-completes pass only after
/// a read was asked for, data always passes, and the guard sits after TLS.
@Suite("PostgreSQL read-complete guard")
struct ReadCompleteGuardTests {
    /// Stands where PostgresNIO's handler is: counts what reaches it and asks for reads.
    final class DriverStandIn: ChannelDuplexHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundIn = ByteBuffer
        var readCompletes = 0
        var bytes = 0

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            bytes += unwrapInboundIn(data).readableBytes
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            readCompletes += 1
        }
    }

    @Test("a read-complete passes once per read asked for; rows read unasked still pass")
    func passesOnlyAfterARead() throws {
        let channel = EmbeddedChannel()
        let driver = DriverStandIn()
        try channel.pipeline.syncOperations.addHandler(driver)
        try ReadCompleteGuard.add(to: channel.pipeline.syncOperations)

        // Installed on a connection in use: a read may be pending, so the first passes.
        channel.pipeline.fireChannelReadComplete()
        #expect(driver.readCompletes == 1)
        // The driver withholds its read (its reader has not asked for more rows); the server
        // closes and NIO reads the rest of the socket unasked.
        channel.pipeline.fireChannelRead(ByteBuffer(string: "rows"))
        channel.pipeline.fireChannelReadComplete()
        channel.pipeline.fireChannelReadComplete()
        #expect(driver.bytes == 4, "the bytes reach the driver")
        #expect(driver.readCompletes == 1, "the read-completes it did not ask for do not")
        // The driver asks for a read: the next read-complete is its own.
        channel.read()
        channel.pipeline.fireChannelReadComplete()
        #expect(driver.readCompletes == 2)
        channel.pipeline.fireChannelReadComplete()
        #expect(driver.readCompletes == 2)
        _ = try channel.finish()
    }

    @Test("the guard sits right after TLS when there is TLS, else first")
    func placement() throws {
        let plain = EmbeddedChannel()
        try plain.pipeline.syncOperations.addHandler(DriverStandIn())
        try ReadCompleteGuard.add(to: plain.pipeline.syncOperations)
        #expect(try order(of: plain) == ["ReadCompleteGuard", "DriverStandIn"])
        let once = plain.pipeline.debugDescription
        try ReadCompleteGuard.add(to: plain.pipeline.syncOperations)
        #expect(plain.pipeline.debugDescription == once, "a second add leaves the pipeline as it is")
        _ = try plain.finish()

        let secure = EmbeddedChannel()
        let tls = try NIOSSLClientHandler(context: NIOSSLContext(configuration: .makeClientConfiguration()), serverHostname: nil)
        try secure.pipeline.syncOperations.addHandler(tls)
        try secure.pipeline.syncOperations.addHandler(DriverStandIn())
        try ReadCompleteGuard.add(to: secure.pipeline.syncOperations)
        #expect(try order(of: secure) == ["NIOSSLClientHandler", "ReadCompleteGuard", "DriverStandIn"])
        _ = try? secure.finish()
    }

    /// The pipeline's handlers by type name, head to tail.
    private func order(of channel: EmbeddedChannel) throws -> [String] {
        let names = ["NIOSSLClientHandler", "ReadCompleteGuard", "DriverStandIn"]
        let description = channel.pipeline.debugDescription
        return names.compactMap { name in description.range(of: name).map { (name, $0.lowerBound) } }
            .sorted { $0.1 < $1.1 }.map(\.0)
    }
}
