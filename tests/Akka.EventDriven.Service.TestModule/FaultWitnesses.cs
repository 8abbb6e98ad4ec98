using System.Data.Common;
using Akka.EventDriven.EventBus;
using Akka.EventDriven.Projections;
using Akka.Hosting;

namespace Akka.EventDriven.Service.TestModule;

/// <summary>
/// What the fault tests read back after a fault, switched on by <c>TESTMODULE_WITNESSES=on</c> (the tables must exist;
/// the test creates them): an exactly-once projection that inserts one row per Ledger event into
/// <c>fault_projection (persistence_id, sequence_nr)</c> (primary key: a duplicate would fail the projection), and a
/// durable subscription to the topic <c>ledger-notices</c> that records each message id with its delivery count in
/// <c>fault_notices</c>, idempotently.
/// </summary>
public static class FaultWitnesses
{
    public const string Variable = "TESTMODULE_WITNESSES";
    public const string Topic = "ledger-notices";

    public static bool Enabled => Environment.GetEnvironmentVariable(Variable) is "on";

    public const string Schema = """
        CREATE TABLE IF NOT EXISTS fault_projection (persistence_id text NOT NULL, sequence_nr bigint NOT NULL,
                                                     PRIMARY KEY (persistence_id, sequence_nr));
        CREATE TABLE IF NOT EXISTS fault_notices (message_id text PRIMARY KEY, deliveries int NOT NULL);
        """;

    public static void Add(AkkaConfigurationBuilder builder)
    {
        var id = new ProjectionId("fault-projection");
        builder.WithProjection(id, system => Projection.ExactlyOnce(system, id, Project,
            new ProjectionSettings(Tag: Ledger.Definition.Name)));
        builder.AddStartup(async (system, _) =>
            await MessageBus.Get(system).SubscribeAsync<Notice>(Topic, (m, _) => RecordAsync(m.Id),
                new SubscriptionOptions { Durable = true, Group = "fault-witness" }));
    }

    private static async Task Project(IReadOnlyList<ProjectionEnvelope> batch, DbTransaction tx, CancellationToken ct)
    {
        foreach (var e in batch)
        {
            await using var command = tx.Connection!.CreateCommand();
            command.Transaction = tx;
            command.CommandText = "INSERT INTO fault_projection (persistence_id, sequence_nr) VALUES (@p, @s)";
            Parameter(command, "p", e.PersistenceId);
            Parameter(command, "s", e.SequenceNr);
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private static Task RecordAsync(string messageId) => WitnessDatabase.ExecuteAsync("""
        INSERT INTO fault_notices (message_id, deliveries) VALUES ($1, 1)
        ON CONFLICT (message_id) DO UPDATE SET deliveries = fault_notices.deliveries + 1
        """, messageId);

    private static void Parameter(DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        command.Parameters.Add(p);
    }
}
