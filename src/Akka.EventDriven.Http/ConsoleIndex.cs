using System.Collections.Concurrent;
using System.Data.Common;
using System.Reflection;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Projections;
using Akka.EventDriven.Sagas;
using Akka.Hosting;

namespace Akka.EventDriven.Http;

/// <summary>
/// The read model behind the operations console's correlation trace (<c>GET /api/trace/{correlationId}</c>) and saga
/// table (<c>GET /api/console/sagas</c>, the saga counts of <c>/api/live</c>): an exactly-once projection
/// (<see cref="ProjectionName"/>) over the whole journal that writes two small tables in the event store's database.
/// <list type="bullet">
/// <item><c>ed_console_correlation</c> (<c>correlation_id, ordering, persistence_id</c>; primary key on the first two):
/// one row per event whose metadata carries a correlation id, plus one per event that names a correlation id of its
/// own (a durable bus message's envelope, a saga's <see cref="SagaStarted"/>). A trace is then an index seek, on
/// SQLite and PostgreSQL alike, never a scan of the journal's payloads.</item>
/// <item><c>ed_console_sagas</c>: per saga, its name, state, last step, last error and the caller's correlation id.</item>
/// </list>
/// Like any projection it can be paused, resumed and rebuilt (it clears both tables) from the console.
/// </summary>
public static class ConsoleIndex
{
    /// <summary>The projection's name (its key is <c>all</c>).</summary>
    public const string ProjectionName = "eventdriven-console";

    /// <summary>The projection's id.</summary>
    public static readonly ProjectionId Id = new(ProjectionName);

    internal const string CorrelationTable = ConsoleIndexStore.CorrelationTable;
    internal const string SagaTable = ConsoleIndexStore.SagaTable;

    private const int MaxIdLength = 200;

    /// <summary>Runs the console's index projection once per cluster (a cluster singleton, on nodes of
    /// <paramref name="role"/> if given). Without it, traces and saga counts are empty.
    /// <code>
    /// builder.Services.AddAkka("app", b =&gt; b.WithEventDriven(o =&gt; { /* ... */ }).WithEventBus().WithConsoleIndex());
    /// </code></summary>
    public static AkkaConfigurationBuilder WithConsoleIndex(this AkkaConfigurationBuilder builder, string? role = null) =>
        builder.WithProjection(Id, system => Projection.ExactlyOnce(system, Id, HandleAsync,
            new ProjectionSettings(BatchSize: 500, ClearReadModel: ClearAsync)), role);

    private static Task ClearAsync(DbTransaction transaction, CancellationToken ct) => ConsoleIndexStore.ClearAsync(transaction, ct);

    internal static Task EnsureTablesAsync(DbTransaction transaction, CancellationToken ct) =>
        ConsoleIndexStore.EnsureTablesAsync(transaction, ct);

    private static async Task HandleAsync(IReadOnlyList<ProjectionEnvelope> batch, DbTransaction transaction, CancellationToken ct)
    {
        // In the batch's own transaction: see ConsoleIndexStore.EnsureTablesAsync.
        await EnsureTablesAsync(transaction, ct);
        await ConsoleIndexStore.AddCorrelationsAsync(transaction,
            batch.SelectMany(e => CorrelationIds(e).Select(id => (id, e.Offset, e.PersistenceId))), ct);
        foreach (var e in batch)
            if (e.Event is ISagaEvent saga && e.PersistenceId.StartsWith("saga:", StringComparison.Ordinal))
                await RecordSagaAsync(transaction, e.PersistenceId[5..], saga, e, ct);
    }

    private static readonly ConcurrentDictionary<Type, PropertyInfo?> CorrelationProperties = new();

    /// <summary>The metadata's correlation id, and a <c>CorrelationId</c> string the event itself carries (a bus envelope,
    /// a saga's start), each at most once.</summary>
    internal static IEnumerable<string> CorrelationIds(ProjectionEnvelope e)
    {
        var fromMetadata = Usable(e.Metadata.CorrelationId);
        if (fromMetadata is not null) yield return fromMetadata;
        var property = CorrelationProperties.GetOrAdd(e.Event.GetType(), t =>
            t.GetProperty("CorrelationId", BindingFlags.Public | BindingFlags.Instance) is { PropertyType: var pt } pi && pt == typeof(string)
                ? pi
                : null);
        if (property is not null && Usable(property.GetValue(e.Event) as string) is { } own && own != fromMetadata) yield return own;
    }

    private static string? Usable(string? id) => string.IsNullOrEmpty(id) || id.Length > MaxIdLength ? null : id;

    private static async Task RecordSagaAsync(DbTransaction transaction, string sagaId, ISagaEvent e, ProjectionEnvelope envelope,
        CancellationToken ct)
    {
        // state/step/error of NULL keep the stored value (COALESCE in the upsert).
        var (name, state, step, error, correlation) = e switch
        {
            SagaStarted s => (s.SagaName, nameof(SagaState.Running), null, null, s.CorrelationId),
            SagaStepCompleted s => (null, null, s.StepId, "", null),
            SagaStepFailed s => (null, null, s.StepId, s.Error, null),
            SagaCompensating s => (null, nameof(SagaState.Compensating), s.TimedOutStep, s.Reason, null),
            SagaStepCompensated s => (null, null, s.StepId, null, null),
            SagaCompensationFailed s => (null, null, s.StepId, s.Error, null),
            SagaCompleted => (null, nameof(SagaState.Completed), null, null, null),
            SagaCompensated s => (null, nameof(SagaState.Compensated), null, s.Reason, null),
            SagaFailed s => (null, nameof(SagaState.Failed), null, s.Reason, null),
            _ => ((string?)null, (string?)null, (string?)null, (string?)null, (string?)null),
        };
        await ConsoleIndexStore.UpsertSagaAsync(transaction,
            new ConsoleSagaChange(sagaId, name, state, step, error, correlation, envelope.StoredAt.UtcTicks), ct);
    }
}
