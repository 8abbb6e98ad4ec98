using Akka.EventDriven.Storage;
using Npgsql;

namespace Akka.EventDriven.EventSourcing.Tests;

/// <summary>
/// PostgreSQL with few connections to spare (a role whose CONNECTION LIMIT equals the node's max-connections):
/// many aggregates loading and writing at once stay within the bound, so no command fails with
/// "53300: too many clients". Runs on a private database of its own.
/// </summary>
public sealed class ConnectionLimitSpec
{
    [Fact]
    public async Task Many_aggregates_loading_at_once_stay_within_max_connections()
    {
        var url = TestStore.PostgreSql().ConnectionString;
        var server = new NpgsqlConnectionStringBuilder(StoreSettings.NormalizeConnectionString(StoreProvider.PostgreSql, url));
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var (role, database) = ($"limited_{suffix}", $"limited_{suffix}");
        const int limit = 12;
        await ExecAsync(server.ConnectionString, $"CREATE ROLE {role} LOGIN CONNECTION LIMIT {limit}");
        await ExecAsync(server.ConnectionString, $"CREATE DATABASE {database} OWNER {role}");
        var own = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = database, Username = role }.ConnectionString;
        try
        {
            // The store settings are derived from the environment file (not from later HOCON overlays), so the
            // bound goes there, the way a deployment sets it.
            var environment = Path.Combine(Path.GetTempPath(), $"limited-{suffix}.conf");
            await File.WriteAllTextAsync(environment, await File.ReadAllTextAsync("hocon/test.conf")
                + $"\nakka.event-driven.persistence.max-connections = {limit}\n");
            await using var node = await NodeHost.StartAsync(new TestStore(StoreProvider.PostgreSql, own), environmentFile: environment);
            var ids = Enumerable.Range(0, 300).Select(i => $"crowd-{i}").ToArray();
            var results = await Task.WhenAll(ids.Select(async id =>
            {
                try { return (await node.Ledger.SendAsync(id, new Open("c"))).ToString(); }
                catch (Exception e) { return e.Message; }
            }));
            var failures = results.Where(r => !r.Contains("CommandAccepted")).ToArray();
            Assert.True(failures.Length == 0, $"{failures.Length} of {ids.Length} commands failed, e.g. {failures.FirstOrDefault()}");
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecAsync(server.ConnectionString, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
            await ExecAsync(server.ConnectionString, $"DROP ROLE IF EXISTS {role}");
        }
    }

    private static async Task ExecAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
