namespace Akka.EventDriven.EventSourcing;

/// <summary>
/// An <see cref="AggregateRepository{TState}"/> seen without its state type: for code that serves every aggregate
/// type the same way (an HTTP API, an operations console). States come back as <see cref="object"/>.
/// </summary>
public interface IAggregateRepository
{
    /// <summary>The aggregate type name.</summary>
    string AggregateName { get; }

    /// <summary>The settings the aggregate type runs with.</summary>
    AggregateSettings Settings { get; }

    /// <summary>See <see cref="AggregateRepository{TState}.SendAsync"/>.</summary>
    Task<CommandResult> SendAsync(string aggregateId, object command, CommandOptions? options = null,
        CancellationToken cancellationToken = default);

    /// <summary>The current state and version (see <see cref="AggregateRepository{TState}.GetStateAsync"/>).</summary>
    Task<AggregateState<object>> GetStateObjectAsync(string aggregateId, CancellationToken cancellationToken = default);

    /// <summary>The state as of <paramref name="version"/> (see <see cref="AggregateRepository{TState}.GetStateAtAsync"/>).</summary>
    Task<AggregateState<object>> GetStateObjectAtAsync(string aggregateId, long version, CancellationToken cancellationToken = default);

    /// <summary>See <see cref="AggregateRepository{TState}.GetHistoryAsync"/>.</summary>
    Task<IReadOnlyList<EventRecord>> GetHistoryAsync(string aggregateId, long fromSequenceNr = 1,
        long toSequenceNr = long.MaxValue, CancellationToken cancellationToken = default);
}
