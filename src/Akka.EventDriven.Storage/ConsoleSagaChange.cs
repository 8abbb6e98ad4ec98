namespace Akka.EventDriven.Storage;

/// <summary>A change to one saga's row of the console's saga table. A null <see cref="State"/>, <see cref="Step"/> or
/// <see cref="Error"/> keeps the stored value; an empty <see cref="Error"/> clears it.</summary>
/// <param name="SagaId">The saga's id.</param>
/// <param name="Name">The saga's name (known from its start; "?" when a row is created without it).</param>
/// <param name="State">Its new state's name, or null to keep the stored one (a row created without one is <c>Running</c>).</param>
/// <param name="Step">Its current step, or null to keep the stored one.</param>
/// <param name="Error">Its last error: null keeps, empty clears (cut to 2000 characters).</param>
/// <param name="CorrelationId">The correlation id it was started with, if any.</param>
/// <param name="AtTicks">When the change was stored (UTC ticks).</param>
public sealed record ConsoleSagaChange(string SagaId, string? Name, string? State, string? Step, string? Error,
    string? CorrelationId, long AtTicks);
