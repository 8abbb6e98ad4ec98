using Akka.EventDriven.Diagnostics;
using Akka.Actor;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Serialization;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Akka.EventDriven.EventSourcing;

/// <summary>A command could not be processed (storage failure, recovery failure, unregistered event type).</summary>
public class AggregateFailedException(string aggregateName, string aggregateId, string reason)
    : Exception($"Aggregate '{aggregateName}' id '{aggregateId}': {reason}")
{
    /// <summary>The aggregate type.</summary>
    public string AggregateName { get; } = aggregateName;
    /// <summary>The aggregate id.</summary>
    public string AggregateId { get; } = aggregateId;
    /// <summary>What went wrong.</summary>
    public string Reason { get; } = reason;
}
