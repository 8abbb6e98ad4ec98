using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.EventDriven.EventSourcing.Serialization;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Sagas.Internal;

namespace Akka.EventDriven.Sagas;

/// <summary>Per-instance options of <see cref="SagaOrchestrator.ExecuteAsync{TData}"/>.</summary>
public sealed class SagaStartOptions
{
    /// <summary>The instance id. Default: a new GUID. Starting an id that already exists starts nothing and returns it
    /// (an idempotent start).</summary>
    public string? SagaId { get; init; }

    /// <summary>Overall deadline of this instance, counted from its start. Default: the definition's.</summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary>Recorded with the saga's events. Default: none.</summary>
    public string? CorrelationId { get; init; }
}
