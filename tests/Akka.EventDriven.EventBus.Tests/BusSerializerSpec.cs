using Akka.Actor;
using Akka.EventDriven.EventBus.Internal;
using Akka.EventDriven.EventSourcing.Tests;

namespace Akka.EventDriven.EventBus.Tests;

public sealed class BusSerializerSpec
{
    [Fact]
    public async Task Every_wire_message_round_trips_through_the_bus_serializer()
    {
        await using var cluster = await BusCluster.StartAsync(TestStore.NewSqlite(), 1);
        var system = cluster.Nodes[0]!.System;
        var serialization = system.Serialization;
        var envelope = new BusEnvelope("id-1", "intel.threats", "test.ping.v1", "{\"n\":1}"u8.ToArray(), 638_000_000_000_000_000,
            "corr-é", new Dictionary<string, string> { ["a"] = "1", ["ünï"] = "ç" });
        var member = system.ActorOf(Props.Empty, "bus-member-roundtrip"); // only bus member actors are accepted as targets

        T RoundTrip<T>(T message) where T : notnull
        {
            var serializer = serialization.FindSerializerFor(message);
            Assert.IsType<BusSerializer>(serializer);
            var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
            return (T)serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest);
        }

        var back = RoundTrip(envelope);
        Assert.Equal((envelope.Id, envelope.Topic, envelope.Type, envelope.PublishedAtTicks, envelope.CorrelationId),
            (back.Id, back.Topic, back.Type, back.PublishedAtTicks, back.CorrelationId));
        Assert.Equal(envelope.Data, back.Data);
        Assert.Equal(envelope.Headers, back.Headers);
        var plain = RoundTrip(envelope with { CorrelationId = null, Headers = null, Wire = null });
        Assert.Null(plain.CorrelationId);
        Assert.Null(plain.Headers);

        var deliver = RoundTrip(new Deliver("t:x#0|g", 42, 2, envelope));
        Assert.Equal(("t:x#0|g", 42L, 2, "id-1"), (deliver.ConsumerId, deliver.Sequence, deliver.DeliveryCount, deliver.Message.Id));
        Assert.Equal(new long[] { 1, 5, 9 }, RoundTrip(new AckDeliveries("q:w|", [1, 5, 9])).Sequences);
        var revoke = RoundTrip(new RevokeDeliveries("t:x#0|g", [3, 4]));
        Assert.Equal("t:x#0|g", revoke.ConsumerId);
        Assert.Equal(new long[] { 3, 4 }, revoke.Sequences);
        var revoked = RoundTrip(new DeliveriesRevoked("t:x#0|g", []));
        Assert.Equal(("t:x#0|g", 0), (revoked.ConsumerId, revoked.Sequences.Length));
        Assert.Equal(member, RoundTrip(new RegisterMember("q:w|", member, 8)).Member);
        Assert.Equal(new LogAppended("q:w", 7), RoundTrip(new LogAppended("q:w", 7)));
        var reply = RoundTrip(new BusReply(false, null, null, "System.Exception", "boom"));
        Assert.Equal((false, "System.Exception", "boom"), (reply.Ok, reply.ErrorType, reply.Error));
        var ok = RoundTrip(new BusReply(true, "test.pong.v1", "{}"u8.ToArray(), null, null));
        Assert.Equal("{}"u8.ToArray(), ok.Data);
    }
}

/// <summary>Issue 11 #11: crafted frames from a hostile peer fail cleanly, without allocating what their lengths claim,
/// and a peer cannot name an arbitrary actor as a delivery target.</summary>
public sealed class BusSerializerHardeningSpec : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("ser", EventBusConfig.DefaultConfig());
    private readonly BusSerializer _serializer;

    public BusSerializerHardeningSpec() => _serializer = new BusSerializer((ExtendedActorSystem)_system);

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    private static byte[] Int(int value) => BitConverter.GetBytes(value); // little-endian on every supported platform

    private static byte[] Str(string s)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(s);
        return [.. Int(bytes.Length), .. bytes];
    }

    private static byte[] Envelope(int extra = 0) => EnvelopeCodec.Encode(new BusEnvelope("id-1", "intel.threats", "test.ping.v1",
        "{\"n\":1}"u8.ToArray(), 638_000_000_000_000_000, "corr", new Dictionary<string, string> { ["a"] = new string('x', extra) }));

    private static byte[] Frame(Action<BinaryWriter> write)
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream)) write(w);
        return stream.ToArray();
    }

    public static TheoryData<string, string> Crafted()
    {
        var valid = Envelope();
        var noHeaders = EnvelopeCodec.Encode(new BusEnvelope("id-1", "t", "test.ping.v1", "{}"u8.ToArray(), 1));
        var hugeHeaderCount = noHeaders.ToArray();
        Int(int.MaxValue).CopyTo(hugeHeaderCount, hugeHeaderCount.Length - 4);
        var hex = (byte[] b) => Convert.ToHexString(b);
        return new TheoryData<string, string>
        {
            { "e", hex([.. Int(int.MaxValue), 1, 2, 3]) },                                            // id longer than the frame
            { "e", hex([.. Int(-5), 1, 2, 3]) },                                                      // negative id length
            { "e", hex([.. Str("id"), .. Str("t"), .. Int(int.MaxValue), 0, 0]) },                     // topic length
            { "e", hex([.. Str("id"), .. Str("t"), .. Str("ty"), .. Int(0x7FFFFFF0), 1, 2]) },         // payload length
            { "e", hex([.. Str("id"), .. Str("t"), .. Str("ty"), .. Int(-1), 1, 2]) },                 // negative payload length
            { "e", hex(hugeHeaderCount) },                                                            // header count
            { "e", hex(valid[..(valid.Length / 2)]) },                                                // truncated
            { "e", hex(valid[..^1]) },                                                                // truncated by one byte
            { "e", "" },                                                                              // empty
            { "k", hex(Frame(w => { w.Write("q:w|"); w.Write(int.MaxValue); })) },                    // ack count
            { "k", hex(Frame(w => { w.Write("q:w|"); w.Write(-3); })) },                              // negative ack count
            { "p", hex(Frame(w => { w.Write(true); w.Write(false); w.Write(int.MaxValue); })) },      // reply data length
            { "d", hex(Frame(w => { w.Write("q:w|"); w.Write(1L); w.Write(1); w.Write(int.MaxValue); })) }, // delivered envelope length
            { "d", hex(Frame(w => { w.Write("q:w|"); w.Write(1L); w.Write(1); w.Write(valid.Length); w.Write(valid[..10]); })) },
            { "a", hex(Frame(w => w.Write("q:w"))) },                                                 // truncated notification
            { "x", "00" },                                                                            // unknown manifest
        };
    }

    [Theory]
    [MemberData(nameof(Crafted))]
    public void A_crafted_frame_fails_with_a_serialization_exception_without_a_large_allocation(string manifest, string hex)
    {
        var frame = Convert.FromHexString(hex);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Record.Exception(() => _serializer.FromBinary(frame, manifest));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.IsType<System.Runtime.Serialization.SerializationException>(e);
        Assert.True(allocated < 256 * 1024, $"{allocated} bytes allocated for a {frame.Length}-byte frame");
    }

    [Fact]
    public void A_payload_over_max_message_bytes_is_refused()
    {
        var frame = Envelope(extra: 0);
        var big = EnvelopeCodec.Encode(new BusEnvelope("id", "t", "test.blob.v1", new byte[2 * 1024 * 1024], 1));
        Assert.NotNull(_serializer.FromBinary(frame, "e"));
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => _serializer.FromBinary(big, "e"));
    }

    [Fact]
    public void A_member_path_outside_the_bus_members_is_refused()
    {
        var member = _system.ActorOf(Props.Empty, "bus-member-0123456789abcdef");
        var victim = _system.ActorOf(Props.Empty, "payments");
        byte[] Register(IActorRef target) => _serializer.ToBinary(new RegisterMember("q:w|", target, 8));
        byte[] Unregister(string path) => Frame(w => { w.Write("q:w|"); w.Write(path); });

        Assert.Equal(member, ((RegisterMember)_serializer.FromBinary(Register(member), "r")).Member);
        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => _serializer.FromBinary(Register(victim), "r"));
        foreach (var path in new[] { "akka://ser/system/deadLetters", "akka://ser/user/bus-member-x/child", "akka://ser/user/bus-member-",
                     "/user/bus-member-1", "not a path", "akka://ser/user/bus-sub-1" })
            Assert.Throws<System.Runtime.Serialization.SerializationException>(() => _serializer.FromBinary(Unregister(path), "u"));
    }
}
