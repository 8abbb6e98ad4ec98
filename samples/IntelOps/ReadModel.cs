using System.Data.Common;
using Akka.Actor;
using Akka.EventDriven.Storage;
using Akka.EventDriven.Projections;
using IntelOps.Domain;

namespace IntelOps;

/// <summary>The query of the read model: active investigations per analyst.</summary>
public sealed record ActiveInvestigationsPerAnalyst(string? RunPrefix = null);

/// <summary>
/// The read model "active investigations per analyst": an exactly-once projection of Investigation events into the
/// table intelops_investigations (one row per investigation: analyst, active), in the event store's database.
/// </summary>
public static class ReadModel
{
    private const string Ddl = """
        CREATE TABLE IF NOT EXISTS intelops_investigations (
          persistence_id text PRIMARY KEY,
          analyst text NOT NULL,
          active integer NOT NULL)
        """;

    public static Projection Start(ActorSystem system) => Projection.ExactlyOnce(system,
        new ProjectionId("intelops-active-per-analyst"),
        async (batch, tx, ct) =>
        {
            await ExecAsync(tx, Ddl, ct);
            foreach (var e in batch)
            {
                switch (e.Event)
                {
                    case InvestigationStarted started:
                        await ExecAsync(tx, """
                            INSERT INTO intelops_investigations (persistence_id, analyst, active) VALUES (@id, @analyst, 1)
                            ON CONFLICT (persistence_id) DO UPDATE SET analyst = @analyst, active = 1
                            """, ct, ("id", e.PersistenceId), ("analyst", started.Analyst));
                        break;
                    case InvestigationClosed:
                        await ExecAsync(tx, "UPDATE intelops_investigations SET active = 0 WHERE persistence_id = @id", ct, ("id", e.PersistenceId));
                        break;
                }
            }
        },
        new ProjectionSettings(Tag: Investigation.Definition.Name, PollInterval: TimeSpan.FromMilliseconds(50)));

    /// <summary>Reads the read model (the query bus caches this).</summary>
    public static async Task<IReadOnlyDictionary<string, long>> QueryAsync(ActorSystem system, ActiveInvestigationsPerAnalyst query, CancellationToken ct)
    {
        await using var connection = StoreSettings.FromConfig(system.Settings.Config).CreateConnection();
        await connection.OpenAsync(ct);
        await using (var ddl = connection.CreateCommand()) { ddl.CommandText = Ddl; await ddl.ExecuteNonQueryAsync(ct); }
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT analyst, count(*) FROM intelops_investigations WHERE active = 1 AND persistence_id LIKE @prefix GROUP BY analyst";
        command.AddParameter("prefix", (query.RunPrefix ?? "") + "%");
        var result = new SortedDictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) result[reader.GetString(0)] = Convert.ToInt64(reader.GetValue(1));
        return result;
    }

    private static async Task ExecAsync(DbTransaction tx, string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var command = tx.Connection!.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.AddParameter(name, value);
        await command.ExecuteNonQueryAsync(ct);
    }
}
