using System.Data.Common;

namespace Akka.EventDriven.Storage;

/// <summary>The console's index tables: which journal rows carry a correlation id (<see cref="CorrelationTable"/>)
/// and the latest state of every saga (<see cref="SagaTable"/>). The writes run in the caller's transaction (the
/// console's exactly-once projection step, or its rebuild), so that the index and the projection's offset commit
/// together.</summary>
public static class ConsoleIndexStore
{
    /// <summary>The table of (correlation id, journal ordering, persistence id).</summary>
    public const string CorrelationTable = "ed_console_correlation";

    /// <summary>The table of sagas and their latest state.</summary>
    public const string SagaTable = "ed_console_sagas";

    /// <summary>Creates both tables unless they exist, in <paramref name="transaction"/> (IF NOT EXISTS: one catalog
    /// look-up). In the caller's transaction on purpose: a separate one could commit tables that this transaction's
    /// snapshot (SQLite) does not see, or race a rebuild; and on SQLite the caller already holds the write lock.</summary>
    public static async Task EnsureTablesAsync(DbTransaction transaction, CancellationToken ct = default)
    {
        await using var command = Command(transaction);
        command.CommandText = $"""
            CREATE TABLE IF NOT EXISTS {CorrelationTable} (
                correlation_id TEXT NOT NULL, ordering BIGINT NOT NULL, persistence_id TEXT NOT NULL,
                PRIMARY KEY (correlation_id, ordering));
            CREATE TABLE IF NOT EXISTS {SagaTable} (
                saga_id TEXT NOT NULL PRIMARY KEY, saga_name TEXT NOT NULL, state TEXT NOT NULL, step TEXT NULL,
                last_error TEXT NULL, correlation_id TEXT NULL, started_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
            CREATE INDEX IF NOT EXISTS {SagaTable}_state ON {SagaTable} (state, updated_at);
            """;
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Empties both tables (creating them first if needed), in <paramref name="transaction"/>.</summary>
    public static async Task ClearAsync(DbTransaction transaction, CancellationToken ct = default)
    {
        await EnsureTablesAsync(transaction, ct);
        await using var command = Command(transaction);
        command.CommandText = $"DELETE FROM {CorrelationTable}; DELETE FROM {SagaTable};";
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Records that the journal row at <c>Ordering</c> (of <c>PersistenceId</c>) carries
    /// <c>CorrelationId</c>; a pair already recorded is left as it is. In <paramref name="transaction"/>.</summary>
    public static async Task AddCorrelationsAsync(DbTransaction transaction,
        IEnumerable<(string CorrelationId, long Ordering, string PersistenceId)> rows, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        await using var index = Command(transaction);
        index.CommandText = $"INSERT INTO {CorrelationTable} (correlation_id, ordering, persistence_id) VALUES (@c, @o, @p) " +
                            "ON CONFLICT (correlation_id, ordering) DO NOTHING";
        var c = Parameter(index, "c");
        var o = Parameter(index, "o");
        var p = Parameter(index, "p");
        foreach (var (correlationId, ordering, persistenceId) in rows)
        {
            c.Value = correlationId;
            o.Value = ordering;
            p.Value = persistenceId;
            await index.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>Creates or updates a saga's row (see <see cref="ConsoleSagaChange"/>), in <paramref name="transaction"/>.</summary>
    public static async Task UpsertSagaAsync(DbTransaction transaction, ConsoleSagaChange change, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        await using var command = Command(transaction);
        command.CommandText = $"""
            INSERT INTO {SagaTable} (saga_id, saga_name, state, step, last_error, correlation_id, started_at, updated_at)
            VALUES (@id, @name, @state, @step, @error, @corr, @at, @at)
            ON CONFLICT (saga_id) DO UPDATE SET
                state = COALESCE(CAST(@state2 AS TEXT), {SagaTable}.state),
                step = COALESCE(CAST(@step2 AS TEXT), {SagaTable}.step),
                last_error = CASE WHEN CAST(@error2 AS TEXT) IS NULL THEN {SagaTable}.last_error WHEN CAST(@error2 AS TEXT) = '' THEN NULL ELSE CAST(@error2 AS TEXT) END,
                updated_at = @at2
            """;
        var error = change.Error;
        command.AddParameter("id", change.SagaId);
        command.AddParameter("name", change.Name ?? "?");
        command.AddParameter("state", change.State ?? "Running");
        command.AddParameter("step", change.Step);
        command.AddParameter("error", string.IsNullOrEmpty(error) ? null : Truncate(error));
        command.AddParameter("corr", change.CorrelationId);
        command.AddParameter("at", change.AtTicks);
        command.AddParameter("state2", change.State);
        command.AddParameter("step2", change.Step);
        command.AddParameter("error2", error is null ? null : error.Length == 0 ? "" : Truncate(error));
        command.AddParameter("at2", change.AtTicks);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static string Truncate(string text) => text.Length <= 2000 ? text : text[..2000];

    private static DbCommand Command(DbTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var command = (transaction.Connection ?? throw new InvalidOperationException("The transaction has completed.")).CreateCommand();
        command.Transaction = transaction;
        return command;
    }

    private static DbParameter Parameter(DbCommand command, string name)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
