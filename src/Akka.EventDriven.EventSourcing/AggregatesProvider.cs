using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.EventDriven.EventSourcing.Serialization;

namespace Akka.EventDriven.EventSourcing;

/// <summary>Creates the <see cref="Aggregates"/> extension.</summary>
public sealed class AggregatesProvider : ExtensionIdProvider<Aggregates>
{
    /// <inheritdoc />
    public override Aggregates CreateExtension(ExtendedActorSystem system) => new(system);
}

/// <summary>Routes <see cref="AggregateCommand"/> and <see cref="GetAggregateState"/> to the entity of their aggregate id.</summary>
internal sealed class AggregateMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => message switch
    {
        AggregateCommand c => c.AggregateId,
        GetAggregateState g => g.AggregateId,
        _ => null,
    };
}
