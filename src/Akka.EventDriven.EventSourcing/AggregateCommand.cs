namespace Akka.EventDriven.EventSourcing;

/// <summary>A command routed to the aggregate <paramref name="AggregateId"/> through sharding.</summary>
/// <param name="AggregateId">The entity id.</param>
/// <param name="Command">The command, a registered message type.</param>
/// <param name="ExpectedVersion">Optional optimistic-concurrency check.</param>
/// <param name="CorrelationId">Recorded with the raised events.</param>
/// <param name="CausationId">Recorded with the raised events.</param>
/// <param name="Headers">Recorded with the raised events.</param>
public sealed record AggregateCommand(
    string AggregateId,
    object Command,
    long? ExpectedVersion = null,
    string? CorrelationId = null,
    string? CausationId = null,
    IReadOnlyDictionary<string, string>? Headers = null) : IEventDrivenMessage
{
    /// <summary>The sender's W3C trace context (<c>traceparent</c>), recorded with the raised events; null when tracing is off.</summary>
    public string? TraceParent { get; init; }

    /// <summary>The sender's W3C <c>tracestate</c>, if any.</summary>
    public string? TraceState { get; init; }

    /// <summary>The idempotency key (<see cref="CommandOptions.CommandId"/>): a command whose id the aggregate has
    /// stored, or is storing, is answered with that result instead of being decided again. Null: no such check.</summary>
    public string? CommandId { get; init; }
}
