using System.Text.Json;
using Akka.EventDriven.Serialization;
using Akka.EventDriven.EventBus;

namespace Akka.EventDriven.Sagas;

/// <summary>The saga started with <paramref name="Data"/>.</summary>
/// <param name="SagaName">The definition's name.</param>
/// <param name="Data">The input, as JSON.</param>
/// <param name="DeadlineAt">The overall deadline; null = none.</param>
/// <param name="CorrelationId">The caller's correlation id, if any.</param>
/// <param name="At">When.</param>
public sealed record SagaStarted(string SagaName, JsonElement Data, DateTimeOffset? DeadlineAt, string? CorrelationId, DateTimeOffset At) : ISagaEvent;
