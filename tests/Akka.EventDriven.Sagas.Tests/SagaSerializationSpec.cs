using System.Text.Json;
using Akka.EventDriven.EventSourcing;
using Akka.EventDriven.Sagas.Internal;
using Akka.Serialization;

namespace Akka.EventDriven.Sagas.Tests;

/// <summary>What crosses nodes (saga region messages) and what is stored (saga events) round-trips through the
/// configured serializers under stable names.</summary>
public sealed class SagaSerializationSpec(SqliteSagaNode node) : IClassFixture<SqliteSagaNode>
{
    private static readonly JsonElement Data = JsonSerializer.SerializeToElement(new { entityId = "e-1", score = 7 });
    private static readonly DateTimeOffset At = new(2026, 11, 27, 13, 0, 0, TimeSpan.Zero);

    public static TheoryData<string> Messages => new() { "start", "start-reply", "get", "await", "resume", "status", "not-found" };

    private static object Message(string kind) => kind switch
    {
        "start" => new StartSaga("id-1", "test-order", Data, At, "corr-1"),
        "start-reply" => new SagaStartReply("id-1", true, null),
        "get" => new GetSagaStatus("id-1"),
        "await" => new AwaitSaga("id-1"),
        "resume" => new ResumeSaga("id-1"),
        "status" => new SagaStatusReply("id-1", new SagaStatus("id-1", "test-order", SagaState.Compensating, "s1", Data, "s2 failed", At, null,
            ["s0", "s1"], ["s1"], [new SagaStepAttempt("s2", false, 1, false, "boom", true, At), new SagaStepAttempt("s1", true, 1, true, null, false, At)])),
        _ => new SagaStatusReply("id-1", null),
    };

    [Theory]
    [MemberData(nameof(Messages))]
    public void Saga_messages_round_trip_through_the_saga_serializer(string kind)
    {
        var message = Message(kind);
        var serialization = node.Host.System.Serialization;
        var serializer = (SerializerWithStringManifest)serialization.FindSerializerFor(message);
        Assert.Equal(471175, serializer.Identifier);
        var manifest = serializer.Manifest(message);
        Assert.StartsWith("saga.msg.", manifest);
        var back = serializer.FromBinary(serializer.ToBinary(message), manifest);
        Assert.Equal(message.GetType(), back.GetType());
        Assert.Equal(Json(message), Json(back));
    }

    [Fact]
    public void Saga_events_are_stored_under_stable_names_and_read_back()
    {
        ISagaEvent[] events =
        [
            new SagaStarted("test-order", Data, At, "c", At), new SagaStepCompleted("s0", 1, Data, At),
            new SagaStepFailed("s1", 2, "boom", true, At, At), new SagaCompensating("why", At), new SagaCompensating("why", At, "s1"), new SagaStepCompensated("s0", 1, At),
            new SagaCompensationFailed("s0", 1, "no", false, null, At), new SagaCompleted(At), new SagaCompensated("why", At), new SagaFailed("why", At),
        ];
        var serialization = node.Host.System.Serialization;
        foreach (var e in events)
        {
            var stored = new DomainEvent(e, new EventMetadata(At, "id-1"));
            var serializer = (SerializerWithStringManifest)serialization.FindSerializerFor(stored);
            var manifest = serializer.Manifest(stored);
            Assert.Matches(@"^saga\.[a-z-]+\.v1$", manifest);
            var back = (DomainEvent)serializer.FromBinary(serializer.ToBinary(stored), manifest);
            Assert.Equal(Json(e), Json(back.Payload));
        }
    }

    [Fact]
    public void A_compensating_event_stored_before_the_timed_out_step_was_recorded_reads_back_without_one()
    {
        var registry = Akka.EventDriven.EventSourcing.Serialization.MessageTypes.For(node.Host.System);
        var manifest = registry.NameOf(typeof(SagaCompensating)).Manifest;
        // The JSON of today's event without the field: what older versions stored.
        var json = System.Text.Json.Nodes.JsonNode.Parse(registry.Serialize(new SagaCompensating("why", At, "s1"), out _))!.AsObject();
        Assert.True(json.Remove("timedOutStep") || json.Remove("TimedOutStep"));
        var old = System.Text.Encoding.UTF8.GetBytes(json.ToJsonString());
        var back = Assert.IsType<SagaCompensating>(registry.Deserialize(old, manifest));
        Assert.Equal("why", back.Reason);
        Assert.Null(back.TimedOutStep);
    }

    private static string Json(object o) => JsonSerializer.Serialize(o, o.GetType());
}
