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
        var member = system.ActorOf(Props.Empty, "member");

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
        Assert.Equal(member, RoundTrip(new RegisterMember("q:w|", member, 8)).Member);
        Assert.Equal(new LogAppended("q:w", 7), RoundTrip(new LogAppended("q:w", 7)));
        var reply = RoundTrip(new BusReply(false, null, null, "System.Exception", "boom"));
        Assert.Equal((false, "System.Exception", "boom"), (reply.Ok, reply.ErrorType, reply.Error));
        var ok = RoundTrip(new BusReply(true, "test.pong.v1", "{}"u8.ToArray(), null, null));
        Assert.Equal("{}"u8.ToArray(), ok.Data);
    }
}
