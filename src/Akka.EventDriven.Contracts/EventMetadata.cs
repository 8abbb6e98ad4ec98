namespace Akka.EventDriven;

/// <summary>Metadata stored with every event.</summary>
/// <param name="Timestamp">When the event was raised (UTC).</param>
/// <param name="CorrelationId">Correlation id of the command that raised it, if any.</param>
/// <param name="CausationId">Causation id of the command that raised it, if any.</param>
/// <param name="Headers">Headers of the command that raised it, if any.</param>
public sealed record EventMetadata(
    DateTimeOffset Timestamp,
    string? CorrelationId = null,
    string? CausationId = null,
    IReadOnlyDictionary<string, string>? Headers = null)
{
    /// <summary>The W3C <c>traceparent</c> of the activity that was current when the command was sent (the HTTP request,
    /// the caller's own activity), so that projections, bus deliveries and saga steps continue its trace; null when
    /// tracing was off. Not written when null, so events stored without tracing look as they always did.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceParent { get; init; }

    /// <summary>The W3C <c>tracestate</c> that went with <see cref="TraceParent"/>, if any. Not written when null.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? TraceState { get; init; }

    /// <summary>The id of the command that raised the event (see <see cref="CommandOptions.CommandId"/>): how an
    /// aggregate recovered from storage still knows which commands it has stored. Not written when null.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? CommandId { get; init; }
}
