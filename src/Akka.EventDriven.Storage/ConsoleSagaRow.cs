namespace Akka.EventDriven.Storage;

/// <summary>A row of the console's saga table (<see cref="ConsoleIndexStore.SagaTable"/>).</summary>
/// <param name="SagaId">The saga's id.</param>
/// <param name="Name">The saga's name ("?" when it was not known when the row was created).</param>
/// <param name="State">Its state's name.</param>
/// <param name="Step">Its current step, if any.</param>
/// <param name="LastError">Its last error, if any.</param>
/// <param name="CorrelationId">The correlation id it was started with, if any.</param>
/// <param name="StartedAtTicks">When its row was created (UTC ticks).</param>
/// <param name="UpdatedAtTicks">When its row was last changed (UTC ticks).</param>
public sealed record ConsoleSagaRow(string SagaId, string Name, string State, string? Step, string? LastError,
    string? CorrelationId, long StartedAtTicks, long UpdatedAtTicks);
