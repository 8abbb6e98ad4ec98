using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Serialization;
using Akka.Serialization;

namespace Akka.EventDriven.Sagas.Internal;

/// <summary>Messages of the saga region; serialized as JSON under their registered names (<c>saga.msg.*</c>).</summary>
internal interface ISagaMessage;

/// <summary>A message routed to the saga entity <see cref="SagaId"/>.</summary>
internal interface ISagaCommand : ISagaMessage
{
    string SagaId { get; }
}

internal sealed record StartSaga(string SagaId, string SagaName, JsonElement Data, DateTimeOffset? DeadlineAt, string? CorrelationId,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? TraceParent = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? TraceState = null) : ISagaCommand;

internal sealed record SagaStartReply(string SagaId, bool Created, string? Error) : ISagaMessage;

internal sealed record GetSagaStatus(string SagaId) : ISagaCommand;

/// <summary>Answered with the status once the saga is finished (at once when it is, or when it does not exist).</summary>
internal sealed record AwaitSaga(string SagaId) : ISagaCommand;

/// <summary>Wakes the entity (which resumes a running saga on recovery); answered with its status.</summary>
internal sealed record ResumeSaga(string SagaId) : ISagaCommand;

/// <summary><see cref="Status"/> null: no saga with this id was started.</summary>
internal sealed record SagaStatusReply(string SagaId, SagaStatus? Status) : ISagaMessage;

internal sealed class SagaMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => (message as ISagaCommand)?.SagaId;
}

/// <summary>JSON serializer of the saga region's messages, named through the <see cref="MessageTypeRegistry"/>.</summary>
internal sealed class SagaSerializer : SerializerWithStringManifest
{
    private readonly Lazy<MessageTypeRegistry> _registry;

    public SagaSerializer(ExtendedActorSystem system) : base(system) =>
        _registry = new Lazy<MessageTypeRegistry>(() => SagaTypes.Register(MessageTypes.For(system)));

    public override int Identifier => 471175;

    public override string Manifest(object o) => _registry.Value.NameOf(o.GetType()).Manifest;

    public override byte[] ToBinary(object obj) => _registry.Value.Serialize(obj, out _);

    public override object FromBinary(byte[] bytes, string manifest) => _registry.Value.Deserialize(bytes, manifest);
}
